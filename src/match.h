/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which profile a process gets: reading a process's facts from /proc (or a
 * directory laid out like it, for tests) and matching them against the
 * profiles' `match:` entries, the daemon file's `exclude:` entries and the
 * profiles' `threads:` rules. No BPF here; detect.c writes the result into
 * the scheduler's maps.
 *
 * Precedence when several profiles match: the higher `priority`, then the
 * more specific key of the matching entry (steam_app_id > exe > wine_exe >
 * comm > cmdline; an entry counts by its most specific key), then the profile
 * id (the file name) in byte order.
 */
#ifndef SCX_GAMER_MATCH_H
#define SCX_GAMER_MATCH_H

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "gamer_config.h"

/* The kernel's comm: 15 characters and a NUL. */
#define PROC_COMM_LEN 16

/* What matching looks at, read from ROOT/PID/. */
struct proc_info {
	int pid, ppid;
	unsigned long long start; /* stat field 22: start time in clock ticks after boot */
	char state;		  /* stat field 3: 'R', 'S', 'Z', ... */
	unsigned int flags;	  /* stat field 9: PF_* (PROC_PF_EXITING) */
	char comm[PROC_COMM_LEN];
	char exe[PATH_MAX];	  /* the exe link's target; "" if unreadable */
	char *cmdline;		  /* arguments joined by spaces ("" for none) */
	char *argv0;		  /* the first argument ("" for none) */
	/* Windows executable basename of a Wine/Proton process, else "". */
	char wine_exe[NAME_MAX + 1];
	bool wine_from_comm; /* wine_exe was taken from comm */
	/*
	 * Steam app id: the process's SteamAppId/SteamGameId, else an
	 * ancestor's, else a `reaper ... AppId=N` ancestor's (0: none), and
	 * the pid it was found at. Filled by proc_read_steam().
	 */
	uint32_t steam_app_id;
	int steam_from;
	uint32_t uid; /* status "Uid:": the real uid (who started it); UINT32_MAX: unknown */
};

/*
 * Read ROOT/PID/{stat,status,comm,exe,cmdline} into pi (zeroed first). Returns 0, or
 * -ENOENT if the process is gone (or a zombie whose threads have all
 * exited), -errno for
 * other failures. A process whose exe or cmdline cannot be read (a kernel
 * thread, no permission) is still read, with those empty.
 */
int proc_read(const char *root, int pid, struct proc_info *pi);
/*
 * ROOT/PID opened as a directory (O_CLOEXEC), or -1 with errno: every read
 * through it (the _at functions) is of that process, and fails once it is
 * gone, even if its pid is reused.
 */
int proc_open(const char *root, int pid);
/* Its task directory (the threads), or NULL with errno. */
DIR *proc_tasks_at(int dfd);
/*
 * proc_read() through dfd, an open ROOT/PID directory: every fact comes from
 * the process dfd was opened on, and -ENOENT once it is gone (a pid reused
 * since is not read).
 */
int proc_read_dir(int dfd, int pid, struct proc_info *pi);
/* include/linux/sched.h: the task is exiting (its exit tracepoint may have run). */
#define PROC_PF_EXITING 0x00000004

/*
 * Whether ROOT/PID (a process or a thread id) is alive: not gone, not a
 * zombie (unless other threads of it run), not exiting, and (start non-zero)
 * still the task that started at start.
 */
bool proc_alive(const char *root, int pid, unsigned long long start);
/* proc_alive() of the process open at dfd (proc_open()). */
bool proc_alive_at(int dfd, int pid, unsigned long long start);
/* How a proc mount hides processes (hidepid=, include/linux/proc_fs.h). */
enum proc_hide_mode {
	PROC_HIDE_NONE = 0,	  /* off, 0 */
	PROC_HIDE_NOACCESS = 1,	  /* listed, but other users' files unreadable */
	PROC_HIDE_INVISIBLE = 2,  /* other users' processes not listed */
	PROC_HIDE_PTRACEABLE = 4, /* only processes the reader may ptrace listed */
};

struct proc_hide {
	enum proc_hide_mode mode;
	gid_t gid;    /* gid=: members see everything (but under ptraceable); 0 if not given */
	char how[32]; /* the option as written, "hidepid=invisible" */
};

/*
 * The hidepid= and gid= options of the proc mount at root (found by its
 * device in mountinfo, normally /proc/self/mountinfo). 0, or -errno
 * (-ENOENT: no proc mount there).
 */
int proc_mount_hide(const char *mountinfo, const char *root, struct proc_hide *h);
/* The name pi is taking (a rename event): comm, and wine_exe if it came from comm. */
void proc_set_comm(struct proc_info *pi, const char *comm);
/*
 * Find pi's Steam app id, walking up to 32 ancestors. What was found above
 * each ancestor is cached by pid and start time (ancestors rarely change);
 * an exec changes a process's environment, so call proc_steam_forget() on
 * every exec.
 */
void proc_read_steam(const char *root, struct proc_info *pi);
void proc_steam_forget(int pid);
void proc_info_free(struct proc_info *pi);
/* The name of one thread (ROOT/PID/task/TID/comm); false if gone. */
bool proc_thread_comm(const char *root, int pid, int tid, char *buf, size_t len);
/* The same, of a thread of the process open at dfd. */
bool proc_thread_comm_at(int dfd, int tid, char *buf, size_t len);

/*
 * The full name behind a comm the kernel truncated: the basename of argv[0]
 * (either slash) or of the exe, when its first 15 characters are comm.
 * Returns NULL when comm is shorter than 15 characters or nothing fits.
 */
const char *proc_full_name(const struct proc_info *pi, char *buf, size_t len);

/* True when entry e matches pi; else *failed is the first key that did not. */
bool match_entry_test(const struct match_entry *e, const struct proc_info *pi,
		      uint32_t *failed);
/* The most specific of an entry's keys (one MATCH_* bit). */
uint32_t match_entry_key(const struct match_entry *e);
/* Rank of a MATCH_* key for precedence: 5 (steam_app_id) .. 1 (cmdline). */
int match_key_rank(uint32_t key);
/* enum gamer_how of a MATCH_* key. */
unsigned int match_key_how(uint32_t key);
/* "steam_app_id", "comm", ... of a MATCH_* key. */
const char *match_key_name(uint32_t key);

/* One profile's verdict (explain). */
struct match_verdict {
	bool matched;
	int entry;	  /* the best matching entry; -1 */
	uint32_t key;	  /* its most specific key */
	char why[256];	  /* why it matched or not, for people */
};

struct match_result {
	int profile;	/* index into config_set.profiles, or -1 */
	int entry;	/* its matching entry */
	uint32_t key;	/* that entry's most specific key */
	int excluded;	/* index of the exclude entry that matched, or -1 */
	bool not_user;	/* its uid is not in the daemon file's game_users */
};

/* No game profile for it, by its own match or from its parent. */
static inline bool match_blocked(const struct match_result *r)
{
	return r->excluded >= 0 || r->not_user;
}

/*
 * The profile pi matches by itself. An excluded process, or one whose uid
 * game_users leaves out, matches nothing.
 * With verdicts (n_profiles long), each profile's verdict is filled too.
 */
void match_process(const struct config_set *c, const struct proc_info *pi,
		   struct match_result *r, struct match_verdict *verdicts);

/* Index of the first `threads:` rule of p matching thread name, or -1. */
int match_thread_rule(const struct profile *p, const char *name);

#endif /* SCX_GAMER_MATCH_H */
