#!/bin/sh
# check-header-symbols.sh HEADER VERSION-SCRIPT
# Fails when the functions the public header marks DRIAD_EXPORT differ from the global
# symbols of the version script (symbols-driad checks the script against the .so, which
# cannot see a declared function the script forgot: the .so then hides it).
set -eu
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# the name is the identifier before the first '(' of each declaration (may wrap a line)
awk '/DRIAD_EXPORT/ && !/#define/ { decl = $0; while (decl !~ /\(/ && (getline line) > 0) decl = decl " " line;
     sub(/\(.*/, "", decl); n = split(decl, w, /[ *]+/); print w[n] }' "$1" | sort -u > "$tmp/header"
awk '/global:/ { g = 1; next } /local:/ { g = 0 } g { gsub(/[ \t;]/, ""); if ($0 != "" && $0 !~ /^}/) print }' "$2" | sort -u > "$tmp/script"
if ! diff -u "$tmp/header" "$tmp/script"; then
  echo "DRIAD_EXPORT declarations in $1 differ from $2 (- header only, + script only)"
  exit 1
fi
echo "$(wc -l < "$tmp/header") exported declarations match $2"
