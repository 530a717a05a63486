/* SPDX-License-Identifier: ISC */
/*
 * fuzz_memberof.c -- a page of /me/memberOf (graph.c graph_page_items
 * with graph_group_item), as graph_list_groups reads it.  Oracles: every
 * group reported is a group calendar with a clean id, its own container,
 * a clean name (its id when the directory gave limited information) and
 * the path "NAME (group)".
 */
#include <jansson.h>

#include "graph_p.h"
#include "fuzz.h"

static int
reported(void *arg, const struct graph_calendar *cal)
{
	char *want;

	(void)arg;
	FUZZ_ASSERT(cal->kind == GRAPH_CAL_GROUP, "kind %d", (int)cal->kind);
	FUZZ_ID(cal->id, "the id");
	FUZZ_ASSERT(cal->container != NULL && strcmp(cal->container,
	    cal->id) == 0, "container");
	FUZZ_CLEAN(cal->name, "the name");
	FUZZ_CLEAN(cal->owner, "the mail");
	FUZZ_ASSERT(!cal->limited || strcmp(cal->name, cal->id) == 0,
	    "limited, yet named");
	if (asprintf(&want, "%s (group)", cal->name) < 0)
		abort();
	FUZZ_ASSERT(strcmp(cal->path, want) == 0, "path %s", cal->path);
	free(want);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct graph_err err = { 0 };
	struct group_ctx c = { reported, NULL, &err };
	json_t *j = json_loadb((const char *)data, size,
	    JSON_REJECT_DUPLICATES, NULL);

	if (json_is_object(j) && graph_page_items(j, "GET /me/memberOf",
	    graph_group_item, &c, &err) != 0) {
		FUZZ_ASSERT(err.cls == GRAPH_PROTOCOL || err.cls == GRAPH_LOCAL,
		    "class %d", (int)err.cls);
		FUZZ_CLEAN(err.msg, "the message");
	}
	json_decref(j);
	return 0;
}
