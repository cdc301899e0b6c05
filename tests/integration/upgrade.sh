#!/usr/bin/env bash
# A rolling upgrade, with a mixed-version cluster in the middle of it.
#
# Node 3 is restarted with $BUILD/tests/klaxond-apply1, a klaxond built to
# apply only what apply version 1 knew (server/version.h); nodes 1 and 2
# run the current release. While the cluster is mixed:
#   - commands that exist in both versions (trigger, ack, note, resolve)
#     work through any node and every node applies them (each node's own
#     state is read with --stale);
#   - a version-2 operation (a status update) is refused with a message
#     naming the node that is too old, and changes nothing;
#   - the old node stays up.
# Then node 3 is upgraded (restarted with the current klaxond): it catches
# up and the status update now succeeds and reaches every node.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/itest.sh
. tests/lib/itest.sh
itest_init upgrade

OLD=$PWD/$BUILD/tests/klaxond-apply1
[ -x "$OLD" ] || {
    echo "missing $OLD (make $BUILD/tests/klaxond-apply1)" >&2
    exit 1
}
itest_start_cluster
trap itest_cleanup EXIT
node_api() { echo "127.0.0.1:$((port + 100 + $1 - 1))"; }
lc() { deploy/local-cluster.sh "$@" --dir "$dir/c" >>"$dir/lc.log" 2>&1; }

# restart_node I [KLAXOND]: stop node I and start it with that binary.
restart_node() {
    lc kill --node "$1" || fail "kill node $1"
    if [ -n "${2:-}" ]; then
        KLAXOND=$2 lc restart --node "$1" || fail "restart node $1 with $2"
    else
        lc restart --node "$1" || fail "restart node $1"
    fi
}

# on_every_node WHAT TEXT CMD...: CMD's output on each node (stale reads)
# contains TEXT, within 10 s.
on_every_node() {
    local what=$1 text=$2 i ok
    shift 2
    for i in 1 2 3; do
        checks=$((checks + 1))
        ok=0
        for _ in $(seq 50); do
            if "$CTL" --endpoints "$(node_api "$i")" --timeout 2s "$@" \
                >"$dir/node.out" 2>&1 && grep -qF -- "$text" "$dir/node.out"; then
                ok=1
                break
            fi
            sleep 0.2
        done
        [ "$ok" = 1 ] || fail "$what on node $i: \"$text\" not in: $(head -c 400 "$dir/node.out")"
    done
}

restart_node 3 "$OLD"
expect_exit 0 "status with an old node" "$CTL" status
grep -qE "^3 +127" "$dir/out" || fail "status does not list node 3: $(cat "$dir/out")"

# Commands both versions know, sent to each node in turn.
expect_exit 0 "trigger" "$CTL" --endpoints "$(node_api 3)" trigger \
    --service web --severity 2 --summary "mixed cluster" --dedup-key mixed-1
id=$(grep -oE '[0-9]+' "$dir/out" | head -1)
[ -n "$id" ] || fail "no incident id in: $(cat "$dir/out")"
expect_exit 0 "ack" "$CTL" --endpoints "$(node_api 2)" ack "$id" --by alice
expect_exit 0 "note" "$CTL" --endpoints "$(node_api 1)" note "$id" --by alice \
    checked the pool
expect_exit 0 "resolve" "$CTL" --endpoints "$(node_api 3)" resolve "$id" \
    --by alice
on_every_node "resolved incident" "checked the pool" get "$id" --stale
on_every_node "resolved status" "resolved" get "$id" --stale

# A version-2 operation while node 3 applies only version 1.
expect_exit 0 "second trigger" "$CTL" trigger --service web --severity 2 \
    --summary "needs an update" --dedup-key mixed-2
id2=$(grep -oE '[0-9]+' "$dir/out" | head -1)
expect_exit 1 "status update refused in a mixed cluster" "$CTL" update \
    "$id2" --by alice --status identified --message "root cause found"
expect_in "$dir/err" "apply version 2" "refusal names the version"
expect_in "$dir/err" "node 3" "refusal names the old node"
cp "$dir/err" "$dir/refusal.txt"

# The same refusal when the old node itself leads: it names itself.
expect_exit 0 "leadership to the old node" "$CTL" leader transfer 3
ok=0
for _ in $(seq 50); do
    "$CTL" status >"$dir/out" 2>&1 && grep -qE "^3 .*leader" "$dir/out" && {
        ok=1
        break
    }
    sleep 0.2
done
checks=$((checks + 1))
[ "$ok" = 1 ] || fail "node 3 did not become leader: $(cat "$dir/out")"
expect_exit 1 "status update refused by an old leader" "$CTL" update \
    "$id2" --by alice --status identified --message "root cause found"
expect_in "$dir/err" "apply version 2" "old leader's refusal names the version"
expect_in "$dir/err" "node 3" "old leader's refusal names itself"
expect_exit 0 "get after refusal" "$CTL" get "$id2"
grep -qF "root cause found" "$dir/out" &&
    fail "the refused status update changed the incident"
[ -n "$(deploy/local-cluster.sh status --dir "$dir/c" 2>/dev/null |
    grep -E '^node3 .* running')" ] || fail "the old node stopped"
checks=$((checks + 1))

# Upgrade node 3: the operation now works and reaches every node.
restart_node 3
ok=0
for _ in $(seq 50); do
    if "$CTL" update "$id2" --by alice --status identified --message "root cause found" \
        >"$dir/out" 2>"$dir/err"; then
        ok=1
        break
    fi
    sleep 0.2
done
checks=$((checks + 1))
[ "$ok" = 1 ] || fail "status update after the upgrade: $(cat "$dir/err")"
on_every_node "status update after upgrade" "root cause found" get "$id2" --stale

itest_finish
