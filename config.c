/* SPDX-License-Identifier: ISC */
/*
 * config.c -- parse the key = value configuration file; see config.h.
 * No persistent state.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "graph.h"

#define LINE_MAX_LEN 4096	/* bytes, with the newline */

void
config_defaults(struct tt_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->tenant = strdup("organizations");
	cfg->authority_url = strdup("https://login.microsoftonline.com");
	cfg->graph_url = strdup("https://graph.microsoft.com/v1.0");
	cfg->window_past_days = 7;
	cfg->window_future_days = 180;
	cfg->block_showas = SHOWAS_BUSY | SHOWAS_OOF;
	cfg->block_all_day = 1;
	cfg->pull_subjects = 1;
	cfg->push_subject = strdup("{subject}");
	cfg->page_size = 500;
	cfg->timeout = 30;
	cfg->retry_budget = 120;
	cfg->max_removals = 50;
	cfg->max_removals_pct = 1;
}

void
config_free(struct tt_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->client_id);
	free(cfg->tenant);
	free(cfg->authority_url);
	free(cfg->graph_url);
	free(cfg->ca_file);
	free(cfg->ca_path);
	free(cfg->time_zone);
	free(cfg->push_subject);
	free(cfg->diag);
	memset(cfg, 0, sizeof(*cfg));
}

/* Append one "file:line: message" line to the diagnostics. */
static void __attribute__((format(printf, 4, 5)))
diag(struct tt_config *cfg, const char *file, int line, const char *fmt, ...)
{
	char msg[600], clean[700], *n;
	size_t old = cfg->diag ? strlen(cfg->diag) : 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tt_sanitize(clean, sizeof(clean), msg);
	if (asprintf(&n, "%s%s:%d: %s\n", cfg->diag ? cfg->diag : "", file,
	    line, clean) < 0)
		return;
	(void)old;
	free(cfg->diag);
	cfg->diag = n;
	cfg->ndiag++;
}

static int
is_loopback_host(const char *h, size_t n)
{
	return (n == 9 && strncasecmp(h, "localhost", 9) == 0) ||
	    (n == 5 && strncmp(h, "[::1]", 5) == 0) ||
	    (n >= 9 && strncmp(h, "127.", 4) == 0 &&
	     strspn(h, "0123456789.") == n);
}

int
config_url_ok(const char *url)
{
	const char *host, *end;

	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return 0;
	if (*host == '\0' || *host == '/' || strpbrk(url, " \t\"<>\\") != NULL)
		return 0;
	/* No user-info: "http://localhost@evil.example" is not loopback. */
	if (memchr(host, '@', strcspn(host, "/?#")) != NULL)
		return 0;
	if (host == url + 8)
		return 1;
	end = host[0] == '[' ? strchr(host, ']') : host + strcspn(host, ":/");
	if (end == NULL)
		return 0;
	if (host[0] == '[')
		end++;
	return is_loopback_host(host, (size_t)(end - host));
}

static int
parse_bool(const char *v, int *out)
{
	static const char *yes[] = { "yes", "true", "on", "1" };
	static const char *no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, 0;
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

static int
parse_int(const char *v, int lo, int hi, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end != '\0' || n < lo || n > hi)
		return -1;
	*out = (int)n;
	return 0;
}

static void
set_str(char **slot, const char *v)
{
	free(*slot);
	*slot = strdup(v);
}

static int
tenant_ok(const char *v)
{
	size_t i;

	if (*v == '\0' || strlen(v) > 256)
		return 0;
	for (i = 0; v[i] != '\0'; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '-' && v[i] != '.')
			return 0;
	return 1;
}

/* {subject}, {client} and {id} are the only placeholders. */
static int
template_ok(const char *v, char *bad, size_t badlen)
{
	const char *p = v, *close;

	while ((p = strchr(p, '{')) != NULL) {
		close = strchr(p, '}');
		if (close == NULL) {
			strlcpy(bad, p, badlen);
			return 0;
		}
		if (strncmp(p, "{subject}", 9) && strncmp(p, "{client}", 8) &&
		    strncmp(p, "{id}", 4)) {
			snprintf(bad, badlen, "%.*s", (int)(close - p + 1), p);
			return 0;
		}
		p = close + 1;
	}
	return 1;
}

/* Apply one key = value; returns NULL or a message. */
static const char *
apply(struct tt_config *cfg, const char *key, const char *v, char *buf,
    size_t blen)
{
	int n;

	if (strcmp(key, "client_id") == 0) {
		if (*v == '\0' || strlen(v) > 128 || strpbrk(v, " \t") != NULL)
			return "client_id: expected the application (client) id";
		set_str(&cfg->client_id, v);
	} else if (strcmp(key, "tenant") == 0) {
		if (!tenant_ok(v))
			return "tenant: expected common, organizations, "
			    "consumers, a tenant id or a domain";
		set_str(&cfg->tenant, v);
	} else if (strcmp(key, "authority_url") == 0 ||
	    strcmp(key, "graph_url") == 0) {
		char **slot = key[0] == 'a' ? &cfg->authority_url : &cfg->graph_url;
		size_t len;

		if (!config_url_ok(v)) {
			snprintf(buf, blen, "%s: '%s' must be https:// (http:// "
			    "only for a loopback host)", key, v);
			return buf;
		}
		set_str(slot, v);
		len = strlen(*slot);
		while (len > 0 && (*slot)[len - 1] == '/')
			(*slot)[--len] = '\0';
	} else if (strcmp(key, "ca_file") == 0) {
		if (access(v, R_OK) != 0) {
			snprintf(buf, blen, "ca_file: cannot read '%s': %s", v,
			    strerror(errno));
			return buf;
		}
		set_str(&cfg->ca_file, v);
	} else if (strcmp(key, "ca_path") == 0) {
		struct stat sb;

		if (stat(v, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
			snprintf(buf, blen, "ca_path: '%.200s' is not a directory "
			    "(a directory of hashed CA certificates, as `openssl "
			    "rehash` makes)", v);
			return buf;
		}
		if (stat(v, &sb) != 0 || access(v, R_OK | X_OK) != 0) {
			snprintf(buf, blen, "ca_path: cannot read '%.200s': %s",
			    v, strerror(errno));
			return buf;
		}
		set_str(&cfg->ca_path, v);
	} else if (strcmp(key, "time_zone") == 0) {
		if (!tt_zone_ok(v)) {
			snprintf(buf, blen, "time_zone: unknown zone '%.100s' (an "
			    "IANA name such as Europe/Berlin)", v);
			return buf;
		}
		set_str(&cfg->time_zone, v);
	} else if (strcmp(key, "window_past_days") == 0) {
		if (parse_int(v, 0, 3650, &cfg->window_past_days))
			return "window_past_days: expected a number of days, 0 to 3650";
	} else if (strcmp(key, "window_future_days") == 0) {
		if (parse_int(v, 1, 3650, &cfg->window_future_days))
			return "window_future_days: expected a number of days, 1 to 3650";
	} else if (strcmp(key, "block_showas") == 0) {
		char *copy = strdup(v), *tok, *save = NULL;
		unsigned bits = 0, bit;

		if (copy == NULL)
			return "out of memory";
		for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
		    tok = strtok_r(NULL, ", \t", &save)) {
			bit = graph_showas_bit(tok);
			if (bit == SHOWAS_FREE) {
				free(copy);
				return "block_showas: 'free' never blocks";
			}
			if (bit == 0) {
				snprintf(buf, blen, "block_showas: unknown showAs "
				    "'%s' (busy, oof, tentative, "
				    "workingElsewhere, unknown)", tok);
				free(copy);
				return buf;
			}
			bits |= bit;
		}
		free(copy);
		if (bits == 0)
			return "block_showas: expected at least one showAs value";
		cfg->block_showas = bits;
	} else if (strcmp(key, "block_all_day") == 0) {
		if (parse_bool(v, &cfg->block_all_day))
			return "block_all_day: expected yes or no";
	} else if (strcmp(key, "pull_subjects") == 0) {
		if (parse_bool(v, &cfg->pull_subjects))
			return "pull_subjects: expected yes or no";
	} else if (strcmp(key, "push_private") == 0) {
		if (parse_bool(v, &cfg->push_private))
			return "push_private: expected yes or no";
	} else if (strcmp(key, "push_subject") == 0) {
		char bad[64];

		if (*v == '\0' || strlen(v) > 255)
			return "push_subject: expected a template of 1 to 255 characters";
		if (!template_ok(v, bad, sizeof(bad))) {
			snprintf(buf, blen, "push_subject: unknown placeholder "
			    "'%s' ({subject}, {client}, {id})", bad);
			return buf;
		}
		set_str(&cfg->push_subject, v);
	} else if (strcmp(key, "page_size") == 0) {
		if (parse_int(v, 1, 1000, &cfg->page_size))
			return "page_size: expected a number, 1 to 1000";
	} else if (strcmp(key, "timeout") == 0) {
		if (parse_int(v, 1, 600, &cfg->timeout))
			return "timeout: expected seconds, 1 to 600";
	} else if (strcmp(key, "retry_budget") == 0) {
		if (parse_int(v, 0, 3600, &cfg->retry_budget))
			return "retry_budget: expected seconds, 0 to 3600";
	} else if (strcmp(key, "max_removals") == 0) {
		char num[32];
		size_t len = strlen(v);
		int pct = len > 0 && v[len - 1] == '%';

		if (len >= sizeof(num))
			return "max_removals: expected a count or a percentage";
		strlcpy(num, v, sizeof(num));
		if (pct)
			num[len - 1] = '\0';
		if (parse_int(num, 0, pct ? 100 : 1000000, &n))
			return "max_removals: expected a count or a percentage "
			    "such as 50%";
		cfg->max_removals = n;
		cfg->max_removals_pct = pct;
	} else {
		snprintf(buf, blen, "unknown key '%s'", key);
		return buf;
	}
	return NULL;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * Whether a line has the shape of this file's lines: blank, a comment, or
 * "key = value" with a key that could be one (a-z, 0-9, _; up to 64), and
 * no NUL or control byte.  A file with any other line is not a
 * configuration file -- -c ~/.ssh/id_rsa, /etc/shadow, a binary -- and
 * none of it is shown: a diagnostic quotes only a key of that shape or
 * the value of a known key.
 */
static int
config_shaped(const char *line, size_t n)
{
	const char *p;
	size_t k;

	for (k = 0; k < n; k++) {
		unsigned char c = (unsigned char)line[k];

		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') ||
		    c == 0x7f)
			return 0;
	}
	p = line + strspn(line, " \t\r\n");
	if (*p == '\0' || *p == '#')
		return 1;
	k = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789_");
	if (k == 0 || k > 64)
		return 0;
	p += k;
	p += strspn(p, " \t");
	return *p == '=';
}

int
config_load(struct tt_config *cfg, const char *path, int required,
    struct tt_err *err)
{
	static const char *keys[] = { "client_id", "tenant", "authority_url",
	    "graph_url", "ca_file", "ca_path", "window_past_days",
	    "window_future_days",
	    "block_showas", "block_all_day", "pull_subjects", "push_subject",
	    "push_private", "page_size", "timeout", "retry_budget",
	    "max_removals", "time_zone" };
	int seen[sizeof(keys) / sizeof(keys[0])] = { 0 };
	char *line = NULL, buf[600], *key, *val, *eq;
	const char *msg;
	size_t cap = 0, i;
	ssize_t n;
	FILE *f;
	int lineno = 0, alien = 0;	/* 1: not key = value, 2: too long */

	f = fopen(path, "r");
	if (f == NULL) {
		if (errno == ENOENT && !required)
			return 0;
		return tt_fail(err, TT_E_CONFIG, "cannot read config %s: %s",
		    path, strerror(errno));
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		if ((alien = n > LINE_MAX_LEN ? 2 :
		    !config_shaped(line, (size_t)n)) != 0)
			break;
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(key, keys[i]) == 0)
				break;
		if (i < sizeof(keys) / sizeof(keys[0]) && seen[i]) {
			diag(cfg, path, lineno, "%s: set twice (first on line %d)",
			    key, seen[i]);
			continue;
		}
		msg = apply(cfg, key, val, buf, sizeof(buf));
		if (msg != NULL)
			diag(cfg, path, lineno, "%s", msg);
		else if (i < sizeof(keys) / sizeof(keys[0]))
			seen[i] = lineno;
	}
	if (!alien && ferror(f))
		diag(cfg, path, lineno, "read error");
	fclose(f);
	free(line);
	if (alien) {
		/* What was said of earlier lines may quote this file too. */
		free(cfg->diag);
		cfg->diag = NULL;
		cfg->ndiag = 0;
		if (alien == 2)
			return tt_fail(err, TT_E_CONFIG, "%s: not a timetap-sync "
			    "configuration file (line %d is longer than %d "
			    "bytes)", path, lineno, LINE_MAX_LEN);
		return tt_fail(err, TT_E_CONFIG, "%s: not a timetap-sync "
		    "configuration file (line %d is not \"key = value\")",
		    path, lineno);
	}
	if (cfg->ndiag > 0)
		return tt_fail(err, TT_E_CONFIG, "%s: %d error%s", path, cfg->ndiag,
		    cfg->ndiag == 1 ? "" : "s");
	return 0;
}
