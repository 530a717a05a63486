# Shared helpers for the integration cases (sourced by test/cases/*.sh).
#
# Each case runs the real binary ($BIN) in a scratch directory with its own
# HOME, database and config, and prints TAP lines.  Helpers:
#   run ARGS...            run the tool; sets $rc, files $T/out and $T/err
#   expect_rc N DESC       the last run exited with N
#   expect_out RE DESC     stdout matches the extended regex RE
#   expect_err RE DESC     stderr matches RE
#   expect_silent DESC     stdout and stderr are both empty
#   check COND DESC        any shell test
#   emu_start [ARGS]       start the Graph emulator; sets $EMU (base URL)
#   emu METHOD PATH [JSON] call the emulator's control interface
set -u
: "${BIN:?BIN must point at the binary}"
: "${TOP:?TOP must point at the source tree}"
T=$(mktemp -d)
EMU_PID=""
cleanup() {
	[ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null && wait "$EMU_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
export HOME="$T/home"
mkdir -p "$HOME"
unset XDG_DATA_HOME XDG_CONFIG_HOME TIMETAP_SYNC_DB TIMETAP_SYNC_CONFIG
export TZ="${TZ:-UTC}" LC_ALL=C.UTF-8
export TIMETAP_SYNC_DB="$T/db/timetap.db" TIMETAP_SYNC_CONFIG="$T/config"
: >"$TIMETAP_SYNC_CONFIG"
tap_n=0
rc=0

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() {
	tap_n=$((tap_n + 1))
	echo "not ok $tap_n - $*"
	echo "#   last command: $last_cmd (exit $rc)"
	sed 's/^/#   stdout: /' "$T/out" 2>/dev/null | head -10
	sed 's/^/#   stderr: /' "$T/err" 2>/dev/null | head -10
}
last_cmd=""
run() {
	last_cmd="timetap-sync $*"
	"$BIN" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
expect_rc() {
	if [ "$rc" -eq "$1" ]; then ok "$2"; else not_ok "$2 (want exit $1)"; fi
}
expect_out() {
	if grep -Eq -- "$1" "$T/out"; then ok "$2"; else not_ok "$2 (stdout lacks /$1/)"; fi
}
expect_no_out() {
	if grep -Eq -- "$1" "$T/out"; then not_ok "$2 (stdout has /$1/)"; else ok "$2"; fi
}
expect_err() {
	if grep -Eq -- "$1" "$T/err"; then ok "$2"; else not_ok "$2 (stderr lacks /$1/)"; fi
}
expect_silent() {
	if [ ! -s "$T/out" ] && [ ! -s "$T/err" ]; then ok "$1"; else not_ok "$1 (output not empty)"; fi
}
check() {
	desc=$2
	if eval "$1"; then ok "$desc"; else not_ok "$desc [$1]"; fi
}
config() { printf '%s\n' "$@" >"$TIMETAP_SYNC_CONFIG"; }
db() { sqlite3 "$TIMETAP_SYNC_DB" "$@"; }

emu_start() {
	python3 "$TOP/test/graph_emulator.py" --listen 127.0.0.1:0 "$@" \
	    >"$T/emu.out" 2>"$T/emu.err" &
	EMU_PID=$!
	i=0
	while [ $i -lt 100 ]; do
		EMU=$(sed -n 's/^listening //p' "$T/emu.out")
		[ -n "$EMU" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "# emulator did not start:"; sed 's/^/#   /' "$T/emu.err"
	return 1
}
emu() { python3 "$TOP/test/emuctl.py" "$EMU" "$@"; }
# Stop the emulator (SIGTERM: it saves its --state file first).
emu_stop() {
	[ -n "$EMU_PID" ] || return 0
	kill "$EMU_PID" 2>/dev/null
	wait "$EMU_PID" 2>/dev/null
	EMU_PID=""
}
# The set of events the emulator holds for a mailbox, without ids, sorted.
emu_events() { emu events "$1" | cut -f1-5 | sort; }
# The book as comparable lines: kind, status, subject, times, online, link?
book_lines() {
	"$BIN" appt list --from 2000-01-01 --json | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    print("\t".join(str(x) for x in (a["kind"], a["status"], a["subject"],
        a["starts_at"], a["ends_at"], a["online"], a["join_url"] is not None)))
' | sort
}
