// SPDX-License-Identifier: GPL-2.0-only
/*
 * `scx_gamer run`: load the configuration, push it into the scheduler's maps,
 * attach the scheduler (unless --no-attach) and serve it until told to stop.
 *
 * Everything the daemon waits for is a file descriptor in one poll() set:
 * signals arrive through a signalfd, scheduler events through the BPF ring
 * buffer, timed work through timerfds. Nothing sleeps or polls on a timer.
 *
 * A reload (SIGHUP) loads every file again; a file that no longer validates
 * keeps its last good version live, so a bad edit changes nothing.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "cmd.h"
#include "daemon.h"
#include "detect.h"
#include "evfd.h"
#include "log.h"
#include "maps.h"
#include "pins.h"
#include "scheduler.h"
#include "state.h"
#include "watch.h"

enum { PFD_SIGNAL, PFD_EVENTS, PFD_PROC, PFD_INOTIFY, PFD_SETTLE, PFD_TEST_TIMER, PFD_COUNT };
static const char *const pfd_names[PFD_COUNT] = {
	[PFD_SIGNAL] = "signal",	    [PFD_EVENTS] = "scheduler event",
	[PFD_PROC] = "process event",  [PFD_INOTIFY] = "inotify",
	[PFD_SETTLE] = "settle timer", [PFD_TEST_TIMER] = "test timer",
};

/*
 * A descriptor poll() reports broken (POLLERR, POLLNVAL) would be reported
 * again at once, for ever: the daemon ends instead, with an error, for a
 * restart. None of ours hangs up, so POLLHUP is one too.
 */
static bool poll_broken(const struct pollfd *pfd)
{
	bool broken = false;
	int i;

	for (i = 0; i < PFD_COUNT; i++) {
		if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLERR | POLLNVAL | POLLHUP)))
			continue;
		log_error("poll reports the %s descriptor broken (revents 0x%x)", pfd_names[i],
			  (unsigned int)pfd[i].revents);
		broken = true;
	}
	return broken;
}

/* how: "attached", or "attached again" after a restart. */
static void report_attached(const char *how)
{
	char ops[128] = "?", seq[32] = "?";

	read_sysfs_line(SCX_SYSFS_DIR "/root/ops", ops, sizeof(ops));
	read_sysfs_line(SCX_SYSFS_DIR "/enable_seq", seq, sizeof(seq));
	log_info("scheduler '%s' %s (enable_seq %s); stop with SIGINT or SIGTERM", ops, how,
		 seq);
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

static int setup(struct daemon *d)
{
	const struct paths *p = &d->opts->paths;
	struct detect_kernel k;

	if (snprintf(d->config_file, sizeof(d->config_file), "%s/scx_gamer.yaml",
		     p->config_dir) >= (int)sizeof(d->config_file) ||
	    snprintf(d->admin_profiles, sizeof(d->admin_profiles), "%s/profiles",
		     p->config_dir) >= (int)sizeof(d->admin_profiles)) {
		log_error("--config-dir is too long");
		return -1;
	}
	if (maps_open(&d->maps, sched_map_fd(&d->s, PIN_PROFILE_VER),
		      sched_map_fd(&d->s, PIN_PROFILE_SLOTS), sched_map_fd(&d->s, PIN_PROFILE_INFO)))
		return -1;
	d->maps.counters_fd = sched_map_fd(&d->s, PIN_COUNTERS);
	d->maps.wait_hist_fd = sched_map_fd(&d->s, PIN_WAIT_HIST);
	d->settle_fd = timer_new();
	if (d->settle_fd < 0)
		return -1;
	/* Watch before loading: a save during the load is then not missed. */
	d->inotify_fd = watch_init();
	if (d->inotify_fd < 0)
		return -1;
	reload_watch(d);
	/* Invalid files are reported and left out; the daemon runs with the rest. */
	reload_all(d, true);
	/* Again, now that symlinked files (and their target directories) are known. */
	reload_watch(d);
	d->pinned = true;
	sched_pin_maps(&d->s, d->opts->paths.pin_dir);
	/* Tracepoints first, then the scan: a game starting in between is not missed. */
	if (sched_attach_detection(&d->s))
		return -1;
	sched_detect_kernel(&d->s, &k);
	d->det = detect_new(&k, "/proc");
	if (!d->det)
		return -1;
	detect_set_config(d->det, &d->cfg, &d->applied);
	detect_rescan(d->det, "start-up");
	reload_publish_state(d);
	state_write_pid(d->opts->paths.run_dir);
	return 0;
}

/*
 * The kernel stopped the scheduler: when it asks for a restart (CPU hotplug),
 * attach again - profiles, pins and classes are in the maps, which stay -
 * and return 0; otherwise, or when restarts come too fast to be hotplug
 * (more than 16 in the last minute; a burst of CPUs counts once, see
 * sched_restart()), -1: the daemon ends and says why.
 */
#define RESTARTS_MAX 16
#define RESTART_WINDOW_NS (60ULL * 1000 * 1000 * 1000)

struct restarts {
	uint64_t at[RESTARTS_MAX]; /* CLOCK_MONOTONIC of the last ones, a ring */
	unsigned int n;
};

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int restart(struct sched *s, struct restarts *r)
{
	const struct gamer_exit_info *ei = sched_exit_info(s);
	struct gamer_exit_info was;
	uint64_t now = monotonic_ns();
	unsigned int slot = r->n % RESTARTS_MAX;
	int err;

	if (!sched_exit_wants_restart(s, ei))
		return -1;
	/* The 17th within a minute: the oldest of the last 16 is that recent. */
	if (r->n >= RESTARTS_MAX && now - r->at[slot] < RESTART_WINDOW_NS) {
		log_error("the kernel asked for more than %d restarts within a minute (%s: %s); "
			  "giving up",
			  RESTARTS_MAX, ei->reason, ei->msg);
		return -1;
	}
	r->at[slot] = now;
	r->n++;
	was = *ei;
	log_info("the kernel stopped the scheduler and asks for a restart: %s%s%s; attaching "
		 "again",
		 was.reason, was.msg[0] ? ": " : "", was.msg);
	err = sched_restart(s);
	if (err) {
		log_error("could not attach the scheduler again after '%s': %s", was.msg,
			  strerror(-err));
		/* For the exit report: why it stopped, not an empty record. */
		sched_set_exit_info(s, &was);
		return -1;
	}
	report_attached("attached again");
	return 0;
}

/*
 * The daemon stands between an exec and the game's profile: at nice 0 it
 * gets a CPU-bound load's share of a CPU, and under the emulator a rescan
 * of /proc spent 70 % of its time runnable but not running (docs/TESTING.md).
 * Its own nice value (it is single-threaded, so the calling thread's is
 * the process's) weighs it like any other task's under this scheduler and
 * the kernel's.
 */
static void set_nice(int nice)
{
	if (setpriority(PRIO_PROCESS, 0, nice) < 0)
		log_warn("failed to set the daemon's nice value to %d: %s (it stays %d)", nice,
			 strerror(errno), getpriority(PRIO_PROCESS, 0));
	else
		log_debug("the daemon runs at nice %d", nice);
}

int cmd_run(const struct run_opts *opts)
{
	struct daemon d = { .opts = opts, .inotify_fd = -1, .settle_fd = -1 };
	struct pollfd pfd[PFD_COUNT];
	sigset_t sigs;
	int sfd = -1, tfd = -1, lock_fd, ret = EXIT_FAIL;
	bool stop = false, requested = false, loop_failed = false;
	struct restarts restarts = { 0 };
	uint64_t wait0 = UINT64_MAX;

	/*
	 * A closed stdout or stderr (a pipe whose reader went away) must not
	 * end the daemon in the middle of a write: the write fails instead.
	 */
	signal(SIGPIPE, SIG_IGN);
	if (geteuid() != 0) {
		log_error("must run as root to %s (running as uid %u)",
			  opts->no_attach ? "create BPF maps" : "attach a BPF scheduler",
			  (unsigned int)geteuid());
		return EXIT_FAIL;
	}
	/*
	 * Before anything that touches the pins or the state files, and
	 * before the preflight: a second daemon is told which one runs.
	 */
	lock_fd = state_lock(opts->paths.run_dir);
	if (lock_fd < 0)
		return EXIT_FAIL;
	set_nice(opts->nice);
	if (!opts->no_attach && sched_preflight())
		goto out_unlock;
	sfd = signals_fd(&sigs, SIGINT, SIGTERM, SIGHUP, 0);
	if (sfd < 0)
		goto out_unlock;
	d.s.test_hotplug_restart = opts->test_hotplug_restart;
	if (sched_load(&d.s, !opts->no_attach))
		goto out_sfd;
	/* Tunables are in the maps before the scheduler first runs. */
	if (setup(&d))
		goto out_sched;
	if (opts->no_attach) {
		log_info("running without attaching the scheduler (--no-attach); maps pinned in %s",
			 opts->paths.pin_dir);
	} else {
		if (sched_attach(&d.s))
			goto out_sched;
		/* Before "attached", which tests wait for. */
		sched_report_compat(&d.s);
		report_attached("attached");
	}

	if (opts->test_error_after_ms >= 0 && !opts->no_attach) {
		tfd = timer_start((uint64_t)opts->test_error_after_ms * 1000000u, 0);
		if (tfd < 0)
			goto out_sched;
	}

	pfd[PFD_SIGNAL] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[PFD_EVENTS] = (struct pollfd){ .fd = sched_events_fd(&d.s), .events = POLLIN };
	pfd[PFD_PROC] = (struct pollfd){ .fd = detect_fd(d.det), .events = POLLIN };
	pfd[PFD_INOTIFY] = (struct pollfd){ .fd = d.inotify_fd, .events = POLLIN };
	pfd[PFD_SETTLE] = (struct pollfd){ .fd = d.settle_fd, .events = POLLIN };
	pfd[PFD_TEST_TIMER] = (struct pollfd){ .fd = tfd, .events = POLLIN };

	detect_count_waits(d.det);
	wait0 = run_delay_ns();
	while (!stop) {
		/* Queued process events are worked off between other events. */
		if (poll(pfd, PFD_COUNT, detect_pending(d.det) ? 0 : -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("failed to poll: %s", strerror(errno));
			goto out_sched;
		}
		if (poll_broken(pfd)) {
			loop_failed = requested = true;
			break;
		}
		if (pfd[PFD_SIGNAL].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					log_info("received SIGHUP, reloading the configuration");
					reload_full(&d);
				} else {
					log_info("received %s, %s", strsignal((int)si.ssi_signo),
						 opts->no_attach ? "exiting" : "detaching");
					requested = true;
					stop = true;
				}
			}
		}
		if (pfd[PFD_EVENTS].revents & POLLIN) {
			if (sched_handle_events(&d.s) < 0)
				log_warn("failed to read scheduler events");
			if (d.s.exited && (opts->no_attach || restart(&d.s, &restarts)))
				stop = true;
		}
		if (((pfd[PFD_PROC].revents & POLLIN) || detect_pending(d.det)) &&
		    detect_handle_events(d.det)) {
			/* Detection failed for good: end with an error, for a restart. */
			loop_failed = requested = true;
			stop = true;
		}
		if (pfd[PFD_INOTIFY].revents & POLLIN)
			reload_inotify(&d);
		if (pfd[PFD_SETTLE].revents & POLLIN)
			reload_settle_fired(&d);
		if (pfd[PFD_TEST_TIMER].revents & POLLIN) {
			uint64_t n;

			if (read(tfd, &n, sizeof(n)) == sizeof(n)) {
				log_info("test hook: asking the scheduler to report an error");
				sched_trigger_test_error(&d.s, 7);
			}
			pfd[PFD_TEST_TIMER].fd = -1;
		}
	}

	if (opts->no_attach) {
		ret = EXIT_OK;
	} else {
		sched_detach(&d.s);
		ret = report_exit(&d.s, requested);
	}
	if (loop_failed)
		ret = EXIT_FAIL;
out_sched:
	if (d.det) {
		const struct detect_stats *ds = detect_stats(d.det);

		uint64_t wait = run_delay_ns();
		char waits[64] = "";

		/* Runnable but not running since the loop began: the scheduler's share of the waits. */
		if (wait != UINT64_MAX && wait0 != UINT64_MAX)
			snprintf(waits, sizeof(waits), "; %llu ms waiting for a CPU",
				 (unsigned long long)((wait - wait0) / 1000000));
		log_info("detection: %llu process events (%llu execs, the longest wait %llu ms), "
			 "%llu lost, %llu rescans, %llu matches%s",
			 (unsigned long long)ds->events, (unsigned long long)ds->execs,
			 (unsigned long long)(ds->exec_wait_max_ns / 1000000),
			 (unsigned long long)ds->lost, (unsigned long long)ds->rescans,
			 (unsigned long long)ds->matched, waits);
	}
	detect_free(d.det);
	watch_cleanup();
	if (d.pinned)
		pins_remove(d.opts->paths.pin_dir);
	state_remove(opts->paths.run_dir);
	diags_free(&d.parse_errors);
	diags_free(&d.resolve_errors);
	sched_destroy(&d.s);
	config_set_free(&d.cfg);
	applied_free(&d.applied);
	if (tfd >= 0)
		close(tfd);
	if (d.settle_fd >= 0)
		close(d.settle_fd);
	close(sfd);
	close(lock_fd);
	return ret;
out_sfd:
	close(sfd);
out_unlock:
	state_unlock(opts->paths.run_dir, lock_fd);
	return ret;
}
