#!/bin/sh
# SPDX-License-Identifier: ISC
# Run one integration case written as data: BIN=... TOP=... sh test/case.sh
# FILE.case (the format: test/data/README).  The file is checked, then
# translated line for line into calls of the k_* functions below, which do
# their work with lib.sh's helpers; each expectation prints one TAP line
# through lib.sh's ok/not_ok.  A malformed case prints one "not ok" naming
# the file and the line, and stops there.
case_file=$1
case_name=$(basename "$case_file")
. "$TOP/test/lib.sh"

case_line=0 case_blk="" case_blk_used=1 case_done="" case_skip="" case_skip_next=""
case_begun="" case_scenario="" case_settings="" case_emulator=""

# The way out: a case that stops before its end (a shell error, an unset
# variable, the emulator not starting) fails at the line it reached.
case_exit() {
	[ -n "$case_done" ] || not_ok "$case_name:$case_line: the case stopped at this line"
	cleanup
}
trap case_exit EXIT
trap 'exit 1' INT TERM

# case_bad MESSAGE: the case is malformed at the current line.
case_bad() {
	case_done=1
	not_ok "$case_name:$case_line: malformed: $*"
	exit 1
}
# case_at LINE [BLOCK]: the step of LINE starts (BLOCK: it has a block).
case_at() {
	[ -n "$case_blk_used" ] || case_bad "the block is not used (write - where it goes)"
	case_line=$1 case_blk=${2:-} case_blk_used=1
	[ -z "$case_blk" ] || case_blk_used=""
	TAP_AT="$case_name:$1"
}
case_end() {
	[ -n "$case_blk_used" ] || case_bad "the block is not used (write - where it goes)"
	case_done=1
}
# case_text VAR VALUE: VAR is VALUE, or the block below the line for "-".
case_text() {
	if [ "$2" = - ]; then
		[ -n "$case_blk" ] || case_bad "'-' stands for a block (<<WORD ... WORD) and the line has none"
		case_blk_used=1
		eval "$1=\$(cat)"
	else
		eval "$1=\$2"
	fi
}
case_args() { # N USAGE ARGC: exactly N arguments
	[ "$3" -eq "$1" ] || case_bad "usage: $2"
}
case_var() {
	case $1 in
	'' | [0-9]* | *[!A-Za-z0-9_]*) case_bad "'$1' is not a variable name" ;;
	esac
}
case_op() {
	case $1 in
	= | != | '<' | '<=' | '>' | '>=') ;;
	*) case_bad "'$1' is not a comparison (= != < <= > >=)" ;;
	esac
}
# case_cmp A OP B: = and != compare text, the others numbers.
case_cmp() {
	case $2 in
	=) [ "$1" = "$3" ] ;;
	!=) [ "$1" != "$3" ] ;;
	'<') [ "$1" -lt "$3" ] 2>/dev/null ;;
	'<=') [ "$1" -le "$3" ] 2>/dev/null ;;
	'>') [ "$1" -gt "$3" ] 2>/dev/null ;;
	'>=') [ "$1" -ge "$3" ] 2>/dev/null ;;
	esac
}
# case_skipped DESC: an "ok ... # SKIP" in place of the check, if it is to
# be skipped (skip-if, or a terminal run without script(1)).
case_skipped() {
	[ -n "$case_skip_next$case_skip" ] || return 1
	ok "$1 # SKIP ${case_skip_next:-$case_skip}"
	case_skip_next=""
}
# case_check DESC WHY CMD...: one TAP line, ok when CMD succeeds.
case_check() {
	cc_desc=$1 cc_why=$2
	shift 2
	case_skipped "$cc_desc" && return
	if "$@"; then ok "$cc_desc"; else not_ok "$cc_desc${cc_why:+ ($cc_why)}"; fi
}
case_settings_args() { # the config settings as "$@" for emu_config/config
	case_ifs=$IFS
	IFS='
'
	set -f
	# shellcheck disable=SC2086
	set -- $case_settings
	set +f
	IFS=$case_ifs
	if [ -n "$case_scenario" ]; then emu_config "$@"; else config "$@"; fi
}
# Before a command: its requests are the ones logged from here on.
case_fresh() {
	case_skip=""
	[ -z "$EMU_PID" ] || ctl DELETE /_emu/requests >/dev/null || case_bad "the emulator does not answer"
}
case_quote() {
	for cq; do printf "'%s' " "$(printf '%s' "$cq" | sed "s/'/'\\\\''/g")"; done
}

# ---- the header ----
k_title() { [ $# -gt 0 ] || case_bad "usage: title TEXT"; echo "# $case_name: $*"; }
k_scenario() {
	case_args 1 "scenario NAME (test/scenarios/NAME.json)" $#
	[ -f "$TOP/test/scenarios/$1.json" ] || case_bad "no scenario test/scenarios/$1.json"
	case_scenario=$1
}
k_config() {
	case_settings=$(printf '%s\n' "$@")
	[ -z "$case_begun" ] || case_settings_args
}
k_emulator() {
	case_args 1 "emulator JSON (POST /_emu/config)" $#
	if [ -n "$case_begun" ]; then
		ctl POST /_emu/config "$1" >/dev/null || case_bad "the emulator refused its config $1"
	else
		case_emulator="$case_emulator$1
"
	fi
}
k_env() {
	[ $# -gt 0 ] || case_bad "usage: env NAME=VALUE..."
	for ke; do
		case $ke in *=*) ;; *) case_bad "usage: env NAME=VALUE..." ;; esac
		case_var "${ke%%=*}"
		export "$ke"
	done
}
k_unset() {
	for ku; do case_var "$ku"; unset "$ku"; done
}
# The first step: the emulator (if the case has a scenario) and the config.
k_begin() {
	case_begun=1
	if [ -n "$case_scenario" ]; then
		emu_start --scenario "$TOP/test/scenarios/$case_scenario.json" || exit 1
		printf '%s' "$case_emulator" | while IFS= read -r kb; do
			ctl POST /_emu/config "$kb" >/dev/null || echo "bad $kb"
		done | grep -q . && case_bad "the emulator refused its config"
		case_settings_args
	elif [ -n "$case_emulator" ]; then
		case_bad "emulator settings without a scenario"
	elif [ -n "$case_settings" ]; then
		case_settings_args
	fi
}

# ---- commands ----
# case_cmd FN [NAME=VALUE...] ARGS...: lib's run or trun, with those
# variables in its environment only.
case_cmd() {
	cc_fn=$1 cc_env="" cc_i=0
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		[A-Za-z_]*=*) ;;
		*) break ;;
		esac
		case ${1%%=*} in *[!A-Za-z0-9_]*) break ;; esac
		cc_i=$((cc_i + 1))
		eval "cc_v$cc_i=\${1#*=}"
		cc_env="$cc_env ${1%%=*}=\"\$cc_v$cc_i\""
		shift
	done
	case_fresh
	eval "$cc_env $cc_fn \"\$@\""
}
k_run() { case_cmd run "$@"; }
k_trun() { case_cmd trun "$@"; }
k_tty() {
	kt_in=""
	if [ "${1:-}" = --input ]; then
		[ $# -ge 2 ] || case_bad "usage: tty [--input TEXT] ARGS..."
		kt_in=$2
		shift 2
	fi
	[ $# -gt 0 ] || case_bad "usage: tty [--input TEXT] ARGS..."
	case_fresh
	last_cmd="timetap-sync $* (on a terminal)"
	: >"$T/err"
	if command -v script >/dev/null 2>&1; then
		printf '%b' "$kt_in" | timeout 20 script -qec "$(case_quote "$BIN" "$@")" /dev/null >"$T/out" 2>&1
		rc=$?
	else
		: >"$T/out"
		rc=0
		case_skip="script(1) is not available"
	fi
}

# ---- expectations of the last command ----
k_exit() {
	case_args 2 "exit N DESC" $#
	case $1 in '' | *[!0-9]*) case_bad "exit wants a number, not '$1'" ;; esac
	case_skipped "$2" || expect_rc "$1" "$2"
}
k_silent() {
	case_args 1 "silent DESC" $#
	case_skipped "$1" || expect_silent "$1"
}
case_same() { # FILE TEXT: FILE holds exactly TEXT (and a final newline)
	if [ -z "$2" ]; then [ ! -s "$1" ]; else printf '%s\n' "$2" | cmp -s - "$1"; fi
}
case_stream() { # out|err OP ARGS...
	cs_f=$T/$1 cs_s=$1
	shift
	cs_use="std$cs_s has RE DESC | lacks RE DESC | empty DESC | is TEXT DESC | lines RE N DESC | clean DESC"
	[ $# -ge 2 ] || case_bad "usage: $cs_use"
	cs_op=$1
	shift
	case $cs_op in
	has | lacks)
		case_args 2 "$cs_use" $#
		case_skipped "$2" && return
		case $cs_op$cs_s in
		hasout) expect_out "$1" "$2" ;;
		haserr) expect_err "$1" "$2" ;;
		lacksout) expect_no_out "$1" "$2" ;;
		lackserr) expect_no_err "$1" "$2" ;;
		esac ;;
	empty)
		case_args 1 "$cs_use" $#
		case_check "$1" "std$cs_s not empty" test ! -s "$cs_f" ;;
	is)
		case_args 2 "$cs_use" $#
		case_text cs_text "$1"
		case_check "$2" "std$cs_s is not exactly the text" case_same "$cs_f" "$cs_text" ;;
	lines)
		case_args 3 "$cs_use" $#
		case $2 in '' | *[!0-9]*) case_bad "lines wants a count, not '$2'" ;; esac
		cs_n=$(grep -cE -- "$1" "$cs_f")
		case_check "$3" "$cs_n lines match /$1/, want $2" test "$cs_n" -eq "$2" ;;
	clean)
		case_args 1 "$cs_use" $#
		case_check "$1" "a terminal control character in std$cs_s" no_control "$cs_f" ;;
	*) case_bad "usage: $cs_use" ;;
	esac
}
k_stdout() { case_stream out "$@"; }
k_stderr() { case_stream err "$@"; }

# ---- checks of the state ----
k_db() {
	case_args 4 "db SQL OP VALUE DESC" $#
	case_op "$2"
	case_text kd_w "$3"
	kd_v=$(db "$1" 2>"$T/dberr") || case_bad "sqlite3: $(head -1 "$T/dberr")"
	case_check "$4" "got '$kd_v', want $2 '$kd_w'" case_cmp "$kd_v" "$2" "$kd_w"
}
k_requests() {
	[ -n "$EMU_PID" ] || case_bad "requests: the case has no emulator (no scenario)"
	kr_use="requests [batch|single] METHOD PATH-RE OP N DESC | writes OP N DESC | where PYCOND OP N DESC"
	case ${1:-} in
	writes)
		case_args 4 "$kr_use" $#
		kr_n=$(writes) kr_what="writes"
		shift ;;
	where)
		case_args 5 "$kr_use" $#
		kr_n=$(nreq "$2") kr_what="requests where $2"
		shift 2 ;;
	batch | single)
		case_args 6 "$kr_use" $#
		kr_b=0
		[ "$1" = single ] || kr_b=1
		kr_n=$(nlog "$2" "$kr_b" "$3") kr_what="$1 $2 /$3/"
		shift 3 ;;
	*)
		case_args 5 "$kr_use" $#
		kr_n=$(nlog "$1" '*' "$2") kr_what="$1 /$2/"
		shift 2 ;;
	esac
	case_op "$1"
	case $2 in '' | *[!0-9]*) case_bad "a request count, not '$2'" ;; esac
	case_check "$3" "$kr_n $kr_what, want $1 $2" case_cmp "$kr_n" "$1" "$2"
}
case_source() { # SOURCE FILE: the JSON of SOURCE into FILE
	case $1 in
	stdout) cp "$T/out" "$2" ;;
	stderr) cp "$T/err" "$2" ;;
	ours | state | requests)
		[ -n "$EMU_PID" ] || case_bad "json $1: the case has no emulator (no scenario)"
		ctl GET "/_emu/$1" >"$2" || case_bad "the emulator does not answer"
		# ours: its list of events; requests: the list of requests.
		[ "$1" = state ] || python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
json.dump(d[sys.argv[2]], open(sys.argv[1], "w"))' "$2" "$([ "$1" = ours ] && echo events || echo requests)" ;;
	*) case_bad "'$1' is not a JSON source (stdout, stderr, ours, state, requests)" ;;
	esac
}
k_json() {
	case_args 3 "json SOURCE CODE DESC" $#
	case_source "$1" "$T/case.json"
	case_text kj_code "$2"
	case_skipped "$3" && return
	if json_holds "$T/case.json" "$kj_code"; then
		ok "$3"
	else
		not_ok "$3 (json $1)"
		sed 's/^/#   why: /' "$T/why" | head -8
	fi
}
k_save() {
	case_args 2 "save NAME SOURCE" $#
	case_var "$1"
	case_source "$2" "$T/saved.$1.json"
}
k_check() {
	case_args 2 "check SHELL-CONDITION DESC" $#
	case_skipped "$2" || check "$1" "$2"
}
case_push_cals() {
	db "SELECT CASE kind WHEN 'group' THEN 'group:' || name ELSE name END
	    FROM calendars WHERE push = 1 ORDER BY id" | paste -sd,
}
k_invariant() {
	case ${1:-} in
	remote)
		[ $# -le 4 ] || case_bad "usage: invariant remote [CALENDARS [TEMPLATE [SHOWAS]]]"
		ki_c=${2:-$(case_push_cals)}
		ki_t=${3:-$(sed -n 's/^push_subject *= *//p' "$TIMETAP_SYNC_CONFIG" | tail -1)}
		remote_problems "$ki_c" "$ki_t" "${4:-}" >"$T/problems"
		case_check "invariant remote: every booked appointment exactly once on each push calendar ($ki_c), nothing of ours elsewhere" \
		    "$(head -5 "$T/problems" | paste -sd';')" test ! -s "$T/problems" ;;
	blocks)
		case_args 1 "invariant blocks" $#
		blocks_problems >"$T/problems"
		case_check "invariant blocks: the [ext] blocks are the busy time of the pulled calendars" \
		    "$(head -5 "$T/problems" | paste -sd';')" test ! -s "$T/problems" ;;
	quiet)
		case_args 1 "invariant quiet" $#
		case_cmd run sync
		case_skipped "invariant quiet" && return
		expect_rc 0 "invariant quiet: one more sync exits 0"
		expect_silent "invariant quiet: it prints nothing"
		case_check "invariant quiet: it sends no write" "$(writes) writes" test "$(writes)" -eq 0 ;;
	*) case_bad "usage: invariant remote|blocks|quiet" ;;
	esac
}

# ---- steps that set up ----
k_capture() {
	kc_use="capture NAME [SQL] | capture NAME json SOURCE EXPR"
	[ $# -eq 1 ] || [ $# -eq 2 ] || { [ $# -eq 4 ] && [ "$2" = json ]; } || case_bad "usage: $kc_use"
	case_var "$1"
	if [ $# -eq 1 ]; then
		kc_v=$(cat "$T/out")
	elif [ $# -eq 4 ]; then
		case_source "$3" "$T/case.json"
		kc_v=$(json_value "$T/case.json" "$4" 2>"$T/why") || case_bad "capture $1: $(tail -1 "$T/why")"
	else
		kc_v=$(db "$2" 2>"$T/dberr") || case_bad "sqlite3: $(head -1 "$T/dberr")"
	fi
	[ -n "$kc_v" ] || case_bad "capture $1: nothing to capture"
	eval "$1=\$kc_v"
	export "${1?}"
}
k_let() {
	case_args 2 "let NAME VALUE" $#
	case_var "$1"
	eval "$1=\$2"
	export "${1?}"
}
k_sql() {
	case_args 1 "sql SQL" $#
	case_text ks_q "$1"
	db "$ks_q" >/dev/null 2>"$T/dberr" || case_bad "sqlite3: $(head -1 "$T/dberr")"
}
k_outlook() {
	[ $# -eq 1 ] || { [ $# -eq 3 ] && [ "$2" = as ]; } || case_bad "usage: outlook JSON [as NAME]"
	[ -n "$EMU_PID" ] || case_bad "outlook: the case has no emulator (no scenario)"
	ko_r=$(ctl POST /_emu/outlook "$1") || case_bad "the emulator refused the Outlook change $1"
	[ $# -eq 1 ] || k_let "$3" "$(printf '%s\n' "$ko_r" | idof)"
}
k_fault() { case_args 1 "fault SPECS" $#; fault "$1" || case_bad "the emulator refused the fault $1"; }
k_faults() { case_args 1 "faults SPECS" $#; nofault; k_fault "$1"; }
k_nofault() { case_args 0 "nofault" $#; nofault || case_bad "the emulator does not answer"; }
k_emu() {
	[ $# -eq 2 ] || [ $# -eq 3 ] || case_bad "usage: emu METHOD PATH [JSON]"
	emu "$@" >"$T/emu.reply" || case_bad "the emulator answered $1 $2 with an error"
}
k_sh() {
	[ $# -gt 0 ] || case_bad "usage: sh COMMAND..."
	if [ $# -eq 1 ]; then eval "$1"; else "$@"; fi || case_bad "the command failed: $*"
}
k_file() {
	case_args 2 "file PATH TEXT" $#
	case_text kf_t "$2"
	mkdir -p "$(dirname "$1")" && printf '%s\n' "$kf_t" >"$1" || case_bad "cannot write $1"
}
k_skip_if() {
	case_args 2 "skip-if SHELL-CONDITION REASON" $#
	if eval "$1"; then case_skip_next=$2; fi
}

# ---- check and translate ----
# %+Nd (or %-Nd) is the date N days from today, YYYY-MM-DD (the emulator's
# "+Nd"); %+NdHH:MM is that day at HH:MM, YYYY-MM-DDTHH:MM.
: >"$T/case.sed"
for cd_tok in $(grep -oE '%[+-][0-9]+d' "$case_file" | sort -u); do
	cd_n=${cd_tok#%}
	cd_n=${cd_n%d}
	cd_day=$(d "${cd_n#+}")
	printf 's/%s\\([0-9][0-9]:[0-9][0-9]\\)/%sT\\1/g\ns/%s/%s/g\n' \
	    "$cd_tok" "$cd_day" "$cd_tok" "$cd_day" >>"$T/case.sed"
done
sed -f "$T/case.sed" "$case_file" | awk '
BEGIN {
	n = split("title scenario", a); for (i = 1; i <= n; i++) kind[a[i]] = "H"
	n = split("config emulator env unset", a); for (i = 1; i <= n; i++) kind[a[i]] = "A"
	n = split("run trun tty", a); for (i = 1; i <= n; i++) kind[a[i]] = "C"
	n = split("exit stdout stderr silent", a); for (i = 1; i <= n; i++) kind[a[i]] = "E"
	n = split("db requests json check invariant", a); for (i = 1; i <= n; i++) kind[a[i]] = "K"
	n = split("capture let sql outlook fault faults nofault emu sh file save skip-if", a)
	for (i = 1; i <= n; i++) kind[a[i]] = "S"
}
function bad(at, msg) { print at ": " msg >"/dev/stderr"; failed = 1; exit 1 }
block { print; x = $0; if (dash) sub(/^\t+/, "", x); if (x == term) block = 0; next }
cont { print; cont = /\\$/; next }
/^[ \t]*(#.*)?$/ { print ""; next }
{
	k = $1
	if (!(k in kind)) bad(NR, "unknown keyword \"" k "\"")
	t = kind[k]; pre = ""
	if (t == "H") {
		if (begun) bad(NR, "\"" k "\" belongs in the header, before the first step")
		if (k == "title") titled = 1
	} else if (t != "A" && !begun) {
		if (!titled) bad(NR, "the case has no title before its first step")
		begun = 1; pre = "k_begin; "
	}
	if (t == "E" && !ran) bad(NR, "\"" k "\" is an expectation of a command, and no command ran before it")
	if (t == "C") ran = 1
	if (t == "E" || t == "K") nexp++
	line = $0; sub(/^[ \t]+/, "", line)
	b = ""
	if (match(line, /<<-?[ \t]*\047?[A-Za-z_][A-Za-z_0-9]*\047?[ \t]*$/)) {
		term = substr(line, RSTART + 2); dash = term ~ /^-/
		gsub(/[- \t\047]/, "", term); block = 1; bline = NR; b = " 1"
	}
	cont = line ~ /\\$/
	rest = substr(line, length($1) + 1)
	if (k == "title") { sub(/^[ \t]+/, "", rest); gsub(/\047/, "\047\\\047\047", rest); rest = " \047" rest "\047" }
	gsub(/-/, "_", k)
	print "case_at " NR b "; " pre "k_" k rest
}
END {
	if (failed) exit 1
	if (block) bad(bline, "the block is not closed by a line \"" term "\"")
	if (!titled) bad(1, "the case has no title")
	if (!nexp) bad(NR, "the case expects nothing")
	print "case_end"
}' >"$T/case.run" 2>"$T/case.bad"
if [ ! -s "$T/case.bad" ] && ! sh -n "$T/case.run" 2>"$T/case.bad"; then
	sed -i '1s/^.*case\.run: //' "$T/case.bad"
	# The shell notices an open quote where the file ends: find its line.
	grep -n '^case_at [0-9]*; ' "$T/case.run" | grep -v '<<\|\\$' | while IFS= read -r cb; do
		sh -n -c "${cb#*:}" 2>/dev/null || { echo "${cb%%:*}: the line does not parse (a quote left open?)"; break; }
	done >"$T/case.line"
	[ ! -s "$T/case.line" ] || cp "$T/case.line" "$T/case.bad"
fi
if [ -s "$T/case.bad" ]; then
	case_line=$(sed -n '1s/^\([0-9]*\):.*/\1/p' "$T/case.bad")
	case_bad "$(sed -n '1s/^[0-9]*: *//p' "$T/case.bad")"
fi
. "$T/case.run"
