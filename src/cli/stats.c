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
 * With them, each profile's wait times: the time its tasks spent runnable
 * before running, after a wake-up and after being put back (slice used up,
 * preempted), from the scheduler's log2 histograms (intf.h GAMER_WAIT_*), as
 * p50 and p99: "at most" the upper edge of the bucket the percentile falls
 * in, so a figure is exact to within a factor of two.
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
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cmd.h"
#include "daemon/maps.h"
#include "daemon/pins.h"
#include "evfd.h"
#include "log.h"

static const struct {
	const char *name;
	const char *help;
} counter_desc[GAMER_NR_COUNTERS] = {
#define COUNTER_DESC(id_, name_, help_) [GAMER_CNT_##id_] = { #name_, help_ },
	GAMER_COUNTERS(COUNTER_DESC)
#undef COUNTER_DESC
};

/* Every live profile's counters and wait times at one moment. */
struct sample {
	bool live[GAMER_MAX_PROFILES];
	char id[GAMER_MAX_PROFILES][GAMER_ID_LEN];
	struct gamer_counters c[GAMER_MAX_PROFILES];
	struct gamer_counters total;
	struct gamer_wait_hist w[GAMER_MAX_PROFILES];
	struct gamer_wait_hist wtotal;
	struct timespec mono, real;
};

/* What changed from one sample to the next (or everything, for the first). */
struct change {
	struct gamer_counters c[GAMER_MAX_PROFILES];
	struct gamer_counters total;
	struct gamer_wait_hist w[GAMER_MAX_PROFILES];
	struct gamer_wait_hist wtotal;
	double interval_s; /* < 0: first sample */
};

/* The kernel copies per-CPU values out in 8-byte aligned strides. */
#define PERCPU_STRIDE(type) ((sizeof(type) + 7) & ~(size_t)7)

/*
 * The p-th percentile (nearest rank) of a wait histogram: the upper edge, in
 * ns, of the bucket it falls in (the last bucket has none: its lower edge is
 * given). 0 when the histogram is empty; *n is the number of waits.
 */
static __u64 wait_percentile(const __u64 *h, unsigned int pct, __u64 *n)
{
	__u64 total = 0, rank, seen = 0;
	int b;

	for (b = 0; b < GAMER_WAIT_BUCKETS; b++)
		total += h[b];
	*n = total;
	if (!total)
		return 0;
	rank = (total * pct + 99) / 100;
	if (!rank)
		rank = 1;
	for (b = 0; b < GAMER_WAIT_BUCKETS - 1; b++) {
		seen += h[b];
		if (seen >= rank)
			return 1ULL << (b + GAMER_WAIT_SHIFT);
	}
	return 1ULL << (GAMER_WAIT_BUCKETS - 2 + GAMER_WAIT_SHIFT);
}

/* Open a pinned map and make sure it is the one this build knows. */
static int open_map(const char *dir, enum pin pin, __u32 type, __u32 value_size)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd = pin_open_or_say(dir, pin);

	if (fd < 0)
		return -1;
	pin_path(path, sizeof(path), dir, pin);
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

static void add_hist(struct gamer_wait_hist *to, const struct gamer_wait_hist *h)
{
	int b;

	for (b = 0; b < GAMER_WAIT_BUCKETS; b++) {
		to->wake[b] += h->wake[b];
		to->requeue[b] += h->requeue[b];
	}
}

static int read_sample(const char *pin_dir, struct sample *s, void *percpu, int ncpu)
{
	const size_t stride = PERCPU_STRIDE(struct gamer_counters);
	const size_t wstride = PERCPU_STRIDE(struct gamer_wait_hist);
	struct gamer_profile_info info;
	int counters_fd, info_fd = -1, hist_fd = -1, ret = -1, cpu, k;
	uint32_t slot;

	counters_fd = open_map(pin_dir, PIN_COUNTERS, BPF_MAP_TYPE_PERCPU_ARRAY,
			       sizeof(struct gamer_counters));
	if (counters_fd < 0)
		goto out;
	hist_fd = open_map(pin_dir, PIN_WAIT_HIST, BPF_MAP_TYPE_PERCPU_ARRAY,
			   sizeof(struct gamer_wait_hist));
	if (hist_fd < 0)
		goto out;
	info_fd = open_map(pin_dir, PIN_PROFILE_INFO, BPF_MAP_TYPE_ARRAY, sizeof(info));
	if (info_fd < 0)
		goto out;

	memset(&s->total, 0, sizeof(s->total));
	memset(&s->wtotal, 0, sizeof(s->wtotal));
	for (slot = 0; slot < GAMER_MAX_PROFILES; slot++) {
		memset(&s->c[slot], 0, sizeof(s->c[slot]));
		memset(&s->w[slot], 0, sizeof(s->w[slot]));
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
		if (bpf_map_lookup_elem(hist_fd, &slot, percpu)) {
			log_error("failed to read wait_hist[%u]: %s", slot, strerror(errno));
			goto out;
		}
		for (cpu = 0; cpu < ncpu; cpu++)
			add_hist(&s->w[slot], (const void *)((const char *)percpu +
							      (size_t)cpu * wstride));
		add_hist(&s->wtotal, &s->w[slot]);
	}
	clock_gettime(CLOCK_MONOTONIC, &s->mono);
	clock_gettime(CLOCK_REALTIME, &s->real);
	ret = 0;
out:
	if (counters_fd >= 0)
		close(counters_fd);
	if (hist_fd >= 0)
		close(hist_fd);
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
	memset(&ch->wtotal, 0, sizeof(ch->wtotal));
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
		for (k = 0; k < GAMER_WAIT_BUCKETS; k++) {
			__u64 wn = cur->w[slot].wake[k], wb = same ? prev->w[slot].wake[k] : 0;
			__u64 rn = cur->w[slot].requeue[k], rb = same ? prev->w[slot].requeue[k] : 0;

			ch->w[slot].wake[k] = wn >= wb ? wn - wb : wn;
			ch->w[slot].requeue[k] = rn >= rb ? rn - rb : rn;
		}
		add_hist(&ch->wtotal, &ch->w[slot]);
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

/* The lower edge (ns) of the highest bucket in use: the longest wait was at least that. */
static __u64 wait_longest(const __u64 *h)
{
	int b;

	for (b = GAMER_WAIT_BUCKETS - 1; b > 0; b--)
		if (h[b])
			return 1ULL << (b + GAMER_WAIT_SHIFT - 1);
	return 0;
}

static void json_hist(const char *name, const __u64 *h)
{
	__u64 n, p50 = wait_percentile(h, 50, &n), p99 = wait_percentile(h, 99, &n);
	int b;

	json_str(name);
	printf(": {\"count\": %llu, \"p50_ns\": %llu, \"p99_ns\": %llu, \"longest_ns\": %llu, "
	       "\"buckets\": [",
	       (unsigned long long)n, (unsigned long long)p50, (unsigned long long)p99,
	       (unsigned long long)wait_longest(h));
	for (b = 0; b < GAMER_WAIT_BUCKETS; b++)
		printf("%s%llu", b ? ", " : "", (unsigned long long)h[b]);
	printf("]}");
}

static void json_waits(const struct gamer_wait_hist *w)
{
	printf("{");
	json_hist("wake", w->wake);
	printf(", ");
	json_hist("requeue", w->requeue);
	printf("}");
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
		printf(", \"waits\": ");
		json_waits(&s->w[slot]);
		if (ch) {
			printf(", \"delta_waits\": ");
			json_waits(&ch->w[slot]);
			printf(", \"delta\": ");
			json_counters(&ch->c[slot]);
		}
		putchar('}');
		first = false;
	}
	printf("%s],%s\"total\": ", ch ? "" : "\n", ch ? " " : "\n ");
	json_counters(&s->total);
	printf(", \"total_waits\": ");
	json_waits(&s->wtotal);
	if (ch) {
		printf(", \"delta_waits\": ");
		json_waits(&ch->wtotal);
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

/* A wait bound for the table: "<=512us", "-" for no waits. */
static void fmt_wait(const __u64 *h, unsigned int pct, char *buf, size_t len)
{
	__u64 n, ns = wait_percentile(h, pct, &n);

	if (!n)
		snprintf(buf, len, "-");
	else if (ns >= 1000000000ULL)
		snprintf(buf, len, "<=%.1fs", (double)ns / 1e9);
	else if (ns >= 1000000ULL)
		snprintf(buf, len, "<=%.1fms", (double)ns / 1e6);
	else
		snprintf(buf, len, "<=%lluus", (unsigned long long)((ns + 999) / 1000));
}

static const struct {
	const char *name;
	bool wake;
	unsigned int pct;
} wait_rows[] = {
	{ "wake_wait_p50", true, 50 },
	{ "wake_wait_p99", true, 99 },
	{ "requeue_wait_p50", false, 50 },
	{ "requeue_wait_p99", false, 99 },
};

/* The wait-time rows under the counters, in the same columns. */
static void print_wait_rows(const struct sample *s, const struct change *ch, const int *width,
			    int name_w, int total_w)
{
	const struct gamer_wait_hist *w = ch ? ch->w : s->w;
	const struct gamer_wait_hist *wt = ch ? &ch->wtotal : &s->wtotal;
	char buf[32];
	uint32_t slot;
	size_t r;

	for (r = 0; r < sizeof(wait_rows) / sizeof(wait_rows[0]); r++) {
		printf("%-*s", name_w, wait_rows[r].name);
		for (slot = 0; slot < GAMER_MAX_PROFILES; slot++) {
			if (!s->live[slot])
				continue;
			fmt_wait(wait_rows[r].wake ? w[slot].wake : w[slot].requeue, wait_rows[r].pct,
				 buf, sizeof(buf));
			printf("  %*s", width[slot], buf);
		}
		fmt_wait(wait_rows[r].wake ? wt->wake : wt->requeue, wait_rows[r].pct, buf,
			 sizeof(buf));
		printf("  %*s\n", total_w, buf);
	}
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
	/* Room for the wait rows: "requeue_wait_p99" and "<=999.9ms". */
	name_w = name_w > 16 ? name_w : 16;
	total_w = total_w > 9 ? total_w : 9;
	for (slot = 0; slot < GAMER_MAX_PROFILES; slot++) {
		if (!s->live[slot])
			continue;
		width[slot] = (int)strlen(s->id[slot]);
		width[slot] = width[slot] > 9 ? width[slot] : 9;
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
	print_wait_rows(s, ch, width, name_w, total_w);
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
	printf("%-*s  %s\n", name_w, "wake_wait_p50/p99",
	       "time from waking up to running, at most (log2 buckets)");
	printf("%-*s  %s\n", name_w, "requeue_wait_p50/p99",
	       "time from being put back (slice used up, preempted) to running again");
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
	stride = PERCPU_STRIDE(struct gamer_counters) > PERCPU_STRIDE(struct gamer_wait_hist) ?
			 PERCPU_STRIDE(struct gamer_counters) :
			 PERCPU_STRIDE(struct gamer_wait_hist);
	percpu = calloc((size_t)ncpu, stride);
	cur = calloc(1, sizeof(*cur));
	prev = calloc(1, sizeof(*prev));
	ch = calloc(1, sizeof(*ch));
	if (!percpu || !cur || !prev || !ch) {
		log_error("out of memory");
		goto out;
	}

	if (watch_s <= 0) {
		if (read_sample(paths->pin_dir, cur, percpu, ncpu))
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

	sfd = signals_fd(&sigs, SIGINT, SIGTERM, 0);
	if (sfd < 0)
		goto out;
	/* main.c keeps watch_s >= 10 ms. */
	tfd = timer_start((uint64_t)(watch_s * 1e9), (uint64_t)(watch_s * 1e9));
	if (tfd < 0)
		goto out;

	for (n = 1;; n++) {
		if (read_sample(paths->pin_dir, cur, percpu, ncpu))
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
