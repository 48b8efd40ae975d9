#!/usr/bin/env bash
# examples/shell-pipeline.sh — the toolkit composed in plain shell: what driad-ingest does,
# built from `joinfile watch`, `driad-lookup` and one `amt-join` per relay.
#
#   examples/shell-pipeline.sh [-s DNS-SERVER] [--tun NAME] [--bin DIR] JOINFILE
#
# `joinfile watch JOINFILE` prints the joined (S,G)s as +S,G lines, then one +/-/~ line
# per change.  For each new source the script asks `driad-lookup` for its AMT relay
# (AMTRELAY record, RFC 8777), and keeps one `amt-join` per relay joined to every channel
# that uses that relay; when a relay's channel list changes, its amt-join is restarted
# with the new list.  With --tun the datagrams go into a TUN device (as driad-ingest's do;
# pimwatch --forward-from can route them on), otherwise amt-join prints per-channel
# statistics every 5 s.  Logs go to stderr; Ctrl-C (or SIGTERM) stops every amt-join,
# which sends its AMT leaves first.
#
# What this does not do, and driad-ingest does: one process and one socket per relay for
# any number of channel changes (a restart here re-opens the tunnel), failover to the
# next relay, hold-downs, TTL-driven re-lookups, a status file.  It is a demonstration of
# scripting with the tools, and the demo can run on it: examples/demo.sh --pipeline.
#
# --bin DIR: where joinfile, driad-lookup and amt-join are, or a meson build directory
# holding them (default: found in PATH, else the build-demo/ build of this tree).
set -u
DNS=()
TUN=""
BIN=""
while [ $# -gt 1 ]; do
  case "$1" in
    -s) DNS+=(-s "${2:?}"); shift 2 ;;
    --tun) TUN=${2:?}; shift 2 ;;
    --bin) BIN=${2:?}; shift 2 ;;
    *) break ;;
  esac
done
usage() { sed -n '2,/^set -u/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
esac
JOINFILE=$1

tool() { # tool NAME: the path of one of our tools
  if [ -n "$BIN" ] && [ -x "$BIN/cli/$1/$1" ]; then echo "$BIN/cli/$1/$1"
  elif [ -n "$BIN" ]; then echo "$BIN/$1"
  elif command -v "$1" >/dev/null 2>&1; then command -v "$1"
  else echo "$(cd "$(dirname "$0")/.." && pwd)/build-demo/cli/$1/$1"
  fi
}
JOINFILE_BIN=$(tool joinfile) LOOKUP=$(tool driad-lookup) AMT_JOIN=$(tool amt-join)
for t in "$JOINFILE_BIN" "$LOOKUP" "$AMT_JOIN"; do
  [ -x "$t" ] || { echo "shell-pipeline: $t not found (build the tree or pass --bin DIR)" >&2; exit 1; }
done

log() { printf '%s info shell-pipeline: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$*" >&2; }

declare -A RELAY_OF      # source -> relay address ("" when it has none)
declare -A CHANNELS      # relay -> "S G S G ..." (amt-join's arguments)
declare -A JOIN_PID      # relay -> PID of its amt-join
declare -A JOINED        # "S,G" -> 1

# channels_of RELAY: its amt-join arguments, from every joined channel whose source uses it.
channels_of() {
  local k list=""
  for k in "${!JOINED[@]}"; do
    [ "${RELAY_OF[${k%%,*}]:-}" = "$1" ] && list="$list ${k%%,*} ${k#*,}"
  done
  CHANNELS[$1]=$list
}

# restart RELAY: (re)starts the relay's amt-join with its current channel list.
restart() {
  local r=$1 pid=${JOIN_PID[$1]:-}
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    unset "JOIN_PID[$r]"
  fi
  [ -n "${CHANNELS[$r]:-}" ] || { log "relay $r: no channel left, tunnel closed"; return; }
  local out=(-i 5)
  [ -n "$TUN" ] && out=(--tun "$TUN")
  # shellcheck disable=SC2086  # the channel list is S G pairs
  "$AMT_JOIN" -r "$r" "${out[@]}" ${CHANNELS[$r]} &
  JOIN_PID[$r]=$!
  log "relay $r: amt-join (PID ${JOIN_PID[$r]}) for${CHANNELS[$r]}"
}

stop_all() {
  local r
  for r in "${!JOIN_PID[@]}"; do kill -TERM "${JOIN_PID[$r]}" 2>/dev/null; done
  for r in "${!JOIN_PID[@]}"; do wait "${JOIN_PID[$r]}" 2>/dev/null; done
  [ -n "${WATCH_PID:-}" ] && kill -TERM "$WATCH_PID" 2>/dev/null
}
trap 'stop_all; exit 0' INT TERM

coproc WATCH { exec "$JOINFILE_BIN" -q watch "$JOINFILE"; }
WATCH_PID=$WATCH_PID
log "watching $JOINFILE"

while IFS= read -r line <&"${WATCH[0]}"; do
  op=${line:0:1}
  IFS=, read -r s g _ <<<"${line:1}"
  [ -n "$s" ] && [ -n "$g" ] || continue
  case "$op" in
    +)
      JOINED[$s,$g]=1
      if [ -z "${RELAY_OF[$s]+set}" ]; then
        RELAY_OF[$s]=$("$LOOKUP" "${DNS[@]}" "$s" 2>/dev/null | head -n 1)
        if [ -n "${RELAY_OF[$s]}" ]; then log "relay ${RELAY_OF[$s]} for $s"; else log "no relay for $s"; fi
      fi
      r=${RELAY_OF[$s]}
      [ -n "$r" ] || continue
      channels_of "$r"
      restart "$r"
      ;;
    -)
      unset "JOINED[$s,$g]"
      r=${RELAY_OF[$s]:-}
      [ -n "$r" ] || continue
      channels_of "$r"
      restart "$r"
      ;;
    ~) ;;  # a population change: nothing to do for the tunnels
  esac
done
stop_all
