/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The policy's arithmetic, with no maps, kfuncs or kernel types: compiled into
 * the scheduler (bpf/gamer.bpf.c), into the SEC("syscall") program that runs
 * it under the verifier (gamer_test_policy) and into the host unit tests
 * (tests/host/policy_test.c), which check the two builds agree.
 *
 * The model these functions implement is defined in the top comment of
 * bpf/gamer.bpf.c and in docs/POLICY.md.
 */
#ifndef SCX_GAMER_POLICY_H
#define SCX_GAMER_POLICY_H

#include "intf.h"

_Static_assert(GAMER_ROLE_COUNT == 8, "gp_base masks role with 7");

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Boost levels: the sort key's lead and the deadline, in slices. */
#define GP_LEVELS (GAMER_BOOST_MAX + 1)
/* Rate-monotonic: a task needs this many period samples before it counts. */
#define GP_RM_MIN_SAMPLES 4
/* ... and must be idle for more than this share of its period; a task found
 * busier must come down to GP_RM_UTIL_RESUME_PCT before it gains again, so
 * a busy task whose estimate wobbles around the limit does not flicker. */
#define GP_RM_UTIL_MAX_PCT 50
#define GP_RM_UTIL_RESUME_PCT 25
/* Period and run-time averages: weight of a new sample is 1/GP_EWMA_DIV. */
#define GP_EWMA_DIV 8
/* A sample above GP_OUTLIER_MUL x the average counts as that much. */
#define GP_OUTLIER_MUL 4

static __always_inline __u32 gp_min(__u32 a, __u32 b)
{
	return a < b ? a : b;
}

static __always_inline __u32 gp_max(__u32 a, __u32 b)
{
	return a > b ? a : b;
}

/*
 * Effective boost: the base (from the role), plus what the task earned, where
 * the earned part never lifts the task above boost_max (a base above
 * boost_max is kept: boost.max limits what is earned, not roles); then a boost
 * inherited from a waiting higher-boost task, if larger. Always 0..7.
 */
static __always_inline __u32 gp_effective(__u32 base, __u32 earned, __u32 boost_max,
					  __u32 inherited)
{
	__u32 eff;

	base = gp_min(base, GAMER_BOOST_MAX);
	boost_max = gp_min(boost_max, GAMER_BOOST_MAX);
	earned = gp_min(earned, GAMER_BOOST_MAX);
	eff = base + earned;
	if (eff > boost_max)
		eff = gp_max(base, boost_max);
	eff = gp_max(eff, gp_min(inherited, GAMER_BOOST_MAX));
	return eff;
}

/* How many more levels a task can earn before boost_max stops it. */
static __always_inline __u32 gp_room(__u32 base, __u32 earned, __u32 boost_max)
{
	__u32 have = gp_min(base, GAMER_BOOST_MAX) + gp_min(earned, GAMER_BOOST_MAX);

	boost_max = gp_min(boost_max, GAMER_BOOST_MAX);
	return have < boost_max ? boost_max - have : 0;
}

/*
 * Ordering (the model is in the top comment of gamer.bpf.c). Times are ns,
 * weights the kernel's p->scx.weight (1..10000, nice 0 = 100). A constant
 * in "ns of the task's own CPU time" becomes vtime through its weight, so it
 * means the same for every profile and costs competitors the same CPU time
 * whatever the task's nice level.
 */
#define GP_NICE0_WEIGHT 100
/* A boost b charges CPU time as if the weight were weight x (7 + b) / 7. */
#define GP_SHARE_DIV 7
/* Deadline lead per boost level: boost 7 sorts 7 ms of its CPU time ahead. */
#define GP_LEAD_NS (1000ULL * 1000)
/* A waking task is placed at most this far behind the queue's position. */
#define GP_LAG_NS (20ULL * 1000 * 1000)
/*
 * Any queued task at most this far behind its queue's position: far more
 * than tasks sharing a queue ever fall behind it, so it binds only for a
 * task the others outran, and it bounds every wait.
 */
#define GP_LAG_CAP_NS (100ULL * 1000 * 1000)
/* Run time since the last wake-up counted into the deadline, at most. */
#define GP_BURST_NS (10ULL * 1000 * 1000)
/* Deep queues share the slice down to this (or the profile's, if shorter). */
#define GP_SLICE_MIN_NS (500ULL * 1000)
/* A running task is not preempted before it has run this long. */
#define GP_PREEMPT_MIN_RUN_NS (50ULL * 1000)
/* One charge is at most this much CPU time (keeps the products in 64 bits). */
#define GP_CHARGE_MAX_NS (10ULL * 1000 * 1000 * 1000)

static __always_inline int gp_before(__u64 a, __u64 b)
{
	return (__s64)(a - b) < 0;
}

/* ns of a task's own CPU time, as vtime. */
static __always_inline __u64 gp_to_vtime(__u64 ns, __u32 weight)
{
	if (!weight)
		weight = 1;
	if (ns > GP_CHARGE_MAX_NS)
		ns = GP_CHARGE_MAX_NS;
	return ns * GP_NICE0_WEIGHT / weight;
}

/*
 * vtime charged for used ns of CPU at effective boost b: the weight counts
 * x (7 + b) / 7, so boost 7 halves the charge and buys twice the share of
 * an equal-nice boost-0 task. Nothing else changes a task's share.
 */
static __always_inline __u64 gp_charge(__u64 used, __u32 weight, __u32 boost)
{
	boost = gp_min(boost, GAMER_BOOST_MAX);
	if (!weight)
		weight = 1;
	if (used > GP_CHARGE_MAX_NS)
		used = GP_CHARGE_MAX_NS;
	return used * GP_NICE0_WEIGHT * GP_SHARE_DIV /
	       ((__u64)weight * (GP_SHARE_DIV + boost));
}

/*
 * How far past its slice a task may run before the kernel ends it: slices
 * end at ticks, 10 ms apart at HZ=100.
 */
#define GP_TICK_MAX_NS (10ULL * 1000 * 1000)

/*
 * Where a task's vtime stands when it is queued, against pos, its queue's
 * position (all in the task's own CPU time): at a wake-up no more than
 * GP_LAG_NS behind - sleeping banks no more credit than that; at any
 * queueing no more than GP_LAG_CAP_NS behind, and no more than a slice (and
 * a tick's overrun) ahead - the most a task sharing the queue gets ahead by
 * running its slice, so time run alone on an idle CPU is not held against
 * it. Wrap-safe.
 */
static __always_inline __u64 gp_place(__u64 vtime, __u64 pos, __u32 weight, __u64 slice,
				      int wakeup)
{
	__u64 ahead = pos + gp_to_vtime(slice + GP_TICK_MAX_NS, weight);
	__u64 floor = pos - gp_to_vtime(wakeup ? GP_LAG_NS : GP_LAG_CAP_NS, weight);

	if (gp_before(vtime, floor))
		vtime = floor;
	if (gp_before(ahead, vtime))
		vtime = ahead;
	return vtime;
}

/*
 * A vtime placed against one queue's position (from), moved to another's
 * (to): the same lag or lead, in the new queue's terms. Wrap-safe.
 */
static __always_inline __u64 gp_rebase(__u64 vtime, __u64 from, __u64 to)
{
	return vtime - from + to;
}

/*
 * The shared queue on one CPU, against the tasks pinned there: one task
 * whose vtime (grp) counts the CPU time that CPU gave tasks of the shared
 * queue, each charged by its own weight and boost, in the CPU's own queue's
 * terms. It is kept within the lag cap (in nice-0 time) of own_pos, that
 * queue's position, either way - and no more than the wake-up lag behind
 * when the shared queue comes back after having had nothing for that CPU
 * (back), as a task waking would be. The cap ahead keeps a light task's run
 * (a nice 19 task's 5 ms is 500 ms of vtime) from keeping the shared
 * queue's other tasks off that CPU for longer than that. Wrap-safe.
 */
static __always_inline __u64 gp_group_vtime(__u64 grp, __u64 own_pos, int back)
{
	__u64 floor = own_pos - (back ? GP_LAG_NS : GP_LAG_CAP_NS);
	__u64 ceil = own_pos + GP_LAG_CAP_NS;

	if (gp_before(grp, floor))
		return floor;
	if (gp_before(ceil, grp))
		return ceil;
	return grp;
}

/*
 * A task's deadline offset (vdl - vtime: its burst, at most GP_BURST_NS,
 * less its boost's lead) counted as a nice-0 task's, in ns: -7 ms .. 10 ms.
 */
static __always_inline __s32 gp_offset0(__u64 burst, __u32 boost)
{
	boost = gp_min(boost, GAMER_BOOST_MAX);
	if (burst > GP_BURST_NS)
		burst = GP_BURST_NS;
	return (__s32)burst - (__s32)(boost * GP_LEAD_NS);
}

/*
 * A shared-queue task's deadline on one CPU, in the terms of that CPU's own
 * queue: the group's vtime plus the task's offset as a nice-0 task's (off0,
 * gp_offset0()) - the group's offset, whoever heads it: a light task's own,
 * in its own vtime (100 times larger at nice 19), would keep every other
 * shared-queue task off that CPU while it is the head. Its lag within the
 * shared queue counts there, not here. Wrap-safe.
 */
static __always_inline __u64 gp_group_vdl(__u64 grp, __s32 off0)
{
	return grp + (__u64)(__s64)off0;
}

/*
 * The virtual deadline a queued task is ordered by (smallest first): its vtime, plus
 * its run time since it last woke (up to GP_BURST_NS: a short burst sorts
 * ahead of a long one at the same vtime), minus the boost's lead
 * (b x GP_LEAD_NS). All three in the task's own CPU time, so a lead means the
 * same in every profile. The offsets are bounded, so in the long run only
 * the vtime, and so the share, counts.
 */
static __always_inline __u64 gp_vdeadline(__u64 vtime, __u64 burst, __u32 weight, __u32 boost)
{
	boost = gp_min(boost, GAMER_BOOST_MAX);
	if (burst > GP_BURST_NS)
		burst = GP_BURST_NS;
	return vtime + gp_to_vtime(burst, weight) - gp_to_vtime(boost * GP_LEAD_NS, weight);
}

/*
 * The slice a task gets: the profile's, or, when more tasks wait than there
 * are CPUs, slice x cpus / queued, but not below GP_SLICE_MIN_NS (or the
 * profile's own slice if that is shorter): a deep queue turns over faster.
 */
static __always_inline __u64 gp_slice(__u64 slice, __u64 queued, __u32 nr_cpus)
{
	__u64 lo = slice < GP_SLICE_MIN_NS ? slice : GP_SLICE_MIN_NS, s;

	if (!nr_cpus)
		nr_cpus = 1;
	if (queued <= nr_cpus)
		return slice;
	s = slice * nr_cpus / queued;
	return s < lo ? lo : s;
}

/*
 * A running task's virtual deadline as it runs: the one it started with
 * (vdl0), moved on by the CPU time it has used since (ran), as if it had
 * been put back now.
 */
static __always_inline __u64 gp_running_vdl(__u64 vdl0, __u64 ran, __u32 weight)
{
	return vdl0 + gp_to_vtime(ran, weight);
}

/*
 * Wake-up preemption: a wakee with virtual deadline vdl takes the CPU of a
 * task that started with vdl0 (weight) and has run ran ns, if the wakee's is
 * earlier than that task's running deadline and that task has run
 * GP_PREEMPT_MIN_RUN_NS.
 */
static __always_inline int gp_preempts(__u64 vdl, __u64 vdl0, __u64 ran, __u32 weight)
{
	return ran >= GP_PREEMPT_MIN_RUN_NS && gp_before(vdl, gp_running_vdl(vdl0, ran, weight));
}

/*
 * Wait-time histogram bucket (intf.h GAMER_WAIT_*): 0 below 2^10 ns, then
 * one per power of two, the last one open-ended.
 */
static __always_inline __u32 gp_wait_bucket(__u64 ns)
{
	__u32 lg = 0;

	if (ns < (1ULL << GAMER_WAIT_SHIFT))
		return 0;
	if (ns >> 32) {
		ns >>= 32;
		lg += 32;
	}
	if (ns >> 16) {
		ns >>= 16;
		lg += 16;
	}
	if (ns >> 8) {
		ns >>= 8;
		lg += 8;
	}
	if (ns >> 4) {
		ns >>= 4;
		lg += 4;
	}
	if (ns >> 2) {
		ns >>= 2;
		lg += 2;
	}
	if (ns >> 1)
		lg += 1;
	lg = lg - GAMER_WAIT_SHIFT + 1;
	return lg < GAMER_WAIT_BUCKETS ? lg : GAMER_WAIT_BUCKETS - 1;
}

/*
 * Deadline budget: a watched task woken at time t must start running by
 * t + budget. (GP_LEVELS - b) slices: 8 at boost 0, 1 at boost 7.
 */
static __always_inline __u64 gp_budget(__u32 boost, __u64 slice)
{
	boost = gp_min(boost, GAMER_BOOST_MAX);
	return slice * (GP_LEVELS - boost);
}

/* Deadline-miss state of one task. */
struct gp_dm {
	__u16 miss;   /* misses in a row */
	__u16 met;    /* met deadlines in a row while holding an earned level */
	__u8 earned;  /* levels earned, 0..7 */
	__u8 pad[3];
};

/*
 * What the scheduler keeps per task (task-local storage). Here rather than in
 * gamer.bpf.c so that `scx_gamer explain` can read it (the map is pinned as
 * task_ctxs; a pidfd is the key) and compute a thread's effective boost with
 * the same functions. Times are CLOCK_MONOTONIC ns.
 */
struct task_ctx {
	__u64 vtime;      /* fair virtual time */
	__u64 class_gen;  /* class_gen the class below was read at */
	__u64 prof_ver;   /* version of t */
	struct gamer_tunables t;
	__u16 slot;       /* profile id whose tunables t holds (and counts) */
	__u16 class_slot; /* the profile its class names (slot falls back to 0) */
	__u8 role;        /* enum gamer_role or GAMER_ROLE_NONE */
	__u8 class_boost; /* explicit base boost or GAMER_BOOST_FROM_ROLE */
	__u8 valid;       /* class read at least once */
	__u8 rm;          /* rate-monotonic +1 granted at the last wake-up */
	__u8 rm_busy;     /* refused it for utilisation last time */
	__u16 rm_samples; /* period samples taken */
	struct gp_dm dm;
	__u32 inh_boost;  /* boost lent to this task ... */
	__u64 inh_until;  /* ... until then, or until it wakes the lender */
	__u32 inh_by;     /* the lender's tid */
	__s32 off0;       /* deadline offset as a nice-0 task's, ns (gp_offset0), when last queued */
	__u64 deadline;   /* of the current wake-up if watched, else 0 */
	__u64 last_wake;
	__u64 period_avg;
	__u64 run_avg;    /* CPU time per burst */
	__u64 sleep_avg;  /* time asleep between bursts */
	__u64 sleep_start;
	__u64 burst_run;  /* CPU time of the burst so far */
	__u64 run_start;  /* when it last started running, 0 before its first run (since ops.enable) */
	__u64 exec_start; /* the kernel's CPU time of the task then (se.sum_exec_runtime) */
	__u64 vdl;        /* virtual deadline it was last queued with */
	__u64 wait_from;  /* when it last became runnable (wait histogram), 0 if running */
	__u8 wait_wake;   /* ... by waking up (1) or by being put back (0) */
	__u8 queued;      /* it went through a vtime queue (moves that queue's position) */
	__u16 queue;      /* the queue its vtime is placed against: 0 shared, CPU + 1 own */
	__u8 wake_sync;   /* its last wake-up was synchronous (the waker is about to sleep) */
	__u8 yielded;     /* it called sched_yield(): not kept over queued tasks once */
	__u8 pad2[2];
};

enum gp_dm_action {
	GP_DM_NONE = 0,
	GP_DM_BOOST = 1,   /* earned one more level */
	GP_DM_CAPPED = 2,  /* threshold reached, no room left: nothing earned */
	GP_DM_RECOVER = 3, /* gave one earned level back */
};

/*
 * Record one watched wake-up: missed or met. threshold misses in a row earn
 * a level if room > 0; recover met deadlines in a row (recover > 0) give one
 * earned level back. Either streak restarts after it acts, and a result of
 * the other kind breaks it.
 */
static __always_inline int gp_dm_record(struct gp_dm *s, int missed, __u32 threshold,
					__u32 recover, __u32 room)
{
	if (missed) {
		s->met = 0;
		if (s->miss < 0xffff)
			s->miss++;
		if (s->miss < gp_max(threshold, 1))
			return GP_DM_NONE;
		s->miss = 0;
		if (!room || s->earned >= GAMER_BOOST_MAX)
			return GP_DM_CAPPED;
		s->earned++;
		return GP_DM_BOOST;
	}
	s->miss = 0;
	if (!s->earned || !recover) {
		s->met = 0;
		return GP_DM_NONE;
	}
	if (s->met < 0xffff)
		s->met++;
	if (s->met < recover)
		return GP_DM_NONE;
	s->met = 0;
	s->earned--;
	return GP_DM_RECOVER;
}

/*
 * Running average of a period or a run time: an exponentially weighted mean
 * (new sample weighs 1/GP_EWMA_DIV) where a sample above GP_OUTLIER_MUL x
 * the average counts as GP_OUTLIER_MUL x the average, so one long sleep moves
 * the period estimate by at most (GP_OUTLIER_MUL - 1) / GP_EWMA_DIV of itself.
 * The first sample is taken as is. Rounds to nearest.
 */
static __always_inline __u64 gp_avg_update(__u64 avg, __u64 sample)
{
	__u64 lim;

	if (!avg)
		return sample;
	lim = avg * GP_OUTLIER_MUL;
	if (lim / GP_OUTLIER_MUL != avg) /* overflow: no clamp needed */
		lim = ~0ULL;
	if (sample > lim)
		sample = lim;
	if (sample >= avg)
		return avg + (sample - avg + GP_EWMA_DIV / 2) / GP_EWMA_DIV;
	return avg - (avg - sample + GP_EWMA_DIV / 2) / GP_EWMA_DIV;
}

/* Busy for at most pct percent of its period (run_avg / period_avg). */
static __always_inline int gp_util_ok(__u64 run_avg, __u64 period_avg, __u32 pct)
{
	if (!period_avg)
		return 0;
	/* run * 100 <= period * pct, as run <= floor(period * pct / 100): no overflow */
	return run_avg <= period_avg / 100 * pct + period_avg % 100 * pct / 100;
}

enum gp_rm_result {
	GP_RM_NO = 0,       /* not periodic enough, too few samples, or boost too high */
	GP_RM_YES = 1,      /* gets +1 */
	GP_RM_DENIED = 2,   /* periodic and low enough, but too busy: nothing */
};

/*
 * Rate-monotonic: a task whose average wake period is at most period_limit
 * (after GP_RM_MIN_SAMPLES samples) and whose boost without this +1 is below
 * below_boost earns +1, unless it is busy for more than GP_RM_UTIL_MAX_PCT
 * of the time it is not kept waiting - run / (run + sleep), so time spent
 * queued behind others does not make a busy task look idle - or, if it was
 * refused for that last time (was_busy), for more than GP_RM_UTIL_RESUME_PCT.
 */
static __always_inline int gp_rm_decide(__u64 period_avg, __u64 run_avg, __u64 sleep_avg,
					__u32 samples, __u64 period_limit, __u32 boost,
					__u32 below_boost, int was_busy)
{
	__u64 cycle = run_avg + sleep_avg;

	if (cycle < run_avg) /* overflow */
		cycle = ~0ULL;
	if (samples < GP_RM_MIN_SAMPLES || !period_avg || period_avg > period_limit)
		return GP_RM_NO;
	if (boost >= below_boost)
		return GP_RM_NO;
	if (!gp_util_ok(run_avg, cycle, was_busy ? GP_RM_UTIL_RESUME_PCT : GP_RM_UTIL_MAX_PCT))
		return GP_RM_DENIED;
	return GP_RM_YES;
}

/*
 * Inheritance: a waker of boost waker_eff that synchronously wakes a task of
 * boost wakee_eff borrows min(wakee_eff, max_boost) when that is above its
 * own boost; 0 means nothing to lend.
 */
static __always_inline __u32 gp_inherit(__u32 waker_eff, __u32 wakee_eff, __u32 max_boost)
{
	__u32 lend = gp_min(gp_min(wakee_eff, max_boost), GAMER_BOOST_MAX);

	return lend > waker_eff ? lend : 0;
}

/* Base boost of a task: its class's explicit boost, else its role's, else 0. */
static __always_inline __u32 gp_base(__u32 role, __u32 class_boost, const __u8 *role_boost)
{
	if (class_boost <= GAMER_BOOST_MAX)
		return class_boost;
	if (role >= GAMER_ROLE_COUNT)
		return 0;
	/*
	 * clang drops a mask it can prove redundant and then indexes with a
	 * copy the verifier knows nothing about: hide the check from it.
	 */
	__asm__ volatile("" : "+r"(role));
	return gp_min(role_boost[role & (GAMER_ROLE_COUNT - 1)], GAMER_BOOST_MAX);
}

/* Frame-pipeline roles: the ones NUMA placement keeps on a node. */
static __always_inline int gp_is_frame_role(__u32 role)
{
	return role == GAMER_ROLE_RENDER || role == GAMER_ROLE_GPU ||
	       role == GAMER_ROLE_COMPOSITOR || role == GAMER_ROLE_GAME;
}

/* A task's base boost: its class's explicit boost, else its role's. */
static __always_inline __u32 gp_task_base(const struct task_ctx *tc)
{
	return gp_base(tc->role, tc->class_boost, tc->t.role_boost);
}

/* Levels it holds from deadline misses (only while the mechanism is on). */
static __always_inline __u32 gp_task_dm_earned(const struct task_ctx *tc)
{
	return tc->t.dm_enabled ? tc->dm.earned : 0;
}

/* Its effective boost at now (CLOCK_MONOTONIC ns). */
static __always_inline __u32 gp_task_effective(const struct task_ctx *tc, __u64 now)
{
	__u32 inherited = (__s64)(now - tc->inh_until) < 0 ? tc->inh_boost : 0;
	__u32 earned = gp_task_dm_earned(tc) + (tc->t.rm_enabled ? tc->rm : 0);

	return gp_effective(gp_task_base(tc), earned, tc->t.boost_max, inherited);
}

#endif /* SCX_GAMER_POLICY_H */
