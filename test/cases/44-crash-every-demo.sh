# SPDX-License-Identifier: ISC
# Family 44 (demo), crash recovery at every durable step over the
# scenarios (issue 12; lib.sh crash_scenarios: a first and an incremental
# pass of each entry, split over the 44-crash-every-* files): the demo
# world (demo.json): a daily series with an exception and a deleted
# occurrence, online appointments, the group calendar.
. "$TOP/test/lib.sh"

crash_scenarios <<'TABLE'
# name | scenario | login user | pull | push | first work | incremental work
demo | demo | ada@contoso.example
  | Calendar,Other calendars/Clinic rota,Front Desk Team (group)
  | Calendar,Front Desk Team (group)
  | book Consult 1 19:00 30 --client Bob; book "Video consult" 3 22:00 30 --online
  | edit Consult --start "$(d 1)T20:00Z" --end "$(d 1)T20:30Z"; cancel "Video consult";
    book "Late client" 3 21:00 45 --online;
    o@ "Daily stand-up" '{"op": "edit_occurrence", "index": 2, "event": {"subject": "Stand-up (moved)", "start": "+1d10:00", "end": "+1d10:15"}}';
    o@ "Patient records audit" '{"op": "delete"}';
    o '{"op": "add", "calendar": "group:@group:Front Desk Team@", "event": {"subject": "Desk cover", "start": "+2d13:00", "end": "+2d14:00", "showAs": "busy"}}'
TABLE
