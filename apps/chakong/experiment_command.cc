// `chakong experiment SCENARIO... [--replications N] [--vary path=v1,v2,...] [--set path=value]...
//  [--find PATH --target METRIC>=VALUE --range LO:HI] [--seed N] [--days N] [--threads N]
//  [--out DIR]` and `chakong compare A B`.
#include <fmt/core.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "chakong/sim/experiment.h"
#include "chakong/sim/scenario.h"
#include "commands.h"

namespace chakong::cli {
namespace {

struct ExperimentArgs {
  std::vector<std::string> scenarios;
  std::string out = "chakong-out";
  int replications = 5;
  std::vector<std::string> set;
  std::string vary;  // path=v1,v2,...
  std::string find, target, range;
  uint64_t seed = 0;
  int days = 0;
  int threads = 0;
  std::string calendar;
};

bool write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
  return static_cast<bool>(f);
}

bool read_file(const std::string& path, std::string* text) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::stringstream ss;
  ss << f.rdbuf();
  *text = ss.str();
  return true;
}

std::string with_ci(const std::string& metric, const sim::Estimate& e) {
  return sim::format_metric(metric, e.mean) + " +- " + sim::format_metric(metric, e.half_width);
}

int run_experiment_command(const ExperimentArgs& a) {
  sim::ExperimentSpec spec;
  spec.replications = a.replications;
  spec.seed = a.seed;
  spec.days = a.days;
  spec.threads = a.threads > 0 ? a.threads
                               : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<std::string> common = a.set;
  if (!a.calendar.empty()) {
    std::string quoted = "'";
    for (char ch : std::filesystem::absolute(a.calendar).string()) {
      quoted += ch;
      if (ch == '\'') quoted += '\'';
    }
    common.push_back("calendar=" + quoted + "'");
  }
  // Variants: every scenario, times every --vary value.
  std::string vary_path;
  std::vector<std::string> vary_values;
  if (!a.vary.empty()) {
    // Split as --set is (a selector's own '=' is in the path: [name=b]), and the values at
    // the commas between them, not those inside a YAML value ({median: 2h, p99: 4h}).
    const std::optional<sim::OverrideParts> parts = sim::split_override(a.vary);
    if (!parts || parts->value.empty()) {
      fmt::print(stderr, "chakong experiment: --vary: '{}' is not path=v1,v2,...\n", a.vary);
      return 2;
    }
    vary_path = parts->path;
    vary_values = sim::split_values(parts->value);
  }
  for (const std::string& file : a.scenarios) {
    const std::string stem = std::filesystem::path(file).stem().string();
    if (vary_values.empty()) {
      spec.variants.push_back({stem, file, common});
      continue;
    }
    for (const std::string& v : vary_values) {
      std::vector<std::string> overrides = common;
      overrides.push_back(vary_path + "=" + v);
      spec.variants.push_back({stem + " " + vary_path + "=" + v, file, overrides});
    }
  }
  const bool tty = isatty(STDERR_FILENO) != 0;
  spec.on_run = [tty](int done, int total, const std::string& variant, uint64_t seed) {
    fmt::print(stderr, "{}chakong experiment: run {} of {} done ({}, seed {}){}", tty ? "\r" : "",
               done, total, variant, seed, tty ? " " : "\n");
  };
  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  if (ec) {
    fmt::print(stderr, "chakong experiment: --out '{}': {}\n", a.out, ec.message());
    return 2;
  }
  const std::filesystem::path dir(a.out);

  if (!a.find.empty()) {
    if (spec.variants.size() != 1) {
      fmt::print(stderr, "chakong experiment: --find searches one scenario, without --vary\n");
      return 2;
    }
    sim::SearchSpec search;
    search.base = spec;
    search.path = a.find;
    StatusOr<sim::Target> target = sim::parse_target(a.target);
    if (!target.ok()) {
      fmt::print(stderr, "chakong experiment: {}\n", target.status().message());
      return 2;
    }
    search.target = *target;
    if (!a.range.empty()) {
      long long lo = 0, hi = 0;
      char colon = 0, extra = 0;
      if (std::sscanf(a.range.c_str(), "%lld%c%lld%c", &lo, &colon, &hi, &extra) != 3 ||
          colon != ':') {
        fmt::print(stderr, "chakong experiment: --range: '{}' is not LO:HI\n", a.range);
        return 2;
      }
      search.lo = lo;
      search.hi = hi;
    }
    fmt::print(stderr, "chakong experiment: smallest {} in [{}, {}] with {}, {} replications\n",
               search.path, search.lo, search.hi, a.target, spec.replications);
    StatusOr<sim::SearchResult> r = sim::run_search(search);
    if (tty) fmt::print(stderr, "\n");
    if (!r.ok()) {
      fmt::print(stderr, "chakong experiment: {}\n", r.status().message());
      return r.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
    }
    fmt::print("{:>10}  {:>28}  {}\n", search.path.size() > 10 ? "value" : search.path,
               target->metric.size() > 28 ? "mean +- 95 % CI" : target->metric, "target");
    for (const sim::Probe& p : r->probes) {
      fmt::print("{:>10}  {:>28}  {}{}\n", p.value, with_ci(target->metric, p.estimate),
                 p.met ? "met" : "not met", p.confident ? "" : " (interval straddles it)");
    }
    if (!r->monotonic) {
      fmt::print(
          "warning: the figure does not improve steadily with {}: a smaller value met the target "
          "where a larger one did not, so the bisection's answer is not to be trusted\n",
          search.path);
    }
    if (r->smallest) {
      fmt::print("smallest {} = {} meets {}\n", search.path, *r->smallest, a.target);
    } else {
      fmt::print("no {} in [{}, {}] meets {}\n", search.path, search.lo, search.hi, a.target);
    }
    if (!write_file(dir / "experiment.json", sim::search_json(search, *r))) {
      fmt::print(stderr, "chakong experiment: cannot write into '{}'\n", a.out);
      return 1;
    }
    fmt::print("report              {}/experiment.json\n", a.out);
    return 0;
  }

  StatusOr<sim::ExperimentResult> r = sim::run_experiment(spec);
  if (tty) fmt::print(stderr, "\n");
  if (!r.ok()) {
    fmt::print(stderr, "chakong experiment: {}\n", r.status().message());
    return r.status().code() == StatusCode::kInvalidArgument ? 2 : 1;
  }
  fmt::print("{} replications, seeds {}..{}, mean +- half-width of the 95 % interval\n",
             spec.replications, r->seeds.front(), r->seeds.back());
  std::string head = fmt::format("{:<48}", "figure");
  for (const sim::VariantResult& v : r->variants) head += fmt::format(" {:>22}", v.variant.name);
  for (size_t v = 1; v < r->variants.size(); ++v) head += fmt::format(" {:>30}", "difference");
  fmt::print("{}\n", head);
  const sim::VariantResult& base = r->variants.front();
  for (size_t k = 0; k < base.metrics.size(); ++k) {
    const std::string& name = base.metrics[k];
    bool any = !name.starts_with("connectors[");
    for (const sim::VariantResult& v : r->variants) {
      for (size_t j = 0; j < v.metrics.size(); ++j) {
        if (v.metrics[j] == name && v.estimates[j].mean != 0) any = true;
      }
    }
    if (!any) continue;
    std::string line = fmt::format("{:<48}", name);
    for (const sim::VariantResult& v : r->variants) {
      std::string cell = "-";
      for (size_t j = 0; j < v.metrics.size(); ++j) {
        if (v.metrics[j] == name) cell = with_ci(name, v.estimates[j]);
      }
      line += fmt::format(" {:>22}", cell);
    }
    for (const std::vector<sim::Difference>& ds : r->differences) {
      std::string cell = "-";
      for (const sim::Difference& d : ds) {
        if (d.metric == name) {
          cell = with_ci(name, d.diff) + (d.distinguishable ? " real" : " noise");
        }
      }
      line += fmt::format(" {:>30}", cell);
    }
    fmt::print("{}\n", line);
  }
  if (!write_file(dir / "experiment.json", sim::experiment_json(spec, *r)) ||
      !write_file(dir / "experiment.html", sim::experiment_html(spec, *r))) {
    fmt::print(stderr, "chakong experiment: cannot write into '{}'\n", a.out);
    return 1;
  }
  fmt::print("report              {}/experiment.json, {}/experiment.html\n", a.out, a.out);
  return 0;
}

}  // namespace

void add_experiment_command(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<ExperimentArgs>();  // Freed with the app.
  CLI::App* cmd = app.add_subcommand(
      "experiment", "Replicate scenarios over seeds: means, 95 % intervals, paired differences");
  cmd->add_option("SCENARIO", a->scenarios,
                  "scenario files (YAML); the first is the baseline of the differences")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--replications", a->replications, "seeds per variant (at least 2)")
      ->capture_default_str()
      ->check(CLI::Range(2, 10000));
  cmd->add_option("--vary", a->vary,
                  "one variant per value of a field: path=v1,v2,... (e.g. "
                  "'institutions[name=b].capacity=4,8,16')");
  cmd->add_option("--set", a->set, "override a field in every variant: path=value (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--find", a->find,
                  "search the smallest integer value of this field that meets --target");
  cmd->add_option("--target", a->target,
                  "with --find: METRIC>=VALUE or METRIC<=VALUE, on the replications' mean, e.g. "
                  "deadlines.control_48h.compliance>=0.99");
  cmd->add_option("--range", a->range, "with --find: LO:HI (default 1:64)");
  cmd->add_option("--seed", a->seed, "first seed (default: the first scenario's)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--days", a->days, "simulated days (overrides the scenarios')")
      ->check(CLI::Range(1, 3660));
  cmd->add_option("--threads", a->threads, "runs at once (default: the cores)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--calendar", a->calendar, "working-day calendar file for every variant")
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", a->out, "directory for experiment.json and experiment.html")
      ->capture_default_str();
  cmd->callback([a, cmd, &exit_code] {
    if (!a->find.empty() && a->target.empty()) {
      fmt::print(stderr, "chakong experiment: --find needs --target\n");
      exit_code = 2;
      return;
    }
    (void)cmd;
    exit_code = run_experiment_command(*a);
  });

  auto files = std::make_shared<std::vector<std::string>>();
  CLI::App* compare = app.add_subcommand(
      "compare", "Compare two report.json or experiment.json files: B - A, real or noise");
  compare->add_option("A", *files, "report.json or experiment.json, then the second")
      ->required()
      ->expected(2)
      ->check(CLI::ExistingFile);
  compare->callback([files, &exit_code] {
    std::string first, second;
    if (!read_file((*files)[0], &first) || !read_file((*files)[1], &second)) {
      fmt::print(stderr, "chakong compare: cannot read the files\n");
      exit_code = 2;
      return;
    }
    StatusOr<std::string> text = sim::compare_reports((*files)[0], first, (*files)[1], second);
    if (!text.ok()) {
      fmt::print(stderr, "chakong compare: {}\n", text.status().message());
      exit_code = 2;
      return;
    }
    fmt::print("{}", *text);
    exit_code = 0;
  });
}

}  // namespace chakong::cli
