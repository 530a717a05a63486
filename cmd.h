/*
 * cmd.h -- what timetap-sync.c hands to each command: the parsed global
 * options, the configuration and the open store.
 *
 * A command function prints its own normal output on stdout and returns
 * 0 on success or -1 with `err` filled; timetap-sync.c prints the error and
 * turns err->code into the exit status.  Commands never call exit().
 */
#ifndef TT_CMD_H
#define TT_CMD_H

#include <inttypes.h>
#include <stdio.h>

#include "config.h"
#include "store.h"
#include "util.h"

struct tt_ctx {
	struct tt_config cfg;
	const char *dbpath;
	const char *profile;	/* -s, or "default" */
	int profile_given;	/* -s was given */
	int verbose;
	int quiet;
	struct store *st;
};

/* appt add|list|show|edit|cancel */
int book_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);

/* Print s in a table cell of `width` columns (0: no padding, no cut),
 * counting UTF-8 characters, cutting with "~" when too long. */
void tt_cell(FILE *f, const char *s, int width);

#endif
