#!/bin/sh
# nsd.sh — driad-lookup against a real NSD 4.6 serving RFC 3597 generic TYPE260 data on
# 127.0.0.1:53532, including malformed records BIND refuses to load (spec/driad.md §9
# W10-W15) next to good ones, the deployed type-3 name without its root label (strict and
# --lenient-names), and cross-zone CNAME/DNAME chains that NSD follows itself, a CNAME
# loop and a chain longer than 8 hops.
set -eu
LOOKUP=${DRIAD_LOOKUP:?set DRIAD_LOOKUP to the driad-lookup binary}
. "$(dirname "$0")/peers.sh"
need_tool nsd dig python3
PORT=53532
mkdir -p "$W/nsd/zones"

cat > "$W/nsd/nsd.conf" <<CONF
server:
    ip-address: 127.0.0.1@$PORT
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "$W/nsd/zones"
    database: ""
    pidfile: "$W/nsd/nsd.pid"
    xfrdfile: "$W/nsd/nsd-xfrd.state"
    zonelistfile: "$W/nsd/nsd-zone.list"
    xfrdir: "$W/nsd"
    logfile: "$W/nsd/nsd.log"
    server-count: 1
    verbosity: 1
remote-control:
    control-enable: no
zone:
    name: "102.51.198.in-addr.arpa"
    zonefile: "102.zone"
zone:
    name: "example.net"
    zonefile: "example.net.zone"
zone:
    name: "example.org"
    zonefile: "example.org.zone"
CONF

{
echo '$ORIGIN 102.51.198.in-addr.arpa.'
echo '$TTL 300'
echo "$SOA"
cat <<'Z'
1   IN TYPE260 \# 20 10030572656c6179076578616d706c65036e6574 ; 16 0 3 relay.example.net without root label
2   IN TYPE260 \# 3 000100                                    ; W11: type 1, 1-octet address
4   IN TYPE260 \# 4 0003c00c                                  ; W13: compression pointer
6   IN TYPE260 \# 3 000100                                    ; bad record ...
6   IN TYPE260 \# 6 0a01cb00715a                              ; ... next to a good one
7   IN TYPE260 \# 1 0a                                        ; W14: too short
7   IN TYPE260 \# 4 00030000                                  ; W15: octet after the name
7   IN TYPE260 \# 3 000000                                    ; W12: type 0 with an extra octet
7   IN TYPE260 \# 18 1e0220010db8000000000000000000000077     ; 30 0 2 2001:db8::77
8   IN TYPE260 \# 24 808309616d7472656c617973076578616d706c6503636f6d ; W9: the RFC's own 24-octet example
8   IN TYPE260 \# 2 0504                                      ; W8: unknown type only
9   IN CNAME a.alias.example.net.                             ; CNAME into a DNAME, across zones
10  IN CNAME loop1.example.net.                               ; CNAME loop
11  IN CNAME c1.example.net.                                  ; 10-hop chain
12  IN TYPE260 \# 13 0a8309616d7472656c61793200               ; W6: 10 1 3 amtrelay2. (no addresses)
12  IN TYPE260 \# 6 1401cb00710c                              ; 20 0 1 203.0.113.12
Z
} > "$W/nsd/zones/102.zone"

{
echo '$ORIGIN example.net.'
echo '$TTL 300'
echo "$SOA"
cat <<'Z'
relay   IN A     203.0.113.51
relay   IN AAAA  2001:db8::51
alias   IN DNAME target.example.org.
loop1   IN CNAME loop2.example.net.
loop2   IN CNAME 10.102.51.198.in-addr.arpa.
Z
i=1
while [ $i -lt 9 ]; do
    echo "c$i IN CNAME c$((i + 1)).example.net."
    i=$((i + 1))
done
echo 'c9 IN CNAME c10.example.net.'
echo 'c10 IN TYPE260 \# 6 0a01cb00710a'
} > "$W/nsd/zones/example.net.zone"

cat > "$W/nsd/zones/example.org.zone" <<Z
\$ORIGIN example.org.
\$TTL 300
$SOA
a.target IN TYPE260 \# 6 0a81cb007109
Z

for z in 102.51.198.in-addr.arpa:102.zone example.net:example.net.zone example.org:example.org.zone; do
    nsd-checkzone "${z%%:*}" "$W/nsd/zones/${z#*:}" > /dev/null || fail "nsd-checkzone ${z%%:*}"
done
start_nsd $PORT

run() {
    set +e
    "$LOOKUP" -s 127.0.0.1 -p $PORT --no-recursion "$@" > "$W/out" 2> "$W/err"
    rc=$?
    set -e
}
expect_rc() {
    [ "$rc" = "$1" ] || { echo "--- stdout"; cat "$W/out"; echo "--- stderr"; cat "$W/err"; fail "$2: exit $rc, want $1"; }
}
expect_out() {
    printf '%s\n' "$1" > "$W/want"
    diff -u "$W/want" "$W/out" || fail "$2"
}

# 1. a type-3 name without its root label: strict default rejects it (reason logged) ...
run 198.51.102.1
expect_rc 3 "unterminated name, strict"
grep -q "malformed AMTRELAY record at 1.102.51.198.in-addr.arpa. (20 octets): relay name lacks its root label" "$W/err" ||
    fail "strict rejection reason: $(cat "$W/err")"
run --json 198.51.102.1
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))[0]; assert d["status"]=="no-relay" and d["candidates"]==[] and "usable" in d["error"], d' "$W/out" ||
    fail "JSON of the strict rejection"
# ... and --lenient-names accepts it and resolves the completed name
run --lenient-names -a 198.51.102.1
expect_rc 0 "unterminated name, lenient"
sort "$W/out" > "$W/got"
printf '%s\n' "198.51.102.1 16 0 3 relay.example.net. 2001:db8::51" "198.51.102.1 16 0 3 relay.example.net. 203.0.113.51" | sort > "$W/want"
diff -u "$W/want" "$W/got" || fail "lenient candidates"

# 2. malformed-only RRsets: no usable relay, the reason logged
run 198.51.102.2
expect_rc 3 "short address"
grep -q "does not match the relay type" "$W/err" || fail "length reason"
run 198.51.102.4
expect_rc 3 "compression pointer"
grep -q "compression pointer" "$W/err" || fail "compression reason"

# 3. one bad record never poisons the RRset
run -a 198.51.102.6
expect_rc 0 "bad next to good"
expect_out "198.51.102.6 10 0 1 203.0.113.90 203.0.113.90" "good record used"
grep -q "1 malformed AMTRELAY record(s) ignored" "$W/err" || fail "malformed count logged"
run -a 198.51.102.7
expect_rc 0 "three bad, one good"
expect_out "198.51.102.7 30 0 2 2001:db8::77 2001:db8::77" "W12/W14/W15 dropped"
grep -q "3 malformed AMTRELAY record(s) ignored" "$W/err" || fail "three malformed logged"
run 198.51.102.8
expect_rc 3 "RFC example without root + unknown type"

# 4. a name without addresses is skipped for the next precedence
run -a 198.51.102.12
expect_rc 0 "name without addresses"
expect_out "198.51.102.12 20 0 1 203.0.113.12 203.0.113.12" "next precedence used"

# 5. chains NSD follows itself: CNAME -> DNAME -> data, across three zones
run -a 198.51.102.9
expect_rc 0 "CNAME/DNAME chain"
expect_out "198.51.102.9 10 1 1 203.0.113.9 203.0.113.9" "chain result"
run 198.51.102.10
expect_rc 1 "CNAME loop"
grep -q "CNAME/DNAME loop" "$W/err" || fail "loop reason: $(cat "$W/err")"
run 198.51.102.11
expect_rc 1 "long chain"
grep -q "chain too long" "$W/err" || fail "chain length reason: $(cat "$W/err")"
echo "PASS: nsd"
