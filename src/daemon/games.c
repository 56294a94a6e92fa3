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
#include "maps.h"

void games_slot_id(const char *pin_dir, unsigned int slot, char *buf, size_t len)
{
	struct gamer_profile_info info;
	int fd = pin_open(pin_dir, PIN_PROFILE_INFO);
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
	int fd = pin_open(pin_dir, map), ret;

	if (fd < 0)
		return -1;
	ret = bpf_map_lookup_elem(fd, &key, c) ? -1 : 0;
	close(fd);
	return ret;
}

int games_count_threads(const char *pin_dir)
{
	int fd = pin_open(pin_dir, PIN_TASK_CLASS), ret;
	uint32_t *keys;
	size_t n;

	if (fd < 0)
		return -1;
	ret = map_u32_keys(fd, &keys, &n);
	close(fd);
	free(keys);
	return ret ? -1 : (int)n;
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
	int fd = pin_open(pin_dir, PIN_PROC_CLASS);
	struct game_entry *v;
	size_t n_keys, cnt = 0;
	uint32_t *keys;

	*out = NULL;
	*n = 0;
	if (fd < 0)
		return -1;
	/* Sorted, so the games come in pid order. */
	map_u32_keys(fd, &keys, &n_keys);
	v = calloc(n_keys ? n_keys : 1, sizeof(*v));
	if (!v) {
		free(keys);
		close(fd);
		return -1;
	}
	for (size_t i = 0; i < n_keys; i++) {
		struct game_entry *g = &v[cnt];

		g->pid = keys[i];
		if (bpf_map_lookup_elem(fd, &keys[i], &g->c))
			continue; /* gone since */
		games_slot_id(pin_dir, g->c.slot, g->id, sizeof(g->id));
		if (!g->id[0])
			snprintf(g->id, sizeof(g->id), "?");
		read_comm(g->pid, g->comm, sizeof(g->comm));
		cnt++;
	}
	free(keys);
	close(fd);
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
