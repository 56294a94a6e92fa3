// SPDX-License-Identifier: GPL-2.0-only
/*
 * The configuration in the daemon: loading every file, keeping the last
 * good version of one that fails, and hot reload - inotify's events read
 * again only the files that changed; a profile added or removed, or a
 * directory that came or went (after it settled, SETTLE_MS), reads
 * everything. Errors are kept per file for `status`.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "detect.h"
#include "evfd.h"
#include "log.h"
#include "state.h"
#include "watch.h"

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
void reload_publish_state(struct daemon *d)
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
	/*
	 * Profiles added or removed, or their matching edited: decide the
	 * running processes again (after the exec events already queued).
	 */
	if (d->det) {
		if (detect_set_config(d->det, &d->cfg, &d->applied))
			detect_want_rescan(d->det, "configuration changed");
		else
			log_debug("only tunables changed: every process keeps its class");
	}
	reload_publish_state(d);
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
int reload_all(struct daemon *d, bool first)
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
		config_keep_last_good(&next, &d->cfg);
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
void reload_watch(struct daemon *d)
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
 * (reload_inotify() rereads everything otherwise). A file that does not
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
void reload_full(struct daemon *d)
{
	d->full_pending = false;
	/*
	 * Watch first, then read: a file written into a directory that just
	 * appeared is either read now or reported by the new watch.
	 */
	reload_watch(d);
	reload_all(d, false);
	reload_watch(d);
}

static int settle_arm(struct daemon *d)
{
	return timer_arm(d->settle_fd, SETTLE_MS * 1000000ull, 0);
}

/* A directory came or went: read everything again once it has settled. */
static void settle_then_reload(struct daemon *d)
{
	/* Its own watch, or its parent's, for what happens meanwhile. */
	reload_watch(d);
	if (d->full_pending)
		return;
	d->full_pending = true;
	d->settle_waits = 0;
	if (settle_arm(d))
		reload_full(d); /* no timer: now, as before */
}

void reload_settle_fired(struct daemon *d)
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
	reload_full(d);
}

/*
 * Apply what inotify reported. Changed files are read again on their own;
 * a profile appearing or going away rereads everything, since other
 * profiles may extend it.
 */
void reload_inotify(struct daemon *d)
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
		reload_full(d);
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
	reload_watch(d);
out:
	diags_free(&dg);
	for (i = 0; i < pd.n_ids; i++)
		free(pd.ids[i]);
}
