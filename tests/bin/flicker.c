// SPDX-License-Identifier: GPL-2.0-only
/*
 * flicker PATH SECONDS: create PATH and remove it again, as fast as it can,
 * for SECONDS, then print "flicker: N cycles". A reader listing PATH's
 * directory meanwhile sees names that are gone by the time it opens them.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static const char text[] = "schema: 1\n";
	struct timespec now, end;
	unsigned long n = 0;
	int fd;

	if (argc != 3 || atoi(argv[2]) <= 0) {
		fprintf(stderr, "usage: flicker PATH SECONDS\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += atoi(argv[2]);
	do {
		fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			perror(argv[1]);
			return 1;
		}
		if (write(fd, text, sizeof(text) - 1) != (ssize_t)sizeof(text) - 1) {
			perror(argv[1]);
			close(fd);
			return 1;
		}
		close(fd);
		if (unlink(argv[1])) {
			perror(argv[1]);
			return 1;
		}
		n++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	printf("flicker: %lu cycles\n", n);
	return 0;
}
