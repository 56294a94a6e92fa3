// SPDX-License-Identifier: GPL-2.0-only
/*
 * scx_gamer: command line entry point. Parses options, picks the command and
 * sets up logging; the commands live in their own files (cmd.h).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "cmd.h"
#include "log.h"

enum {
	OPT_TEST_ERROR_AFTER = 0x100,
};

static const struct option long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "verbose", no_argument, NULL, 'v' },
	/* Test only: not in --help; see docs/TESTING.md. */
	{ "test-error-after", required_argument, NULL, OPT_TEST_ERROR_AFTER },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]... [COMMAND]\n"
		"A sched_ext CPU scheduler for games.\n"
		"\n"
		"Commands:\n"
		"  run            load and attach the scheduler, serve it until SIGINT or\n"
		"                 SIGTERM, then detach (the default; needs root and a kernel\n"
		"                 with CONFIG_SCHED_CLASS_EXT)\n"
		"\n"
		"Options:\n"
		"  -v, --verbose  more output; libbpf's debug messages (verifier logs)\n"
		"  -h, --help     show this help and exit\n"
		"  -V, --version  show the version and exit\n"
		"\n"
		"Exit status: 0 on a clean stop, 1 on failure or when the kernel ejects\n"
		"the scheduler, 2 on a bad command line.\n",
		PACKAGE_NAME);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's info level is chatter (struct_ops members this kernel lacks). */
	if (level != LIBBPF_WARN && log_max_level < LOG_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int parse_ms(const char *arg, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 0 || v > INT_MAX)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct run_opts run = { .test_error_after_ms = -1 };
	const char *cmd;
	int c;

	while ((c = getopt_long(argc, argv, "+hVv", long_options, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return EXIT_OK;
		case 'v':
			log_max_level = LOG_DEBUG;
			break;
		case OPT_TEST_ERROR_AFTER:
			if (parse_ms(optarg, &run.test_error_after_ms)) {
				log_error("--test-error-after needs milliseconds, got '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", PACKAGE_NAME);
			return EXIT_USAGE;
		}
	}

	cmd = optind < argc ? argv[optind++] : "run";
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}

	libbpf_set_print(libbpf_print);

	if (strcmp(cmd, "run") == 0)
		return cmd_run(&run);

	log_error("unknown command '%s' (try '%s --help')", cmd, PACKAGE_NAME);
	return EXIT_USAGE;
}
