#!/usr/bin/env bash
# Runs the README's walk-through (examples/shop/walkthrough.sh) against a
# started example shop, as a newcomer would.
set -euo pipefail
cd "$(dirname "$0")/.."
. .ci/shop.sh
SHOP_URL="$base" ADMIN_PASSWORD="$admin_password" SHOP_LOG="$work/err.log" \
    bash examples/shop/walkthrough.sh </dev/null
