/* SPDX-License-Identifier: ISC */
/* Unit tests for tz_windows.c: the Windows-to-IANA table and the lookup. */
#include <sys/stat.h>

#include <string.h>
#include <strings.h>

#include "tz_windows.h"
#include "unit.h"

#ifndef ZONEINFO
#define ZONEINFO "/usr/share/zoneinfo"
#endif

static int
maps(const char *name, const char *want)
{
	const char *got = tt_windows_zone(name);

	if (got == NULL || strcmp(got, want) != 0) {
		printf("# '%s' gave %s, want %s\n", name, got ? got : "NULL",
		    want);
		return 0;
	}
	return 1;
}

static int
refused(const char *name)
{
	const char *got = tt_windows_zone(name);

	if (got != NULL) {
		printf("# '%s' gave %s, want NULL\n", name, got);
		return 0;
	}
	return 1;
}

int
main(void)
{
	static const struct {
		const char *win, *iana;
	} known[] = {
		{ "Pacific Standard Time", "America/Los_Angeles" },
		{ "W. Europe Standard Time", "Europe/Berlin" },
		{ "GMT Standard Time", "Europe/London" },
		/* tzdata's current name, not CLDR's Asia/Calcutta: see
		 * tz_windows.c. */
		{ "India Standard Time", "Asia/Kolkata" },
		{ "Tokyo Standard Time", "Asia/Tokyo" },
		{ "AUS Eastern Standard Time", "Australia/Sydney" },
		{ "UTC", "Etc/UTC" },
		{ "Eastern Standard Time", "America/New_York" },
		{ "Central Standard Time", "America/Chicago" },
		{ "Romance Standard Time", "Europe/Paris" },
		{ "FLE Standard Time", "Europe/Kyiv" },
		{ "Greenwich Standard Time", "Atlantic/Reykjavik" },
		{ "China Standard Time", "Asia/Shanghai" },
		{ "New Zealand Standard Time", "Pacific/Auckland" },
		{ "Mountain Standard Time (Mexico)", "America/Mazatlan" },
		{ "Central Asia Standard Time", "Asia/Bishkek" },
		/* The UTC-nn zones: POSIX signs, inverted. */
		{ "UTC-11", "Etc/GMT+11" },
		{ "UTC-09", "Etc/GMT+9" },
		{ "UTC-08", "Etc/GMT+8" },
		{ "UTC-02", "Etc/GMT+2" },
		{ "UTC+12", "Etc/GMT-12" },
		{ "UTC+13", "Etc/GMT-13" },
		{ "Dateline Standard Time", "Etc/GMT+12" }
	};
	static const char *const bad[] = { "tzone://Microsoft/Custom",
	    "tzone://Microsoft/Utc", "Customized Time Zone", "", "   ",
	    "Foo/../etc", "/etc/passwd", "Europe/", "Europe//Berlin",
	    "Europe/Ber lin", " Europe/Zurich", "Nonsense Standard Time",
	    "Greenwich Mean Time", "Pacific Standard",
	    "Pacific Standard Time x",
	    "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
	    "Europe/-rf", "Europe/Berlin\n/x" };
	const char *win, *iana, *prev = NULL;
	char path[256];
	struct stat st;
	size_t i, n;
	int ok, sorted = 1, found = 1, form = 1;

	n = tt_windows_zone_count();
	CHECK(n >= 139, "the table holds the CLDR Windows zones (%zu)", n);
	for (i = 0; i < n; i++) {
		win = tt_windows_zone_at(i, &iana);
		if (win == NULL || iana == NULL) {
			sorted = 0;
			break;
		}
		if (prev != NULL && strcasecmp(prev, win) >= 0) {
			printf("# out of order or duplicate: '%s', '%s'\n",
			    prev, win);
			sorted = 0;
		}
		prev = win;
		if (!maps(win, iana))
			found = 0;
		/* A value is an IANA name and comes back as itself. */
		if (tt_windows_zone(iana) != iana) {
			printf("# value %s does not pass through\n", iana);
			form = 0;
		}
	}
	CHECK(sorted, "the table is sorted, no duplicate keys (case folded)");
	CHECK(found, "every Windows name of the table is found");
	CHECK(form, "every IANA value is returned as itself");
	CHECK(tt_windows_zone_at(n, &iana) == NULL &&
	    tt_windows_zone_at((size_t)-1, NULL) == NULL,
	    "tt_windows_zone_at: NULL past the end");

	if (stat(ZONEINFO, &st) != 0 || !S_ISDIR(st.st_mode))
		printf("ok %d # skip %s is absent\n", ++unit_n, ZONEINFO);
	else {
		ok = 1;
		for (i = 0; (win = tt_windows_zone_at(i, &iana)) != NULL; i++) {
			snprintf(path, sizeof(path), "%s/%s", ZONEINFO, iana);
			if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
				printf("# %s (%s) is not in %s\n", iana, win,
				    ZONEINFO);
				ok = 0;
			}
		}
		CHECK(ok, "every IANA value is a zone file in " ZONEINFO);
	}

	ok = 1;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		ok &= maps(known[i].win, known[i].iana);
	CHECK(ok, "%zu known mappings", sizeof(known) / sizeof(known[0]));

	CHECK(maps("PACIFIC STANDARD TIME", "America/Los_Angeles") &&
	    maps("pacific standard time", "America/Los_Angeles") &&
	    maps("w. EUROPE standard TIME", "Europe/Berlin") &&
	    maps("aus eastern standard time", "Australia/Sydney") &&
	    maps("utc-11", "Etc/GMT+11"),
	    "Windows names are compared without regard to case");
	CHECK(maps("  W. Europe Standard Time  ", "Europe/Berlin") &&
	    maps("\tTokyo Standard Time\n", "Asia/Tokyo") &&
	    maps(" UTC ", "Etc/UTC"),
	    "surrounding white space is ignored");

	{
		const char *z = "Europe/Zurich", *e = "Etc/GMT-3";
		const char *b = "Europe/Berlin", *p = "America/Port-au-Prince";

		CHECK(tt_windows_zone(z) == z && tt_windows_zone(e) == e &&
		    tt_windows_zone(b) == b && tt_windows_zone(p) == p,
		    "IANA names are returned as themselves");
	}
	CHECK(maps("Etc/UTC", "Etc/UTC") && maps("GMT", "Etc/GMT") &&
	    maps("gmt", "Etc/GMT") && maps("Zulu", "Etc/UTC") &&
	    maps("Coordinated Universal Time", "Etc/UTC") &&
	    maps("America/Argentina/Buenos_Aires",
	    "America/Argentina/Buenos_Aires"),
	    "UTC, GMT and their other names; deep IANA names");
	CHECK(maps(" europe/berlin ", "Europe/Berlin") &&
	    maps("ASIA/KOLKATA", "Asia/Kolkata"),
	    "a table value in another case or with spaces: its own spelling");

	ok = 1;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok &= refused(bad[i]);
	CHECK(ok, "custom, unknown and malformed values give NULL");
	CHECK(tt_windows_zone(NULL) == NULL, "NULL gives NULL");
	{
		char longname[200];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		longname[3] = '/';
		CHECK(tt_windows_zone(longname) == NULL,
		    "an absurdly long name gives NULL");
	}
	return DONE();
}
