/*
 * sync.c -- one pass: refresh the token, read every pull calendar
 * (concurrently), turn Busy events into [ext] blocks and record the feed.
 *
 * Persistent state (in the store): blocks, feed rows, and per calendar the
 * deltaLink and the window it belongs to.  Recovery rules:
 * - every page is one transaction; a round's deltaLink is saved in the
 *   same transaction as its last page, so an interrupted round is simply
 *   read again (delta replays are idempotent upserts);
 * - blocks are removed only by an @removed of a *complete* incremental
 *   round (removals wait in memory until the deltaLink arrives) or by
 *   reconciliation after a *complete* full read (items not stamped with
 *   this round's number); an error mid-round removes nothing;
 * - an invalid delta state means a full read, not an error.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "sync.h"

#define OURS_PREFIX "timetap-"

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
		config_showas_str(c->block_showas, shows, sizeof(shows));
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
	struct tt_ctx *ctx;
	struct graph *g;
	int64_t profile;
	const char *name;
	int64_t gen;		/* this pass's number: stamps what it saw */
	struct classify_cfg cc;
	struct pass counts;
	int force;
	int worst;		/* exit code so far */
	char first[512];	/* the first problem, for status */
	int token_rejected;
};

struct cal_round {
	struct pass_ctx *p;
	struct calendar cal;
	int full;		/* a full read: reconcile at the end */
	int delta;		/* a delta round (else plain calendarView) */
	int restarted;		/* already restarted once after GONE */
	char **removals;	/* incremental: ids to remove at the end */
	size_t nrem, caprem;
	int items;
};

static void
problem(struct pass_ctx *p, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct pass_ctx *p, int code, const char *fmt, ...)
{
	struct tt_err e = { 0 };
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tt_fail(&e, code, "profile %s: %s", p->name, msg);
	p->ctx->note(p->ctx, code, e.msg);
	p->worst = tt_worse(p->worst, code);
	if (p->first[0] == '\0')
		strlcpy(p->first, e.msg, sizeof(p->first));
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
	store_calendar_free(&cr->cal);
	free(cr);
}

/* Is this event one of ours?  By transactionId, else by the push map. */
static int
ours_of(struct pass_ctx *p, const struct graph_event *ev, int64_t *appt,
    struct tt_err *err)
{
	*appt = 0;
	if (ev->transaction_id != NULL &&
	    strncmp(ev->transaction_id, OURS_PREFIX, strlen(OURS_PREFIX)) == 0) {
		*appt = strtoll(ev->transaction_id + strlen(OURS_PREFIX), NULL, 10);
		return 1;
	}
	return store_pushed_owner(p->ctx->st, p->profile, ev->id, appt, err);
}

static int
want_removal(struct cal_round *cr, const char *id)
{
	char **n;

	if (cr->nrem == cr->caprem) {
		size_t cap = cr->caprem ? cr->caprem * 2 : 16;

		if ((n = reallocarray(cr->removals, cap, sizeof(*n))) == NULL)
			return -1;
		cr->removals = n;
		cr->caprem = cap;
	}
	if ((cr->removals[cr->nrem] = strdup(id)) == NULL)
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

static int
one_event(struct cal_round *cr, const struct graph_event *ev,
    struct tt_err *err)
{
	struct pass_ctx *p = cr->p;
	struct tt_config *cfg = &p->ctx->cfg;
	struct feed_row f = { 0 };
	struct block b = { 0 };
	char info[256], when[32];
	int64_t appt = 0, old;
	enum reason r;
	int ours, rc;

	if (ev->removed) {
		/* Full reads reconcile instead; deltas decide at the end. */
		if (!cr->full && want_removal(cr, ev->id) != 0)
			return tt_fail(err, TT_SOFTWARE, "out of memory");
		return 0;
	}
	if (ev->invalid && strcmp(ev->invalid, "id") == 0)
		return 0;	/* nothing to name it by */
	unwant_removal(cr, ev->id);
	if ((ours = ours_of(p, ev, &appt, err)) < 0)
		return -1;
	r = sync_classify(ev, ours, &p->cc, &b.start, &b.end, info,
	    sizeof(info));
	f.profile_id = p->profile;
	f.calendar_id = cr->cal.id;
	f.calendar = cr->cal.path;
	f.event_id = ev->id;
	f.start = b.start;
	f.end = b.end;
	f.all_day = ev->all_day;
	f.subject = cfg->pull_subjects ? ev->subject : "Busy";
	f.gen = p->gen;
	f.loaded = r == R_LOADED;
	f.reason = sync_reason_code(r);
	if (r == R_LOADED) {
		tt_time lm = 0;

		b.calendar_id = cr->cal.id;
		b.event_id = ev->id;
		b.all_day = ev->all_day;
		b.subject = f.subject;
		b.remote_modified = ev->last_modified;
		b.gen = p->gen;
		rc = store_block_put(p->ctx->st, p->profile, &b, &appt, err);
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
	} else if (r != R_INVALID) {
		/* An item that no longer blocks (now free, cancelled, ...)
		 * loses its block; an unreadable one keeps it (fail closed). */
		rc = store_block_remove(p->ctx->st, cr->cal.id, ev->id, &old, err);
		if (rc < 0)
			return -1;
		p->counts.removed += rc;
	}
	f.appt_id = appt;
	f.info = info;
	return store_feed_put(p->ctx->st, &f, err);
}

/* The end of a complete round, inside the last page's transaction. */
static int
finish_round(struct cal_round *cr, const char *delta_link, struct tt_err *err)
{
	struct pass_ctx *p = cr->p;
	struct tt_config *cfg = &p->ctx->cfg;
	int total, n = 0;
	size_t i;
	int64_t appt;

	if (store_block_count(p->ctx->st, cr->cal.id, &total, err))
		return -1;
	/* What would go: stale blocks of a full read, or the held blocks
	 * among the @removed ids of a delta round. */
	if (cr->full) {
		if (store_blocks_stale(p->ctx->st, cr->cal.id, p->gen, 0, &n, err))
			return -1;
	} else {
		for (i = 0; i < cr->nrem; i++) {
			int has = store_block_has(p->ctx->st, cr->cal.id,
			    cr->removals[i], err);

			if (has < 0)
				return -1;
			n += has;
		}
	}
	if (!p->force && sync_too_many(n, total, cfg->max_removals,
	    cfg->max_removals_pct)) {
		problem(p, TT_TEMPFAIL, "calendar \"%s\": would remove %d of %d "
		    "blocks, more than max_removals allows; nothing removed "
		    "(run `timetap-sync -s %s sync --force` to accept)",
		    cr->cal.path, n, total, p->name);
		return 1;
	}
	if (cr->full) {
		if (store_blocks_stale(p->ctx->st, cr->cal.id, p->gen, 1, &n,
		    err) || store_feed_stale(p->ctx->st, p->profile,
		    cr->cal.path, p->gen, err))
			return -1;
		p->counts.removed += n;
	} else {
		for (i = 0; i < cr->nrem; i++) {
			int rc = store_block_remove(p->ctx->st, cr->cal.id,
			    cr->removals[i], &appt, err);

			if (rc < 0 || store_feed_removed(p->ctx->st, p->profile,
			    cr->cal.path, cr->removals[i], rc > 0 ?
			    "deleted in Teams, its block was removed" :
			    "deleted in Teams, or moved out of the window", err))
				return -1;
			p->counts.removed += rc;
		}
	}
	return store_calendar_state(p->ctx->st, cr->cal.id,
	    cr->delta ? delta_link : NULL, p->cc.ws, p->cc.we, cr->full,
	    !cr->delta, err);
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
		problem(p, TT_UNAVAILABLE, "calendar \"%s\": the last page had "
		    "no deltaLink", cr->cal.path);
		return -1;
	}
	if (store_begin(p->ctx->st, &err))
		goto fail;
	for (i = 0; i < n; i++)
		if (one_event(cr, &ev[i], &err) != 0)
			goto rollback;
	cr->items += (int)n;
	p->counts.items += (int)n;
	if (final) {
		rc = finish_round(cr, delta_link, &err);
		if (rc < 0)
			goto rollback;
		/* rc 1: removals refused; keep the upserts, not the state */
	}
	if (store_commit(p->ctx->st, &err) == 0)
		return 0;
rollback:
	store_rollback(p->ctx->st);
fail:
	problem(p, err.code ? err.code : TT_IOERR, "calendar \"%s\": %s",
	    cr->cal.path, err.msg);
	return -1;
}

static int start_round(struct pass_ctx *p, struct cal_round *cr);

static void
on_done(void *arg, const struct graph_err *e)
{
	struct cal_round *cr = arg;
	struct pass_ctx *p = cr->p;
	struct tt_err err = { 0 };

	if (e == NULL) {
		round_free(cr);
		return;
	}
	if (e->cls == GRAPH_LOCAL && strcmp(e->msg, "stopped by the caller") == 0) {
		round_free(cr);		/* already reported */
		return;
	}
	/* An invalid delta state means a full read, once. */
	if (e->cls == GRAPH_GONE && !cr->restarted) {
		if (store_calendar_reset(p->ctx->st, cr->cal.id, &err) == 0) {
			free(cr->cal.delta_link);
			cr->cal.delta_link = NULL;
			cr->restarted = 1;
			if (start_round(p, cr) == 0)
				return;
		}
	}
	/* Delta on a group calendar is not documented for v1.0: fall back
	 * to plain calendarView reads. */
	if (cr->cal.kind == CAL_GROUP && cr->delta && cr->full &&
	    !cr->restarted && (e->http == 400 || e->http == 404 ||
	    e->http == 501) && e->cls != GRAPH_GONE) {
		cr->cal.no_delta = 1;
		cr->restarted = 1;
		if (start_round(p, cr) == 0)
			return;
	}
	if (e->token_rejected)
		p->token_rejected = 1;
	problem(p, e->cls == GRAPH_TRANSIENT ? TT_TEMPFAIL :
	    e->cls == GRAPH_LOGIN || e->cls == GRAPH_DENIED ? TT_NOPERM :
	    e->cls == GRAPH_CONFIG ? TT_CONFIG : e->cls == GRAPH_LOCAL ?
	    TT_SOFTWARE : TT_UNAVAILABLE, "calendar \"%s\": reading events: %s%s",
	    cr->cal.path, e->msg, e->cls == GRAPH_TRANSIENT ?
	    " (the next run continues)" : "");
	round_free(cr);
}

static int
start_round(struct pass_ctx *p, struct cal_round *cr)
{
	struct graph_round_cb cb = { on_page, on_done, cr };
	struct graph_err ge = { 0 };
	char mailbox[160], *url;
	int rc;

	cr->full = cr->cal.delta_link == NULL || cr->cal.no_delta ||
	    cr->cal.window_start != p->cc.ws || cr->cal.window_end != p->cc.we;
	cr->delta = !cr->cal.no_delta;
	cr->items = 0;
	while (cr->nrem > 0)
		free(cr->removals[--cr->nrem]);
	if (cr->full)
		url = graph_view_url(p->g, cr->cal.kind == CAL_GROUP ?
		    GRAPH_CAL_GROUP : GRAPH_CAL_USER, cr->cal.kind == CAL_GROUP ?
		    cr->cal.container : cr->cal.remote_id, cr->cal.container,
		    cr->cal.is_default, cr->delta, p->cc.ws, p->cc.we);
	else
		url = strdup(cr->cal.delta_link);
	if (url == NULL) {
		problem(p, TT_SOFTWARE, "out of memory");
		return -1;
	}
	snprintf(mailbox, sizeof(mailbox), "%s%s", cr->cal.kind == CAL_GROUP ?
	    "group:" : "me", cr->cal.kind == CAL_GROUP ? cr->cal.container : "");
	rc = graph_round(p->g, mailbox, url, &cb, &ge);
	free(url);
	if (rc != 0) {
		problem(p, TT_UNAVAILABLE, "calendar \"%s\": %s", cr->cal.path,
		    ge.msg);
		return -1;
	}
	return 0;
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
	return dst->remote_id && dst->name && dst->path ? 0 : -1;
}

static int
pull_cb(void *arg, const struct calendar *c)
{
	struct pass_ctx *p = arg;
	struct cal_round *cr;

	if (!c->pull || !c->present)
		return 0;
	if ((cr = calloc(1, sizeof(*cr))) == NULL ||
	    copy_calendar(&cr->cal, c) != 0) {
		round_free(cr);
		problem(p, TT_SOFTWARE, "out of memory");
		return 1;
	}
	cr->p = p;
	if (start_round(p, cr) != 0)
		round_free(cr);
	return 0;
}

static int
one_profile(struct tt_ctx *ctx, int64_t profile, const char *name, int force)
{
	struct pass_ctx p = { 0 };
	struct graph_stats gs;
	struct tt_err err = { 0 };
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	p.ctx = ctx;
	p.profile = profile;
	p.name = name;
	p.force = force;
	p.cc.block_showas = ctx->cfg.block_showas;
	p.cc.block_all_day = ctx->cfg.block_all_day;
	sync_window(ctx->cfg.window_past_days, ctx->cfg.window_future_days,
	    tt_now(), &p.cc.ws, &p.cc.we);
	if (store_pass_begin(ctx->st, profile, &p.gen, &err)) {
		problem(&p, err.code, "%s", err.msg);
		return p.worst;
	}
	p.counts.id = p.gen;
	if (account_graph(ctx, &p.g, &err) ||
	    account_token(ctx, p.g, profile, name, &err)) {
		p.worst = err.code;
		ctx->note(ctx, err.code, err.msg);
		strlcpy(p.first, err.msg, sizeof(p.first));
		goto out;
	}
	if (store_calendar_list(ctx->st, profile, pull_cb, &p, &err)) {
		problem(&p, err.code, "%s", err.msg);
		goto out;
	}
	graph_run(p.g);
	if (p.token_rejected)
		store_access_drop(ctx->st, profile, NULL);
out:
	if (p.g != NULL) {
		graph_stats(p.g, &gs);
		p.counts.requests = gs.requests;
	}
	p.counts.exit_code = p.worst;
	p.counts.message = p.first[0] ? p.first : NULL;
	if (store_pass_end(ctx->st, &p.counts, &err))
		problem(&p, err.code, "%s", err.msg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ctx->verbose) {
		char line[512];

		snprintf(line, sizeof(line), "profile %s: %d items read, %d "
		    "blocks added, %d changed, %d removed, %d pushed, %d "
		    "deleted, %d requests, %.2f s%s", name, p.counts.items,
		    p.counts.added, p.counts.changed, p.counts.removed,
		    p.counts.pushed, p.counts.deleted, p.counts.requests,
		    (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		    p.worst ? " (with problems)" : "");
		ctx->note(ctx, 0, line);
	}
	p.counts.message = NULL;
	graph_free(p.g);
	return p.worst;
}

struct all_state {
	struct tt_ctx *ctx;
	int force;
	int worst;
};

static int
all_cb(void *arg, int64_t id, const char *name)
{
	struct all_state *as = arg;

	as->worst = tt_worse(as->worst, one_profile(as->ctx, id, name,
	    as->force));
	return 0;
}

int
sync_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct all_state as = { ctx, 0, 0 };
	int64_t profile;
	int c, lock, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'f')
			return tt_fail(err, TT_USAGE, "sync: unknown option "
			    "'%s'", argv[optind - 1]);
		as.force = 1;
	}
	if (optind != argc)
		return tt_fail(err, TT_USAGE, "sync: unexpected '%s'",
		    argv[optind]);
	if ((lock = store_lock(ctx->dbpath, err)) < 0)
		return -1;
	if (ctx->profile_given) {
		r = store_profile(ctx->st, ctx->profile, 0, &profile, err);
		if (r == 0)
			r = tt_fail(err, TT_NOPERM, "profile %s is not connected;"
			    " run `timetap-sync -s %s login`", ctx->profile,
			    ctx->profile);
		if (r > 0)
			as.worst = one_profile(ctx, profile, ctx->profile,
			    as.force);
	} else
		r = store_connected_profiles(ctx->st, all_cb, &as, err);
	store_unlock(lock);
	if (r < 0)
		return -1;
	/* Problems were reported one per line already. */
	err->code = as.worst;
	err->msg[0] = '\0';
	return as.worst ? -1 : 0;
}
