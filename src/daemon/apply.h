/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Pushing a loaded configuration into the scheduler's maps: each profile id
 * keeps its slot across reloads, and only values that changed are written.
 */
#ifndef SCX_GAMER_APPLY_H
#define SCX_GAMER_APPLY_H

#include <stdbool.h>

#include "conf/conf.h"
#include "maps.h"

struct applied {
	char *id[GAMER_MAX_PROFILES]; /* slot -> profile id; slot 0 is the defaults */
	struct gamer_tunables value[GAMER_MAX_PROFILES];
	struct gamer_profile_info info[GAMER_MAX_PROFILES];
	bool live[GAMER_MAX_PROFILES];
	/* When (CLOCK_BOOTTIME) each slot was given its profile id. */
	uint64_t since_ns[GAMER_MAX_PROFILES];
};

struct apply_stats {
	unsigned int written, removed, unchanged;
};

/*
 * Make the maps hold exactly c: the defaults in slot 0 and every profile in
 * its slot. Returns 0, or -1 if a write failed or there were more profiles
 * than slots (those are reported and left out).
 */
int apply_config(struct applied *a, struct profile_maps *m, const struct config_set *c,
		 struct apply_stats *st);
/* Slot of profile id, or -1. */
int apply_slot_of(const struct applied *a, const char *id);
void applied_free(struct applied *a);

#endif /* SCX_GAMER_APPLY_H */
