#!/bin/sh
# SPDX-License-Identifier: ISC
# Run the libFuzzer harnesses of a build (make fuzz, make fuzz-merge):
#   run.sh BUILD SECONDS NAME...         each NAME for SECONDS, one at a time
#   run.sh --merge BUILD 0 NAME...       merge what the runs found into
#                                        the corpora (-merge=1)
# Each run starts from test/fuzz/corpus/NAME with test/fuzz/graph.dict;
# new inputs go to BUILD/new/NAME, never into the tree, and a crash or a
# broken oracle leaves its input in BUILD/crashes/NAME.  Prints one line
# per harness (executions, CPU seconds, new inputs); fails when any
# harness did.
set -u

# cpu: set $cpu to the CPU seconds (user + system) the shell's children
# have used so far, from the second line of the shell's own `times`
# (written to a file: in a pipe or $(...) it would be a fresh subshell's).
cpu() {
	times >"$top/$build/times.$$" && cpu=$(awk 'NR == 2 {
		n = split($0, f, " "); s = 0
		for (i = 1; i <= n; i++) {
			split(f[i], t, "m"); sub("s", "", t[2]); s += t[1] * 60 + t[2]
		}
		printf "%d", s }' "$top/$build/times.$$")
}
top=$(cd "$(dirname "$0")/../.." && pwd)
merge=0
[ "${1:-}" = --merge ] && { merge=1; shift; }
build=$1 secs=$2
shift 2
failed=""
for n in "$@"; do
	bin="$top/$build/fuzz_$n"
	corpus="$top/test/fuzz/corpus/$n"
	new="$top/$build/new/$n"
	crashes="$top/$build/crashes/$n"
	mkdir -p "$new" "$crashes" || exit 1
	if [ $merge = 1 ]; then
		before=$(ls "$corpus" | wc -l)
		"$bin" -merge=1 -dict="$top/test/fuzz/graph.dict" "$corpus" \
		    "$new" >"$top/$build/merge-$n.log" 2>&1 ||
		    { echo "fuzz: $n: merge failed (see $build/merge-$n.log)"; \
		    failed="$failed $n"; continue; }
		echo "fuzz: $n: corpus $before -> $(ls "$corpus" | wc -l) inputs"
		continue
	fi
	log="$top/$build/fuzz-$n.log"
	cpu; c0=$cpu
	"$bin" -max_total_time="$secs" -dict="$top/test/fuzz/graph.dict" \
	    -artifact_prefix="$crashes/" -print_final_stats=1 \
	    "$new" "$corpus" >"$log" 2>&1
	rc=$?
	cpu; c1=$cpu
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ $rc -ne 0 ]; then
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		echo "fuzz: $n: FAILED after ${execs:-?} executions; input" \
		    "${art:-?} (log $build/fuzz-$n.log)"
		grep -E '^(oracle:|==[0-9]+==ERROR|SUMMARY|.*runtime error)' \
		    "$log" | head -5
		failed="$failed $n"
	else
		echo "fuzz: $n: ${execs:-?} executions in $secs s" \
		    "($((c1 - c0)) CPU s), clean;" \
		    "$(ls "$new" | wc -l) new inputs in $build/new/$n"
	fi
done
rm -f "$top/$build/times.$$"
if [ -n "$failed" ]; then
	echo "fuzz: failed:$failed" >&2
	exit 1
fi
