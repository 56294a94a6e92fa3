// SPDX-License-Identifier: GPL-2.0-only
/*
 * Rescans of /proc, for game detection (see detect.h).
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

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "detect-int.h"
#include "games.h"
#include "log.h"
#include "maps.h"

bool scan_active(const struct detect *d)
{
	return d->scan && d->scan->why;
}

void want_rescan(struct detect *d, const char *why)
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
	if (scan_active(d) && !d->scan->dir) {
		log_debug("the rescan under way stops: the configuration changed");
		scan_free(d->scan);
	}
	want_rescan(d, why);
	if (scan_active(d))
		d->rescan_since = 0;
}

/* A rescan that takes this long is logged at info. */
#define RESCAN_SLOW_MS 250


static int cmp_pid(const void *a, const void *b)
{
	const struct scanned *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

struct scanned *find_scanned(struct scanned *v, size_t n, int pid)
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

void scan_free(struct scan *sc)
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
void scan_touch(struct detect *d, int pid)
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

/* How much longer this thread has waited for a CPU than at w0 (UINT64_MAX: unknown). */
static uint64_t waited_since(uint64_t w0)
{
	uint64_t w = run_delay_ns();

	return w == UINT64_MAX || w0 == UINT64_MAX ? UINT64_MAX : w - w0;
}

void scan_begin(struct detect *d, const char *why)
{
	struct scan *sc;

	if (!d->scan && !(d->scan = calloc(1, sizeof(*d->scan)))) {
		log_error("out of memory: no rescan of %s (%s)", d->root, why);
		return;
	}
	sc = d->scan;
	scan_free(sc);
	sc->start = boottime_ns();
	sc->wait0 = run_delay_ns();
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
bool scan_read(struct detect *d, uint64_t deadline)
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
	sc->read_wait_ns = waited_since(sc->wait0);
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
void scan_decide(struct detect *d)
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
void scan_write_one(struct detect *d, struct scanned *s)
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
	uint64_t wait = waited_since(sc->wait0);
	char waits[96] = "";

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
	/* Time the daemon was runnable but not running: the scheduler's, not /proc's. */
	if (wait != UINT64_MAX && sc->read_wait_ns != UINT64_MAX)
		snprintf(waits, sizeof(waits), "; waiting for a CPU: %llu ms, %llu of them reading",
			 (unsigned long long)(wait / 1000000),
			 (unsigned long long)(sc->read_wait_ns / 1000000));
	if (took_ms >= RESCAN_SLOW_MS)
		log_info("rescanned %s (%s): %zu processes in %llu ms (%llu reading them), "
			 "%u slice(s)%s",
			 d->root, sc->why, sc->n, (unsigned long long)took_ms,
			 (unsigned long long)(sc->read_ns / 1000000), sc->slices, waits);
	else
		log_debug("rescanned %s (%s): %zu processes in %llu ms (%llu reading them), "
			  "%u slice(s)%s",
			  d->root, sc->why, sc->n, (unsigned long long)took_ms,
			  (unsigned long long)(sc->read_ns / 1000000), sc->slices, waits);
	scan_free(sc);
}

/* Work on the scan until deadline (boottime ns); true when it is done. */
bool scan_step(struct detect *d, uint64_t deadline)
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
	if (scan_active(d))
		scan_step(d, UINT64_MAX);
}
