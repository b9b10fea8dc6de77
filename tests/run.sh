#!/usr/bin/env bash
# Runs every test program in BUILD/tests and prints one closing line,
# "total: N passed, N failed". Exits non-zero if any check or program failed.
set -u
build=${1:-build}
passed=0 failed=0 crashed=0
for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1); rc=$?
    printf '%s\n' "$out" | grep -v '^$' | tail -n 20
    line=$(printf '%s\n' "$out" | grep -E '^[a-z_0-9]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    p=0 f=0
    if [ -n "$line" ]; then
        p=$(printf '%s' "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
        f=$(printf '%s' "$line" | sed -E 's/.* ([0-9]+) failed$/\1/')
    fi
    # A program that died, or failed without counting a failed check, counts once.
    if [ -z "$line" ] || { [ $rc -ne 0 ] && [ "$f" -eq 0 ]; }; then
        echo "$(basename "$t"): exited with status $rc"
        crashed=$((crashed + 1))
    fi
    passed=$((passed + p)); failed=$((failed + f))
done
failed=$((failed + crashed))
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
