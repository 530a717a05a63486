# SPDX-License-Identifier: ISC
# Family 12, calendars: listing every calendar the account reaches -- own
# calendars, calendars inside calendar groups (with their path), Microsoft
# 365 group calendars after a plain login (by id, "with limited
# information", until the group permission is granted) -- as a table and
# as JSON; not connected; Graph errors while listing.
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 1"
export BROWSER="$TOP/test/fake-browser.sh"
export COLUMNS=300	# the tables' ids whole (80 columns: at the end)
# No administrator has consented to Group.ReadWrite.All yet.
ctl POST /_emu/consent '{"admin_revoke":["Group.ReadWrite.All"]}' >/dev/null

# The remote id of one of ada's calendars in the emulator.
calid() {
	emu GET /_emu/state | python3 -c '
import json, sys
for u in json.load(sys.stdin)["users"]:
    if u["upn"] == "ada@contoso.example":
        print([c["id"] for c in u["calendars"] if c["name"] == sys.argv[1]][0])
' "$1"
}
groupid() {
	emu GET /_emu/state | python3 -c '
import json, sys
print([g["id"] for g in json.load(sys.stdin)["groups"] if g["displayName"] == sys.argv[1]][0])
' "$1"
}
# An extended regex matching the string literally (ids hold + / =).
re() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'; }

# ---- not connected ----
trun calendars
expect_rc 77 "calendars before login exits 77"
expect_err 'profile default is not connected; run `timetap-sync -s default login`' "the message says how to connect"
check '[ ! -s "$T/out" ]' "nothing on stdout"
trun calendars --cached
expect_rc 77 "calendars --cached before login exits 77"
trun calendars --json
expect_rc 77 "calendars --json before login exits 77"
trun -s nobody calendars
expect_rc 77 "calendars on an unknown profile exits 77"
expect_err 'profile nobody is not connected; run `timetap-sync -s nobody login`' "the message names the profile"
check '[ "$(emu GET /_emu/requests | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"requests\"]))")" -eq 0 ]' \
    "nothing was sent while not connected"

# ---- own calendars and sub-calendars ----
trun login
[ $rc -eq 0 ] || not_ok "login (exit $rc)"
trun calendars
expect_rc 0 "calendars lists"
check '[ ! -s "$T/err" ]' "nothing on stderr"
expect_out '^# +Calendar +Kind +Writable +Roles +Id$' "a header line"
cal=$(calid Calendar)
rota=$(calid "Clinic rota")
expect_out "^1 +Calendar +user +yes +pull,push +$(re "$cal")\$" "the default calendar: number, path, kind, writable, roles, remote id"
expect_out "^2 +Other calendars/Clinic rota +user +yes +- +$(re "$rota")\$" "the sub-calendar is shown with its path"
fdt=$(groupid "Front Desk Team")
check '[ "$(grep -c "^[0-9]" "$T/out")" -eq 3 ]' "three calendars after a plain login"
expect_out "^3 +$(re "$fdt") \(group\) +group +yes +- +$(re "$fdt")\$" \
    "the Teams group calendar is listed by id"
check 'grep -A1 "^3 " "$T/out" | tail -1 | grep -qx "     (needs permission) (name not readable yet)"' \
    "the line under it says it needs the permission and why it has no name"
expect_out 'choosing one with --pull or --push asks for it; their names show once it is granted' "a note on how to get it"
expect_no_out 'All staff' "a security group is not listed"
expect_no_out 'Grace|Supplier call' "another user's calendar is not listed"

# Remote ids with + / = are kept exactly (immutable ids).
check '[ "$(db "select remote_id from calendars where path = '"'Calendar'"'")" = "$cal" ]' "the remote id is stored exactly"
check '[ "$(db "select count(*) from calendars")" -eq 3 ]' "three rows in the store"

# Listing again adds no rows.
trun calendars
trun calendars
check '[ "$(db "select count(*) from calendars")" -eq 3 ]' "listing three times keeps three rows"

# ---- --json ----
trun calendars --json
expect_rc 0 "calendars --json"
cat >"$T/shape.py" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1]))
assert isinstance(a, list) and len(a) == int(sys.argv[2]), "length %d" % len(a)
keys = {"number", "calendar_id", "name", "path", "kind", "owner", "writable", "default",
        "roles", "pull", "push", "present", "delta", "needs_permission", "limited"}
for o in a:
    assert set(o) == keys, sorted(o)
    assert isinstance(o["number"], int)
    for k in ("writable", "default", "pull", "push", "present", "needs_permission", "limited"):
        assert isinstance(o[k], bool), k
    assert o["kind"] in ("user", "shared", "group")
    assert o["roles"] == [r for r in ("pull", "push") if o[r]]
    assert o["delta"] in (None, True, False)
by = {o["path"]: o for o in a}
c = by["Calendar"]
assert c["default"] and c["pull"] and c["push"] and c["writable"] and c["kind"] == "user"
assert c["calendar_id"] == sys.argv[3], c["calendar_id"]
assert c["owner"] == "ada@contoso.example", c["owner"]
r = by["Other calendars/Clinic rota"]
assert r["name"] == "Clinic rota" and not r["default"] and not r["pull"] and not r["push"]
assert r["calendar_id"] == sys.argv[4]
g = [o for o in a if o["kind"] == "group"][0]
assert g["calendar_id"] == sys.argv[5] and g["writable"] and not g["pull"] and not g["push"]
if sys.argv[6] == "named":
    assert g["name"] == "Front Desk Team" and g["path"] == "Front Desk Team (group)", g
    assert not g["needs_permission"] and not g["limited"]
else:
    assert g["name"] == sys.argv[5] and g["needs_permission"] and g["limited"], g
EOF
check 'python3 "$T/shape.py" "$T/out" 3 "$cal" "$rota" "$fdt" limited 2>"$T/py.err"' "--json: an array of objects with the documented keys and values"
sed 's/^/# /' "$T/py.err"
check '! grep -q "login --groups" "$T/out"' "--json has no hint text"

# ---- login --groups where no administrator consented: refused, kept ----
trun login --groups
expect_rc 77 "login --groups without admin consent fails (exit 77)"
expect_err 'login of profile default failed: .*access_denied' "one line: the sign-in was refused"
check '[ "$(db "select count(*) from calendars")" -eq 3 ]' "the calendars are kept"

# ---- group calendars once an administrator has consented ----
ctl POST /_emu/consent '{"admin_grant":["Group.ReadWrite.All"]}' >/dev/null
trun login --groups
[ $rc -eq 0 ] || not_ok "login --groups (exit $rc)"
trun calendars
expect_rc 0 "calendars after login --groups"
expect_out "^3 +Front Desk Team \(group\) +group +yes +- +$(re "$fdt")\$" "the Microsoft 365 group calendar is listed"
expect_no_out 'All staff' "a security group is not listed"
expect_no_out 'login --groups' "no hint once the group scope is granted"
check '[ "$(grep -c "^[0-9]" "$T/out")" -eq 3 ]' "three calendars"
check '[ "$(emu count GET "/v1.0/me/memberOf")" -ge 1 ]' "the groups were read from /me/memberOf"
trun calendars --json
check 'python3 "$T/shape.py" "$T/out" 3 "$cal" "$rota" "$fdt" named 2>"$T/py.err"' "--json has the group calendar (kind group), named"
sed 's/^/# /' "$T/py.err"

# --cached lists from the store without a request.
emu DELETE /_emu/requests >/dev/null
trun calendars --cached
expect_rc 0 "calendars --cached"
check '[ "$(grep -c "^[0-9]" "$T/out")" -eq 3 ]' "--cached lists the three calendars"
check '[ "$(emu GET /_emu/requests | python3 -c "import json,sys; print(len(json.load(sys.stdin)[\"requests\"]))")" -eq 0 ]' \
    "--cached sends nothing"

# ---- Graph errors while listing: the store is left as it was ----
db "update calendars set pull = 1 where path = 'Other calendars/Clinic rota'"
snap=$(db "select id, remote_id, path, pull, push, present from calendars order by id")
emu POST /_emu/faults '{"faults":[{"kind":"status","status":503,"match":{"path":"/v1.0/me/calendarGroups"},"times":50}]}' >/dev/null
trun calendars
expect_rc 75 "a Graph 503 while listing exits 75"
expect_err '^timetap-sync: profile default: listing calendars: ' "the message names the profile and the step"
check '[ "$(grep -c . "$T/err")" -eq 1 ]' "one line on stderr"
check '[ "$(db "select id, remote_id, path, pull, push, present from calendars order by id")" = "$snap" ]' \
    "a failed listing changes no calendar row"
emu DELETE /_emu/faults >/dev/null
emu POST /_emu/faults '{"faults":[{"kind":"status","status":503,"match":{"path":"/v1.0/me/memberOf"},"times":50}]}' >/dev/null
trun calendars
expect_rc 0 "a 503 on the group listing (after the own calendars were read) still lists"
expect_err '^timetap-sync: profile default: listing Microsoft 365 groups: .*503.*shown as last seen$' "one line says the groups could not be listed"
check '[ "$(grep -c . "$T/err")" -eq 1 ]' "only that line"
check '[ "$(db "select id, remote_id, path, pull, push, present from calendars order by id")" = "$snap" ]' \
    "the user calendars are kept and the group calendar stays as last seen (nothing marked gone)"
expect_out 'Front Desk Team \(group\)' "the group calendar is still listed"
emu DELETE /_emu/faults >/dev/null
emu POST /_emu/faults '{"faults":[{"kind":"status","status":403,"match":{"path":"/v1.0/me/calendarGroups"},"times":1}]}' >/dev/null
trun calendars
expect_rc 77 "a 403 while listing exits 77"
check 'grep -qF "login" "$T/err"' "the 403 message suggests a new login"
emu DELETE /_emu/faults >/dev/null
emu POST /_emu/faults '{"faults":[{"kind":"malformed","match":{"path":"/v1.0/me/calendars"},"times":1}]}' >/dev/null
trun calendars
check '[ $rc -ne 0 ]' "a malformed answer is not success"
check '[ "$(db "select id, remote_id, path, pull, push, present from calendars order by id")" = "$snap" ]' \
    "a malformed answer changes no calendar row"
emu DELETE /_emu/faults >/dev/null
trun calendars
expect_rc 0 "the next run lists again"

# ---- calendars that disappear are shown as gone, with their roles kept ----
emu POST /_emu/reset "{\"scenario\": $(cat "$TOP/test/scenarios/demo.json")}" >/dev/null
trun calendars
expect_rc 0 "calendars after the mailbox changed"
check 'grep -E -A1 "^2 +Other calendars/Clinic rota +user +yes +pull " "$T/out" | tail -1 | grep -qx "     (gone)"' \
    "a vanished calendar is marked (gone), its role shown"
unset COLUMNS
trun calendars --cached
check '[ "$(widest "$T/out")" -le 80 ]' "not a terminal, no COLUMNS: the table fits 80 columns (ids cut)"
expect_out '^1 +Calendar +user +yes +pull,push +AAMk[^ ]*~$' "an id cut to the line ends with ~"
export COLUMNS=300
check '[ "$(db "select present from calendars where id = 2")" = 0 ]' "the store marks it absent"
check '[ "$(db "select count(*) from calendars where present = 1")" -eq 3 ]' "the new calendars are present"
trun calendars --json
check 'python3 -c "import json,sys; a=json.load(open(sys.argv[1])); sys.exit(0 if [o for o in a if o[\"number\"]==2 and o[\"present\"] is False] else 1)" "$T/out"' \
    "--json has present false for the vanished calendar"

# ---- the man page documents the command ----
check 'grep -q "^\.It Cm calendars" "$TOP/man/timetap-sync.1"' "the man page documents calendars"
