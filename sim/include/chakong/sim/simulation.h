// The simulator behind `chakong simulate`: a seeded population, case arrivals, the real
// connector adapters over their wire protocols against simulated institutions with their
// behaviours, and the engine, all on one virtual-time executor; then the report.
//
// Determinism: the same config and seed give the same report (apart from `run`), whatever the
// thread count. Each debtor is generated from its own seed (seed, index); the event loop is
// sim::ParallelTime over logical processes (the engine's shards, the institutions), stepped
// by `threads` workers in conservative windows, each LP's events in (time, submission) order
// and messages between LPs in (time, source LP, source sequence) order
// (docs/architecture.md, "Parallel virtual time in the simulator").
#ifndef CHAKONG_SIM_SIMULATION_H_
#define CHAKONG_SIM_SIMULATION_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "chakong/engine/engine.h"
#include "chakong/sim/scenario.h"

namespace chakong::institution {
class Institution;
}  // namespace chakong::institution

namespace chakong::sim {

class Comm;

struct Progress {
  Date date;
  double fraction = 0;  // Of simulated days.
  uint64_t events = 0;
  double wall_seconds = 0;
  // The invariant checks so far (SimulationReport's figures of the same names, before the
  // end-of-run audit), after this day's checks.
  uint64_t over_seizure = 0;
  uint64_t duplicate_measures = 0;
};

struct SimulationOptions {
  // Threads generating the population and stepping the logical processes (on each rank).
  int threads = 1;
  // The ranks of the run (`mpirun -np R chakong simulate`; not owned). Null or one rank: one
  // process. Every rank calls run_simulation() with the same config and options; each builds
  // the whole model and runs its logical processes (the shards on rank 0, the institutions
  // round robin from rank 1); rank 0's report is the run's, the others' are not to be used.
  Comm* comm = nullptr;
  // Called every simulated day from the simulation thread, after that day's checks.
  std::function<void(const Progress&)> on_progress;
  // The daily over-seizure and weekly duplicate-measure checks are incremental: they look at
  // the cases and assets whose measures or budget changed since the last check, and a full
  // pass over every measure audits them once, at the end (a disagreement fails the run).
  // With audit_daily the full pass also runs every day (the default in debug builds).
#ifdef NDEBUG
  bool audit_daily = false;
#else
  bool audit_daily = true;
#endif
  // For tests: called every simulated day just before that day's checks, with the day
  // (0 = the first) and every institution's ground truth, which it may change (to see the
  // checks catch an over-seizure, say).
  std::function<void(int day, const std::vector<institution::Institution*>& institutions)>
      before_checks;
};

// A hub's member with `hub: members` (a queued server): its servers, the batches it took,
// the batches waiting ahead of each at its arrival (p50 and p99, within the histogram's ~9 %
// above 7; the maximum is ConnectorReport::max_queue), the query batches the hub stopped
// waiting for (`members.timeout`), and the 48-hour clocks its findings started (met and missed
// are ConnectorReport's).
struct MemberReport {
  int capacity = 0;  // 0: unlimited.
  uint64_t batches = 0;
  uint64_t queue_p50 = 0, queue_p99 = 0;
  uint64_t timeouts = 0;
  uint64_t control_started = 0;
};

struct ConnectorReport {
  std::string name;
  std::string category;
  uint64_t requests = 0;
  double utilization = 0;  // Busy time / (elapsed x in-flight cap).
  double latency_p50_ms = 0, latency_p99_ms = 0;
  // Mean query turnaround (submission to final answer, retries and queueing included) of the
  // engine's queries; unset for a hub's member (the hub's figure covers its checks).
  std::optional<double> query_turnaround_mean_ms;
  uint64_t max_queue = 0;
  // 48-hour clocks of its findings (a hub's: all its members'; a member's: those of the
  // findings it answered, by the place in the asset's reference).
  uint64_t control_met = 0, control_missed = 0;
  std::string via;                     // A hub's member: the hub's name (requests are then checks).
  std::optional<MemberReport> member;  // A hub's member, with `hub: members`.
};

struct DailyPoint {
  Date date;
  uint64_t filed = 0, concluded = 0, control_met = 0, control_missed = 0;
  uint64_t sweep_swept = 0, sweep_hits = 0;  // Library cases swept, and hits, that day.
};

// An institution's outage from the scenario (report.json's `outages[]`): the institution's
// name (a hub's member: the member's) and the window, end exclusive.
struct OutageReport {
  std::string institution;
  TimeUs start = 0, end = 0;
};

// One rank's share of the parallel kernel's time (report.json: run.per_rank), so that a
// planner sees where parallelism failed: the LPs and events it had, its threads' share of the
// windows spent waiting (barrier_wait_share: all its threads; thread_wait_share: each, 0 the
// calling thread), and the share of its event loop spent in the collectives waiting for the
// other ranks (0 on one rank).
struct RankReport {
  int rank = 0;
  uint32_t lps = 0;
  uint64_t events = 0;
  double barrier_wait_share = 0;
  double collective_wait_share = 0;
  std::vector<double> thread_wait_share;
};

struct SimulationReport {
  std::string name;
  uint64_t seed = 0;
  int days = 0;
  // Wall-clock data (the only part that differs between identical runs).
  double wall_seconds = 0;
  uint64_t events = 0;
  int threads = 1;
  // Parallel virtual time (docs/architecture.md): the processes and logical processes of the
  // run, the windows stepped, the events per window, and the share of the workers' time in
  // windows spent waiting at a window's barrier (for the slowest LP, or for want of work).
  int ranks = 1;
  uint32_t lps = 1;
  uint64_t windows = 0;
  double events_per_window = 0;
  double barrier_wait_share = 0;
  // Bytes the ranks sent each other (the messages of LPs on different ranks, with the
  // kernel's headers), over every rank; 0 on one rank.
  uint64_t remote_bytes = 0;
  // Wall time of the event loop (after the set-up), of the LPs running their events (summed
  // over LPs) and of the days' own work between windows (arrivals, balances, checks): on one
  // thread the rest of the loop is the window protocol. Not in report.json.
  double loop_seconds = 0;
  double step_seconds = 0;
  double day_seconds = 0;
  // LPs with an event in a mean window: the parallelism the model offers. Not in report.json.
  double busy_lps_per_window = 0;
  // The busiest LP's share of the time the LPs spent running their events: with T threads the
  // event loop's speed-up is at most min(T, 1 / busiest_lp_share). In report.json.
  double busiest_lp_share = 0;
  // The LPs' event time over the windows' critical path (per window, the slowest LP's): the
  // event loop's speed-up is at most this however many threads. Not in report.json.
  double window_parallelism = 0;
  // Per rank, in rank order (gathered on rank 0). In report.json.
  std::vector<RankReport> per_rank;
  uint64_t peak_rss_bytes = 0;
  // CPU time of the simulation thread in the invariant checks (daily, weekly, the daily audit
  // when it runs, and the end-of-run audit); not in report.json.
  double checks_seconds = 0;

  engine::EngineStats stats;
  uint64_t cases_open = 0;
  uint64_t control_open = 0;
  uint64_t over_seizure = 0;        // Cases found over budget at a daily check.
  uint64_t duplicate_measures = 0;  // Worst weekly count of (case, asset) duplicates.
  uint64_t institution_lapses = 0;  // Measures that lapsed at the institutions.
  // Cases for which the institutions hold more than the engine's ledger accounts for, or hold
  // anything frozen once the engine has let the case go (checked at the end of the run).
  uint64_t ledger_disagreements = 0;
  // Faults the simulated institutions injected: calls refused (outages, error_rate), replies
  // corrupted (malformed_rate), replies delivered twice (duplicate_rate).
  // Renewals the institutions refused (renewal_refusal_rate) and accounts emptied after a query
  // found them (drain_share).
  struct Faults {
    uint64_t refused = 0, malformed = 0, duplicated = 0;
    uint64_t renewals_refused = 0, drained = 0;
  } faults;
  uint64_t lost_requests = 0;
  // 48-hour clocks of restored (执恢) cases, counted apart so that new cases can be judged
  // alone: a sweep must not crowd out new cases.
  uint64_t restored_control_met = 0, restored_control_missed = 0;
  uint64_t debtors = 0, accounts = 0;
  std::vector<ConnectorReport> connectors;
  std::vector<OutageReport> outages;  // In the scenario's order: group, then outage.
  std::vector<DailyPoint> daily;
  std::vector<engine::SweepRunReport> sweep_runs;
  engine::LibraryStats library;
  std::string sweep_policy;
  TimeUs end = 0;  // The end of the simulated time.
  std::vector<uint64_t>
      time_to_freeze_hours;  // [h] = controls met within [h, h+1) hours; 49 = later.

  // What the run was made from, set by the caller (`chakong simulate`) so that a report alone
  // reproduces the run: the scenario file, its text and the --set overrides (report.json's
  // `inputs`, when `file` is set), and the run's date and the Chakong version (in `run`, with
  // the other wall-clock data).
  struct Inputs {
    std::string file;
    std::string text;
    std::vector<std::string> overrides;
    std::string run_date;  // UTC, "2026-12-02T05:30:00Z".
    std::string version;   // "chakong 0.1.0".
    // The git commit built from, 12 hex digits ("-dirty" after it when tracked files had
    // changes), or "unknown" (not built from a git checkout).
    std::string commit;
  } inputs;
};

[[nodiscard]] StatusOr<SimulationReport> run_simulation(const SimulationConfig& config,
                                                        const SimulationOptions& options);

// report.json: stable field names; `run` holds all wall-clock data. Written with nlohmann-json
// (every string escaped), in the layout it has always had.
std::string report_json(const SimulationReport& r);
// The institutions in the order a planner looks for the bottleneck: most 48-hour misses
// first, then busiest (utilization), then by name.
std::vector<const ConnectorReport*> by_misses(const SimulationReport& r);
// report.html: self-contained (Chart.js inlined), charts a planner reads at a glance, the
// per-institution table, and the inputs; its data in a JSON island (<script
// type="application/json" id="report">, report.json's document); every text HTML-escaped.
std::string report_html(const SimulationReport& r);
// daily.csv and connectors.csv: daily[] and connectors[] of report.json, one row each, with a
// header (RFC 4180: a field with a comma, a quote or a line break is quoted).
std::string daily_csv(const SimulationReport& r);
std::string connectors_csv(const SimulationReport& r);
// members.csv: one row per member of a hub with `hub: members` (name, hub, capacity, checks,
// batches, utilization, queue p50 / p99 / max, latency p50 / p99 in hours, timeouts, 48-hour
// clocks started / met / missed); only the header when the run has none.
std::string members_csv(const SimulationReport& r);

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_SIMULATION_H_
