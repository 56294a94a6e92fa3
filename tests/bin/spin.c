// SPDX-License-Identifier: GPL-2.0-only
/*
 * spin THREADS SECONDS: CPU-bound threads that count loop iterations for a
 * fixed time, then print one line per thread ("thread N: COUNT") and a
 * summary ("min MIN max MAX mean MEAN"). Used to check that every thread
 * makes progress under a scheduler.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static struct timespec deadline;

struct worker {
	pthread_t tid;
	uint64_t count;
};

static int past_deadline(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline.tv_sec ||
	       (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
}

static void *spin(void *arg)
{
	struct worker *w = arg;
	volatile uint64_t sink = 0;

	/* Reading the clock every iteration would measure the clock, not the CPU. */
	while (!past_deadline()) {
		for (int i = 0; i < 10000; i++)
			sink += (uint64_t)i;
		w->count++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker *w;
	uint64_t min = UINT64_MAX, max = 0, sum = 0;
	int n, secs;

	if (argc != 3 || (n = atoi(argv[1])) <= 0 || (secs = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: spin THREADS SECONDS\n");
		return 2;
	}
	w = calloc((size_t)n, sizeof(*w));
	if (!w)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += secs;
	for (int i = 0; i < n; i++) {
		if (pthread_create(&w[i].tid, NULL, spin, &w[i])) {
			fprintf(stderr, "spin: failed to create thread %d\n", i);
			return 1;
		}
	}
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].tid, NULL);
		printf("thread %d: %llu\n", i, (unsigned long long)w[i].count);
		if (w[i].count < min)
			min = w[i].count;
		if (w[i].count > max)
			max = w[i].count;
		sum += w[i].count;
	}
	printf("min %llu max %llu mean %llu\n", (unsigned long long)min,
	       (unsigned long long)max, (unsigned long long)(sum / (uint64_t)n));
	free(w);
	return 0;
}
