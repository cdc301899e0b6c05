#!/usr/bin/env bash
# Certificate rotation without downtime, with SIGHUP: a running 3-node
# cluster moves from CA1 to CA2 (bundle CA1+CA2, new node certificates,
# new client certificate, CA1 dropped) while a trigger loop runs; then
# every acknowledged trigger exists, none failed for TLS reasons, a new
# leader is elected over the new certificates, a CA1 client is refused
# and a broken key file changes nothing. Also: log.level takes effect at
# once on SIGHUP, and changes that need a restart are reported, not
# applied.
set -uo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=tests/lib/itest.sh
. tests/lib/itest.sh
itest_init rotate
GEN=deploy/gen-certs.sh

loop_pid=
cleanup() {
    [ -n "$loop_pid" ] && kill "$loop_pid" 2>/dev/null
    itest_cleanup
}
trap cleanup EXIT

itest_start_cluster
tls=$dir/c/tls
ca2=$dir/ca2
api() { echo "127.0.0.1:$((port + 100 + $1 - 1))"; }
https() { echo "https://127.0.0.1:$((port + 200 + $1 - 1))"; }
cfg() { echo "$dir/c/node$1/klaxond.yaml"; }
nlog() { echo "$dir/c/node$1/klaxond.log"; }
pid() { cat "$dir/c/node$1/pid"; }
lines() { wc -l <"$(nlog "$1")"; }

# hup NODE PATTERN WHAT: SIGHUP the node and wait (5 s) for PATTERN in the
# log lines written after the signal; they are left in $dir/hup.log.
hup() {
    local n=$1 from
    checks=$((checks + 1))
    from=$(($(lines "$n") + 1))
    kill -HUP "$(pid "$n")" || {
        fail "$3: cannot signal node $n"
        return 1
    }
    for _ in $(seq 50); do
        tail -n +"$from" "$(nlog "$n")" >"$dir/hup.log"
        grep -qE -- "$2" "$dir/hup.log" && return 0
        sleep 0.1
    done
    fail "$3: /$2/ not logged by node $n after SIGHUP: $(tail -c 600 "$dir/hup.log")"
    return 1
}

# The CA that signed the certificate node N's client port presents now.
served_issuer() {
    openssl s_client -connect "$(api "$1")" -CAfile "$2" \
        -cert "$tls/client-admin.pem" -key "$tls/client-admin-key.pem" \
        </dev/null 2>/dev/null |
        openssl x509 -noout -issuer 2>/dev/null | sed 's/.*CN *= *//'
}
ca_name() { openssl x509 -in "$1" -noout -subject | sed 's/.*CN *= *//'; }

# --- log.level on SIGHUP ------------------------------------------------------
# "api: NAME connected from ..." is logged at debug level.
connected() { grep -c 'level=debug .*comp=api msg="admin connected' "$(nlog 1)"; }
klaxonctl --endpoints "$(api 1)" status >/dev/null
before=$(connected)
[ "$before" -eq 0 ] || fail "debug lines at level info: $before"
sed -i 's/level: info/level: debug/' "$(cfg 1)"
hup 1 'reloaded .* log level debug' "log.level debug"
klaxonctl --endpoints "$(api 1)" status >/dev/null
checks=$((checks + 1))
[ "$(connected)" -ge 1 ] || fail "no debug line right after the SIGHUP to debug"
sed -i 's/level: debug/level: info/' "$(cfg 1)"
hup 1 'reloaded .* log level info' "log.level back to info"
after=$(connected)
klaxonctl --endpoints "$(api 1)" status >/dev/null
checks=$((checks + 1))
[ "$(connected)" -eq "$after" ] || fail "debug lines after the level went back to info"

# --- what needs a restart is reported, not applied ----------------------------
cp "$(cfg 3)" "$dir/node3.yaml"
sed -i 's/election_timeout: .*/election_timeout: 7s/' "$(cfg 3)"
hup 3 'some changes need a restart' "restart-only change"
expect_in "$dir/hup.log" "raft.election_timeout changed" "restart field named"
cp "$dir/node3.yaml" "$(cfg 3)"

# --- the rotation -------------------------------------------------------------
# The client's files, switched by rewriting $dir/client.env (klaxonctl
# reads them on every run).
cp "$tls/ca.pem" "$dir/ca1.pem"
cp "$tls/client-admin.pem" "$dir/ca1-client.pem"
cp "$tls/client-admin-key.pem" "$dir/ca1-client-key.pem"
client_use() {
    printf 'KLAXON_CA=%q\nKLAXON_CERT=%q\nKLAXON_KEY=%q\n' "$1" "$2" "$3" \
        >"$dir/client.env.tmp" && mv "$dir/client.env.tmp" "$dir/client.env"
}
client_use "$dir/ca1.pem" "$dir/ca1-client.pem" "$dir/ca1-client-key.pem"

# A bounded trigger loop: one trigger at a time, each with its own dedup
# key; "OK key id" or "ERR key exit message" per line in $dir/triggers.
trigger_loop() {
    local i=0 rc
    while [ ! -e "$dir/stop" ] && [ "$i" -lt 900 ]; do
        i=$((i + 1))
        # shellcheck disable=SC1091
        . "$dir/client.env"
        KLAXON_CA=$KLAXON_CA KLAXON_CERT=$KLAXON_CERT KLAXON_KEY=$KLAXON_KEY \
            "$CTL" --timeout 15s trigger --service rotation --severity 3 \
            --summary "rotation $i" --dedup-key "rot-$i" \
            >"$dir/t.out" 2>"$dir/t.err"
        rc=$?
        if [ $rc -eq 0 ]; then
            echo "OK rot-$i $(cat "$dir/t.out")"
        else
            echo "ERR rot-$i $rc $(tr '\n' ' ' <"$dir/t.err")"
        fi
        sleep 0.05
    done >"$dir/triggers"
}
trigger_loop &
loop_pid=$!
sleep 1

# 1. A second CA, and a bundle of both on every node and the client.
"$GEN" --dir "$ca2" --ca-dir "$ca2" --nodes 0 --client admin \
    >"$dir/gen.log" 2>&1 || fail "gen-certs.sh: new CA: $(cat "$dir/gen.log")"
cp "$tls/ca.pem" "$tls/bundle.pem"
"$GEN" --dir "$ca2" --ca-dir "$ca2" --nodes 0 --client admin \
    --bundle "$tls/bundle.pem" >"$dir/gen.log" 2>&1 ||
    fail "gen-certs.sh --bundle: $(cat "$dir/gen.log")"
checks=$((checks + 1))
[ "$(grep -c 'BEGIN CERTIFICATE' "$tls/bundle.pem")" = 2 ] ||
    fail "the bundle does not hold two CAs"
for n in 1 2 3; do
    sed -i 's#ca: ../tls/ca.pem#ca: ../tls/bundle.pem#' "$(cfg "$n")"
    hup "$n" 'reloaded .*, 2 CA certificate\(s\) trusted' "bundle on node $n"
done
client_use "$tls/bundle.pem" "$dir/ca1-client.pem" "$dir/ca1-client-key.pem"
sleep 1

# 2. Node certificates (and the admin client's) from CA2, one node at a time.
"$GEN" --dir "$tls" --ca-dir "$ca2" --nodes 3 >"$dir/gen.log" 2>&1 ||
    fail "gen-certs.sh from CA2: $(cat "$dir/gen.log")"
ca1_name=$(ca_name "$dir/ca1.pem")
ca2_name=$(ca_name "$ca2/ca.pem")
for n in 1 2 3; do
    checks=$((checks + 1))
    [ "$(served_issuer "$n" "$tls/bundle.pem")" = "$ca1_name" ] ||
        fail "node $n serves a new certificate before its SIGHUP"
    hup "$n" "reloaded .*CN=node-$n" "new certificate on node $n"
    checks=$((checks + 1))
    got=$(served_issuer "$n" "$tls/bundle.pem")
    [ "$got" = "$ca2_name" ] ||
        fail "node $n serves a certificate of '$got', want '$ca2_name'"
    sleep 1
done

# 3. The client moves to its CA2 certificate.
client_use "$tls/bundle.pem" "$tls/client-admin.pem" "$tls/client-admin-key.pem"
sleep 1

# 4. CA1 leaves the bundles.
cp "$ca2/ca.pem" "$tls/bundle.pem.tmp" && mv "$tls/bundle.pem.tmp" "$tls/bundle.pem"
for n in 1 2 3; do
    hup "$n" 'reloaded .*, 1 CA certificate\(s\) trusted' "CA1 dropped on node $n"
done
client_use "$ca2/ca.pem" "$tls/client-admin.pem" "$tls/client-admin-key.pem"
sleep 2
touch "$dir/stop"
wait "$loop_pid"
loop_pid=
export KLAXON_CA=$ca2/ca.pem KLAXON_CERT=$tls/client-admin.pem \
    KLAXON_KEY=$tls/client-admin-key.pem

# --- every acknowledged trigger exists, none failed for TLS -------------------
acked=$(grep -c '^OK' "$dir/triggers")
errors=$(grep -c '^ERR' "$dir/triggers")
checks=$((checks + 1))
[ "$acked" -ge 20 ] || fail "only $acked triggers acknowledged during the rotation"
checks=$((checks + 1))
if grep -E '^ERR [^ ]+ 4 |tls|TLS|certificate|handshake' "$dir/triggers" >"$dir/tls-errors"; then
    fail "triggers failed for TLS reasons: $(head -c 600 "$dir/tls-errors")"
fi
checks=$((checks + 1))
if grep -E '^ERR [^ ]+ [^3] ' "$dir/triggers" >"$dir/other-errors"; then
    fail "triggers failed other than unavailable: $(head -c 600 "$dir/other-errors")"
fi
klaxonctl --json list --status all --service rotation --limit 1000 \
    >"$dir/list.json" 2>"$dir/err" || fail "list: $(cat "$dir/err")"
missing=$(python3 - "$dir/triggers" "$dir/list.json" <<'EOF'
import json, sys
want = {}
for line in open(sys.argv[1]):
    f = line.split()
    if f and f[0] == "OK":
        want[f[2]] = f[1]
doc = json.load(open(sys.argv[2]))
incs = doc["incidents"] if isinstance(doc, dict) else doc
have = {str(i["id"]): i.get("dedup_key", "") for i in incs}
bad = [f"{k}({v})" for k, v in want.items() if have.get(k) not in (v, "")]
print(" ".join(bad[:20]) if bad else "")
EOF
)
checks=$((checks + 1))
[ -z "$missing" ] || fail "acknowledged triggers missing: $missing"
echo "rotation: $acked triggers acknowledged, $errors retried-out (unavailable)"

# --- a CA1 client is refused, the CA2 one served -----------------------------
expect_exit 0 "CA2 client after the rotation" klaxonctl status
# klaxonctl exits 4 for a TLS problem (the server's alert names it).
KLAXON_CERT=$dir/ca1-client.pem KLAXON_KEY=$dir/ca1-client-key.pem \
    expect_exit 4 "a client with a CA1 certificate is refused" \
    klaxonctl --timeout 3s status
echo "CA1 client: $(head -c 300 "$dir/err")"
curl -sS --cacert "$ca2/ca.pem" "$(https 1)/metrics" >"$dir/metrics" 2>&1 ||
    fail "metrics over the new certificate: $(head -c 300 "$dir/metrics")"
expiry=$(openssl x509 -in "$tls/node1.pem" -noout -enddate | cut -d= -f2)
want_expiry=$(date -d "$expiry" +%s)
expect_in "$dir/metrics" "klaxon_tls_cert_expiry_seconds $want_expiry" "expiry metric"
expect_in "$dir/metrics" "klaxon_tls_ca_certificates 1" "CA count metric"

# --- a broken key changes nothing --------------------------------------------
cp "$tls/node2-key.pem" "$dir/node2-key.pem"
echo "not a key" >"$tls/node2-key.pem"
hup 2 'reload refused, nothing changed: .*tls.key: .*node2-key.pem' "broken key"
expect_exit 0 "node 2 still serves new connections" \
    klaxonctl --endpoints "$(api 2)" get 1 --stale
checks=$((checks + 1))
[ "$(served_issuer 2 "$ca2/ca.pem")" = "$ca2_name" ] ||
    fail "node 2 lost its certificate after a refused reload"
"$GEN" --dir "$dir/other" --nodes 2 >/dev/null 2>&1
cp "$dir/other/node2-key.pem" "$tls/node2-key.pem"
hup 2 'reload refused, nothing changed: .*tls.key: .*does not match' "key of another certificate"
cp "$dir/node2-key.pem" "$tls/node2-key.pem"
# A bundle that does not hold the certificate's CA, another node's
# certificate: refused too.
sed -i 's#ca: ../tls/bundle.pem#ca: ../../other/ca.pem#' "$(cfg 2)"
hup 2 'reload refused, nothing changed: .*tls.cert: .*node2.pem does not verify against tls.ca .*other/ca.pem' \
    "certificate of a CA not in the bundle"
sed -i 's#ca: ../../other/ca.pem#ca: ../tls/bundle.pem#; s#node2.pem#node1.pem#; s#node2-key.pem#node1-key.pem#' "$(cfg 2)"
hup 2 'reload refused, nothing changed: .*is not the certificate of node 2' \
    "another node's certificate"
sed -i 's#node1.pem#node2.pem#; s#node1-key.pem#node2-key.pem#' "$(cfg 2)"
hup 2 'reloaded .*CN=node-2' "node 2 reloads its own files again"
curl -sS --cacert "$ca2/ca.pem" "$(https 2)/metrics" >"$dir/metrics" 2>&1
expect_in "$dir/metrics" 'klaxon_tls_reloads_total{result="refused"} 4' "refusals counted"

# --- Raft still replicates; a new leader over the new certificates ----------
klaxonctl --json status >"$dir/status.json" 2>&1
leader=$(sed -n 's/.*"leader_id":\([0-9]*\)}.*/\1/p' "$dir/status.json")
checks=$((checks + 1))
if [ -z "$leader" ]; then
    fail "no leader after the rotation: $(head -c 300 "$dir/status.json")"
    leader=1
fi
deploy/local-cluster.sh kill --dir "$dir/c" --node "$leader" >/dev/null 2>&1
expect_exit 0 "trigger after the leader was killed" \
    klaxonctl --timeout 30s trigger --service rotation --severity 3 \
    --summary "after the leader" --dedup-key rot-final
final=$(cat "$dir/out")
klaxonctl --json status >"$dir/status.json" 2>&1
new_leader=$(sed -n 's/.*"leader_id":\([0-9]*\)}.*/\1/p' "$dir/status.json")
checks=$((checks + 1))
[ -n "$new_leader" ] && [ "$new_leader" != "$leader" ] ||
    fail "no new leader after killing node $leader: $(head -c 300 "$dir/status.json")"
deploy/local-cluster.sh restart --dir "$dir/c" --node "$leader" >/dev/null 2>&1 ||
    fail "node $leader does not restart with the new certificates"
checks=$((checks + 1))
ok=0
for _ in $(seq 100); do
    if klaxonctl --endpoints "$(api "$leader")" get "$final" --stale \
        >/dev/null 2>&1; then
        ok=1
        break
    fi
    sleep 0.2
done
[ $ok = 1 ] || fail "node $leader did not catch up over the new certificates"

itest_finish
