/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sched_ext kfuncs across kernel versions, picked by feature probe.
 *
 * Every kfunc is declared __weak: a kfunc the running kernel lacks resolves to
 * NULL instead of failing the load, and bpf_ksym_exists() lets the verifier
 * prune the branch that would call it. Prototypes must match the kernel's BTF:
 * libbpf leaves a weak kfunc unresolved when they differ.
 *
 * Kernels 7.1+ give many kfuncs a hidden struct bpf_prog_aux * argument: BTF
 * shows the BPF-facing prototype under the plain name and the real function as
 * "<name>_impl", and the verifier needs both. Debian's 7.1 and 7.2 builds lack
 * some _impl entries (7.2: create_dsq, pick_idle_cpu, kick_cpu, error_bstr,
 * task_set_dsq_vtime; 7.1: create_dsq, exit_bstr, task_set_dsq_vtime); their
 * plain entry then still shows the aux argument. The verifier rejects any call
 * to such a kfunc, even one in dead code, so we never declare that prototype:
 * our declaration stays unresolved there and the code takes its fallback.
 * What each missing kfunc costs is recorded in compat_missing (intf.h).
 */
#ifndef SCX_GAMER_COMPAT_BPF_H
#define SCX_GAMER_COMPAT_BPF_H

/* struct_ops callbacks with typed arguments; .s marks a sleepable one. */
#define BPF_STRUCT_OPS(name, args...)						\
	SEC("struct_ops/" #name) BPF_PROG(name, ##args)
#define BPF_STRUCT_OPS_SLEEPABLE(name, args...)				\
	SEC("struct_ops.s/" #name) BPF_PROG(name, ##args)

/*
 * 7.1 added scx_bpf_dsq_move_to_local___v2(dsq_id, enq_flags) and kept the
 * one-argument form; libbpf matches a kfunc by the name before its last
 * "___", so the kernel's ___v2 is declared with a flavour of our own.
 */
bool scx_bpf_dsq_move_to_local___v2___gamer(u64 dsq_id, u64 enq_flags) __ksym __weak;
/*
 * 6.19 added the forms upstream keeps: scx_bpf_dsq_insert___v2 (returns
 * whether it inserted) and __scx_bpf_dsq_insert_vtime (its arguments in a
 * struct, past the five-argument limit of a kfunc call); the older names are
 * on their way out. Same ___gamer flavour as above.
 */
bool scx_bpf_dsq_insert___v2___gamer(struct task_struct *p, u64 dsq_id, u64 slice,
				     u64 enq_flags) __ksym __weak;
bool __scx_bpf_dsq_insert_vtime(struct task_struct *p,
				struct scx_bpf_dsq_insert_vtime_args *args) __ksym __weak;
/* Where ___v2 has become the plain name (the void form gone). */
bool scx_bpf_dsq_insert___gamer(struct task_struct *p, u64 dsq_id, u64 slice,
				u64 enq_flags) __ksym __weak;
/* 6.13 renamed the dispatch kfuncs. */
void scx_bpf_dsq_insert(struct task_struct *p, u64 dsq_id, u64 slice,
			u64 enq_flags) __ksym __weak;
void scx_bpf_dsq_insert_vtime(struct task_struct *p, u64 dsq_id, u64 slice,
			      u64 vtime, u64 enq_flags) __ksym __weak;
bool scx_bpf_dsq_move_to_local(u64 dsq_id) __ksym __weak;
/* 6.12 names of the same three. */
void scx_bpf_dispatch(struct task_struct *p, u64 dsq_id, u64 slice,
		      u64 enq_flags) __ksym __weak;
void scx_bpf_dispatch_vtime(struct task_struct *p, u64 dsq_id, u64 slice,
			    u64 vtime, u64 enq_flags) __ksym __weak;
bool scx_bpf_consume(u64 dsq_id) __ksym __weak;

s32 scx_bpf_select_cpu_dfl(struct task_struct *p, s32 prev_cpu, u64 wake_flags,
			   bool *is_idle) __ksym __weak;
s32 scx_bpf_create_dsq(u64 dsq_id, s32 node) __ksym __weak;
s32 scx_bpf_pick_idle_cpu(const struct cpumask *cpus_allowed,
			  u64 flags) __ksym __weak;
void scx_bpf_kick_cpu(s32 cpu, u64 flags) __ksym __weak;
s32 scx_bpf_task_cpu(const struct task_struct *p) __ksym __weak;
void scx_bpf_error_bstr(char *fmt, unsigned long long *data,
			u32 data__sz) __ksym __weak;
void scx_bpf_exit_bstr(s64 exit_code, char *fmt, unsigned long long *data,
		       u32 data__sz) __ksym __weak;
/* 6.19 added setters; older kernels let BPF write p->scx.slice and dsq_vtime. */
void scx_bpf_task_set_dsq_vtime(struct task_struct *p, u64 vtime) __ksym __weak;
bool scx_bpf_task_set_slice(struct task_struct *p, u64 slice) __ksym __weak;
/* 6.14. */
u64 scx_bpf_now(void) __ksym __weak;
s32 scx_bpf_dsq_nr_queued(u64 dsq_id) __ksym __weak;
/* 6.19 (a peek without an iterator). */
struct task_struct *scx_bpf_dsq_peek(u64 dsq_id) __ksym __weak;
int bpf_iter_scx_dsq_new(struct bpf_iter_scx_dsq *it, u64 dsq_id, u64 flags) __ksym __weak;
struct task_struct *bpf_iter_scx_dsq_next(struct bpf_iter_scx_dsq *it) __ksym __weak;
void bpf_iter_scx_dsq_destroy(struct bpf_iter_scx_dsq *it) __ksym __weak;
u32 scx_bpf_reenqueue_local(void) __ksym __weak;
/* 6.13; 6.12 named it scx_bpf_dispatch_from_dsq. */
bool scx_bpf_dsq_move(struct bpf_iter_scx_dsq *it__iter, struct task_struct *p, u64 dsq_id,
		      u64 enq_flags) __ksym __weak;
bool scx_bpf_dispatch_from_dsq(struct bpf_iter_scx_dsq *it__iter, struct task_struct *p,
			       u64 dsq_id, u64 enq_flags) __ksym __weak;
struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;
/* 6.13. */
struct task_struct *bpf_task_from_vpid(s32 vpid) __ksym __weak;
void bpf_task_release(struct task_struct *p) __ksym __weak;
s32 scx_bpf_test_and_clear_cpu_idle(s32 cpu) __ksym __weak;
bool bpf_cpumask_test_cpu(u32 cpu, const struct cpumask *cpumask) __ksym __weak;
u32 bpf_cpumask_first(const struct cpumask *cpumask) __ksym __weak;
const struct cpumask *scx_bpf_get_online_cpumask(void) __ksym __weak;
void scx_bpf_put_cpumask(const struct cpumask *cpumask) __ksym __weak;

/* A user DSQ can be created: vtime ordering is possible. */
#define gamer_have_user_dsq() bpf_ksym_exists(scx_bpf_create_dsq)

static __always_inline void gamer_dsq_insert(struct task_struct *p, u64 dsq_id,
					     u64 slice, u64 enq_flags)
{
	if (bpf_ksym_exists(scx_bpf_dsq_insert___v2___gamer))
		scx_bpf_dsq_insert___v2___gamer(p, dsq_id, slice, enq_flags);
	else if (bpf_ksym_exists(scx_bpf_dsq_insert___gamer))
		scx_bpf_dsq_insert___gamer(p, dsq_id, slice, enq_flags);
	else if (bpf_ksym_exists(scx_bpf_dsq_insert))
		scx_bpf_dsq_insert(p, dsq_id, slice, enq_flags);
	else
		scx_bpf_dispatch(p, dsq_id, slice, enq_flags);
}

static __always_inline void gamer_dsq_insert_vtime(struct task_struct *p,
						   u64 dsq_id, u64 slice,
						   u64 vtime, u64 enq_flags)
{
	if (bpf_ksym_exists(__scx_bpf_dsq_insert_vtime)) {
		struct scx_bpf_dsq_insert_vtime_args args = {
			.dsq_id = dsq_id, .slice = slice, .vtime = vtime, .enq_flags = enq_flags,
		};

		__scx_bpf_dsq_insert_vtime(p, &args);
	} else if (bpf_ksym_exists(scx_bpf_dsq_insert_vtime))
		scx_bpf_dsq_insert_vtime(p, dsq_id, slice, vtime, enq_flags);
	else
		scx_bpf_dispatch_vtime(p, dsq_id, slice, vtime, enq_flags);
}

static __always_inline bool gamer_dsq_move_to_local(u64 dsq_id)
{
	if (bpf_ksym_exists(scx_bpf_dsq_move_to_local___v2___gamer))
		return scx_bpf_dsq_move_to_local___v2___gamer(dsq_id, 0);
	if (bpf_ksym_exists(scx_bpf_dsq_move_to_local))
		return scx_bpf_dsq_move_to_local(dsq_id);
	return scx_bpf_consume(dsq_id);
}

/*
 * The scheduler's clock: the kernel's cached rq clock where it has
 * scx_bpf_now() (cheaper than reading the clock), else CLOCK_MONOTONIC. Both
 * count ns from boot; task_ctx times (explain) are compared with
 * CLOCK_MONOTONIC to the millisecond, which both keep.
 */
static __always_inline u64 gamer_now(void)
{
	if (bpf_ksym_exists(scx_bpf_now))
		return scx_bpf_now();
	return bpf_ktime_get_ns();
}

/* Tasks waiting in dsq_id; 0 where the kernel cannot tell. */
static __always_inline u64 gamer_dsq_nr_queued(u64 dsq_id)
{
	s32 n;

	if (!bpf_ksym_exists(scx_bpf_dsq_nr_queued))
		return 0;
	n = scx_bpf_dsq_nr_queued(dsq_id);
	return n > 0 ? (u64)n : 0;
}

/* Can gamer_dsq_head_vdl() see into a queue on this kernel? */
static __always_inline bool gamer_can_peek(void)
{
	if (bpf_ksym_exists(scx_bpf_dsq_peek))
		return true;
	if (!bpf_ksym_exists(bpf_iter_scx_dsq_new))
		return false;
	if (!bpf_ksym_exists(bpf_iter_scx_dsq_next))
		return false;
	return bpf_ksym_exists(bpf_iter_scx_dsq_destroy);
}

/*
 * Are DSQ iterators there (gamer_dsq_move() then needs scx_bpf_dsq_move or
 * 6.12's scx_bpf_dispatch_from_dsq, and is false without either)? One test
 * per statement, as in gamer_compat_missing().
 */
static __always_inline bool gamer_can_iter(void)
{
	if (!bpf_ksym_exists(bpf_iter_scx_dsq_new))
		return false;
	if (!bpf_ksym_exists(bpf_iter_scx_dsq_next))
		return false;
	if (!bpf_ksym_exists(bpf_iter_scx_dsq_destroy))
		return false;
	return true;
}

/*
 * Before 6.19 (no scx_bpf_dsq_peek) the first task is found with a DSQ
 * iterator. A subprogram of its own: inlined, clang merges its exit with the
 * peek path's, leaving a register the verifier sees as unset on one of them.
 */
static __noinline bool gamer_dsq_iter_head(u64 dsq_id, u64 *vdl)
{
	struct bpf_iter_scx_dsq it;
	struct task_struct *p;
	bool found = false;

	if (!gamer_can_iter())
		return false;
	if (!bpf_iter_scx_dsq_new(&it, dsq_id, 0)) {
		p = bpf_iter_scx_dsq_next(&it);
		if (p) {
			*vdl = p->scx.dsq_vtime;
			found = true;
		}
	}
	bpf_iter_scx_dsq_destroy(&it);
	return found;
}

/*
 * The vtime key of the first task in a vtime-ordered user DSQ; false if it is
 * empty or (see gamer_can_peek()) the kernel cannot tell.
 */
static __always_inline bool gamer_dsq_head_vdl(u64 dsq_id, u64 *vdl)
{
	struct task_struct *p;

	if (!bpf_ksym_exists(scx_bpf_dsq_peek))
		return gamer_dsq_iter_head(dsq_id, vdl);
	p = scx_bpf_dsq_peek(dsq_id);
	if (!p)
		return false;
	*vdl = p->scx.dsq_vtime;
	return true;
}

static __always_inline bool gamer_dsq_move(struct bpf_iter_scx_dsq *it, struct task_struct *p,
					   u64 dsq_id, u64 enq_flags)
{
	if (bpf_ksym_exists(scx_bpf_dsq_move))
		return scx_bpf_dsq_move(it, p, dsq_id, enq_flags);
	if (bpf_ksym_exists(scx_bpf_dispatch_from_dsq))
		return scx_bpf_dispatch_from_dsq(it, p, dsq_id, enq_flags);
	return false;
}

static __always_inline void gamer_set_slice(struct task_struct *p, u64 slice)
{
	if (bpf_ksym_exists(scx_bpf_task_set_slice))
		scx_bpf_task_set_slice(p, slice);
	else
		p->scx.slice = slice;
}

static __always_inline s32 gamer_task_cpu(const struct task_struct *p)
{
	if (bpf_ksym_exists(scx_bpf_task_cpu))
		return scx_bpf_task_cpu(p);
	return -1;
}

static __always_inline void gamer_kick_cpu(s32 cpu, u64 flags)
{
	if (bpf_ksym_exists(scx_bpf_kick_cpu))
		scx_bpf_kick_cpu(cpu, flags);
}

static __always_inline void gamer_reenqueue_local(void)
{
	if (bpf_ksym_exists(scx_bpf_reenqueue_local))
		scx_bpf_reenqueue_local();
}

static __always_inline s32 gamer_create_dsq(u64 dsq_id, s32 node)
{
	if (bpf_ksym_exists(scx_bpf_create_dsq))
		return scx_bpf_create_dsq(dsq_id, node);
	return -95; /* -EOPNOTSUPP */
}

static __always_inline void gamer_set_dsq_vtime(struct task_struct *p, u64 vtime)
{
	if (bpf_ksym_exists(scx_bpf_task_set_dsq_vtime))
		scx_bpf_task_set_dsq_vtime(p, vtime);
	else
		p->scx.dsq_vtime = vtime;
}

/*
 * gamer_error(fmt, args...): end the scheduler with a formatted message that
 * the kernel hands to ops.exit and prints. The arguments are packed into a u64
 * array the way bstr kfuncs expect. Where scx_bpf_error_bstr is not callable
 * the scheduler still stops, through scx_bpf_exit_bstr (kind
 * SCX_EXIT_UNREG_BPF) with GAMER_EXIT_CODE_ERROR, so the daemon still sees
 * the message and fails.
 */
#define gamer_error(fmt, args...)						\
	do {									\
		static char gamer_fmt__[] = fmt;				\
		unsigned long long gamer_args__[___bpf_narg(args)];		\
		___bpf_fill(gamer_args__, args);				\
		if (bpf_ksym_exists(scx_bpf_error_bstr))			\
			scx_bpf_error_bstr(gamer_fmt__, gamer_args__,		\
					   sizeof(gamer_args__));		\
		else if (bpf_ksym_exists(scx_bpf_exit_bstr))			\
			scx_bpf_exit_bstr(GAMER_EXIT_CODE_ERROR, gamer_fmt__,	\
					  gamer_args__, sizeof(gamer_args__));	\
	} while (0)

/* Bits of compat_missing (intf.h) for this kernel. */
static __always_inline u32 gamer_compat_missing(void)
{
	u32 m = 0;

	/* One kfunc per test: clang folds "!a || !b" into an OR of two kfunc
	 * addresses, which the verifier refuses (arithmetic on pointers). */
	if (!gamer_have_user_dsq())
		m |= GAMER_COMPAT_NO_USER_DSQ;
	if (!bpf_ksym_exists(scx_bpf_pick_idle_cpu))
		m |= GAMER_COMPAT_NO_IDLE_KICK;
	if (!bpf_ksym_exists(scx_bpf_kick_cpu))
		m |= GAMER_COMPAT_NO_IDLE_KICK;
	if (!bpf_ksym_exists(scx_bpf_error_bstr))
		m |= GAMER_COMPAT_NO_ERROR_BSTR;
	if (!bpf_ksym_exists(scx_bpf_exit_bstr))
		m |= GAMER_COMPAT_NO_EXIT_BSTR;
	return m;
}

#endif /* SCX_GAMER_COMPAT_BPF_H */
