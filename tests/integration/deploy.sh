#!/usr/bin/env bash
# What deploy/ ships is valid: the systemd unit passes `systemd-analyze
# verify` (and a broken copy of it does not, so the check can fail), and
# every example node configuration passes `klaxond --check` with
# certificates made by deploy/gen-certs.sh for the examples' host names
# (which carry the node id and those names in their subjectAltName).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/itest.sh
. tests/lib/itest.sh
itest_init deploy
trap itest_cleanup EXIT
KLAXOND=$PWD/$BUILD/klaxond

# --- the systemd unit ---
if ! command -v systemd-analyze >/dev/null; then
    fail "systemd-analyze not installed (deploy/install-deps.sh installs systemd)"
else
    # The unit names /usr/local/bin/klaxond; verify needs it to exist.
    sed "s|/usr/local/bin/klaxond|$KLAXOND|" deploy/systemd/klaxond.service \
        >"$dir/klaxond.service"
    expect_exit 0 "systemd-analyze verify klaxond.service" \
        systemd-analyze verify "$dir/klaxond.service"
    [ -s "$dir/err" ] && fail "systemd-analyze warnings: $(head -c 600 "$dir/err")"
    mkdir -p "$dir/bad"
    sed 's/^ProtectSystem=strict/ProtectSytem=strict/' \
        "$dir/klaxond.service" >"$dir/bad/klaxond.service"
    systemd-analyze verify "$dir/bad/klaxond.service" >"$dir/out" 2>&1
    expect_in "$dir/out" "Unknown key 'ProtectSytem'" "verify finds a bad key"
fi

# --- example configurations ---
hosts=$(grep -ho 'klaxon-[0-9]\.[a-z0-9.-]*example\.com' \
    deploy/examples/*.yaml deploy/examples/*/*.yaml | sort -u | paste -sd, -)
expect_exit 0 "gen-certs for the examples" deploy/gen-certs.sh \
    --dir "$dir/tls" --nodes 5 ${hosts:+--hosts "$hosts"}
openssl x509 -in "$dir/tls/node3.pem" -noout -ext subjectAltName >"$dir/san" 2>&1
expect_in "$dir/san" "URI:urn:klaxon:node:3" "node id in the node certificate's SAN"
expect_in "$dir/san" "DNS:klaxon-1.us-east-1.pager.example.com" "host names in the SAN"
n=0
for f in deploy/examples/*.yaml deploy/examples/*/*.yaml; do
    grep -q '^node:' "$f" || continue # oncall.yaml is not a node config
    n=$((n + 1))
    sed -e "s|/etc/klaxon/tls/|$dir/tls/|" -e "s|/var/lib/klaxon|$dir/data|" \
        "$f" >"$dir/node.yaml"
    expect_exit 0 "klaxond --check $f" "$KLAXOND" --config "$dir/node.yaml" --check
    expect_in "$dir/out" ": ok (node" "$f checks ok"
done
checks=$((checks + 1))
[ "$n" -ge 6 ] || fail "only $n example node configurations found"

itest_finish
