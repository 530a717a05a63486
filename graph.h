/* SPDX-License-Identifier: ISC */
/*
 * graph.h -- Microsoft Graph and the Microsoft identity platform, as plain
 * C records.  Everything about HTTP and JSON stays in graph.c: no json_t,
 * no CURL crosses this header.
 *
 * Requests run on one libcurl multi handle (connection reuse, HTTP/2 where
 * offered, compressed responses), at most GRAPH_MAX_INFLIGHT at a time per
 * mailbox.  Simple calls (tokens, /me, calendars) are synchronous.  Delta
 * rounds and write batches are submitted with a callback and driven by
 * graph_wait(), so several calendars and batches proceed concurrently; the
 * callbacks run on the caller's thread, inside graph_wait().
 *
 * Retries: 429/503/504 and other 5xx honour Retry-After (decimal seconds or
 * an HTTP date) or back off exponentially, and network errors are retried
 * the same way -- except a POST whose fate is unknown (timeout, cut
 * connection), which is reported as ambiguous so the caller can look the
 * event up before creating again.  A service that cannot be reached at
 * all (refused, no DNS, TLS handshake cut) is tried twice, then every
 * later request of the handle to that side fails at once (err.network):
 * an outage costs seconds, not minutes.  All waiting is charged to one
 * retry budget per handle; when it is spent the request fails as
 * transient.
 *
 * Errors: functions return 0 on success and -1 with a struct graph_err
 * filled: what failed (cls) and when to try again (retry), both decided
 * with whether a create's outcome is unknown in one function (graph.c
 * graph_judge), then the HTTP status, service code, Retry-After, request
 * id and a sanitised one-line message.  graph_errc() says what the error
 * means in the modules' shared vocabulary (util.h).
 *
 * Ownership: records passed to callbacks are borrowed for the duration of
 * the call; records filled by synchronous calls are owned by the caller
 * and released with their _free function.
 * Secrets (tokens, codes, verifiers) are wiped before they are freed and
 * never appear in messages.
 */
#ifndef TT_GRAPH_H
#define TT_GRAPH_H

#include <stddef.h>

#include "util.h"

#define GRAPH_MAX_INFLIGHT 4	/* Outlook's concurrency limit per mailbox */
#define GRAPH_BATCH_MAX 20	/* JSON batching limit */

/* What failed: the first field of a result. */
enum graph_class {
	GRAPH_OK = 0,
	GRAPH_SERVICE,		/* the service or the way to it: throttled,
				 * 5xx, timeouts, the network */
	GRAPH_TOKEN,		/* 401: the access token was refused */
	GRAPH_LOGIN,		/* the grant is gone: log in again */
	GRAPH_GONE,		/* delta state invalid: full resync */
	GRAPH_NOTFOUND,		/* 404 on an item */
	GRAPH_CONFLICT,		/* 409/412 */
	GRAPH_DENIED,		/* 403: missing scope or rights */
	GRAPH_PROTOCOL,		/* a response we cannot trust */
	GRAPH_CONFIG,		/* the app registration or settings are wrong */
	GRAPH_LOCAL,		/* out of memory, bad URL, ... */
	GRAPH_CANCELLED		/* the caller's callback stopped it (and
				 * reported why itself) */
};

/*
 * When trying again can help, once graph has retried what it could: the
 * second field.  The order matters to nobody; 0 is "not soon" so that an
 * error made without graph_judge() is never taken for a passing one.
 */
enum graph_retry {
	GRAPH_RETRY_LATE = 0,	/* not soon: still failing after every retry,
				 * or an answer no retry mends */
	GRAPH_RETRY_NOW,	/* at once, after its class's remedy: a new
				 * access token (GRAPH_TOKEN), a full read
				 * (GRAPH_GONE) */
	GRAPH_RETRY_NEXT_RUN,	/* the next run: throttled past the budget,
				 * an outage, a write whose outcome is
				 * unknown */
	GRAPH_RETRY_NEVER	/* not without a person: sign in, consent,
				 * the configuration */
};

struct graph_err {
	enum graph_class cls;	/* what failed */
	enum graph_retry retry;	/* when to try again */
	int http;		/* HTTP status, 0 when none */
	int ambiguous;		/* a create may or may not have happened
				 * (decided by graph_judge alone) */
	double retry_after;	/* seconds, 0 when not given */
	long aadsts;		/* first of the identity platform's error_codes */
	/* The facts graph_judge weighs (callers use cls and retry): */
	int budget_spent;	/* the retry budget ran out */
	int exhausted;		/* still failing after every retry */
	int network;		/* the request never reached the service
				 * (connect, DNS, TLS handshake) */
	int token_endpoint;	/* the identity platform answered (or not) */
	/*
	 * Bounded copies for messages and classification.  A service code
	 * longer than 63 bytes matches no known code either way, and the
	 * request id (a GUID) is only shown; both are cut, never parsed.
	 * msg is one sanitised line, cut at a character boundary.
	 */
	char code[64];		/* service error code, or "" */
	char request_id[64];
	char msg[400];
};

/* The shared error code of a Graph error (util.h): a person's job
 * (login, configuration), the service for now, or the service down. */
int graph_errc(const struct graph_err *e);

struct graph_settings {
	const char *authority_url;	/* e.g. https://login.microsoftonline.com */
	const char *tenant;
	const char *graph_url;		/* e.g. https://graph.microsoft.com/v1.0 */
	const char *client_id;
	const char *ca_file;		/* NULL: system store */
	const char *ca_path;		/* a hashed CA directory, or NULL */
	int timeout;			/* seconds per request */
	int retry_budget;		/* seconds of waiting per handle */
	int page_size;
	size_t max_response;		/* bytes; 0: the default (64 MiB) */
};

struct graph;

int graph_new(const struct graph_settings *s, struct graph **out,
    struct graph_err *err);
void graph_free(struct graph *g);

/* Counters for -v and status. */
struct graph_stats {
	int requests;		/* HTTP requests sent, batch envelopes count 1 */
	int token_requests;
	int retries;
	double waited;		/* seconds spent on Retry-After and backoff */
};
void graph_stats(const struct graph *g, struct graph_stats *st);

/* ---- identity platform ---- */

/*
 * A token response.  Tokens are opaque strings of any length (real access
 * tokens are 1-2.5 KB, 10 KB and more with group claims); a token holding
 * bytes an HTTP header cannot carry is refused, never sent.
 */
struct graph_tokens {
	char *access_token;
	char *refresh_token;	/* NULL when the server sent none */
	char *scope;
	char *tenant_id;	/* the id_token's tid, NULL without one */
	tt_time expires_at;
};
/* The tenant id of personal Microsoft accounts (entra-docs). */
#define GRAPH_CONSUMER_TENANT "9188040d-6c67-4c5b-b112-36a304b66dad"

void graph_tokens_free(struct graph_tokens *t);	/* wipes */

/* The device code grant. */
struct graph_devicecode {
	char *device_code;
	char *user_code;
	char *verification_uri;
	char *message;
	int interval;
	int expires_in;
};
void graph_devicecode_free(struct graph_devicecode *d);
int graph_devicecode_start(struct graph *g, const char *scopes,
    struct graph_devicecode *out, struct graph_err *err);
/* One poll: 0 done (tokens filled), 1 pending, 2 slow down, -1 error
 * (declined, expired, or any other failure). */
int graph_devicecode_poll(struct graph *g, const struct graph_devicecode *d,
    struct graph_tokens *out, struct graph_err *err);

/* The authorization URL for code + PKCE (new string). */
char *graph_authorize_url(struct graph *g, const char *scopes,
    const char *redirect_uri, const char *state, const char *challenge);
int graph_redeem_code(struct graph *g, const char *code,
    const char *redirect_uri, const char *verifier, const char *scopes,
    struct graph_tokens *out, struct graph_err *err);
int graph_refresh(struct graph *g, const char *refresh_token,
    const char *scopes, struct graph_tokens *out, struct graph_err *err);

/* The access token used from now on (copied; the old copy is wiped).
 * Returns -1 (and keeps no token) when it holds anything but visible
 * ASCII: CR, LF or NUL would become extra request headers. */
int graph_set_token(struct graph *g, const char *access_token);
/* Whether s can be sent as a bearer token (visible ASCII, not empty). */
int graph_token_ok(const char *s, size_t len);

/* ---- directory and calendars ---- */

struct graph_me {
	char *id;
	char *upn;
	char *mail;		/* NULL when the account has none */
	char *display_name;
};
void graph_me_free(struct graph_me *m);
int graph_get_me(struct graph *g, struct graph_me *out, struct graph_err *err);
/* The mailbox's time zone as the service names it (mostly a Windows name:
 * see tz_windows.h); needs MailboxSettings.Read.  *zone is the caller's. */
int graph_mailbox_zone(struct graph *g, char **zone, struct graph_err *err);

/*
 * A calendar the account can reach.  `path` is how a person names it:
 * "Calendar", "Other calendars/Clinic rota", "Front Desk Team (group)".
 * Group calendars have kind GRAPH_CAL_GROUP and `container` = group id;
 * `limited` is set when the directory gave the group "with limited
 * information" (only its id: the app may not read groups yet), and then
 * name is the id.  A user calendar whose owner is someone else (shared
 * with the user) has `shared` set.
 */
enum graph_cal_kind { GRAPH_CAL_USER = 0, GRAPH_CAL_GROUP = 1 };

/*
 * Where a calendar is, as every call about its events names it: the one
 * reference every URL (graph_p.h graph_cal_base) and every mailbox key
 * (Outlook's unit of concurrency: "me", or "group:<group id>") are
 * derived from.  A user calendar by its id (is_default: the user's
 * default calendar, which has its own paths), a group calendar by the
 * group's id.  The strings are borrowed.
 */
struct graph_cal {
	enum graph_cal_kind kind;
	const char *id;
	int is_default;
};
/* The mailbox key of a calendar (new string; NULL: out of memory). */
char *graph_cal_mailbox(const struct graph_cal *c);

struct graph_calendar {
	enum graph_cal_kind kind;
	char *id;		/* calendar id (group calendars: the group's) */
	char *container;	/* calendar group id, or the M365 group id */
	char *name;
	char *path;
	char *owner;		/* owner's address, NULL when not given */
	int can_edit;
	int is_default;
	int shared;
	int limited;
};
/* The user's own calendars, sub-calendars and calendars shared with the
 * user.  cb returns non-zero to stop. */
int graph_list_calendars(struct graph *g,
    int (*cb)(void *, const struct graph_calendar *), void *arg,
    struct graph_err *err);
/*
 * The user's Microsoft 365 groups, each as its group calendar, through
 * /me/memberOf (User.Read suffices; the filter needs ConsistencyLevel:
 * eventual and $count=true).  Without a permission to read groups they
 * come "with limited information" (limited set).
 */
int graph_list_groups(struct graph *g,
    int (*cb)(void *, const struct graph_calendar *), void *arg,
    struct graph_err *err);


/* ---- reading events: delta rounds and calendar views ---- */

/* An event's showAs (Graph's freeBusyStatus) as one bit; block_showas in
 * the configuration is a set of them (free never blocks). */
enum {
	SHOWAS_BUSY = 1 << 0,
	SHOWAS_OOF = 1 << 1,
	SHOWAS_TENTATIVE = 1 << 2,
	SHOWAS_WORKINGELSEWHERE = 1 << 3,
	SHOWAS_UNKNOWN = 1 << 4,
	SHOWAS_FREE = 1 << 5	/* recognised, never allowed in block_showas */
};
/* showAs name to SHOWAS_ bit, 0 when unknown (case-insensitive). */
unsigned graph_showas_bit(const char *name);
/* The text form of a showAs bit set, e.g. "busy,oof". */
void graph_showas_str(unsigned bits, char *buf, size_t len);

/*
 * One event as read from a page, in plain fields.  Strings are borrowed
 * for the duration of the page callback; text is sanitised and bounded.
 */
struct graph_event {
	const char *id;
	int removed;		/* an @removed entry: only the id is set */
	const char *invalid;	/* NULL, or the field that could not be read */
	char *subject;		/* sanitised; owned by the page */
	tt_time start, end;	/* timed events: instants */
	int all_day;		/* all-day: floating dates, [sdate, edate) */
	int sy, sm, sd, ey, em, ed;
	unsigned showas;	/* one SHOWAS_ bit */
	char showas_name[24];
	int cancelled;
	const char *last_modified;	/* lastModifiedDateTime, or NULL */
	const char *change_key;
	const char *transaction_id;
	const char *type;	/* singleInstance, occurrence, exception */
	/* The fields a pushed event's owner checks (borrowed, NULL when
	 * absent): sensitivity, location's displayName, the body's text. */
	const char *sensitivity, *location, *body;
	int online;		/* isOnlineMeeting */
	const char *join_url;	/* onlineMeeting.joinUrl, or NULL */
	/*
	 * Recurring meetings.  In calendarView/delta an "occurrence" comes
	 * sparse: id, type, seriesMasterId, start, end and nothing else
	 * (microsoft-graph-docs #1716, #7632, #22197); `sparse` is set and
	 * the other fields must come from the series master, which the
	 * round also carries (type "seriesMaster", never a block).
	 */
	const char *series_master_id;
	int sparse;
};

/* What an occurrence takes from its series master. */
struct graph_series {
	char *subject;
	char *showas;		/* as the service names it */
	char *last_modified;	/* NULL when the service did not give it */
	int all_day, cancelled;
	int gone;		/* 404: the series no longer exists */
};
void graph_series_free(struct graph_series *s);
/* Read a series master of a calendar. */
int graph_get_series(struct graph *g, const struct graph_cal *cal,
    const char *master_id, struct graph_series *out, struct graph_err *err);
/* Release what graph_parse_event allocated in ev. */
void graph_event_clear(struct graph_event *ev);

struct graph_round_cb {
	/*
	 * Each page's events, in order.  `final` is set on the last page of
	 * a complete round; `delta_link` is then the link for the next round
	 * (NULL for a plain calendar view).  Return non-zero to abort.
	 */
	int (*page)(void *arg, const struct graph_event *ev, size_t n,
	    int final, const char *delta_link);
	/* The round ended: err NULL when it completed. */
	void (*done)(void *arg, const struct graph_err *err);
	void *arg;
};

/*
 * The URL of the first request of a round over [ws, we) of a calendar:
 * delta when `delta`, else a plain calendarView.  New string.
 */
char *graph_view_url(struct graph *g, const struct graph_cal *cal,
    int delta, tt_time ws, tt_time we);
/*
 * Start a round of a calendar at url (from graph_view_url, or a stored
 * deltaLink).  The callbacks run inside graph_run().  A nextLink that
 * repeats ends the round with a protocol error.
 */
int graph_round(struct graph *g, const struct graph_cal *cal,
    const char *url, const struct graph_round_cb *cb, struct graph_err *err);

/* Whether url may be followed as a nextLink/deltaLink: on the Graph
 * root's origin, not empty, at most GRAPH_LINK_MAX bytes, no blanks or
 * control characters. */
#define GRAPH_LINK_MAX 65536
int graph_link_ok(const struct graph *g, const char *url);

/* Run everything submitted until it is done. */
void graph_run(struct graph *g);

/* ---- writing events ---- */

/* The extended property that marks our events; its value is
 * "<install id>.<profile id>:<appointment id>" (sync.c).  One fixed GUID
 * and name (named properties are a limited per-mailbox resource). */
#define GRAPH_MARKER_PROP \
	"String {2f6b5ae5-9c1d-4a57-9f2e-5b3d7c1e8a40} Name TimeTapApptId"

enum graph_write_op { GW_CREATE, GW_UPDATE, GW_DELETE, GW_LOOKUP };

/*
 * One write (or a lookup by marker).  The caller fills the inputs; graph
 * fills the results.  Result strings are owned by the write and released
 * by graph_write_clear().
 */
struct graph_write {
	enum graph_write_op op;
	struct graph_cal cal;
	const char *event_id;	/* update, delete */
	const char *subject;	/* create, update */
	const char *body;	/* plain text */
	tt_time start, end;
	int is_private, online;
	int send_body;		/* update: include the body (a body PATCH can
				 * regenerate a Teams link: only when it changed) */
	const char *txn_id;	/* create */
	const char *marker;	/* create, lookup: the appointment id */
	void *user;		/* the caller's */
	/* results */
	struct graph_err err;	/* cls GRAPH_OK on success */
	int gone;		/* 404: the event is not there */
	int found;		/* lookup: events carrying the marker */
	char *new_id;		/* create; lookup: the first found */
	char *change_key;
	char *join_url;		/* create/update of an online meeting */
};
void graph_write_clear(struct graph_write *w);
/* A delete of event_id on a calendar, with its own copies of the strings
 * and of `label` (kept in user, for messages); NULL: out of memory.
 * graph_delete_free releases it. */
struct graph_write *graph_delete_new(const struct graph_cal *cal,
    const char *event_id, const char *label);
void graph_delete_free(struct graph_write *w);
/* An array of n such deletes, and the array itself. */
void graph_deletes_free(struct graph_write **w, size_t n);

/*
 * Send writes in $batch requests of up to GRAPH_BATCH_MAX, grouped by
 * mailbox, at most GRAPH_MAX_INFLIGHT batches in flight per mailbox.
 * Items throttled inside a batch are sent again after their own
 * Retry-After, within the retry budget.  batch_done(arg, w, n) is called
 * as each batch finishes, with the writes it settled.  Returns when all
 * are done.
 */
void graph_writes(struct graph *g, struct graph_write **w, size_t n,
    void (*batch_done)(void *, struct graph_write **, size_t), void *arg);

/*
 * Dry mode, for sync --dry-run, from now on until graph_free():
 * graph_writes() sends no create, update or delete but settles each one
 * itself as the service does on success -- a create gets a made-up id
 * ("dry-run-N") and changeKey, and a Teams link when it is an online
 * meeting; an update a changeKey and no new link; a delete nothing.
 * Lookups, which only read, are sent as usual, as are all other reads
 * and token requests.
 */
void graph_set_dry(struct graph *g);

/*
 * Every event of a calendar whose marker value starts with `prefix` (the
 * owner's: this install and profile), whatever its date (for stop
 * --purge-remote): cb(arg, event_id) per event.
 */
int graph_find_marked(struct graph *g, const struct graph_cal *cal,
    const char *prefix, int (*cb)(void *, const char *), void *arg,
    struct graph_err *err);

/* ---- doctor ---- */

/*
 * The Date header of the first response from Graph (identity 0) or from
 * the identity platform (1), and the host's clock when it arrived: 1 and
 * both filled, 0 when no such response came yet.  Date has whole seconds
 * (RFC 9110 s.6.6.1 IMF-fixdate).
 */
int graph_date(const struct graph *g, int identity, time_t *date, time_t *at);

#endif
