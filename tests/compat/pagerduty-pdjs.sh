#!/usr/bin/env bash
# PagerDuty's own JavaScript client (@pagerduty/pdjs, from the npm
# registry), unmodified, against a follower's /v2/enqueue: trigger,
# acknowledge, resolve and an invalid event. Needs node and npm and access
# to the npm registry, so it is not part of `make test`; run it with
# `make compat`.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
export BUILD
dir=$(mktemp -d /tmp/klaxon-compat-XXXXXX)
trap 'deploy/local-cluster.sh stop --dir "$dir/c" >/dev/null 2>&1; rm -rf "$dir"' EXIT
command -v npm >/dev/null || { echo "npm is not installed" >&2; exit 1; }
(cd "$dir" && npm install --silent --no-audit --no-fund @pagerduty/pdjs >/dev/null)
cp tests/compat/pdjs-events.js "$dir/"
port=$((21000 + RANDOM % 8000))
deploy/local-cluster.sh start --nodes 3 --dir "$dir/c" --base-port "$port" --fast >/dev/null
# shellcheck disable=SC1091
source "$dir/c/env"
klaxonctl apply -f deploy/examples/oncall.yaml >/dev/null
leader=$(klaxonctl --json status | sed -n 's/.*"leader_id":\([0-9]*\)}.*/\1/p')
follower=$((leader % 3 + 1))
out=$(cd "$dir" && NODE_EXTRA_CA_CERTS="$dir/c/tls/ca.pem" \
    node pdjs-events.js "127.0.0.1:$((port + 200 + follower - 1))")
echo "$out"
grep -q '^trigger 202 .*"dedup_key":"pdjs-1"' <<<"$out"
grep -q '^acknowledge 202 ' <<<"$out"
grep -q '^resolve 202 ' <<<"$out"
grep -q '^invalid 400 .*payload.severity' <<<"$out"
klaxonctl --json get 1 | grep -q '"status":"resolved"'
echo "pagerduty-pdjs: ok"
