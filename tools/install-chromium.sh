#!/usr/bin/env bash
# Installs Debian's chromium for the console's browser tests (services/gateway/test/console.test.ts):
# playwright's own browser downloads cannot be reached here, playwright-core drives this one instead.
# Idempotent: nothing to do when the browser is there. Needs root, or sudo without a password.
set -euo pipefail

browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ -x "$browser" ]]; then
  echo "install-chromium: $("$browser" --version 2>/dev/null || echo "$browser") already installed"
  exit 0
fi
if [[ -n "${CHROMIUM_PATH:-}" ]]; then
  echo "install-chromium: CHROMIUM_PATH=$CHROMIUM_PATH is not an executable" >&2
  exit 1
fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null && sudo -n true 2>/dev/null || {
    echo "install-chromium: run as root (or with passwordless sudo): apt-get install -y chromium" >&2
    exit 1
  }
  as_root=(sudo -n)
fi
command -v apt-get >/dev/null || { echo "install-chromium: needs apt-get (Debian/Ubuntu); or set CHROMIUM_PATH" >&2; exit 1; }
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
"$browser" --version
