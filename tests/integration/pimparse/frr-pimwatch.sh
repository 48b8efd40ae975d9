#!/bin/sh
# frr-pimwatch.sh PIMWATCH MCAST-HELPER — pimwatch against a real PIM router (FRR) in
# network namespaces (recipe: ../shared/recipes/real-peers.md §5):
#
#  rcv: rcv0 10.1.0.2 == rtr-dn 10.1.0.1 | rtr: FRR | rtr-up 10.2.0.1 == ing0 10.2.0.2 | ing: pimwatch
#                                                       ing-up 10.9.0.1 == snd0 10.9.0.2 | snd: sender S
#
#  1. pimwatch sends Hellos; the receiver joins (10.9.0.2,232.1.1.1) with IGMPv3; FRR sends
#     its Join to pimwatch, which writes the joinfile and prints a join event.
#  2. --forward-from ing-up: packets from the sender reach the receiver through FRR.
#  3. pimwatch restarts while joined: the entry stays in the joinfile throughout.
#  4. The receiver leaves: FRR prunes, the entry leaves the joinfile, a prune event.
#  5. A second pimwatch with --forward-from in FRR's namespace (where pimd owns the
#     multicast routing socket) fails with a clear message.
# Exit 77 when not root, or (outside CI) when a tool is missing.
set -u
PIMWATCH=$1 HELPER=$2
. "$(dirname "$0")/../../lib/common.sh"
require_root_tools ip
require_frr

P=mci-pim-$$
RCV=$P-rcv RTR=$P-rtr ING=$P-ing SND=$P-snd
W=$(mktemp -d /tmp/mci-pim.XXXXXX)
chmod 755 "$W"
T=$W/frr
mkdir -p "$T"
chown frr:frr "$T"
PIDS=""
S=10.9.0.2 G=232.1.1.1

cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  netns_stop $RCV $RTR $ING $SND
  if [ "${KEEP_WORKDIR:-}" != 1 ]; then rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
  echo "FAIL: $*"
  for f in "$W"/pimwatch*.log "$T"/pimd.log; do [ -f "$f" ] && { echo "--- $f"; tail -40 "$f"; }; done
  exit 1
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls every 0.2 s, bounded.
wait_for() {
  _secs=$1 _what=$2; shift 2
  _i=0 _n=$((_secs * 5))
  while [ $_i -lt $_n ]; do
    if "$@"; then return 0; fi
    sleep 0.2
    _i=$((_i + 1))
  done
  fail "timed out after ${_secs}s waiting for $_what"
}

has_entry() { grep -qx "$S,$G" "$W/out.joinfile" 2>/dev/null; }
no_entry() { ! has_entry; }
received() { [ -s "$W/count" ] && [ "$(cat "$W/count")" -gt 0 ]; }

for n in $RCV $RTR $ING $SND; do ip netns add "$n" || fail "netns add $n"; ip -n "$n" link set lo up; done
ip link add rcv0 netns $RCV type veth peer name rtr-dn netns $RTR || fail "veth"
ip link add rtr-up netns $RTR type veth peer name ing0 netns $ING || fail "veth"
ip link add ing-up netns $ING type veth peer name snd0 netns $SND || fail "veth"
ip -n $RCV addr add 10.1.0.2/24 dev rcv0; ip -n $RCV link set rcv0 up
ip -n $RTR addr add 10.1.0.1/24 dev rtr-dn; ip -n $RTR link set rtr-dn up
ip -n $RTR addr add 10.2.0.1/24 dev rtr-up; ip -n $RTR link set rtr-up up
ip -n $ING addr add 10.2.0.2/24 dev ing0; ip -n $ING link set ing0 up
ip -n $ING addr add 10.9.0.1/24 dev ing-up; ip -n $ING link set ing-up up
ip -n $SND addr add $S/24 dev snd0; ip -n $SND link set snd0 up
ip -n $RCV route add default via 10.1.0.1
ip -n $RTR route add 10.9.0.0/24 via 10.2.0.2          # RPF(S) = the ingest device
ip -n $SND route add 224.0.0.0/4 dev snd0
ip -n $SND route add default via 10.9.0.1
for n in $RTR $ING; do
  ip netns exec $n sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
ip netns exec $ING sysctl -qw net.ipv4.conf.ing0.rp_filter=0 net.ipv4.conf.ing-up.rp_filter=0
ip netns exec $RTR sysctl -qw net.ipv4.conf.rtr-up.rp_filter=0 net.ipv4.conf.rtr-dn.rp_filter=0
ip netns exec $RCV sysctl -qw net.ipv4.conf.all.force_igmp_version=3 net.ipv4.conf.rcv0.force_igmp_version=3

# FRR (runs as user frr; its run directory must be writable by it).
echo "hostname $RTR" > "$T/zebra.conf"
printf 'interface rtr-dn\n ip igmp\n ip pim\ninterface rtr-up\n ip pim\n' > "$T/pimd.conf"
chown frr:frr "$T"/*.conf
ip netns exec $RTR /usr/lib/frr/zebra -d -z "$T/zserv.api" --vty_socket "$T" -f "$T/zebra.conf" \
  -i "$T/zebra.pid" --log "file:$T/zebra.log" || fail "zebra did not start"
wait_for 10 "zebra" test -S "$T/zserv.api"
ip netns exec $RTR /usr/lib/frr/pimd -d -z "$T/zserv.api" --vty_socket "$T" -f "$T/pimd.conf" \
  -i "$T/pimd.pid" --log "file:$T/pimd.log" || fail "pimd did not start"
wait_for 10 "FRR pimd" test -s "$T/pimd.pid"
PIDS="$PIDS $(cat "$T/zebra.pid") $(cat "$T/pimd.pid")"

start_pimwatch() {
  ip netns exec $ING "$PIMWATCH" -i ing0 -j "$W/out.joinfile" --events --forward-from ing-up -v \
    >> "$W/events.txt" 2>> "$W/pimwatch$1.log" &
  PW=$!
  PIDS="$PIDS $PW"
}

# 1. join
start_pimwatch 1
wait_for 20 "pimwatch to see FRR's Hello" grep -q "neighbor 10.2.0.1 up" "$W/pimwatch1.log"
ip netns exec $RCV "$HELPER" recv 10.1.0.2 $G $S 5001 "$W/count" &
PIDS="$PIDS $!"
RCVPID=$!
wait_for 40 "the Join in the joinfile" has_entry
grep -q " join $S,$G\$" "$W/events.txt" || fail "no join event on stdout"
grep -q "join $S,$G from 10.2.0.1 (holdtime 210)" "$W/pimwatch1.log" || fail "no join log line"
echo "ok 1 - FRR's Join reached the joinfile"

# 2. forwarding through the kernel MFC, then through FRR to the receiver
mroute() { ip -n $ING mroute show 2>/dev/null | grep -q "($S,$G).*Iif: ing-up.*Oifs: ing0"; }
no_mroute() { ! ip -n $ING mroute show 2>/dev/null | grep -q "($S,$G)"; }
wait_for 5 "the MFC entry ($S,$G) ing-up -> ing0" mroute
ip netns exec $SND "$HELPER" send $S $G 5001 200 20 &
SENDPID=$!
PIDS="$PIDS $SENDPID"
wait_for 20 "packets at the receiver" received
echo "ok 2 - --forward-from: $(cat "$W/count") packets from $S reached the receiver"
wait "$SENDPID" 2>/dev/null

# 3. restart while joined
kill -TERM "$PW"
wait "$PW"
rc=$?
[ $rc = 0 ] || fail "pimwatch exited $rc on SIGTERM"
has_entry || fail "joinfile lost the entry at shutdown"
start_pimwatch 2
wait_for 10 "the restarted pimwatch to keep the entry" grep -q "kept 1 of 1 entries" "$W/pimwatch2.log"
has_entry || fail "joinfile lost the entry at restart"
# FRR sees the new generation ID and joins again; the entry stays throughout.
wait_for 20 "pimwatch to see FRR's Hello after restart" grep -q "neighbor 10.2.0.1 up" "$W/pimwatch2.log"
i=0
while [ $i -lt 15 ]; do has_entry || fail "entry vanished after restart"; sleep 0.2; i=$((i + 1)); done
echo "ok 3 - restart kept the entry"

# 4. leave
kill -TERM "$RCVPID"
wait "$RCVPID" 2>/dev/null
wait_for 30 "the Prune to empty the joinfile" no_entry
grep -q " prune $S,$G\$" "$W/events.txt" || fail "no prune event on stdout"
wait_for 5 "the MFC entry to go" no_mroute
[ -f "$W/out.joinfile" ] && [ ! -s "$W/out.joinfile" ] || fail "joinfile not empty after the prune"
echo "ok 4 - the receiver's leave removed the entry"

# 5. the multicast routing socket is taken in FRR's namespace
out=$(ip netns exec $RTR "$PIMWATCH" -i rtr-up --no-hello --forward-from rtr-dn 2>&1)
rc=$?
[ $rc = 1 ] || fail "pimwatch with a taken MRT socket exited $rc"
echo "$out" | grep -q "another process already owns the IPv4 multicast routing socket" ||
  fail "no clear message: $out"
echo "ok 5 - clear error when another process owns the multicast routing socket"

kill -TERM "$PW"
wait "$PW" || fail "pimwatch exited non-zero"
echo "all passed"
