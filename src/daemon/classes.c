// SPDX-License-Identifier: GPL-2.0-only
/*
 * The class maps as detection writes them (see detect-int.h): which
 * entries are the daemon's, what a process's own match gives it, and the
 * writes themselves - for the events (detect.c) and the rescans (rescan.c)
 * alike.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "detect-int.h"
#include "log.h"

/* Entries the daemon wrote (and may change or delete). */
bool owned_proc(const struct gamer_class *c)
{
	return c->how >= GAMER_HOW_STEAM_APP_ID && c->how <= GAMER_HOW_INHERITED;
}

bool owned_task(const struct gamer_class *c)
{
	return c->how == GAMER_HOW_THREAD_RULE;
}

bool same_class(const struct gamer_class *a, const struct gamer_class *b)
{
	return a->slot == b->slot && a->role == b->role && a->boost == b->boost &&
	       a->how == b->how && a->from == b->from && a->rule == b->rule;
}

void bump_gen(struct detect *d)
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
void drop_if_ours(struct detect *d, int fd, uint32_t key, uint64_t since_ns)
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
bool inherited_live(const struct detect *d, const struct gamer_class *c)
{
	return c->how == GAMER_HOW_INHERITED && c->slot < GAMER_MAX_PROFILES &&
	       d->a->live[c->slot] && c->since_ns >= d->a->since_ns[c->slot];
}

/* The loaded profile behind a slot, or NULL. */
const struct profile *profile_of_slot(const struct detect *d, unsigned int slot)
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
 * of that process, not of one that took the pid since), or, pdfd < 0,
 * under ROOT/TID - in both, as task/TID?
 */
static bool thread_alive(const struct detect *d, int pdfd, uint32_t tid)
{
	char name[32];
	bool alive;
	int fd, own = -1;

	/*
	 * Always the thread's own directory: ROOT/TID is its process's view,
	 * where an exiting thread counts as alive while another thread lives
	 * (its entry would be left behind).
	 */
	if (pdfd < 0) {
		own = proc_open(d->root, (int)tid);
		if (own < 0)
			return false;
		pdfd = own;
	}
	snprintf(name, sizeof(name), "task/%u", tid);
	fd = openat(pdfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	alive = fd >= 0 && proc_alive_at(fd, (int)tid, 0);
	if (fd >= 0)
		close(fd);
	if (own >= 0)
		close(own);
	return alive;
}

/*
 * Make task_class[tid] what p's thread rules say for a thread called comm.
 * pdfd: the open directory of its process, or -1.
 */
void put_thread(struct detect *d, int pdfd, uint32_t tid, const struct profile *p,
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
void put_threads(struct detect *d, int pdfd, const struct profile *p, unsigned int slot)
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
bool put_proc(struct detect *d, uint32_t pid, struct gamer_class *want)
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
bool own_class(struct detect *d, const struct proc_info *pi, struct match_result *r,
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
