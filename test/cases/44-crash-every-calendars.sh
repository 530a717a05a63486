# SPDX-License-Identifier: ISC
# Family 44 (calendars), crash recovery at every durable step over the
# scenarios (issue 12; lib.sh crash_scenarios: a first and an incremental
# pass of each entry, split over the 44-crash-every-* files): the own
# calendar, a sub-calendar, a second calendar of the same name (pulled)
# and a group calendar (pushed to) of calendars.json.
. "$TOP/test/lib.sh"

crash_scenarios <<'TABLE'
# name | scenario | login user | pull | push | first work | incremental work
calendars | calendars | ada@contoso.example
  | Calendar,Other calendars/Clinic rota,Other calendars/Calendar
  | Calendar,Other calendars/Clinic rota,Front Desk Team (group)
  | book Haircut 1 15:00 30 --client Bob; book Colour 2 16:00 45;
    o '{"op": "add", "calendar": "Clinic rota", "event": {"subject": "Rota shift", "start": "+1d08:00", "end": "+1d12:00", "showAs": "busy"}}'
  | edit Haircut --subject "Haircut and beard"; cancel Colour; book Late 3 18:00 30;
    o@ Retrospective '{"op": "move", "shift_minutes": 90}';
    o@ "Rota shift" '{"op": "delete"}';
    o@ Haircut '{"op": "edit", "event": {"subject": "Renamed in Outlook"}}' "Clinic rota"
TABLE
