/* SPDX-License-Identifier: ISC */
/*
 * cmd.c -- what the commands share at the edge: the one line a problem
 * or a warning gets on stderr, the progress line of a terminal, the exit
 * status an error ends with, and the table cell.  The core never calls
 * these; it hands its lines to the sinks these fill in (cmd.h).
 */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cmd.h"

/*
 * The exit status of each error code (SPEC section 6), the one place
 * they are chosen.  A removal cap is 3, not 75: trying again repeats it
 * until a person decides.  The book busy and the service for now are
 * both "try again later" to cron.
 */
int
cmd_exit(int code)
{
	switch (code) {
	case TT_E_NONE:
		return 0;
	case TT_E_USAGE:
		return EX_USAGE;
	case TT_E_DATA:
		return EX_DATAERR;
	case TT_E_CONFIG:
		return EX_CONFIG;
	case TT_E_LOCAL:
		return EX_IOERR;
	case TT_E_BUSY:
	case TT_E_LATER:
		return EX_TEMPFAIL;
	case TT_E_LOGIN:
	case TT_E_CONSENT:
		return EX_NOPERM;
	case TT_E_CAPPED:
		return 3;
	case TT_E_DOWN:
		return EX_UNAVAILABLE;
	default:
		return EX_SOFTWARE;
	}
}

/*
 * What a person or cron does about an error, said once here: log in
 * again (not while logging in), run sync --force to accept removals, or
 * wait -- the next run continues (sync), try again later (the other
 * commands, and a book another run holds).  The core states only what
 * failed.
 */
const char *
cmd_advice(const struct tt_ctx *ctx, const char *profile, int code,
    int unknown, char *buf, size_t len)
{
	int sync = strcmp(ctx->command, "sync") == 0;

	if (unknown)
		return " (outcome unknown; the next run checks before creating "
		    "again)";
	switch (code) {
	case TT_E_LOGIN:
		if (strcmp(ctx->command, "login") == 0)
			return "";
		snprintf(buf, len, "; run `timetap-sync -s %s login`", profile);
		return buf;
	case TT_E_CAPPED:
		snprintf(buf, len, " (run `timetap-sync -s %s sync --force` to "
		    "accept)", profile);
		return buf;
	case TT_E_LATER:
		return sync ? " (the next run continues)" : " (try again later)";
	case TT_E_BUSY:
		return "; try again later";
	default:
		return "";
	}
}

/* An error that ended the command; an empty message was printed already
 * (one line per problem, through note()). */
int
cmd_report(const struct tt_ctx *ctx, const struct tt_err *err)
{
	char buf[128];

	if (err->msg[0] != '\0')
		fprintf(stderr, "timetap-sync: %s%s\n", err->msg, cmd_advice(ctx,
		    ctx->profile, err->code, 0, buf, sizeof(buf)));
	return cmd_exit(err->code ? err->code : TT_E_INTERNAL);
}

int
cmd_profile(struct tt_ctx *ctx, int64_t *id, struct tt_err *err)
{
	int r = store_profile(ctx->st, ctx->profile, 0, id, err);

	if (r == 0 && strcmp(ctx->profile, "default") != 0)
		return tt_fail(err, TT_E_DATA, "no profile %s (`timetap-sync "
		    "profiles` lists them; `login` or `profiles add` makes one)",
		    ctx->profile);
	return r;
}

int
cmd_profile_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-@") == n;
}

int
cmd_confirm(const char *question, const char *what, struct tt_err *err)
{
	char answer[16];

	if (!isatty(STDIN_FILENO))
		return tt_fail(err, TT_E_USAGE, "%s asks for confirmation: run "
		    "it in a terminal, or add -y", what);
	printf("%s [y/N] ", question);
	fflush(stdout);
	if (fgets(answer, sizeof(answer), stdin) == NULL ||
	    (answer[0] != 'y' && answer[0] != 'Y')) {
		printf("Nothing changed.\n");
		return 0;
	}
	return 1;
}

static int progress_shown;

void
cmd_progress(struct tt_ctx *ctx, const char *msg)
{
	(void)ctx;
	if (msg == NULL) {
		if (progress_shown)
			fputs("\r\033[K", stderr);
		progress_shown = 0;
		return;
	}
	fprintf(stderr, "\r\033[K%s", msg);
	progress_shown = 1;
}

void
cmd_note(struct tt_ctx *ctx, int code, const char *msg)
{
	if ((code == 0 && !ctx->verbose) || (code == TT_WARNING && ctx->quiet))
		return;
	cmd_progress(ctx, NULL);
	fprintf(stderr, "timetap-sync: %s\n", msg);
}

/* A warning from the core (the connection's). */
void
cmd_warn(void *arg, const char *msg)
{
	cmd_note(arg, TT_WARNING, msg);
}

void
tt_cell(FILE *f, const char *s, int width)
{
	int cols = 0;
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if ((*p & 0xc0) == 0x80) {	/* continuation byte */
			if (width == 0 || cols <= width)
				fputc(*p, f);
			continue;
		}
		if (width > 0 && cols == width - 1 && p[1] != '\0') {
			/* is there more than one character left? */
			const unsigned char *q = p + 1;

			while ((*q & 0xc0) == 0x80)
				q++;
			if (*q != '\0') {
				fputc('~', f);
				cols = width + 1;
				continue;
			}
		}
		if (width > 0 && cols >= width) {
			cols = width + 1;
			continue;
		}
		fputc(*p, f);
		cols++;
	}
	for (; width > 0 && cols < width; cols++)
		fputc(' ', f);
}
