#!/bin/sh
# The scale-out tests start a throwaway PostgreSQL (tests/local_services.py); install it when missing and we are root.
set -e
for dir in /usr/lib/postgresql/*/bin; do
    if [ -x "$dir/pg_ctl" ]; then
        exit 0
    fi
done
if command -v pg_ctl >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's postgresql for the scale-out tests..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    exit 0
fi
echo "Missing: PostgreSQL (pg_ctl), needed by the scale-out tests." >&2
echo "Install it (Debian/Ubuntu: sudo apt-get install postgresql)." >&2
exit 1
