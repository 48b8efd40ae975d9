#!/bin/sh
# bench-memory.sh SCALE_SH — driad-ingest's resident memory with 10,000 (S,G)s over 1,000
# relays (the scale test, tests/integration/ingest/scale.sh, run as is), printed beside
# the target of 32 MiB.  Root needed (namespaces, BIND, 500 relay processes): exit 77
# otherwise.  Environment: DRIAD_INGEST AMT_RELAY.
set -u
SCALE=${1:?path to scale.sh}
out=$(sh "$SCALE")
rc=$?
printf '%s\n' "$out"
[ "$rc" = 77 ] && exit 77
[ "$rc" = 0 ] || { echo "FAIL: the scale run failed ($rc)"; exit 1; }
rss=$(printf '%s\n' "$out" | sed -n 's/^rss_kib=\([0-9]*\) .*/\1/p')
hwm=$(printf '%s\n' "$out" | sed -n 's/.* hwm_kib=\([0-9]*\)$/\1/p')
[ -n "$rss" ] && [ -n "$hwm" ] || { echo "FAIL: no RSS figure in the scale output"; exit 1; }
awk -v r="$rss" -v h="$hwm" 'BEGIN {
    printf "driad-ingest, 10,000 (S,G)s over 1,000 relays, all tunnels joined:\n"
    printf "  RSS %.1f MiB (peak %.1f MiB); target < 32 MiB: %.2f of the target\n",
           r / 1024, h / 1024, h / 1024 / 32
}'
