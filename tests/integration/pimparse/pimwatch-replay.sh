#!/bin/sh
# pimwatch-replay.sh PIMWATCH MAKE-SCENARIO — pimwatch end to end on a replayed capture
# (no privileges needed): joinfile content, event lines (text and JSON) with packet
# times, upstream filter, --ssm-only, counters, and usage errors.
set -u
PIMWATCH=$1 MAKE=$2
W=$(mktemp -d /tmp/mci-pim-replay.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; for f in "$W"/*.out "$W"/*.err; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }
"$MAKE" "$W/s.pcap" || fail "make-scenario"

# Replay default: any upstream.
"$PIMWATCH" -r "$W/s.pcap" -j "$W/any.joinfile" --events > "$W/any.out" 2> "$W/any.err" || fail "replay exit $?"
printf '%s\n' "23.212.185.4,232.1.1.1" "23.212.185.6,232.1.1.6" "2001:db8::1,ff3e::8000:1" > "$W/want"
cmp -s "$W/want" "$W/any.joinfile" || fail "joinfile (any upstream) differs: $(cat "$W/any.joinfile")"
cat > "$W/want-events" <<'EOT'
2025-11-21T04:40:01.000Z join 23.212.185.4,232.1.1.1
2025-11-21T04:40:01.000Z join 23.212.185.5,239.1.1.1
2025-11-21T04:40:02.000Z join 23.212.185.6,232.1.1.6
2025-11-21T04:40:03.000Z join 2001:db8::1,ff3e::8000:1
2025-11-21T04:40:04.000Z join 23.212.185.7,232.1.1.7
2025-11-21T04:40:05.000Z prune 23.212.185.5,239.1.1.1
2025-11-21T04:40:09.000Z expire 23.212.185.7,232.1.1.7
EOT
cmp -s "$W/want-events" "$W/any.out" || fail "events differ: $(diff "$W/want-events" "$W/any.out")"
grep -q "9 frames: 5 join/prune, 2 hello" "$W/any.err" || fail "counters line"
grep -q "checksum 1" "$W/any.err" || fail "bad checksum not counted"
grep -q "truncated 1" "$W/any.err" || fail "truncated frame not counted"
grep -q "(\*,G) 1 (S,G,rpt) 0 counted" "$W/any.err" || fail "(*,G) not counted"
echo "ok 1 - replay: joinfile, events with packet times, counters"

# Our upstream addresses only: the J/P for 10.2.0.99 does not count.
"$PIMWATCH" -r "$W/s.pcap" -j "$W/ours.joinfile" --upstream-neighbor 10.2.0.2 \
  --upstream-neighbor fe80::2 -q > "$W/ours.out" 2> "$W/ours.err" || fail "exit $?"
printf '%s\n' "23.212.185.4,232.1.1.1" "2001:db8::1,ff3e::8000:1" > "$W/want"
cmp -s "$W/want" "$W/ours.joinfile" || fail "joinfile (upstream filter) differs: $(cat "$W/ours.joinfile")"
echo "ok 2 - --upstream-neighbor"

# SSM only, JSON events.
"$PIMWATCH" -r "$W/s.pcap" --ssm-only --events --json -q > "$W/ssm.out" 2> "$W/ssm.err" || fail "exit $?"
grep -q "239.1.1.1" "$W/ssm.out" && fail "--ssm-only let 239.1.1.1 through"
[ "$(wc -l < "$W/ssm.out")" = 5 ] || fail "want 5 JSON event lines"
grep -q '"time": *"2025-11-21T04:40:09.000Z"' "$W/ssm.out" || fail "JSON time"
grep -q '"event": *"expire"' "$W/ssm.out" || fail "JSON event"
grep -q '"source": *"23.212.185.7"' "$W/ssm.out" || fail "JSON source"
grep -q '"group": *"ff3e::8000:1"' "$W/ssm.out" || fail "JSON group"
echo "ok 3 - --ssm-only, --json events"

# An unchanged joinfile is not rewritten (same inode after a second run).
i1=$(stat -c %i "$W/any.joinfile")
"$PIMWATCH" -r "$W/s.pcap" -j "$W/any.joinfile" -q 2> /dev/null || fail "exit $?"
[ "$(stat -c %i "$W/any.joinfile")" = "$i1" ] || fail "unchanged joinfile rewritten"
echo "ok 4 - joinfile written only on change"

# A capture cut short inside its last record: the frames before it still count, the
# joinfile is written, the exit status is 1.
size=$(stat -c %s "$W/s.pcap")
head -c $((size - 10)) "$W/s.pcap" > "$W/cut.pcap"
"$PIMWATCH" -r "$W/cut.pcap" -j "$W/cut.joinfile" --events > "$W/cut.out" 2> "$W/cut.err"
[ $? = 1 ] || fail "truncated capture: want exit 1"
grep -q "read error after 8 frames" "$W/cut.err" || fail "truncated capture message"
printf '%s\n' "23.212.185.4,232.1.1.1" "23.212.185.6,232.1.1.6" "23.212.185.7,232.1.1.7" \
  "2001:db8::1,ff3e::8000:1" > "$W/want"
cmp -s "$W/want" "$W/cut.joinfile" || fail "joinfile of the truncated capture: $(cat "$W/cut.joinfile")"
echo "ok 5 - truncated capture: state up to the cut is kept and written"

# Usage and runtime errors.
"$PIMWATCH" > /dev/null 2>&1; [ $? = 2 ] || fail "no mode: want exit 2"
"$PIMWATCH" -r x -i y > /dev/null 2>&1; [ $? = 2 ] || fail "-r and -i: want exit 2"
"$PIMWATCH" -r "$W/s.pcap" --forward-from lo > /dev/null 2>&1; [ $? = 2 ] || fail "-r --forward-from: want 2"
"$PIMWATCH" -r "$W/s.pcap" --upstream-neighbor 300.1.1.1 > /dev/null 2>&1; [ $? = 2 ] || fail "bad address: want 2"
"$PIMWATCH" -r "$W/missing.pcap" > /dev/null 2>&1; [ $? = 1 ] || fail "missing file: want exit 1"
"$PIMWATCH" --help | grep -q -- "--forward-from IFACE" || fail "--help"
echo "ok 6 - exit codes"
