#!/bin/sh
# Browser tests drive Debian's Chromium through Playwright; install it when missing and we are root.
set -e
CHROMIUM=${STUDIO_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium for the browser tests..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    exit 0
fi
echo "Missing: Chromium at $CHROMIUM, needed by the browser tests (tests/browser)." >&2
echo "Install it (Debian/Ubuntu: sudo apt-get install chromium) or set STUDIO_CHROMIUM to its path." >&2
exit 1
