/* SPDX-License-Identifier: ISC */
/*
 * util.c -- errors, times and sanitising; see util.h.  No persistent state.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <ctype.h>
#include <langinfo.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

int
tt_fail(struct tt_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	tt_vmessage(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->code = code;
	return -1;
}

void
tt_vmessage(char *dst, size_t len, const char *fmt, va_list ap)
{
	char raw[1024];

	vsnprintf(raw, sizeof(raw), fmt, ap);
	/* Messages often quote network or user text: keep them one clean line. */
	tt_sanitize(dst, len, raw);
}

/*
 * An IANA zone name the C library can load: letters, digits, "_+-" and
 * "/" between parts (no "..", no absolute path), present under TZDIR
 * (default /usr/share/zoneinfo).
 */
int
tt_zone_ok(const char *v)
{
	const char *dir = getenv("TZDIR");
	char *path = NULL;
	int ok;

	if (*v == '\0' || *v == '/' || strlen(v) > 64 || strstr(v, "..") ||
	    strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_+-/") != strlen(v))
		return 0;
	if (asprintf(&path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo",
	    v) < 0)
		return 0;
	ok = access(path, R_OK) == 0;
	free(path);
	return ok;
}

void
tt_wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

int
tt_reserve(void *arrp, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *old, *grown;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	memcpy(&old, arrp, sizeof(old));
	if ((grown = reallocarray(old, n, size)) == NULL)
		return -1;
	memcpy(arrp, &grown, sizeof(grown));
	*cap = n;
	return 0;
}

static tt_time local_midnight(int, int, int);

void
tt_set_zone(const char *zone)
{
	if (zone != NULL)
		setenv("TZ", zone, 1);
	else
		unsetenv("TZ");
	tzset();
}

/*
 * The more serious of two codes.  Order: internal and local faults first
 * (the installation is broken), then configuration, login or consent
 * needed, the removal cap (these need a person), the service down, for
 * now, the book busy, refused data, usage; last, new conflicts (the
 * pass itself went well: the book needs a person).
 */
int
tt_worse(int a, int b)
{
	static const int order[] = { TT_E_INTERNAL, TT_E_LOCAL, TT_E_CONFIG,
	    TT_E_LOGIN, TT_E_CONSENT, TT_E_CAPPED, TT_E_DOWN, TT_E_LATER,
	    TT_E_BUSY, TT_E_DATA, TT_E_USAGE, TT_E_CONFLICT };
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (a == order[i] || b == order[i])
			return order[i];
	return a ? a : b;
}

static int
days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 ? 28 + leap : dm[m - 1];
}

/* Read exactly n digits. */
static int
digits(const char **pp, int n, int *out)
{
	const char *p = *pp;
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*pp = p + n;
	*out = v;
	return 0;
}

static int
parse_ymd(const char **pp, int *y, int *m, int *d)
{
	const char *p = *pp;

	if (digits(&p, 4, y) || *p++ != '-' || digits(&p, 2, m) ||
	    *p++ != '-' || digits(&p, 2, d))
		return -1;
	if (*y < 1970 || *y > 9999 || *m < 1 || *m > 12 || *d < 1 ||
	    *d > days_in_month(*y, *m))
		return -1;
	*pp = p;
	return 0;
}

int
tt_parse_date(const char *s, int *y, int *m, int *d)
{
	const char *p = s;

	if (s == NULL || parse_ymd(&p, y, m, d))
		return -1;
	return (*p == '\0' || *p == 'T' || *p == ' ') ? 0 : -1;
}

void
tt_date_add(int *y, int *m, int *d, int days)
{
	struct tm tm = { 0 };
	time_t t;

	tm.tm_year = *y - 1900;
	tm.tm_mon = *m - 1;
	tm.tm_mday = *d + days;
	tm.tm_hour = 12;
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	*y = tm.tm_year + 1900;
	*m = tm.tm_mon + 1;
	*d = tm.tm_mday;
}

/*
 * Wall time in TZ to an instant.  mktime() alone cannot tell a DST gap from
 * a valid time, so try both DST flags and keep the answers that round-trip.
 * Returns 0, or 1 when the wall time is ambiguous (the earlier instant is
 * chosen), or -1 when it does not exist.
 */
static int
local_to_utc(const struct tm *wall, tt_time *out)
{
	tt_time found[3];
	int nfound = 0, dst, i;

	for (dst = -1; dst <= 1; dst++) {
		struct tm tm = *wall, back;
		time_t t;

		tm.tm_isdst = dst;
		t = mktime(&tm);
		if (localtime_r(&t, &back) == NULL)
			continue;
		if (back.tm_year != wall->tm_year || back.tm_mon != wall->tm_mon ||
		    back.tm_mday != wall->tm_mday || back.tm_hour != wall->tm_hour ||
		    back.tm_min != wall->tm_min || back.tm_sec != wall->tm_sec)
			continue;
		for (i = 0; i < nfound; i++)
			if (found[i] == t)
				break;
		if (i == nfound)
			found[nfound++] = t;
	}
	if (nfound == 0)
		return -1;
	*out = found[0];
	for (i = 1; i < nfound; i++)
		if (found[i] < *out)
			*out = found[i];
	return nfound > 1;
}

tt_time
tt_local_midnight(int y, int m, int d)
{
	/* The last few days asked, in this zone (TZ, as mktime() reads
	 * it; a zone too long for the memo is not remembered): a page of
	 * all-day events asks the same days again and again, and each
	 * answer costs three mktime() and three localtime() calls. */
	static struct {
		int y, m, d;
		char zone[64];	/* "" for no TZ; set when filled */
		int used;
		tt_time t;
	} memo[8];
	static unsigned next;
	const char *tz = getenv("TZ");
	tt_time t;
	size_t i;

	if (tz == NULL)
		tz = "";
	for (i = 0; i < sizeof(memo) / sizeof(memo[0]); i++)
		if (memo[i].used && memo[i].y == y && memo[i].m == m &&
		    memo[i].d == d && strcmp(memo[i].zone, tz) == 0)
			return memo[i].t;
	t = local_midnight(y, m, d);
	if (strlen(tz) < sizeof(memo[0].zone)) {
		i = next++ % (sizeof(memo) / sizeof(memo[0]));
		memo[i].y = y, memo[i].m = m, memo[i].d = d;
		memcpy(memo[i].zone, tz, strlen(tz) + 1);
		memo[i].used = 1;
		memo[i].t = t;
	}
	return t;
}

static tt_time
local_midnight(int y, int m, int d)
{
	struct tm wall = { 0 };
	tt_time t;
	int step;

	wall.tm_year = y - 1900;
	wall.tm_mon = m - 1;
	wall.tm_mday = d;
	/* Some zones skip midnight itself: take the first minute that exists. */
	for (step = 0; step < 24 * 4; step++) {
		wall.tm_hour = step / 4;
		wall.tm_min = (step % 4) * 15;
		if (local_to_utc(&wall, &t) >= 0)
			return t;
	}
	wall.tm_hour = wall.tm_min = 0;
	return (tt_time)timegm(&wall);
}

tt_time
tt_local_wall(int y, int m, int d, int minutes)
{
	struct tm wall = { 0 };
	tt_time t;
	int step;

	if (minutes >= 24 * 60) {
		tt_date_add(&y, &m, &d, 1);
		return tt_local_midnight(y, m, d);
	}
	wall.tm_year = y - 1900;
	wall.tm_mon = m - 1;
	wall.tm_mday = d;
	/* In a gap: the first minute after it that exists (the clock's
	 * jump), at most the rest of the day. */
	for (step = minutes < 0 ? 0 : minutes; step < 24 * 60; step++) {
		wall.tm_hour = step / 60;
		wall.tm_min = step % 60;
		if (local_to_utc(&wall, &t) >= 0)
			return t;
	}
	tt_date_add(&y, &m, &d, 1);
	return tt_local_midnight(y, m, d);
}

void
tt_local_date(tt_time t, int *y, int *m, int *d, int *wday)
{
	time_t tt = (time_t)t;
	struct tm tm = { 0 };

	if (localtime_r(&tt, &tm) == NULL)
		gmtime_r(&tt, &tm);
	*y = tm.tm_year + 1900;
	*m = tm.tm_mon + 1;
	*d = tm.tm_mday;
	if (wday != NULL)
		*wday = (tm.tm_wday + 6) % 7;
}

int
tt_parse_time(const char *s, tt_time *out, struct tt_err *err)
{
	const char *p = s;
	struct tm wall = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0, oh, om, sign, r;

	if (s == NULL)
		goto bad;
	if (parse_ymd(&p, &y, &mo, &d)) {
		if (digits(&p, 4, &y) == 0 && *p == '-' && (y < 1970 || y > 9999))
			goto range;
		goto bad;
	}
	if (*p == 'T' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			goto bad;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				goto bad;
			if (*p == '.' || *p == ',') {	/* fractions are dropped */
				p++;
				if (!isdigit((unsigned char)*p))
					goto bad;
				while (isdigit((unsigned char)*p))
					p++;
			}
		}
		if (h > 23 || mi > 59 || sec > 59)
			goto bad;
	} else if (*p != '\0')
		goto bad;

	wall.tm_year = y - 1900;
	wall.tm_mon = mo - 1;
	wall.tm_mday = d;
	wall.tm_hour = h;
	wall.tm_min = mi;
	wall.tm_sec = sec;

	if (*p == 'Z' || *p == 'z') {
		if (p[1] != '\0')
			goto bad;
		*out = (tt_time)timegm(&wall);
	} else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh))
			goto bad;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &om) || *p != '\0' || oh > 23 || om > 59)
			goto bad;
		*out = (tt_time)timegm(&wall) - sign * (oh * 3600 + om * 60);
	} else if (*p != '\0')
		goto bad;
	else if ((r = local_to_utc(&wall, out)) < 0)
		return tt_fail(err, TT_E_USAGE, "time '%s' does not exist in the "
		    "local time zone (daylight saving change); give an offset", s);
	/* What the book, Graph's dateTime and the formatting all hold. */
	if (*out < 0 || *out > TT_TIME_MAX)
		goto range;
	return 0;
range:
	return tt_fail(err, TT_E_USAGE, "time '%s' is outside the range the "
	    "book holds, 1970-01-01 to 9999-12-31 (UTC)", s);
bad:
	return tt_fail(err, TT_E_USAGE, "bad time '%s': use ISO 8601, e.g. "
	    "2026-03-29T09:00 (local) or 2026-03-29T09:00+02:00", s ? s : "");
}

/* A number of digits at p (at most 6), advancing p; -1 when none. */
static long
number(const char **p)
{
	long n = 0;
	int k = 0;

	while (isdigit((unsigned char)**p) && k < 6) {
		n = n * 10 + (**p - '0');
		(*p)++;
		k++;
	}
	return k == 0 || isdigit((unsigned char)**p) ? -1 : n;
}

int
tt_parse_duration(const char *s, tt_time *out, struct tt_err *err)
{
	const char *p = s ? s : "";
	long h = 0, m = 0, n;

	if ((n = number(&p)) < 0)
		goto bad;
	if (*p == 'h') {
		h = n;
		p++;
		if (*p != '\0') {
			if ((m = number(&p)) < 0 || *p++ != 'm')
				goto bad;
		}
	} else if (*p == 'm' || *p == '\0') {
		m = n;
		if (*p == 'm')
			p++;
	} else
		goto bad;
	if (*p != '\0')
		goto bad;
	if (h * 60 + m < 1 || h * 60 + m > TT_DURATION_MAX / 60)
		return tt_fail(err, TT_E_USAGE, "duration '%s' is outside 1 "
		    "minute to %d days", s, (int)(TT_DURATION_MAX / 86400));
	*out = (tt_time)(h * 3600 + m * 60);
	return 0;
bad:
	return tt_fail(err, TT_E_USAGE, "bad duration '%s': use minutes or "
	    "hours, e.g. 30, 45m, 2h, 1h30m", s ? s : "");
}

int
tt_parse_clock(const char *s, int *minutes, struct tt_err *err)
{
	const char *p = s ? s : "";
	int h, m;

	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &m) ||
	    *p != '\0' || m > 59 || h > 24 || (h == 24 && m != 0))
		return tt_fail(err, TT_E_USAGE, "bad time of day '%s': use "
		    "HH:MM, 00:00 to 24:00", s ? s : "");
	*minutes = h * 60 + m;
	return 0;
}

int
tt_parse_utc(const char *s, tt_time *out)
{
	const char *p = s;
	struct tm tm = { 0 };
	int y, mo, d, h, mi, sec = 0;

	if (s == NULL || parse_ymd(&p, &y, &mo, &d) || *p++ != 'T' ||
	    digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
		return -1;
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &sec))
			return -1;
	}
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if (*p == 'Z')
		p++;
	if (*p != '\0' || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	/* A leap second (":60") is the next minute's first: past the last
	 * instant the book holds when it ends 9999-12-31. */
	*out = (tt_time)timegm(&tm);
	return *out > TT_TIME_MAX ? -1 : 0;
}

char *
tt_fmt_local(tt_time t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(buf, len, "?");
	return buf;
}

char *
tt_fmt_span(tt_time s, tt_time e, char *buf, size_t len)
{
	char a[32], b[32];

	tt_fmt_local(s, a, sizeof(a));
	tt_fmt_local(e, b, sizeof(b));
	snprintf(buf, len, "%s-%s", a, strlen(b) > 11 &&
	    strncmp(a, b, 11) == 0 ? b + 11 : b);
	return buf;
}

char *
tt_fmt_utc(tt_time t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
	return buf;
}

tt_time
tt_now(void)
{
	return (tt_time)time(NULL);
}

/* Length of the valid UTF-8 sequence at p and its code point, or 0. */
static size_t
utf8_seq(const unsigned char *p, unsigned long *cp)
{
	size_t n, i;
	unsigned long c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	} else if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Skip an escape sequence starting at ESC; returns bytes consumed. */
static size_t
skip_escape(const unsigned char *p)
{
	size_t i = 1;

	if (p[1] == '[') {		/* CSI: parameters, then a final byte */
		for (i = 2; p[i] != '\0'; i++)
			if (p[i] >= 0x40 && p[i] <= 0x7e)
				return i + 1;
		return i;
	}
	if (p[1] == ']' || p[1] == 'P' || p[1] == '_' || p[1] == '^') {
		/* OSC/DCS/APC/PM: up to BEL or ST (ESC \) */
		for (i = 2; p[i] != '\0'; i++) {
			if (p[i] == 0x07)
				return i + 1;
			if (p[i] == 0x1b && p[i + 1] == '\\')
				return i + 2;
		}
		return i;
	}
	return p[1] != '\0' ? 2 : 1;
}

/* tt_sanitize with `bad` (one character) for each byte that is not
 * UTF-8. */
static char *
sanitize(char *dst, size_t dstlen, const char *src, const char *bad)
{
	const unsigned char *p = (const unsigned char *)(src ? src : "");
	size_t o = 0, n, nbad = strlen(bad);
	unsigned long cp;

	if (dstlen == 0)
		return dst;
	while (*p != '\0') {
		if (*p == 0x1b) {
			p += skip_escape(p);
			continue;
		}
		n = utf8_seq(p, &cp);
		if (n == 0) {		/* invalid byte */
			if (o + nbad >= dstlen)
				break;
			memcpy(dst + o, bad, nbad);
			o += nbad;
			p++;
			continue;
		}
		if (cp == '\t' || cp == '\n' || cp == '\r') {
			p++;
			if (o + 1 >= dstlen)
				break;
			dst[o++] = ' ';
			continue;
		}
		/* C0, DEL, C1 and the bidirectional overrides are dropped. */
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
		    (cp >= 0x202a && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069)) {
			p += n;
			continue;
		}
		if (o + n >= dstlen)
			break;
		memcpy(dst + o, p, n);
		o += n;
		p += n;
	}
	dst[o] = '\0';
	return dst;
}

char *
tt_sanitize(char *dst, size_t dstlen, const char *src)
{
	return sanitize(dst, dstlen, src, "?");
}

int
tt_utf8_locale(void)
{
	const char *cs = nl_langinfo(CODESET);

	return cs != NULL && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
}

static long crash_n;

void
tt_crash_point(void)
{
	static long at = -1;

	if (at < 0) {
		const char *e = getenv("TIMETAP_SYNC_CRASH_AT");

		at = e ? strtol(e, NULL, 10) : 0;
	}
	if (++crash_n == at)
		_exit(99);
}

long
tt_crash_points(void)
{
	return crash_n;
}

size_t
tt_utf8_len(const unsigned char *p, size_t n)
{
	unsigned char buf[5] = { 0 };
	unsigned long cp;
	size_t k;

	if (n == 0)
		return 0;
	if (*p < 0x80)
		return 1;
	/* utf8_seq reads up to 4 bytes and stops at a NUL: a bounded copy. */
	k = n < 4 ? n : 4;
	memcpy(buf, p, k);
	return utf8_seq(buf, &cp);
}

/* Walk s up to `units` UTF-16 code units at most: how many it holds,
 * and in *end where the last whole character ends. */
static size_t
utf16_walk(const char *s, size_t units, const char **end)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	size_t n, w, used = 0;

	while (*p != '\0') {
		if ((n = utf8_seq(p, &cp)) == 0) {
			n = 1;	/* not UTF-8: one byte, one unit */
			cp = 0;
		}
		w = cp > 0xffff ? 2 : 1;	/* a surrogate pair */
		if (used + w > units)
			break;
		used += w;
		p += n;
	}
	*end = (const char *)p;
	return used;
}

size_t
tt_utf16_units(const char *s)
{
	const char *end;

	return utf16_walk(s, SIZE_MAX, &end);
}

void
tt_utf16_cut(char *s, size_t units)
{
	const char *end;

	utf16_walk(s, units, &end);
	s[end - s] = '\0';
}

int
tt_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	size_t n;

	while (*p != '\0') {
		if ((n = utf8_seq(p, &cp)) == 0)
			return 0;
		p += n;
	}
	return 1;
}

char *
tt_sanitize_dup(const char *src)
{
	size_t n = strlen(src ? src : "") + 1;
	char *d = malloc(n);

	/* Sanitising never makes text longer: the copy is always whole. */
	return d != NULL ? tt_sanitize(d, n, src) : NULL;
}

char *
tt_sanitize_utf8_dup(const char *src)
{
	size_t n = strlen(src ? src : "");
	char *d;

	/* Each invalid byte becomes three: U+FFFD. */
	if (n > (SIZE_MAX - 1) / 3 || (d = malloc(3 * n + 1)) == NULL)
		return NULL;
	return sanitize(d, 3 * n + 1, src, "\xef\xbf\xbd");
}

char *
tt_url_origin(const char *url)
{
	const char *p = strstr(url, "://");
	size_t n, i;
	char *o;

	if (p == NULL)
		return strdup("");
	n = (size_t)(p + 3 - url);
	n += strcspn(url + n, "/?#");
	if ((o = strndup(url, n)) == NULL)
		return NULL;
	/* Scheme and host compare without case; a user-info part stays. */
	for (i = 0; o[i] != '\0'; i++)
		o[i] = (char)tolower((unsigned char)o[i]);
	return o;
}

/*
 * The tokens are in this process's memory: no core file of it (a crash
 * under cron would leave one wherever the system puts them), and no
 * other process of the same user may ptrace it or read /proc/PID/mem.
 * LeakSanitizer stops the world through ptrace even so: it makes the
 * process dumpable again for the moment of its check.
 */
void
tt_no_core(void)
{
	const struct rlimit none = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &none);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}
