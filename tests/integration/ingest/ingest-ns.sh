#!/bin/sh
# ingest-ns.sh CASE — driad-ingest against real BIND and two strict test relays in network
# namespaces:
#
#   mci-ing-N-src  src0 10.12.2.1, .5 / fd00:12:2::1 ==veth== rly-src  mci-ing-N-rly
#   mci-ing-N-rly  relay A 10.13.3.1 / fd00:13:3::1, relay B 10.13.3.11 / fd00:13:3::11
#                  on rly-gw ==veth== gw0 10.13.3.2 / fd00:13:3::2       mci-ing-N-gw
#   mci-ing-N-gw   BIND on 127.0.0.1:53 serving the AMTRELAY records of the sources
#                  (A at precedence 10, B at 20, D=1), driad-ingest, and receivers that
#                  join the (S,G)s on the TUN device driad-ingest creates.
#
# A real multicast sender in -src; each relay forwards what reaches its data interface.
# Cases:
#   flow      IPv4 and IPv6 channels delivered through the TUN device; status file
#   failover  relay A killed mid-stream: the source moves to B, data resumes
#   dns       BIND stopped: running tunnels keep delivering, a new source is retried and
#             joined once BIND is back
#   garbage   the joinfile replaced with garbage: the last good set is kept
#   sigterm   SIGTERM: BLOCK Updates reach the relay, the created TUN device is removed
#   restart   a second driad-ingest rebuilds every tunnel from the joinfile
#   unpriv    as user nobody without capabilities, on a persistent device that is up
#   refused   relay A refuses (L flag): the source moves to relay B
#   silent    relay A never answers Requests: the source moves to relay B
#   notraffic relay A stops delivering while joined (--no-traffic): the source moves
#   discovery a D=0 record: Relay Discovery first, then the advertised relay
#   noadvert  a D=0 record whose address never advertises: the source moves on
#
# Needs root, ip, named, dig: exit 77 without them, except in CI (CI=true) where a
# missing tool is a failure.  Environment: DRIAD_INGEST AMT_RELAY MC_SEND MC_RECV TXCSUM_OFF.
set -u
CASE=${1:?case}

. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/amt-world.sh"
. "$(dirname "$0")/../../lib/bind.sh"
require_root_tools ip named named-checkconf dig
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

amt_world_init mci-ing-$$
TUN=ingtun0
W=$(mktemp -d)
PIDS=""
FAILED=0

cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    amt_world_delete
    # INGEST_KEEP=DIR keeps the logs of a passing run too (for reading them).
    [ -n "${INGEST_KEEP:-}" ] && cp "$W"/*.log "$INGEST_KEEP"/ 2>/dev/null
    keep_or_remove_workdir
}
trap cleanup EXIT INT TERM

setup() {
    amt_world_create
    amt_world_addresses 10.12.2 fd00:12:2 10.13.3 fd00:13:3
    ip -n "$SRC" addr add 10.12.2.5/24 dev src0
    ip -n "$SRC" addr add 10.12.2.7/24 dev src0
    ip -n "$RLY" addr add 10.13.3.11/24 dev rly-gw
    ip -n "$RLY" addr add 10.13.3.21/24 dev rly-gw
    ip -n "$RLY" addr add 10.13.3.31/24 dev rly-gw
    ip -n "$RLY" addr add fd00:13:3::11/64 dev rly-gw nodad
    amt_world_up
    amt_world_routes
    # Final checksums in the sender's datagrams (no transmit offload): the relays pick
    # them up with a packet socket and forward them as they are, and the receivers on the
    # TUN device check them.
    in_ns "$SRC" "$TXCSUM_OFF" src0 || fail "txcsum-off"
}

# BIND inside the gateway namespace, authoritative for the sources' reverse zones.  TTL 3 s,
# so driad-ingest looks every source up again while the tests run (the dns case needs it).
start_bind() {
    mkdir -p "$W/bind"
    {
        bind_options "$W/bind" 53
        cat <<CONF
zone "2.12.10.in-addr.arpa" { type primary; file "v4.zone"; };
zone "2.0.0.0.2.1.0.0.0.0.d.f.ip6.arpa" { type primary; file "v6.zone"; };
CONF
    } >"$W/bind/named.conf"
    cat >"$W/bind/v4.zone" <<'Z'
$TTL 3
@ IN SOA ns1.test. hostmaster.test. ( 1 3600 900 604800 3 )
  IN NS ns1.test.
1 IN AMTRELAY 10 1 1 10.13.3.1
1 IN AMTRELAY 20 1 1 10.13.3.11
5 IN AMTRELAY 10 0 1 10.13.3.21 ; D=0: Relay Discovery to relay B's discovery address
7 IN AMTRELAY 10 0 1 10.13.3.31 ; D=0 to an address where no relay answers
7 IN AMTRELAY 20 1 1 10.13.3.11
Z
    cat >"$W/bind/v6.zone" <<'Z'
$TTL 3
@ IN SOA ns1.test. hostmaster.test. ( 1 3600 900 604800 3 )
  IN NS ns1.test.
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN AMTRELAY 10 1 2 fd00:13:3::1
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN AMTRELAY 20 1 2 fd00:13:3::11
Z
    bind_start "$GW" "$W/bind" "$W/named.log"
    bind_wait "$GW" 53 -x 10.12.2.1 AMTRELAY || fail "named not answering"
}

start_relay() { # start_relay NAME ADDR4 ADDR6 [RELAY ARGS...]
    n=$1 a4=$2 a6=$3
    shift 3
    ip netns exec "$RLY" "$AMT_RELAY" -a "$a4" -a "$a6" --data-if rly-src --qqic 2 --mld-qqic 2 "$@" \
        >"$W/relay-$n.out" 2>"$W/relay-$n.log" &
    eval "RELAY_$n=$!"
    PIDS="$PIDS $!"
    wait_log "$W/relay-$n.log" listening 50 || fail "relay $n did not start"
}

sender() { # sender SOURCE GROUP: 60 s of data (longer than any case), one datagram every 5 ms
    ip netns exec "$SRC" "$MC_SEND" -s "$1" -g "$2" -c 12000 -i 5000 -z 200 >/dev/null 2>"$W/send-$1.log" &
    PIDS="$PIDS $!"
}

INGEST_N=0
start_ingest() { # start_ingest [ARGS...]: driad-ingest in the gateway namespace
    INGEST_N=$((INGEST_N + 1))
    LOG=$W/ingest$INGEST_N.log
    ip netns exec "$GW" ${INGEST_AS:-} "$DRIAD_INGEST" -j "$W/joins" --tun $TUN --resolver 127.0.0.1 \
        --retry 0.2 --linger 1 --hold-down 30 --dns-timeout 2 --status "${STATUS:-$W/status.json}" \
        --status-interval 0.5 "$@" >"$W/ingest$INGEST_N.out" 2>"$LOG" &
    INGEST=$!
    PIDS="$PIDS $INGEST"
    wait_log "$LOG" "tun $TUN: \(created\|attached\)" 50 || fail "driad-ingest did not open $TUN"
    # Addresses so that sockets can join on the device; no reverse-path check on it.
    ip -n "$GW" addr add 10.77.0.1/24 dev $TUN 2>/dev/null
    ip -n "$GW" addr add fd00:77::1/64 dev $TUN nodad 2>/dev/null
    in_ns "$GW" sysctl -qw net.ipv4.conf.$TUN.rp_filter=0
}

stop_ingest() {
    kill -TERM "$INGEST"
    wait_exit "$INGEST" 100
    kill -0 "$INGEST" 2>/dev/null && fail "driad-ingest did not exit on SIGTERM"
    wait "$INGEST"
    rc=$?
    [ "$rc" = 0 ] || fail "driad-ingest exited $rc after SIGTERM"
}

RECV_N=0
# receive SOURCE GROUP COUNT: a socket joined on the TUN device gets COUNT datagrams
# (bounded: 30 s).
receive() {
    RECV_N=$((RECV_N + 1))
    in_ns "$GW" "$MC_RECV" -s "$1" -g "$2" -I $TUN -c "$3" -t 30 >"$W/recv$RECV_N.out" 2>"$W/recv$RECV_N.log" ||
        fail "receiver on $TUN for $1,$2 got $(cat "$W/recv$RECV_N.out")"
}

joins() { # joins LINE...: replace the joinfile atomically
    printf '%s\n' "$@" >"$W/joins.tmp"
    mv "$W/joins.tmp" "$W/joins"
}

setup
start_bind
# Relay A misbehaves in some cases; relay B also serves the discovery address 10.13.3.21.
case $CASE in
refused) start_relay A 10.13.3.1 fd00:13:3::1 --l-flag ;;
silent) start_relay A 10.13.3.1 fd00:13:3::1 --ignore-requests 1000 ;;
notraffic) start_relay A 10.13.3.1 fd00:13:3::1 --fault silent ;;
*) start_relay A 10.13.3.1 fd00:13:3::1 ;;
esac
start_relay B 10.13.3.11 fd00:13:3::11 -l 10.13.3.21

case $CASE in
flow)
    joins "10.12.2.1,232.1.1.1" "fd00:12:2::1,ff3e::8000:1"
    sender 10.12.2.1 232.1.1.1
    sender fd00:12:2::1 ff3e::8000:1
    start_ingest
    wait_log "$LOG" "tunnel 10.13.3.1: joined" 100 || fail "IPv4 tunnel not joined"
    wait_log "$LOG" "tunnel fd00:13:3::1: joined" 100 || fail "IPv6 tunnel not joined"
    receive 10.12.2.1 232.1.1.1 50
    receive fd00:12:2::1 ff3e::8000:1 50
    for l in "joinfile $W/joins: +10.12.2.1,232.1.1.1" "lookup 10.12.2.1: 2 candidates" \
             "relay 10.13.3.1 for 10.12.2.1 (precedence 10, from AMTRELAY)" \
             "tunnel 10.13.3.1: requesting" "first data 10.12.2.1,232.1.1.1 via 10.13.3.1 after" \
             "relay fd00:13:3::1 for fd00:12:2::1 (precedence 10, from AMTRELAY)" \
             "first data fd00:12:2::1,ff3e::8000:1 via fd00:13:3::1 after"; do
        grep -qF "$l" "$LOG" || fail "no log line '$l'"
    done
    # The status file: both tunnels joined, counters moving (SIGUSR1 writes it at once).
    kill -USR1 "$INGEST"
    wait_log "$W/status.json" '"tunnels_joined":2' 50 || fail "status file: $(cat "$W/status.json")"
    grep -q '"source":"10.12.2.1","group":"232.1.1.1","packets":[1-9]' "$W/status.json" ||
        fail "status file has no packets for 10.12.2.1,232.1.1.1: $(cat "$W/status.json")"
    python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$W/status.json" 2>/dev/null ||
        { command -v python3 >/dev/null && fail "status file is not JSON"; }
    stop_ingest
    # The exit summary on stdout: one line per channel.
    grep -q "^10.12.2.1,232.1.1.1 via 10.13.3.1: [1-9][0-9]* packets, [1-9][0-9]* bytes$" "$W/ingest1.out" ||
        fail "summary: $(cat "$W/ingest1.out")"
    grep -q "^fd00:12:2::1,ff3e::8000:1 via fd00:13:3::1: [1-9][0-9]* packets" "$W/ingest1.out" ||
        fail "summary: $(cat "$W/ingest1.out")"
    echo "ok: IPv4 and IPv6 channels through their relays into $TUN, status file written"
    ;;
failover)
    joins "10.12.2.1,232.1.1.1" "fd00:12:2::1,ff3e::8000:1"
    sender 10.12.2.1 232.1.1.1
    sender fd00:12:2::1 ff3e::8000:1
    start_ingest --no-traffic 3
    wait_log "$LOG" "tunnel 10.13.3.1: joined" 100 || fail "tunnel to relay A not joined"
    wait_log "$LOG" "tunnel fd00:13:3::1: joined" 100 || fail "IPv6 tunnel to relay A not joined"
    receive 10.12.2.1 232.1.1.1 30
    kill -9 "$RELAY_A"
    wait_log "$LOG" "relay 10.13.3.1 held down for 30 s: .*; 10.12.2.1 moves to 10.13.3.11" 150 ||
        fail "no failover of 10.12.2.1 to relay B"
    wait_log "$LOG" "relay fd00:13:3::1 held down for 30 s: .*; fd00:12:2::1 moves to fd00:13:3::11" 150 ||
        fail "no failover of fd00:12:2::1 to relay B"
    wait_log "$LOG" "tunnel 10.13.3.11: joined" 100 || fail "tunnel to relay B not joined"
    receive 10.12.2.1 232.1.1.1 30
    receive fd00:12:2::1 ff3e::8000:1 30
    grep -q "join 10.12.2.1,232.1.1.1 from 10.13.3.2" "$W/relay-B.log" || fail "relay B never saw the join"
    stop_ingest
    echo "ok: relay A killed mid-stream, both sources moved to relay B, data resumed"
    ;;
dns)
    joins "10.12.2.1,232.1.1.1"
    sender 10.12.2.1 232.1.1.1
    sender 10.12.2.5 232.1.1.2
    start_ingest
    wait_log "$LOG" "tunnel 10.13.3.1: joined" 100 || fail "tunnel not joined"
    receive 10.12.2.1 232.1.1.1 20
    bind_stop "$W/bind"
    joins "10.12.2.1,232.1.1.1" "10.12.2.5,232.1.1.2"
    wait_log "$LOG" "lookup 10.12.2.5: failed" 150 || fail "the new source's lookup did not fail"
    # TTL 3 s: the running source has been looked up again, without DNS.
    wait_log "$LOG" "lookup 10.12.2.1: failed .*; keeping relay 10.13.3.1" 150 ||
        fail "the running source's re-lookup did not fail"
    receive 10.12.2.1 232.1.1.1 20
    grep -q "leave 10.12.2.1,232.1.1.1" "$LOG" && fail "the running channel was left during the DNS outage"
    start_bind
    wait_log "$LOG" "relay 10.13.3.21 for 10.12.2.5" 300 || fail "the new source was not retried"
    receive 10.12.2.5 232.1.1.2 20
    stop_ingest
    echo "ok: DNS down: running tunnel unaffected, new source retried and joined when DNS came back"
    ;;
garbage)
    joins "10.12.2.1,232.1.1.1" "fd00:12:2::1,ff3e::8000:1"
    sender 10.12.2.1 232.1.1.1
    start_ingest
    wait_log "$LOG" "tunnel 10.13.3.1: joined" 100 || fail "tunnel not joined"
    head -c 3000 /dev/urandom | tr -d '\n' >"$W/joins.tmp"
    printf '\nnot a joinfile\n' >>"$W/joins.tmp"
    mv "$W/joins.tmp" "$W/joins"
    wait_log "$LOG" "no valid entry; keeping the last good set (2 entries)" 100 ||
        fail "garbage not reported"
    receive 10.12.2.1 232.1.1.1 20
    grep -q "leave " "$LOG" && fail "a channel was left after the garbage"
    grep -q "joinfile $W/joins: -" "$LOG" && fail "an entry was removed after the garbage"
    # A good file after the garbage applies again (one channel removed).
    joins "10.12.2.1,232.1.1.1"
    wait_log "$LOG" "joinfile $W/joins: -fd00:12:2::1,ff3e::8000:1" 100 || fail "good file not applied"
    wait_log "$LOG" "leave fd00:12:2::1,ff3e::8000:1 via fd00:13:3::1" 100 || fail "removed entry not left"
    stop_ingest
    echo "ok: garbage joinfile ignored, channels kept; the next good file applied"
    ;;
sigterm)
    joins "10.12.2.1,232.1.1.1" "fd00:12:2::1,ff3e::8000:1"
    start_ingest
    wait_log "$LOG" "tunnel 10.13.3.1: joined" 100 || fail "tunnel not joined"
    wait_log "$LOG" "tunnel fd00:13:3::1: joined" 100 || fail "IPv6 tunnel not joined"
    ip -n "$GW" link show $TUN >/dev/null 2>&1 || fail "$TUN missing while running"
    stop_ingest
    grep -q "leave 10.12.2.1,232.1.1.1 via 10.13.3.1" "$LOG" || fail "no leave logged"
    wait_log "$W/relay-A.log" "leave 10.12.2.1,232.1.1.1 from 10.13.3.2" 50 ||
        fail "relay A did not see the IPv4 leave"
    wait_log "$W/relay-A.log" "leave fd00:12:2::1,ff3e::8000:1 from fd00:13:3::2" 50 ||
        fail "relay A did not see the IPv6 leave"
    grep "leave 10.12.2.1,232.1.1.1 from" "$W/relay-A.log" | grep -q timeout &&
        fail "the relay timed the channel out instead of receiving the leave"
    ip -n "$GW" link show $TUN >/dev/null 2>&1 && fail "$TUN still exists after exit"
    # A persistent device that existed before is attached to and left in place.
    ip -n "$GW" tuntap add dev $TUN mode tun || fail "tuntap add"
    start_ingest
    grep -q "tun $TUN: attached" "$LOG" || fail "existing device not attached"
    wait_log "$LOG" "tunnel 10.13.3.1: joined" 100 || fail "tunnel not joined (persistent device)"
    stop_ingest
    ip -n "$GW" link show $TUN >/dev/null 2>&1 || fail "persistent $TUN removed"
    echo "ok: SIGTERM left every channel at the relay and removed the created $TUN; a persistent one stays"
    ;;
restart)
    joins "10.12.2.1,232.1.1.1" "10.12.2.5,232.1.1.2" "fd00:12:2::1,ff3e::8000:1"
    sender 10.12.2.1 232.1.1.1
    sender fd00:12:2::1 ff3e::8000:1
    start_ingest
    wait_log "$LOG" "tunnel 10.13.3.1: joined" 100 || fail "tunnel not joined"
    wait_log "$LOG" "tunnel fd00:13:3::1: joined" 100 || fail "IPv6 tunnel not joined"
    stop_ingest
    FIRST=$LOG
    start_ingest
    for l in "joinfile $W/joins: +10.12.2.1,232.1.1.1" "joinfile $W/joins: +10.12.2.5,232.1.1.2" \
             "joinfile $W/joins: +fd00:12:2::1,ff3e::8000:1"; do
        wait_log "$LOG" "$l" 50 || fail "restart: no '$l'"
    done
    wait_log "$LOG" "tunnel 10.13.3.1: joined" 100 || fail "restart: IPv4 tunnel not rebuilt"
    wait_log "$LOG" "tunnel fd00:13:3::1: joined" 100 || fail "restart: IPv6 tunnel not rebuilt"
    receive 10.12.2.1 232.1.1.1 20
    receive fd00:12:2::1 ff3e::8000:1 20
    # Two runs: relay A saw its two channels joined twice, relay B (through discovery)
    # its one channel twice.
    n1=$(grep -c "join .* from 10.13.3.2\|join .* from fd00:13:3::2" "$W/relay-A.log")
    [ "$n1" -ge 4 ] || fail "relay A saw $n1 joins, want 2 per run"
    n2=$(grep -c "join 10.12.2.5,232.1.1.2 from 10.13.3.2" "$W/relay-B.log")
    [ "$n2" -ge 2 ] || fail "relay B saw $n2 joins, want 1 per run"
    stop_ingest
    [ -s "$FIRST" ] || fail "first run log empty"
    echo "ok: restart rebuilt every tunnel from the joinfile"
    ;;
unpriv)
    # Least privilege: a persistent device owned by an unprivileged user and already up;
    # driad-ingest runs as that user with no capability at all.
    command -v setpriv >/dev/null 2>&1 || skip "setpriv not installed"
    ip -n "$GW" tuntap add dev $TUN mode tun user nobody || fail "tuntap add"
    ip -n "$GW" link set $TUN up
    chmod 755 "$W"
    mkdir "$W/st" && chown nobody "$W/st"
    joins "10.12.2.1,232.1.1.1" "fd00:12:2::1,ff3e::8000:1"
    chmod 644 "$W/joins"
    sender 10.12.2.1 232.1.1.1
    sender fd00:12:2::1 ff3e::8000:1
    # The wrapper drops to nobody without capabilities and execs driad-ingest, so $! is
    # driad-ingest itself.
    {
        echo '#!/bin/sh'
        if [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
            # This machine keeps /dev/net/tun root-only (Debian's default is 0666): the
            # process gets a 0666 node of the same device in a private mount namespace,
            # so nothing outside the test changes.
            command -v unshare >/dev/null 2>&1 || skip "unshare not installed"
            mknod -m 666 "$W/tun" c 10 200 || skip "cannot make a device node in $W"
            echo "mount --bind $W/tun /dev/net/tun || exit 1"
        fi
        echo 'exec setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs "$@"'
    } >"$W/as-nobody.sh"
    if [ -e "$W/tun" ]; then
        INGEST_AS="unshare -m sh $W/as-nobody.sh"
    else
        INGEST_AS="sh $W/as-nobody.sh"
    fi
    STATUS=$W/st/status.json
    start_ingest
    grep -q "tun $TUN: attached and up" "$LOG" || fail "persistent device not attached"
    [ "$(ps -o user= -p "$INGEST")" = nobody ] || fail "driad-ingest not running as nobody"
    grep -q '^CapEff:[[:space:]]*0*$' /proc/$INGEST/status || fail "driad-ingest has capabilities"
    wait_log "$LOG" "tunnel 10.13.3.1: joined" 100 || fail "IPv4 tunnel not joined"
    receive 10.12.2.1 232.1.1.1 20
    receive fd00:12:2::1 ff3e::8000:1 20
    kill -USR1 "$INGEST"
    wait_log "$STATUS" '"tunnels_joined":2' 50 || fail "no status file from the unprivileged process"
    stop_ingest
    ip -n "$GW" link show $TUN >/dev/null 2>&1 || fail "persistent $TUN removed"
    echo "ok: without privileges on a persistent device: data delivered, device left in place"
    ;;
refused|silent)
    # Relay A answers with the L flag (refused) or never answers Requests (silent): the
    # source moves to relay B and its data arrives.
    joins "10.12.2.1,232.1.1.1"
    sender 10.12.2.1 232.1.1.1
    start_ingest
    if [ "$CASE" = refused ]; then why="refused (L flag)"; else why="no answer to Requests"; fi
    wait_log "$LOG" "relay 10.13.3.1 held down for 30 s: $why; 10.12.2.1 moves to 10.13.3.11" 200 ||
        fail "no failover ($why)"
    wait_log "$LOG" "tunnel 10.13.3.11: joined" 100 || fail "tunnel to relay B not joined"
    receive 10.12.2.1 232.1.1.1 20
    stop_ingest
    echo "ok: relay A $why: the source moved to relay B and its data arrived"
    ;;
notraffic)
    # Relay A goes silent mid-stream (SIGUSR1: no data, no answers): with --no-traffic
    # the joined tunnel is declared failed (RFC 8777 §3.3.4.1) and the source moves.
    joins "10.12.2.1,232.1.1.1"
    sender 10.12.2.1 232.1.1.1
    start_ingest --no-traffic 1
    wait_log "$LOG" "tunnel 10.13.3.1: joined" 100 || fail "tunnel to relay A not joined"
    receive 10.12.2.1 232.1.1.1 20
    kill -USR1 "$RELAY_A"
    wait_log "$LOG" "relay 10.13.3.1 held down for 30 s: no traffic; 10.12.2.1 moves to 10.13.3.11" 100 ||
        fail "no failover after the relay stopped delivering"
    receive 10.12.2.1 232.1.1.1 20
    stop_ingest
    echo "ok: relay A stopped delivering while joined: the source moved to relay B, data resumed"
    ;;
noadvert)
    # The best record's discovery address never advertises a relay: after the Relay
    # Discovery attempts the source moves to the next record.
    joins "10.12.2.7,232.1.1.7"
    sender 10.12.2.7 232.1.1.7
    start_ingest
    wait_log "$LOG" "tunnel 10.13.3.31: discovering" 100 || fail "no discovery"
    wait_log "$LOG" "relay 10.13.3.31 held down for 30 s: no Relay Advertisement; 10.12.2.7 moves to 10.13.3.11" 300 ||
        fail "no failover after the unanswered discoveries"
    receive 10.12.2.7 232.1.1.7 20
    stop_ingest
    echo "ok: no Relay Advertisement: the source moved to its second record, data arrived"
    ;;
discovery)
    # D=0: Relay Discovery to the record's address, Requests to the advertised relay.
    joins "10.12.2.5,232.1.1.2"
    sender 10.12.2.5 232.1.1.2
    start_ingest --json
    wait_log "$LOG" "tunnel 10.13.3.21: opened (relay discovery)" 100 || fail "no discovery tunnel"
    wait_log "$LOG" "tunnel 10.13.3.21: discovering" 100 || fail "no discovery"
    wait_log "$LOG" "tunnel 10.13.3.21: joined" 100 || fail "discovery tunnel not joined"
    grep -q "advertisement to 10.13.3.2 .*: relay 10.13.3.11" "$W/relay-B.log" || fail "relay B advertised nothing"
    receive 10.12.2.5 232.1.1.2 20
    stop_ingest
    grep -q '^{"source":"10.12.2.5","group":"232.1.1.2","relay":"10.13.3.21","packets":[1-9][0-9]*,"bytes":[1-9][0-9]*}$' \
        "$W/ingest1.out" || fail "JSON summary: $(cat "$W/ingest1.out")"
    echo "ok: D=0 record: Relay Discovery, then the advertised relay delivered the data"
    ;;
*)
    fail "unknown case $CASE"
    ;;
esac
exit 0
