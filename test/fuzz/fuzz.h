/* SPDX-License-Identifier: ISC */
/*
 * fuzz.h -- what the harnesses share: the libFuzzer entry point, the
 * oracles (an independent check of "clean text" and of an instant), and
 * the copy of an input as the NUL-terminated string or writable body the
 * product's parsers read.  A broken oracle aborts, naming what it saw;
 * libFuzzer (make fuzz) and replay.c (make check) both report the input.
 */
#ifndef TT_FUZZ_H
#define TT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "oracle: %s:%d: %s: ", __FILE__, __LINE__,	\
		    #cond);						\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

/* The input as a new NUL-terminated string (what follows a NUL in it is
 * still there, after the terminator the C string ends at). */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * The character at *p, decoded here without the product's own decoder:
 * its code point in *c and *p moved past it, or what makes it no valid
 * UTF-8 (shortest form, no surrogates, at most U+10FFFF).
 */
static inline const char *
fuzz_utf8_next(const unsigned char **p, unsigned long *c)
{
	const unsigned char *q = *p;
	size_t n, i;

	if (*q < 0x80) {
		*c = *q;
		*p = q + 1;
		return NULL;
	}
	if ((*q & 0xe0) == 0xc0)
		n = 2, *c = *q & 0x1f;
	else if ((*q & 0xf0) == 0xe0)
		n = 3, *c = *q & 0x0f;
	else if ((*q & 0xf8) == 0xf0)
		n = 4, *c = *q & 0x07;
	else
		return "a byte that starts no UTF-8 sequence";
	for (i = 1; i < n; i++) {
		if ((q[i] & 0xc0) != 0x80)
			return "a cut UTF-8 sequence";
		*c = (*c << 6) | (q[i] & 0x3f);
	}
	if ((n == 2 && *c < 0x80) || (n == 3 && *c < 0x800) ||
	    (n == 4 && *c < 0x10000))
		return "an overlong UTF-8 sequence";
	if (*c > 0x10ffff || (*c >= 0xd800 && *c <= 0xdfff))
		return "a surrogate or a code point past U+10FFFF";
	*p = q + n;
	return NULL;
}

/* Whether s is valid UTF-8 from end to end. */
static inline int
fuzz_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long c;

	while (*p != '\0')
		if (fuzz_utf8_next(&p, &c) != NULL)
			return 0;
	return 1;
}

/*
 * Whether s is text fit for a terminal: valid UTF-8 with no C0 control,
 * no DEL, no C1 control (U+0080-U+009F), no bidirectional override or
 * isolate (U+202A-U+202E, U+2066-U+2069).  NULL when it is, else what
 * is wrong.
 */
static inline const char *
fuzz_dirty(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long c;
	const char *why;

	while (*p != '\0') {
		if ((why = fuzz_utf8_next(&p, &c)) != NULL)
			return why;
		if (c < 0x20 || c == 0x7f)
			return "a C0 control or DEL";
		if (c >= 0x80 && c <= 0x9f)
			return "a C1 control";
		if ((c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069))
			return "a bidirectional override or isolate";
	}
	return NULL;
}

#define FUZZ_CLEAN(s, what) do {					\
	const char *why_ = (s) != NULL ? fuzz_dirty(s) : NULL;		\
	FUZZ_ASSERT(why_ == NULL, "%s holds %s", (what), why_);	\
} while (0)

/* An instant the book holds formats as UTC and parses back to itself. */
static inline void
fuzz_instant(tt_time t, const char *what)
{
	char buf[32];
	tt_time back = -1;

	FUZZ_ASSERT(t >= 0 && t <= TT_TIME_MAX, "%s %lld is outside the book's "
	    "range", what, (long long)t);
	tt_fmt_utc(t, buf, sizeof(buf));
	FUZZ_ASSERT(tt_parse_utc(buf, &back) == 0 && back == t, "%s %lld "
	    "formats as %s, which parses back to %lld", what, (long long)t,
	    buf, (long long)back);
}

#ifdef TT_GRAPH_P_H
/* A request that received data as its answer (status, URL as given),
 * the body NUL-terminated and writable as on_body leaves it; greq_free
 * releases it. */
static inline struct greq *
fuzz_greq(const uint8_t *data, size_t size, long status, const char *url)
{
	struct greq *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->url = strdup(url)) == NULL)
		abort();
	r->body = fuzz_str(data, size);
	r->len = size;
	r->cap = size + 1;
	r->status = status;
	snprintf(r->what, sizeof(r->what), "fuzz");
	return r;
}

/* A failed result as graph.h promises it: a known class and retry, a
 * shared code every edge maps, clean message and code. */
static inline void
fuzz_graph_err(const struct graph_err *e)
{
	int c = graph_errc(e);

	FUZZ_ASSERT(e->cls >= GRAPH_OK && e->cls <= GRAPH_CANCELLED,
	    "class %d", (int)e->cls);
	FUZZ_ASSERT(e->retry >= GRAPH_RETRY_LATE &&
	    e->retry <= GRAPH_RETRY_NEVER, "retry %d", (int)e->retry);
	FUZZ_ASSERT(c == TT_E_NONE || c == TT_E_LOGIN || c == TT_E_CONFIG ||
	    c == TT_E_INTERNAL || c == TT_E_LATER || c == TT_E_DOWN,
	    "graph_errc %d", c);
	FUZZ_ASSERT(memchr(e->msg, '\0', sizeof(e->msg)) != NULL &&
	    memchr(e->code, '\0', sizeof(e->code)) != NULL,
	    "an unterminated message or code");
	FUZZ_CLEAN(e->msg, "the message");
	FUZZ_CLEAN(e->code, "the code");
	FUZZ_ASSERT(e->retry_after >= 0, "Retry-After %g", e->retry_after);
}

/* An identifier as jid promises it: verbatim, and nothing an id holds
 * not (no control, valid UTF-8). */
#define FUZZ_ID(s, what) do {							FUZZ_ASSERT((s) != NULL && *(s) != '\0', "%s missing", (what));		FUZZ_CLEAN((s), (what));					} while (0)

/* An event as graph.h promises it to sync.c. */
static inline void
fuzz_event(const struct graph_event *ev)
{
	if (ev->invalid != NULL)
		return;
	FUZZ_ASSERT(ev->id != NULL && *ev->id != '\0', "an event without id");
	FUZZ_ASSERT(fuzz_utf8_valid(ev->id), "an id that is no UTF-8");
	if (ev->removed)
		return;
	FUZZ_ASSERT(ev->subject != NULL, "no subject");
	FUZZ_CLEAN(ev->subject, "the subject");
	FUZZ_CLEAN(ev->showas_name, "the showAs name");
	FUZZ_ASSERT(ev->showas != 0 && (ev->showas & (ev->showas - 1)) == 0 &&
	    ev->showas <= SHOWAS_FREE, "showAs bits %#x", ev->showas);
	FUZZ_ASSERT(!ev->sparse || (ev->series_master_id != NULL &&
	    ev->type != NULL && strcmp(ev->type, "occurrence") == 0),
	    "sparse, yet no occurrence of a series");
	if (ev->all_day) {
		int y, m, d;
		char buf[16];

		snprintf(buf, sizeof(buf), "%04d-%02d-%02d", ev->sy, ev->sm,
		    ev->sd);
		FUZZ_ASSERT(tt_parse_date(buf, &y, &m, &d) == 0, "start %s",
		    buf);
		snprintf(buf, sizeof(buf), "%04d-%02d-%02d", ev->ey, ev->em,
		    ev->ed);
		FUZZ_ASSERT(tt_parse_date(buf, &y, &m, &d) == 0, "end %s", buf);
		FUZZ_ASSERT(ev->ey * 10000 + ev->em * 100 + ev->ed >
		    ev->sy * 10000 + ev->sm * 100 + ev->sd, "an all-day event "
		    "ending before it starts");
	} else {
		fuzz_instant(ev->start, "start");
		fuzz_instant(ev->end, "end");
		FUZZ_ASSERT(ev->start <= ev->end, "ends before it starts");
	}
}
#endif

#endif
