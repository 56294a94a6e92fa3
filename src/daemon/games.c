// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading the running games from the kernel's maps (see games.h).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "games.h"

static int open_quiet(const char *dir, enum pin pin)
{
	char path[PATH_MAX];

	pin_path(path, sizeof(path), dir, pin);
	return bpf_obj_get(path);
}

void games_slot_id(const char *pin_dir, unsigned int slot, char *buf, size_t len)
{
	struct gamer_profile_info info;
	int fd = open_quiet(pin_dir, PIN_PROFILE_INFO);
	uint32_t key = slot;

	buf[0] = '\0';
	if (fd < 0)
		return;
	if (bpf_map_lookup_elem(fd, &key, &info) == 0) {
		info.id[GAMER_ID_LEN - 1] = '\0';
		snprintf(buf, len, "%s", info.id);
	}
	close(fd);
}

int games_lookup(const char *pin_dir, enum pin map, uint32_t key, struct gamer_class *c)
{
	int fd = open_quiet(pin_dir, map), ret;

	if (fd < 0)
		return -1;
	ret = bpf_map_lookup_elem(fd, &key, c) ? -1 : 0;
	close(fd);
	return ret;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

int games_count_threads(const char *pin_dir)
{
	uint32_t key, next, *keys = NULL, *nk;
	size_t n = 0, cap = 0, uniq = 0;
	void *prev = NULL;
	int fd = open_quiet(pin_dir, PIN_TASK_CLASS);

	if (fd < 0)
		return -1;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (n == cap) {
			nk = realloc(keys, (cap = cap ? 2 * cap : 256) * sizeof(*keys));
			if (!nk)
				break;
			keys = nk;
		}
		keys[n++] = key;
	}
	close(fd);
	/* A walk that raced with a delete restarts from the first key: count once. */
	if (n)
		qsort(keys, n, sizeof(*keys), cmp_u32);
	for (size_t i = 0; i < n; i++)
		uniq += !i || keys[i] != keys[i - 1];
	free(keys);
	return (int)uniq;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct game_entry *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static void read_comm(uint32_t pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

int games_read(const char *pin_dir, struct game_entry **out, size_t *n)
{
	struct game_entry *v = NULL, *nv;
	size_t cap = 0, cnt = 0;
	uint32_t key, next;
	void *prev = NULL;
	int fd = open_quiet(pin_dir, PIN_PROC_CLASS);

	*out = NULL;
	*n = 0;
	if (fd < 0)
		return -1;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct game_entry g = { .pid = next };

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &g.c))
			continue;
		if (cnt == cap) {
			nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[cnt++] = g;
	}
	close(fd);
	for (size_t i = 0; i < cnt; i++) {
		games_slot_id(pin_dir, v[i].c.slot, v[i].id, sizeof(v[i].id));
		if (!v[i].id[0])
			snprintf(v[i].id, sizeof(v[i].id), "?");
		read_comm(v[i].pid, v[i].comm, sizeof(v[i].comm));
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_pid);
	/* A walk that raced with a delete restarts from the first key: dedupe. */
	for (size_t i = 1, k = 1; i <= cnt; i++) {
		if (i == cnt) {
			cnt = k;
			break;
		}
		if (v[i].pid != v[k - 1].pid)
			v[k++] = v[i];
	}
	*out = v;
	*n = cnt;
	return 0;
}

time_t games_wall_time(uint64_t boot_ns)
{
	struct timespec boot, real;
	uint64_t now;

	clock_gettime(CLOCK_BOOTTIME, &boot);
	clock_gettime(CLOCK_REALTIME, &real);
	now = (uint64_t)boot.tv_sec * 1000000000ull + (uint64_t)boot.tv_nsec;
	if (boot_ns > now)
		return real.tv_sec;
	return real.tv_sec - (time_t)((now - boot_ns) / 1000000000ull);
}

const char *games_how_name(unsigned int how)
{
	static const char *const names[] = { GAMER_HOWS(GAMER_HOW_NAME) };

	return how < GAMER_HOW_COUNT ? names[how] : "?";
}
