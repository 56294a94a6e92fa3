// SPDX-License-Identifier: GPL-2.0-only
/*
 * gamer-task: threads with a chosen profile, role and behaviour, for the VM
 * tests and the benchmarks. It measures what the threads achieved under the
 * running scheduler (see bpf/gamer.bpf.c for the policy being measured).
 *
 *   gamer-task [--pin-dir DIR] --mode MODE [--profile ID] [--role ROLE|none]
 *              [--boost N] [--lo-role ROLE|none] [--lo-boost N] [--name NAME]
 *              [--threads N] [--seconds S] [--period-us P] [--busy-us B]
 *              [--cpu N[,M...]] [--nice N] [--fifo PRIO] [--no-class]
 *
 * Classes. Unless --no-class, every worker thread names itself, writes its
 * own tid into PIN/task_class ({profile slot, role, boost}; the slot is found
 * by id in PIN/profile_info, "defaults" is slot 0), bumps PIN/class_gen so
 * that the scheduler refreshes its cached class, and only then starts work.
 * Each thread deletes its entry when it stops, while the tid is still its own
 * (a later delete could hit a reused tid). --no-class leaves the maps alone:
 * it runs under any scheduler, and the daemon's own `threads:` rules can
 * classify the threads by name.
 *
 * Modes (times in microseconds; --threads N; threads are named NAME-I, pairs
 * NAME-hiI and NAME-loI; all threads start together once all are classified):
 *   hog       N threads count spin-loop iterations.
 *   periodic  N threads: wake at absolute period boundaries (P), busy B,
 *             sleep to the next boundary. Wake latency = actual - intended
 *             wake time; a miss is a period whose work ended after the next
 *             boundary (then the boundaries already passed are skipped, as
 *             cyclictest does: an overrun is not the scheduler's latency).
 *   pingpong  N pairs over pipes: hi (--role/--boost) sends a byte and times
 *             the reply, sleeping P between requests (0: back to back); lo
 *             (--lo-role, default background, --lo-boost) busies B and
 *             replies.
 *   mutex     N pairs sharing a pthread mutex: lo holds it busy for B, then
 *             sleeps P/2; hi sleeps P, then times how long locking it takes.
 *   frame     N threads: note sched_getcpu(), busy B, sleep P (relative);
 *             counts migrations, cross-node migrations and iterations per
 *             NUMA node (/sys/devices/system/cpu/cpuK/nodeM).
 *
 * Output: human-readable lines, then one last line `result key=value ...`.
 * Percentiles are nearest-rank over at most SAMPLE_CAP samples in all (later
 * ones are counted, and still count towards max_us, but not kept). SIGINT or
 * SIGTERM stops the run early; results are printed and entries removed.
 * Exit status: 0, 1 on a runtime error, 2 on a usage error.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "../../bpf/intf.h"

#define PROG "gamer-task"
#define SAMPLE_CAP 1000000
#define MAX_THREADS 1024
#define MAX_NODES 64
#define MAX_TIME_US (60ULL * 1000 * 1000)
#define MAX_SECONDS (7 * 24 * 3600.0)
#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_SEC 1000000000ULL
/* Workers need little stack; the default 8 MB x MAX_THREADS is a lot in a VM. */
#define WORKER_STACK (256 * 1024)

enum mode { MODE_HOG, MODE_PERIODIC, MODE_PINGPONG, MODE_MUTEX, MODE_FRAME, MODE_COUNT };

static const char *const mode_names[MODE_COUNT] = {
	[MODE_HOG] = "hog",	    [MODE_PERIODIC] = "periodic", [MODE_PINGPONG] = "pingpong",
	[MODE_MUTEX] = "mutex", [MODE_FRAME] = "frame",
};

static const char *const role_names[GAMER_ROLE_COUNT] = { GAMER_ROLES(GAMER_ROLE_NAME) };

static struct {
	const char *pin_dir;
	enum mode mode;
	const char *profile;
	uint8_t role, boost, lo_role, lo_boost;
	const char *name;
	unsigned int threads;
	uint64_t run_ns, period_ns, busy_ns;
	int cpu; /* -1: not pinned; else the first of cpus */
	cpu_set_t cpus; /* --cpu N[,M...] */
	int nice; /* every thread's, -20..19 */
	int fifo; /* every thread's SCHED_FIFO priority, 1..99; 0: not RT */
	bool no_class;
} opt = {
	.pin_dir = SCX_GAMER_PINDIR,
	.mode = MODE_COUNT,
	.profile = "defaults",
	.role = GAMER_ROLE_NONE,
	.boost = GAMER_BOOST_FROM_ROLE,
	.lo_role = GAMER_ROLE_BACKGROUND,
	.lo_boost = GAMER_BOOST_FROM_ROLE,
	.name = PROG,
	.threads = 1,
	.run_ns = 5 * NSEC_PER_SEC,
	.period_ns = 1000 * NSEC_PER_USEC,
	.busy_ns = 100 * NSEC_PER_USEC,
	.cpu = -1,
};

/* The pinned maps, when classes are on. */
static struct {
	int task_fd, gen_fd;
	uint16_t slot;
	/* Serialises our own threads' read-modify-write of class_gen. */
	pthread_mutex_t gen_lock;
} cls = { -1, -1, 0, PTHREAD_MUTEX_INITIALIZER };

/* CPU -> NUMA node, for frame mode. */
static struct {
	int ncpus, nnodes;
	int *node;
} topo;

struct pair;

struct worker {
	pthread_t thread;
	bool started;
	char name[16];
	uint8_t role, boost;
	bool hi; /* pairs: the measuring side */
	struct pair *pair;
	pid_t tid;
	bool classified, wrote_class;
	/* The first error this thread met, reported by main. */
	int err;
	const char *err_what;
	/* Results. count: iterations, wakes, round trips, acquisitions or holds. */
	uint64_t count, misses, max_ns;
	uint64_t *samples;
	size_t nsamples, cap;
	uint64_t migrations, node_migrations;
	uint64_t *node_iters; /* frame: [topo.nnodes] */
};

/* A pair's pipe ends: hi owns req[1] and rep[0], lo owns req[0] and rep[1]. */
struct pair {
	int req[2], rep[2];
	pthread_mutex_t lock;
};

/* Workers start together, once every one of them has classified itself. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int ready;
	bool go;
} gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false };

static atomic_bool stop;

static void __attribute__((format(printf, 1, 2))) errorf(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, PROG ": error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [--pin-dir DIR] --mode MODE [--profile ID] [--role ROLE|none]\n"
		"       [--boost N] [--lo-role ROLE|none] [--lo-boost N] [--name NAME]\n"
		"       [--threads N] [--seconds S] [--period-us P] [--busy-us B] [--cpu N[,M...]]\n"
		"       [--nice N] [--fifo PRIO] [--no-class]\n"
		"modes: hog periodic pingpong mutex frame\n"
		"roles: input render gpu compositor audio game network background none\n"
		"defaults: --pin-dir " SCX_GAMER_PINDIR " --profile defaults --role none\n"
		"  --lo-role background --name " PROG " --threads 1 --seconds 5\n"
		"  --period-us 1000 --busy-us 100; boosts default to the role's\n");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static struct timespec to_timespec(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / NSEC_PER_SEC),
			       .tv_nsec = (long)(ns % NSEC_PER_SEC) };

	return ts;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = to_timespec(t);

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void sleep_for(uint64_t ns)
{
	if (ns)
		sleep_until(now_ns() + ns);
}

/* Busy until `end` by the clock, so that time lost to preemption counts. */
static uint64_t busy_until(uint64_t end)
{
	uint64_t t;

	while ((t = now_ns()) < end)
		;
	return t;
}

static bool stopped(void)
{
	return atomic_load_explicit(&stop, memory_order_relaxed);
}

static void fail(struct worker *w, const char *what, int err)
{
	if (!w->err) {
		w->err = err ? err : EIO;
		w->err_what = what;
	}
}

static void record(struct worker *w, uint64_t ns)
{
	if (w->nsamples < w->cap)
		w->samples[w->nsamples++] = ns;
	if (ns > w->max_ns)
		w->max_ns = ns;
	w->count++;
}

/* ---- option parsing ------------------------------------------------------- */

static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_role(const char *s)
{
	int r;

	if (!strcmp(s, "none"))
		return GAMER_ROLE_NONE;
	for (r = 0; r < GAMER_ROLE_COUNT; r++)
		if (!strcmp(s, role_names[r]))
			return r;
	return -1;
}

static const char *role_str(uint8_t role)
{
	return role < GAMER_ROLE_COUNT ? role_names[role] : "none";
}

static void boost_str(uint8_t boost, char *buf, size_t len)
{
	if (boost == GAMER_BOOST_FROM_ROLE)
		snprintf(buf, len, "role's");
	else
		snprintf(buf, len, "%u", boost);
}

static bool pair_mode(void)
{
	return opt.mode == MODE_PINGPONG || opt.mode == MODE_MUTEX;
}

/* Thread i's name; pairs: even i is pair i/2's hi side, odd i its lo side. */
static int thread_name(unsigned int i, char *buf, size_t len)
{
	if (pair_mode())
		return snprintf(buf, len, "%s-%s%u", opt.name, i % 2 ? "lo" : "hi", i / 2);
	return snprintf(buf, len, "%s-%u", opt.name, i);
}

enum {
	OPT_PIN_DIR = 256, OPT_MODE, OPT_PROFILE, OPT_ROLE, OPT_BOOST, OPT_LO_ROLE,
	OPT_LO_BOOST, OPT_NAME, OPT_THREADS, OPT_SECONDS, OPT_PERIOD, OPT_BUSY, OPT_CPU, OPT_NICE,
	OPT_FIFO, OPT_NO_CLASS,
};

static const struct option long_opts[] = {
	{ "pin-dir", required_argument, NULL, OPT_PIN_DIR },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "boost", required_argument, NULL, OPT_BOOST },
	{ "lo-role", required_argument, NULL, OPT_LO_ROLE },
	{ "lo-boost", required_argument, NULL, OPT_LO_BOOST },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "seconds", required_argument, NULL, OPT_SECONDS },
	{ "period-us", required_argument, NULL, OPT_PERIOD },
	{ "busy-us", required_argument, NULL, OPT_BUSY },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "nice", required_argument, NULL, OPT_NICE },
	{ "fifo", required_argument, NULL, OPT_FIFO },
	{ "no-class", no_argument, NULL, OPT_NO_CLASS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Returns 0, or the exit status: 2 after a usage error, 0 after --help. */
static int parse_args(int argc, char **argv, bool *done)
{
	uint64_t v;
	double secs;
	char *end, longest[64];
	int c, m, r;

	opterr = 0;
	*done = false;
	while ((c = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_PIN_DIR:
			opt.pin_dir = optarg;
			break;
		case OPT_MODE:
			for (m = 0; m < MODE_COUNT && strcmp(optarg, mode_names[m]); m++)
				;
			if (m == MODE_COUNT) {
				errorf("unknown mode '%s' (expected hog, periodic, pingpong, mutex or frame)",
				      optarg);
				return 2;
			}
			opt.mode = (enum mode)m;
			break;
		case OPT_PROFILE:
			if (!*optarg || strlen(optarg) >= GAMER_ID_LEN) {
				errorf("--profile: expected an id of 1 to %d characters", GAMER_ID_LEN - 1);
				return 2;
			}
			opt.profile = optarg;
			break;
		case OPT_ROLE:
		case OPT_LO_ROLE:
			r = parse_role(optarg);
			if (r < 0) {
				errorf("%s: unknown role '%s' (expected input, render, gpu, compositor, "
				      "audio, game, network, background or none)",
				      c == OPT_ROLE ? "--role" : "--lo-role", optarg);
				return 2;
			}
			*(c == OPT_ROLE ? &opt.role : &opt.lo_role) = (uint8_t)r;
			break;
		case OPT_BOOST:
		case OPT_LO_BOOST:
			if (!parse_uint(optarg, GAMER_BOOST_MAX, &v)) {
				errorf("%s: expected 0 to %d, got '%s'",
				      c == OPT_BOOST ? "--boost" : "--lo-boost", GAMER_BOOST_MAX, optarg);
				return 2;
			}
			*(c == OPT_BOOST ? &opt.boost : &opt.lo_boost) = (uint8_t)v;
			break;
		case OPT_NAME:
			opt.name = optarg;
			break;
		case OPT_THREADS:
			if (!parse_uint(optarg, MAX_THREADS, &v) || !v) {
				errorf("--threads: expected 1 to %d, got '%s'", MAX_THREADS, optarg);
				return 2;
			}
			opt.threads = (unsigned int)v;
			break;
		case OPT_SECONDS:
			errno = 0;
			secs = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(secs > 0 && secs <= MAX_SECONDS)) {
				errorf("--seconds: expected a number above 0 and at most %.0f, got '%s'",
				      MAX_SECONDS, optarg);
				return 2;
			}
			opt.run_ns = (uint64_t)(secs * (double)NSEC_PER_SEC);
			if (!opt.run_ns)
				opt.run_ns = 1;
			break;
		case OPT_PERIOD:
		case OPT_BUSY:
			if (!parse_uint(optarg, MAX_TIME_US, &v)) {
				errorf("%s: expected microseconds, 0 to %llu, got '%s'",
				      c == OPT_PERIOD ? "--period-us" : "--busy-us",
				      (unsigned long long)MAX_TIME_US, optarg);
				return 2;
			}
			*(c == OPT_PERIOD ? &opt.period_ns : &opt.busy_ns) = v * NSEC_PER_USEC;
			break;
		case OPT_CPU: {
			char buf[256], *tok, *save = NULL;

			snprintf(buf, sizeof(buf), "%s", optarg);
			CPU_ZERO(&opt.cpus);
			opt.cpu = -1;
			for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (!parse_uint(tok, CPU_SETSIZE - 1, &v)) {
					errorf("--cpu: expected CPU numbers 0 to %d, comma-separated, got '%s'",
					       CPU_SETSIZE - 1, optarg);
					return 2;
				}
				CPU_SET((int)v, &opt.cpus);
				if (opt.cpu < 0)
					opt.cpu = (int)v;
			}
			if (opt.cpu < 0) {
				errorf("--cpu: expected CPU numbers, got '%s'", optarg);
				return 2;
			}
			break;
		}
		case OPT_NICE: {
			char *rest;
			long n;

			errno = 0;
			n = strtol(optarg, &rest, 10);
			if (errno || rest == optarg || *rest || n < -20 || n > 19) {
				errorf("--nice: expected -20 to 19, got '%s'", optarg);
				return 2;
			}
			opt.nice = (int)n;
			break;
		}
		case OPT_FIFO: {
			char *rest;
			long n;

			errno = 0;
			n = strtol(optarg, &rest, 10);
			if (errno || rest == optarg || *rest || n < 1 || n > 99) {
				errorf("--fifo: expected a priority from 1 to 99, got '%s'", optarg);
				return 2;
			}
			opt.fifo = (int)n;
			break;
		}
		case OPT_NO_CLASS:
			opt.no_class = true;
			break;
		case 'h':
			usage(stdout);
			*done = true;
			return 0;
		case ':':
			errorf("option '%s' needs a value", argv[optind - 1]);
			return 2;
		default:
			if (optopt)
				errorf("unknown option '-%c' (see --help)", optopt);
			else
				errorf("unknown option '%s' (see --help)", argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		errorf("unexpected argument '%s' (see --help)", argv[optind]);
		return 2;
	}
	if (opt.mode == MODE_COUNT) {
		errorf("--mode is required (hog, periodic, pingpong, mutex or frame)");
		return 2;
	}
	if (opt.mode == MODE_PERIODIC && !opt.period_ns) {
		errorf("--period-us: periodic mode needs a period above 0");
		return 2;
	}
	if (!*opt.name || strchr(opt.name, '/')) {
		errorf("--name: expected a non-empty name without '/'");
		return 2;
	}
	/* The kernel keeps 15 characters of a thread name; a cut name would not match. */
	if (thread_name(pair_mode() ? 2 * opt.threads - 1 : opt.threads - 1, longest,
			sizeof(longest)) > 15) {
		errorf("--name: thread name '%s' is longer than 15 characters", longest);
		return 2;
	}
	return 0;
}

/* ---- classes ---------------------------------------------------------------- */

static int open_map(const char *name, uint32_t key_size, uint32_t value_size,
		    uint32_t *max_entries)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", opt.pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		errorf("failed to open %s: %s (is `scx_gamer run` running? --no-class runs "
		      "without it)", path, strerror(errno));
		return -1;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_map_get_info_by_fd(fd, &info, &len)) {
		errorf("failed to inspect %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (info.key_size != key_size || info.value_size != value_size) {
		errorf("%s has keys of %u and values of %u bytes, expected %u and %u "
		      "(built against a different bpf/intf.h?)", path, info.key_size,
		      info.value_size, key_size, value_size);
		close(fd);
		return -1;
	}
	if (max_entries)
		*max_entries = info.max_entries;
	return fd;
}

static int find_profile(const char *id, uint16_t *slot)
{
	struct gamer_profile_info info;
	uint32_t n, key;
	int fd, ret = -1;

	/* Slot 0 is the defaults whether or not the daemon has described it. */
	if (!strcmp(id, "defaults")) {
		*slot = GAMER_PROFILE_DEFAULTS;
		return 0;
	}
	fd = open_map("profile_info", sizeof(key), sizeof(info), &n);
	if (fd < 0)
		return -1;
	if (n > GAMER_MAX_PROFILES)
		n = GAMER_MAX_PROFILES;
	for (key = 0; key < n; key++) {
		if (bpf_map_lookup_elem(fd, &key, &info)) {
			errorf("failed to read %s/profile_info[%u]: %s", opt.pin_dir, key,
			      strerror(errno));
			goto out;
		}
		if (!strncmp(info.id, id, sizeof(info.id))) {
			*slot = (uint16_t)key;
			ret = 0;
			goto out;
		}
	}
	errorf("no profile '%s' in %s/profile_info (is it loaded? see `scx_gamer show`)", id,
	      opt.pin_dir);
out:
	close(fd);
	return ret;
}

static int open_classes(void)
{
	if (find_profile(opt.profile, &cls.slot))
		return -1;
	cls.task_fd = open_map("task_class", sizeof(uint32_t), sizeof(struct gamer_class), NULL);
	if (cls.task_fd < 0)
		return -1;
	cls.gen_fd = open_map("class_gen", sizeof(uint32_t), sizeof(uint64_t), NULL);
	if (cls.gen_fd < 0)
		return -1;
	return 0;
}

static int bump_class_gen(void)
{
	uint32_t key = 0;
	uint64_t gen;
	int ret = 0;

	pthread_mutex_lock(&cls.gen_lock);
	if (bpf_map_lookup_elem(cls.gen_fd, &key, &gen)) {
		ret = -errno;
		goto out;
	}
	gen++;
	if (bpf_map_update_elem(cls.gen_fd, &key, &gen, BPF_ANY))
		ret = -errno;
out:
	pthread_mutex_unlock(&cls.gen_lock);
	return ret;
}

static void classify(struct worker *w)
{
	struct gamer_class c = { .slot = cls.slot, .role = w->role, .boost = w->boost };
	uint32_t key = (uint32_t)w->tid;
	int err;

	if (bpf_map_update_elem(cls.task_fd, &key, &c, BPF_ANY)) {
		fail(w, "failed to write task_class", errno);
		return;
	}
	w->classified = w->wrote_class = true;
	err = bump_class_gen();
	if (err)
		fail(w, "failed to bump class_gen", -err);
}

static void unclassify(struct worker *w)
{
	uint32_t key = (uint32_t)w->tid;

	if (bpf_map_delete_elem(cls.task_fd, &key) && errno != ENOENT)
		fail(w, "failed to delete its task_class entry", errno);
	w->classified = false;
}

/* ---- topology --------------------------------------------------------------- */

static int read_topology(void)
{
	const char *base = "/sys/devices/system/cpu";
	char path[PATH_MAX];
	struct dirent *e, *n;
	DIR *d, *cd;
	int cpu, node, max_cpu = -1;

	topo.ncpus = (int)sysconf(_SC_NPROCESSORS_CONF);
	d = opendir(base);
	if (d) {
		while ((e = readdir(d)))
			if (sscanf(e->d_name, "cpu%d", &cpu) == 1 && cpu > max_cpu)
				max_cpu = cpu;
		rewinddir(d);
	}
	if (max_cpu + 1 > topo.ncpus)
		topo.ncpus = max_cpu + 1;
	if (topo.ncpus < 1)
		topo.ncpus = 1;
	topo.nnodes = 1;
	topo.node = calloc((size_t)topo.ncpus, sizeof(*topo.node));
	if (!topo.node) {
		errorf("failed to allocate the CPU map: %s", strerror(errno));
		if (d)
			closedir(d);
		return -1;
	}
	/* No nodeM links (a kernel without NUMA): everything is node 0. */
	while (d && (e = readdir(d))) {
		if (sscanf(e->d_name, "cpu%d", &cpu) != 1 || cpu < 0 || cpu >= topo.ncpus)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
		cd = opendir(path);
		if (!cd)
			continue;
		while ((n = readdir(cd))) {
			if (sscanf(n->d_name, "node%d", &node) != 1 || node < 0)
				continue;
			if (node >= MAX_NODES) {
				errorf("CPU %d is on node %d; at most %d nodes are supported", cpu, node,
				      MAX_NODES);
				closedir(cd);
				closedir(d);
				return -1;
			}
			topo.node[cpu] = node;
			if (node + 1 > topo.nnodes)
				topo.nnodes = node + 1;
		}
		closedir(cd);
	}
	if (d)
		closedir(d);
	return 0;
}

/* ---- the modes --------------------------------------------------------------- */

static void run_hog(struct worker *w)
{
	volatile uint64_t sink = 0;
	int i;

	while (!stopped()) {
		for (i = 0; i < 1000; i++)
			sink += (uint64_t)i;
		w->count++;
	}
}

static void run_periodic(struct worker *w)
{
	uint64_t p = opt.period_ns, next = now_ns() + p, wake, end;

	while (!stopped()) {
		sleep_until(next);
		wake = now_ns();
		record(w, wake > next ? wake - next : 0);
		end = busy_until(wake + opt.busy_ns);
		next += p;
		if (end > next) {
			w->misses++;
			next += ((end - next) / p + 1) * p;
		}
	}
}

static void run_ping(struct worker *w)
{
	struct pair *pr = w->pair;
	uint64_t t0;
	ssize_t n;
	char c = 0;

	while (!stopped()) {
		sleep_for(opt.period_ns);
		t0 = now_ns();
		if (write(pr->req[1], &c, 1) != 1) {
			fail(w, "failed to write the request pipe", errno);
			break;
		}
		n = read(pr->rep[0], &c, 1);
		if (n != 1) {
			fail(w, n ? "failed to read the reply pipe" : "lo side went away",
			     n ? errno : EPIPE);
			break;
		}
		record(w, now_ns() - t0);
	}
	/* lo reads EOF and ends. */
	close(pr->req[1]);
	close(pr->rep[0]);
}

static void run_pong(struct worker *w)
{
	struct pair *pr = w->pair;
	ssize_t n;
	char c;

	while ((n = read(pr->req[0], &c, 1)) == 1) {
		busy_until(now_ns() + opt.busy_ns);
		if (write(pr->rep[1], &c, 1) != 1) {
			fail(w, "failed to write the reply pipe", errno);
			break;
		}
		w->count++;
	}
	if (n < 0)
		fail(w, "failed to read the request pipe", errno);
	close(pr->req[0]);
	close(pr->rep[1]);
}

static void run_mutex_hi(struct worker *w)
{
	struct pair *pr = w->pair;
	uint64_t t0, t1;

	while (!stopped()) {
		sleep_for(opt.period_ns);
		t0 = now_ns();
		pthread_mutex_lock(&pr->lock);
		t1 = now_ns();
		pthread_mutex_unlock(&pr->lock);
		record(w, t1 - t0);
	}
}

static void run_mutex_lo(struct worker *w)
{
	struct pair *pr = w->pair;

	while (!stopped()) {
		pthread_mutex_lock(&pr->lock);
		busy_until(now_ns() + opt.busy_ns);
		pthread_mutex_unlock(&pr->lock);
		w->count++;
		sleep_for(opt.period_ns / 2);
	}
}

static void run_frame(struct worker *w)
{
	int cpu, prev = -1;

	while (!stopped()) {
		cpu = sched_getcpu();
		if (cpu < 0 || cpu >= topo.ncpus) {
			fail(w, "sched_getcpu failed", cpu < 0 ? errno : ERANGE);
			break;
		}
		w->count++;
		w->node_iters[topo.node[cpu]]++;
		if (prev >= 0 && cpu != prev) {
			w->migrations++;
			if (topo.node[cpu] != topo.node[prev])
				w->node_migrations++;
		}
		prev = cpu;
		busy_until(now_ns() + opt.busy_ns);
		sleep_for(opt.period_ns);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int err;

	w->tid = gettid();
	/* Name first: the daemon's `threads:` rules may classify by it. */
	err = pthread_setname_np(pthread_self(), w->name);
	if (err)
		fail(w, "failed to set its name", err);
	else if (!opt.no_class)
		classify(w);

	pthread_mutex_lock(&gate.lock);
	gate.ready++;
	pthread_cond_broadcast(&gate.cond);
	while (!gate.go)
		pthread_cond_wait(&gate.cond, &gate.lock);
	pthread_mutex_unlock(&gate.lock);

	switch (opt.mode) {
	case MODE_HOG:
		run_hog(w);
		break;
	case MODE_PERIODIC:
		run_periodic(w);
		break;
	case MODE_PINGPONG:
		if (w->hi)
			run_ping(w);
		else
			run_pong(w);
		break;
	case MODE_MUTEX:
		if (w->hi)
			run_mutex_hi(w);
		else
			run_mutex_lo(w);
		break;
	case MODE_FRAME:
	case MODE_COUNT:
		run_frame(w);
		break;
	}
	if (w->classified)
		unclassify(w);
	return NULL;
}

/* ---- results ---------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least pct% of all at or below it. */
static uint64_t percentile(const uint64_t *sorted, size_t n, unsigned int pct)
{
	size_t rank;

	if (!n)
		return 0;
	rank = (n * pct + 99) / 100;
	return sorted[rank ? rank - 1 : 0];
}

static double us(uint64_t ns)
{
	return (double)ns / (double)NSEC_PER_USEC;
}

static unsigned long long us_rounded(uint64_t ns)
{
	return (unsigned long long)((ns + NSEC_PER_USEC / 2) / NSEC_PER_USEC);
}

/* Per-thread lines and the latency keys of the result line, over all samplers. */
static void report_latency(struct worker *w, unsigned int nw, const char *what, char *res,
			   size_t len)
{
	static uint64_t all[SAMPLE_CAP];
	uint64_t count = 0, misses = 0, max = 0;
	size_t n = 0;
	unsigned int i;

	for (i = 0; i < nw; i++) {
		if (!w[i].samples)
			continue;
		qsort(w[i].samples, w[i].nsamples, sizeof(uint64_t), cmp_u64);
		printf("thread %s (tid %d): %llu %s, p50 %.1f us, p99 %.1f us, max %.1f us",
		       w[i].name, (int)w[i].tid, (unsigned long long)w[i].count, what,
		       us(percentile(w[i].samples, w[i].nsamples, 50)),
		       us(percentile(w[i].samples, w[i].nsamples, 99)), us(w[i].max_ns));
		if (opt.mode == MODE_PERIODIC)
			printf(", %llu misses", (unsigned long long)w[i].misses);
		printf("\n");
		memcpy(all + n, w[i].samples, w[i].nsamples * sizeof(uint64_t));
		n += w[i].nsamples;
		count += w[i].count;
		misses += w[i].misses;
		if (w[i].max_ns > max)
			max = w[i].max_ns;
	}
	qsort(all, n, sizeof(uint64_t), cmp_u64);
	printf("all: %llu %s (%zu kept), p50 %.1f us, p99 %.1f us, max %.1f us\n",
	       (unsigned long long)count, what, n, us(percentile(all, n, 50)),
	       us(percentile(all, n, 99)), us(max));
	snprintf(res, len, "%s=%llu samples=%zu p50_us=%llu p99_us=%llu max_us=%llu", what,
		 (unsigned long long)count, n, us_rounded(percentile(all, n, 50)),
		 us_rounded(percentile(all, n, 99)), us_rounded(max));
	if (opt.mode == MODE_PERIODIC)
		snprintf(res + strlen(res), len - strlen(res), " misses=%llu",
			 (unsigned long long)misses);
}

static void report(struct worker *w, unsigned int nw, double elapsed, int sig)
{
	char res[512], *p = res;
	size_t len = sizeof(res);
	uint64_t sum = 0, min = UINT64_MAX, max = 0, migr = 0, nmigr = 0, holds = 0;
	uint64_t nodes[MAX_NODES] = { 0 };
	unsigned int i;
	int node, k;

	if (sig)
		printf("stopped early by %s\n", strsignal(sig));
	k = snprintf(p, len, "result mode=%s threads=%u", mode_names[opt.mode], nw);
	p += k, len -= (size_t)k;
	if (pair_mode()) {
		k = snprintf(p, len, " pairs=%u", nw / 2);
		p += k, len -= (size_t)k;
	}
	k = snprintf(p, len, " seconds=%.3f interrupted=%d ", elapsed, sig ? 1 : 0);
	p += k, len -= (size_t)k;

	switch (opt.mode) {
	case MODE_HOG:
		for (i = 0; i < nw; i++) {
			printf("thread %s (tid %d): %llu iterations\n", w[i].name, (int)w[i].tid,
			       (unsigned long long)w[i].count);
			sum += w[i].count;
			if (w[i].count < min)
				min = w[i].count;
			if (w[i].count > max)
				max = w[i].count;
		}
		printf("all: %llu iterations, min %llu, max %llu, mean %llu\n",
		       (unsigned long long)sum, (unsigned long long)min, (unsigned long long)max,
		       (unsigned long long)(sum / nw));
		snprintf(p, len, "iterations=%llu min_iterations=%llu max_iterations=%llu",
			 (unsigned long long)sum, (unsigned long long)min, (unsigned long long)max);
		break;
	case MODE_PERIODIC:
		report_latency(w, nw, "wakes", p, len);
		break;
	case MODE_PINGPONG:
		report_latency(w, nw, "round_trips", p, len);
		break;
	case MODE_MUTEX:
		for (i = 0; i < nw; i++)
			if (!w[i].hi) {
				printf("thread %s (tid %d): %llu holds\n", w[i].name, (int)w[i].tid,
				       (unsigned long long)w[i].count);
				holds += w[i].count;
			}
		report_latency(w, nw, "acquisitions", p, len);
		snprintf(p + strlen(p), len - strlen(p), " holds=%llu", (unsigned long long)holds);
		break;
	case MODE_FRAME:
	case MODE_COUNT:
		for (i = 0; i < nw; i++) {
			printf("thread %s (tid %d): %llu iterations, %llu migrations (%llu across "
			       "nodes), per node:", w[i].name, (int)w[i].tid,
			       (unsigned long long)w[i].count, (unsigned long long)w[i].migrations,
			       (unsigned long long)w[i].node_migrations);
			for (node = 0; node < topo.nnodes; node++) {
				printf(" %llu", (unsigned long long)w[i].node_iters[node]);
				nodes[node] += w[i].node_iters[node];
			}
			printf("\n");
			sum += w[i].count;
			migr += w[i].migrations;
			nmigr += w[i].node_migrations;
		}
		k = snprintf(p, len, "iterations=%llu migrations=%llu node_migrations=%llu nodes=%d",
			     (unsigned long long)sum, (unsigned long long)migr,
			     (unsigned long long)nmigr, topo.nnodes);
		p += k, len -= (size_t)k;
		for (node = 0; node < topo.nnodes; node++) {
			k = snprintf(p, len, " node%d=%llu", node, (unsigned long long)nodes[node]);
			if (k < 0 || (size_t)k >= len)
				break;
			p += k, len -= (size_t)k;
		}
		break;
	}
	printf("%s\n", res);
}

/* ---- main -------------------------------------------------------------------- */

/* Sleeps until the run is over; returns the signal that ended it early, or 0. */
static int wait_run(const sigset_t *sigs, uint64_t end)
{
	struct timespec ts;
	uint64_t now;
	int sig;

	while ((now = now_ns()) < end) {
		ts = to_timespec(end - now);
		sig = sigtimedwait(sigs, NULL, &ts);
		if (sig > 0)
			return sig;
	}
	return 0;
}

static int setup_workers(struct worker *w, unsigned int nw, struct pair *pairs)
{
	size_t cap = 0;
	unsigned int i, samplers = 0;

	for (i = 0; i < nw; i++) {
		thread_name(i, w[i].name, sizeof(w[i].name));
		w[i].role = opt.role;
		w[i].boost = opt.boost;
		if (pair_mode()) {
			w[i].pair = &pairs[i / 2];
			w[i].hi = !(i % 2);
			if (!w[i].hi) {
				w[i].role = opt.lo_role;
				w[i].boost = opt.lo_boost;
			}
		}
	}
	if (opt.mode == MODE_PERIODIC || pair_mode()) {
		samplers = pair_mode() ? nw / 2 : nw;
		cap = SAMPLE_CAP / samplers;
		/* A sampler waits at least a period per sample: no need for more room. */
		if (opt.period_ns && opt.run_ns / opt.period_ns + 16 < cap)
			cap = opt.run_ns / opt.period_ns + 16;
	}
	for (i = 0; i < nw; i++) {
		if (cap && (opt.mode == MODE_PERIODIC || w[i].hi)) {
			w[i].samples = malloc(cap * sizeof(uint64_t));
			if (!w[i].samples)
				goto oom;
			/* Fault the pages in now rather than while measuring. */
			memset(w[i].samples, 0, cap * sizeof(uint64_t));
			w[i].cap = cap;
		}
		if (opt.mode == MODE_FRAME) {
			w[i].node_iters = calloc((size_t)topo.nnodes, sizeof(uint64_t));
			if (!w[i].node_iters)
				goto oom;
		}
	}
	for (i = 0; pair_mode() && i < nw / 2; i++) {
		if (pipe(pairs[i].req) || pipe(pairs[i].rep)) {
			errorf("failed to create a pipe: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
oom:
	errorf("failed to allocate the sample buffers: %s", strerror(errno));
	return -1;
}

int main(int argc, char **argv)
{
	struct worker *w = NULL;
	struct pair *pairs = NULL;
	unsigned int nw, i, started = 0;
	uint64_t t_start = 0, t_end;
	pthread_attr_t attr;
	sigset_t sigs;
	cpu_set_t set;
	bool done, any_classified = false;
	char bs[16], lbs[16];
	int ret, err, sig = 0;

	ret = parse_args(argc, argv, &done);
	if (ret || done)
		return ret;
	ret = 1;
	nw = pair_mode() ? 2 * opt.threads : opt.threads;

	/* Signals go to main only, which waits for them with sigtimedwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	/* A pipe whose other end died gives EPIPE, reported, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * The default 50 us timer slack would delay every timed wake-up and be
	 * measured as scheduling latency. Threads inherit it from main.
	 */
	if (prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL)) {
		errorf("failed to set the timer slack: %s", strerror(errno));
		goto out;
	}

	if (opt.mode == MODE_FRAME && read_topology())
		goto out;
	if (!opt.no_class && open_classes())
		goto out;
	if (opt.cpu >= 0) {
		set = opt.cpus;
		if (sched_setaffinity(0, sizeof(set), &set)) {
			errorf("failed to pin to CPU %d: %s", opt.cpu, strerror(errno));
			goto out;
		}
	}
	/* Threads take the nice level of the thread that creates them. */
	if (opt.nice && setpriority(PRIO_PROCESS, 0, opt.nice)) {
		errorf("failed to set nice %d: %s", opt.nice, strerror(errno));
		goto out;
	}
	/* And its policy (pthreads inherit it by default): above sched_ext. */
	if (opt.fifo) {
		struct sched_param sp = { .sched_priority = opt.fifo };

		if (sched_setscheduler(0, SCHED_FIFO, &sp)) {
			errorf("failed to set SCHED_FIFO %d: %s", opt.fifo, strerror(errno));
			goto out;
		}
	}
	w = calloc(nw, sizeof(*w));
	pairs = pair_mode() ? calloc(opt.threads, sizeof(*pairs)) : NULL;
	if (!w || (pair_mode() && !pairs)) {
		errorf("failed to allocate %u workers: %s", nw, strerror(errno));
		goto out;
	}
	for (i = 0; pairs && i < opt.threads; i++) {
		pairs[i].req[0] = pairs[i].req[1] = pairs[i].rep[0] = pairs[i].rep[1] = -1;
		pthread_mutex_init(&pairs[i].lock, NULL);
	}
	if (setup_workers(w, nw, pairs))
		goto out;

	boost_str(opt.boost, bs, sizeof(bs));
	boost_str(opt.lo_boost, lbs, sizeof(lbs));
	printf("%s: %u thread%s, %.3f s", mode_names[opt.mode], nw, nw == 1 ? "" : "s",
	       (double)opt.run_ns / NSEC_PER_SEC);
	if (opt.mode != MODE_HOG)
		printf(", period %llu us, busy %llu us",
		       (unsigned long long)(opt.period_ns / NSEC_PER_USEC),
		       (unsigned long long)(opt.busy_ns / NSEC_PER_USEC));
	if (opt.cpu >= 0 && CPU_COUNT(&opt.cpus) == 1)
		printf(", all on CPU %d", opt.cpu);
	else if (opt.cpu >= 0)
		printf(", on %d CPUs from CPU %d", CPU_COUNT(&opt.cpus), opt.cpu);
	if (opt.nice)
		printf(", nice %d", opt.nice);
	if (opt.fifo)
		printf(", SCHED_FIFO %d", opt.fifo);
	printf("\n");
	if (opt.no_class)
		printf("classes: not set (--no-class)\n");
	else if (pair_mode())
		printf("classes: profile %s (slot %u); hi: role %s, boost %s; lo: role %s, boost %s\n",
		       opt.profile, cls.slot, role_str(opt.role), bs, role_str(opt.lo_role), lbs);
	else
		printf("classes: profile %s (slot %u), role %s, boost %s\n", opt.profile, cls.slot,
		       role_str(opt.role), bs);
	fflush(stdout);

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	for (i = 0; i < nw; i++) {
		err = pthread_create(&w[i].thread, &attr, worker_main, &w[i]);
		if (err) {
			errorf("failed to create thread %s: %s", w[i].name, strerror(err));
			break;
		}
		w[i].started = true;
		started++;
	}
	pthread_attr_destroy(&attr);

	pthread_mutex_lock(&gate.lock);
	while (started == nw && gate.ready < started)
		pthread_cond_wait(&gate.cond, &gate.lock);
	for (i = 0; i < nw; i++)
		if (w[i].err)
			break;
	if (started < nw || i < nw)
		atomic_store(&stop, true);
	t_start = now_ns();
	gate.go = true;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);

	/* A pair missing a side: close that side's ends so the other one stops. */
	for (i = 0; pair_mode() && i < nw; i++) {
		if (w[i].started)
			continue;
		if (w[i].hi) {
			close(w[i].pair->req[1]);
			close(w[i].pair->rep[0]);
		} else {
			close(w[i].pair->req[0]);
			close(w[i].pair->rep[1]);
		}
	}

	if (!stopped())
		sig = wait_run(&sigs, t_start + opt.run_ns);
	atomic_store(&stop, true);
	t_end = now_ns();
	for (i = 0; i < nw; i++)
		if (w[i].started)
			pthread_join(w[i].thread, NULL);
	for (i = 0; i < nw; i++)
		if (w[i].wrote_class)
			any_classified = true;
	/* The entries are gone; let cached copies notice. */
	if (any_classified && (err = bump_class_gen()))
		errorf("failed to bump %s/class_gen: %s", opt.pin_dir, strerror(-err));

	ret = 0;
	for (i = 0; i < nw; i++) {
		if (w[i].err) {
			errorf("thread %s: %s: %s", w[i].name, w[i].err_what, strerror(w[i].err));
			ret = 1;
		}
	}
	if (started < nw)
		ret = 1;
	if (!ret)
		report(w, nw, (double)(t_end - t_start) / NSEC_PER_SEC, sig);
out:
	for (i = 0; w && i < nw; i++) {
		free(w[i].samples);
		free(w[i].node_iters);
	}
	for (i = 0; pairs && i < opt.threads; i++)
		pthread_mutex_destroy(&pairs[i].lock);
	free(pairs);
	free(w);
	free(topo.node);
	if (cls.task_fd >= 0)
		close(cls.task_fd);
	if (cls.gen_fd >= 0)
		close(cls.gen_fd);
	return ret;
}
