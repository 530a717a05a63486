/*
 * util.h -- the small pure pieces every module shares: the error record and
 * exit codes, time parsing and formatting, and sanitising of untrusted text.
 *
 * Errors: functions that can fail take a `struct tt_err *` (may be NULL) and
 * return -1 after filling it with a sysexits(3) code and a one-line message;
 * they return 0 (or a non-negative value) on success.  Only timetap-sync.c
 * prints messages and exits; modules never do.
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
#include <sysexits.h>
#include <time.h>

/* Exit codes, SPEC section 6.  The sysexits names are the single source. */
enum {
	TT_OK = 0,
	/* The removal cap held removals back: a person decides (sync
	 * --force accepts).  Not 75: trying again repeats it forever. */
	TT_CAPPED = 3,
	TT_USAGE = EX_USAGE,		/* 64 */
	TT_DATAERR = EX_DATAERR,	/* 65 refused user data */
	TT_UNAVAILABLE = EX_UNAVAILABLE,/* 69 service unavailable after retries */
	TT_SOFTWARE = EX_SOFTWARE,	/* 70 internal error */
	TT_IOERR = EX_IOERR,		/* 74 local I/O */
	TT_TEMPFAIL = EX_TEMPFAIL,	/* 75 try again later */
	TT_NOPERM = EX_NOPERM,		/* 77 login needed */
	TT_CONFIG = EX_CONFIG,		/* 78 configuration */
	/* Not an exit code: a note that warns (shown unless -q) and leaves
	 * the exit status alone. */
	TT_WARNING = -1
};

struct tt_err {
	int code;		/* one of the TT_ codes; 0 when no error */
	char msg[512];		/* one line, already sanitised */
};

/* Fill err (when not NULL) and return -1. */
int tt_fail(struct tt_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Format a message into dst as one sanitised line (for error records). */
void tt_vmessage(char *dst, size_t len, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Severity order for combining the results of several profiles. */
int tt_worse(int a, int b);

/* Time.  Instants are int64 seconds since the epoch (UTC). */
typedef int64_t tt_time;

/*
 * Parse a command-line time: ISO 8601 with an offset ("2026-03-29T09:00+02:00",
 * "...Z") or local wall time in TZ without one ("2026-03-29T09:00",
 * "2026-03-29 09:00", seconds optional).  A wall time that does not exist in
 * TZ (spring-forward gap) is refused; an ambiguous one (fall-back) takes the
 * earlier instant.  An instant outside 1970-01-01 to 9999-12-31 (UTC) is
 * refused.  Returns 0 or -1 with err filled (TT_USAGE).
 */
int tt_parse_time(const char *s, tt_time *out, struct tt_err *err);
/* The last instant the book holds: 9999-12-31T23:59:59Z (and the first is
 * 1970-01-01T00:00:00Z); tt_parse_time refuses others. */
#define TT_TIME_MAX	((tt_time)253402300799LL)
/* Parse "YYYY-MM-DDTHH:MM:SS[.fffffff]" as UTC (Graph's dateTimeTimeZone). */
int tt_parse_utc(const char *s, tt_time *out);
/* Parse a calendar date "YYYY-MM-DD" (optionally followed by "T00:00...")
 * into year, month, day. */
int tt_parse_date(const char *s, int *y, int *m, int *d);
/* Local midnight starting the given calendar date, honouring TZ (a day that
 * begins in a DST gap starts at the first existing instant). */
tt_time tt_local_midnight(int y, int m, int d);
/* Add days to a calendar date (pure calendar arithmetic). */
void tt_date_add(int *y, int *m, int *d, int days);

/* An IANA zone name the C library can load: letters, digits, "_+-" and "/"
 * between parts (no "..", no absolute path), present under TZDIR (default
 * /usr/share/zoneinfo). */
int tt_zone_ok(const char *v);
/* Free a string that held a secret, zeroed first (NULL: nothing). */
void tt_wipe_free(char *s);
/* Set TZ to zone (NULL: unset it) for the local days and times that
 * follow. */
void tt_set_zone(const char *zone);

/* "2026-03-29 09:00" in local time; buffer of at least 20 bytes. */
char *tt_fmt_local(tt_time t, char *buf, size_t len);
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

/* "scheme://host[:port]" of a URL, lower-cased (new string; "" when the
 * URL has no scheme; NULL: out of memory). */
char *tt_url_origin(const char *url);

/* Whether the locale can show UTF-8 (for the check marks). */
int tt_utf8_locale(void);

/*
 * Crash tests: every durable step of the program calls this just before
 * and just after it.  With TIMETAP_SYNC_CRASH_AT=N in the environment the
 * N-th call ends the process at once (exit status 99, no cleanup), as a
 * kill would; tt_crash_points() says how many calls were made.
 */
void tt_crash_point(void);
long tt_crash_points(void);

#endif
