#!/bin/sh
# loopback.sh — amt-join's command line and a whole tunnel over loopback, no namespaces
# needed: usage errors exit 2, a relay that never answers gives exit 3, the test relay's
# generator feeds exactly --count datagrams (exit 0).  As root it runs in its own network
# namespace; otherwise on the host loopback.  Environment: AMT_JOIN AMT_RELAY.
set -u
W=$(mktemp -d)
NS=""
RUN=""
PIDS=""
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT INT TERM
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1; then
    NS=mci-amt-lo-$$
    ip netns add "$NS" && ip -n "$NS" link set lo up || exit 1
    RUN="ip netns exec $NS"
fi
fail() { echo "FAIL: $*"; for f in "$W"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done; exit 1; }

J="$AMT_JOIN"
"$J" --help >"$W/help.txt" || fail "--help exit $?"
OPTS="--relay --anycast --anycast-address --family --no-discovery --port --count --duration --interval --output --udp --pcap --tun --json"
[ "${AMT_JOIN_DRIAD:-0}" = 1 ] && OPTS="$OPTS --resolver --lookup-timeout --hold-down"
for o in $OPTS; do
    grep -q -- "$o" "$W/help.txt" || fail "--help does not list $o"
done
"$J" -V | grep -q "amt-join (mcingest)" || fail "--version"
if [ "${AMT_JOIN_DRIAD:-0}" = 1 ]; then
    # No --relay: an AMTRELAY lookup.  A DNS server that does not answer (nothing on port
    # 53561 of this loopback) is a runtime error, exit 1, saying what failed.
    $RUN "$J" --resolver 127.0.0.1:53561 -t 0.5 10.2.2.1 232.1.1.1 2>"$W/e1.log"
    [ $? = 1 ] || fail "no relay, DNS server silent: want exit 1"
    grep -q "lookup 10.2.2.1: failed" "$W/e1.log" || fail "no relay: the failed lookup is not logged"
    "$J" --resolver bogus 10.2.2.1 232.1.1.1 2>/dev/null; [ $? = 2 ] || fail "bad --resolver: want exit 2"
    "$J" --no-discovery 10.2.2.1 232.1.1.1 2>/dev/null; [ $? = 2 ] || fail "--no-discovery without --relay: want exit 2"
else
    "$J" 10.2.2.1 232.1.1.1 2>"$W/e1.log"; [ $? = 2 ] || fail "no relay: want exit 2"
    grep -q "built without libdriad: give --relay" "$W/e1.log" || fail "no relay: the message does not say libdriad is missing"
fi
"$J" -f 5 -r 127.0.0.1 10.2.2.1 232.1.1.1 2>/dev/null; [ $? = 2 ] || fail "bad --family: want exit 2"
"$J" -f 6 -r 127.0.0.1 10.2.2.1 232.1.1.1 2>/dev/null; [ $? = 2 ] || fail "-f 6 with an IPv4 --relay: want exit 2"
"$J" -r 127.0.0.1 10.2.2.1 2>/dev/null; [ $? = 2 ] || fail "odd arguments: want exit 2"
"$J" -r 127.0.0.1 10.2.2.1 10.1.1.1 2>/dev/null; [ $? = 2 ] || fail "unicast group: want exit 2"
"$J" -r 127.0.0.1 -c 0 10.2.2.1 232.1.1.1 2>/dev/null; [ $? = 2 ] || fail "--count 0: want exit 2"
"$J" -r 127.0.0.1 --bogus 10.2.2.1 232.1.1.1 2>/dev/null; [ $? = 2 ] || fail "unknown option: want exit 2"

# Nobody answers: exit 3 (no data), the discovery retries logged.
$RUN "$J" -r 127.0.0.1 --relay-port 22719 --retry 0.1 -d 1 10.2.2.1 232.1.1.1 >/dev/null 2>"$W/none.log"
[ $? = 3 ] || fail "silent relay: want exit 3"
[ "$(grep -c "relay discovery to 127.0.0.1" "$W/none.log")" -ge 3 ] || fail "discovery not retried"

# The relay's generator feeds 500 datagrams (IPv4 and IPv6 loopback tunnels).
for fam in 127.0.0.1 ::1; do
    rm -f "$W/relay.log"
    $RUN "$AMT_RELAY" -l "$fam" -a "$fam" -p 22718 --generate 20000 --size 100 --qqic 2 \
        >/dev/null 2>"$W/relay.log" &
    R=$!
    PIDS="$PIDS $R"
    i=0
    while [ $i -lt 50 ] && ! grep -q listening "$W/relay.log" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
    $RUN "$J" --json -r "$fam" --relay-port 22718 -c 500 -d 20 10.2.2.1 232.1.1.1 >"$W/out.json" 2>"$W/join.log"
    rc=$?
    kill "$R"
    wait "$R" 2>/dev/null
    [ $rc = 0 ] || fail "tunnel over $fam: exit $rc"
    grep -q '"event":"summary".*"packets":500,' "$W/out.json" || fail "tunnel over $fam: not exactly 500 packets"
done
# --relay NAME: resolved to A/AAAA (localhost: 127.0.0.1 or ::1; the relay serves both).
rm -f "$W/relay.log"
$RUN "$AMT_RELAY" -l 127.0.0.1 -l ::1 -a 127.0.0.1 -a ::1 -p 22718 --generate 20000 --size 100 \
    >/dev/null 2>"$W/relay.log" &
R=$!
PIDS="$PIDS $R"
i=0
while [ $i -lt 50 ] && ! grep -q listening "$W/relay.log" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
$RUN "$J" --json -r localhost --relay-port 22718 -c 100 -d 20 10.2.2.1 232.1.1.1 >"$W/out.json" 2>"$W/name.log"
rc=$?
kill "$R"
wait "$R" 2>/dev/null
[ $rc = 0 ] || fail "--relay localhost: exit $rc"
grep -Eq "relay localhost is (127.0.0.1|::1)" "$W/name.log" || fail "--relay localhost: the name's address is not logged"
# A reader that goes away (-o - | head): amt-join leaves and stops instead of running on.
rm -f "$W/relay.log"
$RUN "$AMT_RELAY" -l 127.0.0.1 -a 127.0.0.1 -p 22718 --generate 2000 --size 100 >/dev/null 2>"$W/relay.log" &
R=$!
PIDS="$PIDS $R"
i=0
while [ $i -lt 50 ] && ! grep -q listening "$W/relay.log" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
$RUN "$J" -r 127.0.0.1 --relay-port 22718 -d 20 -o - 10.2.2.1 232.1.1.1 2>"$W/pipe.log" | head -c 1000 >/dev/null
grep -q "output closed" "$W/pipe.log" || fail "amt-join did not stop when its reader closed the pipe"
i=0
while [ $i -lt 30 ] && ! grep -q "leave 10.2.2.1,232.1.1.1" "$W/relay.log"; do sleep 0.1; i=$((i + 1)); done
grep -q "leave 10.2.2.1,232.1.1.1" "$W/relay.log" || fail "no leave after the reader went away"
kill "$R"
echo "ok: usage errors, relay lookup errors, silent relay (exit 3), IPv4 and IPv6 loopback tunnels, --relay NAME, closed output pipe"
