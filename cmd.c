/*
 * cmd.c -- what the commands share at the edge: the one line a problem
 * or a warning gets on stderr, the progress line of a terminal, the exit
 * status an error ends with, and the table cell.  The core never calls
 * these; it hands its lines to the sinks these fill in (cmd.h).
 */
#include <stdio.h>

#include "cmd.h"

/* An error that ended the command; an empty message was printed already
 * (one line per problem, through note()). */
int
cmd_report(const struct tt_err *err)
{
	if (err->msg[0] != '\0')
		fprintf(stderr, "timetap-sync: %s\n", err->msg);
	return err->code ? err->code : TT_SOFTWARE;
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
