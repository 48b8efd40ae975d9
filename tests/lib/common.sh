# tests/lib/common.sh — helpers shared by the integration test scripts (POSIX sh).
# Source it relative to the script:  . "$(dirname "$0")/../../lib/common.sh"
# Expects W (the work directory) to be set before fail is called.

# skip MESSAGE: exit 77 (skipped); in CI (CI=true) a missing tool is a failure.
skip() {
    if [ "${CI:-}" = true ]; then
        echo "FAIL (CI): $*"
        exit 1
    fi
    echo "SKIP: $*"
    exit 77
}

# require_root_tools TOOL...: skip unless root (everywhere) and every TOOL is on PATH.
require_root_tools() {
    [ "$(id -u)" = 0 ] || { echo "SKIP: not root"; exit 77; }
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
    done
}

# fail MESSAGE: print it and the tail of every $W/*.log, keep $W (FAILED=1), exit 1.
fail() {
    echo "FAIL: $*"
    FAILED=1
    for f in "$W"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }; done
    exit 1
}

# in_ns NS CMD...: run CMD in network namespace NS.
in_ns() { ns=$1; shift; ip netns exec "$ns" "$@"; }

# wait_log FILE PATTERN [TENTHS]: bounded wait (default WAIT_LOG_TENTHS or 100 tenths of a
# second) for a line matching PATTERN in FILE; 1 on timeout.
wait_log() {
    i=0
    n=${3:-${WAIT_LOG_TENTHS:-100}}
    while [ $i -lt "$n" ]; do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}

# wait_exit PID [TENTHS]: bounded wait (default 50 tenths) for process PID to be gone.
wait_exit() {
    i=0
    while [ $i -lt "${2:-50}" ] && kill -0 "$1" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
}

# netns_del NS...: kill every process left in each namespace, then delete it.
netns_del() {
    for n in "$@"; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        ip netns del "$n" 2>/dev/null
    done
}

# keep_or_remove_workdir: remove $W after a pass, keep it (and say where) after a failure.
keep_or_remove_workdir() {
    if [ "$FAILED" = 0 ]; then rm -rf "$W"; else echo "work directory kept: $W"; fi
}

# netns_stop NS...: SIGTERM every process in the namespaces, 0.3 s to exit, then netns_del.
netns_stop() {
    for n in "$@"; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill "$p" 2>/dev/null; done
    done
    sleep 0.3
    netns_del "$@"
}

# require_frr: skip (CI: fail) unless FRR's zebra and pimd and the user frr are installed.
require_frr() {
    for d in zebra pimd; do [ -x /usr/lib/frr/$d ] || skip "FRR $d not installed"; done
    id frr >/dev/null 2>&1 || skip "user frr missing (FRR not installed)"
}
