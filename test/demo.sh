#!/bin/sh
# make demo: a walk through what timetap-sync does today, in a scratch
# directory, against the bundled Graph emulator where needed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BIN=$top/timetap-sync
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
export TIMETAP_SYNC_DB="$D/timetap.db" TIMETAP_SYNC_CONFIG="$D/config"
: >"$TIMETAP_SYNC_CONFIG"
day=$(date -d tomorrow +%Y-%m-%d)
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
tt() { say "timetap-sync $*"; "$BIN" "$@" || echo "(exit $?)"; }

echo "timetap-sync demo: the appointment book (database in $D)"
tt appt add --start "${day}T09:00" --end "${day}T10:00" --subject "Haircut" --client "Bob"
tt appt add --start "${day}T10:00" --end "${day}T10:45" --subject "Consultation" --client "Alice" --online
tt appt add --start "${day}T09:30" --end "${day}T10:30" --subject "Colour"
echo "(refused: it overlaps a booking; --force would book it anyway)"
tt appt edit 1 --end "${day}T09:30"
tt appt list
tt appt show 2
tt appt cancel 1
tt appt list --json
echo
echo "Next to come: login to Microsoft 365, calendars, sync, feed, stop."
