// SPDX-License-Identifier: GPL-2.0-only
/*
 * `scx_gamer check [FILE...]`: validate without root and without BPF.
 *
 * With no FILE, the installed configuration. With files, each is checked as
 * it would load: scx_gamer.yaml as the daemon file, anything else as the
 * profile named by its stem, layered over the installed configuration (so
 * `extends` resolves against the installed profiles).
 *
 * The daemon refuses a file (or the directory holding it) that someone other
 * than root could change; `check` says so too, for the installed files and
 * for a FILE that is where the daemon reads files. A FILE elsewhere is a
 * draft: its ownership is not the daemon's business until it is installed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "conf/conf.h"
#include "log.h"

static void installed_paths(const struct paths *p, struct config_paths *cp, char *file,
			    char *admin)
{
	snprintf(file, PATH_MAX, "%s/scx_gamer.yaml", p->config_dir);
	snprintf(admin, PATH_MAX, "%s/profiles", p->config_dir);
	cp->config_file = file;
	cp->admin_profiles = admin;
	cp->shipped_profiles = p->profile_dir;
}

/* "dir/cs2.yaml" -> "cs2" in buf. */
static const char *stem(const char *path, char *buf, size_t len)
{
	const char *base = strrchr(path, '/');
	char *dot;

	snprintf(buf, len, "%s", base ? base + 1 : path);
	dot = strrchr(buf, '.');
	if (dot && dot != buf)
		*dot = '\0';
	return buf;
}

static bool is_daemon_file(const char *path)
{
	const char *base = strrchr(path, '/');

	return strcmp(base ? base + 1 : path, "scx_gamer.yaml") == 0;
}

/* Is path's directory (after symlinks) dir (after symlinks)? */
static bool in_dir(const char *path, const char *dir)
{
	char rp[PATH_MAX], rd[PATH_MAX], *slash;

	if (!realpath(path, rp) || !realpath(dir, rd))
		return false;
	slash = strrchr(rp, '/');
	if (!slash)
		return false;
	*slash = '\0';
	return strcmp(rp[0] ? rp : "/", rd) == 0;
}

/* A file the daemon would read: it checks who can change it. */
static bool installed(const struct paths *p, const char *admin, const char *path)
{
	return in_dir(path, p->config_dir) || in_dir(path, admin) || in_dir(path, p->profile_dir);
}

int cmd_check(const struct paths *paths, char **files, int n_files)
{
	char file[PATH_MAX], admin[PATH_MAX], id[NAME_MAX + 1];
	struct config_paths cp;
	struct config_set c;
	struct diags d = { 0 }, ignored = { 0 };
	int i, ret = 0;

	installed_paths(paths, &cp, file, admin);
	if (n_files == 0) {
		ret = config_load(&cp, true, &c, &d);
		goto out;
	}

	/* The installed files only give context here; their own problems are not asked about. */
	config_load(&cp, true, &c, &ignored);
	diags_free(&ignored);
	for (i = 0; i < n_files; i++) {
		bool secure = installed(paths, admin, files[i]);
		enum conf_file_status st;

		if (is_daemon_file(files[i])) {
			struct daemon_config dc;

			st = config_load_daemon(files[i], secure, &dc, &d);
			if (st == CONF_FILE_LOADED) {
				daemon_config_free(&c.daemon);
				c.daemon = dc;
			}
		} else {
			struct profile p;

			st = config_load_profile(AT_FDCWD, files[i], files[i],
						 stem(files[i], id, sizeof(id)), secure, &p, &d);
			if (st == CONF_FILE_LOADED && config_put_profile(&c, &p)) {
				profile_free(&p);
				diags_add(&d, DIAG_ERROR, files[i], 0, 0, "out of memory");
				st = CONF_FILE_FAILED;
			}
		}
		if (st == CONF_FILE_GONE)
			diags_add(&d, DIAG_ERROR, files[i], 0, 0, "failed to open the file: %s",
				  strerror(ENOENT));
		if (st != CONF_FILE_LOADED)
			ret = -1;
	}
	if (config_resolve(&c, &d))
		ret = -1;
out:
	diags_print(&d, stdout);
	if (ret == 0 && d.errors == 0)
		printf("%s: configuration is valid (%zu profile%s)\n", PACKAGE_NAME, c.n_profiles,
		       c.n_profiles == 1 ? "" : "s");
	else
		ret = -1;
	diags_free(&d);
	config_set_free(&c);
	return ret ? EXIT_FAIL : EXIT_OK;
}
