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
	/* --json: the profiles' summaries so far, and the problem and
	 * warning lines of the profile being passed (NULL without). */
	json_t *json, *problems, *warnings;
	int failed;		/* out of memory in the summary */
	int conflicts;		/* new conflicts the profile's pass told */
};

/* A profile's summary begins: its lines are collected from now on. */
static void
summary_begin(struct run *rn)
{
	rn->conflicts = 0;
	if (rn->json == NULL)
		return;
	json_decref(rn->problems);
	json_decref(rn->warnings);
	rn->problems = json_array();
	rn->warnings = json_array();
}

static void
summary_line(struct run *rn, int code, const char *line)
{
	json_t *a = code == TT_WARNING ? rn->warnings : rn->problems;

	if (rn->json != NULL && (a == NULL ||
	    json_array_append_new(a, tt_json_text(line)) != 0))
		rn->failed = 1;
}

/*
 * A profile's summary for sync --json: the figures -v prints (the pass
 * record's; zero, times null, when no pass began), its result, time and
 * lines.  A *new* object, or NULL out of memory.
 */
static json_t *
summary_end(struct run *rn, const char *name, int code,
    const struct pass *res, double seconds)
{
	json_t *o = tt_json_pass(res);

	if (o == NULL || json_object_set_new(o, "profile",
	    tt_json_text(name)) != 0 || json_object_set_new(o, "exit_code",
	    json_integer(cmd_exit(code))) != 0 || json_object_set_new(o,
	    "result", json_string(cmd_result(code))) != 0 ||
	    json_object_set_new(o, "seconds", json_real(seconds)) != 0 ||
	    json_object_set_new(o, "conflicts", json_integer(rn->conflicts)) != 0 ||
	    json_object_set(o, "problems", rn->problems ? rn->problems :
	    json_null()) != 0 || json_object_set(o, "warnings", rn->warnings ?
	    rn->warnings : json_null()) != 0) {
		json_decref(o);
		return NULL;
	}
	json_decref(rn->problems);
	json_decref(rn->warnings);
	rn->problems = rn->warnings = NULL;
	return o;
}

static void
summary_add(struct run *rn, json_t *o)
{
	if (o == NULL || json_array_append_new(rn->json, o) != 0)
		rn->failed = 1;
}

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
 * appointment N: error" and the advice; a new conflict (sync.c,
 * tell_conflicts) "profile P: conflict: appointment N error on calendar
 * "C"" and what to do, even with -q (cron mails it). */
static void
env_problem(void *arg, const struct sync_problem *pr)
{
	struct run *rn = arg;
	char appt[32] = "", advice[128], *line = NULL;

	/* The calendar's name and the error are the service's: any length. */
	if (pr->appt != 0)
		snprintf(appt, sizeof(appt), " appointment %" PRId64, pr->appt);
	if (pr->code == TT_E_CONFLICT) {
		rn->conflicts++;
		if (asprintf(&line, "profile %s: conflict:%s %s on calendar "
		    "\"%s\"%s", pr->profile, appt, pr->error, pr->calendar ?
		    pr->calendar : "?", cmd_advice(rn->ctx, pr->profile,
		    pr->code, 0, advice, sizeof(advice))) < 0)
			line = NULL;
	} else if (asprintf(&line, "%s%s%s%s%s%s%s%s%s%s%s",
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
	summary_line(rn, pr->code, line != NULL ? line : pr->error);
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
	struct pass res = { 0 };
	struct timespec t0, t1;
	double secs;
	tt_time started;
	int code, lock;

	if (shard_of(name, rn->shards) != rn->shard)
		return 0;
	summary_begin(rn);

	/* Each profile under its own lock: another run passing (or logging
	 * in) this profile makes it wait for the next run, not the others. */
	if ((lock = store_lock(ctx->dbpath, name, &err)) < 0) {
		char line[sizeof(err.msg) + 128], advice[128];

		snprintf(line, sizeof(line), "%s%s", err.msg, cmd_advice(ctx,
		    name, err.code, 0, advice, sizeof(advice)));
		cmd_note(ctx, err.code, line);
		rn->worst = tt_worse(rn->worst, err.code);
		if (rn->json != NULL) {
			summary_line(rn, err.code, line);
			summary_add(rn, summary_end(rn, name, err.code, &res, 0));
		}
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rn->first[0] = '\0';
	started = tt_now();
	code = sync_profile(rn->env, id, name, rn->force, &res);
	if (res.id != 0) {
		res.exit_code = cmd_exit(code);
		res.message = rn->first[0] ? rn->first : NULL;
		if (store_pass_end(ctx->st, &res, &err)) {
			cmd_note(ctx, err.code, err.msg);
			summary_line(rn, err.code, err.msg);
			code = tt_worse(code, err.code);
		}
	}
	store_unlock(lock);	/* the pass is recorded: another may begin */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (ctx->verbose) {
		char line[512];

		snprintf(line, sizeof(line), "profile %s: %d items read, %d "
		    "blocks added, %d changed, %d removed, %d pushed, %d "
		    "deleted, %d requests, %.2f s%s", name, res.items,
		    res.added, res.changed, res.removed, res.pushed,
		    res.deleted, res.requests, secs,
		    code ? " (with problems)" : "");
		cmd_note(ctx, 0, line);
	}
	if (rn->json != NULL) {
		res.message = rn->first[0] ? rn->first : NULL;
		res.exit_code = cmd_exit(code);
		/* as the pass record has them, for the summary */
		res.started = res.id != 0 ? started : 0;
		res.finished = res.id != 0 ? tt_now() : 0;
		summary_add(rn, summary_end(rn, name, code, &res, secs));
	}
	rn->worst = tt_worse(rn->worst, code);
	return 0;
}

/* sync --json: one document after the passes, whatever they ended with. */
static int
summary_print(struct run *rn, struct tt_err *err)
{
	json_t *doc;

	if (rn->failed) {
		json_decref(rn->json);
		rn->json = NULL;
		return tt_fail(err, TT_E_INTERNAL, "sync --json: out of memory");
	}
	doc = json_pack("{s:i, s:s, s:o}", "exit_code", cmd_exit(rn->worst),
	    "result", cmd_result(rn->worst), "profiles", rn->json);
	rn->json = NULL;
	json_decref(rn->problems);
	json_decref(rn->warnings);
	rn->problems = rn->warnings = NULL;
	return tt_json_print(doc, err);
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
	summary_begin(rn);
	env_problem(rn, &pr);
	rn->worst = tt_worse(rn->worst, TT_E_LOGIN);
	if (rn->json != NULL) {
		struct pass none = { 0 };

		none.exit_code = cmd_exit(TT_E_LOGIN);
		none.message = msg;
		summary_add(rn, summary_end(rn, r->name, TT_E_LOGIN, &none, 0));
	}
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
	/* --json: each child writes its summary to its own file (read
	 * when it ends; a pipe could fill while the parent waits) */
	FILE **out;
	pid_t *pids;
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

/*
 * A child's summary, read back when it has ended; a child that died
 * before writing it leaves the figures of the profile's last pass record
 * and a problem saying so.
 */
static json_t *
job_summary(struct run *rn, FILE *f, int64_t id, const char *name,
    int code)
{
	struct tt_err err = { 0 };
	struct pass p = { 0 };
	json_t *o = NULL;
	char line[128];

	if (f != NULL) {
		rewind(f);
		o = json_loadf(f, 0, NULL);
	}
	if (json_is_object(o))
		return o;
	json_decref(o);
	summary_begin(rn);
	snprintf(line, sizeof(line), "profile %s: the pass's process ended "
	    "without its summary", name);
	rn->ctx->note(rn->ctx, TT_E_INTERNAL, line);
	summary_line(rn, TT_E_INTERNAL, line);
	if (store_last_pass(rn->ctx->st, id, &p, &err) < 0)
		summary_line(rn, err.code, err.msg);
	o = summary_end(rn, name, code, &p, 0);
	store_pass_free(&p);
	return o;
}

static int
job_child(struct run *rn, int64_t id, const char *name, FILE *out)
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
	if (out != NULL && json_array_size(rn->json) == 1)
		json_dumpf(json_array_get(rn->json, 0), out, JSON_COMPACT);
	if (out != NULL)
		fflush(out);
	fflush(stdout);
	return rn->worst;
}

static int
run_jobs(struct run *rn, unsigned jobs, struct tt_err *err)
{
	struct jobs j = { NULL, NULL, 0, 0, 0, rn, NULL, NULL };
	json_t **sums = NULL, *all = rn->json;
	size_t next = 0, i;
	unsigned running = 0;
	int status, code, rc = -1;
	pid_t pid;

	if (store_connected_profiles(rn->ctx->st, job_add, &j, err) != 0)
		goto out;
	if ((j.pids = calloc(j.n + 1, sizeof(*j.pids))) == NULL ||
	    (all != NULL && ((j.out = calloc(j.n + 1, sizeof(*j.out))) == NULL ||
	    (sums = calloc(j.n + 1, sizeof(*sums))) == NULL))) {
		tt_fail(err, TT_E_INTERNAL, "out of memory");
		goto out;
	}
	while (next < j.n || running > 0) {
		while (running < jobs && next < j.n) {
			if (all != NULL && (j.out[next] = tmpfile()) == NULL)
				rn->ctx->note(rn->ctx, TT_WARNING, "sync --json: "
				    "no temporary file for a summary; the "
				    "pass record gives it");
			fflush(NULL);
			if ((pid = fork()) == 0) {
				/* the child's summary only, into its file */
				if (all != NULL && (rn->json =
				    json_array()) == NULL)
					_exit(TT_E_INTERNAL);
				_exit(job_child(rn, j.ids[next], j.names[next],
				    all != NULL ? j.out[next] : NULL));
			}
			if (pid < 0) {	/* no process to spare: pass it here */
				pass_one(rn, j.ids[next], j.names[next]);
				if (all != NULL) {
					sums[next] = json_array_get(all,
					    json_array_size(all) - 1);
					json_incref(sums[next]);
					json_array_remove(all,
					    json_array_size(all) - 1);
				}
			} else {
				j.pids[next] = pid;
				running++;
			}
			next++;
		}
		if (running == 0)
			continue;
		if ((pid = wait(&status)) < 0)
			break;
		running--;
		code = WIFEXITED(status) ? WEXITSTATUS(status) : TT_E_INTERNAL;
		rn->worst = tt_worse(rn->worst, code);
		for (i = 0; all != NULL && i < next; i++)
			if (j.pids[i] == pid)
				sums[i] = job_summary(rn, j.out[i], j.ids[i],
				    j.names[i], code);
	}
	/* In the order of the profiles, whichever ended first. */
	for (i = 0; all != NULL && i < j.n; i++)
		summary_add(rn, sums[i]);
	rc = 0;
out:
	for (i = 0; i < j.n; i++) {
		free(j.names[i]);
		if (j.out != NULL && j.out[i] != NULL)
			fclose(j.out[i]);
	}
	free(j.names);
	free(j.ids);
	free(j.pids);
	free(j.out);
	free(sums);
	return rc;
}

enum { O_FORCE = CMD_LONG, O_SHARD, O_JOBS, O_JSON };

int
sync_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, O_FORCE },
		{ "shard", required_argument, NULL, O_SHARD },
		{ "jobs", required_argument, NULL, O_JOBS },
		{ "json", no_argument, NULL, O_JSON },
		CMD_OPT_HELP,
		{ NULL, 0, NULL, 0 }
	};
	struct sync_env env;
	struct run rn = { 0 };
	int64_t profile;
	unsigned jobs = 1;
	int c, r, sharded = 0, json = 0;

	rn.ctx = ctx;
	rn.shards = 1;
	optind = 0;
	while ((c = cmd_getopt(ctx, argc, argv, "", opts, err)) != -1) {
		char *end;
		unsigned long v;

		switch (c) {
		case O_FORCE:
			rn.force = 1;
			break;
		case O_SHARD:
			if (shard_parse(optarg, &rn.shard, &rn.shards, err))
				return -1;
			sharded = 1;
			break;
		case O_JOBS:
			v = strtoul(optarg, &end, 10);
			if (end == optarg || *end != '\0' || v < 1 || v > 64)
				return tt_fail(err, TT_E_USAGE, "sync: --jobs "
				    "wants 1 to 64, not '%s'", optarg);
			jobs = (unsigned)v;
			break;
		case O_JSON:
			json = 1;
			break;
		case CMD_HELPED:
			return 0;
		default:
			return -1;
		}
	}
	if (cmd_no_operand(ctx, argc, argv, err))
		return -1;
	if (ctx->profile_given && sharded)
		return cmd_bad(ctx, err, "sync: --shard is for a pass "
		    "over every profile, not with -s");
	if (ctx->profile_given && jobs > 1)
		return cmd_bad(ctx, err, "sync: --jobs is for a pass "
		    "over every profile, not with -s");
	if (cmd_open(ctx, err))
		return -1;
	if (json && (rn.json = json_array()) == NULL)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
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
	if (r < 0 || (rn.json != NULL && summary_print(&rn, err))) {
		json_decref(rn.json);
		json_decref(rn.problems);
		json_decref(rn.warnings);
		return -1;
	}
	/* Problems were reported one per line already. */
	err->code = rn.worst;
	err->msg[0] = '\0';
	return rn.worst ? -1 : 0;
}
