# SPDX-License-Identifier: ISC
# Family 44 (pull-faults), crash recovery at every durable step over the
# scenarios (issue 12; lib.sh crash_scenarios: a first and an incremental
# pass of each entry, split over the 44-crash-every-* files): the faults'
# mailbox (pull-faults.json), pushing to the sub-calendar only.
. "$TOP/test/lib.sh"

crash_scenarios <<'TABLE'
# name | scenario | login user | pull | push | first work | incremental work
pull-faults | pull-faults | ada@contoso.example
  | Calendar,Other calendars/Clinic rota | Other calendars/Clinic rota
  | book Xray 1 19:00 30; book Yoga 2 19:30 30
  | o@ "Event 3" '{"op": "showas", "showAs": "free"}';
    o@ "Event 5" '{"op": "move", "shift_minutes": 30}';
    o@ "Clinic 1" '{"op": "delete"}';
    cancel Xray; book Zumba 3 19:00 45
TABLE
