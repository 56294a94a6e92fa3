/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A process's facts, read from /proc (or a directory laid out like it, for
 * tests) through one descriptor of its directory, the Steam app id of it or
 * an ancestor, and how the proc mount hides processes. What matching looks
 * at (match.h); no BPF here.
 */
#ifndef SCX_GAMER_PROCFS_H
#define SCX_GAMER_PROCFS_H

#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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

/* The basename of s by either slash (Windows paths use '\\'). */
const char *proc_basename(const char *s);

#endif /* SCX_GAMER_PROCFS_H */
