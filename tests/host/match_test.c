// SPDX-License-Identifier: GPL-2.0-only
/*
 * Matching processes to profiles (src/daemon/match.c) against real /proc-like
 * trees: each case writes PID/{stat,comm,cmdline,environ}, an exe symlink
 * and task/TID/comm files into a temporary directory and reads them back
 * with the same code the daemon uses on /proc. The last cases read the
 * real /proc of this test itself.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../src/conf/conf.h"
#include "../../src/daemon/match.h"
#include "../tap.h"

static char root[64];

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(path);
		exit(99);
	}
	close(fd);
}

/* NUL-separated list from a NULL-terminated array (argv, envp). */
static size_t join0(char *buf, size_t cap, const char *const *v)
{
	size_t n = 0;

	for (; v && *v; v++) {
		size_t l = strlen(*v) + 1;

		if (n + l > cap)
			exit(99);
		memcpy(buf + n, *v, l);
		n += l;
	}
	return n;
}

struct fake {
	int pid, ppid;
	char state;
	const char *comm; /* as the kernel keeps it (15 characters at most) */
	const char *exe;  /* symlink target, NULL: none (kernel thread) */
	const char *const *argv, *const *envp;
	const char *const *threads; /* "TID:NAME" */
	int uid;		    /* the real uid in status; -1: no status file */
};

static void mkproc(const struct fake *f)
{
	char dir[256], path[320], buf[8192];
	size_t n;

	snprintf(dir, sizeof(dir), "%s/%d", root, f->pid);
	mkdir(dir, 0755);
	n = (size_t)snprintf(buf, sizeof(buf),
			     "%d (%s) %c %d 1 1 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 %d 1000 "
			     "100 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
			     f->pid, f->comm, f->state ? f->state : 'S', f->ppid, 1000 + f->pid);
	snprintf(path, sizeof(path), "%s/stat", dir);
	write_file(path, buf, n);
	snprintf(path, sizeof(path), "%s/comm", dir);
	n = (size_t)snprintf(buf, sizeof(buf), "%s\n", f->comm);
	write_file(path, buf, n);
	snprintf(path, sizeof(path), "%s/status", dir);
	unlink(path);
	if (f->uid >= 0) {
		/* Effective uid 0 after the real one: the real one must be read. */
		n = (size_t)snprintf(buf, sizeof(buf),
				     "Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t%d\n"
				     "Pid:\t%d\nPPid:\t%d\nUid:\t%d\t0\t0\t0\nGid:\t%d\t0\t0\t0\n",
				     f->comm, f->pid, f->pid, f->ppid, f->uid, f->uid);
		write_file(path, buf, n);
	}
	snprintf(path, sizeof(path), "%s/cmdline", dir);
	write_file(path, buf, join0(buf, sizeof(buf), f->argv));
	snprintf(path, sizeof(path), "%s/environ", dir);
	write_file(path, buf, join0(buf, sizeof(buf), f->envp));
	snprintf(path, sizeof(path), "%s/exe", dir);
	unlink(path);
	if (f->exe && symlink(f->exe, path)) {
		perror(path);
		exit(99);
	}
	snprintf(path, sizeof(path), "%s/task", dir);
	mkdir(path, 0755);
	for (const char *const *t = f->threads; t && *t; t++) {
		const char *colon = strchr(*t, ':');

		snprintf(path, sizeof(path), "%s/task/%.*s", dir, (int)(colon - *t), *t);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/task/%.*s/comm", dir, (int)(colon - *t), *t);
		n = (size_t)snprintf(buf, sizeof(buf), "%s\n", colon + 1);
		write_file(path, buf, n);
	}
}

#define V(...) ((const char *const[]){ __VA_ARGS__, NULL })

static struct proc_info pi;

/* Read pid from the fixture tree (with its Steam id); 0 on success. */
static int rd(int pid)
{
	int r;

	proc_info_free(&pi);
	r = proc_read(root, pid, &pi);
	if (!r)
		proc_read_steam(root, &pi);
	return r;
}

/* ---- configurations from YAML ------------------------------------------------ */

static struct config_set cfg;

static void cfg_reset(void)
{
	config_set_free(&cfg);
	memset(&cfg, 0, sizeof(cfg));
}

static void cfg_add(const char *id, const char *yaml)
{
	struct diags d = { 0 };
	struct profile p;
	char path[128];

	snprintf(path, sizeof(path), "%s.yaml", id);
	if (config_parse_profile_buf(yaml, strlen(yaml), path, id, &p, &d)) {
		diags_print(&d, stdout);
		exit(99);
	}
	diags_free(&d);
	cfg.profiles = realloc(cfg.profiles, (cfg.n_profiles + 1) * sizeof(*cfg.profiles));
	cfg.profiles[cfg.n_profiles++] = p;
	config_resolve(&cfg, &d);
	diags_free(&d);
}

static void cfg_daemon(const char *yaml)
{
	struct diags d = { 0 };

	daemon_config_free(&cfg.daemon);
	if (config_parse_daemon_buf(yaml, strlen(yaml), "scx_gamer.yaml", &cfg.daemon, &d)) {
		diags_print(&d, stdout);
		exit(99);
	}
	diags_free(&d);
}

/* Id of the profile pid matches, "" for none. */
static const char *chosen(int pid, struct match_result *out)
{
	struct match_result r;

	if (rd(pid))
		return "(unreadable)";
	match_process(&cfg, &pi, &r, NULL);
	if (out)
		*out = r;
	return r.profile >= 0 ? cfg.profiles[r.profile].id : "";
}

/* True when the single-entry profile "ENTRY" matches pid. */
static bool entry_matches(int pid, const char *entry)
{
	char yaml[512];

	cfg_reset();
	snprintf(yaml, sizeof(yaml), "schema: 1\nmatch:\n  - %s\n", entry);
	cfg_add("t", yaml);
	return strcmp(chosen(pid, NULL), "t") == 0;
}

/* ---- the cases -------------------------------------------------------------- */

static void test_reading(void)
{
	mkproc(&(struct fake){ .pid = 100, .ppid = 1, .comm = "a) (b c", .exe = "/usr/bin/x",
			       .argv = V("x", "--flag", "two words") });
	tap_ok(rd(100) == 0 && pi.ppid == 1 && !strcmp(pi.comm, "a) (b c") && pi.start == 1100 &&
		       pi.state == 'S',
	       "stat: ppid and start time read past a comm holding ') (' and spaces");
	tap_ok(!strcmp(pi.cmdline, "x --flag two words") && !strcmp(pi.argv0, "x"),
	       "cmdline: arguments joined by spaces, argv[0] kept");
	tap_ok(!strcmp(pi.exe, "/usr/bin/x"), "exe: the link's target");

	mkproc(&(struct fake){ .pid = 101, .ppid = 1, .state = 'Z', .comm = "dead" });
	tap_ok(rd(101) == -ENOENT, "a zombie reads as gone");
	tap_ok(rd(4242) == -ENOENT, "a missing pid reads as gone");

	mkproc(&(struct fake){ .pid = 102, .ppid = 1, .comm = "kworker/0:1" });
	tap_ok(rd(102) == 0 && pi.exe[0] == '\0' && pi.cmdline[0] == '\0',
	       "no exe and an empty cmdline (a kernel thread) read as empty, not as an error");

	mkproc(&(struct fake){ .pid = 103, .ppid = 1, .comm = "game",
			       .exe = "/games/game (deleted)", .argv = V("game") });
	tap_ok(rd(103) == 0 && !strcmp(pi.exe, "/games/game"),
	       "an exe replaced on disk is matched by its path, without ' (deleted)'");
}

static void test_globs(void)
{
	mkproc(&(struct fake){ .pid = 200, .ppid = 1, .comm = "cs2",
			       .exe = "/home/p/.steam/steamapps/common/Counter-Strike Global Offensive/game/bin/linuxsteamrt64/cs2",
			       .argv = V("/home/p/.steam/.../linuxsteamrt64/cs2", "-steam", "-vulkan") });
	tap_ok(entry_matches(200, "comm: cs2"), "comm: a literal");
	tap_ok(entry_matches(200, "comm: \"cs?\""), "comm: a glob");
	tap_ok(!entry_matches(200, "comm: cs"), "comm: a prefix is not a match");
	tap_ok(entry_matches(200, "exe: \"*/linuxsteamrt64/cs2\""), "exe: '*' matches across '/'");
	tap_ok(!entry_matches(200, "exe: \"*/linuxsteamrt32/cs2\""), "exe: another path does not match");
	tap_ok(entry_matches(200, "cmdline: \"* -vulkan*\""), "cmdline: a glob over the joined arguments");
	tap_ok(!entry_matches(200, "cmdline: \"*-dx11*\""), "cmdline: an absent argument does not match");
	tap_ok(entry_matches(200, "{comm: cs2, cmdline: \"*-steam*\"}"),
	       "keys inside an entry: all match");
	tap_ok(!entry_matches(200, "{comm: cs2, cmdline: \"*-dx11*\"}"),
	       "keys inside an entry are AND'ed: one failing key fails the entry");

	cfg_reset();
	cfg_add("t", "schema: 1\nmatch:\n  - comm: nope\n  - exe: \"*/cs2\"\n");
	tap_ok(!strcmp(chosen(200, NULL), "t"), "entries are OR'ed: the second one matches");

	/* The kernel keeps 15 characters of comm; the full name is matched too. */
	mkproc(&(struct fake){ .pid = 201, .ppid = 1, .comm = "averyveryverylo",
			       .exe = "/games/averyveryverylongname",
			       .argv = V("./averyveryverylongname") });
	tap_ok(entry_matches(201, "comm: averyveryverylongname"),
	       "comm: a full name matches a comm the kernel truncated to 15 characters");
	tap_ok(entry_matches(201, "comm: averyveryverylo"), "comm: ... and so does the truncated one");
	tap_ok(!entry_matches(201, "comm: averyveryverylongnamex"),
	       "comm: a longer full name than the real one does not match");
	mkproc(&(struct fake){ .pid = 202, .ppid = 1, .comm = "averyveryverylo",
			       .exe = "/usr/bin/python3", .argv = V("python3", "x.py") });
	tap_ok(!entry_matches(202, "comm: averyveryverylongname"),
	       "comm: no full name is guessed when neither argv[0] nor exe starts with comm");
	mkproc(&(struct fake){ .pid = 203, .ppid = 1, .comm = "shortname",
			       .exe = "/games/shortnamelonger", .argv = V("shortnamelonger") });
	tap_ok(entry_matches(203, "comm: shortnamelonger"),
	       "comm: the name it was started as (exe, argv[0]) matches after a rename");
	mkproc(&(struct fake){ .pid = 204, .ppid = 1, .comm = "GameThread", .exe = "/games/bin/mygame",
			       .argv = V("./mygame", "-fullscreen") });
	tap_ok(entry_matches(204, "comm: mygame") && !entry_matches(204, "comm: othergame"),
	       "comm: a game that renamed its main thread still matches its program's name");
}

static void test_wine(void)
{
	/* Proton: the exe is the preloader, argv[0] the Windows path, comm the .exe name. */
	mkproc(&(struct fake){ .pid = 300, .ppid = 1, .comm = "eldenring.exe",
			       .exe = "/home/p/.steam/steamapps/common/Proton 9.0/files/bin/wine64-preloader",
			       .argv = V("Z:\\home\\p\\Games\\ELDEN RING\\Game\\eldenring.exe", "-x") });
	tap_ok(rd(300) == 0 && !strcmp(pi.wine_exe, "eldenring.exe"),
	       "wine: the Windows exe basename from argv[0]'s backslash path");
	tap_ok(entry_matches(300, "wine_exe: EldenRing.exe"), "wine_exe: case-insensitive");
	tap_ok(entry_matches(300, "wine_exe: \"elden*.EXE\""), "wine_exe: a case-insensitive glob");
	tap_ok(!entry_matches(300, "wine_exe: nightreign.exe"), "wine_exe: another exe does not match");

	mkproc(&(struct fake){ .pid = 301, .ppid = 1, .comm = "wine-preloader",
			       .exe = "/usr/lib/wine/wine-preloader",
			       .argv = V("/usr/lib/wine/wine-preloader", "C:/Games/Old Game/OLDGAME.EXE") });
	tap_ok(rd(301) == 0 && !strcmp(pi.wine_exe, "OLDGAME.EXE"),
	       "wine: the first argument naming an .exe when argv[0] does not (32-bit preloader)");

	mkproc(&(struct fake){ .pid = 302, .ppid = 1, .comm = "Game.exe", .exe = "/opt/wine/bin/wine64",
			       .argv = V("wine64") });
	tap_ok(rd(302) == 0 && !strcmp(pi.wine_exe, "Game.exe"),
	       "wine: comm when no argument names an .exe");

	mkproc(&(struct fake){ .pid = 303, .ppid = 1, .comm = "7z", .exe = "/usr/bin/7z",
			       .argv = V("7z", "x", "setup.exe") });
	tap_ok(rd(303) == 0 && pi.wine_exe[0] == '\0' && !entry_matches(303, "wine_exe: setup.exe"),
	       "wine_exe: a process that is not Wine never matches, whatever its arguments");
}

static void test_steam(void)
{
	/* steam -> reaper SteamLaunch AppId=N -- ... -> pressure-vessel -> game */
	mkproc(&(struct fake){ .pid = 400, .ppid = 1, .comm = "steam", .exe = "/usr/lib/steam/steam",
			       .argv = V("steam") });
	mkproc(&(struct fake){ .pid = 401, .ppid = 400, .comm = "reaper",
			       .exe = "/home/p/.steam/ubuntu12_32/reaper",
			       .argv = V("/home/p/.steam/ubuntu12_32/reaper", "SteamLaunch", "AppId=1245620",
					 "--", "/bin/sh", "AppId=999") });
	mkproc(&(struct fake){ .pid = 402, .ppid = 401, .comm = "pv-bwrap", .exe = "/usr/bin/bwrap",
			       .argv = V("pv-bwrap") });
	mkproc(&(struct fake){ .pid = 403, .ppid = 402, .comm = "eldenring.exe",
			       .exe = "/proton/files/bin/wine64-preloader",
			       .argv = V("C:\\eldenring.exe") });
	tap_ok(rd(403) == 0 && pi.steam_app_id == 1245620 && pi.steam_from == 401,
	       "steam: AppId=N of a reaper ancestor, found two levels up");
	tap_ok(rd(401) == 0 && pi.steam_app_id == 1245620,
	       "steam: reaper's AppId before '--', not the game's arguments after it");

	mkproc(&(struct fake){ .pid = 410, .ppid = 1, .comm = "launcher", .exe = "/usr/bin/launcher",
			       .argv = V("launcher"), .envp = V("HOME=/home/p", "SteamAppId=570") });
	mkproc(&(struct fake){ .pid = 411, .ppid = 410, .comm = "dota2", .exe = "/games/dota2",
			       .argv = V("dota2"), .envp = V("HOME=/home/p") });
	tap_ok(rd(411) == 0 && pi.steam_app_id == 570 && pi.steam_from == 410,
	       "steam: SteamAppId in the parent's environment");
	mkproc(&(struct fake){ .pid = 412, .ppid = 410, .comm = "hl2", .exe = "/games/hl2",
			       .argv = V("hl2"), .envp = V("SteamGameId=440", "SteamAppId=0") });
	tap_ok(rd(412) == 0 && pi.steam_app_id == 440 && pi.steam_from == 412,
	       "steam: its own SteamGameId when its SteamAppId is 0 (nearest first)");
	mkproc(&(struct fake){ .pid = 413, .ppid = 1, .comm = "shortcut", .exe = "/games/shortcut",
			       .argv = V("shortcut"), .envp = V("SteamGameId=12345678901234567890") });
	tap_ok(rd(413) == 0 && pi.steam_app_id == 0,
	       "steam: a non-Steam shortcut's 64-bit game id is not an app id");
	mkproc(&(struct fake){ .pid = 414, .ppid = 1, .comm = "plain", .exe = "/usr/bin/plain",
			       .argv = V("plain"), .envp = V("PATH=/usr/bin") });
	tap_ok(rd(414) == 0 && pi.steam_app_id == 0, "steam: no id anywhere up the tree is 0");
	tap_ok(entry_matches(411, "steam_app_id: 570") && !entry_matches(411, "steam_app_id: 730"),
	       "steam_app_id: the found id matches, another does not");
	tap_ok(!entry_matches(414, "steam_app_id: 570"), "steam_app_id: a process without one never matches");

	/* Ancestors' answers are cached; an exec (proc_steam_forget) clears one. */
	mkproc(&(struct fake){ .pid = 420, .ppid = 1, .comm = "sh", .exe = "/bin/sh", .argv = V("sh") });
	mkproc(&(struct fake){ .pid = 421, .ppid = 420, .comm = "a", .exe = "/bin/a", .argv = V("a") });
	tap_ok(rd(421) == 0 && pi.steam_app_id == 0, "(cache) no id above a plain shell");
	mkproc(&(struct fake){ .pid = 420, .ppid = 1, .comm = "reaper", .exe = "/s/reaper",
			       .argv = V("/s/reaper", "AppId=4711", "--") });
	mkproc(&(struct fake){ .pid = 422, .ppid = 420, .comm = "b", .exe = "/bin/b", .argv = V("b") });
	tap_ok(rd(422) == 0 && pi.steam_app_id == 0,
	       "(cache) the shell's cached answer stands until it is told the shell exec'd");
	proc_steam_forget(420);
	tap_ok(rd(422) == 0 && pi.steam_app_id == 4711 && pi.steam_from == 420,
	       "after proc_steam_forget (the daemon calls it on every exec), the new reaper's id is found");
}

static void test_precedence(void)
{
	struct match_result r;

	mkproc(&(struct fake){ .pid = 500, .ppid = 1, .comm = "cs2", .exe = "/g/linuxsteamrt64/cs2",
			       .argv = V("/g/linuxsteamrt64/cs2", "-steam"), .envp = V("SteamAppId=730") });
	cfg_reset();
	cfg_add("b-comm", "schema: 1\npriority: 50\nmatch:\n  - comm: cs2\n");
	cfg_add("a-cmdline", "schema: 1\npriority: 50\nmatch:\n  - cmdline: \"*-steam*\"\n");
	tap_ok(!strcmp(chosen(500, &r), "b-comm") && r.key == MATCH_COMM,
	       "equal priority: comm beats cmdline (file name order would pick the other)");
	cfg_add("c-exe", "schema: 1\npriority: 50\nmatch:\n  - exe: \"*/cs2\"\n");
	tap_ok(!strcmp(chosen(500, NULL), "c-exe"), "equal priority: exe beats comm");
	cfg_add("d-steam", "schema: 1\npriority: 50\nmatch:\n  - steam_app_id: 730\n");
	tap_ok(!strcmp(chosen(500, &r), "d-steam") && r.key == MATCH_STEAM_APP_ID,
	       "equal priority: steam_app_id beats exe");
	cfg_add("z-low", "schema: 1\npriority: 51\nmatch:\n  - cmdline: \"*\"\n");
	tap_ok(!strcmp(chosen(500, NULL), "z-low"), "a higher priority beats any key");

	cfg_reset();
	cfg_add("wine1", "schema: 1\nmatch:\n  - comm: \"eldenring.exe\"\n");
	cfg_add("wine2", "schema: 1\nmatch:\n  - wine_exe: \"eldenring.exe\"\n");
	tap_ok(!strcmp(chosen(300, NULL), "wine2"), "equal priority: wine_exe beats comm");

	cfg_reset();
	cfg_add("zz", "schema: 1\nmatch:\n  - comm: cs2\n");
	cfg_add("aa", "schema: 1\nmatch:\n  - comm: \"cs*\"\n");
	tap_ok(!strcmp(chosen(500, NULL), "aa"), "a full tie: the first profile id wins");

	cfg_reset();
	cfg_add("multi", "schema: 1\nmatch:\n  - cmdline: \"*\"\n  - steam_app_id: 730\n");
	cfg_add("other", "schema: 1\nmatch:\n  - exe: \"*/cs2\"\n");
	tap_ok(!strcmp(chosen(500, &r), "multi") && r.entry == 1 && r.key == MATCH_STEAM_APP_ID,
	       "a profile counts by its most specific matching entry");
}

static void test_exclusion_and_threads(void)
{
	struct match_verdict v[2];
	struct match_result r;
	const struct profile *p;

	mkproc(&(struct fake){ .pid = 600, .ppid = 401, .comm = "wineserver",
			       .exe = "/proton/files/bin/wineserver", .argv = V("wineserver") });
	mkproc(&(struct fake){ .pid = 601, .ppid = 401, .comm = "services.exe",
			       .exe = "/proton/files/bin/wine64-preloader",
			       .argv = V("C:\\windows\\system32\\services.exe") });
	cfg_reset();
	cfg_add("elden", "schema: 1\nmatch:\n  - steam_app_id: 1245620\n");
	tap_ok(!strcmp(chosen(600, NULL), "elden") && !strcmp(chosen(601, NULL), "elden"),
	       "without exclusion, the game's Steam id also matches wineserver and services.exe");
	cfg_daemon("schema: 1\nexclude:\n  - comm: wineserver\n  - wine_exe: services.exe\n");
	tap_ok(!strcmp(chosen(600, &r), "") && r.excluded == 0, "exclude: wineserver by comm");
	tap_ok(!strcmp(chosen(601, &r), "") && r.excluded == 1, "exclude: services.exe by wine_exe");
	tap_ok(!strcmp(chosen(403, NULL), "elden"), "exclude: the game itself still matches");
	rd(601);
	match_process(&cfg, &pi, &r, v);
	tap_ok(!v[0].matched && v[0].entry == 0 && strstr(v[0].why, "excluded"),
	       "explain's verdict says the entry matched but the process is excluded");

	cfg_reset();
	cfg_add("g", "schema: 1\nmatch:\n  - comm: g\nthreads:\n"
		     "  - {name: \"RenderThread*\", role: render}\n"
		     "  - {name: [AudioThread, \"FMOD*\"], role: audio, boost: 6}\n"
		     "  - {name: \"*\", role: background}\n");
	p = &cfg.profiles[0];
	tap_ok(match_thread_rule(p, "RenderThread 0") == 0, "threads: a glob rule");
	tap_ok(match_thread_rule(p, "FMOD mixer") == 1 && match_thread_rule(p, "AudioThread") == 1,
	       "threads: any name of a rule's list");
	tap_ok(match_thread_rule(p, "worker") == 2, "threads: the first matching rule wins");
	cfg_reset();
	cfg_add("g", "schema: 1\nmatch:\n  - comm: g\nthreads:\n  - {name: render, role: render}\n");
	tap_ok(match_thread_rule(&cfg.profiles[0], "Render") == -1,
	       "threads: names are case-sensitive; no rule is -1");

	mkproc(&(struct fake){ .pid = 700, .ppid = 1, .comm = "g", .exe = "/g",
			       .argv = V("g"), .threads = V("700:g", "701:RenderThread 0") });
	{
		char name[16];

		tap_ok(proc_thread_comm(root, 700, 701, name, sizeof(name)) &&
			       !strcmp(name, "RenderThread 0") &&
			       !proc_thread_comm(root, 700, 702, name, sizeof(name)),
		       "thread names come from task/TID/comm; a missing thread is reported");
	}
}

static void test_game_users(void)
{
	struct match_verdict v[1];
	struct match_result r;

	mkproc(&(struct fake){ .pid = 800, .ppid = 1, .comm = "cs2", .exe = "/g/cs2",
			       .argv = V("cs2"), .uid = 1000 });
	mkproc(&(struct fake){ .pid = 801, .ppid = 1, .comm = "cs2", .exe = "/tmp/cs2",
			       .argv = V("cs2"), .uid = 1001 });
	mkproc(&(struct fake){ .pid = 802, .ppid = 1, .comm = "cs2", .exe = "/g/cs2",
			       .argv = V("cs2"), .uid = -1 });
	tap_ok(rd(800) == 0 && pi.uid == 1000 && rd(802) == 0 && pi.uid == UINT32_MAX,
	       "game_users: the real uid is read from status (not the effective one); none: unknown");
	cfg_reset();
	cfg_add("cs2", "schema: 1\nmatch:\n  - comm: cs2\n");
	tap_ok(!strcmp(chosen(801, &r), "cs2") && !r.not_user,
	       "game_users left out: every user's processes get game profiles");
	cfg_daemon("schema: 1\ngame_users: [1000, 4242]\n");
	tap_ok(!strcmp(chosen(800, &r), "cs2") && !r.not_user, "game_users: a listed uid's game matches");
	tap_ok(!strcmp(chosen(801, &r), "") && r.not_user && r.excluded < 0,
	       "game_users: another user naming a process cs2 gets nothing");
	tap_ok(!strcmp(chosen(802, &r), "") && r.not_user,
	       "game_users: a process whose uid cannot be read gets nothing");
	rd(801);
	match_process(&cfg, &pi, &r, v);
	tap_ok(!v[0].matched && v[0].entry == 0 &&
		       strstr(v[0].why, "but uid 1001 is not in game_users"),
	       "explain's verdict says the entry matched but the uid is not a game user");
	cfg_daemon("schema: 1\n");
}

/*
 * A child that sleeps until killed (or until this test dies), with pid want
 * when want > 0 (clone3's set_tid: root only); its pid, or -1.
 */
static pid_t sleeper(pid_t want)
{
	pid_t tid = want;
	struct clone_args args = { .exit_signal = SIGCHLD };
	long p;

	if (want > 0) {
		args.set_tid = (uint64_t)(uintptr_t)&tid;
		args.set_tid_size = 1;
	}
	p = syscall(SYS_clone3, &args, sizeof(args));
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/bin/sleep", "sleep", "100", (char *)NULL);
		_exit(127);
	}
	return p > 0 ? (pid_t)p : -1;
}

static void reap(pid_t p)
{
	if (p > 0) {
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
	}
}

/*
 * The real /proc and a reused pid: a directory descriptor opened on the first
 * process must not read the second one, which has the same pid (clone3's
 * set_tid makes it so; without root the case is skipped).
 */
static void test_pid_reuse(void)
{
	struct proc_info a = { 0 }, b = { 0 };
	char comm[PROC_COMM_LEN];
	pid_t first, second;
	DIR *tasks;
	int dfd, r;

	first = sleeper(0);
	if (first < 0) {
		tap_skip(7, "pid reuse: cannot start a child");
		return;
	}
	dfd = proc_open("/proc", first);
	r = dfd >= 0 ? proc_read_dir(dfd, first, &a) : -errno;
	tap_ok(r == 0 && a.start != 0, "pid reuse: the first process reads through its directory");
	tap_ok(dfd >= 0 && proc_alive_at(dfd, first, a.start) &&
		       proc_thread_comm_at(dfd, first, comm, sizeof(comm)),
	       "pid reuse: the first process is alive and its thread named, through its directory");
	reap(first);
	second = sleeper(first);
	if (second != first) {
		tap_skip(5, "pid reuse: cannot create a process with a given pid (clone3 set_tid)");
		reap(second);
	} else {
		r = proc_read_dir(dfd, first, &b);
		tap_ok(r == -ENOENT,
		       "pid reuse: the old directory reads as gone, not as the new process (r=%d)", r);
		tap_ok(!proc_alive_at(dfd, first, 0), "pid reuse: the old directory is not alive");
		tap_ok(!proc_thread_comm_at(dfd, first, comm, sizeof(comm)),
		       "pid reuse: the old directory names no thread of the new process");
		tasks = proc_tasks_at(dfd);
		tap_ok(!tasks || !readdir(tasks), "pid reuse: the old directory lists no threads");
		if (tasks)
			closedir(tasks);
		tap_ok(proc_read("/proc", first, &b) == 0,
		       "pid reuse: a fresh read by pid sees the new process");
		reap(second);
	}
	if (dfd >= 0)
		close(dfd);
	proc_info_free(&a);
	proc_info_free(&b);
}

static void *park(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/*
 * A process whose main thread has exited (pthread_exit) while another runs:
 * its leader is a zombie marked exiting, and the process is alive all the
 * same; once killed, it is not.
 */
static void test_zombie_leader(void)
{
	struct proc_info facts = { 0 };
	pthread_t t;
	pid_t p = fork();
	int i, alive;

	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (pthread_create(&t, NULL, park, NULL))
			_exit(1);
		syscall(SYS_exit, 0); /* this thread only */
	}
	if (p < 0) {
		tap_skip(3, "zombie leader: cannot fork");
		return;
	}
	for (i = 0; i < 200; i++) {
		int dfd = proc_open("/proc", p);
		char st = 0;

		if (dfd >= 0) {
			FILE *f;
			int fd = openat(dfd, "stat", O_RDONLY | O_CLOEXEC);

			f = fd >= 0 ? fdopen(fd, "r") : NULL;
			if (f && fscanf(f, "%*d (%*[^)]) %c", &st) != 1)
				st = 0;
			if (f)
				fclose(f);
			else if (fd >= 0)
				close(fd);
			close(dfd);
		}
		if (st == 'Z')
			break;
		usleep(10000);
	}
	alive = proc_alive("/proc", p, 0);
	tap_ok(i < 200 && alive, "zombie leader: alive while another thread runs");
	tap_ok(proc_read("/proc", p, &facts) == 0, "zombie leader: its facts still read");
	proc_info_free(&facts);
	reap(p);
	tap_ok(!proc_alive("/proc", p, 0), "zombie leader: gone once killed and reaped");
}

/*
 * proc_mount_hide() on mountinfo lines as the kernel writes them, for the
 * real /proc's device: the line is found by device, not by mount point.
 */
static int mountinfo_case(const char *lines, struct proc_hide *h)
{
	char path[] = "/tmp/match_test_mountinfo_XXXXXX";
	int fd = mkstemp(path), r = -EIO;
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	if (fputs(lines, f) >= 0 && fflush(f) == 0)
		r = proc_mount_hide(path, "/proc", h);
	fclose(f);
	unlink(path);
	return r;
}

static void test_mount_hide(void)
{
	char line[8192], dev[32], *long_opts;
	struct proc_hide h;
	struct stat st;
	int r;

	if (stat("/proc", &st)) {
		tap_skip(6, "mountinfo: no /proc");
		return;
	}
	snprintf(dev, sizeof(dev), "%u:%u", major(st.st_dev), minor(st.st_dev));
	snprintf(line, sizeof(line), "22 1 %s / /proc rw,nosuid shared:12 - proc proc rw\n", dev);
	r = mountinfo_case(line, &h);
	tap_ok(r == 0 && h.mode == PROC_HIDE_NONE, "mountinfo: a plain /proc hides nothing (r=%d)", r);
	snprintf(line, sizeof(line),
		 "30 1 0:99 / /proc rw - tmpfs tmpfs rw,hidepid=2\n"
		 "22 1 %s / /somewhere\\040else rw shared:12 master:3 - proc proc rw,hidepid=invisible,gid=54321\n",
		 dev);
	r = mountinfo_case(line, &h);
	tap_ok(r == 0 && h.mode == PROC_HIDE_INVISIBLE && h.gid == 54321 &&
		       !strcmp(h.how, "hidepid=invisible"),
	       "mountinfo: found by device under an escaped mount point, with gid= (%s, %u)", h.how,
	       (unsigned int)h.gid);
	snprintf(line, sizeof(line), "22 1 %s / /proc rw - proc  rw,hidepid=1\n", dev);
	r = mountinfo_case(line, &h);
	tap_ok(r == 0 && h.mode == PROC_HIDE_NOACCESS && h.gid == 0,
	       "mountinfo: an empty source, numeric hidepid=1, no gid= (mode %d)", (int)h.mode);
	snprintf(line, sizeof(line), "22 1 %s / /proc rw - proc proc rw,hidepid=ptraceable\n", dev);
	r = mountinfo_case(line, &h);
	tap_ok(r == 0 && h.mode == PROC_HIDE_PTRACEABLE, "mountinfo: hidepid=ptraceable");
	long_opts = malloc(6000);
	if (long_opts) {
		memset(long_opts, 'x', 5999);
		long_opts[5999] = '\0';
		snprintf(line, sizeof(line),
			 "40 1 0:98 / /merged rw - overlay overlay rw,lowerdir=/%s\n"
			 "22 1 %s / /proc rw - proc proc rw,hidepid=invisible\n",
			 long_opts, dev);
		free(long_opts);
	}
	r = mountinfo_case(line, &h);
	tap_ok(r == 0 && h.mode == PROC_HIDE_INVISIBLE, "mountinfo: after a line longer than 4 KiB");
	r = mountinfo_case("40 1 0:98 / /proc rw - tmpfs tmpfs rw,hidepid=2\n", &h);
	tap_ok(r == -ENOENT, "mountinfo: no proc mount on the device: -ENOENT (r=%d)", r);
}

/* This process through the real /proc: the parser on the kernel's own files. */
static void test_real_proc(void)
{
	char want[PATH_MAX];
	ssize_t n;

	setenv("SteamAppId", "424242", 1);
	proc_info_free(&pi);
	tap_ok(proc_read("/proc", getpid(), &pi) == 0 && pi.ppid == getppid() &&
		       !strcmp(pi.comm, "match_test") && pi.state == 'R',
	       "the real /proc: this process's comm, parent and state");
	n = readlink("/proc/self/exe", want, sizeof(want) - 1);
	want[n > 0 ? n : 0] = '\0';
	tap_ok(!strcmp(pi.exe, want), "the real /proc: the exe path");
	tap_ok(pi.uid == (uint32_t)getuid(), "the real /proc: the real uid");
	proc_read_steam("/proc", &pi);
	/* setenv() does not change /proc/PID/environ: the id is the exec-time one. */
	tap_ok(pi.steam_app_id == 0 || pi.steam_from != getpid(),
	       "the real /proc: the environment as at exec (setenv afterwards is not seen)");
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/match_test.XXXXXX");
	if (!mkdtemp(root)) {
		tap_bail("mkdtemp failed");
		return 1;
	}
	test_reading();
	test_globs();
	test_wine();
	test_steam();
	test_precedence();
	test_exclusion_and_threads();
	test_game_users();
	test_pid_reuse();
	test_mount_hide();
	test_zombie_leader();
	test_real_proc();
	proc_info_free(&pi);
	cfg_reset();
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", root);
	}
	return tap_done();
}
