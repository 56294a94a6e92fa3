// SPDX-License-Identifier: GPL-2.0-only
/*
 * Game detection in the daemon (see detect.h).
 *
 * Rescans. Exec events decide one process each, at once; a rescan decides
 * every process from /proc: at start-up, when events were lost, and when a
 * reload changed what decides a class (detect_set_config() compares the
 * inputs; tunables alone decide nothing - the scheduler reads them from the
 * slot). Under load a rescan takes long (up to 7.7 s for 134 processes in
 * the soak test: the emulator, stress-ng running), and an exec handled after
 * the game is gone is a game missed. So after start-up a rescan begins once
 * the queued events are handled, and runs in slices of RESCAN_SLICE_MS with
 * the events handled between them:
 *  - phase 1 reads every process and keeps what matching needs; then every
 *    one is decided at once, with the configuration in force by then;
 *  - phase 2 writes each one's entries; then what is stale is dropped,
 *    never an entry written after the scan began.
 * What an event decides meanwhile was decided on newer facts: the scan
 * leaves that process alone (touched), and a child whose class would come
 * from it. A process whose launcher went away meanwhile keeps its class. A
 * reload that changes the inputs during phase 1 changes nothing for the
 * scan; during phase 2 it stops it (it would write slots the new
 * configuration may have given to other profiles); either way another scan
 * follows (what events decided under the old configuration is then
 * decided again), as after events lost during a scan. A reload storm
 * faster than phase 2 keeps running processes from being decided again
 * until it ends; new processes are still decided by their events.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detect.h"
#include "games.h"
#include "log.h"
#include "maps.h"
#include "match.h"

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
 * A rescan in slices (see "Rescans" at the top): reading every process
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
	unsigned int slices;
	bool complete; /* the whole picture: stale entries may be dropped */
};

static void scan_free(struct scan *sc);
static void scan_touch(struct detect *d, int pid);
static void scan_begin(struct detect *d, const char *why);
static bool scan_step(struct detect *d, uint64_t deadline);
static void scan_decide(struct detect *d);

static bool detect_scanning(const struct detect *d)
{
	return d->scan && d->scan->why;
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Entries the daemon wrote (and may change or delete). */
static bool owned_proc(const struct gamer_class *c)
{
	return c->how >= GAMER_HOW_STEAM_APP_ID && c->how <= GAMER_HOW_INHERITED;
}

static bool owned_task(const struct gamer_class *c)
{
	return c->how == GAMER_HOW_THREAD_RULE;
}

static bool same_class(const struct gamer_class *a, const struct gamer_class *b)
{
	return a->slot == b->slot && a->role == b->role && a->boost == b->boost &&
	       a->how == b->how && a->from == b->from && a->rule == b->rule;
}

static void bump_gen(struct detect *d)
{
	uint32_t zero = 0;
	uint64_t gen = 0;

	bpf_map_lookup_elem(d->gen_fd, &zero, &gen);
	gen++;
	if (bpf_map_update_elem(d->gen_fd, &zero, &gen, BPF_ANY))
		log_warn("failed to bump class_gen: %s", strerror(errno));
	d->dirty = false;
}

/* Delete key from fd if it still holds the entry written at since_ns. */
static void drop_if_ours(struct detect *d, int fd, uint32_t key, uint64_t since_ns)
{
	struct gamer_class cur;

	if (bpf_map_lookup_elem(fd, &key, &cur) == 0 && cur.since_ns == since_ns &&
	    bpf_map_delete_elem(fd, &key) == 0)
		d->dirty = true;
}

/*
 * An inherited class still good: its slot holds a profile, the same one as
 * when the class was written (a slot freed by a profile removed may be
 * given to another one added later).
 */
static bool inherited_live(const struct detect *d, const struct gamer_class *c)
{
	return c->how == GAMER_HOW_INHERITED && c->slot < GAMER_MAX_PROFILES &&
	       d->a->live[c->slot] && c->since_ns >= d->a->since_ns[c->slot];
}

/* The loaded profile behind a slot, or NULL. */
static const struct profile *profile_of_slot(const struct detect *d, unsigned int slot)
{
	int i;

	if (!d->cfg || !d->a || slot == GAMER_PROFILE_DEFAULTS || slot >= GAMER_MAX_PROFILES ||
	    !d->a->id[slot])
		return NULL;
	i = config_find_profile(d->cfg, d->a->id[slot]);
	return i < 0 ? NULL : &d->cfg->profiles[i];
}

/*
 * Is thread tid alive: under pdfd, its process's open directory (the thread
 * of that process, not of one that took the pid since), or, pdfd < 0, as
 * ROOT/TID?
 */
static bool thread_alive(const struct detect *d, int pdfd, uint32_t tid)
{
	char name[32];
	bool alive;
	int fd;

	if (pdfd < 0)
		return proc_alive(d->root, (int)tid, 0);
	snprintf(name, sizeof(name), "task/%u", tid);
	fd = openat(pdfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	alive = proc_alive_at(fd, (int)tid, 0);
	close(fd);
	return alive;
}

/*
 * Make task_class[tid] what p's thread rules say for a thread called comm.
 * pdfd: the open directory of its process, or -1.
 */
static void put_thread(struct detect *d, int pdfd, uint32_t tid, const struct profile *p,
		       unsigned int slot, const char *comm)
{
	struct gamer_class cur, want = { 0 };
	bool have = bpf_map_lookup_elem(d->task_fd, &tid, &cur) == 0;
	int rule = p ? match_thread_rule(p, comm) : -1;

	if (have && !owned_task(&cur))
		return;
	if (rule < 0) {
		if (have && bpf_map_delete_elem(d->task_fd, &tid) == 0)
			d->dirty = true;
		return;
	}
	want.slot = (uint16_t)slot;
	want.role = (uint8_t)p->threads[rule].role;
	want.boost = p->threads[rule].boost < 0 ? GAMER_BOOST_FROM_ROLE : (uint8_t)p->threads[rule].boost;
	want.how = GAMER_HOW_THREAD_RULE;
	want.rule = (uint32_t)rule;
	if (have && same_class(&cur, &want))
		return;
	want.since_ns = boottime_ns();
	if (bpf_map_update_elem(d->task_fd, &tid, &want, BPF_ANY)) {
		log_warn("thread %u: failed to write task_class: %s", tid, strerror(errno));
		return;
	}
	d->dirty = true;
	/*
	 * A thread that exited before the write would leave the entry behind
	 * (its exit tracepoint deleted nothing): check it still runs.
	 */
	if (!thread_alive(d, pdfd, tid)) {
		drop_if_ours(d, d->task_fd, tid, want.since_ns);
		return;
	}
	log_debug("thread %u (%s): role %s by threads[%d] of '%s'", tid, comm,
		  role_name(p->threads[rule].role), rule, p->id);
}

/*
 * Thread rules for every thread of the process open at pdfd (p NULL: none
 * apply).
 */
static void put_threads(struct detect *d, int pdfd, const struct profile *p, unsigned int slot)
{
	char comm[PROC_COMM_LEN];
	struct dirent *de;
	DIR *dir = proc_tasks_at(pdfd);

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		int tid = atoi(de->d_name);

		if (tid <= 0 || !proc_thread_comm_at(pdfd, tid, comm, sizeof(comm)))
			continue;
		put_thread(d, pdfd, (uint32_t)tid, p, slot, comm);
	}
	closedir(dir);
}

/*
 * Make proc_class[pid] want (NULL: no entry). Entries written by others are
 * left alone. Returns true when want is now in the map.
 */
static bool put_proc(struct detect *d, uint32_t pid, struct gamer_class *want)
{
	struct gamer_class cur;
	bool have = bpf_map_lookup_elem(d->proc_fd, &pid, &cur) == 0;

	if (have && !owned_proc(&cur))
		return false;
	if (!want) {
		if (have && bpf_map_delete_elem(d->proc_fd, &pid) == 0)
			d->dirty = true;
		return false;
	}
	if (have && same_class(&cur, want)) {
		want->since_ns = cur.since_ns;
		return true;
	}
	want->since_ns = boottime_ns();
	if (bpf_map_update_elem(d->proc_fd, &pid, want, BPF_ANY)) {
		log_warn("pid %u: failed to write proc_class: %s", pid, strerror(errno));
		return false;
	}
	d->dirty = true;
	return true;
}

/* The class a process's own match gives it; false when none. */
static bool own_class(struct detect *d, const struct proc_info *pi, struct match_result *r,
		      struct gamer_class *out)
{
	int slot;

	match_process(d->cfg, pi, r, NULL);
	if (r->profile < 0)
		return false;
	slot = apply_slot_of(d->a, d->cfg->profiles[r->profile].id);
	if (slot <= 0)
		return false;
	memset(out, 0, sizeof(*out));
	out->slot = (uint16_t)slot;
	out->role = GAMER_ROLE_NONE;
	out->boost = GAMER_BOOST_FROM_ROLE;
	out->how = (uint8_t)match_key_how(r->key);
	out->rule = (uint32_t)r->entry;
	return true;
}

static void decide_one(struct detect *d, int pid, uint64_t ev_ts, const char *comm, bool rename,
		       uint32_t uid, int depth);

/*
 * Children forked before their parent (open at pdfd) was classified found
 * no entry to copy at fork: decide those that have none now
 * (depth-limited).
 */
static void decide_children(struct detect *d, int pdfd, int depth)
{
	char name[300];
	struct dirent *de;
	uint32_t child;
	DIR *dir;

	if (depth >= 4)
		return;
	dir = proc_tasks_at(pdfd);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		FILE *f;
		int fd;

		if (atoi(de->d_name) <= 0)
			continue;
		snprintf(name, sizeof(name), "task/%s/children", de->d_name);
		fd = openat(pdfd, name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		f = fdopen(fd, "re");
		if (!f) {
			close(fd);
			continue;
		}
		/* One pid at a time: a launcher's list has no length limit. */
		while (fscanf(f, "%u", &child) == 1) {
			struct gamer_class c;

			if (child && bpf_map_lookup_elem(d->proc_fd, &child, &c))
				decide_one(d, (int)child, 0, NULL, false, PROC_UID_READ, depth + 1);
		}
		fclose(f);
	}
	closedir(dir);
}

/*
 * Decide process pid from its event: its own match, else (unless excluded)
 * what it inherited at fork or its parent has now. ev_ts is the event's time
 * (for the latency log). comm is the name from the event (NULL: read it):
 * the name exec gave it - a program may rename its main thread before the
 * daemon reads /proc, and the profile is for the program - or, for a
 * rename, the name it is taking, which only ever gives a profile: a game
 * naming its main thread keeps the one it has (and the main thread gets
 * the thread rule for its new name). uid is the real uid it is taking (a
 * uid change: /proc may not show it yet), or PROC_UID_READ.
 */
static void decide_one(struct detect *d, int pid, uint64_t ev_ts, const char *comm, bool rename,
		       uint32_t uid, int depth)
{
	struct gamer_class want, cur, parent;
	struct match_result r;
	struct proc_info pi;
	uint32_t key = (uint32_t)pid, pkey;
	bool have, ok;
	int dfd;

	/* Decided now, with the configuration in force: a scan under way leaves it be. */
	scan_touch(d, pid);
	/*
	 * Everything below reads the process through one descriptor: a pid
	 * reused meanwhile is not taken for it (its reads fail instead).
	 */
	if (!d->cfg)
		return;
	dfd = proc_open(d->root, pid);
	if (dfd < 0)
		return;
	if (proc_read_dir(dfd, pid, &pi)) {
		close(dfd);
		return;
	}
	if (comm)
		proc_set_comm(&pi, comm);
	if (uid != PROC_UID_READ)
		pi.uid = uid;
	if (d->need_steam)
		proc_read_steam(d->root, &pi);
	have = bpf_map_lookup_elem(d->proc_fd, &key, &cur) == 0;
	ok = own_class(d, &pi, &r, &want);
	if (!ok && rename && have && owned_proc(&cur) && !match_blocked(&r)) {
		put_thread(d, dfd, key, profile_of_slot(d, cur.slot), cur.slot, comm);
		goto out;
	}
	if (!ok && !match_blocked(&r)) {
		pkey = (uint32_t)pi.ppid;
		if (have && inherited_live(d, &cur)) {
			want = cur;
			ok = true;
		} else if (bpf_map_lookup_elem(d->proc_fd, &pkey, &parent) == 0 &&
			   parent.slot != GAMER_PROFILE_DEFAULTS) {
			memset(&want, 0, sizeof(want));
			want.slot = parent.slot;
			want.role = GAMER_ROLE_NONE;
			want.boost = GAMER_BOOST_FROM_ROLE;
			want.how = GAMER_HOW_INHERITED;
			want.from = pkey;
			ok = true;
		}
	}
	if (!ok) {
		if (have && owned_proc(&cur))
			log_info("pid %d (%s): no profile now%s", pid, pi.comm,
				 r.not_user ? " (uid not in game_users)" :
				 r.excluded >= 0 ? " (excluded)" : "");
		put_proc(d, key, NULL);
		put_threads(d, dfd, NULL, 0);
		goto out;
	}
	if (put_proc(d, key, &want)) {
		const struct profile *p = profile_of_slot(d, want.slot);
		bool news = !have || !same_class(&cur, &want);

		if (news) {
			d->st.matched++;
			if (ev_ts && want.since_ns > ev_ts)
				log_info("pid %d (%s): profile '%s' by %s, %.2f ms after %s", pid,
					 pi.comm, p ? p->id : "?", games_how_name(want.how),
					 (double)(want.since_ns - ev_ts) / 1e6,
					 rename ? "its rename" : "exec");
			else
				log_info("pid %d (%s): profile '%s' by %s", pid, pi.comm,
					 p ? p->id : "?", games_how_name(want.how));
		}
		put_threads(d, dfd, p, want.slot);
		/* /proc may not show a name the main thread is taking yet. */
		if (rename)
			put_thread(d, dfd, key, p, want.slot, comm);
		/*
		 * A process that exited before the write would leave its entry
		 * behind (the exit tracepoint deleted nothing): check it is
		 * still the same, live process. One that starts exiting later
		 * has its entry deleted by that tracepoint.
		 */
		if (!proc_alive_at(dfd, pid, pi.start)) {
			drop_if_ours(d, d->proc_fd, key, want.since_ns);
			put_threads(d, dfd, NULL, 0);
		} else if (news) {
			decide_children(d, dfd, depth);
		}
	}
out:
	proc_info_free(&pi);
	close(dfd);
}

/* The thread rule for thread tid of classified process tgid, named comm. */
static void decide_thread(struct detect *d, uint32_t tid, uint32_t tgid, const char *comm)
{
	struct gamer_class pc;

	if (bpf_map_lookup_elem(d->proc_fd, &tgid, &pc))
		return;
	put_thread(d, -1, tid, profile_of_slot(d, pc.slot), pc.slot, comm);
}

/* libbpf's callback: queue the record. */
static int queue_event(void *ctx, void *data, size_t size)
{
	struct detect *d = ctx;

	if (size < sizeof(struct gamer_proc_event))
		return 0;
	if (d->n_pending == PENDING_MAX) {
		d->overflow++;
		return 0;
	}
	memcpy(&d->pending[(d->head + d->n_pending) % PENDING_MAX], data,
	       sizeof(struct gamer_proc_event));
	d->n_pending++;
	return 0;
}

static void handle_event(struct detect *d, const struct gamer_proc_event *e)
{
	char comm[GAMER_COMM_LEN + 1];

	memcpy(comm, e->comm, GAMER_COMM_LEN);
	comm[GAMER_COMM_LEN] = '\0';
	d->st.events++;
	switch (e->type) {
	case GAMER_PEV_EXEC: {
		uint64_t now = boottime_ns();

		d->st.execs++;
		if (e->ts_ns >= d->wait_from && now > e->ts_ns &&
		    now - e->ts_ns > d->st.exec_wait_max_ns)
			d->st.exec_wait_max_ns = now - e->ts_ns;
		proc_steam_forget((int)e->tgid);
		decide_one(d, (int)e->tgid, e->ts_ns, comm, false, PROC_UID_READ, 0);
		break;
	}
	case GAMER_PEV_FORK:
	case GAMER_PEV_THREAD:
		decide_thread(d, e->pid, e->tgid, comm);
		break;
	case GAMER_PEV_RENAME:
		/* exec renames the process before its exec event: that is exec too. */
		if (e->pid == e->tgid)
			decide_one(d, (int)e->pid, e->ts_ns, comm, true, PROC_UID_READ, 0);
		else
			decide_thread(d, e->pid, e->tgid, comm);
		break;
	case GAMER_PEV_EXIT:
		log_debug("pid %u (%s) exited; its classes are gone", e->tgid, comm);
		break;
	case GAMER_PEV_CREDS:
		/* game_users may see it differently now. */
		log_debug("pid %u (%s) takes real uid %u", e->tgid, comm, e->uid);
		if (d->cfg && d->cfg->daemon.has_game_users)
			decide_one(d, (int)e->tgid, 0, NULL, false, e->uid, 0);
		break;
	}
}

/* Is capability cap in this process's effective set? (True when it cannot tell: no warning then.) */
static bool have_cap(unsigned int cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (cap >= 32 * _LINUX_CAPABILITY_U32S_3 || syscall(SYS_capget, &hdr, data))
		return true;
	return data[cap / 32].effective >> (cap % 32) & 1;
}

/* Is this process in group g (its fs gid is its effective one, or a supplementary one)? */
static bool in_group(gid_t g)
{
	gid_t groups[256];
	int n = getgroups(256, groups), i;

	if (getegid() == g)
		return true;
	for (i = 0; i < n; i++)
		if (groups[i] == g)
			return true;
	return false;
}

/*
 * hidepid= hides other users' processes from a reader that may not ptrace
 * them and is not in the mount's gid= group (fs/proc/base.c,
 * has_pid_permissions(); under ptraceable the group does not count):
 * their games would get no profile, and nothing else would say why.
 */
static void warn_if_hidden(const char *proc_root)
{
	struct proc_hide h;
	char group[48] = "";

	if (proc_mount_hide("/proc/self/mountinfo", proc_root, &h) || h.mode == PROC_HIDE_NONE)
		return;
	if (have_cap(CAP_SYS_PTRACE) || (h.mode != PROC_HIDE_PTRACEABLE && in_group(h.gid)))
		return;
	if (h.mode != PROC_HIDE_PTRACEABLE)
		snprintf(group, sizeof(group), " and not in group %u", (unsigned int)h.gid);
	log_warn("%s is mounted with %s: without CAP_SYS_PTRACE%s this daemon cannot %s other "
		 "users' processes, whose games get no profile",
		 proc_root, h.how, group, h.mode == PROC_HIDE_NOACCESS ? "read" : "see");
}

struct detect *detect_new(const struct detect_kernel *k, const char *proc_root)
{
	struct detect *d = calloc(1, sizeof(*d));

	if (!d) {
		log_error("out of memory");
		return NULL;
	}
	d->k = *k;
	d->root = proc_root;
	d->proc_fd = k->proc_class_fd;
	d->task_fd = k->task_class_fd;
	d->gen_fd = k->class_gen_fd;
	d->pending = calloc(PENDING_MAX, sizeof(*d->pending));
	if (!d->pending) {
		log_error("out of memory");
		free(d);
		return NULL;
	}
	d->rb = ring_buffer__new(k->events_fd, queue_event, d, NULL);
	if (!d->rb) {
		log_error("failed to open the proc_events ring buffer: %s", strerror(errno));
		free(d->pending);
		free(d);
		return NULL;
	}
	d->lost_seen = __atomic_load_n(k->events_lost, __ATOMIC_RELAXED);
	warn_if_hidden(proc_root);
	return d;
}

void detect_free(struct detect *d)
{
	if (!d)
		return;
	ring_buffer__free(d->rb);
	free(d->pending);
	free(d->inputs);
	if (d->scan)
		scan_free(d->scan);
	free(d->scan);
	free(d);
}

static bool uses_steam(const struct match_entry *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].keys & MATCH_STEAM_APP_ID)
			return true;
	return false;
}

static void put_str(FILE *f, const char *s)
{
	/* Strings end with their NUL: "ab","c" and "a","bc" differ. */
	if (s)
		fwrite(s, 1, strlen(s) + 1, f);
	else
		fputc('\1', f);
}

static void put_entries(FILE *f, const struct match_entry *m, size_t n)
{
	fprintf(f, "%zu:", n);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%x/%u/", m[i].keys, m[i].steam_app_id);
		put_str(f, m[i].comm);
		put_str(f, m[i].exe);
		put_str(f, m[i].cmdline);
		put_str(f, m[i].wine_exe);
	}
}

/*
 * Everything a class is decided from, in one byte string: which profiles
 * there are, in which slots, their match entries, priorities and thread
 * rules, the exclude list, game_users, and which slots are live. What is
 * left out - the tunables - the scheduler reads from the slot itself, so a
 * change of those alone decides no process differently. NULL when out of
 * memory.
 */
static char *decision_inputs(const struct config_set *c, const struct applied *a, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	put_entries(f, c->daemon.exclude, c->daemon.n_exclude);
	fprintf(f, "users %d %zu:", c->daemon.has_game_users, c->daemon.n_game_users);
	for (size_t i = 0; i < c->daemon.n_game_users; i++)
		fprintf(f, "%u,", c->daemon.game_users[i]);
	fputs("live:", f);
	for (size_t i = 0; i < GAMER_MAX_PROFILES; i++)
		fputc(a->live[i] ? '1' : '0', f);
	for (size_t p = 0; p < c->n_profiles; p++) {
		const struct profile *pr = &c->profiles[p];

		put_str(f, pr->id);
		fprintf(f, "slot %d prio %d ", apply_slot_of(a, pr->id), pr->priority);
		put_entries(f, pr->match, pr->n_match);
		fprintf(f, "threads %zu:", pr->n_threads);
		for (size_t t = 0; t < pr->n_threads; t++) {
			const struct thread_rule *r = &pr->threads[t];

			fprintf(f, "%d/%d/%zu:", (int)r->role, r->boost, r->n_names);
			for (size_t k = 0; k < r->n_names; k++)
				put_str(f, r->names[k]);
		}
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

bool detect_set_config(struct detect *d, const struct config_set *c, const struct applied *a)
{
	size_t len = 0;
	char *in = decision_inputs(c, a, &len);
	bool changed = !in || !d->inputs || len != d->inputs_len || memcmp(in, d->inputs, len);

	free(d->inputs);
	d->inputs = in;
	d->inputs_len = in ? len : 0;
	d->cfg = c;
	d->a = a;
	/* The commit_creds hook sends uid changes only while someone reads them. */
	__atomic_store_n(d->k.want_creds, c->daemon.has_game_users ? 1u : 0u,
			 __ATOMIC_RELAXED);
	/* The Steam id walks up the process tree: skip it when nothing asks. */
	d->need_steam = uses_steam(c->daemon.exclude, c->daemon.n_exclude);
	for (size_t i = 0; i < c->n_profiles && !d->need_steam; i++)
		d->need_steam = uses_steam(c->profiles[i].match, c->profiles[i].n_match);
	return changed;
}

int detect_fd(const struct detect *d)
{
	return ring_buffer__epoll_fd(d->rb);
}

void detect_count_waits(struct detect *d)
{
	d->wait_from = boottime_ns();
}

bool detect_pending(const struct detect *d)
{
	return d->n_pending > 0 || (d->rescan_why && d->cfg) || detect_scanning(d);
}

static void want_rescan(struct detect *d, const char *why)
{
	log_debug("a rescan of %s is due (%s)", d->root, why);
	if (!d->rescan_why)
		d->rescan_since = boottime_ns();
	d->rescan_why = why;
}

void detect_want_rescan(struct detect *d, const char *why)
{
	/*
	 * A scan under way decides after it has read everything, with the
	 * configuration then in force; but what events decided meanwhile was
	 * decided with the old one, and one already writing decided with it:
	 * that one stops (writing on would give processes slots the new
	 * configuration may have given to other profiles). Either way another
	 * scan follows at once.
	 */
	if (detect_scanning(d) && !d->scan->dir) {
		log_debug("the rescan under way stops: the configuration changed");
		scan_free(d->scan);
	}
	want_rescan(d, why);
	if (detect_scanning(d))
		d->rescan_since = 0;
}

int detect_handle_events(struct detect *d)
{
	uint64_t lost, missed;
	unsigned int i;
	int n;

	/*
	 * queue_event() never fails, so an error is libbpf finding the ring
	 * itself broken: it would be reported again at once, for ever.
	 */
	n = ring_buffer__consume(d->rb);
	if (n < 0) {
		log_error("failed to read process events: %s; giving up", strerror(-n));
		return -1;
	}
	lost = __atomic_load_n(d->k.events_lost, __ATOMIC_RELAXED);
	missed = (lost - d->lost_seen) + d->overflow;
	if (missed) {
		log_warn("%llu process event(s) did not fit in the ring buffer or the daemon's "
			 "queue; rescanning /proc",
			 (unsigned long long)missed);
		d->st.lost += missed;
		d->lost_seen = lost;
		d->overflow = 0;
		/* The rescan sees what the queued records would tell, and more. */
		/* After the scan under way, if any: what it read may be older. */
		want_rescan(d, "events were lost");
	}
	for (i = 0; i < EVENT_BUDGET && d->n_pending; i++) {
		handle_event(d, &d->pending[d->head]);
		d->head = (d->head + 1) % PENDING_MAX;
		d->n_pending--;
	}
	/*
	 * Empty: start again at the front, so the queue's pages in use are
	 * those of its longest backlog, not all of them in turn (the daemon's
	 * resident size would creep up by the pages first touched).
	 */
	if (!d->n_pending)
		d->head = 0;
	if (d->dirty)
		bump_gen(d);
	/*
	 * A rescan asked for runs once the queued events are handled (a game
	 * that just started is not kept waiting behind a full read of /proc),
	 * or after RESCAN_WAIT_MS at most, should an exec storm never let the
	 * queue run dry.
	 */
	if (d->rescan_why && d->cfg && !detect_scanning(d) &&
	    (!d->n_pending || boottime_ns() - d->rescan_since >= RESCAN_WAIT_MS * 1000000ull)) {
		scan_begin(d, d->rescan_why);
		d->rescan_why = NULL;
	}
	if (detect_scanning(d))
		scan_step(d, boottime_ns() + RESCAN_SLICE_MS * 1000000ull);
	return 0;
}

/* ---- rescan ------------------------------------------------------------------ */

/* A rescan that takes this long is logged at info. */
#define RESCAN_SLOW_MS 250


static int cmp_pid(const void *a, const void *b)
{
	const struct scanned *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static struct scanned *find_scanned(struct scanned *v, size_t n, int pid)
{
	struct scanned key = { .pid = pid };

	return bsearch(&key, v, n, sizeof(*v), cmp_pid);
}

/* Whether pid (tid) is in the decided set. */
static bool kept(const struct scanned *v, size_t n, uint32_t pid)
{
	struct scanned *s = find_scanned((struct scanned *)v, n, (int)pid);

	return s && s->decided;
}

/* Owned entries of map fd whose key is not kept (tids sorted): deleted. */
static void drop_stale(struct detect *d, int fd, bool tasks, const struct scanned *v, size_t n,
		       const uint32_t *tids, size_t n_tids, uint64_t scan_start)
{
	uint32_t *keys;
	size_t n_keys;

	/* Out of memory: the keys not read are left for the next scan. */
	map_u32_keys(fd, &keys, &n_keys);
	for (size_t i = 0; i < n_keys; i++) {
		uint32_t key = keys[i];
		struct gamer_class c;

		if (bpf_map_lookup_elem(fd, &key, &c))
			continue;
		if (tasks ? !owned_task(&c) : !owned_proc(&c))
			continue;
		/* Written (by the scheduler's fork handler, say) after the scan began. */
		if (c.since_ns >= scan_start)
			continue;
		if (tasks) {
			if (n_tids && bsearch(&key, tids, n_tids, sizeof(*tids), map_cmp_u32))
				continue;
		} else if (kept(v, n, key)) {
			continue;
		}
		if (bpf_map_delete_elem(fd, &key) == 0)
			d->dirty = true;
	}
	free(keys);
}

/*
 * Record every thread id of pid in *tids (for drop_stale); false when out of
 * memory: the list is then short, and entries not in it must not be taken
 * for stale.
 */
static bool collect_tids(int pdfd, uint32_t **tids, size_t *n, size_t *cap)
{
	struct dirent *de;
	bool ok = true;
	DIR *dir = proc_tasks_at(pdfd);

	if (!dir)
		return true;
	while ((de = readdir(dir))) {
		int tid = atoi(de->d_name);

		if (tid <= 0)
			continue;
		if (*n == *cap) {
			size_t ncap = *cap ? *cap * 2 : 256;
			uint32_t *nt = realloc(*tids, ncap * sizeof(*nt));

			if (!nt) {
				ok = false;
				break;
			}
			*tids = nt;
			*cap = ncap;
		}
		(*tids)[(*n)++] = (uint32_t)tid;
	}
	closedir(dir);
	return ok;
}

enum still { STILL_SAME, STILL_CHANGED, STILL_GONE };

/*
 * Process s of a scan, opened again for writing its entries (*dfd, unless
 * GONE): SAME; GONE when the pid no longer holds the process scanned (gone,
 * or reused: another start time); CHANGED when it is that process but what
 * decided it no longer holds - its own match made again on what the
 * descriptor reads gives another profile, or, inherited, it has another
 * parent now or the ancestor it inherits from was decided by an event since.
 */
static enum still still_scanned(struct detect *d, const struct scanned *s, int *dfd)
{
	struct gamer_class cls;
	struct match_result r;
	struct proc_info pi;
	enum still still = STILL_SAME;

	*dfd = proc_open(d->root, s->pid);
	if (*dfd < 0)
		return STILL_GONE;
	if (proc_read_dir(*dfd, s->pid, &pi) || pi.start != s->start) {
		proc_info_free(&pi);
		close(*dfd);
		*dfd = -1;
		return STILL_GONE;
	}
	if (s->own) {
		if (d->need_steam)
			proc_read_steam(d->root, &pi);
		if (!own_class(d, &pi, &r, &cls) || cls.slot != s->cls.slot)
			still = STILL_CHANGED;
	} else if (pi.ppid != s->ppid) {
		still = STILL_CHANGED;
	} else if (s->src) {
		const struct scanned *up = find_scanned(d->scan->v, d->scan->n, s->src);

		if (!up || up->touched)
			still = STILL_CHANGED;
	}
	proc_info_free(&pi);
	return still;
}

static void facts_free(struct scanned *s)
{
	free(s->exe);
	free(s->cmdline);
	free(s->argv0);
	free(s->wine_exe);
}

/* Keep pi's facts in s (taking its strings); false when out of memory. */
static bool facts_keep(struct scanned *s, struct proc_info *pi)
{
	s->pid = pi->pid;
	s->ppid = pi->ppid;
	s->start = pi->start;
	memcpy(s->comm, pi->comm, sizeof(s->comm));
	/* Copies of their length: the buffer read into is 4 kB at least. */
	s->cmdline = strdup(pi->cmdline ? pi->cmdline : "");
	s->argv0 = pi->argv0;
	pi->argv0 = NULL;
	s->exe = strdup(pi->exe);
	s->wine_exe = strdup(pi->wine_exe);
	s->wine_from_comm = pi->wine_from_comm;
	s->steam_app_id = pi->steam_app_id;
	s->steam_from = pi->steam_from;
	s->uid = pi->uid;
	if (s->cmdline && s->exe && s->wine_exe)
		return true;
	facts_free(s);
	return false;
}

/* A proc_info that shows s's facts (borrowed: never proc_info_free() it). */
static void facts_view(const struct scanned *s, struct proc_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	pi->pid = s->pid;
	pi->ppid = s->ppid;
	pi->start = s->start;
	memcpy(pi->comm, s->comm, sizeof(pi->comm));
	snprintf(pi->exe, sizeof(pi->exe), "%s", s->exe);
	pi->cmdline = s->cmdline;
	pi->argv0 = s->argv0;
	snprintf(pi->wine_exe, sizeof(pi->wine_exe), "%s", s->wine_exe);
	pi->wine_from_comm = s->wine_from_comm;
	pi->steam_app_id = s->steam_app_id;
	pi->steam_from = s->steam_from;
	pi->uid = s->uid;
}

static void scan_free(struct scan *sc)
{
	if (sc->dir)
		closedir(sc->dir);
	for (size_t i = 0; i < sc->n; i++)
		facts_free(&sc->v[i]);
	free(sc->v);
	free(sc->tids);
	free(sc->touched);
	memset(sc, 0, sizeof(*sc));
}

/*
 * An event decided process pid (or a child of it) with the configuration in
 * force: newer than anything the running scan read of it.
 */
static void scan_touch(struct detect *d, int pid)
{
	struct scan *sc = d->scan;
	struct scanned *s;

	if (!sc || !sc->why)
		return;
	if (!sc->dir) {
		s = find_scanned(sc->v, sc->n, pid);
		if (s)
			s->touched = true;
		return;
	}
	if (sc->n_touched == sc->touched_cap) {
		size_t ncap = sc->touched_cap ? sc->touched_cap * 2 : 64;
		uint32_t *nt = realloc(sc->touched, ncap * sizeof(*nt));

		if (!nt) {
			/* The scan would not know which facts are old: no drops. */
			sc->complete = false;
			return;
		}
		sc->touched = nt;
		sc->touched_cap = ncap;
	}
	sc->touched[sc->n_touched++] = (uint32_t)pid;
}

static void scan_begin(struct detect *d, const char *why)
{
	struct scan *sc;

	if (!d->scan && !(d->scan = calloc(1, sizeof(*d->scan)))) {
		log_error("out of memory: no rescan of %s (%s)", d->root, why);
		return;
	}
	sc = d->scan;
	scan_free(sc);
	sc->start = boottime_ns();
	sc->complete = true;
	d->st.rescans++;
	sc->dir = opendir(d->root);
	if (!sc->dir) {
		log_warn("failed to scan %s: %s", d->root, strerror(errno));
		return;
	}
	sc->why = why;
}

/* Phase 1 until deadline (boottime ns): true when every process is read. */
static bool scan_read(struct detect *d, uint64_t deadline)
{
	struct scan *sc = d->scan;
	struct dirent *de;

	while ((de = readdir(sc->dir))) {
		struct proc_info pi;
		struct scanned s = { 0 };
		int pid = atoi(de->d_name);

		if (pid <= 0 || proc_read(d->root, pid, &pi))
			goto next;
		if (d->need_steam)
			proc_read_steam(d->root, &pi);
		if (sc->n == sc->cap) {
			size_t ncap = sc->cap ? sc->cap * 2 : 512;
			struct scanned *nv = realloc(sc->v, ncap * sizeof(*nv));

			if (!nv) {
				proc_info_free(&pi);
				log_error("out of memory scanning %s", d->root);
				sc->complete = false;
				break;
			}
			sc->v = nv;
			sc->cap = ncap;
		}
		if (!facts_keep(&s, &pi)) {
			proc_info_free(&pi);
			log_error("out of memory scanning %s", d->root);
			sc->complete = false;
			break;
		}
		proc_info_free(&pi);
		sc->v[sc->n++] = s;
next:
		if (boottime_ns() >= deadline)
			return false;
	}
	closedir(sc->dir);
	sc->dir = NULL;
	sc->read_ns = boottime_ns() - sc->start;
	if (sc->n > 1)
		qsort(sc->v, sc->n, sizeof(*sc->v), cmp_pid);
	for (size_t i = 0; i < sc->n_touched; i++) {
		struct scanned *t = find_scanned(sc->v, sc->n, (int)sc->touched[i]);

		if (t)
			t->touched = true;
	}
	free(sc->touched);
	sc->touched = NULL;
	sc->n_touched = sc->touched_cap = 0;
	return true;
}

/*
 * Decide every scanned process on its facts and the configuration in force
 * (after phase 1, and again when a reload comes during phase 2): its own
 * match; else, unless excluded, what it inherited at fork while that
 * profile is live (its parent may be gone), else the nearest matched
 * ancestor through unexcluded ones (the entry names its parent). An
 * ancestor an event decided meanwhile makes the scan's inheritance from it
 * stale: such a process is left alone too.
 */
static void scan_decide(struct detect *d)
{
	struct scanned *v = d->scan->v;
	size_t n = d->scan->n;

	for (size_t i = 0; i < n; i++) {
		struct scanned *s = &v[i];
		struct match_result r;
		struct proc_info pi;

		s->own = s->excluded = s->decided = false;
		s->src = 0;
		if (s->touched)
			continue;
		facts_view(s, &pi);
		s->own = own_class(d, &pi, &r, &s->cls);
		s->excluded = match_blocked(&r);
		s->decided = s->own;
	}
	for (size_t i = 0; i < n; i++) {
		struct scanned *s = &v[i], *up = s;
		struct gamer_class cur;
		uint32_t key = (uint32_t)s->pid;
		int depth;

		if (s->own || s->excluded || s->touched)
			continue;
		/*
		 * What it inherited at fork stands while its parent is gone;
		 * while the parent lives, it follows what the parent is now.
		 */
		if (bpf_map_lookup_elem(d->proc_fd, &key, &cur) == 0 && inherited_live(d, &cur) &&
		    !find_scanned(v, n, (int)cur.from)) {
			s->cls = cur;
			s->decided = true;
			continue;
		}
		for (depth = 0; depth < INHERIT_MAX_DEPTH; depth++) {
			up = find_scanned(v, n, up->ppid);
			if (!up || up->excluded || up->own || up->touched)
				break;
		}
		if (up && up->touched)
			s->touched = true;
		if (!up || !up->own)
			continue;
		memset(&s->cls, 0, sizeof(s->cls));
		s->cls.slot = up->cls.slot;
		s->cls.role = GAMER_ROLE_NONE;
		s->cls.boost = GAMER_BOOST_FROM_ROLE;
		s->cls.how = GAMER_HOW_INHERITED;
		s->cls.from = (uint32_t)s->ppid;
		s->src = up->pid;
		s->decided = true;
	}
}

/*
 * A process the scan leaves as it is (an event decided it since, or what
 * the scan decided it by changed): its entries are not stale, nor are those
 * of its threads. dfd: its directory, or -1.
 */
static void scan_keep(struct detect *d, struct scanned *s, int dfd)
{
	struct scan *sc = d->scan;

	s->decided = true;
	if (dfd < 0)
		dfd = proc_open(d->root, s->pid);
	if (dfd < 0)
		return;
	if (sc->complete && !collect_tids(dfd, &sc->tids, &sc->n_tids, &sc->tid_cap)) {
		log_error("out of memory listing the threads of %d; stale entries stay "
			  "until the next rescan",
			  s->pid);
		sc->complete = false;
	}
	close(dfd);
}

/* The entries of scanned process s (phase 2). */
static void scan_write_one(struct detect *d, struct scanned *s)
{
	struct scan *sc = d->scan;
	struct gamer_class was;
	uint32_t key = (uint32_t)s->pid;
	bool had;
	int dfd;

	if (s->touched) {
		scan_keep(d, s, -1);
		return;
	}
	had = bpf_map_lookup_elem(d->proc_fd, &key, &was) == 0;
	if (!s->decided) {
		/*
		 * Its entries and its threads' taken away - if the pid still
		 * holds it (not a process forked into the pid since), and not
		 * one written since the scan began (what the fork handler
		 * wrote for it, say).
		 */
		if (!had || was.since_ns >= sc->start)
			return;
		dfd = proc_open(d->root, s->pid);
		if (dfd < 0)
			return;
		if (proc_alive_at(dfd, s->pid, s->start)) {
			put_proc(d, key, NULL);
			put_threads(d, dfd, NULL, 0);
		}
		close(dfd);
		return;
	}
	switch (still_scanned(d, s, &dfd)) {
	case STILL_GONE:
		s->decided = false;
		return;
	case STILL_CHANGED:
		scan_keep(d, s, dfd);
		return;
	case STILL_SAME:
		break;
	}
	if (!put_proc(d, key, &s->cls)) {
		s->decided = false;
		close(dfd);
		return;
	}
	/* Found by the scan, not by an event (one queued may follow). */
	if (!had || !same_class(&was, &s->cls)) {
		const struct profile *p = profile_of_slot(d, s->cls.slot);

		d->st.matched++;
		log_info("pid %d (%s): profile '%s' by %s (%s)", s->pid, s->comm, p ? p->id : "?",
			 games_how_name(s->cls.how), sc->why);
	}
	put_threads(d, dfd, profile_of_slot(d, s->cls.slot), s->cls.slot);
	if (sc->complete && !collect_tids(dfd, &sc->tids, &sc->n_tids, &sc->tid_cap)) {
		log_error("out of memory listing the threads of %d; stale entries stay "
			  "until the next rescan",
			  s->pid);
		sc->complete = false;
	}
	/* Gone before the writes: its exit tracepoint deleted nothing. */
	if (!proc_alive_at(dfd, s->pid, s->start)) {
		drop_if_ours(d, d->proc_fd, (uint32_t)s->pid, s->cls.since_ns);
		s->decided = false;
	}
	close(dfd);
}

static void scan_finish(struct detect *d)
{
	struct scan *sc = d->scan;
	uint64_t took_ms = (boottime_ns() - sc->start) / 1000000;

	/* Entries are only dropped on a full picture, and never one written since. */
	if (sc->complete) {
		if (sc->n_tids)
			qsort(sc->tids, sc->n_tids, sizeof(*sc->tids), map_cmp_u32);
		drop_stale(d, d->proc_fd, false, sc->v, sc->n, NULL, 0, sc->start);
		drop_stale(d, d->task_fd, true, NULL, 0, sc->tids, sc->n_tids, sc->start);
	}
	if (d->dirty)
		bump_gen(d);
	/* A slow scan delays what it is for: worth a line. */
	if (took_ms >= RESCAN_SLOW_MS)
		log_info("rescanned %s (%s): %zu processes in %llu ms (%llu reading them), "
			 "%u slice(s)",
			 d->root, sc->why, sc->n, (unsigned long long)took_ms,
			 (unsigned long long)(sc->read_ns / 1000000), sc->slices);
	else
		log_debug("rescanned %s (%s): %zu processes in %llu ms (%llu reading them), "
			  "%u slice(s)",
			  d->root, sc->why, sc->n, (unsigned long long)took_ms,
			  (unsigned long long)(sc->read_ns / 1000000), sc->slices);
	scan_free(sc);
}

/* Work on the scan until deadline (boottime ns); true when it is done. */
static bool scan_step(struct detect *d, uint64_t deadline)
{
	struct scan *sc = d->scan;

	if (!sc->why)
		return true;
	sc->slices++;
	if (sc->dir) {
		if (!scan_read(d, deadline))
			return false;
		scan_decide(d);
	}
	while (sc->next < sc->n) {
		scan_write_one(d, &sc->v[sc->next++]);
		if (sc->next < sc->n && boottime_ns() >= deadline)
			return false;
	}
	scan_finish(d);
	return true;
}

void detect_rescan(struct detect *d, const char *why)
{
	if (!d->cfg)
		return;
	d->rescan_why = NULL;
	scan_begin(d, why);
	if (detect_scanning(d))
		scan_step(d, UINT64_MAX);
}

const struct detect_stats *detect_stats(const struct detect *d)
{
	return &d->st;
}
