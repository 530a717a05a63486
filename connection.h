/* SPDX-License-Identifier: ISC */
/*
 * connection.h -- a profile's connection to Microsoft 365 (core: no
 * options, no terminal): the Graph handle, a valid access token, the
 * calendars discovered, and the non-terminal parts of a sign-in.
 *
 * Errors: -1 with err filled (code: an enum tt_errc, a Graph error's by
 * graph_errc; the message names the profile and the step and gives no
 * advice: the edge adds it).  Strings returned are the caller's.
 */
#ifndef TT_CONNECTION_H
#define TT_CONNECTION_H

#include <stdint.h>

#include "graph.h"
#include "store.h"
#include "util.h"

/* offline_access on every request: without it a refresh returns no new
 * refresh token (entra-docs v2-oauth2-auth-code-flow).  openid brings the
 * id_token whose tenant tells a personal account from a work account;
 * MailboxSettings.Read the mailbox's time zone (the days of all-day
 * events). */
#define CONN_ZONE_SCOPE "MailboxSettings.Read"
#define CONN_BASE_SCOPES "offline_access openid profile User.Read " \
	"Calendars.ReadWrite " CONN_ZONE_SCOPE
/* Group (Teams) calendars: needs an administrator's consent. */
#define CONN_GROUP_SCOPE "Group.ReadWrite.All"

/* What a connection works with: the service's settings (hosts, client
 * id, timeouts: the configuration's, filled in by the edge), the store,
 * and where a warning goes (one line; warn may be NULL). */
struct conn {
	struct graph_settings gs;
	struct store *st;
	/* Where the tokens are read and saved, when not st: the real store
	 * of a pass run on a copy (sync --dry-run), because the service
	 * rotates refresh tokens and losing the new one logs the user out. */
	struct store *token_st;
	void (*warn)(void *arg, const char *msg);
	void *arg;
};

/* Whether a space-separated scope list holds `want` (without case; a
 * resource prefix "https://graph.microsoft.com/" is allowed). */
int conn_has_scope(const char *scopes, const char *want);
/* The scopes to ask for: the base set, with the group permission when
 * the account holds it or wants it. */
const char *conn_scopes(int group);
/* Whether the account is a personal Microsoft account (no groups, no
 * Teams meetings). */
int conn_personal(const struct account *a);

/* A Graph handle with the connection's settings (new; graph_free it). */
int conn_graph(const struct conn *cn, struct graph **g, struct tt_err *err);
/* Give g a valid access token for the profile, refreshing when due, or
 * now when `force` (the service refused the token it had). */
int conn_token(const struct conn *cn, struct graph *g, int64_t profile,
    const char *name, int force, struct tt_err *err);
/* Commit a token response (the scopes held, NULL: unchanged), then use
 * its access token. */
int conn_use_tokens(const struct conn *cn, struct graph *g, int64_t profile,
    const char *name, const struct graph_tokens *t, const char *scopes,
    struct tt_err *err);
/* Read the calendars into the store: the user's own and shared ones, then
 * the groups' (not for a personal account); a refused token is refreshed
 * once; a failed group listing is a warning and keeps the group rows. */
int conn_discover(const struct conn *cn, struct graph *g, int64_t profile,
    const char *name, int personal, struct tt_err *err);

/* Fill err from a Graph error: its code (graph_errc), the profile and
 * the step named. */
int conn_fail(struct tt_err *err, const char *profile, const char *step,
    const struct graph_err *ge);

/* A PKCE verifier and its S256 challenge (base64url, NUL-terminated). */
void conn_pkce(char verifier[64], char challenge[64]);
/* A random sign-in state (base64url, NUL-terminated). */
void conn_state(char state[64]);
/* Listen on 127.0.0.1, a port the system picks: the descriptor, or -1. */
int conn_listen(int *port, struct tt_err *err);
/* Read one request head of the browser (conn_await_code's part): 1 when
 * it is not the redirect (answered 404), 0 with *code (new) when it
 * carries `state` and a code, -1 with err when it refuses or is wrong. */
int conn_redirect(const char *req, const char *state, char **code,
    struct tt_err *err);
/* Wait (at most 300 s) for the browser's redirect carrying `state` and a
 * code; *code is new.  Other requests get a 404 and the wait goes on. */
int conn_await_code(int lfd, const char *state, char **code,
    struct tt_err *err);

#endif
