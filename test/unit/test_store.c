/* Unit tests for store.c: file modes, refusal, migration, lock, overlaps. */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "unit.h"

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
	mkdtemp(dir);
	snprintf(sub, sizeof(sub), "%s/data/timetap-sync", dir);
	snprintf(db, sizeof(db), "%s/timetap.db", sub);
	CHECK(store_open(db, &st, &err) == 0, "open creates the database");
	CHECK(stat(db, &sb) == 0 && (sb.st_mode & 0777) == 0600, "file 0600");
	CHECK(stat(sub, &sb) == 0 && (sb.st_mode & 0777) == 0700, "dir 0700");
	store_close(st);
	CHECK(store_open(db, &st, &err) == 0, "re-open runs no migration twice");
	store_close(st);
	chmod(db, 0644);
	st = NULL;
	CHECK(store_open(db, &st, &err) == -1 && err.code == TT_IOERR &&
	    strstr(err.msg, "chmod 600") != NULL, "world-readable refused: %s",
	    err.msg);
	chmod(db, 0640);
	CHECK(store_open(db, &st, &err) == -1, "group-readable refused");
	chmod(db, 0600);
	CHECK(store_open(db, &st, &err) == 0, "0600 accepted");

	fd = store_lock(db, &err);
	CHECK(fd >= 0, "lock taken");
	fd2 = store_lock(db, &err);
	CHECK(fd2 == -1 && err.code == TT_TEMPFAIL, "second lock refused at once");
	store_unlock(fd);
	fd2 = store_lock(db, &err);
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
	store_close(st);
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		CHECK(system(cmd) == 0, "cleanup");
	}
	return DONE();
}
