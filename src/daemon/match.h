/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which profile a process gets: matching its facts (procfs.h) against the
 * profiles' `match:` entries, the daemon file's `exclude:` entries and the
 * profiles' `threads:` rules. No BPF and no file reads here; detect.c writes
 * the result into the scheduler's maps.
 *
 * Precedence when several profiles match: the higher `priority`, then the
 * more specific key of the matching entry (steam_app_id > exe > wine_exe >
 * comm > cmdline; an entry counts by its most specific key), then the profile
 * id (the file name) in byte order.
 */
#ifndef SCX_GAMER_MATCH_H
#define SCX_GAMER_MATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "procfs.h"

/* True when entry e matches pi; else *failed is the first key that did not. */
bool match_entry_test(const struct match_entry *e, const struct proc_info *pi,
		      uint32_t *failed);
/* The most specific of an entry's keys (one MATCH_* bit). */
uint32_t match_entry_key(const struct match_entry *e);
/* Rank of a MATCH_* key for precedence: 5 (steam_app_id) .. 1 (cmdline). */
int match_key_rank(uint32_t key);
/* enum gamer_how of a MATCH_* key. */
unsigned int match_key_how(uint32_t key);
/* "steam_app_id", "comm", ... of a MATCH_* key. */
const char *match_key_name(uint32_t key);

/* One profile's verdict (explain). */
struct match_verdict {
	bool matched;
	int entry;	  /* the best matching entry; -1 */
	uint32_t key;	  /* its most specific key */
	char why[256];	  /* why it matched or not, for people */
};

struct match_result {
	int profile;	/* index into config_set.profiles, or -1 */
	int entry;	/* its matching entry */
	uint32_t key;	/* that entry's most specific key */
	int excluded;	/* index of the exclude entry that matched, or -1 */
	bool not_user;	/* its uid is not in the daemon file's game_users */
};

/* No game profile for it, by its own match or from its parent. */
static inline bool match_blocked(const struct match_result *r)
{
	return r->excluded >= 0 || r->not_user;
}

/*
 * The profile pi matches by itself. An excluded process, or one whose uid
 * game_users leaves out, matches nothing.
 * With verdicts (n_profiles long), each profile's verdict is filled too.
 */
void match_process(const struct config_set *c, const struct proc_info *pi,
		   struct match_result *r, struct match_verdict *verdicts);

/* Index of the first `threads:` rule of p matching thread name, or -1. */
int match_thread_rule(const struct profile *p, const char *name);

#endif /* SCX_GAMER_MATCH_H */
