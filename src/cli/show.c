// SPDX-License-Identifier: GPL-2.0-only
/*
 * `scx_gamer show [ID] [--json]`: the effective tunables of each profile as
 * the kernel holds them. Everything printed is read from the maps the running
 * daemon pinned (values with the scheduler's own read protocol), never from a
 * configuration file, so it shows what the scheduler actually uses.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cmd.h"
#include "conf/conf.h"
#include "daemon/maps.h"
#include "daemon/pins.h"
#include "log.h"

struct pinned {
	int ver_fd, slots_fd, info_fd;
};

static const char *origin_path(const struct gamer_profile_info *all, int16_t origin)
{
	if (origin < 0 || origin >= GAMER_MAX_PROFILES || !all[origin].id[0])
		return NULL;
	return all[origin].path;
}

static void show_text(uint32_t slot, uint64_t ver, const struct gamer_tunables *t,
		      const struct gamer_profile_info *all)
{
	const struct gamer_profile_info *in = &all[slot];
	char val[32];
	int f;

	printf("%s %s (%s), slot %u, version %llu\n", slot == 0 ? "defaults" : "profile",
	       slot == 0 ? "" : in->id, in->path[0] ? in->path : "no file", slot,
	       (unsigned long long)ver);
	for (f = 0; f < TF_COUNT; f++) {
		const char *from = origin_path(all, in->origin[f]);

		tunable_format(t, (enum tunable_field)f, val, sizeof(val));
		printf("  %-26s %-8s %s\n", tunable_field_path((enum tunable_field)f), val,
		       from ? from : "(built-in)");
	}
}

static void show_json(uint32_t slot, uint64_t ver, const struct gamer_tunables *t,
		      const struct gamer_profile_info *all, bool first)
{
	const struct gamer_profile_info *in = &all[slot];
	char val[32];
	int f;

	printf("%s\n  {\"id\": ", first ? "" : ",");
	json_str(in->id);
	printf(", \"slot\": %u, \"version\": %llu, \"path\": ", slot, (unsigned long long)ver);
	json_str(in->path);
	printf(", \"tunables\": {");
	for (f = 0; f < TF_COUNT; f++) {
		const char *from = origin_path(all, in->origin[f]);

		tunable_format(t, (enum tunable_field)f, val, sizeof(val));
		printf("%s\n    ", f ? "," : "");
		json_str(tunable_field_path((enum tunable_field)f));
		printf(": {\"value\": ");
		json_str(val);
		printf(", \"raw\": %llu, \"from\": ",
		       (unsigned long long)tunable_get(t, (enum tunable_field)f));
		if (from)
			json_str(from);
		else
			printf("null");
		putchar('}');
	}
	printf("}}");
}

/*
 * What each CPU's scheduler code last loaded from the defaults: proof that the
 * scheduler, not just the map, has the new values. Missing map: nothing shown.
 */
static void show_seen(const struct paths *paths, bool json)
{
	struct gamer_cfg_seen *seen;
	uint32_t zero = 0;
	int fd, n, cpu;

	n = libbpf_num_possible_cpus();
	fd = pin_open_or_say(paths->pin_dir, PIN_CFG_SEEN);
	if (fd < 0 || n <= 0)
		goto out;
	seen = calloc((size_t)n, sizeof(*seen));
	if (!seen || bpf_map_lookup_elem(fd, &zero, seen)) {
		log_error("failed to read cfg_seen: %s", strerror(errno));
		free(seen);
		goto out;
	}
	fputs(json ? ",\n\"scheduler\": [" : "scheduler (defaults as loaded by each CPU):\n", stdout);
	for (cpu = 0; cpu < n; cpu++) {
		if (json)
			printf("%s{\"cpu\": %d, \"version\": %llu, \"slice_ns\": %llu}",
			       cpu ? ", " : "", cpu, (unsigned long long)seen[cpu].ver,
			       (unsigned long long)seen[cpu].slice_ns);
		else
			printf("  cpu %d: version %llu, slice %llu ns\n", cpu,
			       (unsigned long long)seen[cpu].ver,
			       (unsigned long long)seen[cpu].slice_ns);
	}
	if (json)
		printf("]");
	free(seen);
out:
	if (fd >= 0)
		close(fd);
}

int cmd_show(const struct paths *paths, const char *id, bool json)
{
	static struct gamer_profile_info info[GAMER_MAX_PROFILES];
	struct pinned p = { -1, -1, -1 };
	struct gamer_tunables t;
	uint64_t ver;
	uint32_t slot;
	int ret = EXIT_FAIL, shown = 0, err;

	p.ver_fd = pin_open_or_say(paths->pin_dir, PIN_PROFILE_VER);
	if (p.ver_fd < 0)
		goto out;
	p.slots_fd = pin_open_or_say(paths->pin_dir, PIN_PROFILE_SLOTS);
	p.info_fd = pin_open_or_say(paths->pin_dir, PIN_PROFILE_INFO);
	if (p.slots_fd < 0 || p.info_fd < 0)
		goto out;
	for (slot = 0; slot < GAMER_MAX_PROFILES; slot++) {
		if (bpf_map_lookup_elem(p.info_fd, &slot, &info[slot])) {
			log_error("failed to read profile_info[%u]: %s", slot, strerror(errno));
			goto out;
		}
	}

	if (json)
		printf("{\"profiles\": [");
	for (slot = 0; slot < GAMER_MAX_PROFILES; slot++) {
		if (!info[slot].id[0])
			continue;
		if (id && strcmp(id, info[slot].id) != 0)
			continue;
		err = maps_read_profile(p.ver_fd, p.slots_fd, slot, &t);
		if (err == -ENOENT)
			continue;
		if (err || bpf_map_lookup_elem(p.ver_fd, &slot, &ver)) {
			log_error("failed to read profile slot %u: %s", slot, strerror(-err));
			goto out;
		}
		if (json)
			show_json(slot, ver, &t, info, shown == 0);
		else
			show_text(slot, ver, &t, info);
		shown++;
	}
	if (json)
		printf("\n]");
	if (!id)
		show_seen(paths, json);
	if (json)
		printf("}\n");
	if (id && !shown) {
		log_error("no profile '%s' in the kernel's maps", id);
		goto out;
	}
	ret = EXIT_OK;
out:
	if (p.ver_fd >= 0)
		close(p.ver_fd);
	if (p.slots_fd >= 0)
		close(p.slots_fd);
	if (p.info_fd >= 0)
		close(p.info_fd);
	return ret;
}
