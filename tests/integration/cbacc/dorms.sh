#!/usr/bin/env bash
# dorms.sh CBACC — cbacc against real peers on loopback (recipes/real-peers.md §1, §4):
# BIND serving the _dorms._tcp SRV records of the test sources' reverse zones (IPv4 and
# IPv6, CNAME, "no service", NXDOMAIN) and nginx with a test CA serving RESTCONF files over
# TLS (HTTP/2), plus servers that answer 500, stall past the timeout, are down, or present
# a certificate from an unknown CA.  Ports: 5350 (DNS), 8443-8447 (HTTPS).
set -u
CBACC=$(realpath "$1")
. "$(dirname "$0")/../../lib/bind.sh"
. "$(dirname "$0")/../../lib/pki.sh"
need=(named named-checkzone nginx openssl)
skip() {
  echo "SKIP: $*"
  if [ "${CI:-}" = true ]; then echo "CI=true: a missing prerequisite is a failure"; exit 1; fi
  exit 77
}
[ "$(id -u)" = 0 ] || skip "not root (nginx workers switch to nobody)"
for t in "${need[@]}"; do command -v "$t" >/dev/null 2>&1 || skip "$t not installed"; done
[ -x "$CBACC" ] || { echo "FAIL: cbacc binary $CBACC missing"; exit 1; }

W=/tmp/mci-cbacc.$$.$RANDOM
mkdir -m 700 "$W" || exit 1
CBACC_PID=
cleanup() {
  [ -n "$CBACC_PID" ] && kill "$CBACC_PID" 2>/dev/null
  [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null
  [ -f "$W/named.pid" ] && kill "$(cat "$W/named.pid")" 2>/dev/null
  sleep 0.2
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
chmod 755 "$W"
failures=0
ok() { echo "ok - $*"; }
bad() { echo "FAIL - $*"; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...
  local d=$1; shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}
# wait_for SECONDS COMMAND...: polls every 0.2 s, bounded.
wait_for() {
  local n=$(( $1 * 5 )); shift
  while [ "$n" -gt 0 ]; do "$@" && return 0; sleep 0.2; n=$((n - 1)); done
  return 1
}

# ---- PKI: the test CA, and an unknown CA for the rogue server -------------------------
mkdir -p "$W/pki" && cd "$W/pki" || exit 1
mkca ca "DORMS test CA" && mkca rogue-ca "Unknown CA" || { bad "openssl CA"; exit 1; }
mkcert server ca "DNS:dorms-restconf.example.com,DNS:bad500.example.com,DNS:stall.example.com,DNS:down.example.com,DNS:localhost,IP:127.0.0.1,IP:::1"
mkcert rogue rogue-ca "DNS:rogue.example.com,DNS:localhost,IP:127.0.0.1"
chmod 600 ./*.key

# ---- DNS: BIND on 127.0.0.1 and ::1 port 5350 ------------------------------------------
mkdir -p "$W/zones"
V6ZONE=9.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa
cat > "$W/zones/v4.zone" <<'EOF'
$ORIGIN 0.9.10.in-addr.arpa.
$TTL 300
@                  IN SOA ns1.example.com. hostmaster.example.com. ( 1 3600 900 604800 60 )
                   IN NS  ns1.example.com.
_dorms._tcp.1      IN SRV 0 1 8443 dorms-restconf.example.com.
_dorms._tcp.2      IN SRV 0 1 8444 bad500.example.com.
_dorms._tcp.3      IN SRV 0 1 8445 stall.example.com.
_dorms._tcp.4      IN SRV 0 1 8446 down.example.com.
_dorms._tcp.5      IN SRV 0 1 8447 rogue.example.com.
_dorms._tcp.6      IN SRV 0 1 8446 down.example.com.
_dorms._tcp.6      IN SRV 10 1 8443 dorms-restconf.example.com.
_dorms._tcp.8      IN SRV 0 0 0 .
_dorms._tcp.9      IN CNAME _dorms._tcp.9.0-63
_dorms._tcp.9.0-63 IN SRV 0 1 8443 dorms-restconf.example.com.
_dorms._tcp.10     IN SRV 0 1 8443 dorms-restconf.example.com.
EOF
# 10.9.0.10: 40 more (unused, lower-priority) targets make the answer larger than an EDNS
# UDP reply may be (1232 bytes): the client must retry over TCP (RFC 7766).
for i in $(seq 40); do
  printf '_dorms._tcp.10 IN SRV 10 1 8443 backup-%02d-with-a-long-name-to-fill-the-answer.example.com.\n' "$i"
done >> "$W/zones/v4.zone"
cat > "$W/zones/v6.zone" <<EOF
\$ORIGIN $V6ZONE.
\$TTL 300
@  IN SOA ns1.example.com. hostmaster.example.com. ( 1 3600 900 604800 60 )
   IN NS  ns1.example.com.
_dorms._tcp.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN SRV 0 1 8443 dorms-restconf.example.com.
EOF
cat > "$W/zones/example.com.zone" <<'EOF'
$ORIGIN example.com.
$TTL 300
@               IN SOA ns1.example.com. hostmaster.example.com. ( 1 3600 900 604800 60 )
                IN NS  ns1.example.com.
ns1             IN A    127.0.0.1
dorms-restconf  IN A    127.0.0.1
dorms-restconf  IN AAAA ::1
bad500          IN A    127.0.0.1
stall           IN A    127.0.0.1
down            IN A    127.0.0.1
rogue           IN A    127.0.0.1
EOF
{
    bind_options "$W" 5350
    cat <<EOF
zone "0.9.10.in-addr.arpa" { type primary; file "$W/zones/v4.zone"; };
zone "$V6ZONE" { type primary; file "$W/zones/v6.zone"; };
zone "example.com" { type primary; file "$W/zones/example.com.zone"; };
EOF
} >"$W/named.conf"
named-checkconf "$W/named.conf" || { bad "named-checkconf"; exit 1; }
named-checkzone -q 0.9.10.in-addr.arpa "$W/zones/v4.zone" || { bad "v4 zone"; exit 1; }
named -c "$W/named.conf" -n 1 -L "$W/named.log" || { bad "named start"; exit 1; }

# ---- HTTPS: nginx, files laid out as RESTCONF URLs ---------------------------------------
WWW=$W/www
D=$WWW/restconf/data/ietf-dorms:dorms/metadata
mkdir -p "$W/logs" "$W/temp" "$WWW/.well-known" "$WWW/errors" "$WWW/restconf/data"
put() { mkdir -p "$(dirname "$1")"; printf '%s' "$2" > "$1.tmp" && mv "$1.tmp" "$1"; }
put "$WWW/.well-known/host-meta" '<?xml version="1.0" encoding="UTF-8"?>
<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">
  <Link rel="restconf" href="/restconf"/>
</XRD>'
put "$WWW/errors/404.json" '{"ietf-restconf:errors":{"error":[{"error-type":"protocol","error-tag":"invalid-value","error-message":"resource not found"}]}}'
put "$WWW/restconf/data/ietf-yang-library:modules-state" '{"ietf-yang-library:modules-state":{"module-set-id":"t","module":[{"name":"ietf-dorms","revision":"2021-07-08"},{"name":"ietf-cbacc","revision":"2021-07-08"}]}}'
put "$D/sender=10.9.0.1/group=232.1.1.1/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-speed":2000,"priority":256}}'
put "$D/sender=10.9.0.1/group=232.1.1.2/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-bits-per-second":"3000000"}}'
put "$D/sender=10.9.0.1/group=232.1.1.3/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-speed":'
# 70 KiB: over the 64 KiB body cap (spec §4)
put "$D/sender=10.9.0.1/group=232.1.1.5/ietf-cbacc:cbacc" "{\"ietf-cbacc:cbacc\":{\"max-speed\":1}}$(head -c 71680 /dev/zero | tr '\0' ' ')"
put "$D/sender=10.9.0.1/group=232.1.1.6/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-speed":1000}}'
put "$D/sender=10.9.0.1/group=232.1.1.7/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-speed":1000}}'
put "$D/sender=10.9.0.2/group=232.1.1.1/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-speed":1}}'
put "$D/sender=10.9.0.3/group=232.1.1.1/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-speed":1}}'
put "$D/sender=10.9.0.5/group=232.1.1.1/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-speed":1}}'
put "$D/sender=10.9.0.6/group=232.1.1.1/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-speed":1000}}'
put "$D/sender=10.9.0.10/group=232.1.1.1/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-speed":700}}'
put "$D/sender=10.9.0.9/group=232.1.1.1/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-speed":1500}}'
put "$D/sender=2001:db8:9::a/group=ff3e::1/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-speed":500}}'
# The watch test's flow: refreshed every 5 s (max-age=5), then rewritten.
put "$D/sender=10.9.0.1/group=232.1.2.1/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-speed":2000}}'
put "$D/sender=10.9.0.1/group=232.1.2.2/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-speed":3000}}'
find "$WWW" -type d -exec chmod 755 {} + && find "$WWW" -type f -exec chmod 644 {} +

# nginx.conf; $1 = the watch flow's behaviour: ok (max-age=5) or 500.
write_nginx_conf() {
  local refresh
  if [ "$1" = ok ]; then
    refresh='add_header Cache-Control "max-age=5" always; try_files $uri =404;'
  else
    refresh='return 500;'
  fi
  { nginx_conf_head "$W"; cat <<EOF
http {
    log_format dorms '\$server_port \$connection \$connection_requests \$server_protocol "\$request" \$status "\$http_if_none_match" "\$http_accept" \$server_addr "\$http_if_modified_since"';
    access_log $W/logs/access.log dorms;
EOF
  nginx_temp_paths "$W"; cat <<EOF
    types { }
    default_type application/yang-data+json;
    ssl_protocols TLSv1.2 TLSv1.3;
    etag on;
    root $WWW;
    # good server, HTTP/2 offered
    server {
        listen 127.0.0.1:8443 ssl http2;
        listen [::1]:8443 ssl http2;
        server_name dorms-restconf.example.com;
        ssl_certificate $W/pki/server.crt;  ssl_certificate_key $W/pki/server.key;
        location = /.well-known/host-meta { default_type application/xrd+xml; }
        location /restconf/data/ietf-dorms:dorms/metadata/sender=10.9.0.1/group=232.1.2.1/ { $refresh error_page 404 /errors/404.json; }
        # no ETag here: revalidation must fall back to If-Modified-Since
        location /restconf/data/ietf-dorms:dorms/metadata/sender=10.9.0.1/group=232.1.2.2/ {
            etag off;
            add_header Cache-Control "max-age=5" always;
            try_files \$uri =404;
        }
        location /restconf/ {
            limit_except GET HEAD { deny all; }
            add_header Cache-Control "no-cache" always;
            try_files \$uri \$uri/.data =404;
            error_page 404 /errors/404.json;
        }
        location = /errors/404.json { internal; }
    }
    # answers 500 for metadata
    server {
        listen 127.0.0.1:8444 ssl;
        server_name bad500.example.com;
        ssl_certificate $W/pki/server.crt;  ssl_certificate_key $W/pki/server.key;
        location = /.well-known/host-meta { default_type application/xrd+xml; }
        location /restconf/data/ietf-dorms:dorms/ { return 500; }
        location / { return 404; }
    }
    # stalls: metadata bodies trickle at 1 byte/s, far past the client's timeout
    server {
        listen 127.0.0.1:8445 ssl;
        server_name stall.example.com;
        ssl_certificate $W/pki/server.crt;  ssl_certificate_key $W/pki/server.key;
        location = /.well-known/host-meta { default_type application/xrd+xml; }
        location /restconf/data/ietf-dorms:dorms/ { limit_rate 1; sendfile off; }
        location / { return 404; }
    }
    # certificate from a CA the client does not know
    server {
        listen 127.0.0.1:8447 ssl;
        server_name rogue.example.com;
        ssl_certificate $W/pki/rogue.crt;  ssl_certificate_key $W/pki/rogue.key;
        location = /.well-known/host-meta { default_type application/xrd+xml; }
    }
}
EOF
  } > "$W/nginx.conf"
}
write_nginx_conf ok
nginx -t -q -p "$W" -e "$W/logs/error.log" -c "$W/nginx.conf" || { bad "nginx -t"; exit 1; }
nginx -p "$W" -e "$W/logs/error.log" -c "$W/nginx.conf" || { bad "nginx start"; exit 1; }
dns_up() { command -v dig >/dev/null 2>&1 || { sleep 0.5; return 0; }; dig +short +norec -p 5350 @127.0.0.1 SOA example.com | grep -q ns1; }
https_up() { curl -s --cacert "$W/pki/ca.crt" --resolve dorms-restconf.example.com:8443:127.0.0.1 -o /dev/null "https://dorms-restconf.example.com:8443/.well-known/host-meta"; }
wait_for 10 dns_up || { bad "BIND did not answer"; exit 1; }
if command -v curl >/dev/null 2>&1; then wait_for 10 https_up || { bad "nginx did not answer"; exit 1; }; else sleep 1; fi
ok "BIND and nginx up"

COMMON=(--dns-server 127.0.0.1:5350 --cacert "$W/pki/ca.crt" --timeout 1 --wait 20)

# ---- 1. --show: every failure mode in one run (the flows are fetched concurrently) --------
: > "$W/logs/access.log"
"$CBACC" --show "${COMMON[@]}" 10.9.0.1,232.1.1.1 10.9.0.1,232.1.1.2 10.9.0.1,232.1.1.3 \
  10.9.0.1,232.1.1.4 10.9.0.1,232.1.1.5 10.9.0.2,232.1.1.1 10.9.0.3,232.1.1.1 10.9.0.4,232.1.1.1 10.9.0.5,232.1.1.1 \
  10.9.0.6,232.1.1.1 10.9.0.7,232.1.1.1 10.9.0.8,232.1.1.1 10.9.0.9,232.1.1.1 \
  > "$W/show.out" 2> "$W/show.err"
rc=$?
cat "$W/show.out"
check "--show exits 3 when some flows have no metadata" [ "$rc" = 3 ]
line() { grep "^$1 " "$W/show.out"; }
check "max-speed as a JSON number (kbit/s): 2 Mbit/s" grep -q "^10.9.0.1,232.1.1.1 metadata valid 2000000 bit/s" "$W/show.out"
check "max-bits-per-second as a string: 3 Mbit/s" grep -q "^10.9.0.1,232.1.1.2 metadata valid 3000000 bit/s" "$W/show.out"
check "URL layout from modules-state (2021), RFC 8040 keys" grep -q "url https://dorms-restconf.example.com:8443/restconf/data/ietf-dorms:dorms/metadata/sender=10.9.0.1/group=232.1.1.1/ietf-cbacc:cbacc" "$W/show.out"
check "invalid JSON: no metadata" grep -q "^10.9.0.1,232.1.1.3 metadata none" "$W/show.out"
check "invalid JSON: clear log line" grep -q "10.9.0.1,232.1.1.3: .*invalid metadata: JSON" "$W/show.err"
check "404: no metadata" grep -q "^10.9.0.1,232.1.1.4 metadata none" "$W/show.out"
check "404: log line with the RESTCONF error" grep -q "10.9.0.1,232.1.1.4: .*HTTP 404, RESTCONF error.*resource not found.*using the default rate" "$W/show.err"
check "body over 64 KiB: no metadata" grep -q "^10.9.0.1,232.1.1.5 metadata none" "$W/show.out"
check "body over 64 KiB: log line" grep -q "10.9.0.1,232.1.1.5: .*body larger than 65536 bytes; using the default rate" "$W/show.err"
check "500: no metadata (no last good value yet)" grep -q "^10.9.0.2,232.1.1.1 metadata none" "$W/show.out"
check "500: log line" grep -q "10.9.0.2,232.1.1.1: .*HTTP 500; no metadata, retry in" "$W/show.err"
check "stall past the timeout: no metadata" grep -q "^10.9.0.3,232.1.1.1 metadata none" "$W/show.out"
check "stall: log line names the timeout" grep -qi "10.9.0.3,232.1.1.1: .*timed out" "$W/show.err"
check "down server: no metadata" grep -q "^10.9.0.4,232.1.1.1 metadata none" "$W/show.out"
check "down server: log line" grep -qi "DORMS server https://down.example.com:8446: .*connect" "$W/show.err"
check "unknown CA: no metadata" grep -q "^10.9.0.5,232.1.1.1 metadata none" "$W/show.out"
check "unknown CA: log line about the certificate" grep -qi "rogue.example.com:8447.*certificate" "$W/show.err"
check "SRV failover past the down server (RFC 2782 priority)" grep -q "^10.9.0.6,232.1.1.1 metadata valid 1000000 bit/s" "$W/show.out"
check "no SRV record (NXDOMAIN): no metadata" grep -q "^10.9.0.7,232.1.1.1 metadata none" "$W/show.out"
check "no SRV record: log line" grep -q "DORMS discovery for 10.9.0.7: no service (no SRV record)" "$W/show.err"
check "SRV target \".\": no service" grep -q 'DORMS discovery for 10.9.0.8: no service (SRV target ".")' "$W/show.err"
check "SRV behind a CNAME (RFC 2317 style)" grep -q "^10.9.0.9,232.1.1.1 metadata valid 1500000 bit/s" "$W/show.out"
check "Accept: application/yang-data+json on metadata GETs" grep -q '^8443 .*ietf-cbacc:cbacc HTTP/2.0" 200 "-" "application/yang-data+json"' "$W/logs/access.log"
check "host-meta asked as XRD (RFC 8040 §3.1)" grep -q '^8443 .*/.well-known/host-meta HTTP/2.0" 200 "-" "application/xrd+xml"' "$W/logs/access.log"
check "HTTP/2 to the server that offers it" grep -q '^8443 .* HTTP/2.0 ' "$W/logs/access.log"
conns=$(awk '$1 == 8443 { print $2 }' "$W/logs/access.log" | sort -u | wc -l)
reqs=$(awk '$1 == 8443' "$W/logs/access.log" | wc -l)
reused() { [ "$conns" = 1 ] && [ "$reqs" -ge 7 ]; }
check "one reused connection to the good server ($reqs requests on $conns connection)" reused
check "SRV discovery once per source, not per flow" [ "$(grep -c 'DORMS discovery for 10.9.0.1:' "$W/show.err")" = 1 ]

# ---- 1b. an SRV answer too big for UDP: TCP fallback against BIND -------------------------
"$CBACC" --show -v "${COMMON[@]}" 10.9.0.10,232.1.1.1 > "$W/showtc.out" 2> "$W/showtc.err"
check "truncated SRV answer: retried over TCP" grep -q "_dorms._tcp.10.0.9.10.in-addr.arpa.* truncated: asking again over TCP" "$W/showtc.err"
check "truncated SRV answer: metadata from the priority-0 server" grep -q "^10.9.0.10,232.1.1.1 metadata valid 700000 bit/s" "$W/showtc.out"
check "truncated SRV answer: all 41 records read" grep -q "DORMS discovery for 10.9.0.10: 41 server(s), first dorms-restconf.example.com:8443" "$W/showtc.err"

# ---- 2. IPv6: source, reverse zone, DNS server over IPv6, AAAA for the server --------------
"$CBACC" --show --json --dns-server '[::1]:5350' --cacert "$W/pki/ca.crt" --wait 20 2001:db8:9::a,ff3e::1 \
  > "$W/show6.out" 2> "$W/show6.err"
rc=$?
cat "$W/show6.out"
check "IPv6 flow: exit 0" [ "$rc" = 0 ]
check "IPv6 flow: JSON metadata, key percent-encoded" grep -q '"flow": *"2001:db8:9::a,ff3e::1".*"metadata": *"valid".*"bps": *500000.*sender=2001%3Adb8%3A9%3A%3Aa/group=ff3e%3A%3A1' "$W/show6.out"
if command -v python3 >/dev/null 2>&1; then
  check "--json output parses" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[0]["bps"]==500000' "$W/show6.out"
fi

# ---- 2b. IPv6 transport: a static override to https://[::1]:8443 (no DNS) ------------------
: > "$W/logs/access.log"
"$CBACC" --show --cacert "$W/pki/ca.crt" --dns-server 127.0.0.1:9 --dorms '10.9.0.0/24=https://[::1]:8443' \
  10.9.0.1,232.1.1.1 > "$W/show6b.out" 2> "$W/show6b.err"
check "override over IPv6: metadata valid" grep -q "^10.9.0.1,232.1.1.1 metadata valid 2000000 bit/s.*url https://\[::1\]:8443/restconf/" "$W/show6b.out"
check "override over IPv6: nginx saw the requests on ::1" grep -q 'ietf-cbacc:cbacc HTTP/2.0" 200 .* ::1 "' "$W/logs/access.log"

# ---- 3. --once: admission with populations, flows without metadata, --default ---------------
printf '%s\n' '# test input' '10.9.0.1,232.1.1.1,3' '10.9.0.1,232.1.1.2' '2001:db8:9::a,ff3e::1' '10.9.0.7,232.1.1.1' \
  'not a line' > "$W/in.sgs"
"$CBACC" --once "${COMMON[@]}" -i "$W/in.sgs" -o "$W/out.sgs" -b 5M > "$W/once.out" 2> "$W/once.err"
rc=$?
cat "$W/once.out"
check "--once exits 0" [ "$rc" = 0 ]
check "--once: bad input line reported as file:line" grep -q "in.sgs:6: .*not a line" "$W/once.err"
check "--once: output keeps populations, drops blocked flows" diff <(printf '%s\n' '10.9.0.1,232.1.1.1,3' '2001:db8:9::a,ff3e::1') "$W/out.sgs"
check "--once: no-metadata flow blocked without --default" grep -q "^10.9.0.7,232.1.1.1 blocked no-rate population 1 priority 256 metadata none (no metadata)" "$W/once.out"
check "--once: least-offload flow blocked" grep -q "^10.9.0.1,232.1.1.2 blocked 3000000 bit/s" "$W/once.out"
if command -v python3 >/dev/null 2>&1; then
  "$CBACC" --once --json "${COMMON[@]}" -i "$W/in.sgs" -b 5M > "$W/once.json" 2>/dev/null
  check "--once --json: same decisions as the text output" python3 -c '
import json, sys
d = {r["flow"]: r for r in json.load(open(sys.argv[1]))}
assert d["10.9.0.1,232.1.1.1"]["decision"] == "admitted" and d["10.9.0.1,232.1.1.1"]["population"] == 3
assert d["10.9.0.1,232.1.1.2"]["decision"] == "blocked" and d["10.9.0.1,232.1.1.2"]["bps"] == 3000000
assert d["10.9.0.7,232.1.1.1"]["metadata"] == "none" and d["10.9.0.7,232.1.1.1"]["bps"] is None
assert d["2001:db8:9::a,ff3e::1"]["decision"] == "admitted"
' "$W/once.json"
fi
check "--once: one log line per decision" [ "$(grep -cE 'cbacc: [0-9a-f.:]+,[0-9a-f.:]+ (admitted|blocked|held):' "$W/once.err")" = 4 ]
"$CBACC" --once "${COMMON[@]}" -i "$W/in.sgs" -o "$W/out2.sgs" -b 5M --default 100k > "$W/once2.out" 2>/dev/null
check "--once --default 100k admits the flow without metadata" grep -q "^10.9.0.7,232.1.1.1$" "$W/out2.sgs"
"$CBACC" --once "${COMMON[@]}" -i "$W/in.sgs" -b 1k > /dev/null 2>&1
check "--once: nothing admitted exits 3" [ $? = 3 ]

# Restart: the previous output's flows are incumbents (a full tie otherwise blocks the
# higher (S,G), 232.1.1.7).
printf '%s\n' '10.9.0.1,232.1.1.6' '10.9.0.1,232.1.1.7' > "$W/tie.sgs"
"$CBACC" --once "${COMMON[@]}" -i "$W/tie.sgs" -o "$W/tie-out.sgs" -b 1.5M > /dev/null 2>&1
check "--once: full tie blocks the higher (S,G)" diff <(echo '10.9.0.1,232.1.1.6') "$W/tie-out.sgs"
echo '10.9.0.1,232.1.1.7' > "$W/tie-out2.sgs"
"$CBACC" --once "${COMMON[@]}" -i "$W/tie.sgs" -o "$W/tie-out2.sgs" -b 1.5M > /dev/null 2> "$W/tie2.err"
check "--once: flows of the existing output are incumbents on restart" diff <(echo '10.9.0.1,232.1.1.7') "$W/tie-out2.sgs"
check "--once: the seeding is logged" grep -q "tie-out2.sgs: 1 flow(s) admitted before are incumbents" "$W/tie2.err"

# ---- 4. watch mode: refresh by Cache-Control, 304s, re-evaluation on metadata change and on
#         hold-down expiry, last good value on 500 ---------------------------------------------
: > "$W/logs/access.log"
printf '%s\n' '10.9.0.1,232.1.2.1' '10.9.0.1,232.1.2.2' > "$W/watch.sgs"
"$CBACC" -v "${COMMON[@]}" -i "$W/watch.sgs" -o "$W/watch-out.sgs" -b 6M --hold-down 9 --hold-desync 0 \
  2> "$W/watch.err" &
CBACC_PID=$!
both='10.9.0.1,232.1.2.1
10.9.0.1,232.1.2.2'
out_is() { [ "$(cat "$W/watch-out.sgs" 2>/dev/null)" = "$1" ]; }
check "watch: both flows admitted (5 Mbit/s within 6M)" wait_for 20 out_is "$both"
check "watch: no empty output written while the first metadata was on its way" bash -c "! grep -q 'wrote 0 admitted' '$W/watch.err'"
revalidated() { grep -q 'group=232.1.2.1/ietf-cbacc:cbacc HTTP/2.0" 304 "[^-]' "$W/logs/access.log"; }
check "watch: refresh after max-age with If-None-Match: 304 in nginx's access log" wait_for 20 revalidated
revalidated_ims() { grep -q 'group=232.1.2.2/ietf-cbacc:cbacc HTTP/2.0" 304 "-" .* "[A-Z][a-z][a-z], [0-9]' "$W/logs/access.log"; }
check "watch: without an ETag, If-Modified-Since gives 304" wait_for 20 revalidated_ims
check "watch: the 304 came on the same connection" [ "$(awk '$1 == 8443 { print $2 }' "$W/logs/access.log" | sort -u | wc -l)" = 1 ]
put "$D/sender=10.9.0.1/group=232.1.2.1/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-speed":5000}}'
chmod 644 "$D/sender=10.9.0.1/group=232.1.2.1/ietf-cbacc:cbacc"
check "watch: new rate after refresh blocks the bigger flow" wait_for 20 out_is '10.9.0.1,232.1.2.2'
check "watch: blocked decision logged with rate and reason" grep -q '10.9.0.1,232.1.2.1 blocked: 5 Mbit/s, population 1, priority 256 (over limit)' "$W/watch.err"
put "$D/sender=10.9.0.1/group=232.1.2.1/ietf-cbacc:cbacc" '{"ietf-cbacc:cbacc":{"max-speed":2000}}'
chmod 644 "$D/sender=10.9.0.1/group=232.1.2.1/ietf-cbacc:cbacc"
held() { grep -q '10.9.0.1,232.1.2.1 held: 2 Mbit/s.*(hold-down)' "$W/watch.err"; }
check "watch: rate back down, flow held during its hold-down" wait_for 20 held
check "watch: hold-down expiry re-admits it without an input change" wait_for 20 out_is "$both"
write_nginx_conf 500
nginx -p "$W" -e "$W/logs/error.log" -c "$W/nginx.conf" -s reload
stale() { grep -q '10.9.0.1,232.1.2.1: .*HTTP 500; keeping last good value 2 Mbit/s' "$W/watch.err"; }
check "watch: 500 keeps the last good value (clear log line)" wait_for 20 stale
check "watch: output unchanged on the transport failure" out_is "$both"
printf '%s\n' '10.9.0.1,232.1.2.2,4' > "$W/watch.sgs.new" && mv "$W/watch.sgs.new" "$W/watch.sgs"
check "watch: input change re-evaluated, population kept" wait_for 20 out_is '10.9.0.1,232.1.2.2,4'
kill -HUP "$CBACC_PID"
hup() { grep -q "SIGHUP: re-reading" "$W/watch.err"; }
check "watch: SIGHUP re-reads the input" wait_for 10 hup
kill -TERM "$CBACC_PID"
wait "$CBACC_PID"
rc=$?
CBACC_PID=
check "watch: SIGTERM exits 0" [ "$rc" = 0 ]

check "no sanitizer report in any cbacc log" bash -c "! grep -lE 'runtime error|AddressSanitizer|LeakSanitizer' '$W'/*.err"
if [ "$failures" -ne 0 ] || [ -n "${CBACC_TEST_VERBOSE:-}" ]; then
  echo "---- watch log"; cat "$W/watch.err"
  echo "---- show log"; cat "$W/show.err"
  echo "---- access log"; tail -n 40 "$W/logs/access.log"
fi
if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
