// SPDX-License-Identifier: GPL-2.0-only
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "maps.h"
#include "pins.h"

int maps_open(struct profile_maps *m, int ver_fd, int slots_fd, int info_fd)
{
	uint32_t id;

	memset(m, 0, sizeof(*m));
	m->ver_fd = ver_fd;
	m->slots_fd = slots_fd;
	m->info_fd = info_fd;
	m->counters_fd = -1;
	m->wait_hist_fd = -1;
	for (id = 0; id < GAMER_MAX_PROFILES; id++) {
		if (bpf_map_lookup_elem(ver_fd, &id, &m->ver[id])) {
			int err = -errno; /* logging may change errno */

			log_error("failed to read profile_ver[%u]: %s", id, strerror(-err));
			return err;
		}
	}
	return 0;
}

int maps_write_profile(struct profile_maps *m, uint32_t id, const struct gamer_tunables *t)
{
	uint64_t next;
	uint32_t slot;

	if (id >= GAMER_MAX_PROFILES)
		return -EINVAL;
	/* Version 0 means "absent", so a live profile's version never wraps to it. */
	next = m->ver[id] + 1;
	if (next == 0)
		next = 2;
	slot = 2 * id + (uint32_t)(next & 1);
	/* The slot is not live: readers of the current version use the other one. */
	if (bpf_map_update_elem(m->slots_fd, &slot, t, BPF_ANY)) {
		int err = -errno; /* logging may change errno */

		log_error("failed to write profile slot %u: %s", slot, strerror(-err));
		return err;
	}
	if (bpf_map_update_elem(m->ver_fd, &id, &next, BPF_ANY)) {
		int err = -errno; /* logging may change errno */

		log_error("failed to publish profile %u: %s", id, strerror(-err));
		return err;
	}
	m->ver[id] = next;
	return 0;
}

int maps_write_info(struct profile_maps *m, uint32_t id, const struct gamer_profile_info *info)
{
	if (m->info_fd < 0)
		return 0;
	if (bpf_map_update_elem(m->info_fd, &id, info, BPF_ANY)) {
		int err = -errno; /* logging may change errno */

		log_error("failed to write profile_info[%u]: %s", id, strerror(-err));
		return err;
	}
	return 0;
}

int maps_remove_profile(struct profile_maps *m, uint32_t id)
{
	uint64_t zero = 0;

	if (id >= GAMER_MAX_PROFILES)
		return -EINVAL;
	if (bpf_map_update_elem(m->ver_fd, &id, &zero, BPF_ANY)) {
		int err = -errno; /* logging may change errno */

		log_error("failed to remove profile %u: %s", id, strerror(-err));
		return err;
	}
	/*
	 * Keep counting from the old version: the next write must not land in
	 * the slot a reader of the old version may still be copying.
	 */
	return 0;
}

int maps_read_profile(int ver_fd, int slots_fd, uint32_t id, struct gamer_tunables *out)
{
	uint64_t v1, v2;
	uint32_t slot;
	int i;

	for (i = 0; i < 100; i++) {
		if (bpf_map_lookup_elem(ver_fd, &id, &v1))
			return -errno;
		if (v1 == 0)
			return -ENOENT;
		slot = 2 * id + (uint32_t)(v1 & 1);
		if (bpf_map_lookup_elem(slots_fd, &slot, out))
			return -errno;
		if (bpf_map_lookup_elem(ver_fd, &id, &v2))
			return -errno;
		if (v1 == v2)
			return 0;
	}
	return -EAGAIN;
}

/* Zero element id of a per-CPU map on every CPU; fd < 0: nothing to do. */
static int zero_percpu(int fd, uint32_t id, size_t value_size, const char *name)
{
	int ncpu, err = 0;
	void *zero;

	if (fd < 0)
		return 0;
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return -EINVAL;
	/* Per-CPU values are laid out 8-byte aligned, one per possible CPU. */
	zero = calloc((size_t)ncpu, (value_size + 7) & ~(size_t)7);
	if (!zero)
		return -ENOMEM;
	if (bpf_map_update_elem(fd, &id, zero, BPF_ANY)) {
		err = -errno;
		log_error("failed to reset %s[%u]: %s", name, id, strerror(-err));
	}
	free(zero);
	return err;
}

int maps_zero_counters(struct profile_maps *m, uint32_t id)
{
	int err = zero_percpu(m->counters_fd, id, sizeof(struct gamer_counters),
			      pin_name(PIN_COUNTERS));

	if (err)
		return err;
	return zero_percpu(m->wait_hist_fd, id, sizeof(struct gamer_wait_hist),
			   pin_name(PIN_WAIT_HIST));
}

int map_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

int map_u32_keys(int fd, uint32_t **keys, size_t *n)
{
	struct bpf_map_info info = { 0 };
	uint32_t key, next, *v = NULL, *nv, len = sizeof(info);
	size_t cnt = 0, cap = 0, k, most;
	void *prev = NULL;
	int ret = 0;

	/*
	 * Each delete of the key the walk stands on sends it back to the
	 * first key: a map changing fast could keep it going. Twice the map's
	 * size is read at most (what was missed is the next walk's).
	 */
	most = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.max_entries ?
		       2 * (size_t)info.max_entries : (size_t)1 << 20;
	for (;;) {
		if (bpf_map_get_next_key(fd, prev, &next)) {
			if (errno != ENOENT)
				ret = -1;
			break;
		}
		if (cnt == most)
			break;
		key = next;
		prev = &key;
		if (cnt == cap) {
			nv = realloc(v, (cap = cap ? 2 * cap : 256) * sizeof(*v));
			if (!nv) {
				ret = -1;
				break;
			}
			v = nv;
		}
		v[cnt++] = key;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), map_cmp_u32);
	for (size_t i = k = 0; i < cnt; i++)
		if (!k || v[i] != v[k - 1])
			v[k++] = v[i];
	*keys = v;
	*n = k;
	return ret;
}
