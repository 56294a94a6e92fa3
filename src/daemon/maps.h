/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Writing profiles into the scheduler's maps with the double-buffered slot
 * protocol described in bpf/intf.h. The daemon is the only writer.
 */
#ifndef SCX_GAMER_MAPS_H
#define SCX_GAMER_MAPS_H

#include <stddef.h>
#include <stdint.h>

#include "../../bpf/intf.h"

struct profile_maps {
	int ver_fd;   /* profile_ver */
	int slots_fd; /* profile_slots */
	int info_fd;  /* profile_info; -1 when not used */
	int counters_fd; /* counters; -1 (maps_open's default) when not used */
	int wait_hist_fd; /* wait_hist; likewise */
	/* The versions this writer stored last (the kernel's are the same). */
	uint64_t ver[GAMER_MAX_PROFILES];
};

/* Bind to the maps and read their current versions. */
int maps_open(struct profile_maps *m, int ver_fd, int slots_fd, int info_fd);
/* Describe slot id for `show` (no protocol: only userspace reads it). */
int maps_write_info(struct profile_maps *m, uint32_t id, const struct gamer_profile_info *info);
/* Publish new tunables for profile id; readers never see a partial value. */
int maps_write_profile(struct profile_maps *m, uint32_t id, const struct gamer_tunables *t);
/* Remove profile id: readers get GAMER_READ_ABSENT. */
int maps_remove_profile(struct profile_maps *m, uint32_t id);
/* Zero profile id's counters on every CPU (the slot goes to a new profile). */
int maps_zero_counters(struct profile_maps *m, uint32_t id);
/* Read profile id back from the kernel with the reader's protocol (for `show`). */
int maps_read_profile(int ver_fd, int slots_fd, uint32_t id, struct gamer_tunables *out);

/*
 * Every key of a map keyed by a u32 (pid, tid), sorted, each once: a walk
 * that races with a delete starts again from the first key, so a key can
 * come twice (a walk reads twice the map's size at most). *keys is
 * malloc'ed (NULL when there are none). 0, or -1 when out of memory or the
 * walk failed (what was read is still returned, and is short).
 */
int map_u32_keys(int fd, uint32_t **keys, size_t *n);
/* qsort/bsearch order of u32 keys. */
int map_cmp_u32(const void *a, const void *b);

#endif /* SCX_GAMER_MAPS_H */
