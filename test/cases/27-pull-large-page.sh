# SPDX-License-Identifier: ISC
# Family 27, pull: the largest page the response cap allows.  1000 events
# with 60 KB bodies each (descriptions pasted from e-mails are that long)
# come as one 60 MiB page of calendarView/delta (pages of 1000, the most
# page_size takes; the cap is 64 MiB).  Every event is read and blocks, and
# the pass's memory stays within a small factor of the page: at most four
# times its bytes plus 64 MiB of program and libraries (checked on the
# plain build; AddressSanitizer's own memory says nothing about ours).
# A page over the cap is family 21's (oversized).
. "$TOP/test/lib.sh"

python3 - "$TOP/test/scenarios/demo.json" "$T/big.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
body = "Notes pasted from an e-mail. " + "x" * 60000
s["users"][0]["events"] = [{"subject": "Long notes %d" % i, "start": "+%dd%02d:00" % (1 + i % 150, 8 + i % 10),
                            "end": "+%dd%02d:30" % (1 + i % 150, 8 + i % 10), "showAs": "busy", "body": body}
                           for i in range(1000)]
s["groups"] = []
json.dump(s, open(sys.argv[2], "w"))
EOF
emu_start --scenario "$T/big.json" || exit 1
emu_config "retry_budget = 5" "page_size = 1000"
BROWSER="$TOP/test/fake-browser.sh" run login
expect_rc 0 "login"
# The pass, with its peak resident memory (ru_maxrss of the child).
python3 - "$BIN" >"$T/rss" 2>"$T/err" <<'EOF'
import resource, subprocess, sys
r = subprocess.run([sys.argv[1], "sync"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=240)
sys.stderr.write(r.stderr.decode(errors="replace"))
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
EOF
read -r rc kb <"$T/rss"
check '[ "$rc" -eq 0 ] && [ ! -s "$T/err" ]' "the pass with a 60 MiB page exits 0 and is silent ($rc)"
emu GET /_emu/requests >"$T/log.json"
pages=$(python3 -c '
import json, sys
print(sum(1 for r in json.load(open(sys.argv[1]))["requests"] if "calendarView" in r["path"]))' "$T/log.json")
check '[ "$pages" -eq 1 ]' "all 1000 events came in one page ($pages request)"
check '[ "$(nblk)" -eq 1000 ]' "every event blocks ($(nblk) blocks)"
page=$((1000 * 60000))
echo "# peak RSS $kb KB for a page of about $((page / 1048576)) MiB"
case $BIN in
*build-asan*) ok "# skip memory bound under AddressSanitizer" ;;
*) check '[ "$kb" -le $(( (4 * page + 64 * 1048576) / 1024 )) ]' "peak memory $((kb / 1024)) MiB: within four times the page plus 64 MiB" ;;
esac
emu DELETE /_emu/requests >/dev/null
run sync
expect_rc 0 "the next pass"
expect_silent "is silent"
