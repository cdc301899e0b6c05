#!/usr/bin/env bash
# Disk faults injected with libfiu into running nodes while triggers go on.
#
# The nodes run $BUILD/tests/klaxond-faults (server/faults.h) under
# `fiu-run -x`, so failure points are switched on in one process with
# fiu-ctrl:
#   1. the leader's Raft log appends fail (klaxon/raft/append);
#   2. a follower's LMDB commit of an applied entry fails
#      (klaxon/store/commit);
#   3. every pwrite() of a node fails (libfiu's posix/io/rw/pwrite: LMDB's
#      page writes and libraft's; not in sanitizer builds, see below).
# Each time the faulty node must stop (exit status 1, a "fatal" line in its
# log) and the others go on; restarted without the fault it catches up.
# At the end every trigger that was acknowledged exists on every node and
# the three nodes hold the same incidents: nothing acknowledged was lost
# and nothing was half applied.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/lib/itest.sh
. tests/lib/itest.sh
itest_init disk-faults

FAULTS=$PWD/$BUILD/tests/klaxond-faults
for t in fiu-run fiu-ctrl; do
    command -v "$t" >/dev/null || {
        echo "missing $t (deploy/install-deps.sh installs fiu-utils)" >&2
        exit 1
    }
done
[ -x "$FAULTS" ] || {
    echo "missing $FAULTS (make $BUILD/tests/klaxond-faults)" >&2
    exit 1
}
# libfiu's POSIX preload (fiu-run -x) and AddressSanitizer cannot share a
# process (it crashes at start): a sanitizer build runs the klaxon points
# only. ASan also wants to be first in the library list; fiu-run preloads
# libfiu.
posix=-x
if [ "${SANITIZE:-0}" = 1 ]; then
    posix=
    echo "disk-faults: sanitizer build: without libfiu's POSIX points"
fi
cat >"$dir/klaxond" <<EOS
#!/bin/sh
export ASAN_OPTIONS="\${ASAN_OPTIONS:+\$ASAN_OPTIONS:}verify_asan_link_order=0"
exec fiu-run $posix -f "$dir/fiu" "$FAULTS" "\$@"
EOS
chmod +x "$dir/klaxond"
export KLAXOND=$dir/klaxond
itest_start_cluster
trap 'touch "$dir/stop"; wait; itest_cleanup' EXIT
lc() { deploy/local-cluster.sh "$@" --dir "$dir/c" >>"$dir/lc.log" 2>&1; }
node_api() { echo "127.0.0.1:$((port + 100 + $1 - 1))"; }
node_pid() { cat "$dir/c/node$1/pid" 2>/dev/null; }

# The load: numbered triggers, each acknowledged one recorded with its id.
load() {
    local i=0 start=$SECONDS out
    while [ ! -e "$dir/stop" ] && [ $i -lt 2000 ] &&
        [ $((SECONDS - start)) -lt 120 ]; do
        i=$((i + 1))
        if out=$("$CTL" --timeout 15s trigger --service db --severity 3 \
            --summary "load $i" --dedup-key "load-$i" 2>>"$dir/load.err"); then
            echo "$(grep -oE '[0-9]+' <<<"$out" | head -1) load-$i" \
                >>"$dir/acked"
        fi
    done
}
load &

leader() {
    "$CTL" --timeout 5s status --json 2>/dev/null |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(next(n["id"] for n in d["nodes"] if n.get("role")=="leader"))' 2>/dev/null
}
a_follower() {
    local l
    l=$(leader)
    for i in 1 2 3; do [ "$i" != "$l" ] && echo "$i" && return; done
}
acked() { [ -f "$dir/acked" ] && wc -l <"$dir/acked" || echo 0; }

# inject WHAT NODE FAULT: switch FAULT on in NODE, check it stops with
# status 1 within 15 s and that writes go on, then restart it.
inject() {
    local what=$1 n=$2 fault=$3 pid before ok=0
    pid=$(node_pid "$n")
    before=$(acked)
    checks=$((checks + 1))
    fiu-ctrl -f "$dir/fiu" -c "enable name=$fault" "$pid" ||
        fail "$what: fiu-ctrl on node $n (pid $pid)"
    for _ in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || {
            ok=1
            break
        }
        sleep 0.1
    done
    [ "$ok" = 1 ] || fail "$what: node $n still running 15 s after $fault"
    # local-cluster.sh writes the status once it has reaped the process
    for _ in $(seq 50); do
        [ -s "$dir/c/node$n/exit-status" ] && break
        sleep 0.1
    done
    checks=$((checks + 1))
    [ "$(cat "$dir/c/node$n/exit-status" 2>/dev/null)" = 1 ] ||
        fail "$what: node $n exit status '$(cat "$dir/c/node$n/exit-status" 2>/dev/null)', want 1"
    expect_in "$dir/c/node$n/klaxond.log" "comp=node msg=\"fatal: " "$what: fatal logged"
    ok=0
    for _ in $(seq 100); do
        [ "$(acked)" -ge $((before + 10)) ] && ok=1 && break
        sleep 0.1
    done
    checks=$((checks + 1))
    [ "$ok" = 1 ] || fail "$what: writes did not go on ($(acked) acked, $before before)"
    lc restart --node "$n" || fail "$what: restart node $n"
}

for _ in $(seq 100); do [ "$(acked)" -ge 10 ] && break; sleep 0.1; done
l=$(leader)
[ -n "$l" ] || fail "no leader"
inject "leader append" "$l" klaxon/raft/append
inject "follower commit" "$(a_follower)" klaxon/store/commit
if [ -n "$posix" ]; then
    inject "pwrite" "$(a_follower)" posix/io/rw/pwrite
fi
sleep 1
touch "$dir/stop"
wait

# list_all NODE OUT: every incident NODE holds, page by page, as one JSON
# document {"incidents": [...]} in OUT (the load may reach 2,000).
list_all() {
    python3 - "$CTL" "$(node_api "$1")" "$2" <<'EOP'
import json, subprocess, sys
ctl, endpoint, out = sys.argv[1:4]
incidents, before = [], None
while True:
    cmd = [ctl, "--endpoints", endpoint, "--timeout", "5s", "--json", "list",
           "--status", "all", "--limit", "1000", "--stale"]
    if before is not None:
        cmd += ["--before", str(before)]
    page = json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                     text=True).stdout)["incidents"]
    incidents += page
    if len(page) < 1000:
        break
    before = min(int(i["id"]) for i in page)
json.dump({"incidents": incidents}, open(out, "w"))
EOP
}

# Every node: the same incidents, and every acknowledged trigger.
total=$(acked)
echo "disk-faults: $total triggers acknowledged, $(wc -l <"$dir/load.err" 2>/dev/null || echo 0) client error lines"
for n in 1 2 3; do
    ok=0
    for _ in $(seq 100); do
        list_all "$n" "$dir/list$n.json" 2>/dev/null &&
            python3 - "$dir/list$n.json" "$dir/acked" >"$dir/check$n" <<'EOP' && ok=1 && break
import json, sys
inc = json.load(open(sys.argv[1]))["incidents"]
have = {(str(i["id"]), i.get("dedup_key", "")) for i in inc}
acked = {tuple(l.split()) for l in open(sys.argv[2]) if l.strip()}
missing = acked - have
print(len(inc), len(missing), sorted(missing)[:5])
sys.exit(1 if missing else 0)
EOP
        sleep 0.2
    done
    checks=$((checks + 1))
    [ "$ok" = 1 ] || fail "node $n lacks acknowledged triggers: $(cat "$dir/check$n")"
done
checks=$((checks + 1))
norm() { python3 -c 'import json,sys; print(sorted((i["id"],i.get("dedup_key",""),i.get("status")) for i in json.load(open(sys.argv[1]))["incidents"]))' "$1"; }
[ "$(norm "$dir/list1.json")" = "$(norm "$dir/list2.json")" ] &&
    [ "$(norm "$dir/list1.json")" = "$(norm "$dir/list3.json")" ] ||
    fail "the nodes hold different incidents"
checks=$((checks + 1))
[ "$total" -ge 30 ] || fail "only $total triggers acknowledged"

itest_finish
