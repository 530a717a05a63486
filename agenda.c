/* SPDX-License-Identifier: ISC */
/*
 * agenda.c -- the book in local time, offline: `free`, the open slots
 * inside the working hours, and `agenda`, a grid of days (columns) and
 * hours (rows) with the booked appointments, the [ext] blocks and the
 * conflicts between them.  Only reads the store and prints.
 *
 * Local days and hours are wall-clock ones (TZ, or the configured
 * time_zone, as everywhere): a day is from one local midnight to the
 * next (23 or 25 hours on a DST change), an hour from HH:00 to the next
 * HH:00 of the same day.  A wall time the clock skips is the first
 * minute after the jump; one it repeats is its first occurrence
 * (tt_local_wall).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd.h"

static const char *const day_names[7] = {
	"mon", "tue", "wed", "thu", "fri", "sat", "sun"
};
static const char *const day_heads[7] = {
	"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"
};

/* ------------------------------------------------------ the items */

struct item {
	int64_t id;
	int ext, all_day, conflict;
	int whole;		/* all-day in the shown zone: local midnights */
	tt_time start, end;
	char *subject;		/* as stored */
	char *shown;		/* sanitised for a terminal */
	char *calendar;		/* ext: the source calendar; NULL */
};

struct items {
	struct item *v;
	size_t n, cap;
	struct views_pair *pairs;	/* the open conflicts among them */
	size_t npairs;
	int failed;		/* out of memory */
};

/* Whether t is a local midnight (of TZ, the configured zone). */
static int
midnight(tt_time t)
{
	int y, m, d;

	tt_local_date(t, &y, &m, &d, NULL);
	return tt_local_midnight(y, m, d) == t;
}

static int
items_add(void *arg, const struct appt *a)
{
	struct items *it = arg;
	struct item *c;

	if (tt_reserve(&it->v, &it->cap, it->n + 1, sizeof(*it->v)))
		return it->failed = 1;
	c = &it->v[it->n];
	memset(c, 0, sizeof(*c));
	c->id = a->id;
	c->ext = a->ext;
	c->all_day = a->all_day;
	/* An all-day block of another zone (the mailbox's) covers hours
	 * here, and is shown in them. */
	c->whole = a->all_day && midnight(a->start) && midnight(a->end);
	c->start = a->start;
	c->end = a->end;
	c->subject = strdup(a->subject ? a->subject : "");
	c->shown = tt_sanitize_dup(a->subject ? a->subject : "");
	c->calendar = a->calendar ? strdup(a->calendar) : NULL;
	it->n++;
	if (c->subject == NULL || c->shown == NULL ||
	    (a->calendar != NULL && c->calendar == NULL))
		return it->failed = 1;
	return 0;
}

static void
items_free(struct items *it)
{
	size_t i;

	for (i = 0; i < it->n; i++) {
		free(it->v[i].subject);
		free(it->v[i].shown);
		free(it->v[i].calendar);
	}
	free(it->v);
	free(it->pairs);
	memset(it, 0, sizeof(*it));
}

/* The profile's live items overlapping [from, to), by start, and the open
 * conflicts among them (none when the default profile is not made yet). */
static int
items_load(struct tt_ctx *ctx, tt_time from, tt_time to, struct items *it,
    struct tt_err *err)
{
	int64_t profile;
	int r;

	memset(it, 0, sizeof(*it));
	if ((r = cmd_profile(ctx, &profile, err)) <= 0)
		return r;
	if (store_appt_list(ctx->st, profile, from, to, items_add, it, err) ||
	    views_pairs(ctx->st, profile, from, to, &it->pairs, &it->npairs,
	    err)) {
		items_free(it);
		return -1;
	}
	if (it->failed) {
		items_free(it);
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	}
	return 0;
}

/* Whether items a and b are an open conflict: the store decides what is
 * one (store_conflicts), the grid only looks the pair up. */
static int
conflict(const struct items *it, const struct item *a, const struct item *b)
{
	size_t k;

	for (k = 0; k < it->npairs; k++)
		if ((it->pairs[k].appt == a->id && it->pairs[k].block == b->id) ||
		    (it->pairs[k].appt == b->id && it->pairs[k].block == a->id))
			return 1;
	return 0;
}

static void
mark_conflicts(struct items *it)
{
	size_t i, j;

	for (i = 0; i < it->n; i++)
		for (j = i + 1; j < it->n; j++)
			if (conflict(it, &it->v[i], &it->v[j]))
				it->v[i].conflict = it->v[j].conflict = 1;
}

/* "09:00" of an instant in local time; "24:00" when it is the midnight
 * ending the local day y-m-d. */
static void
clock_of(tt_time t, int y, int m, int d, char *buf, size_t len)
{
	char full[32];
	int ty, tm, td;

	tt_local_date(t, &ty, &tm, &td, NULL);
	if (ty != y || tm != m || td != d) {
		strlcpy(buf, "24:00", len);
		return;
	}
	tt_fmt_local(t, full, sizeof(full));
	strlcpy(buf, full + 11, len);
}

/* ------------------------------------------------------------- free */

enum { F_FROM = CMD_LONG, F_TO, F_DURATION, F_HOURS, F_DAYS, F_JSON };

/* The days of "mon-fri", "mon,wed,fri", "mon-wed,sat", "all": bit 0 is
 * Monday.  A range may wrap over the week's end ("fri-mon"). */
static int
parse_days(const char *s, unsigned *mask, struct tt_err *err)
{
	const char *p = s;
	int a, b, k;
	size_t n;

	*mask = 0;
	if (strcasecmp(s, "all") == 0) {
		*mask = 0x7f;
		return 0;
	}
	for (;;) {
		for (a = 0; a < 7; a++)
			if (strncasecmp(p, day_names[a], 3) == 0)
				break;
		if (a == 7)
			goto bad;
		p += 3;
		b = a;
		if (*p == '-') {
			for (b = 0; b < 7; b++)
				if (strncasecmp(p + 1, day_names[b], 3) == 0)
					break;
			if (b == 7)
				goto bad;
			p += 4;
		}
		for (k = a, n = 0; n < 7; k = (k + 1) % 7, n++) {
			*mask |= 1u << k;
			if (k == b)
				break;
		}
		if (*p == '\0')
			return 0;
		if (*p++ != ',')
			goto bad;
	}
bad:
	return tt_fail(err, TT_E_USAGE, "free: bad --days '%s': use mon to "
	    "sun, a range (mon-fri), a list (mon,wed,fri), both (mon-wed,sat) "
	    "or all", s);
}

/* "HH:MM-HH:MM" as minutes since midnight, the end after the start. */
static int
parse_hours(const char *s, int *from, int *to, struct tt_err *err)
{
	const char *dash = strchr(s, '-');
	char *first;
	int r;

	if (dash == NULL)
		goto bad;
	if ((first = strndup(s, (size_t)(dash - s))) == NULL)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	r = tt_parse_clock(first, from, err) || tt_parse_clock(dash + 1, to,
	    err);
	free(first);
	if (r)
		goto bad;
	if (*to <= *from)
		return tt_fail(err, TT_E_USAGE, "free: --hours '%s' ends before "
		    "it starts (the end must be after the start, the same day)",
		    s);
	return 0;
bad:
	return tt_fail(err, TT_E_USAGE, "free: bad --hours '%s': use "
	    "HH:MM-HH:MM, e.g. 09:00-17:00", s);
}

/* "45m", "1h", "1h30m". */
static void
length_of(tt_time secs, char *buf, size_t len)
{
	long m = (long)(secs / 60);

	if (m >= 60 && m % 60)
		snprintf(buf, len, "%ldh%02ldm", m / 60, m % 60);
	else if (m >= 60)
		snprintf(buf, len, "%ldh", m / 60);
	else
		snprintf(buf, len, "%ldm", m);
}

struct free_out {
	json_t *json;		/* --json: the array */
	int rows;
};

static int
free_slot(struct free_out *fo, int y, int m, int d, int wday, tt_time s,
    tt_time e)
{
	char date[16], from[16], to[16], len[32];

	snprintf(date, sizeof(date), "%04d-%02d-%02d", y, m, d);
	if (fo->json != NULL) {
		json_t *o = json_pack("{s:s, s:o, s:o, s:I}",
		    "date", date,
		    "starts_at", tt_json_time(s),
		    "ends_at", tt_json_time(e),
		    "minutes", (json_int_t)((e - s) / 60));

		return o == NULL || json_array_append_new(fo->json, o) ? -1 : 0;
	}
	clock_of(s, y, m, d, from, sizeof(from));
	clock_of(e, y, m, d, to, sizeof(to));
	length_of(e - s, len, sizeof(len));
	if (fo->rows++ == 0)
		printf("Day Date       From  To    Length\n");
	printf("%s %s %-5s %-5s %s\n", day_heads[wday], date, from, to, len);
	return 0;
}

/* The longest range free looks at: a year, and a day for its ends. */
#define FREE_RANGE_MAX	((tt_time)367 * 86400)

/*
 * The open slots: inside the working hours of each working day in
 * [from, to), between the live items (booked and [ext], all-day ones
 * too), each at least `dur` long.  A slot starts where the working hours
 * or the previous item end and is not rounded.
 */
static int
free_slots(const struct items *it, tt_time from, tt_time to, tt_time dur,
    int h0, int h1, unsigned days, struct free_out *fo)
{
	int y, m, d, wday, n;
	tt_time ws, we, cur;
	size_t i;

	tt_local_date(from, &y, &m, &d, &wday);
	for (n = 0; n < 400 && tt_local_midnight(y, m, d) < to; n++,
	    tt_date_add(&y, &m, &d, 1), wday = (wday + 1) % 7) {
		if (!(days & (1u << wday)))
			continue;
		ws = tt_local_wall(y, m, d, h0);
		we = tt_local_wall(y, m, d, h1);
		if (ws < from)
			ws = from;
		if (we > to)
			we = to;
		for (cur = ws, i = 0; i < it->n && cur < we; i++) {
			const struct item *a = &it->v[i];

			if (a->end <= cur || a->start >= we)
				continue;
			if (a->start > cur && a->start - cur >= dur &&
			    free_slot(fo, y, m, d, wday, cur, a->start))
				return -1;
			if (a->end > cur)
				cur = a->end;
		}
		if (cur < we && we - cur >= dur &&
		    free_slot(fo, y, m, d, wday, cur, we))
			return -1;
	}
	return 0;
}

int
free_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, F_FROM },
		{ "to", required_argument, NULL, F_TO },
		{ "duration", required_argument, NULL, F_DURATION },
		{ "hours", required_argument, NULL, F_HOURS },
		{ "days", required_argument, NULL, F_DAYS },
		{ "json", no_argument, NULL, F_JSON },
		CMD_OPT_HELP,
		{ NULL, 0, NULL, 0 }
	};
	const char *from_s = NULL, *to_s = NULL, *dur_s = NULL;
	const char *hours_s = "09:00-17:00", *days_s = "mon-fri";
	struct free_out fo = { NULL, 0 };
	struct items it;
	tt_time from, to, dur = 30 * 60;
	unsigned days;
	int c, h0, h1, json = 0, r;

	optind = 0;
	while ((c = cmd_getopt(ctx, argc, argv, "", opts, err)) != -1) {
		switch (c) {
		case F_FROM: from_s = optarg; break;
		case F_TO: to_s = optarg; break;
		case F_DURATION: dur_s = optarg; break;
		case F_HOURS: hours_s = optarg; break;
		case F_DAYS: days_s = optarg; break;
		case F_JSON: json = 1; break;
		case CMD_HELPED: return 0;
		default: return -1;
		}
	}
	if (cmd_no_operand(ctx, argc, argv, err))
		return -1;
	/* Now, up to the next whole minute. */
	from = (tt_now() + 59) / 60 * 60;
	if ((from_s && tt_parse_time(from_s, &from, err)) ||
	    (to_s && tt_parse_time(to_s, &to, err)) ||
	    (dur_s && tt_parse_duration(dur_s, &dur, err)) ||
	    parse_hours(hours_s, &h0, &h1, err) ||
	    parse_days(days_s, &days, err))
		return -1;
	if (to_s == NULL)
		to = from + 7 * 86400 < TT_TIME_MAX ? from + 7 * 86400 :
		    TT_TIME_MAX;
	if (to <= from)
		return tt_fail(err, TT_E_USAGE, "free: --to must be after "
		    "--from");
	if (to - from > FREE_RANGE_MAX)
		return tt_fail(err, TT_E_USAGE, "free: --from and --to are "
		    "more than 366 days apart");
	if (cmd_open(ctx, err))
		return -1;
	if (items_load(ctx, from, to, &it, err))
		return -1;
	if (json && (fo.json = json_array()) == NULL) {
		items_free(&it);
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	}
	r = free_slots(&it, from, to, dur, h0, h1, days, &fo);
	items_free(&it);
	if (r) {
		json_decref(fo.json);
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	}
	if (fo.json != NULL)
		return tt_json_print(fo.json, err);
	if (fo.rows == 0)
		ctx->note(ctx, 0, "free: no open slot");
	return 0;
}

/* ----------------------------------------------------------- agenda */

enum { A_WEEK = CMD_LONG, A_DAYS, A_FROM, A_JSON };

#define AGENDA_DAYS_MAX	31
#define TIME_W		5	/* "08:00" */
#define CELL_MIN	6	/* "Mon 07" */

#define C_BOOKED	"\033[32m"
#define C_BLOCK		"\033[34m"
#define C_CONFLICT	"\033[31m"
#define C_OFF		"\033[0m"

struct day {
	int y, m, d, wday;
	tt_time start, end;	/* local midnight to the next one */
};

struct grid {
	const struct items *it;
	const struct day *days;
	int ndays;
	int h_lo, h_hi;		/* the rows: hours h_lo to h_hi - 1 */
	int width;		/* a cell's */
	int colour;
	int any_all_day;
	int skipped;		/* a row holds an hour the clock skips */
};

/* Print line (a memory stream's text) without its trailing spaces. */
static void
put_line(const char *line, size_t len)
{
	while (len > 0 && line[len - 1] == ' ')
		len--;
	fwrite(line, 1, len, stdout);
	putchar('\n');
}

/* Whose subject a cell shows: one starting there before one going on,
 * a booked one before a block, else the first. */
static int
rank(const struct item *a, tt_time cs)
{
	return (a->start >= cs) * 2 + !a->ext;
}

/*
 * The cell of [cs, ce), an hour of a day (all_day: the day, in the
 * all-day row, which shows only the all-day blocks of the zone): the
 * letter of what occupies it -- B a booked appointment, X an [ext] block,
 * "!" before it when a booked one and a block overlap there -- lower case
 * when only part of it is occupied; then the subject of the item starting
 * there (a booked one first), or on the first row of the one going on.
 */
static void
cell(const struct grid *g, FILE *f, tt_time cs, tt_time ce, int all_day,
    int first_row)
{
	const struct item *v = g->it->v, *label = NULL;
	int booked = 0, block = 0, clash = 0, partial = 0, letter;
	tt_time cur = cs;
	size_t i, j;
	char *text = NULL;
	const char *on = "";

	if (cs >= ce) {		/* an hour the clock skips */
		fprintf(f, "%-*s", g->width, "-");
		return;
	}
	for (i = 0; i < g->it->n; i++) {
		if (v[i].whole != all_day ||
		    !store_overlaps(v[i].start, v[i].end, cs, ce))
			continue;
		if (v[i].ext)
			block = 1;
		else
			booked = 1;
		if (v[i].start > cur)
			partial = 1;
		if (v[i].end > cur)
			cur = v[i].end;
		if ((v[i].start >= cs || first_row) && (label == NULL ||
		    rank(&v[i], cs) > rank(label, cs)))
			label = &v[i];
		/* A conflict inside this cell (with any live item: an all-day
		 * block under a booked hour too). */
		for (j = 0; j < g->it->n; j++) {
			tt_time s = v[i].start > v[j].start ? v[i].start :
			    v[j].start, e = v[i].end < v[j].end ? v[i].end :
			    v[j].end;

			if (conflict(g->it, &v[i], &v[j]) &&
			    store_overlaps(s, e, cs, ce))
				clash = 1;
		}
	}
	if (cur < ce)
		partial = 1;
	if (!booked && !block)
		goto empty;
	letter = booked ? 'B' : 'X';
	if (partial && !all_day)
		letter = letter == 'B' ? 'b' : 'x';
	if (g->colour)
		on = clash ? C_CONFLICT : booked ? C_BOOKED : C_BLOCK;
	if (asprintf(&text, "%s%c%s%s", clash ? "!" : "", letter,
	    label ? " " : "", label ? label->shown : "") < 0)
		text = NULL;
	if (text == NULL)
		goto empty;
	fputs(on, f);
	/* The colour around the text, not the padding. */
	if (tt_text_width(text) > g->width)
		tt_cell(f, text, g->width);
	else
		fputs(text, f);
	if (*on)
		fputs(C_OFF, f);
	if (tt_text_width(text) < g->width)
		fprintf(f, "%*s", g->width - tt_text_width(text), "");
	free(text);
	return;
empty:
	fprintf(f, "%*s", g->width, "");
}

/* One row of a band of days [d0, d1): the label, then each day's cell. */
static int
row(const struct grid *g, int d0, int d1, int hour)
{
	char *line = NULL, label[16];
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);
	int i;

	if (f == NULL)
		return -1;
	if (hour < 0)
		snprintf(label, sizeof(label), "all");
	else
		snprintf(label, sizeof(label), "%02d:00", hour);
	fprintf(f, "%-*s", TIME_W, label);
	for (i = d0; i < d1; i++) {
		const struct day *dy = &g->days[i];

		putc(' ', f);
		if (hour < 0)
			cell(g, f, dy->start, dy->end, 1, 1);
		else
			cell(g, f, tt_local_wall(dy->y, dy->m, dy->d,
			    hour * 60), tt_local_wall(dy->y, dy->m, dy->d,
			    (hour + 1) * 60), 0, hour == g->h_lo);
	}
	if (fclose(f) != 0) {
		free(line);
		return -1;
	}
	put_line(line, len);
	free(line);
	return 0;
}

/* The legend, folded to the width. */
static void
legend(const struct grid *g, int width)
{
	static const struct {
		const char *colour, *mark, *text;
	} parts[] = {
		{ C_BOOKED, "B", " booked" },
		{ C_BLOCK, "X", " [ext] block" },
		{ C_CONFLICT, "!", " conflict" },
		{ "", "b x", ": part of the hour" },
		{ "", "-", " no such hour (DST)" },
	};
	size_t i;
	int col = 0, w;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]) - !g->skipped; i++) {
		w = (int)(strlen(parts[i].mark) + strlen(parts[i].text));
		if (col > 0 && col + 2 + w > width) {
			putchar('\n');
			col = 0;
		} else if (col > 0) {
			fputs("  ", stdout);
			col += 2;
		}
		if (g->colour && *parts[i].colour)
			printf("%s%s%s%s", parts[i].colour, parts[i].mark, C_OFF,
			    parts[i].text);
		else
			printf("%s%s", parts[i].mark, parts[i].text);
		col += w;
	}
	putchar('\n');
}

/* The hours the rows show: 08 to 18, and any hour of a timed item on the
 * shown days. */
static void
grid_hours(struct grid *g)
{
	const struct item *v = g->it->v;
	int i, lo, hi, y, m, d;
	size_t k;
	char buf[32];

	g->h_lo = 8;
	g->h_hi = 18;
	for (k = 0; k < g->it->n; k++) {
		if (v[k].whole) {
			g->any_all_day = 1;
			continue;
		}
		for (i = 0; i < g->ndays; i++) {
			const struct day *dy = &g->days[i];

			if (!store_overlaps(v[k].start, v[k].end, dy->start,
			    dy->end))
				continue;
			lo = 0;
			hi = 24;
			if (v[k].start > dy->start) {
				tt_fmt_local(v[k].start, buf, sizeof(buf));
				lo = atoi(buf + 11);
			}
			if (v[k].end < dy->end) {
				tt_local_date(v[k].end, &y, &m, &d, NULL);
				tt_fmt_local(v[k].end, buf, sizeof(buf));
				hi = atoi(buf + 11);
				/* An end after HH:00 needs its row too. */
				if (v[k].end > tt_local_wall(y, m, d, hi * 60))
					hi++;
			}
			if (lo < g->h_lo)
				g->h_lo = lo;
			if (hi > g->h_hi)
				g->h_hi = hi;
		}
	}
	for (i = 0; i < g->ndays; i++)
		for (lo = g->h_lo; lo < g->h_hi; lo++)
			if (tt_local_wall(g->days[i].y, g->days[i].m,
			    g->days[i].d, lo * 60) >= tt_local_wall(g->days[i].y,
			    g->days[i].m, g->days[i].d, (lo + 1) * 60))
				g->skipped = 1;
}

static int
grid_print(struct grid *g)
{
	int width = tt_term_width(), per, bands, b, d0, d1, i, h;
	char head[16], a[16], z[16];

	/* As many days a band as fit at CELL_MIN, the bands balanced. */
	per = (width - TIME_W) / (CELL_MIN + 1);
	if (per < 1)
		per = 1;
	if (per > g->ndays)
		per = g->ndays;
	bands = (g->ndays + per - 1) / per;
	per = (g->ndays + bands - 1) / bands;
	g->width = (width - TIME_W) / per - 1;
	if (g->width < CELL_MIN)
		g->width = CELL_MIN;
	snprintf(a, sizeof(a), "%04d-%02d-%02d", g->days[0].y, g->days[0].m,
	    g->days[0].d);
	snprintf(z, sizeof(z), "%04d-%02d-%02d", g->days[g->ndays - 1].y,
	    g->days[g->ndays - 1].m, g->days[g->ndays - 1].d);
	printf("%s %s to %s %s\n", day_heads[g->days[0].wday], a,
	    day_heads[g->days[g->ndays - 1].wday], z);
	for (b = 0; b < bands; b++) {
		char *line = NULL;
		size_t len = 0;
		FILE *f;

		d0 = b * per;
		d1 = d0 + per < g->ndays ? d0 + per : g->ndays;
		putchar('\n');
		if ((f = open_memstream(&line, &len)) == NULL)
			return -1;
		fprintf(f, "%*s", TIME_W, "");
		for (i = d0; i < d1; i++) {
			snprintf(head, sizeof(head), "%s %02d",
			    day_heads[g->days[i].wday], g->days[i].d);
			putc(' ', f);
			tt_cell(f, head, g->width);
		}
		if (fclose(f) != 0) {
			free(line);
			return -1;
		}
		put_line(line, len);
		free(line);
		if (g->any_all_day && row(g, d0, d1, -1))
			return -1;
		for (h = g->h_lo; h < g->h_hi; h++)
			if (row(g, d0, d1, h))
				return -1;
	}
	putchar('\n');
	legend(g, width);
	return 0;
}

static int
agenda_json(const struct items *it, tt_time from, tt_time to,
    struct tt_err *err)
{
	json_t *items = json_array(), *o;
	size_t i;

	if (items == NULL)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	for (i = 0; i < it->n; i++) {
		const struct item *a = &it->v[i];

		o = json_pack("{s:I, s:b, s:b, s:o, s:o, s:o, s:o, s:b}",
		    "appointment_id", (json_int_t)a->id,
		    "ext", a->ext,
		    "all_day", a->all_day,
		    "starts_at", tt_json_time(a->start),
		    "ends_at", tt_json_time(a->end),
		    "subject", tt_json_text(a->subject),
		    "calendar", tt_json_text(a->calendar),
		    "conflict", a->conflict);
		if (o == NULL || json_array_append_new(items, o) != 0) {
			json_decref(items);
			return tt_fail(err, TT_E_INTERNAL, "out of memory");
		}
	}
	o = json_pack("{s:o, s:o, s:o}", "from_at", tt_json_time(from),
	    "to_at", tt_json_time(to), "items", items);
	if (o == NULL)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	return tt_json_print(o, err);
}

int
agenda_main(struct tt_ctx *ctx, int argc, char **argv, struct tt_err *err)
{
	static const struct option opts[] = {
		{ "week", no_argument, NULL, A_WEEK },
		{ "days", required_argument, NULL, A_DAYS },
		{ "from", required_argument, NULL, A_FROM },
		{ "json", no_argument, NULL, A_JSON },
		CMD_OPT_HELP,
		{ NULL, 0, NULL, 0 }
	};
	struct day days[AGENDA_DAYS_MAX + 1];
	struct grid g = { 0 };
	struct items it;
	const char *from_s = NULL, *days_s = NULL;
	int c, i, json = 0, week = 0, n = 7, y, m, d, wday, r;
	tt_time from;
	char *end;
	long v;

	optind = 0;
	while ((c = cmd_getopt(ctx, argc, argv, "", opts, err)) != -1) {
		switch (c) {
		case A_WEEK: week = 1; break;
		case A_DAYS: days_s = optarg; break;
		case A_FROM: from_s = optarg; break;
		case A_JSON: json = 1; break;
		case CMD_HELPED: return 0;
		default: return -1;
		}
	}
	if (cmd_no_operand(ctx, argc, argv, err))
		return -1;
	if (week && days_s)
		return cmd_bad(ctx, err, "agenda: --week and --days exclude "
		    "each other");
	if (days_s) {
		v = strtol(days_s, &end, 10);
		if (end == days_s || *end != '\0' || v < 1 ||
		    v > AGENDA_DAYS_MAX)
			return tt_fail(err, TT_E_USAGE, "agenda: --days wants a "
			    "number from 1 to %d, not '%s'", AGENDA_DAYS_MAX,
			    days_s);
		n = (int)v;
	}
	from = tt_now();
	if (from_s && tt_parse_time(from_s, &from, err))
		return -1;
	/* The week: from the Monday of the week holding --from. */
	tt_local_date(from, &y, &m, &d, &wday);
	if (days_s == NULL) {
		tt_date_add(&y, &m, &d, -wday);
		wday = 0;
	}
	for (i = 0; i <= n; i++) {
		days[i].y = y;
		days[i].m = m;
		days[i].d = d;
		days[i].wday = (wday + i) % 7;
		days[i].start = tt_local_midnight(y, m, d);
		if (i > 0)
			days[i - 1].end = days[i].start;
		tt_date_add(&y, &m, &d, 1);
	}
	if (days[n].start > TT_TIME_MAX)
		return tt_fail(err, TT_E_USAGE, "agenda: the days go past "
		    "9999-12-31");
	if (cmd_open(ctx, err) ||
	    items_load(ctx, days[0].start, days[n].start, &it, err))
		return -1;
	mark_conflicts(&it);
	if (json) {
		r = agenda_json(&it, days[0].start, days[n].start, err);
		items_free(&it);
		return r;
	}
	g.it = &it;
	g.days = days;
	g.ndays = n;
	g.colour = tt_colour();
	grid_hours(&g);
	r = grid_print(&g);
	items_free(&it);
	if (r)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	return 0;
}
