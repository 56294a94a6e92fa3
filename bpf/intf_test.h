/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test-only interface: the torn-read test's self-checking values and the
 * arguments of the gamer_test_read syscall program. Compiled by both sides.
 */
#ifndef SCX_GAMER_INTF_TEST_H
#define SCX_GAMER_INTF_TEST_H

#include "intf.h"

/* ctx of SEC("syscall") gamer_test_read (in and out). */
struct gamer_test_read_args {
	__u32 id;	  /* profile id to read */
	__u32 naive;	  /* 1: copy slot 2 * id directly, no version protocol */
	__u32 iterations; /* reads to do, at most GAMER_TEST_READ_MAX */
	__u32 ok;	  /* out: consistent values read */
	__u32 torn;	  /* out: values mixing two writes */
	__u32 busy;	  /* out: GAMER_READ_BUSY results */
	__u32 absent;	  /* out: GAMER_READ_ABSENT results */
	__u32 pad;
};

#define GAMER_TEST_READ_MAX 1024

/*
 * Every field of the value written for counter k is derived from k, so a
 * reader can tell a whole value from one mixing two writes.
 */
static inline void gamer_test_fill(struct gamer_tunables *t, __u64 k)
{
	int i;

	t->slice_ns = k;
	t->inh_duration_ns = ~k;
	t->rm_period_ns = k * 0x9E3779B97F4A7C15ULL;
	t->dm_recover = (__u16)k;
	t->boost_max = (__u8)(k >> 8);
	t->dm_enabled = (__u8)(k >> 16);
	t->dm_threshold = (__u8)(k >> 24);
	t->dm_min_boost = (__u8)(k >> 32);
	t->inh_enabled = (__u8)(k + 1);
	t->inh_max_boost = (__u8)(k + 2);
	t->rm_enabled = (__u8)(k + 3);
	t->rm_below_boost = (__u8)(k + 4);
	t->numa = (__u8)(k + 5);
	t->preempt = (__u8)(k + 6);
	for (i = 0; i < 4; i++)
		t->pad[i] = (__u8)(k + 7 + i);
	for (i = 0; i < GAMER_ROLE_COUNT; i++)
		t->role_boost[i] = (__u8)(k + 11 + i);
}

/* Branch-free, so the verifier has few paths to walk in a loop of reads. */
static inline int gamer_test_consistent(const struct gamer_tunables *t)
{
	__u64 k = t->slice_ns, bad = 0;
	int i;

	bad |= t->inh_duration_ns ^ ~k;
	bad |= t->rm_period_ns ^ (k * 0x9E3779B97F4A7C15ULL);
	bad |= (__u16)(t->dm_recover ^ (__u16)k);
	bad |= (__u8)(t->boost_max ^ (__u8)(k >> 8));
	bad |= (__u8)(t->dm_enabled ^ (__u8)(k >> 16));
	bad |= (__u8)(t->dm_threshold ^ (__u8)(k >> 24));
	bad |= (__u8)(t->dm_min_boost ^ (__u8)(k >> 32));
	bad |= (__u8)(t->inh_enabled ^ (__u8)(k + 1));
	bad |= (__u8)(t->inh_max_boost ^ (__u8)(k + 2));
	bad |= (__u8)(t->rm_enabled ^ (__u8)(k + 3));
	bad |= (__u8)(t->rm_below_boost ^ (__u8)(k + 4));
	bad |= (__u8)(t->numa ^ (__u8)(k + 5));
	bad |= (__u8)(t->preempt ^ (__u8)(k + 6));
	for (i = 0; i < 4; i++)
		bad |= (__u8)(t->pad[i] ^ (__u8)(k + 7 + i));
	for (i = 0; i < GAMER_ROLE_COUNT; i++)
		bad |= (__u8)(t->role_boost[i] ^ (__u8)(k + 11 + i));
	return bad == 0;
}

#endif /* SCX_GAMER_INTF_TEST_H */
