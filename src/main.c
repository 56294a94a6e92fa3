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
	OPT_CONFIG_DIR,
	OPT_PROFILE_DIR,
	OPT_PIN_DIR,
	OPT_RUN_DIR,
	OPT_NO_ATTACH,
	OPT_JSON,
	OPT_WATCH,
	OPT_COUNT,
	OPT_NICE,
	OPT_TEST_HOTPLUG_RESTART,
};

static const struct option long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "config-dir", required_argument, NULL, OPT_CONFIG_DIR },
	{ "profile-dir", required_argument, NULL, OPT_PROFILE_DIR },
	{ "pin-dir", required_argument, NULL, OPT_PIN_DIR },
	{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
	{ "no-attach", no_argument, NULL, OPT_NO_ATTACH },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "watch", optional_argument, NULL, OPT_WATCH },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "nice", required_argument, NULL, OPT_NICE },
	/* Test only: not in --help; see docs/TESTING.md. */
	{ "test-error-after", required_argument, NULL, OPT_TEST_ERROR_AFTER },
	{ "test-hotplug-restart", no_argument, NULL, OPT_TEST_HOTPLUG_RESTART },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]... [COMMAND [ARG]...]\n"
		"A sched_ext CPU scheduler for games.\n"
		"\n"
		"Commands:\n"
		"  run             load the configuration, attach the scheduler and serve it\n"
		"                  until SIGINT or SIGTERM, then detach; SIGHUP reloads (the\n"
		"                  default; needs root and a kernel with CONFIG_SCHED_CLASS_EXT)\n"
		"  check [FILE]... validate the installed configuration, or these files\n"
		"                  (no root needed); exit 0 when valid, 1 when not\n"
		"  show [ID]       the effective tunables of every profile (or one), read\n"
		"                  back from the running daemon's kernel maps\n"
		"  stats           the scheduler's counters per profile and in total, read\n"
		"                  from the running daemon's kernel maps\n"
		"  status          the scheduler, the daemon, its profiles, any file that\n"
		"                  failed to validate, and the running games\n"
		"  explain PID     which profile process PID matches and why, what the\n"
		"                  scheduler applies, and each thread's role and boost\n"
		"  reload          ask the running daemon to read every file again\n"
		"\n"
		"Options:\n"
		"      --config-dir=DIR   scx_gamer.yaml and the admin's profiles/ (default %s)\n"
		"      --profile-dir=DIR  shipped profiles (default %s)\n"
		"      --pin-dir=DIR      where run pins the maps show and stats read\n"
		"                         (default %s)\n"
		"      --run-dir=DIR      the daemon's pid and status files (default %s)\n"
		"      --no-attach        run: push the configuration to the maps but do not\n"
		"                         attach the scheduler (any kernel with BPF)\n"
		"      --json             show, stats, status: JSON output (stats --watch:\n"
		"                         one object per line)\n"
		"      --watch[=SECONDS]  stats: a sample every SECONDS (default 1, 0.01 to\n"
		"                         3600) showing the change since the last one,\n"
		"                         until SIGINT or SIGTERM\n"
		"      --count=N          stats: stop after N samples (implies --watch)\n"
		"      --nice=N           run: the daemon's nice value, -20 to 19 (default %d)\n"
		"  -v, --verbose          more output; libbpf's debug messages (verifier logs)\n"
		"  -h, --help             show this help and exit\n"
		"  -V, --version          show the version and exit\n"
		"\n"
		"Exit status: 0 on success, 1 on failure (an invalid configuration, or the\n"
		"kernel ejecting the scheduler), 2 on a bad command line.\n",
		PACKAGE_NAME, SCX_GAMER_CONFDIR, SCX_GAMER_PROFILEDIR, SCX_GAMER_PINDIR,
		SCX_GAMER_RUNDIR, RUN_NICE_DEFAULT);
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

/* --watch: seconds, decimals allowed; short enough to read, long enough to matter. */
#define WATCH_MIN_S 0.01
#define WATCH_MAX_S 3600.0

static int parse_seconds(const char *arg, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	/* Written as a negated range so that NaN fails too. */
	if (errno || end == arg || *end || !(v >= WATCH_MIN_S && v <= WATCH_MAX_S))
		return -1;
	*out = v;
	return 0;
}

static int parse_count(const char *arg, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < 1)
		return -1;
	*out = v;
	return 0;
}

/*
 * A directory option as given, without trailing slashes ("/" stays): paths
 * are built as DIR/NAME and compared with the paths inotify reports, so
 * "etc/" and "etc//" must mean "etc".
 */
static const char *dir_arg(char *arg)
{
	size_t n = strlen(arg);

	while (n > 1 && arg[n - 1] == '/')
		arg[--n] = '\0';
	return arg;
}

int main(int argc, char **argv)
{
	struct run_opts run = {
		.paths = {
			.config_dir = SCX_GAMER_CONFDIR,
			.profile_dir = SCX_GAMER_PROFILEDIR,
			.pin_dir = SCX_GAMER_PINDIR,
			.run_dir = SCX_GAMER_RUNDIR,
		},
		.test_error_after_ms = -1,
		.nice = RUN_NICE_DEFAULT,
	};
	bool json = false, watch_bare = false, nice_given = false;
	double watch_s = 0;
	long count = 0;
	const char *cmd;
	int c;

	while ((c = getopt_long(argc, argv, "hVv", long_options, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return EXIT_OK;
		case 'v':
			log_max_level = LOG_DEBUG;
			run.log_level_forced = true;
			break;
		case OPT_CONFIG_DIR:
			run.paths.config_dir = dir_arg(optarg);
			break;
		case OPT_PROFILE_DIR:
			run.paths.profile_dir = dir_arg(optarg);
			break;
		case OPT_PIN_DIR:
			run.paths.pin_dir = dir_arg(optarg);
			break;
		case OPT_RUN_DIR:
			run.paths.run_dir = dir_arg(optarg);
			break;
		case OPT_NO_ATTACH:
			run.no_attach = true;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_WATCH:
			watch_bare = !optarg;
			if (!optarg) {
				watch_s = 1.0;
			} else if (parse_seconds(optarg, &watch_s)) {
				log_error("--watch needs seconds from %g to %g, got '%s'", WATCH_MIN_S,
					  WATCH_MAX_S, optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_COUNT:
			if (parse_count(optarg, &count)) {
				log_error("--count needs a number of samples (1 or more), got '%s'",
					  optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_NICE: {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || v < -20 || v > 19) {
				log_error("--nice needs a nice value from -20 to 19, got '%s'", optarg);
				return EXIT_USAGE;
			}
			run.nice = (int)v;
			nice_given = true;
			break;
		}
		case OPT_TEST_ERROR_AFTER:
			if (parse_ms(optarg, &run.test_error_after_ms)) {
				log_error("--test-error-after needs milliseconds, got '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_TEST_HOTPLUG_RESTART:
			run.test_hotplug_restart = true;
			break;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n", PACKAGE_NAME);
			return EXIT_USAGE;
		}
	}

	cmd = optind < argc ? argv[optind++] : "run";
	if ((watch_s > 0 || count > 0) && strcmp(cmd, "stats") != 0) {
		log_error("--watch and --count are options of stats only");
		return EXIT_USAGE;
	}
	if (nice_given && strcmp(cmd, "run") != 0) {
		log_error("--nice is an option of run only");
		return EXIT_USAGE;
	}
	libbpf_set_print(libbpf_print);

	if (strcmp(cmd, "check") == 0)
		return cmd_check(&run.paths, argv + optind, argc - optind);
	if (strcmp(cmd, "show") == 0) {
		if (argc - optind > 1) {
			log_error("unexpected argument '%s'", argv[optind + 1]);
			return EXIT_USAGE;
		}
		return cmd_show(&run.paths, optind < argc ? argv[optind] : NULL, json);
	}
	if (strcmp(cmd, "explain") == 0) {
		if (argc - optind != 1) {
			log_error(argc - optind ? "explain takes one process id" :
						  "explain needs a process id");
			return EXIT_USAGE;
		}
		return cmd_explain(&run.paths, argv[optind]);
	}
	if (optind < argc) {
		/* getopt does not take an optional argument from the next word. */
		if (watch_bare && strtod(argv[optind], NULL) > 0)
			log_error("unexpected argument '%s' (write --watch=%s)", argv[optind],
				  argv[optind]);
		else
			log_error("unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(&run);
	if (strcmp(cmd, "stats") == 0)
		return cmd_stats(&run.paths, json, count > 0 && watch_s <= 0 ? 1.0 : watch_s,
				 count);
	if (strcmp(cmd, "status") == 0)
		return cmd_status(&run.paths, json);
	if (strcmp(cmd, "reload") == 0)
		return cmd_reload(&run.paths);

	log_error("unknown command '%s' (try '%s --help')", cmd, PACKAGE_NAME);
	return EXIT_USAGE;
}
