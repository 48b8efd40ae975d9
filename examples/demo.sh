#!/usr/bin/env bash
# examples/demo.sh — the whole ingest chain on one machine, in network namespaces.
#
# Run as root on Debian 12 from a clone: installs missing packages (tests/packages.txt),
# builds with meson in build-demo/, then brings up
#
#   internet side   a multicast sender, the project's AMT test relay, BIND (the AMTRELAY
#                   record of the sender's reverse zone and the DORMS SRV record), nginx
#                   serving CBACC metadata over TLS (a test CA made now)
#   ingest device   pimwatch --forward-from <tun> → joinfile → cbacc → joinfile →
#                   driad-ingest --tun <tun>
#   local side      an FRR router (IGMPv3 + PIM) and a receiver host
#
# The ingest tools run as an unprivileged user with only their own capabilities, as the
# units in examples/systemd/ do (pimwatch: CAP_NET_RAW + CAP_NET_ADMIN; cbacc and
# driad-ingest: none).
#
# The receiver joins two channels: 232.1.1.1 (2 Mbit/s, within the 10 Mbit/s budget) and
# 232.1.1.2 (20 Mbit/s, over it).  Every hop is printed as it happens; the admitted
# channel's packets arrive at the receiver, the blocked one's never do; the receiver
# leaves and the leave travels back to the relay; everything is torn down.  Exit 0 only
# when data flowed (and its content was right), nothing of the blocked channel arrived
# and the leave reached the relay.
#
# usage: examples/demo.sh [--builddir DIR] [--workdir DIR] [--no-install] [--seconds N] [--pipeline]
#   --builddir DIR   use an existing build (skips installing and building)
#   --workdir DIR    keep configs and logs in DIR (default: a temporary directory, removed)
#   --no-install     do not install missing Debian packages
#   --seconds N      how long to watch the admitted channel after its first packet (3)
#   --pipeline       examples/shell-pipeline.sh (joinfile watch, driad-lookup, amt-join)
#                    in driad-ingest's place
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
DEMO_DIR=$HERE/demo

B=""
W=""
KEEP=0
INSTALL=1
WATCH_S=3
INGEST=driad-ingest
while [ $# -gt 0 ]; do
  case "$1" in
    --builddir) B=${2:?}; shift 2 ;;
    --workdir) W=${2:?}; KEEP=1; shift 2 ;;
    --no-install) INSTALL=0; shift ;;
    --seconds) WATCH_S=${2:?}; shift 2 ;;
    --pipeline) INGEST=pipeline; shift ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '\n== %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run me as root: network namespaces, FRR and the TUN device need it"

# ---- 1. packages -----------------------------------------------------------------------
if [ -z "$B" ] && [ "$INSTALL" = 1 ]; then
  mapfile -t packages < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$ROOT/tests/packages.txt")
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}" ||
      die "could not install ${missing[*]}"
  fi
fi
for t in ip named named-checkzone dig nginx openssl curl tcpdump python3 /usr/lib/frr/zebra /usr/lib/frr/pimd; do
  command -v "$t" >/dev/null 2>&1 || die "$t is missing (apt-get install the packages of tests/packages.txt)"
done
id frr >/dev/null 2>&1 || die "user frr is missing (FRR not installed)"
[ -c /dev/net/tun ] || die "no /dev/net/tun: this kernel or container has no TUN support"

# ---- 2. build --------------------------------------------------------------------------
if [ -z "$B" ]; then
  B=$ROOT/build-demo
  say "building in $B"
  if [ ! -f "$B/build.ninja" ]; then
    setup_log=$(mktemp)
    meson setup "$B" "$ROOT" >"$setup_log" 2>&1 || { cat "$setup_log"; rm -f "$setup_log"; die "meson setup failed"; }
    rm -f "$setup_log"
  fi
  meson compile -C "$B" >/dev/null || die "build failed (run: meson compile -C $B)"
fi
B=$(cd "$B" && pwd)
for f in cli/pimwatch/pimwatch cli/cbacc/cbacc cli/driad-ingest/driad-ingest cli/joinfile/joinfile \
         cli/driad-lookup/driad-lookup cli/amt-join/amt-join tests/peers/amt-relay tests/peers/mc-send \
         tests/peers/txcsum-off; do
  [ -x "$B/$f" ] || die "$B/$f is not built"
done

# ---- 3. the world ----------------------------------------------------------------------
if [ -z "$W" ]; then
  W=$(mktemp -d /tmp/mci-demo.XXXXXX) || die "mktemp"
else
  mkdir -p "$W" || die "cannot create $W"
  W=$(cd "$W" && pwd)
  # Reused only when a previous demo made it: never empty a directory we did not create.
  if [ -n "$(ls -A "$W")" ]; then
    [ -f "$W/.mci-demo" ] || die "--workdir $W is not empty and was not made by the demo"
    find "$W" -mindepth 1 -delete || die "cannot empty $W"
  fi
fi
: >"$W/.mci-demo"
P=mci-demo-$$
# shellcheck source=demo/world.sh
. "$DEMO_DIR/world.sh"

SHOW_PIDS=""
cleanup() {
  trap - EXIT INT TERM
  world_down
  for p in $SHOW_PIDS; do kill "$p" 2>/dev/null; done
  if [ "$KEEP" = 0 ]; then rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted, tearing down"; exit 130' INT TERM

# Every log, prefixed with its tool, as lines arrive: one tail and one awk, by PID.  The
# demo's own lines go through demo.log so that they keep their place among the others;
# "END" there makes awk exit, which is how the demo knows the display has caught up.
LOGS="demo receiver igmp pim pimwatch cbacc $INGEST amt-relay"
for l in $LOGS; do : >"$W/$l.log"; done
mkfifo "$W/.show"
# mawk (Debian's awk) reads pipes in large blocks unless told to read line by line.
AWKI=(awk)
awk -W version 2>&1 | grep -q mawk && AWKI=(awk -W interactive)
"${AWKI[@]}" '
  /^==> .* <==$/ { f = $2; sub(/.*\//, "", f); sub(/\.log$/, "", f); next }
  $0 == "" { next }
  f == "demo" { if ($0 == "END") exit; print; fflush(); next }
  {
    line = $0; t = ""
    if (match(line, /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:.]+Z /)) {
      t = substr(line, 12, 12); line = substr(line, RLENGTH + 1)
      sub(/^info /, "", line); sub(/^[a-z-]+: /, "", line)
    } else if (match(line, /^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9]+ /)) {
      t = substr(line, 1, 12); line = substr(line, RLENGTH + 1)
    }
    printf "%-12s %-12s %s\n", t, f, line
    fflush()
  }' <"$W/.show" &
SHOW_AWK=$!
SHOW_PIDS="$SHOW_PIDS $SHOW_AWK"
(cd "$W" && exec tail -s 0.1 -n +1 -F $(for l in $LOGS; do echo "$l.log"; done) 2>/dev/null) >"$W/.show" &
SHOW_PIDS="$SHOW_PIDS $!"
show() { printf '%s\n' "$*" >>"$W/demo.log"; }
say() { show ""; show "== $*"; }
# show_end: lets the display catch up (bounded), then stops it.
show_end() {
  show END
  wait_until 30 sh -c "! kill -0 $SHOW_AWK 2>/dev/null"
}

# One line per IGMPv3 report and per PIM Join/Prune, from tcpdump's verbose output.
igmp_lines() {
  "${AWKI[@]}" '/^[0-9][0-9]:/ { t = $1; next }
       $0 ~ /^[ \t]*$/ { next }
       { sub(/^[ \t]+/, ""); print t " " $0; fflush() }'
}
pim_lines() {
  "${AWKI[@]}" '/^[0-9][0-9]:/ { t = $1; next }
       /upstream-neighbor:/ { up = $NF }
       /holdtime:/ { ht = $NF }
       /group #/ { g = $3; sub(/,$/, "", g) }
       /(joined|pruned) source #/ {
         s = $4; sub(/\(.*/, "", s)
         print t " PIM " ($1 == "joined" ? "Join " : "Prune ") s "," g " to " up " (holdtime " ht ")"
         fflush()
       }'
}

say "building the network: namespaces $P-*, BIND, nginx, sender, relay, FRR, ingest tools"
world_up || exit 1
# Who runs the ingest device: user and effective capabilities of each process.
whois() { # whois NAME PID
  local uid cap
  uid=$(awk '/^Uid:/ { print $2 }' "/proc/$2/status" 2>/dev/null)
  cap=$(awk '/^CapEff:/ { print $2 }' "/proc/$2/status" 2>/dev/null)
  local m=$((16#${cap:-0})) names=""
  [ $((m & (1 << 12))) = 0 ] || names="${names}cap_net_admin,"
  [ $((m & (1 << 13))) = 0 ] || names="${names}cap_net_raw,"
  m=$((m & ~((1 << 12) | (1 << 13))))
  [ "$m" = 0 ] || names="${names}$(printf 'others 0x%x,' "$m")"
  names=${names%,}
  printf '%s uid %s (%s)' "$1" "${uid:-?}" "${names:-no capabilities}"
}
if [ "$INGEST" = pipeline ]; then ingest_pid=$PID_pipeline; else ingest_pid=$PID_driad_ingest; fi
show "running as: $(whois pimwatch "$PID_pimwatch"), $(whois cbacc "$PID_cbacc"), $(whois "$INGEST" "$ingest_pid")"
# The wire, seen from the receiver's LAN (its IGMPv3 reports) and the ingest device's
# downstream LAN (FRR's PIM Join/Prune messages).
TZ=UTC ip netns exec "$P-rcv" tcpdump -l -n -vv -i rcv0 'igmp and src 10.1.0.2' \
  > >(igmp_lines >>"$W/igmp.log") 2>/dev/null &
PIDS="$PIDS $!"
TZ=UTC ip netns exec "$P-ing" tcpdump -l -n -v -i ing-dn 'pim and src 10.2.0.1 and (ip[20] & 15) == 3' \
  > >(pim_lines >>"$W/pim.log") 2>/dev/null &
PIDS="$PIDS $!"
sleep 0.5

say "the receiver joins $S,$G_OK (within the $BUDGET budget) and $S,$G_BIG (over it)"
bg receiver rcv "$W/receiver.log" python3 "$RECEIVER" $RCV_ADDR $PORT "$W/receiver.summary" \
  "$S,$G_OK" "$S,$G_BIG"
first() { grep -q "first packet $S,$G_OK" "$W/receiver.log"; }
if wait_until 300 first; then
  sleep "$WATCH_S"
else
  show "demo: no packet of $S,$G_OK reached the receiver within 30 s"
fi

say "the receiver leaves both channels"
kill -TERM "$PID_receiver"
wait_until 50 test -s "$W/receiver.summary"
relay_left() { grep -q "leave $S,$G_OK" "$W/amt-relay.log"; }
wait_until 150 relay_left
sleep 0.5

# ---- 4. the outcome ----------------------------------------------------------------------
field() { sed -n "s/^$1 .*$2=\([^ ]*\).*/\1/p" "$W/receiver.summary" 2>/dev/null; }
ok_n=$(field "$S,$G_OK" packets) ok_bad=$(field "$S,$G_OK" bad) ok_first=$(field "$S,$G_OK" first_ms)
big_n=$(field "$S,$G_BIG" packets)
say "result"
status=0
if [ "${ok_n:-0}" -gt 0 ] && [ "${ok_bad:-1}" = 0 ]; then
  show "admitted $S,$G_OK: ${ok_n} packets at the receiver, all with the sender's content; first packet ${ok_first} ms after the join"
else
  show "admitted $S,$G_OK: FAILED: ${ok_n:-0} packets, ${ok_bad:-?} with wrong content"
  status=1
fi
if [ "${big_n:-x}" = 0 ]; then
  show "blocked  $S,$G_BIG: 0 packets at the receiver (cbacc kept it out: over the $BUDGET budget)"
else
  show "blocked  $S,$G_BIG: FAILED: ${big_n:-?} packets arrived"
  status=1
fi
if relay_left; then
  show "leave:   the receiver's leave reached the relay (IGMP leave -> PIM Prune -> joinfiles -> AMT)"
else
  show "leave:   FAILED: the relay never saw the leave of $S,$G_OK"
  status=1
fi
if first_data=$(grep -o "first data $S,$G_OK via [^ ]* after [0-9]* ms" "$W/driad-ingest.log" 2>/dev/null); then
  show "driad-ingest: $first_data"
fi
[ "$KEEP" = 1 ] && show "logs and configs: $W"
say "tearing down"
show_end
exit $status
