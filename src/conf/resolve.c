// SPDX-License-Identifier: GPL-2.0-only
/*
 * A set of parsed profiles resolved: `extends` chains followed (unknown and
 * cyclic ones are errors), each profile's effective tunables layered from
 * built-in < defaults < extends < its own, and warnings for profiles that
 * can match the same process with equal priority or apply to nothing.
 */
#include "config.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf-internal.h"

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
			conf_tun_copy(&p->effective, &b->v, (enum tunable_field)f);
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
