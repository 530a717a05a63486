/* SPDX-License-Identifier: ISC */
/*
 * feed.c -- the Calendar Sync Feed: what the passes did with every pulled
 * item, newest first.  Only reads the store and prints.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"

struct feed_print {
	json_t *json;
	int rows;
	int tty, utf8;
};

static int
feed_row_cb(void *arg, const struct feed_row *f)
{
	struct feed_print *fp = arg;
	char s[32], e[32], id[32], *subj, *info;

	/* Whole, whatever the service sent: the table cuts, JSON does not. */
	subj = tt_sanitize_dup(f->subject ? f->subject : "");
	info = tt_sanitize_dup(f->info ? f->info : "");
	if (subj == NULL || info == NULL) {
		free(subj);
		free(info);
		return 1;
	}
	if (fp->json) {
		char *cal = strdup(f->calendar ? f->calendar : "");

		json_array_append_new(fp->json, json_pack("{s:o, s:s, s:s, s:s,"
		    " s:b, s:o, s:s, s:s, s:s}",
		    "id", f->appt_id ? json_integer(f->appt_id) : json_null(),
		    "starts_at", tt_fmt_utc(f->start, s, sizeof(s)),
		    "ends_at", tt_fmt_utc(f->end, e, sizeof(e)),
		    "subject", subj, "loaded", f->loaded,
		    "reason", f->reason ? json_string(f->reason) : json_null(),
		    "info", info, "calendar", cal ? cal : "",
		    "event_id", f->event_id ? f->event_id : ""));
		free(cal);
		free(subj);
		free(info);
		return 0;
	}
	if (fp->rows++ == 0)
		printf("ID      Starts at         Ends at           Subject"
		    "                         Loaded  Info\n");
	if (f->appt_id)
		snprintf(id, sizeof(id), "%" PRId64, f->appt_id);
	else
		strlcpy(id, "-", sizeof(id));
	printf("%-7s %-17s %-17s ", id, f->start ? tt_fmt_local(f->start, s,
	    sizeof(s)) : "-", f->end ? tt_fmt_local(f->end, e, sizeof(e)) : "-");
	tt_cell(stdout, subj, 31);
	putchar(' ');
	if (fp->utf8)
		printf("%s%s%s       ", fp->tty ? (f->loaded ? "\033[32m" :
		    "\033[31m") : "", f->loaded ? "\xe2\x9c\x93" : "\xe2\x9c\x97",
		    fp->tty ? "\033[0m" : "");
	else
		printf("%-6s  ", f->loaded ? "yes" : "no");
	if (!f->loaded && f->reason)
		printf("%s: %s\n", f->reason, info);
	else
		printf("%s\n", info);
	free(subj);
	free(info);
	return 0;
}

int
feed_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct feed_print fp = { 0 };
	int64_t profile;
	long n = 20;
	int c, r;
	char *end;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || n < 1 || n > 1000000)
				return tt_fail(err, TT_E_USAGE, "feed: -n wants a "
				    "positive number");
			break;
		case 'a':
			n = 0;
			break;
		case 'j':
			fp.json = json_array();
			break;
		default:
			return tt_fail(err, TT_E_USAGE, "feed: unknown or "
			    "incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc) {
		json_decref(fp.json);
		return tt_fail(err, TT_E_USAGE, "feed: unexpected '%s'",
		    argv[optind]);
	}
	fp.tty = isatty(STDOUT_FILENO);
	fp.utf8 = tt_utf8_locale();
	r = cmd_profile(ctx, &profile, err);
	if (r > 0)
		r = store_feed_list(ctx->st, profile, (int)n, feed_row_cb, &fp,
		    err) ? -1 : 1;
	if (r < 0) {
		json_decref(fp.json);
		return -1;
	}
	if (fp.json) {
		json_dumpf(fp.json, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(fp.json);
	}
	return 0;
}
