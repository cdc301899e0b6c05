#!/usr/bin/env bash
# Run libFuzzer targets built by `make fuzz` and summarize.
#
#   tests/fuzz/run.sh [--seconds N] BUILD_DIR TARGET...
#
# Each target runs for N seconds (default 60) on a fresh copy of its seed
# corpus (tests/fuzz/corpus/TARGET) plus its regression inputs, with
# AddressSanitizer, UBSan and leak detection. Work files and logs go to
# BUILD_DIR/work/TARGET; a crashing input is left there as crash-*,
# leak-* or timeout-*. Exits 1 if any target crashed.
set -u
cd "$(dirname "$0")/../.."

seconds=60
if [ "${1:-}" = --seconds ]; then
    seconds=$2
    shift 2
fi
build=${1:?usage: tests/fuzz/run.sh [--seconds N] BUILD_DIR TARGET...}
shift

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
printf '%-10s %10s %9s %7s %7s %8s  %s\n' target executions 'execs/s' cov ft corpus result
for t in "$@"; do
    work=$build/work/$t
    rm -rf "$work"
    mkdir -p "$work/corpus"
    cp tests/fuzz/corpus/"$t"/* "$work/corpus/" 2>/dev/null
    regress=tests/fuzz/regressions/$t
    [ -d "$regress" ] || regress=
    nice "$build/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
        -artifact_prefix="$work/" "$work/corpus" $regress \
        >"$work/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" |
        tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" |
        tail -n 1)
    last=$(grep -E '^#[0-9]+' "$work/log" | tail -n 1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    units=$(ls "$work/corpus" | wc -l)
    crashes=$(ls "$work" | grep -cE '^(crash|leak|timeout|oom)-')
    if [ $rc -eq 0 ] && [ "$crashes" -eq 0 ]; then
        result=ok
    else
        result="CRASH (exit $rc, $crashes input(s) in $work)"
        failed+=("$t")
    fi
    printf '%-10s %10s %9s %7s %7s %8s  %s\n' "$t" "${execs:-?}" \
        "${rate:-?}" "${cov:-?}" "${ft:-?}" "$units" "$result"
    if [ "$result" != ok ]; then
        grep -E 'ERROR|SUMMARY|^    #[0-9]' "$work/log" | head -n 30 |
            sed 's/^/    | /'
    fi
done
echo
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: crashes in: ${failed[*]} (make each input a regression:" \
        "tests/fuzz/regressions/TARGET/)"
    exit 1
fi
echo "fuzz: ${#} target(s), ${seconds}s each, no crash"
