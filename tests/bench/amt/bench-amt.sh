#!/bin/sh
# bench-amt.sh — AMT data path throughput against its limits, measured in the same run.
#
# The test relay's generator floods AMT Multicast Data (64-byte UDP payloads) over
# loopback.  On loopback the sender's CPU also runs the receive path, so a streaming test
# measures the generator; instead each receiver is stopped (SIGSTOP), the generator fills
# its socket buffer with N datagrams, and the receiver is resumed: its rate draining that
# backlog (first to last datagram) is its own throughput.
#   limit   a bare recvmmsg loop (bench-amt-helper drain)
#   sink    amt-join, tunnel up, decapsulating and delivering into a sink
#   tun     amt-join --tun (one write() per datagram)
#   tunlim  a bare loop writing the same datagrams into a TUN device
# Each figure is the best of BENCH_ROUNDS interleaved rounds (a shared machine is noisy;
# the best round is the least disturbed one); receivers are pinned to one CPU.
# Needs root (its own network namespace, SO_RCVBUFFORCE, TUN); exits 77 otherwise.
# Environment: AMT_JOIN AMT_RELAY BENCH_HELPER; BENCH_PACKETS (default 1000000),
# BENCH_ROUNDS (default 3).
set -u
N=${BENCH_PACKETS:-1000000}
ROUNDS=${BENCH_ROUNDS:-3}
SIZE=64
RCVBUF=1073741824
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null 2>&1; then
    echo "SKIP: the benchmark needs root (namespace, SO_RCVBUFFORCE, TUN)"
    exit 77
fi
W=$(mktemp -d)
NS=mci-amt-bench-$$
PIDS=""
cleanup() {
    for p in $PIDS; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$NS" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT INT TERM
ip netns add "$NS" && ip -n "$NS" link set lo up || exit 1

# wait_for FILE PATTERN: bounded wait (20 s).
wait_for() { i=0; while [ $i -lt 400 ] && ! grep -q "$2" "$1" 2>/dev/null; do sleep 0.05; i=$((i + 1)); done; }
wait_pid() { i=0; while [ $i -lt 1200 ] && kill -0 "$1" 2>/dev/null; do sleep 0.05; i=$((i + 1)); done; }
field() { sed -n "s/.*$1[=:]\"\{0,1\}\([0-9]*\).*/\1/p" "$2" | tail -n 1; }

PIN=""
command -v taskset >/dev/null 2>&1 && PIN="taskset -c 0"

# Every output file is removed first: a background job truncates its redirection only
# when it starts, and a wait_for must not see the previous round's lines.
measure_limit() { # a bare recvmmsg drain of the backlog
    rm -f "$W/drain.out" "$W/relay-limit.log"
    ip netns exec "$NS" $PIN "$BENCH_HELPER" drain 22700 60 "$N" $RCVBUF >"$W/drain.out" &
    dr=$!
    PIDS="$PIDS $dr"
    wait_for "$W/drain.out" ready
    kill -STOP "$dr"
    ip netns exec "$NS" "$AMT_RELAY" -l 127.0.0.1 -p 22701 --static 127.0.0.1,22700,10.2.2.1,232.1.1.1 \
        --generate 0 --count "$N" --size $SIZE 2>"$W/relay-limit.log" >/dev/null &
    rl=$!
    PIDS="$PIDS $rl"
    wait_for "$W/relay-limit.log" "generator: sent"
    kill -CONT "$dr"
    wait_pid "$dr"
    kill "$rl" 2>/dev/null
    wait "$rl" 2>/dev/null
    [ "$(field packets "$W/drain.out")" = "$N" ] || { echo "drain got $(field packets "$W/drain.out") of $N" >&2; return; }
    field pps "$W/drain.out"
}

measure_join() { # measure_join NAME ARGS...: amt-join draining the backlog through a live tunnel
    name=$1
    shift
    rm -f "$W/relay-$name.log" "$W/$name.json" "$W/$name.log" "$W/$name.gw"
    ip netns exec "$NS" "$AMT_RELAY" -l 127.0.0.1 -a 127.0.0.1 -p 22702 --generate 0 \
        --count "$N" --size $SIZE --gen-wait 2>"$W/relay-$name.log" >/dev/null &
    rl=$!
    PIDS="$PIDS $rl"
    wait_for "$W/relay-$name.log" listening
    ip netns exec "$NS" $PIN "$AMT_JOIN" --json -r 127.0.0.1 --relay-port 22702 --no-discovery \
        --rcvbuf $RCVBUF -c "$N" -d 60 "$@" 10.2.2.1 232.1.1.1 >"$W/$name.json" 2>"$W/$name.log" &
    jn=$!
    PIDS="$PIDS $jn"
    wait_for "$W/relay-$name.log" "join 10.2.2.1,232.1.1.1"
    kill -STOP "$jn"
    kill -USR1 "$rl"
    wait_for "$W/relay-$name.log" "generator: sent"
    kill -CONT "$jn"
    wait_pid "$jn"
    kill -TERM "$jn" 2>/dev/null
    kill "$rl" 2>/dev/null
    wait "$rl" 2>/dev/null
    grep '"event":"gateway"' "$W/$name.json" >"$W/$name.gw"
    [ "$(field '"packets"' "$W/$name.gw")" = "$N" ] || { echo "$name got $(field '"packets"' "$W/$name.gw") of $N" >&2; return; }
    field '"pps"' "$W/$name.gw"
}

measure_tunwrite() {
    ip netns exec "$NS" $PIN "$BENCH_HELPER" tunwrite amtbench0 1 $SIZE >"$W/tunwrite.out"
    field pps "$W/tunwrite.out"
}

ip -n "$NS" tuntap add dev amtbench0 mode tun && ip -n "$NS" link set amtbench0 up || exit 1
max() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { print (a + 0 > b + 0) ? a : b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f%%", 100 * a / b; else print "n/a" }'; }
limit=0 sink=0 tun=0 tunlim=0
r=1
echo "AMT data path: $N datagrams (${SIZE}-byte UDP payloads) drained from a socket backlog, one core"
while [ $r -le "$ROUNDS" ]; do
    l=$(measure_limit); s=$(measure_join sink); t=$(measure_join tun --tun amtbench0); tl=$(measure_tunwrite)
    echo "  round $r: limit ${l:-?}  sink ${s:-?} ($(ratio "${s:-0}" "${l:-0}"))  tun-limit ${tl:-?}  tun ${t:-?} ($(ratio "${t:-0}" "${tl:-0}")) pkts/s"
    limit=$(max "$limit" "$l"); sink=$(max "$sink" "$s"); tun=$(max "$tun" "$t"); tunlim=$(max "$tunlim" "$tl")
    r=$((r + 1))
done
echo "best of $ROUNDS rounds:"
echo "  limit, bare recvmmsg drain:   $limit pkts/s"
echo "  amt-join into a sink:         $sink pkts/s   $(ratio "$sink" "$limit") of the limit"
echo "  limit, bare TUN write loop:   $tunlim pkts/s"
echo "  amt-join --tun:               $tun pkts/s   $(ratio "$tun" "$tunlim") of the TUN limit"
if [ "$limit" = 0 ] || [ "$sink" = 0 ] || [ "$tun" = 0 ] || [ "$tunlim" = 0 ]; then
    echo "a measurement failed"
    tail -n 5 "$W"/*.log "$W"/*.out
    exit 1
fi
