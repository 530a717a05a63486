# SPDX-License-Identifier: ISC
# Family 44 (pull-incremental), crash recovery at every durable step over
# the scenarios (issue 12; lib.sh crash_scenarios: a first and an
# incremental pass of each entry, split over the 44-crash-every-* files):
# every kind of change in Outlook the delta brings
# (pull-incremental.json): edits, moves, deletes, showAs, a cancellation,
# a series renamed and one deleted, an event moved out of the window.
. "$TOP/test/lib.sh"

crash_scenarios <<'TABLE'
# name | scenario | login user | pull | push | first work | incremental work
pull-incremental | pull-incremental | ada@contoso.example
  | Calendar,Other calendars/Clinic rota | Calendar
  | book Session 1 19:00 30
  | o@ "Edit me" '{"op": "edit", "event": {"subject": "Edited"}}';
    o@ "Move me" '{"op": "move", "shift_minutes": 60}';
    o@ "Delete me" '{"op": "delete"}';
    o@ "Free me" '{"op": "showas", "showAs": "free"}';
    o@ "Cancel me" '{"op": "cancel"}';
    o@ "Move out" '{"op": "edit", "event": {"start": "+200d09:00", "end": "+200d10:00"}}';
    o@ "Become busy" '{"op": "showas", "showAs": "busy"}';
    o@ Daily '{"op": "edit", "event": {"subject": "Daily (renamed)"}}';
    o@ "Series gone" '{"op": "delete"}';
    edit Session --subject "Session 2"; book Extra 2 19:00 30
TABLE
