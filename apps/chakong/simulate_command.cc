// `chakong simulate SCENARIO [--seed N] [--out DIR] [--threads N] [--days N] [--set path=value]...`
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "chakong/sim/comm.h"
#include "chakong/sim/scenario.h"
#include "chakong/sim/simulation.h"
#include "commands.h"

namespace chakong::cli {
namespace {

struct SimulateArgs {
  std::string scenario;
  std::string out = "chakong-out";
  uint64_t seed = 0;
  int threads = 0;
  int days = 0;
  std::vector<std::string> set;  // --set path=value, in order.
  std::string calendar;          // --calendar FILE.
};

// --calendar FILE as the override of the scenario's `calendar` field: absolute (the field is
// read relative to the scenario's directory), YAML single-quoted.
std::string calendar_override(const std::string& file) {
  std::string quoted = "'";
  for (char ch : std::filesystem::absolute(file).string()) {
    quoted += ch;
    if (ch == '\'') quoted += '\'';
  }
  return "calendar=" + quoted + "'";
}

bool write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  return static_cast<bool>(f);
}

int run_simulate(const SimulateArgs& a) {
  // Under mpirun the run's processes are its ranks (docs/scenarios.md, "Running over MPI
  // ranks"): each runs its logical processes; rank 0 alone prints and writes the report.
  std::unique_ptr<sim::Comm> comm;
  if (sim::launched_by_mpirun()) {
    StatusOr<std::unique_ptr<sim::Comm>> c = sim::make_mpi_comm();
    if (!c.ok()) {
      fmt::print(stderr, "chakong simulate: started by mpirun, but {}\n", c.status().message());
      return 2;
    }
    comm = std::move(c).value();
  }
  // Every rank reads the same files and finds the same faults: rank 0 says them.
  const bool root = comm == nullptr || comm->rank() == 0;
  std::vector<std::string> overrides = a.set;
  if (!a.calendar.empty()) overrides.push_back(calendar_override(a.calendar));
  StatusOr<v1::Scenario> scenario = sim::load_scenario_file(a.scenario, overrides);
  if (!scenario.ok()) {
    if (root) fmt::print(stderr, "chakong simulate: {}\n", scenario.status().message());
    return 2;
  }
  if (a.seed != 0) scenario->set_seed(a.seed);
  if (a.days != 0) scenario->set_days(a.days);
  StatusOr<sim::SimulationConfig> config = sim::compile_scenario(*scenario, a.scenario);
  if (!config.ok()) {
    if (root) fmt::print(stderr, "chakong simulate: {}\n", config.status().message());
    return 2;
  }
  sim::SimulationOptions options;
  options.threads = a.threads > 0 ? a.threads : 1;
  options.comm = comm.get();
  const int ranks = comm == nullptr ? 1 : comm->size();
  if (!root) {
    // Runs its part and writes nothing; a failure of the run is said by rank 0 too.
    StatusOr<sim::SimulationReport> r = sim::run_simulation(*config, options);
    if (!r.ok()) return 1;
    return 0;
  }
  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  if (ec) {
    // The other ranks are in the run by now: this one runs too, and writes nothing.
    fmt::print(stderr, "chakong simulate: --out '{}': {}\n", a.out, ec.message());
    if (ranks > 1) (void)sim::run_simulation(*config, options);
    return 2;
  }
  const bool tty = isatty(STDERR_FILENO) != 0;
  if (!tty) {
    // Not a terminal (a log, CI): one plain line at every tenth of the run.
    options.on_progress = [last = -1](const sim::Progress& p) mutable {
      const int tenth = static_cast<int>(p.fraction * 10 + 1e-9);
      if (tenth == last) return;
      last = tenth;
      const double eps = p.wall_seconds > 0 ? static_cast<double>(p.events) / p.wall_seconds : 0;
      fmt::print(stderr, "chakong simulate: {} {:3.0f}% after {:.0f} s, {:.2f} M events/s\n",
                 p.date.to_string(), 100 * p.fraction, p.wall_seconds, eps / 1e6);
    };
  } else {
    options.on_progress = [](const sim::Progress& p) {
      const double eps = p.wall_seconds > 0 ? static_cast<double>(p.events) / p.wall_seconds : 0;
      const double eta = p.fraction > 0 ? p.wall_seconds * (1 - p.fraction) / p.fraction : 0;
      fmt::print(stderr, "\r{}  {:5.1f}%  {:>8.2f} M events/s  ETA {:>5.0f} s ", p.date.to_string(),
                 100 * p.fraction, eps / 1e6, eta);
    };
  }
  fmt::print(stderr, "chakong simulate: {} ({} days, seed {}, {} thread{}{})\n", config->name,
             config->days, config->seed, options.threads, options.threads == 1 ? "" : "s",
             ranks == 1 ? "" : fmt::format(" on each of {} ranks", ranks));
  StatusOr<sim::SimulationReport> r = sim::run_simulation(*config, options);
  if (tty) fmt::print(stderr, "\n");
  if (!r.ok()) {
    fmt::print(stderr, "chakong simulate: {}\n", r.status().to_string());
    return 1;
  }
  {
    std::ifstream f(a.scenario, std::ios::binary);
    std::stringstream text;
    text << f.rdbuf();
    r->inputs.file = a.scenario;
    r->inputs.text = text.str();
    r->inputs.overrides = a.set;
    if (a.seed != 0) r->inputs.overrides.push_back("seed=" + std::to_string(a.seed));
    if (a.days != 0) r->inputs.overrides.push_back("days=" + std::to_string(a.days));
    r->inputs.version = kChakongVersion;
    r->inputs.commit = CHAKONG_COMMIT;
    const std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);
    r->inputs.run_date = date;
  }
  const std::filesystem::path dir(a.out);
  // members.csv only for a run with hubs of queued members (`hub: members`).
  const bool has_members =
      std::any_of(r->connectors.begin(), r->connectors.end(),
                  [](const sim::ConnectorReport& c) { return c.member.has_value(); });
  if (!write_file(dir / "report.json", sim::report_json(*r)) ||
      !write_file(dir / "report.html", sim::report_html(*r)) ||
      !write_file(dir / "daily.csv", sim::daily_csv(*r)) ||
      !write_file(dir / "connectors.csv", sim::connectors_csv(*r)) ||
      (has_members && !write_file(dir / "members.csv", sim::members_csv(*r)))) {
    fmt::print(stderr, "chakong simulate: cannot write the report into '{}'\n", a.out);
    return 1;
  }
  const engine::EngineStats& s = r->stats;
  const uint64_t decided = s.control_met + s.control_missed;
  const double compliance =
      decided == 0 ? 100.0
                   : 100.0 * static_cast<double>(s.control_met) / static_cast<double>(decided);
  fmt::print("scenario            {} (seed {}, {} days)\n", r->name, r->seed, r->days);
  fmt::print("population          {} debtors, {} accounts, {} institutions\n", r->debtors,
             r->accounts, r->connectors.size());
  fmt::print("cases               {} filed, {} concluded, {} terminated, {} restored, {} open\n",
             s.cases_filed, s.cases_concluded, s.cases_terminated, s.cases_restored, r->cases_open);
  fmt::print("48-hour control     {:.2f} % ({} met, {} missed, {} not required)\n", compliance,
             s.control_met, s.control_missed, s.control_not_required);
  fmt::print("query timeliness    score {:.1f} ({} within 5 working days, {} later)\n",
             s.query_score(), s.query_within_5wd,
             s.query_within_10wd + s.query_within_22wd + s.query_later);
  fmt::print("preservation start  {} of {} preservation cases within 5 days\n",
             s.preservation_within_5d, s.preservation_started);
  fmt::print("renewals            {} renewed, {} lapsed\n", s.renewed, s.lapsed);
  {
    uint64_t fit = 0, due = 0, swept = 0;
    for (const engine::SweepRunReport& run : r->sweep_runs) {
      fit += run.fit() ? 1 : 0;
      due += run.due;
      swept += run.swept;
    }
    fmt::print(
        "library sweep       {} cases; {} runs ({} within window), {} of {} due swept, "
        "{} hits, {} restored\n",
        r->library.cases, r->sweep_runs.size(), fit, swept, due, s.sweep_hits, s.sweep_restored);
  }
  fmt::print("money               {} claimed, {} frozen, {} deducted\n", format_fen(s.claimed),
             format_fen(s.frozen), format_fen(s.deducted));
  fmt::print(
      "control             {} cases wholly secured ({:.2f} %), {} indivisible assets sealed; "
      "proportionality: {} seals avoided, {} remainders left uncovered ({})\n",
      s.cases_secured,
      s.cases_filed == 0
          ? 0.0
          : 100.0 * static_cast<double>(s.cases_secured) / static_cast<double>(s.cases_filed),
      s.indivisible_sealed, s.seals_avoided, s.remainders_uncovered, format_fen(s.uncovered));
  fmt::print(
      "invariants          over-seizure {}, duplicate measures {}, lapsed {}, "
      "unauthorized {}, lost requests {}, ledger disagreements {}\n",
      r->over_seizure + s.over_seizure, r->duplicate_measures, r->institution_lapses,
      s.unauthorized, r->lost_requests, r->ledger_disagreements);
  if (r->faults.refused + r->faults.malformed + r->faults.duplicated + s.in_doubt_resent +
          r->faults.renewals_refused + r->faults.drained >
      0) {
    fmt::print(
        "faults              {} calls refused, {} replies malformed, {} duplicated; {} "
        "requests in doubt re-sent, {} still in doubt; {} renewals refused, {} accounts "
        "drained after a query\n",
        r->faults.refused, r->faults.malformed, r->faults.duplicated, s.in_doubt_resent,
        s.in_doubt_unresolved, r->faults.renewals_refused, r->faults.drained);
  }
  // Where the bottleneck is: the institutions with the most 48-hour misses.
  {
    const std::vector<const sim::ConnectorReport*> worst = sim::by_misses(*r);
    size_t shown = 0;
    for (const sim::ConnectorReport* c : worst) shown += c->control_missed > 0 ? 1 : 0;
    shown = std::min<size_t>(std::max<size_t>(shown, 3), std::min<size_t>(worst.size(), 10));
    fmt::print("institutions        {:<24} {:>7} {:>6} {:>9} {:>9} {:>6} {:>8} {:>8}\n",
               "(most 48-hour misses)", "missed", "share", "requests", "util", "queue", "p50 h",
               "p99 h");
    for (size_t i = 0; i < shown; ++i) {
      const sim::ConnectorReport& c = *worst[i];
      fmt::print("                    {:<24} {:>7} {:>6} {:>9} {:>8.1f}% {:>6} {:>8.1f} {:>8.1f}\n",
                 c.name, c.control_missed,
                 s.control_missed == 0
                     ? std::string("-")
                     : fmt::format("{:.0f}%", 100.0 * static_cast<double>(c.control_missed) /
                                                  static_cast<double>(s.control_missed)),
                 c.requests, 100 * c.utilization, c.max_queue, c.latency_p50_ms / 3.6e6,
                 c.latency_p99_ms / 3.6e6);
    }
  }
  fmt::print("run                 {:.2f} s wall, {} events ({:.2f} M/s), peak RSS {} MB\n",
             r->wall_seconds, r->events,
             r->wall_seconds > 0 ? static_cast<double>(r->events) / r->wall_seconds / 1e6 : 0.0,
             r->peak_rss_bytes >> 20);
  fmt::print(
      "report              {0}/report.json, {0}/report.html, {0}/daily.csv, "
      "{0}/connectors.csv{1}\n",
      a.out, has_members ? ", " + a.out + "/members.csv" : std::string());
  return 0;
}

}  // namespace

void add_simulate_command(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<SimulateArgs>();  // Freed with the app.
  CLI::App* cmd = app.add_subcommand("simulate", "Simulate a scenario in virtual time and report");
  cmd->add_option("SCENARIO", a->scenario, "scenario file (YAML), e.g. scenarios/district.yaml")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--seed", a->seed, "seed (overrides the scenario's)")->check(CLI::PositiveNumber);
  cmd->add_option("--out", a->out, "directory for report.json and report.html")
      ->capture_default_str();
  cmd->add_option(
         "--threads", a->threads,
         "threads generating the population and stepping the logical processes (default 1)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--days", a->days, "simulated days (overrides the scenario's)")
      ->check(CLI::Range(1, 3660));
  cmd->add_option("--set", a->set,
                  "override a scenario field, validated as the file is: path=value, e.g. "
                  "engine.timeout=2d or institutions[name=b].capacity=8 (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--calendar", a->calendar,
                  "working-day calendar file (docs/domain-types.md format) instead of the "
                  "scenario's or the built-in 2024-2026 table")
      ->check(CLI::ExistingFile);
  cmd->callback([a, &exit_code] { exit_code = run_simulate(*a); });
}

}  // namespace chakong::cli
