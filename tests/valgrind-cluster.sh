#!/usr/bin/env bash
# klaxond under valgrind: a 3-node cluster takes writes, applies an on-call
# configuration and pages through webhook, exec and e-mail, loses its leader
# (SIGKILL), gets it back, and stops cleanly. Fails if valgrind reports an
# error or a leak in any node (libraft's own reports are suppressed, see
# tests/valgrind.supp).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
src=$PWD
dir=$(mktemp -d /tmp/klaxon-valgrind-XXXXXX)
wrapper=$dir/klaxond-valgrind
cat >"$wrapper" <<WRAP
#!/bin/sh
exec valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect \\
    --error-exitcode=99 --suppressions=$src/tests/valgrind.supp \\
    --log-file=$dir/valgrind-%p.log $src/$BUILD/klaxond "\$@"
WRAP
chmod +x "$wrapper"
export KLAXOND=$wrapper BUILD
cluster=$dir/cluster
receiver=
cleanup() {
    deploy/local-cluster.sh stop --dir "$cluster" >/dev/null 2>&1 || true
    [ -z "$receiver" ] || kill "$receiver" 2>/dev/null || true
}
trap cleanup EXIT

port=$((21000 + RANDOM % 8000))
deploy/local-cluster.sh start --nodes 3 --dir "$cluster" --base-port "$port"
# shellcheck disable=SC1091
source "$cluster/env"
for i in $(seq 30); do
    klaxonctl trigger --service "s$((i % 3))" --severity 2 \
        --summary "alert $i" --dedup-key "k$((i % 7))" >/dev/null 2>&1
done
# paging: a receiver for webhooks and e-mail, and a program for exec
python3 deploy/page-receiver.py --out "$dir/pages.jsonl" >"$dir/ports" &
receiver=$!
for _ in $(seq 50); do [ -s "$dir/ports" ] && break; sleep 0.1; done
read -r http smtp <<<"$(sed 's/http=\([0-9]*\) smtp=\([0-9]*\)/\1 \2/' "$dir/ports")"
cat >"$dir/oncall.yaml" <<YAML
users:
  - id: alice
    contacts:
      - {type: webhook, url: "http://127.0.0.1:$http/alice"}
      - {type: exec, command: [/bin/sh, -c, "cat >/dev/null"]}
      - {type: email, address: alice@example.com}
schedules:
  - id: primary
    layers: [{users: [alice], start: "2026-01-05T09:00", turn: weekly}]
escalation_policies:
  - id: fast
    repeat: 1
    levels: [{timeout: 2s, targets: [{type: schedule, id: primary}]}]
services:
  - {name: web, escalation_policy: fast, integration_key: valgrindkey0123456789}
heartbeats:
  - {name: cron, service: web, interval: 1h}
notifications:
  smtp_url: smtp://127.0.0.1:$smtp
  smtp_from: klaxon@example.com
YAML
klaxonctl apply -f "$dir/oncall.yaml" >/dev/null
paged=$(klaxonctl trigger --service web --severity 1 --summary "paged")
klaxonctl heartbeat cron >/dev/null
klaxonctl maintenance start --service web --duration 1h --by alice >/dev/null
klaxonctl oncall >/dev/null
klaxonctl oncall --schedule primary --from -1d --to +1d >/dev/null
for _ in $(seq 150); do
    [ "$(grep -c '"channel"' "$dir/pages.jsonl" 2>/dev/null || true)" -ge 4 ] && break
    sleep 0.2
done
klaxonctl pages "$paged" >/dev/null
klaxonctl ack "$paged" --by alice >/dev/null
klaxonctl ack 1 --by alice >/dev/null
klaxonctl note 1 --by alice "looking" >/dev/null
klaxonctl resolve 2 --by bob >/dev/null
klaxonctl list --status all >/dev/null
klaxonctl update 1 --status identified --message "found it" --component web --by alice >/dev/null
# the HTTPS port on every node (followers forward writes to the leader)
for n in 1 2 3; do
    base="https://127.0.0.1:$((port + 200 + n - 1))"
    c=(curl -sSf -o /dev/null --cacert "$cluster/tls/ca.pem")
    "${c[@]}" -H 'Content-Type: application/json' "$base/v2/enqueue" -d \
        '{"routing_key":"valgrindkey0123456789","event_action":"trigger","dedup_key":"vg","payload":{"summary":"s","source":"h","severity":"error","custom_details":{"a":[1,2]}}}'
    "${c[@]}" -H 'Content-Type: application/json' "$base/v1/alertmanager?service=web" -d \
        '{"version":"4","groupKey":"g","status":"firing","receiver":"r","alerts":[{"status":"firing","labels":{"alertname":"A","severity":"critical"},"annotations":{},"fingerprint":"f'$n'"}]}'
    "${c[@]}" "$base/status" "$base/status.json" "$base/metrics" "$base/readyz" \
        "$base/v1/schedules/primary.ics"
    "${c[@]}" --cert "$KLAXON_CERT" --key "$KLAXON_KEY" "$base/v1/incidents/1"
    curl -sS -o /dev/null --cacert "$cluster/tls/ca.pem" "$base/v2/enqueue" \
        -H 'Content-Type: application/json' -d '{"bad json' || true
    head -c 600000 /dev/zero | curl -sS -o /dev/null --cacert "$cluster/tls/ca.pem" \
        -H 'Content-Type: application/json' --data-binary @- "$base/v2/enqueue" || true
    printf 'GARBAGE\r\n\r\n' | timeout 5 openssl s_client -quiet \
        -connect "127.0.0.1:$((port + 200 + n - 1))" >/dev/null 2>&1 || true
done
leader=$(klaxonctl --json status | sed -n 's/.*"leader_id":\([0-9]*\)}.*/\1/p')
deploy/local-cluster.sh kill --dir "$cluster" --node "$leader"
id=$(klaxonctl trigger --service after --severity 1 --summary "after kill" 2>/dev/null)
deploy/local-cluster.sh restart --dir "$cluster" --node "$leader"
api=$(sed -n "s/.*api_address: //p" "$cluster/node$leader/klaxond.yaml" | head -n 1)
for _ in $(seq 100); do
    klaxonctl --endpoints "$api" get "$id" --stale >/dev/null 2>&1 && break
    sleep 0.2
done
klaxonctl --endpoints "$api" get "$id" --stale >/dev/null
deploy/local-cluster.sh stop --dir "$cluster"
kill "$receiver" 2>/dev/null || true
trap - EXIT
delivered=$(grep -c '"channel"' "$dir/pages.jsonl" || true)
echo "pages received under valgrind: $delivered (webhook and e-mail)"
if [ "$delivered" -lt 4 ]; then
    echo "expected at least 4 pages (2 levels x webhook + e-mail)" >&2
    exit 1
fi

bad=0
for log in "$dir"/valgrind-*.log; do
    summary=$(grep 'ERROR SUMMARY' "$log" || true)
    if [ -z "$summary" ]; then
        echo "$(basename "$log"): no summary (the node killed with SIGKILL," \
            "or a child that went on to exec a page program)"
        continue
    fi
    leaks=$(grep -cE '(definitely|indirectly) lost: [1-9]' "$log" || true)
    echo "$(basename "$log"): ${summary#*== }"
    if [[ $summary != *" 0 errors"* ]] || [ "$leaks" -ne 0 ]; then
        bad=1
        sed -n '/== [A-Z][a-z]/,/^==[0-9]*== $/p' "$log" | head -n 60
    fi
done
if [ $bad -ne 0 ]; then
    echo "valgrind found errors; logs kept in $dir" >&2
    exit 1
fi
rm -rf "$dir"
echo "klaxond under valgrind: clean"
