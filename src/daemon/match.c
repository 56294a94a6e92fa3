// SPDX-License-Identifier: GPL-2.0-only
/*
 * Matching processes to profiles (see match.h).
 */
#include "config.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "match.h"

/*
 * comm, the full name behind a truncated comm, or the name the process was
 * started as (argv[0]'s or the exe's basename): a program that renames its
 * main thread right away ("GameThread") is still the program its profile
 * names, at exec and at every rescan.
 */
static bool comm_matches(const char *glob, const struct proc_info *pi)
{
	char full[PATH_MAX];
	const char *f;

	if (fnmatch(glob, pi->comm, 0) == 0)
		return true;
	f = proc_full_name(pi, full, sizeof(full));
	if (f && fnmatch(glob, f, 0) == 0)
		return true;
	if (pi->argv0 && pi->argv0[0] && fnmatch(glob, proc_basename(pi->argv0), 0) == 0)
		return true;
	return pi->exe[0] && fnmatch(glob, proc_basename(pi->exe), 0) == 0;
}

static bool key_matches(const struct match_entry *e, uint32_t key, const struct proc_info *pi)
{
	switch (key) {
	case MATCH_STEAM_APP_ID:
		return pi->steam_app_id && pi->steam_app_id == e->steam_app_id;
	case MATCH_COMM:
		return comm_matches(e->comm, pi);
	case MATCH_EXE:
		return pi->exe[0] && fnmatch(e->exe, pi->exe, 0) == 0;
	case MATCH_CMDLINE:
		return fnmatch(e->cmdline, pi->cmdline ? pi->cmdline : "", 0) == 0;
	case MATCH_WINE_EXE:
		return pi->wine_exe[0] && fnmatch(e->wine_exe, pi->wine_exe, FNM_CASEFOLD) == 0;
	}
	return false;
}

static const uint32_t keys_by_rank[] = { MATCH_STEAM_APP_ID, MATCH_EXE, MATCH_WINE_EXE,
					 MATCH_COMM, MATCH_CMDLINE };
#define N_KEYS (sizeof(keys_by_rank) / sizeof(keys_by_rank[0]))

bool match_entry_test(const struct match_entry *e, const struct proc_info *pi, uint32_t *failed)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		uint32_t k = keys_by_rank[i];

		if ((e->keys & k) && !key_matches(e, k, pi)) {
			if (failed)
				*failed = k;
			return false;
		}
	}
	return e->keys != 0;
}

uint32_t match_entry_key(const struct match_entry *e)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		if (e->keys & keys_by_rank[i])
			return keys_by_rank[i];
	}
	return 0;
}

int match_key_rank(uint32_t key)
{
	for (size_t i = 0; i < N_KEYS; i++) {
		if (key == keys_by_rank[i])
			return (int)(N_KEYS - i);
	}
	return 0;
}

unsigned int match_key_how(uint32_t key)
{
	switch (key) {
	case MATCH_STEAM_APP_ID:
		return GAMER_HOW_STEAM_APP_ID;
	case MATCH_EXE:
		return GAMER_HOW_EXE;
	case MATCH_WINE_EXE:
		return GAMER_HOW_WINE_EXE;
	case MATCH_COMM:
		return GAMER_HOW_COMM;
	case MATCH_CMDLINE:
		return GAMER_HOW_CMDLINE;
	}
	return GAMER_HOW_NONE;
}

const char *match_key_name(uint32_t key)
{
	static const char *const names[] = { GAMER_HOWS(GAMER_HOW_NAME) };
	unsigned int how = match_key_how(key);

	return how < GAMER_HOW_COUNT ? names[how] : "?";
}

/* "comm 'cs2'" and what the process has, for explain. */
static void describe(char *buf, size_t len, const struct match_entry *e, uint32_t key,
		     const struct proc_info *pi, bool ok)
{
	const char *verb = ok ? "matches" : "does not match";

	switch (key) {
	case MATCH_STEAM_APP_ID:
		if (pi->steam_app_id)
			snprintf(buf, len, "steam_app_id %u %s %u (found at pid %d)",
				 e->steam_app_id, ok ? "is" : "is not", pi->steam_app_id,
				 pi->steam_from);
		else
			snprintf(buf, len, "steam_app_id %u: the process has no Steam app id",
				 e->steam_app_id);
		break;
	case MATCH_COMM:
		snprintf(buf, len, "comm '%s' %s '%s'", e->comm, verb, pi->comm);
		break;
	case MATCH_EXE:
		snprintf(buf, len, "exe '%s' %s '%.100s'", e->exe, verb, pi->exe);
		break;
	case MATCH_CMDLINE:
		snprintf(buf, len, "cmdline '%s' %s '%.80s'", e->cmdline, verb,
			 pi->cmdline ? pi->cmdline : "");
		break;
	case MATCH_WINE_EXE:
		if (pi->wine_exe[0])
			snprintf(buf, len, "wine_exe '%.60s' %s '%.60s'", e->wine_exe, verb,
				 pi->wine_exe);
		else
			snprintf(buf, len, "wine_exe '%s': not a Wine process", e->wine_exe);
		break;
	default:
		snprintf(buf, len, "an entry with no keys");
	}
}

void match_process(const struct config_set *c, const struct proc_info *pi,
		   struct match_result *r, struct match_verdict *verdicts)
{
	const struct daemon_config *dc = &c->daemon;
	int best_rank = 0;

	r->profile = -1;
	r->entry = -1;
	r->key = 0;
	r->excluded = -1;
	for (size_t i = 0; i < dc->n_exclude; i++) {
		if (match_entry_test(&dc->exclude[i], pi, NULL)) {
			r->excluded = (int)i;
			break;
		}
	}
	r->not_user = dc->has_game_users;
	for (size_t i = 0; i < dc->n_game_users && r->not_user; i++)
		r->not_user = dc->game_users[i] != pi->uid;

	for (size_t p = 0; p < c->n_profiles; p++) {
		const struct profile *pr = &c->profiles[p];
		struct match_verdict v = { .entry = -1 };
		uint32_t failed = 0;
		char what[160];
		int rank;

		for (size_t i = 0; i < pr->n_match; i++) {
			const struct match_entry *e = &pr->match[i];
			uint32_t f = 0;

			if (!match_entry_test(e, pi, &f)) {
				if (v.entry < 0 && !failed) {
					failed = f;
					describe(what, sizeof(what), e, f, pi, false);
					snprintf(v.why, sizeof(v.why), "match[%zu]: %.160s", i, what);
				}
				continue;
			}
			if (v.entry < 0 || match_key_rank(match_entry_key(e)) > match_key_rank(v.key)) {
				v.entry = (int)i;
				v.key = match_entry_key(e);
			}
		}
		if (v.entry >= 0) {
			v.matched = !match_blocked(r);
			describe(what, sizeof(what), &pr->match[v.entry], v.key, pi, true);
			if (r->not_user && pi->uid == UINT32_MAX)
				snprintf(v.why, sizeof(v.why),
					 "match[%d]: %.120s, but its uid cannot be read (game_users in %.60s)",
					 v.entry, what, dc->path ? dc->path : "the daemon file");
			else if (r->not_user)
				snprintf(v.why, sizeof(v.why),
					 "match[%d]: %.120s, but uid %u is not in game_users (in %.60s)",
					 v.entry, what, pi->uid, dc->path ? dc->path : "the daemon file");
			else if (r->excluded >= 0)
				snprintf(v.why, sizeof(v.why),
					 "match[%d]: %.120s, but the process is excluded (exclude[%d] in %.60s)",
					 v.entry, what, r->excluded, dc->path ? dc->path : "the daemon file");
			else
				snprintf(v.why, sizeof(v.why), "match[%d]: %.160s", v.entry, what);
		} else if (pr->n_match > 1) {
			/* The first entry's reason stands for all; say there were more. */
			size_t l = strlen(v.why);

			snprintf(v.why + l, sizeof(v.why) - l, " (and %zu more entries do not match)",
				 pr->n_match - 1);
		}
		if (verdicts)
			verdicts[p] = v;
		if (!v.matched)
			continue;
		rank = match_key_rank(v.key);
		/* Profiles are sorted by id: on a full tie the earlier one stays. */
		if (r->profile < 0 || pr->priority > c->profiles[r->profile].priority ||
		    (pr->priority == c->profiles[r->profile].priority && rank > best_rank)) {
			r->profile = (int)p;
			r->entry = v.entry;
			r->key = v.key;
			best_rank = rank;
		}
	}
}

int match_thread_rule(const struct profile *p, const char *name)
{
	for (size_t i = 0; i < p->n_threads; i++) {
		for (size_t j = 0; j < p->threads[i].n_names; j++) {
			if (fnmatch(p->threads[i].names[j], name, 0) == 0)
				return (int)i;
		}
	}
	return -1;
}
