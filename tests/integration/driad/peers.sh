# peers.sh — sourced by the driad integration tests and benchmark: skip rules, a private
# work directory, and start/stop of real BIND and NSD instances on 127.0.0.1 high ports
# (configs from ../shared/recipes/real-peers.md §1-2).  Every process started here is
# recorded by PID and stopped in the EXIT trap.

W=$(mktemp -d)
PIDFILES=""

cleanup() {
    for f in $PIDFILES; do
        [ -s "$f" ] || continue
        pid=$(cat "$f")
        kill "$pid" 2>/dev/null || true
        # bounded wait; a zombie (state Z) counts as stopped (recipe §0)
        i=0
        while [ $i -lt 50 ] && kill -0 "$pid" 2>/dev/null; do
            st=$(ps -o stat= -p "$pid" 2>/dev/null || true)
            case "$st" in Z*) break ;; esac
            sleep 0.1
            i=$((i + 1))
        done
        kill -9 "$pid" 2>/dev/null || true
    done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

skip_or_fail() {
    if [ "${CI:-}" = true ]; then
        echo "FAIL (CI): $*"
        exit 1
    fi
    echo "SKIP: $*"
    exit 77
}

need_tool() {
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || skip_or_fail "$t not installed"
    done
}

need_root() {
    [ "$(id -u)" = 0 ] || { echo "SKIP: not root"; exit 77; }
}

fail() {
    echo "FAIL: $*"
    exit 1
}

# wait_dns PORT NAME TYPE: until the server answers (bounded: 100 x 0.1 s)
wait_dns() {
    i=0
    while [ $i -lt 100 ]; do
        if dig +norec +time=1 +tries=1 -p "$1" @127.0.0.1 "$3" "$2" 2>/dev/null | grep -q 'status: NOERROR'; then
            return 0
        fi
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# start_bind PORT: named.conf and zones must be in $W/bind
start_bind() {
    need_tool named named-checkconf dig
    named-checkconf "$W/bind/named.conf" || fail "named-checkconf"
    named -c "$W/bind/named.conf" -n 1 -L "$W/bind/named.log" || fail "named did not start"
    PIDFILES="$PIDFILES $W/bind/named.pid"
    wait_dns "$1" example.com SOA || { cat "$W/bind/named.log"; fail "named not answering"; }
}

# start_nsd PORT: nsd.conf and zones must be in $W/nsd
start_nsd() {
    need_tool nsd nsd-checkconf dig
    nsd-checkconf "$W/nsd/nsd.conf" || fail "nsd-checkconf"
    nsd -c "$W/nsd/nsd.conf" || fail "nsd did not start"
    PIDFILES="$PIDFILES $W/nsd/nsd.pid"
    wait_dns "$1" example.net SOA || { cat "$W/nsd/nsd.log"; fail "nsd not answering"; }
}

SOA='@ IN SOA ns1.example.com. hostmaster.example.com. ( 1 3600 900 604800 60 )
  IN NS ns1.example.com.'
