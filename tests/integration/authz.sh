#!/usr/bin/env bash
# Roles and certificates on a real cluster: a sender triggers (only its
# services when its certificate lists some) but cannot ack, resolve or
# apply; a responder acks and resolves but cannot apply; an admin applies;
# a legacy OU=client certificate still works, with a deprecation warning;
# the HTTPS responders' API refuses a sender; and integration keys sent
# over HTTPS never reach a node's log or its metrics.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/itest.sh
. tests/lib/itest.sh
itest_init authz
trap itest_cleanup EXIT

itest_start_cluster
tls=$dir/c/tls
export KLAXON_USER=tester

# A sender limited to checkout, and a certificate of the old layout.
deploy/gen-certs.sh --dir "$tls" --nodes 3 --client ci:sender \
    --services checkout >"$dir/gen.log" 2>&1 || fail "gen-certs: $(cat "$dir/gen.log")"
cat >"$dir/legacy.cnf" <<EOF
[ ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
EOF
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$tls/client-oldci-key.pem" 2>/dev/null &&
    openssl req -new -key "$tls/client-oldci-key.pem" \
        -subj "/O=klaxon/OU=client/CN=oldci" -out "$dir/oldci.csr" &&
    openssl x509 -req -in "$dir/oldci.csr" -CA "$tls/ca.pem" \
        -CAkey "$tls/ca-key.pem" -set_serial 0x1234 -days 2 \
        -extfile "$dir/legacy.cnf" -extensions ext \
        -out "$tls/client-oldci.pem" 2>/dev/null ||
    fail "cannot make the legacy certificate"

# as NAME CMD...: klaxonctl with client-NAME.pem.
as() {
    local who=$1
    shift
    "$CTL" --cert "$tls/client-$who.pem" --key "$tls/client-$who-key.pem" "$@"
}

# --- admin ----------------------------------------------------------------
expect_exit 0 "admin applies the configuration" as admin apply \
    -f deploy/examples/oncall.yaml

# --- sender ----------------------------------------------------------------
expect_exit 0 "sender triggers" as sender trigger --service payments \
    --severity 3 --summary "from a sender" --dedup-key s1
sid=$(cat "$dir/out")
expect_exit 0 "sender reads" as sender get "$sid"
expect_exit 1 "sender cannot ack" as sender ack "$sid"
expect_in "$dir/err" "ack needs the responder or admin role" "sender ack message"
expect_in "$dir/err" '"sender" has the sender role' "sender ack names the role"
expect_exit 1 "sender cannot resolve" as sender resolve "$sid"
expect_in "$dir/err" "resolve needs the responder or admin role" "sender resolve message"
expect_exit 1 "sender cannot apply" as sender apply -f deploy/examples/oncall.yaml
expect_in "$dir/err" "apply_config needs the admin role" "sender apply message"
expect_exit 1 "sender cannot start maintenance" as sender maintenance start \
    --service demo --duration 1h

# --- sender limited to checkout ----------------------------------------------
expect_exit 0 "limited sender triggers its service" as ci trigger \
    --service checkout --severity 3 --summary "canary red"
expect_exit 1 "limited sender cannot trigger another service" as ci trigger \
    --service payments --severity 3 --summary "not mine"
expect_in "$dir/err" 'trigger for service "payments" refused' "service refusal names the service"
expect_in "$dir/err" "may only use checkout" "service refusal lists the allowed"
expect_exit 0 "limited sender checks in its heartbeat" as ci heartbeat checkout-canary
expect_exit 1 "limited sender cannot check in another service's heartbeat" \
    as ci heartbeat nightly-backup
expect_in "$dir/err" '"payments"' "heartbeat refusal names the service"
expect_exit 0 "limited sender lists" as ci list --status all

# --- responder -------------------------------------------------------------
expect_exit 0 "responder acks" as responder ack "$sid"
expect_exit 0 "responder notes" as responder note "$sid" "looking"
expect_exit 0 "responder resolves" as responder resolve "$sid"
expect_exit 0 "responder starts maintenance" as responder maintenance start \
    --service demo --duration 1h
expect_exit 1 "responder cannot apply" as responder apply -f deploy/examples/oncall.yaml
expect_in "$dir/err" "apply_config needs the admin role" "responder apply message"

# --- legacy certificate ------------------------------------------------------
expect_exit 0 "legacy client applies" as oldci apply -f deploy/examples/oncall.yaml
expect_exit 0 "legacy client again" as oldci list --status all
n=$(cat "$dir"/c/node*/klaxond.log | grep -c 'oldci (.*deprecated OU ."client')
checks=$((checks + 1))
[ "$n" -ge 1 ] && [ "$n" -le 3 ] ||
    fail "legacy warning: $n lines, want one per node that saw oldci"

# --- refusals are logged ---------------------------------------------------
checks=$((checks + 1))
# grep reads the files itself: under pipefail, "cat | grep -q" fails
# whenever grep stops early and cat is killed by SIGPIPE.
grep -q 'comp=authz msg="refused ci (sender, .*payments' \
    "$dir"/c/node*/klaxond.log ||
    fail "no log line for the refused trigger"

# --- HTTPS -------------------------------------------------------------------
leader=$(as admin --json status | sed -n 's/.*"leader_id":\([0-9]*\)}.*/\1/p')
follower=$((leader % 3 + 1))
https() { echo "https://127.0.0.1:$((port + 200 + $1 - 1))"; }
# curl_as NAME NODE PATH [ARGS...]: the HTTP status in $status
curl_as() {
    local who=$1 node=$2 path=$3
    shift 3
    status=$(curl -sS --cacert "$tls/ca.pem" --cert "$tls/client-$who.pem" \
        --key "$tls/client-$who-key.pem" -o "$dir/body" -w '%{http_code}' \
        "$@" "$(https "$node")$path")
}
checks=$((checks + 5))
curl_as sender "$follower" /v1/incidents
[ "$status" = 403 ] || fail "sender on /v1/incidents: $status, want 403"
grep -q 'needs the responder or admin role' "$dir/body" ||
    fail "sender 403 body: $(cat "$dir/body")"
curl_as sender "$leader" "/v1/incidents/$sid/acknowledge" -X POST
[ "$status" = 403 ] || fail "sender ack over HTTPS: $status, want 403"
curl_as responder "$follower" /v1/incidents
[ "$status" = 200 ] || fail "responder on /v1/incidents: $status, want 200"
curl_as oldci "$follower" /v1/incidents
[ "$status" = 200 ] || fail "legacy client on /v1/incidents: $status, want 200"
curl_as ci "$follower" "/v1/incidents/$sid/notes" -X POST \
    -H 'Content-Type: application/json' -d '{"text":"x"}'
[ "$status" = 403 ] || fail "limited sender note over HTTPS: $status, want 403"

# --- integration keys never in logs or metrics -------------------------------
CHECKOUT=0c1f6e4ad2b84a7f9d3e5b1c7a2f8e60
PAYMENTS=7d2a9c4e1b6f4830a5e7c9d1f3b5a7e2
BOGUS=feedfacefeedfacefeedfacefeedface
post() { # NODE PATH BODY: anonymous, like a monitoring tool
    status=$(curl -sS --cacert "$tls/ca.pem" -o "$dir/body" -w '%{http_code}' \
        -H 'Content-Type: application/json' -d "$3" "$(https "$1")$2")
}
checks=$((checks + 6))
for node in "$leader" "$follower"; do
    post "$node" /v2/enqueue '{"routing_key":"'$CHECKOUT'","event_action":"trigger","dedup_key":"k'"$node"'","payload":{"summary":"key test","source":"h1","severity":"critical"}}'
    [ "$status" = 202 ] || fail "PD trigger on node $node: $status $(cat "$dir/body")"
done
post "$follower" /v2/enqueue '{"routing_key":"'$BOGUS'","event_action":"trigger","payload":{"summary":"x","source":"h1","severity":"critical"}}'
[ "$status" = 400 ] || [ "$status" = 404 ] || fail "unknown PD key: $status"
post "$follower" "/v1/alertmanager/$PAYMENTS" '{"alerts":[{"status":"firing","labels":{"alertname":"KeyTest"},"fingerprint":"f1"}]}'
[ "$status" = 200 ] || fail "AM webhook: $status $(cat "$dir/body")"
# malformed JSON around a key (parse errors are logged without tokens)
post "$follower" /v2/enqueue '{"event_action":"trigger" "'$BOGUS'"}'
[ "$status" = 400 ] || fail "malformed PD body: $status"
post "$follower" "/v1/alertmanager/$BOGUS" '{"alerts":[]}'
[ "$status" = 404 ] || fail "unknown AM key: $status"
post "$follower" "/v1/alertmanager/$PAYMENTS" 'not json'
for node in 1 2 3; do
    curl -sS --cacert "$tls/ca.pem" --cert "$tls/client-admin.pem" \
        --key "$tls/client-admin-key.pem" "$(https "$node")/metrics" \
        >>"$dir/metrics.txt" 2>/dev/null
done
checks=$((checks + 2))
[ -s "$dir/metrics.txt" ] || fail "no metrics fetched"
for key in "$CHECKOUT" "$PAYMENTS" "$BOGUS"; do
    if grep -l "$key" "$dir"/c/node*/klaxond.log "$dir/metrics.txt" >"$dir/leaks" 2>/dev/null; then
        fail "integration key $key appears in: $(tr '\n' ' ' <"$dir/leaks")"
    fi
done
grep -q '/v1/alertmanager/KEY' "$dir"/c/node*/klaxond.log ||
    fail "the refused Alertmanager requests were not logged (redacted)"

itest_finish
