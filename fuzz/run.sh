#!/usr/bin/env bash
# Runs libFuzzer harnesses one after the other, each for SECONDS on its
# seed corpus, and fails if any of them finds a crash, a leak, a timeout or
# an out-of-memory. Usage: fuzz/run.sh SECONDS NAME...  (NAME: npy,
# safetensors, model, resume, png; harnesses in build-fuzz/fuzz/, from
# make fuzz).
#
# New inputs the fuzzer finds go to build-fuzz/corpus/NAME (fuzz/corpus/ is
# only read), crashing inputs to build-fuzz/crashes/. Each run prints
# libFuzzer's closing line (executions, coverage "cov", features "ft").
set -u
secs=${1:?usage: fuzz/run.sh SECONDS NAME...}
shift
cd "$(dirname "$0")/.."
failed=0
for name in "$@"; do
    bin=build-fuzz/fuzz/fuzz_$name
    dict=fuzz/$name.dict
    case $name in
    model | resume) dict=fuzz/safetensors.dict ;; # same file format
    pngdir) dict=fuzz/png.dict ;;
    esac
    mkdir -p "build-fuzz/corpus/$name" build-fuzz/crashes
    log=build-fuzz/fuzz-$name.log
    start=$(date +%s)
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -dict="$dict" -artifact_prefix="build-fuzz/crashes/$name-" \
        "build-fuzz/corpus/$name" "fuzz/corpus/$name" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    echo "fuzz $name: $(( $(date +%s) - start )) s, ${runs:-?} runs; ${last:-no status line}"
    if [ $rc -ne 0 ]; then
        echo "fuzz $name: FAILED (status $rc); the end of $log:"
        grep -v '^#[0-9]' "$log" | tail -n 40
        failed=1
    fi
done
exit $failed
