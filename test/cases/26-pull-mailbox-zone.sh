# SPDX-License-Identifier: ISC
# Family 26, pull: all-day events are floating dates in the staff member's
# own zone, which is the mailbox's (GET /me/mailboxSettings/timeZone, a
# Windows name mapped to IANA), never the cron host's; the time_zone
# setting takes precedence.  The zone is read at the first pass and once a
# day after; a zone change re-reads the calendars.  A zone that cannot be
# used (a custom one, or a login without MailboxSettings.Read) leaves the
# host's zone in charge, told in one line, once.  The host here is in
# America/New_York.
. "$TOP/test/lib.sh"

emu_start --scenario "$TOP/test/scenarios/pull-classify.json" || exit 1
export TZ=America/New_York
emu_config "retry_budget = 3"
zone() { outlook "{\"op\":\"time_zone\",\"timeZone\":\"$1\"}"; }
day=$(date -u -d '+5 day' +%F) next=$(date -u -d '+6 day' +%F)
outlook "{\"op\":\"add\",\"event\":{\"subject\":\"Zone day\",\"start\":\"$day\",\"end\":\"$next\",\"isAllDay\":true,\"showAs\":\"oof\"}}"
# The block's UTC start and end, and what local midnight is in zone $1.
blk() { db "SELECT strftime('%Y-%m-%dT%H:%MZ', start_utc, 'unixepoch') || ' ' || strftime('%Y-%m-%dT%H:%MZ', end_utc, 'unixepoch') FROM appointments WHERE kind = 'ext' AND subject = 'Zone day'"; }
mid() { python3 -c '
import sys
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo
z = ZoneInfo(sys.argv[1])
f = lambda d: datetime.combine(date.fromisoformat(d), time(0), z).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%MZ")
print(f(sys.argv[2]), f(sys.argv[3]))' "$1" "$day" "$next"; }
zreads() { nlog GET '*' '^/v1.0/me/mailboxSettings'; }

zone "Tokyo Standard Time"
BROWSER="$TOP/test/fake-browser.sh" run login
expect_rc 0 "login"
check 'db "SELECT scopes FROM accounts" | grep -q MailboxSettings.Read' "the login holds MailboxSettings.Read"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "the first pass"
expect_silent "is silent"
check '[ "$(blk)" = "$(mid Asia/Tokyo)" ]' "the mailbox's zone (Tokyo Standard Time) decides the all-day day: $(blk), want $(mid Asia/Tokyo)"
check '[ "$(zreads)" -eq 1 ]' "the mailbox's zone was read once ($(zreads))"
check '[ "$(db "SELECT mailbox_zone FROM accounts")" = "Tokyo Standard Time" ]' "and remembered as the service named it"
run appt list --from "$day" --to "$next"
expect_out "Zone day" "appt list shows the block (in the host's local time)"
emu DELETE /_emu/requests >/dev/null
run sync
expect_silent "the next pass is silent"
check '[ "$(zreads)" -eq 0 ]' "and does not read the zone again within the day"

# The zone changes in Outlook; a day later the pass reads it and the
# calendars again.
zone "Pacific Standard Time"
db "UPDATE accounts SET mailbox_zone_at = mailbox_zone_at - 86400"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "the pass a day later"
expect_silent "is silent"
check '[ "$(zreads)" -eq 1 ]' "it read the zone again"
check '[ "$(blk)" = "$(mid America/Los_Angeles)" ]' "the block follows the new zone (Pacific): $(blk), want $(mid America/Los_Angeles)"

# time_zone takes precedence, and saves the request.
emu_config "retry_budget = 3" "time_zone = Europe/Berlin"
db "UPDATE accounts SET mailbox_zone_at = mailbox_zone_at - 86400"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "a pass with time_zone = Europe/Berlin"
expect_silent "is silent"
check '[ "$(blk)" = "$(mid Europe/Berlin)" ]' "time_zone decides: $(blk), want $(mid Europe/Berlin)"
check '[ "$(zreads)" -eq 0 ]' "the mailbox's zone is not read"
emu_config "retry_budget = 3"

# The service may name the zone the IANA way; the name is used as given.
zone "Asia/Tokyo"
db "UPDATE accounts SET mailbox_zone_at = 1"
run sync
expect_rc 0 "a pass with the mailbox zone named Asia/Tokyo"
expect_silent "is silent"
check '[ "$(blk)" = "$(mid Asia/Tokyo)" ]' "an IANA name from the service decides: $(blk), want $(mid Asia/Tokyo)"

# A custom zone names no zone: the host's decides, told once.
zone "Customized Time Zone"
db "UPDATE accounts SET mailbox_zone_at = 1"
run sync
expect_rc 0 "a pass with the mailbox in a custom zone exits 0"
expect_err "^timetap-sync: profile default: the mailbox's time zone \"Customized Time Zone\" names no zone known here: all-day events take this host's \(America/New_York\); set time_zone to choose one$" \
    "one line names the value, the host's zone and time_zone"
check '[ "$(grep -c . "$T/err")" -eq 1 ]' "and nothing else"
check '[ "$(blk)" = "$(mid America/New_York)" ]' "the host's zone decides: $(blk), want $(mid America/New_York)"
db "UPDATE accounts SET mailbox_zone_at = 1"
run sync
expect_silent "read again unchanged: not told again"
# The service's text reaches the terminal made safe (no escape sequence).
zone "$(printf 'Evil\\u001b[31m zone')"
db "UPDATE accounts SET mailbox_zone_at = 1"
run sync
expect_rc 0 "a pass with a zone name holding an escape sequence"
check '[ "$(db "SELECT instr(mailbox_zone, char(27)) FROM accounts")" = 0 ] && ! grep -q "$(printf "\033")" "$T/err" && grep -q "names no zone known here" "$T/err"' \
    "the service sent an escape character: neither the store nor the line holds it"

# A login made before MailboxSettings.Read was asked for: no request, the
# host's zone, one line naming the way out.
zone "Tokyo Standard Time"
db "UPDATE accounts SET scopes = 'openid profile offline_access User.Read Calendars.ReadWrite', mailbox_zone = NULL, mailbox_zone_at = 0"
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "a pass of a login without MailboxSettings.Read exits 0"
expect_err "the mailbox's time zone needs the MailboxSettings.Read permission, which this login lacks \(\`login\` again grants it\): all-day events take this host's \(America/New_York\)" \
    "one line says a login grants it"
check '[ "$(zreads)" -eq 0 ]' "no request that would be refused"
check '[ "$(blk)" = "$(mid America/New_York)" ]' "the host's zone decides"
db "UPDATE accounts SET mailbox_zone_at = 1"
run sync
expect_silent "the next day: not told again"

# The service refuses the read (403 ErrorAccessDenied, e.g. a consent
# withdrawn in the tenant): the same, and the rest of the pass goes on.
db "UPDATE accounts SET scopes = scopes || ' MailboxSettings.Read', mailbox_zone_at = 0"
fault '{"kind": "status", "status": 403, "code": "ErrorAccessDenied", "message": "Access is denied. Check credentials and try again.", "match": {"path": "mailboxSettings"}, "times": 5}'
outlook "{\"op\":\"add\",\"event\":{\"subject\":\"Added later\",\"start\":\"$(date -u -d '+2 day' +%F)T09:00:00Z\",\"end\":\"$(date -u -d '+2 day' +%F)T10:00:00Z\",\"showAs\":\"busy\"}}"
run sync
expect_rc 0 "a pass whose zone read is refused exits 0"
expect_err "the mailbox's time zone is not readable: all-day events take this host's \(America/New_York\)" "one line says so"
check '[ "$(blk)" = "$(mid America/New_York)" ]' "the host's zone decides"
check 'has "Added later"' "the rest of the pass went on (a new event blocks)"
nofault
