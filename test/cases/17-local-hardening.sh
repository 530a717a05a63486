# Family 17, local hardening (issue 14): the database's directory must be
# ours alone (group-, world- and sticky world-writable ones refused, a
# symlinked $HOME above it fine); an explicit database path needs an
# existing directory, only the default one is made (0700, parents too);
# the lock directory and files are never followed when they are links and
# must be ours; after stop (and profiles remove) neither the database nor
# its WAL holds a token or a removed client's name; no core dump and not
# dumpable; a file given as the configuration that is not one is never
# quoted.
. "$TOP/test/lib.sh"

emu_setup demo
export BROWSER="$TOP/test/fake-browser.sh"
TRUN_STDIN=/dev/null
me=$(id -u)
# Files of another user: root can make them (chown); others skip those.
other=65534

# ---- the database's directory ----
D=$T/dirs
mkdir -m 700 "$D"
run -f "$D/ok/x.db" appt list
expect_rc 74 "-f into a missing directory exits 74"
expect_err "^timetap-sync: no directory $D/ok for the database $D/ok/x\\.db\$" "one line names the directory and the database"
check '[ "$(wc -l <"$T/err")" -eq 1 ] && [ ! -s "$T/out" ]' "only that line"
check '[ ! -e "$D/ok" ]' "the directory is not made"
TIMETAP_SYNC_DB="$D/typo/dir/x.db" run appt list
expect_rc 74 "TIMETAP_SYNC_DB into a missing directory exits 74"
expect_err "^timetap-sync: no directory $D/typo/dir for the database " "the same line for TIMETAP_SYNC_DB"
check '[ ! -e "$D/typo" ]' "no directory tree is made for TIMETAP_SYNC_DB"

mkdir -m 700 "$D/ok"
run -f "$D/ok/x.db" appt list
expect_rc 0 "an existing directory of ours (0700) is used"
chmod 750 "$D/ok"
run -f "$D/ok/x.db" appt list
expect_rc 0 "a directory readable (not writable) by its group is fine"
for m in 770 730 707 777; do
	chmod $m "$D/ok"
	run -f "$D/ok/x.db" appt list
	expect_rc 74 "mode $m: the directory is refused"
done
chmod 770 "$D/ok"
run -f "$D/ok/x.db" appt list
expect_err "^timetap-sync: the database's directory $D/ok is writable by its group \\(mode 0770\\) and the database holds tokens; run: chmod 700 $D/ok\$" "the line names the directory, the mode and the fix"
chmod 707 "$D/ok"
run -f "$D/ok/x.db" appt list
expect_err "writable by others \\(mode 0707\\)" "world-writable: said so"
chmod 700 "$D/ok"

mkdir -m 1777 "$D/tmp"
run -f "$D/tmp/x.db" appt list
expect_rc 74 "a sticky world-writable directory (like /tmp) is refused"
expect_err "directory $D/tmp is writable by others \\(mode 1777; sticky or not" "the line says sticky does not help"
expect_err "use a directory of your own" "and what to do instead"
check '[ -z "$(ls -A "$D/tmp")" ]' "nothing is made in it (no database, -wal, -shm or .locks)"
run -f /tmp/timetap-17-$$.db appt list
expect_rc 74 "/tmp itself is refused"
check '[ ! -e /tmp/timetap-17-$$.db ]' "and nothing is made there"

if [ "$me" -eq 0 ]; then
	mkdir -m 700 "$D/theirs"
	chown $other "$D/theirs"
	run -f "$D/theirs/x.db" appt list
	expect_rc 74 "a directory of another user is refused"
	expect_err "directory $D/theirs belongs to another user \\(uid $other\\)" "said so"
	mkdir -m 700 "$D/mine"
	run -f "$D/mine/x.db" appt list
	chown $other "$D/mine/x.db"
	run -f "$D/mine/x.db" appt list
	expect_rc 74 "a database file of another user is refused"
	expect_err "database $D/mine/x\\.db belongs to another user" "said so"
else
	for t in "a directory of another user" "said so" \
	    "a database file of another user" "said so"; do
		ok "$t # SKIP not root: cannot chown"
	done
fi

# The default location (TIMETAP_SYNC_DB unset), VAR=VALUE settings first.
drun() {
	last_cmd="timetap-sync $*"
	env -u TIMETAP_SYNC_DB "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
# It is made, 0700 at every level made, whatever the umask.
u=$(umask)
umask 000
drun XDG_DATA_HOME="$D/xdg/data" "$BIN" appt list
umask "$u"
expect_rc 0 "the default location is made (umask 000)"
check '[ "$(stat -c %a "$D/xdg" "$D/xdg/data" "$D/xdg/data/timetap-sync" | sort -u)" = 700 ]' "every directory made is 0700"
check '[ "$(stat -c %a "$D/xdg/data/timetap-sync/timetap.db")" = 600 ]' "the database is 0600"

# A symlinked $HOME: the link is above the database's own directory.
mkdir -m 700 "$D/realhome"
ln -s "$D/realhome" "$D/home"
drun HOME="$D/home" "$BIN" appt list
expect_rc 0 "a symlinked HOME is accepted (the default database made through it)"
check '[ -f "$D/realhome/.local/share/timetap-sync/timetap.db" ]' "the database is where the link leads"
run -f "$D/home/.local/share/timetap-sync/timetap.db" appt list
expect_rc 0 "-f through the symlinked HOME is accepted too"
chmod 777 "$D/realhome/.local/share/timetap-sync"
run -f "$D/home/.local/share/timetap-sync/timetap.db" appt list
expect_rc 74 "the directory the links lead to is the one checked"
chmod 700 "$D/realhome/.local/share/timetap-sync"

# ---- the locks ----
run profiles add bob
expect_rc 0 "profiles add bob"
L="$TIMETAP_SYNC_DB.locks"
[ -d "$L" ] || mkdir -m 700 "$L"
printf 'precious\n' >"$T/victim"
ln -s "$T/victim" "$L/bob"
run profiles remove -y bob
expect_rc 74 "a symlink planted as a profile's lock is refused"
expect_err "^timetap-sync: lock $L/bob is a symbolic link, not followed; remove it\$" "one line says so"
check '[ "$(cat "$T/victim")" = precious ] && [ "$(stat -c %s "$T/victim")" -eq 9 ]' "the file it points to is untouched"
check '[ "$(db "select count(*) from profiles where name = '"'bob'"'")" -eq 1 ]' "the profile is not removed"
rm "$L/bob"
ln -s "$T/made-by-lock" "$L/bob"
run profiles remove -y bob
expect_rc 74 "a dangling symlink as the lock is refused"
check '[ ! -e "$T/made-by-lock" ]' "its target is not created"
rm "$L/bob"
mkfifo "$L/bob"
t0=$(date +%s)
trun profiles remove -y bob
expect_rc 74 "a FIFO as the lock is refused"
check '[ $(($(date +%s) - t0)) -lt 5 ]' "at once (the open does not hang)"
expect_err "^timetap-sync: lock $L/bob is not a file of yours; remove it\$" "said so"
rm "$L/bob"
if [ "$me" -eq 0 ]; then
	: >"$L/bob"
	chown $other "$L/bob"
	run profiles remove -y bob
	expect_rc 74 "a lock file of another user is refused"
	expect_err "lock $L/bob is not a file of yours" "said so"
	rm "$L/bob"
else
	ok "a lock file of another user # SKIP not root: cannot chown"
	ok "said so # SKIP not root"
fi
# The lock directory itself planted as a link.
mkdir -m 700 "$D/l2" "$D/elsewhere"
run -f "$D/l2/x.db" profiles add carol
ln -s "$D/elsewhere" "$D/l2/x.db.locks"
run -f "$D/l2/x.db" profiles remove -y carol
expect_rc 74 "a symlink planted as the lock directory is refused"
expect_err "lock directory $D/l2/x\\.db\\.locks is not a directory \\(a symbolic link\\); remove it" "said so"
check '[ -z "$(ls -A "$D/elsewhere")" ]' "nothing is made where it points"
rm "$D/l2/x.db.locks"
run -f "$D/l2/x.db" profiles remove -y carol
expect_rc 0 "with the link gone, the profile is removed"
check '[ "$(stat -c %a "$D/l2/x.db.locks") $(stat -c %a "$D/l2/x.db.locks/carol")" = "700 600" ]' "the lock directory is made 0700, the lock 0600"

# ---- no core dump, not dumpable ----
BROWSER=true "$BIN" -s waiting login --browser >"$T/l.out" 2>"$T/l.err" &
lpid=$!
i=0
while [ $i -lt 100 ] && [ ! -e "$L/waiting" ]; do sleep 0.05; i=$((i + 1)); done
check 'grep -qE "^Max core file size +0 +0 " /proc/$lpid/limits' "a login waiting for the browser has RLIMIT_CORE 0 0 ($(grep 'core file' /proc/$lpid/limits | tr -s ' '))"
kill $lpid 2>/dev/null
wait $lpid 2>/dev/null
# Not dumpable: its /proc files are root's, not its user's.  As root the
# login runs as another user to tell the two apart.
N=$T/nob
mkdir -m 700 "$N"
# Its own copies of the binary and the configuration: the other user
# may not reach the build tree, nor read a config made under umask 077.
cp "$BIN" "$N/timetap-sync"
cp "$TIMETAP_SYNC_CONFIG" "$N/config"
if [ "$me" -eq 0 ]; then
	chmod 711 "$T"
	chmod 755 "$N/timetap-sync"
	chmod 644 "$N/config"
	chown -R $other "$N"
	as_user="setpriv --reuid=$other --regid=$other --clear-groups"
else
	as_user=
fi
BROWSER=true HOME=$N TIMETAP_SYNC_CONFIG=$N/config $as_user "$N/timetap-sync" -f "$N/x.db" login --browser >"$T/l.out" 2>"$T/l.err" &
lpid=$!
i=0
while [ $i -lt 100 ] && [ ! -e "$N/x.db.locks/default" ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.2
check '[ "$(stat -c %u /proc/$lpid/status)" -eq 0 ] && [ "$(awk "/^Uid:/ { print \$2 }" /proc/$lpid/status)" -ne 0 ]' \
    "the login is not dumpable: its /proc files are root's ($(stat -c %u /proc/$lpid/status), running as $(awk '/^Uid:/ { print $2 }' /proc/$lpid/status))"
kill $lpid 2>/dev/null
wait $lpid 2>/dev/null
[ "$me" -eq 0 ] && chmod 700 "$T"

# ---- no token left in the database or its WAL after stop ----
# Another connection stays open throughout (as a scheduling application's
# would): the WAL is then not removed when a run closes the book, and
# holds every page written since -- tokens too -- until a checkpoint
# empties it.
echo "# libsqlite3 secure_delete by default: $(sqlite3 :memory: 'pragma secure_delete')"
holder() {
	python3 -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1])
c.execute("select count(*) from profiles").fetchall()
time.sleep(120)' "$TIMETAP_SYNC_DB" &
	hpid=$!
	sleep 0.5
}
holder
trun login
expect_rc 0 "login"
run calendars --pull 1,2 --push 1
expect_rc 0 "calendars"
run sync
expect_rc 0 "sync"
rt=$(db "select refresh_token from accounts")
at=$(db "select access_token from accounts")
check '[ ${#rt} -gt 100 ] && [ ${#at} -gt 100 ]' "the profile holds both tokens (${#rt} and ${#at} bytes)"
# A long token spans pages (and the WAL's frame headers): count its
# 24-byte pieces found in FILE.
pieces() { printf '%s' "$1" | fold -w 24 | awk 'length($0) == 24'; }
found() {
	n=0
	for p in $(pieces "$1"); do
		grep -qaF -- "$p" "$2" && n=$((n + 1))
	done
	echo $n
}
W="$TIMETAP_SYNC_DB-wal"
check '[ "$(found "$rt" "$W")" -gt 0 ]' "before stop, the WAL holds pieces of the refresh token ($(found "$rt" "$W") of $(pieces "$rt" | wc -l)): the test can see them"
run stop -y
expect_rc 0 "stop -y"
check '[ "$(found "$rt" "$TIMETAP_SYNC_DB")" -eq 0 ] && [ "$(found "$at" "$TIMETAP_SYNC_DB")" -eq 0 ]' "after stop the database file holds no piece of either token"
check '[ "$(found "$rt" "$W")" -eq 0 ] && [ "$(found "$at" "$W")" -eq 0 ]' "nor does the WAL ($(found "$rt" "$W") refresh token pieces)"
check '[ -e "$W" ] && [ ! -s "$W" ]' "the WAL is emptied (the other connection keeps the file)"
kill $hpid 2>/dev/null
wait $hpid 2>/dev/null

# profiles remove: a client's name in its book is gone from both files.
holder
run profiles add dora
run -s dora appt add --start "$(d 3)T09:00Z" --end "$(d 3)T10:00Z" --subject Consultation --client "Zebediah Quux-Private"
expect_rc 0 "dora books an appointment for a client"
check 'cat "$TIMETAP_SYNC_DB" "$TIMETAP_SYNC_DB-wal" | grep -qa "Zebediah Quux-Private"' "the client's name is in the files"
run profiles remove -y dora
expect_rc 0 "profiles remove -y dora"
check '! cat "$TIMETAP_SYNC_DB" "$TIMETAP_SYNC_DB-wal" | grep -qa "Zebediah Quux-Private"' "after profiles remove the name is in neither the database nor the WAL"
kill $hpid 2>/dev/null
wait $hpid 2>/dev/null

# ---- a file that is not a configuration file is never quoted ----
cat >"$T/id_rsa" <<'EOF'
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
client_id=SECRETSECRETSECRET
c2VjcmV0X2tleQ==
-----END OPENSSH PRIVATE KEY-----
EOF
run -c "$T/id_rsa" appt list
expect_rc 78 "a private key given as the configuration exits 78"
expect_err "^timetap-sync: $T/id_rsa: not a timetap-sync configuration file \\(line 1 is not \"key = value\"\\)\$" "one line: not a configuration file, which line"
check '[ "$(wc -l <"$T/err")" -eq 1 ] && [ ! -s "$T/out" ]' "only that line"
check '! grep -qE "SECRET|b3BlbnNz|c2VjcmV0|BEGIN" "$T/err"' "nothing of the file is shown"
printf 'timeout = 5\nclient_id = SECRET-ID-123\nAKIAIOSFODNN7EXAMPLE=wJalrXUtnFEMI\n' >"$T/env"
run -c "$T/env" appt list
expect_rc 78 "a key = value file with a line that is not one of ours exits 78"
expect_err "line 3 is not \"key = value\"" "it names the line"
check '! grep -qE "SECRET|AKIA|wJal" "$T/err"' "no value, and not the line"
printf 'colour = blue\ntimeout = 0\n' >"$T/cfg"
run -c "$T/cfg" appt list
expect_rc 78 "a real configuration with mistakes exits 78"
expect_err "cfg:1: unknown key 'colour'" "an unknown key is still named"
expect_err "cfg:2: timeout: expected" "a bad value of a known key is still said"
