/* SPDX-License-Identifier: ISC */
/* Unit tests for config.c: defaults, every key, every error, file:line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "graph.h"
#include "unit.h"

static char path[] = "/tmp/tt-config-XXXXXX";

/* Load text as a config file; returns config_load's result. */
static int
load(struct tt_config *cfg, const char *text)
{
	struct tt_err err = { 0 };
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	config_free(cfg);
	config_defaults(cfg);
	return config_load(cfg, path, 1, &err);
}

/* Does the diagnostics contain ":line: text"? */
static int
says(const struct tt_config *cfg, int line, const char *text)
{
	char want[256], one[512];
	const char *p;

	snprintf(want, sizeof(want), "%s:%d: ", path, line);
	p = cfg->diag ? strstr(cfg->diag, want) : NULL;
	if (p != NULL) {
		snprintf(one, sizeof(one), "%.*s", (int)strcspn(p, "\n"), p);
		p = strstr(one, text);
	}
	if (p == NULL) {
		printf("# diag was: %s\n", cfg->diag ? cfg->diag : "(none)");
		return 0;
	}
	return 1;
}

/* The file text (n bytes, up to a NUL: as long as the literal) is not a
 * configuration file: no diagnostics, and err names `line` and says why. */
#define alien(text, line, why) alien_n(text, sizeof(text) - 1, line, why)
static int
alien_n(const char *text, size_t n, int line, const char *why)
{
	struct tt_config cfg = { 0 };
	struct tt_err err = { 0 };
	char want[256];
	FILE *f = fopen(path, "w");
	int r;

	fwrite(text, 1, n, f);
	fclose(f);
	config_defaults(&cfg);
	snprintf(want, sizeof(want), "%s: not a timetap-sync configuration "
	    "file (line %d %s", path, line, why);
	r = config_load(&cfg, path, 1, &err) == -1 && err.code == TT_E_CONFIG &&
	    cfg.diag == NULL && cfg.ndiag == 0 &&
	    strncmp(err.msg, want, strlen(want)) == 0;
	if (!r)
		printf("# err was: %s; diag: %s\n", err.msg,
		    cfg.diag ? cfg.diag : "(none)");
	config_free(&cfg);
	return r;
}

/* The diagnostics of a file with `line` do not contain text. */
static int
bad_lacks(const char *line, const char *text)
{
	struct tt_config cfg = { 0 };
	int r;

	r = load(&cfg, line) == -1 && cfg.diag != NULL &&
	    strstr(cfg.diag, text) == NULL;
	config_free(&cfg);
	return r;
}

static int
bad(const char *line, const char *text)
{
	struct tt_config cfg = { 0 };
	char buf[512];
	int r;

	snprintf(buf, sizeof(buf), "# comment\n%s\n", line);
	r = load(&cfg, buf) == -1 && cfg.ndiag == 1 && says(&cfg, 2, text);
	config_free(&cfg);
	return r;
}

int
main(void)
{
	struct tt_config cfg = { 0 };
	struct tt_err err = { 0 };
	char buf[64];
	int fd = mkstemp(path);

	close(fd);
	config_defaults(&cfg);
	CHECK(cfg.client_id == NULL, "no default client_id");
	CHECK(strcmp(cfg.tenant, "organizations") == 0, "default tenant");
	CHECK(strcmp(cfg.authority_url, "https://login.microsoftonline.com") == 0,
	    "default authority");
	CHECK(strcmp(cfg.graph_url, "https://graph.microsoft.com/v1.0") == 0,
	    "default graph root");
	CHECK(cfg.window_past_days == 7 && cfg.window_future_days == 180,
	    "default window");
	CHECK(cfg.block_showas == (SHOWAS_BUSY | SHOWAS_OOF), "default showAs");
	CHECK(cfg.block_all_day && cfg.pull_subjects && !cfg.push_private,
	    "default booleans");
	CHECK(strcmp(cfg.push_subject, "{subject}") == 0, "default template");
	CHECK(cfg.page_size == 500 && cfg.timeout == 30 &&
	    cfg.retry_budget == 120, "default numbers");
	CHECK(cfg.max_removals == 50 && cfg.max_removals_pct, "default 50%%");

	CHECK(load(&cfg,
	    "# a full file\n"
	    "client_id = 11111111-2222-3333-4444-555555555555\n"
	    "  tenant=contoso.onmicrosoft.com  \n"
	    "\n"
	    "authority_url = http://127.0.0.1:8080/\n"
	    "graph_url = https://graph.microsoft.us/v1.0\n"
	    "window_past_days = 0\n"
	    "window_future_days = 30\n"
	    "block_showas = busy, tentative,workingElsewhere\n"
	    "block_all_day = no\n"
	    "pull_subjects = off\n"
	    "push_subject = TimeTap: {subject} with {client} (#{id})\n"
	    "push_private = yes\n"
	    "page_size = 1000\n"
	    "timeout = 5\n"
	    "retry_budget = 0\n"
	    "max_removals = 20\n") == 0 && cfg.ndiag == 0, "a full file loads");
	CHECK(strcmp(cfg.client_id, "11111111-2222-3333-4444-555555555555") == 0,
	    "client_id read");
	CHECK(strcmp(cfg.tenant, "contoso.onmicrosoft.com") == 0, "tenant trimmed");
	CHECK(strcmp(cfg.authority_url, "http://127.0.0.1:8080") == 0,
	    "loopback http accepted, trailing slash dropped");
	CHECK(strcmp(cfg.graph_url, "https://graph.microsoft.us/v1.0") == 0,
	    "national cloud graph root");
	CHECK(cfg.window_past_days == 0 && cfg.window_future_days == 30, "window");
	CHECK(cfg.block_showas == (SHOWAS_BUSY | SHOWAS_TENTATIVE |
	    SHOWAS_WORKINGELSEWHERE), "showAs list");
	graph_showas_str(cfg.block_showas, buf, sizeof(buf));
	CHECK(strcmp(buf, "busy,tentative,workingElsewhere") == 0,
	    "showAs back to text: %s", buf);
	CHECK(!cfg.block_all_day && !cfg.pull_subjects && cfg.push_private,
	    "booleans");
	CHECK(strcmp(cfg.push_subject, "TimeTap: {subject} with {client} (#{id})")
	    == 0, "template");
	CHECK(cfg.page_size == 1000 && cfg.timeout == 5 && cfg.retry_budget == 0,
	    "numbers");
	CHECK(cfg.max_removals == 20 && !cfg.max_removals_pct, "absolute cap");

	CHECK(bad("colour = blue", "unknown key 'colour'"), "unknown key");
	CHECK(bad("client_secret = x", "unknown key 'client_secret'"),
	    "secrets are not keys");
	CHECK(bad("client_id =", "client_id: expected"), "empty client_id");
	CHECK(bad("tenant = a b", "tenant: expected"), "bad tenant");
	CHECK(bad("authority_url = http://login.example.com",
	    "must be https://"), "non-loopback http refused");
	CHECK(bad("graph_url = http://127.0.0.1.evil.com/v1.0",
	    "must be https://"), "loopback look-alike refused");
	CHECK(bad("graph_url = ftp://x", "must be https://"), "ftp refused");
	CHECK(bad("graph_url = https://", "must be https://"), "no host refused");
	CHECK(bad("ca_file = /nonexistent/ca.pem", "ca_file: cannot read"),
	    "missing CA file");
	CHECK(bad("window_past_days = -1", "window_past_days: expected"),
	    "negative window");
	CHECK(bad("window_future_days = 0", "window_future_days: expected"),
	    "empty future window");
	CHECK(bad("window_future_days = 9x", "window_future_days: expected"),
	    "junk number");
	CHECK(bad("block_showas = busy,free", "'free' never blocks"), "free");
	CHECK(bad("block_showas = busy,maybe", "unknown showAs 'maybe'"),
	    "unknown showAs");
	CHECK(bad("block_showas = ,", "at least one"), "empty showAs");
	CHECK(bad("block_all_day = perhaps", "block_all_day: expected yes or no"),
	    "bad boolean");
	CHECK(bad("pull_subjects = 2", "pull_subjects: expected yes or no"),
	    "bad boolean 2");
	CHECK(bad("push_private = maybe", "push_private: expected yes or no"),
	    "bad boolean 3");
	CHECK(bad("push_subject = {title}", "unknown placeholder '{title}'"),
	    "unknown placeholder");
	CHECK(bad("push_subject = {subject", "unknown placeholder '{subject'"),
	    "unclosed placeholder");
	CHECK(bad("page_size = 0", "page_size: expected"), "page size 0");
	CHECK(bad("page_size = 1001", "page_size: expected"), "page size 1001");
	CHECK(bad("timeout = 0", "timeout: expected"), "timeout 0");
	CHECK(bad("retry_budget = 3601", "retry_budget: expected"), "budget");
	CHECK(bad("max_removals = 101%", "max_removals: expected"), "101%%");
	CHECK(bad("max_removals = -5", "max_removals: expected"), "negative cap");

	/* All errors are reported, each with its line. */
	CHECK(load(&cfg, "page_size = x\ntimeout = 5\ncolour = red\n"
	    "timeout = 6\n") == -1 && cfg.ndiag == 3 &&
	    says(&cfg, 1, "page_size") && says(&cfg, 3, "unknown key") &&
	    says(&cfg, 4, "timeout: set twice (first on line 2)"),
	    "every error reported with file:line");
	{
		char longline[5000];

		memset(longline, 'x', sizeof(longline) - 2);
		longline[sizeof(longline) - 2] = '\n';
		longline[sizeof(longline) - 1] = '\0';
		CHECK(load(&cfg, longline) == -1 && cfg.diag == NULL,
		    "overlong line: not a configuration file");
	}
	CHECK(alien("# comment\nnonsense\n", 2, "is not \"key = value\""),
	    "a line without =");
	CHECK(alien("-----BEGIN OPENSSH PRIVATE KEY-----\n"
	    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n", 1, "is not"),
	    "a private key: line 1, nothing of it shown");
	CHECK(alien("page_size = x\nb3BlbnNzaC1rZXktdjEAAAAAAAAAAAAA==\n", 2,
	    "is not"), "base64 with '=' is no key: the earlier line's problem "
	    "is not shown either");
	CHECK(alien("root:$6$salt$hash:19000:0:99999:7:::\n", 1, "is not"),
	    "/etc/shadow");
	CHECK(alien("[default]\naws_secret_access_key = AKIAxyz\n", 1, "is not"),
	    "an INI section");
	CHECK(alien("Client_ID = x\n", 1, "is not"), "keys are lower case");
	CHECK(alien("timeout = 5\npage_size = 1\0secret\n", 2, "is not"),
	    "a NUL byte");
	CHECK(alien("timeout = 5\x1b[2J\n", 1, "is not"), "a control byte");
	CHECK(alien("= value\n", 1, "is not"), "no key");
	CHECK(load(&cfg, "# only comments\n\n  \t\n# x: y\n") == 0 &&
	    cfg.ndiag == 0, "comments and blank lines are fine");
	CHECK(bad("db_password = hunter2", "unknown key 'db_password'") &&
	    bad_lacks("db_password = hunter2", "hunter2"),
	    "an unknown key is named, its value never shown");
	config_free(&cfg);
	config_defaults(&cfg);
	CHECK(config_load(&cfg, "/nonexistent/config", 0, &err) == 0,
	    "a missing default config is fine");
	CHECK(config_load(&cfg, "/nonexistent/config", 1, &err) == -1 &&
	    err.code == TT_E_CONFIG, "a missing explicit config is an error");
	CHECK(config_url_ok("http://localhost:1234/x") &&
	    config_url_ok("http://[::1]:80") && config_url_ok("https://a.b") &&
	    !config_url_ok("http://10.0.0.1") && !config_url_ok("http://"),
	    "url rules");
	config_free(&cfg);
	unlink(path);
	return DONE();
}
