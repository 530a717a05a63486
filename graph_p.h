/* SPDX-License-Identifier: ISC */
/*
 * graph_p.h -- the insides of graph.c shared with its own parts (the delta
 * and batch code in graph_sync.c) and its unit test; not for other modules.
 * These functions use jansson and libcurl types.
 */
#ifndef TT_GRAPH_P_H
#define TT_GRAPH_P_H

#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "graph.h"

/* One HTTP request and, once done, its response. */
struct greq {
	struct graph *g;
	struct greq *next;		/* in the queue */
	char method[8];
	char *url;
	char *req_body;			/* NULL: none */
	int secret_body;		/* wipe req_body when freeing */
	int is_token;			/* identity platform: no bearer */
	int idempotent;			/* a POST that is safe to repeat */
	int no_retry;
	int page_size;			/* > 0: Prefer odata.maxpagesize */
	int eventual;			/* ConsistencyLevel: eventual */
	char *mailbox;			/* concurrency key; NULL: "me" */
	int weight;			/* concurrent requests it counts for */
	char what[128];			/* for messages */
	int attempts;
	double not_before;		/* monotonic time of the next try */
	CURL *easy;
	struct curl_slist *headers;
	/* response */
	long status;
	char *body;
	size_t len, cap;
	int too_large;
	double retry_after;
	char request_id[64];		/* shown only: see graph_err */
	struct graph_err err;
	int finished;
	/* completion: err is NULL on a 2xx */
	void (*done)(struct greq *, const struct graph_err *);
	void *arg;
	long aux;			/* caller's use */
	/* Called after each piece of the body arrives (may be NULL): the
	 * caller may look at what came so far (r->body, r->len). */
	void (*peek)(struct greq *);
	int peeked;			/* the peek's own flag, 0 per attempt */
	/* Where the request is, for greq_cancel: */
	enum { GREQ_OUT, GREQ_QUEUED, GREQ_RUNNING, GREQ_ANSWERED } where;
	int cancelled;			/* answered, to be freed unseen */
};

int gerr(struct graph_err *err, enum graph_class cls, int http,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
struct greq *greq_new(struct graph *g, const char *method, const char *url);
void greq_free(struct greq *r);
/* Set r's mailbox (the concurrency key); 0, or -1 out of memory. */
int greq_mailbox(struct greq *r, const char *key);
void greq_submit(struct graph *g, struct greq *r);
/* Take r back wherever it is (queued, in flight, answered but not yet
 * handed to its callback, or held by its caller) and free it; its
 * callback is never called. */
void greq_cancel(struct graph *g, struct greq *r);
/* The HTTP status of r's answer so far (0 before its headers). */
long greq_status_now(struct greq *r);
int greq_run(struct graph *g, struct greq *r, struct graph_err *err);
json_t *greq_json(struct greq *r, struct graph_err *err);
/* The same for a page of events: bad UTF-8 and NULs stay per item. */
json_t *greq_json_page(struct greq *r, struct graph_err *err);
int graph_wait(struct graph *g);
char *graph_url(struct graph *g, const char *path);
/*
 * Where a calendar is, the one place its paths start from: "/groups/{id}"
 * (a group's calendar), "/me/calendars/{id}", or for the default calendar
 * "/me/calendar" ("/me" for its views).  Every URL of a calendar's events
 * is this plus "/events..." or "/calendarView..." (new string; NULL: out
 * of memory).  Events are always addressed through their calendar: one on
 * a calendar someone shared is 404 under /me/events/{id}.
 */
char *graph_cal_base(const struct graph_cal *cal, int view);
json_t *graph_get_json(struct graph *g, const char *url, const char *what,
    struct graph_err *err);
/* A text member sanitised whole; an identifier member verbatim or NULL.
 * New strings. */
char *jstrdup(json_t *o, const char *key);
char *jid(json_t *o, const char *key);
int graph_each(struct graph *g, const char *first, const char *what,
    int (*each)(void *, json_t *), void *arg, struct graph_err *err);
/* The same, every request with ConsistencyLevel: eventual (directory
 * advanced queries). */
int graph_each_eventual(struct graph *g, const char *first,
    const char *what, int (*each)(void *, json_t *), void *arg,
    struct graph_err *err);
char *graph_form(const char *const *kv, size_t n);
const struct graph_settings *graph_settings(const struct graph *g);
/* Charge a wait to the retry budget. */
void graph_add_wait(struct graph *g, double seconds);

/* Dry mode (graph_set_dry): whether the handle is dry; the number of a
 * write answered without the service, 1, 2, ... */
int graph_is_dry(const struct graph *g);
unsigned graph_dry_write(struct graph *g);

/* Pure parts, unit-tested. */
int graph_parse_tokens(json_t *j, struct graph_tokens *out,
    struct graph_err *err);
void graph_parse_event(json_t *item, struct graph_event *ev);
double graph_parse_retry_after(const char *v, time_t now);
void graph_classify(struct graph_err *err, int is_token);
/* Fill a failed result's retry field and whether a create's outcome is
 * unknown (the one place: see graph.c). */
void graph_judge(struct graph_err *err, int is_create);

/*
 * The steps of graph_list_calendars and graph_list_groups that read the
 * service's answers (graph.c), kept apart so that the fuzz harnesses
 * (test/fuzz) feed them pages without a network.
 */
int graph_page_items(json_t *j, const char *what,
    int (*each)(void *, json_t *), void *arg, struct graph_err *err);

/* What graph_list_calendars keeps while it reads the listings. */
struct calgroup {
	char *id, *name;
	int is_default;		/* holds the default calendar */
};

/* One calendar as listed, and the calendar group it was listed in. */
struct calitem {
	json_t *item;
	size_t grp;		/* index into groups, or (size_t)-1 */
};

struct cal_ctx {
	struct calgroup *groups;
	size_t ngroups;
	struct calitem *items;
	size_t nitems;
	size_t cur;		/* the group being listed */
	struct graph_err *err;
};
/* Items of a calendarGroups page and of a calendars page (of the group
 * c->cur, (size_t)-1 for /me/calendars): each as graph_each wants. */
int graph_cal_group(void *c, json_t *item);
int graph_cal_item(void *c, json_t *item);
/* Report every calendar kept to cb (0, or -1 with c->err); then
 * graph_cal_clear frees them. */
int graph_cal_report(struct cal_ctx *c,
    int (*cb)(void *, const struct graph_calendar *), void *arg);
void graph_cal_clear(struct cal_ctx *c);

/* What graph_list_groups hands each memberOf item. */
struct group_ctx {
	int (*cb)(void *, const struct graph_calendar *);
	void *arg;
	struct graph_err *err;
};
/* One item of a /me/memberOf page (a struct group_ctx *). */
int graph_group_item(void *c, json_t *item);

/* Fill err from r's error response (Graph or identity platform): code,
 * message, AADSTS number; the class is the caller's (graph_classify). */
void graph_error_body(struct greq *r, struct graph_err *err);
/* A page of events in r's answer (graph_events.c: the part of a round
 * that reads it); its events are freed with graph_events_free, then the
 * page with graph_page_free (never json_decref: it may be in the page
 * arena).  graph_page_arena_free gives the arena's memory back. */
int graph_events_page(struct greq *r, json_t **page,
    struct graph_event **evs, size_t *n, const char **next,
    const char **delta, struct graph_err *err);
void graph_events_free(struct graph_event *evs, size_t n);
void graph_page_free(json_t *page);
void graph_page_arena_free(void);
/* A $batch answer settling its writes (graph_writes.c). */
int graph_batch_answer(struct greq *r, struct graph_write **w, size_t n,
    struct graph_err *err);
/* A device code answer (borrowed; graph_devicecode_start). */
int graph_parse_devicecode(json_t *j, struct graph_devicecode *out,
    struct graph_err *err);

#endif
