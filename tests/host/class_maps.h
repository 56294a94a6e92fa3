/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * For the detection tests: class maps and an event ring of the test's own,
 * in the host kernel, of the types bpf/gamer.bpf.c declares.
 */
#ifndef SCX_GAMER_TEST_CLASS_MAPS_H
#define SCX_GAMER_TEST_CLASS_MAPS_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "daemon/detect.h"

static int class_map(enum bpf_map_type type, __u32 key, __u32 value, __u32 n, const char *name)
{
	int fd = bpf_map_create(type, name, key, value, n, NULL);

	if (fd < 0)
		printf("# bpf_map_create(%s): %s\n", name, strerror(errno));
	return fd;
}

/* The maps detection binds to, in *k; false if one could not be made. */
static bool class_maps(struct detect_kernel *k)
{
	k->proc_class_fd = class_map(BPF_MAP_TYPE_HASH, 4, sizeof(struct gamer_class),
				     GAMER_MAX_PROC_CLASSES, "proc_class");
	k->task_class_fd = class_map(BPF_MAP_TYPE_HASH, 4, sizeof(struct gamer_class),
				     GAMER_MAX_TASK_CLASSES, "task_class");
	k->class_gen_fd = class_map(BPF_MAP_TYPE_ARRAY, 4, 8, 1, "class_gen");
	k->events_fd = class_map(BPF_MAP_TYPE_RINGBUF, 0, 0, 256 * 1024, "proc_events");
	return k->proc_class_fd >= 0 && k->task_class_fd >= 0 && k->class_gen_fd >= 0 &&
	       k->events_fd >= 0;
}

#endif /* SCX_GAMER_TEST_CLASS_MAPS_H */
