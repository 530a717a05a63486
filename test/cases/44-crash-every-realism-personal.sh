# SPDX-License-Identifier: ISC
# Family 44 (realism-personal), crash recovery at every durable step over
# the scenarios (issue 12; lib.sh crash_scenarios: a first and an
# incremental pass of each entry, split over the 44-crash-every-* files):
# a personal Microsoft account (realism.json as pat@outlook.example): no
# group calendars, no Teams meetings.
. "$TOP/test/lib.sh"

crash_scenarios <<'TABLE'
# name | scenario | login user | pull | push | first work | incremental work
realism-personal | realism | pat@outlook.example | Calendar | Calendar
  | book Physio 1 08:00 30; book Massage 2 08:00 60
  | o@ "Pat: yoga" '{"op": "move", "shift_minutes": 60}';
    o '{"op": "add", "event": {"subject": "Pat: run", "start": "+3d07:00", "end": "+3d08:00", "showAs": "busy"}}';
    edit Physio --subject "Physio follow-up"; cancel Massage
TABLE
