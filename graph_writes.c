/* SPDX-License-Identifier: ISC */
/*
 * graph_writes.c -- creating, updating, deleting and finding our events
 * with JSON batching.
 *
 * State: in memory for the duration of graph_writes() only.  Recovery
 * rule: an item whose outcome is unknown (the batch envelope failed after
 * it may have reached the service, or a 5xx on a create) is reported as
 * ambiguous and never re-sent here: the caller's stored intent makes the
 * next pass look it up first.  A 429 on an item is refused work, so that
 * item alone is sent again after its Retry-After.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "graph.h"
#include "graph_p.h"

struct batch {
	struct graph_write **w;
	size_t n;
	void (*batch_done)(void *, struct graph_write **, size_t);
	void *arg;
	char *mailbox;		/* "me" or "group:<id>" */
};

void
graph_write_clear(struct graph_write *w)
{
	if (w == NULL)
		return;
	free(w->new_id);
	free(w->change_key);
	free(w->join_url);
	w->new_id = w->change_key = w->join_url = NULL;
	memset(&w->err, 0, sizeof(w->err));
	w->gone = w->found = 0;
}

struct graph_write *
graph_delete_new(const struct graph_cal *cal, const char *event_id,
    const char *label)
{
	struct graph_write *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->op = GW_DELETE;
	w->cal = *cal;
	w->cal.id = strdup(cal->id);
	w->event_id = strdup(event_id);
	w->user = strdup(label);
	if (w->cal.id == NULL || w->event_id == NULL || w->user == NULL) {
		graph_delete_free(w);
		return NULL;
	}
	return w;
}

void
graph_delete_free(struct graph_write *w)
{
	if (w == NULL)
		return;
	free((char *)(uintptr_t)w->cal.id);
	free((char *)(uintptr_t)w->event_id);
	free(w->user);
	graph_write_clear(w);
	free(w);
}

void
graph_deletes_free(struct graph_write **w, size_t n)
{
	size_t i;

	for (i = 0; w != NULL && i < n; i++)
		graph_delete_free(w[i]);
	free(w);
}

static char *
escaped(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *r;

	if (e == NULL)
		return NULL;
	r = strdup(e);
	curl_free(e);
	return r;
}

/* The relative URL of a write, as $batch wants it. */
static char *
item_url(const struct graph_write *w)
{
	struct graph_cal cal = w->cal;
	char *base, *ev = w->event_id ? escaped(w->event_id) : NULL, *u = NULL,
	    *flt = NULL;
	char fbuf[512];
	int r = -1;

	/* Updates and deletes by the calendar's id, also the default's. */
	if (w->op != GW_CREATE && w->op != GW_LOOKUP)
		cal.is_default = 0;
	base = graph_cal_base(&cal, 0);
	if (base == NULL)
		goto out;
	switch (w->op) {
	case GW_CREATE:
		r = asprintf(&u, "%s/events", base);
		break;
	case GW_UPDATE:
	case GW_DELETE:
		/* A 404 means "gone": never ask where the event is not. */
		if (ev != NULL)
			r = asprintf(&u, "%s/events/%s", base, ev);
		break;
	case GW_LOOKUP:
		snprintf(fbuf, sizeof(fbuf), "singleValueExtendedProperties/"
		    "Any(ep: ep/id eq '%s' and ep/value eq '%s')",
		    GRAPH_MARKER_PROP, w->marker);
		if ((flt = escaped(fbuf)) != NULL)
			r = asprintf(&u, "%s/events?$filter=%s"
			    "&$select=id,changeKey&$top=10", base, flt);
		break;
	}
out:
	free(base);
	free(ev);
	free(flt);
	return r < 0 ? NULL : u;
}

static json_t *
dtz(tt_time t)
{
	char buf[32];

	tt_fmt_utc(t, buf, sizeof(buf));
	buf[strlen(buf) - 1] = '\0';	/* the zone is in timeZone */
	return json_pack("{s:s, s:s}", "dateTime", buf, "timeZone", "UTC");
}

/* The event body: no attendees, ever (no invitation is sent). */
static json_t *
item_body(const struct graph_write *w)
{
	json_t *b;

	if (w->op != GW_CREATE && w->op != GW_UPDATE)
		return NULL;
	b = json_pack("{s:s, s:o, s:o, s:s, s:s, s:b}",
	    "subject", w->subject ? w->subject : "",
	    "start", dtz(w->start), "end", dtz(w->end),
	    "showAs", "busy",
	    "sensitivity", w->is_private ? "private" : "normal",
	    "isOnlineMeeting", w->online);
	if (b == NULL)
		return NULL;
	/* A PATCH with a body is reported to drop or regenerate the Teams
	 * link (microsoft-graph-docs #18896): sent only when it changed. */
	if (w->op == GW_CREATE || w->send_body)
		json_object_set_new(b, "body", json_pack("{s:s, s:s}",
		    "contentType", "text", "content", w->body ? w->body : ""));
	if (w->online)
		json_object_set_new(b, "onlineMeetingProvider",
		    json_string("teamsForBusiness"));
	if (w->op == GW_CREATE) {
		json_object_set_new(b, "transactionId", json_string(w->txn_id));
		json_object_set_new(b, "singleValueExtendedProperties",
		    json_pack("[{s:s, s:s}]", "id", GRAPH_MARKER_PROP, "value",
		    w->marker));
	}
	return b;
}

static void
settle_item(struct graph_write *w, json_t *resp)
{
	json_int_t status = json_integer_value(json_object_get(resp, "status"));
	json_t *body = json_object_get(resp, "body");
	json_t *hdrs = json_object_get(resp, "headers");

	memset(&w->err, 0, sizeof(w->err));
	w->err.http = (int)status;
	if (status >= 200 && status < 300) {
		json_t *jm;

		if (w->op == GW_LOOKUP) {
			json_t *v = json_object_get(body, "value"), *first;

			if (!json_is_array(v)) {
				gerr(&w->err, GRAPH_PROTOCOL, (int)status,
				    "lookup answer lacks 'value'");
				return;
			}
			w->found = (int)json_array_size(v);
			first = json_array_get(v, 0);
			if (first != NULL) {
				w->new_id = jid(first, "id");
				w->change_key = jid(first, "changeKey");
			}
			return;
		}
		if (w->op == GW_DELETE)
			return;
		if (!json_is_object(body) || (w->new_id = jid(body, "id")) ==
		    NULL) {
			gerr(&w->err, GRAPH_PROTOCOL, (int)status, "the event "
			    "written lacks 'id'");
			graph_judge(&w->err, w->op == GW_CREATE);
			return;
		}
		w->change_key = jid(body, "changeKey");
		jm = json_object_get(body, "onlineMeeting");
		if (json_is_object(jm))
			w->join_url = jstrdup(jm, "joinUrl");
		return;
	}
	/* An error: same classification as a plain response. */
	{
		json_t *e = json_object_get(body, "error");
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		const char *ra = json_string_value(json_object_get(hdrs,
		    "Retry-After"));

		if (ra == NULL)
			ra = json_string_value(json_object_get(hdrs,
			    "retry-after"));
		if (code)
			tt_sanitize(w->err.code, sizeof(w->err.code), code);
		w->err.retry_after = ra ? graph_parse_retry_after(ra,
		    time(NULL)) : 0;
		graph_classify(&w->err, 0);
		gerr(&w->err, w->err.cls, (int)status, "HTTP %d %s%s%.200s",
		    (int)status, w->err.code, msg ? ": " : "", msg ? msg : "");
		w->gone = status == 404;
		graph_judge(&w->err, w->op == GW_CREATE);
	}
}

/*
 * The answer of a $batch (r's body) settles its n writes, the item with
 * id "i" settling w[i]: 0, or -1 with err when the answer as a whole is
 * unusable (then no write is settled).  An item with no answer fails.
 */
int
graph_batch_answer(struct greq *r, struct graph_write **w, size_t n,
    struct graph_err *err)
{
	json_t *j, *resps, *item;
	size_t i, k;

	if ((j = greq_json(r, err)) == NULL)
		return -1;
	if (!json_is_array(resps = json_object_get(j, "responses"))) {
		json_decref(j);
		return gerr(err, GRAPH_PROTOCOL, 200, "batch answer lacks "
		    "'responses'");
	}
	/* Responses come in any order: match them by id. */
	for (i = 0; i < n; i++) {
		gerr(&w[i]->err, GRAPH_PROTOCOL, 200, "no answer for this item "
		    "in the batch");
		graph_judge(&w[i]->err, w[i]->op == GW_CREATE);
	}
	json_array_foreach(resps, k, item) {
		const char *id = json_string_value(json_object_get(item, "id"));
		char *end;
		unsigned long idx = id ? strtoul(id, &end, 10) : 0;

		if (id == NULL || *end != '\0' || idx >= n)
			continue;
		graph_write_clear(w[idx]);
		settle_item(w[idx], item);
	}
	json_decref(j);
	return 0;
}

static void batch_sent(struct greq *r, const struct graph_err *e);

static int
send_batch(struct graph *g, struct batch *b, double delay)
{
	json_t *reqs = json_array(), *env;
	struct greq *r;
	char *url, *body, id[24];
	size_t i;
	int idem = 1;

	for (i = 0; i < b->n; i++) {
		struct graph_write *w = b->w[i];
		char *u = item_url(w);
		json_t *item, *wb = item_body(w);

		if (u == NULL) {
			json_decref(wb);
			json_decref(reqs);
			return -1;
		}
		snprintf(id, sizeof(id), "%zu", i);
		item = json_pack("{s:s, s:s, s:s, s:{s:s}}", "id", id,
		    "method", w->op == GW_CREATE ? "POST" : w->op == GW_UPDATE ?
		    "PATCH" : w->op == GW_DELETE ? "DELETE" : "GET", "url", u,
		    "headers", "Prefer", "IdType=\"ImmutableId\", "
		    "outlook.timezone=\"UTC\", outlook.body-content-type=\"text\"");
		free(u);
		if (item == NULL) {
			json_decref(wb);
			json_decref(reqs);
			return -1;
		}
		if (wb != NULL) {
			json_object_set_new(json_object_get(item, "headers"),
			    "Content-Type", json_string("application/json"));
			json_object_set_new(item, "body", wb);
		}
		if (w->op == GW_CREATE)
			idem = 0;
		json_array_append_new(reqs, item);
	}
	env = json_pack("{s:o}", "requests", reqs);
	body = env ? json_dumps(env, JSON_COMPACT) : NULL;
	json_decref(env);
	url = graph_url(g, "/$batch");
	if (body == NULL || url == NULL || (r = greq_new(g, "POST", url)) ==
	    NULL) {
		free(body);
		free(url);
		return -1;
	}
	free(url);
	r->req_body = body;
	r->idempotent = idem;
	/* Outlook runs up to four items of an unordered batch at once. */
	r->weight = b->n < GRAPH_MAX_INFLIGHT ? (int)b->n : GRAPH_MAX_INFLIGHT;
	if (greq_mailbox(r, b->mailbox) != 0) {
		greq_free(r);
		return -1;
	}
	snprintf(r->what, sizeof(r->what), "writing %zu event%s", b->n,
	    b->n == 1 ? "" : "s");
	r->done = batch_sent;
	r->arg = b;
	if (delay > 0) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		r->not_before = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 +
		    delay;
	}
	greq_submit(g, r);
	return 0;
}

static void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	free(b->w);
	free(b->mailbox);
	free(b);
}

static void
batch_sent(struct greq *r, const struct graph_err *e)
{
	struct batch *b = r->arg, *again = NULL;
	struct graph *g = r->g;
	struct graph_stats st;
	struct graph_err err = { 0 };
	double delay = 0;
	size_t i, k;

	if (e != NULL)
		err = *e;
	else
		graph_batch_answer(r, b->w, b->n, &err);
	if (err.cls != GRAPH_OK) {
		/* The whole batch failed: creates may or may not be done. */
		for (i = 0; i < b->n; i++) {
			b->w[i]->err = err;
			graph_judge(&b->w[i]->err, b->w[i]->op == GW_CREATE);
		}
	}
	/* Throttled items go again in a new batch, after the longest wait. */
	for (i = 0; i < b->n; i++) {
		if (b->w[i]->err.http != 429 || err.cls != GRAPH_OK)
			continue;
		if (again == NULL && (again = calloc(1, sizeof(*again))) != NULL) {
			*again = *b;
			again->w = calloc(b->n, sizeof(*again->w));
			again->mailbox = strdup(b->mailbox);
			again->n = 0;
		}
		if (again == NULL || again->w == NULL || again->mailbox == NULL)
			break;
		if (b->w[i]->err.retry_after > delay)
			delay = b->w[i]->err.retry_after;
		again->w[again->n++] = b->w[i];
	}
	if (again != NULL) {
		graph_stats(g, &st);
		if (delay <= 0)
			delay = 1;
		if (st.waited + delay > (double)graph_settings(g)->retry_budget) {
			for (i = 0; i < again->n; i++) {
				again->w[i]->err.budget_spent = 1;
				graph_judge(&again->w[i]->err,
				    again->w[i]->op == GW_CREATE);
			}
			batch_free(again);
			again = NULL;
		} else {
			graph_add_wait(g, delay);
			/* Settle the others now; the throttled ones later. */
			k = 0;
			for (i = 0; i < b->n; i++)
				if (b->w[i]->err.http != 429)
					b->w[k++] = b->w[i];
			b->n = k;
			for (i = 0; i < again->n; i++)
				graph_write_clear(again->w[i]);
			if (send_batch(g, again, delay) != 0) {
				batch_free(again);
				again = NULL;
			}
		}
	}
	if (b->n > 0)
		b->batch_done(b->arg, b->w, b->n);
	batch_free(b);
	greq_free(r);
}

/* Send writes in batches per mailbox (graph_writes). */
static void
send_writes(struct graph *g, struct graph_write **w, size_t n,
    void (*batch_done)(void *, struct graph_write **, size_t), void *arg)
{
	size_t i, j, done = 0;
	char *taken = calloc(n ? n : 1, 1);

	if (taken == NULL)
		return;
	/* Batches are per mailbox: the user's, or each group's. */
	while (done < n) {
		struct batch *b = calloc(1, sizeof(*b));
		const char *box = NULL;

		if (b == NULL || (b->w = calloc(GRAPH_BATCH_MAX,
		    sizeof(*b->w))) == NULL) {
			free(b);
			break;
		}
		b->batch_done = batch_done;
		b->arg = arg;
		for (i = 0; i < n && b->n < GRAPH_BATCH_MAX; i++) {
			char *key;

			if (taken[i])
				continue;
			if ((key = graph_cal_mailbox(&w[i]->cal)) == NULL)
				break;
			if (box == NULL) {
				b->mailbox = key;
				box = b->mailbox;
			} else if (strcmp(box, key) != 0) {
				free(key);
				continue;
			} else
				free(key);
			taken[i] = 1;
			b->w[b->n++] = w[i];
			done++;
		}
		if (b->n == 0) {	/* out of memory */
			batch_free(b);
			break;
		}
		if (send_batch(g, b, 0) != 0) {
			for (j = 0; j < b->n; j++)
				gerr(&b->w[j]->err, GRAPH_LOCAL, 0, "cannot "
				    "build the batch request");
			batch_done(arg, b->w, b->n);
			batch_free(b);
		}
	}
	free(taken);
	graph_wait(g);
}

/*
 * A write settled without the service (dry mode), as a success would be:
 * the fields settle_item() reads from the answer, made up.
 */
static void
dry_settle(struct graph *g, struct graph_write *w)
{
	unsigned k = graph_dry_write(g);
	int oom = 0;

	graph_write_clear(w);
	switch (w->op) {
	case GW_CREATE:
		if (asprintf(&w->new_id, "dry-run-%u", k) < 0)
			w->new_id = NULL;
		/* A create of an online meeting brings its link back. */
		if (w->online && asprintf(&w->join_url, "https://teams.invalid/"
		    "l/meetup-join/dry-run-%u", k) < 0)
			w->join_url = NULL;
		oom = w->new_id == NULL || (w->online && w->join_url == NULL);
		/* FALLTHROUGH */
	case GW_UPDATE:
		w->change_key = strdup("dry-run");
		oom = oom || w->change_key == NULL;
		break;
	case GW_DELETE:
	case GW_LOOKUP:
		break;
	}
	if (oom)
		gerr(&w->err, GRAPH_LOCAL, 0, "out of memory");
}

void
graph_writes(struct graph *g, struct graph_write **w, size_t n,
    void (*batch_done)(void *, struct graph_write **, size_t), void *arg)
{
	struct graph_write **look, **mine;
	size_t i, nm = 0, nl = 0;

	if (!graph_is_dry(g)) {
		send_writes(g, w, n, batch_done, arg);
		return;
	}
	/* Dry: the writes are settled here, at once, as one batch; the
	 * lookups (reads) go to the service. */
	look = calloc(n ? n : 1, sizeof(*look));
	mine = calloc(n ? n : 1, sizeof(*mine));
	if (look == NULL || mine == NULL) {
		for (i = 0; i < n; i++)
			gerr(&w[i]->err, GRAPH_LOCAL, 0, "out of memory");
		if (n > 0)
			batch_done(arg, w, n);
		free(look);
		free(mine);
		return;
	}
	for (i = 0; i < n; i++) {
		if (w[i]->op == GW_LOOKUP) {
			look[nl++] = w[i];
			continue;
		}
		dry_settle(g, w[i]);
		mine[nm++] = w[i];
	}
	if (nm > 0)
		batch_done(arg, mine, nm);
	if (nl > 0)
		send_writes(g, look, nl, batch_done, arg);
	free(look);
	free(mine);
}
struct marked {
	const char *prefix;
	int (*cb)(void *, const char *);
	void *arg;
};

/* An event whose marker starts with the owner's prefix: ours. */
static int
marked_item(void *arg, json_t *item)
{
	struct marked *m = arg;
	const char *id = json_string_value(json_object_get(item, "id"));
	json_t *props = json_object_get(item, "singleValueExtendedProperties"), *p;
	size_t i;

	json_array_foreach(props, i, p) {
		const char *v = json_string_value(json_object_get(p, "value"));

		if (id != NULL && v != NULL && strncmp(v, m->prefix,
		    strlen(m->prefix)) == 0)
			return m->cb(m->arg, id);
	}
	return 0;
}

int
graph_find_marked(struct graph *g, const struct graph_cal *c,
    const char *prefix, int (*cb)(void *, const char *), void *arg,
    struct graph_err *err)
{
	struct marked m = { prefix, cb, arg };
	char fbuf[512], xbuf[512], *flt, *exp, *cal, *path = NULL, *url;
	int rc = -1;

	/* The filter finds every marked event; the marker's value (read
	 * with $expand) says whose it is. */
	snprintf(fbuf, sizeof(fbuf), "singleValueExtendedProperties/Any(ep: "
	    "ep/id eq '%s' and ep/value ne '')", GRAPH_MARKER_PROP);
	snprintf(xbuf, sizeof(xbuf), "singleValueExtendedProperties($filter="
	    "id eq '%s')", GRAPH_MARKER_PROP);
	flt = escaped(fbuf);
	exp = escaped(xbuf);
	cal = graph_cal_base(c, 0);
	if (flt != NULL && exp != NULL && cal != NULL)
		rc = asprintf(&path, "%s/events?$filter=%s&$expand=%s"
		    "&$select=id&$top=100", cal, flt, exp);
	free(flt);
	free(exp);
	free(cal);
	url = rc >= 0 && path ? graph_url(g, path) : NULL;
	free(path);
	if (url == NULL)
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	rc = graph_each(g, url, "finding our events", marked_item, &m, err);
	free(url);
	return rc;
}
