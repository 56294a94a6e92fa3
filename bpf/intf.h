/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The interface between the scheduler (bpf/gamer.bpf.c) and the daemon (src/).
 *
 * Compiled by both sides: fixed-width types only, no libc, no vmlinux.h.
 */
#ifndef SCX_GAMER_INTF_H
#define SCX_GAMER_INTF_H

#ifdef __BPF__
/* vmlinux.h already provides __u32 and friends. */
#else
#include <linux/types.h>
#endif

/* Name the kernel shows in /sys/kernel/sched_ext/root/ops. */
#define GAMER_OPS_NAME "gamer"

/* Sizes of the exit strings copied out of struct scx_exit_info. */
#define GAMER_EXIT_REASON_LEN 128
#define GAMER_EXIT_MSG_LEN 1024

/*
 * Why the scheduler stopped, as the kernel told ops.exit. kind is the kernel's
 * enum scx_exit_kind (0 = still running); reason and msg are NUL-terminated.
 * Written once by ops.exit, read by the daemon after it sees GAMER_EV_EXIT.
 */
struct gamer_exit_info {
	__u32 kind;
	__s32 exit_cpu;
	__s64 exit_code;
	char reason[GAMER_EXIT_REASON_LEN];
	char msg[GAMER_EXIT_MSG_LEN];
};

/*
 * compat_missing bits: features the running kernel cannot give this scheduler
 * (see bpf/compat.bpf.h), set by ops.init; the daemon reports each one.
 */
enum gamer_compat {
	GAMER_COMPAT_NO_USER_DSQ = 1 << 0,   /* scx_bpf_create_dsq: FIFO, not vtime */
	GAMER_COMPAT_NO_IDLE_KICK = 1 << 1,  /* pick_idle_cpu/kick_cpu: no idle kick */
	GAMER_COMPAT_NO_ERROR_BSTR = 1 << 2, /* scx_bpf_error: errors exit via exit_bstr */
	GAMER_COMPAT_NO_EXIT_BSTR = 1 << 3,  /* scx_bpf_exit (matters without scx_bpf_error) */
};

/* exit_code of a stop that gamer_error() made through scx_bpf_exit_bstr. */
#define GAMER_EXIT_CODE_ERROR 1001

/*
 * Thread roles (profile `roles:` and `threads:` rules). The order is the
 * contract between the daemon and the scheduler, not the YAML order.
 */
enum gamer_role {
	GAMER_ROLE_INPUT,
	GAMER_ROLE_RENDER,
	GAMER_ROLE_GPU,
	GAMER_ROLE_COMPOSITOR,
	GAMER_ROLE_AUDIO,
	GAMER_ROLE_GAME,
	GAMER_ROLE_NETWORK,
	GAMER_ROLE_BACKGROUND,
	GAMER_ROLE_COUNT,
};

/* Highest boost level; boosts are 0..GAMER_BOOST_MAX. */
#define GAMER_BOOST_MAX 7

/*
 * The tunables of one profile after layering (built-in < scx_gamer.yaml
 * defaults < extends chain < the profile itself): exactly what the scheduler
 * reads. Times are in nanoseconds; booleans are 0/1.
 */
struct gamer_tunables {
	__u64 slice_ns;
	__u64 inh_duration_ns;
	__u64 rm_period_ns;
	__u16 dm_recover;
	__u8 boost_max;
	__u8 dm_enabled;
	__u8 dm_threshold;
	__u8 dm_min_boost;
	__u8 inh_enabled;
	__u8 inh_max_boost;
	__u8 rm_enabled;
	__u8 rm_below_boost;
	__u8 numa;
	__u8 pad[5];
	__u8 role_boost[GAMER_ROLE_COUNT];
};

/*
 * Profiles in the kernel. Each profile id (a small integer the daemon assigns;
 * 0 = the defaults, used by tasks without a profile) owns two slots in the
 * profile_slots array and one version in profile_ver:
 *
 *   profile_ver[id] = v        (0 = no such profile)
 *   profile_slots[2 * id + (v & 1)] = the live tunables
 *
 * The daemon writes a new value into the other slot, then stores v + 1. A
 * reader reads v, copies the slot, reads v again, and keeps the copy only if v
 * did not change: the writer only ever writes the slot a reader of version v
 * is copying after it has already bumped the version past v, so a copy that
 * overlapped a write always fails the check. Array updates copy in place and
 * a single update is not atomic for a reader, hence the two slots.
 *
 * Ordering: the writer's two updates are separate syscalls, ordered on any
 * CPU. The reader relies on loads not being reordered with other loads, which
 * x86-64 guarantees; on weakly ordered CPUs (arm64) the second version load
 * needs acquire semantics, which BPF offers only from Linux 6.15 with clang
 * 21 - not used yet, so the no-torn-read guarantee is x86-64's for now.
 * tests/host/torn_reads proves it on the real kernel.
 */
#define GAMER_MAX_PROFILES 256
#define GAMER_PROFILE_DEFAULTS 0

/* Keys of a tunables block (src/config.h enum tunable_field). */
#define GAMER_TUNABLE_COUNT (13 + GAMER_ROLE_COUNT)
#define GAMER_ID_LEN 64
#define GAMER_PATH_LEN 256
/* origin[] value of a field no file set. */
#define GAMER_ORIGIN_BUILTIN (-1)

/*
 * profile_info[slot]: what `scx_gamer show` needs to explain a slot, kept in
 * the kernel so that it reads the live state rather than the daemon's memory.
 * The scheduler never reads it.
 */
struct gamer_profile_info {
	char id[GAMER_ID_LEN];     /* "" when the slot is free; slot 0: "defaults" */
	char path[GAMER_PATH_LEN]; /* the file this slot's profile came from */
	/* For each field, the slot whose file set the value, or GAMER_ORIGIN_BUILTIN. */
	__s16 origin[GAMER_TUNABLE_COUNT];
	__u16 pad;
};

/*
 * cfg_seen (per-CPU): the version of the defaults (profile 0) each CPU's
 * scheduler code last loaded, and the slice it took from it. Lets tests and
 * `show` prove the scheduler itself picked up a reload.
 */
struct gamer_cfg_seen {
	__u64 ver;
	__u64 slice_ns;
};

/* Records on the "events" ring buffer. */
enum gamer_event_type {
	GAMER_EV_EXIT = 1, /* the scheduler is being disabled; see exit_info */
};

struct gamer_event {
	__u32 type;
	__u32 pad;
	__u64 ts_ns;
};

/*
 * Test hook: userspace sets the scheduler's test_error_code global non-zero
 * and the next ops.dispatch reports a scheduler error carrying it, so that
 * ejection handling can be tested against the real kernel.
 */
#endif /* SCX_GAMER_INTF_H */
