// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pins: their names, opening one, removing them (see pins.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "log.h"
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

int pin_open(const char *pin_dir, enum pin p)
{
	char path[PATH_MAX];

	pin_path(path, sizeof(path), pin_dir, p);
	return bpf_obj_get(path);
}

int pin_open_or_say(const char *pin_dir, enum pin p)
{
	char path[PATH_MAX];
	int fd = pin_open(pin_dir, p), err = errno;

	if (fd >= 0)
		return fd;
	pin_path(path, sizeof(path), pin_dir, p);
	if (err == ENOENT)
		log_error("no %s at %s: is the daemon running? (start it with '%s run')",
			  pin_name(p), path, PACKAGE_NAME);
	else if (err == EPERM || err == EACCES)
		log_error("cannot open %s: %s (reading the scheduler's maps needs root)", path,
			  strerror(err));
	else
		log_error("failed to open %s: %s", path, strerror(err));
	errno = err;
	return -1;
}

void pins_remove(const char *pin_dir)
{
	char path[PATH_MAX];

	for (int i = 0; i < PIN_COUNT; i++) {
		pin_path(path, sizeof(path), pin_dir, (enum pin)i);
		unlink(path);
	}
	rmdir(pin_dir);
}
