/*
 * store.c -- the SQLite file behind store.h.
 *
 * Persistent state: everything in the database.  Recovery rule: every
 * change is one short transaction, committed before the network action it
 * describes (an intent) or after the network result it records, so a crash
 * at any instant leaves a state the next run can finish from.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

struct store {
	sqlite3 *db;
	char *path;
};

/*
 * Migrations, one per schema version; migrations[i] takes the schema from
 * version i to i + 1.  Never edit a released entry: append a new one.
 */
static const char *const migrations[] = {
	/* 1: the book, accounts, calendars, push map, feed, passes */
	"CREATE TABLE profiles ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE accounts ("
	"  profile_id INTEGER PRIMARY KEY REFERENCES profiles(id) ON DELETE CASCADE,"
	"  upn TEXT NOT NULL,"
	"  user_id TEXT,"
	"  tenant TEXT NOT NULL,"
	"  authority_url TEXT NOT NULL,"
	"  graph_url TEXT NOT NULL,"
	"  scopes TEXT NOT NULL,"
	"  refresh_token TEXT,"
	"  access_token TEXT,"
	"  access_expires INTEGER NOT NULL DEFAULT 0,"
	"  last_refresh INTEGER,"
	"  needs_login TEXT,"
	"  connected_at INTEGER NOT NULL);"
	"CREATE TABLE calendars ("
	"  id INTEGER PRIMARY KEY,"
	"  profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
	"  remote_id TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('user', 'group')),"
	"  container TEXT,"
	"  name TEXT NOT NULL,"
	"  path TEXT NOT NULL,"
	"  can_edit INTEGER NOT NULL,"
	"  is_default INTEGER NOT NULL DEFAULT 0,"
	"  pull INTEGER NOT NULL DEFAULT 0,"
	"  push INTEGER NOT NULL DEFAULT 0,"
	"  present INTEGER NOT NULL DEFAULT 1,"
	"  delta_link TEXT,"
	"  window_start INTEGER,"
	"  window_end INTEGER,"
	"  last_full INTEGER,"
	"  UNIQUE (profile_id, remote_id));"
	"CREATE TABLE appointments ("
	"  id INTEGER PRIMARY KEY,"
	"  profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
	"  kind TEXT NOT NULL DEFAULT 'booked' CHECK (kind IN ('booked', 'ext')),"
	"  status TEXT NOT NULL DEFAULT 'booked'"
	"    CHECK (status IN ('booked', 'cancelled')),"
	"  start_utc INTEGER NOT NULL,"
	"  end_utc INTEGER NOT NULL CHECK (end_utc > start_utc),"
	"  all_day INTEGER NOT NULL DEFAULT 0,"
	"  subject TEXT NOT NULL,"
	"  client TEXT,"
	"  online INTEGER NOT NULL DEFAULT 0,"
	"  join_url TEXT,"
	"  source_calendar_id INTEGER REFERENCES calendars(id) ON DELETE CASCADE,"
	"  source_event_id TEXT,"
	"  remote_modified TEXT,"
	"  version INTEGER NOT NULL DEFAULT 1,"
	"  created_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),"
	"  updated_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),"
	"  CHECK ((kind = 'ext') = (source_calendar_id IS NOT NULL)),"
	"  UNIQUE (source_calendar_id, source_event_id));"
	"CREATE INDEX appointments_time ON appointments (profile_id, start_utc);"
	/* A scheduling application may write the table directly: any change
	 * to what is pushed bumps the version, so the next pass re-pushes. */
	"CREATE TRIGGER appointments_touch AFTER UPDATE OF"
	"  start_utc, end_utc, subject, client, online, status ON appointments"
	"  WHEN NEW.version = OLD.version"
	"  BEGIN UPDATE appointments SET version = OLD.version + 1,"
	"    updated_at = strftime('%s', 'now') WHERE id = NEW.id; END;"
	"CREATE TABLE pushed ("
	"  appt_id INTEGER NOT NULL,"
	"  calendar_id INTEGER NOT NULL REFERENCES calendars(id) ON DELETE CASCADE,"
	"  txn_id TEXT NOT NULL,"
	"  event_id TEXT,"
	"  version INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (appt_id, calendar_id));"
	"CREATE INDEX pushed_event ON pushed (event_id);"
	"CREATE TABLE feed ("
	"  id INTEGER PRIMARY KEY,"
	"  profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
	"  calendar_id INTEGER REFERENCES calendars(id) ON DELETE SET NULL,"
	"  calendar TEXT NOT NULL,"
	"  event_id TEXT NOT NULL,"
	"  appt_id INTEGER,"
	"  start_utc INTEGER,"
	"  end_utc INTEGER,"
	"  all_day INTEGER NOT NULL DEFAULT 0,"
	"  subject TEXT NOT NULL DEFAULT '',"
	"  loaded INTEGER NOT NULL,"
	"  reason TEXT,"
	"  info TEXT NOT NULL,"
	"  seen_at INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL,"
	"  UNIQUE (profile_id, calendar, event_id));"
	"CREATE INDEX feed_recent ON feed (profile_id, seq);"
	"CREATE TABLE passes ("
	"  id INTEGER PRIMARY KEY,"
	"  profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
	"  started INTEGER NOT NULL,"
	"  finished INTEGER,"
	"  exit_code INTEGER,"
	"  items INTEGER NOT NULL DEFAULT 0,"
	"  added INTEGER NOT NULL DEFAULT 0,"
	"  changed INTEGER NOT NULL DEFAULT 0,"
	"  removed INTEGER NOT NULL DEFAULT 0,"
	"  pushed INTEGER NOT NULL DEFAULT 0,"
	"  deleted INTEGER NOT NULL DEFAULT 0,"
	"  requests INTEGER NOT NULL DEFAULT 0,"
	"  message TEXT);",
};

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int
dberr(struct store *st, struct tt_err *err, const char *what)
{
	return tt_fail(err, TT_IOERR, "database %s: %s: %s", st->path, what,
	    sqlite3_errmsg(st->db));
}

static int
exec(struct store *st, const char *sql, struct tt_err *err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return dberr(st, err, "statement failed");
	return 0;
}

static sqlite3_stmt *
prep(struct store *st, const char *sql, struct tt_err *err)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		dberr(st, err, "prepare");
		return NULL;
	}
	return s;
}

/* Finish a statement that should have run to completion. */
static int
done(struct store *st, sqlite3_stmt *s, int rc, struct tt_err *err)
{
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		dberr(st, err, "write");
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

static char *
col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	return v ? strdup((const char *)v) : NULL;
}

/* mkdir -p with mode 0700 for what we create. */
static int
make_dirs(const char *dir, struct tt_err *err)
{
	char buf[PATH_MAX], *p;

	if (strlcpy(buf, dir, sizeof(buf)) >= sizeof(buf))
		return tt_fail(err, TT_IOERR, "path too long: %s", dir);
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return tt_fail(err, TT_IOERR, "cannot create %s: %s", buf,
			    strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return tt_fail(err, TT_IOERR, "cannot create %s: %s", buf,
		    strerror(errno));
	return 0;
}

/* Create the file 0600 ourselves (umask cannot widen it), or check it. */
static int
prepare_file(const char *path, struct tt_err *err)
{
	char dir[PATH_MAX];
	struct stat sb;
	int fd;

	strlcpy(dir, path, sizeof(dir));
	if (make_dirs(dirname(dir), err))
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno != EEXIST)
		return tt_fail(err, TT_IOERR, "cannot create database %s: %s",
		    path, strerror(errno));
	if (stat(path, &sb) != 0)
		return tt_fail(err, TT_IOERR, "cannot stat %s: %s", path,
		    strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return tt_fail(err, TT_IOERR, "%s is not a regular file", path);
	if (sb.st_mode & 077)
		return tt_fail(err, TT_IOERR, "database %s is readable by "
		    "others (mode %03o) and may hold tokens; run: chmod 600 %s",
		    path, (unsigned)(sb.st_mode & 0777), path);
	return 0;
}

static int
migrate(struct store *st, struct tt_err *err)
{
	sqlite3_stmt *s;
	int version;

	if ((s = prep(st, "PRAGMA user_version", err)) == NULL)
		return -1;
	version = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
	sqlite3_finalize(s);
	if (version < 0)
		return dberr(st, err, "reading the schema version");
	if (version > SCHEMA_VERSION)
		return tt_fail(err, TT_IOERR, "database %s has schema version "
		    "%d, newer than this program knows (%d)", st->path, version,
		    SCHEMA_VERSION);
	for (; version < SCHEMA_VERSION; version++) {
		char pragma[64];

		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
		    version + 1);
		if (exec(st, "BEGIN IMMEDIATE", err))
			return -1;
		if (exec(st, migrations[version], err) || exec(st, pragma, err)) {
			exec(st, "ROLLBACK", NULL);
			return -1;
		}
		if (exec(st, "COMMIT", err))
			return -1;
	}
	return 0;
}

int
store_open(const char *path, struct store **out, struct tt_err *err)
{
	struct store *st;

	*out = NULL;
	if (prepare_file(path, err))
		return -1;
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(path)) == NULL) {
		free(st);
		return tt_fail(err, TT_SOFTWARE, "out of memory");
	}
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		dberr(st, err, "open");
		store_close(st);
		return -1;
	}
	sqlite3_busy_timeout(st->db, 5000);
	sqlite3_extended_result_codes(st->db, 1);
	if (exec(st, "PRAGMA journal_mode = WAL", err) ||
	    exec(st, "PRAGMA synchronous = FULL", err) ||
	    exec(st, "PRAGMA foreign_keys = ON", err) ||
	    migrate(st, err)) {
		store_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

int
store_lock(const char *path, struct tt_err *err)
{
	char lpath[PATH_MAX];
	int fd;

	if ((size_t)snprintf(lpath, sizeof(lpath), "%s.lock", path) >=
	    sizeof(lpath))
		return tt_fail(err, TT_IOERR, "path too long: %s", path);
	fd = flopen(lpath, O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	if (errno == EWOULDBLOCK || errno == EAGAIN)
		return tt_fail(err, TT_TEMPFAIL, "another timetap-sync run is "
		    "using %s; try again later", path);
	return tt_fail(err, TT_IOERR, "cannot lock %s: %s", lpath,
	    strerror(errno));
}

void
store_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int
store_profile(struct store *st, const char *name, int create, int64_t *id,
    struct tt_err *err)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = prep(st, "SELECT id FROM profiles WHERE name = ?", err)) == NULL)
		return -1;
	bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		sqlite3_finalize(s);
		return 1;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return dberr(st, err, "reading profiles");
	if (!create)
		return 0;
	if ((s = prep(st, "INSERT INTO profiles (name, created_at) VALUES (?, ?)",
	    err)) == NULL)
		return -1;
	bind_text(s, 1, name);
	sqlite3_bind_int64(s, 2, tt_now());
	if (done(st, s, sqlite3_step(s), err))
		return -1;
	*id = sqlite3_last_insert_rowid(st->db);
	return 1;
}

void
store_appt_free(struct appt *a)
{
	if (a == NULL)
		return;
	free(a->subject);
	free(a->client);
	free(a->join_url);
	free(a->calendar);
	free(a->event_id);
	free(a->remote_modified);
	memset(a, 0, sizeof(*a));
}

int
store_overlaps(tt_time s1, tt_time e1, tt_time s2, tt_time e2)
{
	return s1 < e2 && s2 < e1;
}

#define APPT_COLS \
	"a.id, a.profile_id, a.kind = 'ext', a.status = 'cancelled', " \
	"a.start_utc, a.end_utc, a.all_day, a.subject, a.client, a.online, " \
	"a.join_url, c.path, a.source_event_id, a.remote_modified, a.version, " \
	"a.created_at, a.updated_at " \
	"FROM appointments a LEFT JOIN calendars c ON c.id = a.source_calendar_id "

static void
read_appt(sqlite3_stmt *s, struct appt *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	a->profile_id = sqlite3_column_int64(s, 1);
	a->ext = sqlite3_column_int(s, 2);
	a->cancelled = sqlite3_column_int(s, 3);
	a->start = sqlite3_column_int64(s, 4);
	a->end = sqlite3_column_int64(s, 5);
	a->all_day = sqlite3_column_int(s, 6);
	a->subject = col_text(s, 7);
	a->client = col_text(s, 8);
	a->online = sqlite3_column_int(s, 9);
	a->join_url = col_text(s, 10);
	a->calendar = col_text(s, 11);
	a->event_id = col_text(s, 12);
	a->remote_modified = col_text(s, 13);
	a->version = sqlite3_column_int64(s, 14);
	a->created = sqlite3_column_int64(s, 15);
	a->updated = sqlite3_column_int64(s, 16);
	if (a->subject == NULL)
		a->subject = strdup("");
}

int
store_appt_add(struct store *st, const struct appt *a, int64_t *id,
    struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, "INSERT INTO appointments (profile_id, start_utc, end_utc,"
	    " subject, client, online, created_at, updated_at)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a->profile_id);
	sqlite3_bind_int64(s, 2, a->start);
	sqlite3_bind_int64(s, 3, a->end);
	bind_text(s, 4, a->subject);
	bind_text(s, 5, a->client);
	sqlite3_bind_int(s, 6, a->online);
	sqlite3_bind_int64(s, 7, tt_now());
	sqlite3_bind_int64(s, 8, tt_now());
	if (done(st, s, sqlite3_step(s), err))
		return -1;
	*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_appt_get(struct store *st, int64_t profile, int64_t id, struct appt *a,
    struct tt_err *err)
{
	sqlite3_stmt *s;
	int rc;

	s = prep(st, "SELECT " APPT_COLS "WHERE a.profile_id = ? AND a.id = ?",
	    err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	sqlite3_bind_int64(s, 2, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		read_appt(s, a);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "reading appointments");
	return rc == SQLITE_ROW;
}

int
store_appt_update(struct store *st, const struct appt *a, struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, "UPDATE appointments SET start_utc = ?, end_utc = ?,"
	    " subject = ?, client = ?, online = ?, join_url = CASE WHEN ? THEN"
	    " join_url END WHERE id = ? AND profile_id = ? AND kind = 'booked'",
	    err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a->start);
	sqlite3_bind_int64(s, 2, a->end);
	bind_text(s, 3, a->subject);
	bind_text(s, 4, a->client);
	sqlite3_bind_int(s, 5, a->online);
	sqlite3_bind_int(s, 6, a->online);
	sqlite3_bind_int64(s, 7, a->id);
	sqlite3_bind_int64(s, 8, a->profile_id);
	return done(st, s, sqlite3_step(s), err);
}

int
store_appt_cancel(struct store *st, int64_t profile, int64_t id,
    struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, "UPDATE appointments SET status = 'cancelled'"
	    " WHERE id = ? AND profile_id = ? AND kind = 'booked'"
	    " AND status = 'booked'", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, profile);
	return done(st, s, sqlite3_step(s), err);
}

int
store_appt_conflict(struct store *st, int64_t profile, tt_time start,
    tt_time end, int64_t exclude, struct appt *conflict, struct tt_err *err)
{
	sqlite3_stmt *s;
	int rc;

	/* The same test as store_overlaps(), in SQL. */
	s = prep(st, "SELECT " APPT_COLS "WHERE a.profile_id = ?"
	    " AND a.status = 'booked' AND a.id != ?"
	    " AND a.start_utc < ? AND ? < a.end_utc"
	    " ORDER BY a.kind = 'booked', a.start_utc LIMIT 1", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	sqlite3_bind_int64(s, 2, exclude);
	sqlite3_bind_int64(s, 3, end);
	sqlite3_bind_int64(s, 4, start);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		read_appt(s, conflict);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "reading appointments");
	return rc == SQLITE_ROW;
}

int
store_appt_list(struct store *st, int64_t profile, tt_time from, tt_time to,
    int (*cb)(void *, const struct appt *), void *arg, struct tt_err *err)
{
	sqlite3_stmt *s;
	struct appt a;
	int rc;

	s = prep(st, "SELECT " APPT_COLS "WHERE a.profile_id = ?"
	    " AND a.status = 'booked' AND a.start_utc < ? AND ? < a.end_utc"
	    " ORDER BY a.start_utc, a.id", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	sqlite3_bind_int64(s, 2, to);
	sqlite3_bind_int64(s, 3, from);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int stop;

		read_appt(s, &a);
		stop = cb(arg, &a);
		store_appt_free(&a);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		dberr(st, err, "reading appointments");
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}
