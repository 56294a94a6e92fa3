// SPDX-License-Identifier: GPL-2.0-only
/*
 * gamebench: the workloads of `make bench` (docs/BENCHMARKS.md), one binary.
 * Times are CLOCK_MONOTONIC; "work" is a calibrated loop, so a unit of work
 * costs the same CPU time whatever the scheduler does.
 *
 *   gamebench calibrate                 loop speed and a thread hand-off's cost
 *   gamebench load --shm NAME [--hogs N] [--msg-pairs P]
 *                                       background: N CPU hogs and P pairs of
 *                                       threads messaging over sockets (a
 *                                       stand-in for a compile), counting their
 *                                       work in shared memory, until killed
 *   gamebench w1 --period-us T ...      synthetic game (frame pipeline)
 *   gamebench w2 --variant pipe|mutex   priority inversion
 *   gamebench w3                        1 kHz sleepers and a fake periodic task
 *   gamebench progstats                 run count and time of each gamer_* BPF
 *                                       program (kernel.bpf_stats_enabled)
 *   gamebench footprint --pid P --seconds S   RSS, CPU time, wake-ups of P
 *   gamebench shuffle SEED WORD...      the words in a random order (seeded)
 *
 * The workloads name their threads (w1-frame, w1-render, ...) so that a
 * profile's `threads:` rules can give them roles; they run as whatever
 * argv[0] they were started as (the bench copies this binary to bench-game
 * and bench-load, so that profiles can tell the game from the load).
 *
 * Output: one line "result WORKLOAD key=value ..." and lines
 * "hist WORKLOAD.METRIC idx:count,..." (log buckets, see hist_index()) that
 * bench/analyze pools over rounds. --load-shm NAME adds the background work
 * done during the measured window to the result.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#define NSEC 1000000000ull
#define MAX_THREADS 64

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { (time_t)(t / NSEC), (long)(t % NSEC) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void die(const char *what)
{
	fprintf(stderr, "gamebench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* PREFIX, or PREFIX and I when I >= 0, as the thread's name. */
static void name_thread(const char *prefix, int i)
{
	char name[16];

	if (i >= 0)
		snprintf(name, sizeof(name), "%.9s%d", prefix, i % 100000);
	else
		snprintf(name, sizeof(name), "%s", prefix);
	prctl(PR_SET_NAME, name);
}

/* ---- calibrated work ---------------------------------------------------------- */

static double iters_per_us = 100; /* --calib, else measured */
static volatile uint64_t sink;

static void spin_iters(uint64_t n)
{
	uint64_t x = sink;

	for (uint64_t i = 0; i < n; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	sink = x;
}

/* us microseconds of CPU work, as measured unloaded. */
static void work_us(double us)
{
	spin_iters((uint64_t)(us * iters_per_us));
}

static double measure_iters_per_us(void)
{
	double best = 0;

	for (int r = 0; r < 5; r++) {
		uint64_t n = 2000000, t0 = now_ns(), t;

		spin_iters(n);
		t = now_ns() - t0;
		if (t && n * 1000.0 / (double)t > best)
			best = n * 1000.0 / (double)t;
	}
	return best;
}

/* ---- histograms --------------------------------------------------------------- */

/* Buckets 2 % wide: index = floor(ln(1 + us) / ln(1.02)); up to ~10 minutes. */
#define HIST_N 1400

struct hist {
	uint64_t n;
	uint32_t c[HIST_N];
};

static int hist_index(double us)
{
	int i = us <= 0 ? 0 : (int)(log1p(us) / log(1.02));

	return i < HIST_N ? i : HIST_N - 1;
}

/* The middle of bucket i, in microseconds. */
static double hist_value(int i)
{
	return (expm1(i * log(1.02)) + expm1((i + 1) * log(1.02))) / 2;
}

static void hist_add(struct hist *h, double us)
{
	h->c[hist_index(us)]++;
	h->n++;
}

static double hist_pct(const struct hist *h, double p)
{
	uint64_t want, seen = 0;

	if (!h->n)
		return 0;
	want = (uint64_t)ceil(p / 100.0 * (double)h->n);
	if (!want)
		want = 1;
	for (int i = 0; i < HIST_N; i++) {
		seen += h->c[i];
		if (seen >= want)
			return hist_value(i);
	}
	return hist_value(HIST_N - 1);
}

static void hist_print(const char *name, const struct hist *h)
{
	bool first = true;

	printf("hist %s ", name);
	for (int i = 0; i < HIST_N; i++) {
		if (!h->c[i])
			continue;
		printf("%s%d:%u", first ? "" : ",", i, h->c[i]);
		first = false;
	}
	printf("%s\n", first ? "-" : "");
}

static pthread_mutex_t hist_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- background load (shared memory counters) ------------------------------------- */

struct load_shm {
	_Atomic uint64_t hog_units; /* millions of work iterations */
	_Atomic uint64_t msgs;	    /* messages received */
	_Atomic int ready;
};

static struct load_shm *shm_open_load(const char *name, bool create)
{
	int fd = shm_open(name, create ? O_CREAT | O_RDWR : O_RDWR, 0600);
	struct load_shm *s;

	if (fd < 0)
		die("shm_open");
	if (create && ftruncate(fd, sizeof(*s)))
		die("ftruncate");
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (s == MAP_FAILED)
		die("mmap");
	close(fd);
	return s;
}

static struct load_shm *load;

static void *hog_thread(void *arg)
{
	name_thread("load-hog", (int)(intptr_t)arg);
	for (;;) {
		spin_iters(1000000);
		atomic_fetch_add_explicit(&load->hog_units, 1, memory_order_relaxed);
	}
	return NULL;
}

struct msg_pair {
	int fd[2];
	int i;
};

static void *msg_send(void *arg)
{
	struct msg_pair *p = arg;
	char buf[100] = { 0 };

	name_thread("load-send", p->i);
	for (;;) {
		if (write(p->fd[0], buf, sizeof(buf)) < 0 && errno != EINTR)
			die("write");
	}
	return NULL;
}

static void *msg_recv(void *arg)
{
	struct msg_pair *p = arg;
	char buf[100];

	name_thread("load-recv", p->i);
	for (;;) {
		ssize_t r = read(p->fd[1], buf, sizeof(buf));

		if (r < 0 && errno != EINTR)
			die("read");
		if (r > 0)
			atomic_fetch_add_explicit(&load->msgs, 1, memory_order_relaxed);
	}
	return NULL;
}

static int cmd_load(const char *shm, int hogs, int pairs)
{
	pthread_t t;

	load = shm_open_load(shm, true);
	for (int i = 0; i < hogs; i++)
		if (pthread_create(&t, NULL, hog_thread, (void *)(intptr_t)i))
			die("pthread_create");
	for (int i = 0; i < pairs; i++) {
		struct msg_pair *p = calloc(1, sizeof(*p));

		if (!p || socketpair(AF_UNIX, SOCK_STREAM, 0, p->fd))
			die("socketpair");
		p->i = i;
		if (pthread_create(&t, NULL, msg_send, p) || pthread_create(&t, NULL, msg_recv, p))
			die("pthread_create");
	}
	atomic_store(&load->ready, 1);
	for (;;)
		pause();
	return 0;
}

/* Background work during a window: call at its start and end. */
static struct load_shm *bg;
static uint64_t bg_hog0, bg_msg0, bg_t0;

static void bg_start(void)
{
	if (!bg)
		return;
	bg_hog0 = atomic_load(&bg->hog_units);
	bg_msg0 = atomic_load(&bg->msgs);
	bg_t0 = now_ns();
}

static void bg_report(void)
{
	double s;

	if (!bg)
		return;
	s = (double)(now_ns() - bg_t0) / NSEC;
	printf(" bg_hog_per_s=%.2f bg_msg_per_s=%.1f", (atomic_load(&bg->hog_units) - bg_hog0) / s,
	       (atomic_load(&bg->msgs) - bg_msg0) / s);
}

/* ---- common options ------------------------------------------------------------------ */

static double seconds = 5, warmup = 1;
static uint64_t period_ns = 16666667; /* W1's frame period T */
static volatile bool stop;

/* ---- W1: synthetic game ------------------------------------------------------------------- */

/*
 * Per frame (period T, frame k due at start + k T): the frame thread does F of
 * its own work, fans J out to two job threads and waits for both (futex
 * semaphores), hands off to the render thread over a pipe (R), which hands
 * off to the GPU thread (G, semaphore), which ends the frame. A frame misses
 * when it ends after its due time + T; a frame that cannot start before its
 * own deadline is skipped and counted as missed. Audio (period T/3, work A)
 * misses when it ends after its next period starts; input (T/16) only
 * records its wake-up latency. Wake latency: actual minus intended wake time
 * of the frame, audio and input threads, each on its own and all together.
 */
#define W1_F 0.05
#define W1_J 0.10
#define W1_R 0.08
#define W1_G 0.04
#define W1_A 0.10 /* of the audio period */
#define W1_I 0.02 /* of the input period */

static sem_t job_go[2], job_done, gpu_go, frame_done;
static int render_pipe[2];
static struct hist h_frame, h_wake, h_wake_frame, h_wake_audio, h_wake_input;
static uint64_t t_start, t_window; /* run start; measured window start */
static uint64_t audio_n, audio_miss;

static double period_us(void)
{
	return (double)period_ns / 1000.0;
}

static void record_wake(struct hist *own, uint64_t intended, uint64_t actual)
{
	double us = actual > intended ? (double)(actual - intended) / 1000.0 : 0;

	if (intended < t_window)
		return;
	pthread_mutex_lock(&hist_lock);
	hist_add(&h_wake, us);
	hist_add(own, us);
	pthread_mutex_unlock(&hist_lock);
}

static void *w1_job(void *arg)
{
	int i = (int)(intptr_t)arg;

	name_thread("w1-job", i);
	for (;;) {
		sem_wait(&job_go[i]);
		if (stop)
			break;
		work_us(W1_J * period_us());
		sem_post(&job_done);
	}
	return NULL;
}

static void *w1_render(void *arg)
{
	char c;

	(void)arg;
	name_thread("w1-render", -1);
	while (read(render_pipe[0], &c, 1) == 1 && !stop) {
		work_us(W1_R * period_us());
		sem_post(&gpu_go);
	}
	return NULL;
}

static void *w1_gpu(void *arg)
{
	(void)arg;
	name_thread("w1-gpu", -1);
	for (;;) {
		sem_wait(&gpu_go);
		if (stop)
			break;
		work_us(W1_G * period_us());
		sem_post(&frame_done);
	}
	return NULL;
}

static void *w1_periodic(void *arg)
{
	bool audio = arg != NULL;
	uint64_t p = audio ? period_ns / 3 : period_ns / 16, next = t_start + p, end;

	name_thread(audio ? "w1-audio" : "w1-input", -1);
	while (!stop) {
		sleep_until(next);
		record_wake(audio ? &h_wake_audio : &h_wake_input, next, now_ns());
		work_us((audio ? W1_A : W1_I) * (double)p / 1000.0);
		end = now_ns();
		if (audio && next >= t_window) {
			audio_n++;
			if (end > next + p)
				audio_miss++;
		}
		next += p;
		/* Periods that already passed are missed, not replayed. */
		while (next + p < now_ns()) {
			if (audio && next >= t_window) {
				audio_n++;
				audio_miss++;
			}
			next += p;
		}
	}
	return NULL;
}

static int cmd_w1(void)
{
	pthread_t t[6];
	uint64_t frames = 0, misses = 0, streak = 0, longest = 0, k = 0, end;
	bool bg_started = false;
	char c = 'f';

	for (int i = 0; i < 2; i++)
		sem_init(&job_go[i], 0, 0);
	sem_init(&job_done, 0, 0);
	sem_init(&gpu_go, 0, 0);
	sem_init(&frame_done, 0, 0);
	if (pipe(render_pipe))
		die("pipe");
	name_thread("w1-frame", -1);
	t_start = now_ns() + 100000000ull; /* threads named and parked first */
	t_window = t_start + (uint64_t)(warmup * NSEC);
	end = t_window + (uint64_t)(seconds * NSEC);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, w1_job, (void *)(intptr_t)i);
	pthread_create(&t[2], NULL, w1_render, NULL);
	pthread_create(&t[3], NULL, w1_gpu, NULL);
	pthread_create(&t[4], NULL, w1_periodic, (void *)1);
	pthread_create(&t[5], NULL, w1_periodic, NULL);

	for (;;) {
		uint64_t due = t_start + k * period_ns, done;
		bool counted = due >= t_window;

		if (due >= end)
			break;
		sleep_until(due);
		if (counted && !bg_started) {
			bg_start();
			bg_started = true;
		}
		if (now_ns() > due + period_ns) {
			/* Cannot even start before its deadline: skipped, a miss. */
			if (counted) {
				frames++;
				misses++;
				streak++;
				longest = streak > longest ? streak : longest;
			}
			k++;
			continue;
		}
		if (counted)
			record_wake(&h_wake_frame, due, now_ns());
		work_us(W1_F * period_us());
		sem_post(&job_go[0]);
		sem_post(&job_go[1]);
		sem_wait(&job_done);
		sem_wait(&job_done);
		if (write(render_pipe[1], &c, 1) != 1)
			die("write");
		sem_wait(&frame_done);
		done = now_ns();
		if (counted) {
			frames++;
			hist_add(&h_frame, (double)(done - due) / 1000.0);
			if (done > due + period_ns) {
				misses++;
				streak++;
				longest = streak > longest ? streak : longest;
			} else {
				streak = 0;
			}
		}
		k++;
		/* The next frame is due at the first period boundary not yet passed. */
		while (t_start + k * period_ns + period_ns < now_ns() &&
		       t_start + k * period_ns < end) {
			if (t_start + k * period_ns >= t_window) {
				frames++;
				misses++;
				streak++;
				longest = streak > longest ? streak : longest;
			}
			k++;
		}
	}
	printf("result w1 period_us=%.0f frames=%llu misses=%llu miss_rate=%.4f longest_streak=%llu "
	       "frame_p50_us=%.0f frame_p99_us=%.0f frame_p999_us=%.0f audio_periods=%llu "
	       "audio_misses=%llu audio_miss_rate=%.4f wake_p99_us=%.0f input_wake_p99_us=%.0f "
	       "audio_wake_p99_us=%.0f frame_wake_p99_us=%.0f",
	       period_us(), (unsigned long long)frames, (unsigned long long)misses,
	       frames ? (double)misses / (double)frames : 0, (unsigned long long)longest,
	       hist_pct(&h_frame, 50), hist_pct(&h_frame, 99), hist_pct(&h_frame, 99.9),
	       (unsigned long long)audio_n, (unsigned long long)audio_miss,
	       audio_n ? (double)audio_miss / (double)audio_n : 0, hist_pct(&h_wake, 99),
	       hist_pct(&h_wake_input, 99), hist_pct(&h_wake_audio, 99), hist_pct(&h_wake_frame, 99));
	bg_report();
	printf("\n");
	hist_print("w1.frame", &h_frame);
	hist_print("w1.wake", &h_wake);
	hist_print("w1.wake_input", &h_wake_input);
	hist_print("w1.wake_audio", &h_wake_audio);
	hist_print("w1.wake_frame", &h_wake_frame);
	fflush(stdout);
	stop = true;
	return 0;
}

/* ---- W2: priority inversion ----------------------------------------------------------------- */

/*
 * A high thread (w2-high) needs, every P = T/4, a resource a low thread
 * (w2-low) serves; M medium threads (w2-mid0..) compute all the time.
 * pipe: the high thread writes a request and waits for the reply; the low
 * thread, woken by it, works B = T/50 and replies. mutex: the low thread
 * takes a pthread mutex, works B holding it, lets go and sleeps B; the high
 * thread takes the mutex. Metric: the high thread's wait (request to reply,
 * or lock call to lock held).
 */
static int req_pipe[2], rep_pipe[2];
static pthread_mutex_t res = PTHREAD_MUTEX_INITIALIZER;
static struct hist h_wait;
static bool mutex_variant;
static _Atomic uint64_t mid_units;

static double w2_busy_us(void)
{
	return period_us() / 50;
}

static void *w2_mid(void *arg)
{
	name_thread("w2-mid", (int)(intptr_t)arg);
	while (!stop) {
		spin_iters(100000);
		atomic_fetch_add_explicit(&mid_units, 1, memory_order_relaxed);
	}
	return NULL;
}

static void *w2_low(void *arg)
{
	char c;

	(void)arg;
	name_thread("w2-low", -1);
	if (mutex_variant) {
		while (!stop) {
			pthread_mutex_lock(&res);
			work_us(w2_busy_us());
			pthread_mutex_unlock(&res);
			sleep_until(now_ns() + (uint64_t)(w2_busy_us() * 1000));
		}
		return NULL;
	}
	while (read(req_pipe[0], &c, 1) == 1 && !stop) {
		work_us(w2_busy_us());
		if (write(rep_pipe[1], &c, 1) != 1)
			break;
	}
	return NULL;
}

static int cmd_w2(int mids)
{
	pthread_t t;
	uint64_t p = period_ns / 4, next, end, n = 0;
	char c = 'r';

	if (pipe(req_pipe) || pipe(rep_pipe))
		die("pipe");
	name_thread("w2-high", -1);
	t_start = now_ns() + 100000000ull;
	t_window = t_start + (uint64_t)(warmup * NSEC);
	end = t_window + (uint64_t)(seconds * NSEC);
	pthread_create(&t, NULL, w2_low, NULL);
	for (int i = 0; i < mids; i++)
		pthread_create(&t, NULL, w2_mid, (void *)(intptr_t)i);
	uint64_t mid0 = 0, tm0 = 0;

	for (next = t_start; next < end; next += p) {
		uint64_t t0, waited;

		sleep_until(next);
		if (next >= t_window && !tm0) {
			mid0 = atomic_load(&mid_units);
			tm0 = now_ns();
			bg_start();
		}
		t0 = now_ns();
		if (mutex_variant) {
			pthread_mutex_lock(&res);
			waited = now_ns() - t0;
			work_us(1);
			pthread_mutex_unlock(&res);
		} else {
			if (write(req_pipe[1], &c, 1) != 1 || read(rep_pipe[0], &c, 1) != 1)
				die("pipe round trip");
			waited = now_ns() - t0;
		}
		if (next >= t_window) {
			hist_add(&h_wait, (double)waited / 1000.0);
			n++;
		}
		while (next + p < now_ns())
			next += p; /* do not replay periods spent waiting */
	}
	printf("result w2_%s requests=%llu wait_p50_us=%.0f wait_p99_us=%.0f wait_max_us=%.0f "
	       "mid_units_per_s=%.1f",
	       mutex_variant ? "mutex" : "pipe", (unsigned long long)n, hist_pct(&h_wait, 50),
	       hist_pct(&h_wait, 99), hist_pct(&h_wait, 100),
	       tm0 ? (double)(atomic_load(&mid_units) - mid0) / ((double)(now_ns() - tm0) / NSEC) : 0);
	bg_report();
	printf("\n");
	hist_print(mutex_variant ? "w2_mutex.wait" : "w2_pipe.wait", &h_wait);
	fflush(stdout);
	stop = true;
	return 0;
}

/* ---- W3: high-frequency tasks -------------------------------------------------------------------- */

/*
 * N light sleepers (w3-light0..) wake every 1 ms and work 50 us; a fake
 * periodic task (w3-fake) wakes every 1 ms but works 900 us of it. Metrics:
 * the sleepers' wake latency p99, and the fake task's wake latency and work
 * done (it must gain nothing from waking often).
 */
static struct hist h_light, h_fake;
static _Atomic uint64_t fake_units;

static void *w3_task(void *arg)
{
	int i = (int)(intptr_t)arg;
	bool fake = i < 0;
	uint64_t p = 1000000, next = t_start;

	if (fake)
		name_thread("w3-fake", -1);
	else
		name_thread("w3-light", i);
	while (!stop) {
		uint64_t woke;

		sleep_until(next);
		woke = now_ns();
		if (next >= t_window) {
			pthread_mutex_lock(&hist_lock);
			hist_add(fake ? &h_fake : &h_light, (double)(woke - next) / 1000.0);
			pthread_mutex_unlock(&hist_lock);
		}
		work_us(fake ? 900 : 50);
		if (fake && next >= t_window)
			atomic_fetch_add_explicit(&fake_units, 1, memory_order_relaxed);
		next += p;
		while (next < now_ns())
			next += p;
	}
	return NULL;
}

static int cmd_w3(int light)
{
	pthread_t t;
	uint64_t end;

	name_thread("w3-main", -1);
	t_start = now_ns() + 100000000ull;
	t_window = t_start + (uint64_t)(warmup * NSEC);
	end = t_window + (uint64_t)(seconds * NSEC);
	for (int i = 0; i < light; i++)
		pthread_create(&t, NULL, w3_task, (void *)(intptr_t)i);
	pthread_create(&t, NULL, w3_task, (void *)(intptr_t)-1);
	sleep_until(t_window);
	bg_start();
	sleep_until(end);
	stop = true;
	pthread_mutex_lock(&hist_lock);
	printf("result w3 light_wakes=%llu light_wake_p50_us=%.0f light_wake_p99_us=%.0f "
	       "fake_wakes=%llu fake_wake_p99_us=%.0f fake_work_per_s=%.1f",
	       (unsigned long long)h_light.n, hist_pct(&h_light, 50), hist_pct(&h_light, 99),
	       (unsigned long long)h_fake.n, hist_pct(&h_fake, 99),
	       (double)atomic_load(&fake_units) / seconds);
	bg_report();
	printf("\n");
	hist_print("w3.light_wake", &h_light);
	hist_print("w3.fake_wake", &h_fake);
	pthread_mutex_unlock(&hist_lock);
	fflush(stdout);
	return 0;
}

/* ---- calibrate, progstats, footprint, shuffle ---------------------------------------------------- */

static sem_t ping, pong;



static void *ponger(void *arg)
{
	(void)arg;
	for (;;) {
		sem_wait(&ping);
		sem_post(&pong);
	}
	return NULL;
}

/*
 * Loop speed with every CPU computing: each thread counts loops for a fixed
 * time; the rate is the total over all of that time. (In a single-threaded
 * emulator the virtual CPUs share one host thread: a short measurement can
 * fall inside one CPU's turn and see it alone, so only the total counts.)
 */
static _Atomic uint64_t calib_loops;
static volatile bool calib_stop;

static void *calib_thread(void *arg)
{
	(void)arg;
	while (!calib_stop) {
		spin_iters(100000);
		atomic_fetch_add_explicit(&calib_loops, 100000, memory_order_relaxed);
	}
	return NULL;
}

static int cmd_calibrate(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t t, th[MAX_THREADS];
	uint64_t t0, best = UINT64_MAX;
	double alone;

	if (ncpu < 1 || ncpu > MAX_THREADS)
		ncpu = ncpu < 1 ? 1 : MAX_THREADS;
	sem_init(&ping, 0, 0);
	sem_init(&pong, 0, 0);
	pthread_create(&t, NULL, ponger, NULL);
	for (int r = 0; r < 5; r++) {
		t0 = now_ns();
		for (int i = 0; i < 200; i++) {
			sem_post(&ping);
			sem_wait(&pong);
		}
		if ((now_ns() - t0) / 200 < best)
			best = (now_ns() - t0) / 200;
	}
	alone = measure_iters_per_us();
	t0 = now_ns();
	for (long i = 0; i < ncpu; i++)
		pthread_create(&th[i], NULL, calib_thread, NULL);
	sleep_until(t0 + NSEC / 2);
	calib_stop = true;
	for (long i = 0; i < ncpu; i++)
		pthread_join(th[i], NULL);
	/*
	 * Work is sized with the rate each CPU gets when all compute, not the
	 * rate of one CPU alone.
	 */
	printf("calibrate iters_per_us=%.2f alone_iters_per_us=%.2f handoff_us=%.1f\n",
	       (double)atomic_load(&calib_loops) / ((double)(now_ns() - t0) / 1000.0) / (double)ncpu,
	       alone, (double)best / 1000.0);
	return 0;
}

static int cmd_progstats(void)
{
	uint32_t id = 0;

	while (bpf_prog_get_next_id(id, &id) == 0) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_prog_get_info_by_fd(fd, &info, &len) == 0 &&
		    strncmp(info.name, "gamer_", 6) == 0)
			printf("prog %s run_cnt=%llu run_time_ns=%llu\n", info.name,
			       (unsigned long long)info.run_cnt, (unsigned long long)info.run_time_ns);
		close(fd);
	}
	return 0;
}

struct pstat {
	uint64_t ticks, ctxsw, rss_kb;
};

static int read_pstat(int pid, struct pstat *ps)
{
	char path[64], line[512];
	unsigned long long ut = 0, st = 0;
	FILE *f;

	memset(ps, 0, sizeof(*ps));
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f)) {
		char *p = strrchr(line, ')');

		if (p)
			sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
	}
	fclose(f);
	ps->ticks = ut + st;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "VmRSS: %llu", &v) == 1)
			ps->rss_kb = v;
		else if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1)
			ps->ctxsw += v;
		else if (sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
			ps->ctxsw += v;
	}
	fclose(f);
	return 0;
}

/*
 * Context switches of the process's main thread: a daemon that waits in
 * poll() switches out once per wake-up. (All threads: the daemon has one.)
 */
static int cmd_footprint(int pid, double secs)
{
	struct pstat a, b;
	long hz = sysconf(_SC_CLK_TCK);

	if (read_pstat(pid, &a))
		die("read /proc/PID");
	sleep_until(now_ns() + (uint64_t)(secs * NSEC));
	if (read_pstat(pid, &b))
		die("read /proc/PID");
	printf("result footprint seconds=%.0f rss_kb=%llu cpu_ms=%.1f wakeups_per_s=%.3f\n", secs,
	       (unsigned long long)b.rss_kb, (double)(b.ticks - a.ticks) * 1000.0 / (double)hz,
	       (double)(b.ctxsw - a.ctxsw) / secs);
	return 0;
}

static int cmd_shuffle(unsigned int seed, char **w, int n)
{
	srand(seed);
	for (int i = n - 1; i > 0; i--) {
		int j = rand() % (i + 1);
		char *x = w[i];

		w[i] = w[j];
		w[j] = x;
	}
	for (int i = 0; i < n; i++)
		printf("%s%s", i ? " " : "", w[i]);
	printf("\n");
	return 0;
}

/* ---- main ------------------------------------------------------------------------------------------ */

static int usage(void)
{
	fprintf(stderr,
		"usage: gamebench calibrate\n"
		"       gamebench load --shm NAME [--hogs N] [--msg-pairs P] [--calib I]\n"
		"       gamebench w1 [--period-us T] [OPTS]\n"
		"       gamebench w2 --variant pipe|mutex [--mids M] [--period-us T] [OPTS]\n"
		"       gamebench w3 [--light N] [OPTS]\n"
		"       gamebench progstats | footprint --pid P --seconds S | shuffle SEED WORD...\n"
		"OPTS: --seconds S (measured, default 5) --warmup S (default 1) --calib ITERS_PER_US\n"
		"      --load-shm NAME (report the background work of `gamebench load`)\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *cmd, *shm = NULL, *load_shm = NULL;
	int hogs = 0, pairs = 0, mids = 4, light = 4, pid = 0;
	bool have_calib = false;

	if (argc < 2)
		return usage();
	cmd = argv[1];
	if (!strcmp(cmd, "shuffle")) {
		if (argc < 4)
			return usage();
		return cmd_shuffle((unsigned int)strtoul(argv[2], NULL, 10), argv + 3, argc - 3);
	}
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			return usage();
		i++;
		if (!strcmp(o, "--seconds"))
			seconds = atof(v);
		else if (!strcmp(o, "--warmup"))
			warmup = atof(v);
		else if (!strcmp(o, "--period-us"))
			period_ns = (uint64_t)(atof(v) * 1000);
		else if (!strcmp(o, "--calib"))
			iters_per_us = atof(v), have_calib = true;
		else if (!strcmp(o, "--shm"))
			shm = v;
		else if (!strcmp(o, "--load-shm"))
			load_shm = v;
		else if (!strcmp(o, "--hogs"))
			hogs = atoi(v);
		else if (!strcmp(o, "--msg-pairs"))
			pairs = atoi(v);
		else if (!strcmp(o, "--mids"))
			mids = atoi(v);
		else if (!strcmp(o, "--light"))
			light = atoi(v);
		else if (!strcmp(o, "--pid"))
			pid = atoi(v);
		else if (!strcmp(o, "--variant"))
			mutex_variant = !strcmp(v, "mutex");
		else
			return usage();
	}
	if (seconds <= 0 || warmup < 0 || period_ns < 1000000 || mids < 0 || mids > MAX_THREADS ||
	    light < 0 || light > MAX_THREADS)
		return usage();
	if (!have_calib && strcmp(cmd, "calibrate") && strcmp(cmd, "progstats") &&
	    strcmp(cmd, "footprint"))
		iters_per_us = measure_iters_per_us();
	if (load_shm)
		bg = shm_open_load(load_shm, false);

	if (!strcmp(cmd, "calibrate"))
		return cmd_calibrate();
	if (!strcmp(cmd, "load"))
		return shm ? cmd_load(shm, hogs, pairs) : usage();
	if (!strcmp(cmd, "w1"))
		return cmd_w1();
	if (!strcmp(cmd, "w2"))
		return cmd_w2(mids);
	if (!strcmp(cmd, "w3"))
		return cmd_w3(light);
	if (!strcmp(cmd, "progstats"))
		return cmd_progstats();
	if (!strcmp(cmd, "footprint"))
		return pid > 0 ? cmd_footprint(pid, seconds) : usage();
	return usage();
}
