#!/bin/sh
# SPDX-License-Identifier: ISC
#
# Family 16, what make install ships (issue 14): make install-only (the
# files of the build under test, nothing rebuilt) into a DESTDIR with
# PREFIX=/usr puts exactly test/install.list there, with their modes; the
# version is one (--version, both manual pages' .Os, NEWS's newest entry);
# the pages lint clean and name this PREFIX's paths; the units start the
# installed binary; the sample configuration loads through the binary, as
# it is and with every key uncommented; the bash completion offers the
# commands, each command's options (every one its usage line names), files
# and profile names, and creates no database; make uninstall leaves no
# file.
. "$TOP/test/lib.sh"

root=$T/root
inst() { MAKEFLAGS='' MAKELEVEL='' make -s -C "$TOP" "$@" BUILD="$(dirname "$BIN")" \
    DESTDIR="$root" PREFIX=/usr >"$T/out" 2>"$T/err"; rc=$?; last_cmd="make $*"; }

inst install-only
expect_rc 0 "make install-only DESTDIR=... PREFIX=/usr"
[ $rc -eq 0 ] || exit 1
(cd "$root/usr" && find . ! -type d | sed 's|^\./||' | sort) >"$T/got"
grep -v '^#' "$TOP/test/install.list" | sort >"$T/want"
check 'diff "$T/want" "$T/got" >"$T/diff"' "exactly the files of test/install.list are installed"
sed 's/^/# /' "$T/diff"
check '[ "$(stat -c %a "$root/usr/bin/timetap-sync")" = 755 ]' "the binary is mode 755"
n644=0
while read -r f; do
	[ "$f" = bin/timetap-sync ] && continue
	[ "$(stat -c %a "$root/usr/$f")" = 644 ] || { echo "# $f: mode $(stat -c %a "$root/usr/$f")"; n644=$((n644 + 1)); }
done <"$T/want"
check '[ $n644 -eq 0 ]' "every other file is mode 644"
check 'cmp -s "$BIN" "$root/usr/bin/timetap-sync"' "the binary installed is the build's"

# One version: NEWS's newest entry, --version, the pages' .Os.
v=$(sed -n 's/^timetap-sync \([0-9][0-9.]*\) .*/\1/p' "$TOP/NEWS" | head -1)
check '[ -n "$v" ]' "NEWS names a version ($v)"
run --version
expect_out "^timetap-sync $v\$" "--version says NEWS's newest version"
check '[ "$("$root/usr/bin/timetap-sync" --version)" = "timetap-sync $v" ]' "so does the installed binary"
for m in man1/timetap-sync.1 man5/timetap-sync.conf.5; do
	check '[ "$(grep "^\.Os" "$root/usr/share/man/$m")" = ".Os timetap-sync $v" ]' "$m: .Os timetap-sync $v"
done

# The pages as installed: lint clean (but for the manuals this machine
# lacks, and the package named in .Os, see the Makefile's lint), this
# PREFIX's paths, the sample named.
mandoc -Tlint -W all "$root/usr/share/man/man1/timetap-sync.1" \
    "$root/usr/share/man/man5/timetap-sync.conf.5" 2>&1 |
    grep -v 'referenced manual not found\|explicitly specified: Os timetap-sync\|mandoc\.db' >"$T/lint"
check '[ ! -s "$T/lint" ]' "mandoc -Tlint -W all: the installed pages are clean"
sed 's/^/# /' "$T/lint"
check '! grep -rq /usr/local "$root/usr"' "no installed file names /usr/local"
check 'grep -q "^\.It Pa /usr/share/doc/timetap-sync/config.sample$" "$root/usr/share/man/man5/timetap-sync.conf.5"' \
    "timetap-sync.conf(5) names the installed sample"
check 'grep -q "^\.Xr timetap-sync.conf 5" "$root/usr/share/man/man1/timetap-sync.1"' \
    "timetap-sync(1) refers to timetap-sync.conf(5)"
for u in timetap-sync.service timetap-sync@.service; do
	check 'grep -q "^ExecStart=/usr/bin/timetap-sync " "$root/usr/lib/systemd/system/$u"' \
	    "$u starts /usr/bin/timetap-sync"
done

# The sample configuration, through the binary: as installed, and with
# every key uncommented; it holds every key config.c knows and conf(5)
# documents; a bad value in it is refused (so the load is real).
mkdir -m 700 "$T/db"
sample=$root/usr/share/doc/timetap-sync/config.sample
run -c "$sample" -f "$T/db/s.db" status
expect_rc 0 "the sample loads with -c (status)"
expect_no_err . "  and nothing is said about it"
sed 's/^#\([a-z_]* =\)/\1/' "$sample" >"$T/all.conf"
run -c "$T/all.conf" -f "$T/db/s.db" status
expect_rc 0 "the sample with every key uncommented loads"
expect_no_err . "  and nothing is said about it"
sed -n 's/^\([a-z_]*\) =.*/\1/p' "$T/all.conf" | sort >"$T/keys.sample"
grep -o 'strcmp(key, "[a-z_]*")' "$TOP/config.c" | sed 's/.*"\(.*\)")/\1/' | sort -u >"$T/keys.c"
sed -n 's/^\.It Cm \([a-z_]*\)\( , Cm \([a-z_]*\)\)\{0,1\}$/\1 \3/p' "$TOP/man/timetap-sync.conf.5" |
    tr ' ' '\n' | sed '/^$/d' | sort >"$T/keys.5"
check '[ "$(wc -l <"$T/keys.c")" -ge 17 ] && cmp -s "$T/keys.c" "$T/keys.sample"' \
    "the sample has every key of config.c, once ($(wc -l <"$T/keys.sample"))"
check 'cmp -s "$T/keys.c" "$T/keys.5"' "timetap-sync.conf(5) documents every key of config.c"
sed 's/^page_size = .*/page_size = 0/' "$T/all.conf" >"$T/bad.conf"
run -c "$T/bad.conf" -f "$T/db/s.db" status
expect_rc 78 "the sample with a bad value is refused"
expect_err "bad.conf:[0-9]+: page_size" "  naming its line"

# Bash completion, as installed: COMP_WORDS/COMP_CWORD set as bash does,
# the candidates sorted on one line.
comp=$root/usr/share/bash-completion/completions/timetap-sync
comp() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
	    _timetap_sync; printf "%s\n" "${COMPREPLY[@]}"' comp "$comp" "$@" |
	    sed '/^$/d' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//'
}
is() { # is WANT WORDS...: the candidates for the last of WORDS are WANT
	want=$1; shift
	got=$(comp "$@")
	if [ "$got" = "$want" ]; then ok "complete '$*': $want"
	else not_ok "complete '$*': want '$want', got '$got'"; fi
}
check 'bash -c ". \"$comp\"; complete -p timetap-sync" | grep -q "_timetap_sync timetap-sync"' \
    "the completion registers for timetap-sync"
is "agenda appt calendars conflicts doctor explain feed free help login profiles status stop sync" timetap-sync ''
is "--duration --help --json" timetap-sync explain 2026-12-01T10:00 -
is "" timetap-sync explain 2026-12-01T10:00 --duration ''
is "--help --json" timetap-sync conflicts -
is "calendars" timetap-sync -v ca
is "--help --version -V -c -f -h -q -s -v" timetap-sync -
is "--dry-run --force --help --jobs --json --shard -n" timetap-sync sync -
is "--force --help --jobs --json --shard" timetap-sync sync -n -
is "--all --help --json -n" timetap-sync -q feed -
is "" timetap-sync feed -n ''
is "--groups --help --switch-account" timetap-sync login --browser -
is "--groups --help --switch-account" timetap-sync login --device-code -
is "--browser --device-code --groups --help --switch-account" timetap-sync login -
is "--cached --help --json --pull --push" timetap-sync calendars --
is "" timetap-sync calendars --pull ''
is "--help --json" timetap-sync status ''
is "--help --purge-remote -y" timetap-sync stop -
is "--help --json --live" timetap-sync doctor -
is "" timetap-sync doctor --live ''
is "add remove" timetap-sync profiles ''
is "--help --json" timetap-sync profiles -
is "add cancel edit list show" timetap-sync appt ''
is "--client --end --force --help --online --start --subject" timetap-sync appt add -
is "--client --end --force --help --start --subject" timetap-sync appt edit 3 --no-online -
is "--help --json --to" timetap-sync appt list --from 2026-12-01 -
is "--help --json" timetap-sync appt show 3 -
is "--help" timetap-sync appt cancel -
is "--days --duration --from --help --hours --json --to" timetap-sync free -
is "--from --help --json" timetap-sync agenda --week -
is "--from --help --json" timetap-sync agenda --days 3 -
is "feed" timetap-sync help fe
is "" timetap-sync help feed ''
mkdir "$T/files" && : >"$T/files/a.db" && : >"$T/files/b.conf"
is "$T/files/a.db $T/files/b.conf" timetap-sync -c "$T/files/"
is "$T/files/a.db" timetap-sync -s x -f "$T/files/a"
# Profile names, from the database the line names (else the default).
run profiles add grace
run profiles add ada
is "ada grace" "$BIN" -s ''
is "grace" "$BIN" -v -s g
is "ada grace" "$BIN" profiles remove ''
is "ada grace" "$BIN" -f "$TIMETAP_SYNC_DB" -s ''
is "" "$BIN" -f "$T/db/none.db" -s ''
check '[ ! -e "$T/db/none.db" ]' "completing a profile of a database that does not exist creates none"

# Every option each command's usage line names is completed.
"$BIN" --help | python3 -c '
import re, sys
block = sys.stdin.read().split("commands:\n", 1)[1].split("\n\n", 1)[0]
lines = []
for l in block.split("\n"):
    if re.match(r"  [a-z]", l):
        lines.append(l.strip())
    else:
        lines[-1] += " " + l.strip()
for l in lines:
    for part in re.split(r" \| (?=[a-z])", l):
        w = part.split()
        key = w[:2] if w[0] in ("appt", "profiles") and len(w) > 1 and re.match("[a-z]+$", w[1]) else w[:1]
        opts = sorted(set(re.findall(r"(?<![\w-])(--?[a-z][-a-z]*)", part)))
        print(" ".join(key) + ":" + " ".join(opts))
' >"$T/usage"
check '[ "$(wc -l <"$T/usage")" -ge 12 ]' "the usage names $(wc -l <"$T/usage") command forms"
while IFS=: read -r key opts; do
	# shellcheck disable=SC2086
	got=" $(comp timetap-sync $key -) "
	miss=""
	for o in $opts; do
		case $got in *" $o "*) ;; *) miss="$miss $o" ;; esac
	done
	check '[ -z "$miss" ]' "complete '$key -' has every option of its usage ($opts)${miss:+; lacks$miss}"
done <"$T/usage"

inst uninstall
expect_rc 0 "make uninstall DESTDIR=... PREFIX=/usr"
check '[ -d "$root/usr" ] && [ -z "$(find "$root" ! -type d)" ]' "no file is left"
