/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef SCX_GAMER_CMD_H
#define SCX_GAMER_CMD_H

#include <stdbool.h>

/* Exit statuses of the program. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,  /* runtime failure, or the kernel ejected the scheduler */
	EXIT_USAGE = 2, /* bad command line */
};

struct run_opts {
	/* Test hook: make the BPF side report an error this long after attach. */
	long test_error_after_ms;
};

int cmd_run(const struct run_opts *opts);

#endif /* SCX_GAMER_CMD_H */
