/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the files of the configuration library share; nothing outside
 * src/conf includes this (the interface is conf.h). One file, one job:
 *
 *   load.c     files and directories from disk, checked, in name order
 *   tree.c     a document as a tree of nodes with line and column (libyaml)
 *   schema.c   the tables: every key, its type, range, default and place
 *   values.c   one scalar read as a number, duration, boolean, string, role
 *   parse.c    the tree walked against the tables into a fresh structure
 *   resolve.c  `extends` followed, tunables layered, overlaps warned about
 *   diag.c     the messages, and the helpers that word them
 *
 * Two passes per file. The tree is what lets a message point at the
 * offending key after the whole mapping has been seen (duplicates, missing
 * keys) and lets validation go on after a bad value, so one run reports
 * every problem. The second pass walks the tree against static tables:
 * `conf_tunable_defs` for every key of a `tunables` block and small
 * `conf_field` tables for the document-level mappings.
 *
 * Names shared between these files start with conf_; the rest is static.
 */
#ifndef SCX_GAMER_CONF_INTERNAL_H
#define SCX_GAMER_CONF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Longest dotted key path a message shows; longer user keys are cut. */
#define PATH_LEN 160

#define NSEC ((uint64_t)1)
#define USEC ((uint64_t)1000)
#define MSEC ((uint64_t)1000000)
#define SEC ((uint64_t)1000000000)

/* ---- the schema (schema.c) ---------------------------------------------------- */

struct tunable_def {
	const char *path; /* dotted, relative to the tunables block */
	enum tunable_kind type;
	uint64_t min, max, dflt;
	size_t off, size; /* the field in struct gamer_tunables */
};

extern const struct tunable_def conf_tunable_defs[TF_COUNT];
extern const char *const conf_role_names[GAMER_ROLE_COUNT];
extern const char *const conf_log_level_names[LOG_DEBUG + 1];

enum field_type {
	F_SCHEMA,    /* must be 1 */
	F_LOG_LEVEL, /* enum log_level */
	F_STRING,    /* char * */
	F_COMM,	     /* char *, warned about when too long for comm */
	F_INT,	     /* int in min..max */
	F_U32,	     /* uint32_t in min..max */
	F_ROLE,	     /* enum gamer_role */
	F_NAMES,     /* thread_rule names: a string or a list of strings */
	F_TUNABLES,  /* struct tunables_block */
	F_MATCH,     /* profile match entries */
	F_EXCLUDE,   /* the daemon file's exclude entries */
	F_USERS,     /* the daemon file's game_users: uids or user names */
	F_THREADS,   /* profile thread rules */
};

struct conf_field {
	const char *key;
	enum field_type type;
	uint64_t min, max;
	size_t off; /* in the structure the mapping fills */
	bool required;
	const char *expect; /* for "missing key" and wrong-type messages */
};

enum { DF_SCHEMA, DF_LOG_LEVEL, DF_DEFAULTS, DF_EXCLUDE, DF_GAME_USERS, DF_COUNT };
enum { PF_SCHEMA, PF_NAME, PF_PRIORITY, PF_EXTENDS, PF_MATCH, PF_TUNABLES, PF_THREADS, PF_COUNT };

/* One row per MATCH_* bit, in bit order. */
#define CONF_MATCH_KEYS 5
#define CONF_THREAD_KEYS 3

extern const struct conf_field conf_daemon_fields[DF_COUNT];
extern const struct conf_field conf_profile_fields[PF_COUNT];
extern const struct conf_field conf_match_fields[CONF_MATCH_KEYS];
extern const struct conf_field conf_thread_fields[CONF_THREAD_KEYS];

/* Store v in the field of t that def describes. */
void conf_tun_store(struct gamer_tunables *t, const struct tunable_def *def, uint64_t v);
/* Copy field f from src to dst. */
void conf_tun_copy(struct gamer_tunables *dst, const struct gamer_tunables *src,
		   enum tunable_field f);
/* The tunable_field of a dotted path ("deadline_miss.threshold"), or -1. */
int conf_tunable_find(const char *path);
/* Whether path is a group of tunables ("deadline_miss"), not a key. */
bool conf_tunable_is_group(const char *path);
/* The keys valid right under `prefix` ("" = the block itself), in table order. */
size_t conf_tunable_keys_at(const char *prefix, const char **out, char store[][PATH_LEN],
			    size_t max);

/* ---- messages (diag.c) ----------------------------------------------------------- */

struct conf_ctx {
	const char *file;
	struct diags *d;
};

#define cerr(c, line, col, ...) conf_report(c, DIAG_ERROR, line, col, __VA_ARGS__)
#define nerr(c, n, ...) conf_report(c, DIAG_ERROR, (n)->line, (n)->col, __VA_ARGS__)
#define nwarn(c, n, ...) conf_report(c, DIAG_WARNING, (n)->line, (n)->col, __VA_ARGS__)
#define oom(c) conf_report(c, DIAG_ERROR, 0, 0, "out of memory")

/* A message about c->file at line:col (0:0 = the whole file). */
void conf_report(struct conf_ctx *c, enum diag_severity sev, unsigned int line,
		 unsigned int col, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Messages for one file come out in file order, whichever pass found them. */
void conf_sort_diags(struct diags *d, size_t from);
/*
 * "unknown key 'PATH'" (is_key) or "PATH: unknown WHAT 'WORD'", with the
 * nearest of cand[] as a suggestion and the valid ones listed.
 */
void conf_unknown_word(struct conf_ctx *c, unsigned int line, unsigned int col, bool is_key,
		       const char *path, const char *what, const char *word,
		       const char *const *cand, size_t n, const char *valid_what);
/* Paths in messages are cut at PATH_LEN: a key that long is a typo anyway. */
void conf_path_fmt(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "prefix.key", or either alone when the other is empty. */
void conf_path_join(char *buf, const char *prefix, const char *key);

/* ---- the tree (tree.c) ----------------------------------------------------------- */

enum node_kind {
	N_SCALAR,
	N_MAP, /* kid[2i] is a key, kid[2i + 1] its value */
	N_SEQ,
	N_BAD, /* already reported (alias, tag): validation stays quiet about it */
};

struct node {
	enum node_kind kind;
	unsigned int line, col; /* 1-based */
	char *str;		/* N_SCALAR */
	size_t len;
	struct node **kid;
	size_t n, cap;
};

/*
 * The document as a tree, or NULL for an empty file. *fatal is set when the
 * tree is unusable (syntax, size, depth, several documents, no memory).
 */
struct node *conf_load_tree(struct conf_ctx *c, const char *buf, size_t len, bool *fatal);
void conf_node_free(struct node *n);
/* "a mapping", "a sequence", "a single value": for messages. */
const char *conf_kind_name(const struct node *n);

/* ---- values (values.c) ------------------------------------------------------------- */

/*
 * Each getter reads one node as path's value; on a problem it reports it
 * (unless the node was reported before) and returns false or NULL.
 */
bool conf_want_scalar(struct conf_ctx *c, const struct node *n, const char *path,
		      const char *what);
bool conf_get_uint(struct conf_ctx *c, const struct node *n, const char *path, uint64_t min,
		   uint64_t max, uint64_t *out);
bool conf_get_duration(struct conf_ctx *c, const struct node *n, const char *path,
		       uint64_t min, uint64_t max, uint64_t *out);
bool conf_get_bool(struct conf_ctx *c, const struct node *n, const char *path, uint64_t *out);
/* A non-empty string, newly allocated; NULL when reported or out of memory. */
char *conf_get_string(struct conf_ctx *c, const struct node *n, const char *path);
bool conf_get_role(struct conf_ctx *c, const struct node *n, const char *path,
		   enum gamer_role *out);
/* comm and thread names: warns about a literal longer than the kernel keeps. */
void conf_check_comm(struct conf_ctx *c, const struct node *n, const char *path,
		     const char *s);
/* ns as the schema spells it: "2ms", "1.5ms", "250us". */
void conf_format_duration(uint64_t ns, char *buf, size_t len);

#endif /* SCX_GAMER_CONF_INTERNAL_H */
