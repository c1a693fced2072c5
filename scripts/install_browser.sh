#!/usr/bin/env bash
# Installs the Chromium that the browser tests (tests/browser) drive through Playwright at /usr/bin/chromium.
# Playwright's own browser download needs network access to its CDN; the distribution package does not.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -q
$SUDO apt-get install -y -q chromium
