// SPDX-License-Identifier: GPL-2.0-only
/*
 * `scx_gamer stats [--json] [--watch[=SECONDS]] [--count=N]`: the scheduler's
 * counters (bpf/intf.h GAMER_COUNTERS) per live profile and in total, read
 * from the maps the running daemon pinned.
 *
 * The total is the sum over live profiles only: a freed slot keeps its old
 * counts until the daemon gives it to another profile (and zeroes it then),
 * and those counts belong to no profile that exists.
 *
 * --watch samples every interval and prints what changed since the previous
 * sample. The maps are opened again for every sample so that a daemon that
 * stopped is noticed instead of being shown as an idle one.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cmd.h"
#include "log.h"
#include "maps.h"

static const struct {
	const char *name;
	const char *help;
} counter_desc[GAMER_NR_COUNTERS] = {
#define COUNTER_DESC(id_, name_, help_) [GAMER_CNT_##id_] = { #name_, help_ },
	GAMER_COUNTERS(COUNTER_DESC)
#undef COUNTER_DESC
};

/* Every live profile's counters at one moment. */
struct sample {
	bool live[GAMER_MAX_PROFILES];
	char id[GAMER_MAX_PROFILES][GAMER_ID_LEN];
	struct gamer_counters c[GAMER_MAX_PROFILES];
	struct gamer_counters total;
	struct timespec mono, real;
};

/* What changed from one sample to the next (or everything, for the first). */
struct change {
	struct gamer_counters c[GAMER_MAX_PROFILES];
	struct gamer_counters total;
	double interval_s; /* < 0: first sample */
};

/* Open a pinned map and make sure it is the one this build knows. */
static int open_map(const char *dir, const char *name, __u32 type, __u32 value_size)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		if (errno == ENOENT)
			log_error("no %s at %s: is the daemon running? (start it with '%s run')",
				  name, path, PACKAGE_NAME);
		else if (errno == EPERM || errno == EACCES)
			log_error("cannot open %s: %s (reading the scheduler's maps needs root)",
				  path, strerror(errno));
		else
			log_error("failed to open %s: %s", path, strerror(errno));
		return -1;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		log_error("failed to inspect %s: %s", path, strerror(errno));
		goto fail;
	}
	if (info.type != type || info.value_size != value_size ||
	    info.max_entries != GAMER_MAX_PROFILES) {
		log_error("%s is not the map this %s expects (type %u, %u-byte values, %u "
			  "entries; want %u, %u, %u): is the daemon another version?",
			  path, PACKAGE_NAME, info.type, info.value_size, info.max_entries, type,
			  value_size, GAMER_MAX_PROFILES);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int read_sample(const char *pin_dir, struct sample *s, void *percpu, int ncpu,
		       size_t stride)
{
	struct gamer_profile_info info;
	int counters_fd, info_fd = -1, ret = -1, cpu, k;
	uint32_t slot;

	counters_fd = open_map(pin_dir, "counters", BPF_MAP_TYPE_PERCPU_ARRAY,
			       sizeof(struct gamer_counters));
	if (counters_fd < 0)
		goto out;
	info_fd = open_map(pin_dir, "profile_info", BPF_MAP_TYPE_ARRAY, sizeof(info));
	if (info_fd < 0)
		goto out;

	memset(&s->total, 0, sizeof(s->total));
	for (slot = 0; slot < GAMER_MAX_PROFILES; slot++) {
		memset(&s->c[slot], 0, sizeof(s->c[slot]));
		if (bpf_map_lookup_elem(info_fd, &slot, &info)) {
			log_error("failed to read profile_info[%u]: %s", slot, strerror(errno));
			goto out;
		}
		s->live[slot] = info.id[0] != '\0';
		if (!s->live[slot])
			continue;
		snprintf(s->id[slot], sizeof(s->id[slot]), "%.*s", (int)sizeof(info.id) - 1,
			 info.id);
		if (bpf_map_lookup_elem(counters_fd, &slot, percpu)) {
			log_error("failed to read counters[%u]: %s", slot, strerror(errno));
			goto out;
		}
		for (cpu = 0; cpu < ncpu; cpu++) {
			const struct gamer_counters *pc =
				(const void *)((const char *)percpu + (size_t)cpu * stride);

			for (k = 0; k < GAMER_NR_COUNTERS; k++)
				s->c[slot].c[k] += pc->c[k];
		}
		for (k = 0; k < GAMER_NR_COUNTERS; k++)
			s->total.c[k] += s->c[slot].c[k];
	}
	clock_gettime(CLOCK_MONOTONIC, &s->mono);
	clock_gettime(CLOCK_REALTIME, &s->real);
	ret = 0;
out:
	if (counters_fd >= 0)
		close(counters_fd);
	if (info_fd >= 0)
		close(info_fd);
	return ret;
}

/*
 * Counts since prev. A slot that changed hands, or whose counts went down
 * (its profile was removed and added again), starts from zero.
 */
static void compute_change(const struct sample *cur, const struct sample *prev,
			   struct change *ch)
{
	uint32_t slot;
	int k;

	memset(&ch->total, 0, sizeof(ch->total));
	ch->interval_s = prev ? (double)(cur->mono.tv_sec - prev->mono.tv_sec) +
					(double)(cur->mono.tv_nsec - prev->mono.tv_nsec) / 1e9
			      : -1.0;
	for (slot = 0; slot < GAMER_MAX_PROFILES; slot++) {
		bool same;

		if (!cur->live[slot])
			continue;
		same = prev && prev->live[slot] && strcmp(prev->id[slot], cur->id[slot]) == 0;
		for (k = 0; k < GAMER_NR_COUNTERS; k++) {
			__u64 now = cur->c[slot].c[k], before = same ? prev->c[slot].c[k] : 0;

			ch->c[slot].c[k] = now >= before ? now - before : now;
			ch->total.c[k] += ch->c[slot].c[k];
		}
	}
}

static void json_counters(const struct gamer_counters *c)
{
	int k;

	putchar('{');
	for (k = 0; k < GAMER_NR_COUNTERS; k++) {
		printf("%s", k ? ", " : "");
		json_str(counter_desc[k].name);
		printf(": %llu", (unsigned long long)c->c[k]);
	}
	putchar('}');
}

/* One object; on one line when ch is given (--watch: JSON Lines). */
static void print_json(const struct sample *s, const struct change *ch, long n)
{
	/* Pretty for a terminal; one line per sample under --watch. */
	const char *sep_first = ch ? "" : "\n  ", *sep = ch ? ", " : ",\n  ";
	uint32_t slot;
	bool first = true;

	putchar('{');
	if (ch) {
		printf("\"sample\": %ld, \"timestamp\": %lld.%03ld, \"interval_s\": ", n,
		       (long long)s->real.tv_sec, s->real.tv_nsec / 1000000L);
		if (ch->interval_s < 0)
			printf("null, ");
		else
			printf("%.3f, ", ch->interval_s);
	}
	printf("\"profiles\": [");
	for (slot = 0; slot < GAMER_MAX_PROFILES; slot++) {
		if (!s->live[slot])
			continue;
		printf("%s{\"slot\": %u, \"id\": ", first ? sep_first : sep, slot);
		json_str(s->id[slot]);
		printf(", \"counters\": ");
		json_counters(&s->c[slot]);
		if (ch) {
			printf(", \"delta\": ");
			json_counters(&ch->c[slot]);
		}
		putchar('}');
		first = false;
	}
	printf("%s],%s\"total\": ", ch ? "" : "\n", ch ? " " : "\n ");
	json_counters(&s->total);
	if (ch) {
		printf(", \"delta\": ");
		json_counters(&ch->total);
	}
	printf("}\n");
}

static int num_width(__u64 v)
{
	char buf[24];

	return snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
}

/*
 * One row per counter, one column per live profile and the total: a few
 * profiles fit a terminal this way, where thirteen columns would not.
 * --watch adds the total's rate per second.
 */
static void print_table(const struct sample *s, const struct change *ch, long n)
{
	const struct gamer_counters *v = ch ? ch->c : s->c;
	const struct gamer_counters *total = ch ? &ch->total : &s->total;
	bool rate = ch && ch->interval_s > 0;
	int width[GAMER_MAX_PROFILES], total_w = (int)strlen("total"), name_w = 0, k, w;
	uint32_t slot;

	if (ch) {
		struct tm tm;
		char when[16] = "";

		if (localtime_r(&s->real.tv_sec, &tm))
			strftime(when, sizeof(when), "%H:%M:%S", &tm);
		printf("%s%s  sample %ld: ", n > 1 ? "\n" : "", when, n);
		if (rate)
			printf("change over the last %.2f s\n", ch->interval_s);
		else
			printf("counts so far\n");
	}

	for (k = 0; k < GAMER_NR_COUNTERS; k++) {
		w = (int)strlen(counter_desc[k].name);
		name_w = w > name_w ? w : name_w;
		w = num_width(total->c[k]);
		total_w = w > total_w ? w : total_w;
	}
	for (slot = 0; slot < GAMER_MAX_PROFILES; slot++) {
		if (!s->live[slot])
			continue;
		width[slot] = (int)strlen(s->id[slot]);
		for (k = 0; k < GAMER_NR_COUNTERS; k++) {
			w = num_width(v[slot].c[k]);
			width[slot] = w > width[slot] ? w : width[slot];
		}
	}

	printf("%-*s", name_w, "counter");
	for (slot = 0; slot < GAMER_MAX_PROFILES; slot++)
		if (s->live[slot])
			printf("  %*s", width[slot], s->id[slot]);
	printf("  %*s%s\n", total_w, "total", rate ? "   total/s" : "");
	for (k = 0; k < GAMER_NR_COUNTERS; k++) {
		printf("%-*s", name_w, counter_desc[k].name);
		for (slot = 0; slot < GAMER_MAX_PROFILES; slot++)
			if (s->live[slot])
				printf("  %*llu", width[slot], (unsigned long long)v[slot].c[k]);
		printf("  %*llu", total_w, (unsigned long long)total->c[k]);
		if (rate)
			printf("  %9.1f", (double)total->c[k] / ch->interval_s);
		putchar('\n');
	}
}

/* What each counter means, printed once, after the first table. */
static void print_legend(void)
{
	int k, w, name_w = 0;

	for (k = 0; k < GAMER_NR_COUNTERS; k++) {
		w = (int)strlen(counter_desc[k].name);
		name_w = w > name_w ? w : name_w;
	}
	printf("\n");
	for (k = 0; k < GAMER_NR_COUNTERS; k++)
		printf("%-*s  %s\n", name_w, counter_desc[k].name, counter_desc[k].help);
}

/* Arm a periodic timer; the first expiry is one interval from now. */
static int arm_timer(double watch_s)
{
	long long ns = (long long)(watch_s * 1e9);
	struct itimerspec its;
	int fd;

	its.it_interval.tv_sec = (time_t)(ns / 1000000000LL);
	its.it_interval.tv_nsec = (long)(ns % 1000000000LL);
	/* A zero interval would disarm the timer; main.c keeps watch_s >= 10 ms. */
	if (its.it_interval.tv_sec == 0 && its.it_interval.tv_nsec == 0)
		its.it_interval.tv_nsec = 1;
	its.it_value = its.it_interval;
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (fd < 0) {
		log_error("failed to create a timer: %s", strerror(errno));
		return -1;
	}
	if (timerfd_settime(fd, 0, &its, NULL)) {
		log_error("failed to arm a timer: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* 1: the timer fired; 0: SIGINT or SIGTERM; -1: error. */
static int wait_tick(int tfd, int sfd)
{
	struct pollfd pfd[2] = {
		{ .fd = tfd, .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
	};
	uint64_t expirations;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("failed to poll: %s", strerror(errno));
			return -1;
		}
		if (pfd[1].revents & POLLIN)
			return 0;
		if (pfd[0].revents & POLLIN) {
			/* Missed ticks (a stopped process) collapse into one sample. */
			if (read(tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN) {
				log_error("failed to read the timer: %s", strerror(errno));
				return -1;
			}
			return 1;
		}
	}
}

int cmd_stats(const struct paths *paths, bool json, double watch_s, long count)
{
	struct sample *cur = NULL, *prev = NULL, *tmp;
	struct change *ch = NULL;
	int ret = EXIT_FAIL, ncpu, tfd = -1, sfd = -1, r;
	void *percpu = NULL;
	sigset_t sigs;
	size_t stride;
	long n;

	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0) {
		log_error("failed to count the possible CPUs: %s", strerror(-ncpu));
		return EXIT_FAIL;
	}
	/* The kernel copies per-CPU values out in 8-byte aligned strides. */
	stride = (sizeof(struct gamer_counters) + 7) & ~(size_t)7;
	percpu = calloc((size_t)ncpu, stride);
	cur = calloc(1, sizeof(*cur));
	prev = calloc(1, sizeof(*prev));
	ch = calloc(1, sizeof(*ch));
	if (!percpu || !cur || !prev || !ch) {
		log_error("out of memory");
		goto out;
	}

	if (watch_s <= 0) {
		if (read_sample(paths->pin_dir, cur, percpu, ncpu, stride))
			goto out;
		if (json) {
			print_json(cur, NULL, 0);
		} else {
			print_table(cur, NULL, 0);
			print_legend();
		}
		ret = EXIT_OK;
		goto out;
	}

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL)) {
		log_error("failed to block signals: %s", strerror(errno));
		goto out;
	}
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		log_error("failed to create a signalfd: %s", strerror(errno));
		goto out;
	}
	tfd = arm_timer(watch_s);
	if (tfd < 0)
		goto out;

	for (n = 1;; n++) {
		if (read_sample(paths->pin_dir, cur, percpu, ncpu, stride))
			goto out;
		compute_change(cur, n > 1 ? prev : NULL, ch);
		if (json) {
			print_json(cur, ch, n);
		} else {
			print_table(cur, ch, n);
			if (n == 1)
				print_legend();
		}
		fflush(stdout);
		if (count > 0 && n >= count)
			break;
		tmp = prev;
		prev = cur;
		cur = tmp;
		r = wait_tick(tfd, sfd);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
	}
	ret = EXIT_OK;
out:
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	free(percpu);
	free(cur);
	free(prev);
	free(ch);
	return ret;
}
