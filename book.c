/* SPDX-License-Identifier: ISC */
/*
 * book.c -- the appointment book commands: appt add|list|show|edit|cancel.
 *
 * Booked appointments belong to the user; [ext] items are blocks pulled
 * from an external calendar and are read-only here.  Overlaps are refused
 * unless --force.  No state of its own: everything is in the store.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd.h"

#define SUBJECT_MAX 255
#define CLIENT_MAX 255

enum { O_START = CMD_LONG, O_END, O_SUBJECT, O_CLIENT, O_ONLINE, O_NOONLINE,
    O_FORCE, O_JSON, O_FROM, O_TO };

/* In the order of the enum: appt_opts[c - O_START] is option c. */
static const struct option appt_opts[] = {
	{ "start", required_argument, NULL, O_START },
	{ "end", required_argument, NULL, O_END },
	{ "subject", required_argument, NULL, O_SUBJECT },
	{ "client", required_argument, NULL, O_CLIENT },
	{ "online", no_argument, NULL, O_ONLINE },
	{ "no-online", no_argument, NULL, O_NOONLINE },
	{ "force", no_argument, NULL, O_FORCE },
	{ "json", no_argument, NULL, O_JSON },
	{ "from", required_argument, NULL, O_FROM },
	{ "to", required_argument, NULL, O_TO },
	CMD_OPT_HELP,
	{ NULL, 0, NULL, 0 }
};

/* What each subcommand accepts, checked after getopt. */
struct appt_args {
	const char *start, *end, *subject, *client, *from, *to;
	int online;		/* -1 unchanged, 0, 1 */
	int force, json;
	unsigned given;		/* bit per option seen */
};

static int
text_ok(const char *what, const char *v, size_t max, int empty_ok,
    struct tt_err *err)
{
	const unsigned char *p;

	if (!empty_ok && *v == '\0')
		return tt_fail(err, TT_E_USAGE, "%s must not be empty", what);
	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return tt_fail(err, TT_E_USAGE, "%s contains control "
			    "characters", what);
	/* Graph takes UTF-8 only: text typed in another charset (a Latin-1
	 * terminal) is refused here rather than failing every pass. */
	if (!tt_utf8_valid(v))
		return tt_fail(err, TT_E_USAGE, "%s is not valid UTF-8 (set the "
		    "terminal to UTF-8, or convert it)", what);
	/* Outlook's limit, in its characters (UTF-16 units). */
	if (tt_utf16_units(v) > max)
		return tt_fail(err, TT_E_USAGE, "%s is longer than %zu "
		    "characters", what, max);
	return 0;
}

/*
 * The subcommand's options: 0, 1 after its help (-h, --help), or -1 with
 * err.  The values are checked here too (times, text), so that nothing is
 * opened before the whole command line is known good.
 */
static int
parse_args(struct tt_ctx *ctx, int argc, char **argv, unsigned allowed,
    struct appt_args *a, struct tt_err *err)
{
	tt_time t;
	int c;

	memset(a, 0, sizeof(*a));
	a->online = -1;
	optind = 0;
	while ((c = cmd_getopt(ctx, argc, argv, "", appt_opts, err)) != -1) {
		if (c == CMD_HELPED)
			return 1;
		if (c == CMD_BAD)
			return -1;
		if (!(allowed & (1u << (c - O_START))))
			return cmd_bad(ctx, err, "%s does not take '--%s'",
			    ctx->usage_of, appt_opts[c - O_START].name);
		a->given |= 1u << (c - O_START);
		switch (c) {
		case O_START: a->start = optarg; break;
		case O_END: a->end = optarg; break;
		case O_SUBJECT: a->subject = optarg; break;
		case O_CLIENT: a->client = optarg; break;
		case O_ONLINE: a->online = 1; break;
		case O_NOONLINE: a->online = 0; break;
		case O_FORCE: a->force = 1; break;
		case O_JSON: a->json = 1; break;
		case O_FROM: a->from = optarg; break;
		case O_TO: a->to = optarg; break;
		}
	}
	if ((a->given & (1u << (O_ONLINE - O_START))) &&
	    (a->given & (1u << (O_NOONLINE - O_START))))
		return cmd_bad(ctx, err, "%s: --online and --no-online "
		    "exclude each other", ctx->usage_of);
	if ((a->start && tt_parse_time(a->start, &t, err)) ||
	    (a->end && tt_parse_time(a->end, &t, err)) ||
	    (a->from && tt_parse_time(a->from, &t, err)) ||
	    (a->to && tt_parse_time(a->to, &t, err)) ||
	    (a->subject && text_ok("subject", a->subject, SUBJECT_MAX, 0,
	    err)) ||
	    (a->client && text_ok("client", a->client, CLIENT_MAX, 1, err)))
		return -1;
	return 0;
}

#define BIT(o) (1u << ((o) - O_START))

static int
get_id(struct tt_ctx *ctx, int argc, char **argv, int64_t *id,
    struct tt_err *err)
{
	char *end;
	long long v;

	if (optind != argc - 1)
		return cmd_bad(ctx, err, "appt %s: expected one "
		    "appointment ID", argv[0]);
	v = strtoll(argv[optind], &end, 10);
	if (end == argv[optind] || *end != '\0' || v <= 0)
		return tt_fail(err, TT_E_USAGE, "appt %s: '%s' is not an "
		    "appointment ID", argv[0], argv[optind]);
	*id = v;
	return 0;
}

/* Refuse an overlap with a live item unless forced; names the conflict. */
static int
check_overlap(struct tt_ctx *ctx, const struct appt *a, int force,
    struct tt_err *err)
{
	struct appt c;
	char s[32], e[32];
	int r;

	if (force)
		return 0;
	r = store_appt_conflict(ctx->st, a->profile_id, a->start, a->end, a->id,
	    &c, err);
	if (r <= 0)
		return r;
	tt_fail(err, TT_E_DATA, "overlaps %s%" PRId64 " \"%s\" %s to %s; "
	    "use --force to book anyway", c.ext ? "[ext] " : "appointment ",
	    c.id, c.subject, tt_fmt_local(c.start, s, sizeof(s)),
	    tt_fmt_local(c.end, e, sizeof(e)));
	store_appt_free(&c);
	return -1;
}

static int
fill_times(const struct appt_args *args, struct appt *a, struct tt_err *err)
{
	if (args->start && tt_parse_time(args->start, &a->start, err))
		return -1;
	if (args->end && tt_parse_time(args->end, &a->end, err))
		return -1;
	if (a->end <= a->start)
		return tt_fail(err, TT_E_USAGE, "the end must be after the start");
	return 0;
}

/* Personal Microsoft accounts cannot create Teams meetings: an online
 * appointment for such a profile is refused, not pushed without its link. */
static int
online_ok(struct tt_ctx *ctx, int64_t profile, struct tt_err *err)
{
	struct account acc = { 0 };
	int r = store_account_get(ctx->st, profile, &acc, err), personal;

	personal = r > 0 && conn_personal(&acc);
	store_account_free(&acc);
	if (r < 0)
		return -1;
	if (personal)
		return tt_fail(err, TT_E_DATA, "--online: profile %s is "
		    "connected to a personal Microsoft account, which cannot "
		    "create Teams meetings; book it without --online",
		    ctx->profile);
	return 0;
}

static int
appt_add(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	struct appt_args args;
	struct appt a = { 0 };
	int64_t id;
	int r;

	if ((r = parse_args(ctx, argc, argv, BIT(O_START) | BIT(O_END) |
	    BIT(O_SUBJECT) | BIT(O_CLIENT) | BIT(O_ONLINE) | BIT(O_FORCE),
	    &args, err)) != 0)
		return r < 0 ? -1 : 0;
	if (cmd_no_operand(ctx, argc, argv, err))
		return -1;
	if (!args.start || !args.end || !args.subject)
		return cmd_bad(ctx, err, "appt add needs --start, --end "
		    "and --subject");
	if (fill_times(&args, &a, err) || cmd_open(ctx, err))
		return -1;
	/* Only the default profile comes by itself: a mistyped -s must not
	 * make a profile that is never synced. */
	if ((r = cmd_profile(ctx, &a.profile_id, err)) == 0)
		r = store_profile(ctx->st, ctx->profile, 1, &a.profile_id, err);
	if (r < 0)
		return -1;
	a.subject = strdup(args.subject);
	a.client = args.client && *args.client ? strdup(args.client) : NULL;
	a.online = args.online == 1;
	/* Booked over a block with --force: the user chose the conflict,
	 * which no pass tells then (store_conflicts_accept). */
	if ((a.online && online_ok(ctx, a.profile_id, err)) ||
	    check_overlap(ctx, &a, args.force, err) ||
	    store_appt_add(ctx->st, &a, &id, err) ||
	    (args.force && store_conflicts_accept(ctx->st, a.profile_id, id,
	    NULL, err))) {
		store_appt_free(&a);
		return -1;
	}
	store_appt_free(&a);
	printf("%" PRId64 "\n", id);
	return 0;
}

/* Look up an item for edit/cancel; refuses [ext] items. */
static int
load_own(struct tt_ctx *ctx, const char *verb, int64_t id, struct appt *a,
    struct tt_err *err)
{
	int64_t profile;
	int r;

	r = cmd_profile(ctx, &profile, err);
	if (r > 0)
		r = store_appt_get(ctx->st, profile, id, a, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return tt_fail(err, TT_E_DATA, "no appointment %" PRId64
		    " for profile %s", id, ctx->profile);
	if (a->ext) {
		tt_fail(err, TT_E_DATA, "cannot %s %" PRId64 ": it comes from "
		    "an external calendar (%s) and must be changed there, in "
		    "Outlook or Teams", verb, id, a->calendar ? a->calendar : "?");
		store_appt_free(a);
		return -1;
	}
	return 0;
}

static int
appt_edit(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	struct appt_args args;
	struct appt a;
	int64_t id;
	int rc = -1;

	if ((rc = parse_args(ctx, argc, argv, BIT(O_START) | BIT(O_END) |
	    BIT(O_SUBJECT) | BIT(O_CLIENT) | BIT(O_ONLINE) | BIT(O_NOONLINE) |
	    BIT(O_FORCE), &args, err)) != 0)
		return rc < 0 ? -1 : 0;
	rc = -1;
	if (get_id(ctx, argc, argv, &id, err))
		return -1;
	if (!(args.given & ~BIT(O_FORCE)))
		return cmd_bad(ctx, err, "appt edit: nothing to change");
	if (cmd_open(ctx, err) || load_own(ctx, "edit", id, &a, err))
		return -1;
	if (a.cancelled) {
		tt_fail(err, TT_E_DATA, "appointment %" PRId64 " is cancelled",
		    id);
		goto out;
	}
	if (fill_times(&args, &a, err))
		goto out;
	if (args.subject) {
		free(a.subject);
		a.subject = strdup(args.subject);
	}
	if (args.client) {
		free(a.client);
		a.client = *args.client ? strdup(args.client) : NULL;
	}
	if (args.online >= 0)
		a.online = args.online;
	if (args.online == 1 && online_ok(ctx, a.profile_id, err))
		goto out;
	/* Only new times can make a new overlap: an edit of the text or of
	 * --online leaves the slot as it was booked. */
	if (((args.given & (BIT(O_START) | BIT(O_END))) == 0 ||
	    check_overlap(ctx, &a, args.force, err) == 0) &&
	    store_appt_update(ctx->st, &a, err) == 0 && (!args.force ||
	    store_conflicts_accept(ctx->st, a.profile_id, id, NULL, err) == 0))
		rc = 0;
out:
	store_appt_free(&a);
	return rc;
}

static int
appt_cancel(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	struct appt_args args;
	struct appt a;
	int64_t id;
	int rc;

	if ((rc = parse_args(ctx, argc, argv, 0, &args, err)) != 0)
		return rc < 0 ? -1 : 0;
	if (get_id(ctx, argc, argv, &id, err) || cmd_open(ctx, err) ||
	    load_own(ctx, "cancel", id, &a, err))
		return -1;
	rc = store_appt_cancel(ctx->st, a.profile_id, id, err);
	store_appt_free(&a);
	return rc;
}

/* One line of `appt show`: stored text, sanitised whole. */
static void
show(const char *label, const char *text, const char *tail)
{
	char *clean = tt_sanitize_dup(text);

	printf("%s%s%s\n", label, clean ? clean : "?", tail);
	free(clean);
}

/* One push calendar of an appointment, for appt show. */
struct push_print {
	json_t *json;		/* --json: the array */
	int n, failed;
};

static int
push_row(void *arg, const struct appt_push *p)
{
	struct push_print *pp = arg;
	char when[32];

	if (pp->json != NULL) {
		json_t *o = json_pack("{s:o, s:o, s:o, s:s, s:o, s:b}",
		    "calendar", tt_json_text(p->calendar),
		    "calendar_id", tt_json_text(p->calendar_id),
		    "event_id", tt_json_text(p->event_id),
		    "state", p->state,
		    "pushed_at", tt_json_time(p->pushed_at),
		    "push", p->push);

		if (o == NULL || json_array_append_new(pp->json, o) != 0)
			return pp->failed = 1;
		return 0;
	}
	show(pp->n++ ? "          " : "Pushed:   ", p->calendar, "");
	printf("            state %s%s%s%s\n", p->state, p->pushed_at ?
	    ", created " : "", p->pushed_at ? tt_fmt_local(p->pushed_at, when,
	    sizeof(when)) : "", p->push ? "" : " (no longer a push calendar: "
	    "the next pass deletes it)");
	show("            event ", p->event_id ? p->event_id : "-", "");
	show("            calendar id ", p->calendar_id, "");
	return 0;
}

/* Where a booked appointment is pushed: an array (--json) or lines. */
static int
appt_pushes(struct tt_ctx *ctx, const struct appt *a, json_t **json,
    struct tt_err *err)
{
	struct push_print pp = { NULL, 0, 0 };

	if (json != NULL && (*json = pp.json = json_array()) == NULL)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	if (a->ext)	/* a block of an external calendar is never pushed */
		return 0;
	if (store_appt_pushes(ctx->st, a->profile_id, a->id, push_row, &pp,
	    err))
		return -1;
	if (pp.failed)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	if (json == NULL && pp.n == 0)
		printf("Pushed:   nowhere (the profile has no push calendar)\n");
	return 0;
}

static json_t *
appt_json(const struct appt *a)
{
	return json_pack("{s:I, s:s, s:b, s:s, s:o, s:o, s:o, s:o, s:b, "
	    "s:b, s:o, s:o, s:o, s:o, s:o}",
	    "appointment_id", (json_int_t)a->id,
	    "kind", a->ext ? "ext" : "booked",
	    "ext", a->ext,
	    "status", a->cancelled ? "cancelled" : "booked",
	    "starts_at", tt_json_time(a->start),
	    "ends_at", tt_json_time(a->end),
	    "subject", tt_json_text(a->subject),
	    "client", tt_json_text(a->client),
	    "all_day", a->all_day,
	    "online", a->online,
	    "join_url", tt_json_text(a->join_url),
	    "calendar", tt_json_text(a->calendar),
	    "calendar_id", tt_json_text(a->calendar_id),
	    "event_id", tt_json_text(a->event_id),
	    "updated_at", tt_json_time(a->updated));
}

struct list_state {
	json_t *array;		/* --json */
	int rows, failed;
	int subject;		/* the Subject column's width */
};

/* appt list's columns: ID, Starts at, Ends at fixed; Subject and Client
 * share what is left, Client (the last) not padded. */
#define LIST_FIXED	(7 + 17 + 17 + 1)

static int
list_row(void *arg, const struct appt *a)
{
	struct list_state *ls = arg;
	char s[32], e[32], *subj = NULL, *clean;

	if (ls->array != NULL) {
		json_t *o = appt_json(a);

		if (o == NULL || json_array_append_new(ls->array, o) != 0)
			return ls->failed = 1;
		return 0;
	}
	if (ls->rows++ == 0) {
		printf("%-6s %-16s %-16s ", "ID", "Starts at", "Ends at");
		tt_cell(stdout, "Subject", ls->subject);
		printf(" Client\n");
	}
	printf("%-6" PRId64 " %-16s %-16s ", a->id,
	    tt_fmt_local(a->start, s, sizeof(s)),
	    tt_fmt_local(a->end, e, sizeof(e)));
	if (asprintf(&subj, "%s%s%s", a->ext ? "[ext] " : "",
	    a->online ? "(online) " : "", a->subject) < 0)
		subj = NULL;
	clean = tt_sanitize_dup(subj ? subj : "");
	tt_cell(stdout, clean ? clean : "", ls->subject);
	free(clean);
	free(subj);
	clean = tt_sanitize_dup(a->client ? a->client : "");
	putchar(' ');
	tt_last(stdout, clean ? clean : "", LIST_FIXED + ls->subject);
	free(clean);
	putchar('\n');
	return 0;
}

static int
appt_list(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	struct appt_args args;
	struct list_state ls = { 0 };
	tt_time from, to = INT64_MAX;
	int64_t profile;
	int r, y, m, d;
	char today[32];

	if ((r = parse_args(ctx, argc, argv, BIT(O_FROM) | BIT(O_TO) |
	    BIT(O_JSON), &args, err)) != 0)
		return r < 0 ? -1 : 0;
	if (cmd_no_operand(ctx, argc, argv, err))
		return -1;
	/* Default: from the start of today, local time. */
	tt_fmt_local(tt_now(), today, sizeof(today));
	tt_parse_date(today, &y, &m, &d);
	from = tt_local_midnight(y, m, d);
	if ((args.from && tt_parse_time(args.from, &from, err)) ||
	    (args.to && tt_parse_time(args.to, &to, err)))
		return -1;
	if (to <= from)
		return tt_fail(err, TT_E_USAGE, "--to must be after --from");
	if (cmd_open(ctx, err))
		return -1;
	if (args.json && (ls.array = json_array()) == NULL)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	ls.subject = tt_flex(LIST_FIXED, 24) * 65 / 100;
	r = cmd_profile(ctx, &profile, err);
	if (r > 0)
		r = store_appt_list(ctx->st, profile, from, to, list_row, &ls,
		    err) ? -1 : ls.failed ? tt_fail(err, TT_E_INTERNAL, "out of "
		    "memory") : 1;
	if (r < 0) {
		json_decref(ls.array);
		return -1;
	}
	if (args.json)
		return tt_json_print(ls.array, err);
	return 0;
}

static int
appt_show(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	struct appt_args args;
	struct appt a;
	int64_t id, profile;
	char s[32], e[32];
	int r;

	if ((r = parse_args(ctx, argc, argv, BIT(O_JSON), &args, err)) != 0)
		return r < 0 ? -1 : 0;
	if (get_id(ctx, argc, argv, &id, err) || cmd_open(ctx, err))
		return -1;
	r = cmd_profile(ctx, &profile, err);
	if (r > 0)
		r = store_appt_get(ctx->st, profile, id, &a, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return tt_fail(err, TT_E_DATA, "no appointment %" PRId64
		    " for profile %s", id, ctx->profile);
	if (args.json) {
		json_t *o = appt_json(&a), *pushes = NULL;

		if (o == NULL || appt_pushes(ctx, &a, &pushes, err) ||
		    json_object_set_new(o, "pushes", pushes) != 0) {
			json_decref(o);
			store_appt_free(&a);
			return err->code ? -1 : tt_fail(err, TT_E_INTERNAL,
			    "out of memory");
		}
		store_appt_free(&a);
		return tt_json_print(o, err);
	}
	printf("ID:       %" PRId64 "%s\n", a.id, a.ext ? " [ext]" : "");
	if (a.ext)
		show("Source:   external calendar \"", a.calendar ? a.calendar :
		    "?", "\" (read-only here; change it in Outlook or Teams)");
	printf("Status:   %s\n", a.cancelled ? "cancelled" : "booked");
	printf("Starts:   %s\n", tt_fmt_local(a.start, s, sizeof(s)));
	printf("Ends:     %s\n", tt_fmt_local(a.end, e, sizeof(e)));
	show("Subject:  ", a.subject, "");
	if (a.client)
		show("Client:   ", a.client, "");
	if (a.online)
		show("Online:   ", a.join_url ? a.join_url : "yes (Teams link "
		    "after the next sync)", "");
	if (a.ext && a.remote_modified)
		show("Updated:  in Teams ", a.remote_modified, "");
	r = appt_pushes(ctx, &a, NULL, err);
	store_appt_free(&a);
	return r;
}

int
book_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct {
		const char *name, *full;
		int (*fn)(struct tt_ctx *, int, char **, struct tt_err *);
	} subs[] = {
		{ "add", "appt add", appt_add },
		{ "list", "appt list", appt_list },
		{ "show", "appt show", appt_show },
		{ "edit", "appt edit", appt_edit },
		{ "cancel", "appt cancel", appt_cancel },
	};
	size_t i;

	if (argc < 1)
		return cmd_bad(ctx, err, "appt: expected add, list, show, "
		    "edit or cancel");
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)
		return cmd_help(stdout, "appt");
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[0], subs[i].name) == 0)
			break;
	if (i == sizeof(subs) / sizeof(subs[0]))
		return cmd_bad(ctx, err, "appt: unknown subcommand '%s'",
		    argv[0]);
	ctx->usage_of = subs[i].full;	/* the help's and the messages' */
	return subs[i].fn(ctx, argc, argv, err);
}
