/*
 * store.h -- the local SQLite file: the appointment book and the sync state.
 *
 * The rest of the program sees domain operations, not tables: all SQL text
 * lives in store.c and every value is bound.  The schema is versioned with
 * PRAGMA user_version, one migration per version.
 *
 * Errors: functions return 0 (or a documented non-negative value) on
 * success and -1 with `err` filled (TT_IOERR for database failures).
 * Ownership: structs filled by the store own their strings; release them
 * with the matching _free function.  Pointers passed in are borrowed.
 */
#ifndef TT_STORE_H
#define TT_STORE_H

#include <stdint.h>

#include "util.h"

struct store;

/*
 * Open (creating when missing) the database at path: the directory is made
 * mode 0700 and the file 0600; a file readable by group or others is
 * refused; migrations run; WAL, a busy timeout and foreign keys are on.
 */
int store_open(const char *path, struct store **out, struct tt_err *err);
void store_close(struct store *st);

/*
 * The per-database run lock (path + ".lock", mode 0600), taken without
 * waiting: when another run holds it, fails at once with TT_TEMPFAIL.
 * Returns a descriptor to pass to store_unlock().
 */
int store_lock(const char *path, struct tt_err *err);
void store_unlock(int fd);

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

#endif
