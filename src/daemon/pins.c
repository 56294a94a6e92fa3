// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pins: their names, opening one, and the daemon making and removing
 * them (see pins.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "log.h"
#include "pins.h"
#include "scheduler.h"

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

/* Mount bpffs on /sys/fs/bpf if nothing did (systemd does; minimal systems may not). */
static void ensure_bpffs(const char *pin_dir)
{
	struct statfs sf;
	int fd;

	if (strncmp(pin_dir, "/sys/fs/bpf/", 12) != 0)
		return;
	if (statfs("/sys/fs/bpf", &sf) == 0 && sf.f_type == BPF_FS_MAGIC)
		return;
	/*
	 * Two daemons starting at once would both find no bpffs and both mount
	 * one, the second hiding the first's pins: the check and the mount are
	 * done under a lock on the directory itself (the mount point's own
	 * inode, below any mount).
	 */
	fd = open("/sys/fs/bpf", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && flock(fd, LOCK_EX))
		log_debug("failed to lock /sys/fs/bpf: %s", strerror(errno));
	if (statfs("/sys/fs/bpf", &sf) == 0 && sf.f_type == BPF_FS_MAGIC)
		goto out;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		log_warn("failed to mount bpffs on /sys/fs/bpf: %s", strerror(errno));
	else
		log_info("mounted bpffs on /sys/fs/bpf");
out:
	if (fd >= 0)
		close(fd);
}

int pins_create(const char *pin_dir, const struct sched *s)
{
	char path[PATH_MAX];
	int i, fd;

	ensure_bpffs(pin_dir);
	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		log_warn("failed to create %s: %s; `scx_gamer show` will not work", pin_dir,
			 strerror(errno));
		return -1;
	}
	for (i = 0; i < PIN_COUNT; i++) {
		pin_path(path, sizeof(path), pin_dir, (enum pin)i);
		unlink(path);
		fd = sched_map_fd(s, (enum pin)i);
		if (fd < 0 || bpf_obj_pin(fd, path)) {
			log_warn("failed to pin %s: %s; `scx_gamer show` will not work", path,
				 strerror(errno));
			return -1;
		}
	}
	return 0;
}
