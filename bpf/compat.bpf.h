/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sched_ext kfuncs across kernel versions, picked by feature probe.
 *
 * Every kfunc is declared __weak: a kfunc the running kernel lacks resolves to
 * NULL instead of failing the load, and bpf_ksym_exists() lets the verifier
 * prune the branch that would call it. Prototypes must match the kernel's BTF
 * (libbpf refuses an incompatible one even for a weak extern), so each one is
 * written as the kernel that introduced it declares it.
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

/* Unchanged since 6.12. */
s32 scx_bpf_create_dsq(u64 dsq_id, s32 node) __ksym __weak;
s32 scx_bpf_select_cpu_dfl(struct task_struct *p, s32 prev_cpu, u64 wake_flags,
			   bool *is_idle) __ksym __weak;
s32 scx_bpf_pick_idle_cpu(const struct cpumask *cpus_allowed,
			  u64 flags) __ksym __weak;
void scx_bpf_kick_cpu(s32 cpu, u64 flags) __ksym __weak;
void scx_bpf_error_bstr(char *fmt, unsigned long long *data,
			u32 data__sz) __ksym __weak;

/* 6.19 added a setter; older kernels let BPF write p->scx.dsq_vtime. */
void scx_bpf_task_set_dsq_vtime(struct task_struct *p, u64 vtime) __ksym __weak;

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
 * array the way bpf_snprintf-style helpers expect.
 */
#define gamer_error(fmt, args...)						\
	do {									\
		static char gamer_fmt__[] = fmt;				\
		unsigned long long gamer_args__[___bpf_narg(args)];		\
		___bpf_fill(gamer_args__, args);				\
		scx_bpf_error_bstr(gamer_fmt__, gamer_args__,			\
				   sizeof(gamer_args__));			\
	} while (0)

#endif /* SCX_GAMER_COMPAT_BPF_H */
