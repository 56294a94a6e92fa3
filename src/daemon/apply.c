// SPDX-License-Identifier: GPL-2.0-only
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "evfd.h"
#include "log.h"

_Static_assert(TF_COUNT == GAMER_TUNABLE_COUNT, "intf.h and conf.h disagree on the tunables");

int apply_slot_of(const struct applied *a, const char *id)
{
	int i;

	for (i = 1; i < GAMER_MAX_PROFILES; i++) {
		if (a->id[i] && strcmp(a->id[i], id) == 0)
			return i;
	}
	return -1;
}

static int free_slot(const struct applied *a)
{
	int i;

	for (i = 1; i < GAMER_MAX_PROFILES; i++) {
		if (!a->id[i])
			return i;
	}
	return -1;
}

/* origin[] of a profile (config indices) as slots (see struct gamer_profile_info). */
static int16_t origin_slot(const struct applied *a, const struct config_set *c, int16_t origin)
{
	if (origin == ORIGIN_DEFAULTS)
		return GAMER_PROFILE_DEFAULTS;
	if (origin < 0 || (size_t)origin >= c->n_profiles)
		return GAMER_ORIGIN_BUILTIN;
	return (int16_t)apply_slot_of(a, c->profiles[origin].id);
}

static int push(struct applied *a, struct profile_maps *m, int slot,
		const struct gamer_tunables *t, const struct gamer_profile_info *info,
		struct apply_stats *st)
{
	bool same_info = a->live[slot] && memcmp(&a->info[slot], info, sizeof(*info)) == 0;

	/* Info first: `show` may then name a file whose value is a moment old. */
	if (!same_info) {
		if (maps_write_info(m, (uint32_t)slot, info))
			return -1;
		a->info[slot] = *info;
	}
	if (a->live[slot] && memcmp(&a->value[slot], t, sizeof(*t)) == 0) {
		st->unchanged++;
		return 0;
	}
	if (maps_write_profile(m, (uint32_t)slot, t))
		return -1;
	a->value[slot] = *t;
	a->live[slot] = true;
	st->written++;
	return 0;
}

static void set_str(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

int apply_config(struct applied *a, struct profile_maps *m, const struct config_set *c,
		 struct apply_stats *st)
{
	struct gamer_profile_info info;
	struct gamer_tunables defaults;
	int ret = 0, slot, i, f;
	size_t p;

	memset(st, 0, sizeof(*st));
	tunables_builtin(&defaults);
	tunables_apply(&defaults, &c->daemon.defaults);
	memset(&info, 0, sizeof(info));
	set_str(info.id, sizeof(info.id), "defaults");
	set_str(info.path, sizeof(info.path), c->daemon.path);
	for (f = 0; f < TF_COUNT; f++)
		info.origin[f] = (c->daemon.defaults.set & (1u << f)) ? GAMER_PROFILE_DEFAULTS
								      : GAMER_ORIGIN_BUILTIN;
	if (push(a, m, GAMER_PROFILE_DEFAULTS, &defaults, &info, st))
		ret = -1;

	/* Profiles that are gone first, so their slots can be reused. */
	for (i = 1; i < GAMER_MAX_PROFILES; i++) {
		if (!a->id[i] || config_find_profile(c, a->id[i]) >= 0)
			continue;
		if (maps_remove_profile(m, (uint32_t)i))
			ret = -1;
		memset(&info, 0, sizeof(info));
		if (maps_write_info(m, (uint32_t)i, &info))
			ret = -1;
		a->info[i] = info;
		free(a->id[i]);
		a->id[i] = NULL;
		a->live[i] = false;
		st->removed++;
	}

	/* Slots for new profiles before any info is built: origins name slots. */
	for (p = 0; p < c->n_profiles; p++) {
		const struct profile *pr = &c->profiles[p];

		if (apply_slot_of(a, pr->id) >= 0)
			continue;
		slot = free_slot(a);
		if (slot < 0) {
			log_error("%s: no room for profile '%s': at most %d profiles",
				  pr->path, pr->id, GAMER_MAX_PROFILES - 1);
			ret = -1;
			continue;
		}
		a->id[slot] = strdup(pr->id);
		if (!a->id[slot])
			ret = -1;
		a->since_ns[slot] = boottime_ns();
		/* Counts of the slot's previous profile are not this one's. */
		if (maps_zero_counters(m, (uint32_t)slot))
			ret = -1;
	}

	for (p = 0; p < c->n_profiles; p++) {
		const struct profile *pr = &c->profiles[p];

		slot = apply_slot_of(a, pr->id);
		if (slot < 0)
			continue;
		memset(&info, 0, sizeof(info));
		set_str(info.id, sizeof(info.id), pr->id);
		set_str(info.path, sizeof(info.path), pr->path);
		for (f = 0; f < TF_COUNT; f++)
			info.origin[f] = origin_slot(a, c, pr->origin[f]);
		if (push(a, m, slot, &pr->effective, &info, st))
			ret = -1;
	}
	return ret;
}

void applied_free(struct applied *a)
{
	int i;

	for (i = 0; i < GAMER_MAX_PROFILES; i++) {
		free(a->id[i]);
		a->id[i] = NULL;
	}
}
