#!/usr/bin/env bash
# demo-world.sh SOURCE_ROOT BUILD_ROOT — the demo world as a test: runs examples/demo.sh
# on this build (real FRR, BIND, nginx, our relay, pimwatch → cbacc → driad-ingest in
# namespaces mci-demo-<pid>-*) and checks the outcome strictly from the logs it keeps:
#   the admitted channel: packets at the receiver > 0, every one with the sender's content,
#     and every hop on the way (IGMPv3 report, PIM Join, both joinfiles, DORMS metadata,
#     DRIAD lookup, AMT tunnel, relay join, first data);
#   the blocked channel: blocked by cbacc, never in the admitted joinfile, never asked of
#     the relay, 0 packets at the receiver;
#   the leave: IGMPv3 BLOCK, PIM Prune, both joinfiles emptied, AMT leave at the relay;
#   the strict relay rejected nothing; no namespace is left behind.
# Then the same with examples/shell-pipeline.sh in driad-ingest's place (--pipeline).
# Exit 77 when not root; in CI (CI=true) a missing tool is a failure, elsewhere a skip.
set -u
SRC=${1:?source root} BLD=${2:?build root}
. "$(dirname "$0")/../../lib/common.sh"
require_root_tools ip named named-checkzone dig nginx openssl curl tcpdump python3 mkfifo
require_frr
[ -c /dev/net/tun ] || skip "no /dev/net/tun"

T=$(mktemp -d /tmp/mci-demo-test.XXXXXX)
chmod 755 "$T"          # FRR runs as user frr and nginx's workers as nobody
W=$T/world
FAILED=0
cleanup() {
  if [ "$FAILED" = 0 ] && [ "${KEEP_WORKDIR:-}" != 1 ]; then rm -rf "$T"; else echo "work directory kept: $T"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
  echo "FAIL: $*"
  FAILED=1
  for f in "$W"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done
  exit 1
}
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
has() { grep -q -- "$2" "$W/$1" 2>/dev/null; }
need() { has "$1" "$2" || fail "$3 (no '$2' in $1)"; }

S=198.51.100.10 G_OK=232.1.1.1 G_BIG=232.1.1.2

"$SRC/examples/demo.sh" --builddir "$BLD" --workdir "$W" --no-install >"$T/demo.out" 2>&1
rc=$?
cat "$T/demo.out"
[ "$rc" = 0 ] || fail "examples/demo.sh exited $rc"
ok "examples/demo.sh exited 0"
grep -q "running as: pimwatch uid 65534 (cap_net_admin,cap_net_raw), cbacc uid 65534 (no capabilities), driad-ingest uid [0-9]* (no capabilities)" "$T/demo.out" ||
  fail "the ingest tools did not run unprivileged with only their capabilities"
ok "pimwatch ran as nobody with CAP_NET_RAW and CAP_NET_ADMIN only, cbacc and driad-ingest without capabilities"

# The admitted channel, hop by hop.
need igmp.log "allow { $S }" "no IGMPv3 ALLOW report for $S on the receiver's LAN"
need pim.log "PIM Join $S,$G_OK to 10.2.0.2" "FRR sent no PIM Join for $S,$G_OK to the ingest device"
need pimwatch.log "join $S,$G_OK from 10.2.0.1" "pimwatch did not take the Join"
need cbacc.log "metadata for $S,$G_OK: 2 Mbit/s" "cbacc did not fetch the metadata over TLS"
need cbacc.log "$S,$G_OK admitted: 2 Mbit/s" "cbacc did not admit $S,$G_OK"
need driad-ingest.log "joinfile $W/run/admitted.joinfile: +$S,$G_OK" "driad-ingest did not read the admitted joinfile"
need driad-ingest.log "relay 203.0.113.11 for $S (precedence 10, from AMTRELAY)" "no relay from the AMTRELAY record"
need amt-relay.log "join $S,$G_OK from 203.0.113.2" "the relay never saw the AMT join"
need driad-ingest.log "first data $S,$G_OK via 203.0.113.11 after" "driad-ingest logged no first data"
ok "every hop of $S,$G_OK logged: IGMP, PIM Join, pimwatch, cbacc, driad-ingest, relay"

field() { sed -n "s/^$1 .*$2=\([^ ]*\).*/\1/p" "$W/receiver.summary"; }
[ -s "$W/receiver.summary" ] || fail "the receiver wrote no summary"
got=$(field "$S,$G_OK" packets) bad=$(field "$S,$G_OK" bad)
[ "${got:-0}" -gt 0 ] || fail "no packet of $S,$G_OK at the receiver"
[ "$bad" = 0 ] || fail "$bad packets of $S,$G_OK with wrong content"
# The sender sends 50 packets/s and the demo watches 3 s after the first one.
[ "$got" -ge 100 ] || fail "only $got packets of $S,$G_OK at the receiver in 3 s at 50/s"
ok "$got packets of $S,$G_OK at the receiver, every one with the sender's content"

# The blocked channel.
need pim.log "PIM Join $S,$G_BIG to 10.2.0.2" "FRR sent no Join for the over-budget channel"
need cbacc.log "$S,$G_BIG blocked: 20 Mbit/s" "cbacc did not block $S,$G_BIG"
has driad-ingest.log "+$S,$G_BIG" && fail "the blocked channel reached driad-ingest"
has amt-relay.log "join $S,$G_BIG" && fail "the blocked channel was joined at the relay"
bigs=$(field "$S,$G_BIG" packets)
[ "$bigs" = 0 ] || fail "$bigs packets of the blocked channel $S,$G_BIG at the receiver"
ok "$S,$G_BIG blocked by cbacc: never joined upstream, 0 packets at the receiver"

# The leave.
need igmp.log "block { $S }" "no IGMPv3 BLOCK report"
need pim.log "PIM Prune $S,$G_OK to 10.2.0.2" "FRR sent no Prune"
need pimwatch.log "prune $S,$G_OK" "pimwatch did not take the Prune"
[ -f "$W/run/pim.joinfile" ] && [ ! -s "$W/run/pim.joinfile" ] || fail "pimwatch's joinfile not empty after the leave"
[ -f "$W/run/admitted.joinfile" ] && [ ! -s "$W/run/admitted.joinfile" ] || fail "cbacc's joinfile not empty after the leave"
need driad-ingest.log "leave $S,$G_OK via 203.0.113.11" "driad-ingest did not leave"
need amt-relay.log "leave $S,$G_OK from 203.0.113.2 port [0-9]* (block)" "the relay saw no AMT leave"
ok "the leave travelled IGMP -> PIM Prune -> joinfiles -> driad-ingest -> relay"

# The strict relay's counters (printed when it stops): no rejected message.
need amt-relay.log "rejected=0 " "the strict relay rejected messages or printed no counters"
ok "the strict relay rejected none of driad-ingest's messages"

# Torn down: no namespace of this run is left.
ns=$(sed -n 's/.*namespaces \(mci-demo-[0-9]*\)-\*.*/\1/p' "$T/demo.out" | head -n 1)
[ -n "$ns" ] || fail "demo output does not name its namespaces"
left=$(ip netns list | grep -c "^$ns-")
[ "$left" = 0 ] || fail "$left namespaces $ns-* left behind"
ok "namespaces $ns-* removed"

# The same world with examples/shell-pipeline.sh (joinfile watch, driad-lookup, amt-join)
# in driad-ingest's place: the scripting example works end to end.
W=$T/world-pipeline
"$SRC/examples/demo.sh" --builddir "$BLD" --workdir "$W" --no-install --pipeline >"$T/pipeline.out" 2>&1
rc=$?
cat "$T/pipeline.out"
[ "$rc" = 0 ] || fail "examples/demo.sh --pipeline exited $rc"
need pipeline.log "relay 203.0.113.11 for $S" "shell-pipeline.sh: no relay from driad-lookup"
need pipeline.log "amt-join (PID [0-9]*) for $S $G_OK" "shell-pipeline.sh started no amt-join"
got=$(field "$S,$G_OK" packets) bad=$(field "$S,$G_OK" bad) bigs=$(field "$S,$G_BIG" packets)
[ "${got:-0}" -gt 0 ] && [ "$bad" = 0 ] || fail "pipeline: $got packets, $bad bad"
[ "$bigs" = 0 ] || fail "pipeline: $bigs packets of the blocked channel"
need amt-relay.log "leave $S,$G_OK from 203.0.113.2 port [0-9]* (block)" "pipeline: the relay saw no AMT leave"
need pipeline.log "relay 203.0.113.11: no channel left, tunnel closed" "pipeline: amt-join not stopped on the leave"
ok "examples/shell-pipeline.sh in driad-ingest's place: $got packets, blocked channel absent, leave at the relay"
echo "all passed"
