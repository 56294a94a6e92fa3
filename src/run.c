// SPDX-License-Identifier: GPL-2.0-only
/*
 * `scx_gamer run`: attach the scheduler and serve it until told to stop.
 *
 * Everything the daemon waits for is a file descriptor in one poll() set:
 * signals arrive through a signalfd, scheduler events through the BPF ring
 * buffer, timed work through timerfds. Nothing sleeps or polls on a timer.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "scheduler.h"

enum { PFD_SIGNAL, PFD_EVENTS, PFD_TEST_TIMER, PFD_COUNT };

static int block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, set, NULL) < 0) {
		log_error("failed to block signals: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int arm_oneshot_timer(long ms)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L },
	};
	int fd;

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (fd < 0) {
		log_error("failed to create a timer: %s", strerror(errno));
		return -1;
	}
	/* A zero it_value would disarm the timer. */
	if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		log_error("failed to arm a timer: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static void report_attached(void)
{
	char ops[128] = "?", seq[32] = "?";

	read_sysfs_line(SCX_SYSFS_DIR "/root/ops", ops, sizeof(ops));
	read_sysfs_line(SCX_SYSFS_DIR "/enable_seq", seq, sizeof(seq));
	log_info("scheduler '%s' attached (enable_seq %s); stop with SIGINT or SIGTERM",
		 ops, seq);
}

/* Print why the scheduler stopped; returns the exit status it implies. */
static int report_exit(const struct sched *s, bool requested)
{
	const struct gamer_exit_info *ei = sched_exit_info(s);
	char kbuf[32];
	const char *kind;

	if (!ei) {
		/* ops.exit always runs on disable; not seeing it is a bug. */
		log_error("scheduler stopped without an exit record");
		return EXIT_FAIL;
	}
	kind = sched_exit_kind_name(ei->kind, kbuf, sizeof(kbuf));
	if (sched_exit_is_error(ei)) {
		log_error("%s: %s (%s): %s",
			  ei->kind >= SCX_EXIT_ERROR_FIRST ? "the kernel ejected the scheduler"
					   : "the scheduler stopped on an error",
			  ei->reason, kind, ei->msg[0] ? ei->msg : "(no message)");
		return EXIT_FAIL;
	}
	if (!requested) {
		log_error("scheduler stopped unexpectedly: %s (%s)%s%s", ei->reason, kind,
			  ei->msg[0] ? ": " : "", ei->msg);
		return EXIT_FAIL;
	}
	log_info("scheduler detached: %s (%s)", ei->reason, kind);
	return EXIT_OK;
}

int cmd_run(const struct run_opts *opts)
{
	struct pollfd pfd[PFD_COUNT];
	struct sched s;
	sigset_t sigs;
	int sfd = -1, tfd = -1, ret = EXIT_FAIL;
	bool stop = false, requested = false;

	if (sched_preflight())
		return EXIT_FAIL;
	if (block_signals(&sigs))
		return EXIT_FAIL;
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_error("failed to create a signalfd: %s", strerror(errno));
		return EXIT_FAIL;
	}
	if (sched_load(&s, true))
		goto out_sfd;
	if (sched_attach(&s))
		goto out_sched;
	report_attached();
	sched_report_compat(&s);

	if (opts->test_error_after_ms >= 0) {
		tfd = arm_oneshot_timer(opts->test_error_after_ms);
		if (tfd < 0)
			goto out_sched;
	}

	pfd[PFD_SIGNAL] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[PFD_EVENTS] = (struct pollfd){ .fd = sched_events_fd(&s), .events = POLLIN };
	pfd[PFD_TEST_TIMER] = (struct pollfd){ .fd = tfd, .events = POLLIN };

	while (!stop) {
		if (poll(pfd, PFD_COUNT, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("failed to poll: %s", strerror(errno));
			goto out_sched;
		}
		if (pfd[PFD_SIGNAL].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				log_info("received %s, detaching", strsignal((int)si.ssi_signo));
				requested = true;
				stop = true;
			}
		}
		if (pfd[PFD_EVENTS].revents & POLLIN) {
			if (sched_handle_events(&s) < 0)
				log_warn("failed to read scheduler events");
			if (s.exited)
				stop = true;
		}
		if (pfd[PFD_TEST_TIMER].revents & POLLIN) {
			uint64_t n;

			if (read(tfd, &n, sizeof(n)) == sizeof(n)) {
				log_info("test hook: asking the scheduler to report an error");
				sched_trigger_test_error(&s, 7);
			}
			pfd[PFD_TEST_TIMER].fd = -1;
		}
	}

	sched_detach(&s);
	ret = report_exit(&s, requested);
out_sched:
	sched_destroy(&s);
	if (tfd >= 0)
		close(tfd);
out_sfd:
	close(sfd);
	return ret;
}
