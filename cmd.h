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
	/* Report a problem that does not end the command (code > 0), a
	 * warning (TT_WARNING), or a -v summary (code 0): one line on
	 * stderr, printed by the edge. */
	void (*note)(struct tt_ctx *ctx, int code, const char *msg);
	/* Progress of a long pass, shown only on a terminal (NULL when
	 * stderr is not one, or with -q); msg NULL clears the line. */
	void (*progress)(struct tt_ctx *ctx, const char *msg);
};

/* appt add|list|show|edit|cancel */
int book_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);

/* sync (sync.c), feed (feed.c) */
int sync_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);
int feed_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);

/* login, calendars, status, stop (account.c) */
int login_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);
int calendars_main(struct tt_ctx *ctx, int argc, char **argv,
    struct tt_err *err);
int status_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);
int stop_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);

struct graph;
struct graph_err;
/* A Graph handle from the configuration (new; graph_free it). */
int account_graph(struct tt_ctx *ctx, struct graph **g, struct tt_err *err);
/* Give g a valid access token for the profile, refreshing when due, or
 * now when `force` (the service refused the token it had). */
int account_token(struct tt_ctx *ctx, struct graph *g, int64_t profile,
    const char *name, int force, struct tt_err *err);
/* Whether the account is a personal Microsoft account (no groups, no
 * Teams meetings). */
int account_personal(const struct account *a);
/* The exit code of a Graph error (SPEC section 6), from one place. */
int account_exit_code(const struct graph_err *ge);
/* Fill err from a Graph error: exit code by class, profile and step named. */
int account_fail(struct tt_err *err, const char *profile, const char *step,
    const struct graph_err *ge);
/* A PKCE verifier and its S256 challenge (base64url, NUL-terminated). */
void account_pkce(char verifier[64], char challenge[64]);

/* Print s in a table cell of `width` columns (0: no padding, no cut),
 * counting UTF-8 characters, cutting with "~" when too long. */
void tt_cell(FILE *f, const char *s, int width);

#endif
