#!/bin/sh
# timeout.sh — a port with no DNS server (127.0.0.1:53539): the lookup retransmits with
# back-off, gives up at its deadline and reports a lookup failure (exit 1), in text and
# JSON; a SIGTERM while waiting ends the tool cleanly.
set -eu
LOOKUP=${DRIAD_LOOKUP:?set DRIAD_LOOKUP to the driad-lookup binary}
. "$(dirname "$0")/peers.sh"
need_tool python3

set +e
"$LOOKUP" -s 127.0.0.1:53539 -t 2 -vv 198.51.100.12 2001:db8::a > "$W/out" 2> "$W/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "exit $rc, want 1"
printf '\n\n' | diff - "$W/out" || fail "two empty lines"
# both sources retried (-t 2: first retransmission after 0.5 s, then back-off)
for q in 12.100.51.198.in-addr.arpa. a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.; do
    n=$(grep -c "query $q type 260 id [0-9]* to 127.0.0.1:53539 (try" "$W/err" || true)
    [ "$n" -ge 2 ] || fail "$q sent $n times: $(cat "$W/err")"
done
[ "$(grep -c 'failed: timed out' "$W/err")" = 2 ] || fail "timeout reason: $(cat "$W/err")"
# a fresh ID on each retransmission
ids=$(grep "query 12.100.51.198" "$W/err" | sed 's/.* id \([0-9]*\) .*/\1/' | sort -u | wc -l)
[ "$ids" -ge 2 ] || fail "IDs not renewed"

set +e
"$LOOKUP" -s 127.0.0.1:53539 -t 1 --json 198.51.100.12 > "$W/out" 2> "$W/err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "JSON: exit $rc"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))[0]; assert d["status"]=="error" and d["error"]=="timed out" and d["chosen"] is None, d' "$W/out" ||
    fail "JSON timeout: $(cat "$W/out")"

# SIGTERM during the wait: clean exit 1 (runtime), no output
"$LOOKUP" -s 127.0.0.1:53539 -t 30 198.51.100.12 > "$W/out" 2> "$W/err" &
pid=$!
sleep 0.3
kill -TERM $pid
set +e
wait $pid
rc=$?
set -e
[ "$rc" = 1 ] || fail "SIGTERM: exit $rc"
grep -q "signal 15: stopping" "$W/err" || fail "signal not logged"
echo "PASS: timeout"
