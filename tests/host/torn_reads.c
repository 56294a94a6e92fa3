// SPDX-License-Identifier: GPL-2.0-only
/*
 * No BPF reader ever sees a half-written profile.
 *
 * A writer thread publishes self-checking values (bpf/intf_test.h) as fast as
 * it can through the daemon's own writer (src/daemon/maps.c) while the gamer_test_read
 * syscall program, running under the real verifier in the host kernel, reads
 * them with the scheduler's reader and counts values that mix two writes.
 *
 * The same reader check, pointed at a slot that is updated in place without
 * the protocol, must catch torn values: that shows the check can fail.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "daemon/maps.h"
/* scheduler.h brings intf.h, whose types the skeleton uses. */
#include "daemon/scheduler.h"
#include "daemon/gamer.skel.h"
#include "../bpf/intf_test.h"
#include "../tests/tap.h"

#define TEST_ID 7
#define RUN_SECONDS 2

static atomic_bool stop;

struct writer {
	struct profile_maps *maps;
	int slots_fd;
	int naive;
	unsigned long writes;
	int err;
};

static void *write_loop(void *arg)
{
	struct writer *w = arg;
	struct gamer_tunables t;
	uint32_t slot = 2 * TEST_ID;
	uint64_t k = 1;

	while (!atomic_load(&stop)) {
		gamer_test_fill(&t, k++);
		if (w->naive)
			w->err = bpf_map_update_elem(w->slots_fd, &slot, &t, BPF_ANY) ? -errno : 0;
		else
			w->err = maps_write_profile(w->maps, TEST_ID, &t);
		if (w->err)
			break;
		w->writes++;
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Hammer for RUN_SECONDS; returns the summed reader counts. The in-place run
 * (the negative control) stops at its first torn value, and may go on for up
 * to NAIVE_MAX_SECONDS: on a busy machine the writer and the reader seldom
 * overlap, and a control that saw nothing proves nothing.
 */
#define NAIVE_MAX_SECONDS 30
static int hammer(struct gamer_bpf *skel, struct profile_maps *maps, int naive,
		  struct gamer_test_read_args *sum, unsigned long *writes)
{
	int prog_fd = bpf_program__fd(skel->progs.gamer_test_read);
	struct writer w = { .maps = maps, .slots_fd = maps->slots_fd, .naive = naive };
	pthread_t tid;
	double end;
	int err = 0;

	memset(sum, 0, sizeof(*sum));
	atomic_store(&stop, false);
	if (pthread_create(&tid, NULL, write_loop, &w))
		return -1;
	end = now_s() + (naive ? NAIVE_MAX_SECONDS : RUN_SECONDS);
	while (now_s() < end && !(naive && sum->torn)) {
		struct gamer_test_read_args a = {
			.id = TEST_ID, .naive = (__u32)naive, .iterations = GAMER_TEST_READ_MAX,
		};
		/* Syscall programs write their ctx back into ctx_in. */
		LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &a, .ctx_size_in = sizeof(a));

		if (bpf_prog_test_run_opts(prog_fd, &opts) || opts.retval) {
			err = -1;
			break;
		}
		sum->ok += a.ok;
		sum->torn += a.torn;
		sum->busy += a.busy;
		sum->absent += a.absent;
	}
	atomic_store(&stop, true);
	pthread_join(tid, NULL);
	*writes = w.writes;
	return err ? err : w.err;
}

int main(void)
{
	struct gamer_test_read_args r;
	struct profile_maps maps;
	struct gamer_tunables t;
	unsigned long writes;
	struct sched s;

	if (geteuid() != 0) {
		printf("1..0 # SKIP loading BPF programs needs root\n");
		return 0;
	}
	log_max_level = LOG_WARN;
	if (sched_load(&s, false)) {
		tap_bail("cannot load the BPF object");
		return 1;
	}
	if (maps_open(&maps, bpf_map__fd(s.skel->maps.profile_ver),
		      bpf_map__fd(s.skel->maps.profile_slots), -1)) {
		tap_bail("cannot open the profile maps");
		return 1;
	}

	/* The reader's protocol, from userspace, on a quiet map. */
	gamer_test_fill(&t, 42);
	tap_ok(maps_write_profile(&maps, TEST_ID, &t) == 0, "publish a profile");
	memset(&t, 0, sizeof(t));
	tap_ok(maps_read_profile(maps.ver_fd, maps.slots_fd, TEST_ID, &t) == 0 &&
		       t.slice_ns == 42 && gamer_test_consistent(&t),
	       "read it back from the kernel");
	tap_ok(maps_read_profile(maps.ver_fd, maps.slots_fd, TEST_ID + 1, &t) == -ENOENT,
	       "a never-written profile reads as absent");

	tap_ok(hammer(s.skel, &maps, 0, &r, &writes) == 0, "protocol run completed");
	printf("# protocol: %lu writes, %u reads ok, %u torn, %u busy, %u absent\n", writes,
	       r.ok, r.torn, r.busy, r.absent);
	tap_ok(r.torn == 0, "no torn value under %lu concurrent writes (%u reads)", writes, r.ok);
	tap_ok(r.ok > 1000 && r.absent == 0, "the reader read (not skipped) most of the time");

	tap_ok(hammer(s.skel, &maps, 1, &r, &writes) == 0, "in-place run completed");
	printf("# in place: %lu writes, %u reads ok, %u torn\n", writes, r.ok, r.torn);
	tap_ok(r.torn > 0, "the check catches torn values when slots are updated in place");

	tap_ok(maps_remove_profile(&maps, TEST_ID) == 0 &&
		       maps_read_profile(maps.ver_fd, maps.slots_fd, TEST_ID, &t) == -ENOENT,
	       "a removed profile reads as absent");

	sched_destroy(&s);
	return tap_done();
}
