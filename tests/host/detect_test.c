// SPDX-License-Identifier: GPL-2.0-only
/*
 * Game detection on its own, without the scheduler's object: maps this test
 * creates in the host kernel (of the types bpf/gamer.bpf.c declares), the
 * real /proc and a real child process. What the daemon's loop would do is
 * called by hand: set a configuration, rescan, see the class maps agree.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "log.h"
#include "conf/conf.h"
#include "daemon/apply.h"
#include "daemon/detect.h"
#include "../tests/tap.h"
#include "class_maps.h"

#define GAME_COMM "dtgame-host"

/* A child named GAME_COMM that waits to be killed; its pid. */
static pid_t start_game(void)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_NAME, GAME_COMM);
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1)
		pid = -1;
	close(p[0]);
	return pid;
}

static bool class_of(int fd, pid_t pid, struct gamer_class *c)
{
	__u32 key = (__u32)pid;

	return bpf_map_lookup_elem(fd, &key, c) == 0;
}

static __u64 gen_of(int fd)
{
	__u32 key = 0;
	__u64 v = 0;

	bpf_map_lookup_elem(fd, &key, &v);
	return v;
}

int main(void)
{
	static const char prof[] = "schema: 1\nmatch:\n  - comm: \"" GAME_COMM "\"\n";
	struct detect_kernel k = { 0 };
	struct config_set c = { 0 };
	struct applied a = { 0 };
	struct diags dg = { 0 };
	struct gamer_class cls;
	__u64 lost = 0, gen0;
	__u32 want = 7;
	struct profile p;
	struct detect *d;
	pid_t game;

	if (geteuid() != 0) {
		printf("1..0 # SKIP creating BPF maps needs root\n");
		return 0;
	}
	log_max_level = LOG_WARN;
	k.events_lost = &lost;
	k.want_creds = &want;
	if (!tap_ok(class_maps(&k),
		    "the class maps and the event ring are created without the scheduler")) {
		tap_bail("no maps");
		return 1;
	}
	d = detect_new(&k, "/proc");
	if (!tap_ok(d && detect_fd(d) >= 0, "detection binds to them, and has a pollable fd")) {
		tap_bail("no detection");
		return 1;
	}

	if (config_parse_profile_buf(prof, sizeof(prof) - 1, "dt.yaml", "dt", &p, &dg) ||
	    config_put_profile(&c, &p) || config_resolve(&c, &dg)) {
		diags_print(&dg, stdout);
		tap_bail("the test's profile does not load");
		return 1;
	}
	a.id[1] = strdup("dt");
	a.live[1] = true;
	detect_set_config(d, &c, &a);
	tap_ok(want == 0, "no game_users: the uid-change events are switched off");

	game = start_game();
	if (!tap_ok(game > 0, "a child named %s runs", GAME_COMM)) {
		tap_bail("no child");
		return 1;
	}
	gen0 = gen_of(k.class_gen_fd);
	detect_rescan(d, "test");
	tap_ok(class_of(k.proc_class_fd, game, &cls) && cls.slot == 1 && cls.how == GAMER_HOW_COMM,
	       "a rescan gives the game its profile's slot, by comm");
	tap_ok(gen_of(k.class_gen_fd) > gen0, "and counts the change in class_gen");
	tap_ok(!class_of(k.proc_class_fd, getpid(), &cls), "a process that matches nothing gets nothing");

	/* Records the BPF side could not post: detection rescans on its own. */
	lost = 3;
	{
		uint64_t rescans = detect_stats(d)->rescans;

		tap_ok(detect_handle_events(d) >= 0 && detect_stats(d)->lost == 3 &&
			       detect_stats(d)->rescans > rescans,
		       "lost events are counted and bring a rescan");
	}

	kill(game, SIGKILL);
	waitpid(game, NULL, 0);
	detect_rescan(d, "test");
	tap_ok(!class_of(k.proc_class_fd, game, &cls), "the game gone, its entry is dropped");

	c.daemon.has_game_users = true;
	detect_set_config(d, &c, &a);
	tap_ok(want == 1, "game_users set: the uid-change events are switched on");

	detect_free(d);
	applied_free(&a);
	config_set_free(&c);
	diags_free(&dg);
	return tap_done();
}
