#!/bin/sh
# check-symbols.sh LIBRARY.so VERSION-SCRIPT [HEADER EXPORT-MACRO]
# Fails when the three lists of a library's public functions disagree:
#   - the dynamic symbols the shared library exports,
#   - the global symbols its linker version script lists,
#   - (with HEADER) the declarations the public header marks with EXPORT-MACRO.
# The .so-vs-script check alone cannot see a function the header exports but the script
# forgot (the script then hides it, so both lists lack it); the header check catches that.
set -eu
lib=$1 script=$2 header=${3:-} macro=${4:-}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ && $3 !~ /^(_init|_fini|_edata|_end|__bss_start)$/ { sub(/@.*/, "", $3); print $3 }' \
  | grep -v '^[A-Z_]*_[0-9.]*$' | sort -u > "$tmp/exported"
# Every "name;" inside a global: block of the script.
awk '/global:/ { g = 1; next } /local:/ { g = 0 } g { gsub(/[ \t;]/, ""); if ($0 != "" && $0 !~ /^}/ && $0 !~ /^#/) print }' "$script" \
  | sort -u > "$tmp/listed"

status=0
if ! diff -u "$tmp/listed" "$tmp/exported" > "$tmp/diff"; then
  echo "exported symbols of $lib differ from $script (- listed only, + exported only):"
  cat "$tmp/diff"
  status=1
fi
if [ -n "$header" ]; then
  # The identifier before the first '(' of each marked declaration (which may wrap lines).
  awk -v m="$macro" 'index($0, m) && !/#define/ { d = $0; while (d !~ /\(/ && (getline l) > 0) d = d " " l;
       sub(/\(.*/, "", d); n = split(d, w, /[ *]+/); print w[n] }' "$header" | sort -u > "$tmp/declared"
  if ! diff -u "$tmp/declared" "$tmp/listed" > "$tmp/diff"; then
    echo "$macro declarations in $header differ from $script (- header only, + script only):"
    cat "$tmp/diff"
    status=1
  fi
fi
[ "$status" -eq 0 ] && echo "$(wc -l < "$tmp/exported") exported symbols match $script${header:+ and $header}"
exit "$status"
