#!/usr/bin/env bash
# tests/run.sh — README's test command: installs what is missing (as root, from
# tests/packages.txt), configures build/, builds, and runs every test suite.
#   tests/run.sh                 all suites (unit, fuzz-corpus, integration)
#   tests/run.sh --suite unit    extra arguments go to `meson test`
# Environment: BUILDDIR (default build), MESON_SETUP_ARGS (extra `meson setup` options).
set -euo pipefail
cd "$(dirname "$0")/.."

builddir=${BUILDDIR:-build}

mapfile -t packages < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' tests/packages.txt)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "tests/run.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
  else
    echo "tests/run.sh: missing Debian packages: ${missing[*]}" >&2
    echo "tests/run.sh: install them (sudo apt-get install ${missing[*]}) or run as root" >&2
    exit 1
  fi
fi

# shellcheck disable=SC2086
if [ -f "$builddir/build.ninja" ]; then
  meson setup --reconfigure "$builddir" ${MESON_SETUP_ARGS:-}
else
  meson setup "$builddir" ${MESON_SETUP_ARGS:-}
fi
meson compile -C "$builddir"

status=0
meson test -C "$builddir" --print-errorlogs "$@" || status=$?

# One closing line any CI can read: "N passed, N failed, N skipped".
python3 - "$builddir/meson-logs/testlog.json" <<'PY'
import json, sys
counts = {"passed": 0, "failed": 0, "skipped": 0}
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            counts["passed"] += 1
        elif r == "SKIP":
            counts["skipped"] += 1
        else:
            counts["failed"] += 1
print(f"tests: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
PY
exit "$status"
