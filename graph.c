/* SPDX-License-Identifier: ISC */
/*
 * graph.c -- HTTP, JSON and the Microsoft protocols behind graph.h.
 *
 * State: only in memory (the curl handles, the queue, the access token,
 * counters); nothing here is persistent.  Recovery rule: a request that
 * fails is reported to its caller with a class; the caller decides what to
 * keep.  Requests are never retried when a retry could duplicate a write.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "graph.h"
#include "graph_p.h"

#define USER_AGENT "timetap-sync/" VERSION_STRING
#define DEFAULT_MAX_RESPONSE (64u << 20)
#define MAX_ATTEMPTS 8
#define PAGE_MIN 25		/* the smallest page a slow page is cut to */
/* A request that cannot reach the service (refused, no DNS, TLS cut) is
 * tried this often, quickly: a network outage is for the next run. */
#define NET_ATTEMPTS 2
#define NET_DELAY 0.5

#ifndef VERSION
#define VERSION_STRING "0"
#else
#define VERSION_STRING VERSION
#endif

/* ---------------------------------------------------------------- util */

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
gerr(struct graph_err *err, enum graph_class cls, int http, const char *fmt,
    ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	tt_vmessage(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->cls = cls;
	err->http = http;
	return -1;
}

/* ------------------------------------------------------------- engine */

struct mailbox {
	char *key;
	int inflight;
};

struct graph {
	struct graph_settings s;	/* strings point at the copies below */
	char *own[6];
	/*
	 * No ca_file or ca_path: the system's CA directory alone (libcurl's
	 * CAPATH, OpenSSL looks a certificate's issuer up by its hash), not
	 * its bundle, which OpenSSL parses whole, 140 certificates, for each
	 * connection: about 90 ms of CPU in a no-change pass of three
	 * calendars (make bench: 114 ms with the bundle, 24 ms without).  A
	 * peer the directory cannot
	 * verify is asked again with the bundle too, and the rest of the
	 * handle's requests keep it.
	 */
	int ca_dir_only;
	CURLM *multi;
	/* The handle's TLS sessions, shared by its connections: the second
	 * and later connections to a host resume the first one's session
	 * (no certificate chain sent and verified again). */
	CURLSH *share;
	CURL **idle;			/* easy handles ready for reuse */
	int nidle;
	struct greq *queue;		/* pending, FIFO */
	struct greq *queue_tail;
	int running;			/* requests in flight */
	struct mailbox *boxes;
	int nboxes;
	char *token;
	struct graph_stats stats;
	char *origin;			/* scheme://host[:port] of graph_url */
	/* The network failure that ended a request after its tries, per
	 * side (Graph, identity platform): later requests fail at once. */
	struct graph_err down[2];
	int dry;			/* graph_set_dry: writes answered here */
	unsigned dry_writes;		/* ... how many so far */
	/* The Date header of the first response of each side and the host's
	 * time when it came (graph_date): 0 until one came. */
	time_t date[2], date_at[2];
};

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct greq *r = arg;
	size_t len = size * n;
	char *nb;

	if (r->len + len > r->g->s.max_response) {
		r->too_large = 1;
		return 0;
	}
	if (r->len + len + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 16384;

		while (cap < r->len + len + 1)
			cap *= 2;
		if ((nb = realloc(r->body, cap)) == NULL)
			return 0;
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, len);
	r->len += len;
	r->body[r->len] = '\0';
	if (r->peek != NULL)
		r->peek(r);
	return len;
}

long
greq_status_now(struct greq *r)
{
	long code = 0;

	if (r->easy != NULL)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

/* A header value of len bytes, trimmed; NULL when name does not match. */
static char *
header_value(const char *p, size_t len, const char *name)
{
	size_t n = strlen(name), e;

	if (len <= n || strncasecmp(p, name, n) != 0 || p[n] != ':')
		return NULL;
	p += n + 1;
	len -= n + 1;
	while (len > 0 && (*p == ' ' || *p == '\t'))
		p++, len--;
	for (e = 0; e < len && p[e] != '\r' && p[e] != '\n'; e++)
		;
	return strndup(p, e);
}

/* Keep the headers we act on: Retry-After and request-id, and the first
 * Date of each side (graph_date).  Lines are read in place, whatever
 * their length. */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct greq *r = arg;
	size_t len = size * n;
	char *v;

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {	/* a new response */
		r->retry_after = 0;
		r->request_id[0] = '\0';
		return len;
	}
	if ((v = header_value(p, len, "Retry-After")) != NULL) {
		r->retry_after = graph_parse_retry_after(v, time(NULL));
		free(v);
	} else if ((v = header_value(p, len, "request-id")) != NULL) {
		tt_sanitize(r->request_id, sizeof(r->request_id), v);
		free(v);
	} else if (r->g->date_at[r->is_token != 0] == 0 &&
	    (v = header_value(p, len, "Date")) != NULL) {
		time_t t = curl_getdate(v, NULL);

		if (t > 0) {
			r->g->date[r->is_token != 0] = t;
			r->g->date_at[r->is_token != 0] = time(NULL);
		}
		free(v);
	}
	return len;
}

double
graph_parse_retry_after(const char *v, time_t now)
{
	char *end;
	double d;
	time_t t;

	while (isspace((unsigned char)*v))
		v++;
	if (isdigit((unsigned char)*v)) {
		errno = 0;
		d = strtod(v, &end);
		while (isspace((unsigned char)*end))
			end++;
		if (errno == 0 && *end == '\0' && d >= 0 && d < 86400)
			return d > 0 ? d : 0.001;
	}
	t = curl_getdate(v, &now);
	if (t == -1)
		return 0;
	return t > now ? (double)(t - now) : 0.001;
}

static struct mailbox *
mailbox(struct graph *g, const char *key)
{
	struct mailbox *b;
	int i;

	for (i = 0; i < g->nboxes; i++)
		if (strcmp(g->boxes[i].key, key) == 0)
			return &g->boxes[i];
	b = reallocarray(g->boxes, (size_t)g->nboxes + 1, sizeof(*b));
	if (b == NULL)
		return NULL;
	g->boxes = b;
	b = &g->boxes[g->nboxes];
	if ((b->key = strdup(key)) == NULL)
		return NULL;
	g->nboxes++;
	b->inflight = 0;
	return b;
}

/* Graph requests must stay on the configured host: a nextLink elsewhere
 * would carry our token away. */
static int
same_origin(const struct graph *g, const char *url)
{
	size_t n = strlen(g->origin);

	return strncasecmp(url, g->origin, n) == 0 &&
	    (url[n] == '/' || url[n] == '?' || url[n] == '\0');
}

int
graph_link_ok(const struct graph *g, const char *url)
{
	size_t n, i;

	if (url == NULL || (n = strlen(url)) == 0 || n > GRAPH_LINK_MAX ||
	    !same_origin(g, url))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			return 0;
	return 1;
}

/* libcurl's built-in CA bundle (NULL: none), as CURLINFO_CAINFO tells. */
static const char *
default_cainfo(void)
{
	static int known;
	static char *path;
	CURL *e;

	if (!known && (e = curl_easy_init()) != NULL) {
#if LIBCURL_VERSION_NUM >= 0x075400	/* 7.84.0 */
		char *p = NULL;

		if (curl_easy_getinfo(e, CURLINFO_CAINFO, &p) == CURLE_OK &&
		    p != NULL)
			path = strdup(p);
#endif
		curl_easy_cleanup(e);
		known = 1;
	}
	return path;
}

/* Whether libcurl has a CA directory of its own that exists. */
static int
system_ca_dir(void)
{
	int ok = 0;
#if LIBCURL_VERSION_NUM >= 0x075400	/* 7.84.0: CURLINFO_CAPATH */
	struct stat sb;
	char *p = NULL;
	CURL *e;

	if ((e = curl_easy_init()) == NULL)
		return 0;
	ok = curl_easy_getinfo(e, CURLINFO_CAPATH, &p) == CURLE_OK &&
	    p != NULL && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
	curl_easy_cleanup(e);
#endif
	return ok;
}

int
graph_new(const struct graph_settings *s, struct graph **out,
    struct graph_err *err)
{
	struct graph *g;
	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return gerr(err, GRAPH_LOCAL, 0, "cannot initialise libcurl");
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	g->s = *s;
	g->s.authority_url = g->own[0] = strdup(s->authority_url);
	g->s.tenant = g->own[1] = strdup(s->tenant);
	g->s.graph_url = g->own[2] = strdup(s->graph_url);
	g->s.client_id = g->own[3] = s->client_id ? strdup(s->client_id) : NULL;
	g->s.ca_file = g->own[4] = s->ca_file ? strdup(s->ca_file) : NULL;
	g->s.ca_path = g->own[5] = s->ca_path ? strdup(s->ca_path) : NULL;
	g->ca_dir_only = s->ca_file == NULL && s->ca_path == NULL &&
	    system_ca_dir();
	if (g->s.max_response == 0)
		g->s.max_response = DEFAULT_MAX_RESPONSE;
	if (g->s.timeout <= 0)
		g->s.timeout = 30;
	g->multi = curl_multi_init();
	if (g->multi == NULL || g->s.authority_url == NULL ||
	    g->s.graph_url == NULL || g->s.tenant == NULL) {
		graph_free(g);
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	}
	if ((g->share = curl_share_init()) != NULL)
		curl_share_setopt(g->share, CURLSHOPT_SHARE,
		    CURL_LOCK_DATA_SSL_SESSION);
	curl_multi_setopt(g->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	curl_multi_setopt(g->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)GRAPH_MAX_INFLIGHT);
	if ((g->origin = tt_url_origin(g->s.graph_url)) == NULL) {
		graph_free(g);
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	}
	*out = g;
	return 0;
}

void
graph_free(struct graph *g)
{
	int i;

	if (g == NULL)
		return;
	while (g->queue != NULL) {
		struct greq *r = g->queue;

		g->queue = r->next;
		greq_free(r);
	}
	for (i = 0; i < g->nidle; i++)
		curl_easy_cleanup(g->idle[i]);
	free(g->idle);
	if (g->multi)
		curl_multi_cleanup(g->multi);
	if (g->share)
		curl_share_cleanup(g->share);
	for (i = 0; i < g->nboxes; i++)
		free(g->boxes[i].key);
	free(g->boxes);
	free(g->origin);
	tt_wipe_free(g->token);
	for (i = 0; i < 6; i++)
		free(g->own[i]);
	free(g);
	graph_page_arena_free();
}

void
graph_stats(const struct graph *g, struct graph_stats *st)
{
	*st = g->stats;
}

int
graph_token_ok(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

int
graph_set_token(struct graph *g, const char *access_token)
{
	tt_wipe_free(g->token);
	g->token = NULL;
	if (access_token == NULL)
		return 0;
	if (!graph_token_ok(access_token, strlen(access_token)))
		return -1;
	g->token = strdup(access_token);
	return g->token != NULL ? 0 : -1;
}

void
graph_add_wait(struct graph *g, double seconds)
{
	g->stats.waited += seconds;
	g->stats.retries++;
}

const struct graph_settings *
graph_settings(const struct graph *g)
{
	return &g->s;
}

struct greq *
greq_new(struct graph *g, const char *method, const char *url)
{
	struct greq *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->g = g;
	strlcpy(r->method, method, sizeof(r->method));
	r->url = strdup(url);
	if (r->url == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

int
greq_mailbox(struct greq *r, const char *key)
{
	free(r->mailbox);
	r->mailbox = strdup(key);
	return r->mailbox != NULL ? 0 : -1;
}

static const char *
box_of(const struct greq *r)
{
	return r->mailbox != NULL ? r->mailbox : "me";
}

/* Free a header list, wiping it first: it may hold the bearer token. */
static void
headers_free(struct curl_slist *h)
{
	struct curl_slist *l;

	for (l = h; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(h);
}

void
greq_free(struct greq *r)
{
	if (r == NULL)
		return;
	free(r->url);
	free(r->mailbox);
	if (r->secret_body)
		tt_wipe_free(r->req_body);
	else
		free(r->req_body);
	free(r->body);
	headers_free(r->headers);
	free(r);
}

/* Queue r; it starts when its mailbox has room and its time has come. */
void
greq_submit(struct graph *g, struct greq *r)
{
	r->next = NULL;
	r->where = GREQ_QUEUED;
	if (g->queue_tail)
		g->queue_tail->next = r;
	else
		g->queue = r;
	g->queue_tail = r;
}

static void easy_put(struct graph *, CURL *);
static int weight(const struct greq *);

void
greq_cancel(struct graph *g, struct greq *r)
{
	struct greq *q, *prev = NULL;
	struct mailbox *b;

	switch (r->where) {
	case GREQ_QUEUED:
		for (q = g->queue; q != NULL && q != r; q = q->next)
			prev = q;
		if (q == NULL)
			break;
		if (prev)
			prev->next = r->next;
		else
			g->queue = r->next;
		if (g->queue_tail == r)
			g->queue_tail = prev;
		break;
	case GREQ_RUNNING:
		curl_multi_remove_handle(g->multi, r->easy);
		g->running--;
		if ((b = mailbox(g, box_of(r))) != NULL)
			b->inflight -= weight(r);
		easy_put(g, r->easy);
		r->easy = NULL;
		break;
	case GREQ_ANSWERED:	/* graph_wait frees it instead of calling */
		r->cancelled = 1;
		return;
	case GREQ_OUT:
		break;
	}
	greq_free(r);
}

static CURL *
easy_get(struct graph *g)
{
	if (g->nidle > 0)
		return g->idle[--g->nidle];
	return curl_easy_init();
}

static void
easy_put(struct graph *g, CURL *e)
{
	CURL **n;

	curl_easy_reset(e);
	n = reallocarray(g->idle, (size_t)g->nidle + 1, sizeof(*n));
	if (n == NULL) {
		curl_easy_cleanup(e);
		return;
	}
	g->idle = n;
	g->idle[g->nidle++] = e;
}

static int
start(struct graph *g, struct greq *r)
{
	struct curl_slist *h = NULL;
	char hdr[512], *auth = NULL;
	CURL *e;

	if (!r->is_token && !same_origin(g, r->url))
		return -1;
	if ((e = easy_get(g)) == NULL)
		return -2;
	r->easy = e;
	r->len = 0;
	r->peeked = 0;
	r->too_large = 0;
	r->retry_after = 0;
	r->request_id[0] = '\0';
	headers_free(r->headers);
	h = curl_slist_append(h, "Accept: application/json");
	if (!r->is_token) {
		/* The token is of any length: the header is built on the
		 * heap, and both copies are wiped (headers_free). */
		if (g->token != NULL) {
			if (asprintf(&auth, "Authorization: Bearer %s",
			    g->token) < 0)
				auth = NULL;
			if (auth == NULL) {
				curl_slist_free_all(h);
				easy_put(g, e);
				r->easy = NULL;
				return -2;
			}
			h = curl_slist_append(h, auth);
			tt_wipe_free(auth);
		}
		if (r->eventual)
			h = curl_slist_append(h, "ConsistencyLevel: eventual");
		if (r->page_size > 0)
			snprintf(hdr, sizeof(hdr), "Prefer: IdType=\"ImmutableId\", "
			    "outlook.timezone=\"UTC\", "
			    "outlook.body-content-type=\"text\", "
			    "odata.maxpagesize=%d", r->page_size);
		else
			snprintf(hdr, sizeof(hdr), "Prefer: IdType=\"ImmutableId\", "
			    "outlook.timezone=\"UTC\", "
			    "outlook.body-content-type=\"text\"");
		h = curl_slist_append(h, hdr);
	}
	if (r->req_body != NULL)
		h = curl_slist_append(h, r->is_token ? "Content-Type: "
		    "application/x-www-form-urlencoded" :
		    "Content-Type: application/json");
	r->headers = h;
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/* Wait for a connection that is being made to the same host rather
	 * than make another: over HTTP/2 every request of the pass shares one
	 * TLS handshake; over HTTP/1.1 the others then resume its session. */
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	if (g->share != NULL)
		curl_easy_setopt(e, CURLOPT_SHARE, g->share);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)g->s.timeout);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT,
	    (long)(g->s.timeout < 10 ? g->s.timeout : 10));
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (g->s.ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, g->s.ca_file);
	else if (g->s.ca_path) {
		curl_easy_setopt(e, CURLOPT_CAPATH, g->s.ca_path);
		curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
	} else if (g->ca_dir_only)
		curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
	else	/* a reused handle may have had it off */
		curl_easy_setopt(e, CURLOPT_CAINFO, default_cainfo());
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	if (r->req_body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->req_body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(r->req_body));
	} else if (strcmp(r->method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(r->method, "DELETE") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
	}
	if (curl_multi_add_handle(g->multi, e) != CURLM_OK) {
		easy_put(g, e);
		r->easy = NULL;
		return -2;
	}
	g->running++;
	g->stats.requests++;
	if (r->is_token)
		g->stats.token_requests++;
	return 0;
}

/* Fill err from an error response (Graph or identity platform). */
void
graph_error_body(struct greq *r, struct graph_err *err)
{
	json_t *j, *e;
	const char *code = NULL, *msg = NULL;

	err->code[0] = '\0';
	j = r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
	if (json_is_object(j)) {
		e = json_object_get(j, "error");
		if (json_is_object(e)) {	/* Graph */
			code = json_string_value(json_object_get(e, "code"));
			msg = json_string_value(json_object_get(e, "message"));
		} else if (json_is_string(e)) {	/* OAuth */
			json_t *codes = json_object_get(j, "error_codes");

			code = json_string_value(e);
			msg = json_string_value(json_object_get(j,
			    "error_description"));
			err->aadsts = json_is_array(codes) &&
			    json_is_integer(json_array_get(codes, 0)) ?
			    (long)json_integer_value(json_array_get(codes, 0)) : 0;
		}
	}
	if (code)
		tt_sanitize(err->code, sizeof(err->code), code);
	gerr(err, err->cls, (int)r->status, "HTTP %ld%s%s%s%.200s%s%s",
	    r->status, code ? " " : "", code ? err->code : "",
	    msg ? ": " : "", msg ? msg : "",
	    r->request_id[0] ? " request-id " : "", r->request_id);
	json_decref(j);
}

/*
 * The second field of a failed result, and whether a create's outcome is
 * unknown: the one place both are decided, for plain requests and for the
 * items and envelopes of a $batch.  A create's outcome is known only when
 * the service did nothing: the request never reached it (connect, DNS,
 * TLS handshake, or the certificate refused), it refused before any work
 * (429, 503), or it answered a definite 4xx.  Anything else -- a 5xx, a
 * timeout, a cut connection, an answer too large or without what a
 * created event must carry, no answer for the item -- may have created
 * the event.
 */
void
graph_judge(struct graph_err *e, int is_create)
{
	int did_nothing = e->network || e->cls == GRAPH_LOCAL ||
	    e->cls == GRAPH_CONFIG || e->http == 429 || e->http == 503 ||
	    (e->http >= 400 && e->http < 500);

	e->ambiguous = is_create && e->cls != GRAPH_OK &&
	    e->cls != GRAPH_CANCELLED && !did_nothing;
	switch (e->cls) {
	case GRAPH_SERVICE:
		/* Still failing after every retry, with time left to wait:
		 * the service is down.  Otherwise: the next run. */
		e->retry = e->exhausted && !e->budget_spent && !e->ambiguous &&
		    !e->network && !e->token_endpoint ? GRAPH_RETRY_LATE :
		    GRAPH_RETRY_NEXT_RUN;
		break;
	case GRAPH_TOKEN:
	case GRAPH_GONE:
		e->retry = GRAPH_RETRY_NOW;
		break;
	case GRAPH_LOGIN:
	case GRAPH_DENIED:
	case GRAPH_CONFIG:
	case GRAPH_LOCAL:
	case GRAPH_CANCELLED:
		e->retry = GRAPH_RETRY_NEVER;
		break;
	default:
		e->retry = e->ambiguous ? GRAPH_RETRY_NEXT_RUN :
		    GRAPH_RETRY_LATE;
	}
}

/*
 * The shared code of a Graph error (SPEC section 6 through the edge): 69
 * is for answers that retrying cannot fix, or a service still failing
 * after every retry; a network outage, an unavailable token endpoint and
 * an unknown outcome are for now (75).
 */
int
graph_errc(const struct graph_err *e)
{
	switch (e->cls) {
	case GRAPH_OK:
	case GRAPH_CANCELLED:	/* the caller has reported its own reason */
		return TT_E_NONE;
	case GRAPH_LOGIN:
	case GRAPH_DENIED:
		return TT_E_LOGIN;
	case GRAPH_CONFIG:
		return TT_E_CONFIG;
	case GRAPH_LOCAL:
		return TT_E_INTERNAL;
	default:
		return e->retry == GRAPH_RETRY_NOW ||
		    e->retry == GRAPH_RETRY_NEXT_RUN ? TT_E_LATER : TT_E_DOWN;
	}
}

static int attempt(struct graph *g, struct greq *r, CURLcode cc);

/* A POST that creates (not a token request, not a safe one). */
static int
is_create(const struct greq *r)
{
	return strcmp(r->method, "POST") == 0 && !r->is_token &&
	    !r->idempotent;
}

/*
 * Decide the fate of a finished attempt: 0 done (success or final error in
 * r->err, judged), 1 retry scheduled.
 */
static int
finish(struct graph *g, struct greq *r, CURLcode cc)
{
	if (attempt(g, r, cc) == 1)
		return 1;
	if (r->err.cls != GRAPH_OK)
		graph_judge(&r->err, is_create(r));
	return 0;
}

static int
attempt(struct graph *g, struct greq *r, CURLcode cc)
{
	struct graph_err *err = &r->err;
	int retryable = 0;
	double delay;

	memset(err, 0, sizeof(*err));
	err->token_endpoint = r->is_token;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	strlcpy(err->request_id, r->request_id, sizeof(err->request_id));
	if (r->too_large) {
		gerr(err, GRAPH_PROTOCOL, (int)r->status, "response larger "
		    "than %zu bytes from %s", g->s.max_response, r->what);
		return 0;
	}
	if (cc != CURLE_OK) {
		gerr(err, GRAPH_SERVICE, 0, "%s: %s", r->what,
		    curl_easy_strerror(cc));
		if (cc == CURLE_SSL_CACERT || cc == CURLE_PEER_FAILED_VERIFICATION
		    || cc == CURLE_SSL_CACERT_BADFILE) {
			if (g->ca_dir_only) {	/* the bundle too, at once */
				g->ca_dir_only = 0;
				return 1;
			}
			err->cls = GRAPH_CONFIG;
			return 0;
		}
		/*
		 * Did the request reach the server?  Connect, DNS and TLS
		 * handshake failures are safe to repeat, but they mean an
		 * outage: a couple of quick tries, then the next run.
		 */
		if (cc == CURLE_COULDNT_CONNECT ||
		    cc == CURLE_COULDNT_RESOLVE_HOST ||
		    cc == CURLE_COULDNT_RESOLVE_PROXY ||
		    cc == CURLE_SSL_CONNECT_ERROR) {
			err->network = 1;
			if (r->attempts >= NET_ATTEMPTS) {
				g->down[r->is_token ? 1 : 0] = *err;
				return 0;
			}
			g->stats.retries++;
			r->not_before = mono_now() + NET_DELAY;
			return 1;
		} else if (!is_create(r))
			retryable = 1;
	} else if (r->status >= 200 && r->status < 300) {
		return 0;
	} else {
		err->retry_after = r->retry_after;
		err->cls = GRAPH_PROTOCOL;
		if (r->status == 429 || r->status == 503) {
			err->cls = GRAPH_SERVICE;
			retryable = 1;	/* refused before any work: safe */
		} else if (r->status >= 500) {
			err->cls = GRAPH_SERVICE;
			retryable = !is_create(r);
		}
		graph_error_body(r, err);
		graph_classify(err, r->is_token);
		if (err->cls != GRAPH_SERVICE)
			retryable = 0;
	}
	if (retryable && r->attempts >= MAX_ATTEMPTS)
		err->exhausted = 1;
	if (!retryable || r->attempts >= MAX_ATTEMPTS || r->no_retry)
		return 0;
	delay = err->retry_after > 0 ? err->retry_after :
	    0.25 * (double)(1 << (r->attempts < 7 ? r->attempts : 7));
	if (g->stats.waited + delay > (double)g->s.retry_budget) {
		char was[sizeof(err->msg)];

		strlcpy(was, err->msg, sizeof(was));
		gerr(err, GRAPH_SERVICE, err->http, "retry budget of %d s "
		    "spent (last: %s)", g->s.retry_budget, was);
		err->budget_spent = 1;
		return 0;
	}
	g->stats.waited += delay;
	g->stats.retries++;
	r->not_before = mono_now() + delay;
	/* A page the service was too slow to serve (504, 503, or our own
	 * timeout) is asked again with half as many events: large pages of
	 * recurring meetings are reported to time out (microsoft-graph-docs
	 * #3657, #6499; msgraph-sdk-dotnet #1568). */
	if (r->page_size > PAGE_MIN && (r->status == 503 || r->status == 504 ||
	    cc == CURLE_OPERATION_TIMEDOUT))
		r->page_size = r->page_size / 2 > PAGE_MIN ? r->page_size / 2 :
		    PAGE_MIN;
	return 1;
}

/*
 * Classify a service error by status and code (codes compared without
 * case: the services disagree on casing).
 */
void
graph_classify(struct graph_err *err, int is_token)
{
	static const long relogin[] = { 70008, 700082, 50173, 70043, 50076,
	    50079, 50078, 53003, 65001, 90094, 90095, 50057, 50055, 50144,
	    50089, 700016, 700011, 9002313, 54005, 70000, 70019, 70016 };
	size_t i;

	if (is_token) {
		if (err->http >= 500 || strcasecmp(err->code,
		    "temporarily_unavailable") == 0 ||
		    err->aadsts == 50196 || err->aadsts == 50033 ||
		    err->aadsts == 90006 || err->aadsts == 90033) {
			err->cls = GRAPH_SERVICE;
			return;
		}
		if (strcasecmp(err->code, "invalid_client") == 0 ||
		    strcasecmp(err->code, "unauthorized_client") == 0 ||
		    err->aadsts == 7000218 || err->aadsts == 700025 ||
		    err->aadsts == 50194) {
			err->cls = GRAPH_CONFIG;
			return;
		}
		for (i = 0; i < sizeof(relogin) / sizeof(relogin[0]); i++)
			if (err->aadsts == relogin[i]) {
				err->cls = GRAPH_LOGIN;
				return;
			}
		if (strcasecmp(err->code, "invalid_grant") == 0 ||
		    strcasecmp(err->code, "interaction_required") == 0 ||
		    strcasecmp(err->code, "consent_required") == 0 ||
		    strcasecmp(err->code, "login_required") == 0) {
			err->cls = GRAPH_LOGIN;
			return;
		}
		if (err->http == 429) {
			err->cls = GRAPH_SERVICE;
			return;
		}
		err->cls = GRAPH_PROTOCOL;
		return;
	}
	if (strcasecmp(err->code, "syncStateNotFound") == 0 ||
	    strcasecmp(err->code, "resyncRequired") == 0 ||
	    strcasecmp(err->code, "InvalidDeltaToken") == 0 ||
	    (err->http == 410)) {
		err->cls = GRAPH_GONE;
		return;
	}
	if (err->http == 429 || err->http >= 500) {
		err->cls = GRAPH_SERVICE;
		return;
	}
	switch (err->http) {
	case 401:
		/* An access token the service no longer takes: refresh. */
		err->cls = GRAPH_TOKEN;
		return;
	case 403:
		err->cls = GRAPH_DENIED;
		return;
	case 404:
		err->cls = GRAPH_NOTFOUND;
		return;
	case 409:
	case 412:
		err->cls = GRAPH_CONFLICT;
		return;
	default:
		err->cls = GRAPH_PROTOCOL;
	}
}

/*
 * How many of the mailbox's concurrent requests r takes: a $batch runs
 * up to four of its items at once against the mailbox.
 */
static int
weight(const struct greq *r)
{
	return r->weight > 0 ? r->weight : 1;
}

static int
room(const struct mailbox *b, const struct greq *r)
{
	return b->inflight == 0 ||
	    b->inflight + weight(r) <= GRAPH_MAX_INFLIGHT;
}

/*
 * Start what may start, in queue order: due, and its mailbox has room.
 * Returns -1 when a mailbox cannot be made (out of memory).
 */
static int
start_ready(struct graph *g)
{
	struct greq *r, *prev = NULL, *next;
	double now = mono_now();
	int rc;

	for (r = g->queue; r != NULL; r = next) {
		struct mailbox *b = mailbox(g, box_of(r));

		next = r->next;
		if (b == NULL)
			return -1;
		if (r->not_before > now) {
			prev = r;
			continue;
		}
		if (!room(b, r)) {
			prev = r;
			continue;
		}
		/* unlink */
		if (prev)
			prev->next = next;
		else
			g->queue = next;
		if (g->queue_tail == r)
			g->queue_tail = prev;
		r->next = NULL;
		r->where = GREQ_OUT;
		r->attempts++;
		/* The service is unreachable: fail at once. */
		if (g->down[r->is_token ? 1 : 0].network) {
			r->err = g->down[r->is_token ? 1 : 0];
			graph_judge(&r->err, is_create(r));
			r->done(r, &r->err);
			continue;
		}
		if ((rc = start(g, r)) != 0) {
			memset(&r->err, 0, sizeof(r->err));
			if (rc == -1)
				gerr(&r->err, GRAPH_PROTOCOL, 0, "refusing "
				    "to send a request to %s (not the "
				    "Graph root)", r->url);
			else
				gerr(&r->err, GRAPH_LOCAL, 0, "cannot "
				    "start a request: out of memory");
			r->done(r, &r->err);
			continue;
		}
		r->where = GREQ_RUNNING;
		b->inflight += weight(r);
	}
	return 0;
}

int
graph_wait(struct graph *g)
{
	while (g->queue != NULL || g->running > 0) {
		struct greq *r, *done = NULL, **done_tail = &done;
		double now, soonest;
		CURLMsg *m;
		int left, still, timeout_ms;

		if (start_ready(g) != 0)
			return -1;
		if (g->running == 0 && g->queue == NULL)
			break;
		curl_multi_perform(g->multi, &still);
		while ((m = curl_multi_info_read(g->multi, &left)) != NULL) {
			struct mailbox *b;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &r);
			curl_multi_remove_handle(g->multi, m->easy_handle);
			g->running--;
			if ((b = mailbox(g, box_of(r))) != NULL)
				b->inflight -= weight(r);
			if (finish(g, r, m->data.result) == 1) {
				easy_put(g, r->easy);
				r->easy = NULL;
				greq_submit(g, r);
				continue;
			}
			easy_put(g, r->easy);
			r->easy = NULL;
			r->where = GREQ_ANSWERED;
			*done_tail = r;
			done_tail = &r->next;
		}
		/*
		 * What waits for the room these answers left goes out before
		 * their callbacks run: the next $batch of a mailbox travels
		 * while the answers of the last one are stored.
		 */
		if (done != NULL && start_ready(g) != 0) {
			while ((r = done) != NULL) {
				done = r->next;
				r->next = NULL;
				r->where = GREQ_OUT;
				if (r->cancelled) {
					greq_free(r);
					continue;
				}
				gerr(&r->err, GRAPH_LOCAL, 0, "out of memory");
				r->done(r, &r->err);
			}
			return -1;
		}
		while ((r = done) != NULL) {
			done = r->next;
			r->next = NULL;
			r->where = GREQ_OUT;
			if (r->cancelled) {	/* greq_cancel from a callback */
				greq_free(r);
				continue;
			}
			/* The callback may submit more (the next page). */
			r->done(r, r->err.cls == GRAPH_OK && r->status >= 200 &&
			    r->status < 300 ? NULL : &r->err);
		}
		if (g->running == 0 && g->queue == NULL)
			break;
		/* Wait for the network, or for the next retry to be due; a
		 * request queued by a callback that can start goes at once. */
		soonest = -1;
		now = mono_now();
		for (r = g->queue; r != NULL; r = r->next) {
			struct mailbox *b = mailbox(g, box_of(r));

			if (r->not_before <= now && b != NULL && room(b, r))
				soonest = now;
			else if (r->not_before > now && (soonest < 0 ||
			    r->not_before < soonest))
				soonest = r->not_before;
		}
		timeout_ms = 1000;
		if (soonest >= 0) {
			double ms = (soonest - mono_now()) * 1000;

			timeout_ms = ms < 0 ? 0 : ms > 1000 ? 1000 : (int)ms + 1;
		}
		if (g->running > 0)
			curl_multi_poll(g->multi, NULL, 0, timeout_ms, NULL);
		else if (timeout_ms > 0) {
			struct timespec ts = { timeout_ms / 1000,
			    (long)(timeout_ms % 1000) * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	return 0;
}

/* Run one request to completion; returns 0 with r->body, or -1. */
static void
sync_done(struct greq *r, const struct graph_err *e)
{
	r->finished = 1;
	(void)e;
}

int
greq_run(struct graph *g, struct greq *r, struct graph_err *err)
{
	r->done = sync_done;
	greq_submit(g, r);
	graph_wait(g);
	if (r->err.cls != GRAPH_OK || r->status < 200 || r->status >= 300) {
		if (r->err.cls == GRAPH_OK) {
			r->err.cls = GRAPH_PROTOCOL;
			graph_error_body(r, &r->err);
		}
		if (err)
			*err = r->err;
		return -1;
	}
	return 0;
}

/* Parse buf as a JSON object (duplicate keys refused); new reference or
 * NULL with err. */
static json_t *
load_object(struct greq *r, const char *buf, size_t len, size_t flags,
    struct graph_err *err)
{
	json_error_t je;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | flags, &je);

	if (!json_is_object(j)) {
		json_decref(j);
		gerr(err, GRAPH_PROTOCOL, (int)r->status, "%s: malformed JSON "
		    "response (%s)", r->what, je.text);
		return NULL;
	}
	return j;
}

/* The value of the four hex digits at p, or -1. */
static long
hex4(const char *p)
{
	long v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		int c = (unsigned char)p[i];

		if (!isxdigit(c))
			return -1;
		v = v * 16 + (isdigit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/*
 * The escape of a lone surrogate ("\udc80": a UTF-16 half the service
 * may send for text it cut or could not convert) becomes "\ufffd" in
 * place, the same length; a high and low pair stays.  Outside strings
 * JSON has no backslash, so every one starts an escape.
 */
static void
lone_surrogates(char *p, size_t n)
{
	size_t i;
	long u, w;

	for (i = 0; i + 1 < n; i++) {
		if (p[i] != '\\')
			continue;
		if (p[i + 1] != 'u' || i + 6 > n || (u = hex4(p + i + 2)) < 0) {
			i++;	/* \\, \", \n ...: the next byte is taken */
			continue;
		}
		if (u >= 0xd800 && u <= 0xdbff && i + 12 <= n &&
		    p[i + 6] == '\\' && p[i + 7] == 'u' &&
		    (w = hex4(p + i + 8)) >= 0xdc00 && w <= 0xdfff) {
			i += 11;
			continue;
		}
		if (u >= 0xd800 && u <= 0xdfff)
			memcpy(p + i + 2, "fffd", 4);
		i += 5;
	}
}

/*
 * A page of events: one item with bytes that are not UTF-8, the escape
 * of a lone surrogate, or a \u0000, must not cost the whole page (jansson
 * refuses all three).  Invalid bytes are replaced by U+FFFD (in a copy,
 * only when there are any), lone surrogates too (in place), NULs are let
 * through; graph_parse_event then marks the field that holds either.
 */
json_t *
greq_json_page(struct greq *r, struct graph_err *err)
{
	const unsigned char *p = (const unsigned char *)(r->body ? r->body : "");
	size_t i, k, n = r->len, o = 0, bad = 0;
	char *fixed;
	json_t *j;

	if (r->body != NULL)
		lone_surrogates(r->body, n);

	for (i = 0; i < n; i += k ? k : 1)
		bad += (k = tt_utf8_len(p + i, n - i)) == 0;
	if (bad == 0)
		return load_object(r, (const char *)p, n, JSON_ALLOW_NUL, err);
	if (bad > (SIZE_MAX - n) / 2 || (fixed = malloc(n + 2 * bad)) == NULL) {
		gerr(err, GRAPH_LOCAL, 0, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i += k ? k : 1) {
		if ((k = tt_utf8_len(p + i, n - i)) == 0) {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);	/* U+FFFD */
			o += 3;
		} else {
			memcpy(fixed + o, p + i, k);
			o += k;
		}
	}
	j = load_object(r, fixed, o, JSON_ALLOW_NUL, err);
	free(fixed);
	return j;
}

/* Parse r's body as a JSON object; new reference or NULL with err. */
json_t *
greq_json(struct greq *r, struct graph_err *err)
{
	return load_object(r, r->body ? r->body : "", r->len, 0, err);
}

/* ------------------------------------------------- identity platform */

static char *
form_escape(const char *s)
{
	return curl_easy_escape(NULL, s, 0);
}

/* key=value&... with every value escaped; new string (caller wipes). */
char *
graph_form(const char *const *kv, size_t n)
{
	char *out = NULL, *v, *tmp;
	size_t i;

	for (i = 0; i + 1 < n; i += 2) {
		if ((v = form_escape(kv[i + 1])) == NULL) {
			tt_wipe_free(out);
			return NULL;
		}
		if (asprintf(&tmp, "%s%s%s=%s", out ? out : "", out ? "&" : "",
		    kv[i], v) < 0)
			tmp = NULL;
		explicit_bzero(v, strlen(v));
		curl_free(v);
		tt_wipe_free(out);
		if ((out = tmp) == NULL)
			return NULL;
	}
	return out;
}

static char *
token_url(struct graph *g, const char *leaf)
{
	char *t = curl_easy_escape(NULL, g->s.tenant, 0), *u = NULL;

	if (t != NULL && asprintf(&u, "%s/%s/oauth2/v2.0/%s",
	    g->s.authority_url, t, leaf) < 0)
		u = NULL;
	curl_free(t);
	return u;
}

static int
token_post(struct graph *g, const char *leaf, char *body, struct greq **out,
    struct graph_err *err)
{
	char *url = token_url(g, leaf);
	struct greq *r;

	*out = NULL;
	if (url == NULL || body == NULL || (r = greq_new(g, "POST", url)) == NULL) {
		free(url);
		tt_wipe_free(body);
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	}
	free(url);
	r->is_token = 1;
	r->secret_body = 1;
	r->req_body = body;
	if (greq_mailbox(r, "login") != 0) {
		greq_free(r);
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	}
	snprintf(r->what, sizeof(r->what), "identity platform %s", leaf);
	*out = r;
	if (greq_run(g, r, err) != 0)
		return -1;
	return 0;
}

void
graph_tokens_free(struct graph_tokens *t)
{
	if (t == NULL)
		return;
	tt_wipe_free(t->access_token);
	tt_wipe_free(t->refresh_token);
	free(t->scope);
	free(t->tenant_id);
	memset(t, 0, sizeof(*t));
}

static void
wipe_json_string(json_t *v)
{
	const char *c = json_string_value(v);
	char *w;

	if (c == NULL)
		return;
	memcpy(&w, &c, sizeof(w));	/* jansson owns it; we only zero it */
	explicit_bzero(w, json_string_length(v));
}

/* Access tokens live 60-90 minutes (24-28 h with CAE); anything beyond
 * two days, or negative, is not a lifetime we believe. */
#define MAX_EXPIRES_IN (2 * 86400)

/* expires_in as a number of seconds in [0, MAX_EXPIRES_IN], or -1. */
static long long
expires_in(json_t *v)
{
	long long n;
	char *end;

	if (json_is_integer(v))
		n = (long long)json_integer_value(v);
	else if (json_is_string(v)) {
		errno = 0;
		n = strtoll(json_string_value(v), &end, 10);
		if (errno != 0 || end == json_string_value(v) || *end != '\0')
			return -1;
	} else
		return -1;
	if (n < 0)
		return -1;
	return n > MAX_EXPIRES_IN ? MAX_EXPIRES_IN : n;
}

/* A token member: a string that can be sent in a header, or NULL. */
static const char *
token_member(json_t *v)
{
	const char *s = json_string_value(v);

	return s != NULL && graph_token_ok(s, json_string_length(v)) &&
	    strlen(s) == json_string_length(v) ? s : NULL;
}

/*
 * The tenant of an id_token (a JWT: header.claims.signature, base64url):
 * its "tid" claim, new string, or NULL.  The token came straight from the
 * token endpoint over TLS; its signature is not checked because nothing
 * is authorised by it: it only tells a personal account from a work one.
 */
static char *
id_token_tid(const char *jwt)
{
	const char *p = jwt ? strchr(jwt, '.') : NULL, *q;
	unsigned char *raw;
	size_t n, i, o = 0;
	unsigned acc = 0;
	int bits = 0;
	json_t *j;
	char *tid = NULL;

	if (p == NULL || (q = strchr(++p, '.')) == NULL ||
	    (n = (size_t)(q - p)) > 65536 || (raw = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		const char *c = p[i] != '\0' ? strchr(tab, p[i]) : NULL;

		if (c == NULL)
			break;
		acc = (acc << 6) | (unsigned)(c - tab);
		if ((bits += 6) >= 8) {
			bits -= 8;
			raw[o++] = (unsigned char)(acc >> bits);
		}
	}
	j = i == n ? json_loadb((const char *)raw, o, 0, NULL) : NULL;
	free(raw);
	if (json_is_string(json_object_get(j, "tid")))
		tid = tt_sanitize_dup(json_string_value(json_object_get(j,
		    "tid")));
	json_decref(j);
	return tid;
}

/* A token endpoint's answer (borrowed; its secrets are wiped in place). */
int
graph_parse_tokens(json_t *j, struct graph_tokens *out, struct graph_err *err)
{
	json_t *at, *rt, *exp, *sc, *it;
	const char *atv, *rtv = NULL, *missing = NULL;
	long long life;

	memset(out, 0, sizeof(*out));
	at = json_object_get(j, "access_token");
	rt = json_object_get(j, "refresh_token");
	exp = json_object_get(j, "expires_in");
	sc = json_object_get(j, "scope");
	it = json_object_get(j, "id_token");
	atv = token_member(at);
	if (rt != NULL && (rtv = token_member(rt)) == NULL)
		missing = "a usable refresh_token";
	if (atv == NULL)
		missing = json_is_string(at) ? "a usable access_token (it holds "
		    "bytes a header cannot carry)" : "'access_token'";
	life = expires_in(exp);
	if (missing == NULL && life < 0)
		missing = "a usable 'expires_in'";
	if (missing != NULL) {
		/* The message is a constant: nothing of j outlives it. */
		wipe_json_string(at);
		wipe_json_string(rt);
		return gerr(err, GRAPH_PROTOCOL, 200, "token response lacks %s",
		    missing);
	}
	out->access_token = strdup(atv);
	out->refresh_token = rtv != NULL ? strdup(rtv) : NULL;
	out->scope = json_is_string(sc) ? tt_sanitize_dup(json_string_value(sc))
	    : NULL;
	out->tenant_id = id_token_tid(json_string_value(it));
	out->expires_at = tt_now() + (tt_time)life;
	/* The body held the tokens: wipe jansson's copies too. */
	wipe_json_string(at);
	wipe_json_string(rt);
	wipe_json_string(it);
	if (out->access_token == NULL || (rtv != NULL &&
	    out->refresh_token == NULL)) {
		graph_tokens_free(out);
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	}
	return 0;
}

static int
parse_tokens(struct greq *r, struct graph_tokens *out, struct graph_err *err)
{
	json_t *j = greq_json(r, err);
	int rc;

	memset(out, 0, sizeof(*out));
	if (j == NULL)
		return -1;
	rc = graph_parse_tokens(j, out, err);
	json_decref(j);
	return rc;
}

static void
wipe_req(struct greq *r)
{
	if (r != NULL && r->body != NULL)
		explicit_bzero(r->body, r->cap);
	greq_free(r);
}

int
graph_refresh(struct graph *g, const char *refresh_token, const char *scopes,
    struct graph_tokens *out, struct graph_err *err)
{
	const char *kv[] = { "client_id", g->s.client_id ? g->s.client_id : "",
	    "grant_type", "refresh_token", "refresh_token", refresh_token,
	    "scope", scopes };
	struct greq *r = NULL;
	int rc;

	rc = token_post(g, "token", graph_form(kv, 8), &r, err);
	if (rc == 0)
		rc = parse_tokens(r, out, err);
	wipe_req(r);
	return rc;
}

int
graph_redeem_code(struct graph *g, const char *code, const char *redirect_uri,
    const char *verifier, const char *scopes, struct graph_tokens *out,
    struct graph_err *err)
{
	const char *kv[] = { "client_id", g->s.client_id ? g->s.client_id : "",
	    "grant_type", "authorization_code", "code", code,
	    "redirect_uri", redirect_uri, "code_verifier", verifier,
	    "scope", scopes };
	struct greq *r = NULL;
	int rc;

	rc = token_post(g, "token", graph_form(kv, 12), &r, err);
	if (rc == 0)
		rc = parse_tokens(r, out, err);
	wipe_req(r);
	return rc;
}

char *
graph_authorize_url(struct graph *g, const char *scopes,
    const char *redirect_uri, const char *state, const char *challenge)
{
	const char *kv[] = { "client_id", g->s.client_id ? g->s.client_id : "",
	    "response_type", "code", "redirect_uri", redirect_uri,
	    "response_mode", "query", "scope", scopes, "state", state,
	    "code_challenge", challenge, "code_challenge_method", "S256",
	    "prompt", "select_account" };
	char *q = graph_form(kv, 18), *base = token_url(g, "authorize"), *u = NULL;

	if (q != NULL && base != NULL && asprintf(&u, "%s?%s", base, q) < 0)
		u = NULL;
	free(q);
	free(base);
	return u;
}

void
graph_devicecode_free(struct graph_devicecode *d)
{
	if (d == NULL)
		return;
	tt_wipe_free(d->device_code);
	free(d->user_code);
	free(d->verification_uri);
	free(d->message);
	memset(d, 0, sizeof(*d));
}

/* A device code answer (borrowed j): 0, or -1 with err. */
int
graph_parse_devicecode(json_t *j, struct graph_devicecode *out,
    struct graph_err *err)
{
	json_t *dc, *uc, *vu, *iv, *ex, *ms;
	json_int_t ivn, exn;

	memset(out, 0, sizeof(*out));
	dc = json_object_get(j, "device_code");
	uc = json_object_get(j, "user_code");
	vu = json_object_get(j, "verification_uri");
	if (!json_is_string(dc) || !json_is_string(uc) ||
	    !json_is_string(vu))
		return gerr(err, GRAPH_PROTOCOL, 200, "device code "
		    "response lacks '%s'", !json_is_string(dc) ?
		    "device_code" : !json_is_string(uc) ? "user_code" :
		    "verification_uri");
	iv = json_object_get(j, "interval");
	ex = json_object_get(j, "expires_in");
	ms = json_object_get(j, "message");
	out->device_code = strdup(json_string_value(dc));
	out->user_code = tt_sanitize_dup(json_string_value(uc));
	out->verification_uri = tt_sanitize_dup(json_string_value(vu));
	out->message = json_is_string(ms) ? tt_sanitize_dup(
	    json_string_value(ms)) : NULL;
	ivn = json_is_integer(iv) ? json_integer_value(iv) : 5;
	exn = json_is_integer(ex) ? json_integer_value(ex) : 900;
	/* Bounded before narrowing: the service decides. */
	out->interval = ivn >= 0 && ivn <= 60 ? (int)ivn : 5;
	out->expires_in = exn > 0 && exn <= 3600 ? (int)exn : 900;
	if (out->device_code == NULL || out->user_code == NULL ||
	    out->verification_uri == NULL || (json_is_string(ms) &&
	    out->message == NULL)) {
		graph_devicecode_free(out);
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	}
	return 0;
}

int
graph_devicecode_start(struct graph *g, const char *scopes,
    struct graph_devicecode *out, struct graph_err *err)
{
	const char *kv[] = { "client_id", g->s.client_id ? g->s.client_id : "",
	    "scope", scopes };
	struct greq *r = NULL;
	json_t *j = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = token_post(g, "devicecode", graph_form(kv, 4), &r, err);
	if (rc == 0 && (j = greq_json(r, err)) == NULL)
		rc = -1;
	if (rc == 0)
		rc = graph_parse_devicecode(j, out, err);
	json_decref(j);
	wipe_req(r);
	return rc;
}

int
graph_devicecode_poll(struct graph *g, const struct graph_devicecode *d,
    struct graph_tokens *out, struct graph_err *err)
{
	const char *kv[] = { "client_id", g->s.client_id ? g->s.client_id : "",
	    "grant_type", "urn:ietf:params:oauth:grant-type:device_code",
	    "device_code", d->device_code };
	struct greq *r = NULL;
	int rc;

	rc = token_post(g, "token", graph_form(kv, 6), &r, err);
	if (rc == 0)
		rc = parse_tokens(r, out, err);
	else if (strcasecmp(err->code, "authorization_pending") == 0)
		rc = 1;
	else if (strcasecmp(err->code, "slow_down") == 0)
		rc = 2;
	else if (strcasecmp(err->code, "authorization_declined") == 0 ||
	    strcasecmp(err->code, "expired_token") == 0 ||
	    strcasecmp(err->code, "bad_verification_code") == 0)
		err->cls = GRAPH_LOGIN;
	wipe_req(r);
	return rc;
}

/* ------------------------------------------------------- directory */

char *
graph_cal_base(const struct graph_cal *cal, int view)
{
	char *id, *out = NULL;

	/* The default calendar has its own documented paths: /me/calendarView
	 * (and its delta), /me/calendar/events. */
	if (cal->kind != GRAPH_CAL_GROUP && cal->is_default)
		return strdup(view ? "/me" : "/me/calendar");
	if ((id = curl_easy_escape(NULL, cal->id, 0)) == NULL)
		return NULL;
	if (asprintf(&out, "%s%s", cal->kind == GRAPH_CAL_GROUP ? "/groups/" :
	    "/me/calendars/", id) < 0)
		out = NULL;
	curl_free(id);
	return out;
}

char *
graph_cal_mailbox(const struct graph_cal *cal)
{
	char *key = NULL;

	if (cal->kind != GRAPH_CAL_GROUP)
		return strdup("me");
	if (asprintf(&key, "group:%s", cal->id) < 0)
		return NULL;
	return key;
}

/* Absolute Graph URL for a path (path starts with '/'); new string. */
char *
graph_url(struct graph *g, const char *path)
{
	char *u;

	if (asprintf(&u, "%s%s", g->s.graph_url, path) < 0)
		return NULL;
	return u;
}

/* GET an absolute Graph URL and parse the object; new reference. */
static json_t *
get_json(struct graph *g, const char *url, const char *what, int eventual,
    struct graph_err *err)
{
	struct greq *r = greq_new(g, "GET", url);
	json_t *j = NULL;

	if (r == NULL) {
		gerr(err, GRAPH_LOCAL, 0, "out of memory");
		return NULL;
	}
	r->eventual = eventual;
	snprintf(r->what, sizeof(r->what), "%s", what);
	if (greq_run(g, r, err) == 0)
		j = greq_json(r, err);
	greq_free(r);
	return j;
}

json_t *
graph_get_json(struct graph *g, const char *url, const char *what,
    struct graph_err *err)
{
	return get_json(g, url, what, 0, err);
}

void
graph_me_free(struct graph_me *m)
{
	if (m == NULL)
		return;
	free(m->id);
	free(m->upn);
	free(m->mail);
	free(m->display_name);
	memset(m, 0, sizeof(*m));
}

/* A string member, sanitised, whole; NULL when missing or empty. */
char *
jstrdup(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return tt_sanitize_dup(json_string_value(v));
}

/*
 * An identifier member (an id, a changeKey): verbatim and whole, or NULL
 * when missing, empty, or holding what no identifier holds (NUL, control
 * characters, invalid UTF-8): such an id is refused, never altered.
 */
char *
jid(json_t *o, const char *key)
{
	char *s = jstrdup(o, key);

	if (s != NULL && strcmp(s, json_string_value(json_object_get(o,
	    key))) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

int
graph_get_me(struct graph *g, struct graph_me *out, struct graph_err *err)
{
	char *url = graph_url(g, "/me");
	json_t *j;

	memset(out, 0, sizeof(*out));
	if (url == NULL)
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	j = graph_get_json(g, url, "GET /me", err);
	free(url);
	if (j == NULL)
		return -1;
	out->id = jid(j, "id");
	out->upn = jstrdup(j, "userPrincipalName");
	out->mail = jstrdup(j, "mail");
	out->display_name = jstrdup(j, "displayName");
	json_decref(j);
	if (out->id == NULL || out->upn == NULL) {
		graph_me_free(out);
		return gerr(err, GRAPH_PROTOCOL, 200, "/me lacks '%s'",
		    out->id == NULL ? "id" : "userPrincipalName");
	}
	return 0;
}

int
graph_mailbox_zone(struct graph *g, char **zone, struct graph_err *err)
{
	char *url = graph_url(g, "/me/mailboxSettings/timeZone");
	json_t *j;

	*zone = NULL;
	if (url == NULL)
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	j = graph_get_json(g, url, "GET /me/mailboxSettings/timeZone", err);
	free(url);
	if (j == NULL)
		return -1;
	*zone = jstrdup(j, "value");
	json_decref(j);
	if (*zone == NULL)
		return gerr(err, GRAPH_PROTOCOL, 200, "mailboxSettings/timeZone "
		    "lacks 'value'");
	return 0;
}

/*
 * One page of a collection (borrowed j): each(arg, item) for every object
 * in its `value`, until one returns non-zero (that value is returned);
 * -2 with err filled when the page has no `value` array.
 */
int
graph_page_items(json_t *j, const char *what, int (*each)(void *, json_t *),
    void *arg, struct graph_err *err)
{
	json_t *v = json_object_get(j, "value"), *item;
	size_t i;
	int rc = 0;

	if (!json_is_array(v)) {
		gerr(err, GRAPH_PROTOCOL, 200, "%s: response lacks 'value'",
		    what);
		return -2;
	}
	json_array_foreach(v, i, item)
		if (json_is_object(item) && (rc = each(arg, item)) != 0)
			break;
	return rc;
}

/*
 * Read every page of a collection (following @odata.nextLink, at most 1000
 * pages), calling each(arg, item) for every object in `value`; each
 * returns non-zero to stop (negative: an error it filled in err).
 */
static int
each_page(struct graph *g, const char *first, const char *what, int eventual,
    int (*each)(void *, json_t *), void *arg, struct graph_err *err)
{
	char *url = strdup(first);
	int pages = 0, rc = 0;

	if (url == NULL)
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	while (url != NULL && rc == 0) {
		json_t *j = get_json(g, url, what, eventual, err), *next;

		free(url);
		url = NULL;
		if (j == NULL)
			return -1;
		if ((rc = graph_page_items(j, what, each, arg, err)) == -2) {
			json_decref(j);
			return -1;
		}
		next = json_object_get(j, "@odata.nextLink");
		if (rc == 0 && json_is_string(next)) {
			if (++pages > 1000)
				rc = gerr(err, GRAPH_PROTOCOL, 200, "%s: more "
				    "than 1000 pages", what);
			else if ((url = strdup(json_string_value(next))) == NULL)
				rc = gerr(err, GRAPH_LOCAL, 0, "out of memory");
		}
		json_decref(j);
	}
	return rc < 0 ? -1 : 0;
}

int
graph_each(struct graph *g, const char *first, const char *what,
    int (*each)(void *, json_t *), void *arg, struct graph_err *err)
{
	return each_page(g, first, what, 0, each, arg, err);
}

int
graph_each_eventual(struct graph *g, const char *first, const char *what,
    int (*each)(void *, json_t *), void *arg, struct graph_err *err)
{
	return each_page(g, first, what, 1, each, arg, err);
}

int
graph_cal_group(void *arg, json_t *item)
{
	struct cal_ctx *c = arg;
	struct calgroup *n;

	n = reallocarray(c->groups, c->ngroups + 1, sizeof(*n));
	if (n == NULL)
		return gerr(c->err, GRAPH_LOCAL, 0, "out of memory");
	c->groups = n;
	n[c->ngroups].id = jid(item, "id");
	n[c->ngroups].name = jstrdup(item, "name");
	n[c->ngroups].is_default = 0;
	if (n[c->ngroups].id == NULL || n[c->ngroups].name == NULL) {
		free(n[c->ngroups].id);
		free(n[c->ngroups].name);
		return gerr(c->err, GRAPH_PROTOCOL, 200, "calendar group "
		    "lacks id or name");
	}
	c->ngroups++;
	return 0;
}

/* Keep every calendar until all are known: the path of a sub-calendar
 * depends on whether its group holds the default calendar, and whether a
 * calendar is shared depends on the default calendar's owner. */
int
graph_cal_item(void *arg, json_t *item)
{
	struct cal_ctx *c = arg;
	struct calitem *n;

	n = reallocarray(c->items, c->nitems + 1, sizeof(*n));
	if (n == NULL)
		return gerr(c->err, GRAPH_LOCAL, 0, "out of memory");
	c->items = n;
	n[c->nitems].item = json_incref(item);
	n[c->nitems].grp = c->cur;
	c->nitems++;
	if (c->cur != (size_t)-1 && json_is_true(json_object_get(item,
	    "isDefaultCalendar")))
		c->groups[c->cur].is_default = 1;
	return 0;
}

static const char *
owner_address(json_t *item)
{
	return json_string_value(json_object_get(json_object_get(item,
	    "owner"), "address"));
}

/*
 * Hand cal to cb (when given), then free its strings: 1 when cb asked to
 * stop, -1 when it failed (err says so; the caller's record says why),
 * else 0.
 */
static int
report_calendar(struct graph_calendar *cal,
    int (*cb)(void *, const struct graph_calendar *), void *arg,
    struct graph_err *err)
{
	int rc = cb != NULL ? cb(arg, cal) : 0;

	if (rc < 0)
		gerr(err, GRAPH_CANCELLED, 0, "stopped by the caller");
	free(cal->id);
	free(cal->name);
	free(cal->owner);
	free(cal->path);
	memset(cal, 0, sizeof(*cal));
	return rc < 0 ? -1 : rc > 0;
}

/* Report one listed calendar; 1 when cb asked to stop, -1 on error. */
static int
emit_calendar(struct cal_ctx *c, size_t k, const char *me,
    int (*cb)(void *, const struct graph_calendar *), void *arg)
{
	json_t *item = c->items[k].item, *ce = json_object_get(item, "canEdit");
	const struct calgroup *grp = c->items[k].grp == (size_t)-1 ? NULL :
	    &c->groups[c->items[k].grp];
	struct graph_calendar cal = { 0 };
	const char *owner = owner_address(item);
	size_t i;
	int rc = -1;

	cal.kind = GRAPH_CAL_USER;
	cal.id = jid(item, "id");
	cal.name = jstrdup(item, "name");
	if (cal.id == NULL || cal.name == NULL) {
		gerr(c->err, GRAPH_PROTOCOL, 200, "calendar lacks id or name");
		goto out;
	}
	/* A calendar listed in a group and again in /me/calendars. */
	for (i = 0; i < k; i++)
		if (json_equal(json_object_get(c->items[i].item, "id"),
		    json_object_get(item, "id"))) {
			rc = 0;
			goto out;
		}
	cal.can_edit = json_is_true(ce) || ce == NULL;
	cal.is_default = json_is_true(json_object_get(item, "isDefaultCalendar"));
	cal.owner = owner != NULL ? tt_sanitize_dup(owner) : NULL;
	cal.shared = !cal.is_default && owner != NULL && me != NULL &&
	    strcasecmp(owner, me) != 0;
	cal.container = grp ? grp->id : NULL;
	if (grp != NULL && !grp->is_default) {
		if (asprintf(&cal.path, "%s/%s", grp->name, cal.name) < 0)
			cal.path = NULL;
	} else
		cal.path = strdup(cal.name);
	if (cal.path == NULL || (owner != NULL && cal.owner == NULL)) {
		gerr(c->err, GRAPH_LOCAL, 0, "out of memory");
		goto out;
	}
	return report_calendar(&cal, cb, arg, c->err);
out:
	report_calendar(&cal, NULL, NULL, NULL);	/* frees only */
	return rc;
}

int
graph_cal_report(struct cal_ctx *c,
    int (*cb)(void *, const struct graph_calendar *), void *arg)
{
	const char *me = NULL;
	size_t i;
	int rc;

	/* The default calendar's owner is the user. */
	for (i = 0; i < c->nitems && me == NULL; i++)
		if (json_is_true(json_object_get(c->items[i].item,
		    "isDefaultCalendar")))
			me = owner_address(c->items[i].item);
	for (i = 0, rc = 0; i < c->nitems && rc == 0; i++)
		rc = emit_calendar(c, i, me, cb, arg);
	return rc < 0 ? -1 : 0;
}

void
graph_cal_clear(struct cal_ctx *c)
{
	size_t i;

	for (i = 0; i < c->ngroups; i++) {
		free(c->groups[i].id);
		free(c->groups[i].name);
	}
	free(c->groups);
	for (i = 0; i < c->nitems; i++)
		json_decref(c->items[i].item);
	free(c->items);
	memset(c, 0, sizeof(*c));
}

int
graph_list_calendars(struct graph *g,
    int (*cb)(void *, const struct graph_calendar *), void *arg,
    struct graph_err *err)
{
	struct cal_ctx c = { 0 };
	char *url = NULL;
	size_t i;
	int rc = -1;

	c.err = err;
	url = graph_url(g, "/me/calendarGroups?$top=100");
	if (url == NULL || graph_each(g, url, "GET /me/calendarGroups",
	    graph_cal_group, &c, err) != 0)
		goto out;
	/* Calendars by group, so that sub-calendars get their path. */
	for (i = 0; i < c.ngroups; i++) {
		char *gid = curl_easy_escape(NULL, c.groups[i].id, 0), *p = NULL;

		if (gid == NULL || asprintf(&p, "/me/calendarGroups/%s/calendars"
		    "?$top=100", gid) < 0)
			p = NULL;
		curl_free(gid);
		free(url);
		url = p ? graph_url(g, p) : NULL;
		free(p);
		c.cur = i;
		if (url == NULL || graph_each(g, url, "GET /me/calendarGroups/"
		    "{id}/calendars", graph_cal_item, &c, err) != 0)
			goto out;
	}
	/* Any calendar outside every group (seen in some mailboxes). */
	free(url);
	url = graph_url(g, "/me/calendars?$top=100");
	c.cur = (size_t)-1;
	if (url == NULL || graph_each(g, url, "GET /me/calendars", graph_cal_item, &c,
	    err) != 0)
		goto out;
	rc = graph_cal_report(&c, cb, arg);
out:
	if (url == NULL && rc != 0 && err->cls == GRAPH_OK)
		gerr(err, GRAPH_LOCAL, 0, "out of memory");
	free(url);
	graph_cal_clear(&c);
	return rc;
}

/*
 * One Microsoft 365 group.  Without a permission to read groups, the
 * directory returns it "with limited information": @odata.type and id
 * only (graph-docs includes/limited-info.md); it is reported by id.
 */
int
graph_group_item(void *arg, json_t *item)
{
	struct group_ctx *c = arg;
	struct graph_calendar cal = { 0 };
	int rc = -1;

	cal.kind = GRAPH_CAL_GROUP;
	if ((cal.id = jid(item, "id")) == NULL)
		return gerr(c->err, GRAPH_PROTOCOL, 200, "a group lacks 'id'");
	cal.name = jstrdup(item, "displayName");
	cal.limited = cal.name == NULL;
	if (cal.name == NULL)
		cal.name = strdup(cal.id);
	cal.owner = jstrdup(item, "mail");
	cal.container = cal.id;
	if (cal.name == NULL || asprintf(&cal.path, "%s (group)", cal.name) < 0)
		cal.path = NULL;
	cal.can_edit = 1;	/* members may add events to the group calendar */
	if (cal.path == NULL)
		gerr(c->err, GRAPH_LOCAL, 0, "out of memory");
	else
		return report_calendar(&cal, c->cb, c->arg, c->err);
	report_calendar(&cal, NULL, NULL, NULL);
	return rc;
}

int
graph_list_groups(struct graph *g,
    int (*cb)(void *, const struct graph_calendar *), void *arg,
    struct graph_err *err)
{
	struct group_ctx c = { cb, arg, err };
	char *url;
	int rc;

	/*
	 * The cast and the filter are "advanced queries": without
	 * ConsistencyLevel: eventual and $count=true the directory answers
	 * 400 Request_UnsupportedQuery (graph-docs user-list-memberof.md,
	 * aad-advanced-queries.md).
	 */
	url = graph_url(g, "/me/memberOf/microsoft.graph.group?$filter="
	    "groupTypes/any(a:a%20eq%20'Unified')&$count=true"
	    "&$select=id,displayName,mail&$top=100");
	if (url == NULL)
		return gerr(err, GRAPH_LOCAL, 0, "out of memory");
	rc = graph_each_eventual(g, url, "GET /me/memberOf", graph_group_item, &c,
	    err);
	free(url);
	return rc;
}

/* ------------------------------------------------ sync --dry-run */

void
graph_set_dry(struct graph *g)
{
	g->dry = 1;
}

int
graph_is_dry(const struct graph *g)
{
	return g->dry;
}

unsigned
graph_dry_write(struct graph *g)
{
	return ++g->dry_writes;
}

/* ---------------------------------------------------------- doctor */

int
graph_date(const struct graph *g, int identity, time_t *date, time_t *at)
{
	int i = identity != 0;

	if (g->date_at[i] == 0)
		return 0;
	*date = g->date[i];
	*at = g->date_at[i];
	return 1;
}
