/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The descriptors a poll loop waits on besides its own: timers and signals.
 * Both the daemon's loop and `stats --watch` use them. Each says what
 * failed in the log and returns -1. And the clock the class maps' times
 * are in.
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

#endif /* SCX_GAMER_EVFD_H */
