# examples/demo/world.sh — the demo network, sourced by examples/demo.sh and by the
# latency benchmark (bash).  It defines functions only; the caller sets:
#   B     build directory holding cli/ and tests/peers/
#   W     work directory (configs, logs, joinfiles)
#   P     namespace prefix (mci-demo-<pid>)
# and gets world_up (build everything, start every daemon), world_down (stop by PID,
# delete the namespaces), and the addresses below.
#
#  "internet"                                                  local network
#  P-snd  sender S 198.51.100.10 ── P-rly  AMT relay           P-rtr  FRR (zebra + pimd)
#         snd0           rly-snd ┘        rly-up 203.0.113.10    rtr-up 10.2.0.1 ── ing-dn 10.2.0.2 (P-ing)
#                                         lo 203.0.113.11 (discovery)
#  P-srv  BIND + nginx 203.0.113.53 (srv0)                     rtr-dn 10.1.0.1 ── rcv0 10.1.0.2  P-rcv
#  P-inet bridge br0 joining rly-up, srv0 and ing-up              receiver host (IGMPv3)
#  P-ing  ingest device: ing-up 203.0.113.2, ing-dn 10.2.0.2, TUN mcd-tun0
#         pimwatch -i ing-dn --forward-from mcd-tun0 → pim.joinfile → cbacc → admitted.joinfile
#         → driad-ingest --tun mcd-tun0
# shellcheck shell=bash

S=198.51.100.10
G_OK=232.1.1.1          # 2 Mbit/s by its CBACC metadata: within the budget
G_BIG=232.1.1.2         # 20 Mbit/s: over the budget
BUDGET=10M
PORT=5001
RELAY_DISC=203.0.113.11
RELAY_ADDR=203.0.113.10
SRV_ADDR=203.0.113.53
DORMS_HOST=dorms.example.com
TUN=mcd-tun0
RCV_ADDR=10.1.0.2
SEND_INTERVAL_US=${SEND_INTERVAL_US:-20000}   # the sender's packet spacing (50 packets/s)
SEND_COUNT=${SEND_COUNT:-12000}               # bounded: 4 minutes at 50 packets/s

PIDS=""
NAMESPACES=""

# Absolute paths of what we run (from the build directory).
world_bins() {
  PIMWATCH=$B/cli/pimwatch/pimwatch
  CBACC=$B/cli/cbacc/cbacc
  DRIAD_INGEST=$B/cli/driad-ingest/driad-ingest
  AMT_RELAY=$B/tests/peers/amt-relay
  MC_SEND=$B/tests/peers/mc-send
  TXCSUM_OFF=$B/tests/peers/txcsum-off
  RECEIVER=$DEMO_DIR/receiver.py
}

world_log() { printf '%s\n' "$*" >&2; }

# wait_until TENTHS COMMAND...: polls every 0.1 s, bounded.
wait_until() {
  local n=$1
  shift
  while [ "$n" -gt 0 ]; do
    "$@" && return 0
    sleep 0.1
    n=$((n - 1))
  done
  return 1
}

in_ns() { local ns=$1; shift; ip netns exec "$P-$ns" "$@"; }

# bg NAME NS LOGFILE COMMAND...: starts COMMAND in namespace NS with stdout+stderr to
# LOGFILE; `ip netns exec` execs, so $! is the program itself.  Sets BG_PID.
bg() {
  local name=$1 ns=$2 log=$3
  shift 3
  ip netns exec "$P-$ns" "$@" >>"$log" 2>&1 &
  BG_PID=$!
  PIDS="$PIDS $BG_PID"
  eval "PID_$name=$BG_PID"
}

world_down() {
  local p n
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  # FRR daemonises: its PIDs are in its pid files.
  for f in "$W"/frr/zebra.pid "$W"/frr/pimd.pid "$W"/srv/named.pid "$W"/srv/nginx.pid; do
    [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
  done
  sleep 0.3
  for n in $NAMESPACES; do
    for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$n" 2>/dev/null
  done
  PIDS=""
  NAMESPACES=""
}

world_links() {
  local n
  for n in snd rly inet srv ing rtr rcv; do
    ip netns add "$P-$n" || return 1
    NAMESPACES="$NAMESPACES $P-$n"
    ip -n "$P-$n" link set lo up
    in_ns "$n" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
      net.ipv6.conf.default.accept_dad=0
  done
  # veth pairs created directly inside the namespaces: the root namespace never sees them.
  ip link add snd0 netns "$P-snd" type veth peer name rly-snd netns "$P-rly" || return 1
  ip link add rly-up netns "$P-rly" type veth peer name inet-rly netns "$P-inet" || return 1
  ip link add srv0 netns "$P-srv" type veth peer name inet-srv netns "$P-inet" || return 1
  ip link add ing-up netns "$P-ing" type veth peer name inet-ing netns "$P-inet" || return 1
  ip link add ing-dn netns "$P-ing" type veth peer name rtr-up netns "$P-rtr" || return 1
  ip link add rtr-dn netns "$P-rtr" type veth peer name rcv0 netns "$P-rcv" || return 1
  ip -n "$P-inet" link add br0 type bridge || return 1
  for n in inet-rly inet-srv inet-ing; do
    ip -n "$P-inet" link set "$n" master br0 up
  done
  ip -n "$P-inet" link set br0 up
  ip -n "$P-snd" addr add $S/24 dev snd0
  ip -n "$P-rly" addr add 198.51.100.1/24 dev rly-snd
  ip -n "$P-rly" addr add $RELAY_ADDR/24 dev rly-up
  ip -n "$P-rly" addr add $RELAY_DISC/32 dev lo
  ip -n "$P-srv" addr add $SRV_ADDR/24 dev srv0
  ip -n "$P-ing" addr add 203.0.113.2/24 dev ing-up
  ip -n "$P-ing" addr add 10.2.0.2/24 dev ing-dn
  ip -n "$P-rtr" addr add 10.2.0.1/24 dev rtr-up
  ip -n "$P-rtr" addr add 10.1.0.1/24 dev rtr-dn
  ip -n "$P-rcv" addr add $RCV_ADDR/24 dev rcv0
  local l
  for l in "snd snd0" "rly rly-snd" "rly rly-up" "srv srv0" "ing ing-up" "ing ing-dn" \
           "rtr rtr-up" "rtr rtr-dn" "rcv rcv0"; do
    set -- $l
    ip -n "$P-$1" link set "$2" up
    in_ns "$1" sysctl -qw "net.ipv4.conf.$2.rp_filter=0"
  done
  ip -n "$P-snd" route add 224.0.0.0/4 dev snd0
  # The relay picks the sender's datagrams up with a packet socket and tunnels them as they
  # are: without this a veth leaves their UDP checksum to an offload that never happens,
  # and the receiver's kernel drops every one of them.
  in_ns snd "$TXCSUM_OFF" snd0 || return 1
  ip -n "$P-rtr" route add 198.51.100.0/24 via 10.2.0.2      # RPF(S) = the ingest device
  ip -n "$P-rcv" route add default via 10.1.0.1
  in_ns rtr sysctl -qw net.ipv4.ip_forward=1
  in_ns rcv sysctl -qw net.ipv4.conf.all.force_igmp_version=3 net.ipv4.conf.rcv0.force_igmp_version=3
}

# BIND: the AMTRELAY record of S's reverse zone and the DORMS SRV record.
world_dns() {
  mkdir -p "$W/srv/zones"
  cat >"$W/srv/named.conf" <<EOF
options {
    directory "$W/srv";
    pid-file "$W/srv/named.pid";
    session-keyfile "$W/srv/session.key";
    managed-keys-directory "$W/srv";
    listen-on port 53 { $SRV_ADDR; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    notify no;
};
controls { };
zone "100.51.198.in-addr.arpa" { type primary; file "$W/srv/zones/100.51.198.in-addr.arpa.zone"; };
zone "example.com" { type primary; file "$W/srv/zones/example.com.zone"; };
EOF
  sed -e "s/@S_LAST@/${S##*.}/g" -e "s/@RELAY_DISC@/$RELAY_DISC/g" -e "s/@DORMS_HOST@/$DORMS_HOST/g" \
    "$DEMO_DIR/reverse.zone.in" >"$W/srv/zones/100.51.198.in-addr.arpa.zone"
  sed -e "s/@SRV_ADDR@/$SRV_ADDR/g" "$DEMO_DIR/example.com.zone.in" >"$W/srv/zones/example.com.zone"
  named-checkconf "$W/srv/named.conf" || return 1
  named-checkzone -q 100.51.198.in-addr.arpa "$W/srv/zones/100.51.198.in-addr.arpa.zone" || return 1
  named-checkzone -q example.com "$W/srv/zones/example.com.zone" || return 1
  in_ns srv named -c "$W/srv/named.conf" -n 1 -L "$W/named.log" || return 1
  wait_until 100 in_ns srv sh -c "dig +short +norec +time=1 +tries=1 @$SRV_ADDR SOA example.com | grep -q ns1"
}

# A test CA made now, and nginx serving the CBACC metadata over TLS.
world_dorms() {
  local pki=$W/srv/pki www=$W/srv/www
  mkdir -p "$pki" "$W/srv/logs" "$W/srv/temp"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/ca.key" \
    -out "$pki/ca.crt" -days 2 -subj "/CN=mcingest demo CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null || return 1
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$pki/server.key" \
    -out "$pki/server.csr" -subj "/CN=$DORMS_HOST" 2>/dev/null || return 1
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "subjectAltName=DNS:$DORMS_HOST" >"$pki/server.ext"
  openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -out "$pki/server.crt" -days 2 -extfile "$pki/server.ext" 2>/dev/null || return 1
  chmod 600 "$pki"/*.key
  # RESTCONF resources as files; the URL path is the file path (real-peers.md §4).
  local d=$www/restconf/data/ietf-dorms:dorms/metadata/sender=$S
  mkdir -p "$www/.well-known" "$www/errors" "$d/group=$G_OK" "$d/group=$G_BIG"
  cp "$DEMO_DIR/host-meta.xml" "$www/.well-known/host-meta"
  cp "$DEMO_DIR/modules-state.json" "$www/restconf/data/ietf-yang-library:modules-state"
  printf '%s\n' '{"ietf-restconf:errors":{"error":[{"error-type":"protocol","error-tag":"invalid-value","error-message":"resource not found"}]}}' \
    >"$www/errors/404.json"
  printf '{"ietf-cbacc:cbacc":{"max-speed":2000,"priority":256}}\n' >"$d/group=$G_OK/ietf-cbacc:cbacc"
  printf '{"ietf-cbacc:cbacc":{"max-speed":20000,"priority":256}}\n' >"$d/group=$G_BIG/ietf-cbacc:cbacc"
  # nginx workers run as nobody: the path to www must be world-readable.
  chmod 755 "$W" "$W/srv"
  find "$www" -type d -exec chmod 755 {} + && find "$www" -type f -exec chmod 644 {} +
  sed -e "s|@W@|$W/srv|g" -e "s|@SRV_ADDR@|$SRV_ADDR|g" -e "s|@DORMS_HOST@|$DORMS_HOST|g" \
    "$DEMO_DIR/nginx.conf.in" >"$W/srv/nginx.conf"
  in_ns srv nginx -t -q -p "$W/srv" -e "$W/srv/logs/error.log" -c "$W/srv/nginx.conf" || return 1
  in_ns srv nginx -p "$W/srv" -e "$W/srv/logs/error.log" -c "$W/srv/nginx.conf" || return 1
  wait_until 100 in_ns ing curl -s -o /dev/null --cacert "$pki/ca.crt" \
    --resolve "$DORMS_HOST:443:$SRV_ADDR" "https://$DORMS_HOST/.well-known/host-meta"
}

# The sender (one mc-send per channel) and the relay.
world_internet() {
  bg send_ok snd "$W/send-ok.log" "$MC_SEND" -s $S -g $G_OK -p $PORT -c "$SEND_COUNT" -i "$SEND_INTERVAL_US" -z 200
  bg send_big snd "$W/send-big.log" "$MC_SEND" -s $S -g $G_BIG -p $PORT -c "$SEND_COUNT" -i "$SEND_INTERVAL_US" -z 200
  bg relay rly "$W/amt-relay.log" "$AMT_RELAY" -l $RELAY_DISC -a $RELAY_ADDR --data-if rly-snd \
    --qqic 10 --mrc 10
  wait_until 50 grep -q listening "$W/amt-relay.log"
}

# FRR on the local router (runs as user frr; its run directory must be writable by it).
world_router() {
  local t=$W/frr
  mkdir -p "$t"
  echo "hostname demo-router" >"$t/zebra.conf"
  cp "$DEMO_DIR/pimd.conf" "$t/pimd.conf"
  chown -R frr:frr "$t"
  runuser -u frr -- test -w "$t" ||
    { world_log "demo: user frr cannot write $t: every directory above it must be searchable (chmod o+x)"; return 1; }
  in_ns rtr /usr/lib/frr/zebra -d -z "$t/zserv.api" --vty_socket "$t" -f "$t/zebra.conf" \
    -i "$t/zebra.pid" --log "file:$t/zebra.log" 2>>"$t/zebra.err" || return 1
  wait_until 100 test -S "$t/zserv.api" || return 1
  in_ns rtr /usr/lib/frr/pimd -d -z "$t/zserv.api" --vty_socket "$t" -f "$t/pimd.conf" \
    -i "$t/pimd.pid" --log "file:$t/pimd.log" 2>>"$t/pimd.err" || return 1
  wait_until 100 test -s "$t/pimd.pid"
}

# The ingest device: driad-ingest (or, with INGEST=pipeline, examples/shell-pipeline.sh in
# its place), cbacc and pimwatch chained by joinfiles in $W/run.  Like the units in
# examples/systemd/, each runs as an unprivileged user (here: nobody) with only the
# capabilities it needs: pimwatch CAP_NET_RAW + CAP_NET_ADMIN, cbacc none, driad-ingest
# none (it attaches to the persistent TUN device owned by that user).
AS_USER=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
NO_CAPS=(--inh-caps=-all --bounding-set=-all --)
PIM_CAPS=(--inh-caps=-all,+net_raw,+net_admin --ambient-caps=+net_raw,+net_admin --bounding-set=-all,+net_raw,+net_admin --)
world_ingest() {
  local run=$W/run tun_user=(nobody nogroup) tun_run=("${AS_USER[@]}")
  mkdir -p "$run" && chown nobody:nogroup "$run" || return 1
  # Debian's udev makes /dev/net/tun mode 666; some containers have it 600 (root only).
  # There the TUN side runs as uid 0, still without any capability, on a device owned by
  # uid 0 (the kernel lets a device's owner attach to it without CAP_NET_ADMIN).
  if ! "${AS_USER[@]}" "${NO_CAPS[@]}" test -r /dev/net/tun -a -w /dev/net/tun; then
    tun_user=(0 0)
    tun_run=(setpriv)
    world_log "demo: /dev/net/tun is $(stat -c %a /dev/net/tun) here (not 666): the TUN side runs as uid 0 without capabilities"
  fi
  ip -n "$P-ing" tuntap add dev $TUN mode tun user "${tun_user[0]}" group "${tun_user[1]}" || return 1
  mkdir -p "$W/status" && chown "${tun_user[0]}:${tun_user[1]}" "$W/status" || return 1
  ip -n "$P-ing" link set $TUN up
  in_ns ing sysctl -qw "net.ipv4.conf.$TUN.rp_filter=0"
  bg cbacc ing "$W/cbacc.log" "${AS_USER[@]}" "${NO_CAPS[@]}" "$CBACC" -i "$run/pim.joinfile" \
    -o "$run/admitted.joinfile" -b $BUDGET --dns-server $SRV_ADDR --cacert "$W/srv/pki/ca.crt"
  # cbacc writes its (empty) output at start: driad-ingest then finds the file there.
  wait_until 50 test -f "$run/admitted.joinfile"
  if [ "${INGEST:-driad-ingest}" = pipeline ]; then
    # amt-join --tun attaches the same way; driad-lookup and joinfile need nothing.
    bg pipeline ing "$W/pipeline.log" "${tun_run[@]}" "${NO_CAPS[@]}" "$DEMO_DIR/../shell-pipeline.sh" \
      -s $SRV_ADDR --tun $TUN --bin "$B" "$run/admitted.joinfile"
    BG_PID_INGEST=$BG_PID
  else
    bg driad_ingest ing "$W/driad-ingest.log" "${tun_run[@]}" "${NO_CAPS[@]}" "$DRIAD_INGEST" \
      -j "$run/admitted.joinfile" --tun $TUN --resolver $SRV_ADDR --status "$W/status/driad-ingest.json"
    BG_PID_INGEST=$BG_PID
  fi
  bg pimwatch ing "$W/pimwatch.log" "${AS_USER[@]}" "${PIM_CAPS[@]}" "$PIMWATCH" -i ing-dn \
    -j "$run/pim.joinfile" --forward-from $TUN
  local ingest_pid=$BG_PID_INGEST p
  # FRR must know pimwatch as a PIM neighbor before it sends Joins to it.
  wait_until 200 grep -q "neighbor 10.2.0.1 up" "$W/pimwatch.log" || return 1
  for p in $ingest_pid $PID_cbacc $PID_pimwatch; do
    kill -0 "$p" 2>/dev/null || { world_log "demo: a tool of the ingest device exited at start (see $W/*.log)"; return 1; }
  done
}

# world_up: everything, in dependency order; returns non-zero with a message on failure.
world_up() {
  world_bins
  mkdir -p "$W"
  world_links || { world_log "demo: could not build the namespaces"; return 1; }
  world_dns || { world_log "demo: BIND did not start (see $W/named.log)"; return 1; }
  world_dorms || { world_log "demo: nginx did not start (see $W/srv/logs/error.log)"; return 1; }
  world_internet || { world_log "demo: the AMT relay did not start (see $W/amt-relay.log)"; return 1; }
  world_router || { world_log "demo: FRR did not start (see $W/frr/)"; return 1; }
  world_ingest || { world_log "demo: the ingest device did not come up (see $W/pimwatch.log, cbacc.log, ${INGEST:-driad-ingest}.log)"; return 1; }
}
