/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Loading, attaching and detaching the BPF scheduler, and reading why it
 * stopped. The policy itself is described in bpf/gamer.bpf.c.
 */
#ifndef SCX_GAMER_SCHEDULER_H
#define SCX_GAMER_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../bpf/intf.h"
#include "pins.h"

struct detect_kernel;
struct gamer_bpf;
struct bpf_link;
struct ring_buffer;

struct sched {
	struct gamer_bpf *skel;
	struct bpf_link *link;
#define SCHED_INH_LINKS 3
	struct bpf_link *inh_links[SCHED_INH_LINKS]; /* inheritance at block time */
#define SCHED_PROC_LINKS 6
	struct bpf_link *proc_links[SCHED_PROC_LINKS]; /* game detection's tracepoints */
	struct ring_buffer *events;
	bool exited; /* ops.exit has run: exit_info is complete */
	uint64_t ecode_restart; /* the kernel's SCX_ECODE_ACT_RESTART */
	bool restarting;	/* in sched_restart(): what the first attach said is not repeated */
	bool test_hotplug_restart; /* test hook: the hotplug callbacks ask for a restart */
};

/* From the kernel's enum scx_exit_kind: error kinds are numbered from 1024. */
#define SCX_EXIT_UNREG_BPF 65
#define SCX_EXIT_ERROR_FIRST 1024

/* sysfs directory the kernel creates when it has sched_ext. */
#define SCX_SYSFS_DIR "/sys/kernel/sched_ext"

/*
 * Check what attaching needs before touching BPF: root, a kernel with
 * sched_ext, and no other sched_ext scheduler attached. Prints one clear error
 * and returns -1 when something is missing.
 */
int sched_preflight(void);

/*
 * Open and load the BPF object. With attachable false only its maps are
 * created (no struct_ops), which works on kernels without sched_ext: tests use
 * it to reach the real kernel maps. Clears *s but for test_hotplug_restart.
 */
int sched_load(struct sched *s, bool attachable);
int sched_attach(struct sched *s);
/* Detach (no-op if not attached) and collect the exit record. */
void sched_detach(struct sched *s);
void sched_destroy(struct sched *s);

/*
 * Attach game detection's process tracepoints (attached or not: they need
 * no sched_ext). Their events arrive on the proc_events ring buffer.
 */
int sched_attach_detection(struct sched *s);

/* fd that becomes readable when the scheduler posts an event. */
int sched_events_fd(const struct sched *s);
/* The descriptor of the map pinned as p (pins.h), or -1. */
int sched_map_fd(const struct sched *s, enum pin p);
/* What game detection uses of the scheduler (detect.h). */
void sched_detect_kernel(struct sched *s, struct detect_kernel *k);
/*
 * Pin every map of the pin table (pins.h) under pin_dir (made, and bpffs
 * mounted on /sys/fs/bpf if nothing did), replacing pins a killed daemon
 * left. -1, said as a warning, when one could not be: that costs the
 * commands, not the scheduler.
 */
int sched_pin_maps(const struct sched *s, const char *pin_dir);
/* Put back an exit record (a failed restart's reason, for the exit report). */
void sched_set_exit_info(struct sched *s, const struct gamer_exit_info *ei);
/* Drain posted events; sets s->exited when the scheduler stopped. */
int sched_handle_events(struct sched *s);

const struct gamer_exit_info *sched_exit_info(const struct sched *s);
/* "SCX_EXIT_UNREG" etc., or "SCX_EXIT_<n>" for a kind this build does not know. */
/*
 * Did the kernel stop the scheduler asking it to attach again (CPU hotplug:
 * a scheduler without cpu_online/cpu_offline is restarted, as the kernel's
 * examples do)?
 */
bool sched_exit_wants_restart(const struct sched *s, const struct gamer_exit_info *ei);
/*
 * Attach the same scheduler again after such a stop: its maps, pins, the
 * profiles in them and the classes of running games stay as they are.
 */
int sched_restart(struct sched *s);
const char *sched_exit_kind_name(unsigned int kind, char *buf, size_t len);
/*
 * True when the stop means a failure rather than an orderly stop: an error
 * kind, or the BPF side stopping itself with GAMER_EXIT_CODE_ERROR (where the
 * kernel offers no callable scx_bpf_error).
 */
bool sched_exit_is_error(const struct gamer_exit_info *ei);

/* Warn once about each feature this kernel could not give (compat_missing). */
void sched_report_compat(const struct sched *s);

/* Ask the BPF side to fail on its next tick (tests of ejection handling). */
void sched_trigger_test_error(struct sched *s, unsigned int code);

/* Read a one-line sysfs file into buf without the newline; -errno on failure. */
int read_sysfs_line(const char *path, char *buf, size_t len);

#endif /* SCX_GAMER_SCHEDULER_H */
