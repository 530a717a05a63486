# Family 20, pull: `sync` without -s passes over every connected profile;
# one failing profile does not stop the others, the exit code is the most
# serious one, the message names the profile; -s runs one profile only.
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 2"

BROWSER="$TOP/test/fake-browser.sh" run login
expect_rc 0 "login of the default profile (ada)"
emu POST /_emu/config '{"login_user": "grace@contoso.example"}' >/dev/null
BROWSER="$TOP/test/fake-browser.sh" run -s grace login
expect_rc 0 "login of profile grace"
expect_out "grace@contoso.example" "profile grace is grace's account"

run sync
expect_rc 0 "sync of both profiles"
expect_silent "silent"
check '[ "$(nblk default)" -gt 5 ] && has "Budget review with finance" default' "ada's blocks are in ada's profile"
check '[ "$(nblk grace)" = 1 ] && has "Supplier call" grace' "grace's block is in grace's profile"
check '! has "Budget review with finance" grace' "profiles do not mix"

# Ada's mailbox refuses every request; grace's change still arrives.
emu POST /_emu/outlook '{"user": "grace@contoso.example", "op": "add", "event": {"subject": "Grace new", "start": "+2d10:00", "end": "+2d11:00", "showAs": "busy"}}' >/dev/null
emu POST /_emu/config '{"budget": {"ada@contoso.example": 0}, "reset_requests": true}' >/dev/null
n_ada=$(nblk default)
run sync
expect_rc 75 "one profile throttled away: exit 75"
expect_err '^timetap-sync: profile default: ' "the message names the failing profile"
check '! grep -q "profile grace" "$T/err"' "nothing is reported for the healthy profile"
check 'has "Grace new" grace' "the other profile was synced"
check '[ "$(nblk default)" = "$n_ada" ]' "the failing profile kept its blocks"
emu POST /_emu/config '{"budget": {}, "reset_requests": true}' >/dev/null

# -s: one profile only.
emu POST /_emu/outlook '{"user": "grace@contoso.example", "op": "add", "event": {"subject": "Grace later", "start": "+3d10:00", "end": "+3d11:00", "showAs": "busy"}}' >/dev/null
emu DELETE /_emu/requests >/dev/null
run -s default sync
expect_rc 0 "sync -s default"
check '! has "Grace later" grace' "-s default does not sync grace"
check '[ "$(nreq "r[\"mailbox\"] == \"grace@contoso.example\"")" = 0 ]' "-s default sends nothing to grace's mailbox"
run -s grace sync
expect_rc 0 "sync -s grace"
check 'has "Grace later" grace' "-s grace syncs grace"
run -s nobody sync
expect_rc 77 "sync -s of an unknown profile: login needed (77)"
expect_err 'nobody' "the message names the profile"
run -s grace appt list --json
expect_no_out "Budget review" "appt list -s grace shows grace's book only"
