#!/usr/bin/env bash
# The rank path of sim::ParallelTime: PHOLD under mpirun -np 1, 2 and 4 (oversubscribed beyond
# this machine's cores), with 1 and 2 threads a rank, gives exactly the reference's events and
# checksum (one global event queue) and the same windows and messages every time; so does one
# run on three LP classes (--classes: the per-pair lookahead path, every pair at the lookahead).
#   parallel_time_mpi_test.sh PHOLD_RANKS MPIRUN
set -euo pipefail
# Under the asan preset: no leak check in the MPI ranks. OpenMPI leaks from its MCA components,
# which MPI_Finalize unloads before LeakSanitizer runs, so they cannot be suppressed by name;
# the same code of ours runs leak-checked in one process (sim_test, parallel_time_test).
# No effect on an uninstrumented build.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
tool=$1
mpirun=$2
flags=(--oversubscribe --bind-to none)
[[ $(id -u) -eq 0 ]] && flags+=(--allow-run-as-root)
want=$("$tool" --reference)
echo "reference: $want"
first=""
for np in 1 2 4; do
  for threads in 1 2; do
    out=$("$mpirun" "${flags[@]}" -np "$np" "$tool" --threads "$threads")
    echo "np=$np threads=$threads: $(echo "$out" | tr '\n' ' ')"
    got=$(echo "$out" | sed -n 1p)
    rest=$(echo "$out" | sed -n 2p | sed 's/ ranks=.*//')
    if [[ "$got" != "$want" ]]; then
      echo "FAIL: np=$np threads=$threads gave '$got', the reference '$want'" >&2
      exit 1
    fi
    if [[ "$(echo "$out" | sed -n 2p)" != *"ranks=$np" ]]; then
      echo "FAIL: np=$np ran on $(echo "$out" | sed -n 2p | sed 's/.*ranks=//') ranks" >&2
      exit 1
    fi
    first=${first:-$rest}
    if [[ "$rest" != "$first" ]]; then
      echo "FAIL: np=$np threads=$threads stepped '$rest', the first run '$first'" >&2
      exit 1
    fi
  done
done
out=$("$mpirun" "${flags[@]}" -np 2 "$tool" --threads 1 --classes)
echo "np=2 classes: $(echo "$out" | tr '\n' ' ')"
if [[ "$(echo "$out" | sed -n 1p)" != "$want" ||
      "$(echo "$out" | sed -n 2p | sed 's/ ranks=.*//')" != "$first" ]]; then
  echo "FAIL: np=2 --classes gave '$(echo "$out" | tr '\n' ' ')'" >&2
  exit 1
fi
echo "PASS"
