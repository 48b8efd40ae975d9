#!/bin/sh
# scale.sh — one driad-ingest with 10,000 (S,G)s over 1,000 relays, in one network
# namespace (mci-ing-N-scale), everything on its loopback device:
#
#   500 test relay processes, relay i serving 10.200.X.Y (IPv4) and fd00:200::i (IPv6);
#   BIND on 127.0.0.1:53 with one AMTRELAY record (D=1) per source: IPv4 source
#   10.100.X.Y → relay 10.200.X.Y, IPv6 source fd00:100::i → relay fd00:200::i;
#   a joinfile of 1,000 sources (500 IPv4, 500 IPv6) × 10 groups.
#
# Passes when every one of the 1,000 tunnels is joined (status file) and the relays
# logged all 10,000 joins.  Prints driad-ingest's resident memory as
# `rss_kib=N hwm_kib=N` (the memory benchmark tests/bench/ingest/bench-memory.sh reads it);
# it asserts no figure.
#
# Needs root, ip, named, dig: exit 77 without them (CI=true: a missing tool fails).
# Environment: DRIAD_INGEST AMT_RELAY.  SCALE_RELAYS (default 500 processes = 1,000 relay
# addresses) and SCALE_GROUPS (default 10 per source) change the size.
set -u
NR=${SCALE_RELAYS:-500}
NG=${SCALE_GROUPS:-10}

. "$(dirname "$0")/../../lib/common.sh"
. "$(dirname "$0")/../../lib/bind.sh"
require_root_tools ip named named-checkconf dig awk
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
[ "$NR" -ge 1 ] && [ "$NR" -le 16000 ] || { echo "FAIL: SCALE_RELAYS out of range"; exit 1; }

NS=mci-ing-$$-scale
W=$(mktemp -d)
FAILED=0
INGEST=""

cleanup() {
    [ -n "$INGEST" ] && kill "$INGEST" 2>/dev/null
    netns_del "$NS"
    keep_or_remove_workdir
}
trap cleanup EXIT INT TERM

fail() {
    echo "FAIL: $*"
    FAILED=1
    [ -f "$W/ingest.log" ] && { echo "--- driad-ingest (last lines)"; tail -n 30 "$W/ingest.log"; }
    exit 1
}

# Relay i (1..NR): IPv4 10.200.(i/250).(i%250+1), IPv6 fd00:200::<i in hex>.
ip netns add "$NS" || fail "netns add"
ip -n "$NS" link set lo up
awk -v n="$NR" 'BEGIN {
    for (i = 1; i <= n; i++) {
        printf "address add 10.200.%d.%d/32 dev lo\n", int(i / 250), i % 250 + 1
        printf "address add fd00:200::%x/128 dev lo nodad\n", i
        printf "address add 10.100.%d.%d/32 dev lo\n", int(i / 250), i % 250 + 1
    }
}' >"$W/addrs"
ip -n "$NS" -batch "$W/addrs" || fail "addresses"

# BIND: one reverse zone per family.
mkdir -p "$W/bind"
{
    bind_options "$W/bind" 53 '{ none; }'
    cat <<CONF
zone "100.10.in-addr.arpa" { type primary; file "v4.zone"; };
zone "0.0.0.0.0.0.0.0.0.0.1.0.0.0.d.f.ip6.arpa" { type primary; file "v6.zone"; };
CONF
} >"$W/bind/named.conf"
{
    printf '$TTL 3600\n@ IN SOA ns1.test. hostmaster.test. ( 1 3600 900 604800 60 )\n  IN NS ns1.test.\n'
    awk -v n="$NR" 'BEGIN { for (i = 1; i <= n; i++)
        printf "%d.%d IN AMTRELAY 10 1 1 10.200.%d.%d\n", i % 250 + 1, int(i / 250), int(i / 250), i % 250 + 1 }'
} >"$W/bind/v4.zone"
{
    printf '$TTL 3600\n@ IN SOA ns1.test. hostmaster.test. ( 1 3600 900 604800 60 )\n  IN NS ns1.test.\n'
    # The owner is the 16 low nibbles of fd00:100::i, reversed.
    awk -v n="$NR" 'BEGIN { for (i = 1; i <= n; i++) {
        h = sprintf("%016x", i); o = ""
        for (k = 16; k >= 1; k--) o = o substr(h, k, 1) (k > 1 ? "." : "")
        printf "%s IN AMTRELAY 10 1 2 fd00:200::%x\n", o, i } }'
} >"$W/bind/v6.zone"
bind_start "$NS" "$W/bind" "$W/named.log"
bind_wait "$NS" 53 -x 10.100.0.2 AMTRELAY || fail "named not answering"

# The relays.
i=1
while [ $i -le "$NR" ]; do
    a4=10.200.$((i / 250)).$((i % 250 + 1))
    a6=$(printf 'fd00:200::%x' $i)
    ip netns exec "$NS" "$AMT_RELAY" -a "$a4" -a "$a6" >/dev/null 2>"$W/relay-$i.log" &
    i=$((i + 1))
done
i=0
while [ $i -lt 300 ]; do
    n=$(grep -l listening "$W"/relay-*.log 2>/dev/null | wc -l)
    [ "$n" -ge "$NR" ] && break
    sleep 0.1; i=$((i + 1))
done
[ "$n" -ge "$NR" ] || fail "only $n of $NR relays listening"

# The joinfile: NG groups per source.
awk -v n="$NR" -v g="$NG" 'BEGIN {
    for (i = 1; i <= n; i++)
        for (k = 1; k <= g; k++) {
            printf "10.100.%d.%d,232.10.%d.%d\n", int(i / 250), i % 250 + 1, int(k / 250), k % 250 + 1
            printf "fd00:100::%x,ff3e::10:%x\n", i, k
        }
}' >"$W/joins"
NSG=$(wc -l <"$W/joins")
NT=$((2 * NR))

# `ip netns exec` execs the program: $! is driad-ingest itself.  `meson test` sets
# MALLOC_PERTURB_, which makes glibc fill every allocation: each tunnel's 2 MiB recvmmsg
# buffer would then be resident although the kernel only ever writes its first pages,
# and the RSS printed below would measure the test harness, not the tool.
ip netns exec "$NS" env -u MALLOC_PERTURB_ "$DRIAD_INGEST" -j "$W/joins" --tun ingscale0 --resolver 127.0.0.1 \
    --status "$W/status.json" --status-interval 1 >/dev/null 2>"$W/ingest.log" &
INGEST=$!

# Bounded wait: every tunnel joined (the status file counts them).
i=0
joined=0
while [ $i -lt 1800 ]; do
    joined=$(sed -n 's/.*"tunnels_joined":\([0-9]*\).*/\1/p' "$W/status.json" 2>/dev/null)
    [ "${joined:-0}" -ge "$NT" ] && break
    kill -0 "$INGEST" 2>/dev/null || fail "driad-ingest exited"
    sleep 0.1; i=$((i + 1))
done
[ "${joined:-0}" -ge "$NT" ] || fail "$joined of $NT tunnels joined"
tunnels=$(sed -n 's/.*"tunnel_count":\([0-9]*\).*/\1/p' "$W/status.json")
[ "$tunnels" = "$NT" ] || fail "$tunnels tunnels, want $NT (one per relay)"
channels=$(sed -n 's/.*"channel_count":\([0-9]*\).*/\1/p' "$W/status.json")
[ "$channels" = "$NSG" ] || fail "$channels channels in tunnels, want $NSG"

# Every join reached a relay (bounded wait for the last log lines).
i=0
while [ $i -lt 100 ]; do
    seen=$(cat "$W"/relay-*.log | grep -c ' join ')
    [ "$seen" -ge "$NSG" ] && break
    sleep 0.1; i=$((i + 1))
done
[ "$seen" -ge "$NSG" ] || fail "the relays saw $seen joins, want $NSG"

rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$INGEST/status)
hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/$INGEST/status)
echo "scale: $NSG (S,G)s over $NT relays, $joined tunnels joined"
echo "rss_kib=$rss hwm_kib=$hwm"
# SCALE_SMAPS=FILE keeps driad-ingest's memory map, for reading where the memory goes.
[ -n "${SCALE_SMAPS:-}" ] && cp /proc/$INGEST/smaps "$SCALE_SMAPS"

kill -TERM "$INGEST"
wait_exit "$INGEST" 300
kill -0 "$INGEST" 2>/dev/null && fail "driad-ingest did not exit on SIGTERM"
wait "$INGEST" || fail "driad-ingest exited non-zero after SIGTERM"
INGEST=""
left=$(grep -c '^.* info driad-ingest: leave ' "$W/ingest.log")
[ "$left" = "$NSG" ] || fail "$left leaves logged at exit, want $NSG"
echo "ok: $NSG (S,G)s over $NT relays in one driad-ingest, all joined and all left"
exit 0
