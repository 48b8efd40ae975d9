#!/bin/sh
# live-ipv6.sh PIMWATCH PIM-INJECT MCAST-HELPER — pimwatch live on a veth in namespaces,
# for the IPv6 paths no packaged router exercises (Debian 12's FRR has no pim6d):
#   1. our Hellos, IPv4 and IPv6, decoded by tcpdump on the peer side with correct
#      checksums (IPv6 pseudo-header), and the holdtime-0 Hello at exit;
#   2. an IPv6 Join to our link-local address (checksum computed by the kernel) reaches
#      the joinfile; one for another upstream router does not; the Prune removes it;
#   3. --forward-from: the IPv6 (S,G) gets an MRT6 route, and the sender's packets
#      arrive on the peer's side of the capture interface;
#   4. renumbering i0 while pimwatch runs: Joins follow the addresses, Hellos the new
#      primary.
#  peer: r0 fe80::1 10.3.0.1 == i0 fe80::2 10.3.0.2 | ing: pimwatch | i-up 2001:db8::ffff
#                                                   == s0 2001:db8::1 | snd: sender S
# Exit 77 when not root, or (outside CI) when ip or tcpdump is missing.
set -u
PIMWATCH=$1 INJECT=$2 HELPER=$3
. "$(dirname "$0")/../../lib/common.sh"
require_root_tools ip tcpdump
P=mci-pim-$$
A=$P-peer B=$P-ing C=$P-snd
W=$(mktemp -d /tmp/mci-pim6.XXXXXX)
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2> /dev/null; done
  netns_stop $A $B $C
  if [ "${KEEP_WORKDIR:-}" != 1 ]; then rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; for f in "$W"/*.log "$W"/*.txt; do [ -f "$f" ] && { echo "--- $f"; tail -40 "$f"; }; done; exit 1; }
wait_for() {
  _secs=$1 _what=$2; shift 2
  _i=0 _n=$((_secs * 5))
  while [ $_i -lt $_n ]; do "$@" && return 0; sleep 0.2; _i=$((_i + 1)); done
  fail "timed out after ${_secs}s waiting for $_what"
}
for n in $A $B $C; do
  ip netns add $n || fail "netns add"
  ip -n $n link set lo up
  # Fixed link-local addresses, no DAD delay: the test names them.
  ip netns exec $n sysctl -qw net.ipv6.conf.default.addr_gen_mode=1 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
done
ip link add r0 netns $A type veth peer name i0 netns $B || fail "veth"
ip -n $A addr add 10.3.0.1/24 dev r0
ip -n $A addr add fe80::1/64 dev r0 nodad
ip -n $B addr add 10.3.0.2/24 dev i0
ip -n $B addr add fe80::2/64 dev i0 nodad
ip -n $A link set r0 up
ip -n $B link set i0 up
ip link add i-up netns $B type veth peer name s0 netns $C || fail "veth"
ip -n $B addr add 2001:db8::ffff/64 dev i-up nodad
ip -n $C addr add 2001:db8::1/64 dev s0 nodad
ip -n $B link set i-up up
ip -n $C link set s0 up
ip netns exec $B sysctl -qw net.ipv6.conf.all.forwarding=1

# IPv6 multicast routes appear a moment after link-up; Hellos sent before are lost.
mroute6() { ip -n $1 -6 route show table local 2> /dev/null | grep -q "ff00::/8 dev $2"; }
wait_for 10 "IPv6 multicast routes" mroute6 $A r0
wait_for 10 "IPv6 multicast routes" mroute6 $B i0
ip netns exec $A tcpdump -i r0 --immediate-mode -n -s 0 -U -w "$W/peer.pcap" "pim or udp port 5002" 2> "$W/tcpdump.log" &
TD=$!
PIDS="$PIDS $TD"
wait_for 10 "tcpdump to listen" grep -q "listening on" "$W/tcpdump.log"
ip netns exec $B "$PIMWATCH" -i i0 -j "$W/out.joinfile" --events --forward-from i-up -v \
  > "$W/events.txt" 2> "$W/pimwatch.log" &
PW=$!
PIDS="$PIDS $PW"
wait_for 10 "pimwatch to start" grep -q "watching PIM on i0" "$W/pimwatch.log"
grep -q "upstream neighbor address fe80::2" "$W/pimwatch.log" || fail "fe80::2 not one of our addresses"

has() { grep -qx "$1" "$W/out.joinfile" 2> /dev/null; }
hasnt() { ! has "$1"; }
ip netns exec $A "$INJECT" r0 fe80::1 fe80::2 210 join 2001:db8::1 ff3e::8000:1 || fail "inject"
wait_for 10 "the IPv6 join in the joinfile" has "2001:db8::1,ff3e::8000:1"
grep -q "join 2001:db8::1,ff3e::8000:1 from fe80::1 (holdtime 210)" "$W/pimwatch.log" || fail "join log line"
ip netns exec $A "$INJECT" r0 fe80::1 fe80::99 210 join 2001:db8::2 ff3e::8000:2 || fail "inject"
ip netns exec $A "$INJECT" r0 10.3.0.1 10.3.0.2 210 join 192.0.2.1 232.1.1.1 || fail "inject"
wait_for 10 "the IPv4 join in the joinfile" has "192.0.2.1,232.1.1.1"
has "2001:db8::2,ff3e::8000:2" && fail "a Join for another upstream router was counted"
echo "ok 1 - live IPv6 and IPv4 joins to our addresses, not to another router's"
mfc6() { ip -n $B -6 mroute show 2> /dev/null | grep -q "(2001:db8::1,ff3e::8000:1).*Iif: i-up.*Oifs: i0"; }
wait_for 5 "the MRT6 route of (2001:db8::1,ff3e::8000:1)" mfc6
ip netns exec $C "$HELPER" send 2001:db8::1 ff3e::8000:1 5002 20 20 || fail "IPv6 sender"
echo "ok 2 - --forward-from: MRT6 route for the IPv6 (S,G)"
ip netns exec $A "$INJECT" r0 fe80::1 fe80::2 210 prune 2001:db8::1 ff3e::8000:1 || fail "inject"
wait_for 10 "the IPv6 prune" hasnt "2001:db8::1,ff3e::8000:1"
grep -q " prune 2001:db8::1,ff3e::8000:1\$" "$W/events.txt" || fail "prune event"
wait_for 5 "the MRT6 route to go" sh -c "! ip -n $B -6 mroute show | grep -q 2001:db8::1"
echo "ok 3 - live IPv6 prune removes the entry and the route"

# Renumbering while running: an address added to i0 is ours at once (a Join to it
# counts); when the old primary goes (the kernel promotes the new one), Joins to it no
# longer count and the Hellos come from the new primary.
ip netns exec $B sysctl -qw net.ipv4.conf.i0.promote_secondaries=1
ip -n $B addr add 10.3.0.5/24 dev i0
wait_for 10 "pimwatch to see 10.3.0.5" grep -q "addresses of i0 now: 10.3.0.2 10.3.0.5 fe80::2\$" "$W/pimwatch.log"
ip netns exec $A "$INJECT" r0 10.3.0.1 10.3.0.5 210 join 192.0.2.5 232.1.1.5 || fail "inject"
wait_for 10 "the Join to the added address" has "192.0.2.5,232.1.1.5"
ip -n $B addr del 10.3.0.2/24 dev i0
wait_for 10 "pimwatch to see 10.3.0.2 go" grep -q "addresses of i0 now: 10.3.0.5 fe80::2\$" "$W/pimwatch.log"
ip netns exec $A "$INJECT" r0 10.3.0.1 10.3.0.2 210 join 192.0.2.6 232.1.1.6 || fail "inject"
ip netns exec $A "$INJECT" r0 10.3.0.1 10.3.0.5 210 join 192.0.2.7 232.1.1.7 || fail "inject"
wait_for 10 "the Join to the new primary" has "192.0.2.7,232.1.1.7"
has "192.0.2.6,232.1.1.6" && fail "a Join to the removed address was counted"
echo "ok 4 - renumbering followed: added address counts, removed one does not"

wait_for 10 "three start-up Hellos" sh -c "[ \$(grep -c 'Hello sent on i0' '$W/pimwatch.log') -ge 3 ]"
kill -TERM $PW
wait $PW || fail "pimwatch exit status"
sleep 1
kill -TERM $TD
wait $TD 2> /dev/null
tcpdump -v -n -r "$W/peer.pcap" > "$W/decoded.txt" 2> /dev/null || fail "tcpdump -r"
grep -q "10.3.0.2 > 224.0.0.13: PIMv2, length 34" "$W/decoded.txt" || fail "no IPv4 Hello of 34 bytes"
grep -q "fe80::2 > ff02::d: PIMv2, length 34" "$W/decoded.txt" || fail "no IPv6 Hello of 34 bytes"
hellos=$(grep -c "Hello, cksum 0x[0-9a-f]* (correct)" "$W/decoded.txt")
bad=$(grep -c "Hello, cksum 0x[0-9a-f]* (incorrect" "$W/decoded.txt")
[ "$bad" = 0 ] || fail "$bad Hellos with a bad checksum"
[ "$hellos" -ge 6 ] || fail "only $hellos Hellos with a correct checksum (want >= 3 per family)"
grep -q "Hold Time Option (1), length 2, Value: 1m45s" "$W/decoded.txt" || fail "holdtime 105"
grep -q "Hold Time Option (1), length 2, Value: 0s" "$W/decoded.txt" || fail "no holdtime-0 Hello at exit"
grep -q "LAN Prune Delay Option (2), length 4, Value:" "$W/decoded.txt" || fail "no LAN Prune Delay"
grep -A1 "tos 0xc0, ttl 1," "$W/decoded.txt" | grep -q "10.3.0.2 > 224.0.0.13" || fail "IPv4 Hellos not TOS 0xc0 / TTL 1"
grep -q "class 0xc0, .*hlim 1, .*fe80::2 > ff02::d" "$W/decoded.txt" || fail "IPv6 Hellos not class 0xc0 / hop limit 1"
grep -q "10.3.0.5 > 224.0.0.13: PIMv2" "$W/decoded.txt" || fail "no Hello from the new primary 10.3.0.5"
echo "ok 5 - $hellos Hellos (IPv4 and IPv6) verified by tcpdump, holdtime 0 at exit, from the new primary after renumbering"
# Hop limit 15: sent with 16, decremented once by the kernel's multicast forwarding.
# (veth checksum offload makes tcpdump flag the UDP checksum of captured packets.)
fwd=$(grep -c "hlim 15, .*2001:db8::1.[0-9]* > ff3e::8000:1.5002: .*UDP, length" "$W/decoded.txt")
[ "$fwd" -gt 0 ] || fail "no forwarded IPv6 packet reached the peer"
echo "ok 6 - $fwd IPv6 packets from 2001:db8::1 forwarded out of the capture interface"
