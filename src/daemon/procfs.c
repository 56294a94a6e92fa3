// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading a process's facts from /proc (see procfs.h).
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "procfs.h"

/* Most we read of a cmdline or environ file: enough for any real one. */
#define PROC_FILE_MAX (256 * 1024)
/* Ancestors searched for a Steam app id. */
#define STEAM_MAX_DEPTH 32

/*
 * A process's facts are read through one descriptor of its /proc directory
 * (proc_open): once the process is gone, the kernel answers every file under
 * it with an error, so a pid reused meanwhile cannot mix its facts with the
 * old process's.
 */
int proc_open(const char *root, int pid)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%d", root, pid);
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Read a whole /proc file (name under dfd) into a NUL-terminated buffer; NULL with errno. */
static char *read_file_at(int dfd, const char *name, size_t max, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap), *nb;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0 || !buf) {
		int e = fd < 0 ? errno : ENOMEM;

		if (fd >= 0)
			close(fd);
		free(buf);
		errno = e;
		return NULL;
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= max)
				break;
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				close(fd);
				free(buf);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;

			close(fd);
			free(buf);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static int read_stat_at(int dfd, struct proc_info *pi)
{
	char *buf, *p;
	int field;

	buf = read_file_at(dfd, "stat", 4096, NULL);
	if (!buf)
		return -errno;
	/* "PID (COMM) S PPID ...": comm may hold spaces and ')'. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2]) {
		free(buf);
		return -EINVAL;
	}
	p += 2;
	pi->state = *p;
	for (field = 3; field < 22 && p; field++) {
		if (field == 4)
			pi->ppid = atoi(p);
		else if (field == 9)
			pi->flags = (unsigned int)strtoul(p, NULL, 10);
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p) {
		free(buf);
		return -EINVAL;
	}
	pi->start = strtoull(p, NULL, 10);
	free(buf);
	return 0;
}

/*
 * The real uid from status ("Uid:\treal\teffective..."): as the daemon's
 * user namespace sees it (the initial one), so a container's uid 0 is not
 * root here. UINT32_MAX if unknown; *gone set when the process went away.
 */
static uint32_t read_uid_at(int dfd, int *gone)
{
	char *buf, *p, *end;
	unsigned long v;

	buf = read_file_at(dfd, "status", 16384, NULL);
	if (!buf) {
		if (errno == ESRCH)
			*gone = 1;
		return UINT32_MAX;
	}
	p = strstr(buf, "\nUid:");
	if (!p) {
		free(buf);
		return UINT32_MAX;
	}
	errno = 0;
	v = strtoul(p + 5, &end, 10);
	free(buf);
	if (errno || end == p + 5 || v >= UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)v;
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

static bool ends_with_exe(const char *s)
{
	size_t n = strlen(s);

	return n > 4 && strcasecmp(s + n - 4, ".exe") == 0;
}

/* See procfs.h. */
const char *proc_basename(const char *s)
{
	const char *b = s;

	for (; *s; s++) {
		if (*s == '/' || *s == '\\')
			b = s + 1;
	}
	return b;
}

static bool is_wine_loader(const char *exe)
{
	static const char *const loaders[] = { "wine64-preloader", "wine-preloader", "wine64",
					       "wine" };
	const char *base = strrchr(exe, '/');

	base = base ? base + 1 : exe;
	for (size_t i = 0; i < sizeof(loaders) / sizeof(loaders[0]); i++) {
		if (strcmp(base, loaders[i]) == 0)
			return true;
	}
	return false;
}

/*
 * A Wine process's Windows executable: Wine rewrites argv so that argv[0] is
 * the .exe's Windows path; failing that, the first argument naming an .exe,
 * then comm (which Wine sets to the .exe name, truncated to 15 characters).
 */
static void find_wine_exe(struct proc_info *pi, const char *args, size_t len)
{
	const char *a;

	pi->wine_exe[0] = '\0';
	pi->wine_from_comm = false;
	if (!is_wine_loader(pi->exe))
		return;
	for (a = args; a < args + len; a += strlen(a) + 1) {
		if (ends_with_exe(a)) {
			snprintf(pi->wine_exe, sizeof(pi->wine_exe), "%s", proc_basename(a));
			return;
		}
	}
	if (ends_with_exe(pi->comm)) {
		snprintf(pi->wine_exe, sizeof(pi->wine_exe), "%s", pi->comm);
		pi->wine_from_comm = true;
	}
}

DIR *proc_tasks_at(int dfd)
{
	int fd = openat(dfd, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir;

	if (fd < 0)
		return NULL;
	dir = fdopendir(fd);
	if (!dir) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return dir;
}

/*
 * A zombie leader whose other threads still run is a live process: is there
 * a thread other than pid that is neither exiting nor dead?
 */
static bool other_live_thread_at(int dfd, int pid)
{
	struct dirent *de;
	bool found = false;
	DIR *dir = proc_tasks_at(dfd);

	if (!dir)
		return false;
	while (!found && (de = readdir(dir))) {
		struct proc_info t = { 0 };
		char name[300];
		int tid = atoi(de->d_name), fd;

		if (tid <= 0 || tid == pid)
			continue;
		snprintf(name, sizeof(name), "task/%d", tid);
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			continue;
		found = !read_stat_at(fd, &t) && !(t.flags & PROC_PF_EXITING) && t.state != 'Z' &&
			t.state != 'X';
		close(fd);
	}
	closedir(dir);
	return found;
}

bool proc_alive_at(int dfd, int pid, unsigned long long start)
{
	struct proc_info pi = { 0 };

	if (read_stat_at(dfd, &pi) || (start && pi.start != start))
		return false;
	/*
	 * An exiting or dead leader: the process lives on only in threads that
	 * are not exiting too (a leader that called pthread_exit(); a whole
	 * process exiting marks every thread).
	 */
	if ((pi.flags & PROC_PF_EXITING) || pi.state == 'Z' || pi.state == 'X')
		return other_live_thread_at(dfd, pid);
	return true;
}

bool proc_alive(const char *root, int pid, unsigned long long start)
{
	int dfd = proc_open(root, pid);
	bool alive;

	if (dfd < 0)
		return false;
	alive = proc_alive_at(dfd, pid, start);
	close(dfd);
	return alive;
}

/* The next space-separated field of *s (a run of spaces is one separator). */
static char *next_field(char **s)
{
	char *f;

	while (**s == ' ')
		(*s)++;
	if (!**s)
		return NULL;
	f = *s;
	*s += strcspn(*s, " \n");
	if (**s)
		*(*s)++ = '\0';
	return f;
}

int proc_mount_hide(const char *mountinfo, const char *root, struct proc_hide *h)
{
	char *line = NULL, *rest, *f, *opt;
	size_t cap = 0;
	struct stat st;
	FILE *mi;
	int found = 0;

	memset(h, 0, sizeof(*h));
	if (stat(root, &st))
		return -errno;
	mi = fopen(mountinfo, "re");
	if (!mi)
		return -errno;
	/*
	 * The mount by its device (field 3, major:minor): options are the
	 * superblock's, the same for every mount of one proc instance.
	 */
	while (!found && getline(&line, &cap, mi) > 0) {
		unsigned int maj, min;
		int i;

		rest = line;
		for (i = 0; i < 3 && (f = next_field(&rest)); i++)
			;
		if (i < 3 || sscanf(f, "%u:%u", &maj, &min) != 2 || makedev(maj, min) != st.st_dev)
			continue;
		/* ... optional fields, "-", fstype, source, super options. */
		rest = strstr(rest, " - ");
		if (!rest)
			continue;
		rest += 3;
		f = next_field(&rest);
		if (!f || strcmp(f, "proc"))
			continue;
		found = 1;
		/* The source may be empty: the options are the last field. */
		opt = NULL;
		while ((f = next_field(&rest)))
			opt = f;
		h->gid = 0;
		for (f = opt ? strsep(&opt, ",") : NULL; f; f = opt ? strsep(&opt, ",") : NULL) {
			if (!strncmp(f, "hidepid=", 8)) {
				const char *v = f + 8;

				snprintf(h->how, sizeof(h->how), "%s", f);
				h->mode = !strcmp(v, "1") || !strcmp(v, "noaccess")	? PROC_HIDE_NOACCESS
					  : !strcmp(v, "2") || !strcmp(v, "invisible") ? PROC_HIDE_INVISIBLE
					  : !strcmp(v, "4") || !strcmp(v, "ptraceable") ? PROC_HIDE_PTRACEABLE
											: PROC_HIDE_NONE;
			} else if (!strncmp(f, "gid=", 4)) {
				h->gid = (gid_t)strtoul(f + 4, NULL, 10);
			}
		}
	}
	free(line);
	fclose(mi);
	return found ? 0 : -ENOENT;
}

void proc_set_comm(struct proc_info *pi, const char *comm)
{
	snprintf(pi->comm, sizeof(pi->comm), "%s", comm);
	if (is_wine_loader(pi->exe) && (!pi->wine_exe[0] || pi->wine_from_comm) &&
	    ends_with_exe(pi->comm)) {
		snprintf(pi->wine_exe, sizeof(pi->wine_exe), "%s", pi->comm);
		pi->wine_from_comm = true;
	}
}

/* A process that went away while being read is gone, whatever the error. */
static int gone_or(int err)
{
	return err == ESRCH ? -ENOENT : -err;
}

static int proc_read_fields(int dfd, int pid, struct proc_info *pi)
{
	char *buf;
	size_t len = 0, i;
	ssize_t n;
	int err, gone = 0;

	err = read_stat_at(dfd, pi);
	if (err)
		return err == -ESRCH ? -ENOENT : err;
	pi->uid = read_uid_at(dfd, &gone);
	if (gone || ((pi->state == 'Z' || pi->state == 'X') && !other_live_thread_at(dfd, pid)))
		return -ENOENT;

	buf = read_file_at(dfd, "comm", 64, NULL);
	if (!buf)
		return gone_or(errno);
	chomp(buf);
	snprintf(pi->comm, sizeof(pi->comm), "%s", buf);
	free(buf);

	/* No exe (a kernel thread) is not an error; a process gone is. */
	n = readlinkat(dfd, "exe", pi->exe, sizeof(pi->exe) - 1);
	if (n < 0 && errno == ESRCH)
		return -ENOENT;
	if (n < 0)
		n = 0;
	pi->exe[n] = '\0';
	/* The kernel marks an exe replaced on disk (a game updated while running). */
	if (n > 10 && strcmp(pi->exe + n - 10, " (deleted)") == 0)
		pi->exe[n - 10] = '\0';

	/* A kernel thread's cmdline is empty; one that cannot be read is taken as empty. */
	buf = read_file_at(dfd, "cmdline", PROC_FILE_MAX, &len);
	if (!buf) {
		if (errno == ESRCH)
			return -ENOENT;
		buf = strdup("");
		len = 0;
		if (!buf)
			return -ENOMEM;
	}
	while (len && buf[len - 1] == '\0')
		len--;
	pi->argv0 = strdup(buf);
	find_wine_exe(pi, buf, len);
	for (i = 0; i < len; i++) {
		if (buf[i] == '\0')
			buf[i] = ' ';
	}
	buf[len] = '\0';
	pi->cmdline = buf;
	if (!pi->argv0) {
		proc_info_free(pi);
		return -ENOMEM;
	}
	return 0;
}

int proc_read_dir(int dfd, int pid, struct proc_info *pi)
{
	int err;

	memset(pi, 0, sizeof(*pi));
	pi->pid = pid;
	err = proc_read_fields(dfd, pid, pi);
	if (err)
		proc_info_free(pi);
	return err;
}

int proc_read(const char *root, int pid, struct proc_info *pi)
{
	int dfd, err;

	dfd = proc_open(root, pid);
	if (dfd < 0) {
		memset(pi, 0, sizeof(*pi));
		pi->pid = pid;
		return gone_or(errno);
	}
	err = proc_read_dir(dfd, pid, pi);
	close(dfd);
	return err;
}

void proc_info_free(struct proc_info *pi)
{
	free(pi->cmdline);
	free(pi->argv0);
	pi->cmdline = pi->argv0 = NULL;
}

bool proc_thread_comm_at(int dfd, int tid, char *buf, size_t len)
{
	char path[32], *s;

	snprintf(path, sizeof(path), "task/%d/comm", tid);
	s = read_file_at(dfd, path, 64, NULL);
	if (!s)
		return false;
	chomp(s);
	snprintf(buf, len, "%s", s);
	free(s);
	return true;
}

bool proc_thread_comm(const char *root, int pid, int tid, char *buf, size_t len)
{
	int dfd = proc_open(root, pid);
	bool ok;

	if (dfd < 0)
		return false;
	ok = proc_thread_comm_at(dfd, tid, buf, len);
	close(dfd);
	return ok;
}

/* A positive id up to 2^32 - 1 in s ("730"); 0 if not one. */
static uint32_t parse_app_id(const char *s)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || v > UINT32_MAX)
		return 0;
	return (uint32_t)v;
}

/* SteamAppId (preferred) or SteamGameId from environ. */
static uint32_t env_app_id_at(int dfd)
{
	char *buf, *v;
	uint32_t app = 0, game = 0;
	size_t len;

	buf = read_file_at(dfd, "environ", PROC_FILE_MAX, &len);
	if (!buf)
		return 0;
	/* Cut at the size limit: the last variable may be cut too; drop it. */
	if (len >= PROC_FILE_MAX - 1)
		while (len && buf[len - 1] != '\0')
			buf[--len] = '\0';
	for (v = buf; v < buf + len; v += strlen(v) + 1) {
		if (strncmp(v, "SteamAppId=", 11) == 0)
			app = parse_app_id(v + 11);
		else if (strncmp(v, "SteamGameId=", 12) == 0)
			game = parse_app_id(v + 12);
	}
	free(buf);
	return app ? app : game;
}

/* Steam's reaper runs games as `reaper SteamLaunch AppId=N -- ...`. */
static uint32_t reaper_app_id_at(int dfd)
{
	char *buf, *a;
	uint32_t id = 0;
	size_t len;

	buf = read_file_at(dfd, "cmdline", PROC_FILE_MAX, &len);
	if (!buf)
		return 0;
	if (strcmp(proc_basename(buf), "reaper") == 0) {
		for (a = buf; a < buf + len && strcmp(a, "--") != 0; a += strlen(a) + 1) {
			if (strncmp(a, "AppId=", 6) == 0) {
				id = parse_app_id(a + 6);
				break;
			}
		}
	}
	free(buf);
	return id;
}

/*
 * What the upward search found at an ancestor, by pid and start time: every
 * exec on the system looks up its ancestors (shell, session, init), which
 * rarely change, so their environ and cmdline are read once.
 */
#define STEAM_CACHE 256

static struct {
	const char *root;
	int pid;
	unsigned long long start;
	uint32_t id;
	int from;
} steam_cache[STEAM_CACHE];

void proc_steam_forget(int pid)
{
	steam_cache[(unsigned int)pid % STEAM_CACHE].pid = 0;
}

void proc_read_steam(const char *root, struct proc_info *pi)
{
	int chain[STEAM_MAX_DEPTH], n = 0, pid = pi->pid, from = 0;
	unsigned long long starts[STEAM_MAX_DEPTH], start, child_start = 0;
	uint32_t id = 0;

	for (int depth = 0; pid > 1 && depth < STEAM_MAX_DEPTH; depth++) {
		unsigned int slot = (unsigned int)pid % STEAM_CACHE;
		struct proc_info cur = { 0 };
		int dfd = proc_open(root, pid);

		/*
		 * Each process through one descriptor, and only the one meant:
		 * pi itself (its start time), else a parent that started no
		 * later than its child - a pid reused since is younger.
		 */
		if (dfd < 0)
			break;
		if (read_stat_at(dfd, &cur) ||
		    (depth ? cur.start > child_start : cur.start != pi->start)) {
			close(dfd);
			break;
		}
		start = cur.start;
		if (depth > 0 && steam_cache[slot].root == root && steam_cache[slot].pid == pid &&
		    steam_cache[slot].start == start) {
			close(dfd);
			id = steam_cache[slot].id;
			from = steam_cache[slot].from;
			break;
		}
		chain[n] = pid;
		starts[n++] = start;
		id = env_app_id_at(dfd);
		if (!id)
			id = reaper_app_id_at(dfd);
		close(dfd);
		if (id) {
			from = pid;
			break;
		}
		child_start = start;
		pid = cur.ppid;
	}
	/* Remember the answer at every ancestor passed (not pi itself: it may exec). */
	for (int i = 1; i < n; i++) {
		unsigned int slot = (unsigned int)chain[i] % STEAM_CACHE;

		steam_cache[slot].root = root;
		steam_cache[slot].pid = chain[i];
		steam_cache[slot].start = starts[i];
		steam_cache[slot].id = id;
		steam_cache[slot].from = from;
	}
	pi->steam_app_id = id;
	pi->steam_from = id ? from : 0;
}

const char *proc_full_name(const struct proc_info *pi, char *buf, size_t len)
{
	const char *cand[2] = { proc_basename(pi->argv0 ? pi->argv0 : ""), proc_basename(pi->exe) };
	size_t n = strlen(pi->comm);

	if (n < PROC_COMM_LEN - 1)
		return NULL;
	for (int i = 0; i < 2; i++) {
		if (strlen(cand[i]) > n && strncmp(cand[i], pi->comm, n) == 0) {
			snprintf(buf, len, "%s", cand[i]);
			return buf;
		}
	}
	return NULL;
}
