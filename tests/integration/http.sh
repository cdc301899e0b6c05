#!/usr/bin/env bash
# The HTTPS endpoint against a real 3-node cluster, with curl: PagerDuty
# Events API v2 and Alertmanager webhook requests taken from their
# documentation's examples, the responders' endpoints, /healthz, /readyz,
# /metrics, forwarding from followers, and every refusal path (which must
# change nothing).
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/lib/itest.sh
. tests/lib/itest.sh
itest_init http

trap itest_cleanup EXIT

itest_start_cluster
tls=$dir/c/tls
https() { echo "https://127.0.0.1:$((port + 200 + $1 - 1))"; }

# req NODE METHOD PATH [curl args...]: the answer in $dir/body, the status
# in $status. Anonymous (no client certificate).
req() {
    local node=$1 method=$2 path=$3
    shift 3
    status=$(curl -sS --cacert "$tls/ca.pem" -o "$dir/body" -w '%{http_code}' \
        -X "$method" "$@" "$(https "$node")$path" 2>"$dir/curl-err")
}
# As a responder, with the admin client certificate.
req_cert() {
    req "$@" --cert "$tls/client-admin.pem" --key "$tls/client-admin-key.pem"
}
post_json() {
    local node=$1 path=$2 data=$3
    shift 3
    req "$node" POST "$path" -H 'Content-Type: application/json' \
        --data-binary "$data" "$@"
}

# expect_status WANT DESCRIPTION
expect_status() {
    checks=$((checks + 1))
    [ "$status" = "$1" ] ||
        fail "$2: HTTP $status, want $1: $(head -c 400 "$dir/body")"
}
# expect_body TEXT DESCRIPTION
expect_body() {
    checks=$((checks + 1))
    grep -qF -- "$1" "$dir/body" ||
        fail "$2: \"$1\" not in: $(head -c 400 "$dir/body")"
}
# jget EXPR: a value of the last answer (Python expression on `d`).
jget() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$dir/body" "$1" 2>/dev/null
}
# expect_json EXPR WANT DESCRIPTION
expect_json() {
    local got
    checks=$((checks + 1))
    got=$(jget "$1")
    [ "$got" = "$2" ] ||
        fail "$3: $1 = '$got', want '$2'; body: $(head -c 300 "$dir/body")"
}
# The number of incidents, read on the leader.
incident_count() {
    req_cert 1 GET '/v1/incidents?limit=1000'
    jget 'len(d["incidents"])'
}
# metric NODE NAME{LABELS}: its value (0 if absent).
metric() {
    req "$1" GET /metrics
    awk -v m="$2" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }' \
        "$dir/body"
}

klaxonctl apply -f deploy/examples/oncall.yaml >/dev/null || {
    echo "cannot apply the example configuration" >&2
    exit 1
}
CHECKOUT=0c1f6e4ad2b84a7f9d3e5b1c7a2f8e60 # integration keys of the example
PAYMENTS=7d2a9c4e1b6f4830a5e7c9d1f3b5a7e2

# --- health -----------------------------------------------------------------
for n in 1 2 3; do
    req "$n" GET /healthz
    expect_status 200 "healthz on node $n"
    expect_json 'd["status"]' ok "healthz body on node $n"
    req "$n" GET /readyz
    expect_status 200 "readyz on node $n"
    expect_json 'd["status"]' ready "readyz body on node $n"
done
leader=$(jget 'd["leader_id"]')
follower=$((leader % 3 + 1))
triggers_before=$(metric "$leader" 'klaxon_requests_total{op="trigger",result="OK"}')

# --- PagerDuty Events API v2 -------------------------------------------------
# The trigger example of PagerDuty's documentation, sent to a follower.
pd_trigger='{
  "payload": {
    "summary": "Example alert on host1.example.com",
    "timestamp": "2015-07-17T08:42:58.315+0000",
    "source": "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003",
    "severity": "info",
    "component": "postgres",
    "group": "prod-datapipe",
    "class": "deploy",
    "custom_details": { "ping time": "1500ms", "load avg": 0.75 }
  },
  "routing_key": "'$CHECKOUT'",
  "dedup_key": "samplekeyhere",
  "images": [{ "src": "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png",
               "href": "https://example.com/", "alt": "Example text" }],
  "links": [{ "href": "https://example.com/", "text": "Link text" }],
  "event_action": "trigger",
  "client": "Sample Monitoring Service",
  "client_url": "https://monitoring.example.com"
}'
post_json "$follower" /v2/enqueue "$pd_trigger"
expect_status 202 "PagerDuty trigger (documentation example) via a follower"
expect_json 'd["status"]' success "PagerDuty trigger status"
expect_json 'd["message"]' "Event processed" "PagerDuty trigger message"
expect_json 'd["dedup_key"]' samplekeyhere "PagerDuty trigger dedup_key"
pd_id=$(jget 'd["incident_id"]')

req_cert "$follower" GET "/v1/incidents/$pd_id"
expect_status 200 "GET the incident a PagerDuty trigger opened"
expect_json 'd["incident"]["service"]' checkout "routing key -> service"
expect_json 'd["incident"]["severity"]' 4 "severity info -> 4 (default table)"
expect_json 'd["incident"]["summary"]' "Example alert on host1.example.com" \
    "payload.summary -> summary"
expect_json '{x["key"]: x["value"] for x in d["incident"]["details"]}["ping time"]' \
    1500ms "custom_details kept"
expect_json '{x["key"]: x["value"] for x in d["incident"]["details"]}["component"]' \
    postgres "payload.component kept"
expect_json 'd["incident"]["status"]' TRIGGERED "status after trigger"

post_json "$leader" /v2/enqueue "$pd_trigger"
expect_status 202 "PagerDuty trigger again (same dedup_key)"
expect_json 'd["incident_id"]' "$pd_id" "same dedup_key: same incident"
req_cert "$leader" GET "/v1/incidents/$pd_id"
expect_json 'd["incident"]["alert_count"]' 2 "same dedup_key: alert count 2"

post_json "$follower" /v2/enqueue '{"routing_key":"'$CHECKOUT'","event_action":"trigger","payload":{"summary":"no key","source":"h1","severity":"critical"}}'
expect_status 202 "PagerDuty trigger without dedup_key"
checks=$((checks + 1))
[[ $(jget 'd["dedup_key"]') =~ ^[0-9a-f]{32}$ ]] ||
    fail "a trigger without dedup_key gets a generated one: $(cat "$dir/body")"

# The acknowledge and resolve examples of the documentation.
post_json "$follower" /v2/enqueue '{"routing_key":"'$CHECKOUT'","dedup_key":"samplekeyhere","event_action":"acknowledge"}'
expect_status 202 "PagerDuty acknowledge"
expect_json 'd["dedup_key"]' samplekeyhere "acknowledge dedup_key"
req_cert "$leader" GET "/v1/incidents/$pd_id"
expect_json 'd["incident"]["status"]' ACKNOWLEDGED "status after acknowledge"
post_json "$follower" /v2/enqueue '{"routing_key":"'$CHECKOUT'","dedup_key":"samplekeyhere","event_action":"resolve"}'
expect_status 202 "PagerDuty resolve"
req_cert "$leader" GET "/v1/incidents/$pd_id"
expect_json 'd["incident"]["status"]' RESOLVED "status after resolve"
post_json "$follower" /v2/enqueue '{"routing_key":"'$CHECKOUT'","dedup_key":"samplekeyhere","event_action":"resolve"}'
expect_status 202 "PagerDuty resolve of a resolved alert: dropped, as PagerDuty does"
post_json "$follower" /v2/enqueue "$pd_trigger"
checks=$((checks + 1))
[ "$(jget 'd["incident_id"]')" != "$pd_id" ] ||
    fail "a trigger after resolve must open a new incident"

# event_severities of the payments service: warning -> 2.
post_json "$leader" /v2/enqueue '{"routing_key":"'$PAYMENTS'","event_action":"trigger","dedup_key":"pay-1","payload":{"summary":"card declines","source":"gw1","severity":"warning"}}'
expect_status 202 "PagerDuty trigger on payments"
req_cert "$leader" GET "/v1/incidents/$(jget 'd["incident_id"]')"
expect_json 'd["incident"]["severity"]' 2 "event_severities: warning -> 2"

# --- Alertmanager webhook (version 4) ----------------------------------------
am_group() { # STATUS SEVERITY2
    cat <<EOF
{"version":"4","groupKey":"{}:{alertname=\"HighLatency\"}","truncatedAlerts":0,
 "status":"$1","receiver":"klaxon","groupLabels":{"alertname":"HighLatency"},
 "commonLabels":{"alertname":"HighLatency"},"commonAnnotations":{},
 "externalURL":"http://alertmanager.example.com:9093",
 "alerts":[
  {"status":"$1","labels":{"alertname":"HighLatency","severity":"critical","instance":"api-1:9100","job":"api"},
   "annotations":{"summary":"p99 latency above 2s on api-1"},
   "startsAt":"2026-11-28T10:00:00Z","endsAt":"0001-01-01T00:00:00Z",
   "generatorURL":"http://prometheus.example.com:9090/graph","fingerprint":"c0ffee0000000001"},
  {"status":"$1","labels":{"alertname":"HighLatency","severity":"$2","instance":"api-2:9100","job":"api"},
   "annotations":{},"startsAt":"2026-11-28T10:00:00Z","endsAt":"0001-01-01T00:00:00Z",
   "generatorURL":"","fingerprint":"c0ffee0000000002"}]}
EOF
}
post_json "$follower" "/v1/alertmanager?service=payments" "$(am_group firing warning)"
expect_status 200 "Alertmanager firing group via a follower"
expect_json 'd["alerts"]' 2 "Alertmanager: two alerts"
expect_json '[r["result"] for r in d["results"]]' "['triggered', 'triggered']" \
    "Alertmanager: both triggered"
am1=$(jget 'd["results"][0]["incident_id"]')
am2=$(jget 'd["results"][1]["incident_id"]')
req_cert "$leader" GET "/v1/incidents/$am1"
expect_json 'd["incident"]["severity"]' 1 "label severity=critical -> 1"
expect_json 'd["incident"]["summary"]' "p99 latency above 2s on api-1" \
    "annotations.summary -> summary"
expect_json 'd["incident"]["dedup_key"]' c0ffee0000000001 "fingerprint -> dedup key"
req_cert "$leader" GET "/v1/incidents/$am2"
expect_json 'd["incident"]["severity"]' 2 "label severity=warning -> 2 (payments)"
expect_json 'd["incident"]["summary"]' "HighLatency on api-2:9100" \
    "no summary annotation: alertname on instance"
post_json "$leader" "/v1/alertmanager/$PAYMENTS" "$(am_group firing warning)"
expect_status 200 "Alertmanager firing group again (integration key in the path)"
expect_json '[r["result"] for r in d["results"]]' \
    "['deduplicated', 'deduplicated']" "Alertmanager: repeats deduplicate"
post_json "$follower" "/v1/alertmanager/$PAYMENTS" "$(am_group resolved warning)"
expect_status 200 "Alertmanager resolved group"
expect_json '[r["result"] for r in d["results"]]' "['resolved', 'resolved']" \
    "Alertmanager: both resolved"
req_cert "$leader" GET "/v1/incidents/$am2"
expect_json 'd["incident"]["status"]' RESOLVED "resolved alert -> incident resolved"
post_json "$follower" "/v1/alertmanager?service=payments&dedup=group_key" \
    "$(am_group firing nonsense)"
expect_status 200 "Alertmanager with dedup=group_key"
expect_json '[r["result"] for r in d["results"]]' "['triggered', 'deduplicated']" \
    "dedup=group_key: one incident per group"
req_cert "$leader" GET "/v1/incidents/$(jget 'd["results"][0]["incident_id"]')"
expect_json 'd["incident"]["alert_count"]' 2 "dedup=group_key: both alerts counted"

# --- responders' endpoints ---------------------------------------------------
req_cert "$follower" GET '/v1/incidents?status=open&service=payments'
expect_status 200 "list open incidents of a service"
expect_json 'all(i["service"] == "payments" and i["status"] != "RESOLVED" for i in d["incidents"])' \
    True "list filters by service and status"
open_id=$(jget 'd["incidents"][0]["id"]')
req_cert "$follower" POST "/v1/incidents/$open_id/notes" \
    -H 'Content-Type: application/json' -d '{"text":"looking at the gateway"}'
expect_status 200 "add a note"
req_cert "$follower" POST "/v1/incidents/$open_id/acknowledge"
expect_status 200 "acknowledge over HTTPS"
expect_json 'd["status"]' ACKNOWLEDGED "acknowledge result"
req_cert "$leader" GET "/v1/incidents/$open_id"
expect_json 'd["incident"]["acknowledged_by"]' admin \
    "the certificate's name is the actor"
expect_json '[e["message"] for e in d["timeline"] if e["kind"] == "EVENT_NOTE"]' \
    "['looking at the gateway']" "the note is on the timeline"
req "$follower" POST "/v1/incidents/$open_id/notes" -H 'Authorization: Bearer alice-demo-token-change-me' \
    -H 'Content-Type: application/json' -d '{"text":"from a token"}'
expect_status 200 "a note with a user's bearer token"
req_cert "$leader" GET "/v1/incidents/$open_id"
expect_json '[e["actor"] for e in d["timeline"] if e["message"] == "from a token"]' "['alice']" \
    "the token's user is the actor"
req "$follower" GET /v1/incidents -H 'Authorization: Bearer not-a-token'
expect_status 401 "an unknown bearer token"
req_cert "$follower" POST "/v1/incidents/$open_id/resolve"
expect_status 200 "resolve over HTTPS"
req_cert "$follower" POST "/v1/incidents/$open_id/acknowledge"
expect_status 409 "acknowledge a resolved incident"

# --- status page ---------------------------------------------------------------
sev1=$(klaxonctl trigger --service checkout --severity 1 --summary "Checkout errors for EU users")
req_cert "$follower" POST "/v1/incidents/$sev1/updates" -H 'Content-Type: application/json' \
    -d '{"status":"investigating","message":"We are investigating <checkout> errors.","impact":"Some EU customers cannot complete checkout"}'
expect_status 200 "status update over HTTPS"
klaxonctl update "$sev1" --status identified --message "A bad deploy; rolling back" \
    --component checkout --component payments --by tester >/dev/null ||
    fail "klaxonctl update"
sev3=$(klaxonctl trigger --service demo --severity 3 --summary "Slow search")
klaxonctl update "$sev3" --status investigating --message "Search is slow" --by tester >/dev/null
klaxonctl update "$sev3" --status resolved --message "Search is back to normal" --by tester >/dev/null
req "$leader" GET /status.json
expect_status 200 "status.json"
expect_json 'd["status"]["indicator"]' critical "a Sev1 on the page: critical"
expect_json '{c["name"]: c["status"] for c in d["components"]}["checkout"]' major_outage \
    "checkout: major outage"
expect_json '{c["name"]: c["status"] for c in d["components"]}["payments"]' major_outage \
    "a named component takes the incident's state"
expect_json '{c["name"]: c["status"] for c in d["components"]}["internal-tools"]' operational \
    "untouched component: operational"
expect_json '[i["id"] for i in d["incidents"]]' "[$sev1]" "current incidents"
expect_json '[u["status"] for u in d["incidents"][0]["updates"]]' \
    "['identified', 'investigating']" "update history, newest first"
expect_json '[i["id"] for i in d["resolved"]]' "[$sev3]" "recently resolved"
req_cert "$leader" GET "/v1/incidents/$sev3"
expect_json 'd["incident"]["status"]' RESOLVED "a resolved update resolves the incident"
req "$leader" GET /status
expect_status 200 "status page"
expect_body "Checkout errors for EU users" "status page shows the incident"
expect_body "&lt;checkout&gt;" "status page escapes HTML"
checks=$((checks + 1))
grep -qE '<(script|link|img)' "$dir/body" &&
    fail "the status page must be self-contained (no scripts or external assets)"
cp "$dir/body" "$dir/status.html"
if command -v chromium >/dev/null 2>&1; then
    mkdir -p "$BUILD/artifacts"
    timeout 60 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size=1000,1400 --screenshot="$BUILD/artifacts/status.png" \
        "file://$dir/status.html" >/dev/null 2>&1
    checks=$((checks + 1))
    [ "$(head -c 8 "$BUILD/artifacts/status.png" 2>/dev/null | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] &&
        [ "$(stat -c %s "$BUILD/artifacts/status.png")" -gt 20000 ] ||
        fail "headless Chromium screenshot of the status page"
    timeout 60 chromium --headless=new --no-sandbox --disable-gpu --dump-dom \
        "file://$dir/status.html" >"$dir/dom" 2>/dev/null
    checks=$((checks + 1))
    grep -q "Major outage" "$dir/dom" && grep -q "Slow search" "$dir/dom" ||
        fail "Chromium's DOM of the status page lacks its content"
else
    fail "chromium is not installed (deploy/install-deps.sh installs it)"
fi
req_cert 1 POST "/v1/incidents/$sev1/updates" -H 'Content-Type: application/json' -d '{"status":"fixed","message":"x"}'
expect_status 400 "a status update with an unknown status"
expect_json 'd["field"]' status "a bad status update names the field"

# --- schedule calendar ---------------------------------------------------------
req 1 GET /v1/schedules/primary.ics
expect_status 200 "schedule calendar"
expect_body "BEGIN:VCALENDAR" "iCalendar feed"
expect_body "SUMMARY:On call: " "shifts as events"
now_user=$(klaxonctl oncall --schedule primary --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["shifts"][0]["user"])' 2>/dev/null)
expect_body "On call: $now_user (primary)" "the current on-call user is in the feed"
req 1 GET /v1/schedules/nope.ics
expect_status 404 "calendar of an unknown schedule"

# --- refusals: precise 4xx, nothing changed ----------------------------------
before=$(incident_count)
post_json 1 /v2/enqueue '{"routing_key":"'$CHECKOUT'"}' -H 'Content-Type: text/plain'
expect_status 400 "PagerDuty: wrong content type"
expect_body "Content-Type" "PagerDuty: wrong content type names the header"
post_json 1 /v2/enqueue '{"routing_key": '
expect_status 400 "PagerDuty: invalid JSON"
expect_json 'd["status"]' "invalid event" "PagerDuty error body: status"
expect_json 'd["message"]' "Event object is invalid" "PagerDuty error body: message"
post_json 1 /v2/enqueue '{"event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info"}}'
expect_status 400 "PagerDuty: no routing_key"
expect_body "routing_key" "PagerDuty: no routing_key names the field"
post_json 1 /v2/enqueue '{"routing_key":"'$CHECKOUT'","event_action":"explode"}'
expect_status 400 "PagerDuty: unknown event_action"
expect_body "event_action" "PagerDuty: bad event_action names the field"
post_json 1 /v2/enqueue '{"routing_key":"'$CHECKOUT'","event_action":"acknowledge"}'
expect_status 400 "PagerDuty: acknowledge without dedup_key"
expect_body "dedup_key" "PagerDuty: missing dedup_key names the field"
post_json 1 /v2/enqueue '{"routing_key":"'$CHECKOUT'","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"fatal"}}'
expect_status 400 "PagerDuty: unknown severity"
expect_body "payload.severity" "PagerDuty: bad severity names the field"
post_json 1 /v2/enqueue '{"routing_key":"'$CHECKOUT'","event_action":"trigger","payload":{"source":"h","severity":"info"}}'
expect_status 400 "PagerDuty: no summary"
expect_body "payload.summary" "PagerDuty: missing summary names the field"
post_json 1 /v2/enqueue '{"routing_key":"'$CHECKOUT'","event_action":"trigger","paylod":{}}'
expect_status 400 "PagerDuty: unknown field"
expect_body "paylod: unknown field" "PagerDuty: the unknown field is named"
post_json 1 /v2/enqueue '{"routing_key":"not-a-key","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info"}}'
expect_status 400 "PagerDuty: unknown routing key"
expect_body "no service has this integration key" "PagerDuty: unknown routing key says so"
post_json 1 /v2/enqueue '{"routing_key":"'$CHECKOUT'","event_action":"trigger","links":"x","payload":{"summary":"s","source":"h","severity":"info"}}'
expect_status 400 "PagerDuty: links not an array"
head -c 600000 /dev/zero | tr '\0' a >"$dir/big"
req 1 POST /v2/enqueue -H 'Content-Type: application/json' --data-binary @"$dir/big"
expect_status 413 "a body over http.max_body"
req 1 GET "/healthz?$(head -c 9000 /dev/zero | tr '\0' a)"
expect_status 414 "a URL over 8 KiB"
req 1 GET /healthz -H "X-Filler: $(head -c 20000 /dev/zero | tr '\0' a)"
expect_status 431 "a header block over 16 KiB"
req 1 GET /no/such/thing
expect_status 404 "an unknown path"
req 1 DELETE /metrics
expect_status 405 "a wrong method"
post_json 1 /v1/alertmanager "$(am_group firing warning)"
expect_status 400 "Alertmanager: no service named"
expect_json 'd["field"]' service "Alertmanager: missing service names the field"
post_json 1 "/v1/alertmanager?service=nope" "$(am_group firing warning)"
expect_status 404 "Alertmanager: unknown service"
post_json 1 "/v1/alertmanager?service=payments&dedup=labels" "$(am_group firing warning)"
expect_status 400 "Alertmanager: unknown dedup mode"
post_json 1 "/v1/alertmanager?service=payments" "$(am_group firing warning | sed 's/"version":"4"/"version":"3"/')"
expect_status 400 "Alertmanager: unsupported version"
expect_body "version" "Alertmanager: bad version names the field"
post_json 1 "/v1/alertmanager?service=payments" "$(am_group firing warning | sed 's/"status":"firing","labels"/"status":"burning","labels"/')"
expect_status 400 "Alertmanager: an alert with a bad status"
expect_body "alerts[0].status" "Alertmanager: the bad alert is named"
req 1 POST "/v1/alertmanager?service=payments" --data-binary "$(am_group firing warning)"
expect_status 415 "Alertmanager: wrong content type"
req 1 GET /v1/incidents
expect_status 401 "responders' endpoints need a client certificate"
req_cert 1 GET /v1/incidents/abc
expect_status 404 "an incident id that is not a number"
req_cert 1 POST "/v1/incidents/$open_id/explode"
expect_status 404 "an unknown incident action"
req_cert 1 POST "/v1/incidents/$open_id/notes" -H 'Content-Type: application/json' -d '{"txt":"x"}'
expect_status 400 "a note with an unknown field"
req_cert 1 POST "/v1/incidents/$open_id/notes"
expect_status 400 "a note without text"
req_cert 1 GET '/v1/incidents?status=sideways'
expect_status 400 "an unknown status filter"
checks=$((checks + 1))
after=$(incident_count)
[ "$before" = "$after" ] ||
    fail "refused requests changed the incidents: $before before, $after after"

# --- metrics -----------------------------------------------------------------
req "$leader" GET /metrics
expect_status 200 "metrics"
for name in klaxon_node_role klaxon_raft_term klaxon_raft_commit_index \
    klaxon_raft_applied_index klaxon_raft_apply_lag klaxon_raft_peers_connected \
    klaxon_requests_total klaxon_commit_latency_seconds_bucket \
    klaxon_page_deliveries_total klaxon_trigger_to_page_seconds_bucket \
    klaxon_open_incidents klaxon_escalations_total klaxon_sla_missed_total \
    klaxon_loop_busy_seconds_bucket; do
    expect_body "$name" "metrics has $name"
done
checks=$((checks + 1))
triggers_after=$(metric "$leader" 'klaxon_requests_total{op="trigger",result="OK"}')
[ "$triggers_after" -gt "$triggers_before" ] ||
    fail "trigger counter did not move: $triggers_before -> $triggers_after"
checks=$((checks + 1))
[ "$(metric "$follower" klaxon_forwarded_total)" -gt 0 ] ||
    fail "the follower forwarded nothing"
checks=$((checks + 1))
[ "$(metric "$leader" 'klaxon_open_incidents{service="checkout",severity="4"}')" -ge 1 ] ||
    fail "open incidents of checkout at Sev4 not counted"
checks=$((checks + 1))
[ "$(metric "$leader" klaxon_commit_latency_seconds_count)" -gt 0 ] ||
    fail "commit latency histogram is empty"
checks=$((checks + 1))
[ "$(metric "$follower" klaxon_loop_busy_seconds_count)" -gt 0 ] ||
    fail "loop busy histogram is empty"

# --- rate limit: node 1 restarted with http.rate_limit 3 ---------------------
cfg=$dir/c/node1/klaxond.yaml
deploy/local-cluster.sh kill --dir "$dir/c" --node 1 >/dev/null 2>&1
sed -i 's/^http:$/http:\n  rate_limit: 3\n  client_certs: { metrics: required }/' "$cfg"
deploy/local-cluster.sh restart --dir "$dir/c" --node 1 >/dev/null 2>&1 ||
    fail "restart node 1 with a rate limit"
for _ in $(seq 50); do
    req 1 GET /readyz
    [ "$status" = 200 ] && break
    sleep 0.2
done
codes=$(curl -sS --cacert "$tls/ca.pem" -w '%{http_code} ' -o /dev/null \
    -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
    -H 'Content-Type: application/json' \
    --data '{"routing_key":"'$CHECKOUT'","event_action":"trigger","dedup_key":"burst","payload":{"summary":"s","source":"h","severity":"info"}}' \
    "$(https 1)/v2/enqueue" "$(https 1)/v2/enqueue" "$(https 1)/v2/enqueue" \
    "$(https 1)/v2/enqueue" "$(https 1)/v2/enqueue" "$(https 1)/v2/enqueue")
checks=$((checks + 1))
[[ $codes == *202* && $codes == *429* ]] ||
    fail "6 quick events with rate_limit 3: want some 202 and some 429, got: $codes"

req 1 GET /metrics
expect_status 401 "http.client_certs.metrics: required, no certificate"
req_cert 1 GET /metrics
expect_status 200 "http.client_certs.metrics: required, with a certificate"
req 1 GET /healthz
expect_status 200 "other groups stay open"

itest_finish
