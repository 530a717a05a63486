/* SPDX-License-Identifier: ISC */
/* Unit tests for the pure parts of sync.c: classification of an event
 * into a block or a reason, the window, and the removal cap. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sync.h"
#include "unit.h"

static struct graph_event
timed(const char *showas, tt_time s, tt_time e)
{
	struct graph_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.id = "AAMk-1";
	ev.start = s;
	ev.end = e;
	ev.showas = graph_showas_bit(showas);
	strlcpy(ev.showas_name, showas, sizeof(ev.showas_name));
	return ev;
}

int
main(void)
{
	struct classify_cfg c = { SHOWAS_BUSY | SHOWAS_OOF, 1, 1000000, 2000000 };
	struct graph_event ev;
	tt_time bs, be, ws, we;
	char info[256];

	setenv("TZ", "UTC", 1);
	ev = timed("busy", 1500000, 1503600);
	CHECK(sync_classify(&ev, 0, &c, &bs, &be, info, sizeof(info)) ==
	    R_LOADED && bs == 1500000 && be == 1503600, "busy blocks");
	ev = timed("oof", 1500000, 1503600);
	CHECK(sync_classify(&ev, 0, &c, &bs, &be, info, sizeof(info)) ==
	    R_LOADED, "oof blocks");
	ev = timed("free", 1500000, 1503600);
	CHECK(sync_classify(&ev, 0, &c, &bs, &be, info, sizeof(info)) == R_FREE &&
	    strstr(info, "Available") != NULL, "free: listed as Available");
	ev = timed("tentative", 1500000, 1503600);
	CHECK(sync_classify(&ev, 0, &c, &bs, &be, info, sizeof(info)) ==
	    R_SHOWAS && strstr(info, "tentative") && strstr(info, "busy,oof"),
	    "tentative: showas, naming the status and the setting (%s)", info);
	c.block_showas |= SHOWAS_TENTATIVE;
	CHECK(sync_classify(&ev, 0, &c, &bs, &be, info, sizeof(info)) ==
	    R_LOADED, "tentative blocks when configured");
	ev = timed("workingElsewhere", 1500000, 1503600);
	CHECK(sync_classify(&ev, 0, &c, &bs, &be, info, sizeof(info)) ==
	    R_SHOWAS, "workingElsewhere does not block by default");
	ev = timed("busy", 1500000, 1503600);
	ev.cancelled = 1;
	CHECK(sync_classify(&ev, 0, &c, &bs, &be, info, sizeof(info)) ==
	    R_CANCELLED, "a cancelled meeting never blocks");
	ev = timed("busy", 1500000, 1503600);
	CHECK(sync_classify(&ev, 1, &c, &bs, &be, info, sizeof(info)) ==
	    R_TIMETAP, "ours comes back as timetap");
	ev = timed("busy", 2000000, 2003600);
	CHECK(sync_classify(&ev, 0, &c, &bs, &be, info, sizeof(info)) ==
	    R_OUTSIDE, "starting at the window end: outside");
	ev = timed("busy", 996400, 1000000);
	CHECK(sync_classify(&ev, 0, &c, &bs, &be, info, sizeof(info)) ==
	    R_OUTSIDE, "ending at the window start: outside");
	ev = timed("busy", 996400, 1000001);
	CHECK(sync_classify(&ev, 0, &c, &bs, &be, info, sizeof(info)) ==
	    R_LOADED, "overlapping the window start: loaded");
	ev = timed("busy", 1500000, 1500000);
	CHECK(sync_classify(&ev, 0, &c, &bs, &be, info, sizeof(info)) ==
	    R_INVALID, "no duration: invalid");
	ev = timed("busy", 1500000, 1503600);
	ev.invalid = "start";
	CHECK(sync_classify(&ev, 0, &c, &bs, &be, info, sizeof(info)) ==
	    R_INVALID && strcmp(info, "could not read start") == 0,
	    "unreadable: invalid, naming the field");

	/* All-day events block local days, whatever zone. */
	ev = timed("oof", 0, 0);
	ev.all_day = 1;
	ev.sy = 2026, ev.sm = 3, ev.sd = 29, ev.ey = 2026, ev.em = 3, ev.ed = 30;
	c.ws = 0;
	c.we = 4000000000LL;
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	CHECK(sync_classify(&ev, 0, &c, &bs, &be, info, sizeof(info)) ==
	    R_LOADED && bs == 1774738800 && be - bs == 23 * 3600,
	    "all-day on the Berlin spring-forward day: local midnight, 23 h");
	setenv("TZ", "America/New_York", 1);
	tzset();
	CHECK(sync_classify(&ev, 0, &c, &bs, &be, info, sizeof(info)) ==
	    R_LOADED && bs == 1774756800, "all-day in New York starts at "
	    "its local midnight");
	c.block_all_day = 0;
	CHECK(sync_classify(&ev, 0, &c, &bs, &be, info, sizeof(info)) ==
	    R_SHOWAS && strstr(info, "block_all_day"), "block_all_day = no");

	setenv("TZ", "UTC", 1);
	tzset();
	sync_window(7, 180, 1774774800, &ws, &we);
	CHECK(ws == 1774742400 - 7 * 86400 && we == 1774742400 + 181 * 86400,
	    "window: local midnights, today - 7 to today + 181");
	CHECK(strcmp(sync_reason_code(R_REMOVED), "removed") == 0 &&
	    sync_reason_code(R_LOADED) == NULL, "reason codes");

	CHECK(!sync_too_many(10, 10, 50, 1), "up to 10 removals always pass");
	CHECK(sync_too_many(11, 20, 50, 1), "11 of 20 is more than 50%%");
	CHECK(!sync_too_many(11, 22, 50, 1), "11 of 22 is 50%%: allowed");
	CHECK(sync_too_many(6, 100, 5, 0) && !sync_too_many(5, 100, 5, 0),
	    "an absolute cap");
	return DONE();
}
