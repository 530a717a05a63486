/* SPDX-License-Identifier: ISC */
/*
 * connection.c -- a profile's connection to Microsoft 365: a Graph handle
 * from the configuration, an access token that is valid (refreshed when
 * due, the rotated refresh token committed before the new access token is
 * used), the calendars discovered, and the pieces of an interactive
 * sign-in that are not the terminal's: PKCE, the sign-in state, and the
 * loopback redirect that receives the code.
 *
 * Persistent state: the account row (tokens) and the calendars rows, in
 * the store.  Recovery rule: a crash can at worst waste an access token,
 * never lose the grant.  Stored tokens go only to the hosts that issued
 * them (the account row records both).  Nothing here prints or parses
 * options; warnings go to the caller's conn.warn.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "connection.h"
#include "graph.h"
#include "sha256.h"

#define REFRESH_MARGIN 300	/* refresh within 5 minutes of expiry */
#define LOGIN_WAIT 300		/* seconds to wait for the browser */
#define REDIRECT_MAX 65536	/* bytes of the browser's redirect request */

int
conn_has_scope(const char *scopes, const char *want)
{
	size_t n = strlen(want);
	const char *p = scopes;

	while (p != NULL && (p = strcasestr(p, want)) != NULL) {
		if ((p == scopes || p[-1] == ' ' || p[-1] == '/') &&
		    (p[n] == '\0' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

/* The scopes to ask for: the base set, and the group permission when
 * the account holds it (or wants it). */
const char *
conn_scopes(int group)
{
	return group ? CONN_BASE_SCOPES " " CONN_GROUP_SCOPE : CONN_BASE_SCOPES;
}

int
conn_personal(const struct account *a)
{
	return a->tenant_id != NULL &&
	    strcmp(a->tenant_id, GRAPH_CONSUMER_TENANT) == 0;
}

int
conn_graph(const struct conn *cn, struct graph **g, struct tt_err *err)
{
	struct graph_err ge = { 0 };

	if (graph_new(&cn->gs, g, &ge) != 0)
		return tt_fail(err, TT_E_INTERNAL, "%s", ge.msg);
	return 0;
}

/* Fill err from a Graph error, naming the profile and the step. */
int
conn_fail(struct tt_err *err, const char *profile, const char *step,
    const struct graph_err *ge)
{
	return tt_fail(err, graph_errc(ge), "profile %s: %s: %s", profile, step,
	    ge->msg);
}


/*
 * Whether the configuration still names the hosts the profile's tokens
 * were issued by and for.  Tokens never follow a changed authority_url or
 * graph_url: the tool refuses and asks for a login instead.
 */
static int
same_hosts(const struct conn *cn, const struct account *a, const char *name,
    struct tt_err *err)
{
	char *o[4];
	int i, same;

	o[0] = tt_url_origin(a->authority_url);
	o[1] = tt_url_origin(cn->gs.authority_url);
	o[2] = tt_url_origin(a->graph_url);
	o[3] = tt_url_origin(cn->gs.graph_url);
	same = o[0] && o[1] && o[2] && o[3] && strcmp(o[0], o[1]) == 0 &&
	    strcmp(o[2], o[3]) == 0;
	if (!same && o[0] && o[1] && o[2] && o[3])
		tt_fail(err, TT_E_LOGIN, "profile %s: its tokens were issued by %s "
		    "for %s, but the configuration names %s and %s; they are not "
		    "sent there", name, o[0], o[2], o[1], o[3]);
	else if (!same)
		tt_fail(err, TT_E_INTERNAL, "out of memory");
	for (i = 0; i < 4; i++)
		free(o[i]);
	return same ? 0 : -1;
}

/* The store the tokens live in (struct conn's token_st). */
static struct store *
token_store(const struct conn *cn)
{
	return cn->token_st != NULL ? cn->token_st : cn->st;
}

/* Commit a token response, then use its access token. */
int
conn_use_tokens(const struct conn *cn, struct graph *g, int64_t profile,
    const char *name, const struct graph_tokens *t, const char *scopes,
    struct tt_err *err)
{
	if (store_tokens_save(token_store(cn), profile, t->access_token, t->expires_at,
	    t->refresh_token, scopes, err))
		return -1;
	if (graph_set_token(g, t->access_token) != 0)
		return tt_fail(err, TT_E_DOWN, "profile %s: the access token "
		    "cannot be sent", name);
	return 0;
}

/*
 * Make sure g carries a valid access token for the profile, refreshing it
 * when it is within five minutes of expiry, or always when `force` (the
 * service refused the one it had).  The rotated refresh token is
 * committed to the store before the new access token is used; a response
 * without one keeps the old.
 */
int
conn_token(const struct conn *cn, struct graph *g, int64_t profile,
    const char *name, int force, struct tt_err *err)
{
	struct account a;
	struct graph_tokens t = { 0 };
	struct graph_err ge = { 0 };
	int r;

	r = store_account_get(token_store(cn), profile, &a, err);
	if (r <= 0)
		return r < 0 ? -1 : tt_fail(err, TT_E_LOGIN, "profile %s is not "
		    "connected", name);
	if (a.needs_login != NULL) {
		tt_fail(err, TT_E_LOGIN, "profile %s needs a new login (%s)", name,
		    a.needs_login);
		store_account_free(&a);
		return -1;
	}
	if (same_hosts(cn, &a, name, err) != 0) {
		store_account_free(&a);
		return -1;
	}
	if (!force && a.access_token != NULL && a.access_expires - tt_now() >
	    REFRESH_MARGIN && graph_set_token(g, a.access_token) == 0) {
		store_account_free(&a);
		return 0;
	}
	if (a.refresh_token == NULL) {
		store_account_free(&a);
		return tt_fail(err, TT_E_LOGIN, "profile %s has no refresh token",
		    name);
	}
	if (graph_refresh(g, a.refresh_token, conn_scopes(conn_has_scope(a.scopes,
	    CONN_GROUP_SCOPE)), &t, &ge) != 0) {
		if (ge.cls == GRAPH_LOGIN)
			store_account_mark(token_store(cn), profile, ge.msg,
			    NULL);
		store_account_free(&a);
		return conn_fail(err, name, "token refresh", &ge);
	}
	store_account_free(&a);
	/* An administrator's consent shows in any token: keep asking. */
	r = conn_use_tokens(cn, g, profile, name, &t, t.scope != NULL &&
	    conn_has_scope(t.scope, CONN_GROUP_SCOPE) ? conn_scopes(1) : NULL, err);
	graph_tokens_free(&t);
	return r;
}


/* ------------------------------------------------------- discovery */

struct discover {
	const struct conn *cn;
	int64_t profile;
	int n;
	int failed;		/* the store failed: err is filled */
	struct tt_err *err;
};

static int
discovered(void *arg, const struct graph_calendar *gc)
{
	struct discover *d = arg;
	struct calendar c = { 0 };

	c.profile_id = d->profile;
	c.remote_id = gc->id;
	c.kind = gc->kind;
	c.container = gc->container;
	c.name = gc->name;
	c.path = gc->path;
	c.owner = gc->owner;
	c.can_edit = gc->can_edit;
	c.is_default = gc->is_default;
	c.shared = gc->shared;
	c.limited = gc->limited;
	if (store_calendar_seen(d->cn->st, &c, d->err) != 0) {
		d->failed = 1;
		return -1;
	}
	d->n++;
	return 0;
}

/* Replace the profile's calendars of one kind by what the service lists,
 * in one transaction: a failed listing changes nothing. */
static int
discover_kind(const struct conn *cn, struct graph *g, int64_t profile, int kind,
    struct graph_err *ge, struct tt_err *err)
{
	struct discover d = { cn, profile, 0, 0, err };

	memset(ge, 0, sizeof(*ge));
	if (store_begin(cn->st, err))
		return -2;
	if (store_calendars_absent(cn->st, profile, kind, err)) {
		store_rollback(cn->st);
		return -2;
	}
	if ((kind == GRAPH_CAL_GROUP ? graph_list_groups : graph_list_calendars)(g,
	    discovered, &d, ge) != 0 || d.failed) {
		store_rollback(cn->st);
		return d.failed ? -2 : -1;
	}
	return store_commit(cn->st, err) ? -2 : 0;
}

/*
 * Read the calendars into the store: the user's own and shared ones, then
 * the Microsoft 365 groups (none for a personal account).  An access
 * token the service refuses before its time (revoked, a policy change,
 * the clock) is refreshed once.  A failure to list the groups is told and
 * leaves the group calendars as they were; it never loses the user's.
 */
int
conn_discover(const struct conn *cn, struct graph *g, int64_t profile,
    const char *name, int personal, struct tt_err *err)
{
	struct graph_err ge;
	struct tt_err e2 = { 0 };
	int tries, r;

	for (tries = 0;; tries++) {
		if ((r = discover_kind(cn, g, profile, GRAPH_CAL_USER, &ge, err)) == 0)
			break;
		if (r == -2)
			return -1;
		if (ge.cls != GRAPH_TOKEN || tries > 0)
			return conn_fail(err, name, "listing calendars", &ge);
		if (conn_token(cn, g, profile, name, 1, err))
			return -1;
	}
	if (personal)
		return 0;
	if ((r = discover_kind(cn, g, profile, GRAPH_CAL_GROUP, &ge, &e2)) != 0) {
		if (r == -2)
			return tt_fail(err, e2.code, "%s", e2.msg);
		tt_fail(&e2, 0, "profile %s: listing Microsoft 365 groups: %s; "
		    "the group calendars are shown as last seen", name, ge.msg);
		if (cn->warn != NULL)
			cn->warn(cn->arg, e2.msg);
	}
	return 0;
}


static void
base64url(const uint8_t *in, size_t n, char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		out[o++] = tab[in[i] >> 2];
		out[o++] = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = tab[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
		out[o++] = tab[in[i + 2] & 63];
	}
	if (n - i == 1) {
		out[o++] = tab[in[i] >> 2];
		out[o++] = tab[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		out[o++] = tab[in[i] >> 2];
		out[o++] = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
		out[o++] = tab[(in[i + 1] & 15) << 2];
	}
	out[o] = '\0';
}

/* The PKCE pair: a 43-character verifier and its S256 challenge. */
void
conn_pkce(char verifier[64], char challenge[64])
{
	uint8_t raw[32], digest[32];

	arc4random_buf(raw, sizeof(raw));
	base64url(raw, sizeof(raw), verifier);
	sha256(verifier, strlen(verifier), digest);
	base64url(digest, sizeof(digest), challenge);
	explicit_bzero(raw, sizeof(raw));
}

/* A random value for the sign-in's state parameter (base64url). */
void
conn_state(char state[64])
{
	uint8_t raw[24];

	arc4random_buf(raw, sizeof(raw));
	base64url(raw, sizeof(raw), state);
}


/*
 * One query parameter, percent-decoded, as a new string (whatever its
 * length); NULL when absent.  The query ends at a space (the request
 * line's " HTTP/1.1"), CR or LF.
 */
static char *
query_param(const char *q, const char *key)
{
	size_t kl = strlen(key), o = 0, n;
	const char *p = q;
	char *out;

	while (p != NULL && *p != '\0' && *p != ' ' && *p != '\r' &&
	    *p != '\n') {
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			p += kl + 1;
			n = strcspn(p, "& \r\n");
			if ((out = malloc(n + 1)) == NULL)
				return NULL;
			for (; n > 0; p++, n--) {
				if (*p == '%' && n >= 3 &&
				    isxdigit((unsigned char)p[1]) &&
				    isxdigit((unsigned char)p[2])) {
					char hex[3] = { p[1], p[2], 0 };

					out[o++] = (char)strtol(hex, NULL, 16);
					p += 2;
					n -= 2;
				} else
					out[o++] = *p == '+' ? ' ' : *p;
			}
			out[o] = '\0';
			return out;
		}
		p += strcspn(p, "& \r\n");
		if (*p == '&')
			p++;
	}
	return NULL;
}



int
conn_listen(int *port, struct tt_err *err)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return tt_fail(err, TT_E_LOCAL, "cannot listen on 127.0.0.1: %s",
		    strerror(errno));
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/*
 * Read one request head from c (bounded in size and time) into a new
 * string; NULL when the browser sent nothing usable.
 */
static char *
read_head(int c)
{
	size_t n = 0, cap = 8192;
	char *req = malloc(cap), *nr;
	ssize_t k;

	while (req != NULL) {
		struct pollfd q = { c, POLLIN, 0 };

		if (n + 1 >= cap) {
			if (cap >= REDIRECT_MAX)
				break;
			if ((nr = realloc(req, cap * 2)) == NULL)
				break;
			req = nr;
			cap *= 2;
		}
		if (poll(&q, 1, 5000) <= 0 ||
		    (k = read(c, req + n, cap - 1 - n)) <= 0)
			break;
		n += (size_t)k;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			return req;
	}
	if (req != NULL && n > 0 && memchr(req, '\n', n) != NULL)
		return req;	/* at least the request line */
	if (req != NULL)
		explicit_bzero(req, cap);
	free(req);
	return NULL;
}

int
conn_redirect(const char *req, const char *state, char **code,
    struct tt_err *err)
{
	const char *q = strncmp(req, "GET /", 5) == 0 ? strchr(req, '?') :
	    NULL, *nl = strchr(req, '\n');
	char *e, *desc, *got;
	int rc;

	*code = NULL;
	if (q == NULL || nl == NULL || q > nl)
		return 1;
	q++;
	e = query_param(q, "error");
	desc = e != NULL ? query_param(q, "error_description") : NULL;
	got = query_param(q, "state");
	*code = query_param(q, "code");
	if (e != NULL) {
		char *se = tt_sanitize_dup(e), *sd = tt_sanitize_dup(desc ?
		    desc : "");

		rc = tt_fail(err, TT_E_LOGIN, "sign-in refused: %s %s",
		    se ? se : "?", sd ? sd : "");
		free(se);
		free(sd);
	} else if (got == NULL || strcmp(got, state) != 0)
		rc = tt_fail(err, TT_E_LOGIN, "sign-in answer with a wrong "
		    "state; refusing it (start login again)");
	else if (*code == NULL || **code == '\0')
		rc = tt_fail(err, TT_E_LOGIN, "sign-in answer without a code");
	else
		rc = 0;
	if (rc != 0) {
		tt_wipe_free(*code);
		*code = NULL;
	}
	free(e);
	free(desc);
	free(got);
	return rc;
}

/*
 * Wait for the browser's redirect: GET /?code=...&state=...  Other
 * requests (a favicon) get a 404 and the wait goes on.  The code is
 * returned as a new string, of whatever length the service chose.
 */
int
conn_await_code(int lfd, const char *state, char **code, struct tt_err *err)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: text/html;"
	    " charset=utf-8\r\nConnection: close\r\n\r\n<!doctype html><title>"
	    "timetap-sync</title><p>Signed in. You can close this window and "
	    "return to the terminal.</p>";
	static const char bad[] = "HTTP/1.1 400 Bad Request\r\nConnection: "
	    "close\r\nContent-Type: text/plain\r\n\r\nSign-in failed; see the "
	    "terminal.\n";
	static const char nf[] = "HTTP/1.1 404 Not Found\r\nConnection: close"
	    "\r\n\r\n";
	time_t deadline = time(NULL) + LOGIN_WAIT;

	*code = NULL;
	while (time(NULL) < deadline) {
		struct pollfd p = { lfd, POLLIN, 0 };
		char *req;
		int c, rc;

		if (poll(&p, 1, 1000) <= 0)
			continue;
		if ((c = accept(lfd, NULL, NULL)) < 0)
			continue;
		req = read_head(c);
		rc = req != NULL ? conn_redirect(req, state, code, err) : 1;
		if (rc == 1) {
			(void)!write(c, nf, sizeof(nf) - 1);
			close(c);
			tt_wipe_free(req);
			continue;
		}
		if (rc == 0)
			(void)!write(c, ok, sizeof(ok) - 1);
		else
			(void)!write(c, bad, sizeof(bad) - 1);
		close(c);
		tt_wipe_free(req);
		return rc;
	}
	return tt_fail(err, TT_E_LATER, "no answer from the browser within "
	    "%d seconds", LOGIN_WAIT);
}
