/* SPDX-License-Identifier: ISC */
/*
 * tz_windows.h -- Windows time-zone names to IANA (tzdata) names.
 *
 * Microsoft Graph reports a staff member's zone in GET /me/mailboxSettings
 * as `timeZone` and `workingHours.timeZone.name`, mostly as a Windows name
 * ("W. Europe Standard Time"), sometimes as an IANA name, and sometimes as
 * a value that names no zone at all: "Customized Time Zone" (a
 * customTimeZone of bias and transition rules), "tzone://Microsoft/Custom"
 * or "tzone://Microsoft/Utc" (Exchange's marks for a zone it could not
 * match).  This module turns the first two kinds into an IANA name and
 * refuses the third, so that the caller falls back to its own zone rather
 * than guess.  Sources: see tz_windows.c.
 *
 * Pure functions over a static table: no state, no allocation, no locale.
 */
#ifndef TT_TZ_WINDOWS_H
#define TT_TZ_WINDOWS_H

#include <stddef.h>

/*
 * The IANA name for a Graph time-zone value, or NULL.
 *
 * - A Windows zone name (compared without regard to ASCII case, surrounding
 *   white space ignored) gives CLDR's world-wide ("001") zone for it, e.g.
 *   "Pacific Standard Time" -> "America/Los_Angeles", "UTC-11" ->
 *   "Etc/GMT+11" (POSIX signs: Etc/GMT+11 is eleven hours *behind* UTC).
 * - "GMT", "UCT", "Universal", "Zulu" and "Coordinated Universal Time" give
 *   "Etc/GMT" or "Etc/UTC".
 * - One of the table's IANA values, in any case and with surrounding white
 *   space, gives that value ("europe/berlin" -> "Europe/Berlin").
 * - Any other name of the IANA form Area/Location (only ASCII letters,
 *   digits, '_', '-', '+' and '/'; at least one '/'; every '/'-separated
 *   part non-empty and starting with a letter -- so no leading '/', no
 *   "..", no spaces; at most 64 bytes) is returned as it is, unchecked:
 *   the caller validates it against tzdata.
 * - Anything else -- NULL, "", custom or unknown zones, "tzone://..." marks,
 *   display names such as "(UTC+01:00) Amsterdam, Berlin, ..." -- is NULL.
 *
 * The result is a static string or `name` itself; it is never freed.
 */
const char *tt_windows_zone(const char *name);

/* For tests and tools: the number of Windows names in the table. */
size_t tt_windows_zone_count(void);
/* For tests and tools: the i-th Windows name of the table (in its sorted
 * order) with its IANA name in *iana (when iana is not NULL); NULL when i
 * is out of range. */
const char *tt_windows_zone_at(size_t i, const char **iana);

#endif
