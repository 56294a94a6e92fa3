/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Detection's insides, shared by its two halves - detect.c (events, one
 * process at a time) and rescan.c (every process from /proc, in slices),
 * which both write the class maps through classes.c - and by the rescan
 * test. Not for the rest of the daemon: that uses
 * detect.h.
 */
#ifndef SCX_GAMER_DETECT_INT_H
#define SCX_GAMER_DETECT_INT_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>

#include "detect.h"
#include "evfd.h"
#include "match.h"
#include "procfs.h"

/* decide_one(): the real uid is the one /proc shows. */
#define PROC_UID_READ UINT32_MAX
/* Ancestors followed when a process inherits a profile (rescan). */
#define INHERIT_MAX_DEPTH 64
/*
 * Events handled per wake-up of the poll loop: a burst of execs (a build)
 * must not keep signals and inotify waiting. The ring is emptied into a queue
 * of our own at once (a copy per record) and the queue worked off
 * EVENT_BUDGET records at a time; the loop polls without waiting while it is
 * not empty. (Stopping libbpf's walk by returning an error from the callback
 * would lose that record: libbpf has consumed it already; libbpf 1.4 has no
 * ring_buffer__consume_n.) A queue full to PENDING_MAX - more than a full
 * ring holds - counts what does not fit as lost and rescans /proc.
 */
#define EVENT_BUDGET 256
#define PENDING_MAX 8192
/* The longest a rescan asked for waits behind queued events. */
#define RESCAN_WAIT_MS 500
/* A rescan runs in slices of about this long, events handled between them. */
#define RESCAN_SLICE_MS 20

struct detect {
	struct detect_kernel k;
	const char *root;
	int proc_fd, task_fd, gen_fd;
	struct ring_buffer *rb;
	const struct config_set *cfg;
	const struct applied *a;
	uint64_t lost_seen;
	bool need_steam; /* some profile or exclude entry has steam_app_id */
	struct gamer_proc_event *pending; /* PENDING_MAX records, a ring */
	size_t head, n_pending;
	uint64_t overflow; /* records that did not fit in pending */
	bool dirty; /* the class maps changed: bump class_gen */
	/* What decided the classes last (decision_inputs), to tell a change. */
	char *inputs;
	size_t inputs_len;
	/* A rescan asked for and not begun yet: why, and since when. */
	const char *rescan_why;
	uint64_t rescan_since;
	struct scan *scan; /* the one under way, in slices (scan->why set) */
	uint64_t wait_from; /* execs from then on count in exec_wait_max_ns */
	struct detect_stats st;
};

struct scanned {
	int pid, ppid;
	unsigned long long start; /* to know it again (a pid may be reused) */
	bool own, excluded, decided;
	bool touched; /* decided by an event since the scan read it */
	int src;      /* inherited: the pid whose own match it inherits */
	struct gamer_class cls;
	/*
	 * What matching reads (phase 1), kept so that a reload during the scan
	 * decides again without reading /proc again.
	 */
	char comm[PROC_COMM_LEN];
	char *exe, *cmdline, *argv0, *wine_exe;
	bool wine_from_comm;
	uint32_t steam_app_id, uid;
	int steam_from;
};

/*
 * A rescan in slices (see "Rescans" in rescan.c): reading every process
 * (phase 1, while dir is open), then deciding inheritance at once, then
 * writing each decided process's entries (phase 2, from next on), then
 * dropping what is stale. Exec events are handled between slices; a process
 * an event decided meanwhile is the event's (touched): the scan read older
 * facts of it and writes nothing for it, but still lists its threads.
 */
struct scan {
	const char *why;
	DIR *dir;
	struct scanned *v;
	size_t n, cap, next;
	uint32_t *tids; /* every thread of a decided process, for drop_stale */
	size_t n_tids, tid_cap;
	uint32_t *touched; /* pids decided by events during phase 1 */
	size_t n_touched, touched_cap;
	uint64_t start, read_ns;
	/* run_delay_ns() at the start, and its growth while reading (UINT64_MAX: unknown) */
	uint64_t wait0, read_wait_ns;
	unsigned int slices;
	bool complete; /* the whole picture: stale entries may be dropped */
};

/* classes.c: the class maps, as both halves write them. */
bool owned_proc(const struct gamer_class *c);
bool owned_task(const struct gamer_class *c);
bool same_class(const struct gamer_class *a, const struct gamer_class *b);
void bump_gen(struct detect *d);
void drop_if_ours(struct detect *d, int fd, uint32_t key, uint64_t since_ns);
bool inherited_live(const struct detect *d, const struct gamer_class *c);
const struct profile *profile_of_slot(const struct detect *d, unsigned int slot);
/* task_class[tid] as p's thread rules say for a thread named comm (pdfd: its process, or -1). */
void put_thread(struct detect *d, int pdfd, uint32_t tid, const struct profile *p,
		unsigned int slot, const char *comm);
void put_threads(struct detect *d, int pdfd, const struct profile *p, unsigned int slot);
bool put_proc(struct detect *d, uint32_t pid, struct gamer_class *want);
bool own_class(struct detect *d, const struct proc_info *pi, struct match_result *r,
	       struct gamer_class *out);
/* detect.c: what an event for process pid decides. */
void decide_one(struct detect *d, int pid, uint64_t ev_ts, const char *comm, bool rename,
		uint32_t uid, int depth);

/* rescan.c. */
bool scan_active(const struct detect *d);
void scan_free(struct scan *sc);
/* An event decided process pid: the scan under way leaves it be. */
void scan_touch(struct detect *d, int pid);
void scan_begin(struct detect *d, const char *why);
/* Work on the scan until deadline (boottime ns); true when it is done. */
bool scan_step(struct detect *d, uint64_t deadline);
/* A rescan asked for, begun by detect_handle_events() (events lost, say). */
void want_rescan(struct detect *d, const char *why);
/* Its phases one by one (the rescan test). */
bool scan_read(struct detect *d, uint64_t deadline);
void scan_decide(struct detect *d);
void scan_write_one(struct detect *d, struct scanned *s);
struct scanned *find_scanned(struct scanned *v, size_t n, int pid);

#endif /* SCX_GAMER_DETECT_INT_H */
