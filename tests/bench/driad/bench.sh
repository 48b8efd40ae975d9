#!/bin/sh
# bench.sh — DRIAD lookup rate (issue 3 benchmark): 10,000 distinct sources against a
# local BIND through libdriad's async driver, against `drill` in a loop over a sample of
# the same sources (the peer) and a bare pipelined UDP query/answer loop over the same
# names (the limit), all measured in this run.  Prints lookups/s and the ratios.
set -eu
BENCH=${DRIAD_BENCH:?set DRIAD_BENCH to bench-driad}
. "$(dirname "$0")/../../integration/driad/peers.sh"
. "$(dirname "$0")/../../lib/bind.sh"
need_tool named drill dig
PORT=53533
COUNT=${DRIAD_BENCH_COUNT:-10000}
SAMPLE=${DRIAD_BENCH_DRILL_SAMPLE:-200}
WINDOW=${DRIAD_BENCH_WINDOW:-100}
mkdir -p "$W/bind/zones"
{
    bind_options "$W/bind" $PORT '{ none; }'
    cat <<CONF
logging { category default { null; }; category lame-servers { null; }; };
zone "18.198.in-addr.arpa" { type primary; file "zones/18.zone"; };
zone "19.198.in-addr.arpa" { type primary; file "zones/19.zone"; };
zone "example.com" { type primary; file "zones/example.com.zone"; };
CONF
} >"$W/bind/named.conf"
# sources 198.18.0.0 + i + 1, i < COUNT (in 198.18.0.0/15)
export W
awk -v n="$COUNT" -v soa="$SOA" 'BEGIN {
    for (z = 18; z <= 19; z++) {
        f = ENVIRON["W"] "/bind/zones/" z ".zone"
        printf "$ORIGIN %d.198.in-addr.arpa.\n$TTL 300\n%s\n", z, soa > f
    }
    for (i = 0; i < n; i++) {
        a = i + 1; o3 = int(a / 65536); o2 = int(a / 256) % 256; o1 = a % 256
        f = ENVIRON["W"] "/bind/zones/" (18 + o3) ".zone"
        printf "%d.%d IN AMTRELAY 10 0 1 203.0.113.%d\n", o1, o2, (a % 250) + 1 > f
    }
}'
printf '$ORIGIN example.com.\n$TTL 300\n%s\nns1 IN A 127.0.0.1\n' "$SOA" > "$W/bind/zones/example.com.zone"
start_bind $PORT

# drill, one process per lookup, over an evenly spread sample
step=$((COUNT / SAMPLE))
[ $step -ge 1 ] || step=1
t0=$(date +%s%N)
i=0
n=0
while [ $i -lt "$COUNT" ] && [ $n -lt "$SAMPLE" ]; do
    a=$((0xc6120000 + i + 1))
    s="$(( (a >> 24) & 255 )).$(( (a >> 16) & 255 )).$(( (a >> 8) & 255 )).$(( a & 255 ))"
    drill -p $PORT -x "$s" @127.0.0.1 TYPE260 > "$W/drill.out" 2>&1 || fail "drill $s"
    grep -q 'rcode: NOERROR' "$W/drill.out" || fail "drill $s: $(cat "$W/drill.out")"
    i=$((i + step))
    n=$((n + 1))
done
t1=$(date +%s%N)

"$BENCH" $PORT "$COUNT" "$WINDOW" 3 | tee "$W/bench.out"
drv=$(awk '$1 == "driver" { print $2 }' "$W/bench.out")
bare=$(awk '$1 == "bare" { print $2 }' "$W/bench.out")
awk -v n="$n" -v t0="$t0" -v t1="$t1" -v drv="$drv" -v bare="$bare" -v count="$COUNT" -v w="$WINDOW" 'BEGIN {
    drill = n / ((t1 - t0) / 1e9)
    printf "sources %d, window %d, BIND -n 1 on 127.0.0.1\n", count, w
    printf "libdriad async driver: %10.0f lookups/s\n", drv
    printf "drill loop (%d):       %10.0f lookups/s\n", n, drill
    printf "bare pipelined UDP:    %10.0f answers/s\n", bare
    r1 = (drv + 0) / (drill + 0)
    r2 = (drv + 0) / (bare + 0)
    printf "driver / drill = %.1fx (target >= 200x: %s)\n", r1, (r1 >= 200 ? "met" : "MISSED")
    printf "driver / bare  = %.0f%% (target >= 50%%: %s)\n", 100 * r2, (r2 >= 0.5 ? "met" : "MISSED")
}'
