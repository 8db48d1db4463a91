#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests, if it is missing.
set -euo pipefail

CHROMIUM=${TANDEM_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "==> Installing chromium for the browser tests"
  DEBIAN_FRONTEND=noninteractive apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  exit 0
fi
echo "The browser tests need Chromium at $CHROMIUM (Debian: apt-get install chromium)," >&2
echo "or TANDEM_CHROMIUM pointing at one." >&2
exit 1
