#!/usr/bin/env bash
# test_mpi — data-parallel training over Open MPI (docs/scaling.md), run
# by `make test` as BUILD/tests/test_mpi. Checks: the plain build refuses
# to run as one of several MPI ranks, saying how to get the MPI build; with
# build-mpi/ssvae (built by `make test` when mpicc is installed), 2 and 3
# ranks (3 splits the batches unevenly) train to the same checkpoint bytes
# as one process with the same seed and global batch, and as the plain
# build; a run whose rank 1 is killed mid-epoch ends with an error and
# leaves its last checkpoint intact, which resumes (with another rank
# count) to the same parameters as a run never stopped.
set -u
build=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$build/.." && pwd)
plain=$build/ssvae
mpi=$root/build-mpi/ssvae
passed=0 failed=0
check() { # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "test_mpi: FAILED: $what" >&2; fi
}
work=$(mktemp -d /tmp/ssvae_mpi_XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMP_NUM_THREADS=1

# The plain build, started as one of two ranks: one line, status 2.
out=$(OMPI_COMM_WORLD_SIZE=2 "$plain" train --data nothing 2>&1); rc=$?
check "plain build under mpirun says how to get the MPI build" \
    test $rc -eq 2 -a "$(printf '%s\n' "$out" | wc -l)" -eq 1
check "the line names make mpi" grep -q "make mpi" <<<"$out"

if ! command -v mpirun >/dev/null || [ ! -x "$mpi" ] || [ -n "${SSVAE_SANITIZED:-}" ]; then
    echo "test_mpi: MPI checks skipped (no mpirun or build-mpi/ssvae, or a sanitizer build)"
    echo "test_mpi: $passed passed, $failed failed"
    [ $failed -eq 0 ]; exit
fi
run() { mpirun --allow-run-as-root --oversubscribe -np "$@"; }

"$plain" generate --frames 61 --size 32 --radius 4 --step 4 --out v >/dev/null
train=(train --data v --batch 7 --lr 0.02 --optim adam --quiet)
"$plain" "${train[@]}" --epochs 4 --save plain.safetensors >/dev/null
"$mpi" "${train[@]}" --epochs 4 --save np1.safetensors >/dev/null
run 2 "$mpi" "${train[@]}" --epochs 4 --save np2.safetensors >/dev/null 2>np2.err
check "np=2 ran" test -f np2.safetensors
run 3 "$mpi" "${train[@]}" --epochs 4 --save np3.safetensors >/dev/null 2>np3.err
check "np=3 ran" test -f np3.safetensors
check "np=1 MPI build = plain build, bit for bit" cmp -s plain.safetensors np1.safetensors
check "np=2 = np=1, bit for bit (losses, parameters, optimiser state)" cmp -s np1.safetensors np2.safetensors
check "np=3 (uneven split) = np=1, bit for bit" cmp -s np1.safetensors np3.safetensors
# the progress line comes from rank 0 alone
run 2 "$mpi" train --data v --batch 7 --epochs 2 --save p.safetensors >p.out 2>p.err
check "one progress line an epoch" test "$(grep -c 'epoch 2/2' p.err)" -eq 1
check "one closing line" test "$(grep -c 'wrote p.safetensors' p.out)" -eq 1
# a command other than train refuses to run on several ranks
run 2 "$mpi" generate --out g >/dev/null 2>g.err; rc=$?
check "generate under mpirun refused" test $rc -ne 0 -a ! -e g
check "and says why" grep -q "only \`ssvae train\` runs across MPI ranks" g.err

# A killed rank: the job ends with an error, the checkpoint stays whole.
"$plain" "${train[@]}" --epochs 60 --save full.safetensors >/dev/null
run 2 sh -c 'echo $$ >pid.$OMPI_COMM_WORLD_RANK; exec "$0" "$@"' "$mpi" "${train[@]}" --epochs 60 \
    --save-every 1 --save kill.safetensors >/dev/null 2>kill.err &
job=$!
for _ in $(seq 200); do [ -f kill.safetensors ] && [ -f pid.1 ] && break; sleep 0.05; done
sleep 0.2
kill -9 "$(cat pid.1)" 2>/dev/null
wait $job; rc=$?
check "the job ends with an error status" test $rc -ne 0
check "mpirun says which rank died" grep -qi "rank 1\|signal 9\|killed" kill.err
# read back: how many epochs it holds (the refusal to train to 0 says)
"$plain" train --data v --quiet --epochs 0 --resume kill.safetensors >/dev/null 2>held.err
held=$(sed -n 's/.*has already trained \([0-9]*\) epochs.*/\1/p' held.err)
check "the killed run's checkpoint loads and was written mid-run (epoch ${held:-?} of 60)" \
    test -n "$held" -a "${held:-0}" -ge 1 -a "${held:-60}" -lt 60
run 3 "$mpi" train --data v --quiet --epochs 60 --resume kill.safetensors >/dev/null 2>resume.err
check "resumed at 3 ranks" test $? -eq 0
check "resumed run = run never stopped, bit for bit" cmp -s full.safetensors kill.safetensors
echo "test_mpi: $passed passed, $failed failed"
[ $failed -eq 0 ]
