/* SPDX-License-Identifier: ISC */
/*
 * cmd.c -- what the commands share at the edge: the one line a problem
 * or a warning gets on stderr, the progress line of a terminal, the exit
 * status an error ends with, the tables' width and cells, colour, and
 * the JSON of every command.  The core never calls these; it hands its
 * lines to the sinks these fill in (cmd.h).
 */
#include <sys/ioctl.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <wchar.h>

#include "cmd.h"

/*
 * The exit status of each error code (SPEC section 6), the one place
 * they are chosen.  A removal cap is 3, not 75: trying again repeats it
 * until a person decides.  The book busy and the service for now are
 * both "try again later" to cron.  New conflicts are 2: the pass went
 * well, but cron must mail its lines to a person; any other code wins.
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
	case TT_E_CONFLICT:
		return 2;
	case TT_E_FOUND:
	case TT_E_PLAN:
		return 1;
	default:
		return EX_SOFTWARE;
	}
}

/* The word for each error code in JSON (sync --json's "result"). */
const char *
cmd_result(int code)
{
	static const char *const words[] = { "ok", "usage", "data", "config",
	    "local", "internal", "busy", "login", "consent", "capped", "later",
	    "down", "conflict", "found", "changes" };

	if (code < 0 || (size_t)code >= sizeof(words) / sizeof(words[0]))
		return "internal";
	return words[code];
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
	case TT_E_CONFLICT:
		return "; move or cancel one (`timetap-sync conflicts` lists "
		    "them)";
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

/* The options given before the command (timetap-sync.c's). */
#define GLOBAL_SHORT "fcsvqV"

/*
 * How the option just refused was written: "-n", or "--start" without its
 * "=value".  The rule needs long options that have no short form to have
 * values above 255 (CMD_LONG): then optopt names a short option typed as
 * one, except a long option given a value it does not take, whose value
 * is its short option's letter; and 0 is an unknown long option.
 */
static int
opt_text(int c, int argc, char **argv, const char *shortopts,
    const char **text, char shortbuf[3])
{
	const char *a = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	int isshort = optopt > 0 && optopt < 128 && strchr(shortopts, optopt);

	if (optopt > 0 && optopt < 128 && strncmp(a, "--", 2) != 0 &&
	    (c == ':' || !isshort)) {
		shortbuf[0] = '-';
		shortbuf[1] = (char)optopt;
		shortbuf[2] = '\0';
		*text = shortbuf;
		return 2;
	}
	*text = a;
	return (int)strcspn(a, "=");
}

/* How many long options `prefix` ("--fo") abbreviates. */
static int
prefixes(const struct option *longopts, const char *prefix, size_t n)
{
	int k = 0;

	for (; longopts->name != NULL; longopts++)
		if (strncmp(longopts->name, prefix, n) == 0)
			k++;
	return k;
}

int
cmd_getopt(struct tt_ctx *ctx, int argc, char **argv, const char *shortopts,
    const struct option *longopts, struct tt_err *err)
{
	const char *name = ctx->usage_of, *o;
	char os[32], sb[3];
	int c, n;

	/* Our own option strings: a longer one is a bug here. */
	if (snprintf(os, sizeof(os), ":h%s", shortopts) >= (int)sizeof(os))
		abort();
	opterr = 0;
	c = getopt_long(argc, argv, os, longopts, NULL);
	if (c == 'h') {
		cmd_help(stdout, name);
		return CMD_HELPED;
	}
	if (c != '?' && c != ':')
		return c;
	n = opt_text(c, argc, argv, os + 2, &o, sb);
	if (c == ':')
		tt_fail(err, TT_E_USAGE, "%s: %.*s needs a value", name, n, o);
	else if (o[1] != '-' && strchr(GLOBAL_SHORT, o[1]) != NULL)
		tt_fail(err, TT_E_USAGE, "%s: %s is a global option: put it "
		    "before the command (timetap-sync %s %s ...)", name, o, o,
		    ctx->command);
	else if (o[1] == '-' && optopt != 0)
		tt_fail(err, TT_E_USAGE, "%s: %.*s takes no value", name, n, o);
	else if (o[1] == '-' && prefixes(longopts, o + 2, (size_t)n - 2) > 1)
		tt_fail(err, TT_E_USAGE, "%s: %.*s is ambiguous: it begins more "
		    "than one option", name, n, o);
	else
		tt_fail(err, TT_E_USAGE, "%s: unknown option '%.*s'", name, n,
		    o);
	ctx->usage_line = 1;
	return CMD_BAD;
}

int
cmd_no_operand(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	if (optind == argc)
		return 0;
	return cmd_bad(ctx, err, "%s: unexpected '%s'", ctx->usage_of,
	    argv[optind]);
}

int
cmd_open(struct tt_ctx *ctx, struct tt_err *err)
{
	if (ctx->cfg_bad) {
		if (ctx->cfg.diag)
			fputs(ctx->cfg.diag, stderr);
		*err = ctx->cfg_err;
		return -1;
	}
	if (ctx->dbpath == NULL)
		return tt_fail(err, TT_E_CONFIG, "no database path: set HOME, "
		    "XDG_DATA_HOME or use -f");
	/* Only the default location is made; -f into a missing directory
	 * is a typo, which store_open names. */
	if ((ctx->db_default && store_make_dir(ctx->dbpath, err)) ||
	    store_open(ctx->dbpath, &ctx->st, err))
		return -1;
	cmd_connect(ctx);
	return 0;
}

void
cmd_connect(struct tt_ctx *ctx)
{
	ctx->cn.gs.authority_url = ctx->cfg.authority_url;
	ctx->cn.gs.tenant = ctx->cfg.tenant;
	ctx->cn.gs.graph_url = ctx->cfg.graph_url;
	ctx->cn.gs.client_id = ctx->cfg.client_id;
	ctx->cn.gs.ca_file = ctx->cfg.ca_file;
	ctx->cn.gs.ca_path = ctx->cfg.ca_path;
	ctx->cn.gs.timeout = ctx->cfg.timeout;
	ctx->cn.gs.retry_budget = ctx->cfg.retry_budget;
	ctx->cn.gs.page_size = ctx->cfg.page_size;
	ctx->cn.st = ctx->st;
	ctx->cn.warn = cmd_warn;
	ctx->cn.arg = ctx;
}

int
cmd_bad(struct tt_ctx *ctx, struct tt_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tt_vmessage(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->code = TT_E_USAGE;
	ctx->usage_line = 1;
	return -1;
}

void
cmd_say(const struct tt_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx->quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
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

/* ------------------------------------------------------------ tables */

int
tt_term_width(void)
{
	const char *c = getenv("COLUMNS");
	struct winsize ws;
	char *end;
	long v;

	if (c != NULL && *c != '\0') {
		v = strtol(c, &end, 10);
		if (*end == '\0' && v > 0 && v <= 10000)
			return (int)v;
	}
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
	    ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

int
tt_flex(int fixed, int min)
{
	int w = tt_term_width() - fixed;

	return w > min ? w : min;
}

/*
 * The next character of s: its length in bytes (at least 1) and in
 * display columns.  In a UTF-8 locale by wcwidth (a wide character 2, a
 * combining mark 0, one it does not know 1); elsewhere a character
 * (a UTF-8 sequence, or a byte) is one column, as a terminal of that
 * locale shows each byte it cannot decode.
 */
static size_t
next_char(const char *s, int utf8, int *cols)
{
	mbstate_t ps;
	wchar_t wc;
	size_t n;
	int w;

	if (!utf8) {
		n = tt_utf8_len((const unsigned char *)s, strnlen(s, 4));
		*cols = 1;
		return n ? n : 1;
	}
	memset(&ps, 0, sizeof(ps));
	n = mbrtowc(&wc, s, strnlen(s, MB_CUR_MAX), &ps);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		*cols = 1;
		return 1;
	}
	w = wcwidth(wc);
	*cols = w < 0 ? 1 : w;
	return n;
}

int
tt_text_width(const char *s)
{
	int utf8 = tt_utf8_locale(), total = 0, w;

	while (*s != '\0') {
		s += next_char(s, utf8, &w);
		total += w;
	}
	return total;
}

/*
 * Whole when it fits; else as many whole characters as fit in width - 1
 * columns and "~" (a wide character that would straddle the edge is left
 * out, and the cell padded instead).
 */
void
tt_cell(FILE *f, const char *s, int width)
{
	int utf8 = tt_utf8_locale(), cols, w;
	size_t n;

	if (width <= 0) {
		fputs(s, f);
		return;
	}
	if ((cols = tt_text_width(s)) <= width)
		fputs(s, f);
	else {
		cols = 0;
		for (; *s != '\0'; s += n) {
			n = next_char(s, utf8, &w);
			if (cols + w > width - 1)
				break;
			fwrite(s, 1, n, f);
			cols += w;
		}
		fputc('~', f);
		cols++;
	}
	for (; cols < width; cols++)
		fputc(' ', f);
}

void
tt_last(FILE *f, const char *s, int used)
{
	int room = tt_flex(used, 8);

	tt_cell(f, s, tt_text_width(s) > room ? room : 0);
}

/*
 * Colour on a terminal only, and not when the user asked for none
 * (NO_COLOR set and not empty, no-color.org) or the terminal cannot
 * show it (TERM unset or "dumb").
 */
int
tt_colour(void)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	return isatty(STDOUT_FILENO) && (nc == NULL || *nc == '\0') &&
	    term != NULL && *term != '\0' && strcmp(term, "dumb") != 0;
}

/* -------------------------------------------------------------- JSON */

json_t *
tt_json_text(const char *s)
{
	char *clean;
	json_t *j;

	if (s == NULL)
		return json_null();
	if ((clean = tt_sanitize_utf8_dup(s)) == NULL)
		return NULL;
	j = json_string(clean);
	free(clean);
	return j;
}

json_t *
tt_json_time(tt_time t)
{
	char buf[32];

	return t != 0 ? json_string(tt_fmt_utc(t, buf, sizeof(buf))) :
	    json_null();
}

json_t *
tt_json_pass(const struct pass *p)
{
	return json_pack("{s:o, s:o, s:o, s:i, s:i, s:i, s:i, s:i, s:i, s:i, "
	    "s:o}",
	    "started_at", tt_json_time(p->started),
	    "finished_at", tt_json_time(p->finished),
	    "exit_code", p->exit_code >= 0 ? json_integer(p->exit_code) :
	    json_null(),
	    "items", p->items,
	    "blocks_added", p->added,
	    "blocks_changed", p->changed,
	    "blocks_removed", p->removed,
	    "events_pushed", p->pushed,
	    "events_deleted", p->deleted,
	    "requests", p->requests,
	    "message", tt_json_text(p->message));
}

int
tt_json_print(json_t *j, struct tt_err *err)
{
	int r = j != NULL ? json_dumpf(j, stdout, JSON_INDENT(2) |
	    JSON_ENSURE_ASCII) : -1;

	json_decref(j);
	if (r != 0 || putchar('\n') == EOF)
		return tt_fail(err, TT_E_INTERNAL, "cannot write JSON");
	return 0;
}
