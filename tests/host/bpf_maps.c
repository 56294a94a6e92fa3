// SPDX-License-Identifier: GPL-2.0-only
/*
 * The BPF object loads into the host kernel (no sched_ext there) with its
 * struct_ops left out, and its maps are real kernel maps: what the daemon
 * writes through the skeleton is what the kernel holds.
 *
 * Loading at all proves every kfunc is declared weak: one strong declaration
 * and a kernel without sched_ext refuses the object.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
/* scheduler.h brings intf.h, whose types the skeleton uses. */
#include "daemon/maps.h"
#include "daemon/scheduler.h"
#include "daemon/gamer.skel.h"
#include "../tests/tap.h"

static int lookup_data(struct bpf_map *map, void *buf)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(bpf_map__fd(map), &key, buf);
}

int main(void)
{
	struct sched s;
	char name[32];
	void *buf;
	size_t data_sz;

	if (geteuid() != 0) {
		printf("1..0 # SKIP creating BPF maps needs root\n");
		return 0;
	}
	log_max_level = LOG_WARN;

	if (!tap_ok(sched_load(&s, false) == 0, "BPF object loads maps-only on the host kernel")) {
		tap_bail("cannot continue without the object");
		return 1;
	}

	tap_ok(bpf_object__find_map_by_name(s.skel->obj, "gamer_ops") != NULL,
	       "the object holds the gamer_ops struct_ops map");
	tap_ok(bpf_map__type(s.skel->maps.events) == BPF_MAP_TYPE_RINGBUF &&
		       bpf_map__fd(s.skel->maps.events) >= 0,
	       "events ring buffer exists in the kernel");
	tap_ok(sched_events_fd(&s) >= 0, "events ring buffer has a pollable fd");

	/* A global written through the skeleton's mmap is in the kernel's .bss map. */
	s.skel->bss->test_error_code = 1234567;
	data_sz = bpf_map__value_size(s.skel->maps.bss);
	buf = calloc(1, data_sz);
	tap_ok(buf && lookup_data(s.skel->maps.bss, buf) == 0 &&
		       memcmp(buf, s.skel->bss, data_sz) == 0,
	       "a global written by userspace reads back from the kernel's .bss map");
	s.skel->bss->test_error_code = 0;
	free(buf);

	tap_ok(sched_exit_info(&s) == NULL, "no exit record before the scheduler ever ran");
	s.skel->bss->exit_info.kind = 1025;
	tap_ok(sched_exit_info(&s) != NULL && sched_exit_is_error(sched_exit_info(&s)),
	       "an exit record of kind SCX_EXIT_ERROR_BPF reads as an error");
	s.skel->bss->exit_info.kind = 65;
	s.skel->bss->exit_info.exit_code = GAMER_EXIT_CODE_ERROR;
	tap_ok(sched_exit_is_error(sched_exit_info(&s)),
	       "SCX_EXIT_UNREG_BPF with GAMER_EXIT_CODE_ERROR reads as an error");
	s.skel->bss->exit_info.exit_code = 0;
	tap_ok(!sched_exit_is_error(sched_exit_info(&s)),
	       "SCX_EXIT_UNREG_BPF with exit code 0 is an orderly stop");
	s.skel->bss->exit_info.kind = 64;
	tap_ok(!sched_exit_is_error(sched_exit_info(&s)), "SCX_EXIT_UNREG is not an error");
	s.skel->bss->exit_info.kind = 1026;
	tap_ok(sched_exit_is_error(sched_exit_info(&s)), "SCX_EXIT_ERROR_STALL is an error");

	tap_ok(strcmp(sched_exit_kind_name(64, name, sizeof(name)), "SCX_EXIT_UNREG") == 0,
	       "kind 64 is named SCX_EXIT_UNREG");
	tap_ok(strcmp(sched_exit_kind_name(4242, name, sizeof(name)), "SCX_EXIT_4242") == 0,
	       "an unknown kind is named by its number");

	/* The daemon's one map walk, on the real task_class map. */
	{
		static const uint32_t put[] = { 900, 7, 65536, 42, 1 };
		struct gamer_class c = { 0 };
		int fd = bpf_map__fd(s.skel->maps.task_class);
		uint32_t *keys;
		size_t n;
		bool ok = true;

		for (size_t i = 0; i < sizeof(put) / sizeof(put[0]); i++)
			ok &= bpf_map_update_elem(fd, &put[i], &c, BPF_ANY) == 0;
		ok &= map_u32_keys(fd, &keys, &n) == 0;
		tap_ok(ok && n == 5 && keys[0] == 1 && keys[1] == 7 && keys[2] == 42 &&
			       keys[3] == 900 && keys[4] == 65536,
		       "map_u32_keys: every key, once, in order");
		free(keys);
		for (size_t i = 0; i < sizeof(put) / sizeof(put[0]); i++)
			bpf_map_delete_elem(fd, &put[i]);
		tap_ok(map_u32_keys(fd, &keys, &n) == 0 && n == 0 && !keys,
		       "map_u32_keys: an empty map, no keys");
	}

	sched_destroy(&s);
	return tap_done();
}
