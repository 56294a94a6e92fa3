/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Game detection in the daemon: decides which profile each process gets
 * (match.h) and keeps the scheduler's class maps (proc_class, task_class,
 * class_gen; see bpf/intf.h) equal to those decisions.
 *
 * Event-driven: the scheduler's tracepoints post exec, fork, thread, rename
 * and exit events on the proc_events ring buffer, read in the daemon's poll
 * loop. /proc is scanned once at start-up (games already running), after
 * every configuration change (profiles added, edited or removed re-evaluate
 * the running processes) and when the ring buffer dropped events. Never on
 * a timer.
 *
 * The daemon owns the entries it writes (how: a match key, inherited, a
 * thread rule) and leaves others (how: none/manual, written by tools) alone.
 */
#ifndef SCX_GAMER_DETECT_H
#define SCX_GAMER_DETECT_H

#include <stdint.h>

#include <linux/types.h>

#include "apply.h"
#include "conf/conf.h"

struct detect;

/*
 * What detection uses of the scheduler, and nothing else of it, so that it
 * runs against any maps of these types (a test makes its own): the class
 * maps, the proc_events ring buffer, the BPF count of the records that did
 * not fit in it, and the switch of the uid-change events.
 */
struct detect_kernel {
	int proc_class_fd, task_class_fd, class_gen_fd, events_fd;
	__u64 *events_lost; /* read atomically: the BPF side adds to it */
	__u32 *want_creds;  /* written atomically */
};

struct detect_stats {
	uint64_t events, execs, matched, rescans, lost;
	/*
	 * How long after it happened an exec was handled: the longest, in ns,
	 * of those since detect_count_waits() (not the backlog of start-up).
	 */
	uint64_t exec_wait_max_ns;
};

/*
 * Bind to the scheduler's maps and ring buffer (sched_detect_kernel() gives
 * them). proc_root is "/proc" (tests may point elsewhere only for unit
 * tests; the daemon always uses /proc).
 */
struct detect *detect_new(const struct detect_kernel *k, const char *proc_root);
void detect_free(struct detect *d);
/*
 * The configuration decisions are made against (kept by the caller). True
 * when a process may be decided differently now (profiles, slots, match
 * entries, priorities, thread rules, exclude list or game_users changed):
 * then a rescan is due. False when only tunables changed, which the
 * scheduler reads from each profile's slot.
 */
bool detect_set_config(struct detect *d, const struct config_set *c, const struct applied *a);
/* fd that becomes readable when events are waiting. */
int detect_fd(const struct detect *d);
/*
 * Read waiting events and handle some of them (a rescan if some were lost);
 * -1 once the ring cannot be read any more. While detect_pending() is true,
 * events are queued that no poll() wake-up announces: call again.
 */
int detect_handle_events(struct detect *d);
bool detect_pending(const struct detect *d);
/* From now on, count how long execs wait to be handled (the loop runs). */
void detect_count_waits(struct detect *d);
/* Decide every process again from /proc and make the maps agree. */
void detect_rescan(struct detect *d, const char *why);
/*
 * The same, once the queued events are handled (detect_handle_events runs
 * it; detect_pending() is true until then). why must stay valid.
 */
void detect_want_rescan(struct detect *d, const char *why);
const struct detect_stats *detect_stats(const struct detect *d);

#endif /* SCX_GAMER_DETECT_H */
