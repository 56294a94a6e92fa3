// SPDX-License-Identifier: GPL-2.0-only
/*
 * Game detection in the daemon (see detect.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
	struct detect_stats st;
};

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
		if (have && cur.how == GAMER_HOW_INHERITED) {
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
	case GAMER_PEV_EXEC:
		d->st.execs++;
		proc_steam_forget((int)e->tgid);
		decide_one(d, (int)e->tgid, e->ts_ns, comm, false, PROC_UID_READ, 0);
		break;
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
	free(d);
}

static bool uses_steam(const struct match_entry *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (m[i].keys & MATCH_STEAM_APP_ID)
			return true;
	return false;
}

void detect_set_config(struct detect *d, const struct config_set *c, const struct applied *a)
{
	d->cfg = c;
	d->a = a;
	/* The commit_creds hook sends uid changes only while someone reads them. */
	__atomic_store_n(d->k.want_creds, c->daemon.has_game_users ? 1u : 0u,
			 __ATOMIC_RELAXED);
	/* The Steam id walks up the process tree: skip it when nothing asks. */
	d->need_steam = uses_steam(c->daemon.exclude, c->daemon.n_exclude);
	for (size_t i = 0; i < c->n_profiles && !d->need_steam; i++)
		d->need_steam = uses_steam(c->profiles[i].match, c->profiles[i].n_match);
}

int detect_fd(const struct detect *d)
{
	return ring_buffer__epoll_fd(d->rb);
}

bool detect_pending(const struct detect *d)
{
	return d->n_pending > 0;
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
		d->head = d->n_pending = 0;
		detect_rescan(d, "events were lost");
		return 0;
	}
	for (i = 0; i < EVENT_BUDGET && d->n_pending; i++) {
		handle_event(d, &d->pending[d->head]);
		d->head = (d->head + 1) % PENDING_MAX;
		d->n_pending--;
	}
	if (d->dirty)
		bump_gen(d);
	return 0;
}

/* ---- rescan ------------------------------------------------------------------ */

struct scanned {
	int pid, ppid;
	unsigned long long start; /* to know it again (a pid may be reused) */
	bool own, excluded, decided;
	struct gamer_class cls;
	char comm[PROC_COMM_LEN]; /* for the log */
};

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

/*
 * Process s of a scan, opened again for writing its entries: its
 * descriptor, or -1 when the pid no longer holds the process scanned (gone,
 * or reused - a start time is counted in clock ticks, so facts are compared
 * too, and an own match is made again on what the descriptor reads).
 */
static int still_scanned(struct detect *d, const struct scanned *s)
{
	struct gamer_class cls;
	struct match_result r;
	struct proc_info pi;
	int dfd = proc_open(d->root, s->pid);
	bool same;

	if (dfd < 0)
		return -1;
	if (proc_read_dir(dfd, s->pid, &pi)) {
		close(dfd);
		return -1;
	}
	same = pi.start == s->start && pi.ppid == s->ppid;
	if (same && s->own) {
		if (d->need_steam)
			proc_read_steam(d->root, &pi);
		same = own_class(d, &pi, &r, &cls) && cls.slot == s->cls.slot;
	}
	proc_info_free(&pi);
	if (!same) {
		close(dfd);
		return -1;
	}
	return dfd;
}

void detect_rescan(struct detect *d, const char *why)
{
	struct scanned *v = NULL;
	size_t n = 0, cap = 0, n_tids = 0, tid_cap = 0, i;
	uint32_t *tids = NULL;
	uint64_t scan_start = boottime_ns();
	bool complete = true;
	struct dirent *de;
	DIR *dir;

	if (!d->cfg)
		return;
	d->st.rescans++;
	dir = opendir(d->root);
	if (!dir) {
		log_warn("failed to scan %s: %s", d->root, strerror(errno));
		return;
	}
	while ((de = readdir(dir))) {
		struct proc_info pi;
		struct match_result r;
		struct scanned s = { 0 };
		int pid = atoi(de->d_name);

		if (pid <= 0 || proc_read(d->root, pid, &pi))
			continue;
		if (d->need_steam)
			proc_read_steam(d->root, &pi);
		s.pid = pid;
		s.ppid = pi.ppid;
		s.start = pi.start;
		s.own = own_class(d, &pi, &r, &s.cls);
		s.excluded = match_blocked(&r);
		s.decided = s.own;
		memcpy(s.comm, pi.comm, sizeof(s.comm));
		proc_info_free(&pi);
		if (n == cap) {
			struct scanned *nv = realloc(v, (cap = cap ? cap * 2 : 512) * sizeof(*nv));

			if (!nv) {
				log_error("out of memory scanning %s", d->root);
				complete = false;
				break;
			}
			v = nv;
		}
		v[n++] = s;
	}
	closedir(dir);
	qsort(v, n, sizeof(*v), cmp_pid);

	/*
	 * Inheritance: what the process inherited at fork while that profile
	 * is live (its parent may be gone), else the nearest matched ancestor
	 * through unexcluded ones (the entry names its parent).
	 */
	for (i = 0; i < n; i++) {
		struct scanned *s = &v[i], *up = s;
		struct gamer_class cur;
		uint32_t key = (uint32_t)s->pid;
		int depth;

		if (s->own || s->excluded)
			continue;
		if (bpf_map_lookup_elem(d->proc_fd, &key, &cur) == 0 &&
		    cur.how == GAMER_HOW_INHERITED && cur.slot < GAMER_MAX_PROFILES &&
		    d->a->live[cur.slot]) {
			s->cls = cur;
			s->decided = true;
			continue;
		}
		for (depth = 0; depth < INHERIT_MAX_DEPTH; depth++) {
			up = find_scanned(v, n, up->ppid);
			if (!up || up->excluded || up->own)
				break;
		}
		if (!up || !up->own)
			continue;
		memset(&s->cls, 0, sizeof(s->cls));
		s->cls.slot = up->cls.slot;
		s->cls.role = GAMER_ROLE_NONE;
		s->cls.boost = GAMER_BOOST_FROM_ROLE;
		s->cls.how = GAMER_HOW_INHERITED;
		s->cls.from = (uint32_t)s->ppid;
		s->decided = true;
	}

	for (i = 0; i < n; i++) {
		struct scanned *s = &v[i];
		struct gamer_class was;
		uint32_t key = (uint32_t)s->pid;
		bool had;
		int dfd;

		if (!s->decided) {
			put_proc(d, key, NULL);
			continue;
		}
		had = bpf_map_lookup_elem(d->proc_fd, &key, &was) == 0;
		dfd = still_scanned(d, s);
		if (dfd < 0 || !put_proc(d, key, &s->cls)) {
			s->decided = false;
			if (dfd >= 0)
				close(dfd);
			continue;
		}
		/* Found by the scan, not by an event (one queued may follow). */
		if (!had || !same_class(&was, &s->cls)) {
			const struct profile *p = profile_of_slot(d, s->cls.slot);

			d->st.matched++;
			log_info("pid %d (%s): profile '%s' by %s (%s)", s->pid, s->comm,
				 p ? p->id : "?", games_how_name(s->cls.how), why);
		}
		put_threads(d, dfd, profile_of_slot(d, s->cls.slot), s->cls.slot);
		if (complete && !collect_tids(dfd, &tids, &n_tids, &tid_cap)) {
			log_error("out of memory listing the threads of %d; stale entries stay "
				  "until the next rescan", s->pid);
			complete = false;
		}
		/* Gone before the writes: its exit tracepoint deleted nothing. */
		if (!proc_alive_at(dfd, s->pid, s->start)) {
			drop_if_ours(d, d->proc_fd, (uint32_t)s->pid, s->cls.since_ns);
			s->decided = false;
		}
		close(dfd);
	}
	/* Entries are only dropped on a full picture, and never one written since. */
	if (complete) {
		if (n_tids)
			qsort(tids, n_tids, sizeof(*tids), map_cmp_u32);
		drop_stale(d, d->proc_fd, false, v, n, NULL, 0, scan_start);
		drop_stale(d, d->task_fd, true, NULL, 0, tids, n_tids, scan_start);
	}
	if (d->dirty)
		bump_gen(d);
	log_debug("rescanned %s (%s): %zu processes", d->root, why, n);
	free(tids);
	free(v);
}

const struct detect_stats *detect_stats(const struct detect *d)
{
	return &d->st;
}
