# Family 01, basics: options, help, usage errors, paths, configuration errors.
. "$TOP/test/lib.sh"

run --help
expect_rc 0 "--help exits 0"
expect_out '^usage: timetap-sync' "--help prints the usage"
run
expect_rc 0 "no command means sync; nothing connected: nothing to do"
expect_silent "a pass with nothing to do is silent"
run frobnicate
expect_rc 64 "unknown command"
expect_err "unknown command 'frobnicate'" "unknown command is named"
run -x appt list
expect_rc 64 "unknown option"
run -v -q appt list
expect_rc 64 "-v and -q together"
run -s 'bad name' appt list
expect_rc 64 "bad profile name"
run appt list
expect_rc 0 "appt list on an empty book"
expect_silent "an empty book prints nothing"

# XDG defaults when no override is given.
unset TIMETAP_SYNC_DB TIMETAP_SYNC_CONFIG
run appt add --start 2030-01-01T09:00 --end 2030-01-01T10:00 --subject x
expect_rc 0 "book with default paths"
check '[ -f "$HOME/.local/share/timetap-sync/timetap.db" ]' "database at ~/.local/share/timetap-sync/timetap.db"
check '[ "$(stat -c %a "$HOME/.local/share/timetap-sync/timetap.db")" = 600 ]' "database mode 0600"
check '[ "$(stat -c %a "$HOME/.local/share/timetap-sync")" = 700 ]' "database directory mode 0700"
XDG_DATA_HOME="$T/xdg" run appt add --start 2030-01-01T09:00 --end 2030-01-01T10:00 --subject x
check '[ -f "$T/xdg/timetap-sync/timetap.db" ]' "XDG_DATA_HOME honoured"
mkdir -p "$T/xdgc/timetap-sync"
echo 'page_size = 0' >"$T/xdgc/timetap-sync/config"
XDG_CONFIG_HOME="$T/xdgc" run appt list
expect_rc 78 "XDG_CONFIG_HOME config is read"
run -f "$T/other.db" appt list
check '[ -f "$T/other.db" ]' "-f chooses the database"
export TIMETAP_SYNC_DB="$T/db/timetap.db" TIMETAP_SYNC_CONFIG="$T/config"

# Configuration errors: all reported, file:line, exit 78.
config 'page_size = 0' 'timeout = 5' 'colour = red' 'graph_url = http://graph.example.com/v1.0'
run appt list
expect_rc 78 "bad config exits 78"
expect_err "config:1: page_size: expected" "first error with file:line"
expect_err "config:3: unknown key 'colour'" "second error with file:line"
expect_err "config:4: graph_url: .* must be https://" "non-loopback http refused"
check '[ "$(grep -c "$T/config:[0-9]" "$T/err")" -eq 3 ]' "exactly the three bad lines reported"
run -c "$T/missing" appt list
expect_rc 78 "a missing -c config is an error"
TIMETAP_SYNC_CONFIG="$T/missing" run appt list
expect_rc 78 "a missing TIMETAP_SYNC_CONFIG is an error"
config 'graph_url = http://127.0.0.1:9/v1.0' 'authority_url = http://localhost:9'
run appt list
expect_rc 0 "loopback http accepted"

# The database is refused when others can read it.
config ''
run appt list
chmod 644 "$TIMETAP_SYNC_DB"
run appt list
expect_rc 74 "world-readable database refused"
expect_err "chmod 600" "the refusal says how to fix it"
chmod 600 "$TIMETAP_SYNC_DB"
chmod 000 "$T/db"
run appt list
[ "$(id -u)" = 0 ] && ok "unwritable directory (skipped as root)" || expect_rc 74 "unreadable database directory"
chmod 700 "$T/db"
