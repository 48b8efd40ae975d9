#!/bin/sh
# install-consumer.sh BUILD-DIR CONSUMER-SOURCE-DIR [CC]
# Installs the build into a temporary DESTDIR, then builds examples/consumer exactly as an
# outside project would: cc + `pkg-config --cflags --libs libjoinfile` with
# PKG_CONFIG_PATH pointing into the DESTDIR, and runs it against the installed library.
set -eu
build=$1 src=$2 CC=${3:-cc}
for t in ${CC%% *} pkg-config meson; do
  command -v "$t" >/dev/null || { echo "$t missing"; [ "${CI:-}" = true ] && exit 1; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest

meson install -C "$build" --no-rebuild --destdir "$dest" >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log"; exit 1; }
pc=$(find "$dest" -name libjoinfile.pc | head -n 1)
[ -n "$pc" ] || { echo "libjoinfile.pc was not installed"; exit 1; }
hdr=$(find "$dest" -path '*/include/joinfile/joinfile.h' | head -n 1)
[ -n "$hdr" ] || { echo "joinfile/joinfile.h was not installed"; exit 1; }
# the man pages come with it
find "$dest" -name 'joinfile.1*' | grep -q . || { echo "joinfile.1 was not installed"; exit 1; }
find "$dest" -name 'joinfile.5*' | grep -q . || { echo "joinfile.5 was not installed"; exit 1; }

# The .pc file names the install prefix; the sysroot maps it into the DESTDIR.
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_LIBDIR=
flags=$(pkg-config --cflags --libs libjoinfile)
echo "pkg-config: $flags"
pkg-config --modversion libjoinfile
# shellcheck disable=SC2086
$CC -std=c11 -Wall -Wextra -Werror -o "$tmp/consumer" "$src/consumer.c" $flags

libdir=$(dirname "$(find "$dest" -name 'libjoinfile.so.0' | head -n 1)")
# Only the installed library may satisfy it (not the build tree's).
LD_LIBRARY_PATH=$libdir ldd "$tmp/consumer" | grep libjoinfile | grep -q "$dest" || {
  echo "consumer does not resolve libjoinfile from the DESTDIR:"; LD_LIBRARY_PATH=$libdir ldd "$tmp/consumer"; exit 1; }

printf '# input\n2001:DB8::1 , FF3E::1,2\n10.0.0.1,232.1.1.1\nnot a line\n10.0.0.1,232.1.1.1,1\n' >"$tmp/in.sgs"
LD_LIBRARY_PATH=$libdir "$tmp/consumer" "$tmp/in.sgs" "$tmp/out.sgs" >"$tmp/stdout" 2>"$tmp/stderr"
cat "$tmp/stdout" "$tmp/stderr"
grep -q "^libjoinfile 0\.1\.0 (header 0\.1\.0)$" "$tmp/stdout"
grep -q "^2 entries, written atomically$" "$tmp/stdout"
grep -q "^+10.0.0.1,232.1.1.1$" "$tmp/stdout"
grep -q "^+2001:db8::1,ff3e::1,2$" "$tmp/stdout"
grep -q "in.sgs:4: expected source,group\[,population\]: \"not a line\"" "$tmp/stderr"
printf '10.0.0.1,232.1.1.1\n2001:db8::1,ff3e::1,2\n' | cmp - "$tmp/out.sgs"
# a second run changes nothing
LD_LIBRARY_PATH=$libdir "$tmp/consumer" "$tmp/in.sgs" "$tmp/out.sgs" 2>/dev/null | grep -q "^2 entries, unchanged$"
echo "consumer built through pkg-config against the DESTDIR install and ran"
