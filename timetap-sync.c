/* SPDX-License-Identifier: ISC */
/*
 * timetap-sync.c -- the edge: options, configuration, dispatch; with
 * cmd.c, the messages and the exit status.  Every other module returns
 * errors; only the edge prints them and exits.  No persistent state of
 * its own.
 */
#include <errno.h>
#include <stdint.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

/* The Makefile's VERSION, the one place the version is set. */
#ifndef VERSION
#error "VERSION is not defined: build with make"
#endif

static const char usage_text[] =
"usage: timetap-sync [-f db] [-c config] [-s staff] [-v | -q] command [args]\n"
"\n"
"commands:\n"
"  sync [--force] [--shard K/N] [--jobs N]  (the default)\n"
"  feed [-n N] [--all] [--json]\n"
"  login [--browser | --device-code] [--groups] [--switch-account]\n"
"  calendars [--pull ID,...] [--push ID,...] [--json] [--cached]\n"
"  status [--json]\n"
"  stop [-y] [--purge-remote]\n"
"  profiles [--json] | profiles add NAME | profiles remove [-y] NAME\n"
"  appt add --start T --end T --subject S [--client C] [--online] [--force]\n"
"  appt list [--from T] [--to T] [--json]\n"
"  appt show ID [--json]\n"
"  appt edit ID [--start T] [--end T] [--subject S] [--client C]\n"
"               [--online | --no-online] [--force]\n"
"  appt cancel ID\n"
"\n"
"options:\n"
"  -f db      database (default $XDG_DATA_HOME/timetap-sync/timetap.db)\n"
"  -c config  configuration (default $XDG_CONFIG_HOME/timetap-sync/config)\n"
"  -s staff   staff profile (default: default)\n"
"  -v         verbose: a summary line per profile\n"
"  -q         quiet: errors only\n"
"  -h, --help this text;  -V, --version the version\n"
"\n"
"Times: ISO 8601 with an offset, or local wall time, e.g. 2026-03-29T09:00.\n"
"See timetap-sync(1).\n";

static const struct {
	const char *name;
	int (*fn)(struct tt_ctx *, int, char **, struct tt_err *);
	int shift;
} commands[] = {
	{ "sync", sync_main, 0 },
	{ "feed", feed_main, 0 },
	{ "appt", book_main, 1 },
	{ "login", login_main, 0 },
	{ "calendars", calendars_main, 0 },
	{ "status", status_main, 0 },
	{ "stop", stop_main, 0 },
	{ "profiles", profiles_main, 0 },
};

static void
usage(FILE *f)
{
	fputs(usage_text, f);
}

/* $XDG_<var> or ~/<fallback>, then the file name. */
static char *
xdg_path(const char *var, const char *fallback, const char *file)
{
	const char *base = getenv(var), *home;
	char *p = NULL;

	if (base != NULL && base[0] == '/') {
		if (asprintf(&p, "%s/timetap-sync/%s", base, file) < 0)
			return NULL;
		return p;
	}
	home = getenv("HOME");
	if (home == NULL || home[0] != '/')
		return NULL;
	if (asprintf(&p, "%s/%s/timetap-sync/%s", home, fallback, file) < 0)
		return NULL;
	return p;
}


int
main(int argc, char **argv)
{
	struct tt_ctx ctx = { 0 };
	struct tt_err err = { 0 };
	const char *cfgpath = NULL, *cmd;
	char *dbdef = NULL, *cfgdef = NULL;
	int c, cfg_required = 0, rc = 0;
	size_t i;

	setlocale(LC_ALL, "");
	ctx.profile = "default";
	ctx.note = cmd_note;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("timetap-sync %s\n", VERSION);
		return 0;
	}
	opterr = 0;
	while ((c = getopt(argc, argv, "+f:c:s:vqhV")) != -1) {
		switch (c) {
		case 'f': ctx.dbpath = optarg; break;
		case 'c': cfgpath = optarg; cfg_required = 1; break;
		case 's': ctx.profile = optarg; ctx.profile_given = 1; break;
		case 'v': ctx.verbose = 1; break;
		case 'q': ctx.quiet = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("timetap-sync %s\n", VERSION); return 0;
		default:
			fprintf(stderr, "timetap-sync: unknown or incomplete "
			    "option '-%c'\n", optopt);
			usage(stderr);
			return cmd_exit(TT_E_USAGE);
		}
	}
	if (!ctx.quiet && isatty(STDERR_FILENO))
		ctx.progress = cmd_progress;
	if (ctx.verbose && ctx.quiet) {
		fprintf(stderr, "timetap-sync: -v and -q exclude each other\n");
		return cmd_exit(TT_E_USAGE);
	}
	if (!cmd_profile_name_ok(ctx.profile)) {
		fprintf(stderr, "timetap-sync: bad staff profile name '%s' "
		    "(letters, digits, . _ - @; up to 64)\n", ctx.profile);
		return cmd_exit(TT_E_USAGE);
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {	/* sync is the default command */
		static char *sync_argv[] = { (char *)(uintptr_t)"sync", NULL };

		argc = 1;
		argv = sync_argv;
	}
	cmd = ctx.command = argv[0];
	config_defaults(&ctx.cfg);

	/* Environment overrides the defaults; options override both. */
	if (cfgpath == NULL && (cfgpath = getenv("TIMETAP_SYNC_CONFIG")) != NULL
	    && *cfgpath != '\0')
		cfg_required = 1;
	else if (cfgpath == NULL || *cfgpath == '\0')
		cfgpath = cfgdef = xdg_path("XDG_CONFIG_HOME", ".config", "config");
	if (ctx.dbpath == NULL && (ctx.dbpath = getenv("TIMETAP_SYNC_DB")) != NULL
	    && *ctx.dbpath == '\0')
		ctx.dbpath = NULL;
	if (ctx.dbpath == NULL)
		ctx.dbpath = dbdef = xdg_path("XDG_DATA_HOME", ".local/share",
		    "timetap.db");
	if (ctx.dbpath == NULL) {
		fprintf(stderr, "timetap-sync: no database path: set HOME, "
		    "XDG_DATA_HOME or use -f\n");
		rc = cmd_exit(TT_E_CONFIG);
		goto out;
	}
	if (cfgpath != NULL && config_load(&ctx.cfg, cfgpath, cfg_required,
	    &err)) {
		if (ctx.cfg.diag)
			fputs(ctx.cfg.diag, stderr);
		rc = cmd_report(&ctx, &err);
		goto out;
	}

	/* The staff member's zone, for all-day days and local times: the
	 * configuration's, never the cron host's when it is set. */
	if (ctx.cfg.time_zone != NULL)
		tt_set_zone(ctx.cfg.time_zone);

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(stderr, "timetap-sync: unknown command '%s'\n", cmd);
		usage(stderr);
		rc = cmd_exit(TT_E_USAGE);
		goto out;
	}
	/* appt takes its subcommand as argv[0]; the others their own name. */
	if (store_open(ctx.dbpath, &ctx.st, &err) == 0) {
		ctx.cn.gs.authority_url = ctx.cfg.authority_url;
		ctx.cn.gs.tenant = ctx.cfg.tenant;
		ctx.cn.gs.graph_url = ctx.cfg.graph_url;
		ctx.cn.gs.client_id = ctx.cfg.client_id;
		ctx.cn.gs.ca_file = ctx.cfg.ca_file;
		ctx.cn.gs.timeout = ctx.cfg.timeout;
		ctx.cn.gs.retry_budget = ctx.cfg.retry_budget;
		ctx.cn.gs.page_size = ctx.cfg.page_size;
		ctx.cn.st = ctx.st;
		ctx.cn.warn = cmd_warn;
		ctx.cn.arg = &ctx;
	}
	if (ctx.st == NULL || commands[i].fn(&ctx, argc - commands[i].shift,
	    argv + commands[i].shift, &err))
		rc = cmd_report(&ctx, &err);
out:
	store_close(ctx.st);
	config_free(&ctx.cfg);
	free(dbdef);
	free(cfgdef);
	/* For the crash tests: how many durable steps this run made. */
	if (getenv("TIMETAP_SYNC_CRASH_COUNT") != NULL) {
		FILE *f = fopen(getenv("TIMETAP_SYNC_CRASH_COUNT"), "w");

		if (f != NULL) {
			fprintf(f, "%ld\n", tt_crash_points());
			fclose(f);
		}
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "timetap-sync: writing output: %s\n",
		    strerror(errno));
		rc = rc ? rc : cmd_exit(TT_E_LOCAL);
	}
	return rc;
}
