#!/usr/bin/env bash
# klaxond under valgrind: a 3-node cluster takes writes, loses its leader
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
cleanup() { deploy/local-cluster.sh stop --dir "$cluster" >/dev/null 2>&1 || true; }
trap cleanup EXIT

port=$((21000 + RANDOM % 8000))
deploy/local-cluster.sh start --nodes 3 --dir "$cluster" --base-port "$port"
# shellcheck disable=SC1091
source "$cluster/env"
for i in $(seq 30); do
    klaxonctl trigger --service "s$((i % 3))" --severity 2 \
        --summary "alert $i" --dedup-key "k$((i % 7))" >/dev/null 2>&1
done
klaxonctl ack 1 --by alice >/dev/null
klaxonctl note 1 --by alice "looking" >/dev/null
klaxonctl resolve 2 --by bob >/dev/null
klaxonctl list --status all >/dev/null
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
trap - EXIT

bad=0
for log in "$dir"/valgrind-*.log; do
    summary=$(grep 'ERROR SUMMARY' "$log" || true)
    if [ -z "$summary" ]; then
        echo "$(basename "$log"): no summary (the node killed with SIGKILL)"
        continue
    fi
    leaks=$(grep -c 'definitely lost\|indirectly lost' "$log" || true)
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
