/* SPDX-License-Identifier: ISC */
/*
 * rusage.c -- run a command and print, on the file named by the first
 * argument, "EXIT USER_US SYS_US MAXRSS_KB" of that command alone (make
 * bench).  GNU time(1) prints CPU in hundredths of a second, too coarse
 * for a pass of 20 ms; a peak RSS taken by the Python bench itself would
 * include the interpreter's pages, which a forked child holds until exec.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct rusage ru;
	pid_t pid;
	int st;
	FILE *out;

	if (argc < 3) {
		fprintf(stderr, "usage: rusage OUTFILE COMMAND [ARG...]\n");
		return 64;
	}
	if ((pid = fork()) < 0) {
		perror("rusage: fork");
		return 71;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) < 0) {
		perror("rusage: wait4");
		return 71;
	}
	if ((out = fopen(argv[1], "w")) == NULL) {
		perror(argv[1]);
		return 73;
	}
	fprintf(out, "%d %ld %ld %ld\n", WIFEXITED(st) ? WEXITSTATUS(st) :
	    128 + WTERMSIG(st),
	    (long)ru.ru_utime.tv_sec * 1000000L + (long)ru.ru_utime.tv_usec,
	    (long)ru.ru_stime.tv_sec * 1000000L + (long)ru.ru_stime.tv_usec,
	    ru.ru_maxrss);
	return fclose(out) == 0 ? 0 : 73;
}
