/*
 * cmd_sync.c -- the sync command: its options, the profiles it passes
 * (the one named with -s, or every connected one: one failing profile
 * does not stop the others), the database lock, and the exit code, the
 * most serious of the passes'.  The pass itself is sync.c's.
 */
#include <getopt.h>
#include <stdint.h>
#include <string.h>

#include "cmd.h"
#include "sync.h"

static void
env_note(void *arg, int code, const char *msg)
{
	struct tt_ctx *ctx = arg;

	ctx->note(ctx, code, msg);
}

static void
env_progress(void *arg, const char *msg)
{
	struct tt_ctx *ctx = arg;

	ctx->progress(ctx, msg);
}

/* The pass's settings, from the configuration and the global options. */
static void
sync_env_of(struct tt_ctx *ctx, struct sync_env *env)
{
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
	env->verbose = ctx->verbose;
	env->note = env_note;
	env->progress = ctx->progress != NULL ? env_progress : NULL;
	env->arg = ctx;
}

struct all_state {
	const struct sync_env *env;
	int force;
	int worst;
};

static int
all_cb(void *arg, int64_t id, const char *name)
{
	struct all_state *as = arg;

	as->worst = tt_worse(as->worst, sync_profile(as->env, id, name,
	    as->force));
	return 0;
}

int
sync_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct sync_env env;
	struct all_state as = { &env, 0, 0 };
	int64_t profile;
	int c, lock, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'f')
			return tt_fail(err, TT_USAGE, "sync: unknown option "
			    "'%s'", argv[optind - 1]);
		as.force = 1;
	}
	if (optind != argc)
		return tt_fail(err, TT_USAGE, "sync: unexpected '%s'",
		    argv[optind]);
	sync_env_of(ctx, &env);
	if ((lock = store_lock(ctx->dbpath, err)) < 0)
		return -1;
	if (ctx->profile_given) {
		r = store_profile(ctx->st, ctx->profile, 0, &profile, err);
		if (r == 0)
			r = tt_fail(err, TT_NOPERM, "profile %s is not connected;"
			    " run `timetap-sync -s %s login`", ctx->profile,
			    ctx->profile);
		if (r > 0)
			as.worst = sync_profile(&env, profile, ctx->profile,
			    as.force);
	} else
		r = store_connected_profiles(ctx->st, all_cb, &as, err);
	store_unlock(lock);
	if (r < 0)
		return -1;
	/* Problems were reported one per line already. */
	err->code = as.worst;
	err->msg[0] = '\0';
	return as.worst ? -1 : 0;
}
