/* SPDX-License-Identifier: ISC */
/*
 * fuzz_calendars.c -- the calendar listings (graph.c: graph_page_items
 * with graph_cal_group and graph_cal_item, then graph_cal_report), as
 * graph_list_calendars reads them.  Input: a JSON array of pages, in the
 * order they are asked for: /me/calendarGroups, then each group's
 * calendars, then /me/calendars (a page missing reads as empty).
 * Oracles: every calendar reported has a clean id, name and path (the
 * path ends with the name), a clean owner or none, a container that is
 * one of the groups; no id is reported twice.
 */
#include <jansson.h>

#include "graph_p.h"
#include "fuzz.h"

struct seen {
	struct cal_ctx *c;
	char **ids;
	size_t n;
};

static int
reported(void *arg, const struct graph_calendar *cal)
{
	struct seen *s = arg;
	size_t i, nl, pl;
	char **ids;

	FUZZ_ASSERT(cal->kind == GRAPH_CAL_USER, "kind %d", (int)cal->kind);
	FUZZ_ID(cal->id, "the id");
	FUZZ_CLEAN(cal->name, "the name");
	FUZZ_CLEAN(cal->path, "the path");
	FUZZ_CLEAN(cal->owner, "the owner");
	FUZZ_ASSERT(cal->name != NULL && cal->path != NULL, "no name or path");
	nl = strlen(cal->name);
	pl = strlen(cal->path);
	FUZZ_ASSERT(pl >= nl && strcmp(cal->path + pl - nl, cal->name) == 0,
	    "path %s for %s", cal->path, cal->name);
	FUZZ_ASSERT(!cal->shared || !cal->is_default, "a shared default");
	if (cal->container != NULL) {
		for (i = 0; i < s->c->ngroups; i++)
			if (cal->container == s->c->groups[i].id)
				break;
		FUZZ_ASSERT(i < s->c->ngroups, "a container no group has");
	}
	for (i = 0; i < s->n; i++)
		FUZZ_ASSERT(strcmp(s->ids[i], cal->id) != 0, "%s reported twice",
		    cal->id);
	if ((ids = realloc(s->ids, (s->n + 1) * sizeof(*ids))) == NULL ||
	    (ids[s->n] = strdup(cal->id)) == NULL)
		abort();
	s->ids = ids;
	s->n++;
	return 0;
}

static json_t *
page(json_t *pages, size_t i, json_t *empty)
{
	json_t *p = json_array_get(pages, i);

	return p != NULL ? p : empty;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct graph_err err = { 0 };
	struct cal_ctx c = { 0 };
	struct seen s = { &c, NULL, 0 };
	json_t *pages = json_loadb((const char *)data, size,
	    JSON_REJECT_DUPLICATES, NULL), *empty = json_pack("{s:[]}", "value");
	size_t i, ngroups;
	int rc;

	c.err = &err;
	if (!json_is_array(pages))
		goto out;
	c.cur = (size_t)-1;
	rc = graph_page_items(page(pages, 0, empty), "groups", graph_cal_group,
	    &c, &err);
	ngroups = c.ngroups;
	for (i = 0; rc == 0 && i < ngroups; i++) {
		c.cur = i;
		rc = graph_page_items(page(pages, 1 + i, empty), "calendars",
		    graph_cal_item, &c, &err);
	}
	c.cur = (size_t)-1;
	if (rc == 0)
		rc = graph_page_items(page(pages, 1 + ngroups, empty),
		    "calendars", graph_cal_item, &c, &err);
	if (rc == 0)
		rc = graph_cal_report(&c, reported, &s);
	if (rc != 0) {
		FUZZ_ASSERT(err.cls == GRAPH_PROTOCOL || err.cls == GRAPH_LOCAL,
		    "class %d", (int)err.cls);
		FUZZ_CLEAN(err.msg, "the message");
	}
out:
	graph_cal_clear(&c);
	for (i = 0; i < s.n; i++)
		free(s.ids[i]);
	free(s.ids);
	json_decref(pages);
	json_decref(empty);
	return 0;
}
