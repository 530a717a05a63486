#!/bin/sh
# Run every test against each build directory given (default: build): the unit test
# programs, the emulator self-test, and the integration cases in
# test/cases/*.sh.  Every test prints TAP lines ("ok N - ..." or
# "not ok N - ..."); this runner counts them, shows failures with their
# source, and ends with the line "N passed, N failed".
# Cases run two at a time (the machine has 2 cores); each is bounded by a
# timeout so a hang fails instead of blocking CI.
set -u
[ $# -eq 0 ] && set -- build
top=$(cd "$(dirname "$0")/.." && pwd)
export TOP="$top"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT INT TERM

# A job is kind:build:file; the emulator's own test runs once.
jobs=""
[ -f "$top/test/emulator_test.py" ] && jobs="emu:-:$top/test/emulator_test.py"
for b in "$@"; do
	for u in "$top/$b"/test_*; do
		[ -x "$u" ] && jobs="$jobs unit:$b:$u"
	done
	for c in "$top"/test/cases/*.sh; do
		[ -f "$c" ] && jobs="$jobs case:$b:$c"
	done
done

run_one() {
	kind=${1%%:*}
	rest=${1#*:}
	b=${rest%%:*}
	file=${rest#*:}
	name="$b.$(basename "$file")"
	case $kind in
	unit) timeout 120 "$file" ;;
	emu) timeout 300 python3 "$file" ;;
	case) BIN="$top/$b/timetap-sync" timeout 300 sh "$file" ;;
	esac >"$out/$name.log" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$out/$name.log"; then
		echo "not ok - $name exited with status $rc" >>"$out/$name.log"
	fi
}

if [ "${TEST_SERIAL:-}" = 1 ]; then
	for j in $jobs; do run_one "$j"; done
else
	# Two at a time, without GNU-only tools.
	set -- $jobs
	while [ $# -gt 0 ]; do
		run_one "$1" &
		p1=$!
		shift
		if [ $# -gt 0 ]; then
			run_one "$1" &
			p2=$!
			shift
			wait $p2
		fi
		wait $p1
	done
fi

passed=0
failed=0
for log in "$out"/*.log; do
	name=$(basename "$log" .log)
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok' "$log")
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		echo "--- $name: $f failed"
		grep -E '^(not ok|#)' "$log" | head -40
	fi
	[ "${TEST_VERBOSE:-}" = 1 ] && cat "$log"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
