#!/usr/bin/env bash
# bench-fetch.sh BENCH-FETCH — metadata of 1,000 flows from a local nginx (TLS with a test
# CA, HTTP/2) through libcbacc, beside the peer: one `curl` command per flow in a loop, in
# the same run.  Prints both rates and their ratio.  Port 8448.
# CBACC_BENCH_FLOWS=N changes the flow count; CBACC_BENCH_PEER=0 skips the curl loop (for
# looking at the library alone with large N).
set -u
BIN=$(realpath "$1")
. "$(dirname "$0")/../../lib/pki.sh"
N=${CBACC_BENCH_FLOWS:-1000}
skip() { echo "SKIP: $*"; if [ "${CI:-}" = true ]; then exit 1; fi; exit 77; }
[ "$(id -u)" = 0 ] || skip "not root (nginx workers switch to nobody)"
for t in nginx openssl curl; do command -v "$t" >/dev/null 2>&1 || skip "$t not installed"; done
W=/tmp/mci-cbacc-bench.$$.$RANDOM
mkdir -m 700 "$W" || exit 1
cleanup() {
  [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null
  sleep 0.2
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
chmod 755 "$W"
mkdir -p "$W/pki" "$W/logs" "$W/temp" "$W/www/.well-known"
cd "$W/pki" || exit 1
mkca ca "DORMS bench CA"
mkcert server ca "DNS:localhost,IP:127.0.0.1,IP:::1" localhost
chmod 600 ./*.key
printf '%s\n' '<?xml version="1.0" encoding="UTF-8"?>' '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">' \
  '  <Link rel="restconf" href="/restconf"/>' '</XRD>' > "$W/www/.well-known/host-meta"
mkdir -p "$W/www/restconf/data"
printf '%s' '{"ietf-yang-library:modules-state":{"module":[{"name":"ietf-dorms","revision":"2021-07-08"}]}}' \
  > "$W/www/restconf/data/ietf-yang-library:modules-state"
D="$W/www/restconf/data/ietf-dorms:dorms/metadata"
for ((i = 0; i < N; i++)); do
  d="$D/sender=10.8.$((i / 250)).$((i % 250 + 1))/group=232.1.1.1"
  mkdir -p "$d"
  printf '%s' '{"ietf-cbacc:cbacc":{"max-speed":1000}}' > "$d/ietf-cbacc:cbacc"
done
find "$W/www" -type d -exec chmod 755 {} + && find "$W/www" -type f -exec chmod 644 {} +
{ nginx_conf_head "$W"; cat <<EOF2
http {
    log_format bench '\$connection \$server_protocol \$status';
    access_log $W/logs/access.log bench;
EOF2
nginx_temp_paths "$W"; cat <<EOF2
    types { }
    default_type application/yang-data+json;
    server {
        listen 127.0.0.1:8448 ssl http2;
        listen [::1]:8448 ssl http2;
        server_name localhost;
        ssl_certificate $W/pki/server.crt;  ssl_certificate_key $W/pki/server.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $W/www;
        etag on;
        location /restconf/ { add_header Cache-Control "no-cache" always; }
    }
}
EOF2
} > "$W/nginx.conf"
nginx -p "$W" -e "$W/logs/error.log" -c "$W/nginx.conf" || { echo "nginx failed"; exit 1; }
for _ in $(seq 50); do
  curl -s --cacert "$W/pki/ca.crt" -o /dev/null https://localhost:8448/.well-known/host-meta && break
  sleep 0.1
done
now() { date +%s%N; }

echo "metadata for $N flows from local nginx (HTTPS with a test CA, HTTP/2 offered), port 8448"
out=$("$BIN" https://localhost:8448 "$W/pki/ca.crt" "$N") || { echo "library run failed: $out"; exit 1; }
echo "$out"
lib_ms=$(echo "$out" | sed -n 's/.*, \([0-9.]*\) ms, .*/\1/p')
lib_conns=$(awk '{ print $1 }' "$W/logs/access.log" | sort -u | wc -l)
echo "  (nginx saw $(wc -l < "$W/logs/access.log") requests on $lib_conns connection(s), $(awk '{ print $2 }' "$W/logs/access.log" | sort -u | tr '\n' ' '))"

[ "${CBACC_BENCH_PEER:-1}" = 0 ] && exit 0
: > "$W/logs/access.log"
t0=$(now)
fail=0
for ((i = 0; i < N; i++)); do
  curl -s -f -o /dev/null --cacert "$W/pki/ca.crt" -H 'Accept: application/yang-data+json' \
    "https://localhost:8448/restconf/data/ietf-dorms:dorms/metadata/sender=10.8.$((i / 250)).$((i % 250 + 1))/group=232.1.1.1/ietf-cbacc:cbacc" \
    || fail=$((fail + 1))
done
t1=$(now)
curl_ms=$(( (t1 - t0) / 1000000 ))
echo "curl loop: $N flows, $fail failed, $curl_ms ms, $(awk -v n="$N" -v ms="$curl_ms" 'BEGIN { printf "%.0f", n / (ms / 1000) }') flows/s"
awk -v l="$lib_ms" -v c="$curl_ms" 'BEGIN { printf "ratio: library is %.1fx the curl loop\n", c / l }'
[ "$fail" = 0 ]
