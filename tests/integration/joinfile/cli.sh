#!/bin/sh
# cli.sh JOINFILE-TOOL — the joinfile tool's subcommands, exit codes (0 ok, 1 runtime,
# 2 usage, 3 negative), text output and --json output (checked with python3's parser).
set -u
J=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") # absolute: the test cd-s away
tmp=$(mktemp -d)
wpid=
trap '[ -n "$wpid" ] && kill "$wpid" 2>/dev/null; rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect STATUS CMD...: runs CMD with stdout in out, stderr in err
expect() {
  want=$1; shift
  "$@" >out 2>err; got=$?
  [ "$got" = "$want" ] || { fail "$* exited $got, expected $want"; cat out err; }
}
json_ok() { python3 -c 'import json,sys; json.load(sys.stdin)' <"$1" || fail "invalid JSON in $1: $(cat "$1")"; }
json_lines_ok() { python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' <"$1" || fail "invalid JSON lines: $(cat "$1")"; }
has_python=true; command -v python3 >/dev/null || has_python=false
if ! $has_python; then
  echo "python3 missing (JSON checks)"; [ "${CI:-}" = true ] && exit 1; exit 77
fi

printf '# channels\n 2001:DB8:0:0:0:0:0:A , FF3E:0:0:0:0:0:8000:D\n23.212.185.5,232.10.10.2\n23.212.185.4,232.1.1.1,3\n' >good.sgs
printf '1.2.3.4,232.1.1.1\nbad line\n1.2.3.4,224.0.0.1\n' >bad.sgs

# usage errors
expect 2 "$J"
expect 2 "$J" frobnicate
expect 2 "$J" --no-such-option check good.sgs
expect 2 "$J" diff good.sgs
expect 2 "$J" --population=sometimes normalize good.sgs
expect 2 "$J" add x.sgs 1.2.3.4,224.0.0.1
grep -q 'group has link-local scope' err || fail "add: bad S,G not explained"
expect 0 "$J" --help
grep -q -- '--population=MODE' out || fail "--help does not list --population"
expect 0 "$J" --version

# check
expect 0 "$J" check good.sgs
grep -qx 'good.sgs: 3 entries, 0 bad lines' out || fail "check text: $(cat out)"
expect 3 "$J" check good.sgs bad.sgs
grep -qx 'bad.sgs:2: expected source,group\[,population\]: "bad line"' out || fail "check: line 2 not reported"
grep -qx 'bad.sgs:3: group has link-local scope: "1.2.3.4,224.0.0.1"' out || fail "check: line 3 not reported"
expect 3 "$J" --json check good.sgs bad.sgs
json_ok out
python3 - out <<'PY' || fail "check --json content"
import json, sys
r = json.load(open(sys.argv[1]))
assert [f["file"] for f in r] == ["good.sgs", "bad.sgs"], r
assert r[1]["bad_lines"] == 2 and r[1]["entries"] == 1, r
assert [e["line"] for e in r[1]["errors"]] == [2, 3], r
PY
expect 1 "$J" check missing.sgs
grep -q 'No such file' err || fail "check missing: $(cat err)"
expect 3 "$J" --strict check bad.sgs

# normalize: file, stdin, population modes, strict
expect 0 "$J" normalize good.sgs
printf '23.212.185.4,232.1.1.1,3\n23.212.185.5,232.10.10.2\n2001:db8::a,ff3e::8000:d\n' | cmp -s - out || fail "normalize: $(cat out)"
"$J" normalize - <good.sgs >out2 2>/dev/null && cmp -s out out2 || fail "normalize stdin"
expect 0 "$J" -p always normalize good.sgs
grep -qx '2001:db8::a,ff3e::8000:d,1' out || fail "--population=always"
expect 0 "$J" --population=never normalize good.sgs
grep -qx '23.212.185.4,232.1.1.1' out || fail "--population=never"
expect 0 "$J" normalize bad.sgs
grep -qx '1.2.3.4,232.1.1.1' out || fail "normalize lenient keeps good lines"
grep -q 'bad.sgs:2:' err || fail "normalize lenient reports bad lines"
expect 3 "$J" --strict normalize bad.sgs
[ -s out ] && fail "normalize --strict printed output for a bad file"
expect 0 "$J" --json normalize good.sgs
json_ok out
python3 -c 'import json,sys; r=json.load(open("out")); assert r[0]=={"source":"23.212.185.4","group":"232.1.1.1","population":3}, r' || fail "normalize --json"
: >empty.sgs
expect 0 "$J" normalize empty.sgs
[ -s out ] && fail "empty set must be an empty file"

# diff
printf '23.212.185.4,232.1.1.1,5\n9.9.9.9,232.1.1.1\n2001:db8::a,ff3e::8000:d\n' >new.sgs
expect 3 "$J" diff good.sgs new.sgs
printf '+9.9.9.9,232.1.1.1\n~23.212.185.4,232.1.1.1,5\n-23.212.185.5,232.10.10.2\n' | cmp -s - out || fail "diff: $(cat out)"
expect 0 "$J" diff good.sgs good.sgs
[ -s out ] && fail "diff of equal files printed something"
expect 3 "$J" --json diff good.sgs new.sgs
json_ok out
python3 -c 'import json; r=json.load(open("out")); assert [c["change"] for c in r]==["added","changed","removed"], r; assert r[1]["old_population"]==3' || fail "diff --json"
expect 1 "$J" diff good.sgs missing.sgs

# add / remove
expect 0 "$J" add ed.sgs 10.0.0.1,232.1.1.1 2001:db8::1,ff3e::1,4
printf '10.0.0.1,232.1.1.1\n2001:db8::1,ff3e::1,4\n' | cmp -s - ed.sgs || fail "add: $(cat ed.sgs)"
[ "$(stat -c %a ed.sgs)" = 644 ] || fail "add: mode $(stat -c %a ed.sgs)"
printf '+10.0.0.1,232.1.1.1\n+2001:db8::1,ff3e::1,4\n' | cmp -s - out || fail "add output: $(cat out)"
expect 0 "$J" add ed.sgs 10.0.0.1,232.1.1.1,2
grep -qx '~10.0.0.1,232.1.1.1,2' out || fail "add update: $(cat out)"
ino=$(stat -c %i ed.sgs)
expect 0 "$J" add ed.sgs 10.0.0.1,232.1.1.1,2
[ -s out ] && fail "add of a present entry printed a change"
[ "$(stat -c %i ed.sgs)" = "$ino" ] || fail "unchanged add rewrote the file"
expect 3 "$J" remove ed.sgs 10.0.0.1,232.1.1.1 10.0.0.9,232.1.1.1
printf '2001:db8::1,ff3e::1,4\n' | cmp -s - ed.sgs || fail "remove: $(cat ed.sgs)"
grep -q '10.0.0.9,232.1.1.1 is not in the file' err || fail "remove absent not reported"
expect 0 "$J" --json remove ed.sgs 2001:db8::1,ff3e::1
json_ok out
[ -s ed.sgs ] && fail "remove of the last entry must leave an empty file"
cp bad.sgs keep.sgs
expect 1 "$J" add keep.sgs 10.0.0.1,232.1.1.1
cmp -s bad.sgs keep.sgs || fail "add modified a file with bad lines"
expect 1 "$J" add nodir/x.sgs 10.0.0.1,232.1.1.1
ls -a | grep -q '^\.ed\.sgs\.' && fail "temp file left behind"

# concurrent add: 20 writers x 10 entries each, serialised by the directory lock
i=0
while [ $i -lt 20 ]; do
  ( j=0; while [ $j -lt 10 ]; do "$J" -q add conc.sgs "10.1.$i.$j,232.1.1.1" >/dev/null || echo x >>conc.err; j=$((j + 1)); done ) &
  i=$((i + 1))
done
wait
[ -e conc.err ] && fail "a concurrent add failed"
[ "$(wc -l <conc.sgs)" = 200 ] || fail "concurrent adds lost updates: $(wc -l <conc.sgs) of 200 lines"

# watch: initial set, changes, deletion, SIGTERM -> 0
printf '10.0.0.1,232.1.1.1\n' >w.sgs
"$J" --json --debounce=0.01 watch w.sgs >wout 2>werr &
wpid=$!
wait_for() { # wait_for PATTERN: bounded poll of the watch output
  n=0
  while [ $n -lt 100 ]; do grep -q "$1" wout && return 0; sleep 0.1; n=$((n + 1)); done
  fail "watch never printed $1: $(cat wout) / $(cat werr)"
}
wait_for '"source":"10.0.0.1"'
"$J" -q add w.sgs 2001:db8::7,ff3e::7,3 >/dev/null
wait_for '"source":"2001:db8::7"'
printf '10.0.0.1,232.1.1.1\nxw\n' >xw.sgs # a look-alike sibling: ignored
"$J" -q remove w.sgs 10.0.0.1,232.1.1.1 >/dev/null
wait_for '"change":"removed"'
rm w.sgs
n=0; while [ $n -lt 100 ] && ! grep -q 'does not exist' werr; do sleep 0.1; n=$((n + 1)); done
grep -q 'does not exist; keeping the last set' werr || fail "watch: deletion not logged: $(cat werr)"
kill -TERM $wpid; wait $wpid; st=$?; wpid=
[ $st = 0 ] || fail "watch exited $st on SIGTERM"
json_lines_ok wout
[ "$(wc -l <wout)" = 3 ] || fail "watch printed $(wc -l <wout) records, expected 3: $(cat wout)"

[ $fails = 0 ] && echo "all joinfile CLI checks passed"
[ $fails = 0 ]
