/* SPDX-License-Identifier: ISC */
/*
 * util.h -- the small pure pieces every module shares: the error record and
 * exit codes, time parsing and formatting, and sanitising of untrusted text.
 *
 * Errors: functions that can fail take a `struct tt_err *` (may be NULL) and
 * return -1 after filling it with what went wrong (enum tt_errc) and a
 * one-line message of facts; they return 0 (or a non-negative value) on
 * success.  Only the edge (timetap-sync.c, cmd*.c) prints, adds the advice
 * and chooses the exit status; modules never do.
 *
 * Ownership: functions returning `char *` return a *new* string the caller
 * frees; functions writing into a caller buffer never allocate.
 *
 * There is no persistent state in this module.
 */
#ifndef TT_UTIL_H
#define TT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * What went wrong, in the modules' own words.  Every module fails with one
 * of these; only the edge (cmd.c, cmd_exit) turns them into exit statuses
 * (SPEC section 6), the way msmtp keeps smtp_exitcode beside its codes.
 */
enum tt_errc {
	TT_E_NONE = 0,
	TT_E_USAGE,	/* the command line: an option, an argument */
	TT_E_DATA,	/* the book refuses the data (overlap, unknown id) */
	TT_E_CONFIG,	/* the configuration or the app registration */
	TT_E_LOCAL,	/* the database, a file, a socket */
	TT_E_INTERNAL,	/* out of memory, a bug */
	TT_E_BUSY,	/* another run holds the book: later */
	TT_E_LOGIN,	/* the sign-in is gone or lacks a permission */
	TT_E_CONSENT,	/* a permission only a consent grants (the
			 * message says whose) */
	TT_E_CAPPED,	/* the removal cap held removals back: a person
			 * decides (sync --force accepts) */
	TT_E_LATER,	/* the service, for now: the next run continues */
	TT_E_DOWN,	/* the service still fails after every retry, or
			 * gives answers no retry mends */
	TT_E_CONFLICT,	/* a pass found new conflicts (a block over a booked
			 * appointment): told once; every other code ranks
			 * above it */
	TT_E_FOUND,	/* not an error but an answer, exit 1 as for grep and
			 * diff: explain's slot is not bookable */
	TT_E_PLAN	/* no error: sync --dry-run's plan is not empty
			 * (exit 1, as diff); every error beats it */
};
/* Not an error: the level of a note that warns (shown unless -q). */
#define TT_WARNING (-1)

struct tt_err {
	int code;		/* an enum tt_errc; TT_E_NONE when no error */
	char msg[512];		/* one line, already sanitised */
};

/* Fill err (when not NULL) and return -1. */
int tt_fail(struct tt_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Format a message into dst as one sanitised line (for error records). */
void tt_vmessage(char *dst, size_t len, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* The more serious of two codes (combining the problems of a pass, the
 * results of several profiles). */
int tt_worse(int a, int b);

/* Time.  Instants are int64 seconds since the epoch (UTC). */
typedef int64_t tt_time;

/*
 * Parse a command-line time: ISO 8601 with an offset ("2026-03-29T09:00+02:00",
 * "...Z") or local wall time in TZ without one ("2026-03-29T09:00",
 * "2026-03-29 09:00", seconds optional).  A wall time that does not exist in
 * TZ (spring-forward gap) is refused; an ambiguous one (fall-back) takes the
 * earlier instant.  An instant outside 1970-01-01 to 9999-12-31 (UTC) is
 * refused.  Returns 0 or -1 with err filled (TT_E_USAGE).
 */
int tt_parse_time(const char *s, tt_time *out, struct tt_err *err);
/* The last instant the book holds: 9999-12-31T23:59:59Z (and the first is
 * 1970-01-01T00:00:00Z); tt_parse_time refuses others. */
#define TT_TIME_MAX	((tt_time)253402300799LL)
/* Parse a command-line duration: minutes ("30", "45m"), hours ("2h") or
 * both ("1h30m"), 1 minute to TT_DURATION_MAX; *out in seconds.  0, or -1
 * with err filled (TT_E_USAGE). */
#define TT_DURATION_MAX	((tt_time)31 * 86400)
int tt_parse_duration(const char *s, tt_time *out, struct tt_err *err);
/* Parse a time of day "HH:MM" (00:00 to 24:00) into minutes since
 * midnight.  0, or -1 with err filled (TT_E_USAGE). */
int tt_parse_clock(const char *s, int *minutes, struct tt_err *err);
/* Parse "YYYY-MM-DDTHH:MM:SS[.fffffff]" as UTC (Graph's dateTimeTimeZone);
 * an instant past TT_TIME_MAX is refused. */
int tt_parse_utc(const char *s, tt_time *out);
/* Parse a calendar date "YYYY-MM-DD" (optionally followed by "T00:00...")
 * into year, month, day. */
int tt_parse_date(const char *s, int *y, int *m, int *d);
/* Local midnight starting the given calendar date, honouring TZ (a day that
 * begins in a DST gap starts at the first existing instant). */
tt_time tt_local_midnight(int y, int m, int d);
/* Add days to a calendar date (pure calendar arithmetic). */
void tt_date_add(int *y, int *m, int *d, int days);
/* The instant of a wall time on a date, `minutes` since its midnight
 * (24 * 60: the next midnight), honouring TZ: a wall time in a DST gap
 * is the first minute after the gap (the clock's jump), an ambiguous one
 * (fall-back) the earlier instant. */
tt_time tt_local_wall(int y, int m, int d, int minutes);
/* The local calendar date of an instant in TZ, and its weekday (0 Monday
 * to 6 Sunday; wday may be NULL). */
void tt_local_date(tt_time t, int *y, int *m, int *d, int *wday);

/* An IANA zone name the C library can load: letters, digits, "_+-" and "/"
 * between parts (no "..", no absolute path), present under TZDIR (default
 * /usr/share/zoneinfo). */
int tt_zone_ok(const char *v);
/* Make room in the array *arrp (of `size`-byte elements, *cap of them
 * allocated) for `need` elements, doubling; 0, or -1 out of memory with
 * the array unchanged.  arrp is the address of the array's pointer. */
int tt_reserve(void *arrp, size_t *cap, size_t need, size_t size);
/* Free a string that held a secret, zeroed first (NULL: nothing). */
void tt_wipe_free(char *s);
/* Set TZ to zone (NULL: unset it) for the local days and times that
 * follow. */
void tt_set_zone(const char *zone);

/* "2026-03-29 09:00" in local time; buffer of at least 20 bytes. */
char *tt_fmt_local(tt_time t, char *buf, size_t len);
/* The span [s, e) in local time: "2026-03-29 09:00-10:00", the end's
 * date only when it is another day; buffer of at least 34 bytes. */
char *tt_fmt_span(tt_time s, tt_time e, char *buf, size_t len);
/* "2026-03-29T07:00:00Z"; buffer of at least 21 bytes. */
char *tt_fmt_utc(tt_time t, char *buf, size_t len);
tt_time tt_now(void);

/*
 * Copy untrusted text for a terminal or a log: drops C0/C1 control
 * characters and whole escape sequences (CSI, OSC, ...), replaces invalid
 * UTF-8 by '?', keeps ordinary UTF-8, truncates to fit.  Returns dst.
 */
char *tt_sanitize(char *dst, size_t dstlen, const char *src);

/* The length of the valid UTF-8 sequence at p (at most n bytes), or 0
 * when it is not one.  A NUL byte is a sequence of 1. */
size_t tt_utf8_len(const unsigned char *p, size_t n);
/* Cut valid UTF-8 text in place to at most `units` UTF-16 code units (as
 * Exchange counts a subject's characters), at a character boundary. */
void tt_utf16_cut(char *s, size_t units);
/* The length of UTF-8 text in UTF-16 code units (characters, as Outlook
 * counts them). */
size_t tt_utf16_units(const char *s);
/* Whether s is valid UTF-8 (no overlongs, no surrogates). */
int tt_utf8_valid(const char *s);

/* The same into a new string, always whole (NULL: out of memory). */
char *tt_sanitize_dup(const char *src);
/* The same with U+FFFD for each invalid byte: always valid UTF-8, for
 * JSON, which is UTF-8 whatever the locale (NULL: out of memory). */
char *tt_sanitize_utf8_dup(const char *src);

/* "scheme://host[:port]" of a URL, lower-cased (new string; "" when the
 * URL has no scheme; NULL: out of memory). */
char *tt_url_origin(const char *url);

/* Whether the locale can show UTF-8 (for the check marks). */
int tt_utf8_locale(void);

/* No core dump of this process (RLIMIT_CORE 0) and not dumpable: it
 * holds tokens.  Called first thing in main. */
void tt_no_core(void);

/*
 * Crash tests: every durable step of the program calls this just before
 * and just after it.  With TIMETAP_SYNC_CRASH_AT=N in the environment the
 * N-th call ends the process at once (exit status 99, no cleanup), as a
 * kill would; tt_crash_points() says how many calls were made.
 */
void tt_crash_point(void);
long tt_crash_points(void);

#endif
