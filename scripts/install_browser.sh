#!/usr/bin/env bash
# Install Debian's headless-capable Chromium (/usr/bin/chromium), which the report tests use to
# load `flowtape report --format html` output and screenshot it. Idempotent and quiet on success:
# does nothing when /usr/bin/chromium exists; runs `apt-get update` only when apt has no candidate
# for the package yet. On failure prints one line on stderr naming the log and exits non-zero.
#
# Needs root (or passwordless sudo) and access to the Debian package mirrors.
set -euo pipefail

fail() { echo "install_browser.sh: $*" >&2; exit 1; }

[ -x /usr/bin/chromium ] && exit 0

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found; install Chromium with your system's package manager so that /usr/bin/chromium exists"
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    fail "needs root (or passwordless sudo) to apt-get install chromium"
fi

log=$(mktemp "${TMPDIR:-/tmp}/install_browser.XXXXXX.log")
export DEBIAN_FRONTEND=noninteractive

has_candidate() {
    local candidate
    candidate=$(apt-cache policy chromium 2>/dev/null | awk '/Candidate:/ {print $2}')
    [ -n "$candidate" ] && [ "$candidate" != "(none)" ]
}

if ! has_candidate; then
    "${as_root[@]}" apt-get update -qq >>"$log" 2>&1 || fail "apt-get update failed (see $log)"
    has_candidate || fail "no 'chromium' package in the configured apt sources (see $log)"
fi
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >>"$log" 2>&1 \
    || fail "apt-get install chromium failed (see $log)"
[ -x /usr/bin/chromium ] || fail "chromium installed but /usr/bin/chromium is missing (see $log)"
rm -f "$log"
