#!/usr/bin/env bash
# `mpirun -np R chakong simulate`: report.json is byte-identical outside "run" for one process
# with one thread, and for 2 and 4 ranks (oversubscribed beyond this machine's cores); only rank
# 0 writes (one set of files, one summary on stdout); "run" says the ranks.
#   simulate_ranks_test.sh CHAKONG MPIRUN SCENARIO DAYS WORKDIR [--set path=value]...
set -euo pipefail
# Under the asan preset: no leak check in the MPI ranks. OpenMPI leaks from its MCA components,
# which MPI_Finalize unloads before LeakSanitizer runs, so they cannot be suppressed by name;
# the same code of ours runs leak-checked in one process (sim_test, parallel_time_test).
# No effect on an uninstrumented build.
export ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
chakong=$1
mpirun=$2
scenario=$3
days=$4
work=$5
shift 5
flags=(--oversubscribe --bind-to none)
[[ $(id -u) -eq 0 ]] && flags+=(--allow-run-as-root)
rm -rf "$work"
mkdir -p "$work"
outside_run() {
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r.pop("run"); print(json.dumps(r, sort_keys=True))' "$1"
}
"$chakong" simulate "$scenario" --days "$days" --threads 1 --out "$work/one" "$@" >"$work/one.txt" 2>"$work/one.err"
want=$(outside_run "$work/one/report.json")
for np in 2 4; do
  (cd "$work" && "$mpirun" "${flags[@]}" -np "$np" "$chakong" simulate "$scenario" --days "$days" \
     --out "$work/np$np" "$@" >"$work/np$np.txt" 2>"$work/np$np.err") || {
    echo "FAIL: mpirun -np $np exited $?" >&2
    cat "$work/np$np.err" >&2
    exit 1
  }
  got=$(outside_run "$work/np$np/report.json")
  if [[ "$got" != "$want" ]]; then
    echo "FAIL: -np $np: report.json differs outside run from --threads 1" >&2
    diff <(echo "$want" | python3 -m json.tool) <(echo "$got" | python3 -m json.tool) | head -40 >&2
    exit 1
  fi
  ranks=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"]["ranks"])' "$work/np$np/report.json")
  if [[ "$ranks" != "$np" ]]; then
    echo "FAIL: -np $np: run.ranks is $ranks" >&2
    exit 1
  fi
  # run.per_rank: one entry per rank, in rank order; their LPs and events add up to the run's;
  # the institutions are spread from rank 1, so every rank has LPs; the shares are shares.
  python3 - "$work/np$np/report.json" "$np" <<'EOF' || exit 1
import json, sys
run = json.load(open(sys.argv[1]))["run"]
np = int(sys.argv[2])
per = run["per_rank"]
fail = []
if [k["rank"] for k in per] != list(range(np)):
    fail.append("ranks %s" % [k["rank"] for k in per])
if sum(k["logical_processes"] for k in per) != run["logical_processes"]:
    fail.append("LPs %s do not add up to %s" % ([k["logical_processes"] for k in per], run["logical_processes"]))
if sum(k["events"] for k in per) != run["events"]:
    fail.append("events %s do not add up to %s" % ([k["events"] for k in per], run["events"]))
for k in per:
    if k["logical_processes"] < 1 or len(k["thread_wait_share"]) != run["threads"]:
        fail.append("rank %d: %s" % (k["rank"], k))
    for v in [k["barrier_wait_share"], k["collective_wait_share"]] + k["thread_wait_share"]:
        if not 0 <= v <= 1:
            fail.append("rank %d: share %s" % (k["rank"], v))
if fail:
    print("FAIL: -np %d: run.per_rank: %s" % (np, "; ".join(fail)), file=sys.stderr)
    sys.exit(1)
EOF
  # One summary (rank 0's) and nothing written by the others.
  if [[ $(grep -c '^scenario ' "$work/np$np.txt") != 1 ]]; then
    echo "FAIL: -np $np: $(grep -c '^scenario ' "$work/np$np.txt") summaries on stdout" >&2
    exit 1
  fi
  if [[ $(ls "$work" | grep -v -e '^one' -e '^np[24]' | wc -l) != 0 ]]; then
    echo "FAIL: -np $np: unexpected files: $(ls "$work")" >&2
    exit 1
  fi
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["run"]; print("np=%s windows=%s remote_bytes=%s barrier_wait_share=%s per_rank=%s" % (sys.argv[2], r["windows"], r["remote_bytes"], r["barrier_wait_share"], [(k["barrier_wait_share"], k["collective_wait_share"]) for k in r["per_rank"]]))' "$work/np$np/report.json" "$np"
done
echo "PASS"
