#!/usr/bin/env bash
# Run klaxon's test programs and summarize.
#
#   tests/run.sh [--unit|--integration] [NAME-FILTER]
#
# Environment: BUILD (default build), VALGRIND=1 runs unit tests under
# valgrind, SANITIZE=1 marks a sanitizer build (ASan/UBSan options set),
# JOBS=N runs up to N programs at once (default 1; each cluster test
# picks its own free ports). Each program's output goes to
# $BUILD/test-logs/NAME.log; the tail of a failing one is printed.
set -u
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
VALGRIND=${VALGRIND:-0}
# Tests whose deadlines count retries stretch them under valgrind.
[ "$VALGRIND" = 1 ] && export KLAXON_TEST_SLOW=1
SANITIZE=${SANITIZE:-0}
JOBS=${JOBS:-1}
case "$JOBS" in
'' | *[!0-9]* | 0)
    echo "tests/run.sh: JOBS must be a number >= 1, got '$JOBS'" >&2
    exit 2
    ;;
esac
kind=all
filter=
for a in "$@"; do
    case "$a" in
    --unit) kind=unit ;;
    --integration) kind=integration ;;
    -h | --help)
        sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) filter=$a ;;
    esac
done

export BUILD KLAXON_SRC=$PWD
if [ "$SANITIZE" = 1 ]; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
logs=$BUILD/test-logs
mkdir -p "$logs"

pass=0
fail=0
failed=()
start_all=$(date +%s)

pending=() # programs started and not reported yet

# Run one program; leave its exit status and time in $logs/NAME.done.
exec_one() {
    local name=$1
    shift
    local log=$logs/$name.log
    local t0 t1 rc
    t0=$(date +%s.%N)
    "$@" >"$log" 2>&1
    rc=$?
    t1=$(date +%s.%N)
    echo "$rc $(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" \
        >"$logs/$name.done"
}

# Report the programs that have finished.
collect() {
    local still=() name rc secs log summary
    for name in "${pending[@]}"; do
        if [ ! -f "$logs/$name.done" ]; then
            still+=("$name")
            continue
        fi
        read -r rc secs <"$logs/$name.done"
        rm -f "$logs/$name.done"
        log=$logs/$name.log
        summary=$(grep -E '^\[  (PASSED|FAILED)  \]|test\(s\) run' "$log" | tr '\n' ' ')
        if [ "$rc" -eq 0 ]; then
            pass=$((pass + 1))
            printf '  ok    %-28s %6.1fs  %s\n' "$name" "$secs" "$summary"
        else
            fail=$((fail + 1))
            failed+=("$name")
            printf '  FAIL  %-28s %6.1fs  exit %d  (log: %s)\n' "$name" \
                "$secs" "$rc" "$log"
            tail -n 40 "$log" | sed 's/^/        | /'
        fi
    done
    pending=(${still[@]+"${still[@]}"})
}

run_one() {
    local name=$1
    rm -f "$logs/$name.done"
    pending+=("$name")
    if [ "$JOBS" -eq 1 ]; then
        exec_one "$@"
        collect
        return
    fi
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
        wait -n
        collect
    done
    exec_one "$@" &
}

# Wait for every program started so far and report them all.
drain() {
    wait
    collect
}

if [ "$kind" != integration ]; then
    echo "unit tests ($BUILD/tests/test_*)"
    for t in "$BUILD"/tests/test_*; do
        [ -x "$t" ] || continue
        name=$(basename "$t")
        [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
        if [ "$VALGRIND" = 1 ]; then
            run_one "$name" valgrind -q --leak-check=full \
                --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
                --suppressions=tests/valgrind.supp "$t"
        else
            run_one "$name" "$t"
        fi
    done
fi

if [ "$kind" != integration ] && [ "$VALGRIND" != 1 ] &&
    [[ -z $filter || chaos-checker == *$filter* ]]; then
    echo "chaos checker (chaos/test_checker.py)"
    run_one chaos-checker python3 chaos/test_checker.py
fi

if [ "$kind" != integration ] && [ "$VALGRIND" = 1 ] &&
    [[ -z $filter || valgrind-cluster == *$filter* ]]; then
    echo "klaxond under valgrind"
    run_one valgrind-cluster tests/valgrind-cluster.sh
fi

if [ "$kind" != unit ]; then
    echo "integration tests ($BUILD/tests/itest_*, tests/integration/*.sh)"
    for t in "$BUILD"/tests/itest_* tests/integration/*.sh; do
        [ -x "$t" ] || continue
        name=$(basename "$t")
        [ -n "$filter" ] && [[ $name != *$filter* ]] && continue
        run_one "$name" "$t"
    done
fi

drain
total=$((pass + fail))
echo
printf '%d test program(s), %d passed, %d failed, %ds\n' "$total" "$pass" \
    "$fail" "$(($(date +%s) - start_all))"
if [ $fail -ne 0 ]; then
    printf 'failed: %s\n' "${failed[*]}"
    exit 1
fi
if [ $total -eq 0 ]; then
    echo "no tests found (was the build run?)" >&2
    exit 1
fi
