// SPDX-License-Identifier: GPL-2.0-only
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <inotifytools/inotifytools.h>

#include "log.h"
#include "watch.h"

/* Events that end a save, or change which file an entry is. */
#define DIR_EVENTS                                                                  \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |     \
	 IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

static char dirs[WATCH_MAX_DIRS][PATH_MAX];
static char parents[WATCH_MAX_DIRS][PATH_MAX];
static int n_dirs;
static int inotify_fd = -1;

/*
 * libinotifytools does not hand out its inotify fd, and the daemon must poll
 * it with everything else. It is the one inotify instance this process has:
 * find it among our open fds.
 */
static int find_inotify_fd(void)
{
	char link[64], target[64];
	struct dirent *de;
	DIR *d;
	int fd, found = -1;
	ssize_t n;

	d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:inotify") == 0) {
			if (found >= 0) {
				found = -2; /* more than one: cannot tell which is ours */
				break;
			}
			found = fd;
		}
	}
	closedir(d);
	return found;
}

int watch_init(void)
{
	if (!inotifytools_initialize()) {
		log_error("failed to start inotify: %s", strerror(inotifytools_error()));
		return -1;
	}
	inotify_fd = find_inotify_fd();
	if (inotify_fd < 0) {
		log_error("failed to find libinotifytools' inotify fd");
		return -1;
	}
	/*
	 * inotifytools_next_event() blocks in select() for any timeout below
	 * one second, so events are read here, without blocking; the library
	 * still owns the watches and their wd -> path table.
	 */
	if (fcntl(inotify_fd, F_SETFL, fcntl(inotify_fd, F_GETFL) | O_NONBLOCK)) {
		log_error("failed to make the inotify fd non-blocking: %s", strerror(errno));
		return -1;
	}
	return inotify_fd;
}

static void parent_of(const char *path, char *out)
{
	char *slash;

	/* Both are PATH_MAX buffers: nothing to truncate. */
	if (snprintf(out, PATH_MAX, "%s", path) >= PATH_MAX)
		out[PATH_MAX - 1] = '\0';
	slash = strrchr(out, '/');
	if (slash == out)
		out[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(out, PATH_MAX, ".");
}

/*
 * Whether path has a watch. libinotifytools keeps a directory's name with a
 * trailing '/': asked for "dir" it says no, and watching "dir" again gives
 * the kernel's same wd another entry of the library's, the old one lost
 * (a leak at every reload).
 */
static bool watched(const char *path)
{
	char slashed[PATH_MAX + 1];
	size_t len = strlen(path);

	if (inotifytools_wd_from_filename(path) >= 0)
		return true;
	if (len == 0 || path[len - 1] == '/' || len >= PATH_MAX)
		return false;
	snprintf(slashed, sizeof(slashed), "%s/", path);
	return inotifytools_wd_from_filename(slashed) >= 0;
}

static void watch_one(const char *path, int events)
{
	struct stat st;

	/*
	 * An existing watch stays (re-adding it would raise IN_IGNORED, which
	 * asks for a rescan, which re-adds it...). Dead watches were dropped
	 * when their IN_IGNORED arrived.
	 */
	if (watched(path))
		return;
	if (stat(path, &st) || !S_ISDIR(st.st_mode))
		return; /* its parent's watch reports when it appears */
	if (!inotifytools_watch_file(path, events))
		log_warn("failed to watch %s: %s", path, strerror(inotifytools_error()));
}

int watch_set_dirs(const char *const *list, int n)
{
	int i;

	if (n > WATCH_MAX_DIRS)
		return -1;
	n_dirs = n;
	for (i = 0; i < n; i++) {
		snprintf(dirs[i], PATH_MAX, "%s", list[i]);
		parent_of(dirs[i], parents[i]);
	}
	/* One mask for all: a parent may also be one of the watched directories. */
	for (i = 0; i < n; i++)
		watch_one(dirs[i], DIR_EVENTS);
	for (i = 0; i < n; i++)
		watch_one(parents[i], DIR_EVENTS);
	return 0;
}

/* Path of the watch an event belongs to, without a trailing slash. */
static void event_dir(const struct inotify_event *ev, char *out)
{
	const char *w = inotifytools_filename_from_wd(ev->wd);
	size_t len;

	snprintf(out, PATH_MAX, "%s", w ? w : "");
	len = strlen(out);
	if (len > 1 && out[len - 1] == '/')
		out[len - 1] = '\0';
}

static const char *base_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static bool linked(const struct stat *st)
{
	return st->st_nlink > 1 || (st->st_size > 0 && (st->st_ctim.tv_sec != st->st_mtim.tv_sec ||
							 st->st_ctim.tv_nsec != st->st_mtim.tv_nsec));
}

/* One event: report a change through cb; returns 1 if it asks for a rescan. */
static int handle_event(const struct inotify_event *ev,
			void (*cb)(void *ctx, const struct watch_change *c), void *ctx)
{
	char dir[PATH_MAX];
	int rescan = 0, i;

	if (ev->mask & IN_Q_OVERFLOW) {
		log_warn("inotify queue overflowed: rescanning the configuration");
		return 1;
	}
	if (ev->mask & IN_IGNORED) {
		/*
		 * The kernel dropped the watch (its directory went). Unname it
		 * in the library's table so the path can be watched again;
		 * removing it would fail loudly, it is gone already.
		 */
		inotifytools_set_filename_by_wd(ev->wd, "");
		return 1;
	}
	if (ev->mask & IN_MOVE_SELF) {
		/*
		 * The watch follows the moved directory, but ours is the path:
		 * drop it and unname it, so the path can be watched again. The
		 * kernel may have dropped it already (the moved directory
		 * removed since): then there is nothing to remove, and the
		 * library's own remove would say so on stderr.
		 */
		if (inotify_rm_watch(inotify_fd, ev->wd) && errno != EINVAL)
			log_warn("failed to drop a moved directory's watch: %s", strerror(errno));
		inotifytools_set_filename_by_wd(ev->wd, "");
		return 1;
	}
	if (ev->mask & IN_DELETE_SELF)
		return 1;
	if (!ev->len)
		return 0;

	event_dir(ev, dir);
	for (i = 0; i < n_dirs; i++) {
		/* A watched directory itself came or went (seen from its parent). */
		if (strcmp(dir, parents[i]) == 0 && strcmp(ev->name, base_of(dirs[i])) == 0)
			rescan = 1;
		if (strcmp(dir, dirs[i]) == 0) {
			struct watch_change c = { .dir = dirs[i], .name = ev->name };

			/*
			 * A plain IN_CREATE is followed by IN_CLOSE_WRITE; only a
			 * created symlink or directory, or a hard link to a file
			 * that existed already (ln, cp -l), is complete at once.
			 * A link shows as a second name, or - the first name
			 * removed since (ln x p && rm x) - as a change time
			 * past the last write: creating a file sets both.
			 */
			if ((ev->mask & IN_CREATE) && !(ev->mask & IN_ISDIR)) {
				char p[PATH_MAX];
				struct stat st;

				snprintf(p, sizeof(p), "%s/%s", dirs[i], ev->name);
				if (lstat(p, &st))
					continue;
				if (!S_ISLNK(st.st_mode) && !(S_ISREG(st.st_mode) && linked(&st)))
					continue;
			}
			cb(ctx, &c);
		}
	}
	return rescan;
}

int watch_drain(void (*cb)(void *ctx, const struct watch_change *c), void *ctx)
{
	/* Aligned for struct inotify_event, as inotify(7) asks. */
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	int rescan = 0;
	ssize_t len;
	char *p;

	for (;;) {
		len = read(inotify_fd, buf, sizeof(buf));
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && errno == EAGAIN)
			break;
		if (len <= 0) {
			log_error("failed to read inotify events: %s", strerror(errno));
			return -1;
		}
		for (p = buf; p < buf + len; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			rescan |= handle_event(ev, cb, ctx);
		}
	}
	return rescan;
}

void watch_cleanup(void)
{
	if (inotify_fd >= 0)
		inotifytools_cleanup();
	inotify_fd = -1;
	n_dirs = 0;
}
