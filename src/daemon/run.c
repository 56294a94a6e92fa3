// SPDX-License-Identifier: GPL-2.0-only
/*
 * `scx_gamer run`: load the configuration, push it into the scheduler's maps,
 * attach the scheduler (unless --no-attach) and serve it until told to stop.
 *
 * Everything the daemon waits for is a file descriptor in one poll() set:
 * signals arrive through a signalfd, scheduler events through the BPF ring
 * buffer, timed work through timerfds. Nothing sleeps or polls on a timer.
 *
 * A reload (SIGHUP) loads every file again; a file that no longer validates
 * keeps its last good version live, so a bad edit changes nothing.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "cmd.h"
#include "detect.h"
#include "evfd.h"
#include "log.h"
#include "maps.h"
#include "pins.h"
#include "scheduler.h"
#include "state.h"
#include "watch.h"

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

enum { PFD_SIGNAL, PFD_EVENTS, PFD_PROC, PFD_INOTIFY, PFD_SETTLE, PFD_TEST_TIMER, PFD_COUNT };
static const char *const pfd_names[PFD_COUNT] = {
	[PFD_SIGNAL] = "signal",	    [PFD_EVENTS] = "scheduler event",
	[PFD_PROC] = "process event",  [PFD_INOTIFY] = "inotify",
	[PFD_SETTLE] = "settle timer", [PFD_TEST_TIMER] = "test timer",
};

/*
 * A descriptor poll() reports broken (POLLERR, POLLNVAL) would be reported
 * again at once, for ever: the daemon ends instead, with an error, for a
 * restart. None of ours hangs up, so POLLHUP is one too.
 */
static bool poll_broken(const struct pollfd *pfd)
{
	bool broken = false;
	int i;

	for (i = 0; i < PFD_COUNT; i++) {
		if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLERR | POLLNVAL | POLLHUP)))
			continue;
		log_error("poll reports the %s descriptor broken (revents 0x%x)", pfd_names[i],
			  (unsigned int)pfd[i].revents);
		broken = true;
	}
	return broken;
}

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

static void unpin_maps(struct daemon *d)
{
	char path[PATH_MAX];

	if (!d->pinned)
		return;
	for (int i = 0; i < PIN_COUNT; i++) {
		pin_path(path, sizeof(path), d->opts->paths.pin_dir, (enum pin)i);
		unlink(path);
	}
	rmdir(d->opts->paths.pin_dir);
	d->pinned = false;
}

/* Mount bpffs on /sys/fs/bpf if nothing did (systemd does; minimal systems may not). */
static void ensure_bpffs(const char *pin_dir)
{
	struct statfs sf;
	int fd;

	if (strncmp(pin_dir, "/sys/fs/bpf/", 12) != 0)
		return;
	if (statfs("/sys/fs/bpf", &sf) == 0 && sf.f_type == BPF_FS_MAGIC)
		return;
	/*
	 * Two daemons starting at once would both find no bpffs and both mount
	 * one, the second hiding the first's pins: the check and the mount are
	 * done under a lock on the directory itself (the mount point's own
	 * inode, below any mount).
	 */
	fd = open("/sys/fs/bpf", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && flock(fd, LOCK_EX))
		log_debug("failed to lock /sys/fs/bpf: %s", strerror(errno));
	if (statfs("/sys/fs/bpf", &sf) == 0 && sf.f_type == BPF_FS_MAGIC)
		goto out;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		log_warn("failed to mount bpffs on /sys/fs/bpf: %s", strerror(errno));
	else
		log_info("mounted bpffs on /sys/fs/bpf");
out:
	if (fd >= 0)
		close(fd);
}

/*
 * Pin the maps so `scx_gamer show` can read the kernel's state. Pins left by
 * a daemon that was killed are replaced. Failing here costs `show`, not the
 * scheduler, so the caller only warns.
 */
static int pin_maps(struct daemon *d)
{
	char path[PATH_MAX];
	int i, fd;

	ensure_bpffs(d->opts->paths.pin_dir);
	if (mkdir(d->opts->paths.pin_dir, 0700) && errno != EEXIST) {
		log_warn("failed to create %s: %s; `scx_gamer show` will not work",
			 d->opts->paths.pin_dir, strerror(errno));
		return -1;
	}
	d->pinned = true;
	for (i = 0; i < PIN_COUNT; i++) {
		pin_path(path, sizeof(path), d->opts->paths.pin_dir, (enum pin)i);
		unlink(path);
		fd = sched_map_fd(&d->s, (enum pin)i);
		if (fd < 0 || bpf_obj_pin(fd, path)) {
			log_warn("failed to pin %s: %s; `scx_gamer show` will not work", path,
				 strerror(errno));
			return -1;
		}
	}
	return 0;
}

/*
 * Keep what the old configuration had where the new load failed: the daemon
 * file if it failed, and every profile whose file failed, or was not read
 * though it is there (its directory was refused or unreadable, or an admin
 * file that hides it failed). A file gone is a profile removed.
 */
static void keep_last_good(struct config_set *next, struct config_set *old)
{
	struct daemon_config tmp;
	size_t i;

	if (old->daemon.path &&
	    config_file_status(next, old->daemon.path) == CONF_FILE_FAILED) {
		log_warn("%s: keeping the last good version", old->daemon.path);
		tmp = next->daemon;
		next->daemon = old->daemon;
		old->daemon = tmp;
	}
	for (i = 0; i < old->n_profiles; i++) {
		struct profile *p = &old->profiles[i];

		enum conf_file_status st = config_file_status(next, p->path);

		if (config_find_profile(next, p->id) >= 0 || st == CONF_FILE_LOADED ||
		    st == CONF_FILE_GONE || (st == CONF_FILE_UNREAD && access(p->path, F_OK)))
			continue;
		log_warn("%s: keeping the last good version of profile '%s'", p->path, p->id);
		if (config_put_profile(next, p))
			log_error("failed to keep profile '%s': out of memory", p->id);
	}
}

static bool same_diag(const struct diag *a, const struct diag *b)
{
	return a->line == b->line && a->col == b->col && strcmp(a->file, b->file) == 0 &&
	       strcmp(a->msg, b->msg) == 0;
}

/* Copy the errors of src into dst, except those that are also in except. */
static void copy_errors(struct diags *dst, const struct diags *src, const struct diags *except)
{
	size_t i, j;

	for (i = 0; i < src->n; i++) {
		const struct diag *g = &src->v[i];
		bool skip = g->severity != DIAG_ERROR;

		for (j = 0; except && !skip && j < except->n; j++)
			skip = same_diag(g, &except->v[j]);
		if (!skip)
			diags_add(dst, g->severity, g->file, g->line, g->col, "%s", g->msg);
	}
}

/* Drop the errors about one file (it is being read again). */
static void forget_errors(struct diags *d, const char *file)
{
	struct diags keep = { 0 };
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];

		if (strcmp(g->file, file) != 0)
			diags_add(&keep, g->severity, g->file, g->line, g->col, "%s", g->msg);
	}
	diags_free(d);
	*d = keep;
}

/* The errors `status` lists: files that fail now, and extends problems. */
static void publish_state(struct daemon *d)
{
	struct diags pending = { 0 };
	struct daemon_state st = {
		.attached = !d->opts->no_attach,
		.generation = d->generation,
		.reloaded = d->reloaded,
		.cfg = &d->cfg,
		.pending = &pending,
	};

	copy_errors(&pending, &d->parse_errors, NULL);
	copy_errors(&pending, &d->resolve_errors, NULL);
	state_write(d->opts->paths.run_dir, &st);
	diags_free(&pending);
}

/* Whose processes may get game profiles, as resolved now (names become uids at load). */
static void log_game_users(const struct daemon_config *dc)
{
	char buf[512];
	size_t n = 0;

	if (!dc->has_game_users)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < dc->n_game_users && n < sizeof(buf) - 16; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%u", i ? ", " : "",
				      dc->game_users[i]);
	if (!dc->n_game_users)
		log_warn("game_users: no listed user could be found: no process gets a game profile");
	else
		log_info("game_users: game profiles only for uid %s", buf);
	for (size_t i = 0; i < dc->n_game_users; i++) {
		if (dc->game_users[i] == 0) {
			log_warn("game_users lists root: every system service and everything run "
				 "through sudo may get game profiles");
			break;
		}
	}
}

/* Resolve extends, push the result, and tell `status`; -1 on extends errors. */
static int resolve_and_apply(struct daemon *d, const char *what)
{
	struct apply_stats st;
	struct diags dg = { 0 };
	int ret;

	ret = config_resolve(&d->cfg, &dg);
	diags_print(&dg, stderr);
	diags_free(&d->resolve_errors);
	copy_errors(&d->resolve_errors, &dg, NULL);
	diags_free(&dg);

	if (!d->opts->log_level_forced)
		log_max_level = d->cfg.daemon.log_level;
	if (apply_config(&d->applied, &d->maps, &d->cfg, &st)) {
		/* Said in the log, what and why; `status` must say it too. */
		diags_add(&d->resolve_errors, DIAG_ERROR, d->config_file, 0, 0,
			  "the scheduler holds only part of the configuration (%u value(s) "
			  "written): the log says what did not fit",
			  st.written);
		log_error("configuration %s only in part: %zu profile(s); %u value(s) written, "
			  "%u removed, %u unchanged",
			  what, d->cfg.n_profiles, st.written, st.removed, st.unchanged);
		ret = -1;
	} else {
		/* Counts the (re)loads the scheduler took whole. */
		d->generation++;
		log_info("configuration %s: %zu profile(s); %u value(s) written, %u removed, "
			 "%u unchanged",
			 what, d->cfg.n_profiles, st.written, st.removed, st.unchanged);
	}
	log_game_users(&d->cfg.daemon);
	d->reloaded = time(NULL);
	/* Profiles added, edited or removed: decide the running processes again. */
	if (d->det) {
		detect_set_config(d->det, &d->cfg, &d->applied);
		detect_rescan(d->det, "configuration changed");
	}
	publish_state(d);
	return ret;
}

/* The configuration's directories, in had_dir's order. */
static const char *config_dir_n(const struct daemon *d, int i)
{
	return i == 0 ? d->opts->paths.config_dir : i == 1 ? d->admin_profiles
							   : d->opts->paths.profile_dir;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Load (or reload) every file and push the result. 0 when all files were valid. */
static int load_and_apply(struct daemon *d, bool first)
{
	struct config_paths cp = {
		.config_file = d->config_file,
		.admin_profiles = d->admin_profiles,
		.shipped_profiles = d->opts->paths.profile_dir,
	};
	struct config_set next;
	struct diags dg = { 0 };
	int ret, i;

	for (i = 0; i < 3; i++)
		d->had_dir[i] = is_dir(config_dir_n(d, i));
	/*
	 * Files first, then the set: a file that fails gets its last good
	 * version back before `extends` is resolved, once, by
	 * resolve_and_apply(), so a profile extending a broken base uses the
	 * base's last good version, and one whose base is gone is reported
	 * there for as long as it is left out.
	 */
	ret = config_load_files(&cp, true, &next, &dg);
	if (!first)
		keep_last_good(&next, &d->cfg);
	diags_free(&d->parse_errors);
	copy_errors(&d->parse_errors, &dg, NULL);
	diags_print(&d->parse_errors, stderr);
	diags_free(&dg);

	config_set_free(&d->cfg);
	d->cfg = next;
	if (resolve_and_apply(d, first ? "loaded" : "reloaded"))
		ret = -1;
	return ret;
}

/* ---- hot reload -------------------------------------------------------------- */

/* Directory of the file a symlink at path points to, in out; false if not a symlink. */
static bool link_target_dir(const char *path, char *out)
{
	char real[PATH_MAX], *slash;
	struct stat st;

	if (lstat(path, &st) || !S_ISLNK(st.st_mode) || !realpath(path, real))
		return false;
	slash = strrchr(real, '/');
	if (!slash)
		return false;
	*slash = '\0';
	snprintf(out, PATH_MAX, "%s", slash == real ? "/" : real);
	return true;
}

/*
 * The three configuration directories, plus the directories that symlinked
 * files point into: editing a symlink's target is a save too.
 */
static void watch_config_dirs(struct daemon *d)
{
	const char *dirs[3 + MAX_LINK_DIRS];
	char dir[PATH_MAX];
	size_t i;
	int n = 3, j;

	dirs[0] = d->opts->paths.config_dir;
	dirs[1] = d->admin_profiles;
	dirs[2] = d->opts->paths.profile_dir;
	d->n_link_dirs = 0;
	for (i = 0; i <= d->cfg.n_profiles; i++) {
		const char *path = i < d->cfg.n_profiles ? d->cfg.profiles[i].path : d->config_file;

		if (!link_target_dir(path, dir))
			continue;
		for (j = 0; j < n && strcmp(dirs[j], dir) != 0; j++)
			;
		if (j < n)
			continue;
		if (d->n_link_dirs == MAX_LINK_DIRS) {
			log_warn("%s: too many symlink target directories to watch; send SIGHUP after editing it",
				 path);
			continue;
		}
		snprintf(d->link_dirs[d->n_link_dirs], PATH_MAX, "%s", dir);
		dirs[n++] = d->link_dirs[d->n_link_dirs++];
	}
	watch_set_dirs(dirs, n);
}

/* What one drain of inotify events asks to reload. */
struct pending {
	struct daemon *d;
	bool daemon_file;
	bool links; /* something in a symlink target directory changed */
	char *ids[64];
	int n_ids;
	bool overflow; /* more ids than fit: reload everything */
};

static void on_change(void *ctx, const struct watch_change *c)
{
	struct pending *pd = ctx;
	struct daemon *d = pd->d;
	char id[NAME_MAX + 1];
	char *dot;
	int i;

	for (i = 0; i < d->n_link_dirs; i++) {
		if (strcmp(c->dir, d->link_dirs[i]) == 0) {
			/* A symlink target changed: re-read every symlinked file. */
			pd->links = true;
			return;
		}
	}
	if (strcmp(c->dir, d->opts->paths.config_dir) == 0) {
		if (strcmp(c->name, "scx_gamer.yaml") == 0)
			pd->daemon_file = true;
		return;
	}
	/* Profile directories: the same names config_load() reads. */
	if (!config_is_profile_name(c->name))
		return;
	snprintf(id, sizeof(id), "%s", c->name);
	dot = strrchr(id, '.');
	if (dot)
		*dot = '\0';
	for (i = 0; i < pd->n_ids; i++) {
		if (strcmp(pd->ids[i], id) == 0)
			return;
	}
	if (pd->n_ids == (int)(sizeof(pd->ids) / sizeof(pd->ids[0]))) {
		pd->overflow = true;
		return;
	}
	pd->ids[pd->n_ids] = strdup(id);
	if (pd->ids[pd->n_ids])
		pd->n_ids++;
	else
		pd->overflow = true;
}

/*
 * Re-read profile id, already loaded and still provided by the same file
 * (handle_inotify() rereads everything otherwise). A file that does not
 * validate leaves the last good version in place.
 */
static void reload_profile(struct daemon *d, const char *id, struct diags *dg)
{
	char admin[PATH_MAX], shipped[PATH_MAX];
	const char *path = NULL;
	enum conf_file_status st;
	struct profile p;
	int idx = config_find_profile(&d->cfg, id);

	if (snprintf(admin, sizeof(admin), "%s/%s.yaml", d->admin_profiles, id) >=
		    (int)sizeof(admin) ||
	    snprintf(shipped, sizeof(shipped), "%s/%s.yaml", d->opts->paths.profile_dir, id) >=
		    (int)sizeof(shipped)) {
		log_error("profile '%s': path too long", id);
		return;
	}
	if (access(admin, F_OK) == 0)
		path = admin;
	else if (access(shipped, F_OK) == 0)
		path = shipped;

	if (!path)
		return;
	st = config_load_profile(AT_FDCWD, path, path, id, true, &p, dg);
	if (st == CONF_FILE_LOADED && config_put_profile(&d->cfg, &p)) {
		log_error("failed to add profile '%s': out of memory", id);
		profile_free(&p);
		st = CONF_FILE_FAILED;
	}
	if (config_note_file(&d->cfg, path, st))
		log_error("%s: out of memory", path);
	if (st == CONF_FILE_LOADED)
		log_info("%s: profile '%s' %s", path, id, idx >= 0 ? "reloaded" : "added");
	else if (st == CONF_FILE_FAILED && idx >= 0)
		log_warn("%s: keeping the last good version of profile '%s'", path, id);
	/* Gone since: its removal is the next event. */
}

static void reload_daemon_file(struct daemon *d, struct diags *dg)
{
	struct daemon_config dc;
	enum conf_file_status st;

	st = config_load_daemon(d->config_file, true, &dc, dg);
	if (config_note_file(&d->cfg, d->config_file, st))
		log_error("%s: out of memory", d->config_file);
	switch (st) {
	case CONF_FILE_LOADED:
		daemon_config_free(&d->cfg.daemon);
		d->cfg.daemon = dc;
		log_info("%s: reloaded", d->config_file);
		break;
	case CONF_FILE_GONE:
		/* No file: built-in defaults, as at start-up. */
		log_warn("%s: missing, using built-in defaults", d->config_file);
		daemon_config_free(&d->cfg.daemon);
		memset(&d->cfg.daemon, 0, sizeof(d->cfg.daemon));
		d->cfg.daemon.log_level = LOG_INFO;
		tunables_builtin(&d->cfg.daemon.defaults.v);
		d->cfg.daemon.path = strdup(d->config_file);
		break;
	default:
		log_warn("%s: keeping the last good version", d->config_file);
	}
}

/* Apply what inotify reported: only the files that changed are read again. */
/* An id whose reload would add or remove a profile rather than change one. */
static bool adds_or_removes(struct daemon *d, const char *id)
{
	int idx = config_find_profile(&d->cfg, id);
	char path[PATH_MAX];

	if (idx < 0)
		return true;
	if (snprintf(path, sizeof(path), "%s/%s.yaml", d->admin_profiles, id) >= (int)sizeof(path))
		return true;
	/* Admin file appearing over the shipped one, or going away. */
	if ((access(path, F_OK) == 0) != (strcmp(d->cfg.profiles[idx].path, path) == 0))
		return true;
	return access(d->cfg.profiles[idx].path, F_OK) != 0;
}

/* Read every file again (a SIGHUP, a directory that came or went). */
static void full_reload(struct daemon *d)
{
	d->full_pending = false;
	/*
	 * Watch first, then read: a file written into a directory that just
	 * appeared is either read now or reported by the new watch.
	 */
	watch_config_dirs(d);
	load_and_apply(d, false);
	watch_config_dirs(d);
}

static int settle_arm(struct daemon *d)
{
	return timer_arm(d->settle_fd, SETTLE_MS * 1000000ull, 0);
}

/* A directory came or went: read everything again once it has settled. */
static void settle_then_reload(struct daemon *d)
{
	/* Its own watch, or its parent's, for what happens meanwhile. */
	watch_config_dirs(d);
	if (d->full_pending)
		return;
	d->full_pending = true;
	d->settle_waits = 0;
	if (settle_arm(d))
		full_reload(d); /* no timer: now, as before */
}

static void settle_fired(struct daemon *d)
{
	uint64_t n;
	int i;

	if (read(d->settle_fd, &n, sizeof(n)) != (ssize_t)sizeof(n) || !d->full_pending)
		return;
	for (i = 0; i < 3; i++) {
		if (d->had_dir[i] && !is_dir(config_dir_n(d, i)))
			break;
	}
	if (i < 3 && d->settle_waits < SETTLE_TRIES) {
		d->settle_waits++;
		log_debug("%s is missing: waiting for it to come back (%d of %d)",
			  config_dir_n(d, i), d->settle_waits, SETTLE_TRIES);
		if (settle_arm(d) == 0)
			return;
	}
	if (i < 3)
		log_info("%s is gone: reading the configuration without it", config_dir_n(d, i));
	full_reload(d);
}

/*
 * Apply what inotify reported. Changed files are read again on their own;
 * a profile appearing or going away rereads everything, since other
 * profiles may extend it.
 */
static void handle_inotify(struct daemon *d)
{
	struct pending pd = { .d = d };
	struct diags dg = { 0 };
	bool full;
	int rescan, i;

	rescan = watch_drain(on_change, &pd);
	if (pd.links) {
		struct stat lst;
		size_t k;

		if (lstat(d->config_file, &lst) == 0 && S_ISLNK(lst.st_mode))
			pd.daemon_file = true;
		for (k = 0; k < d->cfg.n_profiles; k++) {
			struct watch_change c = { .dir = d->admin_profiles };
			const char *base = strrchr(d->cfg.profiles[k].path, '/');

			if (lstat(d->cfg.profiles[k].path, &lst) || !S_ISLNK(lst.st_mode))
				continue;
			c.name = base ? base + 1 : d->cfg.profiles[k].path;
			on_change(&pd, &c);
		}
	}
	if (rescan) {
		settle_then_reload(d);
		goto out;
	}
	/* The full reload to come reads these too. */
	if (d->full_pending)
		goto out;
	full = pd.overflow;
	for (i = 0; !full && i < pd.n_ids; i++)
		full = adds_or_removes(d, pd.ids[i]);
	if (full) {
		full_reload(d);
		goto out;
	}
	if (!pd.daemon_file && pd.n_ids == 0)
		goto out;
	if (pd.daemon_file) {
		forget_errors(&d->parse_errors, d->config_file);
		reload_daemon_file(d, &dg);
	}
	for (i = 0; i < pd.n_ids; i++) {
		int idx = config_find_profile(&d->cfg, pd.ids[i]);

		forget_errors(&d->parse_errors, d->cfg.profiles[idx].path);
		reload_profile(d, pd.ids[i], &dg);
	}
	diags_print(&dg, stderr);
	copy_errors(&d->parse_errors, &dg, NULL);
	resolve_and_apply(d, "reloaded");
	/* A symlink may have appeared or moved to another directory. */
	watch_config_dirs(d);
out:
	diags_free(&dg);
	for (i = 0; i < pd.n_ids; i++)
		free(pd.ids[i]);
}

/* how: "attached", or "attached again" after a restart. */
static void report_attached(const char *how)
{
	char ops[128] = "?", seq[32] = "?";

	read_sysfs_line(SCX_SYSFS_DIR "/root/ops", ops, sizeof(ops));
	read_sysfs_line(SCX_SYSFS_DIR "/enable_seq", seq, sizeof(seq));
	log_info("scheduler '%s' %s (enable_seq %s); stop with SIGINT or SIGTERM", ops, how,
		 seq);
}

/* Print why the scheduler stopped; returns the exit status it implies. */
static int report_exit(const struct sched *s, bool requested)
{
	const struct gamer_exit_info *ei = sched_exit_info(s);
	char kbuf[32];
	const char *kind;

	if (!ei) {
		/* ops.exit always runs on disable; not seeing it is a bug. */
		log_error("scheduler stopped without an exit record");
		return EXIT_FAIL;
	}
	kind = sched_exit_kind_name(ei->kind, kbuf, sizeof(kbuf));
	if (sched_exit_is_error(ei)) {
		log_error("%s: %s (%s): %s",
			  ei->kind >= SCX_EXIT_ERROR_FIRST ? "the kernel ejected the scheduler"
							   : "the scheduler stopped on an error",
			  ei->reason, kind, ei->msg[0] ? ei->msg : "(no message)");
		return EXIT_FAIL;
	}
	if (!requested) {
		log_error("scheduler stopped unexpectedly: %s (%s)%s%s", ei->reason, kind,
			  ei->msg[0] ? ": " : "", ei->msg);
		return EXIT_FAIL;
	}
	log_info("scheduler detached: %s (%s)", ei->reason, kind);
	return EXIT_OK;
}

static int setup(struct daemon *d)
{
	const struct paths *p = &d->opts->paths;
	struct detect_kernel k;

	if (snprintf(d->config_file, sizeof(d->config_file), "%s/scx_gamer.yaml",
		     p->config_dir) >= (int)sizeof(d->config_file) ||
	    snprintf(d->admin_profiles, sizeof(d->admin_profiles), "%s/profiles",
		     p->config_dir) >= (int)sizeof(d->admin_profiles)) {
		log_error("--config-dir is too long");
		return -1;
	}
	if (maps_open(&d->maps, sched_map_fd(&d->s, PIN_PROFILE_VER),
		      sched_map_fd(&d->s, PIN_PROFILE_SLOTS), sched_map_fd(&d->s, PIN_PROFILE_INFO)))
		return -1;
	d->maps.counters_fd = sched_map_fd(&d->s, PIN_COUNTERS);
	d->maps.wait_hist_fd = sched_map_fd(&d->s, PIN_WAIT_HIST);
	d->settle_fd = timer_new();
	if (d->settle_fd < 0)
		return -1;
	/* Watch before loading: a save during the load is then not missed. */
	d->inotify_fd = watch_init();
	if (d->inotify_fd < 0)
		return -1;
	watch_config_dirs(d);
	/* Invalid files are reported and left out; the daemon runs with the rest. */
	load_and_apply(d, true);
	/* Again, now that symlinked files (and their target directories) are known. */
	watch_config_dirs(d);
	pin_maps(d);
	/* Tracepoints first, then the scan: a game starting in between is not missed. */
	if (sched_attach_detection(&d->s))
		return -1;
	sched_detect_kernel(&d->s, &k);
	d->det = detect_new(&k, "/proc");
	if (!d->det)
		return -1;
	detect_set_config(d->det, &d->cfg, &d->applied);
	detect_rescan(d->det, "start-up");
	publish_state(d);
	state_write_pid(d->opts->paths.run_dir);
	return 0;
}

/*
 * The kernel stopped the scheduler: when it asks for a restart (CPU hotplug),
 * attach again - profiles, pins and classes are in the maps, which stay -
 * and return 0; otherwise, or when restarts come too fast to be hotplug
 * (more than 16 in the last minute; a burst of CPUs counts once, see
 * sched_restart()), -1: the daemon ends and says why.
 */
#define RESTARTS_MAX 16
#define RESTART_WINDOW_NS (60ULL * 1000 * 1000 * 1000)

struct restarts {
	uint64_t at[RESTARTS_MAX]; /* CLOCK_MONOTONIC of the last ones, a ring */
	unsigned int n;
};

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int restart(struct sched *s, struct restarts *r)
{
	const struct gamer_exit_info *ei = sched_exit_info(s);
	struct gamer_exit_info was;
	uint64_t now = monotonic_ns();
	unsigned int slot = r->n % RESTARTS_MAX;
	int err;

	if (!sched_exit_wants_restart(s, ei))
		return -1;
	/* The 17th within a minute: the oldest of the last 16 is that recent. */
	if (r->n >= RESTARTS_MAX && now - r->at[slot] < RESTART_WINDOW_NS) {
		log_error("the kernel asked for more than %d restarts within a minute (%s: %s); "
			  "giving up",
			  RESTARTS_MAX, ei->reason, ei->msg);
		return -1;
	}
	r->at[slot] = now;
	r->n++;
	was = *ei;
	log_info("the kernel stopped the scheduler and asks for a restart: %s%s%s; attaching "
		 "again",
		 was.reason, was.msg[0] ? ": " : "", was.msg);
	err = sched_restart(s);
	if (err) {
		log_error("could not attach the scheduler again after '%s': %s", was.msg,
			  strerror(-err));
		/* For the exit report: why it stopped, not an empty record. */
		sched_set_exit_info(s, &was);
		return -1;
	}
	report_attached("attached again");
	return 0;
}

int cmd_run(const struct run_opts *opts)
{
	struct daemon d = { .opts = opts, .inotify_fd = -1, .settle_fd = -1 };
	struct pollfd pfd[PFD_COUNT];
	sigset_t sigs;
	int sfd = -1, tfd = -1, lock_fd, ret = EXIT_FAIL;
	bool stop = false, requested = false, loop_failed = false;
	struct restarts restarts = { 0 };

	/*
	 * A closed stdout or stderr (a pipe whose reader went away) must not
	 * end the daemon in the middle of a write: the write fails instead.
	 */
	signal(SIGPIPE, SIG_IGN);
	if (geteuid() != 0) {
		log_error("must run as root to %s (running as uid %u)",
			  opts->no_attach ? "create BPF maps" : "attach a BPF scheduler",
			  (unsigned int)geteuid());
		return EXIT_FAIL;
	}
	/*
	 * Before anything that touches the pins or the state files, and
	 * before the preflight: a second daemon is told which one runs.
	 */
	lock_fd = state_lock(opts->paths.run_dir);
	if (lock_fd < 0)
		return EXIT_FAIL;
	if (!opts->no_attach && sched_preflight())
		goto out_unlock;
	sfd = signals_fd(&sigs, SIGINT, SIGTERM, SIGHUP, 0);
	if (sfd < 0)
		goto out_unlock;
	d.s.test_hotplug_restart = opts->test_hotplug_restart;
	if (sched_load(&d.s, !opts->no_attach))
		goto out_sfd;
	/* Tunables are in the maps before the scheduler first runs. */
	if (setup(&d))
		goto out_sched;
	if (opts->no_attach) {
		log_info("running without attaching the scheduler (--no-attach); maps pinned in %s",
			 opts->paths.pin_dir);
	} else {
		if (sched_attach(&d.s))
			goto out_sched;
		/* Before "attached", which tests wait for. */
		sched_report_compat(&d.s);
		report_attached("attached");
	}

	if (opts->test_error_after_ms >= 0 && !opts->no_attach) {
		tfd = timer_start((uint64_t)opts->test_error_after_ms * 1000000u, 0);
		if (tfd < 0)
			goto out_sched;
	}

	pfd[PFD_SIGNAL] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	pfd[PFD_EVENTS] = (struct pollfd){ .fd = sched_events_fd(&d.s), .events = POLLIN };
	pfd[PFD_PROC] = (struct pollfd){ .fd = detect_fd(d.det), .events = POLLIN };
	pfd[PFD_INOTIFY] = (struct pollfd){ .fd = d.inotify_fd, .events = POLLIN };
	pfd[PFD_SETTLE] = (struct pollfd){ .fd = d.settle_fd, .events = POLLIN };
	pfd[PFD_TEST_TIMER] = (struct pollfd){ .fd = tfd, .events = POLLIN };

	while (!stop) {
		/* Queued process events are worked off between other events. */
		if (poll(pfd, PFD_COUNT, detect_pending(d.det) ? 0 : -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("failed to poll: %s", strerror(errno));
			goto out_sched;
		}
		if (poll_broken(pfd)) {
			loop_failed = requested = true;
			break;
		}
		if (pfd[PFD_SIGNAL].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					log_info("received SIGHUP, reloading the configuration");
					full_reload(&d);
				} else {
					log_info("received %s, %s", strsignal((int)si.ssi_signo),
						 opts->no_attach ? "exiting" : "detaching");
					requested = true;
					stop = true;
				}
			}
		}
		if (pfd[PFD_EVENTS].revents & POLLIN) {
			if (sched_handle_events(&d.s) < 0)
				log_warn("failed to read scheduler events");
			if (d.s.exited && (opts->no_attach || restart(&d.s, &restarts)))
				stop = true;
		}
		if (((pfd[PFD_PROC].revents & POLLIN) || detect_pending(d.det)) &&
		    detect_handle_events(d.det)) {
			/* Detection failed for good: end with an error, for a restart. */
			loop_failed = requested = true;
			stop = true;
		}
		if (pfd[PFD_INOTIFY].revents & POLLIN)
			handle_inotify(&d);
		if (pfd[PFD_SETTLE].revents & POLLIN)
			settle_fired(&d);
		if (pfd[PFD_TEST_TIMER].revents & POLLIN) {
			uint64_t n;

			if (read(tfd, &n, sizeof(n)) == sizeof(n)) {
				log_info("test hook: asking the scheduler to report an error");
				sched_trigger_test_error(&d.s, 7);
			}
			pfd[PFD_TEST_TIMER].fd = -1;
		}
	}

	if (opts->no_attach) {
		ret = EXIT_OK;
	} else {
		sched_detach(&d.s);
		ret = report_exit(&d.s, requested);
	}
	if (loop_failed)
		ret = EXIT_FAIL;
out_sched:
	if (d.det) {
		const struct detect_stats *ds = detect_stats(d.det);

		log_info("detection: %llu process events (%llu execs), %llu lost, %llu rescans, "
			 "%llu matches",
			 (unsigned long long)ds->events, (unsigned long long)ds->execs,
			 (unsigned long long)ds->lost, (unsigned long long)ds->rescans,
			 (unsigned long long)ds->matched);
	}
	detect_free(d.det);
	watch_cleanup();
	unpin_maps(&d);
	state_remove(opts->paths.run_dir);
	diags_free(&d.parse_errors);
	diags_free(&d.resolve_errors);
	sched_destroy(&d.s);
	config_set_free(&d.cfg);
	applied_free(&d.applied);
	if (tfd >= 0)
		close(tfd);
	if (d.settle_fd >= 0)
		close(d.settle_fd);
	close(sfd);
	close(lock_fd);
	return ret;
out_sfd:
	close(sfd);
out_unlock:
	state_unlock(opts->paths.run_dir, lock_fd);
	return ret;
}
