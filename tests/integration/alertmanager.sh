#!/usr/bin/env bash
# A real Prometheus Alertmanager (Debian's prometheus-alertmanager),
# configured as its documentation says, sends its webhook to a klaxon
# follower over HTTPS: a firing alert opens an incident, the same alert
# again deduplicates, and its resolution resolves the incident.
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/lib/itest.sh
. tests/lib/itest.sh
itest_init am
AM=$(command -v prometheus-alertmanager || true)
am_pid=

cleanup() {
    [ -z "$am_pid" ] || kill "$am_pid" 2>/dev/null
    itest_cleanup
}
trap cleanup EXIT

if [ -z "$AM" ]; then
    echo "FAIL: prometheus-alertmanager is not installed" \
        "(deploy/install-deps.sh installs it)" >&2
    exit 1
fi

itest_start_cluster
export KLAXON_USER=tester
klaxonctl apply -f deploy/examples/oncall.yaml >/dev/null || exit 1
leader=$(klaxonctl --json status | sed -n 's/.*"leader_id":\([0-9]*\)}.*/\1/p')
follower=$((leader % 3 + 1))
https_port=$((port + 200 + follower - 1))
am_port=$((port + 300))

cat >"$dir/alertmanager.yml" <<EOF
route:
  receiver: klaxon
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: klaxon
    webhook_configs:
      - url: https://127.0.0.1:$https_port/v1/alertmanager/7d2a9c4e1b6f4830a5e7c9d1f3b5a7e2
        send_resolved: true
        http_config:
          tls_config:
            ca_file: $dir/c/tls/ca.pem
EOF
"$AM" --config.file="$dir/alertmanager.yml" --storage.path="$dir/am-data" \
    --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= \
    >"$dir/alertmanager.log" 2>&1 &
am_pid=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$am_port/-/ready" >/dev/null 2>&1 && break
    sleep 0.1
done

# post_alert ENDS_AT: the alert as Prometheus would send it.
post_alert() {
    curl -sf -o /dev/null -H 'Content-Type: application/json' \
        "http://127.0.0.1:$am_port/api/v2/alerts" -d '[{
        "labels": {"alertname": "DiskFull", "severity": "critical",
                   "instance": "db1:9100", "job": "node"},
        "annotations": {"summary": "disk almost full on db1"},
        "generatorURL": "http://prometheus.example.com/graph"'"$1"'}]'
}
# wait_for PYTHON-CONDITION: poll the incidents of payments (up to 20 s).
wait_for() {
    local got
    for _ in $(seq 100); do
        got=$(klaxonctl --json list --status all --service payments 2>/dev/null |
            python3 -c "import json,sys; d=json.load(sys.stdin)['incidents']; print($1)" 2>/dev/null)
        [ "$got" = True ] && return 0
        sleep 0.2
    done
    return 1
}

checks=$((checks + 1))
post_alert "" || fail "Alertmanager refused the alert"
wait_for 'len(d) == 1 and d[0]["summary"] == "disk almost full on db1" and d[0]["status"] == "triggered"' ||
    fail "a firing alert through Alertmanager did not open an incident: $(klaxonctl list --status all)"
checks=$((checks + 1))
wait_for 'd[0]["severity"] == 1 and d[0]["source"] == "db1:9100"' ||
    fail "severity label critical -> 1, source from the instance label"
checks=$((checks + 1))
end=$(date -u -d '-1 sec' +%Y-%m-%dT%H:%M:%S.000Z)
post_alert ", \"endsAt\": \"$end\"" || fail "Alertmanager refused the resolution"
wait_for 'len(d) == 1 and d[0]["status"] == "resolved" and d[0]["resolved_by"] == "alertmanager"' ||
    fail "a resolved alert through Alertmanager did not resolve the incident: $(klaxonctl list --status all)"
checks=$((checks + 1))
grep -qi "error" "$dir/alertmanager.log" &&
    grep -qiE 'notify.*error|error.*notify' "$dir/alertmanager.log" &&
    fail "Alertmanager logged notification errors: $(grep -i error "$dir/alertmanager.log" | head -3)"

itest_finish
