/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's state, shared by its loop (run.c) and its configuration
 * bookkeeping (reload.c): what was loaded and applied, what inotify
 * watches, and what `status` reports.
 */
#ifndef SCX_GAMER_DAEMON_H
#define SCX_GAMER_DAEMON_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "apply.h"
#include "cmd.h"
#include "conf/conf.h"
#include "maps.h"
#include "scheduler.h"
#include "watch.h"

struct detect;

/*
 * Directories of symlink targets watched besides the configuration's three:
 * what the watch set has room for.
 */
#define MAX_LINK_DIRS (WATCH_MAX_DIRS - 3)

/*
 * A configuration directory that came or went is read again SETTLE_MS after
 * the first such event, not at once: a directory replaced by another (mv d
 * d.old && mv d.new d, a package manager's way) is then read once, whole,
 * and not also in the moment it is missing, which would take its profiles
 * out of the kernel and the running games' classes with them. One that was
 * there at the last load and is still missing is waited for up to
 * SETTLE_TRIES more times (2.2 s in all); then it counts as removed.
 */
#define SETTLE_MS 200
#define SETTLE_TRIES 10

struct daemon {
	const struct run_opts *opts;
	struct sched s;
	struct profile_maps maps;
	struct applied applied;
	struct config_set cfg;
	struct detect *det; /* game detection; NULL until set up */
	char config_file[PATH_MAX];
	char admin_profiles[PATH_MAX];
	char link_dirs[MAX_LINK_DIRS][PATH_MAX];
	int n_link_dirs;
	int inotify_fd;
	int settle_fd;	      /* the timer of a pending full reload (SETTLE_MS) */
	bool full_pending;    /* a directory came or went: reread all when it fires */
	int settle_waits;     /* times it fired while a directory was missing */
	bool had_dir[3];      /* config dir, admin and shipped profiles: there at the last load */
	bool pinned;
	/* For `status`: */
	uint64_t generation;
	time_t reloaded;
	struct diags parse_errors;   /* per file; replaced when that file is read again */
	struct diags resolve_errors; /* extends problems; recomputed every time */
};

/* ---- reload.c ----------------------------------------------------------------- */

/*
 * Load (first) or reload every file and push the result; a file that fails
 * keeps its last good version. 0 when every file was valid.
 */
int reload_all(struct daemon *d, bool first);
/* Read every file again (SIGHUP, a directory that came or went), watching first. */
void reload_full(struct daemon *d);
/*
 * Watch the configuration's three directories and the directories symlinked
 * files point into (editing a symlink's target is a save too).
 */
void reload_watch(struct daemon *d);
/* Apply what inotify reported: changed files alone, or everything. */
void reload_inotify(struct daemon *d);
/* The settle timer fired: a full reload, unless a missing directory is waited for. */
void reload_settle_fired(struct daemon *d);
/* Write the state file `status` reads. */
void reload_publish_state(struct daemon *d);

#endif /* SCX_GAMER_DAEMON_H */
