#!/usr/bin/env bash
# Builds every libFuzzer harness and runs each for SECONDS (default 20), one after the other.
#
#   Fuzz/run.sh            # CI-sized: 20 s per harness
#   Fuzz/run.sh 600        # by hand: 10 minutes per harness
#   Fuzz/run.sh 60 JSONFuzz TokenFuzz   # only these harnesses
#
# Exits non-zero when any harness crashed, hung or ran out of memory; the input that did it is
# kept in Fuzz/crashes/<harness>/ (replay: .build-fuzzer/debug/<harness> Fuzz/crashes/<harness>/crash-…).
# Seeds come from Fuzz/corpus/<name>/ and are never written to; what a run finds on top of them
# goes to .build-fuzzer/corpus/<name>/ and is reused by the next run on the same machine.
# Environment: FUZZ_CONFIGURATION=release for faster runs (a slower build), FUZZ_JOBS (default 1)
# to run that many harnesses at once.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
shift || true
all=(TokenFuzz CBORFuzz JSONFuzz FastCGIFuzz ConfigFuzz GatewayFuzz)
harnesses=("${@:-${all[@]}}")
configuration=${FUZZ_CONFIGURATION:-debug}
scratch=.build-fuzzer
jobs=${FUZZ_JOBS:-1}

corpus_name() {
    case $1 in
        TokenFuzz) echo token ;; CBORFuzz) echo cbor ;; JSONFuzz) echo json ;;
        FastCGIFuzz) echo fastcgi ;; ConfigFuzz) echo config ;; GatewayFuzz) echo gateway ;;
        *) echo "unknown harness: $1" >&2; exit 2 ;;
    esac
}

build_started=$SECONDS
for harness in "${harnesses[@]}"; do
    corpus_name "$harness" >/dev/null
    SATMETER_FUZZ=1 swift build -c "$configuration" --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer --product "$harness"
done
echo "fuzz: built ${#harnesses[@]} harness(es) in $((SECONDS - build_started)) s"

bin=$(SATMETER_FUZZ=1 swift build -c "$configuration" --scratch-path "$scratch" --show-bin-path)

# One harness: exit status 0 when it ran out its time without finding anything.
run_one() {
    local harness=$1 name work crashes log status
    name=$(corpus_name "$harness")
    work=$scratch/corpus/$name
    crashes=Fuzz/crashes/$harness
    log=$scratch/logs/$harness.log
    mkdir -p "$work" "$crashes" "$(dirname "$log")"
    # The Swift runtime's own crash handler would pre-empt libFuzzer's, which writes the crash input.
    status=0
    SWIFT_BACKTRACE=enable=no "$bin/$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=16384 -print_final_stats=1 -artifact_prefix="$crashes/" "$work" "Fuzz/corpus/$name" >"$log" 2>&1 || status=$?
    local runs
    runs=$(grep -Eo '^stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo '?')
    if [ "$status" -eq 0 ]; then
        echo "fuzz: $harness: ok, $runs inputs in ${seconds} s"
    else
        echo "fuzz: $harness: FAILED (exit $status); input kept in $crashes/, log $log:"
        grep -E 'Fatal error|property violated|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -20 || tail -20 "$log"
    fi
    return "$status"
}

failed=0
running=0
pids=()
names=()
for harness in "${harnesses[@]}"; do
    run_one "$harness" &
    pids+=($!)
    names+=("$harness")
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait "${pids[0]}" || failed=$((failed + 1))
        pids=("${pids[@]:1}")
        running=$((running - 1))
    fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=$((failed + 1)); done

if [ "$failed" -gt 0 ]; then
    echo "fuzz: $failed harness(es) failed"
    exit 1
fi
echo "fuzz: ${#harnesses[@]} harness(es) ran ${seconds} s each without a crash"
