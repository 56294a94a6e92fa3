/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The running daemon's state file (RUNDIR/status) and pid file
 * (RUNDIR/scx_gamer.pid): what `status` and `reload` need that does not live
 * in the kernel; RUNDIR/lock keeps a second daemon out. Written atomically (temp + rename) after every (re)load.
 *
 * status holds one record per line, fields separated by tabs:
 *   pid N | mode attached|no-attach | generation N | reloaded UNIXTIME
 *   profile ID PATH | hidden ID PATH HIDDEN_BY | error TEXT
 * Tabs and newlines inside a field are written as spaces.
 */
#ifndef SCX_GAMER_STATE_H
#define SCX_GAMER_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "conf/conf.h"

struct daemon_state {
	bool attached;
	uint64_t generation;   /* successful (re)loads so far */
	time_t reloaded;       /* wall clock of the last one */
	const struct config_set *cfg;
	const struct diags *pending; /* errors of files that currently fail */
};

/*
 * Make this process the only daemon using run_dir (its pins and state files):
 * an fd to keep open until after state_remove(), or -1, logged (another
 * daemon holds it: which one).
 */
int state_lock(const char *run_dir);
/* Give up the lock of state_lock() (fd) on a path that wrote no state. */
void state_unlock(const char *run_dir, int fd);
int state_write(const char *run_dir, const struct daemon_state *st);
int state_write_pid(const char *run_dir);
void state_remove(const char *run_dir);
/* The pid of the daemon using run_dir, if it is alive; -1 otherwise. */
int state_daemon_pid(const char *run_dir);

#endif /* SCX_GAMER_STATE_H */
