/*
 * usage.c -- the words of the usage: each command's synopsis and help,
 * said once here.  `timetap-sync --help` and `help` list every synopsis,
 * `help CMD` and `CMD --help` print one command's help, and a usage
 * error ends with the command's synopsis line.  The options a command
 * parses are in its own file; its help here says what they mean.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const char global_synopsis[] =
    "[-f db] [-c config] [-s staff] [-v | -q] [command [args]]";

static const struct {
	const char *name;	/* "sync", "appt add" */
	const char *args;	/* the synopsis after the name */
	const char *text;	/* what it does, then its options */
} helps[] = {
	{ "sync", "[-n | --dry-run] [--force] [--shard K/N] [--jobs N] [--json]",
	  "One pass for the profile given with -s, or for every connected\n"
	  "profile: pull the busy events as [ext] blocks, push the booked\n"
	  "appointments.  The default command.  Prints nothing on success;\n"
	  "a new conflict (a block over a booked appointment) is one line on\n"
	  "stderr, also with -q, and exit 2.\n"
	  "  -n, --dry-run  read as a pass does, save and send nothing, print\n"
	  "                 the plan: blocks to add, change, remove, events to\n"
	  "                 create, update, set back, delete; exit 1 when it\n"
	  "                 is not empty (not with --jobs)\n"
	  "  --force        accept removing more than max_removals allows\n"
	  "  --shard K/N    only the profiles of shard K of N (not with -s)\n"
	  "  --jobs N       N profiles at a time, 1 to 64 (not with -s)\n"
	  "  --json         print a summary of the pass per profile as JSON\n" },
	{ "feed", "[-n N | --all] [--json]",
	  "What the passes did with every pulled item, newest first: loaded\n"
	  "as a block, or why not.\n"
	  "  -n N         the newest N rows (default 20)\n"
	  "  --all        every row\n"
	  "  --json       as JSON\n" },
	{ "conflicts", "[--json]",
	  "The open conflicts: booked appointments under an [ext] block (a\n"
	  "meeting added in Outlook or Teams over them), with the block and\n"
	  "when a pass told it.  Exits 0, also when there are some.\n"
	  "  --json       as JSON\n" },
	{ "explain", "TIME [--duration D] [--json]",
	  "Whether the slot from TIME is bookable, and why not: the\n"
	  "appointments and [ext] blocks covering it, then the events there\n"
	  "that do not block, with the reason.  Exits 0 when it is bookable,\n"
	  "1 when it is not.\n"
	  "  --duration D the slot's length: 30, 45m, 2h, 1h30m (default 30m)\n"
	  "  --json       as JSON\n" },
	{ "login", "[--browser | --device-code] [--groups] [--switch-account]",
	  "Connect a Microsoft account to the profile, then discover its\n"
	  "calendars.\n"
	  "  --browser         sign in through a browser (the default)\n"
	  "  --device-code     print a code to enter on any device (headless)\n"
	  "  --groups          ask for the group (Teams) calendar permission\n"
	  "  --switch-account  allow another account than the profile holds\n" },
	{ "calendars", "[--pull ID,...] [--push ID,...] [--cached] [--json]",
	  "List the calendars the account can reach, with their roles; with\n"
	  "--pull or --push, set the roles (the numbers in the first column).\n"
	  "  --pull ID,...  the calendars whose busy events become blocks\n"
	  "  --push ID,...  the calendars booked appointments go to\n"
	  "  --cached       list what the last discovery found, offline\n"
	  "  --json         as JSON\n" },
	{ "status", "[--json]",
	  "Each profile: account, calendars and roles, the last pass, token\n"
	  "health.\n"
	  "  --json       as JSON\n" },
	{ "stop", "[-y] [--purge-remote]",
	  "Disconnect the profile: forget its tokens, remove its [ext] blocks\n"
	  "and its sync state; the book keeps the booked appointments.\n"
	  "  -y, --yes       do not ask for confirmation\n"
	  "  --purge-remote  first delete every event pushed to Microsoft 365\n" },
	{ "doctor", "[--json] [--live CALENDAR]",
	  "One line per check, with what to do when it fails: the configuration,\n"
	  "the database, and per profile the lock, the account, the token, the\n"
	  "clock, the time zone, each calendar with a role and the last pass.\n"
	  "Reads only.  Exit 1 when a check fails.\n"
	  "  --json           as JSON\n"
	  "  --live CALENDAR  instead, make, find, replay, read back and delete\n"
	  "                   one probe event there, printing what the service\n"
	  "                   answered\n" },
	{ "profiles", "[--json] | profiles add NAME | profiles remove [-y] NAME",
	  "List the staff profiles, make one, or remove a stopped one with\n"
	  "its appointments.\n"
	  "  --json       as JSON\n"
	  "  -y, --yes    do not ask for confirmation (remove)\n" },
	{ "appt add", "--start T --end T --subject S [--client C] [--online]"
	  " [--force]",
	  "Book an appointment; prints its ID.  Refused when it overlaps an\n"
	  "[ext] block or another appointment, unless --force.\n"
	  "  --start T, --end T  ISO 8601 with an offset, or local wall time\n"
	  "  --subject S  the subject (255 characters at most)\n"
	  "  --client C   the client (pushed only through push_subject)\n"
	  "  --online     with a Teams meeting\n"
	  "  --force      book over what it overlaps\n" },
	{ "appt list", "[--from T] [--to T] [--json]",
	  "The booked appointments and [ext] blocks from T (default: now) to\n"
	  "T.\n"
	  "  --from T, --to T  the times, as for appt add\n"
	  "  --json       as JSON\n" },
	{ "appt show", "ID [--json]",
	  "One appointment or block, and where it is pushed.\n"
	  "  --json       as JSON\n" },
	{ "appt edit", "ID [--start T] [--end T] [--subject S] [--client C]"
	  " [--online | --no-online] [--force]",
	  "Change a booked appointment; the next pass pushes the change.\n"
	  "  --online, --no-online  with or without a Teams meeting\n"
	  "  --force      book over what it overlaps\n" },
	{ "appt cancel", "ID",
	  "Cancel a booked appointment; the next pass deletes its events.\n" },
	{ "free", "[--from T] [--to T] [--duration D] [--hours HH:MM-HH:MM]"
	  " [--days DAYS] [--json]",
	  "The open slots of the book, offline: the working hours of the\n"
	  "working days, less every appointment and [ext] block, in local time.\n"
	  "Prints nothing when there is none.\n"
	  "  --from T, --to T  the range (default: now to 7 days later)\n"
	  "  --duration D  the shortest slot, e.g. 30, 45m, 1h30m (default 30m)\n"
	  "  --hours HH:MM-HH:MM  the working hours (default 09:00-17:00)\n"
	  "  --days DAYS  mon-fri (the default), mon,wed,fri, mon-wed,sat or all\n"
	  "  --json       as JSON\n" },
	{ "agenda", "[--week | --days N] [--from T] [--json]",
	  "A grid of the book, offline: days as columns, hours as rows, the\n"
	  "booked appointments (B), the [ext] blocks (X) and their conflicts\n"
	  "(!), in local time, to the width of the terminal.\n"
	  "  --week       the week (Monday to Sunday) holding --from (the default)\n"
	  "  --days N     N days (1 to 31) from the day of --from\n"
	  "  --from T     a time of the first day or week (default: now)\n"
	  "  --json       the items of those days as JSON\n" },
	{ "help", "[command]",
	  "The usage, or one command's help.\n" },
};

#define NHELPS (sizeof(helps) / sizeof(helps[0]))
#define WIDTH 79

/* The length of the next word of a synopsis: a bracketed group is one. */
static size_t
word(const char *s)
{
	size_t n = 0;
	int depth = 0;

	for (; s[n] != '\0' && (depth > 0 || s[n] != ' '); n++)
		if (s[n] == '[')
			depth++;
		else if (s[n] == ']' && depth > 0)
			depth--;
	return n;
}

/* head, then the words of args, folded under their start to fit WIDTH. */
static void
fold(FILE *f, const char *head, const char *args)
{
	size_t indent = strlen(head), col = indent, n;

	fputs(head, f);
	while (*args != '\0') {
		n = word(args);
		if (col > indent && col + 1 + n > WIDTH) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			putc(' ', f);
			col++;
		}
		fwrite(args, 1, n, f);
		col += n;
		args += n;
		args += strspn(args, " ");
	}
	putc('\n', f);
}

/* The entry of `name` ("appt" names the group of appt's subcommands). */
static int
find(const char *name)
{
	size_t i;

	for (i = 0; i < NHELPS; i++)
		if (strcmp(helps[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
is_group(const char *name)
{
	return strcmp(name, "appt") == 0;
}

void
cmd_usage(FILE *f)
{
	size_t i;

	char head[32];

	fprintf(f, "usage: timetap-sync %s\n\ncommands:\n", global_synopsis);
	for (i = 0; i < NHELPS; i++) {
		snprintf(head, sizeof(head), "  %s ", helps[i].name);
		fold(f, head, helps[i].args);
	}
	fputs("\noptions (before the command):\n"
	    "  -f db      database (default $XDG_DATA_HOME/timetap-sync/"
	    "timetap.db)\n"
	    "  -c config  configuration (default $XDG_CONFIG_HOME/timetap-sync/"
	    "config)\n"
	    "  -s staff   staff profile (default: default)\n"
	    "  -v         verbose: a summary line per profile\n"
	    "  -q         quiet: errors and the output asked for only\n"
	    "  -h, --help this text;  -V, --version the version\n"
	    "\n"
	    "`timetap-sync help COMMAND` or `timetap-sync COMMAND --help`: one "
	    "command.\n"
	    "Times: ISO 8601 with an offset, or local wall time, e.g. "
	    "2026-03-29T09:00.\n"
	    "See timetap-sync(1).\n", f);
}

int
cmd_usage_line(FILE *f, const char *name)
{
	char head[64];
	int i;

	if (name != NULL && is_group(name)) {
		fprintf(f, "usage: timetap-sync [options] %s add|list|show|edit|"
		    "cancel [args]  (`timetap-sync help %s`)\n", name, name);
		return 0;
	}
	if (name == NULL || (i = find(name)) < 0) {
		fprintf(f, "usage: timetap-sync %s\n", global_synopsis);
		return -1;
	}
	snprintf(head, sizeof(head), "usage: timetap-sync [options] %s ",
	    helps[i].name);
	fold(f, head, helps[i].args);
	return 0;
}

int
cmd_help(FILE *f, const char *name)
{
	size_t i, n = strlen(name);
	int k = find(name), found = 0;

	if (k >= 0) {
		cmd_usage_line(f, name);
		fprintf(f, "\n%s", helps[k].text);
		return 0;
	}
	/* A group: each subcommand's synopsis and help. */
	for (i = 0; i < NHELPS; i++) {
		if (strncmp(helps[i].name, name, n) != 0 ||
		    helps[i].name[n] != ' ')
			continue;
		if (found++)
			putc('\n', f);
		cmd_usage_line(f, helps[i].name);
		fprintf(f, "\n%s", helps[i].text);
	}
	return found ? 0 : -1;
}

int
help_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		CMD_OPT_HELP,
		{ NULL, 0, NULL, 0 }
	};
	char *name = NULL;
	int c, r;

	optind = 0;
	while ((c = cmd_getopt(ctx, argc, argv, "", opts, err)) != -1)
		return c == CMD_HELPED ? 0 : -1;
	if (optind == argc) {
		cmd_usage(stdout);
		return 0;
	}
	if (argc - optind > 2)
		return cmd_bad(ctx, err, "help: unexpected '%s'",
		    argv[optind + 2]);
	if (asprintf(&name, "%s%s%s", argv[optind], argc - optind == 2 ? " " :
	    "", argc - optind == 2 ? argv[optind + 1] : "") < 0)
		return tt_fail(err, TT_E_LOCAL, "out of memory");
	r = cmd_help(stdout, name);
	if (r < 0)
		cmd_bad(ctx, err, "help: no command '%s' (`timetap-sync "
		    "help` lists them)", name);
	free(name);
	return r;
}
