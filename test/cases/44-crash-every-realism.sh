# SPDX-License-Identifier: ISC
# Family 44 (realism), crash recovery at every durable step over the
# scenarios (issue 12; lib.sh crash_scenarios: a first and an incremental
# pass of each entry, split over the 44-crash-every-* files): the
# realistic world (realism.json): a writable calendar shared by Bob, a
# Teams calendar, Teams links replaced in Outlook, the mailbox's time zone
# changed, a series on Bob's calendar.
. "$TOP/test/lib.sh"

crash_scenarios <<'TABLE'
# name | scenario | login user | pull | push | first work | incremental work
realism | realism | ada@fabrikam.example
  | Calendar,Other calendars/Bob's calendar
  | Calendar,Other calendars/Bob's calendar,Team 1 (group)
  | book Consult 2 09:00 30 --client Dora; book "Video call" 2 10:00 30 --online
  | book "New video call" 4 11:00 45 --online;
    o@ "Video call" '{"op": "edit", "event": {"isOnlineMeeting": false}}' Calendar;
    o@ "Video call" '{"op": "edit", "event": {"isOnlineMeeting": true}}' Calendar;
    o '{"op": "time_zone", "timeZone": "Tokyo Standard Time"}';
    sql "UPDATE accounts SET mailbox_zone_at = 1";
    o "{\"op\": \"add\", \"calendar\": \"Bob's calendar\", \"event\": {\"subject\": \"Bob's rounds\", \"start\": \"+1d13:00\", \"end\": \"+1d14:00\", \"showAs\": \"busy\", \"recurrence\": {\"pattern\": {\"type\": \"weekly\", \"interval\": 1}, \"range\": {\"type\": \"numbered\", \"numberOfOccurrences\": 3}}}}";
    o '{"op": "add", "event": {"subject": "Offsite", "start": "+5d", "end": "+6d", "isAllDay": true, "showAs": "oof"}}'
TABLE
