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
