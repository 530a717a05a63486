/* SPDX-License-Identifier: ISC */
/*
 * fuzz_time.c -- every time parser of util.c: tt_parse_time (in one of
 * a few zones, DST gaps and half-hour shifts included), tt_parse_utc
 * (Graph's dateTime), tt_parse_date, tt_parse_duration, tt_parse_clock.
 * Input: one byte choosing the parser and the zone, then the text.
 * Oracles: what parses is in range and formats back to the same instant
 * (date, duration, time of day); a refusal is a usage error with a
 * clean one-line message.
 */
#include <time.h>

#include "fuzz.h"

static const char *const zones[] = { "UTC", "Europe/London",
    "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
    "Pacific/Apia", "America/Santiago", "Europe/Dublin" };

static void
refused(const struct tt_err *e)
{
	FUZZ_ASSERT(e->code == TT_E_USAGE, "code %d", e->code);
	FUZZ_CLEAN(e->msg, "the message");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_err e = { 0 };
	char buf[64], *s;
	tt_time t, back;
	int y, m, d, y2, m2, d2, min, min2;

	if (size < 1)
		return 0;
	tt_set_zone(zones[(data[0] >> 3) % (sizeof(zones) / sizeof(zones[0]))]);
	s = fuzz_str(data + 1, size - 1);
	switch (data[0] % 5) {
	case 0:
		if (tt_parse_time(s, &t, &e) != 0) {
			refused(&e);
			break;
		}
		fuzz_instant(t, "tt_parse_time");
		tt_fmt_utc(t, buf, sizeof(buf));
		FUZZ_ASSERT(tt_parse_time(buf, &back, &e) == 0 && back == t,
		    "%s is %lld, not %lld", buf, (long long)back, (long long)t);
		/* The same instant as an offset time, and read back. */
		snprintf(buf + 16, sizeof(buf) - 16, "+00:00");
		FUZZ_ASSERT(tt_parse_time(buf, &back, &e) == 0 &&
		    back / 60 == t / 60, "%s", buf);
		break;
	case 1:
		if (tt_parse_utc(s, &t) != 0)
			break;
		fuzz_instant(t, "tt_parse_utc");
		break;
	case 2:
		if (tt_parse_date(s, &y, &m, &d) != 0)
			break;
		{
			/* An independent calendar: timegm normalises a date
			 * that does not exist into another one. */
			struct tm tm = { 0 }, out;
			time_t tt;

			tm.tm_year = y - 1900;
			tm.tm_mon = m - 1;
			tm.tm_mday = d;
			tm.tm_hour = 12;
			tt = timegm(&tm);
			FUZZ_ASSERT(gmtime_r(&tt, &out) != NULL &&
			    out.tm_year == y - 1900 && out.tm_mon == m - 1 &&
			    out.tm_mday == d, "%04d-%02d-%02d is no date", y, m,
			    d);
		}
		snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
		FUZZ_ASSERT(tt_parse_date(buf, &y2, &m2, &d2) == 0 && y2 == y &&
		    m2 == m && d2 == d, "%s", buf);
		break;
	case 3:
		if (tt_parse_duration(s, &t, &e) != 0) {
			refused(&e);
			break;
		}
		FUZZ_ASSERT(t >= 60 && t <= TT_DURATION_MAX && t % 60 == 0,
		    "%lld s", (long long)t);
		snprintf(buf, sizeof(buf), "%lldm", (long long)(t / 60));
		FUZZ_ASSERT(tt_parse_duration(buf, &back, &e) == 0 && back == t,
		    "%s", buf);
		snprintf(buf, sizeof(buf), "%lldh%lldm", (long long)(t / 3600),
		    (long long)(t % 3600 / 60));
		FUZZ_ASSERT(tt_parse_duration(buf, &back, &e) == 0 && back == t,
		    "%s", buf);
		break;
	default:
		if (tt_parse_clock(s, &min, &e) != 0) {
			refused(&e);
			break;
		}
		FUZZ_ASSERT(min >= 0 && min <= 1440, "%d minutes", min);
		snprintf(buf, sizeof(buf), "%02d:%02d", min / 60, min % 60);
		FUZZ_ASSERT(tt_parse_clock(buf, &min2, &e) == 0 && min2 == min,
		    "%s", buf);
	}
	free(s);
	return 0;
}
