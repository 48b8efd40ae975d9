#!/bin/sh
# amt-ns.sh CASE — amt-join against the strict test relay in network namespaces:
#
#   mci-amt-N-src  src0 10.2.2.1 / fd00:2::1 ==veth== rly-src 10.2.2.2 / fd00:2::2  mci-amt-N-rly
#   mci-amt-N-rly  rly-gw 10.3.3.1 / fd00:3::1 ==veth== gw0 10.3.3.2 / fd00:3::2     mci-amt-N-gw
#                  lo 10.99.0.1 / fd00:99::1 (discovery addresses)
#
# A real multicast sender in -src, the relay forwarding from its data interface, amt-join
# in -gw.  Every control message on gw0 is captured and decoded by tshark with checksum
# checks on; any expert warning fails the test (except a zero UDP checksum on IPv6
# Multicast Data, legal for AMT: RFC 7450 §4.2.2.3 / RFC 6935).
#
# Needs root, ip, tcpdump, tshark: exit 77 without them, except in CI (CI=true) where a
# missing tool is a failure.  Environment: AMT_JOIN AMT_RELAY MC_SEND MC_RECV TXCSUM_OFF.
set -u
CASE=${1:?case}

. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/amt-world.sh"
# Not root: skipped everywhere (CI runs as root); a missing tool fails in CI.
require_root_tools ip tcpdump tshark od cmp
[ -c /dev/net/tun ] || [ "$CASE" != tun ] || skip "no /dev/net/tun"

amt_world_init mci-amt-$$
W=$(mktemp -d)
PIDS=""
FAILED=0

cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    amt_world_delete
    keep_or_remove_workdir
}
trap cleanup EXIT INT TERM

setup() {
    amt_world_create
    amt_world_addresses 10.2.2 fd00:2 10.3.3 fd00:3
    ip -n "$RLY" addr add 10.99.0.1/32 dev lo
    ip -n "$RLY" addr add fd00:99::1/128 dev lo
    amt_world_up
    amt_world_routes
    ip -n "$SRC" -6 route add ff3e::/16 dev src0 table local 2>/dev/null || true
    # Final checksums on every link (no transmit offload): in the captures, and in the
    # sender's datagrams the relay picks up with its packet socket and forwards as is.
    amt_world_txcsum_off
}

start_capture() {
    ip netns exec "$GW" tcpdump --immediate-mode -i gw0 -s 0 -U -n -w "$W/gw0.pcap" udp port 2268 2>"$W/tcpdump.log" &
    PIDS="$PIDS $!"
    CAP=$!
    # Bounded wait for tcpdump to be listening.
    wait_log "$W/tcpdump.log" "listening on" 50
}

stop_capture() {
    sleep 0.3
    kill -TERM "$CAP" 2>/dev/null
    wait_exit "$CAP"
}

start_relay() {
    amt_world_relay -l 10.99.0.1 -l fd00:99::1 -a 10.3.3.1 -a fd00:3::1 --data-if rly-src "$@"
}

json_field() { # json_field FILE EVENT KEY: a number from amt-join's --json records
    grep "\"event\":\"$2\"" "$1" | tail -n 1 | sed -n "s/.*\"$3\":\([0-9.-]*\).*/\1/p"
}

# Background jobs use `ip netns exec` directly (it execs), so $! is the program itself.

# tshark_check TYPES: decodes gw0.pcap; fails on any expert message except a zero UDP
# checksum on IPv6 Multicast Data; checks that every AMT type in TYPES was seen.
tshark_check() {
    tshark -r "$W/gw0.pcap" -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE \
        -T fields -E separator='|' -e frame.number -e ipv6.src -e amt.type \
        -e udp.checksum.status -e _ws.expert.message >"$W/tshark.txt" 2>"$W/tshark.err" ||
        fail "tshark could not read the capture"
    [ -s "$W/tshark.txt" ] || fail "empty capture"
    bad=$(awk -F'|' '
        $5 != "" {
            n = split($5, m, ",")
            for (i = 1; i <= n; i++) {
                if ($3 ~ /^6/ && $2 != "" && m[i] ~ /Illegal checksum value \(0\)/) continue
                print $1 ": " m[i]
            }
        }' "$W/tshark.txt")
    [ -z "$bad" ] || fail "tshark expert messages: $bad"
    # Every UDP checksum must be good (1).  Allowed: a zero outer checksum (4) on IPv6
    # Multicast Data, and a zero inner IPv4 checksum (3, "not present": digest §6).
    badck=$(awk -F'|' '$4 != "" {
            n = split($4, s, ",")
            for (i = 1; i <= n; i++) {
                if (s[i] == 1) continue
                if (i == 1 && s[i] == 4 && $3 ~ /^6/ && $2 != "") continue
                if (i > 1 && s[i] == 3) continue
                print $1 ": status " $4
            }
        }' "$W/tshark.txt")
    [ -z "$badck" ] || fail "bad UDP checksum status in frames: $badck"
    for t in "$@"; do
        cut -d'|' -f3 "$W/tshark.txt" | tr ',' '\n' | grep -qx "$t" || fail "AMT type $t not seen on the wire"
    done
    echo "tshark: $(wc -l <"$W/tshark.txt") frames, types $(cut -d'|' -f3 "$W/tshark.txt" | tr ',' '\n' | sort -u | tr '\n' ' ')checked"
}

# last_seq FILE SIZE: the sequence number in the last payload of a dump.
last_seq() {
    tail -c "$2" "$1" | head -c 8 | od -An -tu1 | awk '{ v = 0; for (i = 1; i <= NF; i++) v = v * 256 + $i; print v }'
}

send() { # send SOURCE GROUP COUNT INTERVAL_US DUMP [IFNAME]
    in_ns "$SRC" "$MC_SEND" -s "$1" -g "$2" -c "$3" -i "$4" -z 200 -d "$5" ${6:+-I "$6"} >"$W/send.out" 2>"$W/send.log"
}

join_bg() { # join_bg ARGS...: amt-join in the gateway namespace, in the background
    ip netns exec "$GW" "$AMT_JOIN" --retry 0.2 --json "$@" >"$W/join.json" 2>"$W/join.log" &
    JOIN=$!
    PIDS="$PIDS $JOIN"
}

wait_join() { # wait_join: bounded wait for amt-join to exit; sets JOIN_RC
    wait_exit "$JOIN" 600
    kill -0 "$JOIN" 2>/dev/null && { kill -TERM "$JOIN"; sleep 0.5; }
    wait "$JOIN"
    JOIN_RC=$?
}

setup
case "$CASE" in
basic|ipv6)
    if [ "$CASE" = basic ]; then
        S=10.2.2.1 G=232.1.1.1 DISC=10.99.0.1 IF=""
    else
        S=fd00:2::1 G=ff3e::8000:1 DISC=fd00:99::1 IF=src0
    fi
    start_capture
    # QQIC 3 s, MRC 1 s: a refresh cycle every 2 s.
    start_relay --qqic 3 --mrc 10 --mld-qqic 3 --mld-mrc 1000 ${IF:+--zero-csum6}
    N=200
    join_bg -r "$DISC" -c $N -d 40 -o "$W/recv.bin" "$S" "$G"
    wait_log "$W/relay.log" "join $S,$G" || fail "relay never saw the join"
    # 200 datagrams 25 ms apart: 5 s, at least two refresh cycles.
    send "$S" "$G" $N 25000 "$W/sent.bin" $IF || fail "sender failed"
    wait_join
    [ "$JOIN_RC" = 0 ] || fail "amt-join exit $JOIN_RC"
    cmp -s "$W/sent.bin" "$W/recv.bin" || fail "received payloads differ from the sent ones"
    got=$(json_field "$W/join.json" summary packets)
    [ "$got" = $N ] || fail "amt-join counted $got packets, sent $N"
    cycles=$(json_field "$W/join.json" gateway request_cycles)
    [ "${cycles:-0}" -ge 3 ] || fail "only ${cycles:-0} request cycles (want >= 3: two refreshes)"
    wait_log "$W/relay.log" "leave $S,$G .*(block)" 30 || fail "relay did not see the leave"
    stop_capture
    stop_relay
    [ "$(relay_stat rejected)" = 0 ] || fail "the strict relay rejected $(relay_stat rejected) messages"
    tshark_check 1 2 3 4 5 6
    echo "ok: $N packets, identical content, $cycles request cycles, leave seen"
    ;;
mixed|mixed4)
    # IPv4 and IPv6 channels on one IPv6 (mixed) or IPv4 (mixed4) tunnel; the relay
    # answers P=1 with IGMP (amtrelayd quirk) and sends IHL 5 queries.
    DISC=fd00:99::1
    [ "$CASE" = mixed4 ] && DISC=10.99.0.1
    start_capture
    start_relay --qqic 3 --mrc 10 --zero-csum6 --ignore-p --ihl5
    join_bg -r $DISC -d 40 -c 100 -o "$W/recv.bin" 10.2.2.1 232.1.1.1 fd00:2::1 ff3e::8000:1
    wait_log "$W/relay.log" "join fd00:2::1,ff3e::8000:1" || fail "relay never saw the IPv6 join"
    wait_log "$W/relay.log" "join 10.2.2.1,232.1.1.1" || fail "relay never saw the IPv4 join"
    send 10.2.2.1 232.1.1.1 50 20000 "$W/sent4.bin" || fail "sender failed"
    send fd00:2::1 ff3e::8000:1 50 20000 "$W/sent6.bin" src0 || fail "sender failed"
    wait_join
    [ "$JOIN_RC" = 0 ] || fail "amt-join exit $JOIN_RC"
    cat "$W/sent4.bin" "$W/sent6.bin" | cmp -s - "$W/recv.bin" || fail "payloads differ"
    stop_capture
    stop_relay
    [ "$(relay_stat rejected)" = 0 ] || fail "relay rejected messages"
    tshark_check 1 2 3 4 5 6
    echo "ok: IPv4 and IPv6 data over the $DISC tunnel, IHL 5 query, P flag ignored by the relay"
    ;;
tun)
    # IPv4 and IPv6 channels delivered through a TUN device to sockets joined on it.
    ip -n "$GW" tuntap add dev amttun0 mode tun || fail "tuntap"
    ip -n "$GW" addr add 10.77.0.1/24 dev amttun0
    ip -n "$GW" addr add fd00:77::1/64 dev amttun0 nodad
    ip -n "$GW" link set amttun0 up
    in_ns "$GW" sysctl -qw net.ipv4.conf.amttun0.rp_filter=0
    start_relay --qqic 3 --mrc 10
    N=100
    ip netns exec "$GW" "$MC_RECV" -s 10.2.2.1 -g 232.1.1.1 -I amttun0 -c $N -t 30 -d "$W/tun4.bin" >"$W/recv4.out" 2>"$W/recv4.log" &
    RECV4=$!
    ip netns exec "$GW" "$MC_RECV" -s fd00:2::1 -g ff3e::8000:1 -I amttun0 -c $N -t 30 -d "$W/tun6.bin" >"$W/recv6.out" 2>"$W/recv6.log" &
    RECV6=$!
    PIDS="$PIDS $RECV4 $RECV6"
    wait_log "$W/recv4.out" joined 50 || fail "receiver did not join 10.2.2.1,232.1.1.1 on amttun0"
    wait_log "$W/recv6.out" joined 50 || fail "receiver did not join fd00:2::1,ff3e::8000:1 on amttun0"
    join_bg -r 10.99.0.1 -d 40 -c $((2 * N)) --tun amttun0 10.2.2.1 232.1.1.1 fd00:2::1 ff3e::8000:1
    wait_log "$W/relay.log" "join 10.2.2.1,232.1.1.1" || fail "relay never saw the join"
    wait_log "$W/relay.log" "join fd00:2::1,ff3e::8000:1" || fail "relay never saw the IPv6 join"
    send 10.2.2.1 232.1.1.1 $N 10000 "$W/sent4.bin" || fail "sender failed"
    send fd00:2::1 ff3e::8000:1 $N 10000 "$W/sent6.bin" src0 || fail "sender failed"
    wait_join
    [ "$JOIN_RC" = 0 ] || fail "amt-join exit $JOIN_RC"
    for f in 4 6; do
        eval "rp=\$RECV$f"
        wait_exit "$rp" 100
        wait "$rp" || fail "the IPv$f socket joined on amttun0 got $(cat "$W/recv$f.out")"
        cmp -s "$W/sent$f.bin" "$W/tun$f.bin" || fail "TUN-delivered IPv$f payloads differ"
    done
    echo "ok: $N IPv4 and $N IPv6 datagrams delivered through amttun0 to sockets joined on it"
    ;;
gflag)
    start_capture
    start_relay --qqic 3 --mrc 10 --g-flag
    join_bg -r 10.99.0.1 -c 20 -d 30 10.2.2.1 232.1.1.1
    wait_log "$W/relay.log" "join 10.2.2.1,232.1.1.1" || fail "no join"
    send 10.2.2.1 232.1.1.1 20 20000 "$W/sent.bin"
    wait_join
    [ "$JOIN_RC" = 0 ] || fail "amt-join exit $JOIN_RC"
    wait_log "$W/relay.log" "teardown from 10.3.3.2" 30 || fail "relay saw no Teardown"
    stop_capture
    stop_relay
    [ "$(relay_stat teardowns)" = 1 ] || fail "teardowns=$(relay_stat teardowns)"
    [ "$(relay_stat rejected)" = 0 ] || fail "relay rejected messages"
    tshark_check 1 2 3 4 5 6 7
    echo "ok: G flag honoured, Teardown accepted by the strict relay and decoded by tshark"
    ;;
lflag)
    start_relay --qqic 3 --mrc 10 --l-flag
    join_bg -r 10.99.0.1 -d 3 10.2.2.1 232.1.1.1
    wait_join
    [ "$JOIN_RC" = 3 ] || fail "amt-join exit $JOIN_RC, want 3 (no data)"
    grep -q "refused" "$W/join.log" || fail "no refusal logged"
    stop_relay
    [ "$(relay_stat updates)" = 0 ] || fail "gateway sent Updates to a relay that refused"
    echo "ok: L flag gives a clear error and exit 3"
    ;;
ignore|wrongnonce|malformed)
    case "$CASE" in
    ignore) start_relay --qqic 3 --mrc 10 --ignore-requests 2 ;;
    wrongnonce) start_relay --qqic 3 --mrc 10 --wrong-nonce 2 ;;
    malformed) start_relay --qqic 3 --mrc 10 --malformed 2 ;;
    esac
    join_bg -r 10.99.0.1 -c 50 -d 40 -o "$W/recv.bin" 10.2.2.1 232.1.1.1
    wait_log "$W/relay.log" "join 10.2.2.1,232.1.1.1" 150 || fail "no join"
    send 10.2.2.1 232.1.1.1 50 20000 "$W/sent.bin"
    wait_join
    [ "$JOIN_RC" = 0 ] || fail "amt-join exit $JOIN_RC"
    cmp -s "$W/sent.bin" "$W/recv.bin" || fail "payloads differ"
    stop_relay
    case "$CASE" in
    ignore) [ "$(relay_stat requests)" -ge 3 ] || fail "requests=$(relay_stat requests)" ;;
    wrongnonce) [ "$(json_field "$W/join.json" gateway nonce)" -ge 2 ] || fail "nonce drops not counted" ;;
    malformed)
        # Every malformed message the relay sent is counted as a drop, none delivered.
        d=$(grep '"event":"gateway"' "$W/join.json" | sed 's/.*"drops":{//; s/[^0-9,]//g' |
            awk -F, '{ s = 0; for (i = 1; i <= NF; i++) s += $i; print s }')
        [ "$d" = "$(relay_stat malformed_sent)" ] ||
            fail "gateway counted $d drops, relay sent $(relay_stat malformed_sent) malformed messages"
        ;;
    esac
    [ "$(relay_stat rejected)" = 0 ] || fail "relay rejected messages"
    echo "ok: $CASE: recovered and received all 50 datagrams"
    ;;
silent|restart|close)
    start_relay --qqic 3 --mrc 10 --fault "$CASE"
    N=500
    join_bg -r 10.99.0.1 -d 40 -o "$W/recv.bin" 10.2.2.1 232.1.1.1
    wait_log "$W/relay.log" "join 10.2.2.1,232.1.1.1" || fail "no join"
    # 500 datagrams 30 ms apart (15 s); the fault hits at 3 s and clears at 7 s.
    send 10.2.2.1 232.1.1.1 $N 30000 "$W/sent.bin" &
    SEND=$!
    PIDS="$PIDS $SEND"
    sleep 3
    kill -USR1 "$RELAY"
    sleep 4
    kill -USR2 "$RELAY"
    wait_exit "$SEND" 300
    sleep 0.5
    kill -TERM "$JOIN"
    wait_join
    [ "$JOIN_RC" = 0 ] || fail "amt-join exit $JOIN_RC"
    lost=$(json_field "$W/join.json" gateway relay_lost)
    [ "${lost:-0}" -ge 1 ] || fail "the gateway never noticed the fault"
    # A closed port (close, and a restarted relay's closed relay address) shows up as an
    # ICMP port unreachable; a silent relay as unanswered Requests.
    case "$CASE" in
    silent) why="requests unanswered" ;;
    *) why="ICMP unreachable" ;;
    esac
    grep -q "lost ($why)" "$W/join.log" || fail "relay loss not detected by $why"
    seq=$(last_seq "$W/recv.bin" 200)
    [ "$seq" = $((N - 1)) ] || fail "last datagram received is #$seq, want #$((N - 1)) (no recovery)"
    stop_relay
    [ "$(relay_stat rejected)" = 0 ] || fail "relay rejected messages"
    echo "ok: $CASE: relay lost $lost time(s), recovered, received up to the last datagram"
    ;;
outputs)
    # Discovery through the anycast address, -P filter, -o - (data only on stdout),
    # --udp, --pcap, -i text stats on stderr, and SIGINT leaving the channel.  The
    # address is given with -r: --anycast first looks up AMTRELAY records in a build with
    # libdriad (that path is tested with a real DNS server in driad-join.sh).
    ip -n "$RLY" addr add 192.52.193.1/32 dev lo
    start_relay --qqic 3 --mrc 10 -l 192.52.193.1
    ip netns exec "$GW" tcpdump --immediate-mode -i lo -s 0 -U -n -w "$W/udp.pcap" udp port 6000 2>"$W/tcpdump-lo.log" &
    CAP=$!
    PIDS="$PIDS $CAP"
    wait_log "$W/tcpdump-lo.log" "listening on" 50
    ip netns exec "$GW" "$AMT_JOIN" --retry 0.2 -r 192.52.193.1 -P 5001 -o - --udp 127.0.0.1:6000 \
        --pcap "$W/inner.pcap" -i 1 10.2.2.1 232.1.1.1 >"$W/stdout.bin" 2>"$W/join.log" &
    JOIN=$!
    PIDS="$PIDS $JOIN"
    wait_log "$W/relay.log" "join 10.2.2.1,232.1.1.1" || fail "no join through the anycast address"
    in_ns "$SRC" "$MC_SEND" -s 10.2.2.1 -g 232.1.1.1 -p 5001 -c 40 -i 20000 -z 100 -d "$W/sent.bin" >/dev/null ||
        fail "sender failed"
    in_ns "$SRC" "$MC_SEND" -s 10.2.2.1 -g 232.1.1.1 -p 5002 -c 30 -i 20000 -z 100 >/dev/null ||
        fail "sender failed"
    wait_log "$W/join.log" "joined 10.2.2.1,232.1.1.1 for [0-9]*s, 40 pkts received" 50 ||
        fail "no interval statistics line with 40 packets on stderr"
    kill -INT "$JOIN"
    wait_join
    [ "$JOIN_RC" = 0 ] || fail "amt-join exit $JOIN_RC after SIGINT"
    wait_log "$W/relay.log" "leave 10.2.2.1,232.1.1.1 .*(block)" 30 || fail "no leave after SIGINT"
    cmp -s "$W/sent.bin" "$W/stdout.bin" || fail "stdout is not exactly the port-5001 payloads"
    kill -TERM "$CAP"
    sleep 0.3
    n=$(tshark -r "$W/inner.pcap" -Y "udp.dstport == 5001 && ip.dst == 232.1.1.1" 2>/dev/null | wc -l)
    all=$(tshark -r "$W/inner.pcap" 2>/dev/null | wc -l)
    [ "$n" = 40 ] && [ "$all" = 40 ] || fail "--pcap holds $all datagrams, $n to port 5001 (want 40, 40)"
    u=$(tshark -r "$W/udp.pcap" -Y "udp.length == 108" 2>/dev/null | wc -l)
    [ "$u" = 40 ] || fail "--udp re-sent $u payloads (want 40)"
    stop_relay
    echo "ok: anycast, port filter, stdout, --udp, --pcap, interval stats and SIGINT leave"
    ;;
*)
    echo "unknown case $CASE"
    exit 2
    ;;
esac
exit 0
