/* SPDX-License-Identifier: ISC */
/*
 * fuzz_config.c -- the configuration file (config.c config_load), read
 * from a memory file.  Oracles: a refused file says so with TT_E_CONFIG,
 * and every diagnostic is one clean line "FILE:N: ..." naming a line the
 * file has (N from 1 to its count of lines), as many as ndiag says; a
 * file that is not a configuration file names its line and quotes none
 * of it; an accepted one has no diagnostics and URLs config_url_ok takes.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

static int fd = -1;
static char path[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_config cfg;
	struct tt_err e = { 0 };
	size_t lines = 0, i, plen;
	const char *p;
	int rc, n;

	if (fd < 0) {
		if ((fd = memfd_create("fuzz_config", 0)) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	lines += size > 0 && data[size - 1] != '\n';

	config_defaults(&cfg);
	rc = config_load(&cfg, path, 1, &e);
	plen = strlen(path);
	if (rc == 0) {
		FUZZ_ASSERT(cfg.ndiag == 0 && cfg.diag == NULL, "accepted with "
		    "%d diagnostics", cfg.ndiag);
		FUZZ_ASSERT(config_url_ok(cfg.graph_url) &&
		    config_url_ok(cfg.authority_url), "a URL it would refuse");
	} else {
		FUZZ_ASSERT(e.code == TT_E_CONFIG, "code %d", e.code);
		FUZZ_CLEAN(e.msg, "the summary");
		if (cfg.ndiag == 0) {
			/* Not a configuration file: its line, not its text. */
			p = strstr(e.msg, "(line ");
			FUZZ_ASSERT(cfg.diag == NULL && p != NULL &&
			    sscanf(p, "(line %d", &n) == 1 && n >= 1 &&
			    (size_t)n <= lines, "%s", e.msg);
		} else {
			int count = 0;

			FUZZ_ASSERT(cfg.diag != NULL, "ndiag without diag");
			for (p = cfg.diag; *p != '\0'; count++) {
				const char *nl = strchr(p, '\n');
				char *one;

				FUZZ_ASSERT(nl != NULL, "a diagnostic without "
				    "its newline");
				if ((one = strndup(p, (size_t)(nl - p))) == NULL)
					abort();
				FUZZ_CLEAN(one, "a diagnostic");
				FUZZ_ASSERT(strncmp(one, path, plen) == 0 &&
				    one[plen] == ':' && sscanf(one + plen + 1,
				    "%d:", &n) == 1 && n >= 1 && (size_t)n <= lines,
				    "%s (of %zu lines)", one, lines);
				free(one);
				p = nl + 1;
			}
			FUZZ_ASSERT(count == cfg.ndiag, "%d lines, ndiag %d",
			    count, cfg.ndiag);
		}
	}
	config_free(&cfg);
	return 0;
}
