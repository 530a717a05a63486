/* SPDX-License-Identifier: ISC */
/*
 * timetap-sync.c -- the edge: options, configuration, dispatch; with
 * cmd.c, the messages and the exit status.  Every other module returns
 * errors; only the edge prints them and exits.  No persistent state of
 * its own.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
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
	{ "conflicts", conflicts_main, 0 },
	{ "explain", explain_main, 0 },
	{ "free", free_main, 0 },
	{ "agenda", agenda_main, 0 },
	{ "help", help_main, 0 },
	{ "doctor", doctor_main, 0 },
};

/* A usage error before the command: one line, then the synopsis. */
static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("timetap-sync: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cmd_usage_line(stderr, NULL);
	return cmd_exit(TT_E_USAGE);
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
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct tt_ctx ctx = { 0 };
	struct tt_err err = { 0 };
	const char *cfgpath = NULL, *cmd;
	char *dbdef = NULL, *cfgdef = NULL, sb[3] = "-?";
	int c, cfg_required = 0, rc = 0;
	size_t i;

	tt_no_core();
	setlocale(LC_ALL, "");
	ctx.profile = "default";
	ctx.note = cmd_note;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:f:c:s:vqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'f': ctx.dbpath = optarg; break;
		case 'c': cfgpath = optarg; cfg_required = 1; break;
		case 's': ctx.profile = optarg; ctx.profile_given = 1; break;
		case 'v': ctx.verbose = 1; break;
		case 'q': ctx.quiet = 1; break;
		case 'h': cmd_usage(stdout); return 0;
		case 'V': printf("timetap-sync %s\n", VERSION); return 0;
		case ':':
			sb[1] = (char)optopt;
			return usage_error("%s needs a value", sb);
		default:
			if (optopt != 0) {
				sb[1] = (char)optopt;
				return usage_error("unknown option '%s'", sb);
			}
			return usage_error("unknown option '%.*s'",
			    (int)strcspn(argv[optind - 1], "="),
			    argv[optind - 1]);
		}
	}
	if (ctx.verbose && ctx.quiet)
		return usage_error("-v and -q exclude each other");
	if (!ctx.quiet && isatty(STDERR_FILENO))
		ctx.progress = cmd_progress;
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
	cmd = ctx.command = ctx.usage_of = argv[0];
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(stderr, "timetap-sync: unknown command '%s' "
		    "(`timetap-sync help` lists them)\n", cmd);
		return cmd_exit(TT_E_USAGE);
	}
	config_defaults(&ctx.cfg);

	/* Environment overrides the defaults; options override both.  A
	 * path or a configuration that is wrong is told when the command,
	 * its arguments checked, opens the store (cmd_open): help and a
	 * usage error do not depend on them. */
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
	ctx.db_default = dbdef != NULL;
	if (cfgpath != NULL && config_load(&ctx.cfg, cfgpath, cfg_required,
	    &ctx.cfg_err))
		ctx.cfg_bad = 1;
	/* The staff member's zone, for all-day days and local times: the
	 * configuration's, never the cron host's when it is set. */
	else if (ctx.cfg.time_zone != NULL)
		tt_set_zone(ctx.cfg.time_zone);

	/* appt takes its subcommand as argv[0]; the others their own name. */
	if (commands[i].fn(&ctx, argc - commands[i].shift,
	    argv + commands[i].shift, &err)) {
		rc = cmd_report(&ctx, &err);
		if (ctx.usage_line)
			cmd_usage_line(stderr, ctx.usage_of);
	} else
		rc = ctx.status;
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
