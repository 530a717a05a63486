#!/bin/sh
# SPDX-License-Identifier: ISC
# Run every test against each build directory given (default: build): the
# unit test programs, the emulator's self-test, and the integration cases:
# the shell families test/cases/*.sh and the case files test/data/*.case
# (run by test/case.sh; the format is in test/data/README), and the fuzz
# harnesses a build has, each over its corpus (test/fuzz).  Every test
# prints TAP lines ("ok N - ..." or "not ok N - ..."); this runner counts
# them, shows failures with their source, and ends with the line "N passed,
# N failed".  TEST_VERBOSE=1 shows every log, each after a line
# "=== NAME: N passed, N failed".
# Jobs run TEST_JOBS at a time (default 4: most of a case's time is spent
# waiting on the emulator, not on the CPU); each is bounded by a timeout so
# a hang fails instead of blocking CI.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
export TOP="$top"

# One job: kind:build:file, its TAP into $TEST_OUT/<build>.<file>.log.
if [ "${1:-}" = "--one" ]; then
	kind=${2%%:*}
	rest=${2#*:}
	b=${rest%%:*}
	file=${rest#*:}
	log="$TEST_OUT/$b.$(basename "$file").log"
	t0=$(date +%s)
	case $kind in
	unit) timeout 120 "$file" ;;
	emu) timeout 300 python3 "$file" ;;
	case) BIN="$top/$b/timetap-sync" timeout 300 sh "$file" ;;
	data) BIN="$top/$b/timetap-sync" timeout 300 sh "$top/test/case.sh" "$file" ;;
	fuzz) n=$(basename "$file"); n=${n#fuzz_}
		timeout 120 "$file" "$top/test/fuzz/corpus/$n" ;;
	esac >"$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$log"; then
		echo "not ok - $(basename "$file") exited with status $rc" >>"$log"
	fi
	echo "# took $(($(date +%s) - t0)) s" >>"$log"
	exit 0
fi

[ $# -eq 0 ] && set -- build
TEST_OUT=$(mktemp -d)
export TEST_OUT
trap 'rm -rf "$TEST_OUT"' EXIT INT TERM

# The slow cases first, so that the tail of the run is short.
jobs=""
[ -f "$top/test/emulator_test.py" ] && jobs="emu:-:$top/test/emulator_test.py"
for b in "$@"; do
	for c in $(ls -S "$top"/test/cases/*.sh "$top"/test/data/*.case 2>/dev/null); do
		case $c in
		*.case) jobs="$jobs data:$b:$c" ;;
		*) jobs="$jobs case:$b:$c" ;;
		esac
	done
	for u in "$top/$b"/test_*; do
		[ -x "$u" ] && jobs="$jobs unit:$b:$u"
	done
	# The fuzz harnesses replay their corpora (built in build-asan).
	for u in "$top/$b"/fuzz_*; do
		[ -x "$u" ] && jobs="$jobs fuzz:$b:$u"
	done
done
printf '%s\n' $jobs | xargs -P "${TEST_JOBS:-4}" -n 1 sh "$0" --one

passed=0
failed=0
for log in "$TEST_OUT"/*.log; do
	name=$(basename "$log" .log)
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok' "$log")
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$f" -gt 0 ]; then
		echo "--- $name: $f failed"
		grep -E '^(not ok|#)' "$log" | head -40
	fi
	if [ "${TEST_VERBOSE:-}" = 1 ]; then
		echo "=== $name: $p passed, $f failed"
		cat "$log"
	fi
done
# The slowest jobs, for whoever keeps make check short.
for log in "$TEST_OUT"/*.log; do
	printf '%s %s\n' "$(sed -n 's/^# took \([0-9]*\) s$/\1/p' "$log" | tail -1)" "$(basename "$log" .log)"
done | sort -rn | head -5 | sed 's/^\([0-9]*\) \(.*\)/slowest: \2 \1 s/'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
