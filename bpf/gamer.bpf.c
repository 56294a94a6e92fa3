/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scx_gamer: a sched_ext scheduler for games.
 *
 * This is the whole policy; docs/POLICY.md and the daemon point here. The
 * arithmetic lives in policy.h, shared with the host tests. Times are ns;
 * "weight" is the kernel's p->scx.weight (nice 0 = 100, nice -20 ~ 8668,
 * nice 19 = 1).
 *
 * Classes. Every task belongs to a profile (its game's, else profile 0, the
 * defaults) and may have a role (render, audio, ...). The daemon's game
 * detection writes them into task_class (per thread) and proc_class (per
 * process) and bumps class_gen; the gamer_proc_* tracepoints at the end of
 * this file tell it about execs, forks, threads, renames, exits and real uid
 * changes without an exec (an optional hook on commit_creds, sent only
 * while the daemon's game_users asks for them: want_creds), copy a
 * classified process's entry to its children at fork and delete entries when
 * tasks exit. Each task caches its class and a copy of its profile's
 * tunables in task-local storage and refreshes the copy when class_gen or its
 * profile's version moves: a profile edit applies at a task's next
 * scheduling event.
 *
 * Boost. base = the class's explicit boost, else roles.ROLE of the profile,
 * else 0. earned = deadline-miss levels (if deadline_miss.enabled) + the
 * rate-monotonic +1 (if granted at the last wake-up). effective =
 * base + earned, where the earned part never lifts it above boost.max (a base
 * above boost.max stays), then raised to a live inherited boost. 0..7.
 *
 * Fair share. Each task has a vtime that grows, while it runs, by
 *     used x 100 / weight x 7 / (7 + b)          (b: effective boost)
 * where used is the kernel's own account of its CPU time (se.sum_exec_runtime,
 * what the default scheduler charges: without the time interrupts took where
 * the kernel has CONFIG_IRQ_TIME_ACCOUNTING).
 * CPUs run the queued task with the earliest virtual deadline, so busy tasks
 * get CPU in proportion to weight x (7 + b) / 7: by nice level, as under the
 * kernel's default scheduler, and a boost-7 task twice what an equal-nice
 * boost-0 task gets (about what nice -3 gives; boost 3: x1.43). That is all a
 * boost buys in CPU: nothing else - not the profile's slice, not how often a
 * task sleeps - changes a task's share (tests/vm/fair.vm).
 *
 * Virtual deadline. A queued task is ordered by
 *     vdl = vtime + min(burst, 10 ms) x 100 / weight - b x 1 ms x 100 / weight
 * where burst is the CPU time it used since it last woke up: a task that just
 * woke sorts ahead of a busy one at the same vtime (what EEVDF's request-
 * sized deadlines and the best sched_ext peers reward), and a boost sorts
 * b ms of the task's own CPU time ahead - the same lead in every profile. The
 * offsets are bounded, so they move latency, never the long-run share.
 *
 * Queues. A task that can run on one CPU only (pinned) waits in that CPU's
 * own queue, every other task in the shared queue, both ordered by vdl. A
 * per-CPU kthread goes straight to its CPU's local queue, ahead of both:
 * kernel work is short, others wait on it, and starving it can hang the
 * machine. Each queue has a position of its own, for placing vtimes: the
 * largest vtime of a task taken from it (or kept running over what it
 * holds; see Slices). Vtimes of different queues are never compared as
 * they are: a task that moves to another queue (its affinity changed) keeps
 * its lag or lead, rebased onto the new queue's position. On each CPU the
 * shared queue competes with the CPU's pinned tasks as one task: it has a
 * vtime there, in the own queue's terms, that grows by the CPU time that CPU
 * gives shared-queue tasks, each charged by its own weight and boost; its
 * head's deadline there is that vtime plus the head's deadline offset
 * (burst, at most 10 ms, less boost lead) counted as a nice-0 task's. The
 * CPU takes whichever of the two heads is earlier in those terms; a shared
 * head that may not run there does not count (the kernel's move takes the
 * first that may). So pinned tasks share their CPU by weight whatever other
 * CPUs run, and with a shared-queue task there by weight too
 * (tests/vm/fair.vm) - but the shared queue is one task on each CPU, so
 * shared tasks confined to a CPU split that one task's share (two nice 0
 * ones beside a pinned nice 0 one get a quarter each, the pinned one half,
 * in the host model). That vtime is kept within the lag cap (100 ms, in
 * nice-0 time) of the own queue's position either way - 20 ms behind when
 * the shared queue comes back after having had nothing for that CPU (empty,
 * or only tasks that may not run there) - so a light task's run (5 ms of a
 * nice 19 task is 500 ms of vtime) keeps the shared queue's other tasks off
 * a CPU for no more than 100 ms. A CPU's own queue that holds and runs
 * nothing takes that vtime as its position when a task wakes into it or
 * moves to it, so a newcomer is placed against what the CPU runs now.
 *
 * Placement of vtime. At a wake-up, and when a task moves to another queue,
 * its vtime is raised to at least position - 20 ms x 100 / weight: sleeping
 * banks at most 20 ms of the task's own CPU time of credit. At every other
 * queueing a busy task that fell behind keeps its lag, up to the lag cap of
 * 100 ms x 100 / weight - far more than tasks sharing a queue ever fall
 * behind it, so it binds only for a task the others in its queue outran,
 * and it bounds every wait. And at every queueing a task is at most a slice
 * and 10 ms (a tick's overrun at HZ=100) of its own CPU time ahead: as far
 * as running its slice takes a task sharing the queue, so time run alone on
 * an idle CPU is not held against it.
 *
 * Slices are the profile's slice, or slice x CPUs / queued tasks when more
 * tasks wait in the shared queue than there are CPUs online (at least 0.5 ms, or the
 * profile's slice if shorter; the kernel ends slices at ticks). When a task's
 * slice ends, ops.dispatch runs before the task is queued again (when its
 * CPU's local queue is empty): the task goes on, with a new slice, if the
 * deadline it would be queued with is earlier than every queued one (else two
 * busy tasks would take turns of a slice each, whatever their vtime), and
 * when nothing else is queued - with its profile's slice, never the kernel's
 * 20 ms default refill (tests/vm/slice.vm). sched_yield() gives the CPU up
 * once: the task is not kept that time.
 *
 * Wake-up preemption. A waking task first looks for an idle CPU (select_cpu,
 * then once more at enqueue; a synchronous wake-up is never put straight
 * into its waker's local queue: a ping-pong pair would keep that queue
 * non-empty and ops.dispatch would not run on that CPU, tests/vm/sync.vm).
 * If there is none and its profile has preempt:
 * true, it looks, in this order, at its previous CPU (a warm cache, and often
 * the CPU whose timer woke it: no inter-processor interrupt needed), the
 * waker's (first for a synchronous wake-up, whose waker is about to sleep)
 * and one at random, and takes the first whose running task has a later
 * deadline than its own - that task's as it started, moved on by the CPU
 * time it has used since; in that CPU's own queue's terms (see Queues) when
 * one of them is pinned there and the other is not - and has run at least
 * 50 us (a per-CPU kthread, kernel work that runs ahead of the queues, is
 * never one): it is inserted at the
 * head of that CPU's local queue with SCX_ENQ_PREEMPT, which ends the
 * running task's slice (at the tail, with a preempting kick, when tasks
 * already wait there - per-CPU kthreads, idle picks - so as not to overtake
 * them); that task goes back to the queue under its own
 * deadline. Counted as preemptions. Any task may preempt, boosted or not: a
 * light sleeper's deadline is early because its burst is short and its vtime
 * is at the lag floor (tests/vm/preempt.vm).
 *
 * Worst-case wait. A queued task T with virtual deadline K runs once no task
 * with an earlier one is queued. A competitor U (weight w_U, boost b_U) runs
 * at most (K - vdl_U) x w_U (7 + b_U) / 700 of CPU time before its own
 * passes K. Every offset above is in the task's own CPU time, so U's lead
 * over its queue's position - at most the lag cap (100 ms), the boost lead
 * (7 ms) and a slice - costs T at most that x (7 + b_U) / 7 of U's CPU time,
 * whatever U's weight. What remains is T's own distance ahead of the
 * position, at most a slice, a tick's overrun and 10 ms of burst in T's
 * vtime, which U needs w_U (7 + b_U) / (7 w_T) times as much CPU time to
 * cover: the fair share itself, as long as under any weighted fair
 * scheduler. With N CPUs, for competitors in T's queue:
 *     wait <= sum over runnable U of [(107 ms + slice_U) (7 + b_U) / 7
 *                 + (slice_T + 20 ms) x w_U (7 + b_U) / (7 w_T)] / N
 * For 8 nice-0 boost-7 hogs against a nice-0 boost-0 task on 4 CPUs with 5 ms
 * slices (4 ms with 5 of the 9 queued) that is 8 x (111 x 2 + 24 x 2) / 4 ms
 * ~ 0.54 s; for 16 nice -20 boost-7 hogs (1.5 ms slices) 16 x (108.5 x 2 +
 * 21.5 x 173) / 4 ms ~ 15.8 s, and ~ 29 s for 32 of them, at the kernel
 * watchdog's 30 s: the slices' floor (0.5 ms) and the tick then dominate.
 * So a valve holds the wait for any weights: every 100 ms at most, a CPU
 * looks at the 8 latest deadlines of the shared queue and of its own and
 * runs at once one that has waited over 2 s (counted as valve_runs). The
 * first load never needs it; the other two wait about 2.1 s a turn with it
 * (tests/vm/starve.vm runs the first, and one nice -20 hog per CPU - 4.6 s
 * without the valve - and counts the valve's runs). Across a CPU's two
 * queues the shared one is one competitor there, its vtime at most the lag
 * cap (100 ms of nice-0 time) from the own queue's position either way: a
 * pinned U costs a shared-queue T that cap once more (w_U / 100 times as
 * much of U's CPU time) besides its fair-share term, and the valve bounds
 * the rest.
 * Without the own-CPU-time scaling the boost lead alone would have cost
 * 7 ms x 87 per nice -20 hog.
 *
 * Deadline misses. A task is watched at a wake-up when deadline_miss.enabled
 * and its effective boost >= deadline_miss.min_boost. Its start deadline is
 * wake time + (8 - effective) x slice (8 slices at boost 0, 1 at boost 7);
 * it MISSES when it starts running after it, else it meets it. threshold
 * misses in a row earn one level (up to the room below boost.max); recover
 * met deadlines in a row (recover > 0) give one earned level back.
 *
 * Inheritance (if the lender's profile has inheritance.enabled). A boosted
 * task lends min(its boost, inheritance.max_boost) to the task it waits for,
 * if that one's boost is lower, until the borrower wakes the lender (the
 * hand-back) or inheritance.duration passes:
 *  - at block time: a task that blocks on a lock whose owner can be read
 *    lends to the owner - glibc's pthread mutexes (futex_wait with value 2:
 *    the owner's tid is in the mutex's __owner field), PI futexes
 *    (futex_lock_pi: the tid is in the futex word) and futex_waitv entries
 *    that look like glibc mutexes; only a thread of the same process is
 *    taken for the owner (looked up in the waiter's pid namespace where the
 *    kernel can). If the owner is waiting in a queue and may run on the
 *    blocked task's CPU, that CPU runs it at once (the ops.dispatch right
 *    after the block; the first 64 queued tasks looked at). Counted as
 *    inheritances and futex_inheritances;
 *  - forward, on a synchronous wake-up (SCX_WAKE_SYNC: a request written to
 *    a pipe or socket): the waker lends to the task it woke, which it will
 *    wait for. Not from interrupt context, where the current task is
 *    whoever was interrupted, nor where that cannot be told (x86 kernels
 *    before 6.15 keep the preempt count elsewhere); not to pinned tasks,
 *    which skip ops.select_cpu, where wake-up flags are seen. Counted as
 *    inheritances.
 * Each hook is optional: the daemon attaches the ones the kernel has.
 *
 * Rate-monotonic. At each wake-up the gap since the previous one updates the
 * task's period estimate (EWMA 1/8, samples clamped to 4x the mean); each
 * burst updates its run-time mean, each sleep its sleep-time mean. After 4
 * samples, a task with period <= rate_monotonic.period whose boost without
 * this +1 is below below_boost gets +1 for this wake-up - unless it runs over
 * 50% of the time it is not kept waiting, run / (run + sleep) (counted as
 * rm_util_denied); a task refused so must come down to 25% to gain again.
 *
 * Placement on CPUs. With numa: true, frame-pipeline roles (render, gpu,
 * compositor, game) go to an idle CPU of the node they last ran on (prev CPU
 * first), then to any idle CPU by the kernel's default search; counted as
 * local or remote. Other tasks use the default search.
 *
 * RT and deadline tasks run above sched_ext. When one takes a CPU, the tasks
 * already in that CPU's local queue are handed back (ops.cpu_release) and
 * queued again, so they do not wait behind it (counted as reenqueued).
 *
 * CPU hotplug. The scheduler stays attached when a CPU goes or comes back
 * (ops.cpu_offline, ops.cpu_online; counted as cpu_hotplugs): the kernel
 * stops calling ops.dispatch for a CPU it has marked offline and queues what
 * is enqueued there straight onto its local queue, so ops.cpu_offline moves
 * what waits in that CPU's own queue onto its local queue, from where the
 * kernel migrates it off the CPU. Where that cannot be done (no DSQ iterator,
 * or a task left that may not run there) it asks the kernel for a restart, as
 * a scheduler without these callbacks gets, and the daemon attaches again.
 *
 * Counters and wait times. counters[profile] (per-CPU) for every event above;
 * the table is GAMER_COUNTERS in intf.h, printed by `scx_gamer stats`, with
 * wait_hist[profile]: log2 histograms of the time from becoming runnable to
 * running (after a wake-up, a fork or the attach; after being put back),
 * from which stats prints
 * p50 and p99 per profile. Per-CPU data lives in per-CPU maps (no two CPUs
 * share a cache line). A counter is bumped with a plain add where nothing
 * that bumps the same counter can run on that CPU between the add's read and
 * write: the scheduling callbacks run with interrupts off; cpu_online and
 * cpu_offline, unlocked and interruptible, bump only cpu_hotplugs, and the
 * kernel runs one hotplug at a time. The futex fentry programs run with
 * interrupts on, and an interrupt's wake-up can run select_cpu, which bumps
 * inheritances too: they use atomic adds (count_atomic), which the
 * interrupt cannot split.
 *
 * Exit. When the scheduler stops for any reason (daemon exit, a killed
 * daemon closing the struct_ops link, a BPF error, the watchdog) ops.exit
 * copies the kernel's kind, reason and message into exit_info and wakes the
 * daemon through the events ring buffer.
 *
 * Old or broken kernels. Kernel differences are probed, not versioned
 * (compat.bpf.h); the sched_ext enum values come from the running kernel's
 * BTF at load (scx_enums, intf.h). Where the kernel offers no callable
 * scx_bpf_create_dsq (Debian's 7.1 and 7.2 builds) there is no user queue to
 * order by deadline: tasks then go FIFO into the kernel's global queue
 * (pinned ones into their CPU's local queue, where a turn lasts a slice),
 * still sliced and starvation-free; wake-up preemption still works (it uses
 * local queues), the other mechanisms still run and count, and the daemon
 * warns.
 *
 * Limits. One shared queue: fine for desktop-sized machines, a contention
 * point on very large ones. The shared queue counts as one task on each CPU
 * against the pinned ones (above). A shared head that may not run on a CPU
 * hides the tasks behind it from that CPU's comparison (they are taken only
 * when nothing pinned waits). The cap ahead gives a light shared-queue task more than its
 * weight against pinned ones (a nice 19 task beside a pinned nice 0 one:
 * 5 ms in 105 with 5 ms slices, not 1 in 100), and such a task at the
 * shared queue's head holds its queue's other tasks back on a CPU full of
 * pinned ones for up to 100 ms a turn (a nice 0 one then gets 0.83 of a
 * pinned nice 0 one's CPU, in the host model, tests/host/policy_test.c).
 * A per-CPU kthread that never stops running
 * would keep its CPU from the queues (the kernel does not call ops.dispatch
 * while a CPU's local queue holds tasks). The worst-case wait grows with the weight
 * competitors have over the waiting task, as the fair share does.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "intf.h"
#include "intf_test.h"
#include "compat.bpf.h"
#include "profile.bpf.h"
#include "policy.h"
#include "policy_test.h"

char _license[] SEC("license") = "GPL";

#define SHARED_DSQ 0
/* CPU n's own queue: tasks that can run only there. */
#define CPU_DSQ(cpu) (0x100ULL + (u64)(cpu))

/*
 * Globals use __u64/__u32: the generated skeleton exposes them to userspace,
 * which has no u64. Tunables are not globals: they live in the profile maps
 * (profile.bpf.h), which the daemon rewrites live.
 */

/* Used until the daemon has published the defaults (profile 0). */
#define FALLBACK_SLICE_NS (5ULL * 1000 * 1000)

/* NUMA topology, set by the daemon before load (intf.h limits). */
const volatile __u32 nr_cpus = 1;
const volatile __u32 nr_nodes = 1;
const volatile __u8 cpu_node[GAMER_MAX_CPUS];
const volatile __u32 node_nr_cpus[GAMER_MAX_NODES];
const volatile __u16 node_cpus[GAMER_MAX_NODES][GAMER_MAX_NODE_CPUS];
/* CPUs online, of nr_cpus: set at init, kept by ops.cpu_offline/online. */
__u32 nr_online;

/*
 * sched_ext enum values of the running kernel, written by the loader from its
 * BTF (intf.h GAMER_SCX_ENUMS); these defaults are the build's vmlinux.h.
 */
const volatile __u64 scx_enums[GAMER_NR_SCX_ENUMS] = {
#define GAMER_SCX_ENUM_DEFAULT(id, type, name) [GAMER_SCX_##id] = id##_DEFAULT,
#define ENQ_WAKEUP_DEFAULT SCX_ENQ_WAKEUP
#define ENQ_PREEMPT_DEFAULT SCX_ENQ_PREEMPT
#define ENQ_REENQ_DEFAULT SCX_ENQ_REENQ
#define WAKE_SYNC_DEFAULT SCX_WAKE_SYNC
#define KICK_IDLE_DEFAULT SCX_KICK_IDLE
#define KICK_PREEMPT_DEFAULT SCX_KICK_PREEMPT
#define TASK_QUEUED_DEFAULT SCX_TASK_QUEUED
#define DSQ_GLOBAL_DEFAULT SCX_DSQ_GLOBAL
#define DSQ_LOCAL_DEFAULT SCX_DSQ_LOCAL
#define DSQ_LOCAL_ON_DEFAULT SCX_DSQ_LOCAL_ON
#define DSQ_ITER_REV_DEFAULT SCX_DSQ_ITER_REV
#define ECODE_ACT_RESTART_DEFAULT SCX_ECODE_ACT_RESTART
#define ECODE_RSN_HOTPLUG_DEFAULT SCX_ECODE_RSN_HOTPLUG
	GAMER_SCX_ENUMS(GAMER_SCX_ENUM_DEFAULT)
#undef GAMER_SCX_ENUM_DEFAULT
};

#define ENQ_WAKEUP scx_enums[GAMER_SCX_ENQ_WAKEUP]
#define ENQ_PREEMPT scx_enums[GAMER_SCX_ENQ_PREEMPT]
#define ENQ_REENQ scx_enums[GAMER_SCX_ENQ_REENQ]
#define WAKE_SYNC scx_enums[GAMER_SCX_WAKE_SYNC]
#define KICK_IDLE scx_enums[GAMER_SCX_KICK_IDLE]
#define KICK_PREEMPT scx_enums[GAMER_SCX_KICK_PREEMPT]
#define TASK_QUEUED scx_enums[GAMER_SCX_TASK_QUEUED]
#define DSQ_GLOBAL scx_enums[GAMER_SCX_DSQ_GLOBAL]
#define DSQ_LOCAL scx_enums[GAMER_SCX_DSQ_LOCAL]
#define DSQ_LOCAL_ON scx_enums[GAMER_SCX_DSQ_LOCAL_ON]
#define DSQ_ITER_REV scx_enums[GAMER_SCX_DSQ_ITER_REV]

/*
 * cpu_cfg: each CPU's last seen version of the defaults; cfg_seen shows what
 * each CPU last loaded (tests and `scx_gamer show` prove a reload reached
 * the scheduler's code with it).
 */
struct cpu_cfg {
	u64 ver;
	struct gamer_tunables t;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct cpu_cfg);
} cpu_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct gamer_cfg_seen);
} cfg_seen SEC(".maps");

/* Classes (see the top comment and intf.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GAMER_MAX_TASK_CLASSES);
	__type(key, u32);
	__type(value, struct gamer_class);
} task_class SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, GAMER_MAX_PROC_CLASSES);
	__type(key, u32);
	__type(value, struct gamer_class);
} proc_class SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} class_gen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GAMER_MAX_PROFILES);
	__type(key, u32);
	__type(value, struct gamer_counters);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GAMER_MAX_PROFILES);
	__type(key, u32);
	__type(value, struct gamer_wait_hist);
} wait_hist SEC(".maps");

/*
 * Per CPU: the lock owner a task that blocked here just lent its boost to
 * (see "Inheritance"), for this CPU's next ops.dispatch to run it now.
 */
struct gamer_handoff {
	u32 lender, owner; /* tids (the kernel's, not a namespace's); 0: none */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct gamer_handoff);
} handoff SEC(".maps");

/* struct task_ctx, what the scheduler keeps per task, is in policy.h. */

/*
 * Per CPU: what it runs, for wake-up preemption, and its queues' positions.
 * Written under that CPU's run-queue lock (see place()), read by others
 * (bpf_map_lookup_percpu_elem) without locks: a stale value costs one missed
 * or needless preemption, or one choice made on a slightly old position.
 */
struct cpu_run {
	u64 vdl;      /* the running task's virtual deadline as it started */
	u64 cvdl;     /* the same in this CPU's own queue's terms (see "Queues") */
	u64 since;    /* when it started */
	u64 own_now;  /* the position of this CPU's own queue */
	u64 grp;      /* the shared queue's vtime on this CPU, in the same terms */
	u64 valve_at; /* when this CPU last looked for a starved task */
	u32 running;  /* one of our tasks runs here */
	u32 weight;   /* its weight (its deadline moves on as it runs) */
	u32 queue;    /* the queue its vtime is placed against (task_ctx.queue) */
	u32 grp_back; /* the shared queue had nothing for this CPU when last seen */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct cpu_run);
} cpu_runs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

/* Test hook (see intf.h): non-zero makes the next dispatch report an error. */
__u32 test_error_code;

/* The shared queue's position (each CPU's own is in cpu_runs); written often. */
__u64 vtime_now __attribute__((aligned(64)));
struct gamer_exit_info exit_info;
__u32 compat_missing; /* enum gamer_compat bits, set by ops.init */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

#define PF_KTHREAD 0x00200000 /* include/linux/sched.h */

/* This CPU's copy of the defaults, refreshed if the daemon published new ones. */
static __always_inline void refresh_cpu_defaults(void)
{
	u32 zero = 0, id = GAMER_PROFILE_DEFAULTS;
	struct gamer_cfg_seen *seen;
	struct cpu_cfg *c;
	u64 *verp, ver;

	c = bpf_map_lookup_elem(&cpu_cfg, &zero);
	verp = bpf_map_lookup_elem(&profile_ver, &id);
	if (!c || !verp)
		return;
	ver = *(volatile u64 *)verp;
	if (ver == c->ver || !ver)
		return;
	/* On GAMER_READ_BUSY keep the old copy and try again next time. */
	if (gamer_read_tunables(id, &c->t) != GAMER_READ_OK)
		return;
	c->ver = ver;
	seen = bpf_map_lookup_elem(&cfg_seen, &zero);
	if (seen) {
		seen->ver = ver;
		seen->slice_ns = c->t.slice_ns;
	}
}

/* A plain add: see "Counters" above for where no atomic is needed. */
static __always_inline void count_n(u32 slot, u32 idx, u64 n)
{
	struct gamer_counters *c = bpf_map_lookup_elem(&counters, &slot);

	if (c && idx < GAMER_NR_COUNTERS)
		c->c[idx] += n;
}

static __always_inline void count(u32 slot, u32 idx)
{
	count_n(slot, idx, 1);
}

/* For programs that are not sched_ext callbacks (tracing), which can interleave. */
static __always_inline void count_atomic(u32 slot, u32 idx)
{
	struct gamer_counters *c = bpf_map_lookup_elem(&counters, &slot);

	if (c && idx < GAMER_NR_COUNTERS)
		__sync_fetch_and_add(&c->c[idx], 1);
}

static __always_inline struct task_ctx *task_ctx_of(struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctxs, p, 0, 0);
}

static __always_inline u64 slice_of(const struct task_ctx *tc)
{
	return tc->t.slice_ns ? tc->t.slice_ns : FALLBACK_SLICE_NS;
}

static __always_inline u32 weight_of(const struct task_struct *p)
{
	return p->scx.weight ? p->scx.weight : 1;
}

/*
 * A per-CPU kthread (ksoftirqd, a bound kworker): kernel work others wait on,
 * short, and starving it can hang the machine (a nice -20 load would).
 */
static __always_inline bool per_cpu_kthread(const struct task_struct *p)
{
	return (p->flags & PF_KTHREAD) && p->nr_cpus_allowed == 1;
}

/* The CPUs that can run anything: nr_cpus less those offline. */
static __always_inline u32 online_cpus(void)
{
	u32 n = *(volatile __u32 *)&nr_online;

	return n && n <= nr_cpus ? n : nr_cpus;
}

/* The slice for tc now: shorter when the shared queue is deep. */
static __always_inline u64 slice_now(const struct task_ctx *tc)
{
	return gp_slice(slice_of(tc), gamer_dsq_nr_queued(SHARED_DSQ), online_cpus());
}

/*
 * CPU time p has used since it last started running, by the kernel's own
 * account (se.sum_exec_runtime, which sched_ext keeps up to date): the
 * clock_task time the default scheduler charges, without time spent in
 * interrupts - which would otherwise be charged to whichever task they
 * happened to interrupt.
 */
static __always_inline u64 run_since(const struct task_struct *p, const struct task_ctx *tc)
{
	u64 sum = p->se.sum_exec_runtime;

	return gp_before(tc->exec_start, sum) ? sum - tc->exec_start : 0;
}

/*
 * The cpu_runs entry of the CPU p runs on: ops.running and ops.stopping may
 * be called from another CPU (an affinity change).
 */
static __always_inline struct cpu_run *cpu_run_of(const struct task_struct *p)
{
	u32 zero = 0;
	s32 cpu = gamer_task_cpu(p);

	if (cpu < 0)
		return bpf_map_lookup_elem(&cpu_runs, &zero);
	return bpf_map_lookup_percpu_elem(&cpu_runs, &zero, cpu);
}

/* The queue p waits in when it must: 0 shared, CPU + 1 for a CPU's own. */
static __always_inline u32 queue_of(struct task_struct *p)
{
	s32 cpu;

	if (p->nr_cpus_allowed != 1 || !gamer_have_user_dsq())
		return 0;
	cpu = gamer_task_cpu(p);
	/*
	 * An affinity narrowed to another CPU is put in place by a re-enqueue
	 * on the old one: the queue is the allowed CPU's.
	 */
	if (bpf_ksym_exists(bpf_cpumask_test_cpu) && bpf_ksym_exists(bpf_cpumask_first) &&
	    (cpu < 0 || !bpf_cpumask_test_cpu(cpu, p->cpus_ptr)))
		cpu = bpf_cpumask_first(p->cpus_ptr);
	return cpu >= 0 && (u32)cpu < nr_cpus ? (u32)cpu + 1 : 0;
}

/*
 * The cpu_runs entry of cpu: ops.dispatch may run for a sibling CPU (core
 * scheduling balances the sibling's run queue from this one), so not
 * necessarily this CPU's.
 */
static __always_inline struct cpu_run *cpu_run_at(s32 cpu)
{
	u32 zero = 0;

	if (cpu < 0 || (u32)cpu >= nr_cpus)
		return NULL;
	return bpf_map_lookup_percpu_elem(&cpu_runs, &zero, cpu);
}

/* The cpu_runs entry of queue q's CPU (q = CPU + 1), or NULL. */
static __always_inline struct cpu_run *own_run(u32 q)
{
	u32 zero = 0;

	if (!q || q > nr_cpus)
		return NULL;
	return bpf_map_lookup_percpu_elem(&cpu_runs, &zero, q - 1);
}

/*
 * The position (vtime) of queue q. Each queue has its own (see "Queues"):
 * the shared one's and a CPU's own one's are never compared.
 */
static __always_inline u64 queue_now(u32 q)
{
	struct cpu_run *cr;

	if (!q)
		return vtime_now;
	cr = own_run(q);
	return cr ? cr->own_now : 0;
}

/* The shared queue's vtime on the CPU of cr, from grp (cr->grp or more). */
static __always_inline u64 group_vtime(const struct cpu_run *cr, u64 grp)
{
	return gp_group_vtime(grp, cr->own_now, cr->grp_back);
}

/*
 * Place tc's vtime against queue q's position (see "Placement of vtime"):
 * at a wake-up, or when it moves to another queue (its lag or lead carried
 * over), with the lag floor. A CPU's own queue that holds and runs nothing
 * of its own first catches up with the shared queue's tasks there, so a
 * newcomer is placed against what that CPU runs now. All writers of a CPU's
 * entry hold that CPU's run-queue lock (ops.runnable and ops.enqueue of a
 * task pinned there; ops.running, ops.stopping, ops.dispatch on it) - but
 * for a task whose affinity was just narrowed to another CPU, placed once
 * from its old one: a racy update of a position that only moves forward,
 * which at worst is lost.
 */
static __always_inline void place(struct task_struct *p, struct task_ctx *tc, u32 q, bool wakeup)
{
	struct cpu_run *cr = own_run(q);
	u64 pos;

	if (cr && (wakeup || tc->queue != q) && !(cr->running && cr->queue == q) &&
	    !gamer_dsq_nr_queued(CPU_DSQ(q - 1)) && gp_before(cr->own_now, cr->grp))
		cr->own_now = cr->grp;
	pos = queue_now(q);
	if (tc->queue != q) {
		tc->vtime = gp_rebase(tc->vtime, queue_now(tc->queue), pos);
		wakeup = true;
		tc->queue = q;
	}
	tc->vtime = gp_place(tc->vtime, pos, weight_of(p), slice_of(tc), wakeup);
}

/* Bring tc's class and tunables up to date (see "Classes" above). */
static __always_inline void task_refresh(struct task_struct *p, struct task_ctx *tc)
{
	u32 zero = 0, slot;
	u64 *genp, gen, *verp, ver;

	genp = bpf_map_lookup_elem(&class_gen, &zero);
	gen = genp ? *(volatile u64 *)genp : 0;
	if (!tc->valid || gen != tc->class_gen) {
		struct gamer_class *c;
		u32 tid = p->pid, tgid = p->tgid;

		c = bpf_map_lookup_elem(&task_class, &tid);
		if (!c)
			c = bpf_map_lookup_elem(&proc_class, &tgid);
		if (c && c->slot < GAMER_MAX_PROFILES) {
			slot = c->slot;
			tc->role = c->role;
			tc->class_boost = c->boost;
		} else {
			slot = GAMER_PROFILE_DEFAULTS;
			tc->role = GAMER_ROLE_NONE;
			tc->class_boost = GAMER_BOOST_FROM_ROLE;
		}
		if (slot != tc->class_slot || !tc->valid) {
			tc->class_slot = slot;
			/* Earned levels belong to the old profile's rules. */
			tc->dm.miss = tc->dm.met = tc->dm.earned = 0;
		}
		tc->class_gen = gen;
		tc->valid = 1;
	}

	/*
	 * The class's profile if it is live, else the defaults - checked every
	 * time, so a profile that comes (back) is picked up without a new class.
	 */
	slot = tc->class_slot;
	verp = bpf_map_lookup_elem(&profile_ver, &slot);
	ver = verp ? *(volatile u64 *)verp : 0;
	if (!ver && slot != GAMER_PROFILE_DEFAULTS) {
		slot = GAMER_PROFILE_DEFAULTS;
		verp = bpf_map_lookup_elem(&profile_ver, &slot);
		ver = verp ? *(volatile u64 *)verp : 0;
	}
	if (slot != tc->slot) {
		tc->slot = slot;
		tc->prof_ver = 0;
	}
	if (ver && ver != tc->prof_ver) {
		struct gamer_tunables t;

		/* Into a copy: a failed read leaves a partial one. */
		if (gamer_read_tunables(slot, &t) == GAMER_READ_OK) {
			__builtin_memcpy(&tc->t, &t, sizeof(t));
			tc->prof_ver = ver;
		}
	}
}

/*
 * In interrupt context, the current task is whoever was interrupted, not the
 * waker (a network receive in softirq wakes its reader with SCX_WAKE_SYNC).
 * x86's preempt count is the per-CPU __preempt_count (an int; 7.x made it an
 * unsigned long whose low 32 bits hold the same count): serving a softirq,
 * a hard interrupt or an NMI sets bits in SOFTIRQ_OFFSET | HARDIRQ_MASK |
 * NMI_MASK (include/linux/preempt.h).
 */
extern const int __preempt_count __ksym __weak;
#define GAMER_IRQ_BITS (0x100 | 0xf0000 | 0xf00000)

static __always_inline bool in_interrupt_ctx(void)
{
	const int *pc;

	if (!bpf_ksym_exists(&__preempt_count))
		return false;
	pc = bpf_this_cpu_ptr(&__preempt_count);
	return *pc & GAMER_IRQ_BITS;
}

/*
 * lender lends its boost to borrower (see "Inheritance"), under the lender's
 * profile's inheritance settings, until borrower wakes lender or the
 * duration passes. True if it lent anything.
 */
static __always_inline bool lend(struct task_ctx *lc, u32 lender_tid, struct task_ctx *bc, u64 now)
{
	u32 boost;

	if (!lc->t.inh_enabled)
		return false;
	boost = gp_inherit(gp_task_effective(bc, now), gp_task_effective(lc, now), lc->t.inh_max_boost);
	if (!boost)
		return false;
	bc->inh_boost = boost;
	bc->inh_until = now + lc->t.inh_duration_ns;
	bc->inh_by = lender_tid;
	return true;
}

/*
 * p is being woken by the current task. A borrower waking its lender has
 * done what it was lent the boost for: the lend ends. From ops.runnable,
 * which every wake-up passes through (select_cpu is skipped for pinned
 * tasks).
 */
static __always_inline void hand_back(struct task_struct *p, u64 now)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct task_ctx *wc;

	if (cur == p || in_interrupt_ctx())
		return;
	wc = task_ctx_of(cur);
	if (wc && wc->inh_by == (u32)p->pid && gp_before(now, wc->inh_until)) {
		wc->inh_until = now;
		wc->inh_by = 0;
	}
}

/*
 * A synchronous wake-up (a request over a pipe or a socket) lends the
 * waker's boost forward to the task it woke, which it will wait for. Not
 * from interrupt context, nor where that cannot be told.
 */
static __always_inline void lend_forward(struct task_struct *p, struct task_ctx *tc,
					 u64 wake_flags, u64 now)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct task_ctx *wc;

	if (!(wake_flags & WAKE_SYNC) || cur == p)
		return;
	if (!bpf_ksym_exists(&__preempt_count) || in_interrupt_ctx())
		return;
	wc = task_ctx_of(cur);
	if (!wc)
		return;
	task_refresh(cur, wc);
	if (lend(wc, cur->pid, tc, now))
		count(wc->slot, GAMER_CNT_INHERITANCES);
}

/*
 * An index the verifier can see is in bounds: clang drops range checks it can
 * prove redundant and indexes with a copy the verifier knows nothing about,
 * so the check is hidden from clang and a mask (size a power of two) added.
 */
static __always_inline u32 bounded(u32 i, u32 size)
{
	asm volatile("" : "+r"(i));
	return i & (size - 1);
}

static __always_inline u32 node_of(s32 cpu)
{
	if (cpu < 0 || cpu >= GAMER_MAX_CPUS)
		return 0;
	return cpu_node[bounded(cpu, GAMER_MAX_CPUS)];
}

/*
 * May p be put on cpu's local queue now? Not where its mask forbids, and not
 * off its own CPU while migration is disabled: the mask may not show that yet
 * (it narrows only when p is switched out), and the kernel ends the
 * scheduler for such a move. A guard: without SCX_OPS_ENQ_MIGRATION_DISABLED
 * the kernel queues such tasks locally itself and never shows them to us.
 */
static __always_inline bool may_run_on(struct task_struct *p, s32 cpu)
{
	if (!bpf_ksym_exists(bpf_cpumask_test_cpu))
		return false;
	if (p->migration_disabled && cpu != gamer_task_cpu(p))
		return false;
	return bpf_cpumask_test_cpu(cpu, p->cpus_ptr);
}

/* An idle CPU p may use on node (prev first), claimed; -1 if none. */
static __always_inline s32 pick_idle_on_node(struct task_struct *p, s32 prev, u32 node)
{
	u32 i, n;

	if (!bpf_ksym_exists(scx_bpf_test_and_clear_cpu_idle))
		return -1;
	if (node >= GAMER_MAX_NODES)
		return -1;
	if (node_of(prev) == node && may_run_on(p, prev) &&
	    scx_bpf_test_and_clear_cpu_idle(prev))
		return prev;
	node = bounded(node, GAMER_MAX_NODES);
	n = node_nr_cpus[node];
	if (n > GAMER_MAX_NODE_CPUS)
		n = GAMER_MAX_NODE_CPUS;
	bpf_for(i, 0, n) {
		s32 cpu = node_cpus[node][bounded(i, GAMER_MAX_NODE_CPUS)];

		if (cpu == prev || !may_run_on(p, cpu))
			continue;
		if (scx_bpf_test_and_clear_cpu_idle(cpu))
			return cpu;
	}
	return -1;
}

static __always_inline void direct_dispatch(struct task_struct *p, struct task_ctx *tc)
{
	tc->queued = 0;
	gamer_dsq_insert(p, DSQ_LOCAL, slice_now(tc), 0);
	count(tc->slot, GAMER_CNT_DISPATCHES);
	count(tc->slot, GAMER_CNT_DIRECT);
}

/*
 * Did scx_bpf_select_cpu_dfl() find cpu idle? For a synchronous wake-up it
 * also offers the waker's own, busy CPU when that CPU's local queue is empty:
 * a wakee put in that local queue by select_cpu would keep it non-empty for
 * a ping-pong pair, and ops.dispatch - the CPU's own queue of pinned tasks,
 * the valve - would not run there again (tests/vm/sync.vm). ops.enqueue
 * places such a wakee instead.
 */
static __always_inline bool found_idle(s32 cpu, bool is_idle, u64 wake_flags)
{
	return is_idle && !((wake_flags & WAKE_SYNC) && cpu == (s32)bpf_get_smp_processor_id());
}

s32 BPF_STRUCT_OPS(gamer_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	struct task_ctx *tc = task_ctx_of(p);
	bool is_idle = false;
	u64 now;
	s32 cpu;

	if (!tc)
		return scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
	now = gamer_now();
	task_refresh(p, tc);
	tc->wake_sync = !!(wake_flags & WAKE_SYNC);
	lend_forward(p, tc, wake_flags, now);

	if (tc->t.numa && nr_nodes > 1 && gp_is_frame_role(tc->role)) {
		u32 node = node_of(prev_cpu);

		cpu = pick_idle_on_node(p, prev_cpu, node);
		if (cpu >= 0) {
			count(tc->slot, GAMER_CNT_NUMA_LOCAL);
			direct_dispatch(p, tc);
			return cpu;
		}
		cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
		if (found_idle(cpu, is_idle, wake_flags)) {
			count(tc->slot, node_of(cpu) == node ? GAMER_CNT_NUMA_LOCAL :
							       GAMER_CNT_NUMA_REMOTE);
			direct_dispatch(p, tc);
		}
		return cpu;
	}

	cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
	if (found_idle(cpu, is_idle, wake_flags))
		direct_dispatch(p, tc);
	return cpu;
}

/*
 * A wake-up: period sample, rate-monotonic decision, start deadline, and the
 * lag floor (see "Placement of vtime"), for every wake-up, whether or not it
 * finds an idle CPU.
 */
void BPF_STRUCT_OPS(gamer_runnable, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tc;
	u32 eff;
	u64 now;

	tc = task_ctx_of(p);
	if (!tc)
		return;
	now = gamer_now();
	if (!(enq_flags & ENQ_WAKEUP)) {
		/*
		 * A new task, or one already runnable when the scheduler comes:
		 * its first wait starts here (stats; the valve), counted as a
		 * wake-up's. A queued task moved (affinity, nice) keeps the time
		 * it has; a running one put back by such a change (an exit too:
		 * the kernel moves the task out of its task group) is current
		 * again at once and waits for nothing.
		 */
		if (!tc->wait_from && !tc->run_start) {
			tc->wait_from = now;
			tc->wait_wake = 1;
		}
		return;
	}
	task_refresh(p, tc);
	hand_back(p, now);
	tc->wait_from = now;
	tc->wait_wake = 1;
	/* Per-CPU kthreads go to their local queue, unplaced (ops.enqueue). */
	if (!per_cpu_kthread(p))
		place(p, tc, queue_of(p), true);

	if (tc->last_wake && gp_before(tc->last_wake, now)) {
		tc->period_avg = gp_avg_update(tc->period_avg, now - tc->last_wake);
		if (tc->rm_samples < 0xffff)
			tc->rm_samples++;
	}
	tc->last_wake = now;
	if (tc->sleep_start && gp_before(tc->sleep_start, now))
		tc->sleep_avg = gp_avg_update(tc->sleep_avg, now - tc->sleep_start);
	tc->sleep_start = 0;

	tc->rm = 0;
	if (tc->t.rm_enabled) {
		u32 without = gp_effective(gp_task_base(tc), gp_task_dm_earned(tc), tc->t.boost_max, 0);
		int r = gp_rm_decide(tc->period_avg, tc->run_avg, tc->sleep_avg,
				     tc->rm_samples, tc->t.rm_period_ns, without,
				     tc->t.rm_below_boost, tc->rm_busy);

		if (r == GP_RM_YES) {
			tc->rm = 1;
			tc->rm_busy = 0;
			count(tc->slot, GAMER_CNT_RM_BOOSTS);
		} else if (r == GP_RM_DENIED) {
			tc->rm_busy = 1;
			count(tc->slot, GAMER_CNT_RM_UTIL_DENIED);
		}
	}

	eff = gp_task_effective(tc, now);
	if (tc->t.dm_enabled && eff >= tc->t.dm_min_boost)
		tc->deadline = now + gp_budget(eff, slice_of(tc));
	else
		tc->deadline = 0;
}

/*
 * The CPU whose running task p (tc, virtual deadline vdl) should preempt, or
 * -1: the first that gp_preempts() allows of p's previous CPU (its cache,
 * and often the CPU the wake-up's timer interrupt is on: no inter-processor
 * interrupt needed), this CPU - the waker's, first for a synchronous
 * wake-up, whose waker is about to sleep - and one at random. Deadlines of
 * one queue are compared as they are, a shared-queue task's with a pinned
 * one's in the CPU's own queue's terms (see "Queues").
 */
static __always_inline s32 pick_victim(struct task_struct *p, const struct task_ctx *tc, u64 vdl,
				       u64 now, bool sync)
{
	u32 zero = 0, n = nr_cpus, i;
	s32 cand[3], prev = gamer_task_cpu(p), here = bpf_get_smp_processor_id();
	u64 ran, mine;

	if (!n || n > GAMER_MAX_CPUS)
		return -1;
	cand[0] = sync ? here : prev;
	cand[1] = sync ? prev : here;
	cand[2] = bpf_get_prandom_u32() % n;
	for (i = 0; i < 3; i++) {
		s32 cpu = cand[i];
		struct cpu_run *cr;

		if (cpu < 0 || (u32)cpu >= n || (i && cpu == cand[0]) || (i == 2 && cpu == cand[1]))
			continue;
		if (!may_run_on(p, cpu))
			continue;
		cr = bpf_map_lookup_percpu_elem(&cpu_runs, &zero, cpu);
		if (!cr || !cr->running)
			continue;
		ran = gp_before(cr->since, now) ? now - cr->since : 0;
		if (cr->queue == tc->queue) {
			if (gp_preempts(vdl, cr->vdl, ran, cr->weight))
				return cpu;
			continue;
		}
		mine = tc->queue ? vdl : gp_group_vdl(group_vtime(cr, cr->grp), tc->off0);
		if (gp_preempts(mine, cr->cvdl, ran, cr->weight))
			return cpu;
	}
	return -1;
}

/* Can a wakee queue behind a local queue's tasks and still preempt? */
static __always_inline bool gamer_can_kick_behind(void)
{
	if (!gamer_have_user_dsq())
		return false;
	return bpf_ksym_exists(scx_bpf_kick_cpu);
}

/* An idle CPU for p, claimed, or -1. */
static __always_inline s32 pick_idle(struct task_struct *p)
{
	if (!bpf_ksym_exists(scx_bpf_pick_idle_cpu))
		return -1;
	if (p->migration_disabled)
		return -1;
	return scx_bpf_pick_idle_cpu(p->cpus_ptr, 0);
}

void BPF_STRUCT_OPS(gamer_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tc = task_ctx_of(p);
	bool wakeup = enq_flags & ENQ_WAKEUP;
	u32 weight = weight_of(p), eff, q;
	u64 slice, now;
	s32 cpu;

	if (!tc) {
		gamer_dsq_insert(p, DSQ_GLOBAL, FALLBACK_SLICE_NS, enq_flags);
		return;
	}
	task_refresh(p, tc);
	now = gamer_now();
	slice = slice_now(tc);
	count(tc->slot, GAMER_CNT_DISPATCHES);
	if (enq_flags & ENQ_REENQ)
		count(tc->slot, GAMER_CNT_REENQUEUED);

	if (per_cpu_kthread(p)) {
		gamer_dsq_insert(p, DSQ_LOCAL, slice, enq_flags);
		tc->queued = 0;
		count(tc->slot, GAMER_CNT_LOCAL);
		return;
	}

	eff = gp_task_effective(tc, now);
	q = queue_of(p);
	place(p, tc, q, false);
	tc->vdl = gp_vdeadline(tc->vtime, tc->burst_run, weight, eff);
	tc->off0 = gp_offset0(tc->burst_run, eff);

	/*
	 * select_cpu was skipped (pinned tasks) or found nothing idle; a CPU may
	 * have gone idle since. Handed-back tasks look for one too.
	 */
	if (wakeup || (enq_flags & ENQ_REENQ)) {
		cpu = pick_idle(p);
		if (cpu >= 0) {
			/* The insertion itself wakes the idle CPU. */
			gamer_dsq_insert(p, DSQ_LOCAL_ON | (u64)cpu, slice, enq_flags);
			tc->queued = 0;
			count(tc->slot, GAMER_CNT_DIRECT);
			return;
		}
	}
	if (wakeup && tc->t.preempt) {
		cpu = pick_victim(p, tc, tc->vdl, bpf_ktime_get_ns(), tc->wake_sync);
		if (cpu >= 0) {
			/*
			 * A preempting insertion goes to the head of the local
			 * queue: behind what already waits there (per-CPU
			 * kthreads, idle picks) p goes to the tail instead, and
			 * a kick ends the running task's slice. The kick is
			 * asynchronous (irq_work): if the CPU has switched to a
			 * queued task by then, that one is cut short instead.
			 * Only where the kick exists and pinned tasks have
			 * queues of their own: without user DSQs (Debian's
			 * 7.1, 7.2) they wait in the local queue, and p would
			 * wait behind all of them.
			 */
			if (gamer_can_kick_behind() && gamer_dsq_nr_queued(DSQ_LOCAL_ON | (u64)cpu)) {
				gamer_dsq_insert(p, DSQ_LOCAL_ON | (u64)cpu, slice, enq_flags);
				gamer_kick_cpu(cpu, KICK_PREEMPT);
			} else {
				gamer_dsq_insert(p, DSQ_LOCAL_ON | (u64)cpu, slice,
						 enq_flags | ENQ_PREEMPT);
			}
			tc->queued = 0;
			count(tc->slot, GAMER_CNT_PREEMPTIONS);
			return;
		}
	}

	tc->queued = 0;
	if (!gamer_have_user_dsq()) {
		if (p->nr_cpus_allowed == 1) {
			gamer_dsq_insert(p, DSQ_LOCAL, slice, enq_flags);
			count(tc->slot, GAMER_CNT_LOCAL);
		} else {
			gamer_dsq_insert(p, DSQ_GLOBAL, slice, enq_flags);
		}
		return;
	}
	tc->queued = 1;
	if (q) {
		gamer_dsq_insert_vtime(p, CPU_DSQ(q - 1), slice, tc->vdl, enq_flags);
		count(tc->slot, GAMER_CNT_LOCAL);
	} else {
		gamer_dsq_insert_vtime(p, SHARED_DSQ, slice, tc->vdl, enq_flags);
	}
}

/*
 * The heads of cpu's own queue and of the shared one: their virtual
 * deadlines, and the shared one's offset (gp_offset0) for gp_group_vdl().
 */
struct heads {
	u64 own, shared;
	s32 shared_off0;
	bool has_own, has_shared;
};

/*
 * The shared queue's head p, for cpu: its deadline and offset, or false if
 * it may not run there - the kernel's move then takes the first that may,
 * and the shared queue counts as having nothing for this CPU (its vtime
 * there then comes back as a waking task's would).
 */
static __always_inline bool shared_head_of(struct task_struct *p, s32 cpu, struct heads *h)
{
	struct task_ctx *tc;

	if (cpu < 0 || !may_run_on(p, cpu))
		return false;
	tc = task_ctx_of(p);
	h->shared = p->scx.dsq_vtime;
	h->shared_off0 = tc ? tc->off0 : 0;
	return true;
}

/*
 * The shared queue's head before 6.19 (no scx_bpf_dsq_peek), with an
 * iterator; a subprogram of its own, as gamer_dsq_iter_head() is.
 */
static __noinline bool shared_head_iter(s32 cpu, struct heads *h)
{
	struct bpf_iter_scx_dsq it;
	struct task_struct *p;
	bool found = false;

	if (!gamer_can_iter())
		return false;
	if (!bpf_iter_scx_dsq_new(&it, SHARED_DSQ, 0)) {
		p = bpf_iter_scx_dsq_next(&it);
		if (p)
			found = shared_head_of(p, cpu, h);
	}
	bpf_iter_scx_dsq_destroy(&it);
	return found;
}

static __always_inline bool shared_head(s32 cpu, struct heads *h)
{
	struct task_struct *p;

	if (!bpf_ksym_exists(scx_bpf_dsq_peek))
		return shared_head_iter(cpu, h);
	p = scx_bpf_dsq_peek(SHARED_DSQ);
	return p && shared_head_of(p, cpu, h);
}

static __always_inline void queue_heads(s32 cpu, struct heads *h)
{
	/* Set even when unused: clang may store it out speculatively. */
	u64 vdl = 0;

	h->has_own = cpu >= 0 && (u32)cpu < nr_cpus && gamer_dsq_nr_queued(CPU_DSQ(cpu)) &&
		     gamer_dsq_head_vdl(CPU_DSQ(cpu), &vdl);
	h->own = vdl;
	h->shared = 0;
	h->shared_off0 = 0;
	h->has_shared = shared_head(cpu, h);
}

/*
 * Move the head of this CPU's own queue or of the shared one, the earlier
 * deadline first, in the own queue's terms: grp is the shared queue's vtime
 * on this CPU (see "Queues").
 */
static __always_inline bool take_queued(s32 cpu, const struct heads *h, u64 grp)
{
	if (!h->has_own)
		return gamer_dsq_move_to_local(SHARED_DSQ) ||
		       (cpu >= 0 && (u32)cpu < nr_cpus && gamer_dsq_move_to_local(CPU_DSQ(cpu)));
	if (h->has_shared && gp_before(gp_group_vdl(grp, h->shared_off0), h->own) &&
	    gamer_dsq_move_to_local(SHARED_DSQ))
		return true;
	return gamer_dsq_move_to_local(CPU_DSQ(cpu)) || gamer_dsq_move_to_local(SHARED_DSQ);
}

/*
 * prev's slice is used up but it could go on: the vtime it would be queued
 * with now (its run so far charged, as ops.stopping will), and the virtual
 * deadline it would be queued with.
 */
static __always_inline u64 requeue_vdl(struct task_struct *p, struct task_ctx *tc, u64 now,
				       u64 *vtime, s32 *off0)
{
	u64 used = run_since(p, tc);
	u32 weight = weight_of(p), eff = gp_task_effective(tc, now);

	*vtime = gp_place(tc->vtime + gp_charge(used, weight, eff), queue_now(tc->queue), weight,
			  slice_of(tc), 0);
	*off0 = gp_offset0(tc->burst_run + used, eff);
	return gp_vdeadline(*vtime, tc->burst_run + used, weight, eff);
}

/*
 * Queue q's position moves on to vtime (see "Queues"). The shared one with a
 * compare-and-swap: CPUs race to move it, and it must never go back.
 */
static __always_inline void advance_queue(u32 q, u64 vtime)
{
	u32 zero = 0, i;
	struct cpu_run *cr;

	if (!q) {
		for (i = 0; i < 4; i++) {
			u64 cur = vtime_now;

			if (!gp_before(cur, vtime) ||
			    __sync_val_compare_and_swap(&vtime_now, cur, vtime) == cur)
				break;
		}
		return;
	}
	/* A CPU's own queue is only ever taken from by that CPU. */
	cr = bpf_map_lookup_percpu_elem(&cpu_runs, &zero, q - 1);
	if (cr && gp_before(cr->own_now, vtime))
		cr->own_now = vtime;
}

/*
 * A task that blocked on this CPU lent its boost to the lock's owner (see
 * "Inheritance"): if the owner waits in the shared queue or this CPU's own,
 * it runs here now, in the blocked task's place. Looks at the first 64
 * queued tasks at most.
 */
#define HANDOFF_SCAN 64

static __noinline bool take_handoff(u64 dsq_id, u32 tid, s32 here)
{
	struct bpf_iter_scx_dsq it;
	struct task_struct *p;
	bool moved = false;
	u32 i;

	if (!gamer_can_iter())
		return false;
	if (!bpf_iter_scx_dsq_new(&it, dsq_id, 0)) {
		for (i = 0; i < HANDOFF_SCAN; i++) {
			p = bpf_iter_scx_dsq_next(&it);
			if (!p)
				break;
			if ((u32)p->pid != tid)
				continue;
			/* The kernel ends the scheduler for a move to a CPU p may not use. */
			if (may_run_on(p, here))
				moved = gamer_dsq_move(&it, p, DSQ_LOCAL, 0);
			break;
		}
	}
	bpf_iter_scx_dsq_destroy(&it);
	return moved;
}

/*
 * Only for the dispatch that follows the lender's own block: prev is the
 * lender and is no longer runnable (a futex_wait that did not sleep leaves
 * a hand-off nobody takes, which the next dispatch drops).
 */
static __always_inline bool run_handoff(s32 cpu, struct task_struct *prev, struct task_ctx *tc)
{
	u32 zero = 0, owner, lender;
	struct gamer_handoff *h = bpf_map_lookup_elem(&handoff, &zero);

	if (!h || !h->owner)
		return false;
	owner = h->owner;
	lender = h->lender;
	h->owner = h->lender = 0;
	if (!prev || (u32)prev->pid != lender || tc)
		return false;
	if (take_handoff(SHARED_DSQ, owner, cpu))
		return true;
	return cpu >= 0 && (u32)cpu < nr_cpus && take_handoff(CPU_DSQ(cpu), owner, cpu);
}

/*
 * The starvation valve (see "Worst-case wait"): every 100 ms at most, a CPU
 * looks at the last 8 tasks of the shared queue and of its own (latest
 * deadlines first) and runs one that has waited over 2 s at once. Fair
 * shares never wait that long but under weights hundreds of times their
 * own; the kernel's watchdog ends the scheduler at 30 s.
 */
#define VALVE_WAIT_NS (2000ULL * 1000 * 1000)
#define VALVE_EVERY_NS (100ULL * 1000 * 1000)
#define VALVE_SCAN 8

static __noinline bool valve_take(u64 dsq_id, u64 now, s32 here)
{
	struct bpf_iter_scx_dsq it;
	struct task_struct *p;
	struct task_ctx *tc;
	bool moved = false;
	u32 i;

	if (!gamer_can_iter())
		return false;
	if (!bpf_iter_scx_dsq_new(&it, dsq_id, DSQ_ITER_REV)) {
		for (i = 0; i < VALVE_SCAN; i++) {
			p = bpf_iter_scx_dsq_next(&it);
			if (!p)
				break;
			tc = task_ctx_of(p);
			if (!tc || !tc->wait_from || !gp_before(tc->wait_from + VALVE_WAIT_NS, now))
				continue;
			if (!may_run_on(p, here))
				continue;
			moved = gamer_dsq_move(&it, p, DSQ_LOCAL, 0);
			if (moved)
				count(tc->slot, GAMER_CNT_VALVE);
			break;
		}
	}
	bpf_iter_scx_dsq_destroy(&it);
	return moved;
}

static __always_inline bool run_valve(s32 cpu)
{
	struct cpu_run *cr = cpu_run_at(cpu);
	u64 now;

	if (!cr)
		return false;
	now = gamer_now();
	if (gp_before(now, cr->valve_at + VALVE_EVERY_NS))
		return false;
	cr->valve_at = now;
	if (valve_take(SHARED_DSQ, now, cpu))
		return true;
	return cpu >= 0 && (u32)cpu < nr_cpus && valve_take(CPU_DSQ(cpu), now, cpu);
}

void BPF_STRUCT_OPS(gamer_dispatch, s32 cpu, struct task_struct *prev)
{
	/*
	 * The test hook is checked here rather than in ops.tick: ticks stop on
	 * an idle machine, but a CPU going idle always dispatches.
	 */
	u32 code = test_error_code;
	struct task_ctx *tc = NULL;
	struct heads h = {};
	u64 mine, vtime = 0, grp = 0, now;
	struct cpu_run *cr;
	bool shared_prev;
	s32 off0 = 0;

	if (code)
		gamer_error("test-triggered error (code %u)", code);

	if (prev && (prev->scx.flags & TASK_QUEUED))
		tc = task_ctx_of(prev);
	if (gamer_have_user_dsq() && (run_handoff(cpu, prev, tc) || run_valve(cpu)))
		return;
	if (!gamer_have_user_dsq())
		goto keep;
	queue_heads(cpu, &h);
	now = gamer_now();

	/*
	 * The shared queue's vtime on this CPU, for comparing its head with
	 * this CPU's own queue's (see "Queues"): with prev's run so far if prev
	 * is a shared-queue task (ops.stopping charges it after this). A
	 * per-CPU kthread is neither: it goes back to its local queue.
	 */
	shared_prev = tc && !tc->queue && !per_cpu_kthread(prev);
	cr = cpu_run_at(cpu);
	if (cr) {
		if (!h.has_shared && !shared_prev)
			cr->grp_back = 1;
		grp = cr->grp;
		if (shared_prev)
			grp += gp_charge(run_since(prev, tc), weight_of(prev),
					 gp_task_effective(tc, now));
		grp = group_vtime(cr, grp);
	}

	/*
	 * prev is not in any queue yet (ops.enqueue puts it back after this):
	 * it goes on, with its own slice, if its deadline would be earlier than
	 * every queued one - else two busy tasks would take turns of a slice
	 * each, whatever their vtime. A yield gives the CPU up once.
	 */
	if (tc && gamer_can_peek() && !tc->yielded && !per_cpu_kthread(prev) &&
	    (shared_prev || tc->queue == (u32)cpu + 1)) {
		bool first;

		mine = requeue_vdl(prev, tc, now, &vtime, &off0);
		if (!shared_prev)
			first = (!h.has_own || gp_before(mine, h.own)) &&
				(!h.has_shared || gp_before(mine, gp_group_vdl(grp, h.shared_off0)));
		else
			first = (!h.has_own || (cr && gp_before(gp_group_vdl(grp, off0), h.own))) &&
				(!h.has_shared || gp_before(mine, h.shared));
		if (first) {
			/*
			 * Kept over queued tasks is taken from the queue:
			 * the position moves on as if it had been.
			 */
			if (h.has_own || h.has_shared)
				advance_queue(tc->queue, vtime);
			gamer_set_slice(prev, slice_now(tc));
			return;
		}
	}
	if (tc)
		tc->yielded = 0;

	/* The kernel drains SCX_DSQ_GLOBAL and local queues itself. */
	if (take_queued(cpu, &h, grp))
		return;
keep:
	refresh_cpu_defaults();
	/*
	 * Nothing else to run: prev goes on, with its own slice rather than the
	 * kernel's default refill.
	 */
	if (tc)
		gamer_set_slice(prev, slice_of(tc));
}

/*
 * sched_yield(): the CPU is given up once - ops.dispatch does not keep the
 * task running over queued ones, even with the earliest deadline.
 * yield_to() is not supported.
 */
bool BPF_STRUCT_OPS(gamer_yield, struct task_struct *from, struct task_struct *to)
{
	struct task_ctx *tc;

	if (to)
		return false;
	tc = task_ctx_of(from);
	if (tc)
		tc->yielded = 1;
	gamer_set_slice(from, 0);
	return false;
}

void BPF_STRUCT_OPS(gamer_tick, struct task_struct *p)
{
	refresh_cpu_defaults();
}

void BPF_STRUCT_OPS(gamer_running, struct task_struct *p)
{
	struct task_ctx *tc = task_ctx_of(p);
	struct cpu_run *cr;
	u32 eff;
	u64 now;

	if (!tc)
		return;
	now = gamer_now();
	tc->run_start = now;
	tc->exec_start = p->se.sum_exec_runtime;
	eff = gp_task_effective(tc, now);
	if (tc->wait_from) {
		u32 slot = tc->slot; /* a u32 key, not the u16 field */
		struct gamer_wait_hist *h = bpf_map_lookup_elem(&wait_hist, &slot);
		u32 b = gp_wait_bucket(gp_before(tc->wait_from, now) ? now - tc->wait_from : 0);

		if (h && b < GAMER_WAIT_BUCKETS) {
			if (tc->wait_wake)
				h->wake[b]++;
			else
				h->requeue[b]++;
		}
		tc->wait_from = 0;
	}
	/* A task taken from a queue moves that queue's position on. */
	if (tc->queued) {
		tc->queued = 0;
		advance_queue(tc->queue, tc->vtime);
	}
	cr = cpu_run_of(p);
	if (cr) {
		u64 vdl = gp_vdeadline(tc->vtime, tc->burst_run, weight_of(p), eff);

		/* The shared queue's tasks run here: its vtime here counts from now. */
		if (!tc->queue && !per_cpu_kthread(p)) {
			cr->grp = group_vtime(cr, cr->grp);
			cr->grp_back = 0;
		}
		cr->vdl = vdl;
		cr->cvdl = tc->queue ? vdl : gp_group_vdl(cr->grp, gp_offset0(tc->burst_run, eff));
		/* Compared across CPUs (pick_victim): one clock for all of them. */
		cr->since = bpf_ktime_get_ns();
		cr->weight = weight_of(p);
		cr->queue = tc->queue;
		/* Kernel work runs ahead of the queues: not a preemption victim. */
		cr->running = !per_cpu_kthread(p);
	}

	if (tc->deadline) {
		int missed = gp_before(tc->deadline, now);
		u32 room = gp_room(gp_task_base(tc), tc->dm.earned + tc->rm, tc->t.boost_max);
		int act;

		tc->deadline = 0;
		act = gp_dm_record(&tc->dm, missed, tc->t.dm_threshold, tc->t.dm_recover, room);
		count(tc->slot, GAMER_CNT_DM_WATCHED);
		if (missed)
			count(tc->slot, GAMER_CNT_DM_MISSES);
		if (act == GP_DM_BOOST)
			count(tc->slot, GAMER_CNT_DM_BOOSTS);
		else if (act == GP_DM_CAPPED)
			count(tc->slot, GAMER_CNT_DM_CAPPED);
		else if (act == GP_DM_RECOVER)
			count(tc->slot, GAMER_CNT_DM_RECOVERIES);
	}
}

void BPF_STRUCT_OPS(gamer_stopping, struct task_struct *p, bool runnable)
{
	struct task_ctx *tc = task_ctx_of(p);
	struct cpu_run *cr;
	u64 now, used, charge;

	if (!tc)
		return;
	now = gamer_now();
	used = run_since(p, tc);
	charge = gp_charge(used, weight_of(p), gp_task_effective(tc, now));
	cr = cpu_run_of(p);
	if (cr) {
		cr->running = 0;
		if (!tc->queue && !per_cpu_kthread(p))
			cr->grp = group_vtime(cr, cr->grp + charge);
	}
	tc->vtime += charge;
	tc->burst_run += used;
	if (runnable) {
		tc->wait_from = now;
		tc->wait_wake = 0;
	} else {
		tc->run_avg = gp_avg_update(tc->run_avg, tc->burst_run);
		tc->burst_run = 0;
		tc->sleep_start = now;
		/* Pinned tasks skip select_cpu, where it is set. */
		tc->wake_sync = 0;
	}
}

/*
 * An RT or deadline task took this CPU: what waits in its local queue is
 * handed back to ops.enqueue (SCX_ENQ_REENQ) to find another CPU.
 */
void BPF_STRUCT_OPS(gamer_cpu_release, s32 cpu, struct scx_cpu_release_args *args)
{
	/* The RT or deadline task is not ours: counted with tasks without a profile. */
	count(0, GAMER_CNT_CPU_RELEASES);
	gamer_reenqueue_local();
}

/*
 * Ask the kernel for a restart, as it does itself for a scheduler without
 * the hotplug callbacks (the daemon attaches again).
 */
static __always_inline void hotplug_restart(s32 cpu, u32 left)
{
	static char fmt[] = "cpu %d going offline with %u task(s) left in its queue";
	unsigned long long args[2] = { cpu, left };

	if (bpf_ksym_exists(scx_bpf_exit_bstr))
		scx_bpf_exit_bstr(scx_enums[GAMER_SCX_ECODE_ACT_RESTART] |
					  scx_enums[GAMER_SCX_ECODE_RSN_HOTPLUG],
				  fmt, args, sizeof(args));
}

/*
 * Test hook (--test-hotplug-restart): behave as a scheduler without the
 * hotplug callbacks, for which the kernel asks this restart itself.
 */
const volatile bool test_hotplug_restart;

static __always_inline void test_restart(s32 cpu, bool online)
{
	static char fmt[] = "cpu %d going online=%d (--test-hotplug-restart)";
	unsigned long long args[2] = { cpu, online };

	if (bpf_ksym_exists(scx_bpf_exit_bstr))
		scx_bpf_exit_bstr(scx_enums[GAMER_SCX_ECODE_ACT_RESTART] |
					  scx_enums[GAMER_SCX_ECODE_RSN_HOTPLUG],
				  fmt, args, sizeof(args));
}

/*
 * Move the tasks of queue dsq that wait on cpu's runqueue onto its local
 * queue: all of them for cpu's own queue; for the shared one, those whose
 * runqueue is cpu's. One that may not run there stays: in the shared queue
 * other CPUs can take it; in cpu's own it is never the case (it would have
 * been queued anew), and the caller asks for a restart.
 */
static __noinline void offline_move(u64 dsq, s32 cpu, bool own)
{
	struct bpf_iter_scx_dsq it;
	struct task_struct *p;

	/*
	 * An open-coded iterator loop: the verifier checks one pass, not each
	 * (so nothing that changes from pass to pass, such as a count).
	 */
	if (!bpf_iter_scx_dsq_new(&it, dsq, 0)) {
		while ((p = bpf_iter_scx_dsq_next(&it))) {
			if ((own || gamer_task_cpu(p) == cpu) && may_run_on(p, cpu))
				gamer_dsq_move(&it, p, DSQ_LOCAL_ON | (u64)cpu, 0);
		}
	}
	bpf_iter_scx_dsq_destroy(&it);
}

/*
 * cpu is going offline: ops.dispatch is no longer called for it, so what
 * waits on its runqueue in our queues goes onto its local queue, which the
 * kernel empties onto other CPUs: its own queue (pinned tasks, per-CPU
 * kthreads), and the shared queue's tasks whose runqueue is cpu's: they
 * count in its nr_running, which the hotplug waits to see empty, and a task
 * allowed only on CPUs that all go (kcompactd of a node taken offline)
 * would wait there for ever, no other CPU may take it.
 */
void BPF_STRUCT_OPS(gamer_cpu_offline, s32 cpu)
{
	u32 left;

	count(0, GAMER_CNT_HOTPLUG);
	/* The CPUs init counted: those below nr_cpus. */
	if (cpu >= 0 && (u32)cpu < nr_cpus)
		__sync_fetch_and_add(&nr_online, (__u32)-1); /* clang 14 has no BPF atomic sub */
	if (test_hotplug_restart) {
		test_restart(cpu, false);
		return;
	}
	if (!gamer_have_user_dsq() || cpu < 0 || (u32)cpu >= nr_cpus)
		return;
	if (!gamer_can_iter()) {
		left = gamer_dsq_nr_queued(CPU_DSQ(cpu)) + gamer_dsq_nr_queued(SHARED_DSQ);
		if (left)
			hotplug_restart(cpu, left);
		return;
	}
	offline_move(CPU_DSQ(cpu), cpu, true);
	offline_move(SHARED_DSQ, cpu, false);
	left = gamer_dsq_nr_queued(CPU_DSQ(cpu));
	if (left)
		hotplug_restart(cpu, left);
}

/* cpu is back: ops.dispatch runs for it again and finds its queues as left. */
void BPF_STRUCT_OPS(gamer_cpu_online, s32 cpu)
{
	count(0, GAMER_CNT_HOTPLUG);
	if (cpu >= 0 && (u32)cpu < nr_cpus)
		__sync_fetch_and_add(&nr_online, 1);
	if (test_hotplug_restart)
		test_restart(cpu, true);
}

s32 BPF_STRUCT_OPS(gamer_init_task, struct task_struct *p, struct scx_init_task_args *args)
{
	if (!bpf_task_storage_get(&task_ctxs, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE))
		return -12; /* -ENOMEM */
	return 0;
}

void BPF_STRUCT_OPS(gamer_enable, struct task_struct *p)
{
	struct task_ctx *tc = task_ctx_of(p);

	if (tc) {
		tc->vtime = vtime_now;
		tc->queue = 0;
		/*
		 * A restart (CPU hotplug) enables tasks that ran under another
		 * class meanwhile: what was measured before is no sample now.
		 */
		tc->last_wake = tc->sleep_start = tc->burst_run = 0;
		tc->queued = tc->wake_sync = tc->yielded = 0;
		/* Set again as it becomes runnable and runs (ops.runnable, ops.running). */
		tc->wait_from = tc->run_start = 0;
	}
}

/* The CPUs online now (ops.init runs with CPU hotplug held off). */
static u32 count_online(void)
{
	const struct cpumask *online;
	u32 cpu, n = 0;

	if (!bpf_ksym_exists(scx_bpf_get_online_cpumask) || !bpf_ksym_exists(scx_bpf_put_cpumask) ||
	    !bpf_ksym_exists(bpf_cpumask_test_cpu))
		return nr_cpus;
	online = scx_bpf_get_online_cpumask();
	bpf_for(cpu, 0, nr_cpus) {
		if (bpf_cpumask_test_cpu(cpu, online))
			n++;
	}
	scx_bpf_put_cpumask(online);
	return n;
}

s32 BPF_STRUCT_OPS_SLEEPABLE(gamer_init)
{
	s32 ret;
	u32 cpu;

	compat_missing = gamer_compat_missing();
	nr_online = count_online();
	if (!gamer_have_user_dsq())
		return 0;
	ret = gamer_create_dsq(SHARED_DSQ, -1);
	if (ret) {
		gamer_error("failed to create the shared DSQ: %d", ret);
		return ret;
	}
	bpf_for(cpu, 0, nr_cpus) {
		ret = gamer_create_dsq(CPU_DSQ(cpu), -1);
		if (ret) {
			gamer_error("failed to create the DSQ of CPU %u: %d", cpu, ret);
			return ret;
		}
	}
	return 0;
}

void BPF_STRUCT_OPS(gamer_exit, struct scx_exit_info *ei)
{
	struct gamer_event *ev;

	s32 cpu = -1;
	u64 head;

	/* exit_cpu is new in 7.2 (6.19 to 7.1 lack it). */
	if (bpf_core_field_exists(ei->exit_cpu))
		cpu = ei->exit_cpu;
	exit_info.exit_code = ei->exit_code;
	bpf_probe_read_kernel_str(exit_info.reason, sizeof(exit_info.reason),
				  ei->reason);
	bpf_probe_read_kernel_str(exit_info.msg, sizeof(exit_info.msg), ei->msg);
	/*
	 * kind last, by a full-barrier atomic (a release on every
	 * architecture, as a plain store is not): the daemon treats kind != 0
	 * as "the rest is written", and zeroes the record before a restart.
	 * kind and exit_cpu are the record's first 8 bytes (intf.h), written
	 * as one: BPF has 32-bit atomics only from -mcpu=v3.
	 */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	head = (u64)(u32)ei->kind | (u64)(u32)cpu << 32;
#else
	head = (u64)(u32)ei->kind << 32 | (u64)(u32)cpu;
#endif
	__sync_val_compare_and_swap((u64 *)&exit_info, 0, head);

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (ev) {
		ev->type = GAMER_EV_EXIT;
		ev->pad = 0;
		ev->ts_ns = bpf_ktime_get_ns();
		bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	}
}

/*
 * Inheritance at block time (see "Inheritance"). These run in the blocking
 * task's context before it sleeps; the daemon attaches each one the kernel
 * has. A boosted task that blocks on a lock whose owner can be read lends
 * the owner its boost, and this CPU's next ops.dispatch runs the owner at
 * once if it is waiting in a queue.
 */
#define FUTEX_TID_MASK 0x3fffffff /* include/uapi/linux/futex.h */

static __always_inline void lend_to_owner(u32 owner_vtid)
{
	struct task_struct *cur = bpf_get_current_task_btf(), *owner;
	struct gamer_handoff *h;
	struct task_ctx *wc, *oc;
	u64 now = gamer_now();
	u32 zero = 0;

	if (!owner_vtid)
		return;
	wc = task_ctx_of(cur);
	if (!wc || !wc->t.inh_enabled || !gp_task_effective(wc, now))
		return;
	if (!bpf_ksym_exists(bpf_task_release))
		return;
	/*
	 * The tid the lock holds is as the waiter's pid namespace sees it (a
	 * game in a Flatpak or pressure-vessel container): looked up there
	 * where the kernel can (6.13), else as a global tid.
	 */
	if (bpf_ksym_exists(bpf_task_from_vpid))
		owner = bpf_task_from_vpid(owner_vtid);
	else if (bpf_ksym_exists(bpf_task_from_pid))
		owner = bpf_task_from_pid(owner_vtid);
	else
		return;
	if (!owner)
		return;
	/* A process-private lock's owner is another thread of the same process. */
	if (owner->tgid != cur->tgid || owner->pid == cur->pid)
		goto out;
	oc = task_ctx_of(owner);
	if (!oc || !lend(wc, cur->pid, oc, now))
		goto out;
	/* Not a sched_ext callback: others may interleave on this CPU. */
	count_atomic(wc->slot, GAMER_CNT_INHERITANCES);
	count_atomic(wc->slot, GAMER_CNT_FUTEX_INHERITANCES);
	h = bpf_map_lookup_elem(&handoff, &zero);
	if (h) {
		h->lender = cur->pid;
		h->owner = owner->pid;
	}
out:
	bpf_task_release(owner);
}

/*
 * glibc's mutexes (nptl lowlevellock): a contended lock is waited for with
 * futex_wait(&m->__data.__lock, 2), and __owner, 8 bytes on (on x86-64 and
 * arm64), holds the owner's tid. Another futex waited for with 2 may read as
 * an owner that is no thread of the process: nothing is lent then.
 */
static __always_inline void lend_to_glibc_owner(u32 *uaddr, u64 val)
{
	u32 owner = 0;

	if (val != 2)
		return;
	if (bpf_probe_read_user(&owner, sizeof(owner), uaddr + 2))
		return;
	lend_to_owner(owner);
}

SEC("fentry/futex_wait")
int BPF_PROG(gamer_futex_wait, u32 *uaddr, unsigned int flags, u32 val)
{
	lend_to_glibc_owner(uaddr, val);
	return 0;
}

/* A PI futex's word holds its owner's tid (and flag bits above it). A trylock never blocks. */
SEC("fentry/futex_lock_pi")
int BPF_PROG(gamer_futex_lock_pi, u32 *uaddr, unsigned int flags, void *time, int trylock)
{
	u32 word = 0;

	if (!trylock && !bpf_probe_read_user(&word, sizeof(word), uaddr))
		lend_to_owner(word & FUTEX_TID_MASK);
	return 0;
}

/*
 * futex_waitv(2) (Wine's and Proton's fsync, and any program that waits for
 * several futexes): each futex that looks like a glibc mutex, as above.
 */
#define GAMER_WAITV_MAX 8

SEC("fentry/futex_wait_multiple")
int BPF_PROG(gamer_futex_waitv, struct futex_vector *vs, unsigned int count)
{
	u32 i;

	/* The running kernel's struct size: futex_q's has changed (6.16, RT builds). */
	u64 stride = bpf_core_type_size(struct futex_vector);

	for (i = 0; i < GAMER_WAITV_MAX && i < count; i++) {
		struct futex_vector *v = (void *)vs + i * stride;
		u64 uaddr = BPF_CORE_READ(v, w.uaddr), val = BPF_CORE_READ(v, w.val);

		lend_to_glibc_owner((u32 *)uaddr, val);
	}
	return 0;
}

/*
 * Game detection's process events (intf.h, struct gamer_proc_event). These
 * programs only need BTF tracepoints, not sched_ext: `run --no-attach`
 * loads and attaches them too.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} proc_events SEC(".maps");

__u64 proc_events_lost; /* records that did not fit in proc_events */


static __always_inline void proc_event_uid(u32 type, struct task_struct *p, const char *comm,
					   u32 uid)
{
	struct gamer_proc_event *e;

	e = bpf_ringbuf_reserve(&proc_events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&proc_events_lost, 1);
		return;
	}
	e->type = type;
	e->pid = p->pid;
	e->tgid = p->tgid;
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	e->ts_ns = bpf_ktime_get_boot_ns();
	if (bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), comm ? comm : p->comm) < 0)
		e->comm[0] = '\0';
	e->uid = uid;
	e->pad = 0;
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void proc_event(u32 type, struct task_struct *p, const char *comm)
{
	proc_event_uid(type, p, comm, 0);
}

static __always_inline bool proc_classified(u32 tgid)
{
	return bpf_map_lookup_elem(&proc_class, &tgid) != NULL;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(gamer_proc_exec, struct task_struct *p, pid_t old_pid)
{
	u32 old = (u32)old_pid;

	/* A non-leader thread that execs takes the tgid; its old tid is free. */
	if (old != (u32)p->pid)
		bpf_map_delete_elem(&task_class, &old);
	proc_event(GAMER_PEV_EXEC, p, NULL);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(gamer_proc_fork, struct task_struct *parent, struct task_struct *child)
{
	u32 ptgid = parent->tgid, ctgid = child->tgid, ctid = child->pid;
	struct gamer_class *pc, c;

	/*
	 * An entry left under a reused tid (the daemon wrote it for a thread
	 * that had already exited) is not this task's.
	 */
	bpf_map_delete_elem(&task_class, &ctid);
	pc = bpf_map_lookup_elem(&proc_class, &ptgid);
	if (!pc) {
		/* An entry left under a reused tgid is not this process's. */
		if (ctgid != ptgid)
			bpf_map_delete_elem(&proc_class, &ctgid);
		return 0;
	}
	if (ctgid == ptgid) {
		proc_event(GAMER_PEV_THREAD, child, NULL);
		return 0;
	}
	/*
	 * A child process takes its parent's profile before it first runs (this
	 * tracepoint precedes its first wake-up); the daemon re-decides when it
	 * execs.
	 */
	__builtin_memcpy(&c, pc, sizeof(c));
	c.role = GAMER_ROLE_NONE;
	c.boost = GAMER_BOOST_FROM_ROLE;
	c.how = GAMER_HOW_INHERITED;
	c.from = ptgid;
	c.rule = 0;
	c.since_ns = bpf_ktime_get_boot_ns();
	bpf_map_update_elem(&proc_class, &ctgid, &c, BPF_ANY);
	proc_event(GAMER_PEV_FORK, child, NULL);
	return 0;
}

SEC("tp_btf/task_rename")
int BPF_PROG(gamer_proc_rename, struct task_struct *p, const char *comm)
{
	/* Called before p->comm changes: the new name is comm. */
	if (p->flags & PF_KTHREAD)
		return 0;
	/* exec renames too; its own event follows, with the new image complete. */
	if (bpf_core_field_exists(p->in_execve)) {
		struct task_struct *task = p; /* the macro has its own "p" */

		if (BPF_CORE_READ_BITFIELD(task, in_execve))
			return 0;
	}
	if (p->pid == p->tgid || proc_classified(p->tgid))
		proc_event(GAMER_PEV_RENAME, p, comm);
	return 0;
}

/*
 * A process taking on another real uid without an exec (setuid(2) and its
 * kin; glibc changes every thread, the main one among them; an exec never
 * changes the real uid): game_users is about the real uid, so the daemon
 * decides it again. commit_creds() cannot fail: on the way in the main
 * thread's change is noted (creds_pending), on the way out - the new
 * credentials installed, so /proc shows them - the event is sent, with the
 * uid. A process whose main thread has exited sends none (its /proc status
 * keeps the old uid too). Optional: the daemon attaches both where the
 * kernel can trace commit_creds().
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH); /* an entry left behind ages out */
	__uint(max_entries, 1024);
	__type(key, u32);   /* tid */
	__type(value, u32); /* the real uid it is taking */
} creds_pending SEC(".maps");

/* Set by the daemon while game_users is: nothing else needs uid changes. */
__u32 want_creds;

SEC("fentry/commit_creds")
int BPF_PROG(gamer_proc_creds, struct cred *new)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	u32 uid = BPF_CORE_READ(new, uid.val), tid = cur->pid;

	if (!want_creds)
		return 0;
	if ((cur->flags & PF_KTHREAD) || cur->pid != cur->tgid)
		return 0;
	if (uid == BPF_CORE_READ(cur, real_cred, uid.val))
		return 0;
	bpf_map_update_elem(&creds_pending, &tid, &uid, BPF_ANY);
	return 0;
}

SEC("fexit/commit_creds")
int BPF_PROG(gamer_proc_creds_done, struct cred *new, int ret)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	u32 tid = cur->pid, *uid = bpf_map_lookup_elem(&creds_pending, &tid), v;

	if (!uid)
		return 0;
	v = *uid;
	bpf_map_delete_elem(&creds_pending, &tid);
	proc_event_uid(GAMER_PEV_CREDS, cur, NULL, v);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(gamer_proc_exit, struct task_struct *p)
{
	u32 tid = p->pid, tgid = p->tgid;

	bpf_map_delete_elem(&task_class, &tid);
	/* do_exit() has counted this thread out of signal->live already. */
	if (BPF_CORE_READ(p, signal, live.counter) != 0 || !proc_classified(tgid))
		return 0;
	bpf_map_delete_elem(&proc_class, &tgid);
	proc_event(GAMER_PEV_EXIT, p, NULL);
	return 0;
}

/*
 * Test program (run with BPF_PROG_TEST_RUN, never attached): reads a profile
 * the way the scheduler does, many times, and counts values that mix two
 * writes. naive = 1 reads one slot without the version protocol, to show the
 * check does catch torn values. See tests/host/torn_reads.c.
 */
struct test_read_ctx {
	u32 id, naive;
};

/*
 * Counts live in .bss, not on the stack: the verifier tracks stack values
 * exactly, and counters that differ on every pass keep it from ever seeing
 * the loop converge.
 */
struct {
	__u32 ok, torn, busy, absent;
} test_read_counts;

/* One read; bpf_loop() keeps the verifier from unrolling a long loop. */
static long test_read_one(u64 index, void *data)
{
	struct test_read_ctx *c = data;
	struct gamer_tunables t;

	if (c->naive) {
		u32 slot = 2 * c->id;
		struct gamer_tunables *p = bpf_map_lookup_elem(&profile_slots, &slot);

		if (!p)
			return 1;
		__builtin_memcpy(&t, p, sizeof(t));
	} else {
		int r = gamer_read_tunables(c->id, &t);

		if (r == GAMER_READ_BUSY) {
			test_read_counts.busy++;
			return 0;
		}
		if (r == GAMER_READ_ABSENT) {
			test_read_counts.absent++;
			return 0;
		}
	}
	if (gamer_test_consistent(&t))
		test_read_counts.ok++;
	else
		test_read_counts.torn++;
	return 0;
}

SEC("syscall")
int gamer_test_read(struct gamer_test_read_args *args)
{
	struct test_read_ctx c = { .id = args->id, .naive = args->naive };
	u32 n = args->iterations;

	if (c.id >= GAMER_MAX_PROFILES)
		return -1;
	if (n > GAMER_TEST_READ_MAX)
		n = GAMER_TEST_READ_MAX;
	/* Test runs are not concurrent: the counts are this run's. */
	__builtin_memset(&test_read_counts, 0, sizeof(test_read_counts));
	bpf_loop(n, test_read_one, &c, 0);
	args->ok = test_read_counts.ok;
	args->torn = test_read_counts.torn;
	args->busy = test_read_counts.busy;
	args->absent = test_read_counts.absent;
	return 0;
}

/*
 * Test program (BPF_PROG_TEST_RUN, never attached): runs one policy.h function
 * as the scheduler's build of it, for tests/host/policy_test.c to compare
 * with the host build.
 */
SEC("syscall")
int gamer_test_policy(struct gamer_test_policy_args *args)
{
	struct gamer_test_policy_args a;

	__builtin_memcpy(&a, args, sizeof(a));
	if (gamer_test_policy_eval(&a))
		return -1;
	__builtin_memcpy(args->out, a.out, sizeof(a.out));
	return 0;
}

SEC(".struct_ops.link")
struct sched_ext_ops gamer_ops = {
	.select_cpu = (void *)gamer_select_cpu,
	.runnable = (void *)gamer_runnable,
	.enqueue = (void *)gamer_enqueue,
	.dispatch = (void *)gamer_dispatch,
	.tick = (void *)gamer_tick,
	.running = (void *)gamer_running,
	.stopping = (void *)gamer_stopping,
	.yield = (void *)gamer_yield,
	.cpu_release = (void *)gamer_cpu_release,
	.cpu_online = (void *)gamer_cpu_online,
	.cpu_offline = (void *)gamer_cpu_offline,
	.init_task = (void *)gamer_init_task,
	.enable = (void *)gamer_enable,
	.init = (void *)gamer_init,
	.exit = (void *)gamer_exit,
	/* The watchdog's limit (the kernel's maximum, 30 s, is its default). */
	.timeout_ms = GAMER_WATCHDOG_MS,
	.name = GAMER_OPS_NAME,
};
