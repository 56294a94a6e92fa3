// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reload latency benchmark: how long after an editor's save completes does
 * the new value reach the kernel map the scheduler reads?
 *
 * The program starts `scx_gamer --no-attach run` on a private configuration
 * directory and pin directory, then edits scx_gamer.yaml N times per cell,
 * each time with a slice no recent edit used, and polls the pinned
 * profile_ver/profile_slots maps (the reader's protocol of bpf/intf.h) until
 * profile 0 carries the new slice.
 *
 *   t0: the save is complete: close() returned (in-place save), or rename()
 *       returned (temp file + rename save).
 *   t1: the first lookup that shows the new version, confirmed by reading its
 *       slot (and the version again) and finding the new slice in it.
 *
 * Cells: {in-place, rename} x {idle, loaded}; "loaded" runs one busy-loop
 * process per online CPU at normal priority for the whole condition. The
 * saves of both styles are interleaved, so slow drift affects both alike.
 *
 * Each edit is also timed from just before its completing close()/rename()
 * call: on ext4 those calls alone take tens to hundreds of microseconds
 * (writeback forced by replacing a file's contents), and a woken watcher may
 * finish before the writer gets back from the call.
 *
 * Baselines, unless --no-floor, interleaved with the daemon's edits:
 *   floor: a helper process stands in for the daemon with the least a reload
 *          can do - wake on inotify, read the file, take the number out of it,
 *          write it into a BPF array map - on a directory the daemon does not
 *          watch; same edits, same poller. daemon minus floor is what the
 *          daemon does per reload beyond that (parse, layering, map updates,
 *          logging, status file).
 *   none:  the same saves in a directory nobody watches: how long the
 *          completing call takes by itself.
 *
 * The poller spins on a CPU (unless --poll-sleep-us): it competes with the
 * daemon and the busy loops like any other normal-priority task, and on a
 * small machine that shows in the tail (see docs/BENCHMARKS.md).
 *
 * Not a test: it asserts nothing, and its numbers depend on the machine.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "../bpf/intf.h"

#define CONF_NAME "scx_gamer.yaml"
#define TMP_NAME ".scx_gamer.yaml.tmp"
#define TIMEOUT_NS 1000000000ULL
#define PIN_WAIT_NS (10 * 1000000000ULL)
#define WARMUP 20
/* The slice every edit sets cycles through this many distinct values. */
#define SLICE_CYCLE 4000
#define SLICE_BASE_US 1000
/* The slice in the initial file: no edit sets it. */
#define INITIAL_SLICE_US 50000

enum style { STYLE_INPLACE, STYLE_RENAME, STYLE_COUNT };
enum cond { COND_IDLE, COND_LOADED, COND_COUNT };
enum target { TARGET_DAEMON, TARGET_FLOOR, TARGET_NONE, TARGET_COUNT };

static const char *const style_name[] = { "in-place", "rename" };
static const char *const cond_name[] = { "idle", "loaded" };
static const char *const target_name[] = { "daemon", "floor", "none" };

struct cell {
	uint64_t *lat_ns; /* successful edits only */
	uint64_t *pre_ns; /* the same, from just before the final close()/rename() */
	int n;
	int timeouts;
};

static struct cell cells[TARGET_COUNT][COND_COUNT][STYLE_COUNT];
/* How busy the whole machine was during each condition, poller included (%). */
static double busy_pct[COND_COUNT];

static struct {
	int edits;
	int gap_us;
	int poll_sleep_us;
	bool json;
	bool floor;
	bool keep;
	const char *daemon;
} opt = { .edits = 1000, .gap_us = 2000, .floor = true };

static char tmp_dir[64];
static char conf_dir[PATH_MAX];
static char prof_dir[PATH_MAX];
static char floor_dir[PATH_MAX];
static char plain_dir[PATH_MAX];
static char pin_dir[PATH_MAX];
static char log_path[PATH_MAX];

static pid_t daemon_pid = -1;
static pid_t floor_pid = -1;
static pid_t *hogs;
static int n_hogs;
static volatile sig_atomic_t interrupted;

static int ver_fd = -1, slots_fd = -1, floor_map_fd = -1;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) && errno == EINTR && !interrupted)
		;
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* ---- child processes ------------------------------------------------------ */

static void stop_hogs(void)
{
	int i;

	for (i = 0; i < n_hogs; i++) {
		kill(hogs[i], SIGKILL);
		waitpid(hogs[i], NULL, 0);
	}
	n_hogs = 0;
}

static void start_hogs(int n)
{
	int i;

	hogs = calloc((size_t)n, sizeof(*hogs));
	if (!hogs)
		die("out of memory");
	for (i = 0; i < n; i++) {
		pid_t p = fork();

		if (p < 0)
			die("fork: %s", strerror(errno));
		if (p == 0) {
			volatile unsigned long spin = 0;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				spin++;
		}
		hogs[n_hogs++] = p;
	}
}

/* Stop a child with sig, then SIGKILL if it has not gone after 5 s. */
static int reap(pid_t *pid, int sig)
{
	uint64_t end = now_ns() + 5000000000ULL;
	int status = 0;
	pid_t r;

	if (*pid <= 0)
		return 0;
	kill(*pid, sig);
	while ((r = waitpid(*pid, &status, WNOHANG)) == 0 && now_ns() < end)
		sleep_ns(10000000);
	if (r == 0) {
		kill(*pid, SIGKILL);
		waitpid(*pid, &status, 0);
	}
	*pid = -1;
	return status;
}

static void rm_tree(const char *dir)
{
	char cmd[PATH_MAX + 32];

	/* Only ever our own mkdtemp() directory; the name has no quotes. */
	if (!dir[0] || strncmp(dir, "/tmp/", 5) != 0 || strchr(dir, '\''))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "reload_latency: failed to remove %s\n", dir);
}

static void unpin_leftovers(void)
{
	static const char *const names[] = { "profile_ver", "profile_slots", "profile_info",
					     "cfg_seen" };
	char p[PATH_MAX + 32];
	size_t i;

	if (!pin_dir[0])
		return;
	/* The daemon unpins on SIGTERM; this only catches a daemon that died. */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", pin_dir, names[i]);
		unlink(p);
	}
	rmdir(pin_dir);
}

static void cleanup(void)
{
	stop_hogs();
	reap(&floor_pid, SIGKILL);
	if (daemon_pid > 0) {
		int st = reap(&daemon_pid, SIGTERM);

		if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
			fprintf(stderr, "reload_latency: the daemon did not exit cleanly (status 0x%x); log: %s\n",
				st, log_path);
	}
	if (ver_fd >= 0)
		close(ver_fd);
	if (slots_fd >= 0)
		close(slots_fd);
	if (floor_map_fd >= 0)
		close(floor_map_fd);
	ver_fd = slots_fd = floor_map_fd = -1;
	unpin_leftovers();
	if (opt.keep)
		fprintf(stderr, "reload_latency: kept %s\n", tmp_dir);
	else
		rm_tree(tmp_dir);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "reload_latency: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (log_path[0] && daemon_pid > 0)
		fprintf(stderr, "reload_latency: daemon log: %s\n", log_path);
	opt.keep = opt.keep || daemon_pid > 0;
	cleanup();
	exit(1);
}

static void start_daemon(void)
{
	int fd;

	daemon_pid = fork();
	if (daemon_pid < 0)
		die("fork: %s", strerror(errno));
	if (daemon_pid > 0)
		return;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	execl(opt.daemon, opt.daemon, "--no-attach", "--config-dir", conf_dir, "--profile-dir",
	      prof_dir, "--pin-dir", pin_dir, "run", (char *)NULL);
	fprintf(stderr, "exec %s: %s\n", opt.daemon, strerror(errno));
	_exit(127);
}

/*
 * The floor: wake on inotify, read the file, parse the slice out of it and
 * write it into an array map - what any reloader must do at the least.
 */
static void floor_child(int ready_fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	char path[PATH_MAX + 32], text[256];
	int in, fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	in = inotify_init1(IN_CLOEXEC);
	if (in < 0 || inotify_add_watch(in, floor_dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0)
		_exit(1);
	snprintf(path, sizeof(path), "%s/%s", floor_dir, CONF_NAME);
	if (write(ready_fd, "r", 1) != 1)
		_exit(1);
	close(ready_fd);
	for (;;) {
		const struct inotify_event *ev;
		bool hit = false;
		ssize_t len = read(in, buf, sizeof(buf));
		char *p;

		if (len <= 0)
			_exit(len < 0 && errno == EINTR ? 0 : 1);
		for (p = buf; p < buf + len; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->len && strcmp(ev->name, CONF_NAME) == 0)
				hit = true;
		}
		if (!hit)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, text, sizeof(text) - 1);
			const char *s;
			uint32_t key = 0;
			uint64_t us;

			close(fd);
			text[n > 0 ? n : 0] = '\0';
			s = strstr(text, "slice: ");
			if (s && sscanf(s + 7, "%" SCNu64 "us", &us) == 1) {
				uint64_t ns = us * 1000;

				bpf_map_update_elem(floor_map_fd, &key, &ns, BPF_ANY);
			}
		}
	}
}

static void start_floor(void)
{
	int pipefd[2];
	char c;

	floor_map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bench_floor", sizeof(uint32_t),
				      sizeof(uint64_t), 1, NULL);
	if (floor_map_fd < 0)
		die("failed to create the floor's map: %s", strerror(errno));
	if (pipe(pipefd))
		die("pipe: %s", strerror(errno));
	floor_pid = fork();
	if (floor_pid < 0)
		die("fork: %s", strerror(errno));
	if (floor_pid == 0) {
		close(pipefd[0]);
		floor_child(pipefd[1]);
		_exit(0);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1)
		die("the floor's watcher failed to start");
	close(pipefd[0]);
}

/* ---- saving and polling --------------------------------------------------- */

static void write_all(int fd, const char *buf, size_t len, const char *path)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write %s: %s", path, strerror(errno));
		buf += n;
		len -= (size_t)n;
	}
}

/*
 * Save a configuration with this slice into dir; returns when the save is
 * complete. *pre: the time just before the call that completes it.
 */
static uint64_t save(const char *dir, enum style st, uint64_t slice_us, uint64_t *pre)
{
	char text[128], path[PATH_MAX + 32], tmp[PATH_MAX + 32];
	int len, fd;

	len = snprintf(text, sizeof(text), "schema: 1\ndefaults:\n  slice: %" PRIu64 "us\n",
		       slice_us);
	snprintf(path, sizeof(path), "%s/%s", dir, CONF_NAME);
	snprintf(tmp, sizeof(tmp), "%s/%s", dir, TMP_NAME);
	if (st == STYLE_INPLACE) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			die("open %s: %s", path, strerror(errno));
		write_all(fd, text, (size_t)len, path);
		*pre = now_ns();
		if (close(fd))
			die("close %s: %s", path, strerror(errno));
		return now_ns();
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open %s: %s", tmp, strerror(errno));
	write_all(fd, text, (size_t)len, tmp);
	if (close(fd))
		die("close %s: %s", tmp, strerror(errno));
	*pre = now_ns();
	if (rename(tmp, path))
		die("rename %s: %s", tmp, strerror(errno));
	return now_ns();
}

/* Between two lookups: nothing (spin), or a short sleep with --poll-sleep-us. */
static void poll_pause(void)
{
	if (opt.poll_sleep_us) {
		struct timespec ts = { .tv_nsec = opt.poll_sleep_us * 1000L };

		nanosleep(&ts, NULL);
	}
}

/*
 * Poll until profile 0's slice in the kernel is want_ns; the time of the
 * lookup that showed it, or 0 after the timeout. The reader's protocol of
 * bpf/intf.h: version, its slot, the version again.
 */
static uint64_t wait_daemon(uint64_t want_ns, uint64_t t0)
{
	uint32_t key = 0, slot;
	uint64_t v1, v2, last = UINT64_MAX, t;
	struct gamer_tunables tun;

	for (;;) {
		if (bpf_map_lookup_elem(ver_fd, &key, &v1))
			die("lookup profile_ver: %s", strerror(errno));
		t = now_ns();
		if (v1 != last && v1 != 0) {
			slot = 2 * GAMER_PROFILE_DEFAULTS + (uint32_t)(v1 & 1);
			if (bpf_map_lookup_elem(slots_fd, &slot, &tun))
				die("lookup profile_slots: %s", strerror(errno));
			if (bpf_map_lookup_elem(ver_fd, &key, &v2))
				die("lookup profile_ver: %s", strerror(errno));
			if (v2 == v1) {
				if (tun.slice_ns == want_ns)
					return t;
				last = v1;
			}
		}
		if (t - t0 > TIMEOUT_NS || interrupted)
			return 0;
		poll_pause();
	}
}

static uint64_t wait_floor(uint64_t want_ns, uint64_t t0)
{
	uint32_t key = 0;
	uint64_t v, t;

	for (;;) {
		if (bpf_map_lookup_elem(floor_map_fd, &key, &v))
			die("lookup the floor's map: %s", strerror(errno));
		t = now_ns();
		if (v == want_ns)
			return t;
		if (t - t0 > TIMEOUT_NS || interrupted)
			return 0;
		poll_pause();
	}
}

static uint64_t next_slice_us(void)
{
	static unsigned int i;

	return SLICE_BASE_US + (i++ % SLICE_CYCLE);
}

/* One edit; returns the latency in ns (*pre: from before the last call), or 0 on a timeout. */
static uint64_t edit(enum target tg, enum style st, uint64_t *pre)
{
	uint64_t us = next_slice_us(), tp, t0, t1;

	if (tg == TARGET_NONE) {
		/* Nobody watches: only how long the completing call itself takes. */
		t0 = save(plain_dir, st, us, &tp);
		*pre = t0 - tp ? t0 - tp : 1;
		return *pre;
	}
	if (tg == TARGET_DAEMON) {
		t0 = save(conf_dir, st, us, &tp);
		t1 = wait_daemon(us * 1000, t0);
	} else {
		t0 = save(floor_dir, st, us, &tp);
		t1 = wait_floor(us * 1000, t0);
	}
	*pre = t1 ? t1 - tp : 0;
	return t1 ? t1 - t0 : 0;
}

static void gap(void)
{
	/* 0.5x..1.5x the gap, so edits do not lock to any periodic activity. */
	uint64_t base = (uint64_t)opt.gap_us * 1000;

	if (base)
		sleep_ns(base / 2 + (uint64_t)random() % (base + 1));
}

static void record(enum target tg, enum cond c, enum style st, uint64_t lat, uint64_t pre)
{
	struct cell *cl = &cells[tg][c][st];

	if (lat) {
		cl->pre_ns[cl->n] = pre;
		cl->lat_ns[cl->n++] = lat;
	} else {
		cl->timeouts++;
		/* Let a late reload land before the next edit. */
		sleep_ns(100000000);
	}
}

/* Busy and total jiffies of all CPUs so far, from /proc/stat. */
static void cpu_jiffies(unsigned long long *busy, unsigned long long *total)
{
	unsigned long long v[10] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int i;

	*busy = *total = 0;
	if (!f)
		return;
	/* user nice system idle iowait irq softirq steal guest guest_nice */
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) >= 8) {
		for (i = 0; i < 8; i++)
			*total += v[i];
		*busy = *total - v[3] - v[4];
	}
	fclose(f);
}

static void run_condition(enum cond c)
{
	unsigned long long b0, t0, b1, t1;
	int i, st, tg;

	if (c == COND_LOADED) {
		start_hogs((int)sysconf(_SC_NPROCESSORS_ONLN));
		sleep_ns(200000000); /* let the load settle */
	}
	for (i = 0; i < WARMUP && !interrupted; i++) {
		for (tg = 0; tg < TARGET_COUNT; tg++) {
			uint64_t pre;

			if (tg != TARGET_DAEMON && !opt.floor)
				continue;
			edit((enum target)tg, (enum style)(i % STYLE_COUNT), &pre);
			gap();
		}
	}
	cpu_jiffies(&b0, &t0);
	for (i = 0; i < opt.edits && !interrupted; i++) {
		/* Rotate the order within a round so no cell always goes first. */
		for (st = 0; st < STYLE_COUNT; st++) {
			for (tg = 0; tg < TARGET_COUNT; tg++) {
				enum style s = (enum style)((st + i) % STYLE_COUNT);
				uint64_t lat, pre;

				if (tg != TARGET_DAEMON && !opt.floor)
					continue;
				lat = edit((enum target)tg, s, &pre);
				record((enum target)tg, c, s, lat, pre);
				gap();
			}
		}
		if (!opt.json && isatty(STDERR_FILENO) && (i + 1) % 100 == 0)
			fprintf(stderr, "\r%s: %d/%d", cond_name[c], i + 1, opt.edits);
	}
	cpu_jiffies(&b1, &t1);
	busy_pct[c] = t1 > t0 ? 100.0 * (double)(b1 - b0) / (double)(t1 - t0) : -1;
	if (!opt.json && isatty(STDERR_FILENO))
		fprintf(stderr, "\r%*s\r", 40, "");
	stop_hogs();
	free(hogs);
	hogs = NULL;
}

/* ---- setup ----------------------------------------------------------------- */

static void wait_for_pins(void)
{
	char ver_path[PATH_MAX + 32], slots_path[PATH_MAX + 32];
	uint64_t end = now_ns() + PIN_WAIT_NS;
	int status;

	snprintf(ver_path, sizeof(ver_path), "%s/profile_ver", pin_dir);
	snprintf(slots_path, sizeof(slots_path), "%s/profile_slots", pin_dir);
	for (;;) {
		if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
			daemon_pid = -1;
			opt.keep = true;
			die("the daemon exited early (status 0x%x); log: %s", status, log_path);
		}
		/* The daemon pins after it set up its inotify watches. */
		if (access(ver_path, F_OK) == 0 && access(slots_path, F_OK) == 0)
			break;
		if (now_ns() > end)
			die("the daemon did not pin its maps in %s within 10 s", pin_dir);
		sleep_ns(10000000);
	}
	ver_fd = bpf_obj_get(ver_path);
	slots_fd = bpf_obj_get(slots_path);
	if (ver_fd < 0 || slots_fd < 0)
		die("bpf_obj_get in %s: %s", pin_dir, strerror(errno));
	if (!wait_daemon((uint64_t)INITIAL_SLICE_US * 1000, now_ns()))
		die("the initial configuration never reached the maps");
}

static void setup(void)
{
	uint64_t pre;

	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/scx_gamer_bench.XXXXXX");
	if (!mkdtemp(tmp_dir))
		die("mkdtemp: %s", strerror(errno));
	snprintf(conf_dir, sizeof(conf_dir), "%s/etc", tmp_dir);
	snprintf(prof_dir, sizeof(prof_dir), "%s/profiles", tmp_dir);
	snprintf(floor_dir, sizeof(floor_dir), "%s/floor", tmp_dir);
	snprintf(plain_dir, sizeof(plain_dir), "%s/plain", tmp_dir);
	snprintf(log_path, sizeof(log_path), "%s/daemon.log", tmp_dir);
	if (mkdir(conf_dir, 0755) || mkdir(prof_dir, 0755) || mkdir(floor_dir, 0755) ||
	    mkdir(plain_dir, 0755))
		die("mkdir in %s: %s", tmp_dir, strerror(errno));
	/* Unique per run: the pid and the temp directory's random suffix. */
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/scx_gamer_bench_%d_%s", (int)getpid(),
		 strrchr(tmp_dir, '.') + 1);
	save(conf_dir, STYLE_INPLACE, INITIAL_SLICE_US, &pre);
	if (opt.floor)
		save(floor_dir, STYLE_INPLACE, INITIAL_SLICE_US, &pre);
}

/* ---- output ----------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted samples, in microseconds. */
static double pct_us(const uint64_t *v, int n, double q)
{
	size_t rank = (size_t)(q * n + 0.999999);

	if (rank < 1)
		rank = 1;
	if (rank > (size_t)n)
		rank = (size_t)n;
	return (double)v[rank - 1] / 1000.0;
}

static const double qs[] = { 0.50, 0.90, 0.99, 0.999, 1.0 };
static const char *const q_name[] = { "p50", "p90", "p99", "p99.9", "max" };
static const char *const q_json[] = { "p50_us", "p90_us", "p99_us", "p99_9_us", "max_us" };
#define N_Q (sizeof(qs) / sizeof(qs[0]))

static void os_name(char *out, size_t size)
{
	char line[256];
	FILE *f = fopen("/etc/os-release", "r");

	snprintf(out, size, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
			char *s = line + 12, *e;

			if (*s == '"')
				s++;
			e = s + strcspn(s, "\"\n");
			*e = '\0';
			snprintf(out, size, "%s", s);
		}
	}
	fclose(f);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void json_pcts(const char *name, const uint64_t *v, int n)
{
	size_t k;

	printf(", \"%s\": {", name);
	for (k = 0; k < N_Q; k++) {
		if (n)
			printf("%s\"%s\": %.1f", k ? ", " : "", q_json[k], pct_us(v, n, qs[k]));
		else
			printf("%s\"%s\": null", k ? ", " : "", q_json[k]);
	}
	printf("}");
}

/* The text table of either measure: from the completed save, or from before its last call. */
static void text_table(bool from_call)
{
	size_t k;
	int tg, c, st;

	printf("%-7s %-7s %-9s %6s %5s", "target", "load", "save", "n", "t/o");
	for (k = 0; k < N_Q; k++)
		printf(" %8s", q_name[k]);
	printf("\n");
	for (tg = 0; tg < TARGET_COUNT; tg++) {
		if ((tg != TARGET_DAEMON && !opt.floor) || (tg == TARGET_NONE && !from_call))
			continue;
		for (c = 0; c < COND_COUNT; c++) {
			for (st = 0; st < STYLE_COUNT; st++) {
				const struct cell *cl = &cells[tg][c][st];
				const uint64_t *v = from_call ? cl->pre_ns : cl->lat_ns;

				printf("%-7s %-7s %-9s %6d %5d", target_name[tg], cond_name[c],
				       style_name[st], cl->n, cl->timeouts);
				for (k = 0; k < N_Q; k++) {
					if (cl->n)
						printf(" %8.1f", pct_us(v, cl->n, qs[k]));
					else
						printf(" %8s", "-");
				}
				printf("\n");
			}
		}
	}
}

static void report(void)
{
	char date[64], os[256];
	struct utsname u;
	time_t now = time(NULL);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	bool first = true;
	int tg, c, st;

	uname(&u);
	os_name(os, sizeof(os));
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	for (tg = 0; tg < TARGET_COUNT; tg++)
		for (c = 0; c < COND_COUNT; c++)
			for (st = 0; st < STYLE_COUNT; st++) {
				struct cell *cl = &cells[tg][c][st];

				qsort(cl->lat_ns, (size_t)cl->n, sizeof(*cl->lat_ns), cmp_u64);
				qsort(cl->pre_ns, (size_t)cl->n, sizeof(*cl->pre_ns), cmp_u64);
			}

	if (!opt.json) {
		printf("scx_gamer reload latency: save complete -> new value in the kernel map\n");
		printf("date     %s\n", date);
		printf("machine  %ld CPUs, %s, kernel %s, %s\n", ncpu, u.machine, u.release, os);
		printf("daemon   %s\n", opt.daemon);
		printf("CPU busy idle %.0f%%, loaded %.0f%% (all CPUs, the spinning poller included)\n",
		       busy_pct[COND_IDLE], busy_pct[COND_LOADED]);
		printf("edits    %d per cell (timeout %llu ms); microseconds; poller %s", opt.edits,
		       TIMEOUT_NS / 1000000, opt.poll_sleep_us ? "sleeps" : "spins");
		if (opt.poll_sleep_us)
			printf(" %d us between lookups", opt.poll_sleep_us);
		printf("\n\n");
		printf("From the return of the save's close() (in-place) or rename():\n");
		text_table(false);
		printf("\nFrom just before that close() or rename() call (none: the call alone):\n");
		text_table(true);
		if (opt.floor)
			printf("\nfloor: a helper process that wakes on inotify, reads the file and writes\n"
			       "one array map element, on a directory the daemon does not watch.\n"
			       "none: the same saves in a directory nobody watches; the time of the\n"
			       "completing close() or rename() call alone.\n");
		return;
	}
	printf("{\n  \"date\": \"%s\",\n  \"machine\": {\"nproc\": %ld, \"kernel\": ", date, ncpu);
	json_str(u.release);
	printf(", \"arch\": ");
	json_str(u.machine);
	printf(", \"os\": ");
	json_str(os);
	printf("},\n  \"cpu_busy_pct\": {\"idle\": %.1f, \"loaded\": %.1f},\n  \"daemon\": ",
	       busy_pct[COND_IDLE], busy_pct[COND_LOADED]);
	json_str(opt.daemon);
	printf(",\n  \"poll_sleep_us\": %d", opt.poll_sleep_us);
	printf(",\n  \"edits_per_cell\": %d,\n  \"timeout_us\": %llu,\n  \"results\": [", opt.edits,
	       TIMEOUT_NS / 1000);
	for (tg = 0; tg < TARGET_COUNT; tg++) {
		if (tg != TARGET_DAEMON && !opt.floor)
			continue;
		for (c = 0; c < COND_COUNT; c++) {
			for (st = 0; st < STYLE_COUNT; st++) {
				const struct cell *cl = &cells[tg][c][st];

				printf("%s\n    {\"target\": \"%s\", \"condition\": \"%s\", "
				       "\"save\": \"%s\", \"n\": %d, \"timeouts\": %d",
				       first ? "" : ",", target_name[tg], cond_name[c],
				       style_name[st], cl->n, cl->timeouts);
				if (tg == TARGET_NONE) {
					json_pcts("call", cl->pre_ns, cl->n);
				} else {
					json_pcts("from_return", cl->lat_ns, cl->n);
					json_pcts("from_call", cl->pre_ns, cl->n);
				}
				printf("}");
				first = false;
			}
		}
	}
	printf("\n  ]\n}\n");
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: reload_latency [OPTION]...\n"
		"Measure how long scx_gamer takes from a completed save of scx_gamer.yaml\n"
		"to the new value in its kernel map, idle and with every CPU busy. Needs root.\n\n"
		"  -n, --edits=N      edits per save style and condition (default 1000)\n"
		"  -d, --daemon=PATH  the scx_gamer binary (default $SCX_GAMER, else ./src/scx_gamer)\n"
		"  -g, --gap-us=US    mean pause between edits (default 2000)\n"
		"  -s, --poll-sleep-us=US  sleep between lookups instead of spinning\n"
		"      --no-floor     skip the floor and none baselines\n"
		"      --json         JSON output\n"
		"      --keep         keep the temp directory (daemon log)\n"
		"  -h, --help         this help\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "edits", required_argument, NULL, 'n' },
		{ "daemon", required_argument, NULL, 'd' },
		{ "gap-us", required_argument, NULL, 'g' },
		{ "poll-sleep-us", required_argument, NULL, 's' },
		{ "no-floor", no_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "keep", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_signal };
	int o, tg, c, st;
	char *end;

	opt.daemon = getenv("SCX_GAMER");
	if (!opt.daemon || !*opt.daemon)
		opt.daemon = "./src/scx_gamer";
	while ((o = getopt_long(argc, argv, "n:d:g:s:h", lopts, NULL)) != -1) {
		switch (o) {
		case 'n':
			errno = 0;
			opt.edits = (int)strtol(optarg, &end, 10);
			if (errno || *end || opt.edits < 1 || opt.edits > 10000000) {
				fprintf(stderr, "reload_latency: bad --edits: %s\n", optarg);
				return 2;
			}
			break;
		case 'd':
			opt.daemon = optarg;
			break;
		case 'g':
			errno = 0;
			opt.gap_us = (int)strtol(optarg, &end, 10);
			if (errno || *end || opt.gap_us < 0 || opt.gap_us > 10000000) {
				fprintf(stderr, "reload_latency: bad --gap-us: %s\n", optarg);
				return 2;
			}
			break;
		case 's':
			errno = 0;
			opt.poll_sleep_us = (int)strtol(optarg, &end, 10);
			if (errno || *end || opt.poll_sleep_us < 0 || opt.poll_sleep_us > 100000) {
				fprintf(stderr, "reload_latency: bad --poll-sleep-us: %s\n", optarg);
				return 2;
			}
			break;
		case 'F':
			opt.floor = false;
			break;
		case 'j':
			opt.json = true;
			break;
		case 'k':
			opt.keep = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "reload_latency: must run as root (the daemon creates BPF maps)\n");
		return 1;
	}
	if (access(opt.daemon, X_OK)) {
		fprintf(stderr, "reload_latency: %s: %s\n", opt.daemon, strerror(errno));
		return 1;
	}
	for (tg = 0; tg < TARGET_COUNT; tg++)
		for (c = 0; c < COND_COUNT; c++)
			for (st = 0; st < STYLE_COUNT; st++) {
				cells[tg][c][st].lat_ns = calloc((size_t)opt.edits, sizeof(uint64_t));
				cells[tg][c][st].pre_ns = calloc((size_t)opt.edits, sizeof(uint64_t));
				if (!cells[tg][c][st].lat_ns || !cells[tg][c][st].pre_ns) {
					fprintf(stderr, "reload_latency: out of memory\n");
					return 1;
				}
			}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	srandom((unsigned int)now_ns());
	/* Sleeps between lookups as short as asked (the default slack is 50 us). */
	if (opt.poll_sleep_us)
		prctl(PR_SET_TIMERSLACK, 1UL);

	setup();
	start_daemon();
	wait_for_pins();
	if (opt.floor)
		start_floor();
	for (c = 0; c < COND_COUNT && !interrupted; c++)
		run_condition((enum cond)c);
	cleanup();
	if (interrupted) {
		fprintf(stderr, "reload_latency: interrupted\n");
		return 130;
	}
	report();
	return 0;
}
