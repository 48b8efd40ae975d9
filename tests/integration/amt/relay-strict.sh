#!/bin/sh
# relay-strict.sh — the test relay rejects every broken Update with the right reason and
# accepts the correct one (it must catch gateway bugs).  No root needed; as root it runs
# in its own network namespace.  Environment: AMT_RELAY RELAY_STRICT.
set -u
W=$(mktemp -d)
NS="" RUN="" R=""
cleanup() {
    [ -n "$R" ] && kill "$R" 2>/dev/null
    [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT INT TERM
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null 2>&1; then
    NS=mci-amt-strict-$$
    ip netns add "$NS" && ip -n "$NS" link set lo up || exit 1
    RUN="ip netns exec $NS"
fi
fail() { echo "FAIL: $*"; cat "$W/relay.log"; exit 1; }
$RUN "$AMT_RELAY" -l 127.0.0.1 -a 127.0.0.1 -p 22717 >"$W/relay.out" 2>"$W/relay.log" &
R=$!
i=0
while [ $i -lt 50 ] && ! grep -q listening "$W/relay.log" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
$RUN "$RELAY_STRICT" 22717 >"$W/expect.txt" || fail "client failed"
sleep 0.2
kill -TERM "$R"
i=0
while [ $i -lt 50 ] && kill -0 "$R" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
R=""
bad=0
while IFS= read -r reason; do
    [ "$reason" = ACCEPT ] && continue
    bad=$((bad + 1))
    grep -q "REJECT update .*: .*$reason" "$W/relay.log" || fail "no rejection for: $reason"
done <"$W/expect.txt"
grep -q "^.*updates=1 " "$W/relay.out" || fail "the correct Update was not accepted: $(cat "$W/relay.out")"
grep -q " rejected=$bad " "$W/relay.out" || fail "want rejected=$bad: $(cat "$W/relay.out")"
grep -q "join 10.2.2.1,232.1.1.1" "$W/relay.log" || fail "the correct Update did not join"
echo "ok: $bad broken Updates rejected with their reasons, the correct one accepted"
