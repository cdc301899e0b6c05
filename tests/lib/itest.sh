# Sourced by the shell integration tests (tests/integration/*.sh), from the
# repository root: a scratch directory, counted checks, and a 3-node
# cluster on a random base port.
#
#   itest_init NAME          $dir, $failures, $checks, $BUILD, $CTL
#   fail MESSAGE             count a failed check
#   expect_exit CODE WHAT CMD...   run CMD (output in $dir/out, $dir/err)
#   expect_in FILE TEXT WHAT
#   itest_start_cluster      a --fast cluster in $dir/c; sets $port and
#                            sources its env (exits 1 if it cannot)
#   itest_cleanup            stop it; keep $dir only after a failure
#   itest_finish             print the tally; its status is the result
# shellcheck shell=bash

itest_init() {
    ITEST_NAME=$1
    BUILD=${BUILD:-build}
    export BUILD
    CTL=$PWD/$BUILD/klaxonctl
    dir=$(mktemp -d "/tmp/klaxon-$1-XXXXXX")
    failures=0
    checks=0
}

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

expect_exit() {
    local want=$1 what=$2 got
    shift 2
    checks=$((checks + 1))
    "$@" >"$dir/out" 2>"$dir/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        fail "$what: exit $got, want $want; stderr: $(head -c 400 "$dir/err")"
        return 1
    fi
    return 0
}

expect_in() {
    checks=$((checks + 1))
    grep -qF -- "$2" "$1" || fail "$3: \"$2\" not in: $(head -c 600 "$1")"
}

# Another base port when one is taken (local-cluster.sh exit status 3).
itest_start_cluster() {
    local rc
    for _ in 1 2 3; do
        port=$((21000 + RANDOM % 8000))
        deploy/local-cluster.sh start --nodes 3 --dir "$dir/c" \
            --base-port "$port" --fast >"$dir/start.log" 2>&1
        rc=$?
        if [ "$rc" -eq 0 ]; then
            # shellcheck disable=SC1091
            source "$dir/c/env"
            return 0
        fi
        deploy/local-cluster.sh stop --dir "$dir/c" >/dev/null 2>&1
        rm -rf "$dir/c"
        [ "$rc" -eq 3 ] || break
    done
    echo "cannot start a cluster: $(tail -5 "$dir/start.log")" >&2
    exit 1
}

itest_cleanup() {
    deploy/local-cluster.sh stop --dir "$dir/c" >/dev/null 2>&1
    if [ "$failures" -eq 0 ]; then rm -rf "$dir"; fi
}

itest_finish() {
    echo "$ITEST_NAME: $checks checks, $failures failed"
    [ "$failures" -eq 0 ]
}
