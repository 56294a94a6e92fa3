// SPDX-License-Identifier: GPL-2.0-only
/*
 * fake-game: a process that looks like a game to game detection. Copied
 * under a game's name (or run through `exec -a` for another argv[0]), it
 * starts named threads and sleeps; it touches no BPF map.
 *
 *   fake-game [--comm NAME] [--rename-after-ms MS] [--seconds S]
 *             [--period-us P --busy-us B] [--main-rename NAME] [--churn N]
 *             [--child [ARG...] --end] [THREAD...]
 *
 * THREAD is NAME, or OLD>NEW for a thread that starts as OLD and renames
 * itself to NEW after --rename-after-ms (default 500) - games name threads
 * after spawning them. --comm renames the main thread at start (Wine names
 * its process after the .exe that way). --child forks a child process that
 * runs the same program with ARG... (no exec with no ARG: the child just
 * sleeps), to test that children inherit a profile. --main-rename renames
 * the main thread after --rename-after-ms (a game naming its main thread).
 * --churn starts N short-lived threads one after another, each named like
 * the first THREAD, exiting at once (before "ready"). --sleepers N forks N
 * children that only sleep (and die with it), so that its children list is
 * long: "sleeper PID" is printed for the last one. --setuid-on-usr1 UID
 * makes it take on UID as its real, effective and saved uid, all threads,
 * without an exec, when SIGUSR1 comes ("uid UID" is printed then).
 * --spawn-on-usr2 N starts N threads at once when SIGUSR2 comes, each
 * exiting at once, none joined (so the main thread does not sleep on them):
 * "spawned N" is printed when all have exited. Each is a new task's first
 * wait for the scheduler to count.
 *
 * Prints, flushed, one line per thread "thread NAME TID" (the final name),
 * "child PID" for a child, then "ready"; then sleeps until --seconds
 * (default 600) pass or it is killed. The threads sleep, unless --period-us
 * gives them work: B microseconds of computing every P (so that the
 * scheduler has something to count and boost). Options may come anywhere, so that a
 * copy can carry arguments of the program it imitates before them
 * (`reaper SteamLaunch AppId=N --child GAME --end`).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 16

struct thread {
	char first[16], final[16];
	pthread_t t;
	pid_t tid;
	int renames;
};

static struct thread threads[MAX_THREADS];
static int n_threads;
static long rename_ms = 500;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int started;
static long period_us, busy_us;

static void *churn_thread(void *arg)
{
	prctl(PR_SET_NAME, (const char *)arg);
	return NULL;
}

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* Compute for busy_us every period_us until the deadline (us), or forever. */
static void work(long long until)
{
	long long next = now_us();
	volatile unsigned long x = 0;

	while (!until || now_us() < until) {
		long long end = now_us() + busy_us;

		while (now_us() < end)
			x++;
		next += period_us;
		if (next > now_us()) {
			long long d = next - now_us();
			struct timespec ts = { d / 1000000, (d % 1000000) * 1000 };

			nanosleep(&ts, NULL);
		} else {
			next = now_us();
		}
	}
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *run(void *arg)
{
	struct thread *t = arg;

	prctl(PR_SET_NAME, t->first);
	pthread_mutex_lock(&lock);
	t->tid = (pid_t)syscall(SYS_gettid);
	started++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	if (t->renames) {
		if (period_us)
			work(now_us() + rename_ms * 1000);
		else
			sleep_ms(rename_ms);
		prctl(PR_SET_NAME, t->final);
	}
	if (period_us)
		work(0);
	for (;;)
		pause();
	return NULL;
}

static int usage(void)
{
	fprintf(stderr, "usage: fake-game [--comm NAME] [--rename-after-ms MS] [--seconds S]\n"
			"                 [--period-us P --busy-us B] [--main-rename NAME] [--churn N]\n"
			"                 [--child [ARG...] --end] [--sleepers N] [--setuid-on-usr1 UID]\n"
			"                 [--spawn-on-usr2 N]\n"
			"                 [THREAD...]\n"
			"  THREAD: NAME or OLD>NEW (renamed after --rename-after-ms)\n");
	return 2;
}

static volatile sig_atomic_t got_usr1, got_usr2;
static atomic_long spawned_done;

static void on_usr2(int sig)
{
	(void)sig;
	got_usr2 = 1;
}

static void *spawn_thread(void *arg)
{
	(void)arg;
	atomic_fetch_add(&spawned_done, 1);
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static int name_ok(const char *s)
{
	return *s && strlen(s) < 16;
}

int main(int argc, char **argv)
{
	long seconds = 600, churn = 0, sleepers = 0, setuid_to = -1, spawn = 0;
	pid_t last_sleeper = 0;
	const char *main_rename = NULL;
	char **child = NULL;
	int i = 1, n_child = -1;
	pid_t cpid = 0;

	for (; i < argc; i++) {
		struct thread *t = &threads[n_threads];
		char *gt;

		if (!strcmp(argv[i], "--comm") && i + 1 < argc) {
			if (!name_ok(argv[++i]))
				return usage();
			prctl(PR_SET_NAME, argv[i]);
			continue;
		} else if (!strcmp(argv[i], "--rename-after-ms") && i + 1 < argc) {
			rename_ms = atol(argv[++i]);
			continue;
		} else if (!strcmp(argv[i], "--main-rename") && i + 1 < argc) {
			if (!name_ok(argv[++i]))
				return usage();
			main_rename = argv[i];
			continue;
		} else if (!strcmp(argv[i], "--sleepers") && i + 1 < argc) {
			sleepers = atol(argv[++i]);
			continue;
		} else if (!strcmp(argv[i], "--setuid-on-usr1") && i + 1 < argc) {
			setuid_to = atol(argv[++i]);
			continue;
		} else if (!strcmp(argv[i], "--spawn-on-usr2") && i + 1 < argc) {
			spawn = atol(argv[++i]);
			if (spawn <= 0 || spawn > 100000)
				return usage();
			continue;
		} else if (!strcmp(argv[i], "--churn") && i + 1 < argc) {
			churn = atol(argv[++i]);
			continue;
		} else if (!strcmp(argv[i], "--period-us") && i + 1 < argc) {
			period_us = atol(argv[++i]);
			continue;
		} else if (!strcmp(argv[i], "--busy-us") && i + 1 < argc) {
			busy_us = atol(argv[++i]);
			continue;
		} else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = atol(argv[++i]);
			continue;
		} else if (!strcmp(argv[i], "--child")) {
			child = &argv[i + 1];
			for (n_child = 0; i + 1 < argc && strcmp(argv[i + 1], "--end"); i++)
				n_child++;
			if (i + 1 >= argc)
				return usage();
			i++; /* the "--end" */
			continue;
		} else if (strncmp(argv[i], "--", 2) == 0 && argv[i][2]) {
			return usage();
		}
		if (n_threads == MAX_THREADS)
			return usage();
		gt = strchr(argv[i], '>');
		if (gt)
			*gt = '\0';
		if (!name_ok(argv[i]) || (gt && !name_ok(gt + 1)))
			return usage();
		snprintf(t->first, sizeof(t->first), "%s", argv[i]);
		snprintf(t->final, sizeof(t->final), "%s", gt ? gt + 1 : argv[i]);
		t->renames = gt != NULL;
		n_threads++;
	}

	if (period_us < 0 || busy_us < 0 || busy_us > period_us)
		return usage();

	if (child) {
		cpid = fork();
		if (cpid < 0) {
			perror("fork");
			return 1;
		}
		if (cpid == 0) {
			if (n_child > 0) {
				child[n_child] = NULL;
				execv(child[0], child);
				perror(child[0]);
				_exit(1);
			}
			for (;;)
				pause();
		}
	}
	for (long k = 0; k < sleepers; k++) {
		last_sleeper = fork();
		if (last_sleeper < 0) {
			perror("fork");
			return 1;
		}
		if (last_sleeper == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
	}
	if (setuid_to >= 0 || spawn) {
		struct sigaction sa1 = { .sa_handler = on_usr1 }, sa2 = { .sa_handler = on_usr2 };
		sigset_t usr;

		/* Only the main thread takes them (the threads started below inherit this mask; the children forked above do not have it). */
		sigemptyset(&usr);
		if (setuid_to >= 0) {
			sigaddset(&usr, SIGUSR1);
			sigaction(SIGUSR1, &sa1, NULL);
		}
		if (spawn) {
			sigaddset(&usr, SIGUSR2);
			sigaction(SIGUSR2, &sa2, NULL);
		}
		pthread_sigmask(SIG_BLOCK, &usr, NULL);
	}
	for (long k = 0; k < churn && n_threads; k++) {
		pthread_t ct;

		if (pthread_create(&ct, NULL, churn_thread, threads[0].first) ||
		    pthread_join(ct, NULL)) {
			fprintf(stderr, "fake-game: churn thread failed\n");
			return 1;
		}
	}
	for (int k = 0; k < n_threads; k++) {
		if (pthread_create(&threads[k].t, NULL, run, &threads[k])) {
			fprintf(stderr, "fake-game: pthread_create failed\n");
			return 1;
		}
	}
	pthread_mutex_lock(&lock);
	while (started < n_threads)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	for (int k = 0; k < n_threads; k++)
		printf("thread %s %d\n", threads[k].final, (int)threads[k].tid);
	if (cpid)
		printf("child %d\n", (int)cpid);
	if (last_sleeper)
		printf("sleeper %d\n", (int)last_sleeper);
	printf("ready\n");
	fflush(stdout);
	if (main_rename) {
		sleep_ms(rename_ms);
		prctl(PR_SET_NAME, main_rename);
		printf("renamed\n");
		fflush(stdout);
	}
	if (setuid_to >= 0) {
		sigset_t none;

		sigemptyset(&none);
		while (!got_usr1)
			sigsuspend(&none);
		/* glibc applies it to every thread (its setxid broadcast). */
		if (setresuid((uid_t)setuid_to, (uid_t)setuid_to, (uid_t)setuid_to)) {
			perror("setresuid");
			return 1;
		}
		printf("uid %ld\n", setuid_to);
		fflush(stdout);
	}
	if (spawn) {
		pthread_attr_t attr;
		sigset_t none;

		sigemptyset(&none);
		while (!got_usr2)
			sigsuspend(&none);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 64 * 1024);
		for (long k = 0; k < spawn; k++) {
			pthread_t st;

			if (pthread_create(&st, &attr, spawn_thread, NULL)) {
				fprintf(stderr, "fake-game: spawn thread failed\n");
				return 1;
			}
		}
		pthread_attr_destroy(&attr);
		while (atomic_load(&spawned_done) < spawn)
			sleep_ms(100);
		printf("spawned %ld\n", spawn);
		fflush(stdout);
	}
	sleep_ms(seconds * 1000);
	if (cpid) {
		kill(cpid, SIGKILL);
		waitpid(cpid, NULL, 0);
	}
	return 0;
}
