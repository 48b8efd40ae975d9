# tests/lib/amt-world.sh — the three-namespace AMT topology (sender → relay → gateway)
# shared by amt-ns.sh, driad-join.sh and ingest-ns.sh.  Needs common.sh.
#
#   $SRC  src0 ==veth== rly-src  $RLY  rly-gw ==veth== gw0  $GW
#
# amt_world_init PREFIX sets SRC=PREFIX-src RLY=PREFIX-rly GW=PREFIX-gw.  Order:
# amt_world_create, amt_world_addresses (then the test's own extra addresses),
# amt_world_up, amt_world_routes (then the test's own routes), amt_world_txcsum_off.

amt_world_init() { SRC=$1-src RLY=$1-rly GW=$1-gw; }

# amt_world_create: the three namespaces (lo up, no reverse-path filter) and both veths.
amt_world_create() {
    for n in $SRC $RLY $GW; do
        ip netns add "$n" || fail "netns add $n"
        ip -n "$n" link set lo up
        in_ns "$n" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    done
    ip link add src0 netns "$SRC" type veth peer name rly-src netns "$RLY" || fail "veth"
    ip link add rly-gw netns "$RLY" type veth peer name gw0 netns "$GW" || fail "veth"
}

# amt_world_up: every veth end up, without reverse-path filter.
amt_world_up() {
    for l in "$SRC src0" "$RLY rly-src" "$RLY rly-gw" "$GW gw0"; do
        set -- $l
        ip -n "$1" link set "$2" up
        in_ns "$1" sysctl -qw "net.ipv4.conf.$2.rp_filter=0"
    done
}

# amt_world_addresses SRCNET4 SRCNET6 GWNET4 GWNET6: the base addresses, e.g.
# "10.2.2 fd00:2 10.3.3 fd00:3": src0 .1/::1 and rly-src .2/::2 on the sender's link,
# rly-gw .1/::1 and gw0 .2/::2 on the gateway's (/24 and /64).  Extra addresses come after.
amt_world_addresses() {
    AMT_WORLD_GW4=$3 AMT_WORLD_GW6=$4
    ip -n "$SRC" addr add "$1.1/24" dev src0
    ip -n "$SRC" addr add "$2::1/64" dev src0 nodad
    ip -n "$RLY" addr add "$1.2/24" dev rly-src
    ip -n "$RLY" addr add "$2::2/64" dev rly-src nodad
    ip -n "$RLY" addr add "$3.1/24" dev rly-gw
    ip -n "$RLY" addr add "$4::1/64" dev rly-gw nodad
    ip -n "$GW" addr add "$3.2/24" dev gw0
    ip -n "$GW" addr add "$4::2/64" dev gw0 nodad
}

# amt_world_routes: the gateway's default routes via the relay (IPv4 and IPv6) and the
# sender's IPv4 multicast route out of src0 (after amt_world_addresses and amt_world_up).
amt_world_routes() {
    ip -n "$GW" route add default via "$AMT_WORLD_GW4.1"
    ip -n "$GW" -6 route add default via "$AMT_WORLD_GW6::1"
    ip -n "$SRC" route add 224.0.0.0/4 dev src0
}

# amt_world_txcsum_off: final checksums (no transmit offload) on every veth end.
amt_world_txcsum_off() {
    in_ns "$SRC" "$TXCSUM_OFF" src0 || fail "txcsum-off"
    in_ns "$RLY" "$TXCSUM_OFF" rly-gw rly-src || fail "txcsum-off"
    in_ns "$GW" "$TXCSUM_OFF" gw0 || fail "txcsum-off"
}

# amt_world_relay RELAY_ARGS...: the strict test relay in $RLY, in the background, counters
# to $W/relay.out and log to $W/relay.log; RELAY is its PID (added to PIDS).  Waits at most
# 5 s for it to listen.
amt_world_relay() {
    ip netns exec "$RLY" "$AMT_RELAY" "$@" >"$W/relay.out" 2>"$W/relay.log" &
    RELAY=$!
    PIDS="$PIDS $RELAY"
    wait_log "$W/relay.log" "listening" 50
}

# stop_relay: SIGTERM to $RELAY, bounded wait (5 s) for it to exit.
stop_relay() {
    kill -TERM "$RELAY" 2>/dev/null
    wait_exit "$RELAY"
}

# relay_stat NAME: the NAME=VALUE counter the relay printed to $W/relay.out at exit.
relay_stat() {
    tr ' ' '\n' <"$W/relay.out" | sed -n "s/^$1=//p"
}

# amt_world_delete: remove the three namespaces and whatever still runs in them.
amt_world_delete() { netns_del $SRC $RLY $GW; }
