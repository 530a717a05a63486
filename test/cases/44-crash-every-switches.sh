# SPDX-License-Identifier: ISC
# Family 44 (switches), crash recovery at every durable step over the
# scenarios (issue 12; lib.sh crash_scenarios: a first and an incremental
# pass of each entry, split over the 44-crash-every-* files): a mailbox in
# W. Europe time, then Pacific time (switches.json): a series occurrence
# moved, a group calendar pulled and pushed.
. "$TOP/test/lib.sh"

crash_scenarios <<'TABLE'
# name | scenario | login user | pull | push | first work | incremental work
switches | switches | ada@contoso.example
  | Calendar,Other calendars/Clinic rota,Night Shift (group)
  | Calendar,Night Shift (group)
  | book Intake 1 19:00 30; book Review 2 19:00 30
  | o@ "Weekly review" '{"op": "edit_occurrence", "index": 4, "event": {"subject": "Weekly review (moved)", "start": "+14d12:00", "end": "+14d13:00"}}';
    o@ "Clinic shift" '{"op": "showas", "showAs": "oof"}';
    o '{"op": "time_zone", "timeZone": "Pacific Standard Time"}';
    sql "UPDATE accounts SET mailbox_zone_at = 1";
    o '{"op": "add", "calendar": "group:@group:Night Shift@", "event": {"subject": "Night cover", "start": "+2d22:00", "end": "+3d06:00", "showAs": "busy"}}';
    edit Intake --subject "Intake (new client)"; cancel Review
TABLE
