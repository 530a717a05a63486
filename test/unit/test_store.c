/* SPDX-License-Identifier: ISC */
/* Unit tests for store.c: file modes, refusal, migration, lock, overlaps,
 * the dry run's copy. */
#include <sys/stat.h>

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "unit.h"

static int
sql1(sqlite3 *db, const char *q)
{
	if (sqlite3_exec(db, q, NULL, NULL, NULL) == SQLITE_OK)
		return 1;
	printf("# %s\n", sqlite3_errmsg(db));
	return 0;
}

/* The block subjects of the conflicts listed (at most 8). */
struct pairs {
	int n;
	char subj[8][16];
};

static int
pairs_cb(void *arg, const struct conflict *c)
{
	struct pairs *p = arg;

	if (p->n < 8)
		snprintf(p->subj[p->n], sizeof(p->subj[0]), "%s",
		    c->block_subject);
	p->n++;
	return 0;
}

static long long
num(sqlite3 *db, const char *q)
{
	sqlite3_stmt *s;
	long long v = -999;

	if (sqlite3_prepare_v2(db, q, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/*
 * A database of schema version 2 (what the last release made), with a
 * pushed online appointment on two calendars, upgraded by store_open:
 * the push states are named, the second-copy table is there, the
 * mailbox zone is unread, and the meeting's new trigger works.
 */
static void
upgrade_from_2(const char *dir)
{
	char path[512];
	sqlite3 *db;
	struct store *st = NULL;
	struct tt_err err = { 0 };
	int v, i, ok = 1;

	snprintf(path, sizeof(path), "%s/v2.db", dir);
	CHECK(sqlite3_open(path, &db) == SQLITE_OK, "a schema-2 database");
	for (v = 0; v < 2 && ok; v++)
		for (i = 0; store_migration(v)[i] != NULL && ok; i++)
			ok = sql1(db, store_migration(v)[i]);
	ok = ok && sql1(db, "PRAGMA user_version = 2;"
	    "INSERT INTO profiles (id, name, created_at) VALUES (1, 'p', 0);"
	    "INSERT INTO calendars (id, profile_id, remote_id, kind, name, path,"
	    " can_edit, push) VALUES (1, 1, 'c1', 'user', 'A', 'A', 1, 1),"
	    " (2, 1, 'c2', 'user', 'B', 'B', 1, 1);"
	    "INSERT INTO appointments (id, profile_id, start_utc, end_utc,"
	    " subject, online, join_url) VALUES (1, 1, 100, 200, 's', 1, 'L');"
	    "INSERT INTO pushed (appt_id, calendar_id, txn_id, event_id, version,"
	    " attempted, join_url) VALUES (1, 1, 't1', 'e1', 1, 1, 'L'),"
	    " (1, 2, 't2', 'e2', 1, 1, NULL);"
	    "INSERT INTO pushed (appt_id, calendar_id, txn_id, attempted)"
	    " VALUES (2, 1, 't3', 1), (3, 1, '', 0);");
	sqlite3_close(db);
	chmod(path, 0600);
	CHECK(ok, "built with the release's statements and rows");
	CHECK(store_open(path, &st, &err) == 0, "store_open upgrades it: %s",
	    err.msg);
	store_close(st);
	sqlite3_open(path, &db);
	CHECK(num(db, "PRAGMA user_version") == 5, "now schema version 5");
	CHECK(num(db, "SELECT count(*) FROM pushed WHERE (appt_id, calendar_id,"
	    " state) IN (VALUES (1, 1, 'pushed'), (1, 2, 'pushed'),"
	    " (2, 1, 'intent'), (3, 1, 'gone'))") == 4,
	    "the rows it had are named pushed, intent and gone");
	CHECK(num(db, "SELECT count(*) FROM strays") == 0 &&
	    num(db, "SELECT count(*) FROM accounts WHERE mailbox_zone_at IS"
	    " NOT NULL") == 0, "strays and the mailbox zone columns exist, empty");
	sql1(db, "UPDATE pushed SET event_id = NULL WHERE appt_id = 1 AND"
	    " calendar_id = 1");
	CHECK(num(db, "SELECT version FROM pushed WHERE appt_id = 1 AND"
	    " calendar_id = 2") == -1 && num(db, "SELECT count(*) FROM"
	    " appointments WHERE id = 1 AND join_url IS NULL") == 1,
	    "the meeting's event gone: the link is forgotten and the other "
	    "event is to be written again (edited)");
	/* 4: the told conflicts go with either item; show-as columns. */
	CHECK(num(db, "SELECT count(*) FROM conflicts") == 0 &&
	    num(db, "SELECT count(*) FROM appointments WHERE showas IS NULL")
	    == 1 && num(db, "SELECT count(*) FROM feed WHERE showas IS NOT"
	    " NULL") == 0, "conflicts and the show-as columns exist, empty");
	sql1(db, "PRAGMA foreign_keys = ON;"
	    "INSERT INTO appointments (id, profile_id, kind, start_utc, end_utc,"
	    " subject, source_calendar_id, source_event_id, showas) VALUES"
	    " (2, 1, 'ext', 150, 250, 'm', 1, 'x1', 'busy');"
	    "INSERT INTO conflicts (appt_id, block_id, told_at) VALUES (1, 2, 1);"
	    "DELETE FROM appointments WHERE id = 2;");
	CHECK(num(db, "SELECT count(*) FROM conflicts") == 0,
	    "a told conflict goes with its block");
	sqlite3_close(db);
}

int
main(void)
{
	char dir[] = "/tmp/tt-store-XXXXXX", db[512], sub[256];
	struct store *st = NULL;
	struct tt_err err = { 0 };
	struct stat sb;
	struct appt a = { 0 }, c = { 0 };
	int64_t prof, id1, id2;
	int fd, fd2;

	umask(022);
	CHECK(mkdtemp(dir) != NULL, "a scratch directory");
	snprintf(sub, sizeof(sub), "%s/data/timetap-sync", dir);
	snprintf(db, sizeof(db), "%s/timetap.db", sub);
	CHECK(store_open(db, &st, &err) == -1 && err.code == TT_E_LOCAL &&
	    strstr(err.msg, "no directory") != NULL,
	    "open makes no directory: %s", err.msg);
	CHECK(store_make_dir(db, &err) == 0, "store_make_dir: %s", err.msg);
	CHECK(store_open(db, &st, &err) == 0, "open creates the database");
	CHECK(stat(db, &sb) == 0 && (sb.st_mode & 0777) == 0600, "file 0600");
	CHECK(stat(sub, &sb) == 0 && (sb.st_mode & 0777) == 0700, "dir 0700");
	store_close(st);
	CHECK(store_open(db, &st, &err) == 0, "re-open runs no migration twice");
	{
		struct store_health h;

		CHECK(store_health(st, &h, &err) == 0 && h.version == h.newest &&
		    h.newest > 0 && strcmp(h.integrity, "ok") == 0 &&
		    strcmp(h.journal, "wal") == 0, "store_health: schema %d of %d, "
		    "%s, %s", h.version, h.newest, h.integrity ? h.integrity : "-",
		    h.journal ? h.journal : "-");
		store_health_free(&h);
		store_health_free(NULL);
	}
	store_close(st);
	upgrade_from_2(dir);
	chmod(db, 0644);
	st = NULL;
	CHECK(store_open(db, &st, &err) == -1 && err.code == TT_E_LOCAL &&
	    strstr(err.msg, "chmod 600") != NULL, "world-readable refused: %s",
	    err.msg);
	chmod(db, 0640);
	CHECK(store_open(db, &st, &err) == -1, "group-readable refused");
	chmod(db, 0600);
	CHECK(store_open(db, &st, &err) == 0, "0600 accepted");

	fd = store_lock(db, "default", &err);
	CHECK(fd >= 0, "lock taken");
	fd2 = store_lock(db, "default", &err);
	CHECK(fd2 == -1 && err.code == TT_E_BUSY &&
	    strstr(err.msg, "profile default") != NULL,
	    "second lock of the profile refused at once, naming it");
	fd2 = store_lock(db, "grace", &err);
	CHECK(fd2 >= 0, "another profile's lock is free meanwhile");
	store_unlock(fd2);
	store_unlock(fd);
	fd2 = store_lock(db, "default", &err);
	CHECK(fd2 >= 0, "lock free again after unlock");
	store_unlock(fd2);

	CHECK(store_overlaps(10, 20, 15, 25), "partial overlap");
	CHECK(store_overlaps(10, 20, 12, 18), "containment");
	CHECK(!store_overlaps(10, 20, 20, 30), "touching ends do not overlap");
	CHECK(!store_overlaps(20, 30, 10, 20), "touching starts do not overlap");

	CHECK(store_profile(st, "default", 0, &prof, &err) == 0, "no profile yet");
	CHECK(store_profile(st, "default", 1, &prof, &err) == 1, "profile made");
	a.profile_id = prof;
	a.start = 1000;
	a.end = 2000;
	a.subject = strdup("first");
	CHECK(store_appt_add(st, &a, &id1, &err) == 0, "add");
	a.start = 2000;
	a.end = 3000;
	free(a.subject);
	a.subject = strdup("second");
	CHECK(store_appt_add(st, &a, &id2, &err) == 0, "add adjacent");
	CHECK(store_appt_conflict(st, prof, 1500, 2500, 0, &c, &err) == 1 &&
	    c.id == id1, "conflict finds the earlier item");
	store_appt_free(&c);
	CHECK(store_appt_conflict(st, prof, 1500, 2500, id1, &c, &err) == 1 &&
	    c.id == id2, "conflict excludes the item itself");
	store_appt_free(&c);
	CHECK(store_appt_cancel(st, prof, id2, &err) == 0, "cancel");
	CHECK(store_appt_conflict(st, prof, 2000, 3000, 0, &c, &err) == 0,
	    "a cancelled item does not conflict");
	CHECK(store_appt_get(st, prof, id2, &c, &err) == 1 && c.cancelled &&
	    c.version == 2, "cancel bumps the version (trigger)");
	store_appt_free(&c);
	CHECK(store_appt_get(st, prof + 1, id1, &c, &err) == 0,
	    "another profile does not see the item");
	free(a.subject);

	/* The open conflicts: a long block that began well before the
	 * appointment still covers it (the query reads back only as far as
	 * the longest block); one that ends as it begins does not. */
	{
		sqlite3 *h;
		struct pairs pr = { 0 };
		char q[512];

		CHECK(sqlite3_open(db, &h) == SQLITE_OK, "a second connection");
		snprintf(q, sizeof(q), "INSERT INTO calendars (id, profile_id,"
		    " remote_id, kind, name, path, can_edit) VALUES (77, %lld,"
		    " 'c77', 'user', 'C', 'C', 1);"
		    "INSERT INTO appointments (profile_id, start_utc, end_utc,"
		    " subject) VALUES (%lld, 100000, 100600, 'booked');"
		    "INSERT INTO appointments (profile_id, kind, start_utc, end_utc,"
		    " subject, source_calendar_id, source_event_id) VALUES"
		    " (%lld, 'ext', 10000, 100300, 'long', 77, 'e1'),"
		    " (%lld, 'ext', 99000, 100000, 'touching', 77, 'e2'),"
		    " (%lld, 'ext', 100500, 100700, 'short', 77, 'e3');",
		    (long long)prof, (long long)prof, (long long)prof,
		    (long long)prof, (long long)prof);
		CHECK(sql1(h, q), "a booked appointment and three blocks");
		sqlite3_close(h);
		CHECK(store_conflicts(st, prof, 0, TT_TIME_MAX + 1, pairs_cb,
		    &pr, &err) == 0 && pr.n == 2 && strcmp(pr.subj[0], "long") ==
		    0 && strcmp(pr.subj[1], "short") == 0,
		    "conflicts: the long block from far before and the short "
		    "one, not the one touching");
	}
	{
		struct account ac = { 0 }, got;
		char *twin = NULL, upn[] = "ada@example", uid[] = "u-1", x[] = "x",
		    sc[] = "offline_access User.Read", rt[] = "rt-old",
		    at[] = "at-old", tid[] = "tid-1";
		int64_t p2;

		ac.profile_id = prof;
		ac.upn = upn;
		ac.user_id = uid;
		ac.tenant = ac.authority_url = ac.graph_url = x;
		ac.scopes = sc;
		ac.refresh_token = rt;
		ac.access_token = at;
		ac.tenant_id = tid;
		CHECK(store_account_save(st, &ac, &err) == 0, "account saved");
		CHECK(store_tokens_save(st, prof, "at-new", 100, NULL, NULL,
		    &err) == 0 && store_account_get(st, prof, &got, &err) == 1 &&
		    strcmp(got.refresh_token, "rt-old") == 0 &&
		    strcmp(got.access_token, "at-new") == 0 &&
		    strcmp(got.scopes, "offline_access User.Read") == 0 &&
		    strcmp(got.tenant_id, "tid-1") == 0,
		    "a refresh without a new refresh token keeps the old one");
		store_account_free(&got);
		CHECK(store_tokens_save(st, prof, "at-3", 100, "rt-new",
		    "offline_access User.Read Group.ReadWrite.All", &err) == 0 &&
		    store_account_get(st, prof, &got, &err) == 1 &&
		    strcmp(got.refresh_token, "rt-new") == 0 &&
		    strstr(got.scopes, "Group.ReadWrite.All") != NULL,
		    "a rotated refresh token and new scopes are stored");
		store_account_free(&got);
		CHECK(store_account_twin(st, prof, "u-1", &twin, &err) == 0,
		    "no twin while one profile holds the account");
		CHECK(store_profile(st, "second", 1, &p2, &err) == 1, "profile 2");
		ac.profile_id = p2;
		CHECK(store_account_save(st, &ac, &err) == 0 &&
		    store_account_twin(st, prof, "u-1", &twin, &err) == 1 &&
		    strcmp(twin, "second") == 0, "the second profile on the same "
		    "account is its twin");
		free(twin);
	}
	{
		/* sync --dry-run's copy: the same rows, and what is done to
		 * it never reaches the file. */
		struct store *cp = NULL;
		struct appt got = { 0 };

		CHECK(store_open_copy(st, &cp, &err) == 0, "a copy in memory: %s",
		    err.msg);
		CHECK(cp != NULL && store_appt_get(cp, prof, id1, &got, &err) ==
		    1 && strcmp(got.subject, "first") == 0, "the copy has the rows");
		store_appt_free(&got);
		CHECK(cp != NULL && store_appt_cancel(cp, prof, id1, &err) == 0 &&
		    store_appt_get(cp, prof, id1, &got, &err) == 1 && got.cancelled,
		    "the copy can be written");
		store_appt_free(&got);
		store_close(cp);
		CHECK(store_appt_get(st, prof, id1, &got, &err) == 1 &&
		    !got.cancelled && got.version == 1, "the store is unchanged");
		store_appt_free(&got);
	}
	store_close(st);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		CHECK(system(cmd) == 0, "cleanup");
	}
	return DONE();
}
