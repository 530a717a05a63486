/* SPDX-License-Identifier: ISC */
/*
 * cmd_profiles.c -- the profiles command: list the staff profiles of the
 * database (account, calendars, book, last pass), add one without a login,
 * remove one that is no longer connected.  A profile is otherwise created
 * only by `login` (and "default" by the first `appt add`), never by a
 * mistyped -s.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

struct list {
	json_t *json;
	int n, failed;
	int name;		/* the PROFILE column's width */
};

/* The table: CALENDARS, BOOKED, BLOCKS and LAST PASS fixed; PROFILE takes
 * 40% of the rest (at most 20), ACCOUNT what is left ("unfinished" may
 * pass the edge). */
#define PROF_FIXED	(2 + 19 + 7 + 7 + 2 + 24)

static int
list_cb(void *arg, const struct profile_row *r)
{
	struct list *l = arg;
	char when[32] = "never", cals[48], *acct;

	if (r->last_pass != 0)
		tt_fmt_local(r->last_pass, when, sizeof(when));
	if (l->json != NULL) {
		json_t *o = json_pack("{s:o, s:b, s:o, s:i, s:i, s:i, s:i, s:i, "
		    "s:o, s:o}", "profile", tt_json_text(r->name),
		    "connected", r->account != NULL,
		    "account", tt_json_text(r->account),
		    "calendars", r->calendars, "pull", r->pull, "push", r->push,
		    "booked", r->booked, "blocks", r->blocks,
		    "last_pass_at", tt_json_time(r->last_pass),
		    "last_exit_code", r->last_exit >= 0 ?
		    json_integer(r->last_exit) : json_null());

		if (o == NULL || json_array_append_new(l->json, o) != 0)
			return l->failed = 1;
		return 0;
	}
	if (l->n++ == 0) {
		tt_cell(stdout, "PROFILE", l->name);
		putchar(' ');
		tt_cell(stdout, "ACCOUNT", tt_flex(PROF_FIXED + l->name, 12));
		printf(" %-18s %6s %6s  %s\n", "CALENDARS", "BOOKED", "BLOCKS",
		    "LAST PASS");
	}
	snprintf(cals, sizeof(cals), "%d (%d pull, %d push)", r->calendars,
	    r->pull, r->push);
	tt_cell(stdout, r->name, l->name);
	putchar(' ');
	acct = tt_sanitize_dup(r->account ? r->account : "(not connected)");
	tt_cell(stdout, acct ? acct : "?", tt_flex(PROF_FIXED + l->name, 12));
	free(acct);
	printf(" %-18s %6d %6d  %s", cals, r->booked, r->blocks, when);
	if (r->last_pass != 0)
		printf(r->last_exit == 0 ? " ok" : r->last_exit < 0 ?
		    " unfinished" : " exit %d", r->last_exit);
	putchar('\n');
	return 0;
}

/* One profile's row, by name (its strings are not kept). */
struct find {
	const char *name;
	int found, connected;
	int64_t id;
	int booked, blocks;
};

static int
find_cb(void *arg, const struct profile_row *r)
{
	struct find *f = arg;

	if (strcmp(r->name, f->name) != 0)
		return 0;
	f->found = 1;
	f->connected = r->account != NULL;
	f->id = r->id;
	f->booked = r->booked;
	f->blocks = r->blocks;
	return 1;
}

static int
profiles_remove(struct tt_ctx *ctx, const char *name, int yes,
    struct tt_err *err)
{
	struct find f = { name, 0, 0, 0, 0, 0 };
	char q[256];
	int lock, rc;

	if (store_profile_rows(ctx->st, find_cb, &f, err))
		return -1;
	if (!f.found)
		return tt_fail(err, TT_E_DATA, "profiles remove: no profile "
		    "%s (`timetap-sync profiles` lists them)", name);
	if (f.connected)
		return tt_fail(err, TT_E_DATA, "profiles remove: profile %s is "
		    "connected; run `timetap-sync -s %s stop` first", name, name);
	snprintf(q, sizeof(q), "Remove profile %s with its %d booked "
	    "appointment%s and %d block%s?", name, f.booked,
	    f.booked == 1 ? "" : "s", f.blocks, f.blocks == 1 ? "" : "s");
	if (!yes && (rc = cmd_confirm(q, "profiles remove", err)) <= 0)
		return rc;
	if ((lock = store_lock(ctx->dbpath, name, err)) < 0)
		return -1;
	rc = store_profile_remove(ctx->st, f.id, err);
	store_unlock(lock);
	return rc;
}

enum { O_JSON = CMD_LONG };

int
profiles_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "yes", no_argument, NULL, 'y' },
		CMD_OPT_HELP,
		{ NULL, 0, NULL, 0 }
	};
	struct list l = { NULL, 0, 0, 0 };
	int c, json = 0, yes = 0;
	int64_t id;

	optind = 0;
	while ((c = cmd_getopt(ctx, argc, argv, "y", opts, err)) != -1) {
		if (c == O_JSON)
			json = 1;
		else if (c == 'y')
			yes = 1;
		else
			return c == CMD_HELPED ? 0 : -1;
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		if (yes)
			return cmd_bad(ctx, err, "profiles: -y is for "
			    "remove");
		if (cmd_open(ctx, err))
			return -1;
		if (json && (l.json = json_array()) == NULL)
			return tt_fail(err, TT_E_INTERNAL, "out of memory");
		l.name = tt_flex(PROF_FIXED, 20) * 40 / 100;
		if (l.name > 20)
			l.name = 20;
		if (store_profile_rows(ctx->st, list_cb, &l, err) ||
		    (l.failed && tt_fail(err, TT_E_INTERNAL, "out of memory"))) {
			json_decref(l.json);
			return -1;
		}
		if (json)
			return tt_json_print(l.json, err);
		else if (l.n == 0)
			printf("No profiles yet; run `timetap-sync login`.\n");
		return 0;
	}
	if (json || argc != 2 || (strcmp(argv[0], "add") != 0 &&
	    strcmp(argv[0], "remove") != 0))
		return cmd_bad(ctx, err, "profiles: expected nothing, "
		    "--json, add NAME or remove NAME");
	if (!cmd_profile_name_ok(argv[1]))
		return tt_fail(err, TT_E_USAGE, "bad staff profile name '%s' "
		    "(letters, digits, . _ - @; up to 64)", argv[1]);
	if (strcmp(argv[0], "add") == 0 && yes)
		return cmd_bad(ctx, err, "profiles add: -y is for remove");
	if (cmd_open(ctx, err))
		return -1;
	if (strcmp(argv[0], "remove") == 0)
		return profiles_remove(ctx, argv[1], yes, err);
	if (store_profile(ctx->st, argv[1], 0, &id, err) != 0)
		return tt_fail(err, TT_E_DATA, "profiles add: profile %s "
		    "exists already", argv[1]);
	return store_profile(ctx->st, argv[1], 1, &id, err) < 0 ? -1 : 0;
}
