/* SPDX-License-Identifier: ISC */
/*
 * cmd_sync.c -- the sync command: its options, the profiles it passes
 * (the one named with -s, or every connected one: one failing profile
 * does not stop the others), each profile's lock, the words of each problem
 * a pass reports as a record, the pass's entry for status, the -v summary,
 * and the exit code, the most serious of the passes'.  The pass itself is
 * sync.c's.  With --dry-run, that pass on a copy of the store (thrown
 * away), its writes not sent, and the plan it made printed (dry_pass).
 */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "sync.h"

/*
 * sync --dry-run: the plan of a profile's pass, an item a line -- a block
 * to add, change or remove, an event to create, update, set back or
 * delete, a new conflict the pass would tell, what the removal cap holds
 * back.  Strings owned.
 */
enum plan_kind { PK_BLOCK, PK_EVENT, PK_CONFLICT, PK_CAPPED };
struct plan_item {
	enum plan_kind kind;
	const char *op;		/* add change remove; create update set_back
				 * delete (static) */
	char *calendar;		/* its path; NULL: the pushed events (cap) */
	char *calendar_id, *event_id, *subject;
	int64_t appt;		/* the block's item, the event's appointment */
	tt_time start, end;
	int held, total;	/* PK_CAPPED */
};
struct plan {
	struct plan_item *it;
	size_t n, cap;
	int held, total;	/* the cap's, summed; total 0: none */
	int failed;		/* out of memory: the plan is not whole */
};

/*
 * What a sync run remembers of the profile being passed: the settings,
 * --force, the most serious code so far, and the first problem's line
 * (for status).
 */
struct run {
	struct tt_ctx *ctx;
	const struct sync_env *env;
	int force;
	unsigned shard, shards;	/* --shard K/N: this run's K-1 of N; 0/1 */
	int worst;
	char first[512];
	/* --json: the profiles' summaries so far, and the problem and
	 * warning lines of the profile being passed (NULL without). */
	json_t *json, *problems, *warnings;
	int failed;		/* out of memory in the summary */
	int conflicts;		/* new conflicts the profile's pass told */
	/* --dry-run: the plan of the profile being passed, the most
	 * serious code of its problems but the cap, and how many profiles
	 * had a plan that is not empty. */
	int dry;
	struct plan plan;
	int dry_worst;
	int planned;
};

/* A profile's summary begins: its lines are collected from now on. */
static void
summary_begin(struct run *rn)
{
	rn->conflicts = 0;
	if (rn->json == NULL)
		return;
	json_decref(rn->problems);
	json_decref(rn->warnings);
	rn->problems = json_array();
	rn->warnings = json_array();
}

static void
summary_line(struct run *rn, int code, const char *line)
{
	json_t *a = code == TT_WARNING ? rn->warnings : rn->problems;

	if (rn->json != NULL && (a == NULL ||
	    json_array_append_new(a, tt_json_text(line)) != 0))
		rn->failed = 1;
}

/*
 * A profile's summary for sync --json: the figures -v prints (the pass
 * record's; zero, times null, when no pass began), its result, time and
 * lines.  A *new* object, or NULL out of memory.
 */
static json_t *
summary_end(struct run *rn, const char *name, int code,
    const struct pass *res, double seconds)
{
	json_t *o = tt_json_pass(res);

	if (o == NULL || json_object_set_new(o, "profile",
	    tt_json_text(name)) != 0 || json_object_set_new(o, "exit_code",
	    json_integer(cmd_exit(code))) != 0 || json_object_set_new(o,
	    "result", json_string(cmd_result(code))) != 0 ||
	    json_object_set_new(o, "seconds", json_real(seconds)) != 0 ||
	    json_object_set_new(o, "conflicts", json_integer(rn->conflicts)) != 0 ||
	    json_object_set(o, "problems", rn->problems ? rn->problems :
	    json_null()) != 0 || json_object_set(o, "warnings", rn->warnings ?
	    rn->warnings : json_null()) != 0) {
		json_decref(o);
		return NULL;
	}
	json_decref(rn->problems);
	json_decref(rn->warnings);
	rn->problems = rn->warnings = NULL;
	return o;
}

static void
summary_add(struct run *rn, json_t *o)
{
	if (o == NULL || json_array_append_new(rn->json, o) != 0)
		rn->failed = 1;
}

/*
 * The shard of a profile: a stable hash of its name (FNV-1a, 32 bits) mod
 * the number of shards, so that N machines with --shard 1/N .. N/N pass
 * every profile exactly once, whatever the order or number of profiles.
 */
static unsigned
shard_of(const char *name, unsigned shards)
{
	uint32_t h = 2166136261u;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h % shards;
}

/* Parse --shard K/N (1 <= K <= N <= 1000). */
static int
shard_parse(const char *v, unsigned *k, unsigned *n, struct tt_err *err)
{
	char *end;
	unsigned long a, b;

	a = strtoul(v, &end, 10);
	if (end == v || *end != '/' || !isdigit((unsigned char)end[1]))
		goto bad;
	b = strtoul(end + 1, &end, 10);
	if (*end != '\0' || a < 1 || b < 1 || a > b || b > 1000)
		goto bad;
	*k = (unsigned)a - 1;
	*n = (unsigned)b;
	return 0;
bad:
	return tt_fail(err, TT_E_USAGE, "sync: --shard wants K/N with 1 <= K "
	    "<= N <= 1000, not '%s'", v);
}

static int plan_capped(struct run *, const struct sync_problem *);
static void plan_conflict(struct run *, const struct sync_problem *);

/* A problem of a pass, worded: "profile P: calendar "C": step
 * appointment N: error" and the advice; a new conflict (sync.c,
 * tell_conflicts) "profile P: conflict: appointment N error on calendar
 * "C"" and what to do, even with -q (cron mails it). */
static void
env_problem(void *arg, const struct sync_problem *pr)
{
	struct run *rn = arg;
	char appt[32] = "", advice[128], *line = NULL;

	/* A dry run tells what the cap would say in its plan; the rest as
	 * a pass does. */
	if (rn->dry && pr->code == TT_E_CAPPED && plan_capped(rn, pr) == 0)
		return;
	if (rn->dry && pr->code == TT_E_CONFLICT) {
		plan_conflict(rn, pr);
		return;
	}
	if (rn->dry && pr->code != TT_WARNING)
		rn->dry_worst = tt_worse(rn->dry_worst, pr->code);

	/* The calendar's name and the error are the service's: any length. */
	if (pr->appt != 0)
		snprintf(appt, sizeof(appt), " appointment %" PRId64, pr->appt);
	if (pr->code == TT_E_CONFLICT) {
		rn->conflicts++;
		if (asprintf(&line, "profile %s: conflict:%s %s on calendar "
		    "\"%s\"%s", pr->profile, appt, pr->error, pr->calendar ?
		    pr->calendar : "?", cmd_advice(rn->ctx, pr->profile,
		    pr->code, 0, advice, sizeof(advice))) < 0)
			line = NULL;
	} else if (asprintf(&line, "%s%s%s%s%s%s%s%s%s%s%s",
	    pr->named ? "" : "profile ", pr->named ? "" : pr->profile,
	    pr->named ? "" : ": ",
	    pr->calendar ? "calendar \"" : "", pr->calendar ? pr->calendar : "",
	    pr->calendar ? "\": " : "",
	    pr->step ? pr->step : "", pr->step ? appt : "",
	    pr->step ? ": " : "", pr->error,
	    pr->code == TT_WARNING ? "" : cmd_advice(rn->ctx, pr->profile,
	    pr->code, pr->unknown, advice, sizeof(advice))) < 0)
		line = NULL;
	rn->ctx->note(rn->ctx, pr->code, line != NULL ? line : pr->error);
	summary_line(rn, pr->code, line != NULL ? line : pr->error);
	if (pr->code != TT_WARNING && rn->first[0] == '\0')
		strlcpy(rn->first, line != NULL ? line : pr->error,
		    sizeof(rn->first));
	free(line);
}

static void
env_progress(void *arg, const char *msg)
{
	struct run *rn = arg;

	rn->ctx->progress(rn->ctx, msg);
}

/* The pass's settings, from the configuration and the global options. */
static void
sync_env_of(struct run *rn, struct sync_env *env)
{
	struct tt_ctx *ctx = rn->ctx;
	const struct tt_config *c = &ctx->cfg;

	memset(env, 0, sizeof(*env));
	env->cn = &ctx->cn;
	env->block_showas = c->block_showas;
	env->block_all_day = c->block_all_day;
	env->pull_subjects = c->pull_subjects;
	env->push_subject = c->push_subject;
	env->push_private = c->push_private;
	env->max_removals = c->max_removals;
	env->max_removals_pct = c->max_removals_pct;
	env->time_zone = c->time_zone;
	env->window_past_days = c->window_past_days;
	env->window_future_days = c->window_future_days;
	env->problem = env_problem;
	env->progress = ctx->progress != NULL ? env_progress : NULL;
	env->arg = rn;
	rn->env = env;
}

/* ------------------------------------------------ sync --dry-run */

static void
plan_item_free(struct plan_item *it)
{
	free(it->calendar);
	free(it->calendar_id);
	free(it->event_id);
	free(it->subject);
}

static void
plan_clear(struct plan *pl)
{
	size_t i;

	for (i = 0; i < pl->n; i++)
		plan_item_free(&pl->it[i]);
	free(pl->it);
	memset(pl, 0, sizeof(*pl));
}

/* A copy of s, or NULL for NULL; sets *oom when the copy fails. */
static char *
dup_or_null(const char *s, int *oom)
{
	char *d = s != NULL ? strdup(s) : NULL;

	if (s != NULL && d == NULL)
		*oom = 1;
	return d;
}

/* Append an item (its strings copied). */
static void
plan_add(struct plan *pl, const struct plan_item *in)
{
	struct plan_item *it;
	int oom = 0;

	if (tt_reserve(&pl->it, &pl->cap, pl->n + 1, sizeof(*pl->it)) != 0) {
		pl->failed = 1;
		return;
	}
	it = &pl->it[pl->n];
	*it = *in;
	it->calendar = dup_or_null(in->calendar, &oom);
	it->calendar_id = dup_or_null(in->calendar_id, &oom);
	it->event_id = dup_or_null(in->event_id, &oom);
	it->subject = dup_or_null(in->subject, &oom);
	if (oom) {
		plan_item_free(it);
		pl->failed = 1;
		return;
	}
	pl->n++;
}

/* The cap's problem, as an item of the plan: 0, or -1 when it is not
 * one (then it is told as a problem). */
static int
plan_capped(struct run *rn, const struct sync_problem *pr)
{
	struct plan_item it = { 0 };

	if (pr->total <= 0)
		return -1;
	it.kind = PK_CAPPED;
	it.op = "capped";
	it.calendar = (char *)(uintptr_t)pr->calendar;
	it.held = pr->held;
	it.total = pr->total;
	rn->plan.held += pr->held;
	rn->plan.total += pr->total;
	plan_add(&rn->plan, &it);
	return 0;
}

/* A new conflict the pass would tell (and the real one will), as an item
 * of the plan: its line is the conflict's words. */
static void
plan_conflict(struct run *rn, const struct sync_problem *pr)
{
	struct plan_item it = { .kind = PK_CONFLICT, .op = "conflict",
	    .calendar = (char *)(uintptr_t)pr->calendar,
	    .subject = (char *)(uintptr_t)pr->error, .appt = pr->appt };

	plan_add(&rn->plan, &it);
}

/* A write the dry pass settled in the service's place: an event to
 * create, update, set back or delete. */
static void
plan_wrote(void *arg, const struct sync_write *w)
{
	struct run *rn = arg;
	/* borrowed: plan_add copies the strings */
	struct plan_item it = { .kind = PK_EVENT, .op = w->op,
	    .calendar = (char *)(uintptr_t)w->calendar,
	    .calendar_id = (char *)(uintptr_t)w->calendar_id,
	    .event_id = (char *)(uintptr_t)w->event_id,
	    .subject = (char *)(uintptr_t)w->subject,
	    .appt = w->appt, .start = w->start, .end = w->end };

	plan_add(&rn->plan, &it);
}

/* The [ext] blocks of a profile, as items (op NULL), by calendar and
 * event: what the diff before and after the dry pass compares. */
static int
block_cb(void *arg, const struct appt *a)
{
	struct plan *pl = arg;
	struct plan_item it = { .kind = PK_BLOCK, .calendar = a->calendar,
	    .calendar_id = a->calendar_id, .event_id = a->event_id,
	    .subject = a->subject, .appt = a->id, .start = a->start,
	    .end = a->end };

	if (!a->ext)
		return 0;
	plan_add(pl, &it);
	return pl->failed;
}

static int
strcmp_null(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

static int
block_order(const void *x, const void *y)
{
	const struct plan_item *a = x, *b = y;
	int c = strcmp_null(a->calendar_id, b->calendar_id);

	return c != 0 ? c : strcmp_null(a->event_id, b->event_id);
}

static int
blocks_of(struct store *st, int64_t profile, struct plan *pl,
    struct tt_err *err)
{
	if (store_appt_list(st, profile, INT64_MIN, INT64_MAX, block_cb, pl,
	    err) != 0)
		return -1;
	if (pl->failed)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	if (pl->n > 1)
		qsort(pl->it, pl->n, sizeof(*pl->it), block_order);
	return 0;
}

/* The blocks the pass added, changed (time or subject) and removed: the
 * blocks before and after it, merged by calendar and event. */
static void
blocks_diff(struct plan *pl, const struct plan *was, const struct plan *is)
{
	size_t i = 0, k = 0;

	while (i < was->n || k < is->n) {
		const struct plan_item *a = i < was->n ? &was->it[i] : NULL;
		const struct plan_item *b = k < is->n ? &is->it[k] : NULL;
		int c = a == NULL ? 1 : b == NULL ? -1 : block_order(a, b);
		struct plan_item it;

		if (c < 0 && a != NULL) {
			it = *a;
			it.op = "remove";
			i++;
		} else if (c > 0 && b != NULL) {
			it = *b;
			it.op = "add";
			it.appt = 0;	/* the real pass numbers it */
			k++;
		} else if (a == NULL || b == NULL) {
			break;	/* not reached: c says which is there */
		} else {
			i++, k++;
			if (a->start == b->start && a->end == b->end &&
			    strcmp_null(a->subject, b->subject) == 0)
				continue;
			it = *b;
			it.op = "change";
		}
		plan_add(pl, &it);
	}
}

/*
 * One profile's dry run: the real pass (sync_profile) on a copy of the
 * store in memory, its Graph handle in dry mode, so that the plan is
 * what a pass would do.  Reads go to the service; no write is sent, and
 * of the real store only the tokens change (a refresh rotates them:
 * conn.token_st).  The events come from the writes the pass settled
 * (env.wrote), the blocks from the copy before and after it.
 */
static int
dry_pass(struct run *rn, int64_t id, const char *name, struct pass *res)
{
	struct tt_ctx *ctx = rn->ctx;
	struct tt_err err = { 0 };
	struct plan was = { 0 }, is = { 0 };
	struct sync_env env = *rn->env;
	struct conn cn = *rn->env->cn;
	struct store *copy;
	int code;

	memset(res, 0, sizeof(*res));
	plan_clear(&rn->plan);
	rn->dry_worst = 0;
	if (store_open_copy(ctx->st, &copy, &err) != 0 ||
	    blocks_of(copy, id, &was, &err) != 0) {
		store_close(copy);
		plan_clear(&was);
		cmd_note(ctx, err.code, err.msg);
		summary_line(rn, err.code, err.msg);
		return err.code;
	}
	cn.st = copy;
	cn.token_st = ctx->st;
	env.cn = &cn;
	env.dry = 1;
	env.wrote = plan_wrote;
	code = sync_profile(&env, id, name, rn->force, res);
	/* The cap and the new conflicts are in the plan; the other problems
	 * keep their codes. */
	code = code == TT_E_CAPPED || code == TT_E_CONFLICT ? rn->dry_worst :
	    tt_worse(code, rn->dry_worst);
	if (blocks_of(copy, id, &is, &err) != 0) {
		cmd_note(ctx, err.code, err.msg);
		summary_line(rn, err.code, err.msg);
		code = tt_worse(code, err.code);
	} else
		blocks_diff(&rn->plan, &was, &is);
	plan_clear(&was);
	plan_clear(&is);
	store_close(copy);
	if (rn->plan.failed) {
		cmd_note(ctx, TT_E_INTERNAL, "sync --dry-run: out of memory");
		summary_line(rn, TT_E_INTERNAL, "sync --dry-run: out of memory");
		code = tt_worse(code, TT_E_INTERNAL);
	}
	return code;
}

/* The plan's order: by calendar (the pushed events' cap last), blocks,
 * then events, then the cap; by time. */
static int
plan_order(const void *x, const void *y)
{
	const struct plan_item *a = x, *b = y;
	int c;

	if ((a->calendar == NULL) != (b->calendar == NULL))
		return a->calendar == NULL ? 1 : -1;
	if ((c = strcmp_null(a->calendar, b->calendar)) != 0)
		return c;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->appt != b->appt)
		return a->appt < b->appt ? -1 : 1;
	return strcmp_null(a->event_id, b->event_id);
}

/* What each op is called in the plan's lines. */
static const char *
plan_words(const struct plan_item *it)
{
	static const struct { const char *op, *words; } w[] = {
		{ "add", "add block" }, { "change", "change block" },
		{ "remove", "remove block" }, { "create", "create event" },
		{ "update", "update event" }, { "set_back", "set back event" },
		{ "delete", "delete event" }, { "conflict", "tell conflict" } };
	size_t i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (strcmp(it->op, w[i].op) == 0)
			return w[i].words;
	return it->op;
}

/* Columns of an item's line: the op, the id, the times, then the
 * subject in what the terminal has left. */
#define PLAN_FIXED	(2 + 14 + 1 + 6 + 1 + 16 + 1 + 16 + 1)

/*
 * The plan on stdout, grouped by calendar: a line naming the profile and
 * the calendar, then an item a line (times local, as the feed has them);
 * nothing when it is empty.
 */
static void
plan_print(struct run *rn, const char *name)
{
	struct plan *pl = &rn->plan;
	const char *cal = NULL;
	size_t i;

	if (pl->n > 1)
		qsort(pl->it, pl->n, sizeof(*pl->it), plan_order);
	for (i = 0; i < pl->n; i++) {
		const struct plan_item *it = &pl->it[i];
		char s[32], e[32], id[32], *line = NULL, *clean;

		if (i == 0 || strcmp_null(cal, it->calendar) != 0 ||
		    (cal == NULL) != (it->calendar == NULL)) {
			clean = tt_sanitize_dup(it->calendar ? it->calendar : "");
			if (asprintf(&line, it->calendar ? "profile %s, "
			    "calendar \"%s\"" : "profile %s, pushed events%s",
			    name, clean ? clean : "?") < 0)
				line = NULL;
			tt_last(stdout, line ? line : name, 0);
			putchar('\n');
			free(line);
			free(clean);
			cal = it->calendar;
		}
		if (it->kind == PK_CAPPED) {
			printf("  capped: max_removals holds back %s %d of %d "
			    "%s; --force lets them through\n", it->calendar ?
			    "removing" : "deleting", it->held, it->total,
			    it->calendar ? "blocks" : "pushed events");
			continue;
		}
		if (it->appt != 0)
			snprintf(id, sizeof(id), "%" PRId64, it->appt);
		else
			strlcpy(id, "-", sizeof(id));
		printf("  %-14s %-6s %-16s %-16s ", plan_words(it), id,
		    it->start ? tt_fmt_local(it->start, s, sizeof(s)) : "-",
		    it->end ? tt_fmt_local(it->end, e, sizeof(e)) : "-");
		clean = tt_sanitize_dup(it->subject ? it->subject : "-");
		tt_last(stdout, clean ? clean : "?", PLAN_FIXED);
		putchar('\n');
		free(clean);
	}
}

/* The plan in a profile's summary (sync --dry-run --json): blocks,
 * events and capped, every key present. */
static int
plan_json(struct run *rn, json_t *o)
{
	struct plan *pl = &rn->plan;
	json_t *blocks = json_array(), *events = json_array(), *conflicts =
	    json_array(), *capped;
	size_t i;
	int failed = blocks == NULL || events == NULL || conflicts == NULL;

	if (pl->n > 1)
		qsort(pl->it, pl->n, sizeof(*pl->it), plan_order);
	for (i = 0; i < pl->n && !failed; i++) {
		const struct plan_item *it = &pl->it[i];
		json_t *j;

		if (it->kind == PK_CAPPED)
			continue;
		if (it->kind == PK_CONFLICT) {
			j = json_pack("{s:o, s:o, s:o}", "appointment_id",
			    json_integer(it->appt), "calendar",
			    tt_json_text(it->calendar), "message",
			    tt_json_text(it->subject));
			if (j == NULL || json_array_append_new(conflicts, j))
				failed = 1;
			continue;
		}
		j = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		    "op", it->op,
		    "calendar", tt_json_text(it->calendar),
		    "calendar_id", tt_json_text(it->calendar_id),
		    "event_id", tt_json_text(it->event_id),
		    "appointment_id", it->appt ? json_integer(it->appt) :
		    json_null(),
		    "starts_at", tt_json_time(it->start),
		    "ends_at", tt_json_time(it->end),
		    "subject", tt_json_text(it->subject));
		if (j == NULL || json_array_append_new(it->kind == PK_BLOCK ?
		    blocks : events, j) != 0)
			failed = 1;
	}
	capped = pl->total > 0 ? json_pack("{s:i, s:i}", "held", pl->held,
	    "total", pl->total) : json_null();
	if (failed || capped == NULL) {
		json_decref(blocks);
		json_decref(events);
		json_decref(conflicts);
		json_decref(capped);
		rn->failed = 1;
		return -1;
	}
	if (json_object_set_new(o, "blocks", blocks) != 0 ||
	    json_object_set_new(o, "events", events) != 0 ||
	    json_object_set_new(o, "conflicts", conflicts) != 0 ||
	    json_object_set_new(o, "capped", capped) != 0) {
		rn->failed = 1;
		return -1;
	}
	return 0;
}

/*
 * One profile's pass, recorded for status (its exit status and first
 * problem) and, with -v, summed up in a line.
 */
static int
pass_one(void *arg, int64_t id, const char *name)
{
	struct run *rn = arg;
	struct tt_ctx *ctx = rn->ctx;
	struct tt_err err = { 0 };
	struct pass res = { 0 };
	struct timespec t0, t1;
	double secs;
	tt_time started;
	int code, lock;

	if (shard_of(name, rn->shards) != rn->shard)
		return 0;
	summary_begin(rn);

	/* Each profile under its own lock: another run passing (or logging
	 * in) this profile makes it wait for the next run, not the others. */
	if ((lock = store_lock(ctx->dbpath, name, &err)) < 0) {
		char line[sizeof(err.msg) + 128], advice[128];

		snprintf(line, sizeof(line), "%s%s", err.msg, cmd_advice(ctx,
		    name, err.code, 0, advice, sizeof(advice)));
		cmd_note(ctx, err.code, line);
		rn->worst = tt_worse(rn->worst, err.code);
		if (rn->json != NULL) {
			summary_line(rn, err.code, line);
			summary_add(rn, summary_end(rn, name, err.code, &res, 0));
		}
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rn->first[0] = '\0';
	started = tt_now();
	if (rn->dry)
		code = dry_pass(rn, id, name, &res);
	else
		code = sync_profile(rn->env, id, name, rn->force, &res);
	if (res.id != 0 && !rn->dry) {
		res.exit_code = cmd_exit(code);
		res.message = rn->first[0] ? rn->first : NULL;
		if (store_pass_end(ctx->st, &res, &err)) {
			cmd_note(ctx, err.code, err.msg);
			summary_line(rn, err.code, err.msg);
			code = tt_worse(code, err.code);
		}
	}
	store_unlock(lock);	/* the pass is recorded: another may begin */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (ctx->verbose) {
		char line[512];

		snprintf(line, sizeof(line), "profile %s: %d items read, %d "
		    "blocks added, %d changed, %d removed, %d pushed, %d "
		    "deleted, %d requests, %.2f s%s%s", name, res.items,
		    res.added, res.changed, res.removed, res.pushed,
		    res.deleted, res.requests, secs,
		    code ? " (with problems)" : "", rn->dry ? " (a dry run: "
		    "none of it saved or sent)" : "");
		cmd_note(ctx, 0, line);
	}
	/* A dry run's own code: an error, else whether it plans work. */
	if (rn->dry && code == 0 && rn->plan.n > 0)
		code = TT_E_PLAN;
	if (rn->dry && code == TT_E_PLAN)
		rn->planned++;
	if (rn->dry && rn->json == NULL)
		plan_print(rn, name);
	if (rn->json != NULL) {
		json_t *o;

		res.message = rn->first[0] ? rn->first : NULL;
		res.exit_code = cmd_exit(code);
		/* as the pass record has them, for the summary */
		res.started = res.id != 0 ? started : 0;
		res.finished = res.id != 0 ? tt_now() : 0;
		o = summary_end(rn, name, code, &res, secs);
		if (o != NULL && rn->dry && plan_json(rn, o) != 0) {
			json_decref(o);
			o = NULL;
		}
		summary_add(rn, o);
	}
	if (rn->dry)
		plan_clear(&rn->plan);
	if (code != TT_E_PLAN)
		rn->worst = tt_worse(rn->worst, code);
	return 0;
}

/* The run's code: the most serious of the passes', else (a dry run)
 * whether any plans work. */
static int
run_code(const struct run *rn)
{
	return rn->worst ? rn->worst : rn->planned ? TT_E_PLAN : 0;
}

/* sync --json: one document after the passes, whatever they ended with. */
static int
summary_print(struct run *rn, struct tt_err *err)
{
	json_t *doc;

	if (rn->failed) {
		json_decref(rn->json);
		rn->json = NULL;
		return tt_fail(err, TT_E_INTERNAL, "sync --json: out of memory");
	}
	doc = json_pack("{s:i, s:s, s:o}", "exit_code", cmd_exit(run_code(rn)),
	    "result", cmd_result(run_code(rn)), "profiles", rn->json);
	rn->json = NULL;
	json_decref(rn->problems);
	json_decref(rn->warnings);
	rn->problems = rn->warnings = NULL;
	return tt_json_print(doc, err);
}

/*
 * A profile with booked appointments and no connection is never synced:
 * said once per pass (the exit status says it too), so that cron tells
 * someone.
 */
static int
unconnected_cb(void *arg, const struct profile_row *r)
{
	struct run *rn = arg;
	struct sync_problem pr = { TT_E_LOGIN, r->name, NULL, NULL, 0, 0, 0,
	    NULL, 0, 0 };
	char msg[128];

	if (r->account != NULL || r->booked == 0 ||
	    shard_of(r->name, rn->shards) != rn->shard)
		return 0;
	snprintf(msg, sizeof(msg), "%d booked appointment%s, but the profile "
	    "is not connected", r->booked, r->booked == 1 ? "" : "s");
	pr.error = msg;
	summary_begin(rn);
	env_problem(rn, &pr);
	rn->worst = tt_worse(rn->worst, TT_E_LOGIN);
	if (rn->json != NULL) {
		struct pass none = { 0 };

		none.exit_code = cmd_exit(TT_E_LOGIN);
		none.message = msg;
		summary_add(rn, summary_end(rn, r->name, TT_E_LOGIN, &none, 0));
	}
	return 0;
}

/*
 * sync --jobs N: up to N profiles at once, each passed by a child process
 * with its own database connection (a connection never crosses a fork)
 * and its own TZ (each pass sets the staff member's zone, which is the
 * process's).  A child's exit status is its most serious code (tt_errc);
 * a child that dies is an internal error.  Its lines go to stderr as
 * they come, one write each.
 */
struct jobs {
	int64_t *ids;
	char **names;
	size_t n, capids, capnames;
	struct run *rn;
	/* --json: each child writes its summary to its own file (read
	 * when it ends; a pipe could fill while the parent waits) */
	FILE **out;
	pid_t *pids;
};

static int
job_add(void *arg, int64_t id, const char *name)
{
	struct jobs *j = arg;

	if (shard_of(name, j->rn->shards) != j->rn->shard)
		return 0;
	if (tt_reserve(&j->ids, &j->capids, j->n + 1, sizeof(*j->ids)) != 0 ||
	    tt_reserve(&j->names, &j->capnames, j->n + 1,
	    sizeof(*j->names)) != 0 ||
	    (j->names[j->n] = strdup(name)) == NULL)
		return -1;
	j->ids[j->n++] = id;
	return 0;
}

/*
 * A child's summary, read back when it has ended; a child that died
 * before writing it leaves the figures of the profile's last pass record
 * and a problem saying so.
 */
static json_t *
job_summary(struct run *rn, FILE *f, int64_t id, const char *name,
    int code)
{
	struct tt_err err = { 0 };
	struct pass p = { 0 };
	json_t *o = NULL;
	char line[128];

	if (f != NULL) {
		rewind(f);
		o = json_loadf(f, 0, NULL);
	}
	if (json_is_object(o))
		return o;
	json_decref(o);
	summary_begin(rn);
	snprintf(line, sizeof(line), "profile %s: the pass's process ended "
	    "without its summary", name);
	rn->ctx->note(rn->ctx, TT_E_INTERNAL, line);
	summary_line(rn, TT_E_INTERNAL, line);
	if (store_last_pass(rn->ctx->st, id, &p, &err) < 0)
		summary_line(rn, err.code, err.msg);
	o = summary_end(rn, name, code, &p, 0);
	store_pass_free(&p);
	return o;
}

static int
job_child(struct run *rn, int64_t id, const char *name, FILE *out)
{
	struct tt_ctx *ctx = rn->ctx;
	struct tt_err err = { 0 };
	struct store *st;

	/* The parent's connection is left alone (closing it here could
	 * checkpoint its database under it): this pass has its own. */
	if (store_open(ctx->dbpath, &st, &err) != 0) {
		cmd_note(ctx, err.code, err.msg);
		return err.code;
	}
	ctx->st = ctx->cn.st = st;
	rn->worst = 0;
	pass_one(rn, id, name);
	store_close(st);
	if (out != NULL && json_array_size(rn->json) == 1)
		json_dumpf(json_array_get(rn->json, 0), out, JSON_COMPACT);
	if (out != NULL)
		fflush(out);
	fflush(stdout);
	return rn->worst;
}

static int
run_jobs(struct run *rn, unsigned jobs, struct tt_err *err)
{
	struct jobs j = { NULL, NULL, 0, 0, 0, rn, NULL, NULL };
	json_t **sums = NULL, *all = rn->json;
	size_t next = 0, i;
	unsigned running = 0;
	int status, code, rc = -1;
	pid_t pid;

	if (store_connected_profiles(rn->ctx->st, job_add, &j, err) != 0)
		goto out;
	if ((j.pids = calloc(j.n + 1, sizeof(*j.pids))) == NULL ||
	    (all != NULL && ((j.out = calloc(j.n + 1, sizeof(*j.out))) == NULL ||
	    (sums = calloc(j.n + 1, sizeof(*sums))) == NULL))) {
		tt_fail(err, TT_E_INTERNAL, "out of memory");
		goto out;
	}
	while (next < j.n || running > 0) {
		while (running < jobs && next < j.n) {
			if (all != NULL && (j.out[next] = tmpfile()) == NULL)
				rn->ctx->note(rn->ctx, TT_WARNING, "sync --json: "
				    "no temporary file for a summary; the "
				    "pass record gives it");
			fflush(NULL);
			if ((pid = fork()) == 0) {
				/* the child's summary only, into its file */
				if (all != NULL && (rn->json =
				    json_array()) == NULL)
					_exit(TT_E_INTERNAL);
				_exit(job_child(rn, j.ids[next], j.names[next],
				    all != NULL ? j.out[next] : NULL));
			}
			if (pid < 0) {	/* no process to spare: pass it here */
				pass_one(rn, j.ids[next], j.names[next]);
				if (all != NULL) {
					sums[next] = json_array_get(all,
					    json_array_size(all) - 1);
					json_incref(sums[next]);
					json_array_remove(all,
					    json_array_size(all) - 1);
				}
			} else {
				j.pids[next] = pid;
				running++;
			}
			next++;
		}
		if (running == 0)
			continue;
		if ((pid = wait(&status)) < 0)
			break;
		running--;
		code = WIFEXITED(status) ? WEXITSTATUS(status) : TT_E_INTERNAL;
		rn->worst = tt_worse(rn->worst, code);
		for (i = 0; all != NULL && i < next; i++)
			if (j.pids[i] == pid)
				sums[i] = job_summary(rn, j.out[i], j.ids[i],
				    j.names[i], code);
	}
	/* In the order of the profiles, whichever ended first. */
	for (i = 0; all != NULL && i < j.n; i++)
		summary_add(rn, sums[i]);
	rc = 0;
out:
	for (i = 0; i < j.n; i++) {
		free(j.names[i]);
		if (j.out != NULL && j.out[i] != NULL)
			fclose(j.out[i]);
	}
	free(j.names);
	free(j.ids);
	free(j.pids);
	free(j.out);
	free(sums);
	return rc;
}

enum { O_FORCE = CMD_LONG, O_SHARD, O_JOBS, O_JSON, O_DRY };

int
sync_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, O_FORCE },
		{ "shard", required_argument, NULL, O_SHARD },
		{ "jobs", required_argument, NULL, O_JOBS },
		{ "json", no_argument, NULL, O_JSON },
		{ "dry-run", no_argument, NULL, O_DRY },
		CMD_OPT_HELP,
		{ NULL, 0, NULL, 0 }
	};
	struct sync_env env;
	struct run rn = { 0 };
	int64_t profile;
	unsigned jobs = 1;
	int c, r, sharded = 0, json = 0;

	rn.ctx = ctx;
	rn.shards = 1;
	optind = 0;
	while ((c = cmd_getopt(ctx, argc, argv, "n", opts, err)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case O_FORCE:
			rn.force = 1;
			break;
		case O_SHARD:
			if (shard_parse(optarg, &rn.shard, &rn.shards, err))
				return -1;
			sharded = 1;
			break;
		case O_JOBS:
			v = strtoul(optarg, &end, 10);
			if (end == optarg || *end != '\0' || v < 1 || v > 64)
				return tt_fail(err, TT_E_USAGE, "sync: --jobs "
				    "wants 1 to 64, not '%s'", optarg);
			jobs = (unsigned)v;
			break;
		case O_JSON:
			json = 1;
			break;
		case 'n':
		case O_DRY:
			rn.dry = 1;
			break;
		case CMD_HELPED:
			return 0;
		default:
			return -1;
		}
	}
	if (cmd_no_operand(ctx, argc, argv, err))
		return -1;
	if (ctx->profile_given && sharded)
		return cmd_bad(ctx, err, "sync: --shard is for a pass "
		    "over every profile, not with -s");
	if (ctx->profile_given && jobs > 1)
		return cmd_bad(ctx, err, "sync: --jobs is for a pass "
		    "over every profile, not with -s");
	/* A plan is printed whole per profile, by one process. */
	if (rn.dry && jobs > 1)
		return cmd_bad(ctx, err, "sync: --dry-run passes the profiles "
		    "one at a time: not with --jobs");
	if (cmd_open(ctx, err))
		return -1;
	if (json && (rn.json = json_array()) == NULL)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	sync_env_of(&rn, &env);
	if (jobs > 1)
		env.progress = NULL;	/* one line per terminal, not N */
	if (ctx->profile_given) {
		r = store_profile(ctx->st, ctx->profile, 0, &profile, err);
		if (r == 0)
			r = tt_fail(err, TT_E_LOGIN, "profile %s is not "
			    "connected", ctx->profile);
		if (r > 0)
			pass_one(&rn, profile, ctx->profile);
	} else if ((r = jobs > 1 ? run_jobs(&rn, jobs, err) :
	    store_connected_profiles(ctx->st, pass_one, &rn, err)) == 0)
		r = store_profile_rows(ctx->st, unconnected_cb, &rn, err);
	if (r < 0 || (rn.json != NULL && summary_print(&rn, err))) {
		json_decref(rn.json);
		json_decref(rn.problems);
		json_decref(rn.warnings);
		return -1;
	}
	plan_clear(&rn.plan);
	/* Problems were reported one per line already. */
	err->code = run_code(&rn);
	err->msg[0] = '\0';
	return err->code ? -1 : 0;
}
