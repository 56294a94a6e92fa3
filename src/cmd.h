/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef SCX_GAMER_CMD_H
#define SCX_GAMER_CMD_H

#include <stdbool.h>

/* Exit statuses of the program. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,  /* runtime failure, invalid configuration, or ejected */
	EXIT_USAGE = 2, /* bad command line */
};

/* Where the configuration and the pinned maps live (options or configure-time). */
struct paths {
	const char *config_dir;	 /* scx_gamer.yaml and the admin's profiles/ */
	const char *profile_dir; /* shipped profiles */
	const char *pin_dir;	 /* bpffs directory for the maps `show` reads */
	const char *run_dir;	 /* pid and status files of the running daemon */
};

struct run_opts {
	struct paths paths;
	bool no_attach;	       /* push configuration to the maps, do not attach */
	bool log_level_forced; /* -v given: the config's log_level does not apply */
	/*
	 * The daemon's nice value (-20..19, RUN_NICE_DEFAULT), so that it is
	 * not starved of CPU by the load it schedules.
	 */
	int nice;
	/* Test hook: make the BPF side report an error this long after attach. */
	long test_error_after_ms;
	/* Test hook: CPU hotplug makes the scheduler ask for a restart. */
	bool test_hotplug_restart;
};

#define RUN_NICE_DEFAULT (-10)

int cmd_run(const struct run_opts *opts);
/* check [FILE...]: validate; 0 valid, 1 invalid. */
int cmd_check(const struct paths *paths, char **files, int n_files);
/* show [ID] [--json]: effective tunables read back from the kernel's maps. */
int cmd_show(const struct paths *paths, const char *id, bool json);
/*
 * stats [--json]: the scheduler's counters per profile and in total. With
 * watch_s > 0, a sample every watch_s seconds showing what changed, until
 * SIGINT/SIGTERM or count samples (count <= 0: no limit).
 */
int cmd_stats(const struct paths *paths, bool json, double watch_s, long count);
/* status [--json]: the scheduler, the daemon, its configuration and errors. */
int cmd_status(const struct paths *paths, bool json);
/* explain PID: which profile the process matches and why, and its threads. */
int cmd_explain(const struct paths *paths, const char *pid);
/* reload: ask the running daemon to read every file again (SIGHUP). */
int cmd_reload(const struct paths *paths);

#endif /* SCX_GAMER_CMD_H */
