// SPDX-License-Identifier: GPL-2.0-only
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "detect.h"
#include "log.h"
/* scheduler.h brings intf.h, whose types the skeleton uses. */
#include "scheduler.h"
#include "daemon/gamer.skel.h"

/* Values of the kernel's enum scx_exit_kind (include/linux/sched/ext.h). */
static const struct {
	unsigned int kind;
	const char *name;
} exit_kinds[] = {
	{ 0, "SCX_EXIT_NONE" },
	{ 1, "SCX_EXIT_DONE" },
	{ 64, "SCX_EXIT_UNREG" },
	{ 65, "SCX_EXIT_UNREG_BPF" },
	{ 66, "SCX_EXIT_UNREG_KERN" },
	{ 67, "SCX_EXIT_SYSRQ" },
	{ 1024, "SCX_EXIT_ERROR" },
	{ 1025, "SCX_EXIT_ERROR_BPF" },
	{ 1026, "SCX_EXIT_ERROR_STALL" },
};


int read_sysfs_line(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
out:
	close(fd);
	return err;
}

int sched_preflight(void)
{
	char state[64], ops[128];
	int err;

	if (geteuid() != 0) {
		log_error("must run as root to attach a BPF scheduler (running as uid %u)",
			  (unsigned int)geteuid());
		return -1;
	}
	if (access(SCX_SYSFS_DIR, F_OK) != 0) {
		log_error("this kernel has no sched_ext (%s is missing): it must be built with CONFIG_SCHED_CLASS_EXT=y (Linux 6.12 or later)",
			  SCX_SYSFS_DIR);
		return -1;
	}
	err = read_sysfs_line(SCX_SYSFS_DIR "/state", state, sizeof(state));
	if (err) {
		log_error("failed to read %s/state: %s", SCX_SYSFS_DIR, strerror(-err));
		return -1;
	}
	if (strcmp(state, "disabled") != 0) {
		if (read_sysfs_line(SCX_SYSFS_DIR "/root/ops", ops, sizeof(ops)))
			snprintf(ops, sizeof(ops), "unknown");
		log_error("another sched_ext scheduler is attached: '%s' (state %s); stop it first",
			  ops, state);
		return -1;
	}
	return 0;
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct sched *s = ctx;
	const struct gamer_event *ev = data;

	if (size < sizeof(*ev))
		return 0;
	if (ev->type == GAMER_EV_EXIT)
		s->exited = true;
	return 0;
}

/*
 * NUMA topology into the scheduler's read-only data: which node each CPU is
 * on (/sys/devices/system/cpu/cpuN/nodeM) and each node's CPUs. CPUs or
 * nodes beyond the scheduler's limits stay on node 0, which only costs
 * placement quality there.
 */
static void set_topology(struct gamer_bpf *skel)
{
	char path[128];
	int cpu, node, nodes = 1;

	for (cpu = 0; cpu < GAMER_MAX_CPUS; cpu++) {
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d", cpu);
		if (access(path, F_OK))
			break;
		for (node = 0; node < GAMER_MAX_NODES; node++) {
			snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/node%d", cpu,
				 node);
			if (!access(path, F_OK))
				break;
		}
		if (node == GAMER_MAX_NODES)
			node = 0;
		skel->rodata->cpu_node[cpu] = (uint8_t)node;
		if (skel->rodata->node_nr_cpus[node] < GAMER_MAX_NODE_CPUS)
			skel->rodata->node_cpus[node][skel->rodata->node_nr_cpus[node]++] =
				(uint16_t)cpu;
		if (node + 1 > nodes)
			nodes = node + 1;
	}
	skel->rodata->nr_nodes = (uint32_t)nodes;
	skel->rodata->nr_cpus = (uint32_t)cpu;
	log_debug("topology: %d CPUs on %d NUMA node(s)", cpu, nodes);
}

/*
 * The sched_ext enum values of the running kernel (intf.h GAMER_SCX_ENUMS),
 * read from its BTF into the scheduler's rodata. A value the kernel does not
 * have keeps the build's default: a kernel without sched_ext (maps-only
 * loads) has none of them, and the scheduler's code is not loaded there.
 */
static const struct {
	const char *type, *name;
} scx_enum_names[GAMER_NR_SCX_ENUMS] = {
#define GAMER_SCX_ENUM_NAME(id, type, name) [GAMER_SCX_##id] = { type, name },
	GAMER_SCX_ENUMS(GAMER_SCX_ENUM_NAME)
#undef GAMER_SCX_ENUM_NAME
};

static bool btf_enum_value(const struct btf *btf, const char *type, const char *name,
			   uint64_t *val)
{
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_ENUM64);
	const struct btf_type *t;
	int i;

	if (id < 0)
		id = btf__find_by_name_kind(btf, type, BTF_KIND_ENUM);
	if (id < 0)
		return false;
	t = btf__type_by_id(btf, id);
	if (btf_is_enum64(t)) {
		const struct btf_enum64 *e = btf_enum64(t);

		for (i = 0; i < btf_vlen(t); i++, e++) {
			if (!strcmp(btf__name_by_offset(btf, e->name_off), name)) {
				*val = btf_enum64_value(e);
				return true;
			}
		}
		return false;
	}
	/* An 8-byte enum written as a 4-byte one (an old pahole) has lost bits. */
	if (t->size > 4)
		return false;
	{
		const struct btf_enum *e = btf_enum(t);

		for (i = 0; i < btf_vlen(t); i++, e++) {
			if (!strcmp(btf__name_by_offset(btf, e->name_off), name)) {
				/* kflag: a signed enum; its 32-bit values sign-extend. */
				*val = btf_kflag(t) ? (uint64_t)(int64_t)e->val :
						      (uint64_t)(uint32_t)e->val;
				return true;
			}
		}
	}
	return false;
}

/*
 * A kernel with sched_ext must have every value: a queue id or a flag taken
 * from the build's vmlinux.h instead could mean anything there.
 */
static int set_kernel_enums(struct gamer_bpf *skel, const struct btf *btf, bool attachable)
{
	size_t i;

	for (i = 0; i < GAMER_NR_SCX_ENUMS; i++) {
		uint64_t v;

		if (btf && btf_enum_value(btf, scx_enum_names[i].type, scx_enum_names[i].name, &v)) {
			skel->rodata->scx_enums[i] = v;
			continue;
		}
		if (attachable) {
			log_error("%s (enum %s) is not in this kernel's BTF: cannot schedule with values it does not say",
				  scx_enum_names[i].name, scx_enum_names[i].type);
			return -ENOENT;
		}
	}
	return 0;
}

/* What the verifier did for each program (veristat's "insns processed"). */
static void log_verified(const struct sched *s)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, s->skel->obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_prog_get_info_by_fd(fd, &info, &len))
			continue;
		log_debug("verified %s: %u instructions processed, %u xlated", bpf_program__name(prog),
			  info.verified_insns, info.xlated_prog_len / 8);
	}
}

/*
 * Priority inheritance at block time (see "Inheritance" in bpf/gamer.bpf.c):
 * the kernel function each program traces, and what is lost without it.
 */
static const struct {
	const char *fn, *what;
} inh_hooks[SCHED_INH_LINKS] = {
	{ "futex_wait", "pthread mutexes" },
	{ "futex_lock_pi", "priority-inheritance futexes" },
	{ "futex_wait_multiple", "futex_waitv(2) waits" },
};

static struct bpf_program *inh_prog(struct sched *s, int i)
{
	struct bpf_program *progs[SCHED_INH_LINKS] = {
		s->skel->progs.gamer_futex_wait,
		s->skel->progs.gamer_futex_lock_pi,
		s->skel->progs.gamer_futex_waitv,
	};

	return progs[i];
}

/* The optional hook on uid changes (see gamer_proc_creds in bpf/gamer.bpf.c). */
static void creds_autoload(struct sched *s, bool on)
{
	bpf_program__set_autoload(s->skel->progs.gamer_proc_creds, on);
	bpf_program__set_autoload(s->skel->progs.gamer_proc_creds_done, on);
}

/*
 * Open the object and set it up for this kernel; with_inh false leaves the
 * inheritance hooks out, with_creds false the hook on uid changes (retries
 * after they failed to load).
 */
static int open_object(struct sched *s, bool attachable, bool with_inh, bool with_creds)
{
	struct bpf_program *prog;
	struct btf *vmlinux;
	struct bpf_map *ops;
	int err, i;

	s->skel = gamer_bpf__open();
	if (!s->skel) {
		err = -errno;
		log_error("failed to open the BPF scheduler: %s", strerror(-err));
		return err;
	}
	/* bpftool 7.1 leaves .struct_ops.link maps out of the skeleton. */
	ops = bpf_object__find_map_by_name(s->skel->obj, "gamer_ops");
	if (!ops) {
		log_error("failed to find the gamer_ops struct_ops map in the BPF object");
		return -ENOENT;
	}
	set_topology(s->skel);
	s->skel->rodata->test_hotplug_restart = s->test_hotplug_restart;
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		log_debug("failed to read the kernel's BTF: %s", strerror(errno));
	err = set_kernel_enums(s->skel, vmlinux, attachable);
	/* include/linux/sched/ext.h's value where the BTF does not say. */
	s->ecode_restart = 1ULL << 48;
	if (vmlinux)
		btf_enum_value(vmlinux, "scx_exit_code", "SCX_ECODE_ACT_RESTART", &s->ecode_restart);
	/*
	 * Each block-time inheritance hook is optional: its function may not be
	 * there. So is the hook on uid changes (commit_creds).
	 */
	for (i = 0; i < SCHED_INH_LINKS; i++) {
		if (!with_inh || !vmlinux ||
		    btf__find_by_name_kind(vmlinux, inh_hooks[i].fn, BTF_KIND_FUNC) < 0)
			bpf_program__set_autoload(inh_prog(s, i), false);
	}
	if (!with_creds || !vmlinux ||
	    btf__find_by_name_kind(vmlinux, "commit_creds", BTF_KIND_FUNC) < 0)
		creds_autoload(s, false);
	btf__free(vmlinux);
	if (err)
		return err;
	if (!attachable) {
		bpf_map__set_autocreate(ops, false);
		bpf_object__for_each_program(prog, s->skel->obj) {
			/* Game detection's tracepoints work without sched_ext. */
			if (bpf_program__type(prog) == BPF_PROG_TYPE_STRUCT_OPS ||
			    (bpf_program__type(prog) == BPF_PROG_TYPE_TRACING &&
			     strncmp(bpf_program__name(prog), "gamer_proc_", 11) != 0))
				bpf_program__set_autoload(prog, false);
		}
	}
	return 0;
}

/* Load the object again, with these optional hooks only; the load's result. */
static int load_again(struct sched *s, bool attachable, bool with_inh, bool with_creds, int err)
{
	log_debug("failed to load the BPF object (%s); again%s%s", strerror(-err),
		  with_inh ? "" : " without the inheritance hooks",
		  with_creds ? "" : " without the hook on uid changes");
	gamer_bpf__destroy(s->skel);
	s->skel = NULL;
	err = open_object(s, attachable, with_inh, with_creds);
	return err ? err : gamer_bpf__load(s->skel);
}

int sched_load(struct sched *s, bool attachable)
{
	int err, i;
	bool with_inh = false, with_creds, test_hotplug_restart = s->test_hotplug_restart;

	memset(s, 0, sizeof(*s));
	s->test_hotplug_restart = test_hotplug_restart;
	err = open_object(s, attachable, true, true);
	if (err)
		goto fail;
	for (i = 0; i < SCHED_INH_LINKS; i++)
		with_inh |= bpf_program__autoload(inh_prog(s, i));
	with_creds = bpf_program__autoload(s->skel->progs.gamer_proc_creds);
	err = gamer_bpf__load(s->skel);
	/*
	 * A hook whose function is in the kernel's BTF may still be refused (a
	 * function that cannot be traced): do without the uid hook (game
	 * detection's), then without the inheritance hooks, then both.
	 */
	if (err && with_creds)
		err = load_again(s, attachable, with_inh, false, err);
	if (err && with_inh) {
		if (with_creds)
			err = load_again(s, attachable, false, true, err);
		if (err)
			err = load_again(s, attachable, false, false, err);
		if (!err)
			log_warn("the kernel refused the inheritance hooks: a boosted task blocked on a lock lends no boost");
	}
	if (err) {
		log_error("failed to load the BPF scheduler: %s (run with -v for the verifier log)",
			  strerror(-err));
		goto fail;
	}

	log_verified(s);
	s->events = ring_buffer__new(bpf_map__fd(s->skel->maps.events), handle_event, s,
				     NULL);
	if (!s->events) {
		err = -errno;
		log_error("failed to open the events ring buffer: %s", strerror(-err));
		goto fail;
	}
	return 0;
fail:
	sched_destroy(s);
	return err;
}

int sched_attach(struct sched *s)
{
	struct bpf_map *ops;
	char ops_name[128];
	int err, i;

	/*
	 * Inheritance at block time, traced before the scheduler starts so that
	 * it has it from its first wake-up; the scheduler works without it.
	 */
	for (i = 0; i < SCHED_INH_LINKS; i++) {
		struct bpf_program *prog = inh_prog(s, i);

		if (bpf_program__fd(prog) < 0) {
			/* Said at the first attach; a restart does not repeat it. */
			if (!s->restarting)
				log_warn("%s() is not in this kernel's BTF: a boosted task blocked on %s lends no boost",
					 inh_hooks[i].fn, inh_hooks[i].what);
			continue;
		}
		s->inh_links[i] = bpf_program__attach(prog);
		if (!s->inh_links[i] && !s->restarting)
			log_warn("cannot trace %s() on this kernel (%s): a boosted task blocked on %s lends no boost",
				 inh_hooks[i].fn, strerror(errno), inh_hooks[i].what);
	}

	ops = bpf_object__find_map_by_name(s->skel->obj, "gamer_ops");
	s->link = bpf_map__attach_struct_ops(ops);
	if (!s->link) {
		err = -errno;
		if (s->restarting) {
			/* sched_restart() retries and the daemon reports the end. */
			log_debug("attaching again: %s", strerror(-err));
		} else if (err == -EBUSY || err == -EEXIST) {
			if (read_sysfs_line(SCX_SYSFS_DIR "/root/ops", ops_name, sizeof(ops_name)))
				snprintf(ops_name, sizeof(ops_name), "unknown");
			log_error("another sched_ext scheduler is attached: '%s'; stop it first",
				  ops_name);
		} else {
			log_error("failed to attach the scheduler: %s", strerror(-err));
		}
		return err;
	}

	return 0;
}

int sched_attach_detection(struct sched *s)
{
	struct bpf_program *progs[] = {
		s->skel->progs.gamer_proc_exec,
		s->skel->progs.gamer_proc_fork,
		s->skel->progs.gamer_proc_rename,
		s->skel->progs.gamer_proc_exit,
	};
	size_t i, n = sizeof(progs) / sizeof(progs[0]);

	for (i = 0; i < n; i++) {
		s->proc_links[i] = bpf_program__attach(progs[i]);
		if (!s->proc_links[i]) {
			int err = -errno;

			log_error("failed to attach %s (game detection): %s",
				  bpf_program__name(progs[i]), strerror(-err));
			return err;
		}
	}
	/* Optional (see open_object()): without it, a scan sees the change. */
	if (bpf_program__autoload(s->skel->progs.gamer_proc_creds)) {
		s->proc_links[n] = bpf_program__attach(s->skel->progs.gamer_proc_creds);
		s->proc_links[n + 1] = s->proc_links[n] ?
			bpf_program__attach(s->skel->progs.gamer_proc_creds_done) : NULL;
		if (s->proc_links[n + 1])
			return 0;
		log_warn("no hook on uid changes: attaching it to commit_creds failed: %s; a process that changes its real uid without an exec is seen at the next scan (start-up, a configuration change, lost events)",
			 strerror(errno));
		bpf_link__destroy(s->proc_links[n]);
		s->proc_links[n] = NULL;
		return 0;
	}
	log_info("no hook on uid changes (this kernel cannot trace commit_creds): a process that changes its real uid without an exec is seen at the next scan (start-up, a configuration change, lost events)");
	return 0;
}

int sched_events_fd(const struct sched *s)
{
	return ring_buffer__epoll_fd(s->events);
}

int sched_map_fd(const struct sched *s, enum pin p)
{
	const char *name = pin_name(p);
	struct bpf_map *map = name ? bpf_object__find_map_by_name(s->skel->obj, name) : NULL;

	return map ? bpf_map__fd(map) : -1;
}

void sched_detect_kernel(struct sched *s, struct detect_kernel *k)
{
	*k = (struct detect_kernel){
		.proc_class_fd = bpf_map__fd(s->skel->maps.proc_class),
		.task_class_fd = bpf_map__fd(s->skel->maps.task_class),
		.class_gen_fd = bpf_map__fd(s->skel->maps.class_gen),
		.events_fd = bpf_map__fd(s->skel->maps.proc_events),
		.events_lost = &s->skel->bss->proc_events_lost,
		.want_creds = &s->skel->bss->want_creds,
	};
}

void sched_set_exit_info(struct sched *s, const struct gamer_exit_info *ei)
{
	s->skel->bss->exit_info = *ei;
}

int sched_handle_events(struct sched *s)
{
	int n = ring_buffer__consume(s->events);

	return n < 0 ? n : 0;
}

void sched_detach(struct sched *s)
{
	int i;

	for (i = 0; i < SCHED_INH_LINKS; i++) {
		bpf_link__destroy(s->inh_links[i]);
		s->inh_links[i] = NULL;
	}
	if (!s->link)
		return;
	/* Destroying the link disables the scheduler synchronously: ops.exit
	 * has run and posted its event by the time this returns. */
	bpf_link__destroy(s->link);
	s->link = NULL;
	sched_handle_events(s);
}

void sched_destroy(struct sched *s)
{
	size_t i;

	sched_detach(s);
	for (i = 0; i < SCHED_PROC_LINKS; i++) {
		bpf_link__destroy(s->proc_links[i]);
		s->proc_links[i] = NULL;
	}
	ring_buffer__free(s->events);
	s->events = NULL;
	gamer_bpf__destroy(s->skel);
	s->skel = NULL;
}

const struct gamer_exit_info *sched_exit_info(const struct sched *s)
{
	const struct gamer_exit_info *ei = &s->skel->bss->exit_info;

	return __atomic_load_n(&ei->kind, __ATOMIC_ACQUIRE) ? ei : NULL;
}

bool sched_exit_wants_restart(const struct sched *s, const struct gamer_exit_info *ei)
{
	return ei && s->ecode_restart && ((uint64_t)ei->exit_code & s->ecode_restart);
}

/* /sys/kernel/sched_ext/hotplug_seq, or 0 where the kernel has none. */
static unsigned long long hotplug_seq(void)
{
	char buf[32];

	if (read_sysfs_line(SCX_SYSFS_DIR "/hotplug_seq", buf, sizeof(buf)))
		return 0;
	return strtoull(buf, NULL, 10);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int sched_restart(struct sched *s)
{
	unsigned long long seq;
	int err = 0, i;

	/*
	 * Destroying the dead link is what waits for the kernel's disable to
	 * end (its unregister); attaching before that is refused (-EBUSY).
	 */
	sched_detach(s);
	s->exited = false;
	/* Nothing writes it now: the old ops.exit is done, the new not begun. */
	memset(&s->skel->bss->exit_info, 0, sizeof(s->skel->bss->exit_info));
	/*
	 * The kernel stops a scheduler once per CPU that comes or goes (SMT
	 * turned off: half of them at once): attach when it has been quiet
	 * for 250 ms (5 s at most), not once per CPU.
	 */
	for (i = 0, seq = hotplug_seq(); i < 20; i++) {
		unsigned long long now;

		sleep_ms(250);
		now = hotplug_seq();
		if (now == seq)
			break;
		seq = now;
	}
	s->restarting = true;
	for (i = 0; i < 4; i++) {
		err = sched_attach(s);
		if (err != -EBUSY && err != -EEXIST)
			break;
		sleep_ms(100L << i);
	}
	s->restarting = false;
	return err;
}

const char *sched_exit_kind_name(unsigned int kind, char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(exit_kinds) / sizeof(exit_kinds[0]); i++) {
		if (exit_kinds[i].kind == kind)
			return exit_kinds[i].name;
	}
	snprintf(buf, len, "SCX_EXIT_%u", kind);
	return buf;
}

bool sched_exit_is_error(const struct gamer_exit_info *ei)
{
	return ei->kind >= SCX_EXIT_ERROR_FIRST ||
	       (ei->kind == SCX_EXIT_UNREG_BPF && ei->exit_code == GAMER_EXIT_CODE_ERROR);
}

static const struct {
	unsigned int bit;
	const char *what;
} compat_notes[] = {
	{ GAMER_COMPAT_NO_USER_DSQ,
	  "scx_bpf_create_dsq is not callable on this kernel: tasks are queued FIFO instead of by vtime" },
	{ GAMER_COMPAT_NO_IDLE_KICK,
	  "scx_bpf_pick_idle_cpu/scx_bpf_kick_cpu are not callable on this kernel: queued tasks do not wake idle CPUs" },
};

void sched_report_compat(const struct sched *s)
{
	unsigned int missing = s->skel->bss->compat_missing;
	size_t i;

	for (i = 0; i < sizeof(compat_notes) / sizeof(compat_notes[0]); i++) {
		if (missing & compat_notes[i].bit)
			log_warn("%s", compat_notes[i].what);
	}
	if (s->test_hotplug_restart && (missing & GAMER_COMPAT_NO_EXIT_BSTR))
		log_warn("--test-hotplug-restart: scx_bpf_exit is not callable on this kernel, so a hotplug asks for no restart");
	/* scx_bpf_exit only matters as the stand-in for scx_bpf_error. */
	if (!(missing & GAMER_COMPAT_NO_ERROR_BSTR))
		return;
	if (missing & GAMER_COMPAT_NO_EXIT_BSTR)
		log_warn("neither scx_bpf_error nor scx_bpf_exit is callable on this kernel: the scheduler cannot stop itself on an error");
	else
		log_warn("scx_bpf_error is not callable on this kernel: scheduler errors stop it through scx_bpf_exit instead");
}

void sched_trigger_test_error(struct sched *s, unsigned int code)
{
	__atomic_store_n(&s->skel->bss->test_error_code, code, __ATOMIC_RELEASE);
}

/* Mount bpffs on /sys/fs/bpf if nothing did (systemd does; minimal systems may not). */
static void ensure_bpffs(const char *pin_dir)
{
	struct statfs sf;
	int fd;

	if (strncmp(pin_dir, "/sys/fs/bpf/", 12) != 0)
		return;
	if (statfs("/sys/fs/bpf", &sf) == 0 && sf.f_type == BPF_FS_MAGIC)
		return;
	/*
	 * Two daemons starting at once would both find no bpffs and both mount
	 * one, the second hiding the first's pins: the check and the mount are
	 * done under a lock on the directory itself (the mount point's own
	 * inode, below any mount).
	 */
	fd = open("/sys/fs/bpf", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && flock(fd, LOCK_EX))
		log_debug("failed to lock /sys/fs/bpf: %s", strerror(errno));
	if (statfs("/sys/fs/bpf", &sf) == 0 && sf.f_type == BPF_FS_MAGIC)
		goto out;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		log_warn("failed to mount bpffs on /sys/fs/bpf: %s", strerror(errno));
	else
		log_info("mounted bpffs on /sys/fs/bpf");
out:
	if (fd >= 0)
		close(fd);
}

int sched_pin_maps(const struct sched *s, const char *pin_dir)
{
	char path[PATH_MAX];
	int i, fd;

	ensure_bpffs(pin_dir);
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		log_warn("failed to create %s: %s; `scx_gamer show` will not work", pin_dir,
			 strerror(errno));
		return -1;
	}
	for (i = 0; i < PIN_COUNT; i++) {
		pin_path(path, sizeof(path), pin_dir, (enum pin)i);
		unlink(path);
		fd = sched_map_fd(s, (enum pin)i);
		if (fd < 0) {
			log_warn("no map %s in the BPF object; `scx_gamer show` will not work",
				 pin_name((enum pin)i));
			return -1;
		}
		if (bpf_obj_pin(fd, path)) {
			log_warn("failed to pin %s: %s; `scx_gamer show` will not work", path,
				 strerror(errno));
			return -1;
		}
	}
	return 0;
}
