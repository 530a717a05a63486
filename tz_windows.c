/* SPDX-License-Identifier: ISC */
/*
 * tz_windows.c -- Windows time-zone names to IANA names; see tz_windows.h.
 * No state.
 *
 * The table is Unicode CLDR's mapping, common/supplemental/windowsZones.xml
 * (https://github.com/unicode-org/cldr/blob/main/common/supplemental/
 * windowsZones.xml, mapTimezones otherVersion="7e11800"): one row per
 * Windows zone, its territory="001" (world-wide) entry, 139 in all.  It was
 * written out by hand from that file, not generated.  Two rows differ from
 * older CLDR releases (and from ICU 72): "Mountain Standard Time (Mexico)"
 * is America/Mazatlan since Chihuahua left it in 2022, and "Central Asia
 * Standard Time" is Asia/Bishkek since Kazakhstan moved to UTC+5 in 2024.
 *
 * IANA spellings: CLDR keeps its old, stable identifiers for seven of these
 * zones (Asia/Calcutta, Asia/Katmandu, Asia/Rangoon, America/Godthab,
 * America/Buenos_Aires, America/Indianapolis, Europe/Kiev).  The table
 * gives tzdata's current names for the same zones instead (Asia/Kolkata,
 * Asia/Kathmandu, Asia/Yangon, America/Nuuk,
 * America/Argentina/Buenos_Aires, America/Indiana/Indianapolis,
 * Europe/Kyiv): every value is then a zone of zone1970.tab or an Etc/ zone,
 * the old spellings being only "backward" links that a system may ship
 * apart or not at all.  Graph's own list of IANA names (dateTimeTimeZone,
 * below) also has Asia/Kolkata, Asia/Yangon, Europe/Kyiv and the like.
 *
 * The UTC-nn/UTC+nn rows map to Etc/GMT with the sign inverted, as tzdata
 * (POSIX) counts: "UTC-11" is Etc/GMT+11.
 *
 * Graph: mailboxSettings.timeZone is "the default time zone for the user's
 * mailbox", Windows or IANA (api-reference/v1.0/resources/mailboxsettings.md
 * and api/user-update-mailboxsettings.md in microsoftgraph/
 * microsoft-graph-docs-contrib, https://learn.microsoft.com/en-us/graph/api/
 * resources/mailboxsettings); a working-hours customTimeZone is named
 * "Customized Time Zone" there; dateTimeTimeZone
 * (https://learn.microsoft.com/en-us/graph/api/resources/datetimetimezone)
 * accepts "any of the time zones currently supported by Windows" plus a
 * list of IANA names.  tzone://Microsoft/Custom marks a legacy custom zone
 * set in desktop Outlook (the event resource); tzone://Microsoft/Utc is
 * what Exchange reports when it cannot match a zone
 * (OfficeDev/ews-managed-api#148), so neither is taken for a zone.
 */
#include <stdlib.h>
#include <string.h>

#include "tz_windows.h"

/* The longest name passed through unchecked (tzdata's are under 40). */
#define IANA_MAX 64

struct zone {
	const char *win;
	const char *iana;
};

/* Sorted by Windows name, ASCII case folded (strcasecmp order): the lookup
 * is a bsearch, and test_tz checks the order. */
static const struct zone zones[] = {
	{ "Afghanistan Standard Time", "Asia/Kabul" },
	{ "Alaskan Standard Time", "America/Anchorage" },
	{ "Aleutian Standard Time", "America/Adak" },
	{ "Altai Standard Time", "Asia/Barnaul" },
	{ "Arab Standard Time", "Asia/Riyadh" },
	{ "Arabian Standard Time", "Asia/Dubai" },
	{ "Arabic Standard Time", "Asia/Baghdad" },
	{ "Argentina Standard Time", "America/Argentina/Buenos_Aires" },
	{ "Astrakhan Standard Time", "Europe/Astrakhan" },
	{ "Atlantic Standard Time", "America/Halifax" },
	{ "AUS Central Standard Time", "Australia/Darwin" },
	{ "Aus Central W. Standard Time", "Australia/Eucla" },
	{ "AUS Eastern Standard Time", "Australia/Sydney" },
	{ "Azerbaijan Standard Time", "Asia/Baku" },
	{ "Azores Standard Time", "Atlantic/Azores" },
	{ "Bahia Standard Time", "America/Bahia" },
	{ "Bangladesh Standard Time", "Asia/Dhaka" },
	{ "Belarus Standard Time", "Europe/Minsk" },
	{ "Bougainville Standard Time", "Pacific/Bougainville" },
	{ "Canada Central Standard Time", "America/Regina" },
	{ "Cape Verde Standard Time", "Atlantic/Cape_Verde" },
	{ "Caucasus Standard Time", "Asia/Yerevan" },
	{ "Cen. Australia Standard Time", "Australia/Adelaide" },
	{ "Central America Standard Time", "America/Guatemala" },
	{ "Central Asia Standard Time", "Asia/Bishkek" },
	{ "Central Brazilian Standard Time", "America/Cuiaba" },
	{ "Central Europe Standard Time", "Europe/Budapest" },
	{ "Central European Standard Time", "Europe/Warsaw" },
	{ "Central Pacific Standard Time", "Pacific/Guadalcanal" },
	{ "Central Standard Time", "America/Chicago" },
	{ "Central Standard Time (Mexico)", "America/Mexico_City" },
	{ "Chatham Islands Standard Time", "Pacific/Chatham" },
	{ "China Standard Time", "Asia/Shanghai" },
	{ "Cuba Standard Time", "America/Havana" },
	{ "Dateline Standard Time", "Etc/GMT+12" },
	{ "E. Africa Standard Time", "Africa/Nairobi" },
	{ "E. Australia Standard Time", "Australia/Brisbane" },
	{ "E. Europe Standard Time", "Europe/Chisinau" },
	{ "E. South America Standard Time", "America/Sao_Paulo" },
	{ "Easter Island Standard Time", "Pacific/Easter" },
	{ "Eastern Standard Time", "America/New_York" },
	{ "Eastern Standard Time (Mexico)", "America/Cancun" },
	{ "Egypt Standard Time", "Africa/Cairo" },
	{ "Ekaterinburg Standard Time", "Asia/Yekaterinburg" },
	{ "Fiji Standard Time", "Pacific/Fiji" },
	{ "FLE Standard Time", "Europe/Kyiv" },
	{ "Georgian Standard Time", "Asia/Tbilisi" },
	{ "GMT Standard Time", "Europe/London" },
	{ "Greenland Standard Time", "America/Nuuk" },
	{ "Greenwich Standard Time", "Atlantic/Reykjavik" },
	{ "GTB Standard Time", "Europe/Bucharest" },
	{ "Haiti Standard Time", "America/Port-au-Prince" },
	{ "Hawaiian Standard Time", "Pacific/Honolulu" },
	{ "India Standard Time", "Asia/Kolkata" },
	{ "Iran Standard Time", "Asia/Tehran" },
	{ "Israel Standard Time", "Asia/Jerusalem" },
	{ "Jordan Standard Time", "Asia/Amman" },
	{ "Kaliningrad Standard Time", "Europe/Kaliningrad" },
	{ "Korea Standard Time", "Asia/Seoul" },
	{ "Libya Standard Time", "Africa/Tripoli" },
	{ "Line Islands Standard Time", "Pacific/Kiritimati" },
	{ "Lord Howe Standard Time", "Australia/Lord_Howe" },
	{ "Magadan Standard Time", "Asia/Magadan" },
	{ "Magallanes Standard Time", "America/Punta_Arenas" },
	{ "Marquesas Standard Time", "Pacific/Marquesas" },
	{ "Mauritius Standard Time", "Indian/Mauritius" },
	{ "Middle East Standard Time", "Asia/Beirut" },
	{ "Montevideo Standard Time", "America/Montevideo" },
	{ "Morocco Standard Time", "Africa/Casablanca" },
	{ "Mountain Standard Time", "America/Denver" },
	{ "Mountain Standard Time (Mexico)", "America/Mazatlan" },
	{ "Myanmar Standard Time", "Asia/Yangon" },
	{ "N. Central Asia Standard Time", "Asia/Novosibirsk" },
	{ "Namibia Standard Time", "Africa/Windhoek" },
	{ "Nepal Standard Time", "Asia/Kathmandu" },
	{ "New Zealand Standard Time", "Pacific/Auckland" },
	{ "Newfoundland Standard Time", "America/St_Johns" },
	{ "Norfolk Standard Time", "Pacific/Norfolk" },
	{ "North Asia East Standard Time", "Asia/Irkutsk" },
	{ "North Asia Standard Time", "Asia/Krasnoyarsk" },
	{ "North Korea Standard Time", "Asia/Pyongyang" },
	{ "Omsk Standard Time", "Asia/Omsk" },
	{ "Pacific SA Standard Time", "America/Santiago" },
	{ "Pacific Standard Time", "America/Los_Angeles" },
	{ "Pacific Standard Time (Mexico)", "America/Tijuana" },
	{ "Pakistan Standard Time", "Asia/Karachi" },
	{ "Paraguay Standard Time", "America/Asuncion" },
	{ "Qyzylorda Standard Time", "Asia/Qyzylorda" },
	{ "Romance Standard Time", "Europe/Paris" },
	{ "Russia Time Zone 10", "Asia/Srednekolymsk" },
	{ "Russia Time Zone 11", "Asia/Kamchatka" },
	{ "Russia Time Zone 3", "Europe/Samara" },
	{ "Russian Standard Time", "Europe/Moscow" },
	{ "SA Eastern Standard Time", "America/Cayenne" },
	{ "SA Pacific Standard Time", "America/Bogota" },
	{ "SA Western Standard Time", "America/La_Paz" },
	{ "Saint Pierre Standard Time", "America/Miquelon" },
	{ "Sakhalin Standard Time", "Asia/Sakhalin" },
	{ "Samoa Standard Time", "Pacific/Apia" },
	{ "Sao Tome Standard Time", "Africa/Sao_Tome" },
	{ "Saratov Standard Time", "Europe/Saratov" },
	{ "SE Asia Standard Time", "Asia/Bangkok" },
	{ "Singapore Standard Time", "Asia/Singapore" },
	{ "South Africa Standard Time", "Africa/Johannesburg" },
	{ "South Sudan Standard Time", "Africa/Juba" },
	{ "Sri Lanka Standard Time", "Asia/Colombo" },
	{ "Sudan Standard Time", "Africa/Khartoum" },
	{ "Syria Standard Time", "Asia/Damascus" },
	{ "Taipei Standard Time", "Asia/Taipei" },
	{ "Tasmania Standard Time", "Australia/Hobart" },
	{ "Tocantins Standard Time", "America/Araguaina" },
	{ "Tokyo Standard Time", "Asia/Tokyo" },
	{ "Tomsk Standard Time", "Asia/Tomsk" },
	{ "Tonga Standard Time", "Pacific/Tongatapu" },
	{ "Transbaikal Standard Time", "Asia/Chita" },
	{ "Turkey Standard Time", "Europe/Istanbul" },
	{ "Turks And Caicos Standard Time", "America/Grand_Turk" },
	{ "Ulaanbaatar Standard Time", "Asia/Ulaanbaatar" },
	{ "US Eastern Standard Time", "America/Indiana/Indianapolis" },
	{ "US Mountain Standard Time", "America/Phoenix" },
	{ "UTC", "Etc/UTC" },
	{ "UTC+12", "Etc/GMT-12" },
	{ "UTC+13", "Etc/GMT-13" },
	{ "UTC-02", "Etc/GMT+2" },
	{ "UTC-08", "Etc/GMT+8" },
	{ "UTC-09", "Etc/GMT+9" },
	{ "UTC-11", "Etc/GMT+11" },
	{ "Venezuela Standard Time", "America/Caracas" },
	{ "Vladivostok Standard Time", "Asia/Vladivostok" },
	{ "Volgograd Standard Time", "Europe/Volgograd" },
	{ "W. Australia Standard Time", "Australia/Perth" },
	{ "W. Central Africa Standard Time", "Africa/Lagos" },
	{ "W. Europe Standard Time", "Europe/Berlin" },
	{ "W. Mongolia Standard Time", "Asia/Hovd" },
	{ "West Asia Standard Time", "Asia/Tashkent" },
	{ "West Bank Standard Time", "Asia/Hebron" },
	{ "West Pacific Standard Time", "Pacific/Port_Moresby" },
	{ "Yakutsk Standard Time", "Asia/Yakutsk" },
	{ "Yukon Standard Time", "America/Whitehorse" },
};

/* Names of UTC that are not Windows zone names but turn up ("Coordinated
 * Universal Time" is the Windows UTC zone's standard name).  Not "Greenwich
 * Mean Time": that is the standard name of "GMT Standard Time", London. */
static const struct zone aliases[] = {
	{ "Coordinated Universal Time", "Etc/UTC" },
	{ "GMT", "Etc/GMT" },
	{ "UCT", "Etc/UTC" },
	{ "Universal", "Etc/UTC" },
	{ "Zulu", "Etc/UTC" }
};

#define NZONES (sizeof(zones) / sizeof(zones[0]))
#define NALIASES (sizeof(aliases) / sizeof(aliases[0]))

/* A name to look up: len bytes at s, not NUL-terminated. */
struct key {
	const char *s;
	size_t len;
};

/* ASCII only: the table is ASCII and the lookup must not follow the locale. */
static int
fold(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
is_space(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int
is_letter(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* Compare the len bytes at a with the string b, case folded, in the order
 * strcasecmp gives to the strings themselves. */
static int
keycmp(const char *a, size_t len, const char *b)
{
	size_t i;
	int d;

	for (i = 0; i < len; i++) {
		/* At the end of b, d is positive: a is the longer. */
		d = fold((unsigned char)a[i]) - fold((unsigned char)b[i]);
		if (d != 0)
			return d;
	}
	return b[len] == '\0' ? 0 : -1;
}

static int
zonecmp(const void *k, const void *e)
{
	const struct key *key = k;
	const struct zone *z = e;

	return keycmp(key->s, key->len, z->win);
}

/*
 * Whether s has the form of an IANA name: parts separated by '/', at least
 * two, each starting with a letter and made of letters, digits, '_', '-'
 * and '+'.  No '.' at all, so no ".." either, no empty part, no spaces.
 */
static int
iana_form(const char *s)
{
	size_t i;
	int c, slash = 0;

	for (i = 0; s[i] != '\0'; i++) {
		c = (unsigned char)s[i];
		if (i >= IANA_MAX)
			return 0;
		if (i == 0 || s[i - 1] == '/') {
			if (!is_letter(c))
				return 0;
		} else if (c == '/')
			slash = 1;
		else if (!is_letter(c) && !(c >= '0' && c <= '9') &&
		    c != '_' && c != '-' && c != '+')
			return 0;
	}
	return slash && s[i - 1] != '/';
}

const char *
tt_windows_zone(const char *name)
{
	const struct zone *z;
	struct key key;
	const char *s, *e;
	size_t i;

	if (name == NULL)
		return NULL;
	for (s = name; is_space((unsigned char)*s); s++)
		;
	for (e = s + strlen(s); e > s && is_space((unsigned char)e[-1]); e--)
		;
	if (e == s)
		return NULL;
	key.s = s;
	key.len = (size_t)(e - s);

	z = bsearch(&key, zones, NZONES, sizeof(zones[0]), zonecmp);
	if (z != NULL)
		return z->iana;
	for (i = 0; i < NALIASES; i++)
		if (keycmp(key.s, key.len, aliases[i].win) == 0)
			return aliases[i].iana;
	/* Already one of our IANA names: the table's spelling. */
	for (i = 0; i < NZONES; i++)
		if (keycmp(key.s, key.len, zones[i].iana) == 0)
			return strcmp(name, zones[i].iana) == 0 ? name :
			    zones[i].iana;
	return iana_form(name) ? name : NULL;
}

size_t
tt_windows_zone_count(void)
{
	return NZONES;
}

const char *
tt_windows_zone_at(size_t i, const char **iana)
{
	if (i >= NZONES)
		return NULL;
	if (iana != NULL)
		*iana = zones[i].iana;
	return zones[i].win;
}
