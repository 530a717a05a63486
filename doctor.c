/* SPDX-License-Identifier: ISC */
/*
 * doctor.c -- `doctor`: one line per check, from the configuration to each
 * calendar with a role, with what to do about each that fails; and
 * `doctor --live CALENDAR`: one probe event created, found, replayed,
 * read back in a delta round and deleted, each step printed with what the
 * service answered.
 *
 * The plain checks read: at most one request per calendar with a role
 * (the first page of a delta round, or of a plain calendarView for a
 * calendar known to have no delta), plus a token refresh (whose rotated
 * refresh token is saved: that is no calendar write) and the mailbox's
 * time zone.  They never write to a calendar, and never record anything
 * the sync reads, but what conn_token records of every refresh.
 *
 * State: none of its own.  Recovery rule (--live): the probe carries a
 * marker of its own ("<owner>:probe-<random>", never an appointment's) and
 * lies in 2099, outside any window the sync reads; every run first
 * removes the probes an earlier run could not, and always tries to delete
 * its own, saying its id when it cannot.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "sync.h"
#include "tz_windows.h"

enum { O_JSON = CMD_LONG, O_LIVE };

/* More than this between the service's clock and the host's is a
 * problem: token validators allow five minutes (Microsoft.IdentityModel's
 * TokenValidationParameters.ClockSkew default, Altinn/altinn-studio
 * #4085, coreos/go-oidc #326; MSAL.js keeps the same 300 s,
 * AzureAD/microsoft-authentication-library-for-js #512), and Entra
 * back-dates nbf by as much (psignoret/aad-sso-wordpress #34). */
#define SKEW_MAX 300
/* The first page of a calendar's read: enough to see it answers. */
#define PROBE_PAGE 10
/* The probe: 2099-06-01 12:00-12:15 UTC, beyond any window (3650 days). */
#define PROBE_START ((tt_time)4084351200LL)
#define PROBE_LEN (15 * 60)

struct doc {
	struct tt_ctx *ctx;
	json_t *checks;		/* --json: the rows; NULL: lines */
	int bad;		/* a check failed */
	int oom;
	int colour, utf8;
	struct graph *g;	/* the profile's handle, NULL offline */
	struct account acct;	/* the profile's account, when connected */
	int64_t profile;
	const char *name;
	int online;		/* the service may be asked */
	int profiles;		/* profiles checked */
};

/*
 * One check: a line "MARK CHECK (PROFILE, CALENDAR): FACT; ADVICE", or a
 * row of --json.  The fact and advice may hold the service's text and the
 * calendars' names: the whole line is sanitised here.
 */
static void __attribute__((format(printf, 6, 7)))
say(struct doc *d, const char *check, const struct calendar *c, int ok,
    const char *advice, const char *fmt, ...)
{
	char *fact = NULL, *line = NULL, *clean;
	const char *mark;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&fact, fmt, ap);
	va_end(ap);
	if (r < 0) {
		d->oom = 1;
		return;
	}
	if (!ok)
		d->bad = 1;
	if (d->checks != NULL) {
		json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:b, s:o, s:o}",
		    "check", check, "profile", tt_json_text(d->name),
		    "calendar", tt_json_text(c ? c->path : NULL),
		    "calendar_id", tt_json_text(c ? c->remote_id : NULL),
		    "ok", ok, "fact", tt_json_text(fact),
		    "advice", tt_json_text(advice));

		if (o == NULL || json_array_append_new(d->checks, o) != 0)
			d->oom = 1;
		free(fact);
		return;
	}
	if (c != NULL)
		r = asprintf(&line, "%s (%s, %s): %s%s%s", check, d->name,
		    c->path, fact, advice ? "; " : "", advice ? advice : "");
	else if (d->name != NULL)
		r = asprintf(&line, "%s (%s): %s%s%s", check, d->name, fact,
		    advice ? "; " : "", advice ? advice : "");
	else
		r = asprintf(&line, "%s: %s%s%s", check, fact, advice ? "; " :
		    "", advice ? advice : "");
	free(fact);
	if (r < 0 || (clean = tt_sanitize_dup(line)) == NULL) {
		free(line);
		d->oom = 1;
		return;
	}
	free(line);
	/* Marks a terminal of the locale can show: ✓ ✗, else words. */
	mark = d->utf8 ? (ok ? "\xe2\x9c\x93" : "\xe2\x9c\x97") : ok ? "ok" :
	    "FAIL";
	if (d->colour)
		printf("\033[%sm%s\033[0m %s\n", ok ? "32" : "31", mark, clean);
	else
		printf("%s %s\n", mark, clean);
	free(clean);
}

/* The advice for an error code, as the edge words it, or NULL. */
static const char *
advice_of(struct doc *d, int code, char *buf, size_t len)
{
	char words[256];
	const char *a = cmd_advice(d->ctx, d->name ? d->name : d->ctx->profile,
	    code, 0, words, sizeof(words));
	size_t n;

	/* cmd_advice's words follow a message: "; run ..." or " (...)". */
	while (*a == ';' || *a == ' ' || *a == '(')
		a++;
	if (*a == '\0')
		return NULL;
	snprintf(buf, len, "%s", a);
	if ((n = strlen(buf)) > 0 && buf[n - 1] == ')')
		buf[n - 1] = '\0';
	return buf;
}

/* ------------------------------------------------- configuration, file */

static void
check_config(struct doc *d)
{
	struct tt_ctx *ctx = d->ctx;

	if (ctx->cfg_bad) {
		const char *diag = ctx->cfg.diag;
		int n = diag ? (int)strcspn(diag, "\n") : 0;

		if (diag != NULL)
			say(d, "config", NULL, 0, "fix it (every bad line is "
			    "reported the same way); the service was not asked",
			    "%.*s%s", n, diag, ctx->cfg.ndiag > 1 ?
			    " (and more lines)" : "");
		else
			say(d, "config", NULL, 0, "fix it; the service was not "
			    "asked", "%s", ctx->cfg_err.msg);
		return;
	}
	if (ctx->cfg.client_id == NULL) {
		say(d, "config", NULL, 0, "set client_id to the app "
		    "registration's id (timetap-sync.conf(5))", "no client_id");
		return;
	}
	say(d, "config", NULL, 1, NULL, "read; client_id set, graph_url %s",
	    ctx->cfg.graph_url);
}

/* The database: store_open's checks (ours, 0600, directory) and what it
 * holds.  Returns 0 when it is open. */
static int
check_database(struct doc *d)
{
	struct tt_ctx *ctx = d->ctx;
	struct store_health h;
	struct tt_err e = { 0 };
	struct stat sb;
	char *dir, *slash;
	unsigned dmode = 0;
	int ok;

	if (ctx->dbpath == NULL) {
		say(d, "database", NULL, 0, "set HOME or XDG_DATA_HOME, or give "
		    "-f", "no path");
		return -1;
	}
	if (lstat(ctx->dbpath, &sb) != 0 && errno == ENOENT) {
		say(d, "database", NULL, 0, "run `timetap-sync login` to make "
		    "one", "%s does not exist", ctx->dbpath);
		return -1;
	}
	if (store_open(ctx->dbpath, &ctx->st, &e) != 0) {
		say(d, "database", NULL, 0, NULL, "%s", e.msg);
		return -1;
	}
	if ((dir = strdup(ctx->dbpath)) != NULL &&
	    (slash = strrchr(dir, '/')) != NULL) {
		*(slash == dir ? slash + 1 : slash) = '\0';
		if (stat(dir, &sb) == 0)
			dmode = (unsigned)(sb.st_mode & 07777);
	}
	free(dir);
	if (stat(ctx->dbpath, &sb) != 0)
		sb.st_mode = 0;
	if (store_health(ctx->st, &h, &e) != 0) {
		say(d, "database", NULL, 0, NULL, "%s", e.msg);
		return 0;
	}
	ok = strcmp(h.integrity, "ok") == 0 && strcasecmp(h.journal, "wal") == 0
	    && h.version == h.newest;
	/* store_open asks for WAL and migrates: either failing here means
	 * the file system refused WAL, or another program changed it. */
	say(d, "database", NULL, ok, ok ? NULL : strcmp(h.integrity, "ok") != 0 ?
	    "restore it from a backup, or `stop` every profile and log in again"
	    : strcasecmp(h.journal, "wal") != 0 ? "keep it on a local file "
	    "system that can hold a WAL (not a network share)" : "another "
	    "program changed it; leave it to this one",
	    "%s: mode %04o, directory %04o; quick_check %s; journal %s; "
	    "schema %d (this program's newest: %d)", ctx->dbpath,
	    (unsigned)(sb.st_mode & 07777), dmode, h.integrity, h.journal,
	    h.version, h.newest);
	store_health_free(&h);
	return 0;
}

/* ------------------------------------------------------ the account */

/* Seconds east of UTC of the zone TZ names (NULL: the system's) at t. */
static long
offset_at(const char *zone, tt_time t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	tt_set_zone(zone);
	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return tm.tm_gmtoff;
}

/* Whether two zones keep the same clock through the coming year (a
 * different name of the same rules is the same zone here). */
static int
same_zone(const char *a, const char *b)
{
	char *keep = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	tt_time now = tt_now();
	int i, same = 1;

	for (i = 0; i < 24 && same; i++) {
		tt_time t = now + (tt_time)i * 15 * 86400;

		same = offset_at(a, t) == offset_at(b, t);
	}
	tt_set_zone(keep);
	free(keep);
	return same;
}

static void
check_clock(struct doc *d)
{
	time_t date, at;
	long skew;
	int idp = 0;

	if (!graph_date(d->g, 0, &date, &at)) {
		if (!graph_date(d->g, 1, &date, &at)) {
			say(d, "clock", NULL, 0, "check the network and the "
			    "configured URLs", "no answer of the service carried "
			    "a Date header");
			return;
		}
		idp = 1;
	}
	skew = (long)(date - at);
	/* Date has whole seconds: a second either way is no skew. */
	if (labs(skew) > SKEW_MAX)
		say(d, "clock", NULL, 0, "set this host's clock right (NTP: "
		    "timedatectl set-ntp true); tokens are judged by the "
		    "service's clock, the window and retry dates by this host's",
		    "this host's clock is %ld s %s the %s's Date header, more "
		    "than %d s", labs(skew), skew > 0 ? "behind" : "ahead of",
		    idp ? "identity platform" : "service", SKEW_MAX);
	else
		say(d, "clock", NULL, 1, NULL, "this host's clock is within %ld "
		    "s of the %s's Date header", labs(skew) + 1, idp ?
		    "identity platform" : "service");
}

/*
 * The zone the tool shows times in and takes all-day days in, against
 * the mailbox's.  A difference is a failure, though the sync goes on: the
 * staff member would see the book in one zone and Outlook in another,
 * and all-day events land on the days of the zone configured.
 */
static void
check_zone(struct doc *d)
{
	const char *cfgz = d->ctx->cfg.time_zone, *host = getenv("TZ"), *iana;
	struct graph_err ge = { 0 };
	char *raw = NULL, *mine, adv[256];
	int granted = d->acct.scopes != NULL &&
	    (conn_has_scope(d->acct.scopes, CONN_ZONE_SCOPE) ||
	    conn_has_scope(d->acct.scopes, CONN_ZONE_SCOPE "Write"));

	/* A copy: same_zone changes TZ, which may free getenv's string. */
	mine = cfgz ? strdup(cfgz) : host && *host ? strdup(host) : NULL;
	if (mine == NULL && (cfgz || (host && *host))) {
		d->oom = 1;
		return;
	}
	snprintf(adv, sizeof(adv), "run `timetap-sync -s %s login` to grant "
	    "it, or set time_zone", d->name);
	if (!granted) {
		say(d, "time_zone", NULL, cfgz != NULL, cfgz ? NULL : adv,
		    "the mailbox's zone needs the %s permission, "
		    "which this login lacks; %s %s", CONN_ZONE_SCOPE, cfgz ?
		    "the configured time_zone is used:" : "all-day events take "
		    "this host's zone:", mine ? mine : "the system's");
		free(mine);
		return;
	}
	if (graph_mailbox_zone(d->g, &raw, &ge) != 0) {
		say(d, "time_zone", NULL, 0, cfgz ? NULL : "set time_zone",
		    "the mailbox's zone could not be read (%s); %s %s", ge.msg,
		    cfgz ? "the configured time_zone is used:" : "all-day "
		    "events take this host's zone:", mine ? mine : "the system's");
		free(mine);
		return;
	}
	iana = tt_windows_zone(raw);
	if (iana == NULL || !tt_zone_ok(iana))
		say(d, "time_zone", NULL, cfgz != NULL, cfgz ? NULL : "set "
		    "time_zone to the staff member's zone", "the mailbox's zone "
		    "\"%s\" names no zone known here; %s %s", raw, cfgz ?
		    "the configured time_zone is used:" : "all-day events take "
		    "this host's zone:", mine ? mine : "the system's");
	else if (!same_zone(iana, mine))
		say(d, "time_zone", NULL, 0, cfgz ? "set time_zone to it, or "
		    "change the mailbox's zone in Outlook's settings" : "set "
		    "time_zone to it (the sync takes the mailbox's for all-day "
		    "events, the tables this host's)", "the mailbox's \"%s\" "
		    "(%s) differs from the %s zone, %s", raw, iana, cfgz ?
		    "configured" : "host's", mine ? mine : "the system's");
	else
		say(d, "time_zone", NULL, 1, NULL, "the mailbox's \"%s\" (%s) "
		    "keeps the same clock as the %s zone, %s", raw, iana, cfgz ?
		    "configured" : "host's", mine ? mine : "the system's");
	free(raw);
	free(mine);
}

/* ------------------------------------------------------ the calendars */

/* The first page of a read, and how it ended. */
struct probe {
	int pages;
	size_t n;
	struct graph_err err;
	int done;
};

static int
probe_page(void *arg, const struct graph_event *ev, size_t n, int final,
    const char *delta_link)
{
	struct probe *p = arg;

	(void)ev;
	(void)delta_link;
	p->pages++;
	p->n = n;
	return !final;		/* one page is the whole probe */
}

static void
probe_done(void *arg, const struct graph_err *e)
{
	struct probe *p = arg;

	if (e != NULL && e->cls != GRAPH_CANCELLED)
		p->err = *e;
	p->done = 1;
}

/* Readable and delta, from one request. */
static void
check_read(struct doc *d, const struct calendar *c, tt_time ws, tt_time we)
{
	struct graph_round_cb cb = { probe_page, probe_done, NULL };
	struct graph_cal ref = store_cal_ref(c);
	struct probe p = { 0 };
	struct graph_err ge = { 0 };
	char buf[256];
	const char *adv;
	char *url;
	int delta = !c->no_delta;

	cb.arg = &p;
	if ((url = graph_view_url(d->g, &ref, delta, ws, we)) == NULL) {
		d->oom = 1;
		return;
	}
	if (graph_round(d->g, &ref, url, &cb, &ge) != 0)
		p.err = ge;
	else
		graph_run(d->g);
	free(url);
	if (p.err.cls == GRAPH_OK && p.pages > 0) {
		say(d, "read", c, 1, NULL, "readable (%zu item%s on the first "
		    "page)", p.n, p.n == 1 ? "" : "s");
		if (delta)
			say(d, "delta", c, 1, NULL, "delta works");
		else
			/* A fallback that works is no failure (issue 15:
			 * "delta works or falls back"). */
			say(d, "delta", c, 1, NULL, "falls back to plain reads: "
			    "the service refused delta for it before (the sync "
			    "asks for delta again at the daily re-base)");
		return;
	}
	/* The sync's rule (sync.c on_done): a refusal of delta that is not
	 * an expired state nor a refused token means plain reads.  A 403
	 * is told as a refusal to read: it is one for plain reads too. */
	if (delta && p.err.cls != GRAPH_TOKEN && p.err.cls != GRAPH_GONE &&
	    (p.err.http == 400 || p.err.http == 404 || p.err.http == 501)) {
		say(d, "delta", c, 1, NULL, "falls back to plain reads: the "
		    "service refuses delta for it (%s); the sync reads the "
		    "whole window instead (more requests, nothing lost), and "
		    "the next doctor reads it that way", p.err.msg);
		return;
	}
	adv = p.err.http == 403 ? "the account may not read it: have its owner "
	    "share it again, or take its role off (calendars --pull/--push)" :
	    advice_of(d, graph_errc(&p.err), buf, sizeof(buf));
	say(d, "read", c, 0, adv, "not readable: %s", p.err.cls == GRAPH_OK ?
	    "no answer" : p.err.msg);
}

static int
calendar_cb(void *arg, const struct calendar *c)
{
	struct doc *d = arg;
	char buf[256];
	tt_time ws, we;

	if (!c->pull && !c->push)
		return 0;
	if (!c->present) {
		say(d, "read", c, 0, "take its roles off (`calendars --pull` "
		    "and `--push` with the others)", "gone: the account lists "
		    "it no more");
		return 0;
	}
	if (d->online) {
		sync_window(d->ctx->cfg.window_past_days,
		    d->ctx->cfg.window_future_days, tt_now(), &ws, &we);
		check_read(d, c, ws, we);
	}
	if (c->push)
		say(d, "write", c, c->can_edit, c->can_edit ? NULL : "have its "
		    "owner give the account edit rights, or take the push role "
		    "off", c->can_edit ? "writable (as last listed; nothing was "
		    "written)" : "not writable (canEdit false), but it has the "
		    "push role");
	else
		say(d, "write", c, 1, NULL, "%s (pull only: not needed)",
		    c->can_edit ? "writable" : "read-only");
	if (c->kind == GRAPH_CAL_GROUP) {
		int has = conn_has_scope(d->acct.scopes, CONN_GROUP_SCOPE);

		snprintf(buf, sizeof(buf), "run `timetap-sync -s %s login "
		    "--groups`, or have an administrator grant admin consent "
		    "for the app", d->name);
		say(d, "group_consent", c, has, has ? NULL : buf, has ? "the "
		    "login holds %s" : "the login lacks %s, which a group "
		    "calendar needs", CONN_GROUP_SCOPE);
	}
	return 0;
}

static void
check_last_pass(struct doc *d)
{
	struct tt_err e = { 0 };
	struct pass p;
	char t[32], buf[256];
	const char *adv = NULL;
	int r = store_last_pass(d->ctx->st, d->profile, &p, &e);

	if (r < 0) {
		say(d, "last_pass", NULL, 0, NULL, "%s", e.msg);
		return;
	}
	if (r == 0) {
		say(d, "last_pass", NULL, 1, NULL, "none yet");
		return;
	}
	tt_fmt_local(p.started, t, sizeof(t));
	if (p.exit_code == 0)
		say(d, "last_pass", NULL, 1, NULL, "%s, ok (%d items read, %d "
		    "requests)", t, p.items, p.requests);
	else if (p.exit_code == cmd_exit(TT_E_CONFLICT))
		/* The pass went well; the book holds a double booking. */
		say(d, "last_pass", NULL, 1, NULL, "%s, ok and told new "
		    "conflicts (`timetap-sync conflicts` lists the open ones)",
		    t);
	else if (p.exit_code < 0)
		say(d, "last_pass", NULL, 0, "if no sync runs now, one was "
		    "killed: the next run goes on from its intents", "%s, "
		    "unfinished", t);
	else {
		if (p.exit_code == cmd_exit(TT_E_LOGIN))
			adv = advice_of(d, TT_E_LOGIN, buf, sizeof(buf));
		else if (p.exit_code == cmd_exit(TT_E_CAPPED))
			adv = advice_of(d, TT_E_CAPPED, buf, sizeof(buf));
		say(d, "last_pass", NULL, 0, adv ? adv : "the next sync tries "
		    "again; `status` shows its counts", "%s, exit %d: %s", t,
		    p.exit_code, p.message ? p.message : "(no message)");
	}
	store_pass_free(&p);
}

/* The token: stored, then refreshed (the proof the grant still works). */
static void
check_token(struct doc *d)
{
	struct tt_err e = { 0 };
	char t[32], buf[256];

	snprintf(buf, sizeof(buf), "run `timetap-sync -s %s login`", d->name);
	if (d->acct.needs_login != NULL) {
		say(d, "token", NULL, 0, buf, "a new login is needed (%s)",
		    d->acct.needs_login);
		d->online = 0;
		return;
	}
	if (d->acct.refresh_token == NULL) {
		say(d, "token", NULL, 0, buf, "no refresh token is stored");
		d->online = 0;
		return;
	}
	if (!d->online) {
		say(d, "token", NULL, 1, NULL, "a refresh token is stored (not "
		    "tried)");
		return;
	}
	if (conn_graph(&d->ctx->cn, &d->g, &e) != 0 ||
	    conn_token(&d->ctx->cn, d->g, d->profile, d->name, 1, &e) != 0) {
		say(d, "token", NULL, 0, advice_of(d, e.code, buf, sizeof(buf)),
		    "%s", e.msg);
		d->online = 0;
		/* An answer's Date still tells of the clock: a skewed one
		 * may be why the token was refused. */
		if (d->g != NULL && graph_date(d->g, 1, &(time_t){ 0 },
		    &(time_t){ 0 }))
			check_clock(d);
		return;
	}
	/* Read again: the refresh moved the expiry and maybe the scopes. */
	store_account_free(&d->acct);
	if (store_account_get(d->ctx->st, d->profile, &d->acct, &e) <= 0) {
		say(d, "token", NULL, 0, NULL, "%s", e.msg);
		d->online = 0;
		return;
	}
	say(d, "token", NULL, 1, NULL, "refreshed: the grant works (the "
	    "rotated refresh token is saved); the access token is valid until "
	    "%s", tt_fmt_local(d->acct.access_expires, t, sizeof(t)));
}

/* Every check of one profile; the lock is held while the service is
 * asked, as every command that refreshes a token holds it. */
static int
doc_profile(void *arg, int64_t profile, const char *name)
{
	struct doc *d = arg;
	struct tt_err e = { 0 };
	char buf[256];
	int lock, r;

	d->profile = profile;
	d->name = name;
	d->profiles++;
	d->online = !d->ctx->cfg_bad && d->ctx->cfg.client_id != NULL;
	memset(&d->acct, 0, sizeof(d->acct));
	lock = store_lock(d->ctx->dbpath, name, &e);
	if (lock < 0 && e.code == TT_E_BUSY)
		say(d, "lock", NULL, 0, "run doctor again when that run ends",
		    "held by another run now (a sync or a login); the service "
		    "was not asked for this profile");
	else if (lock < 0)
		say(d, "lock", NULL, 0, NULL, "%s", e.msg);
	if (lock < 0)
		d->online = 0;
	else
		say(d, "lock", NULL, 1, NULL, "free");
	r = store_account_get(d->ctx->st, profile, &d->acct, &e);
	if (r < 0)
		say(d, "account", NULL, 0, NULL, "%s", e.msg);
	else if (r == 0) {
		snprintf(buf, sizeof(buf), "run `timetap-sync -s %s login`",
		    name);
		say(d, "account", NULL, 0, buf, "not connected");
	} else {
		say(d, "account", NULL, 1, NULL, "%s (tenant %s%s)", d->acct.upn,
		    d->acct.tenant, conn_personal(&d->acct) ? ", a personal "
		    "Microsoft account" : "");
		check_token(d);
		if (d->online) {
			check_zone(d);
			check_clock(d);
		}
		if (store_calendar_list(d->ctx->st, profile, calendar_cb, d,
		    &e) != 0)
			say(d, "calendars", NULL, 0, NULL, "%s", e.msg);
	}
	check_last_pass(d);
	store_account_free(&d->acct);
	graph_free(d->g);
	d->g = NULL;
	store_unlock(lock);
	d->name = NULL;
	return d->oom;
}

/* ------------------------------------------------------------- live */

struct live {
	struct doc *d;
	const struct calendar *cal;
	struct graph_cal ref;
	char *owner, *marker, *txn;
	char **ids;		/* the probes and copies, to delete */
	size_t nids, cap;
	int differs;		/* a step answered otherwise than assumed */
	int failed;		/* an error code that ends it, or 0 */
	struct graph_err fail;	/* ... and the service's words */
};

static void
writes_done(void *arg, struct graph_write **w, size_t n)
{
	(void)arg;
	(void)w;
	(void)n;
}

/* One write, sent alone (a $batch of one). */
static void
write1(struct live *l, struct graph_write *w)
{
	struct graph_write *wp = w;

	w->cal = l->ref;
	graph_writes(l->d->g, &wp, 1, writes_done, NULL);
}

static void
keep_id(struct live *l, const char *id)
{
	size_t i;

	for (i = 0; i < l->nids; i++)
		if (strcmp(l->ids[i], id) == 0)
			return;
	if (tt_reserve(&l->ids, &l->cap, l->nids + 1, sizeof(*l->ids)) != 0 ||
	    (l->ids[l->nids] = strdup(id)) == NULL) {
		l->d->oom = 1;
		return;
	}
	l->nids++;
}

/* "HTTP 400 ErrorDuplicateTransactionId: message" of a result. */
static const char *
answer(const struct graph_write *w, char *buf, size_t len)
{
	if (w->err.cls == GRAPH_OK)
		snprintf(buf, len, "HTTP %d", w->err.http);
	else
		snprintf(buf, len, "%s", w->err.msg);
	return buf;
}

static void
live_create(struct live *l, struct graph_write *w)
{
	memset(w, 0, sizeof(*w));
	w->op = GW_CREATE;
	w->subject = "timetap-sync doctor probe (safe to delete)";
	w->body = "A probe event of `timetap-sync doctor --live`, deleted at "
	    "once.  If you see it, it could not be: delete it.";
	w->start = PROBE_START;
	w->end = PROBE_START + PROBE_LEN;
	w->txn_id = l->txn;
	w->marker = l->marker;
	write1(l, w);
}

struct found {
	struct live *l;
	int n;
};

static int
leftover_cb(void *arg, const char *id)
{
	struct found *f = arg;

	f->n++;
	keep_id(f->l, id);
	return 0;
}

/* Delete what l->ids holds (404: gone already); a failed one is tried
 * once more.  Returns how many are left. */
static int
live_delete(struct live *l, const char *step)
{
	struct graph_write w;
	char buf[512];
	size_t i;
	int tries, left = 0;

	for (i = 0; i < l->nids; i++) {
		for (tries = 0; tries < 2; tries++) {
			if (tries > 0)
				graph_write_clear(&w);
			memset(&w, 0, sizeof(w));
			w.op = GW_DELETE;
			w.event_id = l->ids[i];
			write1(l, &w);
			if (w.err.cls == GRAPH_OK || w.gone)
				break;
		}
		if (w.err.cls == GRAPH_OK || w.gone)
			say(l->d, step, l->cal, 1, NULL, "%s%s (event %zu of %zu)",
			    w.gone ? "HTTP 404: gone already" : answer(&w, buf,
			    sizeof(buf)), tries ? ", the second time" : "",
			    i + 1, l->nids);
		else {
			left++;
			say(l->d, step, l->cal, 0, "delete the event \"timetap-sync "
			    "doctor probe\" of 2099-06-01 in Outlook, or run doctor "
			    "--live again, which removes earlier probes first",
			    "twice refused (%s): event %s is left", answer(&w, buf,
			    sizeof(buf)), l->ids[i]);
			if (!l->failed) {
				l->failed = graph_errc(&w.err);
				l->fail = w.err;
			}
		}
		graph_write_clear(&w);
	}
	return left;
}

/* The probe in a round over its own day: seen, and with which fields. */
struct seen {
	const char *id;
	int found, items, showas, txn, pages;
	char type[32], showas_name[24];
	int occ, occ_sparse, occ_master;	/* an occurrence, and how */
	struct graph_err err;
};

static int
seen_page(void *arg, const struct graph_event *ev, size_t n, int final,
    const char *delta_link)
{
	struct seen *s = arg;
	size_t i;

	(void)final;
	(void)delta_link;
	s->pages++;
	for (i = 0; i < n; i++) {
		if (ev[i].removed || ev[i].invalid != NULL)
			continue;
		s->items++;
		if (s->id != NULL && strcmp(ev[i].id, s->id) == 0) {
			s->found = 1;
			s->showas = strcmp(ev[i].showas_name, "unknown") != 0;
			tt_sanitize(s->showas_name, sizeof(s->showas_name),
			    ev[i].showas_name);
			tt_sanitize(s->type, sizeof(s->type), ev[i].type ?
			    ev[i].type : "(none)");
			s->txn = ev[i].transaction_id != NULL;
		}
		if (!s->occ && ev[i].type != NULL &&
		    strcmp(ev[i].type, "occurrence") == 0) {
			s->occ = 1;
			s->occ_sparse = ev[i].sparse;
			s->occ_master = ev[i].series_master_id != NULL;
		}
	}
	return s->id == NULL;	/* the window's first page is enough */
}

static void
seen_done(void *arg, const struct graph_err *e)
{
	struct seen *s = arg;

	if (e != NULL && e->cls != GRAPH_CANCELLED)
		s->err = *e;
}

static void
live_round(struct live *l, struct seen *s, tt_time ws, tt_time we)
{
	struct graph_round_cb cb = { seen_page, seen_done, NULL };
	struct graph_err ge = { 0 };
	char *url = graph_view_url(l->d->g, &l->ref, !l->cal->no_delta, ws,
	    we);

	cb.arg = s;
	if (url == NULL) {
		l->d->oom = 1;
		snprintf(s->err.msg, sizeof(s->err.msg), "out of memory");
		s->err.cls = GRAPH_LOCAL;
		return;
	}
	if (graph_round(l->d->g, &l->ref, url, &cb, &ge) != 0)
		s->err = ge;
	else
		graph_run(l->d->g);
	free(url);
}

static void
live_steps(struct live *l)
{
	struct doc *d = l->d;
	struct graph_write w, rw, lw;
	struct found lf = { l, 0 };
	struct graph_err ge = { 0 };
	struct seen s = { 0 }, o = { 0 };
	char buf[512], *pfx = NULL;
	const char *how = l->cal->no_delta ? "a plain calendarView read (delta "
	    "was refused for it)" : "a delta round";
	tt_time ws, we;
	int left;

	/* 0: the probes an earlier run left. */
	if (asprintf(&pfx, "%s:probe-", l->owner) < 0) {
		d->oom = 1;
		return;
	}
	if (graph_find_marked(d->g, &l->ref, pfx, leftover_cb, &lf, &ge) != 0)
		say(d, "leftovers", l->cal, 0, NULL, "the search for earlier "
		    "probes failed: %s", ge.msg);
	else
		say(d, "leftovers", l->cal, 1, NULL, lf.n ? "%d earlier probe%s "
		    "found, deleted at the end" : "no earlier probe", lf.n,
		    lf.n == 1 ? "" : "s");
	free(pfx);

	/* 1: the create. */
	live_create(l, &w);
	if (w.err.cls == GRAPH_OK && w.new_id != NULL) {
		keep_id(l, w.new_id);
		say(d, "create", l->cal, 1, NULL, "%s; an event id of %zu "
		    "characters%s; transactionId %s", answer(&w, buf,
		    sizeof(buf)), strlen(w.new_id), w.change_key ? ", a changeKey"
		    : ", no changeKey", l->txn);
	} else {
		say(d, "create", l->cal, 0, w.err.ambiguous ? "its outcome is "
		    "unknown: the next steps look for it" : NULL, "%s",
		    answer(&w, buf, sizeof(buf)));
		l->failed = graph_errc(&w.err);
		l->fail = w.err;
	}

	/* 2: found by its marker, as the sync finds a lost create. */
	memset(&lw, 0, sizeof(lw));
	lw.op = GW_LOOKUP;
	lw.marker = l->marker;
	write1(l, &lw);
	if (lw.err.cls != GRAPH_OK) {
		say(d, "find", l->cal, 0, NULL, "the $filter on the marker: %s",
		    answer(&lw, buf, sizeof(buf)));
		l->differs = 1;
	} else {
		int same = w.new_id != NULL && lw.new_id != NULL &&
		    strcmp(w.new_id, lw.new_id) == 0;

		if (lw.new_id != NULL)
			keep_id(l, lw.new_id);
		say(d, "find", l->cal, lw.found == 1 && same, lw.found == 1 &&
		    same ? NULL : "the sync finds lost creates so: it would "
		    "create again", "the $filter on the marker: %s, %d event%s%s",
		    answer(&lw, buf, sizeof(buf)), lw.found, lw.found == 1 ? "" :
		    "s", same ? ", the one created" : lw.found ? ", another one" :
		    "");
		if (lw.found != 1 || !same)
			l->differs = 1;
	}
	graph_write_clear(&lw);

	if (w.new_id != NULL) {
		/* 3: the create again, with the same transactionId. */
		live_create(l, &rw);
		if (rw.err.cls != GRAPH_OK && strcasecmp(rw.err.code,
		    "ErrorDuplicateTransactionId") == 0)
			say(d, "replay", l->cal, 1, NULL, "refused as a replay, "
			    "as the sync assumes (it then looks the event up by "
			    "its marker): %s", answer(&rw, buf, sizeof(buf)));
		else if (rw.err.cls == GRAPH_OK && rw.new_id != NULL &&
		    strcmp(rw.new_id, w.new_id) == 0)
			say(d, "replay", l->cal, 1, NULL, "de-duplicated, which "
			    "the sync takes as well: %s with the same event",
			    answer(&rw, buf, sizeof(buf)));
		else if (rw.err.cls == GRAPH_OK && rw.new_id != NULL) {
			keep_id(l, rw.new_id);
			say(d, "replay", l->cal, 0, "the sync deletes such second "
			    "copies (strays) when it finds them; this one is "
			    "deleted below", "the service does not de-duplicate "
			    "transactionIds: %s with a second event", answer(&rw,
			    buf, sizeof(buf)));
			l->differs = 1;
		} else {
			say(d, "replay", l->cal, 0, "the sync keeps such a create's "
			    "intent and looks it up again at the next pass", "not "
			    "an answer the sync expects: %s", answer(&rw, buf,
			    sizeof(buf)));
			l->differs = 1;
		}
		graph_write_clear(&rw);

		/* 4: read back, over its own day. */
		ws = PROBE_START - PROBE_START % 86400;
		we = ws + 86400;
		s.id = w.new_id;
		live_round(l, &s, ws, we);
		if (s.err.cls != GRAPH_OK) {
			say(d, "delta", l->cal, 0, NULL, "%s: %s", how, s.err.msg);
			l->differs = 1;
		} else if (!s.found) {
			say(d, "delta", l->cal, 0, "the sync waits 10 minutes "
			    "before it takes a missing new event for deleted",
			    "%s over its day (%d item%s, %d page%s) lacks it", how,
			    s.items, s.items == 1 ? "" : "s", s.pages, s.pages == 1 ?
			    "" : "s");
			l->differs = 1;
		} else {
			say(d, "delta", l->cal, s.showas, s.showas ? NULL : "the "
			    "sync takes an event without showAs for unknown: it "
			    "would not block", "%s carries it: type %s, showAs %s, "
			    "transactionId %s", how, s.type, s.showas ?
			    s.showas_name : "absent", s.txn ? "returned" :
			    "not returned");
			l->differs |= !s.showas;
		}
	}

	/* 5: a recurring occurrence of the sync's window, if the first page
	 * of its read has one. */
	sync_window(d->ctx->cfg.window_past_days, d->ctx->cfg.window_future_days,
	    tt_now(), &ws, &we);
	live_round(l, &o, ws, we);
	if (o.err.cls != GRAPH_OK) {
		say(d, "occurrence", l->cal, 0, NULL, "%s of the window: %s", how,
		    o.err.msg);
		l->differs = 1;
	} else if (!o.occ)
		say(d, "occurrence", l->cal, 1, NULL, "no recurring occurrence on "
		    "the first page of the window (%d item%s): nothing to show",
		    o.items, o.items == 1 ? "" : "s");
	else {
		say(d, "occurrence", l->cal, o.occ_master, o.occ_master ? NULL :
		    "the sync cannot tell its series: it is not read",
		    "an occurrence comes %s%s", o.occ_sparse ? "bare (id, type, "
		    "seriesMasterId, start, end): the sync takes the rest from "
		    "its series master" : "whole (subject, showAs ...)",
		    o.occ_master ? "" : ", without seriesMasterId");
		l->differs |= !o.occ_master;
	}

	/* 6: delete, and look again. */
	left = live_delete(l, "delete");
	graph_write_clear(&w);
	memset(&lw, 0, sizeof(lw));
	lw.op = GW_LOOKUP;
	lw.marker = l->marker;
	write1(l, &lw);
	if (lw.err.cls != GRAPH_OK)
		say(d, "gone", l->cal, 0, NULL, "the $filter on the marker: %s",
		    answer(&lw, buf, sizeof(buf)));
	else
		say(d, "gone", l->cal, lw.found == 0, lw.found == 0 ? NULL : "delete "
		    "it in Outlook, or run doctor --live again", "the $filter on "
		    "the marker finds %d event%s%s", lw.found, lw.found == 1 ? "" :
		    "s", lw.found == 0 ? "" : left ? "" : " after the deletes "
		    "succeeded");
	if (lw.err.cls != GRAPH_OK || lw.found != 0)
		l->differs = 1;
	graph_write_clear(&lw);
}

/* Match a calendar by local number, Graph id or path, as `calendars`
 * does. */
struct pick {
	const char *want;
	int64_t id;
	int matches;
};

static int
pick_cb(void *arg, const struct calendar *c)
{
	struct pick *p = arg;
	char num[32];

	snprintf(num, sizeof(num), "%" PRId64, c->id);
	if (c->present && (strcmp(p->want, num) == 0 || strcmp(p->want,
	    c->remote_id) == 0 || strcmp(p->want, c->path) == 0)) {
		p->matches++;
		p->id = c->id;
	}
	return 0;
}

struct live_run {
	struct live *l;
	int64_t id;
	struct tt_err *err;
	int rc;
};

static int
live_cb(void *arg, const struct calendar *c)
{
	struct live_run *lr = arg;
	struct live *l = lr->l;

	if (c->id != lr->id)
		return 0;
	/* A group's event is a meeting: the probe would invite, then
	 * cancel, every member who gets the group's mail (CAVEATS). */
	if (c->kind == GRAPH_CAL_GROUP) {
		lr->rc = tt_fail(lr->err, TT_E_USAGE, "doctor --live: calendar "
		    "'%s' is a Microsoft 365 group's: a probe there would invite "
		    "its members; choose a user calendar", c->path);
		return 1;
	}
	if (!c->can_edit) {
		lr->rc = tt_fail(lr->err, TT_E_USAGE, "doctor --live: calendar "
		    "'%s' is not writable (canEdit false): a probe cannot be "
		    "made there", c->path);
		return 1;
	}
	l->cal = c;
	l->ref = store_cal_ref(c);
	live_steps(l);
	lr->rc = 0;
	return 1;
}

static int
doctor_live(struct doc *d, const char *want, struct tt_err *err)
{
	struct tt_ctx *ctx = d->ctx;
	struct live l = { 0 };
	struct pick p = { want, 0, 0 };
	struct live_run lr = { &l, 0, err, -1 };
	unsigned char rnd[8];
	char tag[32];
	int lock = -1, r;
	size_t i;

	if (cmd_open(ctx, err) || cmd_profile(ctx, &d->profile, err) < 0)
		return -1;
	d->name = ctx->profile;
	if ((r = d->profile ? store_account_get(ctx->st, d->profile, &d->acct,
	    err) : 0) <= 0)
		return r < 0 ? -1 : tt_fail(err, TT_E_LOGIN, "profile %s is not "
		    "connected", ctx->profile);
	if (store_calendar_list(ctx->st, d->profile, pick_cb, &p, err))
		goto out;
	if (p.matches != 1) {
		tt_fail(err, TT_E_USAGE, "doctor --live: %s calendar '%s' "
		    "(`timetap-sync calendars` lists them)", p.matches > 1 ?
		    "ambiguous" : "no such", want);
		goto out;
	}
	lr.id = p.id;
	if ((lock = store_lock(ctx->dbpath, ctx->profile, err)) < 0 ||
	    conn_graph(&ctx->cn, &d->g, err) ||
	    conn_token(&ctx->cn, d->g, d->profile, ctx->profile, 0, err) ||
	    (l.owner = sync_owner(ctx->st, d->profile, err)) == NULL)
		goto out;
	arc4random_buf(rnd, sizeof(rnd));
	snprintf(tag, sizeof(tag), "probe-%02x%02x%02x%02x%02x%02x%02x%02x",
	    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	/* The marker's value is never an appointment's ("owner:<number>"),
	 * the transactionId never parses as one ("timetap-owner-<number>-",
	 * sync.c ours_of). */
	if (asprintf(&l.marker, "%s:%s", l.owner, tag) < 0 ||
	    asprintf(&l.txn, "timetap-%s-%s", l.owner, tag) < 0) {
		tt_fail(err, TT_E_INTERNAL, "out of memory");
		goto out;
	}
	l.d = d;
	if (store_calendar_list(ctx->st, d->profile, live_cb, &lr, err) ||
	    lr.rc != 0)
		goto out;
	if (d->checks != NULL && tt_json_print(json_pack("{s:O}", "checks",
	    d->checks), err)) {
		lr.rc = -1;
		goto out;
	}
	if (d->oom)
		lr.rc = tt_fail(err, TT_E_INTERNAL, "out of memory");
	else if (l.failed)
		lr.rc = tt_fail(err, l.failed, "doctor --live: %s", l.fail.msg);
	else
		ctx->status = l.differs || d->bad;
out:
	for (i = 0; i < l.nids; i++)
		free(l.ids[i]);
	free(l.ids);
	free(l.owner);
	free(l.marker);
	free(l.txn);
	store_unlock(lock);
	return lr.rc;
}

/* ------------------------------------------------------------- main */

int
doctor_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "live", required_argument, NULL, O_LIVE },
		CMD_OPT_HELP,
		{ NULL, 0, NULL, 0 }
	};
	struct doc d = { 0 };
	const char *live = NULL;
	int64_t profile;
	int c, r, json = 0;

	optind = 0;
	while ((c = cmd_getopt(ctx, argc, argv, "", opts, err)) != -1) {
		switch (c) {
		case O_JSON: json = 1; break;
		case O_LIVE: live = optarg; break;
		case CMD_HELPED: return 0;
		default: return -1;
		}
	}
	if (cmd_no_operand(ctx, argc, argv, err))
		return -1;
	if (live != NULL && *live == '\0')
		return tt_fail(err, TT_E_USAGE, "doctor --live: an empty calendar "
		    "name");
	d.ctx = ctx;
	d.utf8 = tt_utf8_locale();
	d.colour = !json && tt_colour();
	if (json && (d.checks = json_array()) == NULL)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	if (live != NULL) {
		r = doctor_live(&d, live, err);
		store_account_free(&d.acct);
		graph_free(d.g);
		json_decref(d.checks);
		return r;
	}
	/* The configuration is told, not obeyed: a bad one is a check that
	 * fails, and the database is still looked at. */
	check_config(&d);
	if (check_database(&d) == 0) {
		cmd_connect(ctx);
		ctx->cn.gs.page_size = PROBE_PAGE;
		if (ctx->profile_given) {
			r = store_profile(ctx->st, ctx->profile, 0, &profile, err);
			if (r == 0)
				r = tt_fail(err, TT_E_DATA, "no profile %s "
				    "(`timetap-sync profiles` lists them)",
				    ctx->profile);
			if (r > 0)
				r = doc_profile(&d, profile, ctx->profile) ? -1 : 0;
		} else {
			r = store_profiles(ctx->st, doc_profile, &d, err);
			if (r == 0 && d.profiles == 0)
				say(&d, "profiles", NULL, 0, "run `timetap-sync "
				    "login`", "none yet");
		}
		if (r < 0) {
			json_decref(d.checks);
			return -1;
		}
	}
	if (d.oom) {
		json_decref(d.checks);
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	}
	if (d.checks != NULL && tt_json_print(json_pack("{s:O}", "checks",
	    d.checks), err)) {
		json_decref(d.checks);
		return -1;
	}
	json_decref(d.checks);
	/* Exit 1: a check failed; each said so on its line. */
	ctx->status = d.bad;
	return 0;
}
