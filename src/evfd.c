// SPDX-License-Identifier: GPL-2.0-only
/*
 * Timers and signals as descriptors (see evfd.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "evfd.h"
#include "log.h"

#define NS_PER_S 1000000000ull

int timer_new(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		log_error("failed to create a timer: %s", strerror(errno));
	return fd;
}

int timer_arm(int fd, uint64_t after_ns, uint64_t every_ns)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(after_ns / NS_PER_S),
			      .tv_nsec = (long)(after_ns % NS_PER_S) },
		.it_interval = { .tv_sec = (time_t)(every_ns / NS_PER_S),
				 .tv_nsec = (long)(every_ns % NS_PER_S) },
	};

	if (after_ns == 0)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(fd, 0, &its, NULL) == 0)
		return 0;
	log_error("failed to arm a timer: %s", strerror(errno));
	return -1;
}

int timer_start(uint64_t after_ns, uint64_t every_ns)
{
	int fd = timer_new();

	if (fd >= 0 && timer_arm(fd, after_ns, every_ns)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int signals_fd(sigset_t *set, ...)
{
	sigset_t was;
	va_list ap;
	int sig, fd, err;

	sigemptyset(set);
	va_start(ap, set);
	while ((sig = va_arg(ap, int)) != 0)
		sigaddset(set, sig);
	va_end(ap);
	if (sigprocmask(SIG_BLOCK, set, &was) < 0) {
		log_error("failed to block signals: %s", strerror(errno));
		return -1;
	}
	fd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0) {
		err = errno;
		/* Not blocked for nothing: they would never be seen. */
		sigprocmask(SIG_SETMASK, &was, NULL);
		log_error("failed to create a signalfd: %s", strerror(err));
		errno = err;
	}
	return fd;
}

uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t run_delay_ns(void)
{
	char buf[96];
	unsigned long long run, delay;
	ssize_t n;
	int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return UINT64_MAX;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return UINT64_MAX;
	buf[n] = '\0';
	/* "<ns on a CPU> <ns waiting for one> <times run>" */
	if (sscanf(buf, "%llu %llu", &run, &delay) != 2)
		return UINT64_MAX;
	return delay;
}
