// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pin names (see pins.h).
 */
#include "config.h"

#include <stdio.h>

#include "pins.h"

static const char *const pin_names[PIN_COUNT] = {
	[PIN_PROFILE_VER] = "profile_ver",
	[PIN_PROFILE_SLOTS] = "profile_slots",
	[PIN_PROFILE_INFO] = "profile_info",
	[PIN_CFG_SEEN] = "cfg_seen",
	[PIN_COUNTERS] = "counters",
	[PIN_TASK_CLASS] = "task_class",
	[PIN_PROC_CLASS] = "proc_class",
	[PIN_CLASS_GEN] = "class_gen",
	[PIN_TASK_CTXS] = "task_ctxs",
	[PIN_WAIT_HIST] = "wait_hist",
};

const char *pin_name(enum pin p)
{
	return (unsigned int)p < PIN_COUNT ? pin_names[p] : NULL;
}

void pin_path(char *buf, size_t len, const char *pin_dir, enum pin p)
{
	snprintf(buf, len, "%s/%s", pin_dir, pin_name(p));
}
