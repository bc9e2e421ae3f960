#!/usr/bin/env bash
# Peer baseline: the SimPy model of the district (bench/peers/district_simpy.py) and then
# `chakong simulate scenarios/district.yaml`, back to back; wall time and peak RSS of each
# process, requests simulated, requests/s, and Chakong's requests/s over SimPy's.
#
#   bench/peers/compare.sh [--days N] [--no-library] [--capacity N] [--keep]
#
#   --days N       simulate N days in both (default: the scenario's 365)
#   --no-library   run Chakong on a copy of the scenario without the terminated-case library and
#                  its sweep (the SimPy model has neither): same workload shape on both sides
#   --capacity N   SimPy only: calls each institution serves at once (default 0, unlimited,
#                  like the simulator's default and the scenario, which sets none)
#   --keep         keep the temp dir with both outputs (its path is printed)
#
# Environment: CHAKONG (default build/release/apps/chakong/chakong), PYTHON (default
# /usr/bin/python3, Debian's, where python3-simpy3 installs). Needs python3-simpy3:
# scripts/setup.sh --bench. Uses /usr/bin/time -v when present, else a Python wrapper.
set -euo pipefail

cd "$(dirname "$0")/../.."
chakong=${CHAKONG:-build/release/apps/chakong/chakong}
python=${PYTHON:-/usr/bin/python3}
[[ -x "$python" ]] || python=$(command -v python3 || true)
scenario=scenarios/district.yaml

days=() simpy_args=() no_library=0 keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --days) days=(--days "${2:?--days needs a number}"); shift 2 ;;
    --capacity) simpy_args+=(--capacity "${2:?--capacity needs a number}"); shift 2 ;;
    --no-library) no_library=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

status=$(dpkg-query -W -f='${Status}' python3-simpy3 2>/dev/null || true)
if [[ "$status" != "install ok installed" ]] || [[ -z "$python" ]] ||
   ! "$python" -c 'import simpy' >/dev/null 2>&1; then
  echo "compare.sh: SimPy 3 is not installed (Debian package python3-simpy3, for ${python:-python3})." >&2
  echo "compare.sh: install it with: scripts/setup.sh --bench" >&2
  exit 1
fi
if [[ ! -x "$chakong" ]]; then
  echo "compare.sh: no Chakong binary at $chakong (build it: scripts/build.sh release, or set CHAKONG)" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/chakong-peers.XXXXXX")
if [[ $keep -eq 1 ]]; then echo "compare.sh: outputs in $tmp" >&2; else trap 'rm -rf "$tmp"' EXIT; fi

if [[ $no_library -eq 1 ]]; then
  # Drop the top-level library: and sweep: blocks, then switch the sweep off.
  awk '/^[^ #]/ { skip = ($0 ~ /^(library|sweep):/) } !skip' "$scenario" > "$tmp/district.yaml"
  printf 'sweep: {disabled: true}\n' >> "$tmp/district.yaml"
  scenario=$tmp/district.yaml
fi

# measure NAME CMD...: runs CMD with stdout to $tmp/NAME.out and stderr to $tmp/NAME.err;
# writes "wall_seconds peak_rss_kb" to $tmp/NAME.measure.
measure() {
  local name=$1; shift
  if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -v -o "$tmp/$name.time" "$@" > "$tmp/$name.out" 2> "$tmp/$name.err" ||
      { echo "compare.sh: $name failed: $*" >&2; cat "$tmp/$name.err" >&2; return 1; }
    awk -F': ' '
      /Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
      /Maximum resident set size/ { r = $2 }
      END { print w, r }' "$tmp/$name.time" > "$tmp/$name.measure"
  else
    "$python" -c '
import resource, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
with open(out + ".out", "wb") as o, open(out + ".err", "wb") as e:
    rc = subprocess.call(cmd, stdout=o, stderr=e)
wall = time.perf_counter() - t0
with open(out + ".measure", "w") as f:
    f.write("%.3f %d\n" % (wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc)' "$tmp/$name" "$@" ||
      { echo "compare.sh: $name failed: $*" >&2; cat "$tmp/$name.err" >&2; return 1; }
  fi
}

echo "compare.sh: SimPy model ($python, bench/peers/district_simpy.py ${days[*]} ${simpy_args[*]})" >&2
measure simpy "$python" bench/peers/district_simpy.py "${days[@]}" "${simpy_args[@]}"
echo "compare.sh: $chakong simulate $scenario ${days[*]}" >&2
measure chakong "$chakong" simulate "$scenario" "${days[@]}" --out "$tmp/chakong-out"

"$python" - "$tmp" "$no_library" <<'EOF'
import json, sys
tmp, no_library = sys.argv[1], sys.argv[2] == "1"
def measured(name):
    wall, rss_kb = open("%s/%s.measure" % (tmp, name)).read().split()
    return float(wall), int(rss_kb) * 1024
s = json.loads(open(tmp + "/simpy.out").read().strip().splitlines()[-1])
r = json.load(open(tmp + "/chakong-out/report.json"))
# Engine-side requests of every connector (a hub's members, "via", count checks: left out),
# as bench/scenario_benchmark.cc counts them.
c_requests = sum(c["requests"] for c in r["connectors"] if "via" not in c)
d = r["deadlines"]["control_48h"]
rows = []
for name, what, req, met, missed in (
        ("SimPy %s" % s["simpy"], "%d days, %d cases" % (s["days"], s["cases_received"]),
         s["requests"], s["deadlines_met"], s["deadlines_missed"]),
        ("Chakong", "%d days, %d cases%s" % (r["scenario"]["days"], r["cases"]["filed"],
                                              "" if no_library else " + library sweep"),
         c_requests, d["met"], d["missed"])):
    wall, rss = measured("simpy" if name.startswith("SimPy") else "chakong")
    rows.append((name, what, req, wall, req / wall, rss, met, missed))
print("%-12s %-32s %10s %8s %12s %9s %14s" % ("model", "simulated", "requests", "wall s",
                                             "requests/s", "peak RSS", "48 h met/miss"))
for name, what, req, wall, rps, rss, met, missed in rows:
    print("%-12s %-32s %10d %8.2f %12.0f %6.0f MB %14s" % (name, what, req, wall, rps, rss / 1e6,
                                                          "%d / %d" % (met, missed)))
print("Chakong requests: %d query, %d freeze, %d other; SimPy: %d query, %d freeze" % (
    r["requests"]["query"], r["requests"]["freeze"],
    c_requests - r["requests"]["query"] - r["requests"]["freeze"], s["queries"], s["freezes"]))
print("ratio Chakong requests/s / SimPy requests/s: %.2fx" % (rows[1][4] / rows[0][4]))
EOF
