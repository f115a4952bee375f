#!/usr/bin/env bash
# Fuzzes the example shop's HTTP API with Schemathesis, from its own
# /openapi.json: anonymously, as a customer and as an administrator, each for
# ST_SECONDS (default 60) seconds. Fails on any 5xx, an answer that does not
# match its schema, an undocumented status, or valid input refused (the
# checks and their few documented exceptions are in .ci/schemathesis.toml).
#
#   bash .ci/schemathesis.sh            # builds the shop, installs Schemathesis
#   ST_SECONDS=20 bash .ci/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${ST_SECONDS:-60}
venv=target/st-venv
if [ ! -x "$venv/bin/st" ]; then
    echo "== installing Schemathesis into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5"
fi

. .ci/shop.sh

json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
post() { curl -sf "$base$1" -H 'content-type: application/json' -d "$2"; }

admin=$(post /api/auth/login "{\"email\":\"admin@example.com\",\"password\":\"$admin_password\"}" | json 'd["token"]')
post /api/auth/register '{"name":"Fuzz","email":"fuzz@example.com","password":"fuzzing password"}' >/dev/null
# The verification e-mail is logged when the outbox dispatches it.
verification=""
for _ in $(seq 1 100); do
    verification=$(sed -n '/mail to fuzz@example.com (verify_email,/,/^--- end of mail ---/p' "$work/err.log" \
        | grep -E '^[0-9a-f]{64}$' | tail -1 || true)
    [ -n "$verification" ] && break
    sleep 0.1
done
post /api/auth/verify "{\"token\":\"$verification\"}" >/dev/null
customer=$(post /api/auth/login '{"email":"fuzz@example.com","password":"fuzzing password"}' | json 'd["token"]')
[ -n "$admin" ] && [ -n "$customer" ] || { echo "could not log in" >&2; exit 1; }

status=0
for who in anonymous customer administrator; do
    case $who in
        # Logging out would end the session every later request uses.
        anonymous) auth=() ;;
        customer) auth=(-H "Authorization: Bearer $customer" --exclude-path /api/auth/logout) ;;
        administrator) auth=(-H "Authorization: Bearer $admin" --exclude-path /api/auth/logout) ;;
    esac
    echo "== Schemathesis as $who, ${seconds}s"
    if ! PYTHONPATH=.ci SCHEMATHESIS_HOOKS=schemathesis_hooks "$venv/bin/st" --no-color --config-file .ci/schemathesis.toml run "$base/openapi.json" \
        "${auth[@]}" --max-time "$seconds" --workers 2 --seed 1 \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,positive_data_acceptance \
        --report junit --report-junit-path "target/schemathesis-$who.xml"; then
        status=1
    fi
done
if grep -q "panicked" "$work/err.log"; then
    echo "the shop panicked:" >&2
    grep -A5 "panicked" "$work/err.log" >&2
    status=1
fi
exit $status
