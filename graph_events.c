/* SPDX-License-Identifier: ISC */
/*
 * graph_events.c -- delta rounds and calendar views: paging, loop
 * detection and turning event JSON into struct graph_event.
 *
 * State: a round lives in memory from its first request to its last page;
 * nothing is persistent here (the caller stores the deltaLink).  Recovery
 * rule: a round that fails reports the error and nothing else; pages
 * already delivered stay delivered, the caller decides what they mean.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "graph.h"
#include "graph_p.h"

#define MAX_PAGES 100000	/* a round longer than this is a loop */
#define AHEAD_MAX 3		/* pages of a round asked ahead, at most */

/*
 * The DOM of a page of events lives in an arena: jansson allocates a few
 * small blocks per member (about 1.8 KB per event), and freeing them one
 * by one was a sixth of a first pass.  The page is read in one piece, its
 * events borrow their strings from it, and graph_page_free() takes it all
 * back at once, keeping the chunks for the next page.  One page at a time
 * is in the arena; a page read while another is held (a caller reading
 * pages from a page callback) is an ordinary jansson tree.
 */
#define ARENA_CHUNK (256 * 1024)
#define ARENA_ALIGN 16

struct arena_chunk {
	struct arena_chunk *next;
	size_t size, used;
	max_align_t data[];
};

static struct {
	struct arena_chunk *chunks;	/* the current one first */
	struct arena_chunk *spare;	/* kept from earlier pages */
	json_t *page;			/* the page held, or NULL */
	int failed;			/* an allocation failed */
} arena;

static void *
arena_alloc(size_t n)
{
	struct arena_chunk *c = arena.chunks, **pp;
	size_t want;

	n = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (c != NULL && c->size - c->used >= n) {
		void *p = (char *)c->data + c->used;

		c->used += n;
		return p;
	}
	/* A spare chunk big enough, else a new one. */
	for (pp = &arena.spare; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->size >= n)
			break;
	if ((c = *pp) != NULL)
		*pp = c->next;
	else {
		want = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		if (want > SIZE_MAX - sizeof(*c) ||
		    (c = malloc(sizeof(*c) + want)) == NULL) {
			arena.failed = 1;
			return NULL;
		}
		c->size = want;
	}
	c->used = n;
	c->next = arena.chunks;
	arena.chunks = c;
	return c->data;
}

static void
arena_free(void *p)
{
	(void)p;	/* all at once, in graph_page_free() */
}

/* Every chunk back to the spares (or to malloc, with all). */
static void
arena_reset(int all)
{
	struct arena_chunk *c;

	while ((c = arena.chunks) != NULL) {
		arena.chunks = c->next;
		c->next = arena.spare;
		arena.spare = c;
	}
	while (all && (c = arena.spare) != NULL) {
		arena.spare = c->next;
		free(c);
	}
	arena.page = NULL;
	arena.failed = 0;
}

void
graph_page_free(json_t *page)
{
	if (page != NULL && page == arena.page)
		arena_reset(0);
	else
		json_decref(page);
}

void
graph_page_arena_free(void)
{
	if (arena.page == NULL)
		arena_reset(1);
}

/* r's answer as a page in the arena when the arena is free. */
static json_t *
page_load(struct greq *r, struct graph_err *err)
{
	json_t *j;

	if (arena.page != NULL)
		return greq_json_page(r, err);
	json_set_alloc_funcs(arena_alloc, arena_free);
	j = greq_json_page(r, err);
	json_set_alloc_funcs(malloc, free);
	if (j == NULL || arena.failed) {
		arena_reset(0);
		if (j != NULL)
			gerr(err, GRAPH_LOCAL, 0, "out of memory");
		return NULL;
	}
	return arena.page = j;
}

struct round {
	struct graph_round_cb cb;
	char *mailbox;
	uint64_t *seen;		/* hashes of the nextLinks followed */
	size_t nseen, capseen;
	int pages;
	/*
	 * Loops under fresh links: the same page served again and again
	 * with a new $skiptoken each time (msgraph-sdk-dotnet #3082).  The
	 * ids of the round's items, hashed, in an open-addressing set (0 is
	 * a free slot; capids a power of two, at most half full): pages that
	 * bring nothing new in a row, or too many empty pages, end the round.
	 */
	uint64_t *ids;
	size_t nids, capids;
	int stale, empty;
	int page_size;		/* asked per page; smaller after a slow page */
	/*
	 * The next pages, asked as soon as each nextLink shows at the head
	 * of a page still arriving (Microsoft's pages name it before
	 * "value": delta-query-events.md), oldest first, at most AHEAD_MAX.
	 * The oldest is taken when the page before it is read and names the
	 * same link, else all are cancelled; an answer that comes before its
	 * turn waits here (answered, failed, err).
	 */
	struct ahead {
		struct greq *r;
		char *url;
		int answered, failed;
		struct graph_err err;
	} ahead[AHEAD_MAX];
	int nahead;
	struct greq *last;	/* the request round_submit made */
};

/* The showAs names Graph uses (freeBusyStatus), as SHOWAS_ bits. */
static const struct {
	const char *name;
	unsigned bit;
} showas_names[] = {
	{ "busy", SHOWAS_BUSY },
	{ "oof", SHOWAS_OOF },
	{ "tentative", SHOWAS_TENTATIVE },
	{ "workingElsewhere", SHOWAS_WORKINGELSEWHERE },
	{ "unknown", SHOWAS_UNKNOWN },
	{ "free", SHOWAS_FREE },
};

unsigned
graph_showas_bit(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(showas_names) / sizeof(showas_names[0]); i++)
		if (strcasecmp(name, showas_names[i].name) == 0)
			return showas_names[i].bit;
	return 0;
}

void
graph_showas_str(unsigned bits, char *buf, size_t len)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < sizeof(showas_names) / sizeof(showas_names[0]); i++) {
		if (!(bits & showas_names[i].bit))
			continue;
		if (buf[0] != '\0')
			strlcat(buf, ",", len);
		strlcat(buf, showas_names[i].name, len);
	}
}

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

#define STALE_PAGES 2		/* pages in a row with only known items */
#define EMPTY_PAGES 50		/* empty pages in a row with a nextLink */

/* Add v to the set; 1 when it was there, 0 when added, -1 out of memory. */
static int
ids_add(struct round *rd, uint64_t v)
{
	size_t i, mask;

	if (v == 0)
		v = 1;	/* 0 marks a free slot */
	if ((rd->nids + 1) * 2 > rd->capids) {
		size_t cap = rd->capids ? rd->capids * 2 : 1024, j;
		uint64_t *n;

		if (cap > SIZE_MAX / sizeof(*n) / 2 ||
		    (n = calloc(cap, sizeof(*n))) == NULL)
			return -1;
		for (j = 0; j < rd->capids; j++) {
			uint64_t w = rd->ids[j];

			if (w == 0)
				continue;
			for (i = w & (cap - 1); n[i] != 0; i = (i + 1) & (cap - 1))
				;
			n[i] = w;
		}
		free(rd->ids);
		rd->ids = n;
		rd->capids = cap;
	}
	mask = rd->capids - 1;
	for (i = v & mask; rd->ids[i] != 0; i = (i + 1) & mask)
		if (rd->ids[i] == v)
			return 1;
	rd->ids[i] = v;
	rd->nids++;
	return 0;
}

/*
 * Note the page's ids; returns 1 when the page looks like a repeat (it
 * brought no id the round had not seen), 0 otherwise, -1 out of memory.
 * Each id costs one look into the set, however long the round.
 */
static int
page_repeats(struct round *rd, const struct graph_event *ev, size_t n)
{
	size_t i, fresh = 0;

	for (i = 0; i < n; i++) {
		int r;

		if (ev[i].id == NULL)
			continue;
		if ((r = ids_add(rd, fnv1a(ev[i].id))) < 0)
			return -1;
		fresh += r == 0;
	}
	return n > 0 && fresh == 0;
}

void
graph_run(struct graph *g)
{
	graph_wait(g);
	/* The rounds are over: the arena's chunks go back (kept, they would
	 * add a page's tree to the peak of the writes that follow). */
	graph_page_arena_free();
}

static void
fmt_window(tt_time t, char *buf, size_t len)
{
	tt_fmt_utc(t, buf, len);
	/* "no offset means UTC" (docs); drop the Z, keep seconds. */
	buf[strlen(buf) - 1] = '\0';
}

char *
graph_view_url(struct graph *g, const struct graph_cal *cal, int delta,
    tt_time ws, tt_time we)
{
	char s[32], e[32], *base, *path = NULL, *url;

	fmt_window(ws, s, sizeof(s));
	fmt_window(we, e, sizeof(e));
	/* The default calendar has its own documented delta path. */
	if ((base = graph_cal_base(cal, 1)) == NULL)
		return NULL;
	if (asprintf(&path, "%s/calendarView%s?startDateTime=%s&endDateTime="
	    "%s%s", base, delta ? "/delta" : "", s, e, delta ? "" :
	    "&$top=500") < 0)
		path = NULL;
	free(base);
	if (path == NULL)
		return NULL;
	url = graph_url(g, path);
	free(path);
	return url;
}

/* Read a dateTimeTimeZone; returns 0, or -1 when it cannot be read. */
static int
read_dtz(json_t *o, int all_day, tt_time *t, int *y, int *m, int *d)
{
	const char *dt = json_string_value(json_object_get(o, "dateTime"));
	const char *tz = json_string_value(json_object_get(o, "timeZone"));

	if (!json_is_object(o) || dt == NULL || strlen(dt) > 40)
		return -1;
	if (all_day)	/* a floating date, whatever the zone label */
		return tt_parse_date(dt, y, m, d);
	if (tz != NULL && strcmp(tz, "UTC") != 0 &&
	    strcmp(tz, "Etc/UTC") != 0 && strcmp(tz, "Coordinated Universal "
	    "Time") != 0)
		return -1;
	return tt_parse_utc(dt, t);
}

/* A string member of at most max bytes, with no NUL and no U+FFFD (the
 * mark of bytes that were not UTF-8); NULL otherwise. */
static const char *
opt_str(json_t *o, const char *key, size_t max)
{
	json_t *j = json_object_get(o, key);
	const char *v = json_string_value(j);

	return v != NULL && strlen(v) <= max && strlen(v) ==
	    json_string_length(j) && strstr(v, "\xef\xbf\xbd") == NULL ? v :
	    NULL;
}

/* Whether a string member holds what the service should never send. */
static int
bad_str(json_t *o, const char *key)
{
	json_t *j = json_object_get(o, key);
	const char *v = json_string_value(j);

	return v != NULL && (strlen(v) != json_string_length(j) ||
	    strstr(v, "\xef\xbf\xbd") != NULL);
}

/* Fill ev from one item of `value`. */
void
graph_parse_event(json_t *item, struct graph_event *ev)
{
	json_t *v;
	const char *sa;
	unsigned bit;

	memset(ev, 0, sizeof(*ev));
	ev->id = opt_str(item, "id", 1024);
	if (ev->id == NULL || *ev->id == '\0') {
		ev->invalid = "id";
		return;
	}
	if (json_object_get(item, "@removed") != NULL) {
		ev->removed = 1;
		return;
	}
	v = json_object_get(item, "subject");
	if (json_is_string(v))
		ev->subject = tt_sanitize_dup(json_string_value(v));
	else if (v != NULL && !json_is_null(v))
		ev->invalid = "subject";
	if (bad_str(item, "subject"))
		ev->invalid = "subject";
	if (ev->subject == NULL && (ev->subject = strdup("")) == NULL)
		ev->invalid = "subject";
	v = json_object_get(item, "isAllDay");
	if (v != NULL && !json_is_boolean(v))
		ev->invalid = "isAllDay";
	ev->all_day = json_is_true(v);
	v = json_object_get(item, "isCancelled");
	if (v != NULL && !json_is_boolean(v))
		ev->invalid = "isCancelled";
	ev->cancelled = json_is_true(v);
	ev->last_modified = opt_str(item, "lastModifiedDateTime", 64);
	ev->change_key = opt_str(item, "changeKey", 256);
	ev->transaction_id = opt_str(item, "transactionId", 256);
	ev->type = opt_str(item, "type", 32);
	ev->sensitivity = opt_str(item, "sensitivity", 32);
	ev->location = json_string_value(json_object_get(json_object_get(item,
	    "location"), "displayName"));
	ev->body = json_string_value(json_object_get(json_object_get(item,
	    "body"), "content"));
	ev->online = json_is_true(json_object_get(item, "isOnlineMeeting"));
	ev->join_url = json_string_value(json_object_get(json_object_get(item,
	    "onlineMeeting"), "joinUrl"));
	ev->series_master_id = opt_str(item, "seriesMasterId", 1024);
	ev->sparse = ev->type != NULL && strcmp(ev->type, "occurrence") == 0 &&
	    json_object_get(item, "showAs") == NULL &&
	    json_object_get(item, "subject") == NULL &&
	    ev->series_master_id != NULL;
	sa = opt_str(item, "showAs", 23);
	if (sa == NULL) {
		if (json_object_get(item, "showAs") != NULL)
			ev->invalid = "showAs";
		sa = "unknown";
	}
	bit = graph_showas_bit(sa);
	ev->showas = bit ? bit : SHOWAS_UNKNOWN;
	tt_sanitize(ev->showas_name, sizeof(ev->showas_name), sa);
	if (ev->invalid)
		return;
	if (read_dtz(json_object_get(item, "start"), ev->all_day, &ev->start,
	    &ev->sy, &ev->sm, &ev->sd) != 0) {
		ev->invalid = "start";
		return;
	}
	if (read_dtz(json_object_get(item, "end"), ev->all_day, &ev->end,
	    &ev->ey, &ev->em, &ev->ed) != 0) {
		ev->invalid = "end";
		return;
	}
	if (ev->all_day ? (ev->ey * 10000 + ev->em * 100 + ev->ed <=
	    ev->sy * 10000 + ev->sm * 100 + ev->sd) : ev->end < ev->start)
		ev->invalid = "end";
}

void
graph_event_clear(struct graph_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->subject);
	ev->subject = NULL;
}

void
graph_events_free(struct graph_event *evs, size_t n)
{
	size_t i;

	for (i = 0; evs != NULL && i < n; i++)
		graph_event_clear(&evs[i]);
	free(evs);
}

static void round_next(struct greq *r, const struct graph_err *e);
static void round_peek(struct greq *r);
static void ahead_drop(struct round *rd);

static void
round_free(struct round *rd)
{
	if (rd == NULL)
		return;
	ahead_drop(rd);
	free(rd->seen);
	free(rd->ids);
	free(rd->mailbox);
	free(rd);
}

static int
round_submit(struct graph *g, struct round *rd, const char *url,
    struct graph_err *err)
{
	struct greq *r = greq_new(g, "GET", url);
	uint64_t h = fnv1a(url);
	size_t i;

	if (r == NULL)
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	for (i = 0; i < rd->nseen; i++)
		if (rd->seen[i] == h) {
			greq_free(r);
			return gerr(err, GRAPH_PROTOCOL, 200, "the service "
			    "returned a nextLink it had already returned (a "
			    "loop); the round is abandoned");
		}
	if (tt_reserve(&rd->seen, &rd->capseen, rd->nseen + 1,
	    sizeof(*rd->seen)) != 0) {
		greq_free(r);
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	}
	rd->seen[rd->nseen++] = h;
	if (++rd->pages > MAX_PAGES) {
		greq_free(r);
		return gerr(err, GRAPH_PROTOCOL, 200, "more than %d pages in one "
		    "round", MAX_PAGES);
	}
	if (greq_mailbox(r, rd->mailbox) != 0) {
		greq_free(r);
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	}
	snprintf(r->what, sizeof(r->what), "reading events (page %d)",
	    rd->pages);
	if (rd->page_size == 0)
		rd->page_size = graph_settings(g)->page_size;
	r->page_size = rd->page_size;
	r->done = round_next;
	r->peek = round_peek;
	r->arg = rd;
	rd->last = r;
	greq_submit(g, r);
	return 0;
}

#define PEEK_MAX 65536	/* the head of a page looked at for its link */

/*
 * The end of the JSON string starting at p (a '"'), in [p, e): the
 * position after its closing quote, or NULL when it is not complete yet.
 */
static const char *
string_end(const char *p, const char *e)
{
	for (p++; p < e; p++) {
		if (*p == '\\') {
			if (++p == e)
				return NULL;
		} else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

static const char *
skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/*
 * The nextLink at the head of a page: the members before "value" are
 * read as they arrive ("key": "string", ...).  1 with *url (a new string)
 * when it is there, 0 when it is not (a member that is not a string, or
 * "value" first), -1 when more bytes are needed.
 */
static int
head_link(const char *p, size_t len, char **url)
{
	const char *e = p + (len < PEEK_MAX ? len : PEEK_MAX), *k, *ke, *v, *ve;

	*url = NULL;
	if ((p = skip_ws(p, e)) == e)
		return -1;
	if (*p++ != '{')
		return 0;
	for (;;) {
		if ((k = skip_ws(p, e)) == e)
			return len < PEEK_MAX ? -1 : 0;
		if (*k != '"')
			return 0;
		if ((ke = string_end(k, e)) == NULL ||
		    (v = skip_ws(ke, e)) == e)
			return len < PEEK_MAX ? -1 : 0;
		if (*v++ != ':' || (v = skip_ws(v, e)) == e)
			return v == e && len < PEEK_MAX ? -1 : 0;
		if (ke - k == 7 && memcmp(k, "\"value\"", 7) == 0)
			return 0;
		if (*v != '"')
			return 0;
		if ((ve = string_end(v, e)) == NULL)
			return len < PEEK_MAX ? -1 : 0;
		if (ke - k == 17 && memcmp(k, "\"@odata.nextLink\"", 17) == 0) {
			json_t *j = json_loadb(v, (size_t)(ve - v),
			    JSON_DECODE_ANY, NULL);

			if (json_is_string(j) && (*url =
			    strdup(json_string_value(j))) != NULL) {
				json_decref(j);
				return 1;
			}
			json_decref(j);
			return 0;
		}
		if ((p = skip_ws(ve, e)) == e)
			return len < PEEK_MAX ? -1 : 0;
		if (*p++ != ',')
			return 0;
	}
}

/*
 * A page arriving: when its head names the nextLink, ask for the next
 * page now, while this one is still coming and being read.  Only for a
 * 200, once per round at a time; a link the round would refuse (seen
 * before, too many pages) is left for the page's own reading to refuse.
 */
static void
round_peek(struct greq *r)
{
	struct round *rd = r->arg;
	struct graph_err err;
	struct ahead *a;
	char *url;
	uint64_t h;
	size_t i;
	int rc;

	/* Only the round's newest request names a page not asked yet. */
	if (r != rd->last || rd->nahead >= AHEAD_MAX || r->peeked)
		return;
	if (greq_status_now(r) != 200) {
		r->peeked = 1;
		return;
	}
	if ((rc = head_link(r->body, r->len, &url)) < 0)
		return;
	r->peeked = 1;	/* looked at: not again for this answer */
	if (rc == 0)
		return;
	h = fnv1a(url);
	for (i = 0; i < rd->nseen; i++)
		if (rd->seen[i] == h)
			break;
	if (i < rd->nseen || rd->pages >= MAX_PAGES) {
		free(url);
		return;
	}
	rd->page_size = r->page_size;
	if (round_submit(r->g, rd, url, &err) != 0) {
		free(url);
		return;
	}
	a = &rd->ahead[rd->nahead++];
	memset(a, 0, sizeof(*a));
	a->r = rd->last;
	a->url = url;
}

/* Drop the pages asked ahead (the round ends, or a link was another):
 * their links and pages are not counted, as they were not followed (they
 * are the last ones round_submit noted). */
static void
ahead_drop(struct round *rd)
{
	while (rd->nahead > 0) {
		struct ahead *a = &rd->ahead[--rd->nahead];

		rd->nseen--;
		rd->pages--;
		if (a->r == rd->last)
			rd->last = NULL;
		greq_cancel(a->r->g, a->r);
		free(a->url);
	}
}

static void
round_end(struct round *rd, const struct graph_err *err)
{
	rd->cb.done(rd->cb.arg, err);
	round_free(rd);
}

/*
 * A page of events in r's answer: *page (new reference), its events
 * (*evs, a new array of *n: graph_events_free) and its links (borrowed
 * from *page, NULL when absent).  0, or -1 with err and nothing to free.
 */
int
graph_events_page(struct greq *r, json_t **page, struct graph_event **evs,
    size_t *n, const char **next, const char **delta, struct graph_err *err)
{
	json_t *j, *value, *jn, *jd;
	size_t i;

	*page = NULL;
	*evs = NULL;
	*n = 0;
	*next = *delta = NULL;
	if ((j = page_load(r, err)) == NULL)
		return -1;
	value = json_object_get(j, "value");
	jn = json_object_get(j, "@odata.nextLink");
	jd = json_object_get(j, "@odata.deltaLink");
	if (!json_is_array(value)) {
		graph_page_free(j);
		return gerr(err, GRAPH_PROTOCOL, 200, "a page of events lacks "
		    "'value'");
	}
	if ((jn != NULL && !json_is_string(jn)) ||
	    (jd != NULL && !json_is_string(jd))) {
		graph_page_free(j);
		return gerr(err, GRAPH_PROTOCOL, 200, "a page has a malformed "
		    "link");
	}
	if (jn == NULL && strstr(r->url, "/delta") != NULL && jd == NULL) {
		graph_page_free(j);
		return gerr(err, GRAPH_PROTOCOL, 200, "a delta page has neither "
		    "nextLink nor deltaLink");
	}
	if ((*n = json_array_size(value)) > 0 &&
	    (*evs = calloc(*n, sizeof(**evs))) == NULL) {
		*n = 0;
		graph_page_free(j);
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	}
	for (i = 0; i < *n; i++) {
		json_t *item = json_array_get(value, i);

		if (json_is_object(item))
			graph_parse_event(item, &(*evs)[i]);
		else
			(*evs)[i].invalid = "id";
	}
	*page = j;
	*next = json_string_value(jn);
	*delta = json_string_value(jd);
	return 0;
}

static void
round_next(struct greq *r, const struct graph_err *e)
{
	struct round *rd = r->arg;
	struct graph *g = r->g;
	struct graph_err err = { 0 };
	struct graph_event *evs = NULL;
	json_t *j = NULL;
	const char *next = NULL, *delta = NULL;
	struct ahead a;
	size_t n = 0;
	int i;

	for (i = 0; i < rd->nahead; i++)
		if (rd->ahead[i].r == r) {
			/* Asked ahead, answered before its turn: it waits. */
			rd->ahead[i].answered = 1;
			if ((rd->ahead[i].failed = e != NULL))
				rd->ahead[i].err = *e;
			return;
		}
	if (e != NULL) {
		err = *e;
		goto fail;
	}
	if (graph_events_page(r, &j, &evs, &n, &next, &delta, &err) != 0)
		goto fail;
	rd->page_size = r->page_size;	/* the rest of the round keeps it */
	if (next != NULL) {
		int rep = page_repeats(rd, evs, n);

		if (rep < 0) {
			gerr(&err, GRAPH_LOCAL, 0, "out of memory");
			goto fail;
		}
		rd->stale = rep ? rd->stale + 1 : 0;
		rd->empty = n == 0 ? rd->empty + 1 : 0;
		if (rd->stale >= STALE_PAGES || rd->empty > EMPTY_PAGES) {
			gerr(&err, GRAPH_PROTOCOL, 200, "the service served %s "
			    "again and again under new links (a paging loop); "
			    "the round is abandoned", rd->stale ? "the same "
			    "items" : "empty pages");
			goto fail;
		}
	}
	if (rd->cb.page(rd->cb.arg, evs, n, next == NULL,
	    next == NULL ? delta : NULL) != 0) {
		gerr(&err, GRAPH_CANCELLED, 0, "stopped by the caller");
		goto fail;
	}
	if (next != NULL && rd->nahead > 0 &&
	    strcmp(rd->ahead[0].url, next) == 0) {
		/* The oldest page asked ahead is this nextLink's: take it. */
		a = rd->ahead[0];
		memmove(rd->ahead, rd->ahead + 1, --rd->nahead *
		    sizeof(rd->ahead[0]));
		free(a.url);
		graph_events_free(evs, n);
		graph_page_free(j);
		greq_free(r);
		if (a.answered)
			round_next(a.r, a.failed ? &a.err : NULL);
		return;
	}
	ahead_drop(rd);
	if (next != NULL) {
		if (round_submit(g, rd, next, &err) != 0)
			goto fail;
		graph_events_free(evs, n);
		graph_page_free(j);
		greq_free(r);
		return;
	}
	graph_events_free(evs, n);
	graph_page_free(j);
	greq_free(r);
	round_end(rd, NULL);
	return;
fail:
	ahead_drop(rd);
	graph_events_free(evs, n);
	graph_page_free(j);
	greq_free(r);
	round_end(rd, &err);
}

void
graph_series_free(struct graph_series *s)
{
	if (s == NULL)
		return;
	free(s->subject);
	free(s->showas);
	free(s->last_modified);
	memset(s, 0, sizeof(*s));
}

int
graph_get_series(struct graph *g, const struct graph_cal *c,
    const char *master_id, struct graph_series *out, struct graph_err *err)
{
	struct graph_cal by_id = *c;
	char *cal, *mid, *path = NULL, *url = NULL;
	json_t *j = NULL, *v;
	int rc = -1;

	/* An event by id through its calendar's id, also the default's. */
	by_id.is_default = 0;
	cal = graph_cal_base(&by_id, 0);
	mid = curl_easy_escape(NULL, master_id, 0);
	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	/* No $select: lastModifiedDateTime does not support it (graph-docs
	 * group-list-calendarview.md note), and the feed shows it. */
	if (cal != NULL && mid != NULL && asprintf(&path, "%s/events/%s", cal,
	    mid) >= 0)
		url = graph_url(g, path);
	free(cal);
	curl_free(mid);
	free(path);
	if (url == NULL)
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	j = graph_get_json(g, url, "reading a recurring series", err);
	free(url);
	if (j == NULL) {
		if (err->cls != GRAPH_NOTFOUND)
			return -1;
		out->gone = 1;	/* the series was deleted */
		memset(err, 0, sizeof(*err));
		return 0;
	}
	v = json_object_get(j, "showAs");
	if (!json_is_string(v) || (out->subject = jstrdup(j, "subject")) ==
	    NULL) {
		/* An empty subject is a subject. */
		if (json_is_string(v) && json_is_string(json_object_get(j,
		    "subject")))
			out->subject = strdup("");
		else {
			gerr(err, GRAPH_PROTOCOL, 200, "a series master lacks "
			    "'%s'", json_is_string(v) ? "subject" : "showAs");
			goto out;
		}
	}
	out->showas = tt_sanitize_dup(json_string_value(v));
	out->last_modified = jstrdup(j, "lastModifiedDateTime");
	out->all_day = json_is_true(json_object_get(j, "isAllDay"));
	out->cancelled = json_is_true(json_object_get(j, "isCancelled"));
	rc = out->subject != NULL && out->showas != NULL ? 0 :
	    gerr(err, GRAPH_LOCAL, 0, "out of memory");
out:
	if (rc != 0)
		graph_series_free(out);
	json_decref(j);
	return rc;
}

int
graph_round(struct graph *g, const struct graph_cal *cal, const char *url,
    const struct graph_round_cb *cb, struct graph_err *err)
{
	struct round *rd = calloc(1, sizeof(*rd));

	if (rd == NULL)
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	rd->cb = *cb;
	if ((rd->mailbox = graph_cal_mailbox(cal)) == NULL) {
		free(rd);
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	}
	if (round_submit(g, rd, url, err) != 0) {
		round_free(rd);
		return -1;
	}
	return 0;
}
