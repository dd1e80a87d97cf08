#!/usr/bin/env bash
# Installs, when missing, what the test suite runs for real: from Debian, curl
# (the interop tests), chromium and firefox-esr (tests/browser_test.ts),
# postgresql (the sink's tests start their own cluster with its initdb); from
# the npm registry, TypeScript, @types/node and Bun (tests/npm_package_test.ts)
# into $EVENTSTREAMS_RUNTIMES_DIR (default ~/.cache/eventstreams-runtimes).
# (puppeteer-core, which drives the browsers, comes through Deno's npm: import.)
# Node.js itself must already be there (CI has it). Safe to run again: it
# installs nothing that is present. .ci/run calls it.
set -euo pipefail
dir="${EVENTSTREAMS_RUNTIMES_DIR:-${HOME:-/root}/.cache/eventstreams-runtimes}"
packages=(typescript@5.9.3 @types/node@20 bun@1.4.5)

missing_debs=()
command -v curl >/dev/null 2>&1 || missing_debs+=(curl)
command -v chromium >/dev/null 2>&1 || missing_debs+=(chromium)
command -v firefox-esr >/dev/null 2>&1 || missing_debs+=(firefox-esr)
# Debian keeps initdb and postgres out of PATH, under /usr/lib/postgresql/<major>/bin.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null 2>&1 ||
  missing_debs+=(postgresql)
if [ ${#missing_debs[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing_debs[@]}" >/dev/null
  else
    echo "missing ${missing_debs[*]} and apt-get is not available: the tests that need them are skipped or fail" >&2
  fi
fi

stamp="${dir}/installed.txt"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "${packages[*]}" ]; then
  mkdir -p "$dir"
  [ -f "${dir}/package.json" ] || echo '{"private":true}' > "${dir}/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error "${packages[@]}"
  echo "${packages[*]}" > "$stamp"
fi
echo "runtimes: node $(node --version), bun $("${dir}/node_modules/bun/bin/bun.exe" --version 2>/dev/null), $(chromium --version 2>/dev/null | head -n 1), $(firefox-esr --version 2>/dev/null), $(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | head -n 1)"
