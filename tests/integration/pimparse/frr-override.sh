#!/bin/sh
# frr-override.sh PIMWATCH MCAST-HELPER — two FRR routers downstream of pimwatch on one
# LAN (a bridge), each with an IGMPv3 receiver of the same (S,G) (RFC 7761 §4.5.3,
# spec/pim.md §9: Prune-Pending with more than one neighbor):
#
#   rcvA ── rtrA (FRR) ─┐
#                       ├─ lan (bridge) ── ing: pimwatch 10.2.0.2
#   rcvB ── rtrB (FRR) ─┘
#
#  1. both receivers join; the entry is in the joinfile;
#  2. receiver A leaves: rtrA prunes, pimwatch (two neighbors) holds the Prune pending,
#     rtrB overrides it with a Join, and the entry stays;
#  3. receiver B leaves: rtrB prunes, nobody overrides, the entry goes after the
#     override interval.
# Exit 77 when not root, or (outside CI) when a tool is missing.
set -u
PIMWATCH=$1 HELPER=$2
. "$(dirname "$0")/../../lib/common.sh"
require_root_tools ip
require_frr

P=mci-pim-$$
LAN=$P-lan ING=$P-ing
NSS="$LAN $ING $P-rtrA $P-rtrB $P-rcvA $P-rcvB"
W=$(mktemp -d /tmp/mci-pim-ovr.XXXXXX)
chmod 755 "$W"
PIDS=""
S=10.9.0.2 G=232.1.1.1
cleanup() {
  for p in $PIDS; do kill "$p" 2> /dev/null; done
  netns_stop $NSS
  if [ "${KEEP_WORKDIR:-}" != 1 ]; then rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
  echo "FAIL: $*"
  for f in "$W"/pimwatch.log "$W"/frr-A/pimd.log "$W"/frr-B/pimd.log; do
    [ -f "$f" ] && { echo "--- $f"; tail -30 "$f"; }
  done
  exit 1
}
wait_for() {
  _secs=$1 _what=$2; shift 2
  _i=0 _n=$((_secs * 5))
  while [ $_i -lt $_n ]; do "$@" && return 0; sleep 0.2; _i=$((_i + 1)); done
  fail "timed out after ${_secs}s waiting for $_what"
}
has_entry() { grep -qx "$S,$G" "$W/out.joinfile" 2> /dev/null; }
no_entry() { ! has_entry; }

for n in $NSS; do ip netns add "$n" || fail "netns add $n"; ip -n "$n" link set lo up; done
ip -n $LAN link add br0 type bridge
ip -n $LAN link set br0 up
ip link add ing0 netns $ING type veth peer name l-ing netns $LAN || fail "veth"
ip -n $LAN link set l-ing master br0 up
ip -n $ING addr add 10.2.0.2/24 dev ing0
ip -n $ING link set ing0 up
k=1
for r in A B; do
  R=$P-rtr$r C=$P-rcv$r
  ip link add up0 netns $R type veth peer name l-$r netns $LAN || fail "veth"
  ip -n $LAN link set l-$r master br0 up
  ip link add dn0 netns $R type veth peer name r0 netns $C || fail "veth"
  ip -n $R addr add 10.2.0.1$k/24 dev up0; ip -n $R link set up0 up
  ip -n $R addr add 10.1.$k.1/24 dev dn0; ip -n $R link set dn0 up
  ip -n $C addr add 10.1.$k.2/24 dev r0; ip -n $C link set r0 up
  ip -n $C route add default via 10.1.$k.1
  ip -n $R route add 10.9.0.0/24 via 10.2.0.2          # RPF(S) = the ingest device
  ip netns exec $R sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0
  ip netns exec $C sysctl -qw net.ipv4.conf.all.force_igmp_version=3 net.ipv4.conf.r0.force_igmp_version=3
  T=$W/frr-$r
  mkdir -p "$T"
  echo "hostname rtr$r" > "$T/zebra.conf"
  # Hellos every 5 s on the LAN (default 30): pimwatch must hear both routers before the
  # test can rely on "more than one neighbor".
  printf 'interface dn0\n ip igmp\n ip pim\ninterface up0\n ip pim\n ip pim hello 5\n' > "$T/pimd.conf"
  chown -R frr:frr "$T"
  ip netns exec $R /usr/lib/frr/zebra -d -z "$T/zserv.api" --vty_socket "$T" -f "$T/zebra.conf" \
    -i "$T/zebra.pid" --log "file:$T/zebra.log" || fail "zebra $r"
  wait_for 10 "zebra $r" test -S "$T/zserv.api"
  ip netns exec $R /usr/lib/frr/pimd -d -z "$T/zserv.api" --vty_socket "$T" -f "$T/pimd.conf" \
    -i "$T/pimd.pid" --log "file:$T/pimd.log" || fail "pimd $r"
  wait_for 10 "pimd $r" test -s "$T/pimd.pid"
  PIDS="$PIDS $(cat "$T/zebra.pid") $(cat "$T/pimd.pid")"
  k=$((k + 1))
done

ip netns exec $ING "$PIMWATCH" -i ing0 -j "$W/out.joinfile" --events -v \
  > "$W/events.txt" 2> "$W/pimwatch.log" &
PW=$!
PIDS="$PIDS $PW"
wait_for 30 "both routers as neighbors" sh -c "grep -q 'neighbor 10.2.0.11 up' '$W/pimwatch.log' && grep -q 'neighbor 10.2.0.12 up' '$W/pimwatch.log'"

ip netns exec $P-rcvA "$HELPER" recv 10.1.1.2 $G $S 5001 "$W/countA" &
RA=$!
ip netns exec $P-rcvB "$HELPER" recv 10.1.2.2 $G $S 5001 "$W/countB" &
RB=$!
PIDS="$PIDS $RA $RB"
wait_for 40 "the Join in the joinfile" has_entry
echo "ok 1 - both routers' receivers joined"

kill -TERM $RA
wait $RA 2> /dev/null
wait_for 30 "rtrA's Prune to go pending" grep -q "prune $S,$G from 10.2.0.11 pending for 3000 ms" "$W/pimwatch.log"
wait_for 10 "rtrB's override" grep -q "prune of $S,$G overridden by a Join from 10.2.0.12" "$W/pimwatch.log"
# Past the override interval the entry must still be there.
sleep 4
has_entry || fail "the overridden Prune removed the entry"
grep -q " prune $S,$G\$" "$W/events.txt" && fail "a prune event despite the override"
echo "ok 2 - rtrA's Prune was held pending and overridden by rtrB's Join"

kill -TERM $RB
wait $RB 2> /dev/null
wait_for 30 "rtrB's Prune to go pending" grep -q "prune $S,$G from 10.2.0.12 pending for 3000 ms" "$W/pimwatch.log"
wait_for 10 "the entry to go" no_entry
grep -q " prune $S,$G\$" "$W/events.txt" || fail "no prune event"
echo "ok 3 - the last router's Prune took effect after the override interval"
kill -TERM $PW
wait $PW || fail "pimwatch exit status"
echo "all passed"
