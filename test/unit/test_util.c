/* SPDX-License-Identifier: ISC */
/* Unit tests for util.c: time parsing and formatting across DST, sanitising. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unit.h"
#include "util.h"

static void
set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static tt_time
parse(const char *s)
{
	tt_time t = -1;
	struct tt_err err = { 0 };

	if (tt_parse_time(s, &t, &err) != 0)
		return -1;
	return t;
}

static int
refused(const char *s, int code)
{
	tt_time t;
	struct tt_err err = { 0 };

	return tt_parse_time(s, &t, &err) == -1 && err.code == code &&
	    err.msg[0] != '\0';
}

static const char *
local(tt_time t)
{
	static char buf[32];

	return tt_fmt_local(t, buf, sizeof(buf));
}

static const char *
utc(tt_time t)
{
	static char buf[32];

	return tt_fmt_utc(t, buf, sizeof(buf));
}

static int
san(const char *in, const char *want)
{
	char buf[128];

	tt_sanitize(buf, sizeof(buf), in);
	if (strcmp(buf, want) != 0) {
		printf("# sanitize got '%s' want '%s'\n", buf, want);
		return 0;
	}
	return 1;
}

static tt_time
dur(const char *s)
{
	tt_time t = -1;
	struct tt_err err = { 0 };

	if (tt_parse_duration(s, &t, &err) != 0)
		return err.code == TT_E_USAGE && err.msg[0] ? -1 : -2;
	return t;
}

static int
clock_of(const char *s)
{
	int m = -1;
	struct tt_err err = { 0 };

	if (tt_parse_clock(s, &m, &err) != 0)
		return err.code == TT_E_USAGE && err.msg[0] ? -1 : -2;
	return m;
}

int
main(void)
{
	tt_time t;
	int y, m, d, wd;
	char small[8];

	/* Durations and times of day (explain, free). */
	CHECK(dur("30") == 1800 && dur("45m") == 2700 && dur("2h") == 7200 &&
	    dur("1h30m") == 5400 && dur("0h1m") == 60, "durations parse");
	CHECK(dur("") == -1 && dur("0") == -1 && dur("1h30") == -1 &&
	    dur("m") == -1 && dur("-5") == -1 && dur("1x") == -1 &&
	    dur("1234567") == -1 && dur("745h") == -1 && dur(NULL) == -1 &&
	    dur("744h") == 744 * 3600, "bad durations refused, 31 days kept");
	CHECK(clock_of("09:00") == 540 && clock_of("24:00") == 1440 &&
	    clock_of("00:00") == 0 && clock_of("9:00") == -1 &&
	    clock_of("24:01") == -1 && clock_of("12:60") == -1 &&
	    clock_of("12:00x") == -1, "times of day parse");

	set_tz("UTC");
	CHECK(parse("2026-03-29T09:00:00Z") == 1774774800, "Z offset");
	CHECK(parse("2026-03-29T09:00+02:00") == 1774767600, "+02:00 offset");
	CHECK(parse("2026-03-29T09:00-0530") == 1774794600, "-0530 offset");
	CHECK(parse("2026-03-29T09:00:00.1234567Z") == 1774774800,
	    "fractions dropped");
	CHECK(parse("2026-03-29 09:00") == 1774774800, "space separator, local");
	CHECK(parse("2026-03-29") == 1774742400, "date only is local midnight");
	{
		struct tt_err e1 = { 0 }, e2 = { 0 }, e3 = { 0 };
		tt_time t2;

		CHECK(tt_parse_time("1969-12-31T10:00Z", &t2, &e1) == -1 &&
		    strstr(e1.msg, "outside the range") != NULL &&
		    tt_parse_time("1970-01-01T00:30+01:00", &t2, &e2) == -1 &&
		    strstr(e2.msg, "outside the range") != NULL &&
		    tt_parse_time("9999-12-31T23:30-05:00", &t2, &e3) == -1 &&
		    strstr(e3.msg, "outside the range") != NULL,
		    "instants before 1970 or after 9999 (also by an offset) are "
		    "refused as outside the book's range: %s", e3.msg);
		CHECK(parse("9999-12-31T23:59:59Z") == TT_TIME_MAX &&
		    parse("1970-01-01T00:00Z") == 0, "the range's two ends are "
		    "held");
		CHECK(refused("10000-01-01T00:00Z", TT_E_USAGE) &&
		    refused("0001-01-01T00:00Z", TT_E_USAGE), "five-digit and "
		    "year-1 times are refused");
	}
	CHECK(refused("2026-02-30T09:00", TT_E_USAGE), "February 30 refused");
	CHECK(refused("2026-13-01T09:00", TT_E_USAGE), "month 13 refused");
	CHECK(refused("2026-03-29T24:00", TT_E_USAGE), "hour 24 refused");
	CHECK(refused("2026-03-29T09:60", TT_E_USAGE), "minute 60 refused");
	CHECK(refused("tomorrow", TT_E_USAGE), "words refused");
	CHECK(refused("2026-03-29T09:00+25:00", TT_E_USAGE), "bad offset refused");
	CHECK(refused("2026-03-29T09:00Zjunk", TT_E_USAGE), "trailing junk refused");
	CHECK(refused("", TT_E_USAGE), "empty refused");
	CHECK(parse("2028-02-29T00:00Z") > 0, "leap day accepted");
	CHECK(refused("2027-02-29T00:00Z", TT_E_USAGE), "non-leap Feb 29 refused");

	/* Europe/Berlin: spring forward 2026-03-29 02:00 -> 03:00,
	 * fall back 2026-10-25 03:00 -> 02:00. */
	set_tz("Europe/Berlin");
	CHECK(parse("2026-03-29T01:59") == 1774745940, "Berlin before the gap");
	CHECK(refused("2026-03-29T02:30", TT_E_USAGE), "Berlin gap refused");
	CHECK(parse("2026-03-29T03:00") == 1774746000, "Berlin after the gap");
	CHECK(parse("2026-10-25T02:30") == 1792888200,
	    "Berlin ambiguous time takes the earlier instant (CEST)");
	CHECK(parse("2026-10-25T02:30+01:00") == 1792891800,
	    "Berlin ambiguous time with offset picks the later");
	CHECK(strcmp(local(1774774800), "2026-03-29 11:00") == 0,
	    "Berlin local format after change: %s", local(1774774800));
	CHECK(strcmp(local(1774742400), "2026-03-29 01:00") == 0,
	    "Berlin local format before change: %s", local(1774742400));
	CHECK(tt_local_midnight(2026, 3, 29) == 1774738800,
	    "Berlin midnight of the spring-forward day");
	CHECK(tt_local_midnight(2026, 3, 30) - tt_local_midnight(2026, 3, 29) ==
	    23 * 3600, "spring-forward day lasts 23 hours");
	CHECK(tt_local_midnight(2026, 10, 26) - tt_local_midnight(2026, 10, 25) ==
	    25 * 3600, "fall-back day lasts 25 hours");
	CHECK(tt_local_wall(2026, 3, 29, 9 * 60) == 1774767600 &&
	    tt_local_wall(2026, 3, 29, 0) == 1774738800,
	    "Berlin wall times of a day (09:00 CEST, midnight CET)");
	CHECK(tt_local_wall(2026, 3, 29, 2 * 60 + 30) == 1774746000,
	    "a wall time in the gap is the first minute after it (03:00)");
	CHECK(tt_local_wall(2026, 10, 25, 2 * 60 + 30) == 1792888200,
	    "an ambiguous wall time is the earlier instant");
	CHECK(tt_local_wall(2026, 3, 29, 24 * 60) ==
	    tt_local_midnight(2026, 3, 30), "24:00 is the next midnight");
	tt_local_date(1774742400, &y, &m, &d, &wd);
	CHECK(y == 2026 && m == 3 && d == 29 && wd == 6,
	    "the local date and weekday (Sunday 6): %d-%d-%d %d", y, m, d, wd);
	tt_local_date(1774738799, &y, &m, &d, NULL);
	CHECK(y == 2026 && m == 3 && d == 28, "a second before midnight");

	/* America/New_York (west of UTC): 2026-03-08 02:00 -> 03:00. */
	set_tz("America/New_York");
	CHECK(refused("2026-03-08T02:15", TT_E_USAGE), "New York gap refused");
	CHECK(parse("2026-03-08T09:00") == 1772974800, "New York after change");
	CHECK(strcmp(local(1772974800), "2026-03-08 09:00") == 0,
	    "New York format");
	CHECK(parse("2026-11-01T01:30") == 1793511000,
	    "New York ambiguous hour takes EDT");

	/* Australia/Sydney (east, southern hemisphere): DST ends 2026-04-05
	 * 03:00 -> 02:00, starts 2026-10-04 02:00 -> 03:00. */
	set_tz("Australia/Sydney");
	CHECK(refused("2026-10-04T02:30", TT_E_USAGE), "Sydney gap refused");
	CHECK(parse("2026-04-05T12:00") == 1775354400, "Sydney after fall-back");
	CHECK(tt_local_midnight(2026, 4, 6) - tt_local_midnight(2026, 4, 5) ==
	    25 * 3600, "Sydney fall-back day lasts 25 hours");

	/* America/Santiago skips midnight itself on its spring-forward day
	 * (2026-09-06 00:00 -> 01:00). */
	set_tz("America/Santiago");
	t = tt_local_midnight(2026, 9, 6);
	CHECK(strcmp(local(t), "2026-09-06 01:00") == 0,
	    "day starting in a gap begins at its first instant: %s", local(t));
	CHECK(tt_local_wall(2026, 9, 6, 0) == t,
	    "Santiago: 00:00 of that day is its first instant");

	set_tz("UTC");
	CHECK(strcmp(utc(1774774800), "2026-03-29T09:00:00Z") == 0, "RFC 3339");
	CHECK(tt_parse_utc("2026-03-29T09:00:00.0000000", &t) == 0 &&
	    t == 1774774800, "Graph dateTime as UTC");
	CHECK(tt_parse_utc("2026-03-29T09:00:00+01:00", &t) == -1,
	    "Graph dateTime with offset refused");
	CHECK(tt_parse_utc("9999-12-31T23:59:60", &t) == -1 &&
	    tt_parse_utc("9999-12-31T23:59:59", &t) == 0 && t == TT_TIME_MAX,
	    "tt_parse_utc: a leap second past the book's last instant refused "
	    "(fuzz corpus time/t09)");
	CHECK(tt_parse_date("2026-03-04T00:00:00.0000000", &y, &m, &d) == 0 &&
	    y == 2026 && m == 3 && d == 4, "date of an all-day event");
	y = 2026, m = 12, d = 31;
	tt_date_add(&y, &m, &d, 1);
	CHECK(y == 2027 && m == 1 && d == 1, "date add over the year end");
	y = 2028, m = 3, d = 1;
	tt_date_add(&y, &m, &d, -1);
	CHECK(y == 2028 && m == 2 && d == 29, "date add back into a leap day");

	CHECK(san("plain", "plain"), "plain text kept");
	CHECK(san("a\x1b[31mred\x1b[0m", "ared"), "CSI colour removed");
	CHECK(san("x\x1b]0;title\x07y", "xy"), "OSC title removed");
	CHECK(san("x\x1b]8;;http://e\x1b\\y", "xy"), "OSC hyperlink removed");
	CHECK(san("a\tb\nc\rd", "a b c d"), "whitespace controls to spaces");
	CHECK(san("a\x01\x7f" "b", "ab"), "C0 and DEL dropped");
	CHECK(san("a\xc2\x9b" "31mb", "a31mb"), "C1 CSI dropped");
	CHECK(san("caf\xc3\xa9 \xe6\x97\xa5", "caf\xc3\xa9 \xe6\x97\xa5"),
	    "UTF-8 kept");
	CHECK(san("a\xff" "b\xc3", "a?b?"), "invalid UTF-8 replaced");
	CHECK(san("\xc0\xaf", "??"), "overlong UTF-8 replaced");
	CHECK(san("a\xe2\x80\xae" "b", "ab"), "bidi override dropped");
	tt_sanitize(small, sizeof(small), "abcdefghij");
	CHECK(strcmp(small, "abcdefg") == 0, "truncated to the buffer");
	tt_sanitize(small, sizeof(small), "abcde\xc3\xa9\xc3\xa9");
	CHECK(strcmp(small, "abcde\xc3\xa9") == 0,
	    "truncation keeps whole characters");
	{
		char big[20001], *dup;

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		big[5000] = '\x1b';	/* ESC x: a two-byte escape, dropped */
		dup = tt_sanitize_dup(big);
		CHECK(dup != NULL && strlen(dup) == sizeof(big) - 3,
		    "sanitize_dup keeps all of a 20 KB text");
		free(dup);
		dup = tt_sanitize_dup("a\x1b[1mb\xff");
		CHECK(dup != NULL && strcmp(dup, "ab?") == 0,
		    "sanitize_dup sanitises like tt_sanitize");
		free(dup);
		dup = tt_sanitize_utf8_dup("\xff\xfe" "a\xc2\x85\xe2\x80\xae" "b\xed\xb2\x80");
		CHECK(dup != NULL && strcmp(dup, "\xef\xbf\xbd\xef\xbf\xbd" "ab"
		    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd") == 0,
		    "sanitize_utf8_dup: U+FFFD for each invalid byte (a surrogate's "
		    "too), C1 and bidi overrides dropped");
		free(dup);
	}
	{
		static const struct { const char *url, *origin; } o[] = {
			{ "https://Graph.Microsoft.com/v1.0", "https://graph.microsoft.com" },
			{ "https://login.microsoftonline.com", "https://login.microsoftonline.com" },
			{ "http://127.0.0.1:8080/v1.0?x=1", "http://127.0.0.1:8080" },
			{ "https://evil.example#/graph.microsoft.com", "https://evil.example" },
			{ "https://h.example?a=/b", "https://h.example" },
			{ "nothing", "" },
		};
		size_t i;

		for (i = 0; i < sizeof(o) / sizeof(o[0]); i++) {
			char *g = tt_url_origin(o[i].url);

			CHECK(g != NULL && strcmp(g, o[i].origin) == 0,
			    "origin of %s is %s (got %s)", o[i].url,
			    o[i].origin, g ? g : "NULL");
			free(g);
		}
	}
	CHECK(tt_utf8_valid("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x99\x82"),
	    "UTF-8 is valid");
	CHECK(!tt_utf8_valid("caf\xe9"), "Latin-1 is not UTF-8");
	CHECK(!tt_utf8_valid("\xc0\xaf") && !tt_utf8_valid("\xed\xa0\x80"),
	    "overlongs and surrogates are not valid");
	CHECK(!tt_utf8_valid("ab\xe6\x97"), "a cut sequence is not valid");
	CHECK(tt_utf8_len((const unsigned char *)"\xe6\x97\xa5x", 4) == 3 &&
	    tt_utf8_len((const unsigned char *)"\xe6\x97\xa5", 2) == 0 &&
	    tt_utf8_len((const unsigned char *)"\xff", 1) == 0 &&
	    tt_utf8_len((const unsigned char *)"", 1) == 1,
	    "utf8_len: whole sequences only, within the bytes given; NUL is one");
	{
		char c1[] = "caf\xc3\xa9!", c2[] = "a\xf0\x9f\x99\x82" "b",
		    c3[] = "\xe6\x97\xa5\xe6\x97\xa5", c4[] = "ab";
		char big[1000];
		size_t i;

		tt_utf16_cut(c1, 4);
		tt_utf16_cut(c2, 2);
		tt_utf16_cut(c3, 1);
		tt_utf16_cut(c4, 255);
		CHECK(strcmp(c1, "caf\xc3\xa9") == 0 && strcmp(c2, "a") == 0 &&
		    strcmp(c3, "\xe6\x97\xa5") == 0 && strcmp(c4, "ab") == 0,
		    "utf16_cut: at a character boundary, an emoji counts two "
		    "units and is never halved, short text is kept");
		for (i = 0; i + 3 < sizeof(big); i += 3)
			memcpy(big + i, "\xe6\x97\xa5", 3);
		big[i] = '\0';
		tt_utf16_cut(big, 255);
		CHECK(strlen(big) == 765 && tt_utf8_valid(big),
		    "utf16_cut: 333 CJK characters cut to 255, valid UTF-8 (%zu bytes)",
		    strlen(big));
	}
	CHECK(tt_worse(TT_E_LATER, TT_E_LOGIN) == TT_E_LOGIN, "login needed "
	    "beats for now");
	CHECK(tt_worse(TT_E_LATER, TT_E_CAPPED) == TT_E_CAPPED &&
	    tt_worse(TT_E_CAPPED, TT_E_DOWN) == TT_E_CAPPED &&
	    tt_worse(TT_E_CAPPED, TT_E_LOGIN) == TT_E_LOGIN,
	    "the removal cap beats for now and down, not login needed");
	CHECK(tt_worse(0, TT_E_LATER) == TT_E_LATER, "for now beats none");
	CHECK(tt_worse(TT_E_LOCAL, TT_E_LOGIN) == TT_E_LOCAL, "a local fault "
	    "beats login needed");
	CHECK(tt_worse(TT_E_BUSY, TT_E_LATER) == TT_E_LATER &&
	    tt_worse(TT_E_CONSENT, TT_E_DOWN) == TT_E_CONSENT,
	    "the book busy after for now; consent before down");
	{
		int *a = NULL;
		size_t cap = 0, i;
		int ok = 1;

		for (i = 0; i < 1000 && ok; i++) {
			ok = tt_reserve(&a, &cap, i + 1, sizeof(*a)) == 0 &&
			    cap >= i + 1;
			if (ok)
				a[i] = (int)i;
		}
		for (i = 0; i < 1000 && ok; i++)
			ok = a[i] == (int)i;
		CHECK(ok && cap == 1024, "tt_reserve: 1000 elements kept while "
		    "it doubles from 16 (cap %zu)", cap);
		CHECK(tt_reserve(&a, &cap, 10, sizeof(*a)) == 0 && cap == 1024,
		    "tt_reserve: room already there changes nothing");
		free(a);
	}
	return DONE();
}
