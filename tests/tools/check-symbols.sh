#!/bin/sh
# check-symbols.sh LIBRARY.so VERSION-SCRIPT
# Fails when the dynamic symbols a shared library exports differ from the global
# symbols its linker version script lists (a symbol added to one and not the other).
set -eu
lib=$1 script=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ && $3 !~ /^(_init|_fini|_edata|_end|__bss_start)$/ { sub(/@.*/, "", $3); print $3 }' \
  | grep -v '^[A-Z_]*_[0-9.]*$' | sort -u > "$tmp/exported"
# Every "name;" inside a global: block of the script.
awk '/global:/ { g = 1; next } /local:/ { g = 0 } g { gsub(/[ \t;]/, ""); if ($0 != "" && $0 !~ /^}/ && $0 !~ /^#/) print }' "$script" \
  | sort -u > "$tmp/listed"
if ! diff -u "$tmp/listed" "$tmp/exported" > "$tmp/diff"; then
  echo "exported symbols of $lib differ from $script (- listed only, + exported only):"
  cat "$tmp/diff"
  exit 1
fi
echo "$(wc -l < "$tmp/exported") exported symbols match $script"
