// SPDX-License-Identifier: GPL-2.0-only
/*
 * The configuration parser against the schema contract (docs/CONFIG.md):
 * every key's range and units, every error class with its exact line and
 * column, layering through extends, and loading real directories.
 *
 * The expected ranges and defaults are written out here again on purpose,
 * not taken from src/conf/schema.c: a test that read the implementation's
 * table could not notice the table being wrong. The same list is checked against
 * the tables in docs/CONFIG.md, so the reference cannot drift either.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/conf/conf.h"
#include "../tap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct diags D;

/* ---- helpers ------------------------------------------------------------- */

static void dump_diags(void)
{
	for (size_t i = 0; i < D.n; i++)
		printf("#   %s:%u:%u: %s: %s\n", D.v[i].file, D.v[i].line, D.v[i].col,
		       D.v[i].severity == DIAG_ERROR ? "error" : "warning", D.v[i].msg);
}

/* A message at line:col (col 0 = any column) containing every given substring. */
static const struct diag *find_diag(enum diag_severity sev, unsigned int line, unsigned int col,
				    const char *sub1, const char *sub2)
{
	for (size_t i = 0; i < D.n; i++) {
		const struct diag *g = &D.v[i];

		if (g->severity != sev || g->line != line || (col && g->col != col))
			continue;
		if (sub1 && !strstr(g->msg, sub1))
			continue;
		if (sub2 && !strstr(g->msg, sub2))
			continue;
		return g;
	}
	return NULL;
}

static bool any_diag_with(const char *sub)
{
	for (size_t i = 0; i < D.n; i++)
		if (strstr(D.v[i].msg, sub))
			return true;
	return false;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static int parse_d_len(const char *yaml, size_t len, struct daemon_config *out)
{
	diags_free(&D);
	return config_parse_daemon_buf(yaml, len, "d.yaml", out, &D);
}

static int parse_d(const char *yaml, struct daemon_config *out)
{
	return parse_d_len(yaml, strlen(yaml), out);
}

static int parse_p(const char *yaml, const char *id, struct profile *out)
{
	diags_free(&D);
	return config_parse_profile_buf(yaml, strlen(yaml), "p.yaml", id, out, &D);
}

/* The daemon file is rejected with this error, and out is left empty. */
static int d_err_len(const char *yaml, size_t len, unsigned int line, unsigned int col,
		     const char *sub1, const char *sub2, const char *name)
{
	struct daemon_config c;
	int r = parse_d_len(yaml, len, &c);
	bool ok = r == -1 && find_diag(DIAG_ERROR, line, col, sub1, sub2) &&
		  all_zero(&c, sizeof(c));

	if (!r)
		daemon_config_free(&c);
	if (!ok)
		dump_diags();
	return tap_ok(ok, "%s", name);
}

static int d_err(const char *yaml, unsigned int line, unsigned int col, const char *sub1,
		 const char *sub2, const char *name)
{
	return d_err_len(yaml, strlen(yaml), line, col, sub1, sub2, name);
}

static int p_err(const char *yaml, unsigned int line, unsigned int col, const char *sub1,
		 const char *sub2, const char *name)
{
	struct profile p;
	int r = parse_p(yaml, "p", &p);
	bool ok = r == -1 && find_diag(DIAG_ERROR, line, col, sub1, sub2) &&
		  all_zero(&p, sizeof(p));

	if (!r)
		profile_free(&p);
	if (!ok)
		dump_diags();
	return tap_ok(ok, "%s", name);
}

/* A user database that cannot be reached. */
static int failing_lookup(const char *name, uint32_t *uid)
{
	(void)name;
	(void)uid;
	return -EIO;
}

/* A daemon file that must parse; returns the tunables it set. */
static bool d_ok(const char *yaml, struct tunables_block *tb)
{
	struct daemon_config c;

	if (parse_d(yaml, &c)) {
		dump_diags();
		return false;
	}
	if (tb)
		*tb = c.defaults;
	daemon_config_free(&c);
	return true;
}

/* ---- the schema, written out independently ------------------------------- */

/* Field values read the test's own way, not through the parser's table. */
static uint64_t tget(const struct gamer_tunables *t, int f)
{
	switch (f) {
	case TF_SLICE: return t->slice_ns;
	case TF_BOOST_MAX: return t->boost_max;
	case TF_DM_ENABLED: return t->dm_enabled;
	case TF_DM_THRESHOLD: return t->dm_threshold;
	case TF_DM_MIN_BOOST: return t->dm_min_boost;
	case TF_DM_RECOVER: return t->dm_recover;
	case TF_INH_ENABLED: return t->inh_enabled;
	case TF_INH_MAX_BOOST: return t->inh_max_boost;
	case TF_INH_DURATION: return t->inh_duration_ns;
	case TF_RM_ENABLED: return t->rm_enabled;
	case TF_RM_PERIOD: return t->rm_period_ns;
	case TF_RM_BELOW_BOOST: return t->rm_below_boost;
	case TF_NUMA: return t->numa;
	case TF_PREEMPT: return t->preempt;
	default: return t->role_boost[f - TF_ROLE_FIRST];
	}
}

enum kind { K_DUR, K_UINT, K_BOOL };

static const struct key_case {
	int f;
	const char *path;
	enum kind kind;
	const char *min, *max, *below, *above; /* as written in YAML */
	uint64_t min_v, max_v;
	const char *range; /* as messages and docs show it */
	const char *dflt;  /* the built-in value as written in YAML */
	uint64_t dflt_v;
} keys[] = {
	{ TF_SLICE, "slice", K_DUR, "100us", "100ms", "99999ns", "100000001ns", 100000, 100000000,
	  "100us..100ms", "5ms", 5000000 },
	{ TF_BOOST_MAX, "boost.max", K_UINT, "0", "7", "-1", "8", 0, 7, "0..7", "7", 7 },
	{ TF_DM_ENABLED, "deadline_miss.enabled", K_BOOL, "false", "true", NULL, NULL, 0, 1,
	  "true, false", "true", 1 },
	{ TF_DM_THRESHOLD, "deadline_miss.threshold", K_UINT, "1", "64", "0", "65", 1, 64, "1..64",
	  "3", 3 },
	{ TF_DM_MIN_BOOST, "deadline_miss.min_boost", K_UINT, "0", "7", "-1", "8", 0, 7, "0..7",
	  "3", 3 },
	{ TF_DM_RECOVER, "deadline_miss.recover", K_UINT, "0", "1024", "-1", "1025", 0, 1024,
	  "0..1024", "16", 16 },
	{ TF_INH_ENABLED, "inheritance.enabled", K_BOOL, "false", "true", NULL, NULL, 0, 1,
	  "true, false", "true", 1 },
	{ TF_INH_MAX_BOOST, "inheritance.max_boost", K_UINT, "0", "7", "-1", "8", 0, 7, "0..7",
	  "7", 7 },
	{ TF_INH_DURATION, "inheritance.duration", K_DUR, "10us", "1s", "9999ns",
	  "1000000001ns", 10000, 1000000000, "10us..1s", "20ms", 20000000 },
	{ TF_RM_ENABLED, "rate_monotonic.enabled", K_BOOL, "false", "true", NULL, NULL, 0, 1,
	  "true, false", "true", 1 },
	{ TF_RM_PERIOD, "rate_monotonic.period", K_DUR, "100us", "1s", "99999ns", "1000000001ns",
	  100000, 1000000000, "100us..1s", "10ms", 10000000 },
	{ TF_RM_BELOW_BOOST, "rate_monotonic.below_boost", K_UINT, "0", "8", "-1", "9", 0, 8,
	  "0..8", "2", 2 },
	{ TF_NUMA, "numa", K_BOOL, "false", "true", NULL, NULL, 0, 1, "true, false", "false", 0 },
	{ TF_PREEMPT, "preempt", K_BOOL, "false", "true", NULL, NULL, 0, 1, "true, false", "true", 1 },
#define ROLE_CASE(r, name, d)                                                              \
	{ TF_ROLE_FIRST + GAMER_ROLE_##r, "roles." name, K_UINT, "0", "7", "-1", "8", 0, 7, \
	  "0..7", #d, d }
	ROLE_CASE(INPUT, "input", 7),
	ROLE_CASE(RENDER, "render", 6),
	ROLE_CASE(GPU, "gpu", 6),
	ROLE_CASE(COMPOSITOR, "compositor", 5),
	ROLE_CASE(AUDIO, "audio", 5),
	ROLE_CASE(GAME, "game", 3),
	ROLE_CASE(NETWORK, "network", 2),
	ROLE_CASE(BACKGROUND, "background", 0),
};

/*
 * "schema: 1\ndefaults:\n  a:\n    b: VALUE\n", with the line and column where
 * the value and its key start.
 */
static void nested(char *buf, size_t sz, const char *block, const char *path, const char *value,
		   unsigned int *vline, unsigned int *vcol, unsigned int *kcol)
{
	char segs[4][64];
	size_t n = 0, used;
	const char *p = path;

	while (n < 4) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		snprintf(segs[n++], sizeof(segs[0]), "%.*s", (int)len, p);
		if (!dot)
			break;
		p = dot + 1;
	}
	used = (size_t)snprintf(buf, sz, "schema: 1\n%s:\n", block);
	for (size_t i = 0; i < n; i++) {
		unsigned int indent = 2 * (unsigned int)(i + 1);

		if (i + 1 < n) {
			used += (size_t)snprintf(buf + used, sz - used, "%*s%s:\n", (int)indent, "",
						 segs[i]);
		} else {
			used += (size_t)snprintf(buf + used, sz - used, "%*s%s: %s\n", (int)indent, "",
						 segs[i], value);
			*vline = 3 + (unsigned int)i;
			*kcol = indent + 1;
			*vcol = indent + (unsigned int)strlen(segs[i]) + 3;
		}
	}
}

static void test_builtin_and_names(void)
{
	struct gamer_tunables t;
	bool ok = true;

	tunables_builtin(&t);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		ok &= tget(&t, keys[i].f) == keys[i].dflt_v;
	tap_ok(ok, "built-in tunables are the documented defaults");
	tap_ok(ARRAY_SIZE(keys) == TF_COUNT, "the test covers every tunable field (%d)", TF_COUNT);

	ok = true;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		ok &= tunable_field_path(keys[i].f) && !strcmp(tunable_field_path(keys[i].f), keys[i].path);
	tap_ok(ok && tunable_field_path(TF_COUNT) == NULL,
	       "tunable_field_path names every field by its dotted path");
	tap_ok(!strcmp(role_name(GAMER_ROLE_INPUT), "input") &&
		       !strcmp(role_name(GAMER_ROLE_BACKGROUND), "background") &&
		       role_name(GAMER_ROLE_COUNT) == NULL,
	       "role_name follows enum gamer_role");
}

static void test_accessors(void)
{
	static const struct {
		int f;
		uint64_t v;
		const char *text;
	} fmt[] = {
		{ TF_SLICE, 1500000, "1.5ms" },
		{ TF_SLICE, 2250000, "2.25ms" },
		{ TF_SLICE, 100000, "100us" },
		{ TF_SLICE, 100001, "100.001us" },
		{ TF_RM_PERIOD, 1000000000, "1s" },
		{ TF_RM_PERIOD, 1000000001, "1.000000001s" },
		{ TF_INH_DURATION, 999, "999ns" },
		{ TF_DM_RECOVER, 1024, "1024" },
		{ TF_NUMA, 1, "true" },
		{ TF_DM_ENABLED, 0, "false" },
	};
	struct gamer_tunables t, u;
	struct tunables_block b;
	char buf[32];
	bool ok = true;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		enum tunable_kind want = keys[i].kind == K_DUR ? TK_DURATION :
					 keys[i].kind == K_BOOL ? TK_BOOL : TK_UINT;

		ok &= tunable_field_kind(keys[i].f) == want;
	}
	tap_ok(ok, "tunable_field_kind: durations, integers and booleans as in the schema");

	tunables_builtin(&t);
	ok = true;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		ok &= tunable_get(&t, keys[i].f) == keys[i].dflt_v;
	tap_ok(ok, "tunable_get reads every field");

	ok = true;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		tunable_format(&t, keys[i].f, buf, sizeof(buf));
		if (strcmp(buf, keys[i].dflt)) {
			printf("# %s formats as %s, not %s\n", keys[i].path, buf, keys[i].dflt);
			ok = false;
		}
	}
	tap_ok(ok, "tunable_format spells every default as the schema does");
	for (size_t i = 0; i < ARRAY_SIZE(fmt); i++) {
		memset(&u, 0, sizeof(u));
		u.slice_ns = fmt[i].f == TF_SLICE ? fmt[i].v : 0;
		u.rm_period_ns = fmt[i].f == TF_RM_PERIOD ? fmt[i].v : 0;
		u.inh_duration_ns = fmt[i].f == TF_INH_DURATION ? fmt[i].v : 0;
		u.dm_recover = fmt[i].f == TF_DM_RECOVER ? (uint16_t)fmt[i].v : 0;
		u.numa = fmt[i].f == TF_NUMA ? (uint8_t)fmt[i].v : 0;
		tunable_format(&u, fmt[i].f, buf, sizeof(buf));
		tap_ok(!strcmp(buf, fmt[i].text), "tunable_format: %llu is %s (got %s)",
		       (unsigned long long)fmt[i].v, fmt[i].text, buf);
	}

	memset(&b, 0, sizeof(b));
	b.v.slice_ns = 1;
	b.v.numa = 1;
	b.v.dm_threshold = 60;
	b.v.role_boost[GAMER_ROLE_GAME] = 1;
	b.set = (1u << TF_SLICE) | (1u << TF_ROLE_FIRST) << GAMER_ROLE_GAME;
	tunables_builtin(&u);
	tunables_apply(&u, &b);
	tap_ok(u.slice_ns == 1 && u.role_boost[GAMER_ROLE_GAME] == 1 && u.numa == 0 &&
		       u.dm_threshold == 3,
	       "tunables_apply copies exactly the fields the block sets");

	tap_ok(config_is_profile_name("cs2.yaml") && config_is_profile_name("a.b.yaml") &&
		       !config_is_profile_name(".cs2.yaml") && !config_is_profile_name("cs2.yaml~") &&
		       !config_is_profile_name("cs2.yaml.swp") &&
		       !config_is_profile_name(".#cs2.yaml") && !config_is_profile_name("cs2.yml") &&
		       !config_is_profile_name(".yaml") && !config_is_profile_name("yaml"),
	       "config_is_profile_name: NAME.yaml only, no temp or dot files");
}

/* Formatted values read back as the same value: what `show` prints is valid config. */
static void test_format_round_trip(void)
{
	bool ok = true;

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key_case *k = &keys[i];
		uint64_t vals[] = { k->min_v, k->max_v, k->dflt_v, (k->min_v + k->max_v) / 3 };

		if (k->kind != K_DUR)
			continue;
		for (size_t j = 0; j < ARRAY_SIZE(vals); j++) {
			struct gamer_tunables t;
			struct tunables_block tb;
			char text[32], buf[512];
			unsigned int line, col, kcol;

			memset(&t, 0, sizeof(t));
			t.slice_ns = k->f == TF_SLICE ? vals[j] : 0;
			t.inh_duration_ns = k->f == TF_INH_DURATION ? vals[j] : 0;
			t.rm_period_ns = k->f == TF_RM_PERIOD ? vals[j] : 0;
			tunable_format(&t, k->f, text, sizeof(text));
			nested(buf, sizeof(buf), "defaults", k->path, text, &line, &col, &kcol);
			if (!d_ok(buf, &tb) || tget(&tb.v, k->f) != vals[j]) {
				printf("# %s: %llu formats as %s, which does not read back\n", k->path,
				       (unsigned long long)vals[j], text);
				ok = false;
			}
		}
	}
	tap_ok(ok, "every formatted duration parses back to the same nanoseconds");
}

static void test_every_key(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const struct key_case *k = &keys[i];
		char buf[512], want[128];
		unsigned int line = 0, col = 0, kcol = 0;
		struct tunables_block tb;
		bool ok;

		snprintf(want, sizeof(want), "defaults.%s", k->path);

		nested(buf, sizeof(buf), "defaults", k->path, k->min, &line, &col, &kcol);
		ok = d_ok(buf, &tb) && (tb.set == 1u << k->f) && tget(&tb.v, k->f) == k->min_v &&
		     tb.pos[k->f].line == line && tb.pos[k->f].col == kcol;
		tap_ok(ok, "%s: %s (minimum) is accepted, stored and its position recorded", k->path,
		       k->min);

		nested(buf, sizeof(buf), "defaults", k->path, k->max, &line, &col, &kcol);
		ok = d_ok(buf, &tb) && tget(&tb.v, k->f) == k->max_v;
		tap_ok(ok, "%s: %s (maximum) is accepted", k->path, k->max);

		nested(buf, sizeof(buf), "defaults", k->path, k->dflt, &line, &col, &kcol);
		ok = d_ok(buf, &tb) && tget(&tb.v, k->f) == k->dflt_v;
		tap_ok(ok, "%s: the default %s parses to the built-in value", k->path, k->dflt);

		if (k->kind == K_BOOL) {
			char name[160];

			nested(buf, sizeof(buf), "defaults", k->path, "yes", &line, &col, &kcol);
			snprintf(name, sizeof(name), "%s: 'yes' is rejected at %u:%u", k->path, line, col);
			d_err(buf, line, col, want, "expected true or false", name);
			continue;
		}
		{
			char name[160];

			nested(buf, sizeof(buf), "defaults", k->path, k->below, &line, &col, &kcol);
			snprintf(name, sizeof(name), "%s: %s (below the minimum) is rejected at %u:%u, naming the range",
				 k->path, k->below, line, col);
			d_err(buf, line, col, want, k->range, name);

			nested(buf, sizeof(buf), "defaults", k->path, k->above, &line, &col, &kcol);
			snprintf(name, sizeof(name), "%s: %s (above the maximum) is rejected at %u:%u, naming the range",
				 k->path, k->above, line, col);
			d_err(buf, line, col, want, k->range, name);
		}
	}
}

static void test_durations(void)
{
	static const struct {
		const char *path, *value;
		uint64_t ns;
	} good[] = {
		{ "slice", "100000ns", 100000 },
		{ "slice", "250us", 250000 },
		{ "slice", "1.5ms", 1500000 },
		{ "slice", "2.25ms", 2250000 },
		{ "slice", "0.0001s", 100000 },
		{ "slice", "1.000000000000000000000ms", 1000000 },
		{ "rate_monotonic.period", "1s", 1000000000 },
		{ "rate_monotonic.period", "0.5s", 500000000 },
		{ "inheritance.duration", "10.5us", 10500 },
	};
	static const struct {
		const char *value, *sub, *what;
	} bad[] = {
		{ "5", "needs a unit", "a bare number" },
		{ "1.5", "needs a unit", "a bare decimal" },
		{ "5sec", "unknown unit", "an unknown unit" },
		{ "5m", "unknown unit", "a unit that is not ns/us/ms/s" },
		{ "5 ms", "expected a duration", "a space before the unit" },
		{ "-5ms", "negative", "a negative duration" },
		{ "\"\"", "missing value", "an empty value" },
		{ "abc", "expected a duration", "garbage" },
		{ ".5ms", "expected a duration", "a decimal without an integer part" },
		{ "1.ms", "expected a duration", "a decimal point without digits" },
		{ "1e3us", "expected a duration", "an exponent" },
		{ "999999999999999999999999999999ms", "out of range", "a 30-digit number" },
		{ "18446744073709551616ns", "out of range", "2^64 ns" },
		{ "18446744073709551615s", "out of range", "a unit multiplication that overflows" },
		{ "1.5ns", "whole number of nanoseconds", "a fraction of a nanosecond" },
		{ "0.0000000001s", "whole number of nanoseconds", "a tenth of a nanosecond" },
	};
	char buf[512];
	unsigned int line, col, kcol;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		struct tunables_block tb;
		int f = -1;

		for (size_t k = 0; k < ARRAY_SIZE(keys); k++)
			if (!strcmp(keys[k].path, good[i].path))
				f = keys[k].f;
		nested(buf, sizeof(buf), "defaults", good[i].path, good[i].value, &line, &col, &kcol);
		tap_ok(d_ok(buf, &tb) && tget(&tb.v, f) == good[i].ns, "duration %s = %llu ns",
		       good[i].value, (unsigned long long)good[i].ns);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char name[160];

		nested(buf, sizeof(buf), "defaults", "slice", bad[i].value, &line, &col, &kcol);
		snprintf(name, sizeof(name), "duration: %s (%s) is an error at 3:10", bad[i].what,
			 bad[i].value);
		d_err(buf, 3, 10, "defaults.slice", bad[i].sub, name);
	}
}

static void test_integers_and_booleans(void)
{
	static const struct {
		const char *value, *sub, *what;
	} bad_int[] = {
		{ "+3", "expected a whole number", "a plus sign" },
		{ "0x3", "expected a whole number", "hexadecimal" },
		{ "03", "leading zero", "a leading zero (YAML 1.1 octal)" },
		{ "3.0", "expected a whole number", "a decimal" },
		{ "\"\"", "missing value", "an empty value" },
		{ "three", "expected a whole number", "a word" },
		{ "999999999999999999999999999999", "out of range", "a 30-digit number" },
		{ "18446744073709551616", "out of range", "2^64" },
	};
	static const char *const bad_bool[] = { "yes", "no", "on", "off", "True", "TRUE", "1", "0",
						"y" };
	char buf[512], name[160];
	unsigned int line, col, kcol;
	struct tunables_block tb;

	for (size_t i = 0; i < ARRAY_SIZE(bad_int); i++) {
		nested(buf, sizeof(buf), "defaults", "deadline_miss.threshold", bad_int[i].value, &line,
		       &col, &kcol);
		snprintf(name, sizeof(name), "integer: %s (%s) is an error at 4:16", bad_int[i].what,
			 bad_int[i].value);
		d_err(buf, 4, 16, "defaults.deadline_miss.threshold", bad_int[i].sub, name);
	}
	nested(buf, sizeof(buf), "defaults", "numa", "true", &line, &col, &kcol);
	tap_ok(d_ok(buf, &tb) && tb.v.numa == 1, "boolean: true sets 1");
	nested(buf, sizeof(buf), "defaults", "deadline_miss.enabled", "false", &line, &col, &kcol);
	tap_ok(d_ok(buf, &tb) && tb.v.dm_enabled == 0 && (tb.set & (1u << TF_DM_ENABLED)),
	       "boolean: false sets 0 and marks the key set");
	for (size_t i = 0; i < ARRAY_SIZE(bad_bool); i++) {
		nested(buf, sizeof(buf), "defaults", "numa", bad_bool[i], &line, &col, &kcol);
		snprintf(name, sizeof(name), "boolean: '%s' is an error at 3:9", bad_bool[i]);
		d_err(buf, 3, 9, "defaults.numa", "expected true or false", name);
	}
}

static void test_structure_errors(void)
{
	d_err("schema: 1\ndefaults:\n  slice: 2ms\n  slice: 3ms\n", 4, 3,
	      "duplicate key 'defaults.slice'", "first set at line 3",
	      "duplicate key: reported at the second with the line of the first");
	d_err("schema: 1\nlog_level: info\nlog_level: warn\n", 3, 1, "duplicate key 'log_level'",
	      "line 2", "duplicate top-level key");
	d_err("schema: 1\ndefaults:\n  boost: {max: 2}\n  boost: {max: 3}\n", 4, 3,
	      "duplicate key 'defaults.boost'", NULL, "duplicate nested block");
	/* Found while writing the fuzzer: both once slipped past the duplicate check. */
	d_err("schema: 1\nlog_level: info\n\"log_level\\0\": debug\n", 3, 1, "NUL character",
	      NULL, "an escaped NUL in a key is refused");
	d_err("schema: 1\ndefaults:\n  deadline_miss: {threshold: 2}\n  deadline_miss.threshold: 5\n",
	      4, 3, "unknown key", NULL, "a dotted key does not reach into a nested block");
	d_err("schema: 1\ndefaults: 5\n", 2, 11, "defaults: expected a mapping", NULL,
	      "wrong type: a value where the defaults mapping belongs");
	d_err("schema: 1\ndefaults:\n  boost: 7\n", 3, 10, "defaults.boost: expected a mapping",
	      "got a single value", "wrong type: a value where a nested block belongs");
	d_err("schema: 1\ndefaults:\n  slice: {ms: 5}\n", 3, 10, "defaults.slice: expected a duration",
	      "got a mapping", "wrong type: a mapping where a duration belongs");
	d_err("schema: 1\ndefaults:\n  numa: [true]\n", 3, 9, "defaults.numa: expected true or false",
	      "got a sequence", "wrong type: a sequence where a boolean belongs");
	d_err("schema: 1\nlog_level: [info]\n", 2, 12, "log_level: expected a log level",
	      "got a sequence", "wrong type: a sequence for log_level");
	d_err("- schema: 1\n", 1, 1, "top level must be a mapping", NULL,
	      "a top level that is a sequence is an error");
	d_err("schema: 1\n? [a]\n: b\n", 2, 3, "keys must be plain strings", NULL,
	      "a sequence used as a key is an error");
	d_err("schema: 1\ndefaults:\n  deadline_miss:\n    thresold: 2\n", 4, 5,
	      "unknown key 'defaults.deadline_miss.thresold'", "did you mean 'threshold'?",
	      "unknown key: 'thresold' suggests 'threshold'");
	d_err("schema: 1\nlog_levle: info\n", 2, 1, "unknown key 'log_levle'",
	      "did you mean 'log_level'?", "unknown top-level key with a suggestion");
	d_err("schema: 1\ndefaults:\n  zzzzzzzz: 1\n", 3, 3, "unknown key 'defaults.zzzzzzzz'",
	      "valid keys: slice, boost, deadline_miss, inheritance, rate_monotonic, numa, preempt, roles",
	      "unknown key far from every valid one lists the valid keys");
	tap_ok(!any_diag_with("did you mean"), "... and suggests nothing");
	d_err("schema: 1\nlog_level: verbose\n", 2, 12, "log_level: unknown log level 'verbose'",
	      "error, warn, info, debug", "unknown log level lists the valid ones");
	d_err("schema: 2\n", 1, 9, "unsupported schema '2'", "reads schema 1", "schema 2 is refused");
	d_err("schema: one\n", 1, 9, "unsupported schema 'one'", NULL, "schema 'one' is refused");
	d_err("log_level: info\n", 1, 1, "missing key 'schema'", NULL,
	      "a daemon file without schema is refused");
	d_err("", 0, 0, "missing key 'schema'", NULL,
	      "an empty daemon file: missing schema, about the whole file (line 0)");
}

static void test_yaml_level(void)
{
	char *big;
	size_t n;
	struct daemon_config c;
	char deep[128];
	int r;

	d_err("schema: 1\nfoo: [1, 2\n", 3, 1, "YAML syntax error", "did not find expected ',' or ']'",
	      "YAML syntax error at libyaml's problem mark, 1-based");
	d_err("schema: 1\n  bad: indent\n", 2, 6, "YAML syntax error",
	      "mapping values are not allowed", "bad indentation is a syntax error at 2:6");
	d_err("schema: 1\nlog_level: \xff\n", 2, 12, "invalid leading UTF-8 octet", NULL,
	      "invalid UTF-8 is an error at the bad byte");
	d_err_len("schema: 1\nlog\0_level: info\n", 27, 2, 4, "NUL byte", NULL,
		  "a NUL byte is an error at its position");
	d_err("schema: 1\nlog_level: \"\x01\"\n", 2, 13, "control characters", NULL,
	      "a control character is an error");
	tap_ok(d_ok("\xef\xbb\xbfschema: 1\nlog_level: info\n", NULL),
	       "a UTF-8 byte-order mark at the start is allowed, as YAML allows it");
	d_err("\xef\xbb\xbfschema: 1\nlog_level: 5\n", 2, 12, "log_level", NULL,
	      "... and errors after it keep their line and column");
	d_err("schema: 1\n\xef\xbb\xbflog_level: info\n", 2, 2, "YAML syntax error", NULL,
	      "a byte-order mark elsewhere is not skipped");

	big = malloc(CONFIG_MAX_FILE_SIZE + 2);
	if (!big) {
		tap_bail("out of memory");
		exit(1);
	}
	n = (size_t)snprintf(big, CONFIG_MAX_FILE_SIZE, "schema: 1\n");
	memset(big + n, '#', CONFIG_MAX_FILE_SIZE - n - 1);
	big[CONFIG_MAX_FILE_SIZE - 1] = '\n';
	r = parse_d_len(big, CONFIG_MAX_FILE_SIZE, &c);
	if (!r)
		daemon_config_free(&c);
	tap_ok(r == 0, "a file of exactly %d bytes is read", CONFIG_MAX_FILE_SIZE);
	big[CONFIG_MAX_FILE_SIZE - 1] = '#';
	big[CONFIG_MAX_FILE_SIZE] = '\n';
	d_err_len(big, CONFIG_MAX_FILE_SIZE + 1, 0, 0, "larger than 65536 bytes", NULL,
		  "a file over 64 KiB is refused, about the whole file (line 0)");
	free(big);

	/* The top mapping is level 1: 15 more sequences make 16, 16 make 17. */
	snprintf(deep, sizeof(deep), "schema: 1\nx: %.*s%.*s\n", 15, "[[[[[[[[[[[[[[[[[[[[",
		 15, "]]]]]]]]]]]]]]]]]]]]");
	parse_d(deep, &c);
	tap_ok(find_diag(DIAG_ERROR, 2, 1, "unknown key 'x'", NULL) && !any_diag_with("nesting"),
	       "16 levels of nesting are allowed");
	snprintf(deep, sizeof(deep), "schema: 1\nx: %.*s%.*s\n", 16, "[[[[[[[[[[[[[[[[[[[[",
		 16, "]]]]]]]]]]]]]]]]]]]]");
	d_err(deep, 2, 19, "nesting is deeper than 16 levels", NULL,
	      "17 levels of nesting are refused at the 17th");

	d_err("schema: 1\nlog_level: &a info\n", 2, 12, "anchors, aliases and tags are not supported",
	      "&a", "an anchor is refused");
	d_err("schema: 1\ndefaults: &d {slice: 2ms}\n", 2, 11,
	      "anchors, aliases and tags are not supported", NULL, "an anchor on a mapping is refused");
	d_err("schema: 1\nlog_level: *a\n", 2, 12, "anchors, aliases and tags are not supported",
	      "*a", "an alias is refused");
	d_err("schema: 1\nlog_level: !!str info\n", 2, 12,
	      "anchors, aliases and tags are not supported", "tag", "an explicit tag is refused");
	d_err("schema: 1\n---\nschema: 1\n", 2, 1, "more than one YAML document", NULL,
	      "a second YAML document is refused");
}

/* ---- profiles ---------------------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = calloc(1, 1 << 17);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, (1 << 17) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *srcdir(void)
{
	const char *s = getenv("SRCDIR");

	return s && *s ? s : ".";
}

static void test_profile_parse(void)
{
	struct daemon_config dc;
	char path[4096], *text;
	struct profile p;
	bool ok;
	int r;

	snprintf(path, sizeof(path), "%s/tests/host/fixtures/profiles/cs2.yaml", srcdir());
	text = slurp(path);
	if (!tap_ok(text != NULL, "the cs2 fixture is readable (%s)", path))
		return;
	r = parse_p(text, "cs2", &p);
	free(text);
	if (!tap_ok(r == 0, "the example profile from the schema parses")) {
		dump_diags();
		return;
	}
	tap_ok(!strcmp(p.id, "cs2") && !strcmp(p.name, "Counter-Strike 2") && p.priority == 50 &&
		       p.extends && !strcmp(p.extends, "competitive") && p.extends_pos.line == 5 &&
		       p.extends_pos.col == 1,
	       "id, name, priority, extends and the extends position");
	ok = p.n_match == 3 && p.match[0].keys == MATCH_STEAM_APP_ID &&
	     p.match[0].steam_app_id == 730 && p.match[0].pos.line == 7 && p.match[0].pos.col == 5 &&
	     p.match[1].keys == MATCH_COMM && !strcmp(p.match[1].comm, "cs2") &&
	     p.match[2].keys == MATCH_EXE && !strcmp(p.match[2].exe, "*/linuxsteamrt64/cs2") &&
	     !p.match[2].comm;
	tap_ok(ok, "match entries: keys, values and positions");
	ok = p.tunables.set == ((1u << TF_SLICE) | (1u << TF_DM_THRESHOLD) | (1u << TF_NUMA)) &&
	     p.tunables.v.slice_ns == 2000000 && p.tunables.v.dm_threshold == 2 &&
	     p.tunables.v.numa == 1 && p.tunables.pos[TF_SLICE].line == 12;
	tap_ok(ok, "tunables: only the three keys written are set");
	ok = p.n_threads == 2 && p.threads[0].n_names == 1 &&
	     !strcmp(p.threads[0].names[0], "RenderThread*") &&
	     p.threads[0].role == GAMER_ROLE_RENDER && p.threads[0].boost == -1 &&
	     p.threads[1].n_names == 2 && !strcmp(p.threads[1].names[1], "FMOD*") &&
	     p.threads[1].role == GAMER_ROLE_AUDIO && p.threads[1].boost == 6 &&
	     p.threads[1].pos.line == 18;
	tap_ok(ok, "thread rules: a name or a list of names, role, optional boost");
	profile_free(&p);

	r = parse_p("schema: 1\nmatch:\n  - comm: x\n", "bare", &p);
	tap_ok(r == 0 && !strcmp(p.name, "bare") && p.priority == 50 && !p.extends &&
		       p.tunables.set == 0 && p.n_threads == 0,
	       "a minimal profile: name defaults to the id, priority to 50");
	if (!r)
		profile_free(&p);

	r = parse_p("schema: 1\npriority: 0\nmatch:\n  - steam_app_id: 4294967295\n", "x", &p);
	tap_ok(r == 0 && p.priority == 0 && p.match[0].steam_app_id == 4294967295u,
	       "priority 0 and steam_app_id 2^32-1 are accepted");
	if (!r)
		profile_free(&p);
	r = parse_p("schema: 1\npriority: 100\nmatch:\n  - steam_app_id: 1\nthreads:\n  - {name: a, role: game, boost: 0}\n  - {name: b, role: background, boost: 7}\n",
		    "x", &p);
	tap_ok(r == 0 && p.priority == 100 && p.match[0].steam_app_id == 1 &&
		       p.threads[0].boost == 0 && p.threads[1].boost == 7 &&
		       p.threads[1].role == GAMER_ROLE_BACKGROUND,
	       "priority 100, steam_app_id 1, thread boosts 0 and 7 are accepted");
	if (!r)
		profile_free(&p);

	/* comm is also compared with the full name where the kernel truncated it. */
	r = parse_p("schema: 1\nmatch:\n  - comm: averyveryverylongname\n", "x", &p);
	tap_ok(r == 0 && !any_diag_with("longer than 15"),
	       "a match comm literal longer than 15 characters is accepted without a warning");
	if (!r)
		profile_free(&p);
	r = parse_p("schema: 1\nmatch:\n  - comm: x\nthreads:\n  - {name: averyveryverylongname, role: game}\n",
		    "x", &p);
	tap_ok(r == 0 && find_diag(DIAG_WARNING, 5, 12, "longer than 15 characters", NULL),
	       "a thread-name literal longer than 15 characters is a warning, not an error");
	if (!r)
		profile_free(&p);
	r = parse_d("schema: 1\nexclude:\n  - comm: wineserver\n  - {wine_exe: \"services.exe\", steam_app_id: 7}\n",
		    &dc);
	tap_ok(r == 0 && dc.n_exclude == 2 && dc.exclude[0].keys == MATCH_COMM &&
		       !strcmp(dc.exclude[0].comm, "wineserver") &&
		       dc.exclude[1].keys == (MATCH_WINE_EXE | MATCH_STEAM_APP_ID),
	       "the daemon file's exclude entries are parsed like match entries");
	if (!r)
		daemon_config_free(&dc);
	d_err("schema: 1\nexclude:\n  - {}\n", 3, 5, "exclude[0]: an empty entry", NULL,
	      "an empty exclude entry is refused");
	d_err("schema: 1\nexclude: wineserver\n", 2, 10, "exclude: expected a list of match entries",
	      NULL, "exclude must be a list");
	r = parse_d("schema: 1\ngame_users: [1000, root, \"0\", 4294967294]\n", &dc);
	tap_ok(r == 0 && dc.has_game_users && dc.n_game_users == 4 && dc.game_users[0] == 1000 &&
		       dc.game_users[1] == 0 && dc.game_users[2] == 0 &&
		       dc.game_users[3] == 4294967294u,
	       "game_users: uids and user names (resolved), quoted or not");
	if (!r)
		daemon_config_free(&dc);
	r = parse_d("schema: 1\n", &dc);
	tap_ok(r == 0 && !dc.has_game_users && !dc.n_game_users,
	       "game_users left out: no limit (everyone)");
	if (!r)
		daemon_config_free(&dc);
	r = parse_d("schema: 1\ngame_users:\n  - 1000\n  - no-such-user-scx\n", &dc);
	tap_ok(r == 0 && dc.has_game_users && dc.n_game_users == 1 && dc.game_users[0] == 1000 &&
		       find_diag(DIAG_WARNING, 4, 5,
				 "game_users[1]: no user named 'no-such-user-scx' on this system",
				 "counts for no one"),
	       "game_users: an unknown user name is a warning and counts for no one (fails closed)");
	if (!r)
		daemon_config_free(&dc);
	r = parse_d("schema: 1\ngame_users: [no-such-user-scx]\n", &dc);
	tap_ok(r == 0 && dc.has_game_users && dc.n_game_users == 0,
	       "game_users: only unknown names is a limit that lets no one in, not no limit");
	if (!r)
		daemon_config_free(&dc);
	config_set_user_lookup(failing_lookup);
	r = parse_d("schema: 1\ngame_users: [alice, 1000]\n", &dc);
	config_set_user_lookup(NULL);
	tap_ok(r == 0 && dc.has_game_users && dc.n_game_users == 1 && dc.game_users[0] == 1000 &&
		       find_diag(DIAG_WARNING, 2, 14, "game_users[0]: cannot look up user 'alice'",
				 "until a reload"),
	       "game_users: a failed lookup (the user database down) is a warning, the name counts for no one");
	if (!r)
		daemon_config_free(&dc);
	d_err("schema: 1\ngame_users: []\n", 2, 13, "game_users: the list is empty", "leave",
	      "game_users: an empty list is refused (it would turn every game profile off)");
	d_err("schema: 1\ngame_users: alice\n", 2, 13, "game_users: expected a list of user names",
	      NULL, "game_users must be a list");
	d_err("schema: 1\ngame_users: [4294967295]\n", 2, 14, "game_users[0]: 4294967295 is out of range",
	      NULL, "game_users: (uid_t)-1 is not a uid");
	d_err("schema: 1\ngame_users: [{name: a}]\n", 2, 14, "game_users[0]: expected a user name or a uid",
	      NULL, "game_users: a mapping is not a user");

	p_err("schema: 1\npriority: 101\nmatch:\n  - comm: x\n", 2, 11, "priority: 101 is out of range",
	      "0..100", "priority 101 is out of range");
	p_err("schema: 1\npriority: -1\nmatch:\n  - comm: x\n", 2, 11, "priority", "0..100",
	      "priority -1 is refused");
	p_err("schema: 1\nmatch:\n  - steam_app_id: 0\n", 3, 19, "match[0].steam_app_id", "1..4294967295",
	      "steam_app_id 0 is out of range");
	p_err("schema: 1\nmatch:\n  - steam_app_id: 4294967296\n", 3, 19, "match[0].steam_app_id",
	      "1..4294967295", "steam_app_id 2^32 is out of range");
	p_err("schema: 1\nmatch:\n  - comm: x\nthreads:\n  - name: a\n    role: game\n    boost: 8\n", 7,
	      12, "threads[0].boost: 8 is out of range", "0..7", "thread boost 8 is out of range");
	p_err("schema: 1\nmatch:\n  - comm: x\ntunables:\n  deadline_miss: {threshold: 65}\n", 5, 30,
	      "tunables.deadline_miss.threshold: 65 is out of range", "1..64",
	      "profile tunables are checked with the same table, under 'tunables.'");
	p_err("schema: 1\nmatch:\n  - comm: x\nthreads:\n  - name: a\n    role: hero\n", 6, 11,
	      "threads[0].role: unknown role 'hero'",
	      "valid roles: input, render, gpu, compositor, audio, game, network, background",
	      "unknown role lists the valid roles");
	r = parse_p("schema: 1\nname: x\ntunables: {slice: 2ms}\n", "base", &p);
	tap_ok(r == 0 && p.n_match == 0,
	       "a profile without match loads: a base that other profiles extend");
	if (!r) {
		struct config_set c = { 0 };
		struct profile q;

		c.profiles = calloc(2, sizeof(*c.profiles));
		c.profiles[c.n_profiles++] = p;
		tap_ok(config_resolve(&c, &D) == 0 &&
			       find_diag(DIAG_WARNING, 0, 0, "has no match entries and no profile extends it", NULL),
		       "... with a warning when no profile extends it (it applies to nothing)");
		diags_free(&D);
		if (parse_p("schema: 1\nextends: base\nmatch:\n  - comm: g\n", "game", &q) == 0)
			c.profiles[c.n_profiles++] = q;
		tap_ok(c.n_profiles == 2 && config_resolve(&c, &D) == 0 && D.n == 0 &&
			       c.profiles[1].effective.slice_ns == 2000000,
		       "... and without one when a profile extends it");
		config_set_free(&c);
	}
	p_err("schema: 1\nmatch: []\n", 2, 8, "match: the list is empty", NULL,
	      "a profile with an empty match list");
	p_err("schema: 1\nmatch:\n  - {}\n", 3, 5, "match[0]: an empty entry", NULL,
	      "a match entry without keys");
	p_err("schema: 1\nmatch:\n  comm: x\n", 3, 3, "match: expected a list of match entries",
	      "got a mapping", "wrong type: a mapping where the match list belongs");
	p_err("schema: 1\nmatch:\n  - stem_app_id: 1\n", 3, 5, "unknown key 'match[0].stem_app_id'",
	      "did you mean 'steam_app_id'?", "unknown match key with a suggestion");
	p_err("schema: 1\nmatch:\n  - comm: x\nthreads:\n  - name: []\n    role: game\n", 5, 11,
	      "threads[0].name: the list of names is empty", NULL, "an empty list of thread names");
	p_err("schema: 1\nmatch:\n  - comm: x\nthreads:\n  - name: a\n", 5, 5,
	      "threads[0]: missing key 'role'", NULL, "a thread rule without a role");
	p_err("schema: 1\nmatch:\n  - comm: x\nthreads:\n  - role: game\n", 5, 5,
	      "threads[0]: missing key 'name'", NULL, "a thread rule without a name");
	p_err("schema: 1\nmatch:\n  - comm: x\nthreads:\n  - name: {a: b}\n    role: game\n", 5, 11,
	      "threads[0].name: expected a thread name or a list of names", "got a mapping",
	      "wrong type: a mapping as a thread name");
	p_err("schema: 1\nmatch:\n  - comm: x\nthreads:\n  - name: [a, [b]]\n    role: game\n", 5,
	      15, "threads[0].name[1]: expected a string", "got a sequence",
	      "wrong type: a list inside the list of names");
	p_err("schema: 1\nmatch:\n  - comm: x\nthreads: [x]\n", 4, 11,
	      "threads[0]: expected a mapping", NULL, "wrong type: a value as a thread rule");
	p_err("schema: 1\nextends: p\nmatch:\n  - comm: x\n", 2, 1,
	      "extends: profile 'p' cannot extend itself", NULL, "a profile extending itself");
	p_err("schema: 2\nmatch:\n  - comm: x\n", 1, 9, "unsupported schema '2'", NULL,
	      "a profile with schema 2");

	r = parse_p("", "p", &p);
	tap_ok(r == -1 && find_diag(DIAG_ERROR, 0, 0, "missing key 'schema'", NULL) &&
		       !find_diag(DIAG_ERROR, 0, 0, "missing key 'match'", NULL),
	       "an empty profile: missing schema (match is optional)");

	/* Every problem in a file, in file order, not just the first. */
	r = parse_p("schema: 1\nmatch:\n  - comm: x\ntunables:\n  slice: 5\n  numa: yes\n  roles: {audio: 9}\n",
		    "p", &p);
	tap_ok(r == -1 && D.n == 3 && D.v[0].line == 5 && D.v[1].line == 6 && D.v[2].line == 7,
	       "all errors of a file are reported, in line order");
	/* The anchor is found while reading the YAML, the bad level only later. */
	r = parse_p("schema: 1\nlog_level: loud\nmatch: &m\n  - comm: x\n", "p", &p);
	tap_ok(r == -1 && D.n == 2 && D.v[0].line == 2 && D.v[1].line == 3,
	       "messages from both passes come out in line order");
}

/* The exact text of the bad fixture's messages, also quoted in docs/CONFIG.md. */
static void test_message_format(void)
{
	static const char want[] =
		"tests/host/fixtures/bad/cs2.yaml:6:10: error: tunables.slice: '2' needs a unit: ns, us, ms or s (allowed: 100us..100ms)\n"
		"tests/host/fixtures/bad/cs2.yaml:7:19: error: unknown key 'tunables.deadline_miss.thresold'; did you mean 'threshold'? (valid keys: enabled, threshold, min_boost, recover)\n"
		"tests/host/fixtures/bad/cs2.yaml:8:9: error: tunables.numa: expected true or false, got 'yes'\n"
		"tests/host/fixtures/bad/cs2.yaml:11:11: error: threads[0].role: unknown role 'rendr'; did you mean 'render'? (valid roles: input, render, gpu, compositor, audio, game, network, background)\n";
	char path[4096], *text, *out = NULL;
	size_t len = 0;
	struct profile p;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/host/fixtures/bad/cs2.yaml", srcdir());
	text = slurp(path);
	if (!tap_ok(text != NULL, "the bad fixture is readable"))
		return;
	diags_free(&D);
	config_parse_profile_buf(text, strlen(text), "tests/host/fixtures/bad/cs2.yaml", "cs2", &p, &D);
	free(text);
	f = open_memstream(&out, &len);
	if (f) {
		diags_print(&D, f);
		fclose(f);
	}
	if (!tap_ok(out && !strcmp(out, want), "messages print as FILE:LINE:COL: error: MESSAGE"))
		printf("# got:\n%s", out ? out : "(nothing)\n");
	free(out);
}

/* ---- layering ------------------------------------------------------------------ */

static void set_add(struct config_set *c, const char *id, const char *yaml)
{
	struct profile p;
	char path[64];

	snprintf(path, sizeof(path), "%s.yaml", id);
	if (config_parse_profile_buf(yaml, strlen(yaml), path, id, &p, &D)) {
		dump_diags();
		tap_bail("a layering fixture does not parse");
		exit(1);
	}
	c->profiles = realloc(c->profiles, (c->n_profiles + 1) * sizeof(*c->profiles));
	if (!c->profiles) {
		tap_bail("out of memory");
		exit(1);
	}
	c->profiles[c->n_profiles++] = p;
}

static void set_daemon(struct config_set *c, const char *yaml)
{
	if (config_parse_daemon_buf(yaml, strlen(yaml), "scx_gamer.yaml", &c->daemon, &D)) {
		dump_diags();
		tap_bail("a daemon fixture does not parse");
		exit(1);
	}
}

static void test_resolve(void)
{
	struct config_set c = { 0 };
	const struct profile *base, *mid, *leaf, *solo;
	int r, ib, im, il;

	diags_free(&D);
	set_daemon(&c, "schema: 1\ndefaults:\n  slice: 4ms\n  boost: {max: 6}\n");
	/* Out of order on purpose: resolve sorts by id. */
	set_add(&c, "leaf", "schema: 1\nextends: mid\nmatch:\n  - comm: leaf\ntunables:\n  roles: {audio: 6}\n");
	set_add(&c, "base", "schema: 1\npriority: 10\nmatch:\n  - comm: base\ntunables:\n  slice: 3ms\n  numa: true\n");
	set_add(&c, "solo", "schema: 1\npriority: 20\nmatch:\n  - comm: solo\n");
	set_add(&c, "mid", "schema: 1\npriority: 30\nextends: base\nmatch:\n  - comm: mid\ntunables:\n  slice: 2ms\n  deadline_miss: {threshold: 2}\n");
	r = config_resolve(&c, &D);
	ib = config_find_profile(&c, "base");
	im = config_find_profile(&c, "leaf") == 1 ? config_find_profile(&c, "mid") : -9;
	il = config_find_profile(&c, "leaf");
	tap_ok(r == 0 && D.errors == 0 && c.n_profiles == 4 && ib == 0 && il == 1 && im == 2 &&
		       config_find_profile(&c, "solo") == 3 && config_find_profile(&c, "nope") == -1,
	       "resolve sorts the profiles by id");
	if (c.n_profiles != 4 || ib != 0 || il != 1 || im != 2) {
		config_set_free(&c);
		return;
	}
	base = &c.profiles[0];
	leaf = &c.profiles[1];
	mid = &c.profiles[2];
	solo = &c.profiles[3];
	tap_ok(leaf->effective.slice_ns == 2000000 && leaf->origin[TF_SLICE] == 2,
	       "three levels: slice comes from mid, which overrides base and the defaults");
	tap_ok(leaf->effective.numa == 1 && leaf->origin[TF_NUMA] == 0,
	       "three levels: numa comes from base, the root of the chain");
	tap_ok(leaf->effective.dm_threshold == 2 && leaf->origin[TF_DM_THRESHOLD] == 2,
	       "three levels: deadline_miss.threshold comes from mid");
	tap_ok(leaf->effective.role_boost[GAMER_ROLE_AUDIO] == 6 &&
		       leaf->origin[TF_ROLE_FIRST + GAMER_ROLE_AUDIO] == 1,
	       "three levels: roles.audio comes from the leaf itself");
	tap_ok(leaf->effective.boost_max == 6 && leaf->origin[TF_BOOST_MAX] == ORIGIN_DEFAULTS,
	       "three levels: boost.max comes from scx_gamer.yaml defaults");
	tap_ok(leaf->effective.inh_duration_ns == 20000000 &&
		       leaf->origin[TF_INH_DURATION] == ORIGIN_BUILTIN &&
		       leaf->effective.role_boost[GAMER_ROLE_INPUT] == 7,
	       "three levels: what nobody sets is built-in");
	tap_ok(mid->effective.role_boost[GAMER_ROLE_AUDIO] == 5 &&
		       mid->origin[TF_ROLE_FIRST + GAMER_ROLE_AUDIO] == ORIGIN_BUILTIN &&
		       mid->effective.numa == 1,
	       "a parent does not see its child's values");
	tap_ok(base->effective.slice_ns == 3000000 && base->origin[TF_SLICE] == 0 &&
		       solo->effective.slice_ns == 4000000 && solo->origin[TF_SLICE] == ORIGIN_DEFAULTS,
	       "without extends: own values over the defaults");
	config_set_free(&c);

	/* Unknown extends: the profile and everything extending it go. */
	diags_free(&D);
	set_daemon(&c, "schema: 1\n");
	set_add(&c, "a", "schema: 1\nextends: nope\nmatch:\n  - comm: a\n");
	set_add(&c, "b", "schema: 1\n\nextends: a\nmatch:\n  - comm: b\n");
	set_add(&c, "c", "schema: 1\nmatch:\n  - comm: c\n");
	r = config_resolve(&c, &D);
	tap_ok(r == -1 && find_diag(DIAG_ERROR, 2, 1, "extends: unknown profile 'nope'", NULL) &&
		       !strcmp(D.v[0].file, "a.yaml"),
	       "extends of an unknown id is an error at the extends key");
	tap_ok(find_diag(DIAG_ERROR, 3, 1, "extends: profile 'a' is left out", NULL) != NULL,
	       "a profile extending a broken one is an error too");
	tap_ok(c.n_profiles == 1 && config_find_profile(&c, "c") == 0,
	       "both are removed from the set, the rest stays");
	config_set_free(&c);

	/* Cycle: a -> b -> a, and c leads into it. */
	diags_free(&D);
	set_daemon(&c, "schema: 1\n");
	set_add(&c, "a", "schema: 1\nextends: b\nmatch:\n  - comm: a\n");
	set_add(&c, "b", "schema: 1\nextends: a\nmatch:\n  - comm: b\n");
	set_add(&c, "c", "schema: 1\nextends: a\nmatch:\n  - comm: c\n");
	set_add(&c, "d", "schema: 1\nmatch:\n  - comm: d\n");
	r = config_resolve(&c, &D);
	tap_ok(r == -1 && any_diag_with("extends: cycle a -> b -> a") &&
		       any_diag_with("extends: cycle b -> a -> b"),
	       "an extends cycle is reported in each member, listing the cycle");
	tap_ok(c.n_profiles == 1 && config_find_profile(&c, "d") == 0 && D.errors == 3,
	       "the cycle and what extends it are removed");
	config_set_free(&c);
}

static void test_overlap(void)
{
	static const struct {
		const char *a, *b;
		bool warn;
		const char *what;
	} cases[] = {
		{ "  - comm: cs2\n", "  - comm: \"cs*\"\n", true, "a glob matching the other's literal" },
		{ "  - steam_app_id: 730\n", "  - comm: x\n  - steam_app_id: 730\n", true,
		  "the same steam_app_id in the second entry" },
		{ "  - wine_exe: CS2.EXE\n", "  - wine_exe: cs2.exe\n", true,
		  "wine_exe compared case-insensitively" },
		{ "  - comm: cs2\n", "  - comm: dota*\n", false, "disjoint comm globs" },
		{ "  - comm: cs2\n", "  - exe: \"*/cs2\"\n", false, "different keys" },
		{ "  - comm: cs2\n", "  - comm: cs2\n    steam_app_id: 730\n", false,
		  "one entry has a key the other lacks" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct config_set c = { 0 };
		char a[256], b[256];

		diags_free(&D);
		set_daemon(&c, "schema: 1\n");
		snprintf(a, sizeof(a), "schema: 1\nmatch:\n%s", cases[i].a);
		snprintf(b, sizeof(b), "schema: 1\nmatch:\n%s", cases[i].b);
		set_add(&c, "two", b);
		set_add(&c, "one", a);
		config_resolve(&c, &D);
		if (cases[i].warn) {
			unsigned int line = strstr(cases[i].b, "steam_app_id") && strstr(cases[i].b, "comm") ? 4 : 3;

			tap_ok(D.errors == 0 && find_diag(DIAG_WARNING, line, 5, "same priority 50",
							  "one.yaml") &&
				       !strcmp(D.v[0].file, "two.yaml"),
			       "equal-priority overlap warned at the later profile's entry: %s",
			       cases[i].what);
		} else {
			tap_ok(D.n == 0, "no overlap warning: %s", cases[i].what);
		}
		config_set_free(&c);
	}
	{
		struct config_set c = { 0 };

		diags_free(&D);
		set_daemon(&c, "schema: 1\n");
		set_add(&c, "one", "schema: 1\nmatch:\n  - comm: cs2\n");
		set_add(&c, "two", "schema: 1\npriority: 60\nmatch:\n  - comm: cs2\n");
		config_resolve(&c, &D);
		tap_ok(D.n == 0, "no overlap warning when the priorities differ");
		config_set_free(&c);
	}
}

/* ---- loading directories ---------------------------------------------------------- */

static char tmp[256];

static void put(const char *rel, const char *text, mode_t mode)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fchmod(fd, mode)) {
		printf("# cannot write %s: %s\n", path, strerror(errno));
		tap_bail("cannot set up the temporary directory");
		exit(1);
	}
	close(fd);
}

static void mkdir_t(const char *rel, mode_t mode)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	if (mkdir(path, mode) || chmod(path, mode)) {
		tap_bail("cannot create a directory in the temporary directory");
		exit(1);
	}
}

static void tpath(char *buf, size_t sz, const char *rel)
{
	snprintf(buf, sz, "%s/%s", tmp, rel);
}

static void test_load(void)
{
	char cfg[512], admin[512], shipped[512], link_target[512], link_path[512], want[512];
	struct config_paths paths = { cfg, admin, shipped };
	static const char bad[] = "{{{ not: yaml\n";
	struct config_set c;
	int r;

	tpath(cfg, sizeof(cfg), "scx_gamer.yaml");
	tpath(admin, sizeof(admin), "admin");
	tpath(shipped, sizeof(shipped), "shipped");

	diags_free(&D);
	r = config_load(&paths, false, &c, &D);
	tap_ok(r == 0 && D.errors == 0 && D.n == 1 &&
		       find_diag(DIAG_WARNING, 0, 0, "not found; using built-in defaults", NULL) &&
		       c.n_profiles == 0 && c.daemon.log_level == LOG_INFO &&
		       c.daemon.defaults.set == 0 && c.daemon.path && !strcmp(c.daemon.path, cfg),
	       "no config file and no profile directories: a warning and built-in defaults");
	config_set_free(&c);

	put("scx_gamer.yaml", "schema: 1\nlog_level: debug\ndefaults:\n  slice: 4ms\n", 0644);
	mkdir_t("admin", 0755);
	mkdir_t("shipped", 0755);
	mkdir_t("elsewhere", 0755);
	put("shipped/alpha.yaml", "schema: 1\nmatch:\n  - comm: alpha\n", 0644);
	put("shipped/beta.yaml", "schema: 1\nname: Shipped Beta\nmatch:\n  - comm: beta\n", 0644);
	put("shipped/gamma.yaml", "schema: 1\nextends: alpha\npriority: 40\nmatch:\n  - comm: gamma\n", 0644);
	put("admin/beta.yaml", "schema: 1\nname: Admin Beta\npriority: 70\nmatch:\n  - comm: beta\n", 0644);
	put("elsewhere/linked.yaml", "schema: 1\npriority: 80\nmatch:\n  - comm: linked\n", 0644);
	tpath(link_target, sizeof(link_target), "elsewhere/linked.yaml");
	tpath(link_path, sizeof(link_path), "admin/link.yaml");
	if (symlink(link_target, link_path)) {
		tap_bail("cannot create a symlink");
		exit(1);
	}
	/* Each would be an error if it were read. */
	put("shipped/.hidden.yaml", bad, 0644);
	put("shipped/alpha.yaml~", bad, 0644);
	put("shipped/alpha.yaml.swp", bad, 0644);
	put("shipped/.alpha.yaml.swp", bad, 0644);
	put("shipped/.#alpha.yaml", bad, 0644);
	put("shipped/#alpha.yaml#", bad, 0644);
	put("shipped/notes.txt", bad, 0644);
	put("shipped/delta.yml", bad, 0644);
	put("shipped/.yaml", bad, 0644);
	mkdir_t("shipped/dir.yaml", 0755);

	diags_free(&D);
	r = config_load(&paths, false, &c, &D);
	if (D.n)
		dump_diags();
	tap_ok(r == 0 && D.n == 0, "a clean tree loads without messages (temp, dot and swap files skipped)");
	tap_ok(c.n_profiles == 4 && !strcmp(c.profiles[0].id, "alpha") &&
		       !strcmp(c.profiles[1].id, "beta") && !strcmp(c.profiles[2].id, "gamma") &&
		       !strcmp(c.profiles[3].id, "link"),
	       "four profiles, sorted by id");
	tap_ok(c.n_profiles == 4 && c.profiles[3].priority == 80,
	       "a symlinked profile file is read");
	tpath(want, sizeof(want), "admin/beta.yaml");
	tap_ok(c.n_profiles == 4 && !strcmp(c.profiles[1].name, "Admin Beta") &&
		       !strcmp(c.profiles[1].path, want),
	       "an admin profile is used instead of the shipped one with its id");
	tap_ok(c.n_hidden == 1 && !strcmp(c.hidden[0].id, "beta") &&
		       !strcmp(c.hidden[0].hidden_by, want) && strstr(c.hidden[0].path, "shipped/beta.yaml"),
	       "the hidden shipped profile is recorded with what hides it");
	tap_ok(c.daemon.log_level == LOG_DEBUG && c.n_profiles == 4 &&
		       c.profiles[2].effective.slice_ns == 4000000 &&
		       c.profiles[2].origin[TF_SLICE] == ORIGIN_DEFAULTS,
	       "the daemon file's defaults reach the profiles");
	config_set_free(&c);

	put("shipped/broken.yaml", "schema: 1\nmatch:\n  - comm: broken\npriority: 500\n", 0644);
	diags_free(&D);
	r = config_load(&paths, false, &c, &D);
	tap_ok(r == -1 && D.errors == 1 && find_diag(DIAG_ERROR, 4, 11, "priority", NULL) &&
		       strstr(D.v[0].file, "shipped/broken.yaml") && c.n_profiles == 4 &&
		       config_find_profile(&c, "broken") == -1,
	       "a profile with errors is left out, the rest loads, config_load returns -1");
	config_set_free(&c);
	tpath(want, sizeof(want), "shipped/broken.yaml");
	unlink(want);

	put("scx_gamer.yaml", "schema: 1\nlog_level: loud\n", 0644);
	diags_free(&D);
	r = config_load(&paths, false, &c, &D);
	tap_ok(r == -1 && find_diag(DIAG_ERROR, 2, 12, "unknown log level", NULL) &&
		       c.daemon.log_level == LOG_INFO && c.daemon.defaults.set == 0 && c.n_profiles == 4,
	       "an invalid daemon file: an error, built-in defaults, profiles still load");
	config_set_free(&c);
	put("scx_gamer.yaml", "schema: 1\n", 0644);

	{
		char missing[512], fifo[512], good[512], bad[512];
		struct daemon_config dc;
		struct config_set one = { 0 };
		struct profile p;
		enum conf_file_status st;

		tpath(missing, sizeof(missing), "nope.yaml");
		diags_free(&D);
		st = config_load_profile(AT_FDCWD, missing, missing, "nope", false, &p, &D);
		tap_ok(st == CONF_FILE_GONE && D.n == 0,
		       "config_load_profile: a missing file is gone, and no error");
		st = config_load_profile(AT_FDCWD, shipped, shipped, "x", false, &p, &D);
		tap_ok(st == CONF_FILE_FAILED && find_diag(DIAG_ERROR, 0, 0, "not a regular file", NULL),
		       "config_load_profile: a directory is refused");
		tpath(fifo, sizeof(fifo), "fifo.yaml");
		diags_free(&D);
		st = mkfifo(fifo, 0644) ? CONF_FILE_UNREAD
					: config_load_profile(AT_FDCWD, fifo, fifo, "fifo", false, &p, &D);
		tap_ok(st == CONF_FILE_FAILED && find_diag(DIAG_ERROR, 0, 0, "not a regular file", NULL),
		       "config_load_profile: a FIFO is refused, without hanging");
		unlink(fifo);
		tpath(bad, sizeof(bad), "bad.yaml");
		put("bad.yaml", "schema: 1\nmatch: [ { comm: x } ]\nslice: many\n", 0644);
		diags_free(&D);
		st = config_load_profile(AT_FDCWD, bad, bad, "bad", false, &p, &D);
		tap_ok(st == CONF_FILE_FAILED && D.errors > 0, "config_load_profile: an invalid file failed");
		tpath(good, sizeof(good), "good.yaml");
		put("good.yaml", "schema: 1\nmatch: [ { comm: x } ]\n", 0644);
		diags_free(&D);
		st = config_load_profile(AT_FDCWD, good, good, "good", false, &p, &D);
		tap_ok(st == CONF_FILE_LOADED && D.n == 0 && !strcmp(p.id, "good"),
		       "config_load_profile: a valid file loads");
		if (st == CONF_FILE_LOADED) {
			tap_ok(config_put_profile(&one, &p) == 0 && one.n_profiles == 1 && !p.id,
			       "config_put_profile: added, and p is emptied");
			st = config_load_profile(AT_FDCWD, good, good, "good", false, &p, &D);
			tap_ok(st == CONF_FILE_LOADED && config_put_profile(&one, &p) == 0 &&
				       one.n_profiles == 1,
			       "config_put_profile: the same id replaces");
		}
		tap_ok(config_note_file(&one, good, CONF_FILE_LOADED) == 0 &&
			       config_note_file(&one, bad, CONF_FILE_FAILED) == 0 &&
			       config_note_file(&one, good, CONF_FILE_FAILED) == 0 &&
			       one.n_files == 2 && config_file_status(&one, good) == CONF_FILE_FAILED &&
			       config_file_status(&one, missing) == CONF_FILE_UNREAD,
		       "config_note_file: one status a file, the last one noted");
		config_set_free(&one);
		unlink(good);
		unlink(bad);
		diags_free(&D);
		st = config_load_daemon(missing, false, &dc, &D);
		tap_ok(st == CONF_FILE_GONE && D.n == 0, "config_load_daemon: a missing file is gone");
		st = config_load_daemon(cfg, false, &dc, &D);
		tap_ok(st == CONF_FILE_LOADED && D.n == 0, "config_load_daemon: a plain file loads");
		if (st == CONF_FILE_LOADED)
			daemon_config_free(&dc);

		/* A load says what each file came to: the scan's files, and the daemon's. */
		put("admin/broken.yaml", "schema: 1\nnope: 1\n", 0644);
		diags_free(&D);
		config_load(&paths, false, &one, &D);
		{
			char broken[512];

			tpath(broken, sizeof(broken), "admin/broken.yaml");
			tap_ok(config_file_status(&one, broken) == CONF_FILE_FAILED &&
				       config_file_status(&one, cfg) == CONF_FILE_LOADED &&
				       config_find_profile(&one, "broken") < 0,
			       "config_load: a broken profile's file is noted failed, the daemon's loaded");
			unlink(broken);
		}
		config_set_free(&one);
	}

	if (geteuid() != 0) {
		printf("ok %d # SKIP require_secure needs root to chown\n", ++tap_n);
		printf("ok %d # SKIP require_secure needs root to chown\n", ++tap_n);
		printf("ok %d # SKIP require_secure needs root to chown\n", ++tap_n);
		printf("ok %d # SKIP require_secure needs root to chown\n", ++tap_n);
		return;
	}
	/* The symlink target directory is not a profile directory: fine. */
	diags_free(&D);
	r = config_load(&paths, true, &c, &D);
	tap_ok(r == 0 && D.n == 0 && c.n_profiles == 4, "require_secure accepts root-owned 0644 files");
	config_set_free(&c);

	tpath(want, sizeof(want), "shipped/alpha.yaml");
	if (chmod(want, 0664)) {
		tap_bail("chmod failed");
		exit(1);
	}
	tpath(want, sizeof(want), "shipped/gamma.yaml");
	if (chown(want, 65534, 65534)) {
		tap_bail("chown failed");
		exit(1);
	}
	diags_free(&D);
	r = config_load(&paths, true, &c, &D);
	tap_ok(r == -1 && any_diag_with("the daemon refuses this file: writable by group or others (mode 0664)") &&
		       any_diag_with("the daemon refuses this file: owned by uid 65534, not root") &&
		       c.n_profiles == 2 && config_find_profile(&c, "alpha") == -1 &&
		       config_find_profile(&c, "gamma") == -1,
	       "require_secure refuses a group-writable file and a file not owned by root");
	config_set_free(&c);

	diags_free(&D);
	r = config_load(&paths, false, &c, &D);
	tap_ok(r == 0 && c.n_profiles == 4, "... which load without require_secure");
	config_set_free(&c);

	if (chmod(admin, 0775)) {
		tap_bail("chmod failed");
		exit(1);
	}
	diags_free(&D);
	r = config_load(&paths, true, &c, &D);
	tap_ok(r == -1 && find_diag(DIAG_ERROR, 0, 0, "the daemon refuses this directory: writable by group or others (mode 0775)", NULL) &&
		       !strcmp(D.v[0].file, admin) && config_find_profile(&c, "link") == -1,
	       "require_secure refuses a group-writable profile directory");
	config_set_free(&c);
}

static void test_fixture_dir(void)
{
	char dir[4096];
	struct config_paths paths = { NULL, NULL, dir };
	struct config_set c;
	int r, i;

	snprintf(dir, sizeof(dir), "%s/tests/host/fixtures/profiles", srcdir());
	diags_free(&D);
	r = config_load(&paths, false, &c, &D);
	i = config_find_profile(&c, "cs2");
	tap_ok(r == 0 && c.n_profiles == 2 && i == 1 &&
		       c.profiles[i].effective.slice_ns == 2000000 &&
		       c.profiles[i].effective.dm_min_boost == 4 &&
		       c.profiles[i].origin[TF_DM_MIN_BOOST] == 0 &&
		       c.profiles[i].effective.role_boost[GAMER_ROLE_NETWORK] == 4,
	       "the fixture profiles load: cs2 extends competitive");
	if (r)
		dump_diags();
	config_set_free(&c);
}

/* ---- the shipped file and the reference ------------------------------------------- */

static void test_shipped_and_docs(void)
{
	char path[4096], *doc;
	struct daemon_config dc;
	struct gamer_tunables t;
	int fd, r;
	bool ok;

	snprintf(path, sizeof(path), "%s/conf/scx_gamer.yaml", srcdir());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	diags_free(&D);
	r = fd >= 0 ? config_parse_daemon(fd, path, &dc, &D) : -1;
	if (fd >= 0)
		close(fd);
	tunables_builtin(&t);
	tap_ok(r == 0 && D.n == 0 && dc.defaults.set == (1u << TF_COUNT) - 1 &&
		       !memcmp(&dc.defaults.v, &t, sizeof(t)) && dc.log_level == LOG_INFO,
	       "conf/scx_gamer.yaml sets every key, to exactly the built-in values");
	if (r)
		dump_diags();
	else
		daemon_config_free(&dc);

	{
		char file[4096], shipped[4096], admin[4096];
		struct config_paths cp = { file, admin, shipped };
		struct config_set set;
		size_t bases = 0, games = 0;

		snprintf(file, sizeof(file), "%s/conf/scx_gamer.yaml", srcdir());
		snprintf(shipped, sizeof(shipped), "%s/profiles", srcdir());
		snprintf(admin, sizeof(admin), "%s/profiles/no-admin-dir", srcdir());
		diags_free(&D);
		r = config_load(&cp, false, &set, &D);
		for (size_t i = 0; i < set.n_profiles; i++) {
			bases += set.profiles[i].n_match == 0;
			games += set.profiles[i].n_match > 0;
		}
		tap_ok(r == 0 && D.n == 0 && games >= 8 && bases >= 1 && set.daemon.n_exclude >= 10,
		       "the shipped profiles (%zu games, %zu bases) and exclude list (%zu entries) load "
		       "without an error or a warning",
		       games, bases, set.daemon.n_exclude);
		if (D.n)
			dump_diags();
		config_set_free(&set);
	}

	snprintf(path, sizeof(path), "%s/docs/CONFIG.md", srcdir());
	doc = slurp(path);
	if (!tap_ok(doc != NULL, "docs/CONFIG.md is readable"))
		return;
	ok = true;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		char cell[96];
		const char *row, *end;
		char line[512];

		snprintf(cell, sizeof(cell), "| `%s` |", keys[i].path);
		row = strstr(doc, cell);
		if (!row) {
			printf("# docs/CONFIG.md has no row for %s\n", keys[i].path);
			ok = false;
			continue;
		}
		end = strchr(row, '\n');
		snprintf(line, sizeof(line), "%.*s", (int)(end ? end - row : 200), row);
		snprintf(cell, sizeof(cell), "| %s |", keys[i].range);
		if (!strstr(line, cell)) {
			printf("# docs row for %s lacks the range %s\n", keys[i].path, keys[i].range);
			ok = false;
		}
		snprintf(cell, sizeof(cell), "| `%s` |", keys[i].dflt);
		if (!strstr(line, cell)) {
			printf("# docs row for %s lacks the default %s\n", keys[i].path, keys[i].dflt);
			ok = false;
		}
	}
	tap_ok(ok, "docs/CONFIG.md has a row for every tunable with its range and default");
	tap_ok(strstr(doc, "tests/host/fixtures/bad/cs2.yaml:6:10: error: tunables.slice: '2' needs a unit") != NULL,
	       "docs/CONFIG.md quotes the parser's real output");
	free(doc);
}

/* The slice of profile id in c in ms, or -1 when c has no such profile. */
static long slice_ms_of(const struct config_set *c, const char *id)
{
	int i = config_find_profile(c, id);

	return i < 0 ? -1 : (long)(c->profiles[i].effective.slice_ns / 1000000);
}

/* Keep-last-good: a reload's set against the one before, on real files. */
static void test_keep_last_good(void)
{
	char cfg[512], admin[512], shipped[512], foo[512];
	struct config_paths paths = { cfg, admin, shipped };
	struct config_set old, next;
	bool secure = geteuid() == 0;
	int i;

	tpath(cfg, sizeof(cfg), "klg/scx_gamer.yaml");
	tpath(admin, sizeof(admin), "klg/admin");
	tpath(shipped, sizeof(shipped), "klg/shipped");
	tpath(foo, sizeof(foo), "klg/admin/foo.yaml");
	mkdir_t("klg", 0755);
	mkdir_t("klg/admin", 0755);
	mkdir_t("klg/shipped", 0755);
	put("klg/scx_gamer.yaml", "schema: 1\nlog_level: debug\n", 0644);
	put("klg/admin/foo.yaml", "schema: 1\nmatch: [ { comm: foo } ]\ntunables: { slice: 9ms }\n", 0644);
	put("klg/shipped/foo.yaml", "schema: 1\nmatch: [ { comm: foo } ]\ntunables: { slice: 2ms }\n", 0644);
	put("klg/admin/bar.yaml", "schema: 1\nmatch: [ { comm: bar } ]\ntunables: { slice: 3ms }\n", 0644);

	diags_free(&D);
	config_load(&paths, secure, &old, &D);
	tap_ok(D.errors == 0 && slice_ms_of(&old, "foo") == 9 && slice_ms_of(&old, "bar") == 3,
	       "keep-last-good: (setup) the admin foo hides the shipped one; bar loads");

	put("klg/admin/bar.yaml", "schema: 1\nmatch: [\n", 0644);
	put("klg/scx_gamer.yaml", "schema: 1\nlog_level: loud\n", 0644);
	diags_free(&D);
	config_load_files(&paths, secure, &next, &D);
	config_keep_last_good(&next, &old);
	config_resolve(&next, &D);
	tap_ok(slice_ms_of(&next, "bar") == 3 && next.daemon.log_level == LOG_DEBUG,
	       "keep-last-good: a broken profile and a broken daemon file keep their last good versions");
	config_set_free(&old);
	old = next;

	unlink(foo);
	tpath(foo, sizeof(foo), "klg/admin/bar.yaml");
	unlink(foo);
	diags_free(&D);
	config_load_files(&paths, secure, &next, &D);
	config_keep_last_good(&next, &old);
	config_resolve(&next, &D);
	tap_ok(slice_ms_of(&next, "bar") == -1 && slice_ms_of(&next, "foo") == 2,
	       "keep-last-good: a removed file's profile goes (and the shipped foo is back)");
	config_set_free(&old);
	old = next;

	if (!secure) {
		tap_skip(1, "a refused directory needs root (files owned by root)");
	} else {
		put("klg/admin/foo.yaml",
		    "schema: 1\nmatch: [ { comm: foo } ]\ntunables: { slice: 9ms }\n", 0644);
		put("klg/scx_gamer.yaml", "schema: 1\n", 0644);
		diags_free(&D);
		config_set_free(&old);
		config_load(&paths, true, &old, &D);
		/* Group-writable: refused, and the shipped foo must not replace the admin's. */
		tpath(foo, sizeof(foo), "klg/admin");
		chmod(foo, 0775);
		diags_free(&D);
		config_load_files(&paths, true, &next, &D);
		config_keep_last_good(&next, &old);
		config_resolve(&next, &D);
		i = config_find_profile(&next, "foo");
		tap_ok(D.errors > 0 && slice_ms_of(&next, "foo") == 9 && i >= 0 &&
			       strstr(next.profiles[i].path, "klg/admin/foo.yaml"),
		       "keep-last-good: a refused admin directory keeps its profiles, the shipped ones "
		       "stay hidden");
		chmod(foo, 0755);
		config_set_free(&old);
		old = next;
	}
	config_set_free(&old);
}

int main(void)
{
	test_builtin_and_names();
	test_accessors();
	test_format_round_trip();
	test_every_key();
	test_durations();
	test_integers_and_booleans();
	test_structure_errors();
	test_yaml_level();
	test_profile_parse();
	test_message_format();
	test_resolve();
	test_overlap();

	snprintf(tmp, sizeof(tmp), "%s/scx_gamer_config.XXXXXX",
		 getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp)) {
		tap_bail("cannot create a temporary directory");
		return 1;
	}
	test_load();
	test_keep_last_good();
	{
		char cmd[512];

		/* Our own directory, made by mkdtemp above. */
		snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmp);
		if (system(cmd))
			printf("# could not remove %s\n", tmp);
	}
	test_fixture_dir();
	test_shipped_and_docs();
	diags_free(&D);
	return tap_done();
}
