#!/bin/sh
# driad-join.sh CASE — amt-join without --relay: the relay comes from the AMTRELAY
# records (RFC 8777) of the first SOURCE, served by a real BIND, in network namespaces:
#
#   mci-amtd-N-src  src0 10.2.2.1,.3-.6 / fd00:2::1,::5 ==veth== rly-src  mci-amtd-N-rly
#   mci-amtd-N-rly  rly-gw 10.3.3.1 / fd00:3::1 ==veth== gw0 10.3.3.2 / fd00:3::2  mci-amtd-N-gw
#                   lo 10.99.0.1 (discovery), 10.99.0.7 and .8 (no relay there: dead),
#                      10.99.0.9 (case refused: a relay that sets the L flag),
#                      192.52.193.1 and 2001:3:: (RFC 7450 §7 anycast, case anycast)
#   mci-amtd-N-gw   BIND on 127.0.0.1 and ::1 port 53561, amt-join
#
# Cases:
#   v4        10 0 1 10.99.0.1 (D=0): Relay Discovery to that address, exactly the packets
#             sent arrive; the lookup and relay log lines are the house ones
#   v6        IPv6 source, 10 1 2 fd00:3::1 (D=1): a Request straight to the relay, no
#             Relay Discovery at all; the resolver is reached over IPv6 (::1)
#   failover  10 1 1 10.99.0.7 (dead, D=1), 15 0 1 10.99.0.8 (dead, D=0), 20 0 1 10.99.0.1:
#             each dead relay is held down and the next precedence is used; data arrives
#             from the third
#   refused   10 1 1 10.99.0.9 (a second test relay, at its limit: L flag), 20 0 1
#             10.99.0.1: the refusing relay is held down, data comes from the second
#   name      10 1 3 relays.amt.test. (A 10.3.3.1, AAAA fd00:3::1) with -f 6 and -f 4: the
#             name's address of that family, IPv4 data over an IPv6 and an IPv4 tunnel
#   type0     0 0 0 . : exit 3 with a clear message, with and without --anycast; no AMT
#             message leaves the gateway
#   anycast   no record: exit 3 without --anycast; with --anycast the data comes through
#             192.52.193.1, and with --anycast -f 6 through 2001:3::
#
# Needs root, ip, named, dig, tcpdump: exit 77 without them, except in CI (CI=true) where
# a missing tool is a failure.  Environment: AMT_JOIN AMT_RELAY MC_SEND TXCSUM_OFF.
set -u
CASE=${1:?case}
PORT=53561

. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/amt-world.sh"
. "$(dirname "$0")/../../lib/bind.sh"
require_root_tools ip named named-checkconf dig tcpdump od cmp

amt_world_init mci-amtd-$$
WAIT_LOG_TENTHS=150 # wait_log's default bound here
W=$(mktemp -d)
PIDS=""
FAILED=0

cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    if [ -s "$W/bind/named.pid" ]; then kill "$(cat "$W/bind/named.pid")" 2>/dev/null; fi
    amt_world_delete
    keep_or_remove_workdir
}
trap cleanup EXIT
trap 'exit 1' INT TERM

setup() {
    amt_world_create
    amt_world_addresses 10.2.2 fd00:2 10.3.3 fd00:3
    for a in 10.2.2.3 10.2.2.4 10.2.2.5 10.2.2.6 10.2.2.7; do ip -n "$SRC" addr add $a/24 dev src0; done
    ip -n "$SRC" addr add fd00:2::5/64 dev src0 nodad
    for a in 10.99.0.1 10.99.0.7 10.99.0.8 10.99.0.9 192.52.193.1; do ip -n "$RLY" addr add $a/32 dev lo; done
    ip -n "$RLY" addr add 2001:3::/128 dev lo
    amt_world_up
    amt_world_routes
    ip -n "$SRC" -6 route add ff3e::/16 dev src0 table local 2>/dev/null || true
    amt_world_txcsum_off
}

# The sender's reverse zones, served by BIND in the gateway's namespace (loopback only).
start_bind() {
    mkdir -p "$W/bind/zones"
    SOA='@ IN SOA ns1.amt.test. hostmaster.amt.test. ( 1 3600 900 604800 60 )
  IN NS ns1.amt.test.'
    {
        bind_options "$W/bind" $PORT
        cat <<CONF
zone "2.2.10.in-addr.arpa" { type primary; file "zones/v4.zone"; };
zone "2.0.0.0.0.0.d.f.ip6.arpa" { type primary; file "zones/v6.zone"; };
zone "amt.test" { type primary; file "zones/amt.test.zone"; };
CONF
    } >"$W/bind/named.conf"
    cat >"$W/bind/zones/v4.zone" <<Z
\$ORIGIN 2.2.10.in-addr.arpa.
\$TTL 300
$SOA
1 IN AMTRELAY 10 0 1 10.99.0.1
3 IN AMTRELAY 10 1 1 10.99.0.7
3 IN AMTRELAY 15 0 1 10.99.0.8
3 IN AMTRELAY 20 0 1 10.99.0.1
4 IN AMTRELAY 0 0 0 .
6 IN AMTRELAY 10 1 3 relays.amt.test.
7 IN AMTRELAY 10 1 1 10.99.0.9
7 IN AMTRELAY 20 0 1 10.99.0.1
Z
    cat >"$W/bind/zones/v6.zone" <<Z
\$ORIGIN 2.0.0.0.0.0.d.f.ip6.arpa.
\$TTL 300
$SOA
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN AMTRELAY 10 1 2 fd00:3::1
Z
    cat >"$W/bind/zones/amt.test.zone" <<Z
\$ORIGIN amt.test.
\$TTL 300
$SOA
ns1    IN A    127.0.0.1
relays IN A    10.3.3.1
relays IN AAAA fd00:3::1
Z
    bind_start "$GW" "$W/bind" "$W/named.log"
    bind_wait "$GW" $PORT amt.test SOA || fail "named not answering"
    in_ns "$GW" dig +short -p $PORT @127.0.0.1 -x 10.2.2.1 AMTRELAY | grep -q "10 0 1 10.99.0.1" ||
        fail "BIND does not serve the AMTRELAY record of 10.2.2.1"
}

start_relay() { # start_relay ARGS...: the strict test relay in its namespace
    amt_world_relay -a 10.3.3.1 -a fd00:3::1 --data-if rly-src --qqic 3 --mrc 10 "$@"
}

json_field() { # json_field FILE EVENT KEY
    grep "\"event\":\"$2\"" "$1" | tail -n 1 | sed -n "s/.*\"$3\":\"\{0,1\}\([^\",}]*\).*/\1/p"
}

send() { # send SOURCE GROUP COUNT INTERVAL_US DUMP [IFNAME]
    in_ns "$SRC" "$MC_SEND" -s "$1" -g "$2" -c "$3" -i "$4" -z 200 -d "$5" ${6:+-I "$6"} >"$W/send.out" 2>"$W/send.log"
}

join_bg() { # join_bg ARGS...: amt-join (no --relay) in the gateway namespace, background
    ip netns exec "$GW" "$AMT_JOIN" --retry 0.2 --json "$@" >"$W/join.json" 2>"$W/join.log" &
    JOIN=$!
    PIDS="$PIDS $JOIN"
}

wait_join() {
    wait_exit "$JOIN" 600
    kill -0 "$JOIN" 2>/dev/null && { kill -TERM "$JOIN"; sleep 0.5; }
    wait "$JOIN"
    JOIN_RC=$?
}

# join_run ARGS...: amt-join in the foreground (bounded by its own -d); sets JOIN_RC
join_run() {
    ip netns exec "$GW" "$AMT_JOIN" --retry 0.2 "$@" >"$W/run.out" 2>"$W/run.log"
    JOIN_RC=$?
}

# receive S G RESOLVER [ARGS...]: amt-join gets exactly the 100 datagrams sent from S
receive() {
    S=$1 G=$2 RES=$3
    shift 3
    IF=""
    case "$S" in *:*) IF=src0 ;; esac
    rm -f "$W/recv.bin" "$W/sent.bin"
    N=100
    # The relay's log may hold joins of an earlier run: wait for one more.
    joins=$(grep -c "join $S,$G" "$W/relay.log")
    join_bg --resolver "$RES" -c $N -d 40 -o "$W/recv.bin" "$@" "$S" "$G"
    i=0
    while [ $i -lt 150 ] && [ "$(grep -c "join $S,$G" "$W/relay.log")" -le "$joins" ]; do
        sleep 0.1; i=$((i + 1))
    done
    [ $i -lt 150 ] || fail "relay never saw the join of $S,$G"
    send "$S" "$G" $N 20000 "$W/sent.bin" $IF || fail "sender failed"
    wait_join
    [ "$JOIN_RC" = 0 ] || fail "amt-join exit $JOIN_RC"
    cmp -s "$W/sent.bin" "$W/recv.bin" || fail "received payloads differ from the sent ones"
    got=$(json_field "$W/join.json" summary packets)
    [ "$got" = $N ] || fail "amt-join counted $got packets, sent $N"
    i=0
    while [ $i -lt 30 ] && [ "$(grep -c "leave $S,$G .*(block)" "$W/relay.log")" -le "$joins" ]; do
        sleep 0.1; i=$((i + 1))
    done
    [ $i -lt 30 ] || fail "relay did not see the leave"
}

setup
start_bind
case "$CASE" in
v4)
    start_relay -l 10.99.0.1
    receive 10.2.2.1 232.1.1.1 127.0.0.1:$PORT
    grep -q "info amt-join: lookup 10.2.2.1: 1 candidates" "$W/join.log" || fail "no lookup line"
    grep -q "info amt-join: relay 10.99.0.1 for 10.2.2.1 (precedence 10, from AMTRELAY)" "$W/join.log" ||
        fail "no relay line"
    grep -q "relay 10.99.0.1 port 2268 (discovery)" "$W/join.log" || fail "D=0 did not give Relay Discovery"
    [ "$(json_field "$W/join.json" gateway relay)" = 10.99.0.1 ] || fail "summary relay is not 10.99.0.1"
    stop_relay
    [ "$(relay_stat discoveries)" -ge 1 ] || fail "the relay saw no Relay Discovery (D=0)"
    [ "$(relay_stat rejected)" = 0 ] || fail "the strict relay rejected $(relay_stat rejected) messages"
    echo "ok: AMTRELAY 10 0 1 10.99.0.1: discovery, 100 packets, identical content, leave seen"
    ;;
v6)
    start_relay -l 10.99.0.1 --zero-csum6
    receive fd00:2::1 ff3e::8000:1 "[::1]:$PORT"
    grep -q "info amt-join: lookup fd00:2::1: 1 candidates" "$W/join.log" || fail "no lookup line"
    grep -q "info amt-join: relay fd00:3::1 for fd00:2::1 (precedence 10, from AMTRELAY)" "$W/join.log" ||
        fail "no relay line"
    grep -q "relay fd00:3::1 port 2268 (direct request)" "$W/join.log" || fail "D=1 did not give a direct Request"
    stop_relay
    [ "$(relay_stat discoveries)" = 0 ] || fail "Relay Discovery sent although the record has D=1"
    [ "$(relay_stat rejected)" = 0 ] || fail "the strict relay rejected $(relay_stat rejected) messages"
    echo "ok: AMTRELAY 10 1 2 fd00:3::1 over an IPv6 resolver: direct Request, IPv6 tunnel and data"
    ;;
failover)
    start_relay -l 10.99.0.1
    receive 10.2.2.3 232.1.1.3 127.0.0.1:$PORT
    grep -q "lookup 10.2.2.3: 3 candidates" "$W/join.log" || fail "no lookup line with 3 candidates"
    grep -q "relay 10.99.0.7 for 10.2.2.3 (precedence 10, from AMTRELAY)" "$W/join.log" ||
        fail "precedence 10 not tried first"
    grep -q "relay 10.99.0.7 held down for 600 s: no answer to Requests; 10.2.2.3 moves to 10.99.0.8" "$W/join.log" ||
        fail "the dead direct-request relay was not held down"
    grep -q "relay 10.99.0.8 for 10.2.2.3 (precedence 15, from AMTRELAY)" "$W/join.log" ||
        fail "precedence 15 not tried second"
    grep -q "relay 10.99.0.8 held down for 600 s: no Relay Advertisement; 10.2.2.3 moves to 10.99.0.1" "$W/join.log" ||
        fail "the dead discovery address was not held down"
    grep -q "relay 10.99.0.1 for 10.2.2.3 (precedence 20, from AMTRELAY)" "$W/join.log" ||
        fail "precedence 20 not used third"
    [ "$(json_field "$W/join.json" gateway relay)" = 10.99.0.1 ] || fail "summary relay is not 10.99.0.1"
    stop_relay
    [ "$(relay_stat rejected)" = 0 ] || fail "the strict relay rejected $(relay_stat rejected) messages"
    echo "ok: two dead relays held down in precedence order, data from the third"
    ;;
refused)
    ip netns exec "$RLY" "$AMT_RELAY" -l 10.99.0.9 -a 10.99.0.9 --qqic 3 --mrc 10 --l-flag \
        >"$W/lrelay.out" 2>"$W/lrelay.log" &
    LRELAY=$!
    PIDS="$PIDS $LRELAY"
    wait_log "$W/lrelay.log" "listening" 50 || fail "the L-flag relay did not start"
    start_relay -l 10.99.0.1
    receive 10.2.2.7 232.1.1.7 127.0.0.1:$PORT
    grep -q "lookup 10.2.2.7: 2 candidates" "$W/join.log" || fail "no lookup line with 2 candidates"
    grep -q "relay 10.99.0.9 for 10.2.2.7 (precedence 10, from AMTRELAY)" "$W/join.log" ||
        fail "precedence 10 not tried first"
    grep -q "relay 10.99.0.9 held down for 600 s: refused (L flag); 10.2.2.7 moves to 10.99.0.1" "$W/join.log" ||
        fail "the refusing relay was not held down"
    grep -q "relay 10.99.0.1 for 10.2.2.7 (precedence 20, from AMTRELAY)" "$W/join.log" ||
        fail "precedence 20 not used next"
    kill -TERM "$LRELAY"
    wait_exit "$LRELAY"
    grep -q "query to 10.3.3.2 .*, L" "$W/lrelay.log" || fail "the L-flag relay sent no refusing Query"
    [ "$(tr ' ' '\n' <"$W/lrelay.out" | sed -n 's/^updates=//p')" = 0 ] ||
        fail "the gateway sent Updates to the relay that refused"
    stop_relay
    [ "$(relay_stat rejected)" = 0 ] || fail "the strict relay rejected $(relay_stat rejected) messages"
    echo "ok: a relay that refuses (L flag) is held down, data from the next precedence"
    ;;
name)
    start_relay
    receive 10.2.2.6 232.1.1.6 127.0.0.1:$PORT -f 6
    grep -q "relay fd00:3::1 for 10.2.2.6 (precedence 10, from AMTRELAY)" "$W/join.log" ||
        fail "-f 6: the name's AAAA address was not used"
    grep -q "relay fd00:3::1 port 2268 (direct request)" "$W/join.log" || fail "-f 6: D=1 did not give a direct Request"
    receive 10.2.2.6 232.1.1.6 127.0.0.1:$PORT -f 4
    grep -q "relay 10.3.3.1 for 10.2.2.6 (precedence 10, from AMTRELAY)" "$W/join.log" ||
        fail "-f 4: the name's A address was not used"
    stop_relay
    [ "$(relay_stat discoveries)" = 0 ] || fail "Relay Discovery sent although the record has D=1"
    [ "$(relay_stat rejected)" = 0 ] || fail "the strict relay rejected $(relay_stat rejected) messages"
    echo "ok: type 3 relay name: AAAA with -f 6 (IPv4 data over IPv6), A with -f 4"
    ;;
type0)
    start_relay -l 10.99.0.1 -l 192.52.193.1
    in_ns "$GW" tcpdump --immediate-mode -i gw0 -s 0 -U -n -w "$W/gw0.pcap" udp port 2268 2>"$W/tcpdump.log" &
    CAP=$!
    PIDS="$PIDS $CAP"
    wait_log "$W/tcpdump.log" "listening on" 50
    for any in "" --anycast; do
        join_run --resolver 127.0.0.1:$PORT -d 5 $any 10.2.2.4 232.1.1.4
        [ "$JOIN_RC" = 3 ] || fail "type 0 ${any:-without --anycast}: exit $JOIN_RC, want 3"
        grep -q "lookup 10.2.2.4: no relay (type 0 record)" "$W/run.log" || fail "type 0 not logged"
        grep -q "err amt-join: no AMT relay for 10.2.2.4" "$W/run.log" || fail "no clear error"
        [ -s "$W/run.out" ] && fail "statistics printed although no tunnel was made"
    done
    sleep 0.3
    kill -TERM "$CAP"
    wait_exit "$CAP"
    n=$(tcpdump -r "$W/gw0.pcap" -n 2>/dev/null | wc -l)
    [ "$n" = 0 ] || fail "$n AMT datagrams left the gateway for a type-0 source"
    stop_relay
    [ "$(relay_stat discoveries)" = 0 ] || fail "the relay saw a Relay Discovery"
    echo "ok: type 0: exit 3 with a clear message, with and without --anycast, nothing sent"
    ;;
anycast)
    start_relay -l 192.52.193.1 -l 2001:3::
    join_run --resolver 127.0.0.1:$PORT -d 5 10.2.2.5 232.1.1.5
    [ "$JOIN_RC" = 3 ] || fail "no record without --anycast: exit $JOIN_RC, want 3"
    grep -q "lookup 10.2.2.5: no record" "$W/run.log" || fail "no record not logged"
    grep -q "give --relay, or --anycast" "$W/run.log" || fail "no clear error"
    receive 10.2.2.5 232.1.1.5 127.0.0.1:$PORT --anycast
    grep -q "lookup 10.2.2.5: no record; using anycast relay 192.52.193.1" "$W/join.log" ||
        fail "IPv4 anycast not logged"
    grep -q "relay 192.52.193.1 port 2268 (discovery)" "$W/join.log" || fail "no discovery to 192.52.193.1"
    receive fd00:2::5 ff3e::8000:5 "[::1]:$PORT" --anycast -f 6
    grep -q "lookup fd00:2::5: no record; using anycast relay 2001:3::" "$W/join.log" ||
        fail "IPv6 anycast not logged"
    grep -q "relay 2001:3:: port 2268 (discovery)" "$W/join.log" || fail "no discovery to 2001:3::"
    stop_relay
    [ "$(relay_stat discoveries)" -ge 2 ] || fail "the relay saw $(relay_stat discoveries) discoveries, want 2"
    [ "$(relay_stat rejected)" = 0 ] || fail "the strict relay rejected $(relay_stat rejected) messages"
    echo "ok: no record: exit 3; --anycast through 192.52.193.1 and (-f 6) 2001:3::"
    ;;
*)
    echo "unknown case $CASE"
    exit 2
    ;;
esac
exit 0
