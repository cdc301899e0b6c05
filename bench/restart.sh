#!/usr/bin/env bash
# Restart time to ready with many incidents stored (part of bench/run.sh).
#
# Starts a fresh 3-node cluster in DIR (deploy/local-cluster.sh, default
# timeouts), applies deploy/examples/oncall.yaml, and loads N incidents
# with build/restart-bench (service `bench`, which pages nobody; all but
# every 100th resolved right after it opened). Then, one after the other:
#   follower_clean  SIGTERM a follower, start it again
#   follower_kill   SIGKILL a follower, start it again
#   all_clean       SIGTERM all three, start all three at once
# and for each, the time from the start of each restarted process to its
# client port answering and to ready (as /readyz says), its memory then,
# and (all_clean) the time to the first linearizable read. Also the peak
# memory of every node after the load and the size of the data on disk.
# Every result is a JSON line appended to LINES.
#
#   bench/restart.sh --dir DIR --port P --incidents N --lines LINES
#                    [--max-seconds S] [--state-mapped-mb M]
#
# --state-mapped-mb sets the nodes' limits.state_mapped_mb (default:
# klaxond's); the result lines record it as state_mapped_mb (-1: default).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
dir='' port='' incidents='' lines='' max_seconds=900 state_mapped=''
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir=$2; shift ;;
        --port) port=$2; shift ;;
        --incidents) incidents=$2; shift ;;
        --lines) lines=$2; shift ;;
        --max-seconds) max_seconds=$2; shift ;;
        --state-mapped-mb) state_mapped=$2; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "restart.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$dir" ] || [ -z "$port" ] || [ -z "$incidents" ] || [ -z "$lines" ]; then
    echo "restart.sh: --dir, --port, --incidents and --lines are required" >&2
    exit 2
fi
say() { echo "bench: restart: $*" >&2; }
fail() { echo "bench: restart: $*" >&2; exit 1; }
cluster() { deploy/local-cluster.sh "$@" --dir "$dir"; }
trap 'cluster stop >/dev/null 2>&1 || true' EXIT

api() { echo "127.0.0.1:$((port + 100 + $1 - 1))"; }
pid_of() { cat "$dir/node$1/pid"; }

# leader_id or open_incidents, as the leader sees them (a follower learns
# the commit index with the next heartbeat).
status_field() {
    "$BUILD/klaxonctl" --json status | python3 -c '
import json, sys
nodes = json.load(sys.stdin)["nodes"]
n = ([m for m in nodes if m.get("role") == "leader"] or nodes)[0]
print(n["leader_id"] if sys.argv[1] == "leader" else
      n["counters"]["open_incidents"])' "$1"
}

# stopped LABEL T0: how long the stop that began at T0 (date +%s.%N) took.
stopped() {
    awk -v label="$1" -v t0="$2" -v t1="$(date +%s.%N)" 'BEGIN {
        printf "{\"system\":\"klaxon\",\"bench\":\"restart_stop\"," \
            "\"label\":\"%s\",\"stop_ms\":%.1f}\n", label, (t1 - t0) * 1000 }' \
        >>"$lines"
    say "$1: stopped after $(tail -n 1 "$lines" |
        sed 's/.*"stop_ms":\([0-9.]*\).*/\1/') ms"
}

# memory PHASE I...: peak and current RSS of nodes I as JSON lines.
memory() {
    local phase=$1 i
    shift
    for i in "$@"; do
        awk -v phase="$phase" -v node="$i" -v mapped="${state_mapped:--1}" '
            /^VmHWM|^RssAnon|^RssFile/ { v[$1] = $2 }
            END { printf "{\"system\":\"klaxon\",\"bench\":\"restart_memory\"," \
                "\"phase\":\"%s\",\"node\":%d,\"vmhwm_kib\":%d," \
                "\"rss_anon_kib\":%d,\"rss_file_kib\":%d," \
                "\"state_mapped_mb\":%d}\n", phase, node,
                v["VmHWM:"], v["RssAnon:"], v["RssFile:"], mapped }' \
            "/proc/$(pid_of "$i")/status" >>"$lines"
    done
}

# disk I: the sizes of node I's LMDB file and Raft directory (stopped).
disk() {
    python3 - "$dir/node$1/data" "$1" >>"$lines" <<'EOF'
import json, os, sys
data, node = sys.argv[1], int(sys.argv[2])
def walk(d):
    size = alloc = files = 0
    for root, _, names in os.walk(d):
        for n in names:
            st = os.stat(os.path.join(root, n))
            size, alloc, files = size + st.st_size, alloc + st.st_blocks * 512, files + 1
    return size, alloc, files
state = walk(os.path.join(data, "state"))
raft = walk(os.path.join(data, "raft"))
names = os.listdir(os.path.join(data, "raft"))
# snapshot-TERM-INDEX-TIME; closed segments FIRST-LAST (libraft 0.15).
snaps = sorted((int(n.split("-")[2]), n) for n in names
               if n.startswith("snapshot-") and not n.endswith(".meta"))
segs = [tuple(int(x) for x in n.split("-")) for n in names
        if len(n) == 33 and n[16] == "-"]
last = snaps[-1] if snaps else (0, None)
print(json.dumps({
    "system": "klaxon", "bench": "restart_disk", "node": node,
    "state_bytes": state[0], "state_alloc_bytes": state[1],
    "raft_bytes": raft[0], "raft_files": raft[2], "snapshots": len(snaps),
    "snapshot_index": last[0],
    "snapshot_bytes": os.stat(os.path.join(data, "raft", last[1])).st_size
    if last[1] else 0,
    "log_first_index": min((a for a, _ in segs), default=0),
    "log_last_index": max((b for _, b in segs), default=0)}))
EOF
}

# stop_clean I: SIGTERM node I and wait (up to 60 s) until it is gone.
stop_clean() {
    local pid t0
    pid=$(pid_of "$1")
    t0=$(date +%s.%N)
    kill -TERM "$pid"
    for _ in $(seq 1200); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    ! kill -0 "$pid" 2>/dev/null || fail "node$1 (pid $pid) still runs 60 s after SIGTERM"
    rm -f "$dir/node$1/pid"
    stopped follower_clean "$t0"
}

# restart LABEL [--read] I...: start nodes I at once, time them to ready.
restart() {
    local label=$1 read='' i nodes=()
    shift
    if [ "$1" = --read ]; then read=--read; shift; fi
    for i in "$@"; do
        # local-cluster.sh gives up waiting for the port after 30 s; the
        # node runs on and wait-ready has its own timeout.
        cluster restart --node "$i" >>"$dir/restart.log" 2>&1 &
    done
    for i in "$@"; do
        for _ in $(seq 100); do
            [ -s "$dir/node$i/pid" ] && break
            sleep 0.05
        done
        [ -s "$dir/node$i/pid" ] || fail "node$i did not start (see $dir/restart.log)"
        nodes+=(--node "$(api "$i")=$(pid_of "$i")")
    done
    "$BUILD/restart-bench" wait-ready "${nodes[@]}" $read --label "$label" \
        --timeout 300 --json | tee -a "$lines" | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    if "read_ms" in r:
        print("bench: restart: %s: first linearizable read after %.0f ms"
              % (r["label"], r["read_ms"]), file=sys.stderr)
    else:
        print("bench: restart: %s: %s ready after %.0f ms (port after %.0f ms)"
              % (r["label"], r["endpoint"], r["ready_ms"], r["api_ms"]),
              file=sys.stderr)'
    wait
}

# A follower of the current leader.
follower() {
    local leader
    leader=$(status_field leader)
    if [ -z "$leader" ] || [ "$leader" = 0 ]; then
        fail "no leader"
    fi
    echo $((leader % 3 + 1))
}

say "starting a 3-node cluster in $dir"
rm -rf "$dir"
cluster start --nodes 3 --base-port "$port" \
    ${state_mapped:+--state-mapped-mb "$state_mapped"} >/dev/null 2>&1 ||
    fail "the cluster did not start (logs: $dir/node*/klaxond.log)"
# shellcheck disable=SC1091
source "$dir/env"
"$BUILD/klaxonctl" apply -f deploy/examples/oncall.yaml >/dev/null
say "loading $incidents incidents (at most $max_seconds s)"
"$BUILD/restart-bench" load --incidents "$incidents" \
    --max-seconds "$max_seconds" --json >>"$lines" ||
    fail "loading failed"
memory after_load 1 2 3
open=$(status_field open)

f=$(follower)
say "follower_clean: node$f"
stop_clean "$f"
disk "$f"
restart follower_clean "$f"

f=$(follower)
say "follower_kill: node$f"
cluster kill --node "$f" >/dev/null 2>&1
restart follower_kill "$f"

say "all_clean: all three nodes"
t0=$(date +%s.%N)
cluster stop >/dev/null 2>&1
stopped all_clean "$t0"
for i in 1 2 3; do disk "$i"; done
restart all_clean --read 1 2 3
sleep 2
memory after_restart 1 2 3

now=$(status_field open)
[ "$now" = "$open" ] ||
    fail "open incidents before the restarts $open, after $now"
cluster stop >/dev/null 2>&1
