# SPDX-License-Identifier: ISC
# Family 44 (pull-many), crash recovery at every durable step over the
# scenarios (issue 12; lib.sh crash_scenarios: a first and an incremental
# pass of each entry, split over the 44-crash-every-* files): a mailbox
# with many events near and far (pull-many.json), two calendars pulled and
# pushed.
. "$TOP/test/lib.sh"

crash_scenarios <<'TABLE'
# name | scenario | login user | pull | push | first work | incremental work
pull-many | pull-many | ada@contoso.example
  | Calendar,Other calendars/Clinic rota | Calendar,Other calendars/Clinic rota
  | book "Appt 1" 1 19:00 30; book "Appt 2" 2 19:00 30; book "Appt 3" 3 19:00 30
  | o@ "Meeting 03" '{"op": "delete"}'; o@ "Meeting 07" '{"op": "delete"}';
    o@ "Far 02" '{"op": "move", "shift_minutes": 120}';
    o '{"op": "add", "event": {"subject": "Meeting 25", "start": "+13d09:00", "end": "+13d10:00", "showAs": "busy"}}';
    cancel "Appt 2"; book "Appt 4" 4 19:00 30
TABLE
