# SPDX-License-Identifier: ISC
# Family 23, pull in time zones west and east of UTC, with DST changes:
# America/New_York, Asia/Tokyo, Europe/Berlin and Australia/Sydney.  For
# each zone (own database, the mailbox in that zone as Outlook names it, TZ
# set for every run; Sydney from time_zone): all-day events block local
# midnight to local midnight (23 or 25 hours on a DST-change day, also when
# a multi-day event spans it), timed events show their local wall times in
# appt list and feed, an event crossing local midnight is one block, the
# window's first and last local days are loaded and an all-day event the
# service returns although it lies outside the local window is reported as
# outside.  The DST dates are the zone's next transition (found with
# zoneinfo), e.g. 2027-03-14 (US), 2027-03-28 (EU), 2027-04-04 (AU).
. "$TOP/test/lib.sh"

emu_start --scenario "$TOP/test/scenarios/pull-classify.json" || exit 1
PAST=7 FUTURE=400

# Per zone: create the events, print shell assignments of what to expect.
cat >"$T/zone.py" <<'EOF'
import json, sys, urllib.request
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo
base, zname, tag, past, future = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
z = ZoneInfo(zname)
today = datetime.now(z).date()
def mid(d):				# local midnight -> UTC datetime
    return datetime.combine(d, time(0), z).astimezone(timezone.utc)
def utc(d, hh, mm):			# local wall time -> UTC datetime
    return datetime.combine(d, time(hh, mm), z).astimezone(timezone.utc)
def z_(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")
def add(subject, start, end, allday=False):
    ev = {"subject": "%s %s" % (tag, subject), "start": start, "end": end, "showAs": "busy"}
    if allday:
        ev["isAllDay"] = True
    req = urllib.request.Request(base + "/_emu/outlook", method="POST",
                                 data=json.dumps({"op": "add", "event": ev}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=30).read()
out = {}
def put(k, v):
    out[k] = v
ws, we = mid(today - timedelta(days=past)), mid(today + timedelta(days=future + 1))
# all-day, timed, midnight-crossing
a = today + timedelta(days=3)
add("all-day", a.isoformat(), (a + timedelta(days=1)).isoformat(), True)
put("A", a.isoformat()); put("A1", (a + timedelta(days=1)).isoformat())
put("A_S", z_(mid(a))); put("A_E", z_(mid(a + timedelta(days=1))))
b = today + timedelta(days=4)
add("nine", z_(utc(b, 9, 0)), z_(utc(b, 10, 15)))
put("B", b.isoformat()); put("B_S", z_(utc(b, 9, 0)))
c = today + timedelta(days=5)
add("late", z_(utc(c, 23, 0)), z_(utc(c + timedelta(days=1), 1, 30)))
put("C", c.isoformat()); put("C1", (c + timedelta(days=1)).isoformat())
# the next DST change
d = None
for i in range(2, future - 3):
    x = today + timedelta(days=i)
    if utc(x, 12, 0).utcoffset() is None:
        break
    o1 = datetime.combine(x, time(12), z).utcoffset()
    o0 = datetime.combine(x - timedelta(days=1), time(12), z).utcoffset()
    if o1 != o0:
        d = x
        break
if d is not None:
    add("dst all-day", d.isoformat(), (d + timedelta(days=1)).isoformat(), True)
    add("dst 3 days", (d - timedelta(days=1)).isoformat(), (d + timedelta(days=2)).isoformat(), True)
    add("dst timed", z_(utc(d, 1, 30)), z_(utc(d, 4, 30)))
    put("D", d.isoformat()); put("D1", (d + timedelta(days=1)).isoformat())
    put("D_HOURS", int((mid(d + timedelta(days=1)) - mid(d)).total_seconds() // 3600))
    put("D3_HOURS", int((mid(d + timedelta(days=2)) - mid(d - timedelta(days=1))).total_seconds() // 3600))
    put("DT_MIN", int((utc(d, 4, 30) - utc(d, 1, 30)).total_seconds() // 60))
else:
    put("D", "")
# the window's edges, as all-day events: expected loaded / outside / absent
for name, day in (("first", today - timedelta(days=past)), ("last", today + timedelta(days=future)),
                  ("before", today - timedelta(days=past + 1)), ("after", today + timedelta(days=future + 1))):
    add("edge " + name, day.isoformat(), (day + timedelta(days=1)).isoformat(), True)
    es = datetime.combine(day, time(0), timezone.utc)		# as the service compares it
    ee = es + timedelta(days=1)
    served = es < we and ee > ws
    inside = mid(day + timedelta(days=1)) > ws and mid(day) < we
    put("EDGE_" + name, "loaded" if served and inside else "outside" if served else "absent")
for k, v in out.items():
    print("%s='%s'" % (k, v))
EOF

# The staff member's zone is the mailbox's (Outlook names it the Windows
# way); TZ, the same zone here, is for the local times shown.
ZONES="America/New_York:NY:Eastern_Standard_Time Asia/Tokyo:TYO:Tokyo_Standard_Time Europe/Berlin:BER:W._Europe_Standard_Time Australia/Sydney:SYD:UTC"
for zt in $ZONES; do
	zone=${zt%%:*} tag=${zt#*:} win=${zt##*:}
	tag=${tag%%:*}
	export TZ="$zone" TIMETAP_SYNC_DB="$T/$tag/timetap.db"
	mkdir -p -m 700 "$T/$tag"
	outlook "{\"op\":\"time_zone\",\"timeZone\":\"$(echo "$win" | tr _ ' ')\"}"
	emu_config "retry_budget = 3" "window_past_days = $PAST" "window_future_days = $FUTURE"
	# Sydney comes from the configuration, on a host whose TZ is UTC
	# and a mailbox in UTC: neither decides the staff member's days.
	if [ "$tag" = SYD ]; then
		export TZ=UTC
		emu_config "retry_budget = 3" "window_past_days = $PAST" \
		    "window_future_days = $FUTURE" "time_zone = $zone"
	fi
	eval "$(python3 "$T/zone.py" "$EMU" "$zone" "$tag" "$PAST" "$FUTURE")"
	BROWSER="$TOP/test/fake-browser.sh" run login
	expect_rc 0 "$zone: login"
	run sync
	expect_rc 0 "$zone: sync"
	expect_silent "$zone: silent"
	blk() { db "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', start_utc, 'unixepoch') || '|' || strftime('%Y-%m-%dT%H:%M:%SZ', end_utc, 'unixepoch') FROM appointments WHERE kind = 'ext' AND subject = '$tag $1'"; }
	hours() { db "SELECT (end_utc - start_utc) / 3600 FROM appointments WHERE kind = 'ext' AND subject = '$tag $1'"; }

	check '[ "$(blk all-day)" = "$A_S|$A_E" ]' "$zone: an all-day event blocks local midnight to local midnight ($A_S)"
	run appt list --from "$A" --to "$(date -d "$A + 10 days" +%F)"
	expect_out "^[0-9]+ +$A 00:00 +$A1 00:00 +\[ext\] $tag all-day" "$zone: appt list shows the all-day block as $A 00:00 - $A1 00:00"
	expect_out "^[0-9]+ +$B 09:00 +$B 10:15 +\[ext\] $tag nine" "$zone: appt list shows a timed event at its local time (09:00-10:15)"
	expect_out "^[0-9]+ +$C 23:00 +$C1 01:30 +\[ext\] $tag late" "$zone: an event crossing local midnight is one block, 23:00 to 01:30"
	run appt list --from "$B" --to "$C" --json
	expect_out "\"starts_at\": \"$B_S\"" "$zone: appt list --json gives the UTC instant ($B_S)"
	run feed --all
	expect_out "^[0-9]+ +$A 00:00 +$A1 00:00 +$tag all-day " "$zone: the feed shows the all-day block in local time"
	expect_out "^[0-9]+ +$B 09:00 +$B 10:15 +$tag nine " "$zone: the feed shows the timed block in local time"

	if [ -n "$D" ]; then
		check '[ "$(hours "dst all-day")" = "$D_HOURS" ]' "$zone: on the DST-change day $D an all-day event blocks the local day ($D_HOURS hours)"
		check '[ "$(hours "dst 3 days")" = "$D3_HOURS" ]' "$zone: a 3-day all-day event across $D blocks $D3_HOURS hours"
		check '[ "$(db "SELECT (end_utc - start_utc) / 60 FROM appointments WHERE subject = '"'"'$tag dst timed'"'"'")" = "$DT_MIN" ]' "$zone: a timed event across the change lasts $DT_MIN real minutes"
		run appt list --from "$D" --to "$D1"
		expect_out "^[0-9]+ +$D 00:00 +$D1 00:00 +\[ext\] $tag dst all-day" "$zone: the DST-day block shows as $D 00:00 - $D1 00:00"
		expect_out "^[0-9]+ +$D 01:30 +$D 04:30 +\[ext\] $tag dst timed" "$zone: the event across the change shows 01:30 - 04:30 local"
	else
		echo "# $zone: no DST change within the window"
	fi

	run feed --all --json
	cp "$T/out" "$T/feed.json"
	for e in first last before after; do
		eval "want=\$EDGE_$e"
		case $e in
		first|last) where="on the window's $e local day" ;;
		*) where="on the local day $e the window" ;;
		esac
		got=$(python3 -c '
import json, sys
r = [x for x in json.load(open(sys.argv[1])) if x["subject"] == sys.argv[2]]
print("absent" if not r else "loaded" if r[0]["loaded"] else r[0]["reason"])' "$T/feed.json" "$tag edge $e")
		check '[ "$got" = "$want" ]' "$zone: an all-day event $where: $want (got $got)"
	done
	check '[ "$(db "SELECT count(*) FROM appointments WHERE subject IN ('"'"'$tag edge before'"'"', '"'"'$tag edge after'"'"')")" = 0 ]' "$zone: no block outside the local window"
	run sync
	expect_silent "$zone: the next pass is silent"
done
