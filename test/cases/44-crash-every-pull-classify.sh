# SPDX-License-Identifier: ISC
# Family 44 (pull-classify), crash recovery at every durable step over the
# scenarios (issue 12; lib.sh crash_scenarios: a first and an incremental
# pass of each entry, split over the 44-crash-every-* files): a mailbox of
# every showAs, all-day and multi-day events, a series with exceptions and
# another install's event (pull-classify.json).
. "$TOP/test/lib.sh"

crash_scenarios <<'TABLE'
# name | scenario | login user | pull | push | first work | incremental work
pull-classify | pull-classify | ada@contoso.example
  | Calendar,Other calendars/Clinic rota | Calendar
  | book Trim 1 19:00 30
  | o@ "Free lunch" '{"op": "showas", "showAs": "busy"}';
    o@ "Busy meeting" '{"op": "cancel"}';
    o@ "Tentative demo" '{"op": "showas", "showAs": "oof"}';
    o@ Standup '{"op": "delete_occurrence", "index": 2}';
    edit Trim --subject "Trim and wash"; book Styling 2 19:00 60
TABLE
