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
/* 6.19 added a setter; older kernels let BPF write p->scx.dsq_vtime. */
void scx_bpf_task_set_dsq_vtime(struct task_struct *p, u64 vtime) __ksym __weak;

/* A user DSQ can be created: vtime ordering is possible. */
#define gamer_have_user_dsq() bpf_ksym_exists(scx_bpf_create_dsq)

static __always_inline void gamer_dsq_insert(struct task_struct *p, u64 dsq_id,
					     u64 slice, u64 enq_flags)
{
	if (bpf_ksym_exists(scx_bpf_dsq_insert))
		scx_bpf_dsq_insert(p, dsq_id, slice, enq_flags);
	else
		scx_bpf_dispatch(p, dsq_id, slice, enq_flags);
}

static __always_inline void gamer_dsq_insert_vtime(struct task_struct *p,
						   u64 dsq_id, u64 slice,
						   u64 vtime, u64 enq_flags)
{
	if (bpf_ksym_exists(scx_bpf_dsq_insert_vtime))
		scx_bpf_dsq_insert_vtime(p, dsq_id, slice, vtime, enq_flags);
	else
		scx_bpf_dispatch_vtime(p, dsq_id, slice, vtime, enq_flags);
}

static __always_inline bool gamer_dsq_move_to_local(u64 dsq_id)
{
	if (bpf_ksym_exists(scx_bpf_dsq_move_to_local))
		return scx_bpf_dsq_move_to_local(dsq_id);
	return scx_bpf_consume(dsq_id);
}

static __always_inline s32 gamer_create_dsq(u64 dsq_id, s32 node)
{
	if (bpf_ksym_exists(scx_bpf_create_dsq))
		return scx_bpf_create_dsq(dsq_id, node);
	return -95; /* -EOPNOTSUPP */
}

/* Wake an idle CPU that p may run on; false if none or not supported. */
static __always_inline bool gamer_kick_idle_cpu_for(struct task_struct *p)
{
	s32 cpu;

	/*
	 * One test per statement: clang folds "!a || !b" into an OR of the two
	 * kfunc addresses, which the verifier refuses (arithmetic on pointers).
	 */
	if (!bpf_ksym_exists(scx_bpf_pick_idle_cpu))
		return false;
	if (!bpf_ksym_exists(scx_bpf_kick_cpu))
		return false;
	cpu = scx_bpf_pick_idle_cpu(p->cpus_ptr, 0);
	if (cpu < 0)
		return false;
	scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
	return true;
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

	/* One kfunc per test; see gamer_kick_idle_cpu_for(). */
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
