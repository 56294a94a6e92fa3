// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading the configuration from disk: opening files and directories the
 * way the daemon trusts them (owned by root, not writable by group or
 * others, checked on the opened fd), scanning the profile directories in
 * name order with admin files hiding shipped ones of the same id, and
 * handing each file to parse.c and the set to resolve.c.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf-internal.h"

/* Whether root alone can change what this fd refers to; reported when not. */
static bool secure_fd(int fd, const char *path, const char *what, struct diags *d)
{
	struct stat st;
	bool ok = true;

	if (fstat(fd, &st)) {
		diags_add(d, DIAG_ERROR, path, 0, 0, "failed to stat the %s: %s", what,
			  strerror(errno));
		return false;
	}
	if (st.st_uid != 0) {
		diags_add(d, DIAG_ERROR, path, 0, 0, "the daemon refuses this %s: owned by uid %u, not root",
			  what, (unsigned int)st.st_uid);
		ok = false;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		diags_add(d, DIAG_ERROR, path, 0, 0,
			  "the daemon refuses this %s: writable by group or others (mode %04o)", what,
			  (unsigned int)(st.st_mode & 07777));
		ok = false;
	}
	return ok;
}

/* The directory named by path's dirname, if it exists, checked like a file. */
static bool secure_dir_of(const char *path, struct diags *d)
{
	char dir[PATH_MAX], *slash;
	bool ok;
	int dfd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT; /* nothing there to read, nothing to plant */
	ok = secure_fd(dfd, dir, "directory", d);
	close(dfd);
	return ok;
}

/*
 * The directory that holds the opened file fd (after symlinks: where the file
 * really is), checked like the file: whoever can write there can replace the
 * file (scx_gamer.yaml's directory, a symlinked profile's target directory).
 */
static bool secure_parent(int fd, struct diags *d)
{
	char link[64], real[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, real, sizeof(real) - 1);
	if (n <= 0) {
		diags_add(d, DIAG_ERROR, link, 0, 0, "failed to find where the file is: %s",
			  n < 0 ? strerror(errno) : "empty link");
		return false;
	}
	real[n] = '\0';
	return secure_dir_of(real, d);
}

/* How many times a name that is back again is looked up again. */
#define NAME_TRIES 3

#define KEPT_REPLACED "the file kept being replaced while it was read; it is read again at its next change"

enum name_now { NAME_THERE, NAME_GONE, NAME_BACK, NAME_BROKEN };

/*
 * A name the directory listed that gave ENOENT when it was opened: removed
 * (or renamed away) since, which is a change to come (the daemon hears of
 * it), not an error - GONE; or already back (a tool writing it again) -
 * BACK, worth another try; or a symlink whose target is missing - BROKEN
 * (dangling), as is any other failure. Keeps errno.
 */
static enum name_now name_now(int dfd, const char *name)
{
	int err = errno;
	struct stat st;
	enum name_now now;

	if (err != ENOENT)
		now = NAME_BROKEN;
	else if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
		now = errno == ENOENT ? NAME_GONE : NAME_BROKEN;
	else
		now = fstatat(dfd, name, &st, 0) == 0 ? NAME_BACK : NAME_BROKEN;
	errno = err;
	return now;
}

/*
 * stat(2) of a listed name, following symlinks: THERE (in *st), GONE, BROKEN
 * (errno says why), or BACK when it kept coming back between tries.
 */
static enum name_now stat_listed(int dfd, const char *name, struct stat *st)
{
	for (int tries = 1;; tries++) {
		enum name_now now;

		if (fstatat(dfd, name, st, 0) == 0)
			return NAME_THERE;
		now = name_now(dfd, name);
		if (now != NAME_BACK || tries == NAME_TRIES)
			return now;
	}
}

/*
 * Open name (relative to dfd) the way every configuration file is opened.
 * Symlinks are followed (admins link files) and it is the opened file that
 * is checked; O_NONBLOCK keeps a FIFO planted under a profile name from
 * hanging the daemon. The descriptor, or -1 with *st saying why.
 */
static int open_checked(int dfd, const char *name, const char *path, bool secure,
			enum conf_file_status *st, struct diags *d)
{
	struct stat sb;
	int fd;

	*st = CONF_FILE_FAILED;
	for (int tries = 1;; tries++) {
		enum name_now now;

		fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd >= 0)
			break;
		now = name_now(dfd, name);
		if (now == NAME_GONE) {
			*st = CONF_FILE_GONE;
		} else if (now == NAME_BROKEN) {
			diags_add(d, DIAG_ERROR, path, 0, 0, "failed to open the file: %s",
				  strerror(errno));
		} else if (tries < NAME_TRIES) {
			continue;
		} else {
			/* Failed, not gone: the daemon keeps its last good version. */
			diags_add(d, DIAG_ERROR, path, 0, 0, "%s", KEPT_REPLACED);
		}
		return -1;
	}
	if (fstat(fd, &sb)) {
		diags_add(d, DIAG_ERROR, path, 0, 0, "failed to stat the file: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		diags_add(d, DIAG_ERROR, path, 0, 0, "not a regular file");
		goto fail;
	}
	if (secure && (!secure_fd(fd, path, "file", d) || !secure_parent(fd, d)))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

enum conf_file_status config_load_profile(int dfd, const char *name, const char *path,
					  const char *id, bool require_secure,
					  struct profile *out, struct diags *d)
{
	enum conf_file_status st;
	int fd = open_checked(dfd, name, path, require_secure, &st, d);

	if (fd < 0)
		return st;
	st = config_parse_profile(fd, path, id, out, d) ? CONF_FILE_FAILED : CONF_FILE_LOADED;
	close(fd);
	return st;
}

enum conf_file_status config_load_daemon(const char *path, bool require_secure,
					 struct daemon_config *out, struct diags *d)
{
	enum conf_file_status st;
	int fd = open_checked(AT_FDCWD, path, path, require_secure, &st, d);

	if (fd < 0)
		return st;
	st = config_parse_daemon(fd, path, out, d) ? CONF_FILE_FAILED : CONF_FILE_LOADED;
	close(fd);
	return st;
}

int config_note_file(struct config_set *c, const char *path, enum conf_file_status st)
{
	struct conf_file *v;

	for (size_t i = 0; i < c->n_files; i++) {
		if (!strcmp(c->files[i].path, path)) {
			c->files[i].status = st;
			return 0;
		}
	}
	v = realloc(c->files, (c->n_files + 1) * sizeof(*v));
	if (!v)
		return -1;
	c->files = v;
	v[c->n_files].path = strdup(path);
	if (!v[c->n_files].path)
		return -1;
	v[c->n_files++].status = st;
	return 0;
}

enum conf_file_status config_file_status(const struct config_set *c, const char *path)
{
	for (size_t i = 0; i < c->n_files; i++)
		if (!strcmp(c->files[i].path, path))
			return c->files[i].status;
	return CONF_FILE_UNREAD;
}

/* Record what reading path came to; out of memory is said in d. */
static void note(struct config_set *set, const char *path, enum conf_file_status st,
		 struct diags *d)
{
	if (config_note_file(set, path, st))
		diags_add(d, DIAG_ERROR, path, 0, 0, "out of memory");
}

static void load_daemon(struct config_set *set, const char *path, bool secure,
			struct diags *d)
{
	struct daemon_config *dc = &set->daemon;
	enum conf_file_status st;

	memset(dc, 0, sizeof(*dc));
	if (path) {
		st = config_load_daemon(path, secure, dc, d);
		if (st == CONF_FILE_GONE)
			diags_add(d, DIAG_WARNING, path, 0, 0, "not found; using built-in defaults");
		note(set, path, st, d);
	}
	/* Without a usable file: built-in defaults, but still named for messages. */
	if (!dc->path) {
		dc->log_level = LOG_INFO;
		tunables_builtin(&dc->defaults.v);
		dc->path = path ? strdup(path) : NULL;
	}
}

/*
 * Profile files are NAME.yaml; the rest of a directory (editor backups *~,
 * swap files *.swp, emacs locks .#*, dotfiles, notes) is not configuration.
 */
bool config_is_profile_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && !strcmp(name + len - 5, ".yaml");
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct id_list {
	char **id, **path;
	size_t n;
};

static void id_list_free(struct id_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->id[i]);
		free(l->path[i]);
	}
	free(l->id);
	free(l->path);
	memset(l, 0, sizeof(*l));
}

static int id_list_add(struct id_list *l, const char *id, const char *path)
{
	char **ids = realloc(l->id, (l->n + 1) * sizeof(*ids)), **paths;

	if (!ids)
		return -1;
	l->id = ids;
	paths = realloc(l->path, (l->n + 1) * sizeof(*paths));
	if (!paths)
		return -1;
	l->path = paths;
	l->id[l->n] = strdup(id);
	l->path[l->n] = strdup(path);
	if (!l->id[l->n] || !l->path[l->n]) {
		free(l->id[l->n]);
		free(l->path[l->n]);
		return -1;
	}
	l->n++;
	return 0;
}

static int add_hidden(struct config_set *set, const char *id, const char *path,
		      const char *by)
{
	struct hidden_profile *v = realloc(set->hidden, (set->n_hidden + 1) * sizeof(*v)), *h;

	if (!v)
		return -1;
	set->hidden = v;
	h = &v[set->n_hidden];
	h->id = strdup(id);
	h->path = strdup(path);
	h->hidden_by = strdup(by);
	if (!h->id || !h->path || !h->hidden_by) {
		free(h->id);
		free(h->path);
		free(h->hidden_by);
		return -1;
	}
	set->n_hidden++;
	return 0;
}

int config_put_profile(struct config_set *c, struct profile *p)
{
	int i = config_find_profile(c, p->id);
	struct profile *v;

	if (i >= 0) {
		profile_free(&c->profiles[i]);
	} else {
		v = realloc(c->profiles, (c->n_profiles + 1) * sizeof(*v));
		if (!v)
			return -1;
		c->profiles = v;
		i = (int)c->n_profiles++;
	}
	c->profiles[i] = *p;
	memset(p, 0, sizeof(*p));
	return 0;
}

/* One profile file of a directory scan. */
static void load_profile_file(struct config_set *set, int dfd, const char *dir,
			      const char *name, const char *path, const char *id, bool secure,
			      struct diags *d)
{
	enum conf_file_status st;
	struct profile p;

	if (set->n_profiles >= CONFIG_MAX_PROFILES) {
		diags_add(d, DIAG_ERROR, path, 0, 0,
			  "left out: more than %d profiles (in %s and before it)",
			  CONFIG_MAX_PROFILES, dir);
		note(set, path, CONF_FILE_LEFT_OUT, d);
		return;
	}
	st = config_load_profile(dfd, name, path, id, secure, &p, d);
	if (st == CONF_FILE_LOADED && config_put_profile(set, &p)) {
		diags_add(d, DIAG_ERROR, path, 0, 0, "out of memory");
		profile_free(&p);
		st = CONF_FILE_FAILED;
	}
	note(set, path, st, d);
}

/*
 * The ids of the profile files in dir, unread (a refused directory's: they
 * still hide the shipped files of the same id, whose profiles would
 * otherwise replace the admin's last good versions).
 */
static void list_ids(const char *dir, struct id_list *found, struct diags *d)
{
	struct dirent *de;
	char *path, *id;
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((de = readdir(dp))) {
		if (!config_is_profile_name(de->d_name))
			continue;
		id = strndup(de->d_name, strlen(de->d_name) - 5);
		if (!id || asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			free(id);
			diags_add(d, DIAG_ERROR, dir, 0, 0, "out of memory");
			break;
		}
		if (id_list_add(found, id, path))
			diags_add(d, DIAG_ERROR, path, 0, 0, "out of memory");
		free(id);
		free(path);
	}
	closedir(dp);
}

/*
 * Every NAME.yaml in dir, in name order. hide: ids found in the admin
 * directory, which hide shipped files of the same id; found: gets the ids
 * this directory holds.
 */
static void load_dir(struct config_set *set, const char *dir, bool secure,
		     const struct id_list *hide, struct id_list *found, struct diags *d)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dp;
	int dfd;

	if (!dir)
		return;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		/* No directory is no profiles: both are optional. */
		if (errno != ENOENT)
			diags_add(d, DIAG_ERROR, dir, 0, 0, "failed to open the directory: %s",
				  strerror(errno));
		return;
	}
	if (secure && !secure_fd(dfd, dir, "directory", d)) {
		close(dfd);
		/* Not read, but its ids still hide the shipped ones. */
		if (found)
			list_ids(dir, found, d);
		return;
	}
	dp = fdopendir(dfd);
	if (!dp) {
		diags_add(d, DIAG_ERROR, dir, 0, 0, "failed to read the directory: %s",
			  strerror(errno));
		close(dfd);
		return;
	}
	for (;;) {
		errno = 0;
		de = readdir(dp);
		if (!de) {
			if (errno)
				diags_add(d, DIAG_ERROR, dir, 0, 0, "failed to read the directory: %s",
					  strerror(errno));
			break;
		}
		if (!config_is_profile_name(de->d_name))
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			char **v = realloc(names, ncap * sizeof(*v));

			if (!v)
				goto nomem;
			names = v;
			cap = ncap;
		}
		names[n] = strdup(de->d_name);
		if (!names[n])
			goto nomem;
		n++;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_str);

	for (size_t i = 0; i < n; i++) {
		size_t stem = strlen(names[i]) - 5;
		char *path = NULL, *id = NULL;
		enum name_now now;
		struct stat st;
		size_t h;

		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			path = NULL;
			goto nomem;
		}
		id = strndup(names[i], stem);
		if (!id) {
			free(path);
			goto nomem;
		}
		now = stat_listed(dirfd(dp), names[i], &st);
		if (now == NAME_GONE) {
			note(set, path, CONF_FILE_GONE, d);
		} else if (now == NAME_BROKEN) {
			/* A dangling symlink most likely: worth knowing. */
			diags_add(d, DIAG_ERROR, path, 0, 0, "failed to stat the file: %s",
				  strerror(errno));
			note(set, path, CONF_FILE_FAILED, d);
		} else if (now == NAME_BACK) {
			diags_add(d, DIAG_ERROR, path, 0, 0, "%s", KEPT_REPLACED);
			note(set, path, CONF_FILE_FAILED, d);
		} else if (!S_ISREG(st.st_mode)) {
			/* A directory (or device) named like a profile: not one, said nowhere. */
		} else {
			for (h = 0; hide && h < hide->n; h++)
				if (!strcmp(hide->id[h], id))
					break;
			if (hide && h < hide->n) {
				if (add_hidden(set, id, path, hide->path[h]))
					diags_add(d, DIAG_ERROR, path, 0, 0, "out of memory");
			} else {
				if (found && id_list_add(found, id, path))
					diags_add(d, DIAG_ERROR, path, 0, 0, "out of memory");
				load_profile_file(set, dirfd(dp), dir, names[i], path, id, secure, d);
			}
		}
		free(path);
		free(id);
	}
	goto out;
nomem:
	diags_add(d, DIAG_ERROR, dir, 0, 0, "out of memory");
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(dp);
}

int config_load_files(const struct config_paths *paths, bool require_secure,
		      struct config_set *out, struct diags *d)
{
	size_t errors = d->errors;
	struct id_list admin = { 0 };

	memset(out, 0, sizeof(*out));
	/*
	 * Whoever can write the configuration directory can plant or swap
	 * scx_gamer.yaml and profiles/: then neither is read.
	 */
	if (require_secure && paths->config_file && !secure_dir_of(paths->config_file, d)) {
		load_daemon(out, NULL, false, d);
		free(out->daemon.path);
		out->daemon.path = strdup(paths->config_file);
		/* Refused, not missing: the daemon keeps its last good version. */
		note(out, paths->config_file, CONF_FILE_FAILED, d);
		if (paths->admin_profiles)
			list_ids(paths->admin_profiles, &admin, d);
		load_dir(out, paths->shipped_profiles, require_secure, &admin, NULL, d);
		id_list_free(&admin);
		return -1;
	}
	load_daemon(out, paths->config_file, require_secure, d);
	load_dir(out, paths->admin_profiles, require_secure, NULL, &admin, d);
	load_dir(out, paths->shipped_profiles, require_secure, &admin, NULL, d);
	id_list_free(&admin);
	return d->errors == errors ? 0 : -1;
}

int config_load(const struct config_paths *paths, bool require_secure, struct config_set *out,
		struct diags *d)
{
	size_t errors = d->errors;

	config_load_files(paths, require_secure, out, d);
	config_resolve(out, d);
	return d->errors == errors ? 0 : -1;
}

void config_keep_last_good(struct config_set *next, struct config_set *old)
{
	struct daemon_config tmp;

	if (old->daemon.path && config_file_status(next, old->daemon.path) == CONF_FILE_FAILED) {
		log_warn("%s: keeping the last good version", old->daemon.path);
		tmp = next->daemon;
		next->daemon = old->daemon;
		old->daemon = tmp;
	}
	for (size_t i = 0; i < old->n_profiles; i++) {
		struct profile *p = &old->profiles[i];
		enum conf_file_status st = config_file_status(next, p->path);

		if (config_find_profile(next, p->id) >= 0)
			continue;
		if (st != CONF_FILE_FAILED && (st != CONF_FILE_UNREAD || access(p->path, F_OK)))
			continue;
		log_warn("%s: keeping the last good version of profile '%s'", p->path, p->id);
		if (config_put_profile(next, p))
			log_error("failed to keep profile '%s': out of memory", p->id);
	}
}

void config_set_free(struct config_set *c)
{
	daemon_config_free(&c->daemon);
	for (size_t i = 0; i < c->n_profiles; i++)
		profile_free(&c->profiles[i]);
	free(c->profiles);
	for (size_t i = 0; i < c->n_hidden; i++) {
		free(c->hidden[i].id);
		free(c->hidden[i].path);
		free(c->hidden[i].hidden_by);
	}
	free(c->hidden);
	for (size_t i = 0; i < c->n_files; i++)
		free(c->files[i].path);
	free(c->files);
	memset(c, 0, sizeof(*c));
}
