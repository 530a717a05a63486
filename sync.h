/* SPDX-License-Identifier: ISC */
/*
 * sync.h -- the sync pass, the purge, and their pure parts (core: no
 * options, no terminal; the sync command is cmd_sync.c).
 *
 * sync_profile() runs one pass for a profile: pull every pull calendar,
 * then push the book to every push calendar.  The algorithm sees the
 * remote only through graph.h (and connection.h for the token) and the
 * book only through store.h.
 *
 * Errors: as everywhere (0, or -1 with err); a pass reports each problem
 * as a record through env->problem() and returns the most serious code.
 */
#ifndef TT_SYNC_H
#define TT_SYNC_H

#include "connection.h"
#include "graph.h"

/*
 * A problem of a pass, as a record: what failed (an enum tt_errc, or
 * TT_WARNING for a warning), where (the profile, the calendar, the step,
 * the appointment) and the error, a line of facts.  The edge words it
 * and adds the advice (cmd_sync.c).
 */
struct sync_problem {
	int code;
	const char *profile;
	const char *calendar;	/* its path, or NULL */
	const char *step;	/* "reading events", "creating", ..., or NULL */
	int64_t appt;		/* the appointment, 0: none */
	int unknown;		/* a create whose outcome is unknown */
	int named;		/* the error names the profile itself */
	const char *error;
	/* TT_E_CAPPED: the removals held back, of how many items */
	int held, total;
};

/*
 * A write a pass made and the service took -- or, in a dry run, would
 * make (the plan of sync --dry-run).  Strings borrowed for the call.
 */
struct sync_write {
	const char *op;		/* "create", "update" (the book changed),
				 * "set_back" (edited elsewhere), "delete" */
	const char *calendar;	/* the calendar's path */
	const char *calendar_id;	/* its Graph id (a group's: the group's) */
	int64_t appt;		/* 0: none (a second copy of one of ours) */
	const char *event_id;	/* NULL for a create */
	tt_time start, end;	/* the appointment's; 0: not known */
	const char *subject;	/* the appointment's; NULL: not known */
};

/* What a pass is given: the connection (configuration, store, warnings),
 * the few settings the pass uses, and where its problems go. */
struct sync_env {
	const struct conn *cn;
	unsigned block_showas;	/* SHOWAS_ bits */
	int block_all_day, pull_subjects;
	const char *push_subject;
	int push_private;
	int max_removals, max_removals_pct;
	const char *time_zone;	/* the configuration's, or NULL */
	int window_past_days, window_future_days;
	void (*problem)(void *arg, const struct sync_problem *pr);
	/* Progress of a long pass (NULL: none); msg NULL clears it. */
	void (*progress)(void *arg, const char *msg);
	/* Each write the service took (NULL: not told). */
	void (*wrote)(void *arg, const struct sync_write *w);
	/* A dry run (sync --dry-run, on a copy of the store): no write is
	 * sent, each is settled as a success (graph_set_dry) and told. */
	int dry;
	void *arg;
};

/*
 * One pass for a profile; `force` accepts removals over max_removals.
 * Returns TT_E_NONE or the most serious code of its problems, and fills
 * res with what it did (the caller records it: store_pass_end; res->id
 * is 0 when the pass could not begin).
 */
int sync_profile(const struct sync_env *env, int64_t profile,
    const char *name, int force, struct pass *res);

/* Why an item was or was not loaded (SPEC section 4). */
enum reason {
	R_LOADED = 0,
	R_TIMETAP,
	R_FREE,
	R_SHOWAS,
	R_CANCELLED,
	R_REMOVED,
	R_OUTSIDE,
	R_INVALID
};
const char *sync_reason_code(enum reason r);	/* NULL for R_LOADED */

struct classify_cfg {
	unsigned block_showas;	/* SHOWAS_ bits */
	int block_all_day;
	tt_time ws, we;		/* the window */
};

/*
 * Classify one (non-removed) event; `ours` when it is a TimeTap event.
 * Fills [*bs, *be), the time it blocks (all-day events: the local days),
 * and a short info text for the not-loaded reasons.
 */
enum reason sync_classify(const struct graph_event *ev, int ours,
    const struct classify_cfg *c, tt_time *bs, tt_time *be, char *info,
    size_t infolen);

/* The window of a pass starting now: local midnights, today - past to
 * today + future + 1. */
void sync_window(int past_days, int future_days, tt_time now, tt_time *ws,
    tt_time *we);

/* Who owns the events a profile pushes: "<install id>.<profile id>",
 * carried in the marker and the transactionId (new string, or NULL with
 * err). */
char *sync_owner(struct store *st, int64_t profile, struct tt_err *err);

/* stop --purge-remote: what became of the events the profile pushed. */
struct purge_result {
	int deleted;		/* confirmed gone */
	int code;		/* when not all went: an enum tt_errc */
	char why[512];		/* ... and why, in a few words */
	char left[1024];	/* what is left, "3 on Calendar, ..." */
};
/*
 * Delete every event the profile pushed, wherever it is: those the push
 * map knows, and those a search by the profile's marker finds on every
 * writable calendar (group calendars only with the group permission).
 * A calendar that cannot be searched does not stop the others.  Returns
 * 0 when all went, else -1 with res saying what is left.
 */
int sync_purge(const struct conn *cn, int64_t profile, const char *name,
    int group_scope, struct purge_result *res);

/* Whether `n` removals out of `total` exceed the max_removals setting
 * (a share applies only above 10 removals). */
int sync_too_many(int n, int total, int max, int pct);

#endif
