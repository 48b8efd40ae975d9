#!/bin/sh
# bench.sh PIMWATCH GEN-CAPTURE BARE-LOOP RUN-TIMED — PIM decode throughput as ratios
# measured in one run (DESIGN.md performance targets): `pimwatch -r` beside
# `tcpdump -v -nr` (the peer) and a bare pcap_next_ex loop (the limit; a pcap_dispatch
# loop, how pimwatch reads, is printed beside it), over
#   1. 1,000,000 Join/Prune messages over 1,000 (S,G)s, and
#   2. 1,000,000 Joins for 1,000,000 distinct (S,G)s (also with the joinfile written).
# Ratios use CPU time (user + system; best of five runs for pimwatch and the loops, one
# run of tcpdump); wall time is printed beside it.
# Targets: >= 10x faster than tcpdump, <= 3x the bare loop.  N overrides the count.
set -eu
PIMWATCH=$1 GEN=$2 BARE=$3 TIMED=$4
N=${N:-1000000}
W=$(mktemp -d /tmp/mci-pim-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "inf" }'; }
# timed VAR CMD...: sets VAR_wall, VAR_cpu (seconds) and VAR_rss (peak MiB).
timed() {
  _var=$1; shift
  set -- $("$TIMED" "$@")
  eval "${_var}_wall=$1 ${_var}_cpu=$2 ${_var}_rss=$(($3 / 1024))"
}
# best VAR CMD...: the run with the least CPU time of five (the fast contenders: on a
# shared machine a run can land on a busy moment, or on fresh memory the host has yet to
# back, which shows as system time; the least is the figure the code itself allows).
best() {
  _var=$1; shift
  _best=""
  for _r in 1 2 3 4 5; do
    set -- $("$TIMED" "$@") "$@"
    _w=$1 _c=$2 _m=$3; shift 3
    if [ -z "$_best" ] || awk -v a="$_c" -v b="$_best" 'BEGIN { exit !(a < b) }'; then
      _best=$_c
      eval "${_var}_wall=$_w ${_var}_cpu=$_c ${_var}_rss=$((_m / 1024))"
    fi
  done
}

"$GEN" jp "$W/jp.pcap" "$N" 1000
"$GEN" distinct "$W/distinct.pcap" "$N"

for c in jp distinct; do
  f=$W/$c.pcap
  if [ $c = jp ]; then what="$N Join/Prune messages over 1000 (S,G)s"; else what="$N distinct (S,G)s"; fi
  echo "== $what ($(du -h "$f" | cut -f1) capture)"
  cat "$f" > /dev/null  # page cache warm for every contender
  best bare "$BARE" "$f"
  best bared "$BARE" --dispatch "$f"
  best pw "$PIMWATCH" -q -r "$f"
  echo "pimwatch -q -r FILE         cpu ${pw_cpu} s  wall ${pw_wall} s  peak RSS ${pw_rss} MiB"
  echo "bare pcap_next_ex loop      cpu ${bare_cpu} s  wall ${bare_wall} s   pimwatch/loop = $(ratio "$pw_cpu" "$bare_cpu")x (target <= 3x)"
  # pimwatch reads with pcap_dispatch, which costs less per record than pcap_next_ex.
  echo "bare pcap_dispatch loop     cpu ${bared_cpu} s  wall ${bared_wall} s   pimwatch/loop = $(ratio "$pw_cpu" "$bared_cpu")x (how pimwatch reads)"
  if command -v tcpdump > /dev/null; then
    timed td tcpdump -v -nr "$f"
    echo "tcpdump -v -nr FILE         cpu ${td_cpu} s  wall ${td_wall} s   tcpdump/pimwatch = $(ratio "$td_cpu" "$pw_cpu")x (target >= 10x)"
  else
    echo "tcpdump not installed: no peer figure"
  fi
  if [ $c = distinct ]; then
    # Peak RSS above the bare loop's (which holds the same libpcap buffers), per (S,G).
    echo "memory per (S,G)            $(awk -v a="$pw_rss" -v b="$bare_rss" -v n="$N" 'BEGIN { printf "%.0f", (a - b) * 1048576 / n }') bytes  ((pimwatch - loop peak RSS) / $N)"
    timed pwj "$PIMWATCH" -q -r "$f" -j "$W/out.joinfile"
    echo "pimwatch -q -r FILE -j OUT  cpu ${pwj_cpu} s  wall ${pwj_wall} s   ($(wc -l < "$W/out.joinfile") joinfile lines)"
  fi
done
