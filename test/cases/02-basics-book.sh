# Family 02, basics: the appointment book (add, list, show, edit, cancel),
# overlaps, [ext] refusal, JSON, time zones on both sides of UTC.
. "$TOP/test/lib.sh"

run appt add --start 2030-01-07T09:00 --end 2030-01-07T10:00 --subject "Haircut" --client "Bob"
expect_rc 0 "add"
expect_out '^1$' "add prints the new id"
run appt add --start 2030-01-07T09:30 --end 2030-01-07T10:30 --subject "Colour"
expect_rc 65 "an overlapping booking is refused"
expect_err 'overlaps appointment 1 "Haircut"' "the refusal names the conflict"
run appt add --start 2030-01-07T10:00 --end 2030-01-07T10:30 --subject "Colour"
expect_rc 0 "a booking touching the end is fine"
run appt add --start 2030-01-07T09:30 --end 2030-01-07T10:30 --subject "Double" --force
expect_rc 0 "--force books over an overlap"
run appt add --start 2030-01-07T11:00 --end 2030-01-07T10:00 --subject "Backwards"
expect_rc 64 "end before start"
run appt add --start 2030-01-07T11:00 --end 2030-01-07T12:00
expect_rc 64 "missing subject"
run appt add --start soon --end 2030-01-07T12:00 --subject x
expect_rc 64 "bad time"
expect_err "bad time 'soon'" "bad time named"
run appt add --start 2030-01-07T11:00 --end 2030-01-07T12:00 --subject "$(printf 'a\033[31mb')"
expect_rc 64 "control characters in a subject are refused"
run appt add --start 2030-01-07T11:00 --end 2030-01-07T12:00 --subject x --bogus
expect_rc 64 "unknown option"

run appt list --from 2030-01-07 --to 2030-01-08
expect_rc 0 "list"
expect_out '^1 +2030-01-07 09:00 +2030-01-07 10:00 +Haircut +Bob' "list shows the booking in local time"
check '[ "$(grep -c "^[0-9]" "$T/out")" -eq 3 ]' "list shows the three bookings"
run appt list
expect_out 'Haircut' "list without --from shows upcoming items"
run appt list --from 2030-01-08
expect_silent "list --from after everything is empty"

run appt show 1
expect_rc 0 "show"
expect_out '^Subject: +Haircut' "show has the subject"
expect_out '^Client: +Bob' "show has the client"
run appt show 99
expect_rc 65 "show of an unknown id"
run appt show abc
expect_rc 64 "show of a non-number"

run appt edit 1 --subject "Haircut and beard" --end 2030-01-07T09:45
expect_rc 65 "an edit still overlapping a forced booking is refused"
run appt edit 1 --client "Bob" --online
expect_rc 0 "an edit of the text or the online flag alone is not checked for overlap again"
run appt edit 1 --no-online
run appt cancel 3
expect_rc 0 "cancel"
run appt cancel 3
expect_rc 0 "cancelling twice is harmless"
run appt edit 1 --subject "Haircut and beard" --end 2030-01-07T09:45
expect_rc 0 "edit"
run appt show 1 --json
expect_out '"subject": "Haircut and beard"' "edit changed the subject"
expect_out '"ends_at": "2030-01-07T09:45:00Z"' "edit changed the end"
expect_out '"client": "Bob"' "edit kept the client"
run appt edit 1 --start 2030-01-07T10:10 --end 2030-01-07T10:20
expect_rc 65 "edit into an overlap is refused"
run appt edit 1
expect_rc 64 "edit with nothing to change"
run appt list --from 2030-01-07 --to 2030-01-08
expect_no_out 'Double' "a cancelled booking is not listed"
run appt show 3
expect_out '^Status: +cancelled' "show marks it cancelled"
run appt add --start 2030-01-07T09:50 --end 2030-01-07T09:55 --subject "In the freed slot"
expect_rc 0 "a slot freed by a cancellation can be booked"

# [ext] blocks, as the sync writes them: read-only, marked, and they block.
db "INSERT INTO calendars (profile_id, remote_id, kind, name, path, can_edit)
    VALUES (1, 'AAMkCal', 'user', 'Calendar', 'Calendar', 1);
    INSERT INTO appointments (profile_id, kind, start_utc, end_utc, subject,
      source_calendar_id, source_event_id, remote_modified)
    VALUES (1, 'ext', strftime('%s','2030-01-08T13:00:00'),
      strftime('%s','2030-01-08T14:00:00'), 'Board meeting', 1, 'AAMkEv1',
      '2030-01-01T08:00:00Z');"
ext=$(db "SELECT id FROM appointments WHERE kind = 'ext'")
run appt list --from 2030-01-08 --to 2030-01-09
expect_out "^$ext +2030-01-08 13:00 +2030-01-08 14:00 +\[ext\] Board meeting" "list marks the block [ext]"
run appt show "$ext"
expect_out '\[ext\]' "show marks the block [ext]"
expect_out 'external calendar "Calendar"' "show names the source calendar"
run appt edit "$ext" --subject "Mine now"
expect_rc 65 "editing an [ext] item is refused"
expect_err "comes from an external calendar \(Calendar\) and must be changed there" "the refusal says where to change it"
run appt cancel "$ext"
expect_rc 65 "cancelling an [ext] item is refused"
check '[ "$(db "SELECT subject FROM appointments WHERE id = $ext")" = "Board meeting" ]' "the block is unchanged"
run appt add --start 2030-01-08T13:30 --end 2030-01-08T15:00 --subject "Client call"
expect_rc 65 "booking over an [ext] block is refused"
expect_err "overlaps \[ext\] $ext \"Board meeting\"" "the refusal names the block"
run appt list --from 2030-01-08 --to 2030-01-09 --json
expect_out '"kind": "ext"' "JSON has the kind"
expect_out '"calendar": "Calendar"' "JSON has the calendar"
expect_out '"starts_at": "2030-01-08T13:00:00Z"' "JSON times are RFC 3339 UTC"

# A scheduling application writing the table directly bumps the version.
db "UPDATE appointments SET subject = 'Renamed' WHERE id = 1"
check '[ "$(db "SELECT version FROM appointments WHERE id = 1")" -ge 3 ]' "direct writes bump the version"

# Time zones on both sides of UTC, and DST days.
TZ=America/New_York run appt add --start 2030-02-01T09:00 --end 2030-02-01T10:00 --subject "NY"
ny=$(cat "$T/out")
run appt show "$ny" --json
expect_out '"starts_at": "2030-02-01T14:00:00Z"' "New York 09:00 is 14:00Z"
TZ=Asia/Tokyo run appt show "$ny"
expect_out '^Starts: +2030-02-01 23:00' "shown in Tokyo local time"
TZ=Asia/Kolkata run appt add --start 2030-02-02T09:00+05:30 --end 2030-02-02T09:30+05:30 --subject "offset"
expect_rc 0 "explicit offset accepted"
TZ=Europe/Berlin run appt add --start 2030-03-31T01:30 --end 2030-03-31T03:30 --subject "Across the change"
eu=$(cat "$T/out")
run appt show "$eu" --json
expect_out '"starts_at": "2030-03-31T00:30:00Z"' "Berlin start before the change (CET)"
expect_out '"ends_at": "2030-03-31T01:30:00Z"' "Berlin end after the change (CEST): one real hour"
TZ=Europe/Berlin run appt add --start 2030-03-31T02:30 --end 2030-03-31T04:00 --subject "In the gap"
expect_rc 64 "a wall time in the spring-forward gap is refused"
expect_err "does not exist" "the gap refusal explains"
TZ=America/New_York run appt add --start 2030-11-03T01:30 --end 2030-11-03T01:45 --subject "Ambiguous"
amb=$(cat "$T/out")
run appt show "$amb" --json
expect_out '"starts_at": "2030-11-03T05:30:00Z"' "an ambiguous wall time takes the earlier instant (EDT)"
TZ=Australia/Sydney run appt add --start 2030-04-07T02:30 --end 2030-04-07T03:30 --subject "Sydney fall-back"
expect_rc 0 "Sydney ambiguous hour accepted"
# Times the book (and Graph's dateTime) cannot hold are refused, with why.
run appt add --start 1969-12-31T10:00Z --end 1969-12-31T11:00Z --subject Early
expect_rc 64 "a time before 1970 is refused"
expect_err "^timetap-sync: time '1969-12-31T10:00Z' is outside the range the book holds, 1970-01-01 to 9999-12-31 \(UTC\)$" "in one line saying why"
run appt add --start 9999-12-31T22:00-05:00 --end 9999-12-31T23:00-05:00 --subject Late
expect_rc 64 "a time after 9999 (through its offset) is refused"
