#!/usr/bin/env bash
# The long fuzz run (docs/fuzzing.md): every harness for SECONDS (default
# 1800), two at a time (one a core), each at nice 19 so that it yields the
# machine to anything else. Resumable: a harness whose run finished has
# build-fuzz/long/NAME.done (its closing line) and is skipped when the
# script is started again; its corpus in build-fuzz/corpus/NAME is kept,
# so a harness cut short restarts from what it had found.
# Usage: fuzz/long.sh [SECONDS [NAME...]]  (harnesses from make fuzz)
set -u
secs=${1:-1800}
shift || true
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(npy safetensors model resume png pngdir)
cd "$(dirname "$0")/.."
mkdir -p build-fuzz/long

one() {
    local name=$1
    [ -e "build-fuzz/long/$name.done" ] && { echo "fuzz $name: done before, skipped"; return 0; }
    local started
    started=$(date -u +%FT%TZ)
    nice -n 19 fuzz/run.sh "$secs" "$name" >"build-fuzz/long/$name.out" 2>&1
    local rc=$?
    cp "build-fuzz/fuzz-$name.log" "build-fuzz/long/$name.log"
    { echo "started $started, ended $(date -u +%FT%TZ), status $rc"; cat "build-fuzz/long/$name.out"; } \
        >"build-fuzz/long/$name.done"
    cat "build-fuzz/long/$name.done"
    return $rc
}

failed=0
for ((i = 0; i < ${#names[@]}; i += 2)); do
    one "${names[i]}" &
    a=$!
    b=
    if [ $((i + 1)) -lt ${#names[@]} ]; then one "${names[i + 1]}" & b=$!; fi
    wait $a || failed=1
    [ -z "$b" ] || wait $b || failed=1
done
grep -h '^fuzz .*runs' build-fuzz/long/*.done
exit $failed
