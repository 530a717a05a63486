/* SPDX-License-Identifier: ISC */
/*
 * views.c -- two views of the book that answer a person's question, from
 * the store alone (offline):
 *
 *   conflicts         the open conflicts: a booked appointment under an
 *                     [ext] block (store.h, store_conflicts), and when a
 *                     pass told each (sync.c, tell_conflicts);
 *   explain TIME      whether the slot [TIME, TIME + D) is bookable, and
 *                     why not: the appointments and blocks covering it,
 *                     then the pulled events there that do not block,
 *                     with the feed's reason.
 *
 * No state of its own.  Untrusted text (subjects, calendar names, the
 * feed's info) is sanitised before it reaches the terminal.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

enum { O_JSON = CMD_LONG, O_DURATION };

/* ------------------------------------------------------------ conflicts */

struct pairs {
	struct views_pair *v;
	size_t n, cap;
	int failed;
};

static int
pair_cb(void *arg, const struct conflict *c)
{
	struct pairs *p = arg;

	if (tt_reserve(&p->v, &p->cap, p->n + 1, sizeof(*p->v)) != 0)
		return p->failed = 1;
	p->v[p->n].appt = c->appt_id;
	p->v[p->n++].block = c->block_id;
	return 0;
}

int
views_pairs(struct store *st, int64_t profile, tt_time from, tt_time to,
    struct views_pair **pairs, size_t *n, struct tt_err *err)
{
	struct pairs p = { NULL, 0, 0, 0 };

	*pairs = NULL;
	*n = 0;
	if (store_conflicts(st, profile, from, to, pair_cb, &p, err) != 0 ||
	    (p.failed && tt_fail(err, TT_E_INTERNAL, "out of memory"))) {
		free(p.v);
		return -1;
	}
	*pairs = p.v;
	*n = p.n;
	return 0;
}

struct conflicts_print {
	json_t *json;
	int rows, failed;
	int subject;		/* the Subject column's width */
};

/* The columns: ID, When and Told at fixed; Subject (40% of the rest) and
 * the block it is booked over (the last: its subject, time, calendar). */
#define CONFLICTS_FIXED	(7 + 23 + 17)

static json_t *
conflict_json(const struct conflict *c)
{
	return json_pack("{s:I, s:o, s:o, s:o, s:o, s:{s:I, s:o, s:o, s:o, "
	    "s:o, s:o, s:o}, s:o}",
	    "appointment_id", (json_int_t)c->appt_id,
	    "starts_at", tt_json_time(c->start),
	    "ends_at", tt_json_time(c->end),
	    "subject", tt_json_text(c->subject),
	    "client", tt_json_text(c->client),
	    "block",
	    "appointment_id", (json_int_t)c->block_id,
	    "calendar", tt_json_text(c->calendar),
	    "calendar_id", tt_json_text(c->calendar_id),
	    "event_id", tt_json_text(c->event_id),
	    "starts_at", tt_json_time(c->block_start),
	    "ends_at", tt_json_time(c->block_end),
	    "subject", tt_json_text(c->block_subject),
	    "told_at", tt_json_time(c->told_at));
}

static int
conflicts_row(void *arg, const struct conflict *c)
{
	struct conflicts_print *cp = arg;
	char when[80], bwhen[80], told[32], *subj, *block = NULL, *clean;

	if (cp->json != NULL) {
		json_t *o = conflict_json(c);

		if (o == NULL || json_array_append_new(cp->json, o) != 0)
			return cp->failed = 1;
		return 0;
	}
	if (cp->rows++ == 0) {
		printf("%-6s %-22s ", "ID", "When");
		tt_cell(stdout, "Subject", cp->subject);
		printf(" %-16s Booked over\n", "Told at");
	}
	tt_fmt_span(c->start, c->end, when, sizeof(when));
	tt_fmt_span(c->block_start, c->block_end, bwhen, sizeof(bwhen));
	if (asprintf(&block, "%s, %s%s, on %s", c->block_subject, bwhen,
	    c->block_all_day ? " (all day)" : "", c->calendar ? c->calendar :
	    "?") < 0)
		return cp->failed = 1;
	subj = tt_sanitize_dup(c->subject);
	clean = tt_sanitize_dup(block);
	free(block);
	if (subj == NULL || clean == NULL) {
		free(subj);
		free(clean);
		return cp->failed = 1;
	}
	printf("%-6" PRId64 " ", c->appt_id);
	tt_cell(stdout, when, 22);
	putchar(' ');
	tt_cell(stdout, subj, cp->subject);
	printf(" %-16s ", c->told_at ? tt_fmt_local(c->told_at, told,
	    sizeof(told)) : "not yet");
	tt_last(stdout, clean, CONFLICTS_FIXED + cp->subject + 1);
	putchar('\n');
	free(subj);
	free(clean);
	return 0;
}

int
conflicts_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, O_JSON },
		CMD_OPT_HELP,
		{ NULL, 0, NULL, 0 }
	};
	struct conflicts_print cp = { 0 };
	int64_t profile;
	int c, r, json = 0;

	optind = 0;
	while ((c = cmd_getopt(ctx, argc, argv, "", opts, err)) != -1) {
		switch (c) {
		case O_JSON:
			json = 1;
			break;
		case CMD_HELPED:
			return 0;
		default:
			return -1;
		}
	}
	if (cmd_no_operand(ctx, argc, argv, err) || cmd_open(ctx, err))
		return -1;
	if (json && (cp.json = json_array()) == NULL)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	cp.subject = tt_flex(CONFLICTS_FIXED, 24) * 40 / 100;
	r = cmd_profile(ctx, &profile, err);
	if (r > 0)
		r = store_conflicts(ctx->st, profile, 0, TT_TIME_MAX + 1,
		    conflicts_row, &cp, err) ? -1 : cp.failed ? tt_fail(err,
		    TT_E_INTERNAL, "out of memory") : 1;
	if (r < 0) {
		json_decref(cp.json);
		return -1;
	}
	if (cp.json != NULL)
		return tt_json_print(cp.json, err);
	return 0;
}

/* ------------------------------------------------------------ explain */

struct explain {
	json_t *blocking, *not_blocking;	/* --json */
	FILE *out;		/* the lines, printed after the verdict */
	int json, failed;
	int nblocking, nnot;
	/* the conflicts touching the slot: which items to mark */
	struct views_pair *pairs;
	size_t npairs;
};

/* The items an item is in conflict with: a new JSON array, and the
 * words "; conflict with [ext] 15, [ext] 16" (new, "" when none). */
static json_t *
explain_marks(struct explain *x, const struct appt *a, char **words)
{
	json_t *ids = json_array();
	char *s = NULL, *t;
	size_t i;
	int64_t other;

	*words = NULL;
	for (i = 0; ids != NULL && i < x->npairs; i++) {
		if ((a->ext ? x->pairs[i].block : x->pairs[i].appt) != a->id)
			continue;
		other = a->ext ? x->pairs[i].appt : x->pairs[i].block;
		if (json_array_append_new(ids, json_integer(other)) != 0 ||
		    asprintf(&t, "%s%s%s%" PRId64, s ? s : "; conflict with ",
		    s ? ", " : "", a->ext ? "appointment " : "[ext] ",
		    other) < 0)
			goto fail;
		free(s);
		s = t;
	}
	if (ids == NULL || (*words = strdup(s ? s : "")) == NULL)
		goto fail;
	free(s);
	return ids;
fail:
	free(s);
	json_decref(ids);
	return NULL;
}

static int
explain_item(void *arg, const struct appt *a)
{
	struct explain *x = arg;
	char when[80], upd[32], *line = NULL, *marks, *clean;
	tt_time lm = 0;
	json_t *ids;

	if ((ids = explain_marks(x, a, &marks)) == NULL)
		return x->failed = 1;
	if (a->ext && a->remote_modified != NULL &&
	    tt_parse_utc(a->remote_modified, &lm) != 0)
		lm = 0;
	x->nblocking++;
	if (x->json) {
		json_t *o = json_pack("{s:I, s:b, s:o, s:o, s:o, s:o, s:b, "
		    "s:o, s:o, s:o, s:o, s:o, s:o}",
		    "appointment_id", (json_int_t)a->id,
		    "ext", a->ext,
		    "subject", tt_json_text(a->subject),
		    "client", tt_json_text(a->client),
		    "starts_at", tt_json_time(a->start),
		    "ends_at", tt_json_time(a->end),
		    "all_day", a->all_day,
		    "calendar", tt_json_text(a->calendar),
		    "calendar_id", tt_json_text(a->calendar_id),
		    "event_id", tt_json_text(a->event_id),
		    "showas", tt_json_text(a->showas),
		    "remote_modified_at", tt_json_time(lm),
		    "conflict_with", ids);

		free(marks);
		if (o == NULL || json_array_append_new(x->blocking, o) != 0)
			return x->failed = 1;
		return 0;
	}
	json_decref(ids);
	tt_fmt_span(a->start, a->end, when, sizeof(when));
	if (a->ext) {
		if (asprintf(&line, "  [ext] %" PRId64 " \"%s\" on \"%s\", %s%s%s"
		    "%s%s%s%s", a->id, a->subject, a->calendar ? a->calendar :
		    "?", when, a->all_day ? " (all day)" : "", a->showas ?
		    ", shown as " : "", a->showas ? a->showas : "",
		    lm ? ", updated in Outlook/Teams " : "", lm ?
		    tt_fmt_local(lm, upd, sizeof(upd)) : "", marks) < 0)
			line = NULL;
	} else if (asprintf(&line, "  appointment %" PRId64 " \"%s\"%s%s%s, "
	    "%s%s", a->id, a->subject, a->client ? " (client " : "",
	    a->client ? a->client : "", a->client ? ")" : "", when,
	    marks) < 0)
		line = NULL;
	free(marks);
	if (line == NULL || (clean = tt_sanitize_dup(line)) == NULL) {
		free(line);
		return x->failed = 1;
	}
	fprintf(x->out, "%s%s\n", x->nblocking == 1 ? "blocked by:\n" : "",
	    clean);
	free(clean);
	free(line);
	return 0;
}

static int
explain_feed(void *arg, const struct feed_row *f)
{
	struct explain *x = arg;
	char when[80], *line = NULL, *clean;

	x->nnot++;
	if (x->json) {
		json_t *o = json_pack("{s:o, s:o, s:o, s:b, s:o, s:o, s:o, "
		    "s:o, s:o, s:o}",
		    "subject", tt_json_text(f->subject ? f->subject : ""),
		    "starts_at", tt_json_time(f->start),
		    "ends_at", tt_json_time(f->end),
		    "all_day", f->all_day,
		    "calendar", tt_json_text(f->calendar),
		    "calendar_id", tt_json_text(f->calendar_remote),
		    "event_id", tt_json_text(f->event_id),
		    "showas", tt_json_text(f->showas),
		    "reason", tt_json_text(f->reason),
		    "info", tt_json_text(f->info ? f->info : ""));

		if (o == NULL || json_array_append_new(x->not_blocking, o) != 0)
			return x->failed = 1;
		return 0;
	}
	tt_fmt_span(f->start, f->end, when, sizeof(when));
	if (asprintf(&line, "  \"%s\" on \"%s\", %s%s: %s: %s",
	    f->subject ? f->subject : "", f->calendar ? f->calendar : "?",
	    when, f->all_day ? " (all day)" : "", f->reason ? f->reason : "?",
	    f->info ? f->info : "") < 0 ||
	    (clean = tt_sanitize_dup(line)) == NULL) {
		free(line);
		return x->failed = 1;
	}
	fprintf(x->out, "%s%s\n", x->nnot == 1 ? "not blocking:\n" : "",
	    clean);
	free(clean);
	free(line);
	return 0;
}

int
explain_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, O_DURATION },
		{ "json", no_argument, NULL, O_JSON },
		CMD_OPT_HELP,
		{ NULL, 0, NULL, 0 }
	};
	struct explain x = { 0 };
	const char *dur = NULL;
	char when[80], *text = NULL;
	size_t textlen = 0;
	tt_time t, d = 30 * 60;
	int64_t profile;
	int c, r;

	optind = 0;
	while ((c = cmd_getopt(ctx, argc, argv, "", opts, err)) != -1) {
		switch (c) {
		case O_DURATION:
			dur = optarg;
			break;
		case O_JSON:
			x.json = 1;
			break;
		case CMD_HELPED:
			return 0;
		default:
			return -1;
		}
	}
	if (optind == argc)
		return cmd_bad(ctx, err, "explain: expected a TIME");
	if (argc - optind > 1)
		return cmd_bad(ctx, err, "explain: unexpected '%s'",
		    argv[optind + 1]);
	if (tt_parse_time(argv[optind], &t, err) ||
	    (dur != NULL && tt_parse_duration(dur, &d, err)))
		return -1;
	if (t + d > TT_TIME_MAX)
		return tt_fail(err, TT_E_USAGE, "explain: the slot ends after "
		    "the last time the book holds");
	if (cmd_open(ctx, err))
		return -1;
	if (x.json && ((x.blocking = json_array()) == NULL ||
	    (x.not_blocking = json_array()) == NULL)) {
		json_decref(x.blocking);
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	}
	if (!x.json && (x.out = open_memstream(&text, &textlen)) == NULL)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	/* The conflicts touching the slot (to mark), the items covering it,
	 * then the feed's events there that do not block. */
	r = cmd_profile(ctx, &profile, err);
	if (r > 0)
		r = views_pairs(ctx->st, profile, t, t + d, &x.pairs, &x.npairs,
		    err) ? -1 : 1;
	if (r > 0 && !x.failed)
		r = store_appt_list(ctx->st, profile, t, t + d, explain_item,
		    &x, err) ? -1 : 1;
	if (r > 0 && !x.failed)
		r = store_feed_slot(ctx->st, profile, t, t + d, explain_feed, &x,
		    err) ? -1 : 1;
	free(x.pairs);
	if (x.out != NULL && fclose(x.out) != 0)
		x.failed = 1;
	if (r >= 0 && x.failed)
		r = tt_fail(err, TT_E_INTERNAL, "out of memory");
	if (r < 0) {
		json_decref(x.blocking);
		json_decref(x.not_blocking);
		free(text);
		return -1;
	}
	if (x.json) {
		json_t *o = json_pack("{s:o, s:o, s:b, s:o, s:o}",
		    "starts_at", tt_json_time(t),
		    "ends_at", tt_json_time(t + d),
		    "bookable", x.nblocking == 0,
		    "blocking", x.blocking,
		    "not_blocking", x.not_blocking);

		if (tt_json_print(o, err))
			return -1;
	} else {
		tt_fmt_span(t, t + d, when, sizeof(when));
		printf("%s: %s\n%s", when, x.nblocking ? "not bookable" :
		    "bookable", text ? text : "");
		free(text);
	}
	if (x.nblocking == 0)
		return 0;
	err->code = TT_E_FOUND;
	err->msg[0] = '\0';
	return -1;
}
