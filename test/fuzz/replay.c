/* SPDX-License-Identifier: ISC */
/*
 * replay.c -- the main() of a harness built without libFuzzer (make
 * check, with gcc's AddressSanitizer and UndefinedBehaviorSanitizer):
 * every file of the directories given goes once through
 * LLVMFuzzerTestOneInput, so a crash found and fixed stays fixed.
 * Prints one TAP line: "ok 1 - NAME: N inputs", or on a crash, an oracle
 * or a sanitizer report, "not ok 1 - NAME: FILE" (with the report above
 * it) and a non-zero exit.
 */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include "fuzz.h"

static const char *name = "?";
static char *current;	/* the input being replayed */

static void
say_failed(void)
{
	const char *parts[] = { "not ok 1 - ", name, ": ", current ?
	    current : "?", "\n" };
	size_t i;

	/* write(2) alone: this may run inside a signal handler. */
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		(void)!write(1, parts[i], strlen(parts[i]));
}

static void
on_signal(int sig)
{
	say_failed();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 ||
	    (buf = malloc((size_t)n + 1)) == NULL ||
	    fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		if (f != NULL)
			fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	fflush(stdout);
	current = strdup(path);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(current);
	current = NULL;
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	long count = 0;
	int i, bad = 0;

	name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	__sanitizer_set_death_callback(say_failed);
	signal(SIGABRT, on_signal);
	signal(SIGSEGV, on_signal);
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
	if (bad || count == 0) {
		printf("not ok 1 - %s: %s\n", name, count == 0 ? "no inputs" :
		    "an input could not be read");
		return 1;
	}
	printf("ok 1 - %s: %ld inputs replayed\n", name, count);
	return 0;
}
