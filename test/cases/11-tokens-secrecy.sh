# SPDX-License-Identifier: ISC
# Family 11, tokens: no token the emulator issued ever shows in stdout or
# stderr of any command, with -v, on success or on error, nor in the man
# page; stop forgets them (not even left in the database file).
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 1"
export BROWSER="$TOP/test/fake-browser.sh"
emu POST /_emu/config '{"token_lifetime": 60}' >/dev/null

ALL="$T/all-output"
TOK="$T/tokens"
: >"$ALL"
: >"$TOK"
# Run, keep every byte of output, and collect the tokens now in the store.
srun() {
	last_cmd="timetap-sync $*"
	timeout 60 "$BIN" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	cat "$T/out" "$T/err" >>"$ALL"
	if [ -f "$TIMETAP_SYNC_DB" ]; then
		db "select access_token from accounts where access_token is not null
		    union select refresh_token from accounts where refresh_token is not null" >>"$TOK"
	fi
}
TOKEN='"match":{"method":"POST","path":"/oauth2/v2.0/token$"}'

srun -v login
expect_rc 0 "-v login (browser)"
srun -v calendars
expect_rc 0 "-v calendars (refreshes)"
srun -v calendars --json
expect_rc 0 "-v calendars --json (refreshes)"
srun -v status
expect_rc 0 "-v status"
srun -v status --json
expect_rc 0 "-v status --json"
srun -v -s other login --device-code --groups
expect_rc 0 "-v login --device-code --groups"
srun -v -s other calendars
expect_rc 0 "-v calendars on the second profile"
srun -v calendars --pull 1,2 --push 1
expect_rc 0 "-v calendars --pull --push"
srun -v status
srun -v appt list
# Errors: token endpoint failures and a rejected access token.
fault "{\"kind\":\"status\",\"status\":503,$TOKEN,\"times\":20}"
srun -v calendars
expect_rc 75 "-v calendars with a failing token endpoint"
emu DELETE /_emu/faults >/dev/null
emu POST /_emu/config '{"token_lifetime": 3600}' >/dev/null
srun -v calendars
expect_rc 0 "-v calendars with a one-hour token"
emu POST /_emu/tokens/expire >/dev/null
srun -v calendars
db "update accounts set access_expires = 0"
fault "{\"kind\":\"token_error\",\"error\":\"invalid_grant\",\"error_codes\":[70008],$TOKEN,\"times\":1}"
srun -v calendars
expect_rc 77 "-v calendars with invalid_grant"
srun -v calendars
srun -v status --json
srun -v -s other stop -y
expect_rc 0 "-v stop -y"

sort -u "$TOK" | awk 'length($0) > 20' >"$TOK.u"
n=$(wc -l <"$TOK.u")
check '[ "$n" -ge 8 ]' "tokens were collected from the store to look for ($n distinct)"
leaks=0
while IFS= read -r t; do
	grep -qF -- "$t" "$ALL" && leaks=$((leaks + 1))
	# A long piece of a token counts too (a cut-off message).
	grep -qF -- "$(printf '%s' "$t" | cut -c 10-41)" "$ALL" && leaks=$((leaks + 1))
done <"$TOK.u"
check '[ $leaks -eq 0 ]' "no stored token (or a 32-character piece of one) in any stdout or stderr ($leaks found)"
check '! grep -qE "eyJ0eXAiOiJKV1QiLCJub25jZSI6[A-Za-z0-9_-]{8}" "$ALL"' "no emulator access token shape in the output"
check '! grep -qE "0\.ARAA[A-Za-z0-9_-]{8}" "$ALL"' "no emulator refresh token shape in the output"
check '! grep -qiE "bearer +[A-Za-z0-9._-]{8}|refresh_token=|access_token=|code_verifier=|device_code=" "$ALL"' \
    "no Authorization header or token form field in the output"
check '[ -s "$ALL" ]' "the commands did print something to search"

man="$TOP/man/timetap-sync.1"
mleaks=0
while IFS= read -r t; do
	grep -qF -- "$t" "$man" && mleaks=$((mleaks + 1))
done <"$TOK.u"
check '[ $mleaks -eq 0 ]' "no issued token in the man page"
check '! grep -qE "eyJ[A-Za-z0-9_-]{20,}|0\.A[A-Za-z0-9_-]{30,}|[Bb]earer +[A-Za-z0-9]" "$man"' \
    "the man page examples show no token-like string"

# stop forgets the tokens: not in the table, not in the file's free pages.
rt=$(db "select refresh_token from accounts where profile_id = (select id from profiles where name = 'default')")
at=$(db "select access_token from accounts where profile_id = (select id from profiles where name = 'default')")
check '[ -n "$rt" ]' "the default profile still holds a refresh token before stop"
srun -v stop -y
expect_rc 0 "-v stop -y on the default profile"
check '[ "$(db "select count(*) from accounts")" -eq 0 ]' "no account row is left"
check '! grep -qaF -- "$rt" "$TIMETAP_SYNC_DB"* ' "the refresh token is gone from the database files"
check '[ -z "$at" ] || ! grep -qaF -- "$at" "$TIMETAP_SYNC_DB"*' "the access token is gone from the database files"
leaks=0
while IFS= read -r t; do
	grep -qF -- "$t" "$ALL" && leaks=$((leaks + 1))
done <"$TOK.u"
check '[ $leaks -eq 0 ]' "stop printed no token either"
# Both profiles stopped: no token ever issued is left anywhere in the files.
left=0
while IFS= read -r t; do
	cat "$TIMETAP_SYNC_DB"* | grep -qaF -- "$t" && left=$((left + 1))
done <"$TOK.u"
check '[ $left -eq 0 ]' "after stop no token ever stored is left in the database files ($left of $n)"
