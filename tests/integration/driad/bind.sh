#!/bin/sh
# bind.sh — driad-lookup against a real BIND 9.18 serving native AMTRELAY records on
# 127.0.0.1:53531 and [::1]:53531: IPv4/IPv6/name relays, precedences, D bit, type 0,
# IPv6 sources, same-zone and cross-zone CNAME, DNAME, truncation to TCP (60 relays),
# family filtering, SERVFAIL (a zone that fails to load), REFUSED (allow-query none and a
# zone not served), a dead first server, and exit codes / text / JSON output.
set -eu
LOOKUP=${DRIAD_LOOKUP:?set DRIAD_LOOKUP to the driad-lookup binary}
. "$(dirname "$0")/peers.sh"
. "$(dirname "$0")/../../lib/bind.sh"
need_tool named dig python3
PORT=53531
mkdir -p "$W/bind/zones"

V6=no
if ip -6 addr show dev lo 2>/dev/null | grep -q '::1/128'; then V6=yes; fi

{
    bind_options "$W/bind" $PORT "port $PORT { $( [ $V6 = yes ] && echo '::1;' || echo 'none;' ) }"
    cat <<CONF
zone "100.51.198.in-addr.arpa" { type primary; file "zones/100.zone"; };
zone "101.51.198.in-addr.arpa" { type primary; file "zones/101.zone"; };
zone "102.51.198.in-addr.arpa" { type primary; file "zones/102-broken.zone"; };
zone "103.51.198.in-addr.arpa" { type primary; file "zones/103.zone"; allow-query { none; }; };
zone "8.b.d.0.1.0.0.2.ip6.arpa" { type primary; file "zones/ip6.zone"; };
zone "example.com" { type primary; file "zones/example.com.zone"; };
zone "example.org" { type primary; file "zones/example.org.zone"; };
CONF
} >"$W/bind/named.conf"

{
echo '$ORIGIN 100.51.198.in-addr.arpa.'
echo '$TTL 300'
echo "$SOA"
cat <<'Z'
12      IN AMTRELAY 10 0 1 203.0.113.15            ; RFC 8777 §4.3.2 example set
12      IN AMTRELAY 10 0 2 2001:db8::15
12      IN AMTRELAY 128 1 3 amtrelays.example.com.
13      IN AMTRELAY 0 0 0 .                        ; type 0: no relay for this source
14      IN AMTRELAY 5 0 3 noaddr.example.com.      ; a name without addresses: skipped
14      IN AMTRELAY 20 1 3 relay-alias.example.com.
15      IN CNAME 15.0-63.100.51.198.in-addr.arpa.  ; RFC 2317-style CNAME, same zone
15.0-63 IN AMTRELAY 10 1 1 203.0.113.30
16      IN PTR  host16.example.com.                ; AMTRELAY query -> NODATA
17      IN CNAME r17.example.org.                  ; cross-zone: BIND returns the CNAME alone
20      IN TYPE260 \# 6 0a81cb007128               ; generic form of 10 1 1 203.0.113.40
21      IN TYPE260 \# 2 0504                       ; unknown relay type 4: ignored
21      IN AMTRELAY 10 0 1 203.0.113.60
22      IN AMTRELAY 10 0 1 203.0.113.70            ; type 0 at a worse precedence cuts the list
22      IN AMTRELAY 50 0 0 .
22      IN AMTRELAY 60 0 1 203.0.113.71
23      IN AMTRELAY 7 0 1 203.0.113.81             ; three equal precedences: random choice
23      IN AMTRELAY 7 0 1 203.0.113.82
23      IN AMTRELAY 7 0 1 203.0.113.83
24      IN AMTRELAY 10 0 1 203.0.113.91            ; one relay of each family
24      IN AMTRELAY 10 0 2 2001:db8::91
Z
i=1
while [ $i -le 60 ]; do
    printf '99 IN AMTRELAY 10 0 2 2001:db8:99::%x\n' $i
    i=$((i + 1))
done
} > "$W/bind/zones/100.zone"

cat > "$W/bind/zones/101.zone" <<Z
\$ORIGIN 101.51.198.in-addr.arpa.
\$TTL 300
$SOA
@ IN DNAME 100.51.198.in-addr.arpa.
Z
# a zone BIND refuses to load (bad record): queries under it get SERVFAIL
cat > "$W/bind/zones/102-broken.zone" <<Z
\$ORIGIN 102.51.198.in-addr.arpa.
\$TTL 300
$SOA
5 IN AMTRELAY 10 0 9 203.0.113.1
Z
cat > "$W/bind/zones/103.zone" <<Z
\$ORIGIN 103.51.198.in-addr.arpa.
\$TTL 300
$SOA
5 IN AMTRELAY 10 0 1 203.0.113.5
Z
cat > "$W/bind/zones/ip6.zone" <<Z
\$ORIGIN 8.b.d.0.1.0.0.2.ip6.arpa.
\$TTL 300
$SOA
a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN AMTRELAY 10 0 2 2001:db8:c::f
a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN AMTRELAY 20 0 1 203.0.113.99
b.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN AMTRELAY 10 1 3 amtrelays.example.com.
Z
cat > "$W/bind/zones/example.com.zone" <<Z
\$ORIGIN example.com.
\$TTL 300
$SOA
ns1         IN A     127.0.0.1
amtrelays   IN A     203.0.113.15
amtrelays   IN AAAA  2001:db8::15
relay-alias IN CNAME amtrelays.example.com.
noaddr      IN TXT   "no addresses here"
Z
cat > "$W/bind/zones/example.org.zone" <<Z
\$ORIGIN example.org.
\$TTL 300
$SOA
r17 IN AMTRELAY 30 0 1 203.0.113.17
Z

start_bind $PORT
grep -q "102.51.198.in-addr.arpa.*not loaded due to errors" "$W/bind/named.log" ||
    fail "the broken zone was expected to fail loading"

run() {
    set +e
    "$LOOKUP" -s 127.0.0.1 -p $PORT "$@" > "$W/out" 2> "$W/err"
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
# --all lines sorted (equal precedences come in random order)
expect_all_sorted() {
    printf '%s\n' "$1" | sort > "$W/want"
    sort "$W/out" > "$W/got"
    diff -u "$W/want" "$W/got" || fail "$2"
}
# precedence column (2) never decreases
expect_precedence_order() {
    awk 'NR > 1 && $2 < prev { bad = 1 } { prev = $2 } END { exit bad }' "$W/out" || fail "precedence order: $(cat "$W/out")"
}

# 1. RFC 8777 example set: precedence 10 (one v4, one v6) then the name at 128
run -a 198.51.100.12
expect_rc 0 "example set"
expect_all_sorted "198.51.100.12 10 0 1 203.0.113.15 203.0.113.15
198.51.100.12 10 0 2 2001:db8::15 2001:db8::15
198.51.100.12 128 1 3 amtrelays.example.com. 2001:db8::15
198.51.100.12 128 1 3 amtrelays.example.com. 203.0.113.15" "example set candidates"
expect_precedence_order
head -n 2 "$W/out" | awk '{print $2}' | grep -qv 10 && fail "precedence 10 first"
# interleaving (RFC 8305 §4): IPv6 first within a precedence
sed -n 1p "$W/out" | grep -q ' 2001:db8::15$' || fail "IPv6 candidate first: $(cat "$W/out")"
sed -n 3p "$W/out" | grep -q ' 2001:db8::15$' || fail "name relay AAAA first"
run 198.51.100.12
expect_rc 0 "default output"
expect_out "2001:db8::15" "default output is the chosen address"
run -f 4 198.51.100.12
expect_rc 0 "-f 4"
expect_out "203.0.113.15" "-f 4 chooses the IPv4 relay"
run -f 6 -a 198.51.100.12
expect_all_sorted "198.51.100.12 10 0 2 2001:db8::15 2001:db8::15
198.51.100.12 128 1 3 amtrelays.example.com. 2001:db8::15" "-f 6 candidates"

# 2. type 0 at the best precedence: no relay, exit 3, empty line
run 198.51.100.13
expect_rc 3 "type 0"
expect_out "" "type 0 prints an empty line"
grep -q "says no relay" "$W/err" || fail "type 0 log line"

# 3. a name with no addresses is skipped; a name through a CNAME inherits precedence + D
run -a 198.51.100.14
expect_rc 0 "name relays"
expect_all_sorted "198.51.100.14 20 1 3 relay-alias.example.com. 203.0.113.15
198.51.100.14 20 1 3 relay-alias.example.com. 2001:db8::15" "name via CNAME"

# 4. same-zone CNAME, cross-zone CNAME (re-query), DNAME (re-query of the target)
run -a 198.51.100.15
expect_rc 0 "same-zone CNAME"
expect_out "198.51.100.15 10 1 1 203.0.113.30 203.0.113.30" "same-zone CNAME"
run -a 198.51.100.17
expect_rc 0 "cross-zone CNAME"
expect_out "198.51.100.17 30 0 1 203.0.113.17 203.0.113.17" "cross-zone CNAME"
run -f 4 198.51.101.15
expect_rc 0 "DNAME"
expect_out "203.0.113.30" "DNAME to the other zone, then its CNAME"

# 5. NODATA and NXDOMAIN: no record, exit 3; --anycast answers RFC 7450's address
run 198.51.100.16 198.51.100.200
expect_rc 3 "no record"
expect_out "
" "two empty lines"
[ "$(grep -c 'no AMTRELAY record' "$W/err")" = 2 ] || fail "no-record log lines"
run --anycast 198.51.100.16
expect_rc 0 "--anycast"
expect_out "192.52.193.1" "anycast IPv4"
run --anycast -f 6 198.51.100.200
expect_rc 0 "--anycast -f 6"
expect_out "2001:3::" "anycast IPv6"

# 6. generic-form record, unknown type ignored, type 0 at a worse precedence
run -a 198.51.100.20
expect_out "198.51.100.20 10 1 1 203.0.113.40 203.0.113.40" "generic TYPE260"
run -a 198.51.100.21
expect_rc 0 "unknown type"
expect_out "198.51.100.21 10 0 1 203.0.113.60 203.0.113.60" "unknown type ignored"
run -a 198.51.100.22
expect_out "198.51.100.22 10 0 1 203.0.113.70 203.0.113.70" "type 0 cuts worse precedences"

# 7. equal precedence: a pseudorandom choice (3 relays, 30 runs: every run choosing the
#    same one has probability 3^-29)
: > "$W/choices"
i=0
while [ $i -lt 30 ]; do
    run 198.51.100.23
    cat "$W/out" >> "$W/choices"
    i=$((i + 1))
done
[ "$(sort -u "$W/choices" | wc -l)" -ge 2 ] || fail "tie-break is not random: $(sort -u "$W/choices")"
sort -u "$W/choices" | grep -qv '^203\.0\.113\.8[123]$' && fail "unexpected choice"

# 8. IPv6 sources (ip6.arpa)
run -a 2001:db8::a
expect_rc 0 "IPv6 source"
expect_out "2001:db8::a 10 0 2 2001:db8:c::f 2001:db8:c::f
2001:db8::a 20 0 1 203.0.113.99 203.0.113.99" "IPv6 source candidates"
run -a 2001:db8::b
expect_all_sorted "2001:db8::b 10 1 3 amtrelays.example.com. 203.0.113.15
2001:db8::b 10 1 3 amtrelays.example.com. 2001:db8::15" "IPv6 source, name relay"
run ::ffff:198.51.100.15
expect_out "203.0.113.30" "IPv4-mapped source uses in-addr.arpa"

# 9. 60 relays: truncated over UDP (EDNS 1232), complete over TCP
run -a -vv 198.51.100.99
expect_rc 0 "truncation"
[ "$(wc -l < "$W/out")" = 60 ] || fail "60 candidates over TCP, got $(wc -l < "$W/out")"
grep -q "truncated: retrying over TCP" "$W/err" || fail "no TCP fallback logged"

# 10. SERVFAIL (zone failed to load) and REFUSED (allow-query none; zone not served)
run 198.51.102.5
expect_rc 1 "SERVFAIL"
grep -q "SERVFAIL" "$W/err" || fail "SERVFAIL reason: $(cat "$W/err")"
run 198.51.103.5
expect_rc 1 "REFUSED by ACL"
grep -q "REFUSED" "$W/err" || fail "REFUSED reason: $(cat "$W/err")"
run 192.0.2.1
expect_rc 1 "REFUSED outside the served zones"
run --json 198.51.103.5 198.51.100.12 198.51.100.13
expect_rc 1 "mixed"
python3 - "$W/out" <<'PY' || fail "JSON mixed"
import json, sys
d = json.load(open(sys.argv[1]))
assert [o["source"] for o in d] == ["198.51.103.5", "198.51.100.12", "198.51.100.13"], d
assert d[0]["status"] == "error" and "REFUSED" in d[0]["error"] and d[0]["chosen"] is None, d[0]
ok = d[1]
assert ok["status"] == "ok" and ok["chosen"] == "2001:db8::15", ok
assert [c["precedence"] for c in ok["candidates"]] in ([10, 10, 128],), ok
name = [c for c in ok["candidates"] if c["type"] == 3][0]
assert name["relay"] == "amtrelays.example.com." and name["discovery_optional"] is True, name
assert sorted(name["addresses"]) == ["2001:db8::15", "203.0.113.15"], name
v4 = [c for c in ok["candidates"] if c["type"] == 1][0]
assert v4["addresses"] == ["203.0.113.15"] and v4["discovery_optional"] is False, v4
assert "error" not in ok
assert d[2]["status"] == "no-relay" and d[2]["chosen"] is None, d[2]
assert d[2]["candidates"] == [{"precedence": 0, "discovery_optional": False, "type": 0,
                               "relay": ".", "addresses": []}], d[2]
PY
run --json 198.51.100.16
expect_rc 3 "JSON no record"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[0]["status"]=="no-record" and d[0]["candidates"]==[], d' "$W/out" || fail "JSON no-record"

# 11. IPv6 transport, and a dead first server followed by a live one
if [ $V6 = yes ]; then
    set +e
    "$LOOKUP" -s "[::1]:$PORT" 198.51.100.15 > "$W/out" 2> "$W/err"; rc=$?
    set -e
    expect_rc 0 "server over IPv6"
    expect_out "203.0.113.30" "server over IPv6"
else
    echo "note: no ::1 on lo, IPv6 transport not exercised"
fi
set +e
"$LOOKUP" -s 127.0.0.1:53539 -s 127.0.0.1:$PORT -t 6 -vv 198.51.100.15 > "$W/out" 2> "$W/err"; rc=$?
set -e
expect_rc 0 "second server after a dead first one"
expect_out "203.0.113.30" "second server"
grep -q "to 127.0.0.1:53539 (try 1)" "$W/err" && grep -q "to 127.0.0.1:$PORT (try 2)" "$W/err" ||
    fail "retry on the next server: $(cat "$W/err")"

# 12. the blocking convenience call (same driver, private resolver)
PROBE=${DRIAD_SYNC_PROBE:?}
"$PROBE" 127.0.0.1:$PORT 198.51.100.14 > "$W/out" || fail "sync probe"
sort "$W/out" > "$W/got"
printf '%s\n' "ok 2" "20 1 3 203.0.113.15" "20 1 3 2001:db8::15" | sort > "$W/want"
diff -u "$W/want" "$W/got" || fail "sync call result"
"$PROBE" 127.0.0.1:$PORT 198.51.103.5 > "$W/out" || fail "sync probe"
expect_out "error 0 query refused (REFUSED)" "sync call error result"

# 13. usage errors
run 198.51.100
expect_rc 2 "bad source"
run -f 5 198.51.100.12
expect_rc 2 "bad family"
echo "PASS: bind"
