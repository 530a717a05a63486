/* SPDX-License-Identifier: ISC */
/*
 * store.h -- the local SQLite file: the appointment book and the sync state.
 *
 * The rest of the program sees domain operations, not tables: all SQL text
 * lives in store.c and every value is bound.  The schema is versioned with
 * PRAGMA user_version, one migration per version.
 *
 * Errors: functions return 0 (or a documented non-negative value) on
 * success and -1 with `err` filled (TT_E_LOCAL for database failures).
 * Ownership: structs filled by the store own their strings; release them
 * with the matching _free function.  Pointers passed in are borrowed.
 */
#ifndef TT_STORE_H
#define TT_STORE_H

#include <stdint.h>

#include "graph.h"
#include "util.h"

struct store;

/*
 * Open (creating when missing) the database at path, in a directory that
 * exists: ours (or root's) and writable by no one else (a sticky one
 * neither), else TT_E_LOCAL.  The file is made 0600; one that is not ours,
 * a link, or readable by group or others is refused; migrations run; WAL,
 * secure_delete, a busy timeout and foreign keys are on.
 */
/* For tests of the upgrades: the statements taking the schema from
 * `version` to version + 1 (NULL-terminated), or NULL past the last. */
const char *const *store_migration(int version);
int store_open(const char *path, struct store **out, struct tt_err *err);
/* Make the directory of the database at path and its parents, each new
 * one 0700 -- for the default location only: an explicit path in a
 * directory that does not exist is a typo, which store_open reports. */
int store_make_dir(const char *path, struct tt_err *err);
void store_close(struct store *st);

/*
 * A profile's run lock (the file path + ".locks/" + profile, mode 0600 in
 * a 0700 directory), taken without waiting: when another run holds it,
 * fails at once with TT_E_BUSY.  Neither is followed when it is a link,
 * and both must be ours (else TT_E_LOCAL).  Profiles lock apart: a login waiting
 * for a person, or a slow pass, of one staff member never holds up
 * another's.  Returns a descriptor to pass to store_unlock().
 */
int store_lock(const char *path, const char *profile, struct tt_err *err);
void store_unlock(int fd);

/* This database's own random id (made at creation): with a profile id it
 * tells our pushed events from another install's or profile's.  New
 * string. */
int store_install_id(struct store *st, char **id, struct tt_err *err);

/* The id of the named staff profile; created when `create` is set.
 * Returns 1 found/created, 0 not found, -1 error. */
int store_profile(struct store *st, const char *name, int create,
    int64_t *id, struct tt_err *err);

/* One item of the book: a booked appointment or an [ext] block. */
struct appt {
	int64_t id;
	int64_t profile_id;
	int ext;		/* 1: block from an external calendar */
	int cancelled;
	tt_time start, end;	/* [start, end) */
	int all_day;
	char *subject;
	char *client;		/* NULL when none */
	int online;
	char *join_url;		/* Teams link of an online appointment */
	char *calendar;		/* ext: name of the source calendar */
	char *event_id;		/* ext: the remote event id */
	char *remote_modified;	/* ext: lastModifiedDateTime */
	char *calendar_id;	/* ext: the source calendar's Graph id */
	char *showas;		/* ext: the show-as it was loaded with, or NULL */
	int64_t version;	/* bumped on every change */
	tt_time created, updated;
};
void store_appt_free(struct appt *a);

/* Whether [s1,e1) and [s2,e2) share any instant (touching ends don't). */
int store_overlaps(tt_time s1, tt_time e1, tt_time s2, tt_time e2);

int store_appt_add(struct store *st, const struct appt *a, int64_t *id,
    struct tt_err *err);
/* Returns 1 and fills a, or 0 when the profile has no such item. */
int store_appt_get(struct store *st, int64_t profile, int64_t id,
    struct appt *a, struct tt_err *err);
/* Writes start, end, subject, client and online of a booked item. */
int store_appt_update(struct store *st, const struct appt *a,
    struct tt_err *err);
int store_appt_cancel(struct store *st, int64_t profile, int64_t id,
    struct tt_err *err);
/*
 * The first live item of the profile (booked or ext, not cancelled, other
 * than `exclude`) overlapping [s, e).  Returns 1 and fills conflict, or 0.
 */
int store_appt_conflict(struct store *st, int64_t profile, tt_time s,
    tt_time e, int64_t exclude, struct appt *conflict, struct tt_err *err);
/* Live items overlapping [from, to), by start; cb returns non-zero to stop. */
int store_appt_list(struct store *st, int64_t profile, tt_time from,
    tt_time to, int (*cb)(void *, const struct appt *), void *arg,
    struct tt_err *err);


/* ---- transactions (for multi-step changes made by the sync) ---- */
int store_begin(struct store *st, struct tt_err *err);
int store_commit(struct store *st, struct tt_err *err);
void store_rollback(struct store *st);

/* ---- the connected Microsoft account of a profile ---- */
struct account {
	int64_t profile_id;
	char *upn, *user_id, *tenant, *authority_url, *graph_url, *scopes;
	char *refresh_token, *access_token;	/* secrets: wiped on free */
	tt_time access_expires, last_refresh, connected_at;
	char *needs_login;	/* why a login is needed, or NULL */
	char *tenant_id;	/* the id_token's tid, or NULL */
	char *mailbox_zone;	/* mailboxSettings timeZone, as the service
				 * names it; NULL: not read, or not readable */
	tt_time mailbox_zone_at;	/* when it was read; 0: never */
};
void store_account_free(struct account *a);
/* Returns 1 and fills a, or 0 when the profile is not connected. */
int store_account_get(struct store *st, int64_t profile, struct account *a,
    struct tt_err *err);
/* Insert or replace the account (login). */
int store_account_save(struct store *st, const struct account *a,
    struct tt_err *err);
/* Record the mailbox's time zone as just read (NULL: not readable). */
int store_account_zone(struct store *st, int64_t profile, const char *zone,
    struct tt_err *err);
/*
 * Record a successful token response in one statement: the new access
 * token and expiry, the rotated refresh token and the scopes now held
 * (NULL keeps the old ones); clears needs_login.
 */
int store_tokens_save(struct store *st, int64_t profile, const char *access,
    tt_time expires, const char *refresh, const char *scopes,
    struct tt_err *err);
/* Another profile connected to the same Microsoft account (user id):
 * 1 and its name (new string), 0 none, -1 error. */
int store_account_twin(struct store *st, int64_t profile, const char *user_id,
    char **name, struct tt_err *err);
/* Mark the account as needing a login (why), or clear it (NULL); also
 * forgets the access token when why is set. */
int store_account_mark(struct store *st, int64_t profile, const char *why,
    struct tt_err *err);
/* Forget the access token (the service refused it). */
int store_access_drop(struct store *st, int64_t profile, struct tt_err *err);

/* What `profiles` shows of each profile. */
struct profile_row {
	int64_t id;
	const char *name;
	const char *account;	/* the account's UPN; NULL: not connected */
	int calendars, pull, push;	/* calendars present, and with each role */
	int booked, blocks;	/* booked appointments (not cancelled), blocks */
	tt_time last_pass;	/* when the newest pass began; 0: never */
	int last_exit;		/* its exit status; -1: unfinished or never */
};
/* Every profile, by name (strings borrowed during cb; read whole first). */
int store_profile_rows(struct store *st,
    int (*cb)(void *, const struct profile_row *), void *arg,
    struct tt_err *err);
/* Remove a profile and all it holds (appointments, calendars, feed);
 * the WAL is emptied after, as by store_stop. */
int store_profile_remove(struct store *st, int64_t id, struct tt_err *err);

/* Profiles with a connected account, by name. */
int store_connected_profiles(struct store *st,
    int (*cb)(void *, int64_t id, const char *name), void *arg,
    struct tt_err *err);
/* All profiles, by name. */
int store_profiles(struct store *st,
    int (*cb)(void *, int64_t id, const char *name), void *arg,
    struct tt_err *err);

/* ---- calendars and their roles ---- */
struct calendar {
	int64_t id;		/* local number, shown to the user */
	int64_t profile_id;
	char *remote_id;
	enum graph_cal_kind kind;	/* a user's or a group's (graph.h) */
	char *container;	/* calendar group id, or the M365 group id */
	char *name, *path;
	int can_edit, is_default, pull, push, present;
	int no_delta;		/* the calendar has no delta: plain reads */
	char *owner;		/* owner's address, or NULL */
	int shared;		/* a user calendar someone else shared */
	int limited;		/* a group known only by its id so far */
	char *delta_link;	/* NULL: next round is a full read */
	char *rules;		/* the classification settings of the state */
	tt_time window_start, window_end, last_full;
};
void store_calendar_free(struct calendar *c);
/* How the service addresses a calendar of the book (graph.h), the one
 * place a row becomes a reference: a group's by the group id, a user's
 * by its own.  Borrows c's strings. */
struct graph_cal store_cal_ref(const struct calendar *c);
/* Discovery: mark every calendar of the profile of one kind (GRAPH_CAL_USER:
 * own and shared, GRAPH_CAL_GROUP) absent, then upsert the ones seen (keeping
 * roles and sync state); call within a transaction. */
int store_calendars_absent(struct store *st, int64_t profile, int kind,
    struct tt_err *err);
int store_calendar_seen(struct store *st, const struct calendar *c,
    struct tt_err *err);
/* All calendars of the profile (present first, by path), read whole
 * before the first call, so that cb may write or go to the service with
 * no read transaction open; cb returns non-zero to stop. */
int store_calendar_list(struct store *st, int64_t profile,
    int (*cb)(void *, const struct calendar *), void *arg,
    struct tt_err *err);
int store_calendar_roles(struct store *st, int64_t id, int pull, int push,
    struct tt_err *err);

/* ---- stop ---- */
struct stop_receipt {
	int blocks;		/* [ext] items removed */
	int calendars;		/* calendars forgotten */
	int pushed;		/* pushed events whose mapping was forgotten */
	int feed;		/* feed rows removed */
};
/* Forget the account, tokens, calendars, sync state and feed and remove
 * every [ext] item, in one transaction; then the WAL is emptied, so that
 * the tokens are in neither file (secure_delete zeroed them). */
int store_stop(struct store *st, int64_t profile, struct stop_receipt *r,
    struct tt_err *err);

/*
 * The series master of a recurring meeting, as the sync last read it: its
 * sparse occurrences take these fields.  Strings owned (store_series_free).
 */
struct series {
	char *subject, *showas, *last_modified;
	int all_day, cancelled;
};
void store_series_free(struct series *m);
int store_series_put(struct store *st, int64_t calendar, const char *master_id,
    const struct series *m, struct tt_err *err);
/* 1 and m filled, 0 when the series is not known, -1 error. */
int store_series_get(struct store *st, int64_t calendar, const char *master_id,
    struct series *m, struct tt_err *err);

/*
 * The rules the profile's events are written with (a text the sync
 * makes of push_subject and push_private).  When they differ from the
 * stored ones, every pushed event is marked to be written again; the new
 * rules are stored in the same transaction.  Returns 1 when events were
 * marked, 0 when the rules are unchanged (or first stored), -1 error.
 */
int store_push_rules(struct store *st, int64_t profile, const char *rules,
    struct tt_err *err);

/* ---- passes (for status and -v) ---- */
struct pass {
	int64_t id;
	tt_time started, finished;
	int exit_code;
	int items, added, changed, removed, pushed, deleted, requests;
	char *message;
};
void store_pass_free(struct pass *p);
int store_pass_begin(struct store *st, int64_t profile, int64_t *id,
    struct tt_err *err);
int store_pass_end(struct store *st, const struct pass *p, struct tt_err *err);
/* The newest pass of the profile: 1 found, 0 none. */
int store_last_pass(struct store *st, int64_t profile, struct pass *p,
    struct tt_err *err);

/* ---- the pull side: [ext] blocks, sync state, the feed ---- */

/* One block as the sync wants it in the book. */
struct block {
	int64_t calendar_id;
	const char *event_id;
	tt_time start, end;
	int all_day;
	const char *subject;
	const char *remote_modified;
	const char *showas;	/* as the service names it ("busy") */
	int64_t gen;		/* the round that saw it */
};
/* Insert or update the [ext] item of (calendar, event): returns 1 added,
 * 2 changed, 0 unchanged (only the round stamp moved); *appt is its id. */
int store_block_put(struct store *st, int64_t profile, const struct block *b,
    int64_t *appt, struct tt_err *err);
/* Remove the block of (calendar, event): 1 removed, 0 there was none. */
int store_block_remove(struct store *st, int64_t calendar,
    const char *event_id, int64_t *appt, struct tt_err *err);
/* Whether the calendar has a block for the event: 1 or 0. */
int store_block_has(struct store *st, int64_t calendar, const char *event_id,
    struct tt_err *err);
int store_block_count(struct store *st, int64_t calendar, int *n,
    struct tt_err *err);
/* Blocks of the calendar that round `gen` did not see: count them, and
 * with `remove` delete them and mark their feed rows removed. */
int store_blocks_stale(struct store *st, int64_t calendar, int64_t gen,
    int remove, int *n, struct tt_err *err);
/* Save a calendar's sync state after a complete round: the delta link,
 * the window and the classification rules it was read with. */
int store_calendar_state(struct store *st, int64_t calendar,
    const char *delta_link, tt_time ws, tt_time we, const char *rules,
    int full, int no_delta, struct tt_err *err);
/* Mark an existing block as seen by round gen without changing it (an
 * unreadable item keeps its block): 1 and *appt when there is one. */
int store_block_stamp(struct store *st, int64_t calendar,
    const char *event_id, int64_t gen, int64_t *appt, struct tt_err *err);
/* Forget a calendar's delta link (invalid: the next round is full). */
int store_calendar_reset(struct store *st, int64_t calendar,
    struct tt_err *err);
/* The appointment a pushed event of the profile belongs to: 1 found. */
int store_pushed_owner(struct store *st, int64_t profile,
    const char *event_id, int64_t *appt, struct tt_err *err);

struct feed_row {
	int64_t profile_id, calendar_id;
	const char *calendar;	/* the calendar's path */
	const char *calendar_remote;	/* its Graph id; NULL: forgotten */
	const char *event_id;
	int64_t appt_id;	/* 0: none */
	tt_time start, end;
	int all_day;
	const char *subject;
	int loaded;
	const char *reason;	/* NULL when loaded */
	const char *info;
	int64_t gen;
	tt_time seen_at;
	int64_t seq;
	const char *showas;	/* as the service named it, or NULL */
};
/* Record what a pass did with an item; a row whose content changed moves
 * to the top of the feed. */
int store_feed_put(struct store *st, const struct feed_row *f,
    struct tt_err *err);
/* Mark an item's row removed, if the feed has it. */
int store_feed_removed(struct store *st, int64_t profile,
    const char *calendar, const char *event_id, const char *info,
    struct tt_err *err);
/* After a complete full read: rows of the calendar not seen in round gen
 * are marked removed.  Also prunes removed rows older than 30 days. */
int store_feed_stale(struct store *st, int64_t profile, const char *calendar,
    int64_t gen, struct tt_err *err);
/* Newest first; limit 0 means all. Strings borrowed during cb. */
int store_feed_list(struct store *st, int64_t profile, int limit,
    int (*cb)(void *, const struct feed_row *), void *arg,
    struct tt_err *err);

/* ---- the push side: appointments on the push calendars ---- */

/* The state of an (appointment, calendar) pair on the push side (the
 * pushed row's state column; PS_NONE: no row).  The table at the top of
 * the push in sync.c says what each means, what a crash leaves and what
 * the next pass does. */
enum push_state {
	PS_NONE,	/* never planned */
	PS_INTENT,	/* a create was sent or about to be: outcome unknown */
	PS_UNSENT,	/* a create surely not sent: the same txn next time */
	PS_PUSHED,	/* the event exists as written (version: which) */
	PS_EDITED,	/* the event exists, to be written again */
	PS_GONE		/* the event was deleted remotely: a new create */
};

/* Where an appointment is pushed, for appt show: each push calendar of
 * the profile and each calendar that still holds its event.  state is the
 * pushed row's ("none": no row); pushed_at when its create was recorded
 * (0: none); push whether the calendar has the push role now.  Strings
 * borrowed during cb. */
struct appt_push {
	const char *calendar, *calendar_id, *event_id, *state;
	tt_time pushed_at;
	int push;
};
int store_appt_pushes(struct store *st, int64_t profile, int64_t appt,
    int (*cb)(void *, const struct appt_push *), void *arg,
    struct tt_err *err);

/* One (appointment, calendar) pair the push must look at. */
struct push_item {
	int64_t appt_id;
	int booked;		/* 0: cancelled, or gone from the book */
	tt_time start, end;
	const char *subject, *client, *join_url;
	int online;
	int64_t version;
	int64_t calendar_id;
	struct graph_cal cal;	/* where it is pushed (store_cal_ref) */
	const char *cal_path;
	int cal_push;		/* the calendar has the push role, present */
	enum push_state state;
	const char *txn_id;	/* "": the next create needs a new one */
	const char *event_id;
	int64_t pushed_version;	/* -1: edited elsewhere, set it back */
	const char *body_sum;	/* digest of the body last written, or NULL */
	int meeting_home;	/* online, and this event holds the meeting */
};
/*
 * The pairs the push has work for.  PLAN_WORK: the pairs wanted on a push
 * calendar (booked, overlapping the window) that are not there or not
 * current, and the pushed pairs no longer wanted; PLAN_LOOKUPS: the
 * creates whose outcome is unknown; PLAN_ALL: every pushed pair (stop).
 * Strings borrowed during cb.
 */
enum plan_mode { PLAN_WORK, PLAN_LOOKUPS, PLAN_ALL };
int store_push_plan(struct store *st, int64_t profile, tt_time ws,
    tt_time we, enum plan_mode mode,
    int (*cb)(void *, const struct push_item *), void *arg,
    struct tt_err *err);
/* The intent to create: committed before the request (attempted = 1). */
int store_push_intent(struct store *st, int64_t appt, int64_t calendar,
    const char *txn_id, struct tt_err *err);
/* A create or a lookup found the event; version -1 forces an update. */
int store_push_created(struct store *st, int64_t appt, int64_t calendar,
    const char *event_id, const char *change_key, int64_t version,
    struct tt_err *err);
int store_push_updated(struct store *st, int64_t appt, int64_t calendar,
    const char *change_key, int64_t version, struct tt_err *err);
int store_push_deleted(struct store *st, int64_t appt, int64_t calendar,
    struct tt_err *err);
/* The event is not there (deleted in Teams): create it again. */
int store_push_gone(struct store *st, int64_t appt, int64_t calendar,
    struct tt_err *err);
/* A delta @removed for one of our events ("deleted" also means "moved
 * out of the window"): it is written again, and only a 404 then makes it
 * created anew.  1 if it was ours. */
int store_push_unseen_event(struct store *st, int64_t calendar,
    const char *event_id, struct tt_err *err);
/* A lookup found no event for the intent: the next create may go. */
int store_push_unsent(struct store *st, int64_t appt, int64_t calendar,
    struct tt_err *err);
/* A round saw our event: stamp it; owned fields that differ from what
 * was written (digest `fields`), or a body without its marker (body_ok
 * 0), mean it was edited in Teams and must be set back. */
int store_push_seen(struct store *st, int64_t calendar, const char *event_id,
    const char *change_key, const char *fields, int body_ok, int64_t gen,
    struct tt_err *err);
/*
 * A read showed an event of ours (by its transactionId) for `appt` on
 * `calendar`: is it the one the store maps?  PUSH_THIS: yes; PUSH_OTHER:
 * the store maps another event (this one is a duplicate); PUSH_UNMAPPED:
 * the create's outcome is unknown (adopt it); PUSH_NO_ROW: none.
 */
enum { PUSH_NO_ROW, PUSH_THIS, PUSH_OTHER, PUSH_UNMAPPED };
int store_push_which(struct store *st, int64_t appt, int64_t calendar,
    const char *event_id, struct tt_err *err);
/* What a create or update wrote: the digest of the owned fields and of
 * the body (sync.c makes both). */
int store_push_written(struct store *st, int64_t appt, int64_t calendar,
    const char *fields, const char *body_sum, struct tt_err *err);
/* After a complete full read: our events of the calendar, created before
 * `before`, for appointments overlapping [ws, we), that the round did not
 * see are written again (a 404 then means gone).  *n gets how many. */
int store_push_unseen(struct store *st, int64_t calendar, int64_t gen,
    tt_time ws, tt_time we, tt_time before, int *n, struct tt_err *err);
/* Record the Teams link the service returned for the event holding the
 * appointment's meeting; the appointment shows it, and when it is new the
 * appointment's other events (which carry it in their body) are marked to
 * be written again: then 1 is returned.  A trigger forgets the link when
 * that event goes. */
int store_join_url(struct store *st, int64_t appt, int64_t calendar,
    const char *url, struct tt_err *err);
/* An event was written with the meeting's link url: if the appointment
 * has another one now, the event is marked to be written again (1). */
int store_join_stale(struct store *st, int64_t appt, int64_t calendar,
    const char *url, struct tt_err *err);
/* A read saw the event holding the meeting with another link than the
 * one recorded: record that one (as store_join_url). */
int store_join_seen(struct store *st, int64_t appt, int64_t calendar,
    const char *url, struct tt_err *err);
/* A second copy of one of our events, found by a read (in the read's
 * transaction): to delete, kept until the service confirms. */
struct stray {
	int64_t calendar_id;
	const char *event_id;
	struct graph_cal cal;	/* store_cal_ref */
	const char *path;
};
int store_stray_add(struct store *st, int64_t calendar, const char *event_id,
    struct tt_err *err);
int store_stray_done(struct store *st, int64_t calendar, const char *event_id,
    struct tt_err *err);
/* The profile's strays (strings borrowed during cb); a copy adopted since
 * as the mapped event is dropped first. */
int store_strays(struct store *st, int64_t profile,
    int (*cb)(void *, const struct stray *), void *arg, struct tt_err *err);
int store_pushed_count(struct store *st, int64_t profile, int *n,
    struct tt_err *err);

/* ---- conflicts (views.c's conflicts and explain, the pass's telling) ----
 *
 * A conflict is a pair of the same profile: a booked appointment (not
 * cancelled) and an [ext] block whose times overlap (store_overlaps:
 * touching ends do not).  The open conflicts are the pairs that exist
 * now, computed from the book each time; the conflicts table only
 * remembers which pairs were told (by a pass, or accepted by appt add or
 * edit --force), so that each is told once.  A pair leaves the table with
 * either item (ON DELETE CASCADE) or when a pass finds that it no longer
 * overlaps (store_conflicts_forget): told again if it comes back.
 */
struct conflict {
	int64_t appt_id;	/* the booked appointment */
	const char *subject, *client;	/* client NULL when none */
	tt_time start, end;
	int64_t block_id;	/* the [ext] block's appointment id */
	const char *block_subject;
	const char *calendar;	/* the block's calendar path */
	const char *calendar_id;	/* its Graph id */
	const char *event_id;	/* the block's Graph event id */
	tt_time block_start, block_end;
	int block_all_day;
	tt_time told_at;	/* 0: not told yet */
};
/*
 * The profile's open conflicts whose appointment or block overlaps
 * [from, to) (0, TT_TIME_MAX + 1: all), by the appointment's start, then
 * the block's.  Read whole before the first call, so that cb may write
 * (store_conflict_told); strings borrowed during cb; cb returns non-zero
 * to stop.  0, or -1 with err.
 */
int store_conflicts(struct store *st, int64_t profile, tt_time from,
    tt_time to, int (*cb)(void *, const struct conflict *), void *arg,
    struct tt_err *err);
/* The same, only the pairs not told yet (a pass tells them). */
int store_conflicts_untold(struct store *st, int64_t profile,
    int (*cb)(void *, const struct conflict *), void *arg,
    struct tt_err *err);
/* Forget the told pairs of the profile that are no longer open (the
 * appointment cancelled or moved, the block moved); *n how many (may be
 * NULL). */
int store_conflicts_forget(struct store *st, int64_t profile, int *n,
    struct tt_err *err);
/* Record a pair told at `when` (a pair already told keeps its time). */
int store_conflict_told(struct store *st, int64_t appt, int64_t block,
    tt_time when, struct tt_err *err);
/* appt add / edit --force: the user chose to book over the blocks the
 * appointment overlaps now; its pairs are recorded told (no line later),
 * the ones it no longer has forgotten.  *n how many it has (may be NULL). */
int store_conflicts_accept(struct store *st, int64_t profile, int64_t appt,
    int *n, struct tt_err *err);
/*
 * The feed's rows of the profile that do not block (not loaded: free,
 * showas, cancelled, timetap, outside, invalid, removed) and overlap
 * [from, to), by start (explain).  Strings borrowed during cb.
 */
int store_feed_slot(struct store *st, int64_t profile, tt_time from,
    tt_time to, int (*cb)(void *, const struct feed_row *), void *arg,
    struct tt_err *err);

/* ---- sync --dry-run ---- */

/*
 * A copy of the whole database in memory, for a pass whose effects are
 * thrown away (sync --dry-run): the same schema and rows as `from` at
 * this instant, nothing ever written back.  store_close() it.
 */
int store_open_copy(struct store *from, struct store **out,
    struct tt_err *err);

/* ---- doctor ---- */

/* What doctor says of the open database: the schema version and the
 * newest this program knows, the first line of PRAGMA quick_check
 * ("ok" when sound) and the journal mode ("wal").  Strings owned. */
struct store_health {
	int version, newest;
	char *integrity;
	char *journal;
};
void store_health_free(struct store_health *h);
int store_health(struct store *st, struct store_health *h,
    struct tt_err *err);

#endif
