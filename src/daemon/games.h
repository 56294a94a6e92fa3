/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The running games as the kernel holds them: the pinned proc_class and
 * task_class maps, named through profile_info. Read by `status` and
 * `explain`; the daemon is never asked.
 */
#ifndef SCX_GAMER_GAMES_H
#define SCX_GAMER_GAMES_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "../../bpf/intf.h"
#include "pins.h"

struct game_entry {
	uint32_t pid;
	struct gamer_class c;
	char id[GAMER_ID_LEN]; /* the profile's id ("?" if its slot is empty) */
	char comm[16];	       /* from /proc ("" if gone) */
};

/*
 * Every proc_class entry, sorted by pid. Returns 0, or -1 when the maps are
 * not pinned (no daemon); quiet, the caller says what that means.
 */
int games_read(const char *pin_dir, struct game_entry **out, size_t *n);
/* How many task_class entries there are (threads with a class of their own); -1. */
int games_count_threads(const char *pin_dir);
/* The class of one thread (PIN_TASK_CLASS) or process (PIN_PROC_CLASS); 0 or -1. */
int games_lookup(const char *pin_dir, enum pin map, uint32_t key, struct gamer_class *c);
/* Profile id of a slot from profile_info into buf; "" if none. */
void games_slot_id(const char *pin_dir, unsigned int slot, char *buf, size_t len);
/* Wall-clock time of a CLOCK_BOOTTIME timestamp. */
time_t games_wall_time(uint64_t boot_ns);
/* "steam_app_id", "inherited", ... */
const char *games_how_name(unsigned int how);

#endif /* SCX_GAMER_GAMES_H */
