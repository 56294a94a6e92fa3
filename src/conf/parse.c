// SPDX-License-Identifier: GPL-2.0-only
/*
 * One document into a struct daemon_config or a struct profile: the tree
 * (tree.c) walked against the tables (schema.c). Validation goes on after a
 * bad value, so one run reports every problem.
 *
 * Everything is parsed into a fresh structure that the caller only gets when
 * the file had no error, so a bad edit never half-applies.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf-internal.h"

/*
 * Whether the pair at map->kid[i] is worth reading: its key is a string and
 * not a repeat. A repeated key is an error at the repeat (the first wins).
 */
static bool key_ok(struct conf_ctx *c, const struct node *map, size_t i, const char *where)
{
	const struct node *key = map->kid[i];
	char path[PATH_LEN];

	if (key->kind == N_BAD)
		return false;
	if (key->kind != N_SCALAR) {
		nerr(c, key, "%s%skeys must be plain strings, not %s", where, *where ? ": " : "",
		     conf_kind_name(key));
		return false;
	}
	for (size_t j = 0; j < i; j += 2) {
		const struct node *k = map->kid[j];

		if (k->kind == N_SCALAR && k->len == key->len && !memcmp(k->str, key->str, k->len)) {
			conf_path_join(path, where, key->str);
			nerr(c, key, "duplicate key '%s' (first set at line %u)", path, k->line);
			return false;
		}
	}
	return true;
}

static void set_tunable(struct conf_ctx *c, const struct node *key, const struct node *val,
			const char *path, int f, struct tunables_block *tb)
{
	const struct tunable_def *def = &conf_tunable_defs[f];
	uint64_t v = 0;
	bool ok;

	switch (def->type) {
	case TK_DURATION:
		ok = conf_get_duration(c, val, path, def->min, def->max, &v);
		break;
	case TK_UINT:
		ok = conf_get_uint(c, val, path, def->min, def->max, &v);
		break;
	default:
		ok = conf_get_bool(c, val, path, &v);
		break;
	}
	if (!ok)
		return;
	conf_tun_store(&tb->v, def, v);
	tb->set |= 1u << f;
	tb->pos[f].line = key->line;
	tb->pos[f].col = key->col;
}

/*
 * One level of a tunables block. outer is where the block sits ("tunables",
 * "defaults"), prefix the group inside it ("" or "deadline_miss").
 */
static void walk_tunables(struct conf_ctx *c, const struct node *map, const char *outer,
			  const char *prefix, struct tunables_block *tb)
{
	char where[PATH_LEN];

	conf_path_join(where, outer, prefix);
	if (map->kind == N_BAD)
		return;
	if (map->kind != N_MAP) {
		nerr(c, map, "%s: expected a mapping of keys, got %s", where, conf_kind_name(map));
		return;
	}
	for (size_t i = 0; i < map->n; i += 2) {
		const struct node *key = map->kid[i], *val = map->kid[i + 1];
		char sub[PATH_LEN], path[PATH_LEN];
		bool plain;
		int f;

		if (!key_ok(c, map, i, where))
			continue;
		conf_path_join(sub, prefix, key->str);
		conf_path_join(path, where, key->str);
		/* One name per level: "a.b" or "" must not reach into the dotted paths. */
		plain = *key->str && !strchr(key->str, '.');
		f = plain ? conf_tunable_find(sub) : -1;
		if (f >= 0) {
			set_tunable(c, key, val, path, f, tb);
		} else if (plain && conf_tunable_is_group(sub)) {
			walk_tunables(c, val, outer, sub, tb);
		} else {
			const char *cand[TF_COUNT];
			char store[TF_COUNT][PATH_LEN];
			size_t n = conf_tunable_keys_at(prefix, cand, store, TF_COUNT);

			conf_unknown_word(c, key->line, key->col, true, path, "key", key->str, cand,
					  n, "valid keys");
		}
	}
}

static void walk_fields(struct conf_ctx *c, const struct node *map, const char *where,
			const struct conf_field *fields, size_t nf, void *base,
			const struct node **seen);

static void get_names(struct conf_ctx *c, const struct node *val, const char *path,
		      struct thread_rule *r)
{
	size_t n;

	if (val->kind == N_BAD)
		return;
	if (val->kind == N_MAP) {
		nerr(c, val, "%s: expected a thread name or a list of names, got a mapping", path);
		return;
	}
	n = val->kind == N_SEQ ? val->n : 1;
	if (!n) {
		nerr(c, val, "%s: the list of names is empty, so the rule matches no thread", path);
		return;
	}
	r->names = calloc(n, sizeof(*r->names));
	if (!r->names) {
		oom(c);
		return;
	}
	r->n_names = n;
	for (size_t i = 0; i < n; i++) {
		const struct node *item = val->kind == N_SEQ ? val->kid[i] : val;
		char ipath[PATH_LEN];

		if (val->kind == N_SEQ)
			conf_path_fmt(ipath, "%s[%zu]", path, i);
		else
			conf_path_fmt(ipath, "%s", path);
		r->names[i] = conf_get_string(c, item, ipath);
		if (r->names[i])
			conf_check_comm(c, item, ipath, r->names[i]);
	}
}

/*
 * A user name's uid from the system's user database (getpwnam: /etc/passwd
 * or whatever NSS the system uses; the daemon is single-threaded). 0, or
 * -ENOENT for no such user, -errno when the lookup itself failed.
 */
static int system_user_lookup(const char *name, uint32_t *uid)
{
	struct passwd *pw;
	int e;

	errno = 0;
	pw = getpwnam(name);
	if (pw) {
		/* (uid_t)-1 is no one's uid (and our "unknown" marker). */
		if (pw->pw_uid == (uid_t)-1)
			return -ENOENT;
		*uid = (uint32_t)pw->pw_uid;
		return 0;
	}
	e = errno;
	/* getpwnam(3): these all mean "not found" on one backend or another. */
	if (!e || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM)
		return -ENOENT;
	return -e;
}

static config_user_lookup_fn *user_lookup = system_user_lookup;

void config_set_user_lookup(config_user_lookup_fn *fn)
{
	user_lookup = fn ? fn : system_user_lookup;
}

/*
 * game_users: a list of uids (all digits) and user names, names resolved now.
 * It fails closed: a name that does not resolve counts for no one (a
 * warning, not an error, so that the rest of the file - the limit itself -
 * still applies, at start-up too), and a list of such names alone lets no
 * one's processes have game profiles.
 */
static void get_users(struct conf_ctx *c, const struct node *val, const char *path,
		      struct daemon_config *dc)
{
	if (val->kind == N_BAD)
		return;
	if (val->kind != N_SEQ) {
		nerr(c, val, "%s: expected a list of user names or uids (- NAME), got %s", path,
		     conf_kind_name(val));
		return;
	}
	if (!val->n) {
		nerr(c, val,
		     "%s: the list is empty, so no process would get a game profile; leave "
		     "game_users out to let every user's games have theirs",
		     path);
		return;
	}
	dc->game_users = calloc(val->n, sizeof(*dc->game_users));
	if (!dc->game_users) {
		oom(c);
		return;
	}
	dc->has_game_users = true;
	for (size_t i = 0; i < val->n; i++) {
		const struct node *item = val->kid[i];
		char ipath[PATH_LEN];
		uint32_t uid = 0;
		uint64_t v;
		int r;

		conf_path_fmt(ipath, "%s[%zu]", path, i);
		if (!conf_want_scalar(c, item, ipath, "a user name or a uid"))
			continue;
		/* All digits: a uid (so a name made only of digits cannot be given). */
		if (item->len && strspn(item->str, "0123456789") == item->len) {
			if (conf_get_uint(c, item, ipath, 0, UINT32_MAX - 1, &v))
				dc->game_users[dc->n_game_users++] = (uint32_t)v;
			continue;
		}
		if (!item->len) {
			nerr(c, item, "%s: expected a user name or a uid, got an empty string", ipath);
			continue;
		}
		r = user_lookup(item->str, &uid);
		if (r == -ENOENT)
			nwarn(c, item,
			      "%s: no user named '%.40s' on this system; it counts for no one "
			      "(reload once it exists)",
			      ipath, item->str);
		else if (r < 0)
			nwarn(c, item,
			      "%s: cannot look up user '%.40s' (%s); it counts for no one until a "
			      "reload finds it",
			      ipath, item->str, strerror(-r));
		else
			dc->game_users[dc->n_game_users++] = uid;
	}
}

/* A list of match entries (a profile's match:, the daemon file's exclude:). */
static void get_match_list(struct conf_ctx *c, const struct node *val, const char *path,
			   struct match_entry **out, size_t *n_out, bool need_one)
{
	struct match_entry *list;

	if (val->kind == N_BAD)
		return;
	if (val->kind != N_SEQ) {
		nerr(c, val, "%s: expected a list of match entries (- comm: NAME), got %s", path,
		     conf_kind_name(val));
		return;
	}
	if (!val->n) {
		if (need_one)
			nerr(c, val,
			     "%s: the list is empty; give at least one entry, or leave match out "
			     "for a base profile that others extend",
			     path);
		return;
	}
	list = calloc(val->n, sizeof(*list));
	if (!list) {
		oom(c);
		return;
	}
	*out = list;
	*n_out = val->n;
	for (size_t i = 0; i < val->n; i++) {
		const struct node *item = val->kid[i];
		const struct node *seen[ARRAY_SIZE(conf_match_fields)] = { 0 };
		struct match_entry *m = &list[i];
		char ipath[PATH_LEN];

		conf_path_fmt(ipath, "%s[%zu]", path, i);
		m->pos.line = item->line;
		m->pos.col = item->col;
		walk_fields(c, item, ipath, conf_match_fields, ARRAY_SIZE(conf_match_fields), m,
			    seen);
		for (size_t k = 0; k < ARRAY_SIZE(conf_match_fields); k++)
			if (seen[k])
				m->keys |= 1u << k;
		if (item->kind == N_MAP && !item->n)
			nerr(c, item,
			     "%s: an empty entry; give at least one of steam_app_id, comm, exe, "
			     "cmdline, wine_exe",
			     ipath);
	}
}

static void get_threads(struct conf_ctx *c, const struct node *val, const char *path,
			struct profile *p)
{
	if (val->kind == N_BAD)
		return;
	if (val->kind != N_SEQ) {
		nerr(c, val, "%s: expected a list of thread rules (- name: GLOB, role: ROLE), got %s",
		     path, conf_kind_name(val));
		return;
	}
	if (!val->n)
		return;
	p->threads = calloc(val->n, sizeof(*p->threads));
	if (!p->threads) {
		oom(c);
		return;
	}
	p->n_threads = val->n;
	for (size_t i = 0; i < val->n; i++) {
		const struct node *item = val->kid[i];
		const struct node *seen[ARRAY_SIZE(conf_thread_fields)] = { 0 };
		struct thread_rule *r = &p->threads[i];
		char ipath[PATH_LEN];

		conf_path_fmt(ipath, "%s[%zu]", path, i);
		r->boost = -1;
		r->pos.line = item->line;
		r->pos.col = item->col;
		walk_fields(c, item, ipath, conf_thread_fields, ARRAY_SIZE(conf_thread_fields), r,
			    seen);
	}
}

static void set_field(struct conf_ctx *c, const struct conf_field *fd, const struct node *val,
		      const char *path, void *base)
{
	char *where = (char *)base + fd->off;
	uint64_t v;

	switch (fd->type) {
	case F_SCHEMA:
		if (conf_want_scalar(c, val, path, "1") && strcmp(val->str, "1"))
			nerr(c, val, "%s: unsupported schema '%.40s'; this scx_gamer reads schema 1",
			     path, val->str);
		break;
	case F_LOG_LEVEL:
		if (!conf_want_scalar(c, val, path, "a log level"))
			break;
		for (size_t i = 0; i < ARRAY_SIZE(conf_log_level_names); i++) {
			if (!strcmp(val->str, conf_log_level_names[i])) {
				enum log_level l = (enum log_level)i;

				memcpy(where, &l, sizeof(l));
				return;
			}
		}
		conf_unknown_word(c, val->line, val->col, false, path, "log level", val->str,
				  conf_log_level_names, ARRAY_SIZE(conf_log_level_names),
				  "valid levels");
		break;
	case F_STRING:
	case F_COMM: {
		char *s = conf_get_string(c, val, path), *old;

		if (!s)
			break;
		if (fd->type == F_COMM)
			conf_check_comm(c, val, path, s);
		memcpy(&old, where, sizeof(old));
		free(old);
		memcpy(where, &s, sizeof(s));
		break;
	}
	case F_INT:
		if (conf_get_uint(c, val, path, fd->min, fd->max, &v)) {
			int i = (int)v;

			memcpy(where, &i, sizeof(i));
		}
		break;
	case F_U32:
		if (conf_get_uint(c, val, path, fd->min, fd->max, &v)) {
			uint32_t u = (uint32_t)v;

			memcpy(where, &u, sizeof(u));
		}
		break;
	case F_ROLE: {
		enum gamer_role r;

		if (conf_get_role(c, val, path, &r))
			memcpy(where, &r, sizeof(r));
		break;
	}
	case F_NAMES:
		get_names(c, val, path, base);
		break;
	case F_TUNABLES:
		walk_tunables(c, val, path, "", (struct tunables_block *)(void *)where);
		break;
	case F_MATCH: {
		struct profile *p = base;

		get_match_list(c, val, path, &p->match, &p->n_match, true);
		break;
	}
	case F_EXCLUDE: {
		struct daemon_config *dc = base;

		get_match_list(c, val, path, &dc->exclude, &dc->n_exclude, false);
		break;
	}
	case F_USERS:
		get_users(c, val, path, base);
		break;
	case F_THREADS:
		get_threads(c, val, path, base);
		break;
	}
}

/*
 * Fill base from a mapping described by fields; seen[i] gets the key node of
 * fields[i] when it was present. where is the mapping's own path ("" = top).
 */
static void walk_fields(struct conf_ctx *c, const struct node *map, const char *where,
			const struct conf_field *fields, size_t nf, void *base,
			const struct node **seen)
{
	const char *cand[16];

	if (map->kind == N_BAD)
		return;
	if (map->kind != N_MAP) {
		if (*where)
			nerr(c, map, "%s: expected a mapping of keys, got %s", where,
			     conf_kind_name(map));
		else
			nerr(c, map, "the top level must be a mapping of keys, not %s",
			     conf_kind_name(map));
		return;
	}
	for (size_t i = 0; i < nf && i < ARRAY_SIZE(cand); i++)
		cand[i] = fields[i].key;
	for (size_t i = 0; i < map->n; i += 2) {
		const struct node *key = map->kid[i], *val = map->kid[i + 1];
		char path[PATH_LEN];
		size_t f;

		if (!key_ok(c, map, i, where))
			continue;
		conf_path_join(path, where, key->str);
		for (f = 0; f < nf; f++)
			if (!strcmp(fields[f].key, key->str))
				break;
		if (f == nf) {
			conf_unknown_word(c, key->line, key->col, true, path, "key", key->str, cand,
					  nf < ARRAY_SIZE(cand) ? nf : ARRAY_SIZE(cand),
					  "valid keys");
			continue;
		}
		seen[f] = key;
		set_field(c, &fields[f], val, path, base);
	}
	for (size_t f = 0; f < nf; f++) {
		if (!fields[f].required || seen[f])
			continue;
		if (*where)
			nerr(c, map, "%s: missing key '%s' (%s)", where, fields[f].key,
			     fields[f].expect);
		else
			nerr(c, map, "missing key '%s' (%s)", fields[f].key, fields[f].expect);
	}
}

/* An empty file is an empty mapping whose missing keys are about the whole file. */
static const struct node empty_map = { .kind = N_MAP };

static int read_fd(int fd, const char *path, char **buf, size_t *len, struct diags *d)
{
	/* One byte more than the limit tells "too large" from "exactly the limit". */
	size_t cap = CONFIG_MAX_FILE_SIZE + 1, n = 0;
	char *b = malloc(cap);

	if (!b) {
		diags_add(d, DIAG_ERROR, path, 0, 0, "out of memory");
		return -1;
	}
	while (n < cap) {
		ssize_t r = read(fd, b + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			diags_add(d, DIAG_ERROR, path, 0, 0, "failed to read the file: %s",
				  strerror(errno));
			free(b);
			return -1;
		}
		if (!r)
			break;
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	return 0;
}

static void match_list_free(struct match_entry *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].comm);
		free(m[i].exe);
		free(m[i].cmdline);
		free(m[i].wine_exe);
	}
	free(m);
}

void daemon_config_free(struct daemon_config *c)
{
	free(c->path);
	match_list_free(c->exclude, c->n_exclude);
	free(c->game_users);
	memset(c, 0, sizeof(*c));
}

void profile_free(struct profile *p)
{
	free(p->id);
	free(p->path);
	free(p->name);
	free(p->extends);
	match_list_free(p->match, p->n_match);
	for (size_t i = 0; i < p->n_threads; i++) {
		for (size_t j = 0; j < p->threads[i].n_names; j++)
			free(p->threads[i].names[j]);
		free(p->threads[i].names);
	}
	free(p->threads);
	memset(p, 0, sizeof(*p));
}

int config_parse_daemon_buf(const char *buf, size_t len, const char *path,
			    struct daemon_config *out, struct diags *d)
{
	struct conf_ctx c = { .file = path, .d = d };
	const struct node *seen[DF_COUNT] = { 0 };
	size_t errors = d->errors, first = d->n;
	struct daemon_config dc = { 0 };
	struct node *root;
	bool fatal;

	memset(out, 0, sizeof(*out));
	dc.log_level = LOG_INFO;
	tunables_builtin(&dc.defaults.v);
	dc.path = strdup(path);
	if (!dc.path)
		oom(&c);
	root = conf_load_tree(&c, buf, len, &fatal);
	if (!fatal)
		walk_fields(&c, root ? root : &empty_map, "", conf_daemon_fields, DF_COUNT, &dc,
			    seen);
	conf_node_free(root);
	conf_sort_diags(d, first);
	if (d->errors != errors) {
		daemon_config_free(&dc);
		return -1;
	}
	*out = dc;
	return 0;
}

int config_parse_profile_buf(const char *buf, size_t len, const char *path, const char *id,
			     struct profile *out, struct diags *d)
{
	struct conf_ctx c = { .file = path, .d = d };
	const struct node *seen[PF_COUNT] = { 0 };
	size_t errors = d->errors, first = d->n;
	struct profile p = { 0 };
	struct node *root;
	bool fatal;

	memset(out, 0, sizeof(*out));
	p.priority = 50;
	tunables_builtin(&p.tunables.v);
	for (int f = 0; f < TF_COUNT; f++)
		p.origin[f] = ORIGIN_BUILTIN;
	p.id = strdup(id);
	p.path = strdup(path);
	if (!p.id || !p.path)
		oom(&c);
	/* The kernel's profile_info keeps ids and paths in fixed-size fields. */
	if (strlen(id) >= GAMER_ID_LEN)
		diags_add(d, DIAG_ERROR, path, 0, 0,
			  "profile id '%s' (the file name) is longer than %d characters", id,
			  GAMER_ID_LEN - 1);
	if (strlen(path) >= GAMER_PATH_LEN)
		diags_add(d, DIAG_ERROR, path, 0, 0, "path is longer than %d characters",
			  GAMER_PATH_LEN - 1);
	root = conf_load_tree(&c, buf, len, &fatal);
	if (!fatal)
		walk_fields(&c, root ? root : &empty_map, "", conf_profile_fields, PF_COUNT, &p,
			    seen);
	if (seen[PF_EXTENDS]) {
		p.extends_pos.line = seen[PF_EXTENDS]->line;
		p.extends_pos.col = seen[PF_EXTENDS]->col;
		if (p.extends && !strcmp(p.extends, id))
			cerr(&c, p.extends_pos.line, p.extends_pos.col,
			     "extends: profile '%s' cannot extend itself", id);
	}
	conf_node_free(root);
	if (!p.name) {
		p.name = strdup(id);
		if (!p.name)
			oom(&c);
	}
	tunables_builtin(&p.effective);
	conf_sort_diags(d, first);
	if (d->errors != errors) {
		profile_free(&p);
		return -1;
	}
	*out = p;
	return 0;
}

int config_parse_daemon(int fd, const char *path, struct daemon_config *out, struct diags *d)
{
	char *buf;
	size_t len;
	int r;

	memset(out, 0, sizeof(*out));
	if (read_fd(fd, path, &buf, &len, d))
		return -1;
	r = config_parse_daemon_buf(buf, len, path, out, d);
	free(buf);
	return r;
}

int config_parse_profile(int fd, const char *path, const char *id, struct profile *out,
			 struct diags *d)
{
	char *buf;
	size_t len;
	int r;

	memset(out, 0, sizeof(*out));
	if (read_fd(fd, path, &buf, &len, d))
		return -1;
	r = config_parse_profile_buf(buf, len, path, id, out, d);
	free(buf);
	return r;
}
