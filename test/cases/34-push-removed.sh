# Family 34, push: "@removed" is not "deleted".  A delta @removed for one
# of our events also means "moved out of the window" (graph-api.md s.10.1):
# the tool writes it again (set back) and creates it anew only when that
# answers 404 -- in the same pass, exactly once.
. "$TOP/test/lib.sh"

emu_setup demo "retry_budget = 5"
export BROWSER="$TOP/test/fake-browser.sh"
trun login
expect_rc 0 "login"
run appt add --start "$(d 2)T13:00Z" --end "$(d 2)T13:30Z" --subject Massage --force
a=$(cat "$T/out")
run sync
expect_rc 0 "the first pass pushes"
mine() { remote_events Massage | awk '{print $1, $2, $3}'; }
check '[ "$(mine | wc -l)" -eq 1 ]' "one event of ours"
ev=$(mine | awk '{print $2}')

# Someone moves it a year on, out of the window: @removed in the delta.
outlook "{\"op\":\"edit\",\"id\":\"$ev\",\"event\":{\"start\":\"$(d 400)T13:00:00Z\",\"end\":\"$(d 400)T13:30:00Z\"}}"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "the pass after the move"
expect_silent "silently"
check '[ "$(mine | wc -l)" -eq 1 ] && [ "$(mine | awk "{print \$2}")" = "$ev" ]' "still one event, the same one (not re-created)"
check '[ "$(mine | awk "{print \$3}")" = "$(d 2)T13:00:00Z" ]' "set back to the book's time"
check '[ "$(nlog POST "*" "events$")" -eq 0 ] && [ "$(nlog PATCH "*" "/events/")" -eq 1 ]' "one PATCH, no create"

# Deleted for real: @removed, the PATCH answers 404, created anew at once.
outlook "{\"op\":\"delete\",\"id\":\"$ev\"}"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "the pass after a real delete"
expect_silent "silently"
check '[ "$(mine | wc -l)" -eq 1 ] && [ "$(mine | awk "{print \$2}")" != "$ev" ]' "created anew, once"
check '[ "$(nlog PATCH "*" "/events/")" -eq 1 ] && [ "$(nlog POST "*" "events$")" -eq 1 ]' "one PATCH (404), then one create, in the same pass"
emu DELETE /_emu/requests >/dev/null
run sync
check '[ "$(writes)" -eq 0 ]' "the next pass writes nothing"
