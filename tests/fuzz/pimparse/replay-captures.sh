#!/bin/sh
# replay-captures.sh MAKE-SEEDS HARNESS DIR — turns every record of the captures in DIR
# into a seed (in a temporary directory, never in the repository) and replays them
# through the harness.  Exit 77 when DIR is absent.
set -eu
make_seeds=$1 harness=$2 dir=$3
[ -d "$dir" ] || { echo "SKIP: $dir absent"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$make_seeds" "$tmp" --from-pcap "$dir"/*.pcap
n=$(ls "$tmp" | wc -l)
[ "$n" -gt 0 ] || { echo "no records found in $dir"; exit 1; }
"$harness" "$tmp"
echo "$n capture records replayed"
