# SPDX-License-Identifier: ISC
# Family 10, login: the device code sign-in -- the code and address
# printed, polling (authorization_pending, slow_down), approval from
# elsewhere, declined and expired codes.
. "$TOP/test/lib.sh"

emu_setup demo
unset BROWSER DISPLAY WAYLAND_DISPLAY

DC=urn:ietf:params:oauth:grant-type:device_code
acct() { db "select count(*) from accounts a join profiles p on p.id = a.profile_id where p.name = '$1'"; }

# ---- the emulator approves after one pending poll ----
trun login --device-code
expect_rc 0 "device code login completes without a person"
expect_out "open the page $EMU/devicelogin and enter the code [A-Z0-9]{9}" "the address and the code are printed"
expect_out '^Connected profile default to ada@contoso\.example\.$' "login names the account"
check '[ ! -s "$T/err" ]' "nothing on stderr"
check '[ "$(emu count POST "/organizations/oauth2/v2.0/devicecode$")" -eq 1 ]' "one device code requested"
check '[ "$(grants $DC)" -eq 2 ]' "two polls: authorization_pending, then the tokens"
check '[ "$(emu count GET "/authorize")" -eq 0 ]' "no /authorize for a device login"
check '[ "$(db "select upn from accounts")" = ada@contoso.example ]' "the account is stored"
check 'db "select scopes from accounts" | grep -q "Calendars.ReadWrite"' "the scopes are stored"
check '[ "$(nreq "r[\"path\"].endswith(\"/devicecode\") and \"Calendars.ReadWrite\" in (r[\"scope\"] or \"\") and \"Group.ReadWrite.All\" not in r[\"scope\"]")" -eq 1 ]' \
    "the device code asks for the base scopes, no group scope without --groups"
check 'db "select scopes from accounts" | grep -q "Group.ReadWrite.All"' \
    "the administrator's consent shows in the token, so the group permission is held all the same"
check '[ -n "$(db "select 1 from accounts where length(refresh_token) > 20 and length(access_token) > 20")" ]' "tokens are stored"
check '[ "$(db "select pull || push from calendars where is_default = 1")" = 11 ]' "default calendar: pull and push"
check '[ "$(stat -c %a "$TIMETAP_SYNC_DB")" = 600 ]' "database mode 0600"
check '[ "$(stat -c %a "$(dirname "$TIMETAP_SYNC_DB")")" = 700 ]' "database directory mode 0700"

# ---- --groups on a device login ----
trun -s team login --device-code --groups
expect_rc 0 "device code login with --groups"
check 'db "select scopes from accounts a join profiles p on p.id = a.profile_id where p.name = '"'team'"'" | grep -q "Group.ReadWrite.All"' \
    "the group scope is granted and stored"
check '[ "$(db "select count(*) from calendars c join profiles p on p.id = c.profile_id where p.name = '"'team'"' and c.kind = '"'group'"'")" -eq 1 ]' \
    "the group calendar is discovered"

# ---- slow_down adds five seconds to the interval, then it goes on ----
emu POST /_emu/config '{"device_pending_polls": 0}' >/dev/null
emu POST /_emu/faults '{"faults":[{"kind":"device","variant":"slow_down","match":{"path":"/oauth2/v2.0/token"},"times":1}]}' >/dev/null
emu DELETE /_emu/requests >/dev/null
t0=$(date +%s)
trun -s slow login --device-code
t1=$(date +%s)
expect_rc 0 "slow_down is not an error"
check '[ "$(acct slow)" -eq 1 ]' "the slowed-down login connects"
check '[ "$(grants $DC)" -eq 2 ]' "one slow_down poll, then the tokens"
check '[ $((t1 - t0)) -ge 5 ]' "the next poll waited at least five seconds more ($((t1 - t0)) s)"

# ---- approval from elsewhere (control API) while the tool polls ----
emu POST /_emu/config '{"device_pending_polls": null}' >/dev/null
emu DELETE /_emu/requests >/dev/null
timeout 60 "$BIN" -s approved login --device-code >"$T/bg.out" 2>"$T/bg.err" &
bg=$!
i=0
while [ $i -lt 100 ] && [ "$(grants $DC)" -lt 2 ]; do sleep 0.1; i=$((i + 1)); done
check '[ "$(acct approved)" -eq 0 ]' "nothing is stored while the code is pending"
emu POST /_emu/device/approve '{}' >/dev/null
wait $bg
rc=$?
check '[ $rc -eq 0 ]' "the login finishes once the code is approved (exit $rc)"
check '[ "$(acct approved)" -eq 1 ]' "and the profile is connected"
check '[ "$(grants $DC)" -ge 3 ]' "it kept polling while pending"

# ---- declined by the person signing in ----
emu DELETE /_emu/requests >/dev/null
timeout 60 "$BIN" -s declined login --device-code >"$T/bg.out" 2>"$T/bg.err" &
bg=$!
i=0
while [ $i -lt 100 ] && [ "$(grants $DC)" -lt 1 ]; do sleep 0.1; i=$((i + 1)); done
emu POST /_emu/device/decline '{}' >/dev/null
wait $bg
rc=$?
check '[ $rc -eq 77 ]' "a declined device code exits 77 (exit $rc)"
check 'grep -q "authorization_declined" "$T/bg.err"' "the message names authorization_declined"
check 'grep -q "login of profile declined failed: .*declined" "$T/bg.err"' "the message names the profile, the login and the refusal"
check '! grep -q "next run" "$T/bg.err"' "a failed login never says the next run continues"
check '[ "$(grep -c . "$T/bg.err")" -eq 1 ]' "one line on stderr"
check '[ "$(acct declined)" -eq 0 ]' "nothing is stored for the declined login"

# ---- declined and expired as answers of the token endpoint ----
emu POST /_emu/config '{"device_pending_polls": 1}' >/dev/null
emu POST /_emu/faults '{"faults":[{"kind":"device","variant":"authorization_declined","match":{"path":"/oauth2/v2.0/token"},"times":1}]}' >/dev/null
trun -s declined2 login --device-code
expect_rc 77 "authorization_declined from the token endpoint exits 77"
expect_err 'authorization_declined' "the error is named"
check '[ "$(acct declined2)" -eq 0 ]' "nothing is stored"
emu POST /_emu/faults '{"faults":[{"kind":"device","variant":"expired_token","match":{"path":"/oauth2/v2.0/token"},"times":1}]}' >/dev/null
trun -s expired login --device-code
expect_rc 77 "an expired device code exits 77"
expect_err 'expired_token' "the error is named"
check '[ "$(acct expired)" -eq 0 ]' "nothing is stored"
emu POST /_emu/config '{"device_pending_polls": null}' >/dev/null
timeout 60 "$BIN" -s expired2 login --device-code >"$T/bg.out" 2>"$T/bg.err" &
bg=$!
i=0
while [ $i -lt 100 ] && [ "$(emu count POST "/devicecode$")" -lt 1 ]; do sleep 0.1; i=$((i + 1)); done
emu POST /_emu/device/expire '{}' >/dev/null
wait $bg
rc=$?
check '[ $rc -eq 77 ]' "a code expired while polling exits 77 (exit $rc)"
check '[ "$(acct expired2)" -eq 0 ]' "nothing is stored"

# ---- the device code endpoint itself fails ----
emu POST /_emu/faults '{"faults":[{"kind":"status","status":400,"code":"invalid_client","aadsts":7000218,"match":{"path":"/devicecode$"},"times":1}]}' >/dev/null
trun -s badclient login --device-code
expect_rc 78 "invalid_client on the device code endpoint is a configuration error"
expect_err 'invalid_client' "the error is named"
