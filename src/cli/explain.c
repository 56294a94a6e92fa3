// SPDX-License-Identifier: GPL-2.0-only
/*
 * `scx_gamer explain PID`: why a process has the profile it has.
 *
 * The verdicts come from matching the process against the installed
 * configuration, the same code the daemon runs; what the scheduler actually
 * applies comes from the kernel's maps (proc_class, task_class, and each
 * thread's task-local storage for its effective boost). When the two
 * disagree (an edit not picked up yet, a file that does not validate), both
 * are shown.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "../../bpf/policy.h"
#include "cmd.h"
#include "conf/conf.h"
#include "daemon/games.h"
#include "daemon/match.h"
#include "daemon/pins.h"
#include "log.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD 0x80 /* O_EXCL: a pidfd for a thread (Linux 6.9) */
#endif

static int pidfd_open_tid(int tid, unsigned int flags)
{
	return (int)syscall(SYS_pidfd_open, tid, flags);
}

/* The scheduler's view of one thread; false if not available. */
static bool thread_ctx(int ctx_fd, int pid, int tid, struct task_ctx *tc)
{
	int fd, ret;

	if (ctx_fd < 0)
		return false;
	fd = pidfd_open_tid(tid, tid == pid ? 0 : PIDFD_THREAD);
	if (fd < 0)
		return false;
	ret = bpf_map_lookup_elem(ctx_fd, &fd, tc);
	close(fd);
	return ret == 0 && tc->valid;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *role_text(unsigned int role)
{
	return role < GAMER_ROLE_COUNT ? role_name((enum gamer_role)role) : "none";
}

/*
 * What a process says of itself (comm, cmdline, even its exe path) is the
 * process's to choose: printed through safe_text(), so that escape sequences
 * and newlines in it are shown, not obeyed.
 */
static void print_process(const struct proc_info *pi)
{
	char cmd[201], buf[4 * PATH_MAX + 1];

	printf("process %d (%s), parent %d\n", pi->pid, safe_text(pi->comm, buf, sizeof(buf)),
	       pi->ppid);
	printf("  exe:          %s\n",
	       pi->exe[0] ? safe_text(pi->exe, buf, sizeof(buf)) : "(unreadable)");
	snprintf(cmd, sizeof(cmd), "%s", pi->cmdline ? pi->cmdline : "");
	printf("  cmdline:      %s\n", safe_text(cmd, buf, sizeof(buf)));
	if (pi->wine_exe[0])
		printf("  wine_exe:     %s\n", safe_text(pi->wine_exe, buf, sizeof(buf)));
	if (pi->steam_app_id)
		printf("  steam_app_id: %u (from %s %d)\n", pi->steam_app_id,
		       pi->steam_from == pi->pid ? "itself," : "ancestor", pi->steam_from);
	else
		printf("  steam_app_id: none\n");
}

/* Each thread: name, where its role comes from, role and boost. */
static void print_threads(const struct paths *paths, const struct config_set *cfg, int pid,
			  const struct gamer_class *pc)
{
	char path[PATH_MAX], comm[PROC_COMM_LEN], live_id[GAMER_ID_LEN], safe[4 * PROC_COMM_LEN];
	const struct profile *p = NULL;
	struct dirent *de;
	int ctx_fd, idx;
	DIR *dir;

	if (pc) {
		games_slot_id(paths->pin_dir, pc->slot, live_id, sizeof(live_id));
		idx = config_find_profile(cfg, live_id);
		p = idx >= 0 ? &cfg->profiles[idx] : NULL;
	}
	ctx_fd = pin_open(paths->pin_dir, PIN_TASK_CTXS);
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return;
	printf("threads:\n  %-8s %-16s %-12s %-22s %s\n", "TID", "NAME", "ROLE", "FROM",
	       "BOOST (base+earned, inherited: effective)");
	while ((de = readdir(dir))) {
		int tid = atoi(de->d_name), rule;
		struct gamer_class tcls;
		struct task_ctx tc;
		char from[64], boost[96];
		unsigned int role = GAMER_ROLE_NONE;

		if (tid <= 0 || !proc_thread_comm("/proc", pid, tid, comm, sizeof(comm)))
			continue;
		if (games_lookup(paths->pin_dir, PIN_TASK_CLASS, (uint32_t)tid, &tcls) == 0) {
			role = tcls.role;
			if (tcls.how == GAMER_HOW_THREAD_RULE)
				snprintf(from, sizeof(from), "threads[%u]", tcls.rule);
			else
				snprintf(from, sizeof(from), "task_class (%s)",
					 games_how_name(tcls.how));
		} else if (pc) {
			rule = p ? match_thread_rule(p, comm) : -1;
			snprintf(from, sizeof(from), rule >= 0 ? "not applied yet" : "no rule");
		} else {
			snprintf(from, sizeof(from), "-");
		}
		if (thread_ctx(ctx_fd, pid, tid, &tc)) {
			uint64_t now = mono_ns();
			unsigned int inh = (int64_t)(now - tc.inh_until) < 0 ? tc.inh_boost : 0;

			snprintf(boost, sizeof(boost), "%u+%u, %u: %u", gp_task_base(&tc),
				 gp_task_dm_earned(&tc) + (tc.t.rm_enabled ? tc.rm : 0u), inh,
				 gp_task_effective(&tc, now));
		} else {
			snprintf(boost, sizeof(boost), "- (scheduler not attached or thread not seen)");
		}
		printf("  %-8d %-16s %-12s %-22s %s\n", tid, safe_text(comm, safe, sizeof(safe)),
		       role_text(role), from, boost);
	}
	closedir(dir);
	if (ctx_fd >= 0)
		close(ctx_fd);
}

int cmd_explain(const struct paths *paths, const char *arg)
{
	char file[PATH_MAX], admin[PATH_MAX], live_id[GAMER_ID_LEN] = "", when[64];
	struct config_paths cp = { .config_file = file, .admin_profiles = admin,
				   .shipped_profiles = paths->profile_dir };
	struct match_verdict *verdicts = NULL;
	struct config_set cfg;
	struct match_result r;
	struct gamer_class pc;
	struct proc_info pi;
	struct diags dg = { 0 };
	bool live;
	char *end;
	long pid;
	int err;

	errno = 0;
	pid = strtol(arg, &end, 10);
	if (errno || *end || pid <= 0 || pid > INT32_MAX) {
		log_error("explain: expected a process id, got '%s'", arg);
		return EXIT_USAGE;
	}
	/* A thread id: explain its process (matching is per process). */
	{
		char path[64], line[128];
		FILE *f;
		long tgid = 0;

		snprintf(path, sizeof(path), "/proc/%ld/status", pid);
		f = fopen(path, "re");
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "Tgid: %ld", &tgid) == 1)
				break;
		if (f)
			fclose(f);
		if (tgid > 0 && tgid != pid) {
			printf("%ld is a thread of process %ld; explaining the process\n", pid, tgid);
			pid = tgid;
		}
	}
	err = proc_read("/proc", (int)pid, &pi);
	if (err) {
		log_error("explain: no process %ld (%s)", pid, strerror(-err));
		return EXIT_FAIL;
	}
	proc_read_steam("/proc", &pi);

	snprintf(file, sizeof(file), "%s/scx_gamer.yaml", paths->config_dir);
	snprintf(admin, sizeof(admin), "%s/profiles", paths->config_dir);
	/* What the daemon loads: not the files it would refuse. */
	config_load(&cp, true, &cfg, &dg);
	diags_free(&dg);

	print_process(&pi);
	verdicts = calloc(cfg.n_profiles ? cfg.n_profiles : 1, sizeof(*verdicts));
	if (!verdicts) {
		log_error("out of memory");
		goto out;
	}
	match_process(&cfg, &pi, &r, verdicts);
	printf("profiles considered (installed configuration):\n");
	if (!cfg.n_profiles)
		printf("  none installed\n");
	for (size_t i = 0; i < cfg.n_profiles; i++) {
		/* The reason quotes the process's own comm and cmdline. */
		char why[4 * sizeof(verdicts[i].why)];

		printf("  %-20s priority %-3d %s: %s\n", cfg.profiles[i].id, cfg.profiles[i].priority,
		       verdicts[i].matched ? "MATCH" : "no   ",
		       safe_text(verdicts[i].why, why, sizeof(why)));
	}
	if (r.not_user && pi.uid == UINT32_MAX)
		printf("not a game user: its uid cannot be read, and game_users of %s lets only "
		       "listed users' processes have game profiles\n",
		       cfg.daemon.path ? cfg.daemon.path : "the daemon file");
	else if (r.not_user)
		printf("not a game user: uid %u is not in game_users of %s: no game profile, "
		       "not inherited either\n",
		       pi.uid, cfg.daemon.path ? cfg.daemon.path : "the daemon file");
	else if (r.excluded >= 0)
		printf("excluded: exclude[%d] of %s matches: no game profile, not inherited either\n",
		       r.excluded, cfg.daemon.path ? cfg.daemon.path : "the daemon file");
	if (r.profile >= 0)
		printf("chosen: %s (priority %d, then the most specific key: %s)\n",
		       cfg.profiles[r.profile].id, cfg.profiles[r.profile].priority,
		       match_key_name(r.key));
	else if (r.not_user)
		printf("chosen: none (uid not in game_users)\n");
	else if (r.excluded >= 0)
		printf("chosen: none (excluded)\n");
	else if (games_lookup(paths->pin_dir, PIN_PROC_CLASS, (uint32_t)pi.ppid, &pc) == 0)
		printf("chosen: none by its own match; it inherits its parent's (pid %d)\n", pi.ppid);
	else
		printf("chosen: none by its own match (and its parent %d has no profile to inherit)\n",
		       pi.ppid);

	live = games_lookup(paths->pin_dir, PIN_PROC_CLASS, (uint32_t)pid, &pc) == 0;
	if (live) {
		time_t t = games_wall_time(pc.since_ns);
		struct tm tm;

		games_slot_id(paths->pin_dir, pc.slot, live_id, sizeof(live_id));
		if (!localtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm))
			snprintf(when, sizeof(when), "?");
		printf("in the scheduler: profile %s, by %s", live_id[0] ? live_id : "?",
		       games_how_name(pc.how));
		if (pc.how == GAMER_HOW_INHERITED)
			printf(" from pid %u", pc.from);
		printf(", since %s\n", when);
		if (r.profile >= 0 && strcmp(live_id, cfg.profiles[r.profile].id) != 0)
			printf("note: the installed files choose %s; the daemon has not applied that "
			       "(a pending reload, or a file that does not validate)\n",
			       cfg.profiles[r.profile].id);
	} else {
		char probe[PATH_MAX];

		pin_path(probe, sizeof(probe), paths->pin_dir, PIN_PROC_CLASS);
		printf("in the scheduler: %s\n",
		       access(probe, F_OK) == 0 ? "no profile (the defaults)"
						: "unknown (no running daemon: maps not pinned)");
	}
	print_threads(paths, &cfg, (int)pid, live ? &pc : NULL);
out:
	free(verdicts);
	config_set_free(&cfg);
	proc_info_free(&pi);
	return EXIT_OK;
}
