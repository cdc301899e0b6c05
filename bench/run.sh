#!/usr/bin/env bash
# make bench / make bench-compare: start a local 3-node klaxon cluster
# (TLS, fsync on, data on the normal disk under build/bench, the default
# timeouts), drive it with build/klaxon-bench at 1, 16, 64 and 256 requests
# in flight, record each node's peak RSS, and write a table and one JSON
# document to bench/results/. With --compare, run a 3-node etcd with
# mutual TLS in the same run (bench/etcd-cluster.sh, build/etcd-bench) at
# the same levels and print klaxon/etcd ratios.
#
# Then, unless --failover 0, the failover gap: triggers at 16 in flight
# while the leader is SIGKILLed (and restarted) N times (default 5), with
# the default timeouts and again with the fast profile (100 ms / 1 s).
#
# Then, unless --page-rate 0, trigger-to-page latency on a fresh cluster
# (build/page-bench): new incidents at R per second (default 1000) for S
# seconds (--page-seconds, default 10), each paging a webhook receiver on
# 127.0.0.1 at once; the time from the start of each trigger call to the
# arrival of its page. Fails if no page arrived.
#
# Then, unless --restart-incidents 0, restart time with N incidents stored
# (default 1000000) on a fresh cluster (bench/restart.sh): loading them
# (at most --restart-max-seconds, default 900), then a follower stopped
# cleanly, a follower SIGKILLed and all three stopped cleanly, each
# started again and timed to ready, with memory and data size.
#
#   bench/run.sh [--compare] [--seconds S] [--levels 1,16,64,256]
#                [--ops trigger,dedup,ack,get] [--failover N]
#                [--page-rate R] [--page-seconds S]
#                [--restart-incidents N] [--restart-max-seconds S]
#                [--restart-state-mapped-mb M]
#
# --restart-state-mapped-mb sets the restart cluster's
# limits.state_mapped_mb (M = 8 keeps every node's peak RSS under
# 100 MiB with a million incidents, at a cost in write rate; see
# BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
seconds=5
levels=1,16,64,256
ops=trigger,dedup,ack,get
compare=0
kills=5
page_rate=1000
page_seconds=10
restart_incidents=1000000
restart_max_seconds=900
restart_mapped=''
while [ $# -gt 0 ]; do
    case "$1" in
        --compare) compare=1 ;;
        --seconds) seconds=$2; shift ;;
        --levels) levels=$2; shift ;;
        --ops) ops=$2; shift ;;
        --failover) kills=$2; shift ;;
        --page-rate) page_rate=$2; shift ;;
        --page-seconds) page_seconds=$2; shift ;;
        --restart-incidents) restart_incidents=$2; shift ;;
        --restart-max-seconds) restart_max_seconds=$2; shift ;;
        --restart-state-mapped-mb) restart_mapped=$2; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

work=$PWD/$BUILD/bench
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench/results "$work"
out=bench/results/$stamp.json
lines=$work/lines.jsonl
: >"$lines"
cluster=$work/cluster
deploy/local-cluster.sh stop --dir "$cluster" >/dev/null 2>&1 || true
rm -rf "$cluster"
# A random base port, so that two runs (or a test) on one machine do not
# collide; BENCH_PORT fixes it.
port=${BENCH_PORT:-$((21000 + RANDOM % 8000))}
cleanup() {
    deploy/local-cluster.sh stop --dir "$cluster" >/dev/null 2>&1 || true
    [ "$compare" = 0 ] || bench/etcd-cluster.sh stop --dir "$work/etcd" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "bench: starting a 3-node klaxon cluster in $cluster" >&2
deploy/local-cluster.sh start --nodes 3 --dir "$cluster" --base-port "$port" \
    >/dev/null 2>&1
# shellcheck disable=SC1091
source "$cluster/env"
"$BUILD/klaxonctl" apply -f deploy/examples/oncall.yaml >/dev/null

"$BUILD/klaxon-bench" --levels "$levels" --seconds "$seconds" --ops "$ops" \
    --json | tee -a "$lines" >/dev/null

# Peak RSS per node, and what the RSS is made of at the end: anonymous
# memory (the heap) and file pages (LMDB's map, which the kernel may drop).
rss=()
for i in 1 2 3; do
    pid=$(cat "$cluster/node$i/pid")
    rss+=("$(awk '/^VmHWM|^RssAnon|^RssFile/ { printf "%s%s", sep, $2; sep = ":" }' \
        "/proc/$pid/status")")
done
incidents=$("$BUILD/klaxonctl" --json status | python3 -c \
    'import json,sys; print(json.load(sys.stdin)["nodes"][0]["counters"]["open_incidents"])' \
    2>/dev/null || echo unknown)
deploy/local-cluster.sh stop --dir "$cluster" >/dev/null 2>&1

# failover PROFILE [--fast]: the longest stretches without a committed
# trigger while the leader is killed `kills` times.
failover() {
    local profile=$1 fast=${2:-} leader pid
    rm -rf "$cluster"
    deploy/local-cluster.sh start --nodes 3 --dir "$cluster" \
        --base-port "$port" $fast >/dev/null 2>&1
    # shellcheck disable=SC1091
    source "$cluster/env"
    echo "bench: failover ($profile timeouts): $kills leader kills" >&2
    "$BUILD/klaxon-bench" --ops trigger --levels 16 --gaps "$kills" --json \
        --seconds $((kills * 8 + 2)) 2>/dev/null >"$work/failover.jsonl" &
    pid=$!
    for _ in $(seq "$kills"); do
        sleep 4
        leader=$("$BUILD/klaxonctl" --json status |
            sed -n 's/.*"leader_id":\([0-9]*\)}.*/\1/p')
        [ -n "$leader" ] || continue
        deploy/local-cluster.sh kill --dir "$cluster" --node "$leader" >/dev/null
        sleep 4
        deploy/local-cluster.sh restart --dir "$cluster" --node "$leader" \
            >/dev/null 2>&1 || true
    done
    wait "$pid" || true
    grep '"gap_ms"' "$work/failover.jsonl" |
        sed "s/^{/{\"profile\":\"$profile\",/" >>"$lines" || true
    deploy/local-cluster.sh stop --dir "$cluster" >/dev/null 2>&1
}
if [ "$kills" -gt 0 ]; then
    failover default
    failover fast --fast
fi

# Trigger-to-page latency on a fresh cluster: page-bench applies its own
# on-call configuration (a webhook at its receiver) and checks that pages
# arrive.
if [ "$page_rate" != 0 ]; then
    rm -rf "$cluster"
    deploy/local-cluster.sh start --nodes 3 --dir "$cluster" \
        --base-port "$port" >/dev/null 2>&1
    # shellcheck disable=SC1091
    source "$cluster/env"
    echo "bench: trigger-to-page at $page_rate/s for $page_seconds s" >&2
    "$BUILD/page-bench" --rate "$page_rate" --seconds "$page_seconds" \
        --json | tee -a "$lines" >/dev/null
    deploy/local-cluster.sh stop --dir "$cluster" >/dev/null 2>&1
fi

if [ "$restart_incidents" != 0 ]; then
    bench/restart.sh --dir "$cluster" --port "$port" --lines "$lines" \
        --incidents "$restart_incidents" --max-seconds "$restart_max_seconds" \
        ${restart_mapped:+--state-mapped-mb "$restart_mapped"}
fi

if [ "$compare" = 1 ]; then
    echo "bench: starting a 3-node etcd with mutual TLS in $work/etcd" >&2
    rm -rf "$work/etcd"
    bench/etcd-cluster.sh start --dir "$work/etcd" >/dev/null
    # shellcheck disable=SC1091
    . "$work/etcd/cluster.env"
    "$BUILD/etcd-bench" --levels "$levels" --seconds "$seconds" \
        --endpoints "$BENCH_ETCD_ENDPOINTS" --cacert "$BENCH_ETCD_CACERT" \
        --cert "$BENCH_ETCD_CERT" --key "$BENCH_ETCD_KEY" \
        --json 2>/dev/null | tee -a "$lines" >/dev/null
    bench/etcd-cluster.sh stop --dir "$work/etcd" >/dev/null
fi

python3 bench/report.py "$lines" "$out" "$seconds" "$incidents" "${rss[@]}"
echo "bench: results in $out" >&2
