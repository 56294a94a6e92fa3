/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The descriptors a poll loop waits on besides its own: timers and signals.
 * Both the daemon's loop and `stats --watch` use them. Each says what
 * failed in the log and returns -1. And the clock the class maps' times
 * are in, and how long the calling thread has waited for a CPU.
 */
#ifndef SCX_GAMER_EVFD_H
#define SCX_GAMER_EVFD_H

#include <signal.h>
#include <stdint.h>

/* A CLOCK_MONOTONIC timerfd, non-blocking and close-on-exec, not armed. */
int timer_new(void);
/*
 * Arm timer fd to fire after after_ns (0 is taken as 1 ns, since a zero
 * value would disarm it), then every every_ns (0: once).
 */
int timer_arm(int fd, uint64_t after_ns, uint64_t every_ns);
/* timer_new() armed with timer_arm(); the timer, or -1. */
int timer_start(uint64_t after_ns, uint64_t every_ns);

/*
 * Block the signals listed (ended by 0) and return a non-blocking
 * close-on-exec signalfd that reads them; *set gets them.
 */
int signals_fd(sigset_t *set, ...);

/* CLOCK_BOOTTIME in ns (what bpf_ktime_get_boot_ns() reads). */
uint64_t boottime_ns(void);

/*
 * How long the calling thread has been runnable without running since it
 * started, in ns (schedstat's run_delay: kept by the scheduler core for
 * every scheduling class, sched_ext's too), or UINT64_MAX where the kernel
 * does not count it (no CONFIG_SCHED_INFO).
 */
uint64_t run_delay_ns(void);

#endif /* SCX_GAMER_EVFD_H */
