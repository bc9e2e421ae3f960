#!/usr/bin/env python3
"""Renders report.html and experiment.html in headless Chromium and checks that every chart is
drawn (each canvas has painted pixels: the page's own self-check, body[data-drawn], counts
them) and that the per-institution and experiment tables have their rows.

usage: render_test.py CHAKONG SOURCE_DIR WORK_DIR
Exit 0 pass, 1 fail, 77 skipped (no Chromium: scripts/setup.sh installs the Debian package).
"""
import json
import os
import re
import shutil
import subprocess
import sys


def chromium():
    for name in ("chromium", "chromium-browser", "chromium-headless-shell"):
        path = shutil.which(name)
        if path:
            return path
    return None


def dump_dom(browser, html):
    out = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--virtual-time-budget=10000", "--window-size=1280,4000", "--dump-dom",
         "file://" + os.path.abspath(html)],
        capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise SystemExit("chromium failed on %s: %s" % (html, out.stderr[-2000:]))
    return out.stdout


def check(dom, name, canvases, table, rows):
    failures = []
    body = re.search(r"<body[^>]*>", dom)
    drawn = re.search(r'data-drawn="(\d+)"', body.group(0)) if body else None
    total = re.search(r'data-canvases="(\d+)"', body.group(0)) if body else None
    if not drawn or not total:
        failures.append("%s: the page's self-check did not run (no data-drawn on body)" % name)
    else:
        if int(total.group(1)) != canvases:
            failures.append("%s: %s canvases, expected %d" % (name, total.group(1), canvases))
        if int(drawn.group(1)) != canvases:
            failures.append("%s: %s of %d charts drawn" % (name, drawn.group(1), canvases))
    if table is None:
        return failures
    m = re.search(r'<table id="%s">(.*?)</table>' % table, dom, re.S)
    if not m:
        failures.append("%s: no table #%s" % (name, table))
    else:
        got = len(re.findall(r"<tr[ >]", m.group(1))) - 1  # Less the heading row.
        if got != rows:
            failures.append("%s: table #%s has %d rows, expected %d" % (name, table, got, rows))
    return failures


def markers(dom, name, canvas, outages, sweeps, labels):
    """The markers chart `canvas` painted (its data-*-markers, set by the page's plugin)."""
    m = re.search(r'<canvas id="%s"[^>]*>' % canvas, dom)
    if not m:
        return ["%s: no canvas #%s" % (name, canvas)]
    tag = m.group(0)
    got = {k: re.search(r'data-%s="([^"]*)"' % k, tag) for k in
           ("outage-markers", "sweep-markers", "marker-labels")}
    if not all(got.values()):
        return ["%s: #%s has no marker counts (the markers plugin did not run)" % (name, canvas)]
    want = {"outage-markers": str(outages), "sweep-markers": str(sweeps),
            "marker-labels": "|".join(labels)}
    return ["%s: #%s %s=%r, expected %r" % (name, canvas, k, got[k].group(1), v)
            for k, v in want.items() if got[k].group(1) != v]


def main():
    chakong, source, work = sys.argv[1:4]
    browser = chromium()
    if browser is None:
        print("SKIP: no chromium (scripts/setup.sh installs it)")
        return 77
    os.makedirs(work, exist_ok=True)
    district = os.path.join(source, "scenarios", "district.yaml")
    subprocess.run([chakong, "simulate", district, "--days", "200", "--out",
                    os.path.join(work, "sim")], check=True, capture_output=True)
    subprocess.run([chakong, "experiment", district, district, "--replications", "2", "--days",
                    "30", "--set", "population.debtors=1500", "--out",
                    os.path.join(work, "exp")], check=True, capture_output=True)
    subprocess.run([chakong, "simulate", os.path.join(source, "scenarios", "outage.yaml"),
                    "--out", os.path.join(work, "outage")], check=True, capture_output=True)
    # A scenario name with a tab and a script in it (issue 21): the page must show it as text,
    # run none of it, and still draw. Were the script run, the title would read "pwned".
    evil = 'tab\there </script><script>document.title="pwned"</script>'
    subprocess.run([chakong, "simulate", district, "--days", "30", "--set",
                    'name="tab\\there </script><script>document.title=\\"pwned\\"</script>"',
                    "--out", os.path.join(work, "evil")], check=True, capture_output=True)
    # The district's banks behind a hub of queued members, one server each (issue 20).
    subprocess.run([chakong, "simulate", district, "--days", "30", "--set",
                    "institutions[name=b].hub=members", "--set",
                    "institutions[name=b].members={capacity: 1}", "--out",
                    os.path.join(work, "hub")], check=True, capture_output=True)
    failures = []
    with open(os.path.join(work, "evil", "report.json"), encoding="utf-8") as f:
        if json.load(f)["scenario"]["name"] != evil:
            failures.append("evil report.json: the name did not survive as data")
    dom = dump_dom(browser, os.path.join(work, "evil", "report.html"))
    shown = evil.replace("<", "&lt;").replace(">", "&gt;")
    if "<title>Chakong report: %s</title>" % shown not in dom:
        m = re.search(r"<title>.*?</title>", dom, re.S)
        failures.append("evil report.html: title is %r, expected the name as text"
                        % (m.group(0) if m else None))
    if "<h1>%s</h1>" % shown not in dom:
        failures.append("evil report.html: the heading does not show the name as text")
    failures += check(dom, "evil report.html", 5, "institutions", 44)
    # run.commit: the commit at configure time (not asserted: it changes with every commit),
    # 12 hex digits and maybe "-dirty", or "unknown" outside a git checkout; shown in the page.
    with open(os.path.join(work, "sim", "report.json"), encoding="utf-8") as f:
        commit = json.load(f)["run"].get("commit")
    if commit is None or not re.fullmatch(r"[0-9a-f]{12}(-dirty)?|unknown", commit):
        failures.append("report.json: run.commit is %r, expected 12 hex digits [-dirty] or "
                        "unknown" % commit)
    # district: 44 institutions; 5 charts (weekly, cumulative, time to freeze, utilization,
    # the sweep's progress: the 1 July run is inside 200 days).
    dom = dump_dom(browser, os.path.join(work, "sim", "report.html"))
    failures += check(dom, "report.html", 5, "institutions", 44)
    if commit is not None and '<code id="commit">%s</code>' % commit not in dom:
        failures.append("report.html: commit %s not shown next to the version" % commit)
    # No outage in the district; the sweeps of 1 January and 1 July both start within 200 days:
    # a band each on the daily and the weekly chart.
    for canvas in ("c1", "c5"):
        failures += markers(dom, "report.html", canvas, 0, 2,
                            ["sweep 2025-01-01", "sweep 2025-07-01"])
    # outage.yaml: bank.b001 down for 30 hours from 10 March, no sweep in its 120 days: one
    # outage band on each of the two daily charts; 4 charts (no sweep chart), 44 institutions.
    dom = dump_dom(browser, os.path.join(work, "outage", "report.html"))
    failures += check(dom, "outage report.html", 4, "institutions", 44)
    for canvas in ("c1", "c5"):
        failures += markers(dom, "outage report.html", canvas, 1, 0, ["bank.b001 down"])
    # The hub: the 5 charts and the members' two (by p99 latency, by utilization); the 20
    # slowest of the 40 members in their table.
    dom = dump_dom(browser, os.path.join(work, "hub", "report.html"))
    failures += check(dom, "hub report.html", 7, "members", 20)
    # An experiment of two variants: 2 charts; the table has the 10 figures that are not an
    # institution's, then the institutions with a miss in either variant.
    dom = dump_dom(browser, os.path.join(work, "exp", "experiment.html"))
    failures += check(dom, "experiment.html", 2, None, 0)
    m = re.search(r'<table id="figures">(.*?)</table>', dom, re.S)
    rows = len(re.findall(r"<tr[ >]", m.group(1))) - 1 if m else -1
    if rows < 10:
        failures.append("experiment.html: %d figure rows, expected at least 10" % rows)
    for f in failures:
        print("FAIL", f)
    if failures:
        return 1
    print("PASS: a <script> in the scenario name shown as text, not run; report.html 5 charts drawn, 44 institution rows, 2 sweep markers per daily "
          "chart; outage report.html 1 outage marker per daily chart; hub report.html 7 charts, 20 "
          "member rows; experiment.html 2 charts "
          "drawn, %d figure rows" % rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
