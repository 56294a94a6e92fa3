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
	__u32 kind;	 /* with exit_cpu, the first 8 bytes: written last, as one */
	__s32 exit_cpu;
	__s64 exit_code;
	char reason[GAMER_EXIT_REASON_LEN];
	char msg[GAMER_EXIT_MSG_LEN];
};
_Static_assert(__builtin_offsetof(struct gamer_exit_info, exit_cpu) == 4 &&
		       __builtin_offsetof(struct gamer_exit_info, exit_code) == 8,
	       "ops.exit publishes kind and exit_cpu with one 8-byte atomic");

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

/*
 * sched_ext enum values the scheduler uses, read by the loader from the
 * running kernel's BTF (they are not ABI: SCX_ENQ_HEAD was 1 << 4 in 6.12
 * and is 1 << 16 in 7.3, SCX_WAKE_SYNC follows the kernel's WF_SYNC) into
 * the scheduler's rodata array scx_enums[], whose defaults are the values of
 * the vmlinux.h it was built with. X(id, enum type, enumerator).
 */
#define GAMER_SCX_ENUMS(X)                                   \
	X(ENQ_WAKEUP, "scx_enq_flags", "SCX_ENQ_WAKEUP")     \
	X(ENQ_PREEMPT, "scx_enq_flags", "SCX_ENQ_PREEMPT")   \
	X(ENQ_REENQ, "scx_enq_flags", "SCX_ENQ_REENQ")       \
	X(WAKE_SYNC, "scx_wake_flags", "SCX_WAKE_SYNC")      \
	X(KICK_IDLE, "scx_kick_flags", "SCX_KICK_IDLE")      \
	X(KICK_PREEMPT, "scx_kick_flags", "SCX_KICK_PREEMPT") \
	X(TASK_QUEUED, "scx_ent_flags", "SCX_TASK_QUEUED")   \
	X(DSQ_GLOBAL, "scx_dsq_id_flags", "SCX_DSQ_GLOBAL")  \
	X(DSQ_LOCAL, "scx_dsq_id_flags", "SCX_DSQ_LOCAL")    \
	X(DSQ_LOCAL_ON, "scx_dsq_id_flags", "SCX_DSQ_LOCAL_ON") \
	X(DSQ_ITER_REV, "scx_dsq_iter_flags", "SCX_DSQ_ITER_REV") \
	X(ECODE_ACT_RESTART, "scx_exit_code", "SCX_ECODE_ACT_RESTART") \
	X(ECODE_RSN_HOTPLUG, "scx_exit_code", "SCX_ECODE_RSN_HOTPLUG")

enum gamer_scx_enum {
#define GAMER_SCX_ENUM_ID(id, type, name) GAMER_SCX_##id,
	GAMER_SCX_ENUMS(GAMER_SCX_ENUM_ID)
#undef GAMER_SCX_ENUM_ID
	GAMER_NR_SCX_ENUMS,
};

/*
 * The sched_ext watchdog's limit (ops.timeout_ms): the kernel's maximum. The
 * worst-case wait of the top comment of gamer.bpf.c stays under half of it
 * for the loads tests/vm/starve.vm runs.
 */
#define GAMER_WATCHDOG_MS 30000

/* exit_code of a stop that gamer_error() made through scx_bpf_exit_bstr. */
#define GAMER_EXIT_CODE_ERROR 1001

/*
 * Thread roles (profile `roles:` and `threads:` rules). The order is the
 * contract between the daemon and the scheduler, not the YAML order.
 */
#define GAMER_ROLES(X)              \
	X(INPUT, "input")           \
	X(RENDER, "render")         \
	X(GPU, "gpu")               \
	X(COMPOSITOR, "compositor") \
	X(AUDIO, "audio")           \
	X(GAME, "game")             \
	X(NETWORK, "network")       \
	X(BACKGROUND, "background")

enum gamer_role {
#define GAMER_ROLE_ENUM(id, name) GAMER_ROLE_##id,
	GAMER_ROLES(GAMER_ROLE_ENUM)
#undef GAMER_ROLE_ENUM
	GAMER_ROLE_COUNT,
};

/* Userspace: static const char *const names[] = { GAMER_ROLES(GAMER_ROLE_NAME) }; */
#define GAMER_ROLE_NAME(id, name) [GAMER_ROLE_##id] = name,

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
	__u8 preempt;
	__u8 pad[4];
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

/* Keys of a tunables block (src/conf/conf.h enum tunable_field). */
#define GAMER_TUNABLE_COUNT (14 + GAMER_ROLE_COUNT)
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

/*
 * Which profile and role a task has. The daemon's game detection writes
 * proc_class (key: tgid, the profile of every thread of a game process) and
 * task_class (key: tid, a thread's own role from the profile's `threads:`
 * rules; it wins over proc_class), then bumps class_gen[0] so that every
 * task's cached copy (task-local storage) is refreshed on its next event.
 * A task in neither map belongs to the defaults (profile 0) with no role.
 *
 * The scheduler itself writes two kinds of entries: a classified process's
 * child process gets a copy of its parent's proc_class entry when it is
 * forked (GAMER_HOW_INHERITED; the daemon re-decides on its exec), and a
 * thread's task_class entry, or a process's proc_class entry, is deleted when
 * it exits. Nothing else is needed there: a task's first event reads the maps.
 */
#define GAMER_ROLE_NONE 0xff        /* gamer_class.role: no role, base boost 0 */
#define GAMER_BOOST_FROM_ROLE 0xff  /* gamer_class.boost: use the role's boost */
#define GAMER_MAX_TASK_CLASSES 65536
#define GAMER_MAX_PROC_CLASSES 4096

/* gamer_class.how: what put the entry there (`status`, `explain`). */
#define GAMER_HOWS(X)                                          \
	X(NONE, "none")                                        \
	X(STEAM_APP_ID, "steam_app_id")                        \
	X(EXE, "exe")                                          \
	X(WINE_EXE, "wine_exe")                                \
	X(COMM, "comm")                                        \
	X(CMDLINE, "cmdline")                                  \
	X(INHERITED, "inherited")  /* the parent's, copied at fork */ \
	X(THREAD_RULE, "threads")  /* task_class: a `threads:` rule */ \
	X(MANUAL, "manual")        /* written by a tool (tests) */

enum gamer_how {
#define GAMER_HOW_ENUM(id, name) GAMER_HOW_##id,
	GAMER_HOWS(GAMER_HOW_ENUM)
#undef GAMER_HOW_ENUM
	GAMER_HOW_COUNT,
};
#define GAMER_HOW_NAME(id, name) [GAMER_HOW_##id] = name,

struct gamer_class {
	__u16 slot;  /* profile id (0..GAMER_MAX_PROFILES-1) */
	__u8 role;   /* enum gamer_role or GAMER_ROLE_NONE */
	__u8 boost;  /* base boost 0..7, or GAMER_BOOST_FROM_ROLE */
	__u8 how;    /* enum gamer_how */
	__u8 pad[3];
	__u32 from;  /* GAMER_HOW_INHERITED: the tgid it was copied from */
	__u32 rule;  /* GAMER_HOW_THREAD_RULE: index of the rule; else the match entry */
	__u64 since_ns; /* CLOCK_BOOTTIME when the entry was written */
};

/*
 * Process events from the scheduler's tracepoints to the daemon's game
 * detection ("proc_events" ring buffer). Filtered in the kernel: every exec,
 * every rename of a process's main thread (Wine names its process after the
 * .exe that way), every change of a process's real uid without an exec
 * (game_users), and thread creation, renames and process exits only
 * inside processes that have a proc_class entry. A record that does not fit
 * in the ring is counted in proc_events_lost; the daemon then rescans /proc.
 */
enum gamer_proc_event_type {
	GAMER_PEV_EXEC = 1,   /* pid finished an exec */
	GAMER_PEV_FORK,       /* pid is a new child process of ppid (classified) */
	GAMER_PEV_THREAD,     /* pid is a new thread of tgid (classified) */
	GAMER_PEV_RENAME,     /* pid is renaming itself to comm */
	GAMER_PEV_EXIT,       /* the last thread of tgid (classified) exited */
	GAMER_PEV_CREDS,      /* pid, a main thread, is taking real uid uid (no exec) */
};

#define GAMER_COMM_LEN 16

struct gamer_proc_event {
	__u32 type;
	__u32 pid;
	__u32 tgid;
	__u32 ppid;
	__u64 ts_ns; /* CLOCK_BOOTTIME */
	char comm[GAMER_COMM_LEN];
	__u32 uid; /* GAMER_PEV_CREDS: the real uid it takes (init user namespace) */
	__u32 pad;
};

/*
 * Scheduler counters: one table, one row per counter. counters[slot] is a
 * per-CPU array element per profile id (slot 0: tasks without a profile);
 * the global value of a counter is the sum over slots and CPUs. The daemon
 * zeroes a slot's row when it gives the slot to a different profile.
 */
#define GAMER_COUNTERS(X)                                                       \
	X(DISPATCHES, dispatches, "tasks queued to run (shared or a CPU's queue)") \
	X(DIRECT, direct_dispatches, "of those, straight onto an idle CPU")      \
	X(DM_WATCHED, deadlines_watched, "wake-ups of watched tasks (met + missed)") \
	X(DM_MISSES, deadline_misses, "watched wake-ups that started after their deadline") \
	X(DM_BOOSTS, auto_boosts, "levels earned by missing `threshold` deadlines in a row") \
	X(DM_CAPPED, auto_boosts_capped, "thresholds reached with no room below boost.max") \
	X(DM_RECOVERIES, recoveries, "earned levels given back after `recover` met deadlines") \
	X(INHERITANCES, inheritances, "boosts lent: to a lock's owner, or to the task a synchronous wake-up will wait for") \
	X(FUTEX_INHERITANCES, futex_inheritances, "of those, to the owner of a futex a boosted task blocked on") \
	X(RM_BOOSTS, rm_boosts, "wake-ups given the rate-monotonic +1") \
	X(RM_UTIL_DENIED, rm_util_denied, "periodic wake-ups refused it: over half the period busy") \
	X(NUMA_LOCAL, numa_local, "frame-thread placements on the node it last ran on") \
	X(NUMA_REMOTE, numa_remote, "frame-thread placements on another node") \
	X(PREEMPTIONS, preemptions, "wake-ups that preempted a running task with a later deadline") \
	X(LOCAL, cpu_queue_dispatches, "of dispatches, to one CPU's own queue (pinned tasks, per-CPU kthreads)") \
	X(CPU_RELEASES, cpu_releases, "times an RT or deadline task took a CPU from this scheduler") \
	X(REENQUEUED, reenqueued, "tasks handed back when an RT or deadline task took their CPU") \
	X(VALVE, valve_runs, "tasks run out of turn after waiting over 2 s (the starvation valve)") \
	X(HOTPLUG, cpu_hotplugs, "CPUs that went offline or came back while attached")

enum gamer_counter {
#define GAMER_COUNTER_ENUM(id, name, help) GAMER_CNT_##id,
	GAMER_COUNTERS(GAMER_COUNTER_ENUM)
#undef GAMER_COUNTER_ENUM
	GAMER_NR_COUNTERS,
};

struct gamer_counters {
	__u64 c[GAMER_NR_COUNTERS];
};

/*
 * Wait-time histograms: wait_hist[slot] (per-CPU) counts, for the tasks of
 * each profile, the time from becoming runnable to running - after a wake-up
 * (wake[]) and after being put back while still runnable, its slice used up
 * or preempted (requeue[]). Bucket 0 holds waits below 2^GAMER_WAIT_SHIFT ns,
 * bucket b >= 1 waits in [2^(b+SHIFT-1), 2^(b+SHIFT)), the last one all
 * longer waits. Zeroed with the counters when a slot changes hands.
 */
#define GAMER_WAIT_SHIFT 10
#define GAMER_WAIT_BUCKETS 24

struct gamer_wait_hist {
	__u64 wake[GAMER_WAIT_BUCKETS];
	__u64 requeue[GAMER_WAIT_BUCKETS];
};

/* NUMA topology the daemon reads from sysfs and sets before loading. */
#define GAMER_MAX_CPUS 1024
#define GAMER_MAX_NODES 8
#define GAMER_MAX_NODE_CPUS 128

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
