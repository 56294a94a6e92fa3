// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for what detection reads from /proc and how it matches
 * (src/daemon/procfs.c, src/daemon/match.c): a process's stat, status, comm, cmdline,
 * environ and exe link, a thread's name and the proc mount's mountinfo line
 * all come from the input, written as files of a directory laid out like
 * /proc (on /dev/shm when it is there), and read back the way the daemon
 * reads the real one.
 *
 * The input is split at each 0x01 byte into, in order: stat, status, comm,
 * cmdline (NULs separate arguments, as in the kernel's), environ, the exe
 * link's target, a thread name, mountinfo. Missing parts are empty files (an
 * empty exe target: no link).
 *
 * Whatever the input, reading and matching must not crash, leak or hit
 * undefined behaviour, and what they give must be consistent:
 *
 *  - a read that succeeds leaves comm, exe and wine_exe NUL-terminated within
 *    their arrays, cmdline and argv0 strings, the pid asked for, and argv0 a
 *    prefix of cmdline (the arguments joined by spaces);
 *  - a read that fails leaves no strings behind (the fields are NULL);
 *  - the matched profile, entry and exclude entry are in range, an excluded
 *    or not-a-game-user process matches no profile, and a match agrees with
 *    match_entry_test() on that entry; each profile's verdict agrees with the
 *    result;
 *  - a thread rule found is in range and its pattern matches that name;
 *  - proc_mount_hide() returns 0 or a negative errno.
 *
 * A broken invariant aborts, which libFuzzer reports as a crash.
 *
 * Build: see `make fuzz` in Makefile.am (clang -fsanitize=fuzzer,address,undefined).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "daemon/match.h"
#include "daemon/procfs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PID 4242

static char root[64], pdir[96];
static struct config_set cfg;

/* The profiles the input is matched against: every key, globs, threads. */
static const char *const profiles[][2] = {
	{ "byname", "schema: 1\nmatch:\n  - comm: \"game*\"\n  - comm: \"[Rr]ender?\"\n"
		    "threads:\n  - {name: \"Render*\", role: render}\n  - {name: \"*Audio*\", role: audio}\n"
		    "  - {name: \"?\", role: input}\n" },
	{ "byexe", "schema: 1\npriority: 60\nmatch:\n  - exe: \"/opt/game/*\"\n"
		   "  - {exe: \"*/bin/x\", cmdline: \"*--fast*\"}\n" },
	{ "bywine", "schema: 1\nmatch:\n  - wine_exe: \"Game*.exe\"\n  - wine_exe: \"*.EXE\"\n" },
	{ "bysteam", "schema: 1\npriority: 70\nmatch:\n  - steam_app_id: 730\n  - {steam_app_id: 1, comm: \"*\"}\n" },
	{ "bycmd", "schema: 1\nmatch:\n  - cmdline: \"* -game *\"\n"
		   "threads:\n  - {name: \"Worker*\", role: game, boost: 4}\n" },
};

static const char daemon_yaml[] = "schema: 1\nexclude:\n  - comm: \"excl*\"\n  - exe: \"*/sbin/*\"\n";

static __attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz_proc: invariant broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static void cleanup(void)
{
	static const char *const names[] = { "stat", "status", "comm", "cmdline", "environ",
					      "exe", "mountinfo", "task/1/comm" };
	char path[160];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pdir, names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/task/1", pdir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/task", pdir);
	rmdir(path);
	rmdir(pdir);
	rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct diags d = { 0 };
	char path[160];

	(void)argc;
	(void)argv;
	snprintf(root, sizeof(root), "%s/fuzz_proc.%d",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
	snprintf(pdir, sizeof(pdir), "%s/%d", root, PID);
	snprintf(path, sizeof(path), "%s/task", pdir);
	if ((mkdir(root, 0700) && errno != EEXIST) || (mkdir(pdir, 0700) && errno != EEXIST) ||
	    (mkdir(path, 0700) && errno != EEXIST))
		fail("cannot make %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/task/1", pdir);
	if (mkdir(path, 0700) && errno != EEXIST)
		fail("cannot make %s: %s", path, strerror(errno));
	atexit(cleanup);

	cfg.profiles = calloc(sizeof(profiles) / sizeof(profiles[0]), sizeof(*cfg.profiles));
	if (!cfg.profiles)
		fail("out of memory");
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		snprintf(path, sizeof(path), "%s.yaml", profiles[i][0]);
		if (config_parse_profile_buf(profiles[i][1], strlen(profiles[i][1]), path, profiles[i][0],
					     &cfg.profiles[cfg.n_profiles], &d)) {
			diags_print(&d, stderr);
			fail("the fixed profile %s does not parse", profiles[i][0]);
		}
		cfg.n_profiles++;
	}
	if (config_parse_daemon_buf(daemon_yaml, strlen(daemon_yaml), "scx_gamer.yaml", &cfg.daemon,
				    &d)) {
		diags_print(&d, stderr);
		fail("the fixed daemon file does not parse");
	}
	if (config_resolve(&cfg, &d)) {
		diags_print(&d, stderr);
		fail("the fixed profiles do not resolve");
	}
	diags_free(&d);
	return 0;
}

static void put(const char *name, const uint8_t *data, size_t len)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		fail("cannot write %s: %s", path, strerror(errno));
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n <= 0)
			fail("cannot write %s: %s", path, strerror(errno));
		data += n;
		len -= (size_t)n;
	}
	close(fd);
}

static void put_exe(const uint8_t *data, size_t len)
{
	char path[160], target[PATH_MAX];

	snprintf(path, sizeof(path), "%s/exe", pdir);
	unlink(path);
	len = strnlen((const char *)data, len);
	if (len >= sizeof(target))
		len = sizeof(target) - 1;
	if (!len)
		return;
	memcpy(target, data, len);
	target[len] = '\0';
	if (symlink(target, path))
		fail("cannot link %s: %s", path, strerror(errno));
}

static void terminated(const char *s, size_t size, const char *what)
{
	if (!memchr(s, '\0', size))
		fail("%s is not NUL-terminated within its %zu bytes", what, size);
}

static void check_read(const struct proc_info *pi)
{
	size_t a;

	if (pi->pid != PID)
		fail("pid %d, asked for %d", pi->pid, PID);
	terminated(pi->comm, sizeof(pi->comm), "comm");
	terminated(pi->exe, sizeof(pi->exe), "exe");
	terminated(pi->wine_exe, sizeof(pi->wine_exe), "wine_exe");
	if (!pi->cmdline || !pi->argv0)
		fail("a successful read without cmdline or argv0");
	a = strlen(pi->argv0);
	if (strncmp(pi->cmdline, pi->argv0, a) != 0 || (pi->cmdline[a] && pi->cmdline[a] != ' '))
		fail("argv0 '%s' does not start cmdline '%s'", pi->argv0, pi->cmdline);
}

static void check_match(const struct proc_info *pi)
{
	struct match_verdict v[sizeof(profiles) / sizeof(profiles[0])];
	struct match_result r;
	uint32_t failed;

	match_process(&cfg, pi, &r, v);
	if (r.profile < -1 || r.profile >= (int)cfg.n_profiles)
		fail("profile index %d of %zu", r.profile, cfg.n_profiles);
	if (r.excluded < -1 || r.excluded >= (int)cfg.daemon.n_exclude)
		fail("exclude index %d of %zu", r.excluded, cfg.daemon.n_exclude);
	if (match_blocked(&r) && r.profile >= 0)
		fail("excluded (%d) or not a game user, yet profile %d", r.excluded, r.profile);
	if (r.profile >= 0) {
		const struct profile *p = &cfg.profiles[r.profile];

		if (r.entry < 0 || (size_t)r.entry >= p->n_match)
			fail("entry %d of %zu in %s", r.entry, p->n_match, p->id);
		if (!match_entry_test(&p->match[r.entry], pi, &failed))
			fail("%s entry %d chosen, but it does not match", p->id, r.entry);
		if (!v[r.profile].matched)
			fail("%s chosen, but its verdict says no match", p->id);
	}
	for (size_t i = 0; i < cfg.n_profiles; i++) {
		terminated(v[i].why, sizeof(v[i].why), "a verdict's text");
		if (!match_blocked(&r) && v[i].matched && r.profile < 0)
			fail("%s's verdict matched, but no profile was chosen", cfg.profiles[i].id);
	}
}

static void check_threads(const char *name)
{
	for (size_t i = 0; i < cfg.n_profiles; i++) {
		const struct profile *p = &cfg.profiles[i];
		int k = match_thread_rule(p, name);

		if (k < -1 || k >= (int)p->n_threads)
			fail("thread rule %d of %zu in %s", k, p->n_threads, p->id);
		if (k >= 0) {
			bool any = false;

			for (size_t j = 0; j < p->threads[k].n_names; j++)
				any |= fnmatch(p->threads[k].names[j], name, 0) == 0;
			if (!any)
				fail("rule %d of %s chosen for '%s', which it does not match", k,
				     p->id, name);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const parts[] = { "stat",	"status",      "comm",	    "cmdline",
					     "environ", "exe",	       "task/1/comm", "mountinfo" };
	const uint8_t *field[8] = { 0 };
	size_t flen[8] = { 0 }, n = 0, start = 0;
	struct proc_info pi;
	struct proc_hide h;
	char tname[PROC_COMM_LEN], mi[192];
	int err;

	for (size_t i = 0; i <= size && n < 8; i++) {
		if (i == size || data[i] == 0x01) {
			field[n] = data + start;
			flen[n++] = i - start;
			start = i + 1;
		}
	}
	for (size_t i = 0; i < 8; i++) {
		if (i == 5)
			put_exe(field[i] ? field[i] : (const uint8_t *)"", flen[i]);
		else
			put(parts[i], field[i] ? field[i] : (const uint8_t *)"", flen[i]);
	}

	err = proc_read(root, PID, &pi);
	if (err > 0)
		fail("proc_read returned %d", err);
	if (err == 0) {
		check_read(&pi);
		proc_read_steam(root, &pi);
		check_match(&pi);
		proc_steam_forget(PID);
	} else if (pi.cmdline || pi.argv0) {
		fail("a failed read (%d) left strings behind", err);
	}
	proc_info_free(&pi);

	(void)proc_alive(root, PID, 0);
	if (proc_thread_comm(root, PID, 1, tname, sizeof(tname))) {
		terminated(tname, sizeof(tname), "a thread's name");
		check_threads(tname);
	}
	snprintf(mi, sizeof(mi), "%s/mountinfo", pdir);
	err = proc_mount_hide(mi, root, &h);
	if (err > 0)
		fail("proc_mount_hide returned %d", err);
	return 0;
}
