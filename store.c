/* SPDX-License-Identifier: ISC */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

#define NCACHE 24

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *cache[NCACHE];	/* hot statements, prepared once */
};

/*
 * Migrations, one per schema version; migrations[i] takes the schema from
 * version i to i + 1.  Never edit a released entry: append a new one.
 */
/* Migration 1: the book, accounts, calendars, push map, feed, passes. */
static const char *const schema1[] = {
	"CREATE TABLE profiles ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  created_at INTEGER NOT NULL);",
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
	"  connected_at INTEGER NOT NULL);",
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
	"  no_delta INTEGER NOT NULL DEFAULT 0,"
	"  delta_link TEXT,"
	"  window_start INTEGER,"
	"  window_end INTEGER,"
	"  rules TEXT,"
	"  last_full INTEGER,"
	"  UNIQUE (profile_id, remote_id));",
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
	"  sync_gen INTEGER,"
	"  version INTEGER NOT NULL DEFAULT 1,"
	"  created_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),"
	"  updated_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),"
	"  CHECK ((kind = 'ext') = (source_calendar_id IS NOT NULL)),"
	"  UNIQUE (source_calendar_id, source_event_id));",
	"CREATE INDEX appointments_time ON appointments (profile_id, start_utc);"
	/* A scheduling application may write the table directly: any change
	 * to what is pushed bumps the version, so the next pass re-pushes. */,
	"CREATE TRIGGER appointments_touch AFTER UPDATE OF"
	"  start_utc, end_utc, subject, client, online, status ON appointments"
	"  WHEN NEW.version = OLD.version"
	"  BEGIN UPDATE appointments SET version = OLD.version + 1,"
	"    updated_at = strftime('%s', 'now') WHERE id = NEW.id; END;",
	"CREATE TABLE pushed ("
	"  appt_id INTEGER NOT NULL,"
	"  calendar_id INTEGER NOT NULL REFERENCES calendars(id) ON DELETE CASCADE,"
	"  txn_id TEXT NOT NULL,"
	"  event_id TEXT,"
	"  version INTEGER NOT NULL DEFAULT 0,"
	"  change_key TEXT,"
	"  attempted INTEGER NOT NULL DEFAULT 0,"
	"  pushed_at INTEGER,"
	"  sync_gen INTEGER,"
	"  join_url TEXT,"
	"  PRIMARY KEY (appt_id, calendar_id));"
	/* An appointment shows the Teams link of an event that exists. */,
	"CREATE TRIGGER pushed_gone AFTER UPDATE OF event_id ON pushed"
	"  WHEN NEW.event_id IS NULL AND OLD.join_url IS NOT NULL"
	"  BEGIN UPDATE appointments SET join_url = NULL WHERE id = OLD.appt_id"
	"    AND join_url = OLD.join_url;"
	"  UPDATE pushed SET join_url = NULL WHERE appt_id = OLD.appt_id"
	"    AND calendar_id = OLD.calendar_id; END;",
	"CREATE TRIGGER pushed_deleted AFTER DELETE ON pushed"
	"  WHEN OLD.join_url IS NOT NULL"
	"  BEGIN UPDATE appointments SET join_url = NULL WHERE id = OLD.appt_id"
	"    AND join_url = OLD.join_url; END;",
	"CREATE INDEX pushed_event ON pushed (event_id);",
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
	"  sync_gen INTEGER,"
	"  UNIQUE (profile_id, calendar, event_id));",
	"CREATE INDEX feed_recent ON feed (profile_id, seq);"
	"CREATE INDEX feed_seq ON feed (seq);",
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
	NULL
};

/*
 * Migrations, one per schema version, each a list of statements run in
 * one transaction; migrations[i] takes the schema from version i to
 * i + 1.  Never edit a released entry: append a new one.
 */
/*
 * 2: the account's tenant (the id_token's tid: personal accounts have the
 * consumer tenant); each calendar's owner, whether it is shared with the
 * user by someone else, and whether the directory listed it with limited
 * information (a group known only by its id); the profile's push rules
 * (subject template, privacy) its events were last written with; the
 * install's own random id, which marks the events it pushes; for each
 * pushed event, digests of the fields the tool owns and of the body as
 * last written (an edit in Teams is what changes them, not a changeKey);
 * the series masters of recurring meetings, whose fields their sparse
 * occurrences take.
 */
static const char *const schema2[] = {
	"ALTER TABLE accounts ADD COLUMN tenant_id TEXT;",
	"ALTER TABLE calendars ADD COLUMN owner TEXT;",
	"ALTER TABLE calendars ADD COLUMN shared INTEGER NOT NULL DEFAULT 0;",
	"ALTER TABLE calendars ADD COLUMN limited INTEGER NOT NULL DEFAULT 0;",
	"ALTER TABLE profiles ADD COLUMN push_rules TEXT;",
	"CREATE TABLE install (id TEXT NOT NULL);",
	"ALTER TABLE pushed ADD COLUMN fields TEXT;",
	"ALTER TABLE pushed ADD COLUMN body_sum TEXT;",
	"CREATE TABLE series ("
	"  calendar_id INTEGER NOT NULL REFERENCES calendars(id) ON DELETE CASCADE,"
	"  master_id TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  showas TEXT NOT NULL,"
	"  all_day INTEGER NOT NULL,"
	"  cancelled INTEGER NOT NULL,"
	"  last_modified TEXT,"
	"  PRIMARY KEY (calendar_id, master_id));",
	"INSERT INTO install (id) VALUES (lower(hex(randomblob(8))));",
	NULL
};

/*
 * 3: the mailbox's time zone as the service names it, with when it was
 * read (NULL zone: not readable); the push state of each pair, named once
 * (derived from the columns the transitions write, so it can never
 * disagree with them; the table at the top of the push in sync.c says
 * what each means); the second copies of our events a read found (a
 * create re-sent by the network, a service that did not de-duplicate),
 * deleted by the push and kept until the service confirms, whatever stops
 * the pass; one Teams meeting per appointment: when the event holding it
 * goes, the appointment's other events are written again (one becomes the
 * meeting, the others carry its new link).
 */
static const char *const schema3[] = {
	"ALTER TABLE accounts ADD COLUMN mailbox_zone TEXT;",
	"ALTER TABLE accounts ADD COLUMN mailbox_zone_at INTEGER;",
	"ALTER TABLE pushed ADD COLUMN state TEXT GENERATED ALWAYS AS (CASE"
	"  WHEN event_id IS NOT NULL AND version = -1 THEN 'edited'"
	"  WHEN event_id IS NOT NULL THEN 'pushed'"
	"  WHEN attempted THEN 'intent'"
	"  WHEN txn_id = '' THEN 'gone'"
	"  ELSE 'unsent' END) VIRTUAL;",
	"CREATE TABLE strays ("
	"  calendar_id INTEGER NOT NULL REFERENCES calendars(id) ON DELETE CASCADE,"
	"  event_id TEXT NOT NULL,"
	"  PRIMARY KEY (calendar_id, event_id));",
	"DROP TRIGGER pushed_gone;",
	"CREATE TRIGGER pushed_gone AFTER UPDATE OF event_id ON pushed"
	"  WHEN NEW.event_id IS NULL AND OLD.join_url IS NOT NULL"
	"  BEGIN UPDATE appointments SET join_url = NULL WHERE id = OLD.appt_id"
	"    AND join_url = OLD.join_url;"
	"  UPDATE pushed SET join_url = NULL WHERE appt_id = OLD.appt_id"
	"    AND calendar_id = OLD.calendar_id;"
	"  UPDATE pushed SET version = -1 WHERE appt_id = OLD.appt_id"
	"    AND calendar_id != OLD.calendar_id AND event_id IS NOT NULL; END;",
	"DROP TRIGGER pushed_deleted;",
	"CREATE TRIGGER pushed_deleted AFTER DELETE ON pushed"
	"  WHEN OLD.join_url IS NOT NULL"
	"  BEGIN UPDATE appointments SET join_url = NULL WHERE id = OLD.appt_id"
	"    AND join_url = OLD.join_url;"
	"  UPDATE pushed SET version = -1 WHERE appt_id = OLD.appt_id"
	"    AND event_id IS NOT NULL; END;",
	NULL
};

/*
 * 4 (conflicts): the conflicts a pass told, a pair (booked appointment,
 * [ext] block) each, with when -- or that the user chose it (appt add or
 * edit --force); a pair goes with either item, and a pass forgets one
 * that no longer overlaps, so that it is told again if it comes back.
 * The show-as of each block and of each feed row, as the service named
 * it (explain says why an item blocks or not); NULL before this version
 * until the next pass that reads the item.
 */
static const char *const schema4[] = {
	"CREATE TABLE conflicts ("
	"  appt_id INTEGER NOT NULL REFERENCES appointments(id) ON DELETE CASCADE,"
	"  block_id INTEGER NOT NULL REFERENCES appointments(id) ON DELETE CASCADE,"
	"  told_at INTEGER NOT NULL,"
	"  PRIMARY KEY (appt_id, block_id));",
	"CREATE INDEX conflicts_block ON conflicts (block_id);",
	"ALTER TABLE appointments ADD COLUMN showas TEXT;",
	"ALTER TABLE feed ADD COLUMN showas TEXT;",
	NULL
};

/*
 * 5 (conflicts, fast): the open pairs are read through an index of kind
 * and time that holds every column the overlap test needs, so neither
 * side of the join reads the table row by row (a no-change pass of a
 * 10,000-event profile spent 20 of its 40 ms reading them).
 */
static const char *const schema5[] = {
	"CREATE INDEX appointments_kind ON appointments"
	"  (profile_id, kind, start_utc, end_utc, status);",
	NULL
};

static const char *const *const migrations[] = {
	schema1,
	schema2,
	schema3,
	schema4,
	schema5,
};

#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int
dberr(struct store *st, struct tt_err *err, const char *what)
{
	return tt_fail(err, TT_E_LOCAL, "database %s: %s: %s", st->path, what,
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

/*
 * Step a statement.  A write outside a transaction is durable when it
 * returns: the crash tests may stop the program just before and just
 * after it (util.h, tt_crash_point).
 */
static int
run(struct store *st, sqlite3_stmt *s)
{
	int durable = sqlite3_get_autocommit(st->db) && !sqlite3_stmt_readonly(s);
	int rc;

	if (durable)
		tt_crash_point();
	rc = sqlite3_step(s);
	if (durable)
		tt_crash_point();
	return rc;
}

/* A prepared statement kept for the life of the store (hot paths). */
static sqlite3_stmt *
cached(struct store *st, int slot, const char *sql, struct tt_err *err)
{
	if (st->cache[slot] == NULL) {
		if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
		    &st->cache[slot], NULL) != SQLITE_OK) {
			dberr(st, err, "prepare");
			return NULL;
		}
	}
	return st->cache[slot];
}

/* Run a cached statement to its end and reset it. */
static int
step_reset(struct store *st, sqlite3_stmt *s, struct tt_err *err)
{
	int rc = run(st, s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return dberr(st, err, "write");
	return 0;
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

/*
 * The database's directory, checked before anything is made in it.  It
 * must exist (only the default location is made, by store_make_dir), be
 * a directory of ours (or root's) and writable by no one else: in a
 * directory others can write -- a sticky one such as /tmp too -- they
 * can make the names SQLite and the locks are about to create (-wal,
 * -shm, .locks) first, as links or as their own files.  Symbolic links
 * on the way are followed: a symlinked $HOME is fine, and what is
 * checked is the directory they lead to.
 */
static int
check_dir(const char *path, char **real, struct tt_err *err)
{
	struct stat sb;
	const char *base = strrchr(path, '/');
	char *dir, *rdir = NULL;
	int rc = 0;

	*real = NULL;
	if (base == NULL) {
		dir = strdup(".");
		base = path;
	} else {
		dir = base == path ? strdup("/") : strndup(path,
		    (size_t)(base - path));
		base++;
	}
	if (dir == NULL)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	if ((rdir = realpath(dir, NULL)) == NULL) {
		if (errno == ENOENT)
			rc = tt_fail(err, TT_E_LOCAL, "no directory %s for the "
			    "database %s", dir, path);
		else
			rc = tt_fail(err, TT_E_LOCAL, "cannot use the directory "
			    "%s of the database: %s", dir, strerror(errno));
	} else if (stat(rdir, &sb) != 0)
		rc = tt_fail(err, TT_E_LOCAL, "cannot use the directory %s of "
		    "the database: %s", dir, strerror(errno));
	else if (!S_ISDIR(sb.st_mode))
		rc = tt_fail(err, TT_E_LOCAL, "%s (for the database %s) is not "
		    "a directory", dir, path);
	else if (sb.st_uid != geteuid() && sb.st_uid != 0)
		rc = tt_fail(err, TT_E_LOCAL, "the database's directory %s "
		    "belongs to another user (uid %u); use a directory of your "
		    "own", dir, (unsigned)sb.st_uid);
	else if ((sb.st_mode & S_ISVTX) && (sb.st_mode & 002))
		rc = tt_fail(err, TT_E_LOCAL, "the database's directory %s is "
		    "writable by others (mode %04o; sticky or not, anyone can "
		    "make the database's companion files there first); use a "
		    "directory of your own (mkdir -m 700)",
		    dir, (unsigned)(sb.st_mode & 07777));
	else if (sb.st_mode & 022)
		rc = tt_fail(err, TT_E_LOCAL, "the database's directory %s is "
		    "writable by %s (mode %04o) and the database holds tokens; "
		    "run: chmod 700 %s", dir, (sb.st_mode & 002) ? "others" :
		    "its group", (unsigned)(sb.st_mode & 07777), dir);
	else if (asprintf(real, "%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "",
	    base) < 0) {
		*real = NULL;
		rc = tt_fail(err, TT_E_INTERNAL, "out of memory");
	}
	free(dir);
	free(rdir);
	return rc;
}

int
store_make_dir(const char *path, struct tt_err *err)
{
	char *buf, *p, c;
	int rc = 0;

	if ((buf = strdup(path)) == NULL)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	if ((p = strrchr(buf, '/')) == NULL || p == buf) {
		free(buf);
		return 0;
	}
	*p = '\0';
	/* mkdir -p, each new level 0700: nothing we make is anyone else's. */
	for (p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
			rc = tt_fail(err, TT_E_LOCAL, "cannot create %s: %s", buf,
			    strerror(errno));
			break;
		}
		if (c == '\0')
			break;
		*p = '/';
	}
	free(buf);
	return rc;
}

/*
 * Create the file 0600 ourselves (umask cannot widen it), or check it:
 * ours, a regular file, readable by no one else.  *real gets its path
 * with the directory's links resolved (a new string), which is what
 * SQLite opens: its NOFOLLOW refuses a link anywhere in the path.
 */
static int
prepare_file(const char *path, char **real, struct tt_err *err)
{
	struct stat sb;
	int fd;

	if (check_dir(path, real, err))
		return -1;
	fd = open(*real, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno != EEXIST)
		return tt_fail(err, TT_E_LOCAL, "cannot create database %s: %s",
		    path, strerror(errno));
	if (lstat(*real, &sb) != 0)
		return tt_fail(err, TT_E_LOCAL, "cannot stat %s: %s", path,
		    strerror(errno));
	if (S_ISLNK(sb.st_mode))
		return tt_fail(err, TT_E_LOCAL, "database %s is a symbolic "
		    "link; give the path it leads to", path);
	if (!S_ISREG(sb.st_mode))
		return tt_fail(err, TT_E_LOCAL, "%s is not a regular file", path);
	if (sb.st_uid != geteuid())
		return tt_fail(err, TT_E_LOCAL, "database %s belongs to another "
		    "user (uid %u)", path, (unsigned)sb.st_uid);
	if (sb.st_mode & 077)
		return tt_fail(err, TT_E_LOCAL, "database %s is readable by "
		    "others (mode %03o) and may hold tokens; run: chmod 600 %s",
		    path, (unsigned)(sb.st_mode & 0777), path);
	return 0;
}

static int
migrate(struct store *st, struct tt_err *err)
{
	sqlite3_stmt *s;
	int version, i;

	if ((s = prep(st, "PRAGMA user_version", err)) == NULL)
		return -1;
	version = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
	sqlite3_finalize(s);
	if (version < 0)
		return dberr(st, err, "reading the schema version");
	if (version > SCHEMA_VERSION)
		return tt_fail(err, TT_E_LOCAL, "database %s has schema version "
		    "%d, newer than this program knows (%d)", st->path, version,
		    SCHEMA_VERSION);
	for (; version < SCHEMA_VERSION; version++) {
		char pragma[64];

		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d",
		    version + 1);
		if (exec(st, "BEGIN IMMEDIATE", err))
			return -1;
		for (i = 0; migrations[version][i] != NULL; i++)
			if (exec(st, migrations[version][i], err))
				break;
		if (migrations[version][i] != NULL || exec(st, pragma, err)) {
			exec(st, "ROLLBACK", NULL);
			return -1;
		}
		if (exec(st, "COMMIT", err))
			return -1;
	}
	return 0;
}

const char *const *
store_migration(int version)
{
	return version >= 0 && version < SCHEMA_VERSION ? migrations[version] :
	    NULL;
}

int
store_open(const char *path, struct store **out, struct tt_err *err)
{
	struct store *st;
	char *real = NULL;
	int rc;

	*out = NULL;
	if (prepare_file(path, &real, err)) {
		free(real);
		return -1;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(path)) == NULL) {
		free(st);
		free(real);
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	}
	rc = sqlite3_open_v2(real, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOFOLLOW, NULL);
	free(real);
	if (rc != SQLITE_OK) {
		dberr(st, err, "open");
		store_close(st);
		return -1;
	}
	sqlite3_busy_timeout(st->db, 5000);
	sqlite3_extended_result_codes(st->db, 1);
	/* secure_delete: a token or a client's name deleted or replaced is
	 * zeroed in the file, not left in free space (wipe_wal empties the
	 * WAL after a stop). */
	if (exec(st, "PRAGMA secure_delete = ON", err) ||
	    exec(st, "PRAGMA journal_mode = WAL", err) ||
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
	int i;

	if (st == NULL)
		return;
	for (i = 0; i < NCACHE; i++)
		sqlite3_finalize(st->cache[i]);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

/*
 * The lock directory and file are opened without following a link and
 * must be ours: the database's directory is checked (check_dir), but a
 * link or a file planted under these names would otherwise have us
 * create, or lock, a file somewhere else.
 */
static int
lock_dir(const char *dir, struct tt_err *err)
{
	struct stat sb;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return tt_fail(err, TT_E_LOCAL, "cannot create %s: %s", dir,
		    strerror(errno));
	if (lstat(dir, &sb) != 0)
		return tt_fail(err, TT_E_LOCAL, "cannot stat %s: %s", dir,
		    strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return tt_fail(err, TT_E_LOCAL, "lock directory %s is not a "
		    "directory%s; remove it", dir, S_ISLNK(sb.st_mode) ?
		    " (a symbolic link)" : "");
	if (sb.st_uid != geteuid() || (sb.st_mode & 022))
		return tt_fail(err, TT_E_LOCAL, "lock directory %s is not "
		    "yours alone (uid %u, mode %04o); remove it", dir,
		    (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 07777));
	return 0;
}

int
store_lock(const char *path, const char *profile, struct tt_err *err)
{
	struct stat sb;
	char *dir = NULL, *lpath = NULL;
	int fd = -1;

	if (asprintf(&dir, "%s.locks", path) < 0 ||
	    asprintf(&lpath, "%s/%s", dir, profile) < 0) {
		free(dir);
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	}
	if (lock_dir(dir, err))
		goto out;
	/* O_NONBLOCK: a FIFO planted here does not hang the open. */
	fd = open(lpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == ELOOP)
			tt_fail(err, TT_E_LOCAL, "lock %s is a symbolic link, not "
			    "followed; remove it", lpath);
		else
			tt_fail(err, TT_E_LOCAL, "cannot open lock %s: %s", lpath,
			    strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    sb.st_uid != geteuid()) {
		tt_fail(err, TT_E_LOCAL, "lock %s is not a file of yours; "
		    "remove it", lpath);
		goto fail;
	}
	/* No run removes a lock file, so the file locked is the one at the
	 * path (the re-check flopen makes is not needed). */
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK)
			tt_fail(err, TT_E_BUSY, "another timetap-sync run is "
			    "using profile %s of %s", profile, path);
		else
			tt_fail(err, TT_E_LOCAL, "cannot lock %s: %s", lpath,
			    strerror(errno));
		goto fail;
	}
	goto out;
fail:
	close(fd);
	fd = -1;
out:
	free(dir);
	free(lpath);
	return fd;
}

void
store_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int
store_install_id(struct store *st, char **id, struct tt_err *err)
{
	sqlite3_stmt *s = prep(st, "SELECT id FROM install LIMIT 1", err);
	int rc;

	*id = NULL;
	if (s == NULL)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*id = col_text(s, 0);
	sqlite3_finalize(s);
	if (*id == NULL)
		return dberr(st, err, "reading the install id");
	return 0;
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
	if (done(st, s, run(st, s), err))
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
	free(a->calendar_id);
	free(a->showas);
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
	"a.created_at, a.updated_at, c.remote_id, a.showas " \
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
	a->calendar_id = col_text(s, 17);
	a->showas = col_text(s, 18);
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
	if (done(st, s, run(st, s), err))
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
	return done(st, s, run(st, s), err);
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
	return done(st, s, run(st, s), err);
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

int
store_begin(struct store *st, struct tt_err *err)
{
	return exec(st, "BEGIN IMMEDIATE", err);
}

int
store_commit(struct store *st, struct tt_err *err)
{
	int rc;

	tt_crash_point();
	rc = exec(st, "COMMIT", err);
	tt_crash_point();
	return rc;
}

void
store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

void
store_account_free(struct account *a)
{
	if (a == NULL)
		return;
	free(a->upn);
	free(a->user_id);
	free(a->tenant);
	free(a->authority_url);
	free(a->graph_url);
	free(a->scopes);
	free(a->tenant_id);
	free(a->mailbox_zone);
	tt_wipe_free(a->refresh_token);
	tt_wipe_free(a->access_token);
	free(a->needs_login);
	memset(a, 0, sizeof(*a));
}

int
store_account_get(struct store *st, int64_t profile, struct account *a,
    struct tt_err *err)
{
	sqlite3_stmt *s;
	int rc;

	s = prep(st, "SELECT upn, user_id, tenant, authority_url, graph_url,"
	    " scopes, refresh_token, access_token, access_expires,"
	    " last_refresh, connected_at, needs_login, tenant_id,"
	    " mailbox_zone, coalesce(mailbox_zone_at, 0) FROM accounts"
	    " WHERE profile_id = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	rc = sqlite3_step(s);
	memset(a, 0, sizeof(*a));
	if (rc == SQLITE_ROW) {
		a->profile_id = profile;
		a->upn = col_text(s, 0);
		a->user_id = col_text(s, 1);
		a->tenant = col_text(s, 2);
		a->authority_url = col_text(s, 3);
		a->graph_url = col_text(s, 4);
		a->scopes = col_text(s, 5);
		a->refresh_token = col_text(s, 6);
		a->access_token = col_text(s, 7);
		a->access_expires = sqlite3_column_int64(s, 8);
		a->last_refresh = sqlite3_column_int64(s, 9);
		a->connected_at = sqlite3_column_int64(s, 10);
		a->needs_login = col_text(s, 11);
		a->tenant_id = col_text(s, 12);
		a->mailbox_zone = col_text(s, 13);
		a->mailbox_zone_at = sqlite3_column_int64(s, 14);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "reading the account");
	return rc == SQLITE_ROW;
}

int
store_account_save(struct store *st, const struct account *a,
    struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, "INSERT OR REPLACE INTO accounts (profile_id, upn, user_id,"
	    " tenant, authority_url, graph_url, scopes, refresh_token,"
	    " access_token, access_expires, last_refresh, needs_login,"
	    " connected_at, tenant_id)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a->profile_id);
	bind_text(s, 2, a->upn);
	bind_text(s, 3, a->user_id);
	bind_text(s, 4, a->tenant);
	bind_text(s, 5, a->authority_url);
	bind_text(s, 6, a->graph_url);
	bind_text(s, 7, a->scopes);
	bind_text(s, 8, a->refresh_token);
	bind_text(s, 9, a->access_token);
	sqlite3_bind_int64(s, 10, a->access_expires);
	sqlite3_bind_int64(s, 11, a->last_refresh);
	sqlite3_bind_int64(s, 12, a->connected_at);
	bind_text(s, 13, a->tenant_id);
	return done(st, s, run(st, s), err);
}

int
store_account_zone(struct store *st, int64_t profile, const char *zone,
    struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, "UPDATE accounts SET mailbox_zone = ?, mailbox_zone_at = ?"
	    " WHERE profile_id = ?", err);
	if (s == NULL)
		return -1;
	bind_text(s, 1, zone);
	sqlite3_bind_int64(s, 2, tt_now());
	sqlite3_bind_int64(s, 3, profile);
	return done(st, s, run(st, s), err);
}

int
store_tokens_save(struct store *st, int64_t profile, const char *access,
    tt_time expires, const char *refresh, const char *scopes,
    struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, "UPDATE accounts SET access_token = ?, access_expires = ?,"
	    " refresh_token = coalesce(?, refresh_token), last_refresh = ?,"
	    " scopes = coalesce(?, scopes), needs_login = NULL"
	    " WHERE profile_id = ?", err);
	if (s == NULL)
		return -1;
	bind_text(s, 1, access);
	sqlite3_bind_int64(s, 2, expires);
	bind_text(s, 3, refresh);
	sqlite3_bind_int64(s, 4, tt_now());
	bind_text(s, 5, scopes);
	sqlite3_bind_int64(s, 6, profile);
	return done(st, s, run(st, s), err);
}

int
store_account_twin(struct store *st, int64_t profile, const char *user_id,
    char **name, struct tt_err *err)
{
	sqlite3_stmt *s;
	int rc;

	*name = NULL;
	s = prep(st, "SELECT p.name FROM accounts a JOIN profiles p"
	    " ON p.id = a.profile_id WHERE a.user_id = ? AND a.profile_id <> ?"
	    " ORDER BY p.name LIMIT 1", err);
	if (s == NULL)
		return -1;
	bind_text(s, 1, user_id);
	sqlite3_bind_int64(s, 2, profile);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*name = col_text(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "reading the accounts");
	return *name != NULL;
}

int
store_account_mark(struct store *st, int64_t profile, const char *why,
    struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, "UPDATE accounts SET needs_login = ?1,"
	    " access_token = CASE WHEN ?1 IS NULL THEN access_token END,"
	    " access_expires = CASE WHEN ?1 IS NULL THEN access_expires ELSE 0"
	    " END WHERE profile_id = ?2", err);
	if (s == NULL)
		return -1;
	bind_text(s, 1, why);
	sqlite3_bind_int64(s, 2, profile);
	return done(st, s, run(st, s), err);
}

int
store_access_drop(struct store *st, int64_t profile, struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, "UPDATE accounts SET access_token = NULL, access_expires = 0"
	    " WHERE profile_id = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	return done(st, s, run(st, s), err);
}

/*
 * Read every row of s into a new array of `size`-byte elements (each
 * filled by row(): 0, or -1 out of memory) and finish s, so that no read
 * transaction stays open for what the caller then does with them: a pass
 * must not run inside a SELECT's snapshot, or a write another process
 * (the booking application) commits meanwhile makes the pass's own
 * writes fail at once (SQLITE_BUSY_SNAPSHOT).  Returns 0, or -1 with err
 * (the rows read so far are still the caller's to free).
 */
static int
rows_all(struct store *st, sqlite3_stmt *s, void *arrp, size_t *n,
    size_t size, int (*row)(sqlite3_stmt *, void *), const char *what,
    struct tt_err *err)
{
	size_t cap = 0;
	char *elem;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (tt_reserve(arrp, &cap, *n + 1, size) != 0) {
			rc = SQLITE_NOMEM;
			break;
		}
		memcpy(&elem, arrp, sizeof(elem));
		elem += *n * size;
		memset(elem, 0, size);
		(*n)++;
		if (row(s, elem) != 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_finalize(s);
	if (rc == SQLITE_NOMEM)
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	if (rc != SQLITE_DONE)
		return dberr(st, err, what);
	return 0;
}

struct idname {
	int64_t id;
	char *name;
};

static int
idname_row(sqlite3_stmt *s, void *elem)
{
	struct idname *v = elem;

	v->id = sqlite3_column_int64(s, 0);
	return (v->name = col_text(s, 1)) == NULL ? -1 : 0;
}

static int
each_profile(struct store *st, const char *sql,
    int (*cb)(void *, int64_t, const char *), void *arg, struct tt_err *err)
{
	struct idname *v = NULL;
	sqlite3_stmt *s;
	size_t n = 0, i;
	int rc;

	/* The list is read whole before a profile is passed (rows_all). */
	if ((s = prep(st, sql, err)) == NULL)
		return -1;
	rc = rows_all(st, s, &v, &n, sizeof(*v), idname_row,
	    "reading profiles", err);
	for (i = 0; i < n && rc == 0; i++)
		if (cb(arg, v[i].id, v[i].name) != 0)
			break;
	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return rc;
}

int
store_connected_profiles(struct store *st,
    int (*cb)(void *, int64_t, const char *), void *arg, struct tt_err *err)
{
	return each_profile(st, "SELECT p.id, p.name FROM profiles p"
	    " JOIN accounts a ON a.profile_id = p.id ORDER BY p.name", cb, arg,
	    err);
}

static int
profile_row_read(sqlite3_stmt *s, void *elem)
{
	struct profile_row *r = elem;

	r->id = sqlite3_column_int64(s, 0);
	r->name = col_text(s, 1);
	r->account = col_text(s, 2);
	r->calendars = sqlite3_column_int(s, 3);
	r->pull = sqlite3_column_int(s, 4);
	r->push = sqlite3_column_int(s, 5);
	r->booked = sqlite3_column_int(s, 6);
	r->blocks = sqlite3_column_int(s, 7);
	r->last_pass = sqlite3_column_int64(s, 8);
	r->last_exit = sqlite3_column_type(s, 9) == SQLITE_NULL ? -1 :
	    sqlite3_column_int(s, 9);
	return r->name == NULL ? -1 : 0;
}

int
store_profile_rows(struct store *st,
    int (*cb)(void *, const struct profile_row *), void *arg,
    struct tt_err *err)
{
	struct profile_row *v = NULL;
	sqlite3_stmt *s;
	size_t n = 0, i;
	int rc;

	s = prep(st, "SELECT p.id, p.name, a.upn,"
	    " (SELECT count(*) FROM calendars c WHERE c.profile_id = p.id"
	    "   AND c.present),"
	    " (SELECT count(*) FROM calendars c WHERE c.profile_id = p.id"
	    "   AND c.present AND c.pull),"
	    " (SELECT count(*) FROM calendars c WHERE c.profile_id = p.id"
	    "   AND c.present AND c.push),"
	    " (SELECT count(*) FROM appointments x WHERE x.profile_id = p.id"
	    "   AND x.kind = 'booked' AND x.status = 'booked'),"
	    " (SELECT count(*) FROM appointments x WHERE x.profile_id = p.id"
	    "   AND x.kind = 'ext'),"
	    " (SELECT started FROM passes r WHERE r.profile_id = p.id"
	    "   ORDER BY r.id DESC LIMIT 1),"
	    " (SELECT coalesce(exit_code, -1) FROM passes r"
	    "   WHERE r.profile_id = p.id ORDER BY r.id DESC LIMIT 1)"
	    " FROM profiles p LEFT JOIN accounts a ON a.profile_id = p.id"
	    " ORDER BY p.name", err);
	if (s == NULL)
		return -1;
	rc = rows_all(st, s, &v, &n, sizeof(*v), profile_row_read,
	    "reading profiles", err);
	for (i = 0; i < n && rc == 0; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	for (i = 0; i < n; i++) {
		free((char *)(uintptr_t)v[i].name);
		free((char *)(uintptr_t)v[i].account);
	}
	free(v);
	return rc;
}

/*
 * After forgetting tokens or a profile: the WAL still holds the pages as
 * they were, until a checkpoint copies the new ones (zeroed where rows
 * went, secure_delete) into the file.  TRUNCATE waits (busy timeout) for
 * other runs' readers and empties the WAL; when one reads on past that,
 * the file is emptied by the last run that closes the book.
 */
static int
wipe_wal(struct store *st, struct tt_err *err)
{
	return exec(st, "PRAGMA wal_checkpoint(TRUNCATE)", err);
}

int
store_profile_remove(struct store *st, int64_t id, struct tt_err *err)
{
	sqlite3_stmt *s = prep(st, "DELETE FROM profiles WHERE id = ?", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if (done(st, s, run(st, s), err))
		return -1;
	return wipe_wal(st, err);
}

int
store_profiles(struct store *st, int (*cb)(void *, int64_t, const char *),
    void *arg, struct tt_err *err)
{
	return each_profile(st, "SELECT id, name FROM profiles ORDER BY name",
	    cb, arg, err);
}

/* A group calendar is addressed by its group's id (kept in container),
 * a user calendar by its own. */
static struct graph_cal
cal_ref(int group, const char *remote_id, const char *container,
    int is_default)
{
	struct graph_cal c;

	c.kind = group ? GRAPH_CAL_GROUP : GRAPH_CAL_USER;
	c.id = group && container != NULL ? container : remote_id;
	c.is_default = !group && is_default;
	return c;
}

struct graph_cal
store_cal_ref(const struct calendar *c)
{
	return cal_ref(c->kind == GRAPH_CAL_GROUP, c->remote_id, c->container,
	    c->is_default);
}

void
store_calendar_free(struct calendar *c)
{
	if (c == NULL)
		return;
	free(c->remote_id);
	free(c->container);
	free(c->name);
	free(c->path);
	free(c->delta_link);
	free(c->rules);
	free(c->owner);
	memset(c, 0, sizeof(*c));
}

int
store_calendars_absent(struct store *st, int64_t profile, int kind,
    struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, "UPDATE calendars SET present = 0 WHERE profile_id = ?"
	    " AND kind = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	bind_text(s, 2, kind == GRAPH_CAL_GROUP ? "group" : "user");
	return done(st, s, run(st, s), err);
}

int
store_calendar_seen(struct store *st, const struct calendar *c,
    struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, "INSERT INTO calendars (profile_id, remote_id, kind,"
	    " container, name, path, can_edit, is_default, present, owner,"
	    " shared, limited)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)"
	    " ON CONFLICT (profile_id, remote_id) DO UPDATE SET"
	    " kind = excluded.kind, container = excluded.container,"
	    " name = excluded.name, path = excluded.path,"
	    " can_edit = excluded.can_edit, is_default = excluded.is_default,"
	    " present = 1, push = push AND excluded.can_edit,"
	    " owner = excluded.owner, shared = excluded.shared,"
	    " limited = excluded.limited", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, c->profile_id);
	bind_text(s, 2, c->remote_id);
	bind_text(s, 3, c->kind == GRAPH_CAL_GROUP ? "group" : "user");
	bind_text(s, 4, c->container);
	bind_text(s, 5, c->name);
	bind_text(s, 6, c->path);
	sqlite3_bind_int(s, 7, c->can_edit);
	sqlite3_bind_int(s, 8, c->is_default);
	bind_text(s, 9, c->owner);
	sqlite3_bind_int(s, 10, c->shared);
	sqlite3_bind_int(s, 11, c->limited);
	return done(st, s, run(st, s), err);
}

static int
calendar_row(sqlite3_stmt *s, void *elem)
{
	struct calendar *c = elem;

	c->id = sqlite3_column_int64(s, 0);
	c->profile_id = sqlite3_column_int64(s, 1);
	c->remote_id = col_text(s, 2);
	c->kind = sqlite3_column_int(s, 3) ? GRAPH_CAL_GROUP : GRAPH_CAL_USER;
	c->container = col_text(s, 4);
	c->name = col_text(s, 5);
	c->path = col_text(s, 6);
	c->can_edit = sqlite3_column_int(s, 7);
	c->is_default = sqlite3_column_int(s, 8);
	c->pull = sqlite3_column_int(s, 9);
	c->push = sqlite3_column_int(s, 10);
	c->present = sqlite3_column_int(s, 11);
	c->delta_link = col_text(s, 12);
	c->window_start = sqlite3_column_int64(s, 13);
	c->window_end = sqlite3_column_int64(s, 14);
	c->last_full = sqlite3_column_int64(s, 15);
	c->no_delta = sqlite3_column_int(s, 16);
	c->rules = col_text(s, 17);
	c->owner = col_text(s, 18);
	c->shared = sqlite3_column_int(s, 19);
	c->limited = sqlite3_column_int(s, 20);
	return 0;
}

int
store_calendar_list(struct store *st, int64_t profile,
    int (*cb)(void *, const struct calendar *), void *arg, struct tt_err *err)
{
	sqlite3_stmt *s;
	struct calendar *v = NULL;
	size_t n = 0, i;
	int rc;

	s = prep(st, "SELECT id, profile_id, remote_id, kind = 'group',"
	    " container, name, path, can_edit, is_default, pull, push, present,"
	    " delta_link, window_start, window_end, last_full, no_delta, rules,"
	    " owner, shared, limited FROM calendars"
	    " WHERE profile_id = ? ORDER BY present DESC, kind = 'group', id", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	/* Read whole before the first callback (which may go to the
	 * service or write): rows_all. */
	rc = rows_all(st, s, &v, &n, sizeof(*v), calendar_row,
	    "reading calendars", err);
	for (i = 0; i < n && rc == 0; i++)
		if (cb(arg, &v[i]) != 0)
			break;
	for (i = 0; i < n; i++)
		store_calendar_free(&v[i]);
	free(v);
	return rc;
}

/* Run a counting statement bound to the profile. */
static int
count_of(struct store *st, const char *sql, int64_t profile, int *n,
    struct tt_err *err)
{
	sqlite3_stmt *s = prep(st, sql, err);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	rc = sqlite3_step(s);
	*n = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "counting");
	return 0;
}

static int
exec_profile(struct store *st, const char *sql, int64_t profile, int *changed,
    struct tt_err *err)
{
	sqlite3_stmt *s = prep(st, sql, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	if (done(st, s, run(st, s), err))
		return -1;
	if (changed)
		*changed = sqlite3_changes(st->db);
	return 0;
}

int
store_calendar_roles(struct store *st, int64_t id, int pull, int push,
    struct tt_err *err)
{
	sqlite3_stmt *s;

	/* A calendar no longer pulled gives its blocks and feed rows back;
	 * its delta state restarts (a push-only round reads it afresh). */
	if (!pull && (exec_profile(st, "DELETE FROM appointments WHERE"
	    " source_calendar_id = ?", id, NULL, err) ||
	    exec_profile(st, "DELETE FROM feed WHERE calendar_id = ?", id, NULL,
	    err) ||
	    exec_profile(st, "UPDATE calendars SET delta_link = NULL WHERE"
	    " id = ? AND pull", id, NULL, err)))
		return -1;

	s = prep(st, "UPDATE calendars SET pull = ?, push = ? WHERE id = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int(s, 1, pull);
	sqlite3_bind_int(s, 2, push);
	sqlite3_bind_int64(s, 3, id);
	return done(st, s, run(st, s), err);
}

int
store_stop(struct store *st, int64_t profile, struct stop_receipt *r,
    struct tt_err *err)
{
	memset(r, 0, sizeof(*r));
	if (store_begin(st, err))
		return -1;
	if (count_of(st, "SELECT count(*) FROM pushed p JOIN calendars c"
	    " ON c.id = p.calendar_id WHERE c.profile_id = ?"
	    " AND p.event_id IS NOT NULL", profile, &r->pushed, err) ||
	    exec_profile(st, "DELETE FROM appointments WHERE profile_id = ?"
	    " AND kind = 'ext'", profile, &r->blocks, err) ||
	    exec_profile(st, "DELETE FROM feed WHERE profile_id = ?", profile,
	    &r->feed, err) ||
	    exec_profile(st, "DELETE FROM pushed WHERE calendar_id IN"
	    " (SELECT id FROM calendars WHERE profile_id = ?)", profile, NULL,
	    err) ||
	    exec_profile(st, "DELETE FROM calendars WHERE profile_id = ?",
	    profile, &r->calendars, err) ||
	    exec_profile(st, "DELETE FROM passes WHERE profile_id = ?", profile,
	    NULL, err) ||
	    exec_profile(st, "DELETE FROM accounts WHERE profile_id = ?",
	    profile, NULL, err) ||
	    store_commit(st, err)) {
		store_rollback(st);
		return -1;
	}
	return wipe_wal(st, err);
}

void
store_pass_free(struct pass *p)
{
	if (p == NULL)
		return;
	free(p->message);
	memset(p, 0, sizeof(*p));
}

int
store_pass_begin(struct store *st, int64_t profile, int64_t *id,
    struct tt_err *err)
{
	sqlite3_stmt *s;

	/* Keep the history short: the last 100 passes per profile. */
	if (exec_profile(st, "DELETE FROM passes WHERE profile_id = ?1 AND id"
	    " NOT IN (SELECT id FROM passes WHERE profile_id = ?1"
	    " ORDER BY id DESC LIMIT 99)", profile, NULL, err))
		return -1;
	s = prep(st, "INSERT INTO passes (profile_id, started) VALUES (?, ?)",
	    err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	sqlite3_bind_int64(s, 2, tt_now());
	if (done(st, s, run(st, s), err))
		return -1;
	*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_pass_end(struct store *st, const struct pass *p, struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, "UPDATE passes SET finished = ?, exit_code = ?, items = ?,"
	    " added = ?, changed = ?, removed = ?, pushed = ?, deleted = ?,"
	    " requests = ?, message = ? WHERE id = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, tt_now());
	sqlite3_bind_int(s, 2, p->exit_code);
	sqlite3_bind_int(s, 3, p->items);
	sqlite3_bind_int(s, 4, p->added);
	sqlite3_bind_int(s, 5, p->changed);
	sqlite3_bind_int(s, 6, p->removed);
	sqlite3_bind_int(s, 7, p->pushed);
	sqlite3_bind_int(s, 8, p->deleted);
	sqlite3_bind_int(s, 9, p->requests);
	bind_text(s, 10, p->message);
	sqlite3_bind_int64(s, 11, p->id);
	return done(st, s, run(st, s), err);
}

int
store_last_pass(struct store *st, int64_t profile, struct pass *p,
    struct tt_err *err)
{
	sqlite3_stmt *s;
	int rc;

	s = prep(st, "SELECT id, started, coalesce(finished, 0),"
	    " coalesce(exit_code, -1), items, added, changed, removed, pushed,"
	    " deleted, requests, message FROM passes WHERE profile_id = ?"
	    " ORDER BY id DESC LIMIT 1", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	rc = sqlite3_step(s);
	memset(p, 0, sizeof(*p));
	if (rc == SQLITE_ROW) {
		p->id = sqlite3_column_int64(s, 0);
		p->started = sqlite3_column_int64(s, 1);
		p->finished = sqlite3_column_int64(s, 2);
		p->exit_code = sqlite3_column_int(s, 3);
		p->items = sqlite3_column_int(s, 4);
		p->added = sqlite3_column_int(s, 5);
		p->changed = sqlite3_column_int(s, 6);
		p->removed = sqlite3_column_int(s, 7);
		p->pushed = sqlite3_column_int(s, 8);
		p->deleted = sqlite3_column_int(s, 9);
		p->requests = sqlite3_column_int(s, 10);
		p->message = col_text(s, 11);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "reading passes");
	return rc == SQLITE_ROW;
}

/* Cache slots of the hot statements. */
enum { C_BLOCK_GET, C_BLOCK_INS, C_BLOCK_UPD, C_BLOCK_GEN, C_BLOCK_DEL,
    C_FEED_GET, C_FEED_INS, C_FEED_UPD, C_FEED_SEEN, C_FEED_SEQ,
    C_PUSHED_OWNER, C_FEED_REMOVED, C_PUSH_SEEN,
    C_PUSH_WHICH, C_SERIES_GET };

static int
same_text(const unsigned char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == NULL && b == NULL;
	return strcmp((const char *)a, b) == 0;
}

int
store_block_put(struct store *st, int64_t profile, const struct block *b,
    int64_t *appt, struct tt_err *err)
{
	sqlite3_stmt *s;
	int rc, same;

	s = cached(st, C_BLOCK_GET, "SELECT id, start_utc, end_utc, all_day,"
	    " subject, remote_modified, showas FROM appointments"
	    " WHERE source_calendar_id = ? AND source_event_id = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, b->calendar_id);
	bind_text(s, 2, b->event_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*appt = sqlite3_column_int64(s, 0);
		same = sqlite3_column_int64(s, 1) == b->start &&
		    sqlite3_column_int64(s, 2) == b->end &&
		    sqlite3_column_int(s, 3) == b->all_day &&
		    same_text(sqlite3_column_text(s, 4), b->subject) &&
		    same_text(sqlite3_column_text(s, 5), b->remote_modified) &&
		    same_text(sqlite3_column_text(s, 6), b->showas);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "reading blocks");
	if (rc == SQLITE_ROW && same) {
		s = cached(st, C_BLOCK_GEN, "UPDATE appointments SET sync_gen = ?"
		    " WHERE id = ?", err);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, b->gen);
		sqlite3_bind_int64(s, 2, *appt);
		return step_reset(st, s, err) ? -1 : 0;
	}
	if (rc == SQLITE_ROW) {
		s = cached(st, C_BLOCK_UPD, "UPDATE appointments SET start_utc = ?,"
		    " end_utc = ?, all_day = ?, subject = ?, remote_modified = ?,"
		    " sync_gen = ?, showas = ?8 WHERE id = ?7", err);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 7, *appt);
	} else {
		s = cached(st, C_BLOCK_INS, "INSERT INTO appointments (start_utc,"
		    " end_utc, all_day, subject, remote_modified, sync_gen,"
		    " profile_id, kind, source_calendar_id, source_event_id,"
		    " created_at, updated_at, showas) VALUES (?1, ?2, ?3, ?4, ?5,"
		    " ?6, ?7, 'ext', ?8, ?9, strftime('%s', 'now'),"
		    " strftime('%s', 'now'), ?10)", err);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 7, profile);
		sqlite3_bind_int64(s, 8, b->calendar_id);
		bind_text(s, 9, b->event_id);
	}
	sqlite3_bind_int64(s, 1, b->start);
	sqlite3_bind_int64(s, 2, b->end);
	sqlite3_bind_int(s, 3, b->all_day);
	bind_text(s, 4, b->subject);
	bind_text(s, 5, b->remote_modified);
	sqlite3_bind_int64(s, 6, b->gen);
	bind_text(s, rc == SQLITE_ROW ? 8 : 10, b->showas);
	if (step_reset(st, s, err))
		return -1;
	if (rc != SQLITE_ROW) {
		*appt = sqlite3_last_insert_rowid(st->db);
		return 1;
	}
	return 2;
}

int
store_block_remove(struct store *st, int64_t calendar, const char *event_id,
    int64_t *appt, struct tt_err *err)
{
	sqlite3_stmt *s;
	int rc;

	s = cached(st, C_BLOCK_DEL, "DELETE FROM appointments WHERE"
	    " source_calendar_id = ? AND source_event_id = ? RETURNING id", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, calendar);
	bind_text(s, 2, event_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*appt = sqlite3_column_int64(s, 0);
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE)
		return dberr(st, err, "removing a block");
	return sqlite3_changes(st->db) > 0;
}

int
store_block_has(struct store *st, int64_t calendar, const char *event_id,
    struct tt_err *err)
{
	sqlite3_stmt *s;
	int rc;

	s = cached(st, C_BLOCK_GET, "SELECT id, start_utc, end_utc, all_day,"
	    " subject, remote_modified, showas FROM appointments"
	    " WHERE source_calendar_id = ? AND source_event_id = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, calendar);
	bind_text(s, 2, event_id);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "reading blocks");
	return rc == SQLITE_ROW;
}

int
store_block_count(struct store *st, int64_t calendar, int *n,
    struct tt_err *err)
{
	return count_of(st, "SELECT count(*) FROM appointments WHERE"
	    " source_calendar_id = ?", calendar, n, err);
}

int
store_blocks_stale(struct store *st, int64_t calendar, int64_t gen,
    int remove, int *n, struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, remove ?
	    "UPDATE feed SET loaded = 0, reason = 'removed', appt_id = NULL,"
	    " info = 'deleted in Teams, its block was removed',"
	    " seq = (SELECT coalesce(max(seq), 0) + 1 FROM feed),"
	    " seen_at = strftime('%s', 'now') WHERE appt_id IN"
	    " (SELECT id FROM appointments WHERE source_calendar_id = ?1"
	    " AND coalesce(sync_gen, -1) != ?2)" :
	    "SELECT count(*) FROM appointments WHERE source_calendar_id = ?1"
	    " AND coalesce(sync_gen, -1) != ?2", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, calendar);
	sqlite3_bind_int64(s, 2, gen);
	if (!remove) {
		int rc = sqlite3_step(s);

		*n = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
		return done(st, s, rc, err);
	}
	if (done(st, s, run(st, s), err))
		return -1;
	s = prep(st, "DELETE FROM appointments WHERE source_calendar_id = ?1"
	    " AND coalesce(sync_gen, -1) != ?2", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, calendar);
	sqlite3_bind_int64(s, 2, gen);
	if (done(st, s, run(st, s), err))
		return -1;
	*n = sqlite3_changes(st->db);
	return 0;
}

int
store_calendar_state(struct store *st, int64_t calendar, const char *delta_link,
    tt_time ws, tt_time we, const char *rules, int full, int no_delta,
    struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, "UPDATE calendars SET delta_link = ?, window_start = ?,"
	    " window_end = ?, no_delta = ?, last_full = CASE WHEN ? THEN ?"
	    " ELSE last_full END, rules = ? WHERE id = ?", err);
	if (s == NULL)
		return -1;
	bind_text(s, 1, delta_link);
	sqlite3_bind_int64(s, 2, ws);
	sqlite3_bind_int64(s, 3, we);
	sqlite3_bind_int(s, 4, no_delta);
	sqlite3_bind_int(s, 5, full);
	sqlite3_bind_int64(s, 6, tt_now());
	bind_text(s, 7, rules);
	sqlite3_bind_int64(s, 8, calendar);
	return done(st, s, run(st, s), err);
}

int
store_block_stamp(struct store *st, int64_t calendar, const char *event_id,
    int64_t gen, int64_t *appt, struct tt_err *err)
{
	sqlite3_stmt *s;
	int rc;

	s = prep(st, "UPDATE appointments SET sync_gen = ? WHERE"
	    " source_calendar_id = ? AND source_event_id = ? RETURNING id", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, gen);
	sqlite3_bind_int64(s, 2, calendar);
	bind_text(s, 3, event_id);
	*appt = 0;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*appt = sqlite3_column_int64(s, 0);
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return dberr(st, err, "stamping a block");
	return *appt != 0;
}

int
store_calendar_reset(struct store *st, int64_t calendar, struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, "UPDATE calendars SET delta_link = NULL WHERE id = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, calendar);
	return done(st, s, run(st, s), err);
}

int
store_pushed_owner(struct store *st, int64_t profile, const char *event_id,
    int64_t *appt, struct tt_err *err)
{
	sqlite3_stmt *s;
	int rc;

	s = cached(st, C_PUSHED_OWNER, "SELECT p.appt_id FROM pushed p JOIN"
	    " calendars c ON c.id = p.calendar_id WHERE p.event_id = ?"
	    " AND c.profile_id = ?", err);
	if (s == NULL)
		return -1;
	bind_text(s, 1, event_id);
	sqlite3_bind_int64(s, 2, profile);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*appt = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "reading pushed events");
	return rc == SQLITE_ROW;
}

int
store_push_which(struct store *st, int64_t appt, int64_t calendar,
    const char *event_id, struct tt_err *err)
{
	/* Once per event of ours in every page: a kept statement. */
	sqlite3_stmt *s = cached(st, C_PUSH_WHICH, "SELECT event_id IS NULL,"
	    " event_id = ? FROM pushed WHERE appt_id = ? AND calendar_id = ?",
	    err);
	int rc, r = PUSH_NO_ROW;

	if (s == NULL)
		return -1;
	bind_text(s, 1, event_id);
	sqlite3_bind_int64(s, 2, appt);
	sqlite3_bind_int64(s, 3, calendar);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		r = sqlite3_column_int(s, 0) ? PUSH_UNMAPPED :
		    sqlite3_column_int(s, 1) ? PUSH_THIS : PUSH_OTHER;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "reading pushed events");
	return r;
}

static int
next_seq(struct store *st, int64_t *seq, struct tt_err *err)
{
	sqlite3_stmt *s = cached(st, C_FEED_SEQ, "SELECT coalesce(max(seq), 0)"
	    " + 1 FROM feed", err);
	int rc;

	if (s == NULL)
		return -1;
	rc = sqlite3_step(s);
	*seq = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 1;
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : dberr(st, err, "reading the feed");
}

int
store_feed_put(struct store *st, const struct feed_row *f, struct tt_err *err)
{
	sqlite3_stmt *s;
	int64_t id = 0, seq;
	int rc, same = 0;

	s = cached(st, C_FEED_GET, "SELECT id, appt_id, start_utc, end_utc,"
	    " subject, loaded, reason, info, showas FROM feed WHERE"
	    " profile_id = ? AND calendar = ? AND event_id = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, f->profile_id);
	bind_text(s, 2, f->calendar);
	bind_text(s, 3, f->event_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(s, 0);
		same = sqlite3_column_int64(s, 1) == f->appt_id &&
		    sqlite3_column_int64(s, 2) == f->start &&
		    sqlite3_column_int64(s, 3) == f->end &&
		    same_text(sqlite3_column_text(s, 4), f->subject) &&
		    sqlite3_column_int(s, 5) == f->loaded &&
		    same_text(sqlite3_column_text(s, 6), f->reason) &&
		    same_text(sqlite3_column_text(s, 7), f->info) &&
		    same_text(sqlite3_column_text(s, 8), f->showas);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "reading the feed");
	if (same) {
		s = cached(st, C_FEED_SEEN, "UPDATE feed SET sync_gen = ?,"
		    " calendar_id = ? WHERE id = ?", err);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, f->gen);
		sqlite3_bind_int64(s, 2, f->calendar_id);
		sqlite3_bind_int64(s, 3, id);
		return step_reset(st, s, err);
	}
	if (next_seq(st, &seq, err))
		return -1;
	if (rc == SQLITE_ROW) {
		s = cached(st, C_FEED_UPD, "UPDATE feed SET appt_id = ?,"
		    " start_utc = ?, end_utc = ?, all_day = ?, subject = ?,"
		    " loaded = ?, reason = ?, info = ?, sync_gen = ?,"
		    " seen_at = ?, seq = ?, calendar_id = ?, showas = ?14"
		    " WHERE id = ?13", err);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 13, id);
	} else {
		s = cached(st, C_FEED_INS, "INSERT INTO feed (appt_id, start_utc,"
		    " end_utc, all_day, subject, loaded, reason, info, sync_gen,"
		    " seen_at, seq, calendar_id, profile_id, calendar, event_id,"
		    " showas) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
		    " ?11, ?12, ?13, ?14, ?15, ?16)", err);
		if (s == NULL)
			return -1;
		sqlite3_bind_int64(s, 13, f->profile_id);
		bind_text(s, 14, f->calendar);
		bind_text(s, 15, f->event_id);
	}
	if (f->appt_id)
		sqlite3_bind_int64(s, 1, f->appt_id);
	else
		sqlite3_bind_null(s, 1);
	sqlite3_bind_int64(s, 2, f->start);
	sqlite3_bind_int64(s, 3, f->end);
	sqlite3_bind_int(s, 4, f->all_day);
	bind_text(s, 5, f->subject);
	sqlite3_bind_int(s, 6, f->loaded);
	bind_text(s, 7, f->reason);
	bind_text(s, 8, f->info);
	sqlite3_bind_int64(s, 9, f->gen);
	sqlite3_bind_int64(s, 10, tt_now());
	sqlite3_bind_int64(s, 11, seq);
	sqlite3_bind_int64(s, 12, f->calendar_id);
	bind_text(s, rc == SQLITE_ROW ? 14 : 16, f->showas);
	return step_reset(st, s, err);
}

int
store_feed_removed(struct store *st, int64_t profile, const char *calendar,
    const char *event_id, const char *info, struct tt_err *err)
{
	sqlite3_stmt *s;
	int64_t seq;

	if (next_seq(st, &seq, err))
		return -1;
	s = cached(st, C_FEED_REMOVED, "UPDATE feed SET loaded = 0,"
	    " reason = 'removed', appt_id = NULL, info = ?, seq = ?, seen_at = ?"
	    " WHERE profile_id = ? AND calendar = ? AND event_id = ?"
	    " AND coalesce(reason, '') != 'removed'", err);
	if (s == NULL)
		return -1;
	bind_text(s, 1, info);
	sqlite3_bind_int64(s, 2, seq);
	sqlite3_bind_int64(s, 3, tt_now());
	sqlite3_bind_int64(s, 4, profile);
	bind_text(s, 5, calendar);
	bind_text(s, 6, event_id);
	return step_reset(st, s, err);
}

int
store_feed_stale(struct store *st, int64_t profile, const char *calendar,
    int64_t gen, struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, "UPDATE feed SET loaded = 0, reason = 'removed',"
	    " appt_id = NULL,"
	    " info = 'no longer in Teams (deleted, or moved out of the window)',"
	    " seq = (SELECT coalesce(max(seq), 0) + 1 FROM feed),"
	    " seen_at = strftime('%s', 'now') WHERE profile_id = ?1"
	    " AND calendar = ?2 AND coalesce(sync_gen, -1) != ?3"
	    " AND coalesce(reason, '') != 'removed'", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	bind_text(s, 2, calendar);
	sqlite3_bind_int64(s, 3, gen);
	if (done(st, s, run(st, s), err))
		return -1;
	return exec_profile(st, "DELETE FROM feed WHERE profile_id = ? AND"
	    " reason = 'removed' AND seen_at < strftime('%s', 'now') - 30 * 86400",
	    profile, NULL, err);
}

/* The feed's columns, in struct feed_row's order (feed_rows). */
#define FEED_COLS \
	"SELECT f.calendar_id, f.calendar, f.event_id," \
	" coalesce(f.appt_id, 0), f.start_utc, f.end_utc, f.all_day," \
	" f.subject, f.loaded, f.reason, f.info, f.seen_at, f.seq," \
	" c.remote_id, f.showas FROM feed f LEFT JOIN calendars c ON c.id =" \
	" f.calendar_id "

/* Each row of s (FEED_COLS) to cb, strings borrowed; s is finished. */
static int
feed_rows(struct store *st, sqlite3_stmt *s, int64_t profile,
    int (*cb)(void *, const struct feed_row *), void *arg, struct tt_err *err)
{
	struct feed_row f;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&f, 0, sizeof(f));
		f.profile_id = profile;
		f.calendar_id = sqlite3_column_int64(s, 0);
		f.calendar = (const char *)sqlite3_column_text(s, 1);
		f.event_id = (const char *)sqlite3_column_text(s, 2);
		f.appt_id = sqlite3_column_int64(s, 3);
		f.start = sqlite3_column_int64(s, 4);
		f.end = sqlite3_column_int64(s, 5);
		f.all_day = sqlite3_column_int(s, 6);
		f.subject = (const char *)sqlite3_column_text(s, 7);
		f.loaded = sqlite3_column_int(s, 8);
		f.reason = (const char *)sqlite3_column_text(s, 9);
		f.info = (const char *)sqlite3_column_text(s, 10);
		f.seen_at = sqlite3_column_int64(s, 11);
		f.seq = sqlite3_column_int64(s, 12);
		f.calendar_remote = (const char *)sqlite3_column_text(s, 13);
		f.showas = (const char *)sqlite3_column_text(s, 14);
		if (cb(arg, &f))
			break;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "reading the feed");
	return 0;
}

int
store_feed_list(struct store *st, int64_t profile, int limit,
    int (*cb)(void *, const struct feed_row *), void *arg, struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, FEED_COLS "WHERE f.profile_id = ? ORDER BY f.seq DESC"
	    " LIMIT ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	sqlite3_bind_int(s, 2, limit > 0 ? limit : -1);
	return feed_rows(st, s, profile, cb, arg, err);
}

/* Whether c is the calendar whose event holds a's Teams meeting: the
 * one that has its link, or else the first push calendar. */
#define MEETING_HOME \
	" coalesce(a.online AND c.id = coalesce((SELECT min(h.calendar_id)" \
	" FROM pushed h WHERE h.appt_id = a.id AND h.join_url IS NOT NULL)," \
	" (SELECT min(k.id) FROM calendars k WHERE k.profile_id = c.profile_id" \
	" AND k.push AND k.present)), 0)"

/* The pushed pairs, in the columns of struct push_item. */
#define PUSHED_PAIRS \
	"SELECT p.appt_id, coalesce(a.status = 'booked', 0), a.start_utc," \
	" a.end_utc, a.subject, a.client, a.join_url, a.online, a.version," \
	" c.id, c.remote_id, c.container, c.path, c.kind = 'group'," \
	" c.is_default, c.push AND c.present, p.state, p.txn_id, p.event_id," \
	" p.version, p.body_sum," MEETING_HOME \
	" FROM pushed p JOIN calendars c ON c.id = p.calendar_id" \
	" LEFT JOIN appointments a ON a.id = p.appt_id"

static enum push_state
push_state(const char *s)
{
	static const char *const names[] = { "none", "intent", "unsent",
	    "pushed", "edited", "gone" };
	size_t i;

	for (i = 0; s != NULL && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i]) == 0)
			return (enum push_state)i;
	return PS_NONE;
}

int
store_appt_pushes(struct store *st, int64_t profile, int64_t appt,
    int (*cb)(void *, const struct appt_push *), void *arg,
    struct tt_err *err)
{
	sqlite3_stmt *s;
	struct appt_push ap;
	int rc;

	s = prep(st, "SELECT c.path, c.remote_id, p.event_id,"
	    " coalesce(p.state, 'none'), coalesce(p.pushed_at, 0),"
	    " c.push AND c.present FROM calendars c LEFT JOIN pushed p ON"
	    " p.calendar_id = c.id AND p.appt_id = ?2 WHERE c.profile_id = ?1"
	    " AND ((c.push AND c.present) OR p.appt_id IS NOT NULL)"
	    " ORDER BY c.id", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	sqlite3_bind_int64(s, 2, appt);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ap.calendar = (const char *)sqlite3_column_text(s, 0);
		ap.calendar_id = (const char *)sqlite3_column_text(s, 1);
		ap.event_id = (const char *)sqlite3_column_text(s, 2);
		ap.state = (const char *)sqlite3_column_text(s, 3);
		ap.pushed_at = sqlite3_column_int64(s, 4);
		ap.push = sqlite3_column_int(s, 5);
		if (cb(arg, &ap))
			break;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "reading the pushed events");
	return 0;
}

int
store_push_plan(struct store *st, int64_t profile, tt_time ws, tt_time we,
    enum plan_mode mode, int (*cb)(void *, const struct push_item *),
    void *arg, struct tt_err *err)
{
	sqlite3_stmt *s;
	struct push_item it;
	int rc;

	/*
	 * Only the pairs with something to do: a pass with nothing changed
	 * reads the indexes and calls cb for none.  PLAN_LOOKUPS: the intents
	 * whose outcome is unknown; PLAN_ALL: every pushed pair.  PLAN_WORK:
	 * wanted pairs not pushed, not created, or of another version; then
	 * pushed pairs no longer wanted.
	 */
	s = prep(st, mode != PLAN_WORK ?
	    PUSHED_PAIRS " WHERE c.profile_id = ?1"
	    " AND (p.state = 'intent' OR ?4) AND ?2 = ?2 AND ?3 = ?3" :
	    "SELECT a.id, 1, a.start_utc, a.end_utc, a.subject, a.client,"
	    " a.join_url, a.online, a.version, c.id, c.remote_id, c.container,"
	    " c.path, c.kind = 'group', c.is_default, 1,"
	    " p.state, p.txn_id, p.event_id, p.version,"
	    " p.body_sum," MEETING_HOME
	    " FROM calendars c JOIN appointments a ON a.profile_id = c.profile_id"
	    "  AND a.kind = 'booked' AND a.status = 'booked'"
	    "  AND a.start_utc < ?3 AND a.end_utc > ?2"
	    " LEFT JOIN pushed p ON p.appt_id = a.id AND p.calendar_id = c.id"
	    " WHERE c.profile_id = ?1 AND c.push AND c.present"
	    "  AND (coalesce(p.state, 'none') != 'pushed'"
	    "   OR p.version != a.version)"
	    " UNION ALL "
	    PUSHED_PAIRS " WHERE c.profile_id = ?1"
	    " AND NOT coalesce(c.push AND c.present"
	    "  AND a.status = 'booked' AND a.start_utc < ?3"
	    "  AND a.end_utc > ?2, 0)", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	sqlite3_bind_int64(s, 2, ws);
	sqlite3_bind_int64(s, 3, we);
	if (mode != PLAN_WORK)
		sqlite3_bind_int(s, 4, mode == PLAN_ALL);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&it, 0, sizeof(it));
		it.appt_id = sqlite3_column_int64(s, 0);
		it.booked = sqlite3_column_int(s, 1);
		it.start = sqlite3_column_int64(s, 2);
		it.end = sqlite3_column_int64(s, 3);
		it.subject = (const char *)sqlite3_column_text(s, 4);
		it.client = (const char *)sqlite3_column_text(s, 5);
		it.join_url = (const char *)sqlite3_column_text(s, 6);
		it.online = sqlite3_column_int(s, 7);
		it.version = sqlite3_column_int64(s, 8);
		it.calendar_id = sqlite3_column_int64(s, 9);
		it.cal = cal_ref(sqlite3_column_int(s, 13),
		    (const char *)sqlite3_column_text(s, 10),
		    (const char *)sqlite3_column_text(s, 11),
		    sqlite3_column_int(s, 14));
		it.cal_path = (const char *)sqlite3_column_text(s, 12);
		it.cal_push = sqlite3_column_int(s, 15);
		it.state = push_state((const char *)sqlite3_column_text(s, 16));
		it.txn_id = (const char *)sqlite3_column_text(s, 17);
		it.event_id = (const char *)sqlite3_column_text(s, 18);
		it.pushed_version = sqlite3_column_int64(s, 19);
		it.body_sum = (const char *)sqlite3_column_text(s, 20);
		it.meeting_home = sqlite3_column_int(s, 21);
		if (cb(arg, &it))
			break;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "planning the push");
	return 0;
}

/* Run sql with (appt, calendar) bound as ?1, ?2 and extra text/ints. */
static int
push_exec(struct store *st, const char *sql, int64_t appt, int64_t calendar,
    const char *t3, const char *t4, int64_t i5, struct tt_err *err)
{
	sqlite3_stmt *s = prep(st, sql, err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, appt);
	sqlite3_bind_int64(s, 2, calendar);
	if (sqlite3_bind_parameter_count(s) >= 3)
		bind_text(s, 3, t3);
	if (sqlite3_bind_parameter_count(s) >= 4)
		bind_text(s, 4, t4);
	if (sqlite3_bind_parameter_count(s) >= 5)
		sqlite3_bind_int64(s, 5, i5);
	return done(st, s, run(st, s), err);
}

int
store_push_intent(struct store *st, int64_t appt, int64_t calendar,
    const char *txn_id, struct tt_err *err)
{
	return push_exec(st, "INSERT INTO pushed (appt_id, calendar_id, txn_id,"
	    " attempted, pushed_at) VALUES (?1, ?2, ?3, 1, strftime('%s', 'now'))"
	    " ON CONFLICT (appt_id, calendar_id) DO UPDATE SET txn_id = ?3,"
	    " attempted = 1, pushed_at = strftime('%s', 'now')", appt, calendar,
	    txn_id, NULL, 0, err);
}

int
store_push_created(struct store *st, int64_t appt, int64_t calendar,
    const char *event_id, const char *change_key, int64_t version,
    struct tt_err *err)
{
	return push_exec(st, "UPDATE pushed SET event_id = ?3, change_key = ?4,"
	    " version = ?5 WHERE appt_id = ?1 AND calendar_id = ?2", appt,
	    calendar, event_id, change_key, version, err);
}

int
store_push_written(struct store *st, int64_t appt, int64_t calendar,
    const char *fields, const char *body_sum, struct tt_err *err)
{
	return push_exec(st, "UPDATE pushed SET fields = ?3, body_sum = ?4"
	    " WHERE appt_id = ?1 AND calendar_id = ?2 AND ?5 = ?5", appt,
	    calendar, fields, body_sum, 0, err);
}

int
store_push_updated(struct store *st, int64_t appt, int64_t calendar,
    const char *change_key, int64_t version, struct tt_err *err)
{
	/* ?3 is unused (bound NULL): push_exec numbers ?4 and ?5 after it. */
	return push_exec(st, "UPDATE pushed SET change_key = ?4, version = ?5"
	    " WHERE appt_id = ?1 AND calendar_id = ?2 AND ?3 IS NULL", appt,
	    calendar, NULL, change_key, version, err);
}

int
store_push_deleted(struct store *st, int64_t appt, int64_t calendar,
    struct tt_err *err)
{
	return push_exec(st, "DELETE FROM pushed WHERE appt_id = ?1 AND"
	    " calendar_id = ?2", appt, calendar, NULL, NULL, 0, err);
}

int
store_push_gone(struct store *st, int64_t appt, int64_t calendar,
    struct tt_err *err)
{
	return push_exec(st, "UPDATE pushed SET event_id = NULL, attempted = 0,"
	    " version = 0, change_key = NULL, txn_id = '' WHERE appt_id = ?1"
	    " AND calendar_id = ?2", appt, calendar, NULL, NULL, 0, err);
}

int
store_push_unsent(struct store *st, int64_t appt, int64_t calendar,
    struct tt_err *err)
{
	return push_exec(st, "UPDATE pushed SET attempted = 0 WHERE"
	    " appt_id = ?1 AND calendar_id = ?2 AND event_id IS NULL", appt,
	    calendar, NULL, NULL, 0, err);
}

int
store_push_unseen_event(struct store *st, int64_t calendar, const char *event_id,
    struct tt_err *err)
{
	/* "@removed" also means "moved out of the window": the event is
	 * written again (set back); only a 404 then makes it created anew. */
	sqlite3_stmt *s = prep(st, "UPDATE pushed SET version = -1 WHERE"
	    " calendar_id = ? AND event_id = ?", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, calendar);
	bind_text(s, 2, event_id);
	if (done(st, s, run(st, s), err))
		return -1;
	return sqlite3_changes(st->db) > 0;
}

int
store_push_seen(struct store *st, int64_t calendar, const char *event_id,
    const char *change_key, const char *fields, int body_ok, int64_t gen,
    struct tt_err *err)
{
	/*
	 * Set back when a field the tool owns differs from what it wrote, or
	 * the body lost its marker (then the body is sent again too).  A
	 * changeKey alone proves nothing (a dismissed reminder changes it);
	 * it is the test only for events written before the digests.
	 */
	sqlite3_stmt *s = cached(st, C_PUSH_SEEN, "UPDATE pushed SET"
	    " sync_gen = ?1, version = CASE"
	    "  WHEN fields IS NULL THEN CASE WHEN ?2 IS NOT NULL AND"
	    "   change_key IS NOT ?2 THEN -1 ELSE version END"
	    "  WHEN fields IS NOT ?5 OR NOT ?6 THEN -1 ELSE version END,"
	    " body_sum = CASE WHEN ?6 THEN body_sum END,"
	    " change_key = coalesce(?2, change_key)"
	    " WHERE calendar_id = ?3 AND event_id = ?4", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, gen);
	bind_text(s, 2, change_key);
	sqlite3_bind_int64(s, 3, calendar);
	bind_text(s, 4, event_id);
	bind_text(s, 5, fields);
	sqlite3_bind_int(s, 6, body_ok);
	return step_reset(st, s, err);
}

int
store_push_unseen(struct store *st, int64_t calendar, int64_t gen, tt_time ws,
    tt_time we, tt_time before, int *n, struct tt_err *err)
{
	sqlite3_stmt *s = prep(st, "UPDATE pushed SET version = -1"
	    " WHERE calendar_id = ?1 AND event_id IS NOT NULL"
	    " AND coalesce(sync_gen, -1) != ?2"
	    " AND (sync_gen IS NOT NULL OR pushed_at < ?5)"
	    " AND appt_id IN (SELECT id FROM appointments WHERE"
	    "  status = 'booked' AND start_utc < ?4 AND end_utc > ?3)", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, calendar);
	sqlite3_bind_int64(s, 2, gen);
	sqlite3_bind_int64(s, 3, ws);
	sqlite3_bind_int64(s, 4, we);
	sqlite3_bind_int64(s, 5, before);
	if (done(st, s, run(st, s), err))
		return -1;
	*n = sqlite3_changes(st->db);
	return 0;
}

int
store_join_url(struct store *st, int64_t appt, int64_t calendar,
    const char *url, struct tt_err *err)
{
	/* The book shows the link the service returns now: a new one (a
	 * body PATCH can regenerate it) replaces the one it showed, and the
	 * appointment's other events, which carry the link in their body,
	 * are written again. */
#define SHOWN_BY_THIS " (SELECT join_url FROM appointments WHERE id = ?1) IS" \
	" (SELECT join_url FROM pushed WHERE appt_id = ?1 AND calendar_id = ?2)"
	int marked;

	if (push_exec(st, "UPDATE pushed SET version = -1 WHERE appt_id = ?1"
	    " AND calendar_id != ?2 AND event_id IS NOT NULL AND ?3 IS NOT"
	    " (SELECT join_url FROM appointments WHERE id = ?1) AND"
	    SHOWN_BY_THIS, appt, calendar, url, NULL, 0, err))
		return -1;
	marked = sqlite3_changes(st->db) > 0;
	return push_exec(st, "UPDATE appointments SET join_url = ?3 WHERE"
	    " id = ?1 AND (join_url IS NULL OR" SHOWN_BY_THIS ")", appt,
	    calendar, url, NULL, 0, err) || push_exec(st, "UPDATE pushed SET"
	    " join_url = ?3 WHERE appt_id = ?1 AND calendar_id = ?2", appt,
	    calendar, url, NULL, 0, err) ? -1 : marked;
#undef SHOWN_BY_THIS
}

int
store_stray_add(struct store *st, int64_t calendar, const char *event_id,
    struct tt_err *err)
{
	return push_exec(st, "INSERT OR IGNORE INTO strays (calendar_id,"
	    " event_id) VALUES (?2, ?3)", 0, calendar, event_id, NULL, 0, err);
}

int
store_stray_done(struct store *st, int64_t calendar, const char *event_id,
    struct tt_err *err)
{
	return push_exec(st, "DELETE FROM strays WHERE calendar_id = ?2 AND"
	    " event_id = ?3", 0, calendar, event_id, NULL, 0, err);
}

int
store_strays(struct store *st, int64_t profile,
    int (*cb)(void *, const struct stray *), void *arg, struct tt_err *err)
{
	sqlite3_stmt *s;
	struct stray y;
	int rc;

	/* A copy the store has since adopted as the mapped event is no
	 * stray any more. */
	if (push_exec(st, "DELETE FROM strays WHERE event_id IN (SELECT"
	    " event_id FROM pushed WHERE calendar_id = strays.calendar_id AND"
	    " event_id IS NOT NULL)", 0, 0, NULL, NULL, 0, err))
		return -1;
	s = prep(st, "SELECT s.calendar_id, s.event_id, c.kind = 'group',"
	    " c.remote_id, c.container, c.path FROM strays s JOIN calendars c"
	    " ON c.id = s.calendar_id WHERE c.profile_id = ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		y.calendar_id = sqlite3_column_int64(s, 0);
		y.event_id = (const char *)sqlite3_column_text(s, 1);
		y.cal = cal_ref(sqlite3_column_int(s, 2),
		    (const char *)sqlite3_column_text(s, 3),
		    (const char *)sqlite3_column_text(s, 4), 0);
		y.path = (const char *)sqlite3_column_text(s, 5);
		if (cb(arg, &y))
			break;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "reading the second copies");
	return 0;
}

int
store_join_stale(struct store *st, int64_t appt, int64_t calendar,
    const char *url, struct tt_err *err)
{
	if (push_exec(st, "UPDATE pushed SET version = -1 WHERE appt_id = ?1"
	    " AND calendar_id = ?2 AND event_id IS NOT NULL AND ?3 IS NOT"
	    " (SELECT join_url FROM appointments WHERE id = ?1)", appt,
	    calendar, url, NULL, 0, err))
		return -1;
	return sqlite3_changes(st->db) > 0;
}

int
store_join_seen(struct store *st, int64_t appt, int64_t calendar,
    const char *url, struct tt_err *err)
{
	sqlite3_stmt *s;
	int other, rc;

	s = prep(st, "SELECT 1 FROM pushed WHERE appt_id = ? AND calendar_id = ?"
	    " AND join_url IS NOT NULL AND join_url != ?", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, appt);
	sqlite3_bind_int64(s, 2, calendar);
	sqlite3_bind_text(s, 3, url, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	other = rc == SQLITE_ROW;
	if (done(st, s, rc, err))
		return -1;
	return other ? store_join_url(st, appt, calendar, url, err) : 0;
}

int
store_push_rules(struct store *st, int64_t profile, const char *rules,
    struct tt_err *err)
{
	sqlite3_stmt *s;
	int changed = 0, rc;

	if (store_begin(st, err))
		return -1;
	s = prep(st, "SELECT push_rules IS NOT NULL AND push_rules <> ?"
	    " FROM profiles WHERE id = ?", err);
	if (s == NULL)
		goto fail;
	bind_text(s, 1, rules);
	sqlite3_bind_int64(s, 2, profile);
	rc = sqlite3_step(s);
	changed = rc == SQLITE_ROW && sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		dberr(st, err, "reading the push rules");
		goto fail;
	}
	/* Other rules: every event pushed is written again (version -1
	 * never equals an appointment's version). */
	if (changed && exec_profile(st, "UPDATE pushed SET version = -1"
	    " WHERE event_id IS NOT NULL AND calendar_id IN"
	    " (SELECT id FROM calendars WHERE profile_id = ?)", profile, NULL,
	    err))
		goto fail;
	if ((s = prep(st, "UPDATE profiles SET push_rules = ? WHERE id = ?",
	    err)) == NULL)
		goto fail;
	bind_text(s, 1, rules);
	sqlite3_bind_int64(s, 2, profile);
	if (done(st, s, run(st, s), err))
		goto fail;
	if (store_commit(st, err))
		return -1;
	return changed;
fail:
	store_rollback(st);
	return -1;
}

void
store_series_free(struct series *m)
{
	if (m == NULL)
		return;
	free(m->subject);
	free(m->showas);
	free(m->last_modified);
	memset(m, 0, sizeof(*m));
}

int
store_series_put(struct store *st, int64_t calendar, const char *master_id,
    const struct series *m, struct tt_err *err)
{
	sqlite3_stmt *s = prep(st, "INSERT OR REPLACE INTO series (calendar_id,"
	    " master_id, subject, showas, all_day, cancelled, last_modified)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?)", err);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, calendar);
	bind_text(s, 2, master_id);
	bind_text(s, 3, m->subject ? m->subject : "");
	bind_text(s, 4, m->showas ? m->showas : "unknown");
	sqlite3_bind_int(s, 5, m->all_day);
	sqlite3_bind_int(s, 6, m->cancelled);
	bind_text(s, 7, m->last_modified);
	return done(st, s, run(st, s), err);
}

int
store_series_get(struct store *st, int64_t calendar, const char *master_id,
    struct series *m, struct tt_err *err)
{
	/* Once per occurrence: a kept statement. */
	sqlite3_stmt *s = cached(st, C_SERIES_GET, "SELECT subject, showas,"
	    " all_day, cancelled, last_modified FROM series"
	    " WHERE calendar_id = ? AND master_id = ?", err);
	int rc;

	memset(m, 0, sizeof(*m));
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, calendar);
	bind_text(s, 2, master_id);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		m->subject = col_text(s, 0);
		m->showas = col_text(s, 1);
		m->all_day = sqlite3_column_int(s, 2);
		m->cancelled = sqlite3_column_int(s, 3);
		m->last_modified = col_text(s, 4);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return dberr(st, err, "reading a series");
	return rc == SQLITE_ROW;
}

int
store_pushed_count(struct store *st, int64_t profile, int *n,
    struct tt_err *err)
{
	return count_of(st, "SELECT count(*) FROM pushed p JOIN calendars c"
	    " ON c.id = p.calendar_id WHERE c.profile_id = ?"
	    " AND p.event_id IS NOT NULL", profile, n, err);
}

/* ------------------------------------------------------------ conflicts */

/*
 * The open pairs of a profile: booked and not cancelled, against a live
 * block, overlapping as store_overlaps() says; with when each was told.
 * A block overlapping a starts after a.start - (the longest block), so
 * each appointment reads only the blocks of that span through the time
 * index, not every item that starts before it ends (which made a pass
 * quadratic in the size of the book).
 */
/* Both sides through appointments_kind (schema 5), the booked side
 * outside: the planner, left to itself, takes the time index and reads
 * each row of the table, or walks the blocks and looks up the bookings. */
#define OPEN_PAIRS \
	" FROM appointments a INDEXED BY appointments_kind CROSS JOIN" \
	" appointments b INDEXED BY appointments_kind ON b.profile_id =" \
	" a.profile_id AND b.start_utc < a.end_utc AND b.start_utc >" \
	" a.start_utc - (SELECT coalesce(max(end_utc - start_utc), 0)" \
	" FROM appointments WHERE profile_id = ?1 AND kind = 'ext')" \
	" AND b.kind = 'ext' AND b.status = 'booked'" \
	" AND a.start_utc < b.end_utc" \
	" LEFT JOIN calendars c ON c.id = b.source_calendar_id" \
	" LEFT JOIN conflicts k ON k.appt_id = a.id AND k.block_id = b.id" \
	" WHERE a.profile_id = ?1 AND a.kind = 'booked'" \
	" AND a.status = 'booked'"

struct conflict_row {
	struct conflict c;
	char *subject, *client, *block_subject, *calendar, *calendar_id,
	    *event_id;
};

static int
conflict_row_read(sqlite3_stmt *s, void *elem)
{
	struct conflict_row *r = elem;

	r->c.appt_id = sqlite3_column_int64(s, 0);
	r->c.start = sqlite3_column_int64(s, 3);
	r->c.end = sqlite3_column_int64(s, 4);
	r->c.block_id = sqlite3_column_int64(s, 5);
	r->c.block_start = sqlite3_column_int64(s, 10);
	r->c.block_end = sqlite3_column_int64(s, 11);
	r->c.block_all_day = sqlite3_column_int(s, 12);
	r->c.told_at = sqlite3_column_int64(s, 13);
	r->subject = col_text(s, 1);
	r->client = col_text(s, 2);
	r->block_subject = col_text(s, 6);
	r->calendar = col_text(s, 7);
	r->calendar_id = col_text(s, 8);
	r->event_id = col_text(s, 9);
	if ((r->subject == NULL && sqlite3_column_type(s, 1) != SQLITE_NULL) ||
	    (r->block_subject == NULL &&
	    sqlite3_column_type(s, 6) != SQLITE_NULL) ||
	    (r->calendar == NULL && sqlite3_column_type(s, 7) != SQLITE_NULL))
		return -1;
	r->c.subject = r->subject ? r->subject : "";
	r->c.client = r->client;
	r->c.block_subject = r->block_subject ? r->block_subject : "";
	r->c.calendar = r->calendar;
	r->c.calendar_id = r->calendar_id;
	r->c.event_id = r->event_id;
	return 0;
}

static int
conflicts_read(struct store *st, int64_t profile, tt_time from, tt_time to,
    int untold, int (*cb)(void *, const struct conflict *), void *arg,
    struct tt_err *err)
{
	struct conflict_row *v = NULL;
	sqlite3_stmt *s;
	size_t n = 0, i;
	int rc;

	s = prep(st, "SELECT a.id, a.subject, a.client, a.start_utc,"
	    " a.end_utc, b.id, b.subject, c.path, c.remote_id,"
	    " b.source_event_id, b.start_utc, b.end_utc, b.all_day,"
	    " coalesce(k.told_at, 0)" OPEN_PAIRS
	    " AND ((a.start_utc < ?3 AND ?2 < a.end_utc)"
	    " OR (b.start_utc < ?3 AND ?2 < b.end_utc))"
	    " AND (?4 = 0 OR k.appt_id IS NULL)"
	    " ORDER BY a.start_utc, a.id, b.start_utc, b.id", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	sqlite3_bind_int64(s, 2, from);
	sqlite3_bind_int64(s, 3, to);
	sqlite3_bind_int(s, 4, untold);
	/* Read whole: the pass records each pair told as it tells it. */
	rc = rows_all(st, s, &v, &n, sizeof(*v), conflict_row_read,
	    "reading conflicts", err);
	for (i = 0; i < n && rc == 0; i++)
		if (cb(arg, &v[i].c) != 0)
			break;
	for (i = 0; i < n; i++) {
		free(v[i].subject);
		free(v[i].client);
		free(v[i].block_subject);
		free(v[i].calendar);
		free(v[i].calendar_id);
		free(v[i].event_id);
	}
	free(v);
	return rc;
}

int
store_conflicts(struct store *st, int64_t profile, tt_time from, tt_time to,
    int (*cb)(void *, const struct conflict *), void *arg, struct tt_err *err)
{
	return conflicts_read(st, profile, from, to, 0, cb, arg, err);
}

int
store_conflicts_untold(struct store *st, int64_t profile,
    int (*cb)(void *, const struct conflict *), void *arg, struct tt_err *err)
{
	return conflicts_read(st, profile, 0, TT_TIME_MAX + 1, 1, cb, arg, err);
}

int
store_conflicts_forget(struct store *st, int64_t profile, int *n,
    struct tt_err *err)
{
	sqlite3_stmt *s;

	/* Each told pair looked up by its two ids: still booked, still a
	 * live block, still overlapping (the open pairs' definition). */
	s = prep(st, "DELETE FROM conflicts WHERE EXISTS (SELECT 1 FROM"
	    " appointments x WHERE x.id = conflicts.appt_id AND x.profile_id ="
	    " ?1) AND NOT EXISTS (SELECT 1"
	    " FROM appointments a, appointments b WHERE a.id ="
	    " conflicts.appt_id AND b.id = conflicts.block_id"
	    " AND a.kind = 'booked' AND a.status = 'booked'"
	    " AND b.kind = 'ext' AND b.status = 'booked'"
	    " AND b.profile_id = a.profile_id"
	    " AND b.start_utc < a.end_utc AND a.start_utc < b.end_utc)", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	if (done(st, s, run(st, s), err))
		return -1;
	if (n != NULL)
		*n = sqlite3_changes(st->db);
	return 0;
}

int
store_conflict_told(struct store *st, int64_t appt, int64_t block,
    tt_time when, struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, "INSERT OR IGNORE INTO conflicts (appt_id, block_id,"
	    " told_at) VALUES (?, ?, ?)", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, appt);
	sqlite3_bind_int64(s, 2, block);
	sqlite3_bind_int64(s, 3, when);
	return done(st, s, run(st, s), err);
}

int
store_conflicts_accept(struct store *st, int64_t profile, int64_t appt,
    int *n, struct tt_err *err)
{
	sqlite3_stmt *s;

	if (store_begin(st, err))
		return -1;
	if (store_conflicts_forget(st, profile, NULL, err))
		goto fail;
	s = prep(st, "INSERT OR IGNORE INTO conflicts (appt_id, block_id,"
	    " told_at) SELECT a.id, b.id, ?2" OPEN_PAIRS " AND a.id = ?3", err);
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, profile);
	sqlite3_bind_int64(s, 2, tt_now());
	sqlite3_bind_int64(s, 3, appt);
	if (done(st, s, run(st, s), err))
		goto fail;
	if (n != NULL)
		*n = sqlite3_changes(st->db);
	return store_commit(st, err);
fail:
	store_rollback(st);
	return -1;
}

int
store_feed_slot(struct store *st, int64_t profile, tt_time from, tt_time to,
    int (*cb)(void *, const struct feed_row *), void *arg, struct tt_err *err)
{
	sqlite3_stmt *s;

	s = prep(st, FEED_COLS "WHERE f.profile_id = ? AND NOT f.loaded"
	    " AND f.start_utc < ? AND ? < f.end_utc"
	    " ORDER BY f.start_utc, f.id", err);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, profile);
	sqlite3_bind_int64(s, 2, to);
	sqlite3_bind_int64(s, 3, from);
	return feed_rows(st, s, profile, cb, arg, err);
}

/* ------------------------------------------------ sync --dry-run */

int
store_open_copy(struct store *from, struct store **out, struct tt_err *err)
{
	struct store *st;
	sqlite3_backup *b;
	int rc;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(from->path)) == NULL) {
		free(st);
		return tt_fail(err, TT_E_INTERNAL, "out of memory");
	}
	if (sqlite3_open_v2(":memory:", &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		dberr(st, err, "opening a copy");
		store_close(st);
		return -1;
	}
	sqlite3_extended_result_codes(st->db, 1);
	/* One read of the whole file (a consistent snapshot: the backup
	 * holds the source's read transaction for its one step). */
	if ((b = sqlite3_backup_init(st->db, "main", from->db, "main")) ==
	    NULL) {
		dberr(st, err, "copying the database");
		store_close(st);
		return -1;
	}
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		tt_fail(err, TT_E_LOCAL, "database %s: copying it for a dry "
		    "run: %s", from->path, sqlite3_errstr(rc));
		store_close(st);
		return -1;
	}
	if (exec(st, "PRAGMA foreign_keys = ON", err)) {
		store_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

/* ---------------------------------------------------------- doctor */

void
store_health_free(struct store_health *h)
{
	if (h == NULL)
		return;
	free(h->integrity);
	free(h->journal);
	h->integrity = h->journal = NULL;
}

/* One text answer of a PRAGMA (a new string), or NULL with err. */
static char *
pragma_text(struct store *st, const char *sql, struct tt_err *err)
{
	sqlite3_stmt *s = prep(st, sql, err);
	char *v = NULL;

	if (s == NULL)
		return NULL;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = col_text(s, 0);
	sqlite3_finalize(s);
	if (v == NULL)
		dberr(st, err, sql);
	return v;
}

int
store_health(struct store *st, struct store_health *h, struct tt_err *err)
{
	sqlite3_stmt *s;

	memset(h, 0, sizeof(*h));
	h->newest = SCHEMA_VERSION;
	if ((s = prep(st, "PRAGMA user_version", err)) == NULL)
		return -1;
	h->version = sqlite3_step(s) == SQLITE_ROW ?
	    sqlite3_column_int(s, 0) : -1;
	sqlite3_finalize(s);
	/* quick_check: integrity_check's checks but those of the indexes'
	 * contents, in O(N); its first problem is enough to say. */
	if ((h->integrity = pragma_text(st, "PRAGMA quick_check(1)", err)) ==
	    NULL || (h->journal = pragma_text(st, "PRAGMA journal_mode",
	    err)) == NULL) {
		store_health_free(h);
		return -1;
	}
	return 0;
}
