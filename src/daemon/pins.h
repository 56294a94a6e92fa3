/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The scheduler's maps that the daemon pins under its pin directory
 * (--pin-dir, /sys/fs/bpf/scx_gamer) for the commands to read. Each pin's
 * file name is the map's name in the BPF object, kept in one table.
 */
#ifndef SCX_GAMER_PINS_H
#define SCX_GAMER_PINS_H

#include <stddef.h>

/* In the order the daemon pins them. */
enum pin {
	PIN_PROFILE_VER,
	PIN_PROFILE_SLOTS,
	PIN_PROFILE_INFO,
	PIN_CFG_SEEN,
	PIN_COUNTERS,
	PIN_TASK_CLASS,
	PIN_PROC_CLASS,
	PIN_CLASS_GEN,
	PIN_TASK_CTXS,
	PIN_WAIT_HIST,
	PIN_COUNT,
};

/* The map's name ("proc_class"), which is also its file name; NULL if out of range. */
const char *pin_name(enum pin p);
/* "PIN_DIR/NAME" into buf (cut to len like snprintf). */
void pin_path(char *buf, size_t len, const char *pin_dir, enum pin p);

/* The pinned map's descriptor, or -1 with errno set (nothing said). */
int pin_open(const char *pin_dir, enum pin p);
/*
 * The same, saying why not when it fails: no pin (is the daemon running?),
 * not allowed (needs root), or the error.
 */
int pin_open_or_say(const char *pin_dir, enum pin p);

/* Remove the table's pins and pin_dir (if then empty). */
void pins_remove(const char *pin_dir);

#endif /* SCX_GAMER_PINS_H */
