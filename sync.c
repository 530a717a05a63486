/* SPDX-License-Identifier: ISC */
/*
 * sync.c -- one pass for a profile, and the purge of stop --purge-remote.
 *
 * The pull: refresh the token, read every pull calendar (concurrently),
 * turn Busy events into [ext] blocks (sparse occurrences take their
 * series master's fields) and record the feed; our own events are noted,
 * never blocks.  Persistent state (in the store): blocks, feed rows,
 * series masters, second copies of ours, and per calendar the deltaLink
 * and the window it belongs to.  Recovery rules:
 * - every page is one transaction; a round's deltaLink is saved in the
 *   same transaction as its last page, so an interrupted round is simply
 *   read again (delta replays are idempotent upserts); what a page found
 *   that the push must act on (a second copy of ours, an edited event of
 *   ours) is written in the page's transaction too;
 * - blocks are removed only by an @removed of a *complete* incremental
 *   round (removals wait in memory until the deltaLink arrives) or by
 *   reconciliation after a *complete* full read (items not stamped with
 *   this round's number); an error mid-round removes nothing;
 * - an invalid delta state means a full read, not an error.
 *
 * The push: every booked appointment in the window onto every push
 * calendar, as a state machine per (appointment, calendar) pair -- see
 * the table at the top of the push below.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"
#include "sync.h"
#include "tz_windows.h"

/* transactionId: OURS_PREFIX owner "-" appointment "-" calendar "-"
 * random; marker value: owner ":" appointment, where owner is
 * "<install id>.<profile id>". */
#define OURS_PREFIX "timetap-"
/* A full read may miss an event created moments ago (the service's
 * processing delay): only older ones count as deleted in Teams. */
#define PUSH_SETTLE 600
#define WRITE_PROBLEMS_SHOWN 3

const char *
sync_reason_code(enum reason r)
{
	static const char *codes[] = { NULL, "timetap", "free", "showas",
	    "cancelled", "removed", "outside", "invalid" };

	return (size_t)r < sizeof(codes) / sizeof(codes[0]) ? codes[r] : "invalid";
}

void
sync_window(int past_days, int future_days, tt_time now, tt_time *ws,
    tt_time *we)
{
	char today[32];
	int y, m, d, y2, m2, d2;

	tt_fmt_local(now, today, sizeof(today));
	tt_parse_date(today, &y, &m, &d);
	y2 = y, m2 = m, d2 = d;
	tt_date_add(&y, &m, &d, -past_days);
	tt_date_add(&y2, &m2, &d2, future_days + 1);
	*ws = tt_local_midnight(y, m, d);
	*we = tt_local_midnight(y2, m2, d2);
}

int
sync_too_many(int n, int total, int max, int pct)
{
	if (pct)
		return n > 10 && (long)n * 100 > (long)total * max;
	return n > max;
}

enum reason
sync_classify(const struct graph_event *ev, int ours,
    const struct classify_cfg *c, tt_time *bs, tt_time *be, char *info,
    size_t infolen)
{
	char shows[64];

	info[0] = '\0';
	*bs = *be = 0;
	if (ev->invalid) {
		snprintf(info, infolen, "could not read %s", ev->invalid);
		return R_INVALID;
	}
	if (ev->all_day) {
		*bs = tt_local_midnight(ev->sy, ev->sm, ev->sd);
		*be = tt_local_midnight(ev->ey, ev->em, ev->ed);
	} else {
		*bs = ev->start;
		*be = ev->end;
	}
	if (ours) {
		snprintf(info, infolen, "a TimeTap appointment");
		return R_TIMETAP;
	}
	if (ev->cancelled) {
		snprintf(info, infolen, "cancelled meeting");
		return R_CANCELLED;
	}
	if (ev->showas == SHOWAS_FREE) {
		snprintf(info, infolen, "you are listed as Available");
		return R_FREE;
	}
	if (!(ev->showas & c->block_showas)) {
		graph_showas_str(c->block_showas, shows, sizeof(shows));
		snprintf(info, infolen, "shown as %s, which does not block "
		    "(block_showas = %s)", ev->showas_name, shows);
		return R_SHOWAS;
	}
	if (ev->all_day && !c->block_all_day) {
		snprintf(info, infolen, "all-day events do not block "
		    "(block_all_day = no)");
		return R_SHOWAS;
	}
	if (*be <= *bs) {
		snprintf(info, infolen, "could not read end (no duration)");
		return R_INVALID;
	}
	if (*be <= c->ws || *bs >= c->we) {
		snprintf(info, infolen, "outside the sync window");
		return R_OUTSIDE;
	}
	return R_LOADED;
}

/* ------------------------------------------------------------ a pass */

struct pass_ctx {
	const struct sync_env *env;
	struct graph *g;
	int64_t profile;
	const char *name;
	int64_t gen;		/* this pass's number: stamps what it saw */
	struct classify_cfg cc;
	struct pass counts;
	int force;
	int worst;		/* the most serious code so far (tt_errc) */
	int token_rejected;	/* a 401 that the one refresh did not cure */
	int refreshed;		/* the one forced refresh of the pass is used */
	struct cal_round **retry;	/* rounds refused with a 401, to redo */
	size_t nretry;
	int push_rejected;	/* writes refused with a 401, to redo */
	int personal;		/* a personal account: no Teams meetings */
	/* Creates the service refused as a replayed transactionId: the
	 * event exists (or existed); looked up again in this pass. */
	struct pair { int64_t appt, cal; } *replayed;
	size_t nreplayed;
	int push_again;		/* a phase left creates for another one */
	int push_round;		/* 0, 1, 2: the rounds of the push */
	struct cal_round **refetch;	/* rounds waiting for masters */
	size_t nrefetch;
	/* Second copies of our events (a re-sent create the service did not
	 * refuse): deleted by the push, the mapped one kept. */
	char *owner;		/* "<install id>.<profile id>": ours */
	char *txn_prefix;	/* OURS_PREFIX owner "-" */
	int offline_dropped;	/* online appointments pushed without link */
	int bad_text;		/* appointments with text that is not UTF-8 */
	int write_problems;	/* failed writes, told or counted */
	char rules[160];	/* the classification settings and zone */
};

struct cal_round {
	struct pass_ctx *p;
	struct calendar cal;
	int full;		/* a full read: reconcile at the end */
	int delta;		/* a delta round (else plain calendarView) */
	int restarted;		/* already restarted once after GONE */
	int plain;		/* delta was refused: plain reads this pass */
	int unreadable;		/* items whose id could not be read */
	/* Sparse occurrences whose series master is not known yet: the
	 * round is incomplete (no removal, no state saved); the masters
	 * are read and the round is run again, once. */
	char **missing;
	size_t nmissing;
	int incomplete, refetched;
	/* The round's sparse occurrences, classified at its end: their
	 * master may come on any page, before or after them. */
	struct sparse { char *id, *master; tt_time start, end; } *sparse;
	size_t nsparse, capsparse;
	char **removals;	/* incremental: ids to remove at the end */
	size_t nrem, caprem;
	int items;
};

/*
 * Hand a problem to the edge as a record (sync.h): what failed, where,
 * the error in facts; the pass keeps its most serious code.  A warning
 * (TT_WARNING) leaves the code alone.
 */
static void
report(struct pass_ctx *p, int code, const char *cal, const char *step,
    int64_t appt, int unknown, const char *error)
{
	struct sync_problem pr = { code, p->name, cal, step, appt, unknown, 0,
	    error, 0, 0 };

	p->env->problem(p->env->arg, &pr);
	if (code != TT_WARNING)
		p->worst = tt_worse(p->worst, code);
}

/* The removal cap held `held` removals of `total` items back (on cal, or
 * of the pushed events when NULL): a problem with its figures. */
static void
report_capped(struct pass_ctx *p, const char *cal, int held, int total,
    const char *error)
{
	struct sync_problem pr = { TT_E_CAPPED, p->name, cal, NULL, 0, 0, 0,
	    error, held, total };

	p->env->problem(p->env->arg, &pr);
	p->worst = tt_worse(p->worst, TT_E_CAPPED);
}

/* Tell the edge of a write the service took (in a dry run: settled in
 * its place, the plan). */
static void
tell_write(struct pass_ctx *p, const char *op, const char *cal,
    const char *cal_id, int64_t appt, const char *event_id, tt_time start,
    tt_time end, const char *subject)
{
	struct sync_write w = { op, cal, cal_id, appt, event_id, start, end,
	    subject };

	if (p->env->wrote != NULL)
		p->env->wrote(p->env->arg, &w);
}

static void
vproblem(struct pass_ctx *p, int code, const char *cal, const char *step,
    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static void
cal_problem(struct pass_ctx *p, int code, const char *cal, const char *step,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void
problem(struct pass_ctx *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
vproblem(struct pass_ctx *p, int code, const char *cal, const char *step,
    const char *fmt, va_list ap)
{
	char msg[512];

	tt_vmessage(msg, sizeof(msg), fmt, ap);
	report(p, code, cal, step, 0, 0, msg);
}

/* A problem on a calendar (cal NULL: of the whole pass), in a step. */
static void
cal_problem(struct pass_ctx *p, int code, const char *cal, const char *step,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(p, code, cal, step, fmt, ap);
	va_end(ap);
}

/* A problem of the whole pass. */
static void
problem(struct pass_ctx *p, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(p, code, NULL, NULL, fmt, ap);
	va_end(ap);
}

/* A failure of the connection (its message names the profile). */
static void
conn_problem(struct pass_ctx *p, const struct tt_err *err)
{
	struct sync_problem pr = { err->code, p->name, NULL, NULL, 0, 0, 1,
	    err->msg, 0, 0 };

	p->env->problem(p->env->arg, &pr);
	p->worst = tt_worse(p->worst, err->code);
}

/* A local failure (the store's, or memory) as a problem. */
static void
local_problem(struct pass_ctx *p, const struct tt_err *err, int dflt)
{
	report(p, err->code ? err->code : dflt, NULL, NULL, 0, 0,
	    err->msg[0] ? err->msg : "out of memory");
}

static void
sparse_clear(struct cal_round *cr)
{
	while (cr->nsparse > 0) {
		cr->nsparse--;
		free(cr->sparse[cr->nsparse].id);
		free(cr->sparse[cr->nsparse].master);
	}
}

static void
round_free(struct cal_round *cr)
{
	size_t i;

	if (cr == NULL)
		return;
	for (i = 0; i < cr->nrem; i++)
		free(cr->removals[i]);
	free(cr->removals);
	for (i = 0; i < cr->nmissing; i++)
		free(cr->missing[i]);
	free(cr->missing);
	sparse_clear(cr);
	free(cr->sparse);
	store_calendar_free(&cr->cal);
	free(cr);
}

static void
hex_sum(const char *s, size_t n, char out[65])
{
	uint8_t d[32];
	size_t i;

	sha256(s, n, d);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/*
 * The digest of the fields TimeTap owns on a pushed event, as written and
 * as read back: subject (sanitised, as reads give it), times,
 * sensitivity, show-as, location (not for online meetings: the service
 * may name the meeting there) and whether it is an online meeting.
 */
static void
owned_sum(const char *subject, tt_time start, tt_time end, const char *sens,
    const char *showas, const char *location, int online, char out[65])
{
	char *clean = tt_sanitize_dup(subject), *buf = NULL;
	int n;

	n = asprintf(&buf, "%zu:%s|%" PRId64 "|%" PRId64 "|%s|%s|%s|%d",
	    strlen(clean ? clean : ""), clean ? clean : "", (int64_t)start,
	    (int64_t)end, sens ? sens : "", showas ? showas : "", online ? "" :
	    location ? location : "", online);
	if (n < 0)
		buf = NULL;
	hex_sum(buf ? buf : "", buf ? (size_t)n : 0, out);
	free(buf);
	free(clean);
}

/*
 * Is this event one of ours -- this install's, this profile's?  By its
 * transactionId ("timetap-<owner>-<appt>-..."), else by the push map.
 * Another install's or another profile's event is not: it blocks like
 * any other busy event on a pulled calendar, and is never set back,
 * adopted or purged.
 */
static int
ours_of(struct pass_ctx *p, const struct graph_event *ev, int64_t *appt,
    struct tt_err *err)
{
	size_t n = strlen(p->txn_prefix);
	char *end;

	*appt = 0;
	if (ev->transaction_id != NULL &&
	    strncmp(ev->transaction_id, p->txn_prefix, n) == 0) {
		*appt = strtoll(ev->transaction_id + n, &end, 10);
		if (*appt > 0 && *end == '-')
			return 1;
		*appt = 0;
	}
	return store_pushed_owner(p->env->cn->st, p->profile, ev->id, appt, err);
}

static int
want_removal(struct cal_round *cr, const char *id)
{
	if (tt_reserve(&cr->removals, &cr->caprem, cr->nrem + 1,
	    sizeof(*cr->removals)) != 0 ||
	    (cr->removals[cr->nrem] = strdup(id)) == NULL)
		return -1;
	cr->nrem++;
	return 0;
}

/* A later sighting of an item cancels its pending removal. */
static void
unwant_removal(struct cal_round *cr, const char *id)
{
	size_t i;

	for (i = 0; i < cr->nrem; i++)
		if (strcmp(cr->removals[i], id) == 0) {
			free(cr->removals[i]);
			cr->removals[i] = cr->removals[--cr->nrem];
			return;
		}
}

static int one_event(struct cal_round *, const struct graph_event *,
    struct tt_err *);

/* The deletes of the second copies the reads found (store_strays). */
struct strays {
	struct pass_ctx *p;
	struct graph_write **w;
	int64_t *cal;		/* the calendar row of each */
	size_t n;
	int oom;
};

static int
stray_cb(void *arg, const struct stray *y)
{
	struct strays *ys = arg;
	struct graph_write *w, **n;
	int64_t *c;

	if ((n = reallocarray(ys->w, ys->n + 1, sizeof(*n))) != NULL)
		ys->w = n;
	if ((c = reallocarray(ys->cal, ys->n + 1, sizeof(*c))) != NULL)
		ys->cal = c;
	if (n == NULL || c == NULL || (w = graph_delete_new(&y->cal,
	    y->event_id, y->path)) == NULL) {
		ys->oom = 1;
		return 1;
	}
	ys->cal[ys->n] = y->calendar_id;
	ys->w[ys->n++] = w;
	return 0;
}

static void
strays_done(void *arg, struct graph_write **ws, size_t n)
{
	struct strays *ys = arg;
	struct pass_ctx *p = ys->p;
	struct tt_err err = { 0 };
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < ys->n && ys->w[k] != ws[i]; k++)
			;
		if (ws[i]->err.cls == GRAPH_OK || ws[i]->gone) {
			p->counts.deleted++;
			tell_write(p, "delete", ws[i]->user, ws[i]->cal.id, 0,
			    ws[i]->event_id, 0, 0, NULL);
			if (k < ys->n && store_stray_done(p->env->cn->st, ys->cal[k],
			    ws[i]->event_id, &err))
				problem(p, err.code, "%s", err.msg);
		} else if (ws[i]->err.cls == GRAPH_TOKEN)
			p->push_rejected = 1;	/* refreshed, then again */
		else
			report(p, graph_errc(&ws[i]->err), ws[i]->user,
			    "deleting a second copy of one of our events", 0,
			    0, ws[i]->err.msg);
	}
}

/* Delete the second copies of our events the reads found, this pass's and
 * those an interrupted pass left. */
static void
strays_delete(struct pass_ctx *p)
{
	struct strays ys = { 0 };
	struct tt_err err = { 0 };

	ys.p = p;
	if (store_strays(p->env->cn->st, p->profile, stray_cb, &ys, &err) ||
	    ys.oom)
		local_problem(p, &err, TT_E_INTERNAL);
	else if (ys.n > 0)
		graph_writes(p->g, ys.w, ys.n, strays_done, &ys);
	graph_deletes_free(ys.w, ys.n);
	free(ys.cal);
}

static int sparse_one(struct cal_round *, const struct graph_event *,
    struct tt_err *);

/* A master whose occurrences came before it was known. */
static int
missing_add(struct cal_round *cr, const char *id)
{
	char **n;
	size_t i;

	cr->incomplete = 1;
	for (i = 0; i < cr->nmissing; i++)
		if (strcmp(cr->missing[i], id) == 0)
			return 0;
	if ((n = reallocarray(cr->missing, cr->nmissing + 1,
	    sizeof(*n))) == NULL)
		return -1;
	cr->missing = n;
	if ((n[cr->nmissing] = strdup(id)) == NULL)
		return -1;
	cr->nmissing++;
	return 0;
}

/*
 * One item of a page, recurring meetings first: a series master is
 * remembered (its occurrences take its fields) and is never a block; a
 * sparse occurrence waits for the end of the round.
 */
static int
one_item(struct cal_round *cr, const struct graph_event *ev,
    struct tt_err *err)
{
	struct series m;

	if (!ev->removed && ev->invalid == NULL && ev->type != NULL &&
	    strcmp(ev->type, "seriesMaster") == 0) {
		m.subject = ev->subject;
		m.showas = (char *)(uintptr_t)ev->showas_name;
		m.last_modified = (char *)(uintptr_t)ev->last_modified;
		m.all_day = ev->all_day;
		m.cancelled = ev->cancelled;
		return store_series_put(cr->p->env->cn->st, cr->cal.id, ev->id, &m,
		    err);
	}
	if (ev->removed || !ev->sparse)
		return one_event(cr, ev, err);
	/* Kept for the end of the round (sparse_done). */
	unwant_removal(cr, ev->id);
	if (tt_reserve(&cr->sparse, &cr->capsparse, cr->nsparse + 1,
	    sizeof(*cr->sparse)) != 0)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	cr->sparse[cr->nsparse].id = strdup(ev->id);
	cr->sparse[cr->nsparse].master = strdup(ev->series_master_id);
	cr->sparse[cr->nsparse].start = ev->start;
	cr->sparse[cr->nsparse].end = ev->end;
	if (cr->sparse[cr->nsparse].id == NULL ||
	    cr->sparse[cr->nsparse].master == NULL) {
		free(cr->sparse[cr->nsparse].id);
		free(cr->sparse[cr->nsparse].master);
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	}
	cr->nsparse++;
	return 0;
}

/*
 * The end of a round: every series master it carried is stored, so each
 * sparse occurrence takes its master's fields now.  One whose master is
 * not known makes the round incomplete (nothing removed, no state).
 */
static int
sparse_done(struct cal_round *cr, struct tt_err *err)
{
	struct graph_event ev;
	size_t i;
	int r;

	for (i = 0; i < cr->nsparse; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.id = cr->sparse[i].id;
		ev.series_master_id = cr->sparse[i].master;
		ev.type = "occurrence";
		ev.start = cr->sparse[i].start;
		ev.end = cr->sparse[i].end;
		if ((r = sparse_one(cr, &ev, err)) != 0)
			return r;
	}
	sparse_clear(cr);
	return 0;
}

/* One sparse occurrence, filled from its master's stored fields. */
static int
sparse_one(struct cal_round *cr, const struct graph_event *ev,
    struct tt_err *err)
{
	struct series m;
	struct graph_event e2;
	struct tm tm;
	time_t t;
	int r;

	if ((r = store_series_get(cr->p->env->cn->st, cr->cal.id,
	    ev->series_master_id, &m, err)) < 0)
		return -1;
	if (r == 0) {
		/* Keep whatever the book has for it until the master is
		 * read: nothing is removed on a partial read. */
		return missing_add(cr, ev->series_master_id) ? tt_fail(err,
		    TT_E_INTERNAL, "out of memory") : 0;
	}
	e2 = *ev;
	e2.sparse = 0;
	e2.subject = m.subject;
	e2.showas = graph_showas_bit(m.showas) ? graph_showas_bit(m.showas) :
	    SHOWAS_UNKNOWN;
	tt_sanitize(e2.showas_name, sizeof(e2.showas_name), m.showas);
	e2.cancelled = m.cancelled;
	e2.last_modified = m.last_modified;
	e2.all_day = m.all_day;
	if (m.all_day) {	/* floating dates, served as UTC midnights */
		t = (time_t)ev->start;
		gmtime_r(&t, &tm);
		e2.sy = tm.tm_year + 1900, e2.sm = tm.tm_mon + 1, e2.sd = tm.tm_mday;
		t = (time_t)ev->end;
		gmtime_r(&t, &tm);
		e2.ey = tm.tm_year + 1900, e2.em = tm.tm_mon + 1, e2.ed = tm.tm_mday;
	}
	r = one_event(cr, &e2, err);
	store_series_free(&m);
	return r;
}

static int
one_event(struct cal_round *cr, const struct graph_event *ev,
    struct tt_err *err)
{
	struct pass_ctx *p = cr->p;
	const struct sync_env *env = p->env;
	struct feed_row f = { 0 };
	struct block b = { 0 };
	char info[256], when[32];
	int64_t appt = 0, old;
	enum reason r;
	int ours, rc;

	if (ev->removed) {
		/* Full reads reconcile instead; deltas decide at the end. */
		if (!cr->full && want_removal(cr, ev->id) != 0)
			return tt_fail(err, TT_E_INTERNAL, "out of memory");
		return 0;
	}
	if (ev->invalid && strcmp(ev->invalid, "id") == 0) {
		cr->unreadable++;	/* nothing to name it by */
		return 0;
	}
	unwant_removal(cr, ev->id);
	if ((ours = ours_of(p, ev, &appt, err)) < 0)
		return -1;
	/* Our own event: note that it is there and whether a field we own
	 * was edited (the changeKey also changes for a dismissed reminder,
	 * a category or a response: no proof of an edit). */
	if (ours) {
		char sum[65], mark[48];
		int which = store_push_which(p->env->cn->st, appt, cr->cal.id,
		    ev->id, err);

		if (which < 0)
			return -1;
		if (which == PUSH_UNMAPPED && store_push_created(p->env->cn->st,
		    appt, cr->cal.id, ev->id, ev->change_key, -1, err) != 0)
			return -1;	/* adopted: set back to the book's */
		if (which == PUSH_OTHER)	/* deleted by the push */
			return store_stray_add(p->env->cn->st, cr->cal.id, ev->id,
			    err);

		owned_sum(ev->subject ? ev->subject : "", ev->all_day ? 0 :
		    ev->start, ev->all_day ? 0 : ev->end, ev->sensitivity,
		    ev->showas_name, ev->location, ev->online, sum);
		snprintf(mark, sizeof(mark), "(appointment %" PRId64 ")", appt);
		if (store_push_seen(p->env->cn->st, cr->cal.id, ev->id,
		    ev->change_key, sum, ev->body != NULL && strstr(ev->body,
		    mark) != NULL, p->gen, err) != 0)
			return -1;
		/* The book shows the link the service has now. */
		if (ev->join_url != NULL && store_join_seen(p->env->cn->st, appt,
		    cr->cal.id, ev->join_url, err) < 0)
			return -1;
	}
	if (!cr->cal.pull)
		return 0;	/* a push-only calendar is read for ours only */
	r = sync_classify(ev, ours, &p->cc, &b.start, &b.end, info,
	    sizeof(info));
	f.profile_id = p->profile;
	f.calendar_id = cr->cal.id;
	f.calendar = cr->cal.path;
	f.event_id = ev->id;
	f.start = b.start;
	f.end = b.end;
	f.all_day = ev->all_day;
	f.subject = !env->pull_subjects ? "Busy" : ev->subject ? ev->subject :
	    "";
	f.gen = p->gen;
	f.showas = ev->showas_name[0] ? ev->showas_name : NULL;
	f.loaded = r == R_LOADED;
	f.reason = sync_reason_code(r);
	if (r == R_LOADED) {
		tt_time lm = 0;

		b.calendar_id = cr->cal.id;
		b.event_id = ev->id;
		b.all_day = ev->all_day;
		b.subject = f.subject;
		b.remote_modified = ev->last_modified;
		b.showas = f.showas;
		b.gen = p->gen;
		rc = store_block_put(p->env->cn->st, p->profile, &b, &appt, err);
		if (rc < 0)
			return -1;
		if (rc == 1)
			p->counts.added++;
		else if (rc == 2)
			p->counts.changed++;
		if (ev->last_modified && tt_parse_utc(ev->last_modified, &lm) == 0)
			snprintf(info, sizeof(info), "updated in Teams %s",
			    tt_fmt_local(lm, when, sizeof(when)));
		else
			snprintf(info, sizeof(info), "updated in Teams");
	} else if (r == R_INVALID) {
		/* Fail closed: an unreadable item keeps any block it had. */
		if (store_block_stamp(p->env->cn->st, cr->cal.id, ev->id, p->gen,
		    &appt, err) < 0)
			return -1;
	} else {
		/* An item that no longer blocks (now free, cancelled, ...)
		 * loses its block; an unreadable one keeps it (fail closed). */
		rc = store_block_remove(p->env->cn->st, cr->cal.id, ev->id, &old, err);
		if (rc < 0)
			return -1;
		p->counts.removed += rc;
	}
	f.appt_id = appt;
	f.info = info;
	return store_feed_put(p->env->cn->st, &f, err);
}

/* The end of a complete round, inside the last page's transaction. */
static int
finish_round(struct cal_round *cr, const char *delta_link, struct tt_err *err)
{
	struct pass_ctx *p = cr->p;
	const struct sync_env *env = p->env;
	int total = 0, n = 0, gone;
	size_t i;
	int64_t appt;

	/* Occurrences still waiting for their master: keep everything. */
	if (cr->incomplete)
		return 1;

	/* Our events the round did not see, or says are removed, are
	 * written again: moved out of the window they are set back, and
	 * only a 404 to that makes them created anew (batch_done). */
	if (cr->cal.push && cr->full) {
		if (store_push_unseen(p->env->cn->st, cr->cal.id, p->gen, p->cc.ws,
		    p->cc.we, tt_now() - PUSH_SETTLE, &gone, err))
			return -1;
	} else if (cr->cal.push) {
		for (i = 0; i < cr->nrem; i++)
			if (store_push_unseen_event(p->env->cn->st, cr->cal.id,
			    cr->removals[i], err) < 0)
				return -1;
	}
	if (!cr->cal.pull)
		goto state;
	/* A full read with items whose id could not be read removes no
	 * block: any of them may be one of those (fail closed). */
	if (cr->full && cr->unreadable > 0) {
		cal_problem(p, TT_WARNING, cr->cal.path, NULL, "%d item%s "
		    "whose id could not be read; no block was removed",
		    cr->unreadable, cr->unreadable == 1 ? "" : "s");
		goto state;
	}
	/* What would go: stale blocks of a full read, or the held blocks
	 * among the @removed ids of a delta round. */
	if (cr->full) {
		if (store_blocks_stale(p->env->cn->st, cr->cal.id, p->gen, 0, &n, err))
			return -1;
	} else {
		for (i = 0; i < cr->nrem; i++) {
			int has = store_block_has(p->env->cn->st, cr->cal.id,
			    cr->removals[i], err);

			if (has < 0)
				return -1;
			n += has;
		}
	}
	/* The calendar's total only when something would go: counting reads
	 * the whole id index (most of a no-change pass's page cache). */
	if (n > 0 && store_block_count(p->env->cn->st, cr->cal.id, &total,
	    err))
		return -1;
	if (n > 0 && !p->force && sync_too_many(n, total, env->max_removals,
	    env->max_removals_pct)) {
		char msg[128];

		snprintf(msg, sizeof(msg), "would remove %d of %d blocks, more "
		    "than max_removals allows; nothing removed", n, total);
		report_capped(p, cr->cal.path, n, total, msg);
		return 1;
	}
	if (cr->full) {
		if (store_blocks_stale(p->env->cn->st, cr->cal.id, p->gen, 1, &n,
		    err) || store_feed_stale(p->env->cn->st, p->profile,
		    cr->cal.path, p->gen, err))
			return -1;
		p->counts.removed += n;
	} else {
		for (i = 0; i < cr->nrem; i++) {
			int rc = store_block_remove(p->env->cn->st, cr->cal.id,
			    cr->removals[i], &appt, err);

			if (rc < 0 || store_feed_removed(p->env->cn->st, p->profile,
			    cr->cal.path, cr->removals[i], rc > 0 ?
			    "deleted in Teams, its block was removed" :
			    "deleted in Teams, or moved out of the window", err))
				return -1;
			p->counts.removed += rc;
		}
	}
state:
	/* A deltaLink the tool would refuse to follow (another host, empty,
	 * huge) is not stored: the next pass reads in full instead of
	 * failing on it for ever. */
	if (cr->delta && !graph_link_ok(p->g, delta_link)) {
		cal_problem(p, TT_E_DOWN, cr->cal.path, NULL, "the service gave "
		    "a deltaLink the tool will not follow; the next pass reads "
		    "the calendar in full");
		delta_link = NULL;
	}
	return store_calendar_state(p->env->cn->st, cr->cal.id,
	    cr->delta ? delta_link : NULL, p->cc.ws, p->cc.we, p->rules,
	    cr->full, !cr->delta, err);
}

static int
on_page(void *arg, const struct graph_event *ev, size_t n, int final,
    const char *delta_link)
{
	struct cal_round *cr = arg;
	struct pass_ctx *p = cr->p;
	struct tt_err err = { 0 };
	size_t i;
	int rc;

	if (final && cr->delta && delta_link == NULL) {
		cal_problem(p, TT_E_DOWN, cr->cal.path, NULL, "the last page "
		    "had no deltaLink");
		return -1;
	}
	if (store_begin(p->env->cn->st, &err))
		goto fail;
	for (i = 0; i < n; i++)
		if (one_item(cr, &ev[i], &err) != 0)
			goto rollback;
	cr->items += (int)n;
	p->counts.items += (int)n;
	if (p->env->progress != NULL) {
		char msg[128];

		snprintf(msg, sizeof(msg), "%s: %d items read", p->name,
		    p->counts.items);
		p->env->progress(p->env->arg, msg);
	}
	if (final && sparse_done(cr, &err) != 0)
		goto rollback;
	if (final) {
		rc = finish_round(cr, delta_link, &err);
		if (rc < 0)
			goto rollback;
		/* rc 1: removals refused; keep the upserts, not the state */
	}
	if (store_commit(p->env->cn->st, &err) == 0)
		return 0;
rollback:
	store_rollback(p->env->cn->st);
fail:
	report(p, err.code ? err.code : TT_E_LOCAL, cr->cal.path, NULL, 0, 0,
	    err.msg);
	return -1;
}

static int start_round(struct pass_ctx *p, struct cal_round *cr);

static void
on_done(void *arg, const struct graph_err *e)
{
	struct cal_round *cr = arg;
	struct pass_ctx *p = cr->p;
	struct tt_err err = { 0 };

	if (e == NULL && cr->incomplete && !cr->refetched) {
		struct cal_round **n = reallocarray(p->refetch, p->nrefetch + 1,
		    sizeof(*n));

		if (n != NULL) {	/* sync_profile reads the masters */
			p->refetch = n;
			p->refetch[p->nrefetch++] = cr;
			return;
		}
	}
	if (e == NULL && cr->incomplete)
		cal_problem(p, TT_E_LATER, cr->cal.path, NULL, "recurring "
		    "meetings whose series could not be read; their blocks are "
		    "kept");
	if (e == NULL) {
		round_free(cr);
		return;
	}
	if (e->cls == GRAPH_CANCELLED) {
		round_free(cr);		/* already reported */
		return;
	}
	/* An invalid delta state means a full read, once. */
	if (e->cls == GRAPH_GONE && !cr->restarted) {
		if (store_calendar_reset(p->env->cn->st, cr->cal.id, &err) == 0) {
			free(cr->cal.delta_link);
			cr->cal.delta_link = NULL;
			cr->restarted = 1;
			if (start_round(p, cr) == 0)
				return;
		}
	}
	/*
	 * v1.0 documents delta for the primary calendar only, and tenants
	 * differ: a delta request refused on any calendar, at any page (not
	 * an expired state, not a refused token), falls back to a plain
	 * calendarView full read; remembered, re-probed at the daily re-base.
	 */
	if (cr->delta && !cr->plain && e->cls != GRAPH_TOKEN &&
	    e->cls != GRAPH_GONE && (e->http == 400 || e->http == 403 ||
	    e->http == 404 || e->http == 501)) {
		cr->cal.no_delta = 1;
		cr->plain = 1;
		if (start_round(p, cr) == 0)
			return;
	}
	/* A 401 on a token believed valid (revoked, a policy change, the
	 * clock): redone once after a forced refresh (sync_profile). */
	if (e->cls == GRAPH_TOKEN && !p->refreshed) {
		struct cal_round **n = reallocarray(p->retry, p->nretry + 1,
		    sizeof(*n));

		if (n != NULL) {
			p->retry = n;
			p->retry[p->nretry++] = cr;
			return;
		}
	}
	if (e->cls == GRAPH_TOKEN)
		p->token_rejected = 1;
	report(p, graph_errc(e), cr->cal.path, "reading events", 0, 0, e->msg);
	round_free(cr);
}

static int
start_round(struct pass_ctx *p, struct cal_round *cr)
{
	struct graph_round_cb cb = { on_page, on_done, cr };
	struct graph_err ge = { 0 };
	struct graph_cal ref = store_cal_ref(&cr->cal);
	char *url;
	int rc;

	/* A new day, other window settings or other classification rules
	 * mean a full read: the delta only brings changed items. */
	cr->full = cr->cal.delta_link == NULL || cr->cal.no_delta ||
	    cr->cal.window_start != p->cc.ws || cr->cal.window_end != p->cc.we ||
	    cr->cal.rules == NULL || strcmp(cr->cal.rules, p->rules) != 0;
	/* A calendar that refused delta is asked again at the daily
	 * re-base (the window moves), never twice in a pass. */
	cr->delta = !cr->plain && (!cr->cal.no_delta ||
	    cr->cal.window_start != p->cc.ws);
	cr->full = cr->full || !cr->delta;
	cr->items = 0;
	cr->unreadable = 0;
	while (cr->nrem > 0)
		free(cr->removals[--cr->nrem]);
	sparse_clear(cr);
	if (cr->full)
		url = graph_view_url(p->g, &ref, cr->delta, p->cc.ws, p->cc.we);
	else
		url = strdup(cr->cal.delta_link);
	if (url == NULL) {
		problem(p, TT_E_INTERNAL, "out of memory");
		return -1;
	}
	rc = graph_round(p->g, &ref, url, &cb, &ge);
	free(url);
	if (rc != 0) {
		report(p, TT_E_DOWN, cr->cal.path, NULL, 0, 0, ge.msg);
		return -1;
	}
	return 0;
}


/* ------------------------------------------------------------ push */

/*
 * The push state of each (appointment, calendar) pair: store.h's enum
 * push_state, the pushed row's state column (derived from its columns in
 * one place, store.c).  Each pass plans from the states (plan_cb), first
 * resolving the intents (phase 1: lookups by marker), then the work; a
 * round's writes go in $batch requests and each batch's results are
 * recorded in one transaction (batch_done).
 *
 * state   what the row holds: what the next pass does (and what a crash
 *         just before or after leaves)
 * none    no row: commits an intent, then sends the create (a crash
 *         before the send: nothing was sent, the same again).
 * intent  a transactionId, attempted, no event id: a create that may or
 *         may not have reached the service.  Looks the event up by its
 *         marker: found -> pushed; absent -> creates again with the same
 *         transactionId, so the service refuses a second event; refused
 *         as a replay and absent -> gone.  A second event made anyway (a
 *         service that does not de-duplicate) is a stray, deleted.
 * unsent  a transactionId, no event id: a create known not sent; creates
 *         with the same transactionId.
 * pushed  the event id, the appointment's version: nothing; an edit in
 *         the book (a newer version) -> update.
 * edited  the event id, version -1 (edited in Outlook, @removed, a new
 *         Teams link to carry): update, setting it back; 404 -> gone.
 * gone    transactionId '', no event id: deleted remotely; creates with
 *         a new transactionId.
 *
 * An appointment no longer wanted there (cancelled, out of the window,
 * the calendar lost the push role): pushed/edited -> delete (404 counts
 * as done), unsent/gone -> the row is dropped, intent -> resolved first.
 * A crash between the send and the recording of a batch leaves intents
 * (creates), or rows whose version is older than the appointment's
 * (updates: written again) or still present (deletes: sent again).
 */

/* The longest subject Outlook keeps, in UTF-16 units. */
#define SUBJECT_CHARS	255

struct push_op {
	struct graph_write w;
	struct pass_ctx *p;
	int64_t appt, cal;
	int64_t version;
	int online;
	char *cal_path;
	int set_back;		/* an update setting an edited event back */
	tt_time start, end;	/* the appointment's, and its subject, */
	char *book_subject;	/* to tell (env->wrote) */
	int carries_link;	/* its text carries the meeting's link ... */
	char *link;		/* ... this one (NULL: not known yet) */
	char *own[6];		/* the strings w points at */
};

struct push_plan {
	struct pass_ctx *p;
	struct push_op **ops;
	size_t n, cap;
	int phase_lookup;	/* phase 1: resolve unknown outcomes first */
	int deletes;
	int oom;
};

static void
op_free(struct push_op *op)
{
	int i;

	if (op == NULL)
		return;
	graph_write_clear(&op->w);
	for (i = 0; i < 6; i++)
		free(op->own[i]);
	free(op->cal_path);
	free(op->book_subject);
	free(op->link);
	free(op);
}

/* Expand push_subject: {subject}, {client}, {id}; a new string, whole
 * whatever the lengths of the book's texts. */
static char *
expand_subject(const char *tmpl, const struct push_item *it)
{
	char id[32], *out = NULL, *n;
	size_t o = 0, cap = 0, len;
	const char *p = tmpl, *v;

	snprintf(id, sizeof(id), "%" PRId64, it->appt_id);
	while (*p != '\0') {
		if (strncmp(p, "{subject}", 9) == 0)
			v = it->subject ? it->subject : "", p += 9;
		else if (strncmp(p, "{client}", 8) == 0)
			v = it->client ? it->client : "", p += 8;
		else if (strncmp(p, "{id}", 4) == 0)
			v = id, p += 4;
		else
			v = NULL;
		len = v != NULL ? strlen(v) : 1;	/* a literal byte */
		if (v == NULL)
			v = p++;
		if (o + len + 1 > cap) {
			cap = (o + len + 1) * 2;
			if ((n = realloc(out, cap)) == NULL) {
				free(out);
				return NULL;
			}
			out = n;
		}
		memcpy(out + o, v, len);
		o += len;
	}
	if (out == NULL)
		return strdup("");
	out[o] = '\0';
	return out;
}

static struct push_op *
new_op(struct push_plan *pl, const struct push_item *it, enum graph_write_op op)
{
	struct pass_ctx *p = pl->p;
	struct push_op *o = calloc(1, sizeof(*o));
	uint8_t rnd[8];

	if (o == NULL)
		goto oom;
	o->p = p;
	o->appt = it->appt_id;
	o->cal = it->calendar_id;
	o->version = it->version;
	o->online = it->meeting_home;
	o->cal_path = strdup(it->cal_path ? it->cal_path : "?");
	o->set_back = it->state == PS_EDITED;
	o->start = it->start;
	o->end = it->end;
	if (it->subject != NULL && (o->book_subject =
	    strdup(it->subject)) == NULL)
		goto oom;
	o->w.op = op;
	o->w.cal = it->cal;
	o->w.cal.id = o->own[0] = strdup(it->cal.id);
	o->w.user = o;
	if (it->event_id)
		o->w.event_id = o->own[1] = strdup(it->event_id);
	if (asprintf(&o->own[2], "%s:%" PRId64, p->owner, it->appt_id) < 0)
		o->own[2] = NULL;
	o->w.marker = o->own[2];
	if (op == GW_CREATE || op == GW_UPDATE) {
		char *raw = expand_subject(p->env->push_subject, it);

		/* The appointments table is written by applications too: text
		 * that is not UTF-8 is sent with the bad bytes replaced (Graph
		 * and JSON take UTF-8 only), told once, at the create. */
		if (raw != NULL && !tt_utf8_valid(raw) && op == GW_CREATE)
			p->bad_text++;
		o->w.subject = o->own[3] = raw ? tt_sanitize_dup(raw) : NULL;
		free(raw);
		/* Outlook keeps 255 characters of a subject and cuts the rest
		 * (OutlookGoogleCalendarSync #2202): cut here, at a character,
		 * so what is read back is what was written. */
		if (o->w.subject != NULL)
			tt_utf16_cut(o->own[3], SUBJECT_CHARS);
		/* The client appears only where the template shows it:
		 * what push_subject hides never reaches the event. */
		int client = it->client != NULL && strstr(p->env->push_subject,
		    "{client}") != NULL;

		/* One Teams meeting per appointment, held by one event; the
		 * others carry its link in their text. */
		o->carries_link = it->online && !it->meeting_home &&
		    !p->personal;
		int link = o->carries_link && it->join_url != NULL;

		if (asprintf(&o->own[4], "Booked in TimeTap (appointment "
		    "%" PRId64 ")%s%s. TimeTap is the source of this event: "
		    "change or cancel it there; changes made here are set back "
		    "at the next sync.%s%s", it->appt_id, client ? " for " : "",
		    client ? it->client : "", link ? "\n\nJoin the Teams "
		    "meeting: " : "", link ? it->join_url : "") < 0)
			o->own[4] = NULL;
		else if (!tt_utf8_valid(o->own[4])) {
			char *clean = tt_sanitize_dup(o->own[4]);

			free(o->own[4]);
			o->own[4] = clean;
		}
		o->w.body = o->own[4];
		if (link && (o->link = strdup(it->join_url)) == NULL)
			goto oom;
		if (op == GW_UPDATE && o->w.body != NULL) {
			char sum[65];

			hex_sum(o->w.body, strlen(o->w.body), sum);
			o->w.send_body = it->body_sum == NULL ||
			    strcmp(it->body_sum, sum) != 0;
		}
		o->w.start = it->start;
		o->w.end = it->end;
		o->w.is_private = p->env->push_private;
		/* Personal accounts get no Teams meeting (graph-docs
		 * onlinemeetingproviderType); told once per pass. */
		o->w.online = it->meeting_home && !p->personal;
		if (it->online && p->personal && op == GW_CREATE)
			p->offline_dropped++;
	}
	if (op == GW_CREATE && it->txn_id != NULL && *it->txn_id != '\0') {
		/* A create that may have reached the service keeps its
		 * transactionId: the service refuses a second event. */
		o->w.txn_id = o->own[5] = strdup(it->txn_id);
	} else if (op == GW_CREATE) {
		arc4random_buf(rnd, sizeof(rnd));
		if (asprintf(&o->own[5], "%s%" PRId64 "-%" PRId64
		    "-%02x%02x%02x%02x%02x%02x%02x%02x", p->txn_prefix,
		    it->appt_id, it->calendar_id, rnd[0], rnd[1], rnd[2], rnd[3],
		    rnd[4], rnd[5], rnd[6], rnd[7]) < 0)
			o->own[5] = NULL;
		o->w.txn_id = o->own[5];
	}
	if (o->w.cal.id == NULL || o->cal_path == NULL || o->w.marker == NULL ||
	    (op == GW_CREATE && o->w.txn_id == NULL) ||
	    ((op == GW_CREATE || op == GW_UPDATE) && (o->w.subject == NULL ||
	    o->w.body == NULL)))
		goto oom;
	if (tt_reserve(&pl->ops, &pl->cap, pl->n + 1, sizeof(*pl->ops)) != 0)
		goto oom;
	pl->ops[pl->n++] = o;
	return o;
oom:
	op_free(o);
	pl->oom = 1;
	return NULL;
}

static int
plan_cb(void *arg, const struct push_item *it)
{
	struct push_plan *pl = arg;
	struct tt_err err = { 0 };
	int want = it->cal_push && it->booked;

	/* What each state means: the table at the top of the push. */
	if (pl->phase_lookup) {
		if (it->state == PS_INTENT)
			new_op(pl, it, GW_LOOKUP);
		return pl->oom;
	}
	if (!want) {
		switch (it->state) {
		case PS_PUSHED:
		case PS_EDITED:
			new_op(pl, it, GW_DELETE);
			pl->deletes++;
			break;
		case PS_UNSENT:
		case PS_GONE:	/* nothing of ours remotely */
			if (store_push_deleted(pl->p->env->cn->st, it->appt_id,
			    it->calendar_id, &err))
				problem(pl->p, err.code, "%s", err.msg);
			break;
		default:	/* PS_INTENT: the lookup phase decides */
			break;
		}
	} else if (it->online && !it->meeting_home && it->join_url == NULL &&
	    !pl->p->personal && pl->p->push_round < 2) {
		/* Its link comes from the event that holds the meeting,
		 * written in this round (or, after a 404, the next): a later
		 * round writes this one, the last one even without it. */
		pl->p->push_again = 1;
	} else {
		switch (it->state) {
		case PS_NONE:
		case PS_UNSENT:
		case PS_GONE:
			new_op(pl, it, GW_CREATE);
			break;
		case PS_PUSHED:
		case PS_EDITED:
			if (it->pushed_version != it->version)
				new_op(pl, it, GW_UPDATE);
			break;
		default:	/* PS_INTENT: the lookup phase decides */
			break;
		}
	}
	return pl->oom;
}

static void
write_problem(struct push_op *o, const char *verb)
{
	const struct graph_err *e = &o->w.err;
	struct pass_ctx *p = o->p;
	int code = graph_errc(e);

	/* Refused with a 401: the phase is redone after one refresh. */
	if (e->cls == GRAPH_TOKEN && !p->refreshed) {
		p->push_rejected = 1;
		return;
	}
	if (e->cls == GRAPH_TOKEN)
		p->token_rejected = 1;
	/* One line per problem, but not a thousand lines for one outage:
	 * the first few are told, the rest counted at the end. */
	if (++p->write_problems > WRITE_PROBLEMS_SHOWN) {
		p->worst = tt_worse(p->worst, code);
		return;
	}
	report(p, code, o->cal_path, verb, o->appt, e->ambiguous, e->msg);
}

static void
replayed_add(struct pass_ctx *p, int64_t appt, int64_t cal)
{
	p->push_again = 1;
	struct pair *n = reallocarray(p->replayed, p->nreplayed + 1,
	    sizeof(*n));

	if (n == NULL) {
		problem(p, TT_E_INTERNAL, "out of memory");
		return;
	}
	p->replayed = n;
	n[p->nreplayed].appt = appt;
	n[p->nreplayed++].cal = cal;
}

static int
was_replayed(const struct pass_ctx *p, int64_t appt, int64_t cal)
{
	size_t i;

	for (i = 0; i < p->nreplayed; i++)
		if (p->replayed[i].appt == appt && p->replayed[i].cal == cal)
			return 1;
	return 0;
}

/* What a create or update wrote, for the next read to compare. */
static int
written(struct store *st, const struct push_op *o, struct tt_err *err)
{
	const struct graph_write *w = &o->w;
	char fields[65], body[65];

	owned_sum(w->subject, w->start, w->end, w->is_private ? "private" :
	    "normal", "busy", "", w->online, fields);
	hex_sum(w->body ? w->body : "", w->body ? strlen(w->body) : 0, body);
	return store_push_written(st, o->appt, o->cal, fields, body, err);
}

/* The link of the event holding the meeting; a new one is written into
 * the appointment's other events in the next round. */
static int
join_url(struct pass_ctx *p, const struct push_op *o, const char *url,
    struct tt_err *err)
{
	int rc = store_join_url(p->env->cn->st, o->appt, o->cal, url, err);

	if (rc > 0)
		p->push_again = 1;
	return rc < 0 ? -1 : 0;
}

/* An event written with a link that is no longer the meeting's (the
 * meeting's event got a new one meanwhile) is written again. */
static int
link_current(struct pass_ctx *p, const struct push_op *o, struct tt_err *err)
{
	int rc = !o->carries_link ? 0 : store_join_stale(p->env->cn->st, o->appt,
	    o->cal, o->link, err);

	if (rc > 0)
		p->push_again = 1;
	return rc < 0 ? -1 : 0;
}

/* Tell the edge of a write of the push the service took. */
static void
tell_op(struct push_op *o, const char *op)
{
	tell_write(o->p, op, o->cal_path, o->w.cal.id, o->appt,
	    o->w.op == GW_CREATE ? NULL : o->w.event_id, o->start, o->end,
	    o->book_subject);
}

/* Record one batch's results in one transaction. */
static void
batch_done(void *arg, struct graph_write **ws, size_t n)
{
	struct pass_ctx *p = arg;
	struct store *st = p->env->cn->st;
	struct tt_err err = { 0 };
	size_t i;
	int rc = 0;

	if (store_begin(st, &err)) {
		problem(p, err.code, "%s", err.msg);
		return;
	}
	for (i = 0; i < n && rc == 0; i++) {
		struct push_op *o = ws[i]->user;
		struct graph_write *w = ws[i];
		int ok = w->err.cls == GRAPH_OK;

		switch (w->op) {
		case GW_CREATE:
			if (ok) {
				rc = store_push_created(st, o->appt, o->cal,
				    w->new_id, w->change_key, o->version, &err);
				if (rc == 0)
					rc = written(st, o, &err);
				if (rc == 0 && o->online && w->join_url)
					rc = join_url(p, o, w->join_url, &err);
				if (rc == 0)
					rc = link_current(p, o, &err);
				p->counts.pushed++;
				tell_op(o, "create");
			} else if (strcasecmp(w->err.code,
			    "ErrorDuplicateTransactionId") == 0) {
				/* "This transactionId was used": an event of
				 * ours exists or existed; look it up again. */
				replayed_add(p, o->appt, o->cal);
			} else {
				/* Whatever the answer said, the event may exist
				 * (a re-sent request, a lost response): the
				 * intent stays, the next pass looks it up first
				 * and creates with the same transactionId. */
				write_problem(o, "creating");
			}
			break;
		case GW_UPDATE:
			if (ok) {
				rc = store_push_updated(st, o->appt, o->cal,
				    w->change_key, o->version, &err);
				if (rc == 0)
					rc = written(st, o, &err);
				if (rc == 0 && o->online && w->join_url)
					rc = join_url(p, o, w->join_url, &err);
				if (rc == 0)
					rc = link_current(p, o, &err);
				p->counts.pushed++;
				tell_op(o, o->set_back ? "set_back" : "update");
			} else if (w->gone) {
				rc = store_push_gone(st, o->appt, o->cal, &err);
				p->push_again = 1;	/* created anew now */
			} else
				write_problem(o, "updating");
			break;
		case GW_DELETE:
			if (ok || w->gone) {
				rc = store_push_deleted(st, o->appt, o->cal, &err);
				p->counts.deleted++;
				tell_op(o, "delete");
				if (o->online)	/* another event takes it over */
					p->push_again = 1;
			} else
				write_problem(o, "deleting");
			break;
		case GW_LOOKUP:
			if (ok && w->found > 0)
				rc = store_push_created(st, o->appt, o->cal,
				    w->new_id, w->change_key, -1, &err);
			else if (ok && was_replayed(p, o->appt, o->cal))
				/* Refused as a replay, yet not there: it was
				 * deleted; the next create has a new id. */
				rc = store_push_gone(st, o->appt, o->cal, &err);
			else if (ok)
				rc = store_push_unsent(st, o->appt, o->cal, &err);
			else
				write_problem(o, "looking up");
			break;
		}
	}
	if (rc == 0 && store_commit(st, &err) == 0)
		return;
	store_rollback(st);
	problem(p, err.code ? err.code : TT_E_LOCAL, "%s", err.msg);
}

static void
plan_free(struct push_plan *pl)
{
	size_t i;

	for (i = 0; i < pl->n; i++)
		op_free(pl->ops[i]);
	free(pl->ops);
	pl->ops = NULL;
	pl->n = pl->cap = 0;
}

/* Run one phase of the push: plan, record intents, send, record. */
static int
push_phase(struct pass_ctx *p, int lookup)
{
	struct push_plan pl = { 0 };
	struct tt_err err = { 0 };
	struct graph_write **ws = NULL;
	size_t i, k = 0;
	int total = 0;

	pl.p = p;
	pl.phase_lookup = lookup;
	if (store_push_plan(p->env->cn->st, p->profile, p->cc.ws, p->cc.we,
	    lookup ? PLAN_LOOKUPS : PLAN_WORK, plan_cb, &pl, &err) || pl.oom) {
		report(p, err.code ? err.code : TT_E_INTERNAL, NULL,
		    "planning the push", 0, 0, err.msg[0] ? err.msg :
		    "out of memory");
		plan_free(&pl);
		return -1;
	}
	if (pl.n == 0)
		return 0;
	/* The removal cap applies to our events too. */
	if (pl.deletes > 0 && !p->force &&
	    store_pushed_count(p->env->cn->st, p->profile, &total, &err) == 0 &&
	    sync_too_many(pl.deletes, total, p->env->max_removals,
	    p->env->max_removals_pct)) {
		char msg[128];

		snprintf(msg, sizeof(msg), "would delete %d of %d pushed "
		    "events, more than max_removals allows; none deleted",
		    pl.deletes, total);
		report_capped(p, NULL, pl.deletes, total, msg);
		for (i = 0; i < pl.n; i++)
			if (pl.ops[i]->w.op == GW_DELETE) {
				op_free(pl.ops[i]);
				pl.ops[i] = NULL;
			}
	}
	if ((ws = calloc(pl.n, sizeof(*ws))) == NULL) {
		plan_free(&pl);
		problem(p, TT_E_INTERNAL, "out of memory");
		return -1;
	}
	/* Intents first, committed before any create is sent. */
	if (store_begin(p->env->cn->st, &err))
		goto fail;
	for (i = 0; i < pl.n; i++) {
		if (pl.ops[i] == NULL)
			continue;
		if (pl.ops[i]->w.op == GW_CREATE && store_push_intent(p->env->cn->st,
		    pl.ops[i]->appt, pl.ops[i]->cal, pl.ops[i]->w.txn_id, &err)) {
			store_rollback(p->env->cn->st);
			goto fail;
		}
		ws[k++] = &pl.ops[i]->w;
	}
	if (store_commit(p->env->cn->st, &err))
		goto fail;
	graph_writes(p->g, ws, k, batch_done, p);
	free(ws);
	plan_free(&pl);
	return 0;
fail:
	problem(p, err.code ? err.code : TT_E_LOCAL, "%s", err.msg);
	free(ws);
	plan_free(&pl);
	return -1;
}

static void
push_profile(struct pass_ctx *p)
{
	struct tt_err err = { 0 };
	char *rules = NULL;
	int round;

	/* Other push rules than the events were written with: write them
	 * all again, so a hidden client leaves the events already pushed. */
	if (asprintf(&rules, "subject=%s private=%d body=1",
	    p->env->push_subject, p->env->push_private) < 0 ||
	    store_push_rules(p->env->cn->st, p->profile, rules, &err) < 0) {
		free(rules);
		local_problem(p, &err, TT_E_INTERNAL);
		return;
	}
	free(rules);
	/* Second copies a read found: the one the store maps stays. */
	strays_delete(p);
	/*
	 * Lookups of unknown outcomes, then the work.  A round can leave
	 * work for another: creates refused as replays (looked up and
	 * adopted, or created anew where gone) and updates that found the
	 * event gone (created anew) -- all within this pass, at most thrice.
	 */
	for (round = 0; round < 3; round++) {
		p->push_again = 0;
		p->push_round = round;
		if (push_phase(p, 1) != 0 || push_phase(p, 0) != 0 ||
		    !p->push_again)
			break;
	}
	if (p->write_problems > WRITE_PROBLEMS_SHOWN)
		problem(p, p->worst, "%d more writes failed the same way",
		    p->write_problems - WRITE_PROBLEMS_SHOWN);
}

static int
copy_calendar(struct calendar *dst, const struct calendar *src)
{
	*dst = *src;
	dst->remote_id = strdup(src->remote_id);
	dst->container = src->container ? strdup(src->container) : NULL;
	dst->name = strdup(src->name);
	dst->path = strdup(src->path);
	dst->delta_link = src->delta_link ? strdup(src->delta_link) : NULL;
	dst->rules = src->rules ? strdup(src->rules) : NULL;
	dst->owner = src->owner ? strdup(src->owner) : NULL;
	return dst->remote_id && dst->name && dst->path ? 0 : -1;
}

static int
pull_cb(void *arg, const struct calendar *c)
{
	struct pass_ctx *p = arg;
	struct cal_round *cr;

	if (!(c->pull || c->push) || !c->present)
		return 0;
	if ((cr = calloc(1, sizeof(*cr))) == NULL ||
	    copy_calendar(&cr->cal, c) != 0) {
		round_free(cr);
		problem(p, TT_E_INTERNAL, "out of memory");
		return 1;
	}
	cr->p = p;
	if (start_round(p, cr) != 0)
		round_free(cr);
	return 0;
}

char *
sync_owner(struct store *st, int64_t profile, struct tt_err *err)
{
	char *install, *owner = NULL;

	if (store_install_id(st, &install, err))
		return NULL;
	if (asprintf(&owner, "%s.%" PRId64, install, profile) < 0)
		owner = NULL;
	free(install);
	return owner;
}

/*
 * Read the series masters that sparse occurrences named before the round
 * showed them, then run those rounds again (they saved nothing).
 */
static void
refetch_series(struct pass_ctx *p)
{
	size_t i, k, n = p->nrefetch;
	struct cal_round **rs = p->refetch;

	p->refetch = NULL;
	p->nrefetch = 0;
	for (i = 0; i < n; i++) {
		struct cal_round *cr = rs[i];
		struct graph_cal ref = store_cal_ref(&cr->cal);
		struct tt_err err = { 0 };
		int failed = 0;

		for (k = 0; k < cr->nmissing && !failed; k++) {
			struct graph_series gs;
			struct graph_err ge;
			struct series m;
			int known = store_series_get(p->env->cn->st, cr->cal.id,
			    cr->missing[k], &m, &err);

			/* Most masters come later in the same round. */
			store_series_free(&m);
			if (known != 0) {
				if (known < 0) {
					problem(p, err.code, "%s", err.msg);
					failed = 1;
				}
				continue;
			}
			if (graph_get_series(p->g, &ref, cr->missing[k], &gs,
			    &ge) != 0) {
				cal_problem(p, graph_errc(&ge), cr->cal.path,
				    "reading a recurring series", "%s; its "
				    "occurrences keep their blocks", ge.msg);
				failed = 1;
				break;
			}
			/* A deleted series: its occurrences no longer block. */
			m.subject = gs.gone ? (char *)(uintptr_t)"" : gs.subject;
			m.showas = gs.gone ? (char *)(uintptr_t)"free" : gs.showas;
			m.last_modified = gs.last_modified;
			m.all_day = gs.all_day;
			m.cancelled = gs.gone || gs.cancelled;
			if (store_series_put(p->env->cn->st, cr->cal.id,
			    cr->missing[k], &m, &err)) {
				problem(p, err.code, "%s", err.msg);
				failed = 1;
			}
			graph_series_free(&gs);
		}
		cr->refetched = 1;
		cr->incomplete = 0;
		while (cr->nmissing > 0)
			free(cr->missing[--cr->nmissing]);
		if (failed || start_round(p, cr) != 0)
			round_free(cr);
	}
	free(rs);
}

/* How often the mailbox's time zone is read again. */
#define ZONE_REREAD	(24 * 3600)

/*
 * The staff member's own zone decides the days of all-day events (floating
 * dates): the configuration's time_zone when given (set at start), else
 * the mailbox's (mailboxSettings, read once a day, Windows names mapped),
 * else this host's, told in one line when that starts.  Sets TZ and
 * returns the zone's name for the classification rules (a new string;
 * NULL: out of memory).
 */
static char *
pass_zone(struct pass_ctx *p, const struct account *a)
{
	const struct sync_env *env = p->env;
	struct graph_err ge = { 0 };
	struct tt_err err = { 0 };
	const char *raw = a->mailbox_zone, *iana = NULL, *why = NULL;
	char *got = NULL, *name;
	int fresh = 0, granted;

	if (env->time_zone != NULL)
		return strdup(env->time_zone);
	granted = a->scopes != NULL && (conn_has_scope(a->scopes,
	    CONN_ZONE_SCOPE) || conn_has_scope(a->scopes, CONN_ZONE_SCOPE
	    "Write"));
	if (a->mailbox_zone_at == 0 || tt_now() - a->mailbox_zone_at >=
	    ZONE_REREAD) {
		/* Not granted (a login before it was asked for) or refused:
		 * remembered as unreadable; other failures keep what was. */
		if (!granted || graph_mailbox_zone(p->g, &got, &ge) == 0 ||
		    ge.http == 403) {
			fresh = a->mailbox_zone_at == 0 || (got == NULL) !=
			    (raw == NULL) || (got && strcmp(got, raw) != 0);
			if (store_account_zone(env->cn->st, p->profile, got, &err))
				problem(p, err.code, "%s", err.msg);
			raw = got;
		}
	}
	if (raw != NULL && (iana = tt_windows_zone(raw)) != NULL &&
	    !tt_zone_ok(iana))
		iana = NULL;
	if (iana != NULL)
		tt_set_zone(iana);
	else
		why = raw != NULL ? "names no zone known here" : granted ?
		    "is not readable" : "needs the MailboxSettings.Read "
		    "permission, which this login lacks (`login` again grants "
		    "it)";
	if (why != NULL && fresh) {
		const char *host = getenv("TZ");

		/* raw was sanitised when read (jstrdup) */
		cal_problem(p, TT_WARNING, NULL, NULL, "the mailbox's time "
		    "zone%s%s%s %s: all-day events take this host's (%s); set "
		    "time_zone to choose one", raw ? " \"" : "", raw ? raw : "",
		    raw ? "\"" : "", why, host && *host ? host : "local time");
	}
	/* iana may be got itself (an IANA name passed through): copy first. */
	name = strdup(iana != NULL ? iana : "host");
	free(got);
	return name;
}

/*
 * The service refused an access token it should have taken: refresh it
 * once in the pass (the caller then redoes what was refused).  A refusal
 * of the refresh ends the pass as any token error does.
 */
static int
refresh_once(struct pass_ctx *p)
{
	struct tt_err err = { 0 };

	p->refreshed = 1;
	if (conn_token(p->env->cn, p->g, p->profile, p->name, 1, &err) == 0)
		return 0;
	conn_problem(p, &err);
	while (p->nretry > 0)
		round_free(p->retry[--p->nretry]);
	p->push_rejected = 0;
	return -1;
}

/*
 * Conflicts are told, not silent.  After the pull, each open conflict (a
 * booked appointment under an [ext] block, store.h) that no pass told
 * yet is one problem TT_E_CONFLICT -- the edge words it, and the pass
 * exits 2 unless something worse happened -- and is recorded told, so
 * that the next pass is silent while it stays open (`conflicts` lists
 * it).  The pairs no longer open are forgotten first: one that comes
 * back is told again.  The record follows the line: a crash between
 * the two tells it twice, never not at all.  appt add or edit --force
 * records its pairs told (the user chose them).
 */
struct tell {
	struct pass_ctx *p;
	struct tt_err err;
	int failed;
};

static int
tell_cb(void *arg, const struct conflict *c)
{
	struct tell *t = arg;
	char when[80], bwhen[80], *msg = NULL, *subj, *bsubj;
	int rc;

	if (c->told_at != 0)
		return 0;
	tt_fmt_span(c->start, c->end, when, sizeof(when));
	tt_fmt_span(c->block_start, c->block_end, bwhen, sizeof(bwhen));
	subj = tt_sanitize_dup(c->subject);
	bsubj = tt_sanitize_dup(c->block_subject);
	rc = subj == NULL || bsubj == NULL || asprintf(&msg, "\"%s\" %s "
	    "overlaps \"%s\" %s%s", subj, when, bsubj, bwhen,
	    c->block_all_day ? " (all day)" : "") < 0;
	free(subj);
	free(bsubj);
	if (rc) {
		tt_fail(&t->err, TT_E_INTERNAL, "out of memory");
		return t->failed = 1;
	}
	report(t->p, TT_E_CONFLICT, c->calendar, NULL, c->appt_id, 0, msg);
	free(msg);
	if (store_conflict_told(t->p->env->cn->st, c->appt_id, c->block_id,
	    tt_now(), &t->err) != 0)
		return t->failed = 1;
	return 0;
}

static void
tell_conflicts(struct pass_ctx *p)
{
	struct tell t = { p, { 0 }, 0 };
	struct store *st = p->env->cn->st;

	/* One transaction: the lines come first and the records with the
	 * commit, so a crash tells them again, never not at all. */
	if (store_begin(st, &t.err) != 0 ||
	    store_conflicts_forget(st, p->profile, NULL, &t.err) != 0 ||
	    store_conflicts_untold(st, p->profile, tell_cb, &t, &t.err) != 0 ||
	    t.failed || store_commit(st, &t.err) != 0) {
		store_rollback(st);
		local_problem(p, &t.err, TT_E_INTERNAL);
	}
}

int
sync_profile(const struct sync_env *env, int64_t profile, const char *name,
    int force, struct pass *res)
{
	struct pass_ctx p = { 0 };
	struct account acct = { 0 };
	struct graph_stats gs;
	struct tt_err err = { 0 };
	const char *tz = getenv("TZ");
	char *zone = NULL;
	char *host_tz = NULL;

	p.env = env;
	p.profile = profile;
	p.name = name;
	p.force = force;
	p.cc.block_showas = env->block_showas;
	p.cc.block_all_day = env->block_all_day;
	memset(res, 0, sizeof(*res));
	if (store_pass_begin(env->cn->st, profile, &p.gen, &err)) {
		problem(&p, err.code, "%s", err.msg);
		return p.worst;
	}
	p.counts.id = p.gen;
	if (tz != NULL && (host_tz = strdup(tz)) == NULL) {
		problem(&p, TT_E_INTERNAL, "out of memory");
		goto out;
	}
	if (conn_graph(env->cn, &p.g, &err)) {
		conn_problem(&p, &err);
		goto out;
	}
	if (env->dry)
		graph_set_dry(p.g);	/* before any request */
	if (conn_token(env->cn, p.g, profile, name, 0, &err)) {
		conn_problem(&p, &err);
		goto out;
	}
	if (store_account_get(env->cn->st, profile, &acct, &err) < 0) {
		problem(&p, err.code, "%s", err.msg);
		goto out;
	}
	p.personal = conn_personal(&acct);
	/* The window's local days, in the staff member's zone. */
	if ((zone = pass_zone(&p, &acct)) == NULL) {
		problem(&p, TT_E_INTERNAL, "out of memory");
		goto out;
	}
	sync_window(env->window_past_days, env->window_future_days,
	    tt_now(), &p.cc.ws, &p.cc.we);
	snprintf(p.rules, sizeof(p.rules), "showas=%u allday=%d subjects=%d "
	    "zone=%s", env->block_showas, env->block_all_day,
	    env->pull_subjects, zone);
	if ((p.owner = sync_owner(env->cn->st, profile, &err)) == NULL ||
	    asprintf(&p.txn_prefix, OURS_PREFIX "%s-", p.owner) < 0) {
		p.txn_prefix = NULL;
		local_problem(&p, &err, TT_E_INTERNAL);
		goto out;
	}
	if (store_calendar_list(env->cn->st, profile, pull_cb, &p, &err)) {
		problem(&p, err.code, "%s", err.msg);
		goto out;
	}
	graph_run(p.g);
	if (p.nretry > 0 && refresh_once(&p) == 0) {
		size_t i, n = p.nretry;

		p.nretry = 0;
		for (i = 0; i < n; i++)
			if (start_round(&p, p.retry[i]) != 0)
				round_free(p.retry[i]);
		graph_run(p.g);
	}
	if (p.nrefetch > 0) {
		refetch_series(&p);
		graph_run(p.g);
	}
	tell_conflicts(&p);
	if (env->progress != NULL)
		env->progress(env->arg, NULL);
	if (!p.token_rejected) {
		push_profile(&p);
		if (p.push_rejected && refresh_once(&p) == 0) {
			p.push_rejected = 0;
			push_profile(&p);
		}
	}
	if (p.bad_text > 0)
		cal_problem(&p, TT_WARNING, NULL, NULL, "%d appointment%s with "
		    "text that is not UTF-8 pushed with the bad bytes replaced "
		    "by '?'", p.bad_text, p.bad_text == 1 ? "" : "s");
	if (p.offline_dropped > 0)
		cal_problem(&p, TT_WARNING, NULL, NULL, "%d online "
		    "appointment%s pushed without a Teams link: personal "
		    "Microsoft accounts cannot create Teams meetings",
		    p.offline_dropped, p.offline_dropped == 1 ? "" : "s");
	if (p.token_rejected || p.push_rejected)
		store_access_drop(env->cn->st, profile, NULL);
out:
	while (p.nretry > 0)
		round_free(p.retry[--p.nretry]);
	free(p.retry);
	while (p.nrefetch > 0)
		round_free(p.refetch[--p.nrefetch]);
	free(p.refetch);
	free(p.replayed);
	free(p.owner);
	free(p.txn_prefix);
	if (p.g != NULL) {
		graph_stats(p.g, &gs);
		p.counts.requests = gs.requests;
	}
	*res = p.counts;
	graph_free(p.g);
	store_account_free(&acct);
	free(zone);
	if (tz == NULL || host_tz != NULL)
		tt_set_zone(host_tz);	/* the next profile has its own */
	free(host_tz);
	return p.worst;
}

/* ------------------------------------------ stop --purge-remote */

struct purge {
	struct graph_write **w;
	size_t n, cap;
	/* the calendar being searched */
	struct graph_cal cal;
	const char *path;
	int failed;
	struct purge_result *res;
};

static int
purge_add(struct purge *pu, const char *event_id)
{
	struct graph_write *w;
	size_t i;

	for (i = 0; i < pu->n; i++)
		if (strcmp(pu->w[i]->event_id, event_id) == 0)
			return 0;
	if (tt_reserve(&pu->w, &pu->cap, pu->n + 1, sizeof(*pu->w)) != 0 ||
	    (w = graph_delete_new(&pu->cal, event_id, pu->path)) == NULL)
		return -1;
	pu->w[pu->n++] = w;
	return 0;
}

static int
purge_found(void *arg, const char *event_id)
{
	return purge_add(arg, event_id);
}

/* Our events known from the push map (also when the search fails). */
static int
purge_mapped(void *arg, const struct push_item *it)
{
	struct purge *pu = arg;

	if (it->event_id == NULL)
		return 0;
	pu->cal = it->cal;
	pu->path = it->cal_path;
	return purge_add(pu, it->event_id);
}

struct purge_search {
	struct graph *g;
	struct purge *pu;
	int group_scope;	/* the account may read group calendars */
	char *prefix;		/* our marker values start so */
	struct graph_err ge;	/* the first search that failed */
	int failed;		/* calendars that could not be searched */
};

static int
purge_search_cb(void *arg, const struct calendar *c)
{
	struct purge_search *ps = arg;

	struct graph_err ge = { 0 };

	/* Without the group permission nothing was pushed to a group. */
	if (!c->present || !c->can_edit || (c->kind == GRAPH_CAL_GROUP &&
	    !ps->group_scope))
		return 0;
	ps->pu->cal = store_cal_ref(c);
	ps->pu->path = c->path;
	/* A calendar that cannot be searched does not stop the others. */
	if (graph_find_marked(ps->g, &ps->pu->cal, ps->prefix, purge_found,
	    ps->pu, &ge) != 0 &&
	    ps->failed++ == 0)
		ps->ge = ge;
	return 0;
}

static void
purge_done(void *arg, struct graph_write **w, size_t n)
{
	struct purge *pu = arg;
	size_t i;

	for (i = 0; i < n; i++) {
		if (w[i]->err.cls == GRAPH_OK || w[i]->gone)
			pu->res->deleted++;
		else
			pu->failed++;
	}
}

static void
purge_free(struct purge *pu)
{
	graph_deletes_free(pu->w, pu->n);
}

/* Whether the service confirmed the event is gone. */
static int
purge_ok(const struct graph_write *w)
{
	return (w->err.cls == GRAPH_OK && w->err.http != 0) || w->gone;
}

/* What is left remotely, by calendar, for the receipt. */
static void
purge_left(struct purge *pu)
{
	char *left = pu->res->left;
	size_t i, j;

	left[0] = '\0';
	for (i = 0; i < pu->n; i++) {
		int count = 0, seen = 0;
		char part[300];

		if (purge_ok(pu->w[i]))
			continue;
		for (j = 0; j < i; j++)
			if (!purge_ok(pu->w[j]) &&
			    strcmp(pu->w[j]->user, pu->w[i]->user) == 0)
				seen = 1;
		if (seen)
			continue;
		for (j = i; j < pu->n; j++)
			if (!purge_ok(pu->w[j]) &&
			    strcmp(pu->w[j]->user, pu->w[i]->user) == 0)
				count++;
		snprintf(part, sizeof(part), "%s%d on %s", left[0] ? ", " : "",
		    count, (char *)pu->w[i]->user);
		strlcat(left, part, sizeof(pu->res->left));
	}
}

int
sync_purge(const struct conn *cn, int64_t profile, const char *name,
    int group_scope, struct purge_result *res)
{
	struct purge pu = { 0 };
	struct purge_search ps = { 0 };
	struct tt_err err = { 0 };
	struct graph *g = NULL;
	char *why = res->why;
	size_t whylen = sizeof(res->why);
	int rc = -1;

	memset(res, 0, sizeof(*res));
	pu.res = res;
	if (store_push_plan(cn->st, profile, 0, INT64_MAX, PLAN_ALL,
	    purge_mapped, &pu, &err)) {
		strlcpy(why, err.msg, whylen);
		res->code = err.code;
		goto out;
	}
	if (conn_graph(cn, &g, &err) ||
	    conn_token(cn, g, profile, name, 0, &err)) {
		strlcpy(why, err.msg, whylen);
		res->code = err.code;
		goto out;
	}
	ps.g = g;
	ps.pu = &pu;
	ps.group_scope = group_scope;
	{
		char *owner = sync_owner(cn->st, profile, &err);

		if (owner == NULL || asprintf(&ps.prefix, "%s:", owner) < 0) {
			free(owner);
			ps.prefix = NULL;
			snprintf(why, whylen, "%.400s", err.msg[0] ? err.msg :
			    "out of memory");
			goto out;
		}
		free(owner);
	}
	if (store_calendar_list(cn->st, profile, purge_search_cb, &ps, &err)) {
		snprintf(why, whylen, "finding our events: %.400s", err.msg);
		goto out;
	}
	/* Delete what was found and mapped, even when a search failed. */
	graph_writes(g, pu.w, pu.n, purge_done, &pu);
	rc = pu.failed || ps.failed ? -1 : 0;
	if (ps.failed)
		snprintf(why, whylen, "%d calendar%s could not be searched "
		    "(%.300s)", ps.failed, ps.failed == 1 ? "" : "s", ps.ge.msg);
	else if (pu.failed)
		snprintf(why, whylen, "%d deletion%s failed", pu.failed,
		    pu.failed == 1 ? "" : "s");
	if (ps.failed && res->code == 0)
		res->code = graph_errc(&ps.ge);
out:
	if (rc != 0)
		purge_left(&pu);
	free(ps.prefix);
	graph_free(g);
	purge_free(&pu);
	return rc;
}
