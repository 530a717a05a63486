/* SPDX-License-Identifier: ISC */
/*
 * cmd.h -- what timetap-sync.c hands to each command: the parsed global
 * options, the configuration and the open store.
 *
 * A command function prints its own normal output on stdout and returns
 * 0 on success or -1 with `err` filled; timetap-sync.c prints the error and
 * turns err->code into the exit status (cmd_exit).  Commands never call
 * exit().
 */
#ifndef TT_CMD_H
#define TT_CMD_H

#include <inttypes.h>
#include <stdio.h>

#include "config.h"
#include "connection.h"
#include "store.h"
#include "util.h"

struct tt_ctx {
	struct tt_config cfg;
	const char *dbpath;
	const char *command;	/* the command's name: "sync", "appt", ... */
	const char *profile;	/* -s, or "default" */
	int profile_given;	/* -s was given */
	int verbose;
	int quiet;
	struct store *st;
	/* Report a problem that does not end the command (code > 0), a
	 * warning (TT_WARNING), or a -v summary (code 0): one line on
	 * stderr, printed by the edge. */
	void (*note)(struct tt_ctx *ctx, int code, const char *msg);
	/* Progress of a long pass, shown only on a terminal (NULL when
	 * stderr is not one, or with -q); msg NULL clears the line. */
	void (*progress)(struct tt_ctx *ctx, const char *msg);
	struct conn cn;		/* the core's view: cfg, st, warnings */
};

/* appt add|list|show|edit|cancel */
int book_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);

/* sync (cmd_sync.c), feed (feed.c) */
int sync_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);
int feed_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);

/* profiles (cmd_profiles.c) */
int profiles_main(struct tt_ctx *ctx, int argc, char **argv,
    struct tt_err *err);

/* login, calendars, status, stop (account.c) */
int login_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);
int calendars_main(struct tt_ctx *ctx, int argc, char **argv,
    struct tt_err *err);
int status_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);
int stop_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);

/* Print s in a table cell of `width` columns (0: no padding, no cut),
 * counting UTF-8 characters, cutting with "~" when too long. */
void tt_cell(FILE *f, const char *s, int width);

/* The edge's lines (cmd.c): a problem that does not end the command, a
 * warning (not with -q) or a -v summary (code 0); a warning of the core;
 * the progress line (msg NULL clears it); and an error that ended the
 * command, printed (an empty message was printed already, line by line)
 * and turned into the exit status. */
void cmd_note(struct tt_ctx *ctx, int code, const char *msg);
void cmd_warn(void *ctx, const char *msg);
void cmd_progress(struct tt_ctx *ctx, const char *msg);
int cmd_report(const struct tt_ctx *ctx, const struct tt_err *err);
/* The advice a line about an error of `code` ends with, in the edge's
 * words for the command and the profile ("" when none); `unknown`: a
 * create whose outcome is unknown. */
const char *cmd_advice(const struct tt_ctx *ctx, const char *profile,
    int code, int unknown, char *buf, size_t len);
/* The profile the command works on (-s, or default): 1 found, 0 the
 * default one is not made yet (nothing to show), -1 with err -- also for
 * any other name that names no profile. */
int cmd_profile(struct tt_ctx *ctx, int64_t *id, struct tt_err *err);
/* Whether s names a staff profile: letters, digits, ". _ - @", 1-64. */
int cmd_profile_name_ok(const char *s);
/* Ask `question` [y/N] on the terminal: 1 yes, 0 no (said so), -1 with err
 * when stdin is no terminal (`what` needs -y then). */
int cmd_confirm(const char *question, const char *what, struct tt_err *err);
/* The exit status of an error code (SPEC section 6): the one mapping. */
int cmd_exit(int code);

#endif
