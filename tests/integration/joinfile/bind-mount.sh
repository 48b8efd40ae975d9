#!/bin/sh
# bind-mount.sh JOINFILE-TOOL — a joinfile that is a single-file bind mount (the
# container deployment of spec/joinfile.md §3.3): rename(2) onto it fails with EBUSY, so
# the writer must fall back to an in-place rewrite, say so, and the content must land in
# the mounted file.  Needs root and mount namespaces (unshare -m); else exit 77.
set -eu
J=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") # absolute: the test cd-s away
skip() { echo "skipped: $*"; [ "${CI:-}" = true ] && exit 1; exit 77; }
[ "$(id -u)" = 0 ] || skip "not root"
command -v unshare >/dev/null || skip "unshare missing"
unshare -m true 2>/dev/null || skip "no mount namespaces here"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '10.0.0.1,232.1.1.1\n' >"$tmp/source.sgs"
: >"$tmp/target.sgs"
unshare -m sh -eu -c '
  mount --make-rprivate /
  mount --bind "$2/source.sgs" "$2/target.sgs"
  "$1" add "$2/target.sgs" 2001:db8::1,ff3e::1 >"$2/out" 2>"$2/err"
  "$1" add "$2/target.sgs" 10.0.0.2,232.1.1.1 >>"$2/out" 2>>"$2/err"
' sh "$J" "$tmp"
cat "$tmp/out" "$tmp/err"
grep -q 'cannot replace atomically' "$tmp/err"
grep -q 'rewritten in place' "$tmp/err"
# the writes reached the bind-mounted file
printf '10.0.0.1,232.1.1.1\n10.0.0.2,232.1.1.1\n2001:db8::1,ff3e::1\n' | cmp - "$tmp/source.sgs"
# no temp file left in the directory
[ -z "$(find "$tmp" -name '.target.sgs.*')" ]
echo "single-file bind mount: in-place fallback used and reported"
