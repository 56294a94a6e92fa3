// SPDX-License-Identifier: GPL-2.0-only
/*
 * analyze: turn the "bench ..." lines of bench/bench.vm into the tables of
 * docs/BENCHMARKS.md (Markdown on stdout).
 *
 *   analyze LOG
 *
 * Per workload metric and configuration: the median over rounds with a 95 %
 * distribution-free interval (order statistics of the binomial(n, 1/2)), and
 * ratios of configurations as the median of the per-round ratios (rounds pair
 * the configurations: they ran back to back) with the same interval. Latency
 * percentiles are also given pooled: the histograms of every round summed.
 * Then the goals of the benchmark issue, each met or missed by how much.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUNDS 200
#define HIST_N 1400
enum { CA, CA2, CB, CC, CD, CE, NCFG };
static const char *const cfg_names[NCFG] = { "a", "a2", "b", "c", "d", "e" };
static bool have_d; /* configuration d (c without inheritance) ran */

struct series {
	char wl[24], metric[40];
	double v[NCFG][MAX_ROUNDS];
	bool have[NCFG][MAX_ROUNDS];
};

struct pooled {
	char name[48];
	double c[NCFG][HIST_N];
};

struct prog {
	char name[48];
	double cnt[NCFG], ns[NCFG];
};

static struct series *ser;
static size_t n_ser;
static struct pooled *pools;
static size_t n_pools;
static struct prog progs[64];
static size_t n_progs;

/* Mechanism counters per profile, configuration and round (scx_gamer stats). */
#define N_CNT 9
static const char *const cnt_names[N_CNT] = {
	"dispatches", "preemptions", "inheritances", "futex_inheritances", "rm_boosts",
	"rm_util_denied", "deadline_misses", "auto_boosts", "recoveries",
};
struct counted {
	char id[48];
	double v[NCFG][MAX_ROUNDS][N_CNT];
	bool have[NCFG][MAX_ROUNDS];
};
static struct counted counted[32];
static size_t n_counted;
static int max_round;
static char machine[512], footprint[256], w4conf[512];

static int cfg_index(const char *s)
{
	for (int i = 0; i < NCFG; i++)
		if (!strcmp(s, cfg_names[i]))
			return i;
	return -1;
}

static struct series *series_of(const char *wl, const char *metric)
{
	for (size_t i = 0; i < n_ser; i++)
		if (!strcmp(ser[i].wl, wl) && !strcmp(ser[i].metric, metric))
			return &ser[i];
	ser = realloc(ser, (n_ser + 1) * sizeof(*ser));
	memset(&ser[n_ser], 0, sizeof(*ser));
	snprintf(ser[n_ser].wl, sizeof(ser->wl), "%s", wl);
	snprintf(ser[n_ser].metric, sizeof(ser->metric), "%s", metric);
	return &ser[n_ser++];
}

static struct pooled *pool_of(const char *name)
{
	for (size_t i = 0; i < n_pools; i++)
		if (!strcmp(pools[i].name, name))
			return &pools[i];
	pools = realloc(pools, (n_pools + 1) * sizeof(*pools));
	memset(&pools[n_pools], 0, sizeof(*pools));
	snprintf(pools[n_pools].name, sizeof(pools->name), "%s", name);
	return &pools[n_pools++];
}

static void parse(FILE *f)
{
	char line[65536];

	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "bench "), *tok, *save = NULL, *kind;
		int round = 0, cfg = -1;

		if (!p)
			continue;
		p[strcspn(p, "\r\n")] = '\0';
		p += 6;
		if (!strncmp(p, "machine ", 8)) {
			snprintf(machine, sizeof(machine), "%s", p + 8);
			continue;
		}
		if (!strncmp(p, "w4 config ", 10)) {
			snprintf(w4conf, sizeof(w4conf), "%s", p + 10);
			continue;
		}
		if (!strncmp(p, "result footprint ", 17)) {
			snprintf(footprint, sizeof(footprint), "%s", p + 17);
			continue;
		}
		if (sscanf(p, "round=%d", &round) != 1)
			continue;
		tok = strtok_r(p, " ", &save); /* round= */
		tok = strtok_r(NULL, " ", &save);
		if (!tok || strncmp(tok, "cfg=", 4) || (cfg = cfg_index(tok + 4)) < 0)
			continue;
		if (round < 1 || round >= MAX_ROUNDS)
			continue;
		if (round > max_round)
			max_round = round;
		if (cfg == CD)
			have_d = true;
		kind = strtok_r(NULL, " ", &save);
		if (!kind)
			continue;
		if (!strcmp(kind, "result")) {
			char *wl = strtok_r(NULL, " ", &save);

			while (wl && (tok = strtok_r(NULL, " ", &save))) {
				char *eq = strchr(tok, '=');
				struct series *s;

				if (!eq)
					continue;
				*eq = '\0';
				s = series_of(wl, tok);
				s->v[cfg][round] = atof(eq + 1);
				s->have[cfg][round] = true;
			}
		} else if (!strcmp(kind, "hist")) {
			char *name = strtok_r(NULL, " ", &save), *list = strtok_r(NULL, " ", &save);
			struct pooled *pl;

			if (!name || !list)
				continue;
			pl = pool_of(name);
			for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				int i;
				double c;

				if (sscanf(tok, "%d:%lf", &i, &c) == 2 && i >= 0 && i < HIST_N)
					pl->c[cfg][i] += c;
			}
		} else if (!strcmp(kind, "counters")) {
			char *id = strtok_r(NULL, " ", &save);
			size_t i;

			if (!id)
				continue;
			for (i = 0; i < n_counted && strcmp(counted[i].id, id); i++)
				;
			if (i == n_counted) {
				if (n_counted == 32)
					continue;
				snprintf(counted[n_counted++].id, sizeof(counted->id), "%s", id);
			}
			counted[i].have[cfg][round] = true;
			while ((tok = strtok_r(NULL, " ", &save))) {
				char *eq = strchr(tok, '=');

				if (!eq)
					continue;
				*eq = '\0';
				for (int k = 0; k < N_CNT; k++)
					if (!strcmp(tok, cnt_names[k]))
						counted[i].v[cfg][round][k] = atof(eq + 1);
			}
		} else if (!strcmp(kind, "prog")) {
			char *name = strtok_r(NULL, " ", &save);
			double cnt = 0, ns = 0;
			size_t i;

			if (!name)
				continue;
			while ((tok = strtok_r(NULL, " ", &save))) {
				sscanf(tok, "run_cnt=%lf", &cnt);
				sscanf(tok, "run_time_ns=%lf", &ns);
			}
			for (i = 0; i < n_progs && strcmp(progs[i].name, name); i++)
				;
			if (i == n_progs && n_progs < 64)
				snprintf(progs[n_progs++].name, sizeof(progs->name), "%s", name);
			if (i < 64) {
				progs[i].cnt[cfg] += cnt;
				progs[i].ns[cfg] += ns;
			}
		}
	}
}

/* ---- statistics -------------------------------------------------------------- */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct est {
	int n;
	double med, lo, hi;
};

/* Median and a >= 95 % interval [x(k), x(n-k+1)] from binomial(n, 1/2). */
static struct est estimate(double *v, int n)
{
	struct est e = { .n = n };
	double tail = 0, pk;
	int k = 0;

	if (!n) {
		e.med = e.lo = e.hi = NAN;
		return e;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	e.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	/* Largest k with P(B <= k - 1) <= 2.5 %: x(k) is then a lower bound. */
	pk = pow(0.5, n); /* P(B = 0) */
	for (int j = 0; j < n; j++) {
		if (tail + pk > 0.025)
			break;
		tail += pk;
		k = j + 1;
		pk = pk * (n - j) / (j + 1);
	}
	if (k == 0) {
		e.lo = v[0];
		e.hi = v[n - 1]; /* too few rounds for 95 %: the range */
	} else {
		e.lo = v[k - 1];
		e.hi = v[n - k];
	}
	return e;
}

static struct est of_cfg(const struct series *s, int cfg)
{
	double v[MAX_ROUNDS];
	int n = 0;

	for (int r = 1; r <= max_round; r++)
		if (s->have[cfg][r])
			v[n++] = s->v[cfg][r];
	return estimate(v, n);
}

/* Per-round ratio x/y where both ran and y > 0. */
static struct est ratio(const struct series *s, int x, int y)
{
	double v[MAX_ROUNDS];
	int n = 0;

	for (int r = 1; r <= max_round; r++)
		if (s->have[x][r] && s->have[y][r] && s->v[y][r] > 0)
			v[n++] = s->v[x][r] / s->v[y][r];
	return estimate(v, n);
}

static double bucket_value(int i)
{
	return (expm1(i * log(1.02)) + expm1((i + 1) * log(1.02))) / 2;
}

static double pooled_pct(const struct pooled *p, int cfg, double pct)
{
	double total = 0, seen = 0, want;

	for (int i = 0; i < HIST_N; i++)
		total += p->c[cfg][i];
	if (total <= 0)
		return NAN;
	want = ceil(pct / 100.0 * total);
	if (want < 1)
		want = 1;
	for (int i = 0; i < HIST_N; i++) {
		seen += p->c[cfg][i];
		if (seen >= want)
			return bucket_value(i);
	}
	return bucket_value(HIST_N - 1);
}

/* ---- output ---------------------------------------------------------------------- */

static void num(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (v == floor(v) || fabs(v) >= 100)
		snprintf(buf, len, "%.0f", v);
	else if (fabs(v) >= 10)
		snprintf(buf, len, "%.1f", v);
	else if (fabs(v) >= 0.1)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.4f", v);
}

static void cell(struct est e)
{
	char m[32], l[32], h[32];

	num(m, sizeof(m), e.med);
	num(l, sizeof(l), e.lo);
	num(h, sizeof(h), e.hi);
	if (isnan(e.med))
		printf(" - |");
	else
		printf(" %s [%s, %s] |", m, l, h);
}

struct metric {
	const char *wl, *name, *what;
};

static const struct metric metrics[] = {
	{ "w1", "miss_rate", "frame deadline-miss rate" },
	{ "w1", "longest_streak", "longest run of missed frames" },
	{ "w1", "frame_p50_us", "frame time p50 (us)" },
	{ "w1", "frame_p99_us", "frame time p99 (us)" },
	{ "w1", "frame_p999_us", "frame time p99.9 (us)" },
	{ "w1", "audio_miss_rate", "audio deadline-miss rate" },
	{ "w1", "wake_p99_us", "wake latency p99 (us), all three threads" },
	{ "w1", "input_wake_p99_us", "input thread's wake latency p99 (us)" },
	{ "w1", "audio_wake_p99_us", "audio thread's wake latency p99 (us)" },
	{ "w1", "frame_wake_p99_us", "frame thread's wake latency p99 (us)" },
	{ "w1", "bg_hog_per_s", "background: hog work per s" },
	{ "w1", "bg_msg_per_s", "background: messages per s" },
	{ "w2_pipe", "wait_p50_us", "high thread's wait p50 (us)" },
	{ "w2_pipe", "wait_p99_us", "high thread's wait p99 (us)" },
	{ "w2_pipe", "mid_units_per_s", "medium threads' work per s" },
	{ "w2_mutex", "wait_p50_us", "high thread's wait p50 (us)" },
	{ "w2_mutex", "wait_p99_us", "high thread's wait p99 (us)" },
	{ "w2_mutex", "mid_units_per_s", "medium threads' work per s" },
	{ "w3", "light_wake_p50_us", "1 kHz sleepers' wake latency p50 (us)" },
	{ "w3", "light_wake_p99_us", "1 kHz sleepers' wake latency p99 (us)" },
	{ "w3", "fake_wake_p99_us", "fake periodic task's wake latency p99 (us)" },
	{ "w3", "fake_work_per_s", "fake periodic task's work per s" },
	{ "w3", "bg_hog_per_s", "background: hog work per s" },
	{ "w4", "fps", "renderer's average fps" },
	{ "w4", "low1_fps", "renderer's 1 % low fps (its slowest 1 % of frames)" },
	{ "w4", "low1_frames", "frames the 1 % low rests on" },
	{ "w4", "frame_p50_us", "frame time p50 (us)" },
	{ "w4", "frame_p99_us", "frame time p99 (us)" },
	{ "w4", "frame_max_us", "longest frame (us)" },
	{ "w4", "bg_msgs_per_s", "background: hackbench messages per s" },
	{ "w4_alone", "fps", "renderer's average fps" },
	{ "w4_alone", "low1_fps", "renderer's 1 % low fps (its slowest 1 % of frames)" },
	{ "w4_alone", "frame_p99_us", "frame time p99 (us)" },
	{ "w4_bg", "bg_msgs_per_s", "background: hackbench messages per s" },
};

static const struct {
	const char *wl, *name, *what;
} hists[] = {
	{ "w1", "w1.frame", "frame time (us)" },
	{ "w1", "w1.wake", "wake latency (us), all three threads" },
	{ "w1", "w1.wake_input", "input thread's wake latency (us)" },
	{ "w1", "w1.wake_audio", "audio thread's wake latency (us)" },
	{ "w1", "w1.wake_frame", "frame thread's wake latency (us)" },
	{ "w2_pipe", "w2_pipe.wait", "high thread's wait (us)" },
	{ "w2_mutex", "w2_mutex.wait", "high thread's wait (us)" },
	{ "w3", "w3.light_wake", "1 kHz sleepers' wake latency (us)" },
	{ "w3", "w3.fake_wake", "fake periodic task's wake latency (us)" },
	{ "w4", "w4.frame", "frame time (us)" },
	{ "w4_alone", "w4_alone.frame", "frame time (us)" },
};

static const char *const wl_titles[][2] = {
	{ "w1", "W1: synthetic game under one hog per CPU and messaging" },
	{ "w2_pipe", "W2: priority inversion, pipe request/reply" },
	{ "w2_mutex", "W2: priority inversion, pthread mutex" },
	{ "w3", "W3: 1 kHz tasks under one hog per CPU" },
	{ "w4", "W4: glxgears on llvmpipe (Mesa) under Xvfb, hackbench in the background" },
	{ "w4_alone", "W4, the renderer alone" },
	{ "w4_bg", "W4, the background alone" },
};

static const struct series *find(const char *wl, const char *m)
{
	for (size_t i = 0; i < n_ser; i++)
		if (!strcmp(ser[i].wl, wl) && !strcmp(ser[i].metric, m))
			return &ser[i];
	return NULL;
}

static const struct pooled *find_pool(const char *name)
{
	for (size_t i = 0; i < n_pools; i++)
		if (!strcmp(pools[i].name, name))
			return &pools[i];
	return NULL;
}

/* ---- W4: columns for the configurations that ran, pooled fps ------------------- */

static const int w4_cols[] = { CA, CA2, CB, CC, CD, CE };
static const int w4_ratios[][2] = { { CA2, CA }, { CB, CA }, { CC, CA }, { CC, CB }, { CC, CD }, { CC, CE } };
#define N_W4_COLS (sizeof(w4_cols) / sizeof(w4_cols[0]))
#define N_W4_RATIOS (sizeof(w4_ratios) / sizeof(w4_ratios[0]))

static bool w4_ran(const char *wl, int cfg)
{
	for (size_t i = 0; i < n_ser; i++)
		if (!strcmp(ser[i].wl, wl))
			for (int r = 1; r <= max_round; r++)
				if (ser[i].have[cfg][r])
					return true;
	return false;
}

/* Frames the pooled 1 % low rests on: a hundredth of all, at least one. */
static double pooled_low1_frames(const struct pooled *p, int cfg)
{
	double total = 0;

	for (int i = 0; i < HIST_N; i++)
		total += p->c[cfg][i];
	return total < 1 ? NAN : fmax(1, floor(total / 100));
}

/* The 1 % low of all rounds' frames together (fps): the slowest frames' rate. */
static double pooled_low1(const struct pooled *p, int cfg)
{
	double k = pooled_low1_frames(p, cfg), taken = 0, us = 0;

	if (isnan(k))
		return NAN;
	for (int i = HIST_N - 1; i >= 0 && taken < k; i--) {
		double n = fmin(p->c[cfg][i], k - taken);

		taken += n;
		us += n * bucket_value(i);
	}
	return us > 0 ? k * 1e6 / us : NAN;
}

/* Average fps of all rounds together: their frames over their seconds. */
static double pooled_fps(const char *wl, int cfg)
{
	const struct series *f = find(wl, "frames"), *s = find(wl, "seconds");
	double nf = 0, ns = 0;

	if (!f || !s)
		return NAN;
	for (int r = 1; r <= max_round; r++)
		if (f->have[cfg][r] && s->have[cfg][r]) {
			nf += f->v[cfg][r];
			ns += s->v[cfg][r];
		}
	return ns > 0 ? nf / ns : NAN;
}

static double w4_low1(int cfg)
{
	const struct pooled *p = find_pool("w4.frame");

	return p ? pooled_low1(p, cfg) : NAN;
}

static void w4_pooled_row(const char *what, const double *v, const bool *col, const bool *rat)
{
	char b[32];

	printf("| %s |", what);
	for (size_t c = 0; c < N_W4_COLS; c++)
		if (col[c]) {
			num(b, sizeof(b), v[w4_cols[c]]);
			printf(" %s |", b);
		}
	for (size_t k = 0; k < N_W4_RATIOS; k++)
		if (rat[k]) {
			num(b, sizeof(b), v[w4_ratios[k][0]] / v[w4_ratios[k][1]]);
			printf(" %s |", b);
		}
	printf("\n");
}

/*
 * The header (a column for each configuration that ran, then the ratios
 * between those: a2/a, b/a, c/a, c/b, c/d, c/e) and the per-round rows of
 * workload wl; col and rat say which columns are there, for the pooled rows.
 */
static void table_rounds(const char *wl, bool *col, bool *rat)
{
	printf("| metric |");
	for (size_t c = 0; c < N_W4_COLS; c++)
		if ((col[c] = w4_ran(wl, w4_cols[c])))
			printf(" %s |", cfg_names[w4_cols[c]]);
	for (size_t k = 0; k < N_W4_RATIOS; k++)
		if ((rat[k] = w4_ran(wl, w4_ratios[k][0]) && w4_ran(wl, w4_ratios[k][1])))
			printf(" %s/%s |", cfg_names[w4_ratios[k][0]], cfg_names[w4_ratios[k][1]]);
	printf("\n| --- |");
	for (size_t c = 0; c < N_W4_COLS; c++)
		if (col[c])
			printf(" ---: |");
	for (size_t k = 0; k < N_W4_RATIOS; k++)
		if (rat[k])
			printf(" ---: |");
	printf("\n");
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		const struct series *s;

		if (strcmp(metrics[i].wl, wl) || !(s = find(wl, metrics[i].name)))
			continue;
		printf("| %s |", metrics[i].what);
		for (size_t c = 0; c < N_W4_COLS; c++)
			if (col[c])
				cell(of_cfg(s, w4_cols[c]));
		for (size_t k = 0; k < N_W4_RATIOS; k++)
			if (rat[k])
				cell(ratio(s, w4_ratios[k][0], w4_ratios[k][1]));
		printf("\n");
	}
}

/* W1-W3: the per-round rows, then pooled percentiles. */
static void table(const char *wl)
{
	bool col[N_W4_COLS], rat[N_W4_RATIOS];

	table_rounds(wl, col, rat);
	for (size_t i = 0; i < sizeof(hists) / sizeof(hists[0]); i++) {
		const struct pooled *p;
		static const double pcts[] = { 50, 99, 99.9 };

		if (strcmp(hists[i].wl, wl) || !(p = find_pool(hists[i].name)))
			continue;
		for (size_t k = 0; k < 3; k++) {
			double v[NCFG];
			char what[128];

			for (int c = 0; c < NCFG; c++)
				v[c] = pooled_pct(p, c, pcts[k]);
			snprintf(what, sizeof(what), "%s p%g, pooled", hists[i].what, pcts[k]);
			w4_pooled_row(what, v, col, rat);
		}
	}
	printf("\n");
}

static void table_w4(const char *wl)
{
	bool col[N_W4_COLS], rat[N_W4_RATIOS];
	char name[48];
	const struct pooled *p;

	if (w4conf[0])
		printf("Setup: `%s`.\n\n", w4conf);
	table_rounds(wl, col, rat);
	snprintf(name, sizeof(name), "%s.frame", wl);
	if (find(wl, "frames")) {
		double v[NCFG];

		for (int c = 0; c < NCFG; c++)
			v[c] = pooled_fps(wl, c);
		w4_pooled_row("average fps, pooled (all frames over all seconds)", v, col, rat);
	}
	if ((p = find_pool(name))) {
		static const double pcts[] = { 50, 99, 99.9 };
		double v[NCFG];
		char what[96];

		for (int c = 0; c < NCFG; c++)
			v[c] = pooled_low1(p, c);
		w4_pooled_row("1 % low fps, pooled", v, col, rat);
		for (int c = 0; c < NCFG; c++)
			v[c] = pooled_low1_frames(p, c);
		w4_pooled_row("frames the pooled 1 % low rests on", v, col, rat);
		for (size_t k = 0; k < 3; k++) {
			for (int c = 0; c < NCFG; c++)
				v[c] = pooled_pct(p, c, pcts[k]);
			snprintf(what, sizeof(what), "frame time (us) p%g, pooled", pcts[k]);
			w4_pooled_row(what, v, col, rat);
		}
	}
	printf("\n");
}

/* A row of the goal table with no target of its own. */
static void goal_ref(const char *what, double v)
{
	char b[32];

	num(b, sizeof(b), v);
	printf("| %s | - | %s | %s |\n", what, b, isnan(v) ? "not measured" : "for reference");
}

static double prog_avg(int cfg, bool all, const char *name)
{
	double cnt = 0, ns = 0;

	for (size_t i = 0; i < n_progs; i++) {
		/* Every program but the test ones (never run while attached). */
		if (all ? !strncmp(progs[i].name, "gamer_test", 10) : strcmp(progs[i].name, name))
			continue;
		cnt += progs[i].cnt[cfg];
		ns += progs[i].ns[cfg];
	}
	return cnt > 0 ? ns / cnt : NAN;
}

static void goal(const char *what, double v, bool ok_if_below, double limit, const char *note)
{
	char b[32], l[32];

	num(b, sizeof(b), v);
	num(l, sizeof(l), limit);
	printf("| %s | %s %s | %s | %s |\n", what, ok_if_below ? "<=" : ">=", l, b,
	       isnan(v) ? "not measured" :
	       (ok_if_below ? v <= limit : v >= limit) ? "met" : note);
}

static double med_ratio(const char *wl, const char *m, int x, int y)
{
	const struct series *s = find(wl, m);

	return s ? ratio(s, x, y).med : NAN;
}

static double pool_ratio(const char *name, double pct, int x, int y)
{
	const struct pooled *p = find_pool(name);

	return p ? pooled_pct(p, x, pct) / pooled_pct(p, y, pct) : NAN;
}

int main(int argc, char **argv)
{
	FILE *f;
	char b[64];

	if (argc != 2) {
		fprintf(stderr, "usage: analyze LOG\n");
		return 2;
	}
	f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	parse(f);
	fclose(f);
	if (!max_round) {
		fprintf(stderr, "analyze: no benchmark rounds in %s\n", argv[1]);
		return 1;
	}

	printf("Machine: `%s`; %d rounds.\n\n", machine, max_round);
	printf("Cells: median over rounds [95 %% interval]; ratios: median of the per-round "
	       "ratios [95 %% interval]; \"pooled\" rows: percentiles of all rounds' samples "
	       "together.\n\n");
	for (size_t w = 0; w < sizeof(wl_titles) / sizeof(wl_titles[0]); w++) {
		bool any = false;

		for (size_t i = 0; i < n_ser; i++)
			any |= !strcmp(ser[i].wl, wl_titles[w][0]);
		if (!any)
			continue;
		printf("#### %s\n\n", wl_titles[w][1]);
		if (!strncmp(wl_titles[w][0], "w4", 2))
			table_w4(wl_titles[w][0]);
		else
			table(wl_titles[w][0]);
	}

	if (n_progs) {
		printf("#### Overhead: average time per BPF program run (ns), all rounds\n\n");
		printf("| program | b | c | c/b |\n| --- | ---: | ---: | ---: |\n");
		for (size_t i = 0; i < n_progs; i++) {
			double xb = prog_avg(CB, false, progs[i].name), xc = prog_avg(CC, false, progs[i].name);
			char s1[32], s2[32], s3[32];

			if (progs[i].cnt[CB] + progs[i].cnt[CC] == 0)
				continue;
			num(s1, sizeof(s1), xb);
			num(s2, sizeof(s2), xc);
			num(s3, sizeof(s3), xc / xb);
			printf("| %s | %s | %s | %s |\n", progs[i].name, s1, s2, s3);
		}
		num(b, sizeof(b), prog_avg(CB, true, NULL));
		printf("| all callbacks | %s |", b);
		num(b, sizeof(b), prog_avg(CC, true, NULL));
		printf(" %s |", b);
		num(b, sizeof(b), prog_avg(CC, true, NULL) / prog_avg(CB, true, NULL));
		printf(" %s |\n\n", b);
	}
	if (n_counted) {
		printf("#### What the mechanisms did (scx_gamer stats per profile; median per round)\n\n");
		printf("| profile | config |");
		for (int k = 0; k < N_CNT; k++)
			printf(" %s |", cnt_names[k]);
		printf("\n| --- | --- |");
		for (int k = 0; k < N_CNT; k++)
			printf(" ---: |");
		printf("\n");
		for (size_t i = 0; i < n_counted; i++) {
			for (int c = CB; c < NCFG; c++) {
				double any = 0;

				for (int r = 1; r <= max_round; r++)
					if (counted[i].have[c][r])
						any += counted[i].v[c][r][0];
				if (any <= 0)
					continue; /* a profile nothing ran under */
				printf("| %s | %s |", counted[i].id, cfg_names[c]);
				for (int k = 0; k < N_CNT; k++) {
					double v[MAX_ROUNDS];
					int n = 0;
					char b2[32];

					for (int r = 1; r <= max_round; r++)
						if (counted[i].have[c][r])
							v[n++] = counted[i].v[c][r][k];
					num(b2, sizeof(b2), estimate(v, n).med);
					printf(" %s |", b2);
				}
				printf("\n");
			}
		}
		printf("\n");
	}
	if (footprint[0])
		printf("#### Footprint of the idle daemon (configuration c)\n\n`%s`\n\n", footprint);

	printf("#### Goals (c against a unless said)\n\n| goal | target | measured | verdict |\n"
	       "| --- | --- | ---: | --- |\n");
	goal("W3 sleepers' wake p99 (pooled), c/a", pool_ratio("w3.light_wake", 99, CC, CA), true, 0.7, "missed");
	goal("W3 sleepers' wake p99 (pooled), b/a", pool_ratio("w3.light_wake", 99, CB, CA), true, 1.0, "missed");
	goal("W1 input thread's wake p99 (pooled), c/a", pool_ratio("w1.wake_input", 99, CC, CA), true, 0.5,
	     "missed");
	goal("W1 frame time p99 (pooled), c/a", pool_ratio("w1.frame", 99, CC, CA), true, 0.7, "missed");
	goal("W1 background messages, c/a", med_ratio("w1", "bg_msg_per_s", CC, CA), false, 0.9, "missed");
	goal("W1 background hog work, c/a", med_ratio("w1", "bg_hog_per_s", CC, CA), false, 0.8, "missed");
	goal("W2 mutex wait p99 (pooled), c/d", pool_ratio("w2_mutex.wait", 99, CC, CD), true, 0.5, "missed");
	goal("W2 pipe wait p99 (pooled), c/d", pool_ratio("w2_pipe.wait", 99, CC, CD), true, 0.7, "missed");
	goal("per-callback cost, c/b", prog_avg(CC, true, NULL) / prog_avg(CB, true, NULL), true, 1.3, "missed");
	{
		double w = NAN;
		const char *p = strstr(footprint, "wakeups_per_s=");

		if (p)
			w = atof(p + 14);
		goal("idle daemon wake-ups per second", w, true, 0, "missed");
	}
	goal("W4 average fps, c/a", med_ratio("w4", "fps", CC, CA), false, 1.0, "missed");
	goal("W4 1 % low fps (pooled), c/a", w4_low1(CC) / w4_low1(CA), false, 1.3, "missed");
	goal("W4 background messages, c/a", med_ratio("w4", "bg_msgs_per_s", CC, CA), false, 0.8, "missed");
	goal_ref("W4 average fps, b/a", med_ratio("w4", "fps", CB, CA));
	goal_ref("W4 1 % low fps (pooled), b/a", w4_low1(CB) / w4_low1(CA));
	goal("W4 average fps, c/e (e: no game profile)", med_ratio("w4", "fps", CC, CE), false, 1.0, "missed");
	goal("W4 1 % low fps (pooled), c/e", w4_low1(CC) / w4_low1(CE), false, 1.0, "missed");
	printf("\n");
	return 0;
}
