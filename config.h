/* SPDX-License-Identifier: ISC */
/*
 * config.h -- the configuration file (SPEC section 3).
 *
 * config_defaults() fills every key with its documented default;
 * config_load() reads a file over them.  Every bad line is collected (not
 * just the first) into cfg->diag as "file:line: message" lines; the caller
 * prints them and exits 78.  A file with a line that is neither blank, a
 * comment nor "key = value" (a key of a-z, 0-9 and _) is not taken for a
 * configuration file: no diagnostics then, only err saying which line --
 * no text of a key file or /etc/shadow given by mistake is ever shown.  Ownership: the struct owns its strings;
 * config_free() releases them.  No persistent state.
 */
#ifndef TT_CONFIG_H
#define TT_CONFIG_H

#include "util.h"

struct tt_config {
	char *client_id;	/* NULL when not set */
	char *tenant;
	char *authority_url;	/* no trailing slash */
	char *graph_url;	/* no trailing slash */
	char *ca_file;		/* NULL: system store */
	char *ca_path;		/* a hashed CA directory, or NULL */
	char *time_zone;	/* IANA zone of the staff member; NULL: TZ */
	int window_past_days;
	int window_future_days;
	unsigned block_showas;	/* SHOWAS_ bits (graph.h) */
	int block_all_day;
	int pull_subjects;
	char *push_subject;
	int push_private;
	int page_size;
	int timeout;
	int retry_budget;
	int max_removals;	/* a count, or a share when max_removals_pct */
	int max_removals_pct;
	char *diag;		/* collected "file:line: message" lines, or NULL */
	int ndiag;
};

void config_defaults(struct tt_config *cfg);
/*
 * Read path over the defaults.  A missing file is fine unless `required`
 * (given with -c or TIMETAP_SYNC_CONFIG).  Returns 0, or -1 when cfg->diag
 * holds one line per problem (err gets TT_E_CONFIG and a summary).
 */
int config_load(struct tt_config *cfg, const char *path, int required,
    struct tt_err *err);
void config_free(struct tt_config *cfg);

/* Whether url is https://, or http:// to a loopback host. */
int config_url_ok(const char *url);

#endif
