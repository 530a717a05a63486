/*
 * account.c -- connecting and disconnecting a Microsoft account:
 * login (auth code + PKCE on a loopback redirect, or device code), the
 * access-token life cycle, calendars and their roles, status and stop.
 *
 * Persistent state: the account row (tokens) and the calendars rows, in
 * the store.  Recovery rule: a rotated refresh token is committed before
 * the new access token is used, so a crash can at worst waste an access
 * token, never lose the grant.  Stored tokens go only to the hosts that
 * issued them (the account row records both).
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"
#include "graph.h"
#include "sha256.h"
#include "sync.h"

extern char **environ;

/* offline_access on every request: without it a refresh returns no new
 * refresh token (entra-docs v2-oauth2-auth-code-flow).  openid brings the
 * id_token whose tenant tells a personal account from a work account;
 * MailboxSettings.Read the mailbox's time zone (the days of all-day
 * events). */
#define BASE_SCOPES "offline_access openid profile User.Read " \
	"Calendars.ReadWrite MailboxSettings.Read"
#define GROUP_SCOPE "Group.ReadWrite.All"
#define REFRESH_MARGIN 300	/* refresh within 5 minutes of expiry */
#define LOGIN_WAIT 300		/* seconds to wait for the browser */
#define REDIRECT_MAX 65536	/* bytes of the browser's redirect request */

static int
has_scope(const char *scopes, const char *want)
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
static const char *
scopes_for(int group)
{
	return group ? BASE_SCOPES " " GROUP_SCOPE : BASE_SCOPES;
}

int
account_personal(const struct account *a)
{
	return a->tenant_id != NULL &&
	    strcmp(a->tenant_id, GRAPH_CONSUMER_TENANT) == 0;
}

int
account_graph(struct tt_ctx *ctx, struct graph **g, struct tt_err *err)
{
	struct graph_settings s = { 0 };
	struct graph_err ge = { 0 };

	s.authority_url = ctx->cfg.authority_url;
	s.tenant = ctx->cfg.tenant;
	s.graph_url = ctx->cfg.graph_url;
	s.client_id = ctx->cfg.client_id;
	s.ca_file = ctx->cfg.ca_file;
	s.timeout = ctx->cfg.timeout;
	s.retry_budget = ctx->cfg.retry_budget;
	s.page_size = ctx->cfg.page_size;
	if (graph_new(&s, g, &ge) != 0)
		return tt_fail(err, TT_SOFTWARE, "%s", ge.msg);
	return 0;
}

/*
 * The exit code for a Graph error (SPEC section 6): the one place where
 * error classes become exit codes.  69 is for answers that retrying
 * cannot fix, or a service still failing after every retry; a network
 * outage and an unavailable token endpoint are temporary (75).
 */
int
account_exit_code(const struct graph_err *ge)
{
	switch (ge->cls) {
	case GRAPH_OK:
		return TT_OK;
	case GRAPH_LOGIN:
	case GRAPH_DENIED:
		return TT_NOPERM;
	case GRAPH_CONFIG:
		return TT_CONFIG;
	case GRAPH_LOCAL:
		return TT_SOFTWARE;
	case GRAPH_TRANSIENT:
		if (ge->network || ge->token_endpoint)
			return TT_TEMPFAIL;
		/* Still failing after every retry, with time left to wait:
		 * the service is down.  Otherwise: try again later. */
		return ge->exhausted && !ge->budget_spent && !ge->ambiguous ?
		    TT_UNAVAILABLE : TT_TEMPFAIL;
	default:
		return ge->ambiguous ? TT_TEMPFAIL : TT_UNAVAILABLE;
	}
}

/* Fill err from a Graph error, naming the profile and the step. */
int
account_fail(struct tt_err *err, const char *profile, const char *step,
    const struct graph_err *ge)
{
	int code = account_exit_code(ge);

	if (code == TT_NOPERM)
		return tt_fail(err, code, "profile %s: %s: %s; run "
		    "`timetap-sync -s %s login`", profile, step, ge->msg, profile);
	return tt_fail(err, code, "profile %s: %s: %s%s", profile, step,
	    ge->msg, code == TT_TEMPFAIL ? " (the next run continues)" : "");
}

/* The same for an interactive login: nothing "continues" on its own. */
static int
login_fail(struct tt_err *err, const char *profile, const char *step,
    const struct graph_err *ge)
{
	int code = account_exit_code(ge);

	return tt_fail(err, code, "login of profile %s failed: %s: %s%s",
	    profile, step, ge->msg, code == TT_TEMPFAIL ? " (try again "
	    "later)" : "");
}

/*
 * Whether the configuration still names the hosts the profile's tokens
 * were issued by and for.  Tokens never follow a changed authority_url or
 * graph_url: the tool refuses and asks for a login instead.
 */
static int
same_hosts(struct tt_ctx *ctx, const struct account *a, const char *name,
    struct tt_err *err)
{
	char *o[4];
	int i, same;

	o[0] = tt_url_origin(a->authority_url);
	o[1] = tt_url_origin(ctx->cfg.authority_url);
	o[2] = tt_url_origin(a->graph_url);
	o[3] = tt_url_origin(ctx->cfg.graph_url);
	same = o[0] && o[1] && o[2] && o[3] && strcmp(o[0], o[1]) == 0 &&
	    strcmp(o[2], o[3]) == 0;
	if (!same && o[0] && o[1] && o[2] && o[3])
		tt_fail(err, TT_NOPERM, "profile %s: its tokens were issued by %s "
		    "for %s, but the configuration names %s and %s; they are not "
		    "sent there: run `timetap-sync -s %s login`", name, o[0],
		    o[2], o[1], o[3], name);
	else if (!same)
		tt_fail(err, TT_SOFTWARE, "out of memory");
	for (i = 0; i < 4; i++)
		free(o[i]);
	return same ? 0 : -1;
}

/* Commit a token response, then use its access token. */
static int
use_tokens(struct tt_ctx *ctx, struct graph *g, int64_t profile,
    const char *name, const struct graph_tokens *t, const char *scopes,
    struct tt_err *err)
{
	if (store_tokens_save(ctx->st, profile, t->access_token, t->expires_at,
	    t->refresh_token, scopes, err))
		return -1;
	if (graph_set_token(g, t->access_token) != 0)
		return tt_fail(err, TT_UNAVAILABLE, "profile %s: the access token "
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
account_token(struct tt_ctx *ctx, struct graph *g, int64_t profile,
    const char *name, int force, struct tt_err *err)
{
	struct account a;
	struct graph_tokens t = { 0 };
	struct graph_err ge = { 0 };
	int r;

	r = store_account_get(ctx->st, profile, &a, err);
	if (r <= 0)
		return r < 0 ? -1 : tt_fail(err, TT_NOPERM, "profile %s is not "
		    "connected; run `timetap-sync -s %s login`", name, name);
	if (a.needs_login != NULL) {
		tt_fail(err, TT_NOPERM, "profile %s needs a new login (%s); run "
		    "`timetap-sync -s %s login`", name, a.needs_login, name);
		store_account_free(&a);
		return -1;
	}
	if (same_hosts(ctx, &a, name, err) != 0) {
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
		return tt_fail(err, TT_NOPERM, "profile %s has no refresh token; "
		    "run `timetap-sync -s %s login`", name, name);
	}
	if (graph_refresh(g, a.refresh_token, scopes_for(has_scope(a.scopes,
	    GROUP_SCOPE)), &t, &ge) != 0) {
		if (ge.cls == GRAPH_LOGIN)
			store_account_mark(ctx->st, profile, ge.msg, NULL);
		store_account_free(&a);
		return account_fail(err, name, "token refresh", &ge);
	}
	store_account_free(&a);
	/* An administrator's consent shows in any token: keep asking. */
	r = use_tokens(ctx, g, profile, name, &t, t.scope != NULL &&
	    has_scope(t.scope, GROUP_SCOPE) ? scopes_for(1) : NULL, err);
	graph_tokens_free(&t);
	return r;
}

/* ------------------------------------------------------- discovery */

struct discover {
	struct tt_ctx *ctx;
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
	c.kind = gc->kind == GRAPH_CAL_GROUP ? CAL_GROUP : CAL_USER;
	c.container = gc->container;
	c.name = gc->name;
	c.path = gc->path;
	c.owner = gc->owner;
	c.can_edit = gc->can_edit;
	c.is_default = gc->is_default;
	c.shared = gc->shared;
	c.limited = gc->limited;
	if (store_calendar_seen(d->ctx->st, &c, d->err) != 0) {
		d->failed = 1;
		return -1;
	}
	d->n++;
	return 0;
}

/* Replace the profile's calendars of one kind by what the service lists,
 * in one transaction: a failed listing changes nothing. */
static int
discover_kind(struct tt_ctx *ctx, struct graph *g, int64_t profile, int kind,
    struct graph_err *ge, struct tt_err *err)
{
	struct discover d = { ctx, profile, 0, 0, err };

	memset(ge, 0, sizeof(*ge));
	if (store_begin(ctx->st, err))
		return -2;
	if (store_calendars_absent(ctx->st, profile, kind, err)) {
		store_rollback(ctx->st);
		return -2;
	}
	if ((kind == CAL_GROUP ? graph_list_groups : graph_list_calendars)(g,
	    discovered, &d, ge) != 0 || d.failed) {
		store_rollback(ctx->st);
		return d.failed ? -2 : -1;
	}
	return store_commit(ctx->st, err) ? -2 : 0;
}

/*
 * Read the calendars into the store: the user's own and shared ones, then
 * the Microsoft 365 groups (none for a personal account).  An access
 * token the service refuses before its time (revoked, a policy change,
 * the clock) is refreshed once.  A failure to list the groups is told and
 * leaves the group calendars as they were; it never loses the user's.
 */
static int
discover(struct tt_ctx *ctx, struct graph *g, int64_t profile,
    const char *name, int personal, struct tt_err *err)
{
	struct graph_err ge;
	struct tt_err e2 = { 0 };
	int tries, r;

	for (tries = 0;; tries++) {
		if ((r = discover_kind(ctx, g, profile, CAL_USER, &ge, err)) == 0)
			break;
		if (r == -2)
			return -1;
		if (!ge.token_rejected || tries > 0)
			return account_fail(err, name, "listing calendars", &ge);
		if (account_token(ctx, g, profile, name, 1, err))
			return -1;
	}
	if (personal)
		return 0;
	if ((r = discover_kind(ctx, g, profile, CAL_GROUP, &ge, &e2)) != 0) {
		if (r == -2)
			return tt_fail(err, e2.code, "%s", e2.msg);
		tt_fail(&e2, 0, "profile %s: listing Microsoft 365 groups: %s; "
		    "the group calendars are shown as last seen", name, ge.msg);
		ctx->note(ctx, TT_WARNING, e2.msg);
	}
	return 0;
}

/* ------------------------------------------------------------ login */

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
account_pkce(char verifier[64], char challenge[64])
{
	uint8_t raw[32], digest[32];

	arc4random_buf(raw, sizeof(raw));
	base64url(raw, sizeof(raw), verifier);
	sha256(verifier, strlen(verifier), digest);
	base64url(digest, sizeof(digest), challenge);
	explicit_bzero(raw, sizeof(raw));
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

static void
wipe_str(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Open the URL in a browser when there is one: $BROWSER, else xdg-open
 * on a desktop.  The URL is printed either way. */
static void
open_browser(const char *url)
{
	const char *b = getenv("BROWSER");
	char *prog, *argv[3];
	pid_t pid;
	int rc;

	/* The first entry of $BROWSER, whole (a cut name would start
	 * another program). */
	if (b != NULL && *b != '\0')
		prog = strndup(b, strcspn(b, ":"));
	else if (getenv("DISPLAY") || getenv("WAYLAND_DISPLAY"))
		prog = strdup("xdg-open");
	else
		return;
	if (prog == NULL)
		return;
	argv[0] = prog;
	argv[1] = (char *)(uintptr_t)url;
	argv[2] = NULL;
	rc = posix_spawnp(&pid, prog, NULL, NULL, argv, environ);
	free(prog);
	/* The browser (or its launcher) runs on; reap it without waiting. */
	if (rc == 0)
		signal(SIGCHLD, SIG_IGN);
}

static int
listen_loopback(int *port, struct tt_err *err)
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
		return tt_fail(err, TT_IOERR, "cannot listen on 127.0.0.1: %s",
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

/*
 * Wait for the browser's redirect: GET /?code=...&state=...  Other
 * requests (a favicon) get a 404 and the wait goes on.  The code is
 * returned as a new string, of whatever length the service chose.
 */
static int
await_code(int lfd, const char *state, char **code, struct tt_err *err)
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
		char *req, *q, *e, *desc, *got;
		int c, rc;

		if (poll(&p, 1, 1000) <= 0)
			continue;
		if ((c = accept(lfd, NULL, NULL)) < 0)
			continue;
		req = read_head(c);
		q = req != NULL && strncmp(req, "GET /", 5) == 0 ?
		    strchr(req, '?') : NULL;
		if (q == NULL || q > strchr(req, '\n')) {
			(void)!write(c, nf, sizeof(nf) - 1);
			close(c);
			wipe_str(req);
			continue;
		}
		q++;
		e = query_param(q, "error");
		desc = e != NULL ? query_param(q, "error_description") : NULL;
		got = query_param(q, "state");
		*code = query_param(q, "code");
		if (e != NULL) {
			char *se = tt_sanitize_dup(e), *sd = tt_sanitize_dup(desc ?
			    desc : "");

			rc = tt_fail(err, TT_NOPERM, "sign-in refused: %s %s",
			    se ? se : "?", sd ? sd : "");
			free(se);
			free(sd);
		} else if (got == NULL || strcmp(got, state) != 0)
			rc = tt_fail(err, TT_NOPERM, "sign-in answer with a wrong "
			    "state; refusing it (start login again)");
		else if (*code == NULL || **code == '\0')
			rc = tt_fail(err, TT_NOPERM, "sign-in answer without a "
			    "code");
		else
			rc = 0;
		if (rc == 0)
			(void)!write(c, ok, sizeof(ok) - 1);
		else {
			(void)!write(c, bad, sizeof(bad) - 1);
			wipe_str(*code);
			*code = NULL;
		}
		close(c);
		free(e);
		free(desc);
		free(got);
		wipe_str(req);
		return rc;
	}
	return tt_fail(err, TT_TEMPFAIL, "no answer from the browser within "
	    "%d seconds; try again, or use --device-code", LOGIN_WAIT);
}

static int
login_browser(struct tt_ctx *ctx, struct graph *g, const char *scopes,
    struct graph_tokens *t, struct tt_err *err)
{
	char verifier[64], challenge[64], state[64], redirect[64], *code = NULL;
	uint8_t raw[24];
	struct graph_err ge = { 0 };
	char *url;
	int lfd, port = 0, rc;

	account_pkce(verifier, challenge);
	arc4random_buf(raw, sizeof(raw));
	base64url(raw, sizeof(raw), state);
	if ((lfd = listen_loopback(&port, err)) < 0)
		return -1;
	snprintf(redirect, sizeof(redirect), "http://localhost:%d", port);
	url = graph_authorize_url(g, scopes, redirect, state, challenge);
	if (url == NULL) {
		close(lfd);
		return tt_fail(err, TT_SOFTWARE, "out of memory");
	}
	printf("To sign in, open this address in a browser:\n\n  %s\n\n"
	    "Waiting for the sign-in to finish...\n", url);
	fflush(stdout);
	open_browser(url);
	free(url);
	rc = await_code(lfd, state, &code, err);
	close(lfd);
	if (rc != 0) {
		char was[sizeof(err->msg)];

		strlcpy(was, err->msg, sizeof(was));
		tt_fail(err, err->code, "login of profile %s failed: %s",
		    ctx->profile, was);
	}
	if (rc == 0 && graph_redeem_code(g, code, redirect, verifier, scopes,
	    t, &ge) != 0)
		rc = login_fail(err, ctx->profile, "redeeming the sign-in code",
		    &ge);
	wipe_str(code);
	explicit_bzero(verifier, sizeof(verifier));
	return rc;
}

static int
login_device(struct tt_ctx *ctx, struct graph *g, const char *scopes,
    struct graph_tokens *t, struct tt_err *err)
{
	struct graph_devicecode d;
	struct graph_err ge = { 0 };
	time_t deadline;
	int interval, r;

	if (graph_devicecode_start(g, scopes, &d, &ge) != 0)
		return login_fail(err, ctx->profile, "device code", &ge);
	if (d.message)
		printf("%s\n", d.message);
	else
		printf("To sign in, open %s and enter the code %s\n",
		    d.verification_uri, d.user_code);
	fflush(stdout);
	interval = d.interval;
	deadline = time(NULL) + d.expires_in;
	for (;;) {
		if (time(NULL) >= deadline) {
			graph_devicecode_free(&d);
			return tt_fail(err, TT_NOPERM, "the code expired before "
			    "the sign-in finished; run login again");
		}
		if (interval > 0)
			sleep((unsigned)interval);
		memset(&ge, 0, sizeof(ge));
		r = graph_devicecode_poll(g, &d, t, &ge);
		if (r == 0)
			break;
		if (r == 2)
			interval += 5;	/* RFC 8628: slow_down adds 5 s */
		if (r < 0) {
			graph_devicecode_free(&d);
			return login_fail(err, ctx->profile, "device code "
			    "sign-in", &ge);
		}
	}
	graph_devicecode_free(&d);
	return 0;
}

struct has_roles {
	int any_role, group_role;
	int64_t default_id;
};

static int
roles_cb(void *arg, const struct calendar *c)
{
	struct has_roles *h = arg;

	if ((c->pull || c->push) && c->present)
		h->any_role = 1;
	if ((c->pull || c->push) && c->present && c->kind == CAL_GROUP)
		h->group_role = 1;
	if (c->is_default && c->present)
		h->default_id = c->id;
	return 0;
}

/*
 * Whether this sign-in may go to the profile: a profile holding another
 * Microsoft account keeps it unless `switch_account` (then the old
 * account's blocks, feed and mappings go, as `stop` clears them).
 */
static int
same_account(struct tt_ctx *ctx, int64_t profile, const struct graph_me *me,
    int switch_account, struct tt_err *err)
{
	struct stop_receipt rc;
	struct account old;
	int r;

	if ((r = store_account_get(ctx->st, profile, &old, err)) <= 0)
		return r;
	if (old.user_id != NULL ? strcmp(old.user_id, me->id) == 0 :
	    strcasecmp(old.upn, me->upn) == 0)
		r = 0;
	else if (!switch_account)
		r = tt_fail(err, TT_DATAERR, "profile %s is connected to %s, but "
		    "this sign-in was %s; nothing changed.  Sign in as %s, use "
		    "another profile (-s NAME), or run `timetap-sync -s %s login "
		    "--switch-account` to replace it (that clears its blocks, "
		    "feed and pushed-event records, as stop does)", ctx->profile,
		    old.upn, me->upn, old.upn, ctx->profile);
	else if ((r = store_stop(ctx->st, profile, &rc, err)) == 0)
		printf("Replaced %s on profile %s: removed %d [ext] block%s; %d "
		    "pushed event%s stay on %s's calendars.\n", old.upn,
		    ctx->profile, rc.blocks, rc.blocks == 1 ? "" : "s", rc.pushed,
		    rc.pushed == 1 ? "" : "s", old.upn);
	store_account_free(&old);
	return r;
}

int
login_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "device-code", no_argument, NULL, 'd' },
		{ "browser", no_argument, NULL, 'b' },
		{ "groups", no_argument, NULL, 'g' },
		{ "switch-account", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct graph_tokens t = { 0 };
	struct graph_err ge = { 0 };
	struct graph_me me = { 0 };
	struct account a = { 0 };
	struct has_roles h = { 0 };
	struct graph *g = NULL;
	const char *scopes;
	char *twin = NULL;
	int64_t profile;
	int c, device = 0, groups = 0, sw = 0, rc = -1, lock, group_scope;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			device = 1;
		else if (c == 'b')
			device = 0;
		else if (c == 'g')
			groups = 1;
		else if (c == 's')
			sw = 1;
		else
			return tt_fail(err, TT_USAGE, "login: unknown option "
			    "'%s'", argv[optind - 1]);
	}
	if (optind != argc)
		return tt_fail(err, TT_USAGE, "login: unexpected '%s'",
		    argv[optind]);
	if (ctx->cfg.client_id == NULL)
		return tt_fail(err, TT_CONFIG, "login needs client_id in the "
		    "configuration file (the app registration's application id)");
	if (groups && strcasecmp(ctx->cfg.tenant, "consumers") == 0)
		return tt_fail(err, TT_USAGE, "login --groups: personal Microsoft "
		    "accounts (tenant = consumers) have no Microsoft 365 group "
		    "calendars");
	if ((lock = store_lock(ctx->dbpath, err)) < 0)
		return -1;
	if (store_profile(ctx->st, ctx->profile, 1, &profile, err) < 0)
		goto out;
	/* A profile that already syncs a group calendar keeps that scope. */
	if (store_calendar_list(ctx->st, profile, roles_cb, &h, err))
		goto out;
	scopes = scopes_for(groups || h.group_role);
	if (account_graph(ctx, &g, err))
		goto out;
	if ((device ? login_device : login_browser)(ctx, g, scopes, &t, err))
		goto out;
	if (t.refresh_token == NULL) {
		tt_fail(err, TT_NOPERM, "login of profile %s failed: the sign-in "
		    "gave no refresh token (is offline_access consented?)",
		    ctx->profile);
		goto out;
	}
	if (graph_set_token(g, t.access_token) != 0) {
		tt_fail(err, TT_UNAVAILABLE, "login of profile %s failed: the "
		    "access token holds bytes a header cannot carry",
		    ctx->profile);
		goto out;
	}
	if (graph_get_me(g, &me, &ge) != 0) {
		login_fail(err, ctx->profile, "reading the account", &ge);
		goto out;
	}
	if (same_account(ctx, profile, &me, sw, err) != 0)
		goto out;
	/* The scopes held: the group permission when the service says it is
	 * granted (a token carries every consented scope, asked or not; a
	 * response without `scope` grants what was asked). */
	group_scope = has_scope(t.scope ? t.scope : scopes, GROUP_SCOPE);
	a.profile_id = profile;
	a.upn = me.upn;
	a.user_id = me.id;
	a.tenant = ctx->cfg.tenant;
	a.tenant_id = t.tenant_id;
	a.authority_url = ctx->cfg.authority_url;
	a.graph_url = ctx->cfg.graph_url;
	a.scopes = (char *)(uintptr_t)scopes_for(group_scope);
	a.refresh_token = t.refresh_token;
	a.access_token = t.access_token;
	a.access_expires = t.expires_at;
	a.last_refresh = a.connected_at = tt_now();
	if (store_account_save(ctx->st, &a, err))
		goto out;
	if (store_account_twin(ctx->st, profile, me.id, &twin, err) < 0)
		goto out;
	if (twin != NULL) {
		struct tt_err w = { 0 };

		tt_fail(&w, 0, "profile %s: profile %s is connected to the same "
		    "account (%s); both sync its calendars", ctx->profile, twin,
		    me.upn);
		ctx->note(ctx, TT_WARNING, w.msg);
	}
	if (groups && !group_scope)
		ctx->note(ctx, TT_WARNING, "login --groups: the sign-in did not "
		    "grant Group.ReadWrite.All; group calendars stay unavailable "
		    "until an administrator grants consent");
	if (discover(ctx, g, profile, ctx->profile, account_personal(&a), err))
		goto out;
	memset(&h, 0, sizeof(h));
	if (store_calendar_list(ctx->st, profile, roles_cb, &h, err))
		goto out;
	if (!h.any_role && h.default_id > 0 &&
	    store_calendar_roles(ctx->st, h.default_id, 1, 1, err))
		goto out;
	printf("Connected profile %s to %s%s.\n", ctx->profile, me.upn,
	    account_personal(&a) ? " (a personal Microsoft account: no group "
	    "calendars, no Teams meetings)" : "");
	printf("Run `timetap-sync%s%s calendars` to see the calendars and "
	    "their roles.\n", ctx->profile_given ? " -s " : "",
	    ctx->profile_given ? ctx->profile : "");
	rc = 0;
out:
	free(twin);
	graph_me_free(&me);
	graph_tokens_free(&t);
	graph_free(g);
	store_unlock(lock);
	return rc;
}

/* -------------------------------------------------------- calendars */

struct cal_print {
	json_t *json;
	int rows;
	int has_group_scope;
	int needs_consent, limited;	/* group calendars listed so */
};

static const char *
cal_kind(const struct calendar *c)
{
	return c->kind == CAL_GROUP ? "group" : c->shared ? "shared" : "user";
}

/*
 * One calendar as JSON, the same for `calendars --json` and `status
 * --json`: every key present, null when empty.  delta is null until a
 * read has shown whether delta works for the calendar.
 */
static json_t *
cal_json(const struct calendar *c, int has_group_scope)
{
	json_t *roles = json_array();

	if (c->pull)
		json_array_append_new(roles, json_string("pull"));
	if (c->push)
		json_array_append_new(roles, json_string("push"));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s?, s:b, s:b, s:o, s:b, "
	    "s:b, s:b, s:o, s:b, s:b}",
	    "number", (json_int_t)c->id, "calendar_id", c->remote_id,
	    "name", c->name, "path", c->path, "kind", cal_kind(c),
	    "owner", c->owner, "writable", c->can_edit,
	    "default", c->is_default, "roles", roles, "pull", c->pull,
	    "push", c->push, "present", c->present,
	    "delta", c->no_delta ? json_false() : c->delta_link ? json_true() :
	    json_null(),
	    "needs_permission", c->kind == CAL_GROUP && !has_group_scope,
	    "limited", c->limited);
}

static int
cal_print_cb(void *arg, const struct calendar *c)
{
	struct cal_print *cp = arg;
	char roles[32];
	int consent = c->kind == CAL_GROUP && !cp->has_group_scope;

	snprintf(roles, sizeof(roles), "%s%s%s", c->pull ? "pull" : "",
	    c->pull && c->push ? "," : "", c->push ? "push" : "");
	if (cp->json) {
		json_array_append_new(cp->json, cal_json(c,
		    cp->has_group_scope));
		return 0;
	}
	if (cp->rows++ == 0)
		printf("#    Calendar                         Kind   Writable  "
		    "Roles      Id\n");
	printf("%-4" PRId64 " ", c->id);
	tt_cell(stdout, c->path, 32);
	printf(" %-6s %-9s %-10s ", cal_kind(c), c->can_edit ? "yes" : "no",
	    roles[0] ? roles : "-");
	tt_cell(stdout, c->remote_id, 0);
	printf("%s%s%s\n", consent ? "  (needs permission)" : "",
	    c->limited ? "  (name not readable yet)" : "",
	    c->present ? "" : "  (gone)");
	cp->needs_consent |= consent && c->present;
	cp->limited |= c->limited && c->present;
	return 0;
}

/* Match a calendar by local number, remote id or path. */
struct cal_find {
	const char *want;
	int64_t id;
	int can_edit, present, group;
	int matches;
};

static int
cal_find_cb(void *arg, const struct calendar *c)
{
	struct cal_find *f = arg;
	char num[32];

	if (!c->present)
		return 0;	/* a calendar that is gone cannot take a role */
	snprintf(num, sizeof(num), "%" PRId64, c->id);
	if (strcmp(f->want, num) == 0 || strcmp(f->want, c->remote_id) == 0 ||
	    strcmp(f->want, c->path) == 0) {
		f->matches++;
		f->id = c->id;
		f->can_edit = c->can_edit;
		f->present = c->present;
		f->group = c->kind == CAL_GROUP;
	}
	return 0;
}

struct role_set {
	int64_t *ids;
	size_t n;
	int editable_only;
	int groups;		/* group calendars among them */
};

static int
parse_cal_list(struct tt_ctx *ctx, int64_t profile, const char *list,
    struct role_set *rs, const char *role, struct tt_err *err)
{
	char *copy = strdup(list), *tok, *save = NULL;
	struct cal_find f;
	int64_t *n;

	if (copy == NULL)
		return tt_fail(err, TT_SOFTWARE, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		memset(&f, 0, sizeof(f));
		f.want = tok;
		if (store_calendar_list(ctx->st, profile, cal_find_cb, &f, err))
			goto fail;
		if (f.matches != 1 || !f.present) {
			tt_fail(err, TT_USAGE, "--%s: %s calendar '%s'", role,
			    f.matches > 1 ? "ambiguous" : "no such", tok);
			goto fail;
		}
		if (rs->editable_only && !f.can_edit) {
			tt_fail(err, TT_USAGE, "--push: calendar '%s' is not "
			    "writable", tok);
			goto fail;
		}
		rs->groups += f.group;
		if ((n = reallocarray(rs->ids, rs->n + 1,
		    sizeof(*rs->ids))) == NULL) {
			tt_fail(err, TT_SOFTWARE, "out of memory");
			goto fail;
		}
		rs->ids = n;
		rs->ids[rs->n++] = f.id;
	}
	free(copy);
	return 0;
fail:
	free(copy);
	return -1;
}

static int
in_set(const struct role_set *rs, int64_t id)
{
	size_t i;

	for (i = 0; i < rs->n; i++)
		if (rs->ids[i] == id)
			return 1;
	return 0;
}

struct role_apply {
	struct tt_ctx *ctx;
	const struct role_set *pull, *push;
	int set_pull, set_push;
	struct tt_err *err;
	int failed;
};

static int
role_apply_cb(void *arg, const struct calendar *c)
{
	struct role_apply *ra = arg;
	int pull = ra->set_pull ? in_set(ra->pull, c->id) : c->pull;
	int push = ra->set_push ? in_set(ra->push, c->id) : c->push;

	if ((pull != c->pull || push != c->push) &&
	    store_calendar_roles(ra->ctx->st, c->id, pull, push, ra->err)) {
		ra->failed = 1;
		return 1;
	}
	return 0;
}

/*
 * Obtain the group permission for a calendar just chosen, by incremental
 * consent: a refresh grant asking for Group.ReadWrite.All too.  It works
 * where an administrator has consented for the tenant; otherwise the
 * identity platform refuses (AADSTS65001 consent_required) and one line
 * says what to do.  The account keeps its grant either way.
 */
static int
group_consent(struct tt_ctx *ctx, struct graph *g, int64_t profile,
    const struct account *a, struct tt_err *err)
{
	struct graph_tokens t = { 0 };
	struct graph_err ge = { 0 };
	const char *want = scopes_for(1);
	int rc;

	if (account_personal(a))
		return tt_fail(err, TT_DATAERR, "profile %s is a personal "
		    "Microsoft account, which has no Microsoft 365 group "
		    "calendars", ctx->profile);
	if (graph_refresh(g, a->refresh_token, want, &t, &ge) != 0) {
		if (ge.cls != GRAPH_LOGIN)
			return account_fail(err, ctx->profile, "asking for the "
			    "group permission", &ge);
		return tt_fail(err, TT_NOPERM, "profile %s: a group calendar "
		    "needs the Group.ReadWrite.All permission, which %s has not "
		    "been granted (%s).  Run `timetap-sync -s %s login --groups` "
		    "to consent, or have an administrator grant admin consent "
		    "for the app; the calendar roles are unchanged",
		    ctx->profile, a->upn, ge.code[0] ? ge.code : ge.msg,
		    ctx->profile);
	}
	if (t.scope != NULL && !has_scope(t.scope, GROUP_SCOPE)) {
		graph_tokens_free(&t);
		return tt_fail(err, TT_NOPERM, "profile %s: the identity platform "
		    "did not grant Group.ReadWrite.All; have an administrator "
		    "grant admin consent for the app, or run `timetap-sync -s %s "
		    "login --groups`; the calendar roles are unchanged",
		    ctx->profile, ctx->profile);
	}
	rc = use_tokens(ctx, g, profile, ctx->profile, &t, want, err);
	graph_tokens_free(&t);
	return rc;
}

int
calendars_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "pull", required_argument, NULL, 'p' },
		{ "push", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "cached", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	const char *pull = NULL, *push = NULL;
	struct role_set ps = { 0 }, ss = { 0 };
	struct cal_print cp = { 0 };
	struct account a = { 0 };
	struct graph *g = NULL;
	int64_t profile;
	int c, json = 0, cached = 0, rc = -1, lock = -1, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pull = optarg; break;
		case 'P': push = optarg; break;
		case 'j': json = 1; break;
		case 'c': cached = 1; break;
		default:
			return tt_fail(err, TT_USAGE, "calendars: unknown or "
			    "incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return tt_fail(err, TT_USAGE, "calendars: unexpected '%s'",
		    argv[optind]);
	r = store_profile(ctx->st, ctx->profile, 0, &profile, err);
	if (r > 0)
		r = store_account_get(ctx->st, profile, &a, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return tt_fail(err, TT_NOPERM, "profile %s is not connected; "
		    "run `timetap-sync -s %s login`", ctx->profile, ctx->profile);
	if ((lock = store_lock(ctx->dbpath, err)) < 0)
		goto out;
	/* Refresh the list from the service unless asked not to. */
	if (!cached && (account_graph(ctx, &g, err) ||
	    account_token(ctx, g, profile, ctx->profile, 0, err) ||
	    discover(ctx, g, profile, ctx->profile, account_personal(&a), err)))
		goto out;
	if (pull || push) {
		ss.editable_only = 1;
		if ((pull && parse_cal_list(ctx, profile, pull, &ps, "pull",
		    err)) || (push && parse_cal_list(ctx, profile, push, &ss,
		    "push", err)))
			goto out;
		/* A group calendar chosen without the group permission: ask
		 * for it now, then name the groups it lets us read. */
		if (ps.groups + ss.groups > 0 && !has_scope(a.scopes,
		    GROUP_SCOPE)) {
			if ((g == NULL && (account_graph(ctx, &g, err) ||
			    account_token(ctx, g, profile, ctx->profile, 0,
			    err))) || group_consent(ctx, g, profile, &a, err) ||
			    discover(ctx, g, profile, ctx->profile, 0, err))
				goto out;
		}
		{
			struct role_apply ra = { ctx, &ps, &ss, pull != NULL,
			    push != NULL, err, 0 };

			if (store_begin(ctx->st, err))
				goto out;
			if (store_calendar_list(ctx->st, profile, role_apply_cb,
			    &ra, err) || ra.failed) {
				store_rollback(ctx->st);
				goto out;
			}
			if (store_commit(ctx->st, err))
				goto out;
		}
		if (ss.groups > 0)
			ctx->note(ctx, TT_WARNING, "a Microsoft 365 group calendar "
			    "pushes meetings: the group becomes an attendee and "
			    "its members may be sent invitations and updates "
			    "(see CAVEATS in timetap-sync(1))");
		rc = 0;
		goto out;
	}
	cp.has_group_scope = has_scope(a.scopes, GROUP_SCOPE);
	if (json)
		cp.json = json_array();
	if (store_calendar_list(ctx->st, profile, cal_print_cb, &cp, err))
		goto out;
	if (json) {
		json_dumpf(cp.json, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (cp.needs_consent)
		printf("(Group calendars need the Group.ReadWrite.All permission: "
		    "choosing one with --pull or --push asks for it%s.)\n",
		    cp.limited ? "; their names show once it is granted" : "");
	rc = 0;
out:
	json_decref(cp.json);
	free(ps.ids);
	free(ss.ids);
	store_account_free(&a);
	graph_free(g);
	store_unlock(lock);
	return rc;
}

/* ----------------------------------------------------------- status */

struct status_cal {
	json_t *json;
	int n;
	int has_group_scope;
};

static int
status_cal_cb(void *arg, const struct calendar *c)
{
	struct status_cal *sc = arg;
	char ws[32], we[32], *path;

	if (!c->present && !c->pull && !c->push)
		return 0;
	if (sc->json) {
		json_t *o = cal_json(c, sc->has_group_scope);

		json_object_set_new(o, "window_start", c->window_start ?
		    json_string(tt_fmt_utc(c->window_start, ws, sizeof(ws))) :
		    json_null());
		json_object_set_new(o, "window_end", c->window_end ?
		    json_string(tt_fmt_utc(c->window_end, we, sizeof(we))) :
		    json_null());
		json_array_append_new(sc->json, o);
		return 0;
	}
	if (!c->pull && !c->push)
		return 0;
	path = tt_sanitize_dup(c->path);
	printf("%s %s%s%s%s\n", sc->n++ ? "          " : "Calendars:",
	    path ? path : "?", c->pull ? " (pull" : " (", c->pull && c->push ?
	    ", push)" : c->push ? "push)" : ")", c->present ? "" : " (gone)");
	free(path);
	return 0;
}

struct status_state {
	struct tt_ctx *ctx;
	json_t *json;
	int any;
	struct tt_err *err;
};

/* The host[:port] of a URL, whole: a new string (never NULL). */
static char *
host_of(const char *url)
{
	const char *p = strstr(url, "://");
	char *h;

	p = p ? p + 3 : url;
	h = strndup(p, strcspn(p, "/"));
	return h != NULL ? h : strdup("?");
}

static int
status_profile(void *arg, int64_t profile, const char *name)
{
	struct status_state *ss = arg;
	struct account a;
	struct pass p;
	struct status_cal sc = { 0 };
	char t1[32], t2[32], *host = NULL;
	int connected, has_pass;
	json_t *o = NULL;

	ss->any = 1;
	if ((connected = store_account_get(ss->ctx->st, profile, &a,
	    ss->err)) < 0)
		return 1;
	if (connected)
		host = host_of(a.authority_url);
	if ((has_pass = store_last_pass(ss->ctx->st, profile, &p, ss->err)) < 0) {
		store_account_free(&a);
		free(host);
		return 1;
	}
	if (ss->json) {
		sc.json = json_array();
		o = json_pack("{s:s, s:b}", "profile", name, "connected",
		    connected);
		if (connected) {
			json_object_set_new(o, "account", json_string(a.upn));
			json_object_set_new(o, "tenant", json_string(a.tenant));
			json_object_set_new(o, "cloud", json_string(host ? host :
			    "?"));
			json_object_set_new(o, "needs_login", a.needs_login ?
			    json_string(a.needs_login) : json_null());
			json_object_set_new(o, "personal", json_boolean(
			    account_personal(&a)));
			json_object_set_new(o, "group_permission", json_boolean(
			    has_scope(a.scopes, GROUP_SCOPE)));
			json_object_set_new(o, "last_token_refresh",
			    a.last_refresh ? json_string(tt_fmt_utc(
			    a.last_refresh, t1, sizeof(t1))) : json_null());
			json_object_set_new(o, "access_token_expires",
			    a.access_expires ? json_string(tt_fmt_utc(
			    a.access_expires, t2, sizeof(t2))) : json_null());
		}
	} else if (!connected) {
		printf("Profile:   %s (not connected; run `timetap-sync -s %s "
		    "login`)\n", name, name);
	} else {
		printf("Profile:   %s\n", name);
		printf("Account:   %s (tenant %s, cloud %s)\n", a.upn, a.tenant,
		    host ? host : "?");
		if (a.needs_login)
			printf("Token:     login needed: %s\n", a.needs_login);
		else
			printf("Token:     last refreshed %s; access token valid "
			    "until %s\n", tt_fmt_local(a.last_refresh, t1,
			    sizeof(t1)), tt_fmt_local(a.access_expires, t2,
			    sizeof(t2)));
	}
	sc.has_group_scope = connected && has_scope(a.scopes, GROUP_SCOPE);
	if (connected && store_calendar_list(ss->ctx->st, profile,
	    status_cal_cb, &sc, ss->err)) {
		json_decref(o);
		json_decref(sc.json);
		store_account_free(&a);
		store_pass_free(&p);
		free(host);
		return 1;
	}
	if (ss->json) {
		if (sc.json)
			json_object_set_new(o, "calendars", sc.json);
		if (has_pass)
			json_object_set_new(o, "last_pass", json_pack("{s:s, "
			    "s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s?}",
			    "started", tt_fmt_utc(p.started, t1, sizeof(t1)),
			    "exit_code", p.exit_code, "items", p.items,
			    "added", p.added, "changed", p.changed,
			    "removed", p.removed, "pushed", p.pushed,
			    "deleted", p.deleted, "requests", p.requests,
			    "message", p.message));
		json_array_append_new(ss->json, o);
	} else if (has_pass) {
		printf("Last pass: %s, %s: %d items read, %d blocks added, %d "
		    "changed, %d removed, %d pushed, %d deleted, %d requests\n",
		    tt_fmt_local(p.started, t1, sizeof(t1)), p.exit_code == 0 ?
		    "ok" : p.exit_code < 0 ? "unfinished" : "failed", p.items,
		    p.added, p.changed, p.removed, p.pushed, p.deleted,
		    p.requests);
		if (p.exit_code != 0 && p.message)
			printf("           exit %d: %s\n", p.exit_code, p.message);
	} else if (connected)
		printf("Last pass: none yet\n");
	if (!ss->json)
		putchar('\n');
	store_account_free(&a);
	store_pass_free(&p);
	free(host);
	return 0;
}

int
status_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	struct status_state ss = { ctx, NULL, 0, err };
	int64_t profile;
	int r, json = argc == 2 && strcmp(argv[1], "--json") == 0;

	if (argc > 1 && !json)
		return tt_fail(err, TT_USAGE, "status: unexpected '%s'", argv[1]);
	if (json)
		ss.json = json_array();
	err->code = 0;
	if (ctx->profile_given) {
		r = store_profile(ctx->st, ctx->profile, 0, &profile, err);
		if (r == 0)
			r = tt_fail(err, TT_DATAERR, "no profile %s", ctx->profile);
		if (r > 0)
			r = status_profile(&ss, profile, ctx->profile) ? -1 : 0;
	} else
		r = store_profiles(ctx->st, status_profile, &ss, err);
	if (r < 0 || err->code != 0) {
		json_decref(ss.json);
		return -1;
	}
	if (json) {
		json_dumpf(ss.json, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(ss.json);
	} else if (!ss.any)
		printf("No profiles yet; run `timetap-sync login`.\n");
	return 0;
}


/* ------------------------------------------------- stop --purge-remote */

struct purge {
	struct graph_write **w;
	size_t n, cap;
	/* the calendar being searched */
	enum graph_cal_kind kind;
	const char *cal_id, *path;
	int is_default;
	int deleted, failed;
	int code;		/* the exit code when not everything went */
	char left[1024];	/* "3 on Calendar, ..." */
};

static int
purge_add(struct purge *pu, const char *event_id)
{
	struct graph_write *w, **n;
	size_t i;

	for (i = 0; i < pu->n; i++)
		if (strcmp(pu->w[i]->event_id, event_id) == 0)
			return 0;
	if (pu->n == pu->cap) {
		size_t cap = pu->cap ? pu->cap * 2 : 32;

		if ((n = reallocarray(pu->w, cap, sizeof(*n))) == NULL)
			return -1;
		pu->w = n;
		pu->cap = cap;
	}
	if ((w = graph_delete_new(pu->kind, pu->cal_id, event_id,
	    pu->path)) == NULL)
		return -1;
	pu->w[pu->n++] = w;
	return 0;
}

static int
purge_found(void *arg, const char *event_id)
{
	return purge_add(arg, event_id);
}

/* Our events known from the push map (also when the search fails). */
static int
purge_mapped(void *arg, const struct push_item *it)
{
	struct purge *pu = arg;

	if (!it->has_row || it->event_id == NULL)
		return 0;
	pu->kind = it->cal_group ? GRAPH_CAL_GROUP : GRAPH_CAL_USER;
	pu->cal_id = it->cal_group ? it->cal_container : it->cal_remote_id;
	pu->path = it->cal_path;
	return purge_add(pu, it->event_id);
}

struct purge_search {
	struct graph *g;
	struct purge *pu;
	int group_scope;	/* the account may read group calendars */
	char *prefix;		/* our marker values start so */
	struct graph_err ge;	/* the first search that failed */
	int failed;		/* calendars that could not be searched */
};

static int
purge_search_cb(void *arg, const struct calendar *c)
{
	struct purge_search *ps = arg;

	struct graph_err ge = { 0 };

	/* Without the group permission nothing was pushed to a group. */
	if (!c->present || !c->can_edit || (c->kind == CAL_GROUP &&
	    !ps->group_scope))
		return 0;
	ps->pu->kind = c->kind == CAL_GROUP ? GRAPH_CAL_GROUP : GRAPH_CAL_USER;
	ps->pu->cal_id = c->kind == CAL_GROUP ? c->container : c->remote_id;
	ps->pu->path = c->path;
	ps->pu->is_default = c->is_default;
	/* A calendar that cannot be searched does not stop the others. */
	if (graph_find_marked(ps->g, ps->pu->kind, ps->pu->cal_id,
	    c->is_default, ps->prefix, purge_found, ps->pu, &ge) != 0 &&
	    ps->failed++ == 0)
		ps->ge = ge;
	return 0;
}

static void
purge_done(void *arg, struct graph_write **w, size_t n)
{
	struct purge *pu = arg;
	size_t i;

	for (i = 0; i < n; i++) {
		if (w[i]->err.cls == GRAPH_OK || w[i]->gone)
			pu->deleted++;
		else
			pu->failed++;
	}
}

static void
purge_free(struct purge *pu)
{
	graph_deletes_free(pu->w, pu->n);
}

/* Whether the service confirmed the event is gone. */
static int
purge_ok(const struct graph_write *w)
{
	return (w->err.cls == GRAPH_OK && w->err.http != 0) || w->gone;
}

/* What is left remotely, by calendar, for the receipt. */
static void
purge_left(struct purge *pu)
{
	size_t i, j;

	pu->left[0] = '\0';
	for (i = 0; i < pu->n; i++) {
		int count = 0, seen = 0;
		char part[300];

		if (purge_ok(pu->w[i]))
			continue;
		for (j = 0; j < i; j++)
			if (!purge_ok(pu->w[j]) &&
			    strcmp(pu->w[j]->user, pu->w[i]->user) == 0)
				seen = 1;
		if (seen)
			continue;
		for (j = i; j < pu->n; j++)
			if (!purge_ok(pu->w[j]) &&
			    strcmp(pu->w[j]->user, pu->w[i]->user) == 0)
				count++;
		snprintf(part, sizeof(part), "%s%d on %s", pu->left[0] ? ", " :
		    "", count, (char *)pu->w[i]->user);
		strlcat(pu->left, part, sizeof(pu->left));
	}
}

/* Delete every event we pushed, wherever it is; returns 0 when all went. */
static int
purge_remote(struct tt_ctx *ctx, int64_t profile, int group_scope,
    struct purge *pu, char *why, size_t whylen)
{
	struct purge_search ps = { 0 };
	struct tt_err err = { 0 };
	struct graph *g = NULL;
	int rc = -1;

	why[0] = '\0';
	if (store_push_plan(ctx->st, profile, 0, INT64_MAX, PLAN_ALL,
	    purge_mapped, pu, &err)) {
		strlcpy(why, err.msg, whylen);
		return -1;
	}
	if (account_graph(ctx, &g, &err) ||
	    account_token(ctx, g, profile, ctx->profile, 0, &err)) {
		strlcpy(why, err.msg, whylen);
		pu->code = err.code;
		goto out;
	}
	ps.g = g;
	ps.pu = pu;
	ps.group_scope = group_scope;
	{
		char *owner = sync_owner(ctx->st, profile, &err);

		if (owner == NULL || asprintf(&ps.prefix, "%s:", owner) < 0) {
			free(owner);
			ps.prefix = NULL;
			snprintf(why, whylen, "%.400s", err.msg[0] ? err.msg :
			    "out of memory");
			goto out;
		}
		free(owner);
	}
	if (store_calendar_list(ctx->st, profile, purge_search_cb, &ps, &err)) {
		snprintf(why, whylen, "finding our events: %.400s", err.msg);
		goto out;
	}
	/* Delete what was found and mapped, even when a search failed. */
	graph_writes(g, pu->w, pu->n, purge_done, pu);
	rc = pu->failed || ps.failed ? -1 : 0;
	if (ps.failed)
		snprintf(why, whylen, "%d calendar%s could not be searched "
		    "(%.300s)", ps.failed, ps.failed == 1 ? "" : "s", ps.ge.msg);
	else if (pu->failed)
		snprintf(why, whylen, "%d deletion%s failed", pu->failed,
		    pu->failed == 1 ? "" : "s");
	if (ps.failed && pu->code == 0)
		pu->code = account_exit_code(&ps.ge);
out:
	free(ps.prefix);
	graph_free(g);
	return rc;
}

/* ------------------------------------------------------------- stop */

int
stop_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	struct stop_receipt r;
	struct account a = { 0 };
	int64_t profile;
	struct purge pu = { 0 };
	char why[512];
	int c, yes = 0, purge = 0, purged = 0, found, lock, rc = -1;
	static const struct option opts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ "purge-remote", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 }
	};

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "y", opts, NULL)) != -1) {
		if (c == 'y')
			yes = 1;
		else if (c == 'p')
			purge = 1;
		else
			return tt_fail(err, TT_USAGE, "stop: unknown option "
			    "'%s'", argv[optind - 1]);
	}
	if (optind != argc)
		return tt_fail(err, TT_USAGE, "stop: unexpected '%s'",
		    argv[optind]);
	found = store_profile(ctx->st, ctx->profile, 0, &profile, err);
	if (found > 0)
		found = store_account_get(ctx->st, profile, &a, err);
	if (found < 0)
		return -1;
	if (found == 0)
		return tt_fail(err, TT_DATAERR, "profile %s is not connected; "
		    "nothing to stop", ctx->profile);
	if (!yes) {
		char answer[16];

		if (!isatty(STDIN_FILENO)) {
			tt_fail(err, TT_USAGE, "stop asks for confirmation: run "
			    "it in a terminal, or add -y");
			goto out;
		}
		printf("Stop syncing profile %s with %s? This %sforgets the "
		    "tokens and removes every [ext] block. [y/N] ",
		    ctx->profile, a.upn, purge ? "deletes every event it pushed "
		    "to Microsoft 365, " : "");
		fflush(stdout);
		if (fgets(answer, sizeof(answer), stdin) == NULL ||
		    (answer[0] != 'y' && answer[0] != 'Y')) {
			printf("Nothing changed.\n");
			rc = 0;
			goto out;
		}
	}
	if ((lock = store_lock(ctx->dbpath, err)) < 0)
		goto out;
	if (purge)
		purged = purge_remote(ctx, profile, has_scope(a.scopes,
		    GROUP_SCOPE), &pu, why, sizeof(why)) == 0;
	rc = store_stop(ctx->st, profile, &r, err);
	store_unlock(lock);
	if (rc != 0)
		goto out;
	printf("Stopped the sync of profile %s with %s.\n", ctx->profile, a.upn);
	printf("Removed %d [ext] block%s and %d feed entr%s; forgot the tokens "
	    "and %d calendar%s.\n", r.blocks, r.blocks == 1 ? "" : "s", r.feed,
	    r.feed == 1 ? "y" : "ies", r.calendars, r.calendars == 1 ? "" : "s");
	if (purge && purged)
		printf("Deleted %d pushed event%s from Microsoft 365.\n",
		    pu.deleted, pu.deleted == 1 ? "" : "s");
	else if (purge) {
		purge_left(&pu);
		printf("Deleted %d pushed event%s; could not delete the rest "
		    "(%s).\n", pu.deleted, pu.deleted == 1 ? "" : "s", why);
		if (pu.left[0])
			printf("Left on Microsoft 365: %s. Delete them in Outlook "
			    "or Teams.\n", pu.left);
		/* Cleared locally all the same; the exit status says: 77
		 * when the login is gone, else 75. */
		tt_fail(err, pu.code == TT_NOPERM ? TT_NOPERM : TT_TEMPFAIL,
		    "stop: profile %s: pushed events remain on Microsoft 365 "
		    "(%s)", ctx->profile, why);
		rc = -1;
	} else if (r.pushed > 0)
		printf("%d pushed event%s on the Microsoft 365 calendars "
		    "(stop --purge-remote deletes them).\n", r.pushed,
		    r.pushed == 1 ? " stays" : "s stay");
	printf("To withdraw the app's access entirely, remove it at "
	    "https://myapps.microsoft.com (work or school) or "
	    "https://account.live.com/consent/Manage (personal).\n");
out:
	purge_free(&pu);
	store_account_free(&a);
	return rc;
}
