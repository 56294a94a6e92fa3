/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scx_gamer: a sched_ext scheduler for games.
 *
 * This is the whole policy; docs/POLICY.md and the daemon point here. The
 * arithmetic lives in policy.h, shared with the host tests.
 *
 * Classes. Every task belongs to a profile (its game's, else profile 0, the
 * defaults) and may have a role (render, audio, ...). The daemon's game
 * detection writes them into task_class (per thread) and proc_class (per
 * process) and bumps class_gen; the gamer_proc_* tracepoints at the end of
 * this file tell it about execs, forks, threads, renames and exits, copy a
 * classified process's entry to its children at fork and delete entries when
 * tasks exit. Each task caches its class and a copy of its
 * profile's tunables in task-local storage and refreshes the copy when
 * class_gen or its profile's version moves: the hot path costs the storage
 * lookup and two array loads, and a profile edit applies at a task's next
 * scheduling event.
 *
 * Boost. base = the class's explicit boost, else roles.ROLE of the profile,
 * else 0. earned = deadline-miss levels (if deadline_miss.enabled) + the
 * rate-monotonic +1 (if granted at the last wake-up). effective =
 * base + earned, where the earned part never lifts it above boost.max (a base
 * above boost.max stays), then raised to a live inherited boost. 0..7.
 *
 * Ordering. A task's fair vtime grows by the CPU time it used x 100 / weight.
 * A task that waits in the shared queue is keyed by
 *     key = max(vtime, vtime_now - slice) + (7 - effective) x slice
 * and CPUs take the smallest key. vtime_now follows the largest vtime among
 * tasks that start running. So boost 7 sorts at its vtime, boost 0 seven
 * slices behind: a boost buys a bounded lead, never strict priority.
 *
 * Worst-case wait. A queued task T with key K runs once every task ahead of it
 * has a key above K. A competitor U (weight w_U) ahead of T can use at most
 * (K - key_U) x w_U / 100 of CPU before its own key passes K, and
 * K - key_U <= 7 slices (lag) + 1 slice (sleeper clamp) + the slice U is
 * running. So with N CPUs and nice-0 competitors, a boost-0 task waits at most
 * about (runnable tasks) x 9 slices / N: a flood of 100 boost-7 hogs on 4 CPUs
 * with 5 ms slices keeps it waiting at most ~1.1 s, far below the watchdog's
 * 30 s (the bound grows with the competitors' weight: nice -20 is x100).
 * tests/vm/starve.vm runs a boost-0 thread under boost-7 hogs for 60 s.
 *
 * Wake-up preemption. A woken task with effective boost b > 0 that finds no
 * idle CPU looks at up to 64 CPUs, from its previous one on, for the one
 * running the lowest-boosted task (boost as of when that task started
 * running, the longest-running on a tie) and, if that boost is below b,
 * makes the CPU reschedule (SCX_KICK_PREEMPT; counted as preemptions in the
 * wakee's profile). The preempted task goes back to the queue under its own
 * key and the CPU takes the smallest key: the boost lead makes that the
 * wakee's unless the preempted task's vtime is far enough behind, so
 * preemption never breaks the ordering above, and the worst-case wait bound
 * stands (a task can be interrupted more often, never passed over longer).
 * Not on FIFO kernels (no user queue: the wakee would not be taken first).
 *
 * Deadline misses. A task is watched at a wake-up when deadline_miss.enabled
 * and its effective boost >= deadline_miss.min_boost. Its deadline is
 * wake time + (8 - effective) x slice (8 slices at boost 0, 1 at boost 7);
 * it MISSES when it starts running after the deadline, else it meets it
 * (time spent queued is what the scheduler controls; how long the task then
 * computes is not). threshold misses in a row earn one level (up to the
 * room below boost.max); recover met deadlines in a row (recover > 0) give one
 * earned level back. Each watched wake-up is counted, as are misses, levels
 * earned, thresholds reached with no room, and levels given back.
 *
 * Inheritance. When a task W wakes a task T synchronously - the kernel's
 * SCX_WAKE_SYNC (pipes, sockets), or a futex wake (pthread mutexes and
 * condition variables carry no SYNC flag; fentry/fexit on futex_wake mark
 * the waking CPU) - and T's effective boost is above W's, W borrows
 * min(T's boost, T's inheritance.max_boost) for T's inheritance.duration,
 * if T's profile has inheritance.enabled. The waker is the one whose next run
 * T's progress is likely to depend on (the other end of a request/reply pair,
 * the lock holder that will hand the lock back).
 *
 * Rate-monotonic. At each wake-up the gap since the previous one updates the
 * task's period estimate (an exponentially weighted mean, new sample 1/8,
 * a sample above 4x the mean counts as 4x: one long sleep cannot make a
 * periodic task look aperiodic), and each completed burst (wake-up to sleep)
 * updates its run-time mean the same way, as does each sleep its sleep-time
 * mean. After 4 samples, a task with period <= rate_monotonic.period whose
 * boost without this +1 is below below_boost gets +1 for this wake-up -
 * unless it runs over 50% of the time it is not kept waiting
 * (run / (run + sleep)): a task that wakes often but computes most of the
 * time gains nothing (counted as rm_util_denied), even when others keep it
 * queued so long that its wake-ups space out. A task refused so must come down to
 * 25% before it gains again (hysteresis: a noisy estimate does not flicker).
 *
 * Placement. With numa: true, frame-pipeline roles (render, gpu, compositor,
 * game) go to an idle CPU of the node they last ran on (prev CPU first), then
 * to any idle CPU by the kernel's default search; the placement is counted as
 * local or remote. Other tasks, and all tasks with numa: false, use the
 * default search (prev CPU if idle, an idle core, any idle CPU). A task placed
 * on an idle CPU goes straight to its local queue.
 *
 * Counters. counters[profile] (per-CPU, atomic adds) for every event above;
 * the table is GAMER_COUNTERS in intf.h, printed by `scx_gamer stats`.
 *
 * Exit. When the scheduler stops for any reason (daemon exit, a killed
 * daemon closing the struct_ops link, a BPF error, the watchdog) ops.exit
 * copies the kernel's kind, reason and message into exit_info and wakes the
 * daemon through the events ring buffer.
 *
 * Old or broken kernels. Where the kernel offers no callable
 * scx_bpf_create_dsq (Debian's 7.1 and 7.2 builds, see compat.bpf.h) there is
 * no user queue to order by key: tasks then go FIFO into the kernel's global
 * queue, still sliced and still starvation-free, boosts order nothing (the
 * other mechanisms still run and count), and the daemon warns.
 *
 * Limits. One shared queue: fine for desktop-sized machines, a contention
 * point on very large ones. No preemption of a running task by a boosted one:
 * a boosted task waits at most for the end of one slice on some CPU.
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

/*
 * Each CPU keeps its own copy of the defaults and reloads it when the
 * published version moves; cfg_seen shows what each CPU last loaded.
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

/* Per CPU: the tid inside futex_wake() on this CPU, 0 if none. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} futex_waker SEC(".maps");

/* struct task_ctx, what the scheduler keeps per task, is in policy.h. */

/*
 * What each CPU runs, for wake-up preemption: the effective boost of the
 * task it started last and when, or CPU_NOT_RUNNING between tasks. Each CPU
 * writes only its own entry; others read it racily (a stale value costs one
 * wrong or missed preemption).
 */
#define CPU_NOT_RUNNING 0xff
/* A woken task looks at this many CPUs, from its previous one, for a victim. */
#define PREEMPT_SCAN 64

struct cpu_run {
	u32 boost;
	u32 pad;
	u64 since;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GAMER_MAX_CPUS);
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

__u64 vtime_now;
struct gamer_exit_info exit_info;
__u32 compat_missing; /* enum gamer_compat bits, set by ops.init */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

static __always_inline bool vtime_before(u64 a, u64 b)
{
	return (s64)(a - b) < 0;
}

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

static __always_inline void count(u32 slot, u32 idx)
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

/* Is the current task inside futex_wake() on this CPU? */
static __always_inline bool in_futex_wake(struct task_struct *cur)
{
	u32 zero = 0, *w = bpf_map_lookup_elem(&futex_waker, &zero);

	return w && *w && *w == (u32)cur->pid;
}

/* p is being woken by the current task: lend p's boost to the waker. */
static __always_inline void maybe_inherit(struct task_struct *p, struct task_ctx *tc,
					  u64 wake_flags, u64 now)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct task_ctx *wc;
	bool futex;
	u32 lend;

	if (!tc->t.inh_enabled)
		return;
	futex = !(wake_flags & SCX_WAKE_SYNC) && in_futex_wake(cur);
	if (!(wake_flags & SCX_WAKE_SYNC) && !futex)
		return;
	if (cur == p)
		return;
	wc = task_ctx_of(cur);
	if (!wc)
		return;
	task_refresh(cur, wc);
	lend = gp_inherit(gp_task_effective(wc, now), gp_task_effective(tc, now), tc->t.inh_max_boost);
	if (!lend)
		return;
	wc->inh_boost = lend;
	wc->inh_until = now + tc->t.inh_duration_ns;
	count(tc->slot, GAMER_CNT_INHERITANCES);
	if (futex)
		count(tc->slot, GAMER_CNT_FUTEX_INHERITANCES);
}

s32 scx_bpf_test_and_clear_cpu_idle(s32 cpu) __ksym __weak;
bool bpf_cpumask_test_cpu(u32 cpu, const struct cpumask *cpumask) __ksym __weak;

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

/* An idle CPU p may use on node (prev first), claimed; -1 if none. */
static __always_inline s32 pick_idle_on_node(struct task_struct *p, s32 prev, u32 node)
{
	u32 i, n;

	if (!bpf_ksym_exists(scx_bpf_test_and_clear_cpu_idle))
		return -1;
	if (!bpf_ksym_exists(bpf_cpumask_test_cpu))
		return -1;
	if (node >= GAMER_MAX_NODES)
		return -1;
	if (node_of(prev) == node && bpf_cpumask_test_cpu(prev, p->cpus_ptr) &&
	    scx_bpf_test_and_clear_cpu_idle(prev))
		return prev;
	node = bounded(node, GAMER_MAX_NODES);
	n = node_nr_cpus[node];
	if (n > GAMER_MAX_NODE_CPUS)
		n = GAMER_MAX_NODE_CPUS;
	bpf_for(i, 0, n) {
		s32 cpu = node_cpus[node][bounded(i, GAMER_MAX_NODE_CPUS)];

		if (cpu == prev || !bpf_cpumask_test_cpu(cpu, p->cpus_ptr))
			continue;
		if (scx_bpf_test_and_clear_cpu_idle(cpu))
			return cpu;
	}
	return -1;
}

static __always_inline void direct_dispatch(struct task_struct *p, struct task_ctx *tc)
{
	gamer_dsq_insert(p, SCX_DSQ_LOCAL, slice_of(tc), 0);
	count(tc->slot, GAMER_CNT_DISPATCHES);
	count(tc->slot, GAMER_CNT_DIRECT);
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
	now = bpf_ktime_get_ns();
	task_refresh(p, tc);
	maybe_inherit(p, tc, wake_flags, now);

	if (tc->t.numa && nr_nodes > 1 && gp_is_frame_role(tc->role)) {
		u32 node = node_of(prev_cpu);

		cpu = pick_idle_on_node(p, prev_cpu, node);
		if (cpu >= 0) {
			count(tc->slot, GAMER_CNT_NUMA_LOCAL);
			direct_dispatch(p, tc);
			return cpu;
		}
		cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
		if (is_idle) {
			count(tc->slot, node_of(cpu) == node ? GAMER_CNT_NUMA_LOCAL :
							       GAMER_CNT_NUMA_REMOTE);
			direct_dispatch(p, tc);
		}
		return cpu;
	}

	cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
	if (is_idle)
		direct_dispatch(p, tc);
	return cpu;
}

/* A wake-up: period sample, rate-monotonic decision, deadline. */
void BPF_STRUCT_OPS(gamer_runnable, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tc;
	u32 eff;
	u64 now;

	if (!(enq_flags & SCX_ENQ_WAKEUP))
		return;
	tc = task_ctx_of(p);
	if (!tc)
		return;
	now = bpf_ktime_get_ns();
	task_refresh(p, tc);

	if (tc->last_wake && vtime_before(tc->last_wake, now)) {
		tc->period_avg = gp_avg_update(tc->period_avg, now - tc->last_wake);
		if (tc->rm_samples < 0xffff)
			tc->rm_samples++;
	}
	tc->last_wake = now;
	if (tc->sleep_start && vtime_before(tc->sleep_start, now))
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

static __always_inline void note_cpu_run(u32 boost, u64 now)
{
	u32 cpu = bpf_get_smp_processor_id();
	struct cpu_run *r = bpf_map_lookup_elem(&cpu_runs, &cpu);

	if (r) {
		r->boost = boost;
		r->since = now;
	}
}

/*
 * Wake-up preemption: p (effective boost eff) was queued and no CPU is idle.
 * The CPU running the lowest-boosted task below eff (the longest-running on
 * a tie), looked for from p's previous CPU on, is told to reschedule: its
 * task goes back to the queue under its own key and the CPU takes the
 * smallest key, which the boost lead makes p's. Without this a boosted
 * wake-up waits for a running task's slice to end.
 */
static __always_inline void preempt_for(struct task_struct *p, u32 eff, u32 slot)
{
	u32 prev = 0, n = nr_cpus, best_boost = eff, i;
	u64 best_since = ~0ULL;
	s32 best = -1;

	if (!bpf_ksym_exists(scx_bpf_kick_cpu))
		return;
	if (bpf_ksym_exists(scx_bpf_task_cpu))
		prev = (u32)scx_bpf_task_cpu(p);
	if (!n || n > GAMER_MAX_CPUS || prev >= n)
		return;
	for (i = 0; i < PREEMPT_SCAN && i < n; i++) {
		u32 cpu = (prev + i) % n;
		struct cpu_run *r = bpf_map_lookup_elem(&cpu_runs, &cpu);

		if (!r || r->boost == CPU_NOT_RUNNING || r->boost > best_boost)
			continue;
		if (r->boost == best_boost && (best < 0 || r->since >= best_since))
			continue;
		if (bpf_ksym_exists(bpf_cpumask_test_cpu) &&
		    !bpf_cpumask_test_cpu(cpu, p->cpus_ptr))
			continue;
		best = (s32)cpu;
		best_boost = r->boost;
		best_since = r->since;
	}
	/* Only a strictly lower boost is preempted. */
	if (best < 0 || best_boost >= eff)
		return;
	scx_bpf_kick_cpu(best, SCX_KICK_PREEMPT);
	count(slot, GAMER_CNT_PREEMPTIONS);
}

void BPF_STRUCT_OPS(gamer_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tc = task_ctx_of(p);
	u64 slice, key, floor;
	u32 eff = 0;

	if (!tc) {
		gamer_dsq_insert(p, SCX_DSQ_GLOBAL, FALLBACK_SLICE_NS, enq_flags);
		return;
	}
	task_refresh(p, tc);
	slice = slice_of(tc);
	if (gamer_have_user_dsq()) {
		/* A sleeper keeps at most one slice of credit (see top comment). */
		floor = vtime_now - slice;
		if (vtime_before(tc->vtime, floor))
			tc->vtime = floor;
		eff = gp_task_effective(tc, bpf_ktime_get_ns());
		key = gp_queue_key(tc->vtime, vtime_now, slice, eff);
		gamer_dsq_insert_vtime(p, SHARED_DSQ, slice, key, enq_flags);
	} else {
		gamer_dsq_insert(p, SCX_DSQ_GLOBAL, slice, enq_flags);
	}
	count(tc->slot, GAMER_CNT_DISPATCHES);

	/*
	 * select_cpu was skipped (or found nothing idle then); a CPU may have
	 * gone idle since. Wake one so the task does not wait for a tick; if
	 * none is, a boosted wake-up preempts a lower-boosted task (on FIFO
	 * kernels the queue would not put it first, so not there).
	 */
	if (gamer_kick_idle_cpu_for(p))
		return;
	if (eff && (enq_flags & SCX_ENQ_WAKEUP))
		preempt_for(p, eff, tc->slot);
}

void BPF_STRUCT_OPS(gamer_dispatch, s32 cpu, struct task_struct *prev)
{
	/*
	 * The test hook is checked here rather than in ops.tick: ticks stop on
	 * an idle machine, but a CPU going idle always dispatches.
	 */
	u32 code = test_error_code;

	if (code)
		gamer_error("test-triggered error (code %u)", code);

	refresh_cpu_defaults();
	/* The kernel drains SCX_DSQ_GLOBAL itself. */
	if (gamer_have_user_dsq())
		gamer_dsq_move_to_local(SHARED_DSQ);
}

void BPF_STRUCT_OPS(gamer_tick, struct task_struct *p)
{
	refresh_cpu_defaults();
}

void BPF_STRUCT_OPS(gamer_running, struct task_struct *p)
{
	struct task_ctx *tc = task_ctx_of(p);
	u64 now;

	if (!tc)
		return;
	now = bpf_ktime_get_ns();
	tc->run_start = now;
	note_cpu_run(gp_task_effective(tc, now), now);
	/* Racy across CPUs by design: an approximate clock is enough here. */
	if (vtime_before(vtime_now, tc->vtime))
		vtime_now = tc->vtime;

	if (tc->deadline) {
		int missed = vtime_before(tc->deadline, now);
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
	u32 weight = p->scx.weight ? p->scx.weight : 1;
	u64 now, used;

	if (!tc)
		return;
	now = bpf_ktime_get_ns();
	note_cpu_run(CPU_NOT_RUNNING, now);
	used = vtime_before(tc->run_start, now) ? now - tc->run_start : 0;
	tc->vtime += used * 100 / weight;
	tc->burst_run += used;
	if (!runnable) {
		tc->run_avg = gp_avg_update(tc->run_avg, tc->burst_run);
		tc->burst_run = 0;
		tc->sleep_start = now;
	}
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

	if (tc)
		tc->vtime = vtime_now;
}

s32 BPF_STRUCT_OPS_SLEEPABLE(gamer_init)
{
	s32 ret;

	compat_missing = gamer_compat_missing();
	if (!gamer_have_user_dsq())
		return 0;
	ret = gamer_create_dsq(SHARED_DSQ, -1);
	if (ret)
		gamer_error("failed to create the shared DSQ: %d", ret);
	return ret;
}

void BPF_STRUCT_OPS(gamer_exit, struct scx_exit_info *ei)
{
	struct gamer_event *ev;

	/* exit_cpu is new in 7.2 (6.19 to 7.1 lack it). */
	if (bpf_core_field_exists(ei->exit_cpu))
		exit_info.exit_cpu = ei->exit_cpu;
	else
		exit_info.exit_cpu = -1;
	exit_info.exit_code = ei->exit_code;
	bpf_probe_read_kernel_str(exit_info.reason, sizeof(exit_info.reason),
				  ei->reason);
	bpf_probe_read_kernel_str(exit_info.msg, sizeof(exit_info.msg), ei->msg);
	/* kind last: the daemon treats kind != 0 as "the rest is written". */
	asm volatile("" ::: "memory");
	exit_info.kind = ei->kind;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (ev) {
		ev->type = GAMER_EV_EXIT;
		ev->pad = 0;
		ev->ts_ns = bpf_ktime_get_ns();
		bpf_ringbuf_submit(ev, BPF_RB_FORCE_WAKEUP);
	}
}

/*
 * Futex hand-offs (see "Inheritance"): mark this CPU while a task is inside
 * futex_wake(), so that select_cpu knows the wake-up it sees is one. The
 * daemon attaches these with the scheduler; a kernel where it cannot leaves
 * futex wakes without inheritance.
 */
SEC("fentry/futex_wake")
int BPF_PROG(gamer_futex_wake_enter)
{
	u32 zero = 0, *w = bpf_map_lookup_elem(&futex_waker, &zero);

	if (w)
		*w = (u32)bpf_get_current_pid_tgid();
	return 0;
}

SEC("fexit/futex_wake")
int BPF_PROG(gamer_futex_wake_exit)
{
	u32 zero = 0, *w = bpf_map_lookup_elem(&futex_waker, &zero);

	if (w)
		*w = 0;
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

#define PF_KTHREAD 0x00200000 /* include/linux/sched.h */

static __always_inline void proc_event(u32 type, struct task_struct *p, const char *comm)
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
	bpf_ringbuf_submit(e, 0);
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
	.init_task = (void *)gamer_init_task,
	.enable = (void *)gamer_enable,
	.init = (void *)gamer_init,
	.exit = (void *)gamer_exit,
	.name = GAMER_OPS_NAME,
};
