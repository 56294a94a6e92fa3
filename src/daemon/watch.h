/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Watching the configuration directories with libinotifytools, as one fd in
 * the daemon's poll set. Directories are watched, not files, so every way of
 * saving a file is seen (in place, temp + rename, delete + create, mv in,
 * symlink swaps); each directory's parent is watched too, so a directory that
 * is removed and created again is picked up.
 */
#ifndef SCX_GAMER_WATCH_H
#define SCX_GAMER_WATCH_H

#include <stdbool.h>
#include <stdint.h>

/* The most directories watch_set_dirs() takes. */
#define WATCH_MAX_DIRS 8

/* Start inotifytools; returns the fd to poll, or -1. */
int watch_init(void);
/*
 * Watch exactly these directories (and their parents); missing ones are
 * watched for through their parent. Call again after a directory came or went.
 */
int watch_set_dirs(const char *const *dirs, int n);

/* What a drained event asks of the daemon. */
struct watch_change {
	const char *dir;  /* the watched directory (one passed to watch_set_dirs) */
	const char *name; /* the entry in it */
};

/*
 * Read every pending event without blocking and report changes: cb() for a
 * file in a watched directory whose save is complete (close after write,
 * moved in or out, deleted, a symlink or attribute change). Returns 1 if a
 * full rescan is needed (a watched directory came or went, or the kernel's
 * queue overflowed), 0 otherwise, -1 on error.
 */
int watch_drain(void (*cb)(void *ctx, const struct watch_change *c), void *ctx);
void watch_cleanup(void);

#endif /* SCX_GAMER_WATCH_H */
