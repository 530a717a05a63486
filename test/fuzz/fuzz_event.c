/* SPDX-License-Identifier: ISC */
/*
 * fuzz_event.c -- one event as Graph sends it (graph_events.c
 * graph_parse_event), read as a page item is (NULs allowed).  Oracles:
 * an event not marked invalid has an id, a clean subject and showAs
 * name, one showAs bit, real dates or instants in the book's range that
 * format back to themselves, an end not before its start (fuzz.h
 * fuzz_event).
 */
#include <jansson.h>

#include "graph_p.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct graph_event ev;
	json_t *j = json_loadb((const char *)data, size, JSON_ALLOW_NUL |
	    JSON_REJECT_DUPLICATES, NULL);

	if (json_is_object(j)) {
		graph_parse_event(j, &ev);
		fuzz_event(&ev);
		graph_event_clear(&ev);
	}
	json_decref(j);
	return 0;
}
