# Sourced by the CI scripts: starts the debug build of the example shop on a
# fresh SQLite file and a free port, with rate limits out of the way.
# Sets $base (its URL), $work (its folder: out.log, err.log) and
# $admin_password, and stops it on exit.

cargo build --quiet -p shop-example
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
SHOP_DATABASE_URL="sqlite://$work/shop.db" SHOP_BIND="127.0.0.1:$port" \
    SHOP_RATE_LIMIT_PER_MINUTE=1000000 \
    env -u SHOP_REDIS_URL target/debug/shop-example >"$work/out.log" 2>"$work/err.log" &
shop_pid=$!
stop_shop() {
    kill "$shop_pid" 2>/dev/null || true
    wait "$shop_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap stop_shop EXIT
for _ in $(seq 1 100); do
    grep -q "API description" "$work/out.log" 2>/dev/null && break
    sleep 0.2
done
grep -q "API description" "$work/out.log" || { cat "$work/out.log" "$work/err.log"; exit 1; }
admin_password=$(sed -n 's#.*administrator: admin@example.com / ##p' "$work/out.log")
