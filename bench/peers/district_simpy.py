#!/usr/bin/env python3
"""A peer baseline: the core flow of scenarios/district.yaml as a plain SimPy 3.0 model.

What it models (parameters copied from scenarios/district.yaml; fields the file leaves out take
the defaults of docs/scenarios.md):
  - a population of 6,000 debtors: 43 % without property, the others 1 + Poisson(1) bank
    accounts spread over 40 banks by a Zipf law (exponent 1), and by chance real estate (25 %),
    a vehicle (20 %), securities (8 %) and a provident-fund account (35 %);
  - Poisson case arrivals: per_year / 250 a weekday, 5 % of that on Saturdays and Sundays
    (weekdays only: no holiday calendar), received between 09:00 and 17:00; 1..2 debtors a case;
  - a log-normal officer delay (median 1 d, p99 8 d) from receipt to the network query;
  - one query per debtor to every institution (40 banks, real estate, vehicle, securities,
    provident fund): each institution is a SimPy Resource when it has a capacity (the
    scenario sets none, and the simulator's default is 0 = unlimited, so by default no queue),
    with log-normal latency fitted to the scenario's median / p99 per operation
    (sigma = ln(p99 / median) / 2.326, as sim/src/behaviour.cc), and the depository's
    end-of-day intake (weekdays 16:00) before the latency;
  - a freeze request on every asset a query finds, and its 48-hour clock from the answer to
    the freeze's answer: met or missed.
What it leaves out: see docs/performance.md "Peer baseline (bench/peers)".

Prints one line of JSON. Usage: district_simpy.py [--days N] [--seed N] [--capacity N]
"""
import argparse
import json
import math
import random
import resource
import sys
import time

import simpy

HOUR = 1.0  # Model time unit: hours.
DAY = 24 * HOUR

# scenarios/district.yaml (and docs/scenarios.md defaults for what it leaves out).
SCENARIO = {
    "days": 365,
    "start_weekday": 2,  # 2025-01-01 is a Wednesday (0 = Monday).
    "debtors": 6000,
    "no_property_share": 0.43,
    "accounts_per_debtor": 2.0,
    "real_estate_share": 0.25,  # defaults (docs/scenarios.md)
    "vehicle_share": 0.20,
    "securities_share": 0.08,
    "provident_fund_share": 0.35,
    "per_year": 2000,
    "max_debtors_per_case": 2,
    "officer_delay": (1 * DAY, 8 * DAY),
    "banks": 40,
    "zipf": 1.0,
    # kind: (query median, p99), (control median, p99), end-of-day intake hour or None
    "institutions": {
        "bank": ((2 * HOUR, 20 * HOUR), (6 * HOUR, 30 * HOUR), None),
        "real_estate": ((6 * HOUR, 20 * HOUR), (8 * HOUR, 22 * HOUR), None),
        "vehicle": ((3 * HOUR, 12 * HOUR), (6 * HOUR, 20 * HOUR), None),
        "securities": ((1 * HOUR, 3 * HOUR), (1 * HOUR, 3 * HOUR), 16 * HOUR),
        "provident_fund": ((4 * HOUR, 18 * HOUR), (6 * HOUR, 24 * HOUR), None),
    },
    "capacity": 0,  # docs/scenarios.md: institutions[].capacity defaults to 0 (unlimited)
    "control_deadline": 48 * HOUR,
}


def lognormal(rng, median_p99):
    median, p99 = median_p99
    if p99 <= median:
        return median
    sigma = math.log(p99 / median) / 2.326
    return rng.lognormvariate(math.log(median), sigma)


def poisson(rng, lam):
    # Knuth's method; lam is at most ~8 here (cases a working day) and ~1 (extra accounts).
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class Institution:
    def __init__(self, env, name, query, control, eod_hour, capacity, start_weekday):
        self.env = env
        self.name = name
        self.query = query
        self.control = control
        self.eod_hour = eod_hour
        self.start_weekday = start_weekday
        self.resource = simpy.Resource(env, capacity=capacity) if capacity > 0 else None
        self.requests = 0
        self.met = 0
        self.missed = 0

    def next_intake(self, t):
        """The depository takes calls in its end-of-day batch (weekdays at eod_hour)."""
        if self.eod_hour is None:
            return t
        day = int(t // DAY)
        while True:
            batch = day * DAY + self.eod_hour
            if (self.start_weekday + day) % 7 < 5 and batch >= t:
                return batch
            day += 1

    def call(self, rng, latency):
        """One request, from sending to its answer (run inside a process with yield from)."""
        self.requests += 1
        req = None
        if self.resource is not None:
            req = self.resource.request()
            yield req
        at = self.next_intake(self.env.now)
        if at > self.env.now:
            yield self.env.timeout(at - self.env.now)
        yield self.env.timeout(lognormal(rng, latency))
        if req is not None:
            self.resource.release(req)


class Model:
    def __init__(self, days, seed, capacity):
        s = SCENARIO
        self.s = s
        self.days = days
        self.rng = random.Random(seed)
        self.env = simpy.Environment()
        self.insts = []
        for kind, (query, control, eod) in s["institutions"].items():
            n = s["banks"] if kind == "bank" else 1
            for i in range(n):
                name = "bank.b%03d" % (i + 1) if kind == "bank" else kind
                self.insts.append(Institution(self.env, name, query, control, eod, capacity,
                                              s["start_weekday"]))
        self.bank_weights = [1.0 / (k + 1) ** s["zipf"] for k in range(s["banks"])]
        self.by_kind = {kind: next(i for i, x in enumerate(self.insts) if x.name.startswith(kind))
                        for kind in s["institutions"] if kind != "bank"}
        self.debtors = [self.make_debtor() for _ in range(s["debtors"])]
        self.cases_received = 0
        self.cases = 0
        self.debtors_queried = 0
        self.queries = 0
        self.freezes = 0
        self.met = 0
        self.missed = 0
        self.open_clocks = 0

    def make_debtor(self):
        """Assets of one debtor: {institution index: number of assets there}."""
        s, rng, held = self.s, self.rng, {}
        if rng.random() < s["no_property_share"]:
            return held
        accounts = 1 + poisson(rng, max(0.0, s["accounts_per_debtor"] - 1))
        for bank in rng.choices(range(s["banks"]), weights=self.bank_weights, k=accounts):
            held[bank] = held.get(bank, 0) + 1
        for kind in ("provident_fund", "securities", "vehicle", "real_estate"):
            if rng.random() < s[kind + "_share"]:
                held[self.by_kind[kind]] = 1
        return held

    def arrivals(self):
        s, rng, env = self.s, self.rng, self.env
        for day in range(self.days):
            weekday = (s["start_weekday"] + day) % 7 < 5
            n = poisson(rng, s["per_year"] / 250.0 * (1.0 if weekday else 0.05))
            self.cases_received += n
            for _ in range(n):
                received = day * DAY + 9 * HOUR + rng.random() * 8 * HOUR
                nd = 1 + rng.randrange(s["max_debtors_per_case"])
                chosen = {rng.randrange(len(self.debtors)) for _ in range(nd)}
                start = received + lognormal(rng, s["officer_delay"])
                env.process(self.case(start - env.now, chosen))
            yield env.timeout(DAY)

    def case(self, wait, debtors):
        yield self.env.timeout(wait)
        self.cases += 1
        for d in debtors:
            self.debtors_queried += 1
            for i in range(len(self.insts)):
                self.env.process(self.query(i, d))

    def query(self, i, d):
        inst = self.insts[i]
        self.queries += 1
        yield from inst.call(self.rng, inst.query)
        for _ in range(self.debtors[d].get(i, 0)):  # A finding per asset held there.
            self.env.process(self.freeze(inst))

    def freeze(self, inst):
        found = self.env.now
        self.freezes += 1
        self.open_clocks += 1
        yield from inst.call(self.rng, inst.control)
        self.open_clocks -= 1
        if self.env.now - found <= self.s["control_deadline"]:
            self.met += 1
            inst.met += 1
        else:
            self.missed += 1
            inst.missed += 1

    def run(self):
        self.env.process(self.arrivals())
        self.env.run(until=self.days * DAY)


def main():
    t0 = time.perf_counter()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=SCENARIO["days"])
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument("--capacity", type=int, default=SCENARIO["capacity"],
                    help="calls each institution serves at once (0: unlimited, the default)")
    a = ap.parse_args()
    m = Model(a.days, a.seed, a.capacity)
    m.run()
    wall = time.perf_counter() - t0
    requests = m.queries + m.freezes
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    print(json.dumps({
        "model": "district_simpy",
        "simpy": simpy.__version__,
        "python": "%d.%d.%d" % sys.version_info[:3],
        "days": a.days,
        "seed": a.seed,
        "capacity": a.capacity or "unlimited",
        "cases_received": m.cases_received,
        "cases_queried": m.cases,
        "debtors_queried": m.debtors_queried,
        "queries": m.queries,
        "freezes": m.freezes,
        "requests": requests,
        "wall_seconds": round(wall, 3),
        "requests_per_second": round(requests / wall) if wall > 0 else None,
        "peak_rss_bytes": rss,
        "deadlines_met": m.met,
        "deadlines_missed": m.missed,
        "deadlines_open": m.open_clocks,
        "missed_by_kind": {k: sum(i.missed for i in m.insts if i.name.startswith(k))
                           for k in SCENARIO["institutions"]},
        "compliance": round(m.met / (m.met + m.missed), 6) if m.met + m.missed else None,
    }))


if __name__ == "__main__":
    main()
