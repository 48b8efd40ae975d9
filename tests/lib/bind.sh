# tests/lib/bind.sh — a real BIND (named) for the integration tests, in a namespace,
# loopback only, from a work directory DIR (DIR/named.conf, DIR/named.pid).  Needs common.sh.

# bind_options DIR PORT [V6]: print named.conf's options and controls for DIR, listening on
# 127.0.0.1 port PORT; V6 is the listen-on-v6 argument (default "port PORT { ::1; }").
# The caller appends its zone statements.
bind_options() {
    cat <<CONF
options {
    directory "$1";
    pid-file "$1/named.pid";
    session-keyfile "$1/session.key";
    managed-keys-directory "$1";
    listen-on port $2 { 127.0.0.1; };
    listen-on-v6 ${3:-port $2 { ::1; \}};
    recursion no;
    dnssec-validation no;
    notify no;
};
controls { };
CONF
}

# bind_start NS DIR LOG: check DIR/named.conf and start named in NS, logging to LOG.
bind_start() {
    in_ns "$1" named-checkconf "$2/named.conf" || fail "named-checkconf"
    in_ns "$1" named -c "$2/named.conf" -n 1 -L "$3" || fail "named did not start"
}

# bind_wait NS PORT QUERY...: bounded wait (10 s) until named in NS answers the dig QUERY
# at 127.0.0.1 PORT with NOERROR; 1 on timeout.
bind_wait() {
    ns=$1 port=$2
    shift 2
    i=0
    while [ $i -lt 100 ]; do
        in_ns "$ns" dig +norec +time=1 +tries=1 -p "$port" @127.0.0.1 "$@" 2>/dev/null |
            grep -q 'status: NOERROR' && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}

# bind_stop DIR: stop the named of DIR by its PID, bounded wait (10 s), remove the PID file.
bind_stop() {
    pid=$(cat "$1/named.pid" 2>/dev/null)
    [ -n "$pid" ] || fail "no named pid"
    kill "$pid"
    wait_exit "$pid" 100
    rm -f "$1/named.pid"
}
