/* SPDX-License-Identifier: ISC */
/*
 * account.c -- the account commands: login (the browser on a loopback
 * redirect, or a device code), calendars and their roles, status and
 * stop.  What they share with a pass -- tokens, discovery, the sign-in's
 * PKCE and redirect -- is the connection's (connection.c); this file
 * prints, parses options and talks to the person.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cmd.h"
#include "connection.h"
#include "graph.h"
#include "sync.h"

enum { O_DEVICE = CMD_LONG, O_BROWSER, O_GROUPS, O_SWITCH, O_PULL, O_PUSH,
    O_JSON, O_CACHED, O_PURGE };

extern char **environ;


/* A failed login, in its own words (conn_fail's, for the login command). */
static int
login_fail(struct tt_err *err, const char *profile, const char *step,
    const struct graph_err *ge)
{
	return tt_fail(err, graph_errc(ge), "login of profile %s failed: %s: %s",
	    profile, step, ge->msg);
}

/* ------------------------------------------------------------ login */

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
login_browser(struct tt_ctx *ctx, struct graph *g, const char *scopes,
    struct graph_tokens *t, struct tt_err *err)
{
	char verifier[64], challenge[64], state[64], redirect[64], *code = NULL;
	struct graph_err ge = { 0 };
	char *url;
	int lfd, port = 0, rc;

	conn_pkce(verifier, challenge);
	conn_state(state);
	if ((lfd = conn_listen(&port, err)) < 0)
		return -1;
	snprintf(redirect, sizeof(redirect), "http://localhost:%d", port);
	url = graph_authorize_url(g, scopes, redirect, state, challenge);
	if (url == NULL) {
		close(lfd);
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	}
	printf("To sign in, open this address in a browser:\n\n  %s\n\n"
	    "Waiting for the sign-in to finish...\n", url);
	fflush(stdout);
	open_browser(url);
	free(url);
	rc = conn_await_code(lfd, state, &code, err);
	close(lfd);
	if (rc != 0) {
		char was[sizeof(err->msg)];

		strlcpy(was, err->msg, sizeof(was));
		tt_fail(err, err->code, "login of profile %s failed: %s%s",
		    ctx->profile, was, err->code == TT_E_LATER ? "; "
		    "--device-code signs in without a browser" : "");
	}
	if (rc == 0 && graph_redeem_code(g, code, redirect, verifier, scopes,
	    t, &ge) != 0)
		rc = login_fail(err, ctx->profile, "redeeming the sign-in code",
		    &ge);
	tt_wipe_free(code);
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
			return tt_fail(err, TT_E_LOGIN, "the code expired before "
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
	if ((c->pull || c->push) && c->present && c->kind == GRAPH_CAL_GROUP)
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
		r = tt_fail(err, TT_E_DATA, "profile %s is connected to %s, but "
		    "this sign-in was %s; nothing changed.  Sign in as %s, use "
		    "another profile (-s NAME), or run `timetap-sync -s %s login "
		    "--switch-account` to replace it (that clears its blocks, "
		    "feed and pushed-event records, as stop does)", ctx->profile,
		    old.upn, me->upn, old.upn, ctx->profile);
	else if ((r = store_stop(ctx->st, profile, &rc, err)) == 0)
		cmd_say(ctx, "Replaced %s on profile %s: removed %d [ext] "
		    "block%s; %d pushed event%s stay on %s's calendars.\n",
		    old.upn,
		    ctx->profile, rc.blocks, rc.blocks == 1 ? "" : "s", rc.pushed,
		    rc.pushed == 1 ? "" : "s", old.upn);
	store_account_free(&old);
	return r;
}

int
login_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "device-code", no_argument, NULL, O_DEVICE },
		{ "browser", no_argument, NULL, O_BROWSER },
		{ "groups", no_argument, NULL, O_GROUPS },
		{ "switch-account", no_argument, NULL, O_SWITCH },
		CMD_OPT_HELP,
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
	int c, device = 0, browser = 0, groups = 0, sw = 0, rc = -1, lock;
	int group_scope;

	optind = 0;
	while ((c = cmd_getopt(ctx, argc, argv, "", opts, err)) != -1) {
		switch (c) {
		case O_DEVICE: device = 1; break;
		case O_BROWSER: browser = 1; break;
		case O_GROUPS: groups = 1; break;
		case O_SWITCH: sw = 1; break;
		case CMD_HELPED: return 0;
		default: return -1;
		}
	}
	if (cmd_no_operand(ctx, argc, argv, err))
		return -1;
	if (device && browser)
		return cmd_bad(ctx, err, "login: --browser and "
		    "--device-code exclude each other");
	/* A configuration that did not load is told first (cmd_open). */
	if (!ctx->cfg_bad && groups && strcasecmp(ctx->cfg.tenant,
	    "consumers") == 0)
		return tt_fail(err, TT_E_USAGE, "login --groups: personal Microsoft "
		    "accounts (tenant = consumers) have no Microsoft 365 group "
		    "calendars");
	if (cmd_open(ctx, err))
		return -1;
	if (ctx->cfg.client_id == NULL)
		return tt_fail(err, TT_E_CONFIG, "login needs client_id in the "
		    "configuration file (the app registration's application id)");
	if ((lock = store_lock(ctx->dbpath, ctx->profile, err)) < 0)
		return -1;
	if (store_profile(ctx->st, ctx->profile, 1, &profile, err) < 0)
		goto out;
	/* A profile that already syncs a group calendar keeps that scope. */
	if (store_calendar_list(ctx->st, profile, roles_cb, &h, err))
		goto out;
	scopes = conn_scopes(groups || h.group_role);
	if (conn_graph(&ctx->cn, &g, err))
		goto out;
	if ((device ? login_device : login_browser)(ctx, g, scopes, &t, err))
		goto out;
	if (t.refresh_token == NULL) {
		tt_fail(err, TT_E_LOGIN, "login of profile %s failed: the sign-in "
		    "gave no refresh token (is offline_access consented?)",
		    ctx->profile);
		goto out;
	}
	if (graph_set_token(g, t.access_token) != 0) {
		tt_fail(err, TT_E_DOWN, "login of profile %s failed: the "
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
	group_scope = conn_has_scope(t.scope ? t.scope : scopes, CONN_GROUP_SCOPE);
	a.profile_id = profile;
	a.upn = me.upn;
	a.user_id = me.id;
	a.tenant = ctx->cfg.tenant;
	a.tenant_id = t.tenant_id;
	a.authority_url = ctx->cfg.authority_url;
	a.graph_url = ctx->cfg.graph_url;
	a.scopes = (char *)(uintptr_t)conn_scopes(group_scope);
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
	if (conn_discover(&ctx->cn, g, profile, ctx->profile, conn_personal(&a), err))
		goto out;
	memset(&h, 0, sizeof(h));
	if (store_calendar_list(ctx->st, profile, roles_cb, &h, err))
		goto out;
	if (!h.any_role && h.default_id > 0 &&
	    store_calendar_roles(ctx->st, h.default_id, 1, 1, err))
		goto out;
	cmd_say(ctx, "Connected profile %s to %s%s.\n", ctx->profile, me.upn,
	    conn_personal(&a) ? " (a personal Microsoft account: no group "
	    "calendars, no Teams meetings)" : "");
	cmd_say(ctx, "Run `timetap-sync%s%s calendars` to see the calendars and "
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

/* The calendars table: #, Kind, Writable and Roles fixed; the path takes
 * 70% of the rest, the id what is left (whole in --json). */
#define CAL_FIXED	(5 + 1 + 7 + 9 + 10)

struct cal_print {
	json_t *json;
	int rows, failed;
	int name;		/* the Calendar column's width */
	int has_group_scope;
	int needs_consent, limited;	/* group calendars listed so */
};

static const char *
cal_kind(const struct calendar *c)
{
	return c->kind == GRAPH_CAL_GROUP ? "group" : c->shared ? "shared" : "user";
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
	return json_pack("{s:I, s:o, s:o, s:o, s:s, s:o, s:b, s:b, s:o, s:b, "
	    "s:b, s:b, s:o, s:b, s:b}",
	    "number", (json_int_t)c->id, "calendar_id",
	    tt_json_text(c->remote_id), "name", tt_json_text(c->name),
	    "path", tt_json_text(c->path), "kind", cal_kind(c),
	    "owner", tt_json_text(c->owner), "writable", c->can_edit,
	    "default", c->is_default, "roles", roles, "pull", c->pull,
	    "push", c->push, "present", c->present,
	    "delta", c->no_delta ? json_false() : c->delta_link ? json_true() :
	    json_null(),
	    "needs_permission", c->kind == GRAPH_CAL_GROUP && !has_group_scope,
	    "limited", c->limited);
}

static int
cal_print_cb(void *arg, const struct calendar *c)
{
	struct cal_print *cp = arg;
	char roles[32], *path;
	int consent = c->kind == GRAPH_CAL_GROUP && !cp->has_group_scope;

	snprintf(roles, sizeof(roles), "%s%s%s", c->pull ? "pull" : "",
	    c->pull && c->push ? "," : "", c->push ? "push" : "");
	if (cp->json) {
		json_t *o = cal_json(c, cp->has_group_scope);

		if (o == NULL || json_array_append_new(cp->json, o) != 0)
			return cp->failed = 1;
		return 0;
	}
	if (cp->rows++ == 0) {
		printf("%-4s ", "#");
		tt_cell(stdout, "Calendar", cp->name);
		printf(" Kind   Writable Roles     Id\n");
	}
	printf("%-4" PRId64 " ", c->id);
	path = tt_sanitize_dup(c->path);
	tt_cell(stdout, path ? path : "?", cp->name);
	free(path);
	printf(" %-6s %-8s %-9s ", cal_kind(c), c->can_edit ? "yes" : "no",
	    roles[0] ? roles : "-");
	path = tt_sanitize_dup(c->remote_id);
	tt_last(stdout, path ? path : "?", CAL_FIXED + cp->name);
	free(path);
	putchar('\n');
	/* What is special about the calendar, on a line of its own under
	 * its name: never cut with it. */
	if (consent || c->limited || !c->present)
		printf("    %s%s%s\n", consent ? " (needs permission)" : "",
		    c->limited ? " (name not readable yet)" : "",
		    c->present ? "" : " (gone)");
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
		f->group = c->kind == GRAPH_CAL_GROUP;
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
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		memset(&f, 0, sizeof(f));
		f.want = tok;
		if (store_calendar_list(ctx->st, profile, cal_find_cb, &f, err))
			goto fail;
		if (f.matches != 1 || !f.present) {
			tt_fail(err, TT_E_USAGE, "--%s: %s calendar '%s'", role,
			    f.matches > 1 ? "ambiguous" : "no such", tok);
			goto fail;
		}
		if (rs->editable_only && !f.can_edit) {
			tt_fail(err, TT_E_USAGE, "--push: calendar '%s' is not "
			    "writable", tok);
			goto fail;
		}
		rs->groups += f.group;
		if ((n = reallocarray(rs->ids, rs->n + 1,
		    sizeof(*rs->ids))) == NULL) {
			tt_fail(err, TT_E_INTERNAL, "out of memory");
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
	const char *want = conn_scopes(1);
	int rc;

	if (conn_personal(a))
		return tt_fail(err, TT_E_DATA, "profile %s is a personal "
		    "Microsoft account, which has no Microsoft 365 group "
		    "calendars", ctx->profile);
	if (graph_refresh(g, a->refresh_token, want, &t, &ge) != 0) {
		if (ge.cls != GRAPH_LOGIN)
			return conn_fail(err, ctx->profile, "asking for the "
			    "group permission", &ge);
		return tt_fail(err, TT_E_CONSENT, "profile %s: a group calendar "
		    "needs the Group.ReadWrite.All permission, which %s has not "
		    "been granted (%s).  Run `timetap-sync -s %s login --groups` "
		    "to consent, or have an administrator grant admin consent "
		    "for the app; the calendar roles are unchanged",
		    ctx->profile, a->upn, ge.code[0] ? ge.code : ge.msg,
		    ctx->profile);
	}
	if (t.scope != NULL && !conn_has_scope(t.scope, CONN_GROUP_SCOPE)) {
		graph_tokens_free(&t);
		return tt_fail(err, TT_E_CONSENT, "profile %s: the identity platform "
		    "did not grant Group.ReadWrite.All; have an administrator "
		    "grant admin consent for the app, or run `timetap-sync -s %s "
		    "login --groups`; the calendar roles are unchanged",
		    ctx->profile, ctx->profile);
	}
	rc = conn_use_tokens(&ctx->cn, g, profile, ctx->profile, &t, want, err);
	graph_tokens_free(&t);
	return rc;
}

int
calendars_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "pull", required_argument, NULL, O_PULL },
		{ "push", required_argument, NULL, O_PUSH },
		{ "json", no_argument, NULL, O_JSON },
		{ "cached", no_argument, NULL, O_CACHED },
		CMD_OPT_HELP,
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
	while ((c = cmd_getopt(ctx, argc, argv, "", opts, err)) != -1) {
		switch (c) {
		case O_PULL: pull = optarg; break;
		case O_PUSH: push = optarg; break;
		case O_JSON: json = 1; break;
		case O_CACHED: cached = 1; break;
		case CMD_HELPED: return 0;
		default: return -1;
		}
	}
	if (cmd_no_operand(ctx, argc, argv, err))
		return -1;
	if (cmd_open(ctx, err))
		return -1;
	r = store_profile(ctx->st, ctx->profile, 0, &profile, err);
	if (r > 0)
		r = store_account_get(ctx->st, profile, &a, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return tt_fail(err, TT_E_LOGIN, "profile %s is not connected",
		    ctx->profile);
	if ((lock = store_lock(ctx->dbpath, ctx->profile, err)) < 0)
		goto out;
	/* Refresh the list from the service unless asked not to. */
	if (!cached && (conn_graph(&ctx->cn, &g, err) ||
	    conn_token(&ctx->cn, g, profile, ctx->profile, 0, err) ||
	    conn_discover(&ctx->cn, g, profile, ctx->profile, conn_personal(&a), err)))
		goto out;
	if (pull || push) {
		ss.editable_only = 1;
		if ((pull && parse_cal_list(ctx, profile, pull, &ps, "pull",
		    err)) || (push && parse_cal_list(ctx, profile, push, &ss,
		    "push", err)))
			goto out;
		/* A group calendar chosen without the group permission: ask
		 * for it now, then name the groups it lets us read. */
		if (ps.groups + ss.groups > 0 && !conn_has_scope(a.scopes,
		    CONN_GROUP_SCOPE)) {
			if ((g == NULL && (conn_graph(&ctx->cn, &g, err) ||
			    conn_token(&ctx->cn, g, profile, ctx->profile, 0,
			    err))) || group_consent(ctx, g, profile, &a, err) ||
			    conn_discover(&ctx->cn, g, profile, ctx->profile, 0, err))
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
	cp.has_group_scope = conn_has_scope(a.scopes, CONN_GROUP_SCOPE);
	cp.name = tt_flex(CAL_FIXED, 30) * 70 / 100;
	if (json && (cp.json = json_array()) == NULL) {
		tt_fail(err, TT_E_INTERNAL, "out of memory");
		goto out;
	}
	if (store_calendar_list(ctx->st, profile, cal_print_cb, &cp, err))
		goto out;
	if (cp.failed) {
		tt_fail(err, TT_E_INTERNAL, "out of memory");
		goto out;
	}
	if (json) {
		rc = tt_json_print(cp.json, err);
		cp.json = NULL;
		goto out;
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
	int n, failed;
	int has_group_scope;
};

static int
status_cal_cb(void *arg, const struct calendar *c)
{
	struct status_cal *sc = arg;
	char *path;

	if (!c->present && !c->pull && !c->push)
		return 0;
	if (sc->json) {
		json_t *o = cal_json(c, sc->has_group_scope);

		if (o == NULL || json_object_set_new(o, "window_start",
		    tt_json_time(c->window_start)) != 0 ||
		    json_object_set_new(o, "window_end",
		    tt_json_time(c->window_end)) != 0 ||
		    json_array_append_new(sc->json, o) != 0)
			sc->failed = 1;
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
	int any, failed;
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
		/* The same keys for every profile, null where there is
		 * nothing to say. */
		sc.json = json_array();
		o = json_pack("{s:o, s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
		    "s:o}", "profile", tt_json_text(name),
		    "connected", connected,
		    "account", tt_json_text(connected ? a.upn : NULL),
		    "tenant", tt_json_text(connected ? a.tenant : NULL),
		    "cloud", tt_json_text(host),
		    "needs_login", tt_json_text(connected ? a.needs_login :
		    NULL),
		    "personal", connected ? json_boolean(conn_personal(&a)) :
		    json_null(),
		    "group_permission", connected ? json_boolean(conn_has_scope(
		    a.scopes, CONN_GROUP_SCOPE)) : json_null(),
		    "last_token_refresh", tt_json_time(connected ?
		    a.last_refresh : 0),
		    "access_token_expires", tt_json_time(connected ?
		    a.access_expires : 0));
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
	sc.has_group_scope = connected && conn_has_scope(a.scopes, CONN_GROUP_SCOPE);
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
		if (o == NULL || sc.json == NULL || sc.failed ||
		    json_object_set_new(o, "calendars", sc.json) != 0 ||
		    json_object_set_new(o, "last_pass", has_pass ?
		    tt_json_pass(&p) : json_null()) != 0 ||
		    json_array_append_new(ss->json, o) != 0)
			ss->failed = 1;
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
	static const struct option opts[] = {
		{ "json", no_argument, NULL, O_JSON },
		CMD_OPT_HELP,
		{ NULL, 0, NULL, 0 }
	};
	struct status_state ss = { ctx, NULL, 0, 0, err };
	int64_t profile;
	int c, r, json = 0;

	optind = 0;
	while ((c = cmd_getopt(ctx, argc, argv, "", opts, err)) != -1) {
		if (c == O_JSON)
			json = 1;
		else
			return c == CMD_HELPED ? 0 : -1;
	}
	if (cmd_no_operand(ctx, argc, argv, err))
		return -1;
	if (cmd_open(ctx, err))
		return -1;
	if (json)
		ss.json = json_array();
	err->code = 0;
	if (ctx->profile_given) {
		r = store_profile(ctx->st, ctx->profile, 0, &profile, err);
		if (r == 0)
			r = tt_fail(err, TT_E_DATA, "no profile %s", ctx->profile);
		if (r > 0)
			r = status_profile(&ss, profile, ctx->profile) ? -1 : 0;
	} else
		r = store_profiles(ctx->st, status_profile, &ss, err);
	if (r < 0 || err->code != 0) {
		json_decref(ss.json);
		return -1;
	}
	if (ss.failed) {
		json_decref(ss.json);
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	}
	if (json)
		return tt_json_print(ss.json, err);
	else if (!ss.any)
		printf("No profiles yet; run `timetap-sync login`.\n");
	return 0;
}


/* ------------------------------------------------------------- stop */

int
stop_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	struct stop_receipt r;
	struct account a = { 0 };
	int64_t profile;
	struct purge_result pu = { 0 };
	int c, yes = 0, purge = 0, purged = 0, found, lock, rc = -1;
	static const struct option opts[] = {
		{ "yes", no_argument, NULL, 'y' },
		{ "purge-remote", no_argument, NULL, O_PURGE },
		CMD_OPT_HELP,
		{ NULL, 0, NULL, 0 }
	};

	optind = 0;
	while ((c = cmd_getopt(ctx, argc, argv, "y", opts, err)) != -1) {
		if (c == 'y')
			yes = 1;
		else if (c == O_PURGE)
			purge = 1;
		else
			return c == CMD_HELPED ? 0 : -1;
	}
	if (cmd_no_operand(ctx, argc, argv, err))
		return -1;
	if (cmd_open(ctx, err))
		return -1;
	found = store_profile(ctx->st, ctx->profile, 0, &profile, err);
	if (found > 0)
		found = store_account_get(ctx->st, profile, &a, err);
	if (found < 0)
		return -1;
	if (found == 0)
		return tt_fail(err, TT_E_DATA, "profile %s is not connected; "
		    "nothing to stop", ctx->profile);
	if (!yes) {
		char q[512];

		snprintf(q, sizeof(q), "Stop syncing profile %s with %s? This "
		    "%sforgets the tokens and removes every [ext] block.",
		    ctx->profile, a.upn, purge ? "deletes every event it pushed "
		    "to Microsoft 365, " : "");
		if ((rc = cmd_confirm(q, "stop", err)) <= 0)
			goto out;
		rc = -1;
	}
	if ((lock = store_lock(ctx->dbpath, ctx->profile, err)) < 0)
		goto out;
	if (purge)
		purged = sync_purge(&ctx->cn, profile, ctx->profile,
		    conn_has_scope(a.scopes, CONN_GROUP_SCOPE), &pu) == 0;
	rc = store_stop(ctx->st, profile, &r, err);
	store_unlock(lock);
	if (rc != 0)
		goto out;
	cmd_say(ctx, "Stopped the sync of profile %s with %s.\n", ctx->profile, a.upn);
	cmd_say(ctx, "Removed %d [ext] block%s and %d feed entr%s; forgot the tokens "
	    "and %d calendar%s.\n", r.blocks, r.blocks == 1 ? "" : "s", r.feed,
	    r.feed == 1 ? "y" : "ies", r.calendars, r.calendars == 1 ? "" : "s");
	if (purge && purged)
		cmd_say(ctx, "Deleted %d pushed event%s from Microsoft 365.\n",
		    pu.deleted, pu.deleted == 1 ? "" : "s");
	else if (purge) {
		cmd_say(ctx, "Deleted %d pushed event%s; could not delete the rest "
		    "(%s).\n", pu.deleted, pu.deleted == 1 ? "" : "s", pu.why);
		if (pu.left[0])
			printf("Left on Microsoft 365: %s. Delete them in Outlook "
			    "or Teams.\n", pu.left);
		/* Cleared locally all the same; the exit status says: 77
		 * when the login is gone, else 75. */
		tt_fail(err, pu.code == TT_E_LOGIN ? TT_E_LOGIN : TT_E_LATER,
		    "stop: profile %s: pushed events remain on Microsoft 365 "
		    "(%s)", ctx->profile, pu.why);
		rc = -1;
	} else if (r.pushed > 0)
		cmd_say(ctx, "%d pushed event%s on the Microsoft 365 calendars "
		    "(stop --purge-remote deletes them).\n", r.pushed,
		    r.pushed == 1 ? " stays" : "s stay");
	cmd_say(ctx, "To withdraw the app's access entirely, remove it at "
	    "https://myapps.microsoft.com (work or school) or "
	    "https://account.live.com/consent/Manage (personal).\n");
out:
	store_account_free(&a);
	return rc;
}
