/* SPDX-License-Identifier: ISC */
/*
 * cmd_sync.c -- the sync command: its options, the profiles it passes
 * (the one named with -s, or every connected one: one failing profile
 * does not stop the others), each profile's lock, the words of each problem
 * a pass reports as a record, the pass's entry for status, the -v summary,
 * and the exit code, the most serious of the passes'.  The pass itself is
 * sync.c's.
 */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "sync.h"

/*
 * What a sync run remembers of the profile being passed: the settings,
 * --force, the most serious code so far, and the first problem's line
 * (for status).
 */
struct run {
	struct tt_ctx *ctx;
	const struct sync_env *env;
	int force;
	unsigned shard, shards;	/* --shard K/N: this run's K-1 of N; 0/1 */
	int worst;
	char first[512];
};

/*
 * The shard of a profile: a stable hash of its name (FNV-1a, 32 bits) mod
 * the number of shards, so that N machines with --shard 1/N .. N/N pass
 * every profile exactly once, whatever the order or number of profiles.
 */
static unsigned
shard_of(const char *name, unsigned shards)
{
	uint32_t h = 2166136261u;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h % shards;
}

/* Parse --shard K/N (1 <= K <= N <= 1000). */
static int
shard_parse(const char *v, unsigned *k, unsigned *n, struct tt_err *err)
{
	char *end;
	unsigned long a, b;

	a = strtoul(v, &end, 10);
	if (end == v || *end != '/' || !isdigit((unsigned char)end[1]))
		goto bad;
	b = strtoul(end + 1, &end, 10);
	if (*end != '\0' || a < 1 || b < 1 || a > b || b > 1000)
		goto bad;
	*k = (unsigned)a - 1;
	*n = (unsigned)b;
	return 0;
bad:
	return tt_fail(err, TT_E_USAGE, "sync: --shard wants K/N with 1 <= K "
	    "<= N <= 1000, not '%s'", v);
}

/* A problem of a pass, worded: "profile P: calendar "C": step
 * appointment N: error" and the advice. */
static void
env_problem(void *arg, const struct sync_problem *pr)
{
	struct run *rn = arg;
	char appt[32] = "", advice[128], *line = NULL;

	/* The calendar's name and the error are the service's: any length. */
	if (pr->appt != 0)
		snprintf(appt, sizeof(appt), " appointment %" PRId64, pr->appt);
	if (asprintf(&line, "%s%s%s%s%s%s%s%s%s%s%s",
	    pr->named ? "" : "profile ", pr->named ? "" : pr->profile,
	    pr->named ? "" : ": ",
	    pr->calendar ? "calendar \"" : "", pr->calendar ? pr->calendar : "",
	    pr->calendar ? "\": " : "",
	    pr->step ? pr->step : "", pr->step ? appt : "",
	    pr->step ? ": " : "", pr->error,
	    pr->code == TT_WARNING ? "" : cmd_advice(rn->ctx, pr->profile,
	    pr->code, pr->unknown, advice, sizeof(advice))) < 0)
		line = NULL;
	rn->ctx->note(rn->ctx, pr->code, line != NULL ? line : pr->error);
	if (pr->code != TT_WARNING && rn->first[0] == '\0')
		strlcpy(rn->first, line != NULL ? line : pr->error,
		    sizeof(rn->first));
	free(line);
}

static void
env_progress(void *arg, const char *msg)
{
	struct run *rn = arg;

	rn->ctx->progress(rn->ctx, msg);
}

/* The pass's settings, from the configuration and the global options. */
static void
sync_env_of(struct run *rn, struct sync_env *env)
{
	struct tt_ctx *ctx = rn->ctx;
	const struct tt_config *c = &ctx->cfg;

	memset(env, 0, sizeof(*env));
	env->cn = &ctx->cn;
	env->block_showas = c->block_showas;
	env->block_all_day = c->block_all_day;
	env->pull_subjects = c->pull_subjects;
	env->push_subject = c->push_subject;
	env->push_private = c->push_private;
	env->max_removals = c->max_removals;
	env->max_removals_pct = c->max_removals_pct;
	env->time_zone = c->time_zone;
	env->window_past_days = c->window_past_days;
	env->window_future_days = c->window_future_days;
	env->problem = env_problem;
	env->progress = ctx->progress != NULL ? env_progress : NULL;
	env->arg = rn;
	rn->env = env;
}

/*
 * One profile's pass, recorded for status (its exit status and first
 * problem) and, with -v, summed up in a line.
 */
static int
pass_one(void *arg, int64_t id, const char *name)
{
	struct run *rn = arg;
	struct tt_ctx *ctx = rn->ctx;
	struct tt_err err = { 0 };
	struct pass res;
	struct timespec t0, t1;
	int code, lock;

	if (shard_of(name, rn->shards) != rn->shard)
		return 0;

	/* Each profile under its own lock: another run passing (or logging
	 * in) this profile makes it wait for the next run, not the others. */
	if ((lock = store_lock(ctx->dbpath, name, &err)) < 0) {
		char line[sizeof(err.msg) + 128], advice[128];

		snprintf(line, sizeof(line), "%s%s", err.msg, cmd_advice(ctx,
		    name, err.code, 0, advice, sizeof(advice)));
		cmd_note(ctx, err.code, line);
		rn->worst = tt_worse(rn->worst, err.code);
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rn->first[0] = '\0';
	code = sync_profile(rn->env, id, name, rn->force, &res);
	if (res.id != 0) {
		res.exit_code = cmd_exit(code);
		res.message = rn->first[0] ? rn->first : NULL;
		if (store_pass_end(ctx->st, &res, &err)) {
			cmd_note(ctx, err.code, err.msg);
			code = tt_worse(code, err.code);
		}
	}
	store_unlock(lock);	/* the pass is recorded: another may begin */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ctx->verbose) {
		char line[512];

		snprintf(line, sizeof(line), "profile %s: %d items read, %d "
		    "blocks added, %d changed, %d removed, %d pushed, %d "
		    "deleted, %d requests, %.2f s%s", name, res.items,
		    res.added, res.changed, res.removed, res.pushed,
		    res.deleted, res.requests, (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		    code ? " (with problems)" : "");
		cmd_note(ctx, 0, line);
	}
	rn->worst = tt_worse(rn->worst, code);
	return 0;
}

/*
 * A profile with booked appointments and no connection is never synced:
 * said once per pass (the exit status says it too), so that cron tells
 * someone.
 */
static int
unconnected_cb(void *arg, const struct profile_row *r)
{
	struct run *rn = arg;
	struct sync_problem pr = { TT_E_LOGIN, r->name, NULL, NULL, 0, 0, 0,
	    NULL };
	char msg[128];

	if (r->account != NULL || r->booked == 0 ||
	    shard_of(r->name, rn->shards) != rn->shard)
		return 0;
	snprintf(msg, sizeof(msg), "%d booked appointment%s, but the profile "
	    "is not connected", r->booked, r->booked == 1 ? "" : "s");
	pr.error = msg;
	env_problem(rn, &pr);
	rn->worst = tt_worse(rn->worst, TT_E_LOGIN);
	return 0;
}

/*
 * sync --jobs N: up to N profiles at once, each passed by a child process
 * with its own database connection (a connection never crosses a fork)
 * and its own TZ (each pass sets the staff member's zone, which is the
 * process's).  A child's exit status is its most serious code (tt_errc);
 * a child that dies is an internal error.  Its lines go to stderr as
 * they come, one write each.
 */
struct jobs {
	int64_t *ids;
	char **names;
	size_t n, capids, capnames;
	struct run *rn;
};

static int
job_add(void *arg, int64_t id, const char *name)
{
	struct jobs *j = arg;

	if (shard_of(name, j->rn->shards) != j->rn->shard)
		return 0;
	if (tt_reserve(&j->ids, &j->capids, j->n + 1, sizeof(*j->ids)) != 0 ||
	    tt_reserve(&j->names, &j->capnames, j->n + 1,
	    sizeof(*j->names)) != 0 ||
	    (j->names[j->n] = strdup(name)) == NULL)
		return -1;
	j->ids[j->n++] = id;
	return 0;
}

static int
job_child(struct run *rn, int64_t id, const char *name)
{
	struct tt_ctx *ctx = rn->ctx;
	struct tt_err err = { 0 };
	struct store *st;

	/* The parent's connection is left alone (closing it here could
	 * checkpoint its database under it): this pass has its own. */
	if (store_open(ctx->dbpath, &st, &err) != 0) {
		cmd_note(ctx, err.code, err.msg);
		return err.code;
	}
	ctx->st = ctx->cn.st = st;
	rn->worst = 0;
	pass_one(rn, id, name);
	store_close(st);
	fflush(stdout);
	return rn->worst;
}

static int
run_jobs(struct run *rn, unsigned jobs, struct tt_err *err)
{
	struct jobs j = { NULL, NULL, 0, 0, 0, rn };
	size_t next = 0, i;
	unsigned running = 0;
	int status;
	pid_t pid;

	if (store_connected_profiles(rn->ctx->st, job_add, &j, err) != 0) {
		for (i = 0; i < j.n; i++)
			free(j.names[i]);
		free(j.names);
		free(j.ids);
		return -1;
	}
	while (next < j.n || running > 0) {
		while (running < jobs && next < j.n) {
			fflush(NULL);
			if ((pid = fork()) == 0)
				_exit(job_child(rn, j.ids[next], j.names[next]));
			if (pid < 0)	/* no process to spare: pass it here */
				pass_one(rn, j.ids[next], j.names[next]);
			else
				running++;
			next++;
		}
		if (running == 0)
			continue;
		if ((pid = wait(&status)) < 0)
			break;
		running--;
		rn->worst = tt_worse(rn->worst, WIFEXITED(status) ?
		    WEXITSTATUS(status) : TT_E_INTERNAL);
	}
	for (i = 0; i < j.n; i++)
		free(j.names[i]);
	free(j.names);
	free(j.ids);
	return 0;
}

int
sync_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "shard", required_argument, NULL, 's' },
		{ "jobs", required_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct sync_env env;
	struct run rn = { 0 };
	int64_t profile;
	unsigned jobs = 1;
	int c, r;

	rn.ctx = ctx;
	rn.shards = 1;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f')
			rn.force = 1;
		else if (c == 's' && optarg != NULL) {
			if (shard_parse(optarg, &rn.shard, &rn.shards, err))
				return -1;
		} else if (c == 'j' && optarg != NULL) {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			if (end == optarg || *end != '\0' || v < 1 || v > 64)
				return tt_fail(err, TT_E_USAGE, "sync: --jobs "
				    "wants 1 to 64, not '%s'", optarg);
			jobs = (unsigned)v;
		} else
			return tt_fail(err, TT_E_USAGE, "sync: unknown option "
			    "'%s'", argv[optind - 1]);
	}
	if (optind != argc)
		return tt_fail(err, TT_E_USAGE, "sync: unexpected '%s'",
		    argv[optind]);
	if (ctx->profile_given && rn.shards > 1)
		return tt_fail(err, TT_E_USAGE, "sync: --shard is for a pass "
		    "over every profile, not with -s");
	sync_env_of(&rn, &env);
	if (jobs > 1)
		env.progress = NULL;	/* one line per terminal, not N */
	if (ctx->profile_given) {
		r = store_profile(ctx->st, ctx->profile, 0, &profile, err);
		if (r == 0)
			r = tt_fail(err, TT_E_LOGIN, "profile %s is not "
			    "connected", ctx->profile);
		if (r > 0)
			pass_one(&rn, profile, ctx->profile);
	} else if ((r = jobs > 1 ? run_jobs(&rn, jobs, err) :
	    store_connected_profiles(ctx->st, pass_one, &rn, err)) == 0)
		r = store_profile_rows(ctx->st, unconnected_cb, &rn, err);
	if (r < 0)
		return -1;
	/* Problems were reported one per line already. */
	err->code = rn.worst;
	err->msg[0] = '\0';
	return rn.worst ? -1 : 0;
}
