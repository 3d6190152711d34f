#!/usr/bin/env bash
# Install the pinned npm MCP servers the example suite uses into .tools/ (git-ignored), exactly as
# scripts/npm/package-lock.json locks them (their dependencies included), with `npm ci`.
# Idempotent and quiet on success: skips the install when .tools/.flowtape-pins says the same
# lock is already installed and the entry points are present. On failure prints one line on
# stderr (plus npm's log) and exits non-zero.
#
# Each server then starts over stdio as `node .tools/node_modules/@modelcontextprotocol/<name>/dist/index.js ...`.
set -euo pipefail
cd "$(dirname "$0")/.."

PINS=(
    "@modelcontextprotocol/server-filesystem@2026.8.31"
    "@modelcontextprotocol/server-memory@2026.8.31"
    "@modelcontextprotocol/server-everything@2026.8.31"
    "@modelcontextprotocol/server-sequential-thinking@2026.8.31"
)

fail() { echo "install_tools.sh: $*" >&2; exit 1; }

command -v npm >/dev/null 2>&1 || fail "npm not found on PATH; install Node.js 20+ with npm, then rerun"
command -v node >/dev/null 2>&1 || fail "node not found on PATH; install Node.js 20+, then rerun"

tools=.tools
stamp=$tools/.flowtape-pins
want=$(printf '%s\n' "${PINS[@]}"; sha256sum scripts/npm/package-lock.json | cut -d' ' -f1)

installed() {
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] || return 1
    local pin name
    for pin in "${PINS[@]}"; do
        name=${pin%@*}
        [ -f "$tools/node_modules/$name/dist/index.js" ] || return 1
    done
}

installed && exit 0

mkdir -p "$tools"
# Serialise concurrent runs (two test sessions starting at once); the loser re-checks the stamp.
exec 9>"$tools/.install.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
    installed && exit 0
fi

rm -f "$stamp"  # from here until the stamp is rewritten, .tools/ does not count as installed
# The committed package.json and lock: npm ci installs exactly the locked tree here and never
# walks up to a parent project; the stamp is written only after every entry point is verified.
cp scripts/npm/package.json scripts/npm/package-lock.json "$tools/"

log=$tools/.install.log
if ! npm ci --prefix "$tools" --no-audit --no-fund --no-progress --loglevel=error \
        --ignore-scripts >"$log" 2>&1; then
    cat "$log" >&2
    fail "npm install of ${PINS[*]} failed (log above, also in $log)"
fi
for pin in "${PINS[@]}"; do
    name=${pin%@*}
    [ -f "$tools/node_modules/$name/dist/index.js" ] \
        || fail "npm install finished but $tools/node_modules/$name/dist/index.js is missing"
    got=$(node -p "require('./$tools/node_modules/$name/package.json').version")
    [ "$got" = "${pin##*@}" ] || fail "$name is $got after install, expected ${pin##*@}"
done
rm -f "$log"
printf '%s\n' "$want" > "$stamp.tmp" && mv "$stamp.tmp" "$stamp"
