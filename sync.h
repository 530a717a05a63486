/*
 * sync.h -- the sync pass and its pure parts.
 *
 * sync_main() (declared in cmd.h, with the other commands) runs one pass
 * for the selected profile, or for every connected profile; one failing
 * profile does not stop the others and the exit code is the most serious
 * one.  The algorithm sees the remote only
 * through graph.h and the book only through store.h.
 *
 * Errors: as everywhere (0, or -1 with err); problems that do not stop a
 * pass are reported through ctx->note().
 */
#ifndef TT_SYNC_H
#define TT_SYNC_H

#include "cmd.h"
#include "graph.h"

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
	int code;		/* when not all went: the exit code */
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
