/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * scx_gamer: a sched_ext scheduler for games.
 *
 * This is the whole policy; docs/ and the daemon point here.
 *
 * Ordering. Every runnable task that does not find an idle CPU goes into one
 * shared dispatch queue ordered by virtual time (vtime). A task's vtime grows
 * by the CPU time it used, scaled by 100 / weight (weight 100 = nice 0), so
 * CPU time is shared in proportion to weight and the task that has run least
 * goes first. CPUs pull from the head of that queue when they run out of work.
 *
 * No starvation. vtime_now follows the vtime of the tasks that start running.
 * A task that slept is put back no further behind vtime_now than one slice,
 * so a sleeper gets a head start of at most one slice and cannot build up
 * credit that would let it monopolise a CPU. A task that waits in the queue
 * has a fixed vtime while every running task's vtime grows, so it reaches the
 * head after at most (runnable tasks x slice) of CPU time has gone to others:
 * far below the sched_ext watchdog's timeout for any sane number of tasks.
 *
 * Placement. On wake-up the kernel's default idle-CPU search picks a CPU
 * (prev CPU if idle, then an idle core, then any idle CPU); if it found an
 * idle one the task is inserted straight into that CPU's local queue and
 * skips the shared queue. A task queued while some CPU it may use is idle
 * kicks that CPU so it pulls the task at once.
 *
 * Exit. When the scheduler stops for any reason (daemon exit, a killed
 * daemon closing the struct_ops link, a BPF error, the watchdog) ops.exit
 * copies the kernel's kind, reason and message into exit_info and wakes the
 * daemon through the events ring buffer.
 *
 * Old or broken kernels. Where the kernel offers no callable
 * scx_bpf_create_dsq (Debian's 7.1 and 7.2 builds, see compat.bpf.h) there is
 * no user queue to order by vtime: tasks then go FIFO into the kernel's
 * global queue, still sliced and still starvation-free, and the daemon warns.
 * compat_missing tells userspace what else the kernel could not give.
 *
 * Limits. One shared queue: fine for the desktop-sized machines this targets,
 * a contention point on very large ones. Boosts, deadlines and NUMA placement
 * arrive with the policy work and will be described here.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "intf.h"
#include "intf_test.h"
#include "compat.bpf.h"
#include "profile.bpf.h"

char _license[] SEC("license") = "GPL";

#define SHARED_DSQ 0

/*
 * Globals use __u64/__u32: the generated skeleton exposes them to userspace,
 * which has no u64. Tunables are not globals: they live in the profile maps
 * (profile.bpf.h), which the daemon rewrites live.
 */

/* Used until the daemon has published the defaults (profile 0). */
#define FALLBACK_SLICE_NS (5ULL * 1000 * 1000)

/*
 * Each CPU keeps its own copy of the defaults and reloads it when the
 * published version moves: one version load on the hot path, and a copy no
 * other CPU writes to.
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
static __always_inline const struct gamer_tunables *defaults(void)
{
	u32 zero = 0, id = GAMER_PROFILE_DEFAULTS;
	struct gamer_cfg_seen *seen;
	struct cpu_cfg *c;
	u64 *verp, ver;

	c = bpf_map_lookup_elem(&cpu_cfg, &zero);
	verp = bpf_map_lookup_elem(&profile_ver, &id);
	if (!c || !verp)
		return NULL;
	ver = *(volatile u64 *)verp;
	if (ver == c->ver)
		return c->ver ? &c->t : NULL;
	/* On GAMER_READ_BUSY keep the old copy and try again next time. */
	if (gamer_read_tunables(id, &c->t) != GAMER_READ_OK)
		return c->ver ? &c->t : NULL;
	c->ver = ver;
	seen = bpf_map_lookup_elem(&cfg_seen, &zero);
	if (seen) {
		seen->ver = ver;
		seen->slice_ns = c->t.slice_ns;
	}
	return &c->t;
}

static __always_inline u64 slice_of(const struct gamer_tunables *t)
{
	return t ? t->slice_ns : FALLBACK_SLICE_NS;
}

s32 BPF_STRUCT_OPS(gamer_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	bool is_idle = false;
	s32 cpu;

	cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
	if (is_idle)
		gamer_dsq_insert(p, SCX_DSQ_LOCAL, slice_of(defaults()), 0);
	return cpu;
}

void BPF_STRUCT_OPS(gamer_enqueue, struct task_struct *p, u64 enq_flags)
{
	u64 vtime = p->scx.dsq_vtime;
	u64 slice = slice_of(defaults());

	if (gamer_have_user_dsq()) {
		/* A sleeper keeps at most one slice of credit (see top comment). */
		if (vtime_before(vtime, vtime_now - slice))
			vtime = vtime_now - slice;
		gamer_dsq_insert_vtime(p, SHARED_DSQ, slice, vtime, enq_flags);
	} else {
		gamer_dsq_insert(p, SCX_DSQ_GLOBAL, slice, enq_flags);
	}

	/*
	 * select_cpu was skipped (or found nothing idle then); a CPU may have
	 * gone idle since. Wake one so the task does not wait for a tick.
	 */
	gamer_kick_idle_cpu_for(p);
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

	/* The kernel drains SCX_DSQ_GLOBAL itself. */
	if (gamer_have_user_dsq())
		gamer_dsq_move_to_local(SHARED_DSQ);
}

void BPF_STRUCT_OPS(gamer_running, struct task_struct *p)
{
	/* Racy across CPUs by design: an approximate clock is enough here. */
	if (vtime_before(vtime_now, p->scx.dsq_vtime))
		vtime_now = p->scx.dsq_vtime;
}

void BPF_STRUCT_OPS(gamer_stopping, struct task_struct *p, bool runnable)
{
	u64 slice = slice_of(defaults());
	u64 left = p->scx.slice;
	u64 used = left < slice ? slice - left : 0;
	u32 weight = p->scx.weight ? p->scx.weight : 1;

	gamer_set_dsq_vtime(p, p->scx.dsq_vtime + used * 100 / weight);
}

void BPF_STRUCT_OPS(gamer_enable, struct task_struct *p)
{
	gamer_set_dsq_vtime(p, vtime_now);
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

SEC(".struct_ops.link")
struct sched_ext_ops gamer_ops = {
	.select_cpu = (void *)gamer_select_cpu,
	.enqueue = (void *)gamer_enqueue,
	.dispatch = (void *)gamer_dispatch,
	.running = (void *)gamer_running,
	.stopping = (void *)gamer_stopping,
	.enable = (void *)gamer_enable,
	.init = (void *)gamer_init,
	.exit = (void *)gamer_exit,
	.name = GAMER_OPS_NAME,
};
