// Replications, paired differences and the capacity search of `chakong experiment`.
#include "chakong/sim/experiment.h"

#include <fmt/format.h>

#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "chakong/sim/scenario.h"
#include "web.h"

namespace chakong::sim {

extern const char kChartJs[];

namespace {

using Json = nlohmann::ordered_json;

double share(uint64_t good, uint64_t bad) {
  return good + bad == 0 ? 1.0 : static_cast<double>(good) / static_cast<double>(good + bad);
}

}  // namespace

std::vector<Metric> headline_metrics(const SimulationReport& r) {
  const engine::EngineStats& s = r.stats;
  std::vector<Metric> m;
  m.push_back({"deadlines.control_48h.compliance", share(s.control_met, s.control_missed)});
  m.push_back({"deadlines.control_48h.met", static_cast<double>(s.control_met)});
  m.push_back({"deadlines.control_48h.missed", static_cast<double>(s.control_missed)});
  m.push_back({"deadlines.query_start.score", s.query_score()});
  m.push_back({"deadlines.preservation_start.compliance",
               share(s.preservation_within_5d, s.preservation_late)});
  m.push_back({"deadlines.renewal.lapsed", static_cast<double>(s.lapsed)});
  double max_days = 0;
  uint64_t due = 0, swept = 0;
  for (const engine::SweepRunReport& run : r.sweep_runs) {
    if (run.finished()) {
      max_days = std::max(max_days, static_cast<double>(run.finished_at - run.started_at) /
                                        static_cast<double>(kMicrosPerDay));
    }
    if (run.finished() || run.window_end <= r.end) {
      due += run.due;
      swept += run.swept;
    }
  }
  m.push_back({"sweep.max_run_days", max_days});
  m.push_back({"sweep.coverage", due == 0 ? 1.0 : static_cast<double>(swept) / due});
  m.push_back({"sweep.hits", static_cast<double>(s.sweep_hits)});
  m.push_back({"money.frozen_fen", static_cast<double>(s.frozen.value())});
  for (const ConnectorReport& c : r.connectors) {
    m.push_back(
        {"connectors[name=" + c.name + "].control_missed", static_cast<double>(c.control_missed)});
  }
  return m;
}

double t_quantile_975(int df) {
  static constexpr double kTable[] = {12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912,
                                      2.364624,  2.306004, 2.262157, 2.228139, 2.200985, 2.178813,
                                      2.160369,  2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
                                      2.093024,  2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
                                      2.059539,  2.055529, 2.051831, 2.048407, 2.045230, 2.042272};
  if (df < 1) df = 1;
  if (df <= 30) return kTable[df - 1];
  const double z = 1.959963985, v = df;
  const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
}

Estimate estimate(const std::vector<double>& values) {
  Estimate e;
  e.n = values.size();
  if (e.n == 0) return e;
  double sum = 0;
  for (double x : values) sum += x;
  e.mean = sum / static_cast<double>(e.n);
  if (e.n < 2) return e;
  double ss = 0;
  for (double x : values) ss += (x - e.mean) * (x - e.mean);
  e.stddev = std::sqrt(ss / static_cast<double>(e.n - 1));
  e.half_width =
      t_quantile_975(static_cast<int>(e.n) - 1) * e.stddev / std::sqrt(static_cast<double>(e.n));
  e.interval = true;
  return e;
}

StatusOr<ExperimentResult> run_experiment(const ExperimentSpec& spec) {
  if (spec.variants.empty()) return invalid_argument_error("an experiment needs a scenario");
  if (spec.replications < 2) {
    return invalid_argument_error("--replications: " + std::to_string(spec.replications) +
                                  " (at least 2 for a confidence interval)");
  }
  // Load and validate every variant before running any.
  std::vector<v1::Scenario> scenarios;
  for (const Variant& v : spec.variants) {
    StatusOr<v1::Scenario> s = load_scenario_file(v.scenario, v.overrides);
    if (!s.ok()) return s.status();
    if (spec.days != 0) s->set_days(spec.days);
    StatusOr<SimulationConfig> c = compile_scenario(*s, v.scenario);  // Validates.
    if (!c.ok()) return c.status();
    scenarios.push_back(std::move(*s));
  }
  const uint64_t base = spec.seed != 0 ? spec.seed : scenarios.front().seed();
  ExperimentResult result;
  for (int i = 0; i < spec.replications; ++i) result.seeds.push_back(base + i);

  const size_t runs = spec.variants.size() * static_cast<size_t>(spec.replications);
  std::vector<std::optional<StatusOr<SimulationReport>>> reports(runs);
  std::atomic<size_t> next{0};
  std::mutex progress_mu;
  int done = 0;
  auto worker = [&] {
    for (size_t job = next++; job < runs; job = next++) {
      const size_t v = job / spec.replications, rep = job % spec.replications;
      v1::Scenario s = scenarios[v];
      s.set_seed(result.seeds[rep]);
      StatusOr<SimulationConfig> c = compile_scenario(s, spec.variants[v].scenario);
      if (!c.ok()) {
        reports[job] = c.status();
      } else {
        SimulationOptions options;  // One thread a run; the runs are the parallelism.
        reports[job] = run_simulation(*c, options);
      }
      std::lock_guard lock(progress_mu);
      ++done;
      if (spec.on_run) {
        spec.on_run(done, static_cast<int>(runs), spec.variants[v].name, result.seeds[rep]);
      }
    }
  };
  const int threads = std::max(1, std::min<int>(spec.threads, static_cast<int>(runs)));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();

  for (size_t v = 0; v < spec.variants.size(); ++v) {
    VariantResult vr;
    vr.variant = spec.variants[v];
    for (int rep = 0; rep < spec.replications; ++rep) {
      StatusOr<SimulationReport>& r = *reports[v * spec.replications + rep];
      if (!r.ok()) {
        return Status(r.status().code(), fmt::format("{} seed {}: {}", vr.variant.name,
                                                     result.seeds[rep], r.status().message()));
      }
      const std::vector<Metric> m = headline_metrics(*r);
      if (rep == 0) {
        for (const Metric& x : m) vr.metrics.push_back(x.name);
        vr.values.resize(m.size());
      }
      // The institutions are the scenario's, the same in every replication.
      for (size_t k = 0; k < m.size() && k < vr.values.size(); ++k) {
        vr.values[k].push_back(m[k].value);
      }
      r = Status();  // Free the report.
    }
    for (const std::vector<double>& xs : vr.values) vr.estimates.push_back(estimate(xs));
    result.variants.push_back(std::move(vr));
  }
  const VariantResult& a = result.variants.front();
  std::map<std::string, size_t> in_a;
  for (size_t k = 0; k < a.metrics.size(); ++k) in_a.emplace(a.metrics[k], k);
  for (size_t v = 1; v < result.variants.size(); ++v) {
    const VariantResult& b = result.variants[v];
    std::vector<Difference> diffs;
    for (size_t k = 0; k < b.metrics.size(); ++k) {
      auto it = in_a.find(b.metrics[k]);
      if (it == in_a.end()) continue;
      std::vector<double> d;
      for (int rep = 0; rep < spec.replications; ++rep) {
        d.push_back(b.values[k][rep] - a.values[it->second][rep]);
      }
      Difference diff{b.metrics[k], estimate(d), false};
      diff.distinguishable =
          diff.diff.stddev == 0 ? diff.diff.mean != 0 : (diff.diff.lo() > 0 || diff.diff.hi() < 0);
      diffs.push_back(std::move(diff));
    }
    result.differences.push_back(std::move(diffs));
  }
  return result;
}

StatusOr<Target> parse_target(const std::string& text) {
  for (const char* op : {">=", "<="}) {
    const size_t at = text.find(op);
    if (at == std::string::npos) continue;
    Target t;
    t.metric = text.substr(0, at);
    t.at_least = op[0] == '>';
    const std::string value = text.substr(at + 2);
    size_t used = 0;
    try {
      t.value = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (t.metric.empty() || used == 0 || used != value.size() || !std::isfinite(t.value)) {
      break;
    }
    return t;
  }
  return invalid_argument_error("--target: '" + text +
                                "' is not METRIC>=VALUE or METRIC<=VALUE (e.g. "
                                "deadlines.control_48h.compliance>=0.99)");
}

StatusOr<SearchResult> run_search(const SearchSpec& spec) {
  if (spec.base.variants.size() != 1) {
    return invalid_argument_error("--find searches one scenario");
  }
  if (spec.lo > spec.hi) {
    return invalid_argument_error(fmt::format("--range: {}:{} is empty", spec.lo, spec.hi));
  }
  SearchResult out;
  std::map<int64_t, bool> met;
  auto probe = [&](int64_t value) -> StatusOr<bool> {
    if (auto it = met.find(value); it != met.end()) return it->second;
    ExperimentSpec e = spec.base;
    e.variants[0].overrides.push_back(spec.path + "=" + std::to_string(value));
    e.variants[0].name = spec.path + "=" + std::to_string(value);
    StatusOr<ExperimentResult> r = run_experiment(e);
    if (!r.ok()) return r.status();
    const VariantResult& v = r->variants.front();
    size_t k = 0;
    while (k < v.metrics.size() && v.metrics[k] != spec.target.metric) ++k;
    if (k == v.metrics.size()) {
      std::string known;
      for (size_t i = 0; i < v.metrics.size() && i < 10; ++i) known += ", " + v.metrics[i];
      return invalid_argument_error("--target: no metric '" + spec.target.metric +
                                    "' (known: " + known.substr(2) + ", connectors[...]...)");
    }
    Probe p{value, v.estimates[k], spec.target.met_by(v.estimates[k].mean), false};
    p.confident =
        p.met ? spec.target.met_by(spec.target.at_least ? p.estimate.lo() : p.estimate.hi())
              : !spec.target.met_by(spec.target.at_least ? p.estimate.hi() : p.estimate.lo());
    out.probes.push_back(p);
    met[value] = p.met;
    return p.met;
  };
  StatusOr<std::optional<int64_t>> smallest = bisect_smallest(spec.lo, spec.hi, probe);
  if (!smallest.ok()) return smallest.status();
  out.smallest = *smallest;
  out.monotonic = probes_monotonic(out.probes);
  return out;
}

bool probes_monotonic(const std::vector<Probe>& probes) {
  for (const Probe& a : probes) {
    for (const Probe& b : probes) {
      if (a.met && !b.met && a.value < b.value) return false;
    }
  }
  return true;
}

StatusOr<std::optional<int64_t>> bisect_smallest(
    int64_t lo, int64_t hi, const std::function<StatusOr<bool>(int64_t)>& meets) {
  StatusOr<bool> top = meets(hi);
  if (!top.ok()) return top.status();
  if (!*top) return std::optional<int64_t>();
  StatusOr<bool> bottom = meets(lo);
  if (!bottom.ok()) return bottom.status();
  if (*bottom) return std::optional<int64_t>(lo);
  while (hi - lo > 1) {  // lo fails, hi meets.
    const int64_t mid = lo + (hi - lo) / 2;
    StatusOr<bool> m = meets(mid);
    if (!m.ok()) return m.status();
    (*m ? hi : lo) = mid;
  }
  return std::optional<int64_t>(hi);
}

namespace {

Json estimate_json(const Estimate& e) {
  Json j;
  j["mean"] = e.mean;
  j["ci95"] = e.interval ? Json::array({e.lo(), e.hi()}) : Json(nullptr);
  j["stddev"] = e.stddev;
  return j;
}

Json variant_json(const Variant& v) {
  Json j;
  j["name"] = v.name;
  j["scenario"] = v.scenario;
  j["set"] = v.overrides;
  return j;
}

Json experiment_doc(const ExperimentSpec& spec, const ExperimentResult& r) {
  Json doc;
  doc["experiment"] = {{"replications", spec.replications}, {"seeds", r.seeds}};
  Json variants = Json::array();
  for (const VariantResult& v : r.variants) {
    Json j = variant_json(v.variant);
    Json metrics = Json::object();
    for (size_t k = 0; k < v.metrics.size(); ++k) {
      Json m = estimate_json(v.estimates[k]);
      m["values"] = v.values[k];
      metrics[v.metrics[k]] = std::move(m);
    }
    j["metrics"] = std::move(metrics);
    variants.push_back(std::move(j));
  }
  doc["variants"] = std::move(variants);
  Json diffs = Json::array();
  for (size_t v = 0; v < r.differences.size(); ++v) {
    Json j;
    j["variant"] = r.variants[v + 1].variant.name;
    j["baseline"] = r.variants[0].variant.name;
    Json metrics = Json::object();
    for (const Difference& d : r.differences[v]) {
      Json m = estimate_json(d.diff);
      m["distinguishable"] = d.distinguishable;
      metrics[d.metric] = std::move(m);
    }
    j["metrics"] = std::move(metrics);
    diffs.push_back(std::move(j));
  }
  doc["differences"] = std::move(diffs);
  return doc;
}

}  // namespace

std::string format_metric(const std::string& metric, double x) {
  if (metric.ends_with("compliance") || metric.ends_with("coverage")) {
    return fmt::format("{:.2f} %", 100 * x);
  }
  if (metric.ends_with("_fen")) {  // Whole yuan as people write them: -¥452,322.
    const long long yuan = std::llround(x / 100);
    std::string digits = std::to_string(yuan < 0 ? -yuan : yuan);
    for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
    return (yuan < 0 ? "-¥" : "¥") + digits;
  }
  if (metric.ends_with("score") || metric.ends_with("days")) return fmt::format("{:.2f}", x);
  return fmt::format("{:.1f}", x);
}

std::string experiment_json(const ExperimentSpec& spec, const ExperimentResult& r) {
  return experiment_doc(spec, r).dump(2) + "\n";
}

std::string search_json(const SearchSpec& spec, const SearchResult& r) {
  Json doc;
  doc["search"] = {{"path", spec.path},
                   {"range", {spec.lo, spec.hi}},
                   {"target", fmt::format("{}{}{}", spec.target.metric,
                                          spec.target.at_least ? ">=" : "<=", spec.target.value)},
                   {"replications", spec.base.replications},
                   {"scenario", variant_json(spec.base.variants.front())}};
  Json probes = Json::array();
  for (const Probe& p : r.probes) {
    Json j = estimate_json(p.estimate);
    j = {{"value", p.value}, {"met", p.met}, {"confident", p.confident}, {"estimate", j}};
    probes.push_back(std::move(j));
  }
  doc["probes"] = std::move(probes);
  doc["smallest"] = r.smallest ? Json(*r.smallest) : Json(nullptr);
  doc["monotonic"] = r.monotonic;
  return doc.dump(2) + "\n";
}

std::string experiment_html(const ExperimentSpec& spec, const ExperimentResult& r) {
  std::string head = "<tr><th>figure</th>";
  for (const VariantResult& v : r.variants) head += "<th>" + html_escape(v.variant.name) + "</th>";
  for (size_t v = 1; v < r.variants.size(); ++v) {
    head += "<th>" + html_escape(r.variants[v].variant.name) + " &minus; " +
            html_escape(r.variants[0].variant.name) + "</th>";
  }
  head += "</tr>";
  std::string rows;
  const VariantResult& a = r.variants.front();
  for (size_t k = 0; k < a.metrics.size(); ++k) {
    const std::string& name = a.metrics[k];
    // Institutions with no miss in any variant are left out of the table (not of the JSON).
    bool any = !name.starts_with("connectors[");
    for (const VariantResult& v : r.variants) {
      for (size_t j = 0; j < v.metrics.size(); ++j) {
        if (v.metrics[j] == name && v.estimates[j].mean != 0) any = true;
      }
    }
    if (!any) continue;
    std::string row = "<tr><td>" + html_escape(name) + "</td>";
    for (const VariantResult& v : r.variants) {
      std::string cell = "&ndash;";
      for (size_t j = 0; j < v.metrics.size(); ++j) {
        if (v.metrics[j] != name) continue;
        const Estimate& e = v.estimates[j];
        cell = html_escape(format_metric(name, e.mean)) + " &plusmn; " +
               html_escape(format_metric(name, e.half_width));
      }
      row += "<td>" + cell + "</td>";
    }
    for (const std::vector<Difference>& ds : r.differences) {
      std::string cell = "&ndash;";
      for (const Difference& d : ds) {
        if (d.metric != name) continue;
        cell = "<span class=\"" + std::string(d.distinguishable ? "real" : "noise") + "\">" +
               html_escape(format_metric(name, d.diff.mean)) + " &plusmn; " +
               html_escape(format_metric(name, d.diff.half_width)) +
               (d.distinguishable ? " (real)" : " (noise)") + "</span>";
      }
      row += "<td>" + cell + "</td>";
    }
    rows += row + "</tr>\n";
  }
  std::string title;
  for (size_t v = 0; v < r.variants.size(); ++v) {
    title += (v ? " vs " : "") + r.variants[v].variant.name;
  }
  return R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Chakong experiment: )" +
         html_escape(title) + R"(</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
table{border-collapse:collapse} td,th{padding:4px 10px;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left} .real{color:#c62828;font-weight:bold} .noise{color:#666}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:24px} canvas{width:100%!important}
</style>
<script>)" +
         std::string(kChartJs) +
         R"(</script></head><body>
<h1>)" + html_escape(title) +
         R"(</h1>
<p>)" + std::to_string(spec.replications) +
         R"( replications on paired seeds; mean &plusmn; half-width of the 95 % confidence interval.
A difference is <span class="real">real</span> when its interval excludes zero, else it is within
seed <span class="noise">noise</span>.</p>
<table id="figures">
)" + head +
         "\n" + rows +
         R"(</table>
<div class="charts">
<div><h3>48-hour compliance by seed</h3><canvas id="c1"></canvas></div>
<div><h3>48-hour misses by seed</h3><canvas id="c2"></canvas></div>
</div>
<script type="application/json" id="data">)" +
         json_island(experiment_doc(spec, r).dump()) + R"(</script>
<script>
const d=JSON.parse(document.getElementById('data').textContent);
const colours=['#1565c0','#c62828','#2e7d32','#6a1b9a','#ef6c00','#00838f'];
function chart(id,metric,scale){new Chart(document.getElementById(id),{type:'line',
 data:{labels:d.experiment.seeds.map(String),datasets:d.variants.map((v,i)=>({label:v.name,
 data:v.metrics[metric].values.map(x=>x*scale),borderColor:colours[i%6],showLine:false,pointRadius:4}))},
 options:{animation:false}});}
chart('c1','deadlines.control_48h.compliance',100);
chart('c2','deadlines.control_48h.missed',1);
)" + std::string(kDrawnCheckJs) +
         R"(</script></body></html>
)";
}

namespace {

// A file's headline figures: name -> values (one per replication), and the seeds.
struct Sample {
  std::vector<std::string> order;
  std::map<std::string, std::vector<double>> values;
  std::vector<uint64_t> seeds;
  bool replicated = false;
};

StatusOr<Sample> sample_of(const std::string& name, const std::string& text) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::exception& e) {
    return invalid_argument_error(name + ": not JSON (" + e.what() + ")");
  }
  Sample s;
  try {
    if (j.contains("variants") && j.contains("experiment")) {
      const Json& v = j.at("variants").at(0);
      for (const auto& [metric, m] : v.at("metrics").items()) {
        s.order.push_back(metric);
        s.values[metric] = m.at("values").get<std::vector<double>>();
      }
      s.seeds = j.at("experiment").at("seeds").get<std::vector<uint64_t>>();
      s.replicated = true;
      return s;
    }
    if (!j.contains("deadlines") || !j.contains("scenario")) {
      return invalid_argument_error(name + ": not a Chakong report.json or experiment.json");
    }
    s.seeds = {j.at("scenario").at("seed").get<uint64_t>()};
    for (const char* path :
         {"deadlines.control_48h.compliance", "deadlines.control_48h.met",
          "deadlines.control_48h.missed", "deadlines.query_start.score",
          "deadlines.preservation_start.compliance", "deadlines.renewal.lapsed",
          "sweep.max_run_days", "sweep.coverage", "sweep.hits", "money.frozen_fen"}) {
      std::string pointer = "/" + std::string(path);
      for (char& ch : pointer) ch = ch == '.' ? '/' : ch;
      const Json::json_pointer p(pointer);
      if (!j.contains(p) || !j.at(p).is_number()) continue;  // A sweep coverage of null.
      s.order.push_back(path);
      s.values[path] = {j.at(p).get<double>()};
    }
    for (const Json& c : j.at("connectors")) {
      const std::string metric =
          "connectors[name=" + c.at("name").get<std::string>() + "].control_missed";
      s.order.push_back(metric);
      s.values[metric] = {c.at("control_missed").get<double>()};
    }
  } catch (const Json::exception& e) {
    return invalid_argument_error(name + ": not a Chakong report.json or experiment.json (" +
                                  e.what() + ")");
  }
  return s;
}

// Welch's interval of mean(b) - mean(a) for unpaired samples.
Estimate welch(const Estimate& a, const Estimate& b) {
  Estimate d;
  d.n = std::min(a.n, b.n);
  d.mean = b.mean - a.mean;
  const double va = a.stddev * a.stddev / a.n, vb = b.stddev * b.stddev / b.n;
  d.stddev = std::sqrt(va + vb);
  if (d.stddev == 0) {
    d.interval = true;
    return d;
  }
  const double df = (va + vb) * (va + vb) / (va * va / (a.n - 1) + vb * vb / (b.n - 1));
  d.half_width = t_quantile_975(static_cast<int>(std::floor(df))) * d.stddev;
  d.interval = true;
  return d;
}

}  // namespace

StatusOr<std::string> compare_reports(const std::string& a_name, const std::string& a_text,
                                      const std::string& b_name, const std::string& b_text) {
  StatusOr<Sample> a = sample_of(a_name, a_text);
  if (!a.ok()) return a.status();
  StatusOr<Sample> b = sample_of(b_name, b_text);
  if (!b.ok()) return b.status();
  const bool replicated = a->replicated && b->replicated;
  const bool paired = replicated && a->seeds == b->seeds;
  std::string out = fmt::format("A: {}\nB: {}\n", a_name, b_name);
  out += replicated
             ? fmt::format(
                   "differences B - A with their 95 % interval ({}, {} and {} "
                   "replications)\n",
                   paired ? "paired seeds" : "Welch, unpaired", a->seeds.size(), b->seeds.size())
             : "single runs: no replications, so no interval and no verdict (run "
               "chakong experiment on both to know whether a difference is seed noise)\n";
  out += fmt::format("{:<52} {:>14} {:>14} {:>24}\n", "figure", "A", "B", "B - A");
  for (const std::string& metric : a->order) {
    auto it = b->values.find(metric);
    if (it == b->values.end()) continue;
    const std::vector<double>& av = a->values.at(metric);
    const std::vector<double>& bv = it->second;
    const Estimate ea = estimate(av), eb = estimate(bv);
    if (metric.starts_with("connectors[") && ea.mean == 0 && eb.mean == 0) continue;
    Estimate d;
    if (paired && av.size() == bv.size()) {
      std::vector<double> diff;
      for (size_t i = 0; i < av.size(); ++i) diff.push_back(bv[i] - av[i]);
      d = estimate(diff);
    } else if (replicated) {
      d = welch(ea, eb);
    } else {
      d.mean = eb.mean - ea.mean;
    }
    std::string delta = format_metric(metric, d.mean);
    if (d.interval) {
      const bool real = d.stddev == 0 ? d.mean != 0 : (d.lo() > 0 || d.hi() < 0);
      delta += " +- " + format_metric(metric, d.half_width) + (real ? " real" : " noise");
    }
    out += fmt::format("{:<52} {:>14} {:>14} {:>24}\n", metric, format_metric(metric, ea.mean),
                       format_metric(metric, eb.mean), delta);
  }
  return out;
}

}  // namespace chakong::sim
