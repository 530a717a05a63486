/* SPDX-License-Identifier: ISC */
/*
 * fuzz_delta.c -- a page of events (graph_events.c graph_events_page:
 * bytes that are not UTF-8, lone surrogates and NULs kept per item), of
 * a delta round or of a plain calendar view.  Input: one byte (bit 0: a
 * delta page), then the body.  Oracles: a page taken has its links as
 * strings, a delta page one of nextLink and deltaLink, and every event
 * passes fuzz_event; a page refused is a clean protocol error.
 */
#include <jansson.h>

#include "graph_p.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct graph_err err = { 0 };
	struct graph_event *evs;
	const char *next, *delta;
	json_t *page;
	struct greq *r;
	size_t n, i;
	int is_delta;

	if (size < 1)
		return 0;
	is_delta = data[0] & 1;
	r = fuzz_greq(data + 1, size - 1, 200, is_delta ?
	    "https://graph.microsoft.com/v1.0/me/calendarView/delta?"
	    "startDateTime=2026-01-01T00:00:00Z" :
	    "https://graph.microsoft.com/v1.0/me/calendarView?"
	    "startDateTime=2026-01-01T00:00:00Z");
	if (graph_events_page(r, &page, &evs, &n, &next, &delta, &err) != 0) {
		FUZZ_ASSERT(page == NULL && evs == NULL && n == 0, "left over");
		FUZZ_ASSERT(err.cls == GRAPH_PROTOCOL || err.cls == GRAPH_LOCAL,
		    "class %d", (int)err.cls);
		FUZZ_CLEAN(err.msg, "the message");
	} else {
		FUZZ_ASSERT(page != NULL, "no page");
		FUZZ_ASSERT(!is_delta || next != NULL || delta != NULL,
		    "a delta page with no link taken");
		for (i = 0; i < n; i++)
			fuzz_event(&evs[i]);
	}
	graph_events_free(evs, n);
	graph_page_free(page);
	greq_free(r);
	return 0;
}
