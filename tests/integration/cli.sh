#!/usr/bin/env bash
# The commands users type, end to end: `klaxond --check` and bad
# configurations, klaxonctl's output, JSON and exit codes against a real
# cluster, and the `make run` flow (a foreground cluster stopped by Ctrl-C).
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/lib/itest.sh
. tests/lib/itest.sh
itest_init cli
KLAXOND=$PWD/$BUILD/klaxond

cleanup() {
    deploy/local-cluster.sh stop --dir "$dir/run" >/dev/null 2>&1
    itest_cleanup
}
trap cleanup EXIT

# --- a cluster to talk to ---------------------------------------------------
itest_start_cluster
cfg=$dir/c/node1/klaxond.yaml

# --- klaxond configuration checks ------------------------------------------
expect_exit 0 "klaxond --check on a good config" "$KLAXOND" --config "$cfg" --check
expect_in "$dir/out" "ok (node 1 of 3)" "check output"

sed 's/election_timeout:/electon_timeout:/' "$cfg" >"$dir/c/node1/typo.yaml"
expect_exit 2 "unknown key" "$KLAXOND" --config "$dir/c/node1/typo.yaml" --check
expect_in "$dir/err" "typo.yaml:" "unknown key names the file"
expect_in "$dir/err" "raft.electon_timeout: unknown field" "unknown key names the field"
line=$(grep -n electon_timeout "$dir/c/node1/typo.yaml" | cut -d: -f1)
expect_in "$dir/err" "typo.yaml:$line:" "unknown key names the line"

sed 's/heartbeat_timeout: .*/heartbeat_timeout: 10 parsecs/' "$cfg" >"$dir/c/node1/dur.yaml"
expect_exit 2 "bad duration" "$KLAXOND" --config "$dir/c/node1/dur.yaml" --check
expect_in "$dir/err" "raft.heartbeat_timeout" "bad duration names the field"

sed 's#node1.pem#node2.pem#; s#node1-key.pem#node2-key.pem#' "$cfg" >"$dir/c/node1/cert.yaml"
expect_exit 2 "another node's certificate" "$KLAXOND" --config "$dir/c/node1/cert.yaml" --check
expect_in "$dir/err" "is not the certificate of node 1" "certificate mismatch message"

expect_exit 2 "missing config" "$KLAXOND" --config "$dir/nope.yaml"
expect_exit 2 "no --config" "$KLAXOND"
expect_exit 0 "klaxond --help" "$KLAXOND" --help
expect_in "$dir/out" "usage: klaxond" "klaxond help"

# --- klaxonctl against the cluster ------------------------------------------
expect_exit 0 "trigger" "$CTL" trigger --service web --severity 1 \
    --summary "site down" --dedup-key web-down --detail region=eu
id=$(cat "$dir/out")
[[ $id =~ ^[0-9]+$ ]] || fail "trigger printed \"$id\", not an id"
expect_exit 0 "trigger again" "$CTL" trigger --service web --severity 1 \
    --summary "still down" --dedup-key web-down
[ "$(cat "$dir/out")" = "$id" ] || fail "dedup: got $(cat "$dir/out"), want $id"
expect_in "$dir/err" "attached to open incident $id (2 alerts)" "dedup note"

expect_exit 0 "trigger --json" "$CTL" --json trigger --service db \
    --severity Sev2 --summary "replica lag"
expect_in "$dir/out" '"deduplicated":false' "trigger json"
expect_in "$dir/out" '"status":"triggered"' "trigger json status"

expect_exit 0 "ack" "$CTL" ack "$id" --by alice
expect_in "$dir/out" "acknowledged by alice" "ack output"
expect_exit 0 "note" "$CTL" note "$id" --by alice rolled back the deploy
expect_exit 0 "get" "$CTL" get "$id"
expect_in "$dir/out" "rolled back the deploy" "get shows the note"
expect_in "$dir/out" "region" "get shows details"
expect_exit 0 "get --json" "$CTL" get "$id" --json
expect_in "$dir/out" '"acknowledged_by":"alice"' "get json"
expect_in "$dir/out" '"kind":"note"' "get json timeline"
expect_exit 0 "list" "$CTL" list
expect_in "$dir/out" "site down" "list shows the incident"
expect_exit 0 "list --json" "$CTL" list --status all --json
expect_in "$dir/out" '"more":false' "list json"
expect_exit 0 "resolve" "$CTL" resolve "$id" --by bob
expect_exit 0 "status" "$CTL" status
expect_in "$dir/out" "leader: node" "status names the leader"
expect_exit 0 "status --json" "$CTL" status --json
expect_in "$dir/out" '"role":"leader"' "status json"

# refusals: exit 1, one line on stderr, nothing on stdout
expect_exit 1 "ack of a resolved incident" "$CTL" ack "$id" --by carol
expect_in "$dir/err" "resolved" "resolved message"
[ -s "$dir/out" ] && fail "refusal printed on stdout"
[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "refusal is not one line: $(cat "$dir/err")"
expect_exit 1 "unknown incident" "$CTL" get 99999
expect_in "$dir/err" "99999" "unknown incident message"
expect_exit 1 "severity out of range" "$CTL" trigger --service web \
    --severity 7 --summary x
expect_in "$dir/err" "severity" "severity message"

# usage errors: exit 2
expect_exit 2 "unknown command" "$CTL" frobnicate
expect_exit 2 "missing --service" "$CTL" trigger --severity 1 --summary x
expect_exit 2 "no endpoints" env -u KLAXON_ENDPOINTS "$CTL" list
expect_in "$dir/err" "KLAXON_ENDPOINTS" "no endpoints message"

# on-call commands: help, and usage errors found before any request
for c in apply "config get" oncall heartbeat monitors "maintenance start" \
    "maintenance end" "maintenance list" pages; do
    # shellcheck disable=SC2086
    expect_exit 0 "$c --help" "$CTL" $c --help
    expect_in "$dir/out" "usage: klaxonctl $c" "$c help usage line"
    expect_in "$dir/out" "Example" "$c help examples"
done
# membership commands: help, and usage errors found before any request
for c in "member add" "member remove" "member promote" "member list" \
    "leader transfer"; do
    # shellcheck disable=SC2086
    expect_exit 0 "$c --help" "$CTL" $c --help
    expect_in "$dir/out" "usage: klaxonctl $c" "$c help usage line"
    expect_in "$dir/out" "Example" "$c help examples"
done
expect_exit 2 "member add without address" "$CTL" member add 4
expect_in "$dir/err" "missing RAFT_ADDRESS" "member add usage message"
expect_exit 2 "member remove without id" "$CTL" member remove
expect_exit 1 "member add with a bad role" "$CTL" member add 4 127.0.0.1:1 --role boss
expect_in "$dir/err" "role: must be voter, standby or spare" "bad role message"
expect_exit 0 "help maintenance end" "$CTL" help maintenance end
expect_in "$dir/out" "usage: klaxonctl maintenance end ID" "help of a subcommand"
expect_exit 0 "overview lists subcommands" "$CTL" --help
expect_in "$dir/out" "maintenance start" "overview subcommands"
expect_exit 2 "maintenance without subcommand" "$CTL" maintenance
expect_in "$dir/err" "missing subcommand: start, end or list" "group message"
expect_exit 2 "unknown subcommand" "$CTL" config put
expect_in "$dir/err" "unknown subcommand 'put'" "unknown subcommand message"
expect_exit 2 "apply without -f" "$CTL" apply
expect_in "$dir/err" "-f FILE is required" "apply -f message"
expect_exit 2 "apply of a missing file" "$CTL" apply -f "$dir/none.yaml"
expect_in "$dir/err" "cannot open $dir/none.yaml" "missing file message"
expect_exit 2 "bad --at" "$CTL" oncall --at tomorrow
expect_in "$dir/err" "--at: invalid time 'tomorrow'" "bad time message"
expect_exit 2 "TIME without zone" "$CTL" oncall --at 2026-03-29T01:30:00
expect_exit 2 "--from without --to" "$CTL" oncall --schedule p --from now
expect_exit 2 "range without schedule" "$CTL" oncall --from -2h --to now
expect_exit 2 "bad --end" "$CTL" maintenance start --service db --end 25:00
expect_in "$dir/err" "--end: invalid time '25:00'" "bad end message"
expect_exit 2 "--duration and --end" "$CTL" maintenance start --service db \
    --duration 1h --end +2h
expect_exit 2 "bad --duration" "$CTL" maintenance start --service db \
    --duration 2weeks
expect_exit 2 "ack with ID and token" "$CTL" ack 1 --token abc
expect_exit 2 "heartbeat without name" "$CTL" heartbeat
expect_exit 2 "pages with a bad id" "$CTL" pages x

# on-call configuration against the cluster
ex=deploy/examples/oncall.yaml
expect_exit 0 "apply --dry-run" "$CTL" apply -f "$ex" --dry-run
expect_in "$dir/out" "is valid" "dry-run output"
expect_exit 0 "config get before apply" "$CTL" config get --json
expect_in "$dir/out" '"version":0' "no configuration yet"
expect_exit 0 "apply" "$CTL" apply -f "$ex"
expect_in "$dir/out" "applied configuration version 1" "apply output"
expect_exit 0 "apply again" "$CTL" apply -f - <"$ex"
expect_in "$dir/out" "configuration unchanged (version 1)" "apply is a no-op"
sed 's/^        users: \[alice, charlie, eve, grace\]/        users: [alice, charlie, eve, zed]/' "$ex" >"$dir/bad.yaml"
line=$(grep -n "users: \[alice, charlie, eve, zed\]" "$dir/bad.yaml" | cut -d: -f1)
expect_exit 1 "apply of an unknown user" "$CTL" apply -f "$dir/bad.yaml"
expect_in "$dir/err" "bad.yaml:$line:" "error names file and line"
expect_in "$dir/err" "zed" "error names the unknown user"
expect_exit 0 "config get" "$CTL" config get
expect_in "$dir/out" "# version 1" "config get header"
expect_in "$dir/out" "escalation_rules:" "config get prints the YAML as applied"
expect_exit 0 "oncall" "$CTL" oncall
expect_in "$dir/out" "primary" "oncall lists schedules"
expect_exit 0 "oncall at a time" "$CTL" oncall --schedule primary \
    --at 2026-01-06T12:00:00Z
expect_in "$dir/out" "alice" "week 1 of the primary rotation is alice"
expect_exit 0 "oncall shifts" "$CTL" oncall --schedule primary \
    --from 2026-01-05T08:00:00Z --to 2026-01-26T08:00:00Z --json
expect_in "$dir/out" '"user":"charlie"' "shift list has week 2"
expect_in "$dir/out" '"user":"eve"' "shift list has week 3"
expect_exit 1 "oncall of an unknown schedule" "$CTL" oncall --schedule nope
expect_exit 0 "heartbeat" "$CTL" heartbeat checkout-canary
expect_exit 1 "heartbeat of an unknown monitor" "$CTL" heartbeat nope
expect_exit 0 "monitors" "$CTL" monitors
expect_in "$dir/out" "checkout-canary" "monitors lists the monitor"
expect_exit 0 "maintenance start" "$CTL" maintenance start --service checkout \
    --duration 1h --reason "deploy v2" --by alice
win=$(cat "$dir/out")
expect_exit 0 "maintenance list" "$CTL" maintenance list
expect_in "$dir/out" "deploy v2" "maintenance list shows the window"
expect_exit 0 "trigger in maintenance" "$CTL" trigger --service checkout \
    --severity 1 --summary "during the deploy"
mid=$(cat "$dir/out")
expect_exit 0 "get in maintenance" "$CTL" get "$mid" --json
expect_in "$dir/out" '"maintenance":true' "incident marked as in maintenance"
expect_exit 0 "pages of it" "$CTL" pages "$mid" --json
expect_in "$dir/out" '[]' "nobody paged in maintenance"
expect_exit 0 "maintenance end" "$CTL" maintenance end "$win" --by alice
expect_exit 1 "maintenance end again" "$CTL" maintenance end "$win" --by alice
expect_exit 1 "maintenance of an unknown service" "$CTL" maintenance start \
    --service nope --duration 1h --by alice
expect_exit 0 "trigger after maintenance" "$CTL" trigger --service checkout \
    --severity 1 --summary "after the deploy"
pid=$(cat "$dir/out")
expect_exit 0 "pages" "$CTL" pages "$pid"
expect_in "$dir/out" "webhook" "a page was recorded"
expect_exit 1 "forged token" "$CTL" ack --token k1.AAAA.AAAA
expect_in "$dir/err" "token" "forged token message"

# unreachable cluster: exit 3, within the timeout
expect_exit 3 "unreachable" "$CTL" --endpoints 127.0.0.1:1 --timeout 1s list
# bad TLS files: exit 4
expect_exit 4 "missing CA" "$CTL" --ca "$dir/none.pem" list

# --- the Raft port refuses impostors -----------------------------------------
# raft_handshake CERT ID ADDRESS: speak the node handshake to node 1 with a
# certificate of the cluster CA, claiming node id ID; print the answer byte.
byte() { printf "\\$(printf '%03o' "$1")"; }
raft_handshake() {
    local cert=$1 id=$2 addr=$3
    {
        printf 'KLXR'
        byte 0; byte 0; byte 0; byte 1
        byte 0; byte 0; byte 0; byte 0; byte 0; byte 0; byte 0; byte "$id"
        byte 0; byte "${#addr}"
        printf '%s' "$addr"
        sleep 1
    } | timeout 10 openssl s_client -quiet -tls1_3 \
        -connect "127.0.0.1:$port" -CAfile "$dir/c/tls/ca.pem" \
        -cert "$dir/c/tls/$cert.pem" -key "$dir/c/tls/$cert-key.pem" \
        2>/dev/null | od -An -tu1 | tr -d ' \n'
}
# node 2's certificate claiming to be node 3: refused (identity, code 1)
checks=$((checks + 1))
answer=$(raft_handshake node2 3 "127.0.0.1:$((port + 2))")
[ "$answer" = 1 ] || fail "impostor node got answer '$answer', want 1"
# node 2's own certificate and id but another address: refused (code 3)
checks=$((checks + 1))
answer=$(raft_handshake node2 2 "127.0.0.1:9")
[ "$answer" = 3 ] || fail "wrong address got answer '$answer', want 3"
# a client certificate on the Raft port: no answer at all
checks=$((checks + 1))
answer=$(raft_handshake client-admin 2 "127.0.0.1:$((port + 1))")
[ -z "$answer" ] || fail "client certificate got answer '$answer'"
sleep 0.5
expect_in "$dir/c/node1/klaxond.log" "claims to be node 3 but its certificate is for node-2" \
    "identity refusal logged"

# --- make run: foreground cluster, Ctrl-C stops it cleanly ------------------
deploy/local-cluster.sh stop --dir "$dir/c" >/dev/null 2>&1
# A background job starts with SIGINT ignored; restore the default (as in
# an interactive shell) in a session of its own, like a terminal would.
setsid perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV or die' -- \
    deploy/local-cluster.sh run --nodes 3 --dir "$dir/run" \
    --base-port $((port + 200)) --fast >"$dir/run.out" 2>&1 &
runner=$!
for _ in $(seq 150); do
    grep -q "Ctrl-C" "$dir/run.out" 2>/dev/null && break
    sleep 0.2
done
checks=$((checks + 1))
if grep -q "source $dir/run/env" "$dir/run.out"; then
    # shellcheck disable=SC1091
    (source "$dir/run/env" && "$CTL" list >/dev/null) ||
        fail "the cluster of 'run' does not answer"
else
    fail "'run' did not print the line to paste: $(tail -5 "$dir/run.out")"
fi
kill -INT -- -"$runner" 2>/dev/null
for _ in $(seq 300); do
    kill -0 "$runner" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$runner" 2>/dev/null; then
    fail "'run' still runs 30 s after Ctrl-C"
    kill -TERM -- -"$runner" 2>/dev/null
fi
wait "$runner"
rc=$?
checks=$((checks + 1))
[ "$rc" -eq 0 ] || fail "'run' exited $rc after Ctrl-C"
for i in 1 2 3; do
    checks=$((checks + 1))
    st=$(cat "$dir/run/node$i/exit-status" 2>/dev/null)
    [ "$st" = 0 ] || fail "node$i of 'run' exited with '$st' after Ctrl-C"
done

itest_finish
