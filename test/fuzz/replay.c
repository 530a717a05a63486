/* SPDX-License-Identifier: ISC */
/*
 * replay.c -- the main() of a harness built without libFuzzer (make
 * check, with gcc's AddressSanitizer and UndefinedBehaviorSanitizer):
 * every file of the directories given goes once through
 * LLVMFuzzerTestOneInput, so a crash found and fixed stays fixed.
 * Each input runs in a child process; prints one TAP line, "ok 1 - NAME:
 * N inputs replayed", or for each input that crashed, broke an oracle or
 * drew a sanitizer report (shown above it) "not ok 1 - NAME: FILE", and
 * then exits non-zero.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fuzz.h"

static const char *name = "?";
static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	int status;
	pid_t pid;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		printf("not ok 1 - %s: cannot read %s\n", name, path);
		if (f != NULL)
			fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	/* In a child: whatever stops it (a sanitizer, an oracle's abort, a
	 * signal), this process names the input. */
	fflush(NULL);
	if ((pid = fork()) == 0) {
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		_exit(0);
	}
	free(buf);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		printf("not ok 1 - %s: %s\n", name, path);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	long count = 0;
	int i, bad = 0;

	name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	for (i = 1; i < argc; i++) {
		struct stat st;
		struct dirent **ents;
		int k, n;

		if (stat(argv[i], &st) == 0 && !S_ISDIR(st.st_mode)) {
			bad |= replay_file(argv[i]) != 0;
			count++;
			continue;
		}
		if ((n = scandir(argv[i], &ents, NULL, alphasort)) < 0) {
			fprintf(stderr, "replay: cannot read %s\n", argv[i]);
			bad = 1;
			continue;
		}
		for (k = 0; k < n; k++) {
			char *path;

			if (ents[k]->d_name[0] != '.') {
				if (asprintf(&path, "%s/%s", argv[i],
				    ents[k]->d_name) < 0)
					abort();
				bad |= replay_file(path) != 0;
				count++;
				free(path);
			}
			free(ents[k]);
		}
		free(ents);
	}
	if (bad)
		return 1;
	if (count == 0) {
		printf("not ok 1 - %s: no inputs\n", name);
		return 1;
	}
	printf("ok 1 - %s: %ld inputs replayed\n", name, count);
	return 0;
}
