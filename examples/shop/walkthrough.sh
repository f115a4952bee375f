#!/usr/bin/env bash
# A whole purchase against a running example shop, with curl, step by step:
# register and verify a buyer, log in, pick a SKU, add an address, fill the
# cart, check out with a submit token and the WELCOME10 coupon, pay in the
# sandbox, ship as the administrator, confirm receipt, review, and get a
# refund. It stops at the first step that fails and shows the server's answer.
#
#   cargo run -p shop-example            # in one terminal; note the admin password
#   ADMIN_PASSWORD=... bash examples/shop/walkthrough.sh
#
# Settings: SHOP_URL (default http://127.0.0.1:8080), ADMIN_PASSWORD (printed
# at the first start; `cargo run -p shop-example -- reset-admin-password`
# prints a new one), VERIFY_TOKEN (the token of the verification e-mail) or
# SHOP_LOG (the file the server's standard error goes to, where the script
# finds the token itself); with neither, the script asks for the token (the
# server prints e-mails to its log).
# Needs curl and python3.
set -euo pipefail

B=${SHOP_URL:-http://127.0.0.1:8080}
: "${ADMIN_PASSWORD:?set ADMIN_PASSWORD to the administrator password the first start printed}"
EMAIL="ann.$(date +%s)@example.com"

step() { printf '\n== %s\n' "$*" >&2; }

# call METHOD PATH [JSON] [TOKEN]: prints the answer's body; fails, showing
# it, when the status is not 2xx.
call() {
    local method=$1 path=$2 body=${3:-} token=${4:-} out status
    local args=(-sS -X "$method" -o /tmp/walkthrough.$$ -w '%{http_code}' "$B$path")
    [ -n "$body" ] && args+=(-H 'content-type: application/json' -d "$body")
    [ -n "$token" ] && args+=(-H "authorization: Bearer $token")
    status=$(curl "${args[@]}")
    out=$(cat /tmp/walkthrough.$$)
    rm -f /tmp/walkthrough.$$
    if [ "${status:0:1}" != 2 ]; then
        printf 'FAILED: %s %s answered %s:\n%s\n' "$method" "$path" "$status" "$out" >&2
        exit 1
    fi
    printf '%s' "$out"
}

# field EXPR: reads a field of the JSON on stdin (e.g. 'd["id"]'), failing
# when it is missing.
field() {
    python3 -c "import json,sys
d=json.load(sys.stdin)
try:
    print($1)
except (KeyError, IndexError, TypeError):
    sys.exit('no $1 in ' + json.dumps(d))"
}

step "Register $EMAIL; the verification e-mail appears in the server's log"
call POST /api/auth/register "{\"name\":\"Ann\",\"email\":\"$EMAIL\",\"password\":\"correct horse battery\"}" >/dev/null
if [ -z "${VERIFY_TOKEN:-}" ] && [ -n "${SHOP_LOG:-}" ]; then
    # The e-mail is sent from the outbox within a second or two.
    VERIFY_TOKEN=$(python3 - "$SHOP_LOG" "$EMAIL" <<'PY'
import re, sys, time
marker = "mail to %s (verify_email," % sys.argv[2]
token = ""
for _ in range(100):
    inside = False
    for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
        if marker in line:
            inside = True
        elif line.startswith("--- end of mail ---"):
            inside = False
        elif inside and re.fullmatch(r"[0-9a-f]{64}", line.strip()):
            token = line.strip()
    if token:
        break
    time.sleep(0.1)
print(token)
PY
)
fi
if [ -z "${VERIFY_TOKEN:-}" ]; then
    read -rp "Verification token from the server's log: " VERIFY_TOKEN
fi
call POST /api/auth/verify "{\"token\":\"$VERIFY_TOKEN\"}" >/dev/null

step "Log in (the answer also sets an HttpOnly session cookie)"
TOKEN=$(call POST /api/auth/login "{\"email\":\"$EMAIL\",\"password\":\"correct horse battery\"}" | field 'd["token"]')

step "Pick the cheapest cup and its first SKU"
PRODUCT=$(call GET "/api/products?keyword=cup&sort=price_asc" | field 'd["items"][0]["id"]')
SKU=$(call GET "/api/products/$PRODUCT" | field 'd["skus"][0]["id"]')

step "Add an address and put 3 units in the cart"
ADDRESS=$(call POST /api/addresses '{"province":"Zhejiang","city":"Hangzhou","street":"1 Lake Rd",
  "contact_name":"Ann","contact_phone":"13900000000"}' "$TOKEN" | field 'd["id"]')
call POST /api/cart "{\"sku_id\":\"$SKU\",\"quantity\":3}" "$TOKEN" >/dev/null

step "Check out with a submit token and the WELCOME10 coupon"
SUBMIT=$(call GET /api/checkout/token "" "$TOKEN" | field 'd["submit_token"]')
ORDER_BODY="{\"address_id\":\"$ADDRESS\",\"items\":[{\"sku_id\":\"$SKU\",\"quantity\":3}],
  \"coupon_code\":\"WELCOME10\",\"submit_token\":\"$SUBMIT\"}"
PLACED=$(call POST /api/orders "$ORDER_BODY" "$TOKEN")
ORDER=$(printf '%s' "$PLACED" | field 'd["id"]')
NO=$(printf '%s' "$PLACED" | field 'd["no"]')
printf 'order %s, total %s\n' "$NO" "$(printf '%s' "$PLACED" | field 'd["total"]["amount"]')" >&2

step "Sending the same request again answers the same order (the token is its idempotency key)"
AGAIN=$(call POST /api/orders "$ORDER_BODY" "$TOKEN" | field 'd["id"]')
[ "$AGAIN" = "$ORDER" ] || { echo "FAILED: a second order $AGAIN" >&2; exit 1; }

step "Pay: the sandbox page's Pay button (a browser sends the session cookie)"
call POST "/api/orders/$ORDER/pay" "" "$TOKEN" >/dev/null
status=$(curl -sS -o /dev/null -w '%{http_code}' "$B/sandbox/pay" -H "authorization: Bearer $TOKEN" -d "order_no=$NO")
[ "$status" = 200 ] || { echo "FAILED: the sandbox answered $status" >&2; exit 1; }

step "The administrator ships it"
ADMIN=$(call POST /api/auth/login "{\"email\":\"admin@example.com\",\"password\":\"$ADMIN_PASSWORD\"}" | field 'd["token"]')
call POST "/api/admin/orders/$ORDER/ship" '{"carrier":"SF Express","tracking_no":"SF1234567890"}' "$ADMIN" >/dev/null

step "The buyer confirms receipt and reviews"
ITEM=$(call POST "/api/orders/$ORDER/received" "" "$TOKEN" | field 'd["items"][0]["id"]')
call POST "/api/orders/$ORDER/review" "{\"reviews\":[{\"item_id\":\"$ITEM\",\"rating\":5,\"text\":\"Lovely cup\"}]}" "$TOKEN" >/dev/null

step "The buyer applies for a refund; the administrator approves it"
call POST "/api/orders/$ORDER/refund" '{"reason":"changed my mind"}' "$TOKEN" >/dev/null
call POST "/api/admin/orders/$ORDER/refund/approve" "" "$ADMIN" | field 'd["status"]' >&2
STATE=$(call GET "/api/orders/$ORDER" "" "$TOKEN" | field 'd["state"]["status"] + ", refund " + d["state"]["refund"]')
printf '\nDone: order %s is %s\n' "$NO" "$STATE"
