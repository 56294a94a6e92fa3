/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The profile maps and their reader (protocol in intf.h). Included by the
 * scheduler and by the test programs, so both read tunables the same way.
 */
#ifndef SCX_GAMER_PROFILE_BPF_H
#define SCX_GAMER_PROFILE_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GAMER_MAX_PROFILES);
	__type(key, u32);
	__type(value, u64);
} profile_ver SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * GAMER_MAX_PROFILES);
	__type(key, u32);
	__type(value, struct gamer_tunables);
} profile_slots SEC(".maps");

/* Written by the daemon for `scx_gamer show`; the scheduler never reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GAMER_MAX_PROFILES);
	__type(key, u32);
	__type(value, struct gamer_profile_info);
} profile_info SEC(".maps");

/* Attempts before a reader gives up on a profile that keeps changing. */
#define GAMER_READ_TRIES 4

enum gamer_read_result {
	GAMER_READ_OK = 0,
	GAMER_READ_ABSENT = 1, /* no such profile (version 0) */
	GAMER_READ_BUSY = 2,   /* changed under every attempt: keep the old copy */
};

/*
 * Copy profile id's live tunables into *out. On anything but GAMER_READ_OK
 * *out may hold a partial copy and must not be used.
 */
static __always_inline int gamer_read_tunables(u32 id, struct gamer_tunables *out)
{
	u64 *verp, v1, v2;
	u32 slot;
	int i;

	verp = bpf_map_lookup_elem(&profile_ver, &id);
	if (!verp)
		return GAMER_READ_ABSENT;

	for (i = 0; i < GAMER_READ_TRIES; i++) {
		struct gamer_tunables *t;

		v1 = *(volatile u64 *)verp;
		if (!v1)
			return GAMER_READ_ABSENT;
		slot = 2 * id + (u32)(v1 & 1);
		t = bpf_map_lookup_elem(&profile_slots, &slot);
		if (!t)
			return GAMER_READ_ABSENT;
		__builtin_memcpy(out, t, sizeof(*out));
		/* The copy's loads must happen before the second version load. */
		asm volatile("" ::: "memory");
		v2 = *(volatile u64 *)verp;
		if (v1 == v2)
			return GAMER_READ_OK;
	}
	return GAMER_READ_BUSY;
}

#endif /* SCX_GAMER_PROFILE_BPF_H */
