// SPDX-License-Identifier: GPL-2.0-only
/*
 * W4 frame-time shim (docs/BENCHMARKS.md): LD_PRELOAD it into an unmodified GL
 * program; bench/bench.vm does, into glxgears.
 *
 * It wraps glXSwapBuffers and eglSwapBuffers: after each swap returns it takes a
 * CLOCK_BOOTTIME timestamp (the clock of /proc/uptime, which the benchmark's
 * shell uses for the background's timestamps). At the first swap it creates the
 * file W4_READY (if set), so that the benchmark can start the background once
 * the program draws. Frames in the first W4_WARMUP seconds (default 0) after the
 * first swap are not kept; after W4_SECONDS more (default 10) the shim writes a
 * summary to W4_FRAMES (default /tmp/w4-frames.txt) and ends the process with
 * _exit(0), so the program's own teardown (slow under TCG, and nothing to
 * measure) never runs. SIGTERM or SIGINT ends the measurement at the next swap
 * the same way.
 *
 * The summary, one item per line:
 *   window START_NS END_NS   the kept frames' first and last swap (CLOCK_BOOTTIME)
 *   frames N seconds S fps F low1_fps L low1_frames K frame_p50_us P50
 *       frame_p99_us P99 frame_max_us MAX     (one line)
 *   hist IDX:COUNT,...       the frame times in bench/gamebench.c's buckets
 * N frame intervals between N + 1 kept swaps; fps = N / S; the 1 % low is the
 * average rate over the slowest K = max(1, N / 100) intervals; p99 is the
 * ceil(0.99 N)-th shortest interval.
 *
 * Built by `make bench/libw4frames.so` (a bench program: Makefile.am).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Buckets 2 % wide, as bench/gamebench.c's: floor(ln(1 + us) / ln(1.02)). */
#define HIST_N 1400

void glXSwapBuffers(void *dpy, unsigned long drawable);
unsigned int eglSwapBuffers(void *dpy, void *surface);

static uint64_t *stamps;
static size_t nstamps, capstamps;
static uint64_t first_ns, warm_ns, stop_ns;
static int measuring;
static volatile sig_atomic_t stop_flag;
static const char *out_path = "/tmp/w4-frames.txt";
static const char *ready_path;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t env_seconds_ns(const char *name, double def)
{
	const char *s = getenv(name);
	double v = s && *s ? strtod(s, NULL) : def;

	if (v < 0)
		v = 0;
	return (uint64_t)(v * 1e9);
}

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

__attribute__((constructor)) static void w4_init(void)
{
	const char *p = getenv("W4_FRAMES");
	struct sigaction sa;

	if (p && *p)
		out_path = p;
	p = getenv("W4_READY");
	if (p && *p)
		ready_path = p;
	warm_ns = env_seconds_ns("W4_WARMUP", 0);
	stop_ns = warm_ns + env_seconds_ns("W4_SECONDS", 10);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void dump_and_exit(void)
{
	FILE *f = fopen(out_path, "w");
	size_t n = nstamps > 1 ? nstamps - 1 : 0, k, i;
	uint64_t *iv = n ? malloc(n * sizeof(*iv)) : NULL, sum = 0, slow = 0;
	static uint32_t hist[HIST_N];
	int first = 1;

	if (!f || (n && !iv)) {
		perror("w4 shim: W4_FRAMES");
		_exit(3);
	}
	if (n < 2) {
		fprintf(f, "error only %zu frame intervals kept\n", n);
		fclose(f);
		_exit(5);
	}
	for (i = 0; i < n; i++) {
		double us;
		int b;

		iv[i] = stamps[i + 1] - stamps[i];
		sum += iv[i];
		us = (double)iv[i] / 1e3;
		b = us <= 0 ? 0 : (int)(log1p(us) / log(1.02));
		hist[b < HIST_N ? b : HIST_N - 1]++;
	}
	qsort(iv, n, sizeof(*iv), cmp_u64);
	k = n / 100 ? n / 100 : 1;
	for (i = n - k; i < n; i++)
		slow += iv[i];
	i = (size_t)ceil(0.99 * (double)n);
	fprintf(f, "window %llu %llu\n", (unsigned long long)stamps[0],
		(unsigned long long)stamps[nstamps - 1]);
	fprintf(f, "frames %zu seconds %.3f fps %.3f low1_fps %.3f low1_frames %zu "
		   "frame_p50_us %.0f frame_p99_us %.0f frame_max_us %.0f\n",
		n, (double)sum / 1e9, (double)n * 1e9 / (double)sum, (double)k * 1e9 / (double)slow, k,
		(double)iv[(n - 1) / 2] / 1e3, (double)iv[(i ? i : 1) - 1] / 1e3, (double)iv[n - 1] / 1e3);
	fprintf(f, "hist ");
	for (i = 0; i < HIST_N; i++) {
		if (!hist[i])
			continue;
		fprintf(f, "%s%zu:%u", first ? "" : ",", i, hist[i]);
		first = 0;
	}
	fprintf(f, "\n");
	if (fclose(f) != 0) {
		perror("w4 shim: write W4_FRAMES");
		_exit(3);
	}
	_exit(0);
}

static void frame_done(void)
{
	uint64_t t = now_ns();

	if (!first_ns) {
		first_ns = t;
		if (ready_path) {
			int fd = open(ready_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

			if (fd >= 0)
				close(fd);
		}
	}
	if (!measuring && t - first_ns >= warm_ns)
		measuring = 1;
	if (measuring) {
		if (nstamps == capstamps) {
			size_t n = capstamps ? capstamps * 2 : 4096;
			uint64_t *s = realloc(stamps, n * sizeof(*s));

			if (!s)
				dump_and_exit();
			stamps = s;
			capstamps = n;
		}
		stamps[nstamps++] = t;
	}
	if (stop_flag || t - first_ns >= stop_ns)
		dump_and_exit();
}

/* The real functions, found on first use in the libraries after this one. */
static void *next_sym(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f) {
		fprintf(stderr, "w4 shim: no %s after the shim: %s\n", name, dlerror());
		_exit(4);
	}
	return f;
}

/* void glXSwapBuffers(Display *, GLXDrawable): the types are opaque here. */
void glXSwapBuffers(void *dpy, unsigned long drawable)
{
	static void (*real)(void *, unsigned long);

	if (!real)
		real = (void (*)(void *, unsigned long))next_sym("glXSwapBuffers");
	real(dpy, drawable);
	frame_done();
}

/* EGLBoolean eglSwapBuffers(EGLDisplay, EGLSurface) */
unsigned int eglSwapBuffers(void *dpy, void *surface)
{
	static unsigned int (*real)(void *, void *);
	unsigned int r;

	if (!real)
		real = (unsigned int (*)(void *, void *))next_sym("eglSwapBuffers");
	r = real(dpy, surface);
	frame_done();
	return r;
}
