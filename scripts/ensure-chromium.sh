#!/bin/sh
# Browser tests and screenshots drive Debian's Chromium through Playwright; install it (and fonts for the Chinese in
# prompts and the emoji of the status lines, which headless Chromium otherwise draws as boxes) when missing and we
# are root.
set -e
CHROMIUM=${STUDIO_CHROMIUM:-/usr/bin/chromium}
CJK_FONT=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
EMOJI_FONT=/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf
if [ -x "$CHROMIUM" ] && [ -f "$CJK_FONT" ] && [ -f "$EMOJI_FONT" ]; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium and fonts (CJK, emoji) for the browser tests..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei fonts-noto-color-emoji >/dev/null
    exit 0
fi
if [ -x "$CHROMIUM" ]; then
    exit 0  # without the fonts Chinese text and emoji show as boxes; no test depends on how they look
fi
echo "Missing: Chromium at $CHROMIUM, needed by the browser tests (tests/browser)." >&2
echo "Install it (Debian/Ubuntu: sudo apt-get install chromium) or set STUDIO_CHROMIUM to its path." >&2
exit 1
