#!/bin/sh
# wire-tshark.sh — every message libamt's gateway emits (and the relay-direction golden
# messages) decoded by tshark's AMT dissector with checksum checks on: the AMT type of
# every frame must match, no expert message may appear, the gateway fields of the
# Teardowns must decode.  No root needed.  Environment: WIRE_PCAP (the generator).
set -u
skip() {
    if [ "${CI:-}" = true ]; then echo "FAIL (CI): $*"; exit 1; fi
    echo "SKIP: $*"; exit 77
}
command -v tshark >/dev/null 2>&1 || skip "tshark not installed"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$WIRE_PCAP" "$W/amt.pcap" "$W/expected.txt" || { echo "FAIL: generator"; exit 1; }
tshark -r "$W/amt.pcap" -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE -T fields -E separator='|' \
    -e frame.number -e amt.type -e amt.request.p -e amt.gateway.ip_address -e udp.checksum.status \
    -e _ws.expert.message >"$W/fields.txt" 2>"$W/err.txt" || { echo "FAIL: tshark"; cat "$W/err.txt"; exit 1; }
cut -d'|' -f2 "$W/fields.txt" | cut -d, -f1 >"$W/types.txt"
if ! cmp -s "$W/types.txt" "$W/expected.txt"; then
    echo "FAIL: decoded AMT types differ from the emitted ones:"
    diff "$W/expected.txt" "$W/types.txt"
    exit 1
fi
bad=$(awk -F'|' '$6 != "" { print $1 ": " $6 }' "$W/fields.txt")
[ -z "$bad" ] || { echo "FAIL: expert messages:"; echo "$bad"; exit 1; }
badck=$(awk -F'|' '{ n = split($5, s, ","); for (i = 1; i <= n; i++) if (s[i] != 1 && !(i > 1 && s[i] == 3)) print $1 }' "$W/fields.txt")
[ -z "$badck" ] || { echo "FAIL: checksum status not good in frames $badck"; exit 1; }
grep -q '^[0-9]*|7|.*|::10\.3\.3\.2|' "$W/fields.txt" || { echo "FAIL: no IPv4 Teardown with ::10.3.3.2"; exit 1; }
grep -q '^[0-9]*|7|.*|2001:db8::2|' "$W/fields.txt" || { echo "FAIL: no IPv6 Teardown with 2001:db8::2"; exit 1; }
for t in 1 2 3 4 5 6 7; do
    grep -qx "$t" "$W/types.txt" || { echo "FAIL: type $t missing"; exit 1; }
done
echo "ok: $(wc -l <"$W/types.txt") frames, types $(sort -u "$W/types.txt" | tr '\n' ' ')decoded cleanly"
