#!/usr/bin/env bash
# Make Debian's Chromium available for tests/browser (Playwright drives it; no browser
# download). Idempotent, non-interactive; installs the package when /usr/bin/chromium
# is missing (as root or with sudo -n). PARLEY_CHROMIUM names another binary instead.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if [ -n "${PARLEY_CHROMIUM:-}" ]; then
    echo "chromium: using PARLEY_CHROMIUM=$PARLEY_CHROMIUM"
    exit 0
fi
if command -v chromium >/dev/null; then
    echo "chromium: $(chromium --version 2>/dev/null || echo present)"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null && sudo -n true 2>/dev/null ||
        { echo "ensure-browser: installing chromium needs root (or passwordless sudo)" >&2; exit 1; }
    SUDO="sudo -n"
fi
$SUDO apt-get update -qq </dev/null >/dev/null
# fonts-dejavu-core: readable text in the screenshots without recommends' font set
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core </dev/null >/dev/null
echo "chromium: installed $(chromium --version 2>/dev/null)"
