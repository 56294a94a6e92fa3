/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Configuration: the daemon file (scx_gamer.yaml) and the game profiles, schema
 * version 1. Parsing, validation, layering (defaults, extends, admin files
 * hiding shipped ones) and diagnostics. No BPF and no root needed here: the
 * `check` command and the tests use it as is.
 *
 * The schema is the user-facing contract, documented in docs/CONFIG.md.
 */
#ifndef SCX_GAMER_CONF_H
#define SCX_GAMER_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../bpf/intf.h"
#include "log.h"

/* Limits that keep a hostile or broken file from costing much. */
#define CONFIG_MAX_FILE_SIZE (64 * 1024) /* bytes */
#define CONFIG_MAX_DEPTH 16		 /* nesting of mappings/sequences */
/* Profiles loaded at once: the kernel's slots, less slot 0 (the defaults). */
#define CONFIG_MAX_PROFILES (GAMER_MAX_PROFILES - 1)

/* ---- diagnostics --------------------------------------------------------- */

enum diag_severity {
	DIAG_ERROR,
	DIAG_WARNING,
};

/* One message, printed as "FILE:LINE:COL: error: MESSAGE" (1-based). */
struct diag {
	char *file;
	unsigned int line; /* 0 when the message is about the whole file */
	unsigned int col;
	enum diag_severity severity;
	char *msg;
};

struct diags {
	struct diag *v;
	size_t n, cap;
	size_t errors; /* how many of v are DIAG_ERROR */
};

void diags_add(struct diags *d, enum diag_severity sev, const char *file,
	       unsigned int line, unsigned int col, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
void diags_print(const struct diags *d, FILE *out);
/* One message as diags_print() writes it, without the newline. */
void diag_fprint(const struct diag *g, FILE *out);
void diags_free(struct diags *d);

/* ---- tunables ------------------------------------------------------------ */

/* Every key of a `tunables` block, in schema order. */
enum tunable_field {
	TF_SLICE,
	TF_BOOST_MAX,
	TF_DM_ENABLED,
	TF_DM_THRESHOLD,
	TF_DM_MIN_BOOST,
	TF_DM_RECOVER,
	TF_INH_ENABLED,
	TF_INH_MAX_BOOST,
	TF_INH_DURATION,
	TF_RM_ENABLED,
	TF_RM_PERIOD,
	TF_RM_BELOW_BOOST,
	TF_NUMA,
	TF_PREEMPT,
	TF_ROLE_FIRST, /* TF_ROLE_FIRST + enum gamer_role */
	TF_COUNT = TF_ROLE_FIRST + GAMER_ROLE_COUNT,
};

/* Where a value was written. */
struct src_pos {
	unsigned int line, col; /* 1-based; 0 = not from a file */
};

/*
 * A tunables block as written in one file: values for the keys that are set
 * (bit (1 << field) in `set`), and where each was written.
 */
struct tunables_block {
	struct gamer_tunables v;
	uint32_t set;
	struct src_pos pos[TF_COUNT];
};

/* Dotted key path of a field ("deadline_miss.threshold", "roles.audio"). */
const char *tunable_field_path(enum tunable_field f);
/* Role name ("render") or NULL. */
const char *role_name(enum gamer_role r);

/* The values used where neither scx_gamer.yaml nor a profile sets a key. */
void tunables_builtin(struct gamer_tunables *t);
/* Overwrite the fields of dst that b sets (b->set). */
void tunables_apply(struct gamer_tunables *dst, const struct tunables_block *b);

enum tunable_kind {
	TK_DURATION, /* nanoseconds */
	TK_UINT,
	TK_BOOL,
};

enum tunable_kind tunable_field_kind(enum tunable_field f);
/* The field's value as a number (ns for durations, 0/1 for booleans). */
uint64_t tunable_get(const struct gamer_tunables *t, enum tunable_field f);
/* The value as the schema spells it: "2ms", "1.5ms", "true", "7". */
void tunable_format(const struct gamer_tunables *t, enum tunable_field f, char *buf, size_t len);

/* ---- profiles ----------------------------------------------------------------- */

enum match_key {
	MATCH_STEAM_APP_ID = 1 << 0,
	MATCH_COMM = 1 << 1,
	MATCH_EXE = 1 << 2,
	MATCH_CMDLINE = 1 << 3,
	MATCH_WINE_EXE = 1 << 4,
};

/* One `match:` entry: every key present (bit in `keys`) must match. */
struct match_entry {
	uint32_t keys;
	uint32_t steam_app_id;
	char *comm, *exe, *cmdline, *wine_exe; /* globs; NULL when absent */
	struct src_pos pos;
};

/* ---- the daemon file -------------------------------------------------------- */

struct daemon_config {
	char *path;
	enum log_level log_level;
	struct tunables_block defaults;
	/* Processes that never get a game profile (Wine/Steam infrastructure). */
	struct match_entry *exclude;
	size_t n_exclude;
	/*
	 * game_users: the only real uids whose processes get game profiles
	 * (names resolved at load); has_game_users false: everyone's do.
	 */
	uint32_t *game_users;
	size_t n_game_users;
	bool has_game_users;
};

/* One `threads:` rule: a thread whose name matches any glob gets the role. */
struct thread_rule {
	char **names;
	size_t n_names;
	enum gamer_role role;
	int boost; /* 0..7, or -1: the role's boost */
	struct src_pos pos;
};

struct profile {
	char *id;   /* file stem */
	char *path; /* the file it was read from */
	char *name; /* `name:`, defaults to the id */
	int priority; /* 0..100, default 50 */
	char *extends; /* profile id, or NULL */
	struct src_pos extends_pos;
	struct match_entry *match;
	size_t n_match;
	struct tunables_block tunables; /* this file's overrides */
	struct thread_rule *threads;
	size_t n_threads;

	/* Filled by config_load(): after builtin < defaults < extends < own. */
	struct gamer_tunables effective;
	/*
	 * For each field, the profile whose file set the effective value:
	 * an index into config_set.profiles, ORIGIN_DEFAULTS (scx_gamer.yaml)
	 * or ORIGIN_BUILTIN.
	 */
	int16_t origin[TF_COUNT];
};

#define ORIGIN_BUILTIN (-1)
#define ORIGIN_DEFAULTS (-2)

/*
 * Parse one file. The fd is the opened file (the caller checks ownership on
 * it); path is only for messages. id is the profile id (file stem). Returns 0
 * when the file is valid, -1 when not; every problem is added to d. On -1 the
 * output holds nothing that needs freeing.
 */
int config_parse_daemon(int fd, const char *path, struct daemon_config *out,
			struct diags *d);
int config_parse_profile(int fd, const char *path, const char *id,
			 struct profile *out, struct diags *d);
/* The same from memory (tests, fuzzing). */
/*
 * How game_users names become uids: getpwnam() unless set (tests and the
 * fuzzer set a lookup of their own; NULL restores getpwnam). Returns 0 with
 * *uid, -ENOENT for no such user, -errno when the lookup failed.
 */
typedef int config_user_lookup_fn(const char *name, uint32_t *uid);
void config_set_user_lookup(config_user_lookup_fn *fn);
int config_parse_daemon_buf(const char *buf, size_t len, const char *path,
			    struct daemon_config *out, struct diags *d);
int config_parse_profile_buf(const char *buf, size_t len, const char *path,
			     const char *id, struct profile *out, struct diags *d);

void daemon_config_free(struct daemon_config *c);
void profile_free(struct profile *p);

/* ---- the whole configuration -------------------------------------------------- */

struct config_paths {
	const char *config_file;    /* scx_gamer.yaml */
	const char *admin_profiles; /* /etc/scx_gamer/profiles */
	const char *shipped_profiles; /* /usr/share/scx_gamer/profiles */
};

/* What a directory scan found that a profile id hides. */
struct hidden_profile {
	char *id;
	char *path;	   /* the shipped file that is hidden */
	char *hidden_by;   /* the admin file that hides it */
};

/* What reading one configuration file came to. */
enum conf_file_status {
	CONF_FILE_UNREAD, /* not read by this load */
	CONF_FILE_LOADED, /* valid, and in the set */
	CONF_FILE_GONE,	  /* not there (any more): a removal to come, not an error */
	CONF_FILE_FAILED, /* there, but refused or not valid: the diags say why */
	CONF_FILE_LEFT_OUT, /* past CONFIG_MAX_PROFILES: not read, and not to be kept */
};

/* A file a load read, and what it came to. */
struct conf_file {
	char *path;
	enum conf_file_status status;
};

struct config_set {
	struct daemon_config daemon;
	struct profile *profiles; /* sorted by id */
	size_t n_profiles;
	struct hidden_profile *hidden;
	size_t n_hidden;
	struct conf_file *files; /* in the order read */
	size_t n_files;
};

/*
 * Load everything: the daemon file (a missing one means built-in defaults,
 * with a warning), then every *.yaml in both profile directories (editor
 * temp files, dotfiles, *~ and *.swp are skipped; an admin id hides a
 * shipped one), resolve `extends` (unknown and cyclic are errors) and compute
 * each profile's effective tunables and origins. Also warns when two profiles
 * can match the same process with equal priority.
 *
 * A file with errors is left out (its messages are in d); the rest loads.
 * With require_secure, a file or directory not owned by root or writable by
 * group/other is refused (checked with fstat on the opened fd). Returns 0
 * when there were no errors, -1 otherwise; out is usable either way and must
 * be freed with config_set_free().
 */
int config_load(const struct config_paths *paths, bool require_secure,
		struct config_set *out, struct diags *d);
/*
 * config_load() without its config_resolve(): every file parsed, d holding
 * only what the files themselves got wrong, and `extends` not looked at yet
 * (the daemon puts back the last good version of a file that failed before
 * resolving the set).
 */
int config_load_files(const struct config_paths *paths, bool require_secure,
		      struct config_set *out, struct diags *d);

/*
 * The layering step of config_load() on its own, for callers that swapped a
 * profile in or out of c (hot reload, `check FILE`): sorts c->profiles by id,
 * resolves `extends`, recomputes every effective/origin, and adds the
 * extends errors and equal-priority warnings to d. A profile whose extends is
 * unknown or cyclic is removed from c. Returns 0 or -1 like config_load().
 */
int config_resolve(struct config_set *c, struct diags *d);
void config_set_free(struct config_set *c);

/* True for a directory entry config_load() reads as a profile ("*.yaml", no temp files). */
bool config_is_profile_name(const char *name);

/* Index of the profile with this id in c->profiles, or -1. */
int config_find_profile(const struct config_set *c, const char *id);

/*
 * Read one profile file, the one way every path does (the directory scan,
 * hot reload, `check FILE`): open name relative to dfd (AT_FDCWD: name is
 * a path), follow symlinks, refuse a non-regular file, and with
 * require_secure one that root alone cannot change (checked on the opened
 * fd, and on the directory the file really is in), then parse it as profile
 * id. path is for messages. Only CONF_FILE_LOADED fills out.
 */
enum conf_file_status config_load_profile(int dfd, const char *name, const char *path,
					  const char *id, bool require_secure,
					  struct profile *out, struct diags *d);
/* The same for the daemon file. */
enum conf_file_status config_load_daemon(const char *path, bool require_secure,
					 struct daemon_config *out, struct diags *d);

/*
 * Move p into c (p is zeroed): it replaces the profile of the same id, or
 * is added at the end (config_resolve() sorts). -1, p untouched, when out
 * of memory.
 */
int config_put_profile(struct config_set *c, struct profile *p);

/*
 * What this load made of the file at path (CONF_FILE_UNREAD if it did not
 * read it); config_note_file() records it (0, or -1 when out of memory).
 */
enum conf_file_status config_file_status(const struct config_set *c, const char *path);
int config_note_file(struct config_set *c, const char *path, enum conf_file_status st);

/*
 * Keep-last-good, after a reload read next: the daemon file's and every
 * profile's last good version (from old, which loses them) go into next
 * where their file failed, or was not read though it is there (its
 * directory refused or unreadable). A file gone, or left out past the
 * profile limit, is a profile removed. Says each one kept in the log.
 */
void config_keep_last_good(struct config_set *next, struct config_set *old);

#endif /* SCX_GAMER_CONF_H */
