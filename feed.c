/* SPDX-License-Identifier: ISC */
/*
 * feed.c -- the Calendar Sync Feed: what the passes did with every pulled
 * item, newest first.  Only reads the store and prints.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

enum { O_ALL = CMD_LONG, O_JSON };

struct feed_print {
	json_t *json;
	int rows;
	int failed;		/* out of memory: the listing stopped */
	int colour, utf8;
	int subject, calendar;	/* the flexible columns' widths */
	/* The open conflicts (store_conflicts): a loaded row whose block
	 * is in one names the appointments it is booked over. */
	struct views_pair *pairs;
	size_t npairs;
};

/* The appointments a loaded row's block is booked over: a new JSON
 * array (NULL out of memory), and with `note` a new "conflict with 12,
 * 14; " for the Info column ("" when none). */
static json_t *
feed_conflicts(const struct feed_print *fp, const struct feed_row *f,
    char **note)
{
	json_t *a = json_array();
	char *s = NULL, *t;
	size_t i;

	if (note != NULL)
		*note = NULL;
	for (i = 0; a != NULL && f->loaded && f->appt_id && i < fp->npairs;
	    i++) {
		if (fp->pairs[i].block != f->appt_id)
			continue;
		if (json_array_append_new(a, json_integer(fp->pairs[i].appt)))
			goto fail;
		if (note == NULL)
			continue;
		if (asprintf(&t, "%s%s%" PRId64, s ? s : "conflict with ",
		    s ? ", " : "", fp->pairs[i].appt) < 0)
			goto fail;
		free(s);
		s = t;
	}
	if (a == NULL || note == NULL)
		return a;
	if (asprintf(note, "%s%s", s ? s : "", s ? "; " : "") < 0)
		goto fail;
	free(s);
	return a;
fail:
	free(s);
	json_decref(a);
	return NULL;
}

/*
 * The table's columns: ID, Starts at, Ends at and Loaded fixed; Subject
 * (45%), Calendar (20%) and Info share what the terminal has left, Info
 * (the last) cut only when it does not fit.
 */
#define FEED_FIXED	(7 + 17 + 17 + 7 + 2)
#define FEED_FLEX_MIN	24

static void
feed_widths(struct feed_print *fp)
{
	int flex = tt_flex(FEED_FIXED, FEED_FLEX_MIN);

	fp->subject = flex * 45 / 100;
	fp->calendar = flex * 20 / 100;
	if (fp->calendar < 8)
		fp->calendar = 8;
}

/* The Loaded mark: green when loaded, red only for a problem (an item
 * that could not be read); an ordinary reason is no problem. */
static void
feed_mark(const struct feed_print *fp, const struct feed_row *f)
{
	const char *on = "";

	if (!fp->utf8) {
		printf("%-6s ", f->loaded ? "yes" : "no");
		return;
	}
	if (fp->colour && f->loaded)
		on = "\033[32m";
	else if (fp->colour && f->reason && strcmp(f->reason, "invalid") == 0)
		on = "\033[31m";
	printf("%s%s%s      ", on, f->loaded ? "\xe2\x9c\x93" : "\xe2\x9c\x97",
	    *on ? "\033[0m" : "");
}

static int
feed_row_cb(void *arg, const struct feed_row *f)
{
	struct feed_print *fp = arg;
	char s[32], e[32], id[32], *subj, *info, *cal, *tail = NULL, *note;
	json_t *with;

	if (fp->json) {
		json_t *o;

		if ((with = feed_conflicts(fp, f, NULL)) == NULL)
			return fp->failed = 1;
		o = json_pack("{s:o, s:o, s:o, s:o, s:b, s:o, s:o, "
		    "s:o, s:o, s:o, s:o}",
		    "appointment_id", f->appt_id ? json_integer(f->appt_id) :
		    json_null(),
		    "starts_at", tt_json_time(f->start),
		    "ends_at", tt_json_time(f->end),
		    "subject", tt_json_text(f->subject ? f->subject : ""),
		    "loaded", f->loaded,
		    "reason", tt_json_text(f->reason),
		    "info", tt_json_text(f->info ? f->info : ""),
		    "calendar", tt_json_text(f->calendar),
		    "calendar_id", tt_json_text(f->calendar_remote),
		    "event_id", tt_json_text(f->event_id),
		    "conflict_with", with);

		if (o == NULL || json_array_append_new(fp->json, o) != 0)
			return fp->failed = 1;
		return 0;
	}
	/* Whole, whatever the service sent: the cells cut. */
	if ((with = feed_conflicts(fp, f, &note)) == NULL)
		return fp->failed = 1;
	json_decref(with);
	subj = tt_sanitize_dup(f->subject ? f->subject : "");
	info = tt_sanitize_dup(f->info ? f->info : "");
	cal = tt_sanitize_dup(f->calendar ? f->calendar : "-");
	if (subj == NULL || info == NULL || cal == NULL ||
	    asprintf(&tail, "%s%s%s%s", note, !f->loaded && f->reason ?
	    f->reason : "", !f->loaded && f->reason ? ": " : "", info) < 0) {
		free(subj);
		free(info);
		free(cal);
		free(note);
		return fp->failed = 1;
	}
	free(note);
	if (fp->rows++ == 0) {
		printf("%-6s %-16s %-16s ", "ID", "Starts at", "Ends at");
		tt_cell(stdout, "Subject", fp->subject);
		putchar(' ');
		tt_cell(stdout, "Calendar", fp->calendar);
		printf(" Loaded Info\n");
	}
	if (f->appt_id)
		snprintf(id, sizeof(id), "%" PRId64, f->appt_id);
	else
		strlcpy(id, "-", sizeof(id));
	printf("%-6s %-16s %-16s ", id, f->start ? tt_fmt_local(f->start, s,
	    sizeof(s)) : "-", f->end ? tt_fmt_local(f->end, e, sizeof(e)) : "-");
	tt_cell(stdout, subj, fp->subject);
	putchar(' ');
	tt_cell(stdout, cal, fp->calendar);
	putchar(' ');
	feed_mark(fp, f);
	tt_last(stdout, tail, FEED_FIXED + fp->subject + fp->calendar);
	putchar('\n');
	free(subj);
	free(info);
	free(cal);
	free(tail);
	return 0;
}

int
feed_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, O_ALL },
		{ "json", no_argument, NULL, O_JSON },
		CMD_OPT_HELP,
		{ NULL, 0, NULL, 0 }
	};
	struct feed_print fp = { 0 };
	int64_t profile;
	long n = 20;
	int c, r, json = 0, all = 0, given_n = 0;
	char *end;

	optind = 0;
	while ((c = cmd_getopt(ctx, argc, argv, "n:", opts, err)) != -1) {
		switch (c) {
		case 'n':
			n = strtol(optarg, &end, 10);
			if (end == optarg || *end != '\0' || n < 1 || n > 1000000)
				return tt_fail(err, TT_E_USAGE, "feed: -n wants a "
				    "number from 1 to 1000000, not '%s'", optarg);
			given_n = 1;
			break;
		case O_ALL:
			all = 1;
			break;
		case O_JSON:
			json = 1;
			break;
		case CMD_HELPED:
			return 0;
		default:
			return -1;
		}
	}
	if (cmd_no_operand(ctx, argc, argv, err))
		return -1;
	if (all && given_n)
		return cmd_bad(ctx, err, "feed: -n and --all exclude each "
		    "other");
	if (all)
		n = 0;
	if (cmd_open(ctx, err))
		return -1;
	if (json)
		fp.json = json_array();
	fp.colour = tt_colour();
	fp.utf8 = tt_utf8_locale();
	feed_widths(&fp);
	r = cmd_profile(ctx, &profile, err);
	if (r > 0 && views_pairs(ctx->st, profile, 0, TT_TIME_MAX + 1,
	    &fp.pairs, &fp.npairs, err) != 0)
		r = -1;
	if (r > 0)
		r = store_feed_list(ctx->st, profile, (int)n, feed_row_cb, &fp,
		    err) ? -1 : fp.failed ? tt_fail(err, TT_E_INTERNAL, "out of "
		    "memory") : 1;
	free(fp.pairs);
	if (r < 0) {
		json_decref(fp.json);
		return -1;
	}
	if (fp.json)
		return tt_json_print(fp.json, err);
	return 0;
}
