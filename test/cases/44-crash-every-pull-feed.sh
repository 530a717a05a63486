# SPDX-License-Identifier: ISC
# Family 44 (pull-feed), crash recovery at every durable step over the
# scenarios (issue 12; lib.sh crash_scenarios: a first and an incremental
# pass of each entry, split over the 44-crash-every-* files): the feed's
# mailbox (pull-feed.json): busy, free, tentative and cancelled items;
# changes that touch only the changeKey.
. "$TOP/test/lib.sh"

crash_scenarios <<'TABLE'
# name | scenario | login user | pull | push | first work | incremental work
pull-feed | pull-feed | ada@contoso.example | Calendar | Calendar
  | book Walk-in 1 19:00 30
  | o@ "Item 13 free" '{"op": "showas", "showAs": "busy"}';
    o@ "Item 01 busy" '{"op": "categorize", "categories": ["Red"]}';
    o@ "Item 02 busy" '{"op": "dismiss_reminder"}';
    o@ "Item 03 busy" '{"op": "delete"}';
    edit Walk-in --subject "Walk-in (regular)"; book Drop-in 2 19:00 30
TABLE
