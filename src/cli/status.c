// SPDX-License-Identifier: GPL-2.0-only
/*
 * `scx_gamer status [--json]` and `scx_gamer reload`.
 *
 * The scheduler's state comes from the kernel (/sys/kernel/sched_ext); the
 * configuration's from the daemon's status file (state.h), which it rewrites
 * after every (re)load. A status file whose daemon is gone is reported as
 * stale, never as live.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "daemon/games.h"
#include "daemon/scheduler.h"
#include "daemon/state.h"
#include "log.h"

/* Split a status line in place into at most n tab-separated fields. */
static int split(char *line, char **f, int n)
{
	int k = 0;
	char *save = NULL, *tok;

	line[strcspn(line, "\n")] = '\0';
	for (tok = strtok_r(line, "\t", &save); tok && k < n; tok = strtok_r(NULL, "\t", &save))
		f[k++] = tok;
	return k;
}

/* The daemon's status file, read once. */
struct status_file {
	char mode[32];
	char generation[32];
	char when[64];
	char *(*profiles)[2];
	size_t n_profiles;
	char *(*hidden)[3];
	size_t n_hidden;
	char **errors;
	size_t n_errors;
};

static char *dup_or_empty(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d) {
		log_error("out of memory");
		exit(EXIT_FAIL);
	}
	return d;
}

static void *grow(void *v, size_t n, size_t size)
{
	void *p = realloc(v, (n + 1) * size);

	if (!p) {
		log_error("out of memory");
		exit(EXIT_FAIL);
	}
	return p;
}

static void read_status_file(FILE *st, struct status_file *sf)
{
	char line[8192], *f[4];
	int n;

	while (fgets(line, sizeof(line), st)) {
		n = split(line, f, 4);
		if (n < 2)
			continue;
		if (strcmp(f[0], "mode") == 0) {
			snprintf(sf->mode, sizeof(sf->mode), "%s", f[1]);
		} else if (strcmp(f[0], "generation") == 0) {
			snprintf(sf->generation, sizeof(sf->generation), "%s", f[1]);
		} else if (strcmp(f[0], "reloaded") == 0) {
			time_t t = (time_t)strtoll(f[1], NULL, 10);
			struct tm tm;

			if (gmtime_r(&t, &tm))
				strftime(sf->when, sizeof(sf->when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		} else if (strcmp(f[0], "profile") == 0 && n >= 3) {
			sf->profiles = grow(sf->profiles, sf->n_profiles, sizeof(*sf->profiles));
			sf->profiles[sf->n_profiles][0] = dup_or_empty(f[1]);
			sf->profiles[sf->n_profiles++][1] = dup_or_empty(f[2]);
		} else if (strcmp(f[0], "hidden") == 0 && n >= 4) {
			sf->hidden = grow(sf->hidden, sf->n_hidden, sizeof(*sf->hidden));
			sf->hidden[sf->n_hidden][0] = dup_or_empty(f[1]);
			sf->hidden[sf->n_hidden][1] = dup_or_empty(f[2]);
			sf->hidden[sf->n_hidden++][2] = dup_or_empty(f[3]);
		} else if (strcmp(f[0], "error") == 0) {
			sf->errors = grow(sf->errors, sf->n_errors, sizeof(*sf->errors));
			sf->errors[sf->n_errors++] = dup_or_empty(f[1]);
		}
	}
}

static void free_status_file(struct status_file *sf)
{
	size_t i;

	for (i = 0; i < sf->n_profiles; i++) {
		free(sf->profiles[i][0]);
		free(sf->profiles[i][1]);
	}
	for (i = 0; i < sf->n_hidden; i++) {
		free(sf->hidden[i][0]);
		free(sf->hidden[i][1]);
		free(sf->hidden[i][2]);
	}
	for (i = 0; i < sf->n_errors; i++)
		free(sf->errors[i]);
	free(sf->profiles);
	free(sf->hidden);
	free(sf->errors);
}

static void when_text(uint64_t since_ns, char *buf, size_t len)
{
	time_t t = games_wall_time(since_ns);
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "?");
}

static void print_games_json(const struct game_entry *g, size_t n, int threads)
{
	char when[64];

	printf(",\n  \"threads_with_class\": %d", threads);
	printf(",\n  \"games\": [");
	for (size_t i = 0; i < n; i++) {
		when_text(g[i].c.since_ns, when, sizeof(when));
		printf("%s{\"pid\": %u, \"comm\": ", i ? ", " : "", g[i].pid);
		json_str(g[i].comm);
		printf(", \"profile\": ");
		json_str(g[i].id);
		printf(", \"matched_by\": ");
		json_str(games_how_name(g[i].c.how));
		if (g[i].c.how == GAMER_HOW_INHERITED)
			printf(", \"inherited_from\": %u", g[i].c.from);
		else if (g[i].c.how != GAMER_HOW_NONE && g[i].c.how != GAMER_HOW_MANUAL)
			printf(", \"match_entry\": %u", g[i].c.rule);
		printf(", \"since\": ");
		json_str(when);
		printf(", \"since_boot_ns\": %llu}", (unsigned long long)g[i].c.since_ns);
	}
	printf("]");
}

static void print_games_text(const struct game_entry *g, size_t n, int threads)
{
	char when[64], how[64], safe[4 * sizeof(g->comm)];

	printf("games:%s", n ? "" : " none running");
	if (threads >= 0)
		printf(" (%d thread%s with a class of its own)", threads, threads == 1 ? "" : "s");
	printf("\n");
	if (n)
		printf("  %-8s %-16s %-20s %-18s %s\n", "PID", "COMM", "PROFILE", "MATCHED BY",
		       "SINCE");
	for (size_t i = 0; i < n; i++) {
		when_text(g[i].c.since_ns, when, sizeof(when));
		if (g[i].c.how == GAMER_HOW_INHERITED)
			snprintf(how, sizeof(how), "inherited (%u)", g[i].c.from);
		else if (g[i].c.how == GAMER_HOW_NONE || g[i].c.how == GAMER_HOW_MANUAL)
			snprintf(how, sizeof(how), "%s", games_how_name(g[i].c.how));
		else
			snprintf(how, sizeof(how), "%s [%u]", games_how_name(g[i].c.how), g[i].c.rule);
		printf("  %-8u %-16s %-20s %-18s %s\n", g[i].pid,
		       g[i].comm[0] ? safe_text(g[i].comm, safe, sizeof(safe)) : "?", g[i].id, how,
		       when);
	}
}

static void print_json(const char *state, const char *ops, const char *seq, int pid,
		       const struct status_file *sf, const struct game_entry *g, size_t n_games,
		       int n_threads)
{
	size_t i;

	printf("{\"scheduler\": {\"state\": ");
	json_str(state);
	printf(", \"ops\": ");
	json_str(ops);
	printf(", \"enable_seq\": %s},\n \"daemon\": ", seq[0] ? seq : "null");
	if (pid < 0 || !sf) {
		printf("null}\n");
		return;
	}
	printf("{\"pid\": %d, \"mode\": ", pid);
	json_str(sf->mode);
	printf(", \"config_generation\": %s, \"last_reload\": ",
	       sf->generation[0] ? sf->generation : "null");
	json_str(sf->when);
	printf(",\n  \"profiles\": [");
	for (i = 0; i < sf->n_profiles; i++) {
		printf("%s{\"id\": ", i ? ", " : "");
		json_str(sf->profiles[i][0]);
		printf(", \"file\": ");
		json_str(sf->profiles[i][1]);
		printf("}");
	}
	printf("],\n  \"hidden\": [");
	for (i = 0; i < sf->n_hidden; i++) {
		printf("%s{\"id\": ", i ? ", " : "");
		json_str(sf->hidden[i][0]);
		printf(", \"file\": ");
		json_str(sf->hidden[i][1]);
		printf(", \"hidden_by\": ");
		json_str(sf->hidden[i][2]);
		printf("}");
	}
	printf("],\n  \"errors\": [");
	for (i = 0; i < sf->n_errors; i++) {
		printf("%s", i ? ", " : "");
		json_str(sf->errors[i]);
	}
	printf("]");
	print_games_json(g, n_games, n_threads);
	printf("}}\n");
}

static void print_text(bool have_sysfs, const char *state, const char *ops, const char *seq,
		       int pid, const struct status_file *sf, const struct game_entry *g,
		       size_t n_games, int n_threads)
{
	size_t i;

	if (!have_sysfs)
		printf("scheduler: this kernel has no sched_ext (CONFIG_SCHED_CLASS_EXT)\n");
	else if (strcmp(state, "disabled") == 0)
		printf("scheduler: not attached (sched_ext %s)\n", state);
	else
		printf("scheduler: '%s' %s (enable_seq %s)%s\n", ops, state, seq,
		       strcmp(ops, GAMER_OPS_NAME) == 0 ? "" : ", not scx_gamer's");
	if (pid < 0 || !sf) {
		printf("daemon: not running\n");
		return;
	}
	printf("daemon: running, pid %d (%s)\n", pid, sf->mode);
	printf("configuration: generation %s, last (re)load %s\n", sf->generation, sf->when);
	printf("profiles:%s\n", sf->n_profiles ? "" : " none");
	for (i = 0; i < sf->n_profiles; i++)
		printf("  %-20s %s\n", sf->profiles[i][0], sf->profiles[i][1]);
	for (i = 0; i < sf->n_hidden; i++)
		printf("  %-20s %s (hidden by %s)\n", sf->hidden[i][0], sf->hidden[i][1],
		       sf->hidden[i][2]);
	printf("errors:%s\n", sf->n_errors ? " (a file that fails keeps its last good version live;"
					     " a profile whose extends fails is left out)"
					   : " none");
	for (i = 0; i < sf->n_errors; i++)
		printf("  %s\n", sf->errors[i]);
	print_games_text(g, n_games, n_threads);
}

int cmd_status(const struct paths *paths, bool json)
{
	char state[64] = "unsupported", ops[128] = "", seq[32] = "", path[PATH_MAX];
	struct status_file sf = { 0 };
	struct game_entry *games = NULL;
	size_t n_games = 0;
	int n_threads = -1;
	bool have_sysfs, have_file = false;
	FILE *st;
	int pid;

	have_sysfs = read_sysfs_line(SCX_SYSFS_DIR "/state", state, sizeof(state)) == 0;
	if (have_sysfs) {
		read_sysfs_line(SCX_SYSFS_DIR "/root/ops", ops, sizeof(ops));
		read_sysfs_line(SCX_SYSFS_DIR "/enable_seq", seq, sizeof(seq));
	}
	pid = state_daemon_pid(paths->run_dir);
	snprintf(path, sizeof(path), "%s/status", paths->run_dir);
	st = pid > 0 ? fopen(path, "re") : NULL;
	if (st) {
		read_status_file(st, &sf);
		fclose(st);
		have_file = true;
	}
	if (have_file) {
		games_read(paths->pin_dir, &games, &n_games);
		n_threads = games_count_threads(paths->pin_dir);
	}
	if (json)
		print_json(state, ops, seq, pid, have_file ? &sf : NULL, games, n_games, n_threads);
	else
		print_text(have_sysfs, state, ops, seq, pid, have_file ? &sf : NULL, games,
			   n_games, n_threads);
	free(games);
	free_status_file(&sf);
	return EXIT_OK;
}

int cmd_reload(const struct paths *paths)
{
	int pid = state_daemon_pid(paths->run_dir);

	if (pid < 0) {
		log_error("no running scx_gamer daemon (no live pid in %s/scx_gamer.pid)",
			  paths->run_dir);
		return EXIT_FAIL;
	}
	if (kill(pid, SIGHUP)) {
		log_error("failed to signal the daemon (pid %d): %s", pid, strerror(errno));
		return EXIT_FAIL;
	}
	log_info("asked the daemon (pid %d) to reload", pid);
	return EXIT_OK;
}
