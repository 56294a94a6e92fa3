// SPDX-License-Identifier: GPL-2.0-only
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state.h"

/* A field never contains the separators. */
static void put_field(FILE *f, const char *s)
{
	fputc('\t', f);
	for (; s && *s; s++)
		fputc(*s == '\t' || *s == '\n' ? ' ' : *s, f);
}

static int write_atomic(const char *run_dir, const char *name,
			int (*fill)(FILE *f, const void *arg), const void *arg)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *f;
	int err = 0;

	if (mkdir(run_dir, 0755) && errno != EEXIST) {
		log_warn("failed to create %s: %s", run_dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", run_dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", run_dir, name);
	f = fopen(tmp, "we");
	if (!f) {
		log_warn("failed to write %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fill(f, arg) < 0 || ferror(f))
		err = -1;
	if (fclose(f))
		err = -1;
	if (!err && rename(tmp, path))
		err = -1;
	if (err) {
		log_warn("failed to write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	return err;
}

static int fill_status(FILE *f, const void *arg)
{
	const struct daemon_state *st = arg;
	size_t i;

	fprintf(f, "pid\t%d\n", (int)getpid());
	fprintf(f, "mode\t%s\n", st->attached ? "attached" : "no-attach");
	fprintf(f, "generation\t%llu\n", (unsigned long long)st->generation);
	fprintf(f, "reloaded\t%lld\n", (long long)st->reloaded);
	for (i = 0; i < st->cfg->n_profiles; i++) {
		fputs("profile", f);
		put_field(f, st->cfg->profiles[i].id);
		put_field(f, st->cfg->profiles[i].path);
		fputc('\n', f);
	}
	for (i = 0; i < st->cfg->n_hidden; i++) {
		fputs("hidden", f);
		put_field(f, st->cfg->hidden[i].id);
		put_field(f, st->cfg->hidden[i].path);
		put_field(f, st->cfg->hidden[i].hidden_by);
		fputc('\n', f);
	}
	for (i = 0; i < st->pending->n; i++) {
		char *text = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&text, &len);

		if (!m)
			return -1;
		diag_fprint(&st->pending->v[i], m);
		fclose(m);
		fputs("error", f);
		put_field(f, text);
		fputc('\n', f);
		free(text);
	}
	return 0;
}

static int fill_pid(FILE *f, const void *arg)
{
	(void)arg;
	return fprintf(f, "%d\n", (int)getpid());
}

int state_write(const char *run_dir, const struct daemon_state *st)
{
	return write_atomic(run_dir, "status", fill_status, st);
}

int state_write_pid(const char *run_dir)
{
	return write_atomic(run_dir, "scx_gamer.pid", fill_pid, NULL);
}

/*
 * The lock is RUNDIR/lock, held with flock() for the daemon's life. Removed
 * at exit, so a daemon that opened the file just before its holder removed
 * it would lock a file nobody else sees: after locking, check that the path
 * still names the file locked, and start over if not.
 */
int state_lock(const char *run_dir)
{
	char path[PATH_MAX];
	struct stat held, named;
	int fd, pid, tries;

	snprintf(path, sizeof(path), "%s/lock", run_dir);
	for (tries = 0; tries < 16; tries++) {
		/* Again each time: the holder removes the directory as it ends. */
		if (mkdir(run_dir, 0755) && errno != EEXIST) {
			log_error("failed to create %s: %s", run_dir, strerror(errno));
			return -1;
		}
		/* Root's alone: anyone who can open it can lock it. */
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0 && fchmod(fd, 0600)) {
			log_error("failed to set the mode of %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (fd < 0 && errno == ENOENT)
			continue;
		if (fd < 0) {
			log_error("failed to open %s: %s", path, strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB)) {
			int err = errno;

			close(fd);
			if (err != EWOULDBLOCK) {
				log_error("failed to lock %s: %s", path, strerror(err));
				return -1;
			}
			pid = state_daemon_pid(run_dir);
			if (pid > 0)
				log_error("another scx_gamer daemon (pid %d) is running with run "
					  "directory %s", pid, run_dir);
			else
				log_error("another scx_gamer daemon holds %s", path);
			return -1;
		}
		if (!fstat(fd, &held) && !stat(path, &named) && held.st_dev == named.st_dev &&
		    held.st_ino == named.st_ino)
			return fd;
		close(fd);
	}
	log_error("failed to lock %s: it keeps being replaced", path);
	return -1;
}

void state_unlock(const char *run_dir, int fd)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/lock", run_dir);
	unlink(path);
	rmdir(run_dir);
	close(fd);
}

void state_remove(const char *run_dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/status", run_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/scx_gamer.pid", run_dir);
	unlink(path);
	/* Still held by the caller: the next daemon's lock is a new file. */
	snprintf(path, sizeof(path), "%s/lock", run_dir);
	unlink(path);
	rmdir(run_dir);
}

int state_daemon_pid(const char *run_dir)
{
	char path[PATH_MAX], comm[64];
	FILE *f;
	int pid = -1;

	snprintf(path, sizeof(path), "%s/scx_gamer.pid", run_dir);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &pid) != 1 || pid <= 0)
		pid = -1;
	fclose(f);
	if (pid < 0 || (kill(pid, 0) && errno == ESRCH))
		return -1;
	/* A stale file may name a pid that now belongs to someone else. */
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (!fgets(comm, sizeof(comm), f) || strncmp(comm, "scx_gamer", 9) != 0)
		pid = -1;
	fclose(f);
	return pid;
}
