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

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include <jansson.h>

#include "config.h"
#include "connection.h"
#include "store.h"
#include "util.h"

struct tt_ctx {
	struct tt_config cfg;
	int cfg_bad;		/* the configuration did not load: */
	struct tt_err cfg_err;	/* why, told by cmd_open */
	const char *dbpath;	/* NULL: no HOME to find the default in */
	int db_default;		/* the default path: its directory is made */
	const char *command;	/* the command's name: "sync", "appt", ... */
	const char *usage_of;	/* its help's name: "sync", "appt add" */
	int usage_line;		/* the error is the command line's (cmd_bad) */
	const char *profile;	/* -s, or "default" */
	int profile_given;	/* -s was given */
	int verbose;
	int quiet;
	struct store *st;	/* NULL until cmd_open */
	/* Report a problem that does not end the command (code > 0), a
	 * warning (TT_WARNING), or a -v summary (code 0): one line on
	 * stderr, printed by the edge. */
	void (*note)(struct tt_ctx *ctx, int code, const char *msg);
	/* Progress of a long pass, shown only on a terminal (NULL when
	 * stderr is not one, or with -q); msg NULL clears the line. */
	void (*progress)(struct tt_ctx *ctx, const char *msg);
	struct conn cn;		/* the core's view: cfg, st, warnings */
	int status;		/* the exit status of a command that returned 0
				 * (doctor: 1 when a check failed) */
};

/*
 * The options of a command: getopt_long with the command's short options
 * (without ':' or 'h') and long options (the table ends with CMD_OPT_HELP,
 * then the zeros; an option without a short form has a value from
 * CMD_LONG up, so that a refusal can name it as typed).  Returns the option, -1 at the end of the options,
 * CMD_HELPED after printing the help (-h, --help: the command returns 0),
 * or CMD_BAD with err filled: the option named exactly, a missing value,
 * a global option given after the command.  The command then checks its
 * operands and its values and only then opens the store (cmd_open), so a
 * usage error changes nothing on disk.
 */
#define CMD_OPT_HELP { "help", no_argument, NULL, 'h' }
#define CMD_LONG 256		/* the first value of a long-only option */
enum { CMD_HELPED = -2, CMD_BAD = -3 };
int cmd_getopt(struct tt_ctx *ctx, int argc, char **argv,
    const char *shortopts, const struct option *longopts, struct tt_err *err);
/* Open the store (and hand it to the core's connection): after the
 * command's arguments are known good. */
int cmd_open(struct tt_ctx *ctx, struct tt_err *err);
/* Hand the open store (ctx->st) and the configuration's service settings
 * to the core's connection (ctx->cn): what cmd_open does once it opened
 * the store, for doctor, which opens it whatever the configuration. */
void cmd_connect(struct tt_ctx *ctx);
/* A usage error of the command line (an option or operand missing,
 * unknown or excluded): err filled, -1; the edge adds the synopsis line.
 * A bad value is told by tt_fail alone. */
int cmd_bad(struct tt_ctx *ctx, struct tt_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* After the options, a command that takes no operand: 0, or -1 with err
 * naming the first one (cmd_bad). */
int cmd_no_operand(struct tt_ctx *ctx, int argc, char **argv,
    struct tt_err *err);
/* A line of information on stdout (a receipt, a confirmation), left out
 * with -q: the output a command exists to print goes through printf. */
void cmd_say(const struct tt_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The usage (usage.c): every command's synopsis; the synopsis line of one
 * command ("appt add"; NULL or unknown: the global one, then -1); one
 * command's help (a group such as "appt": each subcommand's), -1 when
 * there is none. */
void cmd_usage(FILE *f);
int cmd_usage_line(FILE *f, const char *name);
int cmd_help(FILE *f, const char *name);

/* appt add|list|show|edit|cancel */
int book_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);

/* conflicts, explain TIME (views.c) */
/* The pairs of the profile's open conflicts touching [from, to)
 * (store_conflicts), to mark items with: a *new* array in *pairs (free
 * it), *n of them.  0, or -1 with err. */
struct views_pair {
	int64_t appt, block;	/* the booked appointment, the [ext] block */
};
int views_pairs(struct store *st, int64_t profile, tt_time from, tt_time to,
    struct views_pair **pairs, size_t *n, struct tt_err *err);
int conflicts_main(struct tt_ctx *ctx, int argc, char **argv,
    struct tt_err *err);
int explain_main(struct tt_ctx *ctx, int argc, char **argv,
    struct tt_err *err);

/* sync (cmd_sync.c), feed (feed.c) */
int sync_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);
int feed_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);

/* free, agenda (agenda.c) */
int free_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);
int agenda_main(struct tt_ctx *ctx, int argc, char **argv,
    struct tt_err *err);

/* profiles (cmd_profiles.c) */
int profiles_main(struct tt_ctx *ctx, int argc, char **argv,
    struct tt_err *err);

/* help [CMD] (usage.c) */
int help_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);

/* doctor [--live CALENDAR] (doctor.c) */
int doctor_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);

/* login, calendars, status, stop (account.c) */
int login_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);
int calendars_main(struct tt_ctx *ctx, int argc, char **argv,
    struct tt_err *err);
int status_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);
int stop_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err);

/*
 * Tables.  The width they fit: COLUMNS when it is a positive number, else
 * the terminal's (stdout), else 80.  tt_flex: what a table's flexible
 * column has left beside `fixed` columns, at least `min`.  Widths are
 * display columns (wcwidth in a UTF-8 locale: a wide character takes 2,
 * a combining mark 0; one a character elsewhere).  tt_cell prints s in a
 * cell of `width` columns, padded with spaces, or cut at a character and
 * ended with "~" when too long (0: whole, no padding).
 */
int tt_term_width(void);
int tt_flex(int fixed, int min);
int tt_text_width(const char *s);
void tt_cell(FILE *f, const char *s, int width);
/* The last column of a row, after `used` columns: whole when it fits the
 * rest of the line, else cut to it (at least 8), never padded. */
void tt_last(FILE *f, const char *s, int used);
/* Whether stdout gets colour: a terminal, NO_COLOR unset or empty, TERM
 * set and not "dumb". */
int tt_colour(void);

/*
 * JSON, the same for every command.  tt_json_text: a *new* string of
 * untrusted text -- sanitised as for a terminal, each byte that is not
 * UTF-8 as U+FFFD, so that no row loses a key -- or null for NULL (NULL
 * only out of memory).  tt_json_time: RFC 3339 UTC, or null for 0.
 * tt_json_print *takes* j and prints it indented, ASCII-escaped (no
 * control or bidi character reaches a terminal raw); NULL is an error.
 */
json_t *tt_json_text(const char *s);
json_t *tt_json_time(tt_time t);
/* A pass record (status's last_pass, sync --json): a *new* object; the
 * exit code null while the pass is unfinished. */
json_t *tt_json_pass(const struct pass *p);
int tt_json_print(json_t *j, struct tt_err *err);

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
/* The error code's word in JSON: ok, usage, data, config, local,
 * internal, busy, login, consent, capped, later, down, conflict, found;
 * changes (sync --dry-run's plan is not empty). */
const char *cmd_result(int code);

#endif
