/* SPDX-License-Identifier: ISC */
/*
 * unit.h -- a tiny TAP producer for the unit tests: CHECK(cond, ...) prints
 * "ok N - ..." or "not ok N - ...", DONE() returns 1 if anything failed.
 */
#ifndef TT_UNIT_H
#define TT_UNIT_H

#include <stdio.h>
#include <stdlib.h>

static int unit_n, unit_failed;

#define CHECK(cond, ...) do {						\
	int ok_ = (cond) != 0;						\
	printf("%s %d - ", ok_ ? "ok" : "not ok", ++unit_n);		\
	printf(__VA_ARGS__);						\
	printf("%s\n", ok_ ? "" : "  [" #cond "]");			\
	if (!ok_)							\
		unit_failed++;						\
} while (0)

#define DONE() (fflush(stdout), unit_failed != 0)

#endif
