// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rescan in slices, from the inside: this test uses detection's insides
 * (src/daemon/detect-int.h) to stop a scan between its phases and do there what the daemon's loop may do
 * between two slices - a launcher exiting, an exec event decided, a reload,
 * events lost - then lets the loop's call finish it. Real class maps in the
 * host kernel (the types bpf/gamer.bpf.c declares), the real /proc, real
 * child processes.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <bpf/bpf.h>

#include "conf/conf.h"
#include "daemon/apply.h"
#include "daemon/detect-int.h"
#include "log.h"
#include "../tests/tap.h"
#include "class_maps.h"

#define GAME "rsgame-host"
#define CHILD "rschild"

static __u64 lost;
static __u32 want_creds;

static bool class_of(int fd, pid_t pid, struct gamer_class *c)
{
	__u32 key = (__u32)pid;

	return bpf_map_lookup_elem(fd, &key, c) == 0;
}

/* A configuration of one profile, id in slot 1. */
static int config(struct config_set *c, struct applied *a, const char *id, const char *yaml)
{
	struct diags dg = { 0 };
	struct profile p;

	memset(c, 0, sizeof(*c));
	memset(a, 0, sizeof(*a));
	if (config_parse_profile_buf(yaml, strlen(yaml), "test.yaml", id, &p, &dg) ||
	    config_put_profile(c, &p) || config_resolve(c, &dg)) {
		diags_print(&dg, stdout);
		diags_free(&dg);
		return -1;
	}
	diags_free(&dg);
	a->id[1] = strdup(id);
	a->live[1] = true;
	a->since_ns[1] = boottime_ns();
	return 0;
}

static void unconfig(struct config_set *c, struct applied *a)
{
	config_set_free(c);
	free(a->id[1]);
	memset(a, 0, sizeof(*a));
}

/*
 * A launcher (its pid in *l, unless l is NULL: then the game is our child)
 * that starts a game named GAME, which starts a child named CHILD; the
 * launcher waits for a byte on *go before it exits.
 */
static int start(pid_t *l, pid_t *g, pid_t *ch, int *go)
{
	int up[2], out[2], q[2];
	pid_t pids[2];

	/* up: the game tells the launcher its child; out: the launcher tells us both. */
	if (pipe(up) || pipe(out) || pipe(q))
		return -1;
	*l = fork();
	if (*l == 0) {
		char c;

		close(out[0]);
		close(q[1]);
		pids[0] = fork();
		if (pids[0] == 0) {
			prctl(PR_SET_NAME, GAME);
			pids[1] = fork();
			if (pids[1] == 0) {
				prctl(PR_SET_NAME, CHILD);
				for (;;)
					pause();
			}
			if (write(up[1], &pids[1], sizeof(pids[1])) != sizeof(pids[1]))
				_exit(1);
			for (;;)
				pause();
		}
		if (read(up[0], &pids[1], sizeof(pids[1])) != sizeof(pids[1]) ||
		    write(out[1], pids, sizeof(pids)) != sizeof(pids))
			_exit(1);
		if (read(q[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(up[0]);
	close(up[1]);
	close(out[1]);
	close(q[0]);
	if (read(out[0], pids, sizeof(pids)) != sizeof(pids)) {
		close(out[0]);
		return -1;
	}
	close(out[0]);
	*g = pids[0];
	*ch = pids[1];
	*go = q[1];
	usleep(100000); /* the names set */
	return 0;
}

static void stop(pid_t l, pid_t g, pid_t ch, int go)
{
	kill(ch, SIGKILL);
	kill(g, SIGKILL);
	if (go >= 0 && write(go, "x", 1) < 0)
		kill(l, SIGKILL);
	close(go);
	waitpid(l, NULL, 0);
	/* Reparented to us (a subreaper) if the launcher went first. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* What the loop does until detection has nothing left to do. */
static void settle(struct detect *d)
{
	for (int i = 0; i < 100000 && detect_pending(d); i++)
		detect_handle_events(d);
}

/* A scan as a reload asks for it, stopped once every process is read and decided. */
static void scan_until_written(struct detect *d)
{
	detect_want_rescan(d, "configuration changed");
	d->rescan_since = 0;
	scan_begin(d, d->rescan_why);
	d->rescan_why = NULL;
	scan_read(d, UINT64_MAX);
	scan_decide(d);
}

int main(void)
{
	static const char game_yaml[] = "schema: 1\nmatch:\n  - comm: " GAME "\n"
					"threads:\n  - {name: \"" GAME "\", role: render}\n";
	static const char none_yaml[] = "schema: 1\nmatch:\n  - comm: no-such-game\n";
	static struct config_set c1, c2;
	static struct applied a1, a2;
	struct detect_kernel k = { .events_lost = &lost, .want_creds = &want_creds };
	struct gamer_class cls;
	struct detect *d;
	pid_t l, g, ch;
	uint64_t rescans;
	int go;

	if (geteuid() != 0) {
		printf("1..0 # SKIP creating BPF maps needs root\n");
		return 0;
	}
	log_max_level = LOG_WARN;
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (!class_maps(&k) || config(&c1, &a1, "rs", game_yaml) ||
	    config(&c2, &a2, "rs", none_yaml)) {
		printf("Bail out! no maps or no configuration (root and BPF needed)\n");
		return 1;
	}
	d = detect_new(&k, "/proc");
	if (!d) {
		printf("Bail out! detect_new\n");
		return 1;
	}
	detect_set_config(d, &c1, &a1);

	/* ---- a launcher that exits during the scan --------------------------- */
	if (start(&l, &g, &ch, &go)) {
		printf("Bail out! could not start the game\n");
		return 1;
	}
	detect_rescan(d, "start-up");
	tap_ok(class_of(d->proc_fd, g, &cls) && cls.how == GAMER_HOW_COMM &&
		       class_of(d->task_fd, g, &cls) && class_of(d->proc_fd, ch, &cls) &&
		       cls.how == GAMER_HOW_INHERITED,
	       "(setup) the game has its profile and thread role, its child inherits");
	scan_until_written(d);
	/* Between two slices its launcher exits: the game and its child live on. */
	if (write(go, "x", 1) != 1 || waitpid(l, NULL, 0) != l)
		printf("# the launcher did not end\n");
	close(go);
	go = -1;
	usleep(50000);
	settle(d);
	tap_ok(kill(g, 0) == 0 && class_of(d->proc_fd, g, &cls) && cls.how == GAMER_HOW_COMM,
	       "a launcher exiting during a scan: the game keeps its profile");
	tap_ok(class_of(d->task_fd, g, &cls) && cls.role == GAMER_ROLE_RENDER,
	       "... and its thread's role");
	tap_ok(class_of(d->proc_fd, ch, &cls) && cls.how == GAMER_HOW_INHERITED,
	       "... and its child what it inherited");
	stop(l, g, ch, go);

	/* ---- an exec event decided during the scan, then a reload ------------ */
	if (start(&l, &g, &ch, &go)) {
		printf("Bail out! could not start the game\n");
		return 1;
	}
	detect_rescan(d, "start-up");
	scan_begin(d, "configuration changed");
	scan_read(d, UINT64_MAX);
	/* The game's exec event, handled between slices under the old configuration. */
	decide_one(d, g, 0, NULL, false, PROC_UID_READ, 0);
	tap_ok(find_scanned(d->scan->v, d->scan->n, g) &&
		       find_scanned(d->scan->v, d->scan->n, g)->touched,
	       "(setup) a process an event decides during the scan is the event's");
	/* Then a reload that no longer matches it. */
	if (detect_set_config(d, &c2, &a2))
		detect_want_rescan(d, "configuration changed");
	scan_decide(d);
	settle(d);
	tap_ok(!class_of(d->proc_fd, g, &cls) && !class_of(d->task_fd, g, &cls),
	       "a reload during the scan: what the event decided before it does not stay");
	tap_ok(!class_of(d->proc_fd, ch, &cls), "... nor what its child inherited");
	stop(l, g, ch, go);
	detect_set_config(d, &c1, &a1);
	detect_rescan(d, "back");

	/* ---- a reload while the scan writes: it stops, another one follows --- */
	if (start(&l, &g, &ch, &go)) {
		printf("Bail out! could not start the game\n");
		return 1;
	}
	detect_rescan(d, "start-up");
	/* Slot 1 given to another profile that matches nothing: no adopting. */
	unconfig(&c2, &a2);
	if (config(&c2, &a2, "other", none_yaml)) {
		printf("Bail out! configuration\n");
		return 1;
	}
	scan_until_written(d);
	scan_write_one(d, &d->scan->v[d->scan->next++]);
	if (detect_set_config(d, &c2, &a2))
		detect_want_rescan(d, "configuration changed");
	tap_ok(!scan_active(d) && d->rescan_why,
	       "a reload while a scan writes stops it and asks for another");
	settle(d);
	tap_ok(!class_of(d->proc_fd, g, &cls), "after it, the game matches nothing");
	tap_ok(!class_of(d->proc_fd, ch, &cls),
	       "... and its child does not pass to the profile now in the slot");
	stop(l, g, ch, go);
	detect_set_config(d, &c1, &a1);
	detect_rescan(d, "back");

	/* ---- events lost during a scan: it ends, then one more --------------- */
	rescans = detect_stats(d)->rescans;
	scan_begin(d, "configuration changed");
	/* Past its deadline: a process at a time. */
	for (int i = 0; i < 10 && !d->scan->n; i++)
		scan_read(d, 0);
	lost += 2;
	detect_handle_events(d);
	tap_ok(detect_stats(d)->lost == 2, "(setup) the lost events are counted");
	/* (This host may finish the scan in that call's slice.) */
	tap_ok(detect_stats(d)->rescans == rescans + 1 && d->rescan_why,
	       "events lost during a scan: it goes on, not begun again; another one asked for");
	settle(d);
	tap_ok(detect_stats(d)->rescans == rescans + 2 && !detect_pending(d),
	       "... which follows once it has ended (%llu scans)",
	       (unsigned long long)(detect_stats(d)->rescans - rescans));

	detect_free(d);
	unconfig(&c1, &a1);
	unconfig(&c2, &a2);
	return tap_done();
}
