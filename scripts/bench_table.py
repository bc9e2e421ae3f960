#!/usr/bin/env python3
"""Prints each benchmark's throughput next to its same-run baseline, with the ratio.

   bench_table.py [--merge OUT.json] RESULT.json...
--merge also writes every run into one Google Benchmark JSON file (context of the first)."""
import json
import sys

# figure -> baseline (same argument where both take one)
PAIRS = {
    "BM_TimingWheelHold": "BM_PriorityQueueHold",
    "BM_VirtualExecutorHold": "BM_PriorityQueueHold",
    "BM_TimingWheelAddCancel": "BM_MultimapAddCancel",
    "BM_AddWorkingDays": "BM_AddWorkingDaysWalk",
    "BM_DispatcherRoundTrip": "BM_DequeRoundTripBaseline",
    "BM_BankWireRoundTrip": "BM_PlainStructCopyBaseline",
    "BM_WireRoundTrip": "BM_PlainStructCopyBaseline",
    "BM_LedgerReserveCommit": "BM_LedgerUncheckedBaseline",
    "BM_PlanFreezes": "BM_PlanGreedyBaseline",
    "BM_LibraryAdd": "BM_PlainEntriesBaseline",
    "BM_SweepPlan": "BM_SweepPlanPlainBaseline",
    "BM_JournalGroupCommit": "BM_JournalPerChangeSync",
    "BM_DistrictEndToEnd": "BM_EmptyEventLoopBaseline",
    "BM_CityEndToEnd": "BM_EmptyEventLoopBaseline",
}

args = sys.argv[1:]
merge = None
if len(args) >= 2 and args[0] == "--merge":
    merge, args = args[1], args[2:]

rows = {}
merged = None
for path in args:
    data = json.load(open(path))
    if merged is None:
        merged = {"context": data.get("context", {}), "benchmarks": []}
    merged["benchmarks"].extend(data["benchmarks"])
    for b in data["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue
        rows[b["name"]] = b

if merge and merged is not None:
    with open(merge, "w") as out:
        json.dump(merged, out, indent=1)

def per_second(v):
    if not v:
        return "n/a"
    return f"{v / 1e6:.2f} M/s" if v >= 1e5 else f"{v / 1e3:.2f} k/s"

def rate(b):
    if "requests_per_s" in b:
        return b["requests_per_s"]
    if "items_per_second" in b:
        return b["items_per_second"]
    return 1e9 / b["real_time"] if b.get("time_unit") == "ns" else None

print(f"{'benchmark':44} {'figure':>14} {'baseline':>14} {'ratio':>8}")
for name, b in sorted(rows.items()):
    base_name, _, arg = name.partition("/")
    if base_name not in PAIRS:
        continue
    baseline = rows.get(PAIRS[base_name] + ("/" + arg if arg else ""))
    for candidate in (PAIRS[base_name], PAIRS[base_name] + "/real_time"):
        if baseline is None:
            baseline = rows.get(candidate)
    f, g = rate(b), rate(baseline) if baseline else None
    ratio = f"{f / g:7.2f}x" if f and g else "     n/a"
    extra = f"  ({b['bytes_per_deadline']:.0f} B/deadline)" if "bytes_per_deadline" in b else ""
    print(f"{name:44} {per_second(f):>14} {per_second(g):>14} {ratio}{extra}")
