/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One entry point to every policy.h function, for the agreement test: the
 * host unit test calls it directly and through the SEC("syscall") program
 * gamer_test_policy (the BPF build, under the real verifier), and compares.
 */
#ifndef SCX_GAMER_POLICY_TEST_H
#define SCX_GAMER_POLICY_TEST_H

#include "policy.h"

enum gamer_test_policy_op {
	GTP_EFFECTIVE,  /* in: base, earned, boost_max, inherited */
	GTP_ROOM,       /* in: base, earned, boost_max */
	GTP_TO_VTIME,   /* in: ns, weight */
	GTP_CHARGE,     /* in: used, weight, boost */
	GTP_PLACE,      /* in: vtime, pos, weight, slice, wakeup */
	GTP_VDEADLINE,  /* in: vtime, burst, weight, boost */
	GTP_SLICE,      /* in: slice, queued, nr_cpus */
	GTP_PREEMPTS,   /* in: vdl, vdl0, ran, weight */
	GTP_WAIT_BUCKET, /* in: ns */
	GTP_BUDGET,     /* in: boost, slice */
	GTP_DM_RECORD,  /* in: miss, met, earned, missed, threshold, recover, room;
			 * out: action, miss, met, earned */
	GTP_AVG,        /* in: avg, sample */
	GTP_UTIL_OK,    /* in: run_avg, period_avg, pct */
	GTP_RM,         /* in: period_avg, run_avg, sleep_avg, samples, limit, boost, below,
			 * was_busy */
	GTP_INHERIT,    /* in: waker_eff, wakee_eff, max_boost */
	GTP_BASE,       /* in: role, class_boost, role_boost[8] packed in in[2] */
	GTP_FRAME,      /* in: role */
	GTP_COUNT,
};

/* ctx of SEC("syscall") gamer_test_policy (in and out). */
struct gamer_test_policy_args {
	__u32 op;
	__u32 pad;
	__u64 in[8];
	__u64 out[4];
};

/* Returns 0, or -1 for an unknown op. */
static __always_inline int gamer_test_policy_eval(struct gamer_test_policy_args *a)
{
	__u64 i0 = a->in[0], i1 = a->in[1], i2 = a->in[2], i3 = a->in[3];
	__u64 i4 = a->in[4], i5 = a->in[5], i6 = a->in[6];

	a->out[0] = a->out[1] = a->out[2] = a->out[3] = 0;
	switch (a->op) {
	case GTP_EFFECTIVE:
		a->out[0] = gp_effective((__u32)i0, (__u32)i1, (__u32)i2, (__u32)i3);
		return 0;
	case GTP_ROOM:
		a->out[0] = gp_room((__u32)i0, (__u32)i1, (__u32)i2);
		return 0;
	case GTP_TO_VTIME:
		a->out[0] = gp_to_vtime(i0, (__u32)i1);
		return 0;
	case GTP_CHARGE:
		a->out[0] = gp_charge(i0, (__u32)i1, (__u32)i2);
		return 0;
	case GTP_PLACE:
		a->out[0] = gp_place(i0, i1, (__u32)i2, i3, (int)(i4 & 1));
		return 0;
	case GTP_VDEADLINE:
		a->out[0] = gp_vdeadline(i0, i1, (__u32)i2, (__u32)i3);
		return 0;
	case GTP_SLICE:
		a->out[0] = gp_slice(i0, i1, (__u32)i2);
		return 0;
	case GTP_PREEMPTS:
		a->out[0] = (__u64)gp_preempts(i0, i1, i2, (__u32)i3);
		return 0;
	case GTP_WAIT_BUCKET:
		a->out[0] = gp_wait_bucket(i0);
		return 0;
	case GTP_BUDGET:
		a->out[0] = gp_budget((__u32)i0, i1);
		return 0;
	case GTP_DM_RECORD: {
		struct gp_dm s = { .miss = (__u16)i0, .met = (__u16)i1, .earned = (__u8)i2 };

		a->out[0] = (__u64)gp_dm_record(&s, (int)i3, (__u32)i4, (__u32)i5, (__u32)i6);
		a->out[1] = s.miss;
		a->out[2] = s.met;
		a->out[3] = s.earned;
		return 0;
	}
	case GTP_AVG:
		a->out[0] = gp_avg_update(i0, i1);
		return 0;
	case GTP_UTIL_OK:
		a->out[0] = (__u64)gp_util_ok(i0, i1, (__u32)i2);
		return 0;
	case GTP_RM:
		a->out[0] = (__u64)gp_rm_decide(i0, i1, i2, (__u32)i3, i4, (__u32)i5, (__u32)i6,
						(int)(a->in[7] & 1));
		return 0;
	case GTP_INHERIT:
		a->out[0] = gp_inherit((__u32)i0, (__u32)i1, (__u32)i2);
		return 0;
	case GTP_BASE: {
		__u8 rb[GAMER_ROLE_COUNT];
		int k;

		for (k = 0; k < GAMER_ROLE_COUNT; k++)
			rb[k] = (__u8)(i2 >> (8 * k));
		a->out[0] = gp_base((__u32)i0, (__u32)i1, rb);
		return 0;
	}
	case GTP_FRAME:
		a->out[0] = (__u64)gp_is_frame_role((__u32)i0);
		return 0;
	}
	return -1;
}

#endif /* SCX_GAMER_POLICY_TEST_H */
