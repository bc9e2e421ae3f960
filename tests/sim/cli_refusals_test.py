#!/usr/bin/env python3
"""The scenario refusals of issue 21 end to end: `chakong simulate` (and `experiment`,
`compare`) on a bad input exits 2 with one line naming the file, the field path and the value,
and runs nothing (its --out directory is not even created). Then what must be accepted: an
explicit zero taken as given, and `--calendar FILE` extending a run past the built-in table.

usage: cli_refusals_test.py CHAKONG WORK_DIR
Exit 0 pass, 1 fail.
"""
import json
import os
import re
import shutil
import subprocess
import sys

BASE = """name: x
days: 10
population: {debtors: 50}
"""
BANK = "institutions: [{kind: bank, name: b}]\n"


def bank(extra):
    return "institutions: [{kind: bank, name: b, %s}]\n" % extra


def memory_gib():
    # As the CLI reads it (sysconf), printed to one decimal.
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30


# (label, scenario text, extra arguments, the one line expected on stderr). F is the file.
CASES = [
    ("NaN", BASE.replace("debtors: 50", "debtors: 50, no_property_share: .nan") + BANK, [],
     "F: population.no_property_share: '.nan' is not a finite number"),
    ("infinite rate (aborted with exit 134 once)", BASE + bank("rate_per_second: .inf"), [],
     "F: institutions[0].rate_per_second: '.inf' is not a finite number"),
    ("rate too high to count (spun forever)", BASE + bank("rate_per_second: 3e9"), [],
     "F: institutions[0].rate_per_second: 3000000000 must be 0 (unlimited) or in "
     "0.00001..1000000 calls a second"),
    ("-.inf", BASE + BANK + "cases: {per_year: -.inf}\n", [],
     "F: cases.per_year: '-.inf' is not a finite number"),
    ("duration beyond bound, days (wrapped to ~5 minutes once)",
     BASE + BANK + "engine: {timeout: 300000000d}\n", [],
     "F: engine.timeout: '300000000d' is longer than 3650d, the longest duration a scenario "
     "takes"),
    ("duration beyond bound, hours", BASE + bank("linger: 87601h"), [],
     "F: institutions[0].linger: '87601h' is longer than 3650d, the longest duration a "
     "scenario takes"),
    ("duration beyond bound, seconds", BASE + BANK + "engine: {deduct_delay: 1e12s}\n", [],
     "F: engine.deduct_delay: '1e12s' is longer than 3650d, the longest duration a scenario "
     "takes"),
    ("hexadecimal integer (yaml-cpp read 16)", BASE + bank("capacity: 0x10"), [],
     "F: institutions[0].capacity: '0x10' is a hexadecimal integer: write integers in decimal "
     "(16)"),
    ("leading zero (yaml-cpp read 010 as 8, YAML 1.2 reads 10)",
     BASE.replace("days: 10", "days: 010") + BANK, [],
     "F: days: '010' has a leading zero, which YAML 1.1 reads as octal (8) and YAML 1.2 as "
     "decimal (10): write 8 or 10"),
    ("duplicate key", BASE + BANK + "days: 20\n", [], "F: days: given twice (lines 2 and 5)"),
    ("duplicate key in a flow mapping",
     BASE + "institutions: [{kind: bank, name: b, count: 2, count: 3}]\n", [],
     "F: institutions[0].count: given twice (lines 4 and 4)"),
    ("outage outside the run",
     BASE + "institutions:\n  - kind: bank\n    name: b\n"
     "    outages: [{instance: 0, start: 2025-03-03T08:00, duration: 30h}]\n", [],
     "F: institutions[0].outages[0].start: '2025-03-03T08:00' for 30h is outside the run "
     "(2025-01-01 for 10 days)"),
    ("outage of an instance that does not exist",
     BASE + "institutions:\n  - kind: bank\n    name: b\n    count: 2\n"
     "    outages: [{instance: 2, start: 2025-01-03T08:00, duration: 30h}]\n", [],
     "F: institutions[0].outages[0].instance: 2 is not an instance of this group (0..1)"),
    ("not a court code", BASE + BANK + "cases: {court: 渝011}\n", [],
     "F: cases.court: '渝011' is not a court code (a province abbreviation, alone or with 2 "
     "or 4 digits: 渝, 渝01, 渝0110; or 最高法)"),
    ("explicit zero is not the default", BASE + BANK + "engine: {shards: 0}\n", [],
     "F: engine.shards: 0 must be in 1..64"),
    ("explicit zero days via --set", BASE + BANK, ["--set", "days=0"],
     "F: days: 0 must be in 1..3660"),
    ("an empty string is not the default", BASE + BANK + "engine: {timeout: ''}\n", [],
     "F: engine.timeout: '' is empty (leave the field out for its default)"),
    ("dates past the calendar",
     BASE.replace("days: 10", "start: 2026-12-25\ndays: 10") + BANK, [],
     "F: days: the run, 2026-12-25 to 2027-01-03, is not all in the working-day calendar "
     "(2024-01-01..2026-12-31): 2027-01-01 is the first day not covered"),
    ("dates before the calendar", BASE.replace("days: 10", "start: 2023-12-30\ndays: 10") + BANK,
     [], "F: start: the run, 2023-12-30 to 2024-01-08, is not all in the working-day calendar "
     "(2024-01-01..2026-12-31): 2023-12-30 is the first day not covered"),
    ("renewal_refusal_rate not a share", BASE + bank("renewal_refusal_rate: 1.5"), [],
     "F: institutions[0].renewal_refusal_rate: 1.5 must be a share in [0, 1]"),
    ("drain_share not a share", BASE + bank("drain_share: -0.25"), [],
     "F: institutions[0].drain_share: -0.25 must be a share in [0, 1]"),
    ("drain_window zero", BASE + bank("drain_share: 0.5, drain_window: 0s"), [],
     "F: institutions[0].drain_window: '0s' must be positive"),
    ("error_rate not a share", BASE + bank("error_rate: 2"), [],
     "F: institutions[0].error_rate: 2 must be a share in [0, 1]"),
    ("--set validated as the file", BASE + BANK, ["--set", "institutions[name=b].capacity=-1"],
     "F: institutions[0].capacity: -1 must be >= 0"),
    ("--set naming nothing", BASE + BANK, ["--set", "institutions[name=z].capacity=1"],
     "F: --set 'institutions[name=z].capacity=1': no item of institutions has name z"),
    ("unknown field", BASE + bank("capacty: 3"), [],
     "F: institutions[0].capacty: unknown field (known here: kind, name, count, latency, hours, "
     "capacity, rate_per_second, max_in_flight, max_batch, linger, outages, error_rate, zipf, "
     "hub, members, malformed_rate, duplicate_rate, renewal_refusal_rate, drain_share, "
     "drain_window)"),
    ("hub mode", BASE + bank("hub: maybe"), [],
     "F: institutions[0].hub: 'maybe' is not members, counted, true or false"),
    ("members of no hub", BASE + bank("members: {capacity: 2}"), [],
     "F: institutions[0].members: only a group with hub: members has members (this one has "
     "hub: false)"),
]


def run(chakong, args, work):
    return subprocess.run([chakong] + args, capture_output=True, text=True, timeout=120,
                          cwd=work)


def main():
    chakong, work = os.path.abspath(sys.argv[1]), sys.argv[2]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    failures = []

    def expect_refused(label, args, line, out_dir):
        r = run(chakong, args, work)
        lines = r.stderr.strip().split("\n")
        if r.returncode != 2:
            failures.append("%s: exit %d, expected 2 (stderr: %s)" % (label, r.returncode,
                                                                     r.stderr.strip()))
        elif lines != [line]:
            failures.append("%s:\n  got      %s\n  expected %s" % (label, r.stderr.strip(), line))
        if out_dir and os.path.exists(os.path.join(work, out_dir)):
            failures.append("%s: refused, yet %s was created (something ran)" % (label, out_dir))

    for i, (label, text, extra, line) in enumerate(CASES):
        name = "s%02d.yaml" % i
        with open(os.path.join(work, name), "w", encoding="utf-8") as f:
            f.write(text)
        out = "out%02d" % i
        expect_refused(label, ["simulate", name, "--out", out] + extra,
                       "chakong simulate: " + line.replace("F", name, 1), out)

    # Debtors beyond the memory: refused with the estimate before anything is allocated.
    with open(os.path.join(work, "big.yaml"), "w", encoding="utf-8") as f:
        f.write("name: big\nstart: 2024-01-01\ndays: 1000\npopulation: {debtors: 100000000}\n"
                "cases: {per_year: 20000000}\n" + BANK)
    # 1e8 x 33.6 B + 1.14e8 accounts x 40 B + 54,794,521 cases x 2.8 KB = 150.3 GiB, named
    # after the cases (142.9 GiB of it).
    expect_refused("debtors beyond memory", ["simulate", "big.yaml", "--out", "big"],
                   "chakong simulate: big.yaml: cases.per_year: 100000000 debtors, 54794521 "
                   "cases and 0 library cases need an estimated 150.3 GiB (at least), more than "
                   "the %.1f GiB of memory here" % memory_gib(), "big")

    # --calendar: a file that does not exist is bad input (exit 2, from the flag's check).
    with open(os.path.join(work, "ok.yaml"), "w", encoding="utf-8") as f:
        f.write(BASE + BANK + "cases: {per_year: 0}\n")
    r = run(chakong, ["simulate", "ok.yaml", "--calendar", "nope.txt", "--out", "cal0"], work)
    if r.returncode != 2 or "nope.txt" not in r.stderr:
        failures.append("--calendar nope.txt: exit %d, stderr %r" % (r.returncode, r.stderr))
    # A calendar file in the wrong format: the file, the line.
    with open(os.path.join(work, "bad_cal.txt"), "w", encoding="utf-8") as f:
        f.write("range 2027-01-01 2027-12-31\nholiday 2027-13-01 bad\n")
    r = run(chakong, ["simulate", "ok.yaml", "--calendar", "bad_cal.txt", "--out", "cal1"], work)
    if r.returncode != 2 or "bad_cal.txt" not in r.stderr or "2027-13-01" not in r.stderr:
        failures.append("--calendar bad_cal.txt: exit %d, stderr %r" % (r.returncode, r.stderr))

    # Experiments refuse a bad variant before any run; compare refuses what it cannot read.
    expect_refused("experiment, bad --vary value",
                   ["experiment", "ok.yaml", "--vary", "population.debtors=10,many",
                    "--replications", "2", "--out", "exp"],
                   "chakong experiment: ok.yaml: population.debtors: 'many' is not a valid int64",
                   None)
    if os.path.exists(os.path.join(work, "exp", "experiment.json")):
        failures.append("experiment, bad --vary value: experiment.json written")
    # --vary over a [field=value] selector (split at the selector's '=' it made
    # "institutions[name=2" a path once) and over YAML values holding commas.
    r = run(chakong, ["experiment", "ok.yaml", "--vary", "institutions[name=b].capacity=1,2,3",
                      "--replications", "2", "--out", "vary"], work)
    if r.returncode != 0:
        failures.append("--vary with a selector: exit %d: %s" % (r.returncode, r.stderr))
    else:
        with open(os.path.join(work, "vary", "experiment.json"), encoding="utf-8") as f:
            sets = [v["set"][-1] for v in json.load(f)["variants"]]
        if sets != ["institutions[name=b].capacity=%d" % n for n in (1, 2, 3)]:
            failures.append("--vary with a selector: variants set %r" % sets)
    r = run(chakong, ["experiment", "ok.yaml", "--vary",
                      "institutions[0].latency.query={median: 1h, p99: 2h},{median: 2h, p99: 5h}",
                      "--replications", "2", "--out", "vary2"], work)
    if r.returncode != 0:
        failures.append("--vary over YAML mappings: exit %d: %s" % (r.returncode, r.stderr))
    else:
        with open(os.path.join(work, "vary2", "experiment.json"), encoding="utf-8") as f:
            n = len(json.load(f)["variants"])
        if n != 2:
            failures.append("--vary over YAML mappings: %d variants, expected 2" % n)
    with open(os.path.join(work, "not.json"), "w", encoding="utf-8") as f:
        f.write("{\"scenario\": ")
    r = run(chakong, ["compare", "not.json", "not.json"], work)
    if r.returncode != 2:
        failures.append("compare of invalid JSON: exit %d, expected 2" % r.returncode)

    # Accepted: an explicit zero is a zero (no cases at all, not the default 2,000 a year) ...
    r = run(chakong, ["simulate", "ok.yaml", "--out", "zero"], work)
    if r.returncode != 0:
        failures.append("per_year: 0: exit %d: %s" % (r.returncode, r.stderr))
    else:
        with open(os.path.join(work, "zero", "report.json"), encoding="utf-8") as f:
            filed = json.load(f)["cases"]["filed"]
        if filed != 0:
            failures.append("per_year: 0: %d cases filed, expected 0" % filed)
    # ... and another year's table in the shipped format carries a run into 2027.
    with open(os.path.join(work, "cn_2027.txt"), "w", encoding="utf-8") as f:
        f.write("# 2027, for the test\nrange 2027-01-01 2027-12-31\nholiday 2027-01-01 元旦\n")
    with open(os.path.join(work, "y2027.yaml"), "w", encoding="utf-8") as f:
        f.write("name: y2027\nstart: 2027-01-01\ndays: 10\npopulation: {debtors: 300}\n" + BANK)
    r = run(chakong, ["simulate", "y2027.yaml", "--out", "y2027"], work)
    if r.returncode != 2 or "2027-01-01 is the first day not covered" not in r.stderr:
        failures.append("2027 without --calendar: exit %d, stderr %r" % (r.returncode, r.stderr))
    r = run(chakong, ["simulate", "y2027.yaml", "--calendar", "cn_2027.txt", "--out", "y2027"],
            work)
    if r.returncode != 0:
        failures.append("2027 with --calendar: exit %d: %s" % (r.returncode, r.stderr))
    else:
        with open(os.path.join(work, "y2027", "report.json"), encoding="utf-8") as f:
            daily = json.load(f)["daily"]
        if not daily or daily[0]["date"] != "2027-01-01" or len(daily) != 10:
            failures.append("2027 with --calendar: daily[] is %r..." % daily[:1])

    # The progress line off a terminal counts events as they run (it read 0.00 M/s once):
    # a month of 2,000 cases a year is over 100,000 events, run in seconds.
    with open(os.path.join(work, "busy.yaml"), "w", encoding="utf-8") as f:
        f.write("name: busy\ndays: 30\npopulation: {debtors: 3000}\ncases: {per_year: 2000}\n"
                "institutions: [{kind: bank, name: b, count: 5}]\n")
    r = run(chakong, ["simulate", "busy.yaml", "--out", "busy"], work)
    m = re.search(r"^chakong simulate: 2025-01-30 100% after \d+ s, (\d+\.\d\d) M events/s$",
                  r.stderr, re.M)
    if r.returncode != 0 or not m or float(m.group(1)) <= 0:
        failures.append("progress: no final line with a non-zero events/s in %r" % r.stderr)

    for f in failures:
        print("FAIL", f)
    if failures:
        return 1
    print("PASS: %d refusals exit 2 with their exact line and run nothing; memory estimate; "
          "--calendar; experiment and compare refuse; per_year: 0 files 0 cases; a 2027 run "
          "with --calendar" % (len(CASES) + 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
