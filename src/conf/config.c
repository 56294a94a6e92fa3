// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading scx_gamer.yaml and the game profiles (schema 1, docs/CONFIG.md).
 *
 * Two passes per file. libyaml's event stream is first turned into a small
 * tree of nodes that remember their line and column; the tree is what lets a
 * message point at the offending key after the whole mapping has been seen
 * (duplicates, missing keys) and lets validation go on after a bad value, so
 * one run reports every problem. The second pass walks the tree against
 * static tables: `tunable_defs` for every key of a `tunables` block (type,
 * range, default, where it lives in struct gamer_tunables) and small `field`
 * tables for the document-level mappings. Adding a tunable is one row.
 *
 * Everything is parsed into a fresh structure that the caller only gets when
 * the file had no error, so a bad edit never half-applies.
 *
 * The input is untrusted in the sense that it may be large, deep or odd:
 * size and depth are bounded before libyaml does any work on them, anchors
 * and aliases are refused (no billion-laughs), and numbers are parsed with
 * overflow-checked integer arithmetic only.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "conf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Longest dotted key path a message shows; longer user keys are cut. */
#define PATH_LEN 160
/* Longest key the typo suggestion looks at (bounds its table). */
#define SUGGEST_MAX 48
/* The kernel's TASK_COMM_LEN minus the NUL: longer names never match. */
#define COMM_MAX 15

#define NSEC ((uint64_t)1)
#define USEC ((uint64_t)1000)
#define MSEC ((uint64_t)1000000)
#define SEC ((uint64_t)1000000000)

/* ---- the tunables schema ---------------------------------------------------- */

struct tunable_def {
	const char *path; /* dotted, relative to the tunables block */
	enum tunable_kind type;
	uint64_t min, max, dflt;
	size_t off, size; /* the field in struct gamer_tunables */
};

#define TUN(member)                                  \
	offsetof(struct gamer_tunables, member), \
		sizeof(((struct gamer_tunables *)0)->member)
#define ROLE_ROW(role, name, d)                                                 \
	[TF_ROLE_FIRST + GAMER_ROLE_##role] = { "roles." name, TK_UINT, 0, GAMER_BOOST_MAX, \
						d, TUN(role_boost[GAMER_ROLE_##role]) }

static const struct tunable_def tunable_defs[TF_COUNT] = {
	[TF_SLICE] = { "slice", TK_DURATION, 100 * USEC, 100 * MSEC, 5 * MSEC, TUN(slice_ns) },
	[TF_BOOST_MAX] = { "boost.max", TK_UINT, 0, GAMER_BOOST_MAX, 7, TUN(boost_max) },
	[TF_DM_ENABLED] = { "deadline_miss.enabled", TK_BOOL, 0, 1, 1, TUN(dm_enabled) },
	[TF_DM_THRESHOLD] = { "deadline_miss.threshold", TK_UINT, 1, 64, 3, TUN(dm_threshold) },
	[TF_DM_MIN_BOOST] = { "deadline_miss.min_boost", TK_UINT, 0, GAMER_BOOST_MAX, 3,
			      TUN(dm_min_boost) },
	[TF_DM_RECOVER] = { "deadline_miss.recover", TK_UINT, 0, 1024, 16, TUN(dm_recover) },
	[TF_INH_ENABLED] = { "inheritance.enabled", TK_BOOL, 0, 1, 1, TUN(inh_enabled) },
	[TF_INH_MAX_BOOST] = { "inheritance.max_boost", TK_UINT, 0, GAMER_BOOST_MAX, 7,
			       TUN(inh_max_boost) },
	[TF_INH_DURATION] = { "inheritance.duration", TK_DURATION, 10 * USEC, SEC,
			      20 * MSEC, TUN(inh_duration_ns) },
	[TF_RM_ENABLED] = { "rate_monotonic.enabled", TK_BOOL, 0, 1, 1, TUN(rm_enabled) },
	[TF_RM_PERIOD] = { "rate_monotonic.period", TK_DURATION, 100 * USEC, SEC, 10 * MSEC,
			   TUN(rm_period_ns) },
	[TF_RM_BELOW_BOOST] = { "rate_monotonic.below_boost", TK_UINT, 0, 8, 2,
				TUN(rm_below_boost) },
	[TF_NUMA] = { "numa", TK_BOOL, 0, 1, 0, TUN(numa) },
	[TF_PREEMPT] = { "preempt", TK_BOOL, 0, 1, 1, TUN(preempt) },
	ROLE_ROW(INPUT, "input", 7),
	ROLE_ROW(RENDER, "render", 6),
	ROLE_ROW(GPU, "gpu", 6),
	ROLE_ROW(COMPOSITOR, "compositor", 5),
	ROLE_ROW(AUDIO, "audio", 5),
	ROLE_ROW(GAME, "game", 3),
	ROLE_ROW(NETWORK, "network", 2),
	ROLE_ROW(BACKGROUND, "background", 0),
};

_Static_assert(TF_COUNT <= 32, "tunables_block.set holds one bit per field");

static const char *const role_names[GAMER_ROLE_COUNT] = { GAMER_ROLES(GAMER_ROLE_NAME) };

static const char *const log_level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

const char *tunable_field_path(enum tunable_field f)
{
	return (unsigned int)f < TF_COUNT ? tunable_defs[f].path : NULL;
}

const char *role_name(enum gamer_role r)
{
	return (unsigned int)r < GAMER_ROLE_COUNT ? role_names[r] : NULL;
}

static void tun_store(struct gamer_tunables *t, const struct tunable_def *def, uint64_t v)
{
	unsigned char *p = (unsigned char *)t + def->off;

	/* Ranges in the table fit their field, so nothing is cut here. */
	switch (def->size) {
	case 1: {
		uint8_t x = (uint8_t)v;
		memcpy(p, &x, 1);
		break;
	}
	case 2: {
		uint16_t x = (uint16_t)v;
		memcpy(p, &x, 2);
		break;
	}
	default:
		memcpy(p, &v, 8);
		break;
	}
}

static void tun_copy(struct gamer_tunables *dst, const struct gamer_tunables *src,
		     enum tunable_field f)
{
	const struct tunable_def *def = &tunable_defs[f];

	memcpy((unsigned char *)dst + def->off, (const unsigned char *)src + def->off, def->size);
}

void tunables_builtin(struct gamer_tunables *t)
{
	memset(t, 0, sizeof(*t));
	for (int f = 0; f < TF_COUNT; f++)
		tun_store(t, &tunable_defs[f], tunable_defs[f].dflt);
}

void tunables_apply(struct gamer_tunables *dst, const struct tunables_block *b)
{
	for (int f = 0; f < TF_COUNT; f++)
		if (b->set & (1u << f))
			tun_copy(dst, &b->v, (enum tunable_field)f);
}

enum tunable_kind tunable_field_kind(enum tunable_field f)
{
	return (unsigned int)f < TF_COUNT ? tunable_defs[f].type : TK_UINT;
}

uint64_t tunable_get(const struct gamer_tunables *t, enum tunable_field f)
{
	const unsigned char *p;

	if ((unsigned int)f >= TF_COUNT)
		return 0;
	p = (const unsigned char *)t + tunable_defs[f].off;
	switch (tunable_defs[f].size) {
	case 1: {
		uint8_t x;

		memcpy(&x, p, 1);
		return x;
	}
	case 2: {
		uint16_t x;

		memcpy(&x, p, 2);
		return x;
	}
	default: {
		uint64_t x;

		memcpy(&x, p, 8);
		return x;
	}
	}
}

/*
 * The largest unit that keeps the number at 1 or more, with an exact decimal
 * fraction: 1500000 is "1.5ms", which reads back as the same value.
 */
static void format_duration(uint64_t ns, char *buf, size_t len)
{
	static const struct {
		const char *name;
		uint64_t ns;
		int digits;
	} units[] = { { "s", SEC, 9 }, { "ms", MSEC, 6 }, { "us", USEC, 3 } };
	char frac[16];

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		uint64_t whole = ns / units[i].ns, rest = ns % units[i].ns;
		int digits = units[i].digits;

		if (!whole)
			continue;
		if (!rest) {
			snprintf(buf, len, "%" PRIu64 "%s", whole, units[i].name);
			return;
		}
		while (rest % 10 == 0) {
			rest /= 10;
			digits--;
		}
		snprintf(frac, sizeof(frac), "%0*" PRIu64, digits, rest);
		snprintf(buf, len, "%" PRIu64 ".%s%s", whole, frac, units[i].name);
		return;
	}
	snprintf(buf, len, "%" PRIu64 "ns", ns);
}

void tunable_format(const struct gamer_tunables *t, enum tunable_field f, char *buf, size_t len)
{
	uint64_t v = tunable_get(t, f);

	if (!len)
		return;
	switch (tunable_field_kind(f)) {
	case TK_DURATION:
		format_duration(v, buf, len);
		break;
	case TK_BOOL:
		snprintf(buf, len, "%s", v ? "true" : "false");
		break;
	default:
		snprintf(buf, len, "%" PRIu64, v);
		break;
	}
}

/* ---- messages ------------------------------------------------------------------ */

struct ctx {
	const char *file;
	struct diags *d;
};

static __attribute__((format(printf, 5, 6))) void
report(struct ctx *c, enum diag_severity sev, unsigned int line, unsigned int col,
       const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0) {
		diags_add(c->d, sev, c->file, line, col, "out of memory while reporting a problem");
		return;
	}
	diags_add(c->d, sev, c->file, line, col, "%s", msg);
	free(msg);
}

#define cerr(c, line, col, ...) report(c, DIAG_ERROR, line, col, __VA_ARGS__)
#define nerr(c, n, ...) report(c, DIAG_ERROR, (n)->line, (n)->col, __VA_ARGS__)
#define nwarn(c, n, ...) report(c, DIAG_WARNING, (n)->line, (n)->col, __VA_ARGS__)
#define oom(c) report(c, DIAG_ERROR, 0, 0, "out of memory")

/* Messages for one file come out in file order, whichever pass found them. */
static void sort_diags(struct diags *d, size_t from)
{
	for (size_t i = from + 1; i < d->n; i++) {
		struct diag g = d->v[i];
		size_t j = i;

		while (j > from && (d->v[j - 1].line > g.line ||
				    (d->v[j - 1].line == g.line && d->v[j - 1].col > g.col))) {
			d->v[j] = d->v[j - 1];
			j--;
		}
		d->v[j] = g;
	}
}

/* Optimal string alignment distance: a swap of two letters counts as one edit. */
static unsigned int edit_distance(const char *a, const char *b)
{
	unsigned int m[SUGGEST_MAX + 1][SUGGEST_MAX + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la > SUGGEST_MAX || lb > SUGGEST_MAX)
		return UINT_MAX;
	for (size_t i = 0; i <= la; i++)
		m[i][0] = (unsigned int)i;
	for (size_t j = 0; j <= lb; j++)
		m[0][j] = (unsigned int)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned int v = m[i - 1][j - 1] + (a[i - 1] != b[j - 1]);

			if (m[i - 1][j] + 1 < v)
				v = m[i - 1][j] + 1;
			if (m[i][j - 1] + 1 < v)
				v = m[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    m[i - 2][j - 2] + 1 < v)
				v = m[i - 2][j - 2] + 1;
			m[i][j] = v;
		}
	}
	return m[la][lb];
}

/*
 * The candidate a typo most likely meant: at most two edits, or a third of
 * the word for long ones, and never a rewrite of the whole word.
 */
static const char *suggest(const char *word, const char *const *cand, size_t n)
{
	const char *best = NULL;
	unsigned int best_d = UINT_MAX;
	size_t len = strlen(word);

	for (size_t i = 0; i < n; i++) {
		unsigned int dist = edit_distance(word, cand[i]);

		if (dist < best_d) {
			best_d = dist;
			best = cand[i];
		}
	}
	if (!best || best_d >= len || (best_d > 2 && 3 * (size_t)best_d > len))
		return NULL;
	return best;
}

/* "a, b, c" into buf. */
static void join_names(char *buf, size_t sz, const char *const *names, size_t n)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < sz; i++) {
		int r = snprintf(buf + used, sz - used, "%s%s", i ? ", " : "", names[i]);

		if (r < 0)
			break;
		used += (size_t)r;
	}
}

/* is_key: path is the unknown key itself; otherwise the key whose value is unknown. */
static void unknown_word(struct ctx *c, unsigned int line, unsigned int col, bool is_key,
			 const char *path, const char *what, const char *word,
			 const char *const *cand, size_t n, const char *valid_what)
{
	char list[512], head[PATH_LEN + 96];
	const char *s = suggest(word, cand, n);

	join_names(list, sizeof(list), cand, n);
	if (is_key)
		snprintf(head, sizeof(head), "unknown key '%s'", path);
	else
		snprintf(head, sizeof(head), "%s: unknown %s '%.40s'", path, what, word);
	if (s)
		cerr(c, line, col, "%s; did you mean '%s'? (%s: %s)", head, s, valid_what, list);
	else
		cerr(c, line, col, "%s; %s: %s", head, valid_what, list);
}

/* Paths in messages are cut at PATH_LEN: a key that long is a typo anyway. */
static __attribute__((format(printf, 2, 3))) void path_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, PATH_LEN, fmt, ap);
	va_end(ap);
}

static void path_join(char *buf, const char *prefix, const char *key)
{
	if (!*key)
		path_fmt(buf, "%s", prefix);
	else if (*prefix)
		path_fmt(buf, "%s.%s", prefix, key);
	else
		path_fmt(buf, "%s", key);
}

/* ---- the YAML tree --------------------------------------------------------------- */

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

static struct node *node_new(enum node_kind kind, const yaml_mark_t *m)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n) {
		n->kind = kind;
		n->line = (unsigned int)m->line + 1;
		n->col = (unsigned int)m->column + 1;
	}
	return n;
}

static void node_free(struct node *n)
{
	if (!n)
		return;
	/* Recursion is bounded by CONFIG_MAX_DEPTH. */
	for (size_t i = 0; i < n->n; i++)
		node_free(n->kid[i]);
	free(n->kid);
	free(n->str);
	free(n);
}

static int node_push(struct node *parent, struct node *kid)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? 2 * parent->cap : 8;
		struct node **v = realloc(parent->kid, cap * sizeof(*v));

		if (!v)
			return -1;
		parent->kid = v;
		parent->cap = cap;
	}
	parent->kid[parent->n++] = kid;
	return 0;
}

static const char *kind_name(const struct node *n)
{
	switch (n->kind) {
	case N_MAP:
		return "a mapping";
	case N_SEQ:
		return "a sequence";
	default:
		return "a single value";
	}
}

/*
 * Line and column of a byte offset, for problems libyaml reports as an offset
 * (its reader errors) or that it never sees (a NUL byte). Columns count
 * characters like libyaml's marks do, not bytes.
 */
static void offset_pos(const char *buf, size_t len, size_t off, unsigned int *line,
		       unsigned int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if (ch == '\n') {
			(*line)++;
			*col = 1;
		} else if ((ch & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static void yaml_problem(struct ctx *c, const yaml_parser_t *p, const char *buf, size_t len)
{
	unsigned int line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		oom(c);
		break;
	case YAML_READER_ERROR:
		offset_pos(buf, len, p->problem_offset, &line, &col);
		cerr(c, line, col, "invalid text: %s (the file must be UTF-8)",
		     p->problem ? p->problem : "unreadable input");
		break;
	default:
		line = (unsigned int)p->problem_mark.line + 1;
		col = (unsigned int)p->problem_mark.column + 1;
		if (p->context)
			cerr(c, line, col, "YAML syntax error: %s (%s at line %u column %u)",
			     p->problem ? p->problem : "unknown problem", p->context,
			     (unsigned int)p->context_mark.line + 1,
			     (unsigned int)p->context_mark.column + 1);
		else
			cerr(c, line, col, "YAML syntax error: %s",
			     p->problem ? p->problem : "unknown problem");
		break;
	}
}

/* Returns true when the event carries an anchor or a tag (now reported). */
static bool refuse_extras(struct ctx *c, const yaml_mark_t *m, const yaml_char_t *anchor,
			  const yaml_char_t *tag)
{
	if (!anchor && !tag)
		return false;
	cerr(c, (unsigned int)m->line + 1, (unsigned int)m->column + 1,
	     "%s '%s%s': anchors, aliases and tags are not supported", anchor ? "anchor" : "tag",
	     anchor ? "&" : "", anchor ? (const char *)anchor : (const char *)tag);
	return true;
}

/*
 * The document as a tree, or NULL for an empty file. *fatal is set when the
 * tree is unusable (syntax, size, depth, several documents, no memory).
 */
static struct node *load_tree(struct ctx *c, const char *buf, size_t len, bool *fatal)
{
	struct node *stack[CONFIG_MAX_DEPTH];
	struct node *root = NULL;
	size_t depth = 0;
	int docs = 0;
	bool done = false;
	yaml_parser_t p;
	const char *nul;

	*fatal = true;
	if (len > CONFIG_MAX_FILE_SIZE) {
		cerr(c, 0, 0, "file is larger than %d bytes, the limit for a configuration file",
		     CONFIG_MAX_FILE_SIZE);
		return NULL;
	}
	/* libyaml would stop at a NUL as if the file ended there. */
	nul = memchr(buf, '\0', len);
	if (nul) {
		unsigned int line, col;

		offset_pos(buf, len, (size_t)(nul - buf), &line, &col);
		cerr(c, line, col, "NUL byte in the file (it must be UTF-8 text)");
		return NULL;
	}
	/*
	 * A UTF-8 byte-order mark (some editors write one): YAML allows it, but
	 * libyaml skips it only while detecting the encoding, which we fix.
	 */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	if (!yaml_parser_initialize(&p)) {
		oom(c);
		return NULL;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);

	while (!done) {
		yaml_event_t ev;
		struct node *n = NULL;
		bool push = false;

		if (!yaml_parser_parse(&p, &ev)) {
			yaml_problem(c, &p, buf, len);
			goto fail;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				cerr(c, (unsigned int)ev.start_mark.line + 1,
				     (unsigned int)ev.start_mark.column + 1,
				     "more than one YAML document; a configuration file holds one");
				yaml_event_delete(&ev);
				goto fail;
			}
			break;
		case YAML_ALIAS_EVENT:
			cerr(c, (unsigned int)ev.start_mark.line + 1,
			     (unsigned int)ev.start_mark.column + 1,
			     "alias '*%s': anchors, aliases and tags are not supported",
			     (const char *)ev.data.alias.anchor);
			n = node_new(N_BAD, &ev.start_mark);
			break;
		case YAML_SCALAR_EVENT:
			n = node_new(N_SCALAR, &ev.start_mark);
			if (!n)
				break;
			n->str = malloc(ev.data.scalar.length + 1);
			if (!n->str) {
				node_free(n);
				n = NULL;
				break;
			}
			memcpy(n->str, ev.data.scalar.value, ev.data.scalar.length);
			n->str[ev.data.scalar.length] = '\0';
			n->len = ev.data.scalar.length;
			if (refuse_extras(c, &ev.start_mark, ev.data.scalar.anchor,
					  ev.data.scalar.tag))
				n->kind = N_BAD;
			/* An escape ("\0") can still make one; C strings would cut there. */
			if (memchr(n->str, '\0', n->len)) {
				cerr(c, (unsigned int)ev.start_mark.line + 1,
				     (unsigned int)ev.start_mark.column + 1,
				     "NUL character (\\0) in a value or key; the file must be text");
				n->kind = N_BAD;
			}
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			/* libyaml itself has no depth limit. */
			if (depth == CONFIG_MAX_DEPTH) {
				cerr(c, (unsigned int)ev.start_mark.line + 1,
				     (unsigned int)ev.start_mark.column + 1,
				     "nesting is deeper than %d levels", CONFIG_MAX_DEPTH);
				yaml_event_delete(&ev);
				goto fail;
			}
			if (ev.type == YAML_SEQUENCE_START_EVENT) {
				n = node_new(N_SEQ, &ev.start_mark);
				refuse_extras(c, &ev.start_mark, ev.data.sequence_start.anchor,
					      ev.data.sequence_start.tag);
			} else {
				n = node_new(N_MAP, &ev.start_mark);
				refuse_extras(c, &ev.start_mark, ev.data.mapping_start.anchor,
					      ev.data.mapping_start.tag);
			}
			push = true;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		default:
			break;
		}
		if (ev.type == YAML_ALIAS_EVENT || ev.type == YAML_SCALAR_EVENT ||
		    ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
			yaml_event_delete(&ev);
			if (!n) {
				oom(c);
				goto fail;
			}
			if (depth == 0) {
				root = n;
			} else if (node_push(stack[depth - 1], n)) {
				node_free(n);
				oom(c);
				goto fail;
			}
			if (push)
				stack[depth++] = n;
		} else {
			yaml_event_delete(&ev);
		}
	}
	yaml_parser_delete(&p);
	*fatal = false;
	return root;

fail:
	yaml_parser_delete(&p);
	node_free(root);
	return NULL;
}

/* ---- values ------------------------------------------------------------------------ */

/* A scalar to read, or false (reported unless the node was reported before). */
static bool want_scalar(struct ctx *c, const struct node *n, const char *path, const char *what)
{
	if (n->kind == N_BAD)
		return false;
	if (n->kind != N_SCALAR) {
		nerr(c, n, "%s: expected %s, got %s", path, what, kind_name(n));
		return false;
	}
	return true;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

enum num_status {
	NUM_OK,
	NUM_EMPTY,
	NUM_SYNTAX,
	NUM_NEGATIVE,
	NUM_NO_UNIT,
	NUM_BAD_UNIT,
	NUM_FRACTION, /* not a whole number of nanoseconds */
	NUM_LEADING_ZERO,
	NUM_RANGE, /* too big for 64 bits */
};

/* Decimal digits only; anything else (sign, 0x, exponent) is a syntax error. */
static enum num_status scan_uint(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	bool overflow = false;
	const char *p;

	if (!*s)
		return NUM_EMPTY;
	if (*s == '-')
		return NUM_NEGATIVE;
	for (p = s; is_digit(*p); p++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			overflow = true;
	}
	if (p == s || *p)
		return NUM_SYNTAX;
	if (s[0] == '0' && s[1])
		return NUM_LEADING_ZERO;
	if (overflow)
		return NUM_RANGE;
	*out = v;
	return NUM_OK;
}

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{ "ns", NSEC },
	{ "us", USEC },
	{ "ms", MSEC },
	{ "s", SEC },
};

/*
 * DIGITS[.DIGITS]UNIT in whole nanoseconds. The fraction is kept as an
 * integer over a power of ten, so "1.5ms" is exact and no float is involved.
 */
static enum num_status scan_duration(const char *s, uint64_t *out)
{
	uint64_t ip = 0, frac = 0, fdiv = 1, mult = 0, v, fns;
	bool overflow = false, fine = false;
	const char *p = s, *unit;

	if (!*s)
		return NUM_EMPTY;
	if (*s == '-')
		return NUM_NEGATIVE;
	for (; is_digit(*p); p++) {
		if (__builtin_mul_overflow(ip, 10, &ip) ||
		    __builtin_add_overflow(ip, (uint64_t)(*p - '0'), &ip))
			overflow = true;
	}
	if (p == s)
		return NUM_SYNTAX;
	if (*p == '.') {
		const char *f = ++p;

		for (; is_digit(*p); p++) {
			/* Nine digits reach 1ns of a second; finer ones must be 0. */
			if (p - f < 9) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				fdiv *= 10;
			} else if (*p != '0') {
				fine = true;
			}
		}
		if (p == f)
			return NUM_SYNTAX;
	}
	if (!*p)
		return NUM_NO_UNIT;
	unit = p;
	for (size_t i = 0; i < ARRAY_SIZE(duration_units); i++)
		if (!strcmp(unit, duration_units[i].name))
			mult = duration_units[i].ns;
	if (!mult) {
		for (; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
				return NUM_SYNTAX;
		return NUM_BAD_UNIT;
	}
	if (overflow || __builtin_mul_overflow(ip, mult, &v))
		return NUM_RANGE;
	/* frac < 10^9 and mult <= 10^9: the product fits in 64 bits. */
	if (fine || (frac * mult) % fdiv)
		return NUM_FRACTION;
	fns = frac * mult / fdiv;
	if (__builtin_add_overflow(v, fns, &v))
		return NUM_RANGE;
	*out = v;
	return NUM_OK;
}

static bool get_uint(struct ctx *c, const struct node *n, const char *path, uint64_t min,
		     uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!want_scalar(c, n, path, "a whole number"))
		return false;
	switch (scan_uint(n->str, &v)) {
	case NUM_OK:
		if (v >= min && v <= max)
			break;
		/* fall through */
	case NUM_RANGE:
		nerr(c, n, "%s: %.40s is out of range (allowed: %" PRIu64 "..%" PRIu64 ")", path,
		     n->str, min, max);
		return false;
	case NUM_EMPTY:
		nerr(c, n, "%s: missing value; expected a whole number in %" PRIu64 "..%" PRIu64,
		     path, min, max);
		return false;
	case NUM_LEADING_ZERO:
		nerr(c, n, "%s: '%.40s' has a leading zero; write decimal numbers without one "
			   "(allowed: %" PRIu64 "..%" PRIu64 ")",
		     path, n->str, min, max);
		return false;
	default:
		nerr(c, n, "%s: expected a whole number in %" PRIu64 "..%" PRIu64 ", got '%.40s'",
		     path, min, max, n->str);
		return false;
	}
	*out = v;
	return true;
}

static bool get_duration(struct ctx *c, const struct node *n, const char *path, uint64_t min,
			 uint64_t max, uint64_t *out)
{
	char lo[32], hi[32];
	uint64_t v = 0;

	format_duration(min, lo, sizeof(lo));
	format_duration(max, hi, sizeof(hi));
	if (!want_scalar(c, n, path, "a duration such as 2ms"))
		return false;
	switch (scan_duration(n->str, &v)) {
	case NUM_OK:
		if (v >= min && v <= max)
			break;
		/* fall through */
	case NUM_RANGE:
		nerr(c, n, "%s: %.40s is out of range (allowed: %s..%s)", path, n->str, lo, hi);
		return false;
	case NUM_EMPTY:
		nerr(c, n, "%s: missing value; expected a duration in %s..%s", path, lo, hi);
		return false;
	case NUM_NEGATIVE:
		nerr(c, n, "%s: %.40s is negative (allowed: %s..%s)", path, n->str, lo, hi);
		return false;
	case NUM_NO_UNIT:
		nerr(c, n, "%s: '%.40s' needs a unit: ns, us, ms or s (allowed: %s..%s)", path,
		     n->str, lo, hi);
		return false;
	case NUM_BAD_UNIT:
		nerr(c, n, "%s: unknown unit in '%.40s'; use ns, us, ms or s", path, n->str);
		return false;
	case NUM_FRACTION:
		nerr(c, n, "%s: %.40s is not a whole number of nanoseconds", path, n->str);
		return false;
	default:
		nerr(c, n, "%s: expected a duration with a unit (ns, us, ms, s) such as 2ms, "
			   "got '%.40s'",
		     path, n->str);
		return false;
	}
	*out = v;
	return true;
}

static bool get_bool(struct ctx *c, const struct node *n, const char *path, uint64_t *out)
{
	if (!want_scalar(c, n, path, "true or false"))
		return false;
	/* Exactly two spellings: YAML 1.1's yes/on/y would surprise someone. */
	if (!strcmp(n->str, "true"))
		*out = 1;
	else if (!strcmp(n->str, "false"))
		*out = 0;
	else {
		nerr(c, n, "%s: expected true or false, got '%.40s'", path, n->str);
		return false;
	}
	return true;
}

/* A non-empty string, newly allocated; NULL when reported or out of memory. */
static char *get_string(struct ctx *c, const struct node *n, const char *path)
{
	char *s;

	if (!want_scalar(c, n, path, "a string"))
		return NULL;
	if (!n->len) {
		nerr(c, n, "%s: expected a non-empty string", path);
		return NULL;
	}
	s = strdup(n->str);
	if (!s)
		oom(c);
	return s;
}

static bool has_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* comm and thread names: a literal longer than the kernel keeps cannot match. */
static void check_comm(struct ctx *c, const struct node *n, const char *path, const char *s)
{
	if (!has_glob(s) && strlen(s) > COMM_MAX)
		nwarn(c, n,
		      "%s: '%.40s' is longer than %d characters, the most the kernel keeps in "
		      "comm, so it never matches",
		      path, s, COMM_MAX);
}

static bool get_role(struct ctx *c, const struct node *n, const char *path, enum gamer_role *out)
{
	if (!want_scalar(c, n, path, "a role"))
		return false;
	for (int r = 0; r < GAMER_ROLE_COUNT; r++) {
		if (!strcmp(n->str, role_names[r])) {
			*out = (enum gamer_role)r;
			return true;
		}
	}
	unknown_word(c, n->line, n->col, false, path, "role", n->str, role_names,
		     GAMER_ROLE_COUNT, "valid roles");
	return false;
}

/*
 * Whether the pair at map->kid[i] is worth reading: its key is a string and
 * not a repeat. A repeated key is an error at the repeat (the first wins).
 */
static bool key_ok(struct ctx *c, const struct node *map, size_t i, const char *where)
{
	const struct node *key = map->kid[i];
	char path[PATH_LEN];

	if (key->kind == N_BAD)
		return false;
	if (key->kind != N_SCALAR) {
		nerr(c, key, "%s%skeys must be plain strings, not %s", where, *where ? ": " : "",
		     kind_name(key));
		return false;
	}
	for (size_t j = 0; j < i; j += 2) {
		const struct node *k = map->kid[j];

		if (k->kind == N_SCALAR && k->len == key->len && !memcmp(k->str, key->str, k->len)) {
			path_join(path, where, key->str);
			nerr(c, key, "duplicate key '%s' (first set at line %u)", path, k->line);
			return false;
		}
	}
	return true;
}

/* ---- tunables blocks ------------------------------------------------------------------ */

static int tunable_find(const char *path)
{
	for (int f = 0; f < TF_COUNT; f++)
		if (!strcmp(tunable_defs[f].path, path))
			return f;
	return -1;
}

static bool tunable_is_group(const char *path)
{
	size_t len = strlen(path);

	for (int f = 0; f < TF_COUNT; f++)
		if (!strncmp(tunable_defs[f].path, path, len) && tunable_defs[f].path[len] == '.')
			return true;
	return false;
}

/* The keys valid right under `prefix` ("" = the block itself), in table order. */
static size_t tunable_keys_at(const char *prefix, const char **out, char store[][PATH_LEN],
			      size_t max)
{
	size_t plen = strlen(prefix), n = 0;

	for (int f = 0; f < TF_COUNT && n < max; f++) {
		const char *p = tunable_defs[f].path, *seg, *dot;
		size_t seglen;
		bool dup = false;

		if (plen && (strncmp(p, prefix, plen) || p[plen] != '.'))
			continue;
		seg = plen ? p + plen + 1 : p;
		dot = strchr(seg, '.');
		seglen = dot ? (size_t)(dot - seg) : strlen(seg);
		for (size_t i = 0; i < n; i++)
			if (strlen(out[i]) == seglen && !strncmp(out[i], seg, seglen))
				dup = true;
		if (dup)
			continue;
		snprintf(store[n], PATH_LEN, "%.*s", (int)seglen, seg);
		out[n] = store[n];
		n++;
	}
	return n;
}

static void set_tunable(struct ctx *c, const struct node *key, const struct node *val,
			const char *path, int f, struct tunables_block *tb)
{
	const struct tunable_def *def = &tunable_defs[f];
	uint64_t v = 0;
	bool ok;

	switch (def->type) {
	case TK_DURATION:
		ok = get_duration(c, val, path, def->min, def->max, &v);
		break;
	case TK_UINT:
		ok = get_uint(c, val, path, def->min, def->max, &v);
		break;
	default:
		ok = get_bool(c, val, path, &v);
		break;
	}
	if (!ok)
		return;
	tun_store(&tb->v, def, v);
	tb->set |= 1u << f;
	tb->pos[f].line = key->line;
	tb->pos[f].col = key->col;
}

/*
 * One level of a tunables block. outer is where the block sits ("tunables",
 * "defaults"), prefix the group inside it ("" or "deadline_miss").
 */
static void walk_tunables(struct ctx *c, const struct node *map, const char *outer,
			  const char *prefix, struct tunables_block *tb)
{
	char where[PATH_LEN];

	path_join(where, outer, prefix);
	if (map->kind == N_BAD)
		return;
	if (map->kind != N_MAP) {
		nerr(c, map, "%s: expected a mapping of keys, got %s", where, kind_name(map));
		return;
	}
	for (size_t i = 0; i < map->n; i += 2) {
		const struct node *key = map->kid[i], *val = map->kid[i + 1];
		char sub[PATH_LEN], path[PATH_LEN];
		bool plain;
		int f;

		if (!key_ok(c, map, i, where))
			continue;
		path_join(sub, prefix, key->str);
		path_join(path, where, key->str);
		/* One name per level: "a.b" or "" must not reach into the dotted paths. */
		plain = *key->str && !strchr(key->str, '.');
		f = plain ? tunable_find(sub) : -1;
		if (f >= 0) {
			set_tunable(c, key, val, path, f, tb);
		} else if (plain && tunable_is_group(sub)) {
			walk_tunables(c, val, outer, sub, tb);
		} else {
			const char *cand[TF_COUNT];
			char store[TF_COUNT][PATH_LEN];
			size_t n = tunable_keys_at(prefix, cand, store, TF_COUNT);

			unknown_word(c, key->line, key->col, true, path, "key", key->str, cand, n,
				     "valid keys");
		}
	}
}

/* ---- document-level mappings ------------------------------------------------------------ */

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

struct field {
	const char *key;
	enum field_type type;
	uint64_t min, max;
	size_t off; /* in the structure the mapping fills */
	bool required;
	const char *expect; /* for "missing key" and wrong-type messages */
};

enum { DF_SCHEMA, DF_LOG_LEVEL, DF_DEFAULTS, DF_EXCLUDE, DF_GAME_USERS, DF_COUNT };
static const struct field daemon_fields[DF_COUNT] = {
	[DF_SCHEMA] = { "schema", F_SCHEMA, .required = true, .expect = "schema: 1" },
	[DF_LOG_LEVEL] = { "log_level", F_LOG_LEVEL, .off = offsetof(struct daemon_config, log_level) },
	[DF_DEFAULTS] = { "defaults", F_TUNABLES, .off = offsetof(struct daemon_config, defaults) },
	[DF_EXCLUDE] = { "exclude", F_EXCLUDE,
			 .expect = "a list of match entries (steam_app_id, comm, exe, cmdline, "
				   "wine_exe)" },
	[DF_GAME_USERS] = { "game_users", F_USERS, .expect = "a list of user names or uids" },
};

enum { PF_SCHEMA, PF_NAME, PF_PRIORITY, PF_EXTENDS, PF_MATCH, PF_TUNABLES, PF_THREADS, PF_COUNT };
static const struct field profile_fields[PF_COUNT] = {
	[PF_SCHEMA] = { "schema", F_SCHEMA, .required = true, .expect = "schema: 1" },
	[PF_NAME] = { "name", F_STRING, .off = offsetof(struct profile, name) },
	[PF_PRIORITY] = { "priority", F_INT, 0, 100, offsetof(struct profile, priority) },
	[PF_EXTENDS] = { "extends", F_STRING, .off = offsetof(struct profile, extends) },
	/* Optional: a profile without it is a base for `extends`. */
	[PF_MATCH] = { "match", F_MATCH,
		       .expect = "a list of match entries (steam_app_id, comm, exe, cmdline, "
				 "wine_exe)" },
	[PF_TUNABLES] = { "tunables", F_TUNABLES, .off = offsetof(struct profile, tunables) },
	[PF_THREADS] = { "threads", F_THREADS },
};

/* In the order of the MATCH_* bits. */
static const struct field match_fields[] = {
	{ "steam_app_id", F_U32, 1, UINT32_MAX, offsetof(struct match_entry, steam_app_id) },
	/* Compared with the full name too where the kernel truncated comm. */
	{ "comm", F_STRING, .off = offsetof(struct match_entry, comm) },
	{ "exe", F_STRING, .off = offsetof(struct match_entry, exe) },
	{ "cmdline", F_STRING, .off = offsetof(struct match_entry, cmdline) },
	{ "wine_exe", F_STRING, .off = offsetof(struct match_entry, wine_exe) },
};
_Static_assert(MATCH_WINE_EXE == 1 << 4 && MATCH_STEAM_APP_ID == 1,
	       "match_fields follows the MATCH_* bits");

static const struct field thread_fields[] = {
	{ "name", F_NAMES, .required = true, .expect = "a thread name or a list of names" },
	{ "role", F_ROLE, .off = offsetof(struct thread_rule, role), .required = true,
	  .expect = "a role" },
	{ "boost", F_INT, 0, GAMER_BOOST_MAX, offsetof(struct thread_rule, boost) },
};

static void walk_fields(struct ctx *c, const struct node *map, const char *where,
			const struct field *fields, size_t nf, void *base,
			const struct node **seen);

static void get_names(struct ctx *c, const struct node *val, const char *path,
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
			path_fmt(ipath, "%s[%zu]", path, i);
		else
			path_fmt(ipath, "%s", path);
		r->names[i] = get_string(c, item, ipath);
		if (r->names[i])
			check_comm(c, item, ipath, r->names[i]);
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
static void get_users(struct ctx *c, const struct node *val, const char *path,
		      struct daemon_config *dc)
{
	if (val->kind == N_BAD)
		return;
	if (val->kind != N_SEQ) {
		nerr(c, val, "%s: expected a list of user names or uids (- NAME), got %s", path,
		     kind_name(val));
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

		path_fmt(ipath, "%s[%zu]", path, i);
		if (!want_scalar(c, item, ipath, "a user name or a uid"))
			continue;
		/* All digits: a uid (so a name made only of digits cannot be given). */
		if (item->len && strspn(item->str, "0123456789") == item->len) {
			if (get_uint(c, item, ipath, 0, UINT32_MAX - 1, &v))
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
static void get_match_list(struct ctx *c, const struct node *val, const char *path,
			   struct match_entry **out, size_t *n_out, bool need_one)
{
	struct match_entry *list;

	if (val->kind == N_BAD)
		return;
	if (val->kind != N_SEQ) {
		nerr(c, val, "%s: expected a list of match entries (- comm: NAME), got %s", path,
		     kind_name(val));
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
		const struct node *seen[ARRAY_SIZE(match_fields)] = { 0 };
		struct match_entry *m = &list[i];
		char ipath[PATH_LEN];

		path_fmt(ipath, "%s[%zu]", path, i);
		m->pos.line = item->line;
		m->pos.col = item->col;
		walk_fields(c, item, ipath, match_fields, ARRAY_SIZE(match_fields), m, seen);
		for (size_t k = 0; k < ARRAY_SIZE(match_fields); k++)
			if (seen[k])
				m->keys |= 1u << k;
		if (item->kind == N_MAP && !item->n)
			nerr(c, item,
			     "%s: an empty entry; give at least one of steam_app_id, comm, exe, "
			     "cmdline, wine_exe",
			     ipath);
	}
}

static void get_threads(struct ctx *c, const struct node *val, const char *path,
			struct profile *p)
{
	if (val->kind == N_BAD)
		return;
	if (val->kind != N_SEQ) {
		nerr(c, val, "%s: expected a list of thread rules (- name: GLOB, role: ROLE), got %s",
		     path, kind_name(val));
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
		const struct node *seen[ARRAY_SIZE(thread_fields)] = { 0 };
		struct thread_rule *r = &p->threads[i];
		char ipath[PATH_LEN];

		path_fmt(ipath, "%s[%zu]", path, i);
		r->boost = -1;
		r->pos.line = item->line;
		r->pos.col = item->col;
		walk_fields(c, item, ipath, thread_fields, ARRAY_SIZE(thread_fields), r, seen);
	}
}

static void set_field(struct ctx *c, const struct field *fd, const struct node *val,
		      const char *path, void *base)
{
	char *where = (char *)base + fd->off;
	uint64_t v;

	switch (fd->type) {
	case F_SCHEMA:
		if (want_scalar(c, val, path, "1") && strcmp(val->str, "1"))
			nerr(c, val, "%s: unsupported schema '%.40s'; this scx_gamer reads schema 1",
			     path, val->str);
		break;
	case F_LOG_LEVEL:
		if (!want_scalar(c, val, path, "a log level"))
			break;
		for (size_t i = 0; i < ARRAY_SIZE(log_level_names); i++) {
			if (!strcmp(val->str, log_level_names[i])) {
				enum log_level l = (enum log_level)i;

				memcpy(where, &l, sizeof(l));
				return;
			}
		}
		unknown_word(c, val->line, val->col, false, path, "log level", val->str,
			     log_level_names, ARRAY_SIZE(log_level_names), "valid levels");
		break;
	case F_STRING:
	case F_COMM: {
		char *s = get_string(c, val, path), *old;

		if (!s)
			break;
		if (fd->type == F_COMM)
			check_comm(c, val, path, s);
		memcpy(&old, where, sizeof(old));
		free(old);
		memcpy(where, &s, sizeof(s));
		break;
	}
	case F_INT:
		if (get_uint(c, val, path, fd->min, fd->max, &v)) {
			int i = (int)v;

			memcpy(where, &i, sizeof(i));
		}
		break;
	case F_U32:
		if (get_uint(c, val, path, fd->min, fd->max, &v)) {
			uint32_t u = (uint32_t)v;

			memcpy(where, &u, sizeof(u));
		}
		break;
	case F_ROLE: {
		enum gamer_role r;

		if (get_role(c, val, path, &r))
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
static void walk_fields(struct ctx *c, const struct node *map, const char *where,
			const struct field *fields, size_t nf, void *base,
			const struct node **seen)
{
	const char *cand[16];

	if (map->kind == N_BAD)
		return;
	if (map->kind != N_MAP) {
		if (*where)
			nerr(c, map, "%s: expected a mapping of keys, got %s", where, kind_name(map));
		else
			nerr(c, map, "the top level must be a mapping of keys, not %s",
			     kind_name(map));
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
		path_join(path, where, key->str);
		for (f = 0; f < nf; f++)
			if (!strcmp(fields[f].key, key->str))
				break;
		if (f == nf) {
			unknown_word(c, key->line, key->col, true, path, "key", key->str, cand,
				     nf < ARRAY_SIZE(cand) ? nf : ARRAY_SIZE(cand), "valid keys");
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

/* ---- files ------------------------------------------------------------------------------ */

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
	struct ctx c = { .file = path, .d = d };
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
	root = load_tree(&c, buf, len, &fatal);
	if (!fatal)
		walk_fields(&c, root ? root : &empty_map, "", daemon_fields, DF_COUNT, &dc, seen);
	node_free(root);
	sort_diags(d, first);
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
	struct ctx c = { .file = path, .d = d };
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
	root = load_tree(&c, buf, len, &fatal);
	if (!fatal)
		walk_fields(&c, root ? root : &empty_map, "", profile_fields, PF_COUNT, &p, seen);
	if (seen[PF_EXTENDS]) {
		p.extends_pos.line = seen[PF_EXTENDS]->line;
		p.extends_pos.col = seen[PF_EXTENDS]->col;
		if (p.extends && !strcmp(p.extends, id))
			cerr(&c, p.extends_pos.line, p.extends_pos.col,
			     "extends: profile '%s' cannot extend itself", id);
	}
	node_free(root);
	if (!p.name) {
		p.name = strdup(id);
		if (!p.name)
			oom(&c);
	}
	tunables_builtin(&p.effective);
	sort_diags(d, first);
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

/* ---- layering ---------------------------------------------------------------------------- */

int config_find_profile(const struct config_set *c, const char *id)
{
	for (size_t i = 0; i < c->n_profiles; i++)
		if (!strcmp(c->profiles[i].id, id))
			return (int)i;
	return -1;
}

static int cmp_profile_id(const void *a, const void *b)
{
	return strcmp(((const struct profile *)a)->id, ((const struct profile *)b)->id);
}

static void layer(struct profile *p, const struct tunables_block *b, int16_t who)
{
	for (int f = 0; f < TF_COUNT; f++) {
		if (b->set & (1u << f)) {
			tun_copy(&p->effective, &b->v, (enum tunable_field)f);
			p->origin[f] = who;
		}
	}
}

enum chain_state { CH_UNSEEN, CH_ACTIVE, CH_GOOD, CH_BAD };

static void extends_error(struct diags *d, const struct profile *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void extends_error(struct diags *d, const struct profile *p, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	diags_add(d, DIAG_ERROR, p->path, p->extends_pos.line, p->extends_pos.col, "%s",
		  msg ? msg : "extends: invalid (out of memory while describing why)");
	free(msg);
}

/*
 * "b -> c -> a -> b": the cycle chain[from..n) (each extends the next, the
 * last extends chain[from]) told from chain[start].
 */
static char *cycle_text(const struct config_set *c, const size_t *chain, size_t from, size_t n,
			size_t start)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	for (size_t k = 0; k < n - from; k++)
		fprintf(f, "%s -> ", c->profiles[chain[from + (start - from + k) % (n - from)]].id);
	fprintf(f, "%s", c->profiles[chain[start]].id);
	if (fclose(f)) {
		free(s);
		return NULL;
	}
	return s;
}

/*
 * Follow every extends chain once. A profile is bad when its extends names
 * nothing, closes a cycle, or leads to a bad profile; each bad profile gets
 * its own message at its own extends key, so every file left out says why.
 */
static void check_chains(struct config_set *c, enum chain_state *st, size_t *chain,
			 struct diags *d)
{
	for (size_t i = 0; i < c->n_profiles; i++) {
		size_t n = 0, cur = i;
		bool good;

		if (st[i] != CH_UNSEEN)
			continue;
		chain[n++] = i;
		st[i] = CH_ACTIVE;
		for (;;) {
			const struct profile *p = &c->profiles[cur];
			int j;

			if (!p->extends) {
				good = true;
				break;
			}
			j = config_find_profile(c, p->extends);
			if (j < 0) {
				extends_error(d, p, "extends: unknown profile '%s'", p->extends);
				st[cur] = CH_BAD;
				n--;
				good = false;
				break;
			}
			if (st[j] == CH_GOOD || st[j] == CH_BAD) {
				good = st[j] == CH_GOOD;
				break;
			}
			if (st[j] == CH_ACTIVE) {
				size_t from = 0;

				while (chain[from] != (size_t)j)
					from++;
				for (size_t k = from; k < n; k++) {
					/* Each member's file shows the cycle from itself. */
					char *text = cycle_text(c, chain, from, n, k);

					extends_error(d, &c->profiles[chain[k]], "extends: cycle %s",
						      text ? text : "(out of memory)");
					free(text);
					st[chain[k]] = CH_BAD;
				}
				n = from;
				good = false;
				break;
			}
			chain[n++] = (size_t)j;
			st[j] = CH_ACTIVE;
			cur = (size_t)j;
		}
		/* What is left on the chain extends the profile where the walk stopped. */
		for (size_t k = n; k-- > 0;) {
			const struct profile *p = &c->profiles[chain[k]];

			st[chain[k]] = good ? CH_GOOD : CH_BAD;
			if (!good)
				extends_error(d, p,
					      "extends: profile '%s' is left out because of errors "
					      "in its extends chain",
					      p->extends);
		}
	}
}

static bool glob_overlap(const char *a, const char *b, bool casefold)
{
	int flags = casefold ? FNM_CASEFOLD : 0;

	if (casefold ? !strcasecmp(a, b) : !strcmp(a, b))
		return true;
	return !fnmatch(a, b, flags) || !fnmatch(b, a, flags);
}

/*
 * Whether two entries can match one process. Deliberately simple (and
 * documented): same set of keys, and each pair of values equal or one a glob
 * matching the other.
 */
static bool entries_overlap(const struct match_entry *x, const struct match_entry *y)
{
	if (x->keys != y->keys)
		return false;
	if ((x->keys & MATCH_STEAM_APP_ID) && x->steam_app_id != y->steam_app_id)
		return false;
	if ((x->keys & MATCH_COMM) && !glob_overlap(x->comm, y->comm, false))
		return false;
	if ((x->keys & MATCH_EXE) && !glob_overlap(x->exe, y->exe, false))
		return false;
	if ((x->keys & MATCH_CMDLINE) && !glob_overlap(x->cmdline, y->cmdline, false))
		return false;
	if ((x->keys & MATCH_WINE_EXE) && !glob_overlap(x->wine_exe, y->wine_exe, true))
		return false;
	return true;
}

/* A profile with no match entries applies to nothing unless another extends it. */
static void warn_unused_bases(const struct config_set *c, struct diags *d)
{
	for (size_t i = 0; i < c->n_profiles; i++) {
		const struct profile *p = &c->profiles[i];
		bool used = false;

		if (p->n_match)
			continue;
		for (size_t j = 0; j < c->n_profiles && !used; j++)
			used = c->profiles[j].extends && !strcmp(c->profiles[j].extends, p->id);
		if (!used)
			diags_add(d, DIAG_WARNING, p->path, 0, 0,
				  "profile '%s' has no match entries and no profile extends it: it "
				  "applies to no process",
				  p->id);
	}
}

static void warn_overlaps(const struct config_set *c, struct diags *d)
{
	for (size_t j = 0; j < c->n_profiles; j++) {
		const struct profile *pj = &c->profiles[j];

		for (size_t i = 0; i < j; i++) {
			const struct profile *pi = &c->profiles[i];
			bool found = false;

			if (pi->priority != pj->priority)
				continue;
			for (size_t b = 0; b < pj->n_match && !found; b++) {
				for (size_t a = 0; a < pi->n_match && !found; a++) {
					if (!entries_overlap(&pi->match[a], &pj->match[b]))
						continue;
					found = true;
					diags_add(d, DIAG_WARNING, pj->path, pj->match[b].pos.line,
						  pj->match[b].pos.col,
						  "match[%zu] can match the same processes as "
						  "match[%zu] of profile '%s' (%s), which has the "
						  "same priority %d; give one of them a different "
						  "priority",
						  b, a, pi->id, pi->path, pi->priority);
				}
			}
		}
	}
}

int config_resolve(struct config_set *c, struct diags *d)
{
	size_t errors = d->errors, n = c->n_profiles, kept = 0;
	enum chain_state *st = NULL;
	size_t *chain = NULL;
	int ret = -1;

	if (n > 1)
		qsort(c->profiles, n, sizeof(*c->profiles), cmp_profile_id);
	if (n) {
		st = calloc(n, sizeof(*st));
		chain = calloc(n, sizeof(*chain));
		if (!st || !chain) {
			diags_add(d, DIAG_ERROR, c->daemon.path, 0, 0, "out of memory");
			goto out;
		}
	}
	check_chains(c, st, chain, d);

	for (size_t i = 0; i < n; i++) {
		if (st[i] == CH_GOOD)
			c->profiles[kept++] = c->profiles[i];
		else
			profile_free(&c->profiles[i]);
	}
	c->n_profiles = kept;

	for (size_t i = 0; i < kept; i++) {
		struct profile *p = &c->profiles[i];
		size_t len = 0;

		/* Leaf to root into chain[], applied root to leaf. */
		for (int k = (int)i; k >= 0 && len < kept;
		     k = c->profiles[k].extends ? config_find_profile(c, c->profiles[k].extends) : -1)
			chain[len++] = (size_t)k;
		tunables_builtin(&p->effective);
		for (int f = 0; f < TF_COUNT; f++)
			p->origin[f] = ORIGIN_BUILTIN;
		layer(p, &c->daemon.defaults, ORIGIN_DEFAULTS);
		while (len-- > 0)
			layer(p, &c->profiles[chain[len]].tunables, (int16_t)chain[len]);
	}
	warn_overlaps(c, d);
	warn_unused_bases(c, d);
	ret = d->errors == errors ? 0 : -1;
out:
	free(st);
	free(chain);
	return ret;
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
	memset(c, 0, sizeof(*c));
}

/* ---- loading from disk ------------------------------------------------------------------ */

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

/*
 * Open a configuration file the way config_load() does. Symlinks are followed
 * (admins link files) and it is the opened file that is checked; O_NONBLOCK
 * keeps a FIFO planted under a profile name from hanging the daemon.
 * missing_ok: ENOENT returns -1 with errno set and no message.
 */
static int open_config(const char *path, bool secure, struct diags *d, bool missing_ok)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int err = errno;

		if (!(missing_ok && err == ENOENT))
			diags_add(d, DIAG_ERROR, path, 0, 0, "failed to open the file: %s",
				  strerror(err));
		errno = err;
		return -1;
	}
	if (fstat(fd, &st)) {
		diags_add(d, DIAG_ERROR, path, 0, 0, "failed to stat the file: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		diags_add(d, DIAG_ERROR, path, 0, 0, "not a regular file");
		goto fail;
	}
	if (secure && (!secure_fd(fd, path, "file", d) || !secure_parent(fd, d)))
		goto fail;
	return fd;
fail:
	close(fd);
	errno = EINVAL;
	return -1;
}

int config_open_file(const char *path, bool require_secure, struct diags *d)
{
	return open_config(path, require_secure, d, false);
}

static void load_daemon(const char *path, bool secure, struct daemon_config *dc,
			struct diags *d)
{
	int fd;

	memset(dc, 0, sizeof(*dc));
	if (path) {
		fd = open_config(path, secure, d, true);
		if (fd < 0 && errno == ENOENT) {
			diags_add(d, DIAG_WARNING, path, 0, 0, "not found; using built-in defaults");
		} else if (fd >= 0) {
			config_parse_daemon(fd, path, dc, d);
			close(fd);
		}
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

static int add_profile(struct config_set *set, struct profile *p)
{
	struct profile *v = realloc(set->profiles, (set->n_profiles + 1) * sizeof(*v));

	if (!v)
		return -1;
	set->profiles = v;
	v[set->n_profiles++] = *p;
	return 0;
}

/*
 * A name the directory listed that is not there any more: removed (or
 * renamed away) since, which is a change to come, not an error. Keeps errno.
 */
static bool gone_since(int dfd, const char *name)
{
	int err = errno;
	struct stat st;
	bool gone = err == ENOENT && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) && errno == ENOENT;

	errno = err;
	return gone;
}

/* One profile file, opened relative to its directory. */
static void load_profile_file(struct config_set *set, int dfd, const char *dir,
			      const char *name, const char *path, const char *id, bool secure,
			      struct diags *d)
{
	struct profile p;
	struct stat st;
	int fd;

	/* Symlinks are followed (admins link shipped files); the fd is what is checked. */
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (!gone_since(dfd, name))
			diags_add(d, DIAG_ERROR, path, 0, 0, "failed to open the file: %s",
				  strerror(errno));
		return;
	}
	if (fstat(fd, &st)) {
		diags_add(d, DIAG_ERROR, path, 0, 0, "failed to stat the file: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode))
		goto out;
	if (secure && (!secure_fd(fd, path, "file", d) || !secure_parent(fd, d)))
		goto out;
	if (set->n_profiles >= CONFIG_MAX_PROFILES) {
		diags_add(d, DIAG_ERROR, path, 0, 0,
			  "left out: more than %d profiles (in %s and before it)",
			  CONFIG_MAX_PROFILES, dir);
		goto out;
	}
	if (config_parse_profile(fd, path, id, &p, d))
		goto out;
	if (add_profile(set, &p)) {
		diags_add(d, DIAG_ERROR, path, 0, 0, "out of memory");
		profile_free(&p);
	}
out:
	close(fd);
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
		if (fstatat(dirfd(dp), names[i], &st, 0)) {
			/* A dangling symlink most likely: worth knowing. */
			if (!gone_since(dirfd(dp), names[i]))
				diags_add(d, DIAG_ERROR, path, 0, 0,
					  "failed to stat the file: %s", strerror(errno));
		} else if (S_ISREG(st.st_mode)) {
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
		load_daemon(NULL, false, &out->daemon, d);
		free(out->daemon.path);
		out->daemon.path = strdup(paths->config_file);
		load_dir(out, paths->shipped_profiles, require_secure, NULL, NULL, d);
		return -1;
	}
	load_daemon(paths->config_file, require_secure, &out->daemon, d);
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
