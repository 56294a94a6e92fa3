// SPDX-License-Identifier: GPL-2.0-only
/*
 * Game detection in the daemon (see detect.h): the process events, each
 * deciding one process; rescan.c decides them all from /proc.
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

#include "detect-int.h"
#include "games.h"
#include "log.h"
#include "maps.h"
#include "match.h"

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
void decide_one(struct detect *d, int pid, uint64_t ev_ts, const char *comm, bool rename,
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
	return d->n_pending > 0 || (d->rescan_why && d->cfg) || scan_active(d);
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
	if (d->rescan_why && d->cfg && !scan_active(d) &&
	    (!d->n_pending || boottime_ns() - d->rescan_since >= RESCAN_WAIT_MS * 1000000ull)) {
		scan_begin(d, d->rescan_why);
		d->rescan_why = NULL;
	}
	if (scan_active(d))
		scan_step(d, boottime_ns() + RESCAN_SLICE_MS * 1000000ull);
	return 0;
}

const struct detect_stats *detect_stats(const struct detect *d)
{
	return &d->st;
}
