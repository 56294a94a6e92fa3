// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the configuration parser (src/conf/).
 *
 * Every input is read both as scx_gamer.yaml and as a profile. Whatever the
 * input, the parsers must not crash, leak or hit undefined behaviour, and
 * what they return must be consistent:
 *
 *  - a parser returns 0 exactly when it added no error, and on failure its
 *    output holds nothing (all zero);
 *  - the messages of one file come out sorted by line and column, each with
 *    a file name and a text;
 *  - a profile that parses has a name, at least one match entry with a value
 *    for every key it says it has, and thread rules within their ranges;
 *  - the tunables of a good file, layered through config_resolve() together
 *    with two fixed profiles (one extended by the input, one extending it, so
 *    extends chains, cycles and overlap warnings all get exercised), print
 *    with tunable_format() as text that parses back to the same values.
 *
 * A broken invariant aborts, which libFuzzer reports as a crash.
 *
 * Build: see `make fuzz` in Makefile.am (clang -fsanitize=fuzzer,address,undefined).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

#define FUZZ_FILE "fuzz.yaml"
#define FUZZ_ID "fuzz"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

static __attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("fuzz_config: invariant broken: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* What every parse must leave in d (messages added from index `from` on). */
static void check_diags(const struct diags *d, size_t from, int ret, const char *what)
{
	size_t errors = 0;

	if (d->n > d->cap)
		fail("%s: diags n %zu > cap %zu", what, d->n, d->cap);
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];

		if (!g->file || !g->msg)
			fail("%s: message %zu without file or text", what, i);
		if (g->severity != DIAG_ERROR && g->severity != DIAG_WARNING)
			fail("%s: message %zu has severity %d", what, i, (int)g->severity);
		if (g->severity == DIAG_ERROR)
			errors++;
		if (i > from && (d->v[i - 1].line > g->line ||
				 (d->v[i - 1].line == g->line && d->v[i - 1].col > g->col)))
			fail("%s: messages %zu and %zu out of order", what, i - 1, i);
	}
	/* Only an allocation failure loses a text; the fuzzer has no such failures. */
	if (errors != d->errors)
		fail("%s: %zu error messages but errors = %zu", what, errors, d->errors);
	if ((ret == 0) != (d->errors == 0))
		fail("%s: returned %d with %zu errors", what, ret, d->errors);
	diags_print(d, devnull);
}

/*
 * Every field of t written out as a `defaults:` block in schema order (the
 * fields of a group are next to each other), read back, and compared.
 */
static void check_roundtrip(const struct gamer_tunables *t, const char *what)
{
	char yaml[4096], val[64], group[64] = "";
	size_t used = 0;
	struct daemon_config dc;
	struct diags d = { 0 };
	int r;

	used += (size_t)snprintf(yaml + used, sizeof(yaml) - used, "schema: 1\ndefaults:\n");
	for (int f = 0; f < TF_COUNT; f++) {
		const char *path = tunable_field_path((enum tunable_field)f);
		const char *dot = strchr(path, '.');

		tunable_format(t, (enum tunable_field)f, val, sizeof(val));
		if (dot) {
			size_t glen = (size_t)(dot - path);

			if (strlen(group) != glen || strncmp(group, path, glen)) {
				snprintf(group, sizeof(group), "%.*s", (int)glen, path);
				used += (size_t)snprintf(yaml + used, sizeof(yaml) - used, "  %s:\n",
							 group);
			}
			used += (size_t)snprintf(yaml + used, sizeof(yaml) - used, "    %s: %s\n",
						 dot + 1, val);
		} else {
			group[0] = '\0';
			used += (size_t)snprintf(yaml + used, sizeof(yaml) - used, "  %s: %s\n",
						 path, val);
		}
		if (used >= sizeof(yaml))
			fail("%s: round-trip text too long", what);
	}

	r = config_parse_daemon_buf(yaml, used, "roundtrip.yaml", &dc, &d);
	if (r || d.n) {
		fputs(yaml, stderr);
		diags_print(&d, stderr);
		fail("%s: tunable_format() output does not parse back", what);
	}
	if (dc.defaults.set != (1u << TF_COUNT) - 1)
		fail("%s: round trip set %#x", what, dc.defaults.set);
	for (int f = 0; f < TF_COUNT; f++) {
		uint64_t a = tunable_get(t, (enum tunable_field)f);
		uint64_t b = tunable_get(&dc.defaults.v, (enum tunable_field)f);

		if (a != b) {
			fputs(yaml, stderr);
			fail("%s: %s was %llu, reads back as %llu", what,
			     tunable_field_path((enum tunable_field)f), (unsigned long long)a,
			     (unsigned long long)b);
		}
	}
	daemon_config_free(&dc);
	diags_free(&d);
}

/* Invariants of a list of match entries (a profile's match, the daemon's exclude). */
static void check_entries(const struct match_entry *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct match_entry *m = &list[i];

		if (!m->keys)
			fail("match[%zu] has no keys", i);
		if (m->keys & ~(uint32_t)(MATCH_STEAM_APP_ID | MATCH_COMM | MATCH_EXE |
					  MATCH_CMDLINE | MATCH_WINE_EXE))
			fail("match[%zu] keys %#x", i, m->keys);
		if ((m->keys & MATCH_STEAM_APP_ID) && !m->steam_app_id)
			fail("match[%zu] steam_app_id 0", i);
		if (!(m->keys & MATCH_COMM) != !m->comm || !(m->keys & MATCH_EXE) != !m->exe ||
		    !(m->keys & MATCH_CMDLINE) != !m->cmdline ||
		    !(m->keys & MATCH_WINE_EXE) != !m->wine_exe)
			fail("match[%zu] keys %#x do not agree with its strings", i, m->keys);
	}
}

static void check_profile(const struct profile *p)
{
	if (!p->id || !p->path || !p->name)
		fail("profile without id, path or name");
	if (p->priority < 0 || p->priority > 100)
		fail("priority %d", p->priority);
	/* No match entries is a base profile; a list is never empty. */
	if (!p->n_match != !p->match)
		fail("n_match %zu does not agree with the list", p->n_match);
	check_entries(p->match, p->n_match);
	if (!p->n_threads != !p->threads)
		fail("%zu thread rules at %p", p->n_threads, (void *)p->threads);
	for (size_t i = 0; i < p->n_threads; i++) {
		const struct thread_rule *r = &p->threads[i];

		if (!r->n_names || !r->names)
			fail("threads[%zu] without names", i);
		for (size_t j = 0; j < r->n_names; j++)
			if (!r->names[j] || !*r->names[j])
				fail("threads[%zu].name[%zu] missing", i, j);
		if ((unsigned int)r->role >= GAMER_ROLE_COUNT)
			fail("threads[%zu] role %d", i, (int)r->role);
		if (r->boost < -1 || r->boost > GAMER_BOOST_MAX)
			fail("threads[%zu] boost %d", i, r->boost);
	}
}

/*
 * Two fixed profiles next to the input's: "base" (which the input may extend)
 * and "loop" (which extends the input, so `extends: loop` is a cycle). Their
 * match entries are globs that can overlap the input's at the same priority.
 */
static const char base_yaml[] = "schema: 1\n"
				"match:\n"
				"  - comm: \"game*\"\n"
				"  - steam_app_id: 730\n"
				"tunables:\n"
				"  slice: 1.5ms\n"
				"  roles: {render: 7}\n";
static const char loop_yaml[] = "schema: 1\n"
				"extends: " FUZZ_ID "\n"
				"match:\n"
				"  - exe: \"*\"\n"
				"tunables:\n"
				"  rate_monotonic: {period: 250us}\n";

static void add_fixed(struct config_set *set, const char *yaml, const char *id)
{
	struct diags d = { 0 };

	if (config_parse_profile_buf(yaml, strlen(yaml), id, id,
				     &set->profiles[set->n_profiles], &d))
		fail("fixed profile %s does not parse", id);
	set->n_profiles++;
	diags_free(&d);
}

/* Takes p and dc (either may be NULL); frees everything. */
static void check_resolve(struct profile *p, struct daemon_config *dc)
{
	struct config_set set = { 0 };
	struct diags d = { 0 };
	int r;

	set.profiles = calloc(3, sizeof(*set.profiles));
	if (!set.profiles)
		abort();
	if (dc)
		set.daemon = *dc;
	set.profiles[set.n_profiles++] = *p;
	add_fixed(&set, base_yaml, "base");
	add_fixed(&set, loop_yaml, "loop");

	r = config_resolve(&set, &d);
	check_diags(&d, d.n, r, "config_resolve");
	if (set.n_profiles > 3)
		fail("config_resolve kept %zu of 3 profiles", set.n_profiles);
	for (size_t i = 0; i < set.n_profiles; i++) {
		const struct profile *q = &set.profiles[i];

		if (i && strcmp(set.profiles[i - 1].id, q->id) >= 0)
			fail("profiles not sorted by id");
		for (int f = 0; f < TF_COUNT; f++)
			if (q->origin[f] < ORIGIN_DEFAULTS || q->origin[f] >= (int)set.n_profiles)
				fail("profile %s origin[%d] = %d", q->id, f, q->origin[f]);
		check_roundtrip(&q->effective, q->id);
	}
	config_set_free(&set);
	diags_free(&d);
}

/* Files that must be refused, each for one reason. */
static const char *const refused[] = {
	/* a NUL from an escape: strcmp() saw "log_level", the duplicate went unseen */
	"schema: 1\nlog_level: info\n\"log_level\\0\": debug\n",
	"schema: 1\nlog_level: \"info\\0junk\"\n",
	/* a dotted or empty key reached a nested tunable, past the duplicate check */
	"schema: 1\ndefaults:\n  deadline_miss: {threshold: 2}\n  deadline_miss.threshold: 5\n",
	"schema: 1\ndefaults:\n  deadline_miss: {\"\": {threshold: 4}}\n",
};

/*
 * game_users names: a fixed table, not the system's user database (NSS may
 * be slow, change between runs, or ask the network).
 */
static int fuzz_user_lookup(const char *name, uint32_t *uid)
{
	if (!strcmp(name, "root")) {
		*uid = 0;
		return 0;
	}
	if (!strcmp(name, "player")) {
		*uid = 1000;
		return 0;
	}
	return -ENOENT;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char big[CONFIG_MAX_FILE_SIZE + 1];
	struct daemon_config dc;
	struct diags d = { 0 };

	config_set_user_lookup(fuzz_user_lookup);

	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();

	/* The size limit, which the fuzzer's inputs never reach. */
	memset(big, '#', sizeof(big));
	if (!config_parse_daemon_buf(big, sizeof(big), FUZZ_FILE, &dc, &d) || !d.errors)
		fail("a file over the size limit was accepted");
	diags_free(&d);
	memcpy(big, "schema: 1\n", 10);
	if (config_parse_daemon_buf(big, sizeof(big) - 1, FUZZ_FILE, &dc, &d))
		fail("a file of exactly the size limit was refused");
	daemon_config_free(&dc);
	diags_free(&d);

	/* Found while writing this target: each of these was once accepted. */
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (!config_parse_daemon_buf(refused[i], strlen(refused[i]), FUZZ_FILE, &dc, &d))
			fail("accepted: %s", refused[i]);
		diags_free(&d);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct daemon_config dc;
	struct profile p;
	struct diags d = { 0 };
	bool have_dc;
	int r;

	/* scx_gamer.yaml */
	r = config_parse_daemon_buf(buf, size, FUZZ_FILE, &dc, &d);
	check_diags(&d, 0, r, "daemon");
	if (r && !all_zero(&dc, sizeof(dc)))
		fail("daemon: failed parse left output behind");
	have_dc = !r;
	if (have_dc) {
		struct gamer_tunables t;

		if (!dc.path || strcmp(dc.path, FUZZ_FILE))
			fail("daemon: path not kept");
		if ((unsigned int)dc.log_level > LOG_DEBUG)
			fail("daemon: log level %d", (int)dc.log_level);
		if (!dc.n_exclude != !dc.exclude)
			fail("daemon: n_exclude %zu does not agree with the list", dc.n_exclude);
		check_entries(dc.exclude, dc.n_exclude);
		tunables_builtin(&t);
		tunables_apply(&t, &dc.defaults);
		check_roundtrip(&t, "daemon");
	}
	diags_free(&d);
	if (!all_zero(&d, sizeof(d)))
		fail("diags_free left something behind");

	/* the same bytes as a profile */
	r = config_parse_profile_buf(buf, size, FUZZ_FILE, FUZZ_ID, &p, &d);
	check_diags(&d, 0, r, "profile");
	if (r) {
		if (!all_zero(&p, sizeof(p)))
			fail("profile: failed parse left output behind");
		if (have_dc)
			daemon_config_free(&dc);
	} else {
		check_profile(&p);
		check_roundtrip(&p.tunables.v, "profile");
		check_resolve(&p, have_dc ? &dc : NULL); /* takes both */
	}
	diags_free(&d);
	return 0;
}
