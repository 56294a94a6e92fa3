// SPDX-License-Identifier: GPL-2.0-only
/*
 * The schema, as tables: every key of a `tunables` block (type, range,
 * default, where it lives in struct gamer_tunables) and the keys of each
 * document-level mapping (the daemon file, a profile, a match entry, a
 * thread rule), with the names a role or log level may take. parse.c walks
 * a document against them; adding a key is one row here.
 */
#include "config.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "conf-internal.h"

#define TUN(member)                                  \
	offsetof(struct gamer_tunables, member), \
		sizeof(((struct gamer_tunables *)0)->member)
#define ROLE_ROW(role, name, d)                                                 \
	[TF_ROLE_FIRST + GAMER_ROLE_##role] = { "roles." name, TK_UINT, 0, GAMER_BOOST_MAX, \
						d, TUN(role_boost[GAMER_ROLE_##role]) }

const struct tunable_def conf_tunable_defs[TF_COUNT] = {
	[TF_SLICE] = { "slice", TK_DURATION, 100 * USEC, 100 * MSEC, 5 * MSEC, TUN(slice_ns) },
	[TF_BOOST_MAX] = { "boost.max", TK_UINT, 0, GAMER_BOOST_MAX, 7, TUN(boost_max) },
	[TF_DM_ENABLED] = { "deadline_miss.enabled", TK_BOOL, 0, 1, 1, TUN(dm_enabled) },
	[TF_DM_THRESHOLD] = { "deadline_miss.threshold", TK_UINT, 1, 64, 3, TUN(dm_threshold) },
	[TF_DM_MIN_BOOST] = { "deadline_miss.min_boost", TK_UINT, 0, GAMER_BOOST_MAX, 3,
			      TUN(dm_min_boost) },
	[TF_DM_RECOVER] = { "deadline_miss.recover", TK_UINT, 0, 1024, 16, TUN(dm_recover) },
	[TF_INH_ENABLED] = { "inheritance.enabled", TK_BOOL, 0, 1, 1, TUN(inh_enabled) },
	[TF_INH_MAX_BOOST] = { "inheritance.max_boost", TK_UINT, 0, GAMER_BOOST_MAX, 7,
			       TUN(inh_max_boost) },
	[TF_INH_DURATION] = { "inheritance.duration", TK_DURATION, 10 * USEC, SEC,
			      20 * MSEC, TUN(inh_duration_ns) },
	[TF_RM_ENABLED] = { "rate_monotonic.enabled", TK_BOOL, 0, 1, 1, TUN(rm_enabled) },
	[TF_RM_PERIOD] = { "rate_monotonic.period", TK_DURATION, 100 * USEC, SEC, 10 * MSEC,
			   TUN(rm_period_ns) },
	[TF_RM_BELOW_BOOST] = { "rate_monotonic.below_boost", TK_UINT, 0, 8, 2,
				TUN(rm_below_boost) },
	[TF_NUMA] = { "numa", TK_BOOL, 0, 1, 0, TUN(numa) },
	[TF_PREEMPT] = { "preempt", TK_BOOL, 0, 1, 1, TUN(preempt) },
	ROLE_ROW(INPUT, "input", 7),
	ROLE_ROW(RENDER, "render", 6),
	ROLE_ROW(GPU, "gpu", 6),
	ROLE_ROW(COMPOSITOR, "compositor", 5),
	ROLE_ROW(AUDIO, "audio", 5),
	ROLE_ROW(GAME, "game", 3),
	ROLE_ROW(NETWORK, "network", 2),
	ROLE_ROW(BACKGROUND, "background", 0),
};

_Static_assert(TF_COUNT <= 32, "tunables_block.set holds one bit per field");

const char *const conf_role_names[GAMER_ROLE_COUNT] = { GAMER_ROLES(GAMER_ROLE_NAME) };

const char *const conf_log_level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

const struct conf_field conf_daemon_fields[DF_COUNT] = {
	[DF_SCHEMA] = { "schema", F_SCHEMA, .required = true, .expect = "schema: 1" },
	[DF_LOG_LEVEL] = { "log_level", F_LOG_LEVEL, .off = offsetof(struct daemon_config, log_level) },
	[DF_DEFAULTS] = { "defaults", F_TUNABLES, .off = offsetof(struct daemon_config, defaults) },
	[DF_EXCLUDE] = { "exclude", F_EXCLUDE,
			 .expect = "a list of match entries (steam_app_id, comm, exe, cmdline, "
				   "wine_exe)" },
	[DF_GAME_USERS] = { "game_users", F_USERS, .expect = "a list of user names or uids" },
};

const struct conf_field conf_profile_fields[PF_COUNT] = {
	[PF_SCHEMA] = { "schema", F_SCHEMA, .required = true, .expect = "schema: 1" },
	[PF_NAME] = { "name", F_STRING, .off = offsetof(struct profile, name) },
	[PF_PRIORITY] = { "priority", F_INT, 0, 100, offsetof(struct profile, priority) },
	[PF_EXTENDS] = { "extends", F_STRING, .off = offsetof(struct profile, extends) },
	/* Optional: a profile without it is a base for `extends`. */
	[PF_MATCH] = { "match", F_MATCH,
		       .expect = "a list of match entries (steam_app_id, comm, exe, cmdline, "
				 "wine_exe)" },
	[PF_TUNABLES] = { "tunables", F_TUNABLES, .off = offsetof(struct profile, tunables) },
	[PF_THREADS] = { "threads", F_THREADS },
};

/* In the order of the MATCH_* bits. */
const struct conf_field conf_match_fields[] = {
	{ "steam_app_id", F_U32, 1, UINT32_MAX, offsetof(struct match_entry, steam_app_id) },
	/* Compared with the full name too where the kernel truncated comm. */
	{ "comm", F_STRING, .off = offsetof(struct match_entry, comm) },
	{ "exe", F_STRING, .off = offsetof(struct match_entry, exe) },
	{ "cmdline", F_STRING, .off = offsetof(struct match_entry, cmdline) },
	{ "wine_exe", F_STRING, .off = offsetof(struct match_entry, wine_exe) },
};
_Static_assert(MATCH_WINE_EXE == 1 << 4 && MATCH_STEAM_APP_ID == 1,
	       "conf_match_fields follows the MATCH_* bits");

const struct conf_field conf_thread_fields[] = {
	{ "name", F_NAMES, .required = true, .expect = "a thread name or a list of names" },
	{ "role", F_ROLE, .off = offsetof(struct thread_rule, role), .required = true,
	  .expect = "a role" },
	{ "boost", F_INT, 0, GAMER_BOOST_MAX, offsetof(struct thread_rule, boost) },
};

const char *tunable_field_path(enum tunable_field f)
{
	return (unsigned int)f < TF_COUNT ? conf_tunable_defs[f].path : NULL;
}

const char *role_name(enum gamer_role r)
{
	return (unsigned int)r < GAMER_ROLE_COUNT ? conf_role_names[r] : NULL;
}

void conf_tun_store(struct gamer_tunables *t, const struct tunable_def *def, uint64_t v)
{
	unsigned char *p = (unsigned char *)t + def->off;

	/* Ranges in the table fit their field, so nothing is cut here. */
	switch (def->size) {
	case 1: {
		uint8_t x = (uint8_t)v;
		memcpy(p, &x, 1);
		break;
	}
	case 2: {
		uint16_t x = (uint16_t)v;
		memcpy(p, &x, 2);
		break;
	}
	default:
		memcpy(p, &v, 8);
		break;
	}
}

void conf_tun_copy(struct gamer_tunables *dst, const struct gamer_tunables *src,
		   enum tunable_field f)
{
	const struct tunable_def *def = &conf_tunable_defs[f];

	memcpy((unsigned char *)dst + def->off, (const unsigned char *)src + def->off, def->size);
}

void tunables_builtin(struct gamer_tunables *t)
{
	memset(t, 0, sizeof(*t));
	for (int f = 0; f < TF_COUNT; f++)
		conf_tun_store(t, &conf_tunable_defs[f], conf_tunable_defs[f].dflt);
}

void tunables_apply(struct gamer_tunables *dst, const struct tunables_block *b)
{
	for (int f = 0; f < TF_COUNT; f++)
		if (b->set & (1u << f))
			conf_tun_copy(dst, &b->v, (enum tunable_field)f);
}

enum tunable_kind tunable_field_kind(enum tunable_field f)
{
	return (unsigned int)f < TF_COUNT ? conf_tunable_defs[f].type : TK_UINT;
}

uint64_t tunable_get(const struct gamer_tunables *t, enum tunable_field f)
{
	const unsigned char *p;

	if ((unsigned int)f >= TF_COUNT)
		return 0;
	p = (const unsigned char *)t + conf_tunable_defs[f].off;
	switch (conf_tunable_defs[f].size) {
	case 1: {
		uint8_t x;

		memcpy(&x, p, 1);
		return x;
	}
	case 2: {
		uint16_t x;

		memcpy(&x, p, 2);
		return x;
	}
	default: {
		uint64_t x;

		memcpy(&x, p, 8);
		return x;
	}
	}
}

void tunable_format(const struct gamer_tunables *t, enum tunable_field f, char *buf, size_t len)
{
	uint64_t v = tunable_get(t, f);

	if (!len)
		return;
	switch (tunable_field_kind(f)) {
	case TK_DURATION:
		conf_format_duration(v, buf, len);
		break;
	case TK_BOOL:
		snprintf(buf, len, "%s", v ? "true" : "false");
		break;
	default:
		snprintf(buf, len, "%" PRIu64, v);
		break;
	}
}

int conf_tunable_find(const char *path)
{
	for (int f = 0; f < TF_COUNT; f++)
		if (!strcmp(conf_tunable_defs[f].path, path))
			return f;
	return -1;
}

bool conf_tunable_is_group(const char *path)
{
	size_t len = strlen(path);

	for (int f = 0; f < TF_COUNT; f++)
		if (!strncmp(conf_tunable_defs[f].path, path, len) &&
		    conf_tunable_defs[f].path[len] == '.')
			return true;
	return false;
}

/* The keys valid right under `prefix` ("" = the block itself), in table order. */
size_t conf_tunable_keys_at(const char *prefix, const char **out, char store[][PATH_LEN],
			    size_t max)
{
	size_t plen = strlen(prefix), n = 0;

	for (int f = 0; f < TF_COUNT && n < max; f++) {
		const char *p = conf_tunable_defs[f].path, *seg, *dot;
		size_t seglen;
		bool dup = false;

		if (plen && (strncmp(p, prefix, plen) || p[plen] != '.'))
			continue;
		seg = plen ? p + plen + 1 : p;
		dot = strchr(seg, '.');
		seglen = dot ? (size_t)(dot - seg) : strlen(seg);
		for (size_t i = 0; i < n; i++)
			if (strlen(out[i]) == seglen && !strncmp(out[i], seg, seglen))
				dup = true;
		if (dup)
			continue;
		snprintf(store[n], PATH_LEN, "%.*s", (int)seglen, seg);
		out[n] = store[n];
		n++;
	}
	return n;
}
