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
 * Sort key lead: a task of boost b is queued (GAMER_BOOST_MAX - b) slices
 * behind its vtime, so boost 7 sorts at its vtime and boost 0 seven slices
 * later. The lead is bounded, so priority never becomes strict.
 */
static __always_inline __u64 gp_lag(__u32 boost, __u64 slice)
{
	boost = gp_min(boost, GAMER_BOOST_MAX);
	return slice * (GAMER_BOOST_MAX - boost);
}

/*
 * The key a waking or preempted task is queued with: its vtime, clamped to at
 * most one slice behind vtime_now (no banked credit from sleeping), plus the
 * boost's lag. Comparisons are wrap-safe.
 */
static __always_inline __u64 gp_queue_key(__u64 vtime, __u64 vtime_now, __u64 slice,
					  __u32 boost)
{
	__u64 floor = vtime_now - slice;

	if ((__s64)(vtime - floor) < 0)
		vtime = floor;
	return vtime + gp_lag(boost, slice);
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
	__u64 inh_until;  /* ... until then */
	__u64 deadline;   /* of the current wake-up if watched, else 0 */
	__u64 last_wake;
	__u64 period_avg;
	__u64 run_avg;    /* CPU time per burst */
	__u64 sleep_avg;  /* time asleep between bursts */
	__u64 sleep_start;
	__u64 burst_run;  /* CPU time of the burst so far */
	__u64 run_start;  /* when it last started running */
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
