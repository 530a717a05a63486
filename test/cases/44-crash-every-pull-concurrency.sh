# SPDX-License-Identifier: ISC
# Family 44 (pull-concurrency), crash recovery at every durable step over
# the scenarios (issue 12; lib.sh crash_scenarios: a first and an
# incremental pass of each entry, split over the 44-crash-every-* files):
# six calendars read concurrently (pull-concurrency.json), two of them
# pushed to.
. "$TOP/test/lib.sh"

crash_scenarios <<'TABLE'
# name | scenario | login user | pull | push | first work | incremental work
pull-concurrency | pull-concurrency | ada@contoso.example
  | Calendar,Other calendars/Rota A,Other calendars/Rota B,Other calendars/Rota C,Other calendars/Rota D,Other calendars/Rota E
  | Calendar,Other calendars/Rota A
  | book Check-up 1 19:00 30; book Follow-up 2 19:00 30
  | o@ "Rota C #2" '{"op": "edit", "event": {"subject": "Rota C #2 (renamed)"}}';
    o@ "Rota E #3" '{"op": "delete"}';
    o '{"op": "add", "calendar": "Rota B", "event": {"subject": "Rota B #4", "start": "+3d15:00", "end": "+3d16:00", "showAs": "busy"}}';
    edit Check-up --start "$(d 1)T20:00Z" --end "$(d 1)T20:45Z"; cancel Follow-up
TABLE
