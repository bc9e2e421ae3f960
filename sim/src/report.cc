// report.json and report.html of a simulation.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "chakong/sim/simulation.h"
#include "web.h"

namespace chakong::sim {

// Chart.js (Debian's libjs-chart.js), embedded at build time so that the report is one file.
extern const char kChartJs[];

namespace {

using Json = nlohmann::ordered_json;

// A number with a fixed count of decimals, as report.json has always written it ("0.995413",
// "2.0"): kept in the document as its text (a binary value of subtype kFixed) and written as
// is by the printer. Not finite: null.
constexpr std::uint64_t kFixed = 0x46;
Json fixed(double v, int decimals) {
  if (!std::isfinite(v)) return Json(nullptr);
  const std::string text = fmt::format("{:.{}f}", v, decimals);
  return Json::binary(std::vector<std::uint8_t>(text.begin(), text.end()), kFixed);
}
Json ratio(double v) { return fixed(v, 6); }

double compliance(uint64_t met, uint64_t missed) {
  return met + missed == 0 ? 1.0 : static_cast<double>(met) / static_cast<double>(met + missed);
}

Json when(TimeUs t) {
  if (t == 0) return Json(nullptr);
  const Date d = date_of(t);
  const TimeUs in_day = t - d.start_us();
  return fmt::format("{}T{:02d}:{:02d}", d.to_string(), in_day / kMicrosPerHour,
                     in_day % kMicrosPerHour / kMicrosPerMinute);
}

// A run is closed when it finished or its window ended within the simulated time: those are
// the runs coverage is computed over.
bool closed(const engine::SweepRunReport& run, TimeUs end) {
  return run.finished() || run.window_end <= end;
}

// report.json's layout, over a document built with nlohmann-json (which escapes every string):
// the top level and an object of objects ("deadlines") one member a line; an object with a
// list of objects ("sweep") its other members on one line, then the list; a list of objects
// one item a line; everything else on one line.
bool has_objects(const Json& v) {
  for (const Json& x : v) {
    if (x.is_object()) return true;
  }
  return false;
}

// The lists of objects that report.json has always written one item a line, even when empty.
bool listed(const std::string& key) {
  return key == "connectors" || key == "daily" || key == "run_details";
}

void print(const Json& v, int indent, bool top, std::string& o, bool as_list = false) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  const std::string in(static_cast<size_t>(indent) + 2, ' ');
  if (v.is_binary()) {
    o.append(v.get_binary().begin(), v.get_binary().end());
  } else if (v.is_array()) {
    if (!as_list && !has_objects(v)) {
      o += '[';
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) o += ", ";
        print(v[i], indent, false, o);
      }
      o += ']';
      return;
    }
    o += "[\n";
    for (size_t i = 0; i < v.size(); ++i) {
      o += in;
      print(v[i], indent + 2, false, o);
      o += i + 1 < v.size() ? ",\n" : "\n";
    }
    o += pad + ']';
  } else if (v.is_object()) {
    bool all_objects = !v.empty();
    for (const auto& [k, x] : v.items()) all_objects = all_objects && x.is_object();
    if (top || all_objects) {
      o += "{\n";
      size_t i = 0;
      for (const auto& [k, x] : v.items()) {
        o += in + Json(k).dump() + ": ";
        print(x, indent + 2, false, o, listed(k));
        o += ++i < v.size() ? ",\n" : "\n";
      }
      o += pad + '}';
      return;
    }
    o += '{';
    bool first = true;
    for (const auto& [k, x] : v.items()) {
      const bool list = x.is_array() && listed(k);
      o += first ? "" : (list ? ",\n" + in : ", ");
      first = false;
      o += Json(k).dump() + ": ";
      print(x, list ? indent + 2 : indent, false, o, list);
    }
    o += '}';
  } else {
    o += v.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

Json sweep_json(const SimulationReport& r) {
  const engine::EngineStats& s = r.stats;
  uint64_t due = 0, swept = 0, closed_runs = 0;
  double max_days = 0;
  Json details = Json::array();
  for (const engine::SweepRunReport& run : r.sweep_runs) {
    if (closed(run, r.end)) {
      ++closed_runs;
      due += run.due;
      swept += run.swept;
    }
    const double days =
        static_cast<double>((run.finished() ? run.finished_at : r.end) - run.started_at) /
        static_cast<double>(kMicrosPerDay);
    if (run.finished()) max_days = std::max(max_days, days);
    Json d;
    d["start"] = run.start.to_string();
    d["due"] = run.due;
    d["swept"] = run.swept;
    d["coverage"] = ratio(run.due == 0 ? 1.0 : static_cast<double>(run.swept) / run.due);
    d["debtors_queried"] = run.debtors_queried;
    d["hits"] = run.hits;
    d["restored"] = run.restored;
    d["started"] = when(run.started_at);
    d["finished"] = when(run.finished_at);
    d["days"] = fixed(days, 2);
    d["window_end"] = when(run.window_end);
    d["fit_window"] = run.fit();
    d["max_lateness_days"] =
        fixed(static_cast<double>(run.max_lateness) / static_cast<double>(kMicrosPerDay), 2);
    details.push_back(std::move(d));
  }
  Json j;
  j["policy"] = r.sweep_policy;
  j["runs"] = r.sweep_runs.size();
  j["library_size"] = r.library.cases;
  j["library_bytes_per_case"] = fixed(
      r.library.cases == 0
          ? 0.0
          : static_cast<double>(r.library.memory_bytes) / static_cast<double>(r.library.cases),
      1);
  j["debtors_queried"] = s.sweep_debtors_queried;
  j["coverage"] =
      closed_runs == 0
          ? Json(nullptr)
          : ratio(due == 0 ? 1.0 : static_cast<double>(swept) / static_cast<double>(due));
  j["closed_runs"] = closed_runs;
  j["hits"] = s.sweep_hits;
  j["restored"] = s.sweep_restored;
  j["restored_on_lead"] = s.lead_restored;
  j["max_run_days"] = fixed(max_days, 2);
  j["run_details"] = std::move(details);
  return j;
}

Json report_doc(const SimulationReport& r) {
  const engine::EngineStats& s = r.stats;
  using connectors::RequestKind;
  auto req = [&](RequestKind k) { return s.requests[static_cast<int>(k)]; };
  Json o;
  o["scenario"] = {{"name", r.name}, {"seed", r.seed}, {"days", r.days}};
  o["run"] = {{"wall_seconds", fixed(r.wall_seconds, 3)},
              {"events", r.events},
              {"events_per_second",
               fixed(r.wall_seconds > 0 ? static_cast<double>(r.events) / r.wall_seconds : 0.0, 0)},
              {"threads", r.threads},
              {"ranks", r.ranks},
              {"logical_processes", r.lps},
              {"windows", r.windows},
              {"events_per_window", fixed(r.events_per_window, 1)},
              {"barrier_wait_share", fixed(r.barrier_wait_share, 3)},
              {"remote_bytes", r.remote_bytes},
              {"busiest_lp_share", fixed(r.busiest_lp_share, 3)},
              {"peak_rss_bytes", r.peak_rss_bytes}};
  Json per_rank = Json::array();
  for (const RankReport& k : r.per_rank) {
    Json threads = Json::array();
    for (double t : k.thread_wait_share) threads.push_back(fixed(t, 3));
    per_rank.push_back({{"rank", k.rank},
                        {"logical_processes", k.lps},
                        {"events", k.events},
                        {"barrier_wait_share", fixed(k.barrier_wait_share, 3)},
                        {"thread_wait_share", std::move(threads)},
                        {"collective_wait_share", fixed(k.collective_wait_share, 3)}});
  }
  o["run"]["per_rank"] = std::move(per_rank);
  if (!r.inputs.run_date.empty()) o["run"]["date"] = r.inputs.run_date;
  if (!r.inputs.version.empty()) o["run"]["version"] = r.inputs.version;
  if (!r.inputs.commit.empty()) o["run"]["commit"] = r.inputs.commit;
  o["population"] = {{"debtors", r.debtors}, {"accounts", r.accounts}};
  o["cases"] = {{"filed", s.cases_filed},
                {"concluded", s.cases_concluded},
                {"terminated", s.cases_terminated},
                {"restored", s.cases_restored},
                {"open", r.cases_open}};
  o["requests"] = {{"query", req(RequestKind::kQuery)},
                   {"freeze", req(RequestKind::kFreeze)},
                   {"waitlist", req(RequestKind::kWaitlistFreeze)},
                   {"renew", req(RequestKind::kRenew)},
                   {"release", req(RequestKind::kRelease)},
                   {"deduct", req(RequestKind::kDeduct)},
                   {"measure_status", req(RequestKind::kMeasureStatus)},
                   {"retries", s.retries},
                   {"timeouts", s.timeouts},
                   {"errors", s.errors}};
  Json& d = o["deadlines"];
  d["control_48h"] = {
      {"started", s.control_started},
      {"met", s.control_met},
      {"missed", s.control_missed},
      {"not_required", s.control_not_required},
      {"open", r.control_open},
      {"compliance", ratio(compliance(s.control_met, s.control_missed))},
      {"new_cases_compliance", ratio(compliance(s.control_met - r.restored_control_met,
                                                s.control_missed - r.restored_control_missed))},
      {"restored_cases", {{"met", r.restored_control_met}, {"missed", r.restored_control_missed}}}};
  // No case scored yet (a run shorter than the first window): no score, not a score of 0.
  d["query_start"] = {{"score", s.query_scored == 0 ? Json(nullptr) : ratio(s.query_score())},
                      {"within_5wd", s.query_within_5wd},
                      {"within_10wd", s.query_within_10wd},
                      {"within_22wd", s.query_within_22wd},
                      {"later", s.query_later},
                      {"unscored", s.query_unscored}};
  d["preservation_start"] = {
      {"started", s.preservation_started},
      {"within_5d", s.preservation_within_5d},
      {"later", s.preservation_late},
      {"compliance", ratio(compliance(s.preservation_within_5d, s.preservation_late))}};
  d["renewal"] = {{"renewed", s.renewed},
                  {"lapsed", s.lapsed},
                  {"waitlist_converted", s.waitlist_converted},
                  {"waitlist_ended", s.waitlist_ended}};
  o["money"] = {{"claimed_fen", s.claimed.value()},
                {"frozen_fen", s.frozen.value()},
                {"deducted_fen", s.deducted.value()}};
  // Proportionate control (docs/domain.md): seals made, seals not made for a remainder too
  // small beside the claim, and how many cases had their whole budget secured at some point.
  o["control"] = {
      {"indivisible_sealed", s.indivisible_sealed},
      {"seals_avoided_by_proportionality", s.seals_avoided},
      {"remainders_uncovered", s.remainders_uncovered},
      {"uncovered_fen", s.uncovered.value()},
      {"cases_fully_secured", s.cases_secured},
      {"fully_secured_share", ratio(s.cases_filed == 0 ? 0.0
                                                       : static_cast<double>(s.cases_secured) /
                                                             static_cast<double>(s.cases_filed))}};
  o["invariants"] = {{"over_seizure", r.over_seizure + s.over_seizure},
                     {"duplicate_measures", r.duplicate_measures},
                     {"lapsed_measures", r.institution_lapses},
                     {"unauthorized", s.unauthorized},
                     {"lost_requests", r.lost_requests},
                     {"ledger_disagreements", r.ledger_disagreements}};
  o["faults"] = {{"refused", r.faults.refused},
                 {"malformed", r.faults.malformed},
                 {"duplicated", r.faults.duplicated},
                 {"in_doubt_resent", s.in_doubt_resent},
                 {"in_doubt_unresolved", s.in_doubt_unresolved},
                 {"renewals_refused", r.faults.renewals_refused},
                 {"drained", r.faults.drained}};
  o["sweep"] = sweep_json(r);
  Json connectors = Json::array();
  for (const ConnectorReport& c : r.connectors) {
    Json j;
    j["name"] = c.name;
    j["category"] = c.category;
    j["requests"] = c.requests;
    j["utilization"] = ratio(c.utilization);
    j["latency_ms"] = {{"p50", fixed(c.latency_p50_ms, 1)}, {"p99", fixed(c.latency_p99_ms, 1)}};
    j["query_turnaround_mean_ms"] =
        c.query_turnaround_mean_ms ? fixed(*c.query_turnaround_mean_ms, 1) : Json(nullptr);
    j["max_queue"] = c.max_queue;
    j["control_met"] = c.control_met;
    j["control_missed"] = c.control_missed;
    if (!c.via.empty()) j["via"] = c.via;
    j["control_compliance"] = ratio(compliance(c.control_met, c.control_missed));
    if (c.member) {
      const MemberReport& m = *c.member;
      j["member"] = {{"capacity", m.capacity},
                     {"batches", m.batches},
                     {"queue", {{"p50", m.queue_p50}, {"p99", m.queue_p99}, {"max", c.max_queue}}},
                     {"latency_hours",
                      {{"p50", fixed(c.latency_p50_ms / 3.6e6, 2)},
                       {"p99", fixed(c.latency_p99_ms / 3.6e6, 2)}}},
                     {"timeouts", m.timeouts},
                     {"control_started", m.control_started}};
    }
    connectors.push_back(std::move(j));
  }
  o["connectors"] = std::move(connectors);
  o["time_to_freeze_hours"] = r.time_to_freeze_hours;
  Json daily = Json::array();
  for (const DailyPoint& p : r.daily) {
    daily.push_back({{"date", p.date.to_string()},
                     {"filed", p.filed},
                     {"concluded", p.concluded},
                     {"control_met", p.control_met},
                     {"control_missed", p.control_missed},
                     {"sweep_swept", p.sweep_swept},
                     {"sweep_hits", p.sweep_hits}});
  }
  o["daily"] = std::move(daily);
  Json outages = Json::array();
  for (const OutageReport& w : r.outages) {
    outages.push_back(
        {{"institution", w.institution}, {"start", when(w.start)}, {"end", when(w.end)}});
  }
  o["outages"] = std::move(outages);
  if (!r.inputs.file.empty()) {
    o["inputs"] = {{"file", r.inputs.file}, {"set", r.inputs.overrides}, {"text", r.inputs.text}};
  }
  return o;
}

}  // namespace

std::string report_json(const SimulationReport& r) {
  std::string o;
  print(report_doc(r), 0, true, o);
  return o + "\n";
}

std::vector<const ConnectorReport*> by_misses(const SimulationReport& r) {
  std::vector<const ConnectorReport*> v;
  for (const ConnectorReport& c : r.connectors) v.push_back(&c);
  std::stable_sort(v.begin(), v.end(), [](const ConnectorReport* a, const ConnectorReport* b) {
    if (a->control_missed != b->control_missed) return a->control_missed > b->control_missed;
    if (a->utilization != b->utilization) return a->utilization > b->utilization;
    return a->name < b->name;
  });
  return v;
}

namespace {

// The per-institution table: server-side rows (readable without scripts), each cell with its
// value in data-v for sorting.
std::string institution_table(const SimulationReport& r) {
  const uint64_t all_missed = r.stats.control_missed;
  std::string rows;
  for (const ConnectorReport* c : by_misses(r)) {
    auto num = [](double v, std::string text) {
      return fmt::format("<td data-v=\"{}\">{}</td>", v, text);
    };
    rows += "<tr" + std::string(c->control_missed > 0 ? " class=\"miss\"" : "") + "><td>" +
            html_escape(c->name) +
            (c->via.empty() ? "" : " <small>via " + html_escape(c->via) + "</small>") + "</td>";
    rows += num(static_cast<double>(c->control_missed), std::to_string(c->control_missed));
    rows += num(all_missed == 0 ? 0.0 : 100.0 * c->control_missed / all_missed,
                all_missed == 0 ? "&ndash;"
                                : fmt::format("{:.0f} %", 100.0 * c->control_missed / all_missed));
    const double comp = 100.0 * compliance(c->control_met, c->control_missed);
    rows += num(comp, fmt::format("{:.2f} %", comp));
    rows += num(static_cast<double>(c->requests), std::to_string(c->requests));
    rows += num(100 * c->utilization, fmt::format("{:.1f} %", 100 * c->utilization));
    rows += num(static_cast<double>(c->max_queue), std::to_string(c->max_queue));
    rows += num(c->latency_p50_ms / 3.6e6, fmt::format("{:.1f}", c->latency_p50_ms / 3.6e6));
    rows += num(c->latency_p99_ms / 3.6e6, fmt::format("{:.1f}", c->latency_p99_ms / 3.6e6));
    rows += "</tr>\n";
  }
  return R"(<table id="institutions"><thead><tr><th>institution</th><th>48-hour misses</th>
<th>share of misses</th><th>48-hour compliance</th><th>requests</th><th>utilization</th>
<th>max queue</th><th>latency p50 (h)</th><th>latency p99 (h)</th></tr></thead><tbody>
)" + rows +
         "</tbody></table>";
}

// Hub members (`hub: members`): the 20 worst (p99 latency, then utilization) in a table, and
// the distribution over all of them in two charts (c6, c7). Empty when the run has none.
struct MembersSection {
  std::string html, script;
};
MembersSection members_section(const SimulationReport& r) {
  std::vector<const ConnectorReport*> v;
  for (const ConnectorReport& c : r.connectors) {
    if (c.member) v.push_back(&c);
  }
  if (v.empty()) return {};
  std::stable_sort(v.begin(), v.end(), [](const ConnectorReport* a, const ConnectorReport* b) {
    if (a->latency_p99_ms != b->latency_p99_ms) return a->latency_p99_ms > b->latency_p99_ms;
    if (a->utilization != b->utilization) return a->utilization > b->utilization;
    return a->name < b->name;
  });
  std::string rows;
  for (size_t i = 0; i < std::min<size_t>(20, v.size()); ++i) {
    const ConnectorReport& c = *v[i];
    const MemberReport& m = *c.member;
    rows += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1f} %</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td>{:.1f}</td><td>{:.1f}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>\n",
        html_escape(c.name), html_escape(c.via),
        m.capacity == 0 ? std::string("unlimited") : std::to_string(m.capacity), c.requests,
        m.batches, 100 * c.utilization, m.queue_p50, m.queue_p99, c.max_queue,
        c.latency_p50_ms / 3.6e6, c.latency_p99_ms / 3.6e6, m.timeouts, m.control_started,
        c.control_missed);
  }
  // Distributions: members by p99 latency (hours) and by utilization.
  static constexpr double kHours[] = {1, 2, 4, 8, 16, 24, 48, 96};
  std::vector<uint64_t> by_latency(std::size(kHours) + 1), by_use(10);
  for (const ConnectorReport* c : v) {
    const double h = c->latency_p99_ms / 3.6e6;
    size_t b = 0;
    while (b < std::size(kHours) && h >= kHours[b]) ++b;
    ++by_latency[b];
    ++by_use[std::min<size_t>(9, static_cast<size_t>(std::max(0.0, c->utilization) * 10))];
  }
  std::string latency_labels, latency_data, use_labels, use_data;
  for (size_t b = 0; b < by_latency.size(); ++b) {
    latency_labels +=
        fmt::format("{}'{}'", b ? "," : "",
                    b == 0                   ? fmt::format("<{}h", kHours[0])
                    : b == std::size(kHours) ? fmt::format(">={}h", kHours[b - 1])
                                             : fmt::format("{}-{}h", kHours[b - 1], kHours[b]));
    latency_data += fmt::format("{}{}", b ? "," : "", by_latency[b]);
  }
  for (size_t b = 0; b < by_use.size(); ++b) {
    use_labels += fmt::format("{}'{}-{} %'", b ? "," : "", 10 * b, 10 * b + 10);
    use_data += fmt::format("{}{}", b ? "," : "", by_use[b]);
  }
  MembersSection out;
  out.html = fmt::format(
      R"(
<h2>Hub members</h2>
<p>{} members behind hubs, each a queued server. The 20 with the slowest answers (p99 latency,
from the hub asking to the member answering, queueing, hours and outages included), then the
busiest; members.csv has them all. A member's 48-hour clocks are those its findings started
(a finding's reference names its member).</p>
<table id="members"><thead><tr><th>member</th><th>hub</th><th>servers</th><th>checks</th>
<th>batches</th><th>utilization</th><th>queue p50</th><th>queue p99</th><th>max queue</th>
<th>latency p50 (h)</th><th>latency p99 (h)</th><th>timeouts</th><th>48-hour clocks</th>
<th>48-hour misses</th></tr></thead><tbody>
{}</tbody></table>
<div class="charts">
<div class="card"><h3>Members by p99 latency</h3><canvas id="c6"></canvas></div>
<div class="card"><h3>Members by utilization</h3><canvas id="c7"></canvas></div>
</div>
)",
      v.size(), rows);
  out.script = fmt::format(
      R"(new Chart(document.getElementById('c6'),{{type:'bar',data:{{labels:[{}],datasets:[{{label:'members',data:[{}],backgroundColor:'#ef6c00'}}]}},options:{{animation:false}}}});
new Chart(document.getElementById('c7'),{{type:'bar',data:{{labels:[{}],datasets:[{{label:'members',data:[{}],backgroundColor:'#6a1b9a'}}]}},options:{{animation:false}}}});
)",
      latency_labels, latency_data, use_labels, use_data);
  return out;
}

}  // namespace

std::string report_html(const SimulationReport& r) {
  const engine::EngineStats& s = r.stats;
  // Sweep progress: per run, the share of its due cases swept by each day since its start.
  std::string sweep_sets, sweep_labels;
  size_t longest = 0;
  static constexpr const char* kColours[] = {"#1565c0", "#2e7d32", "#6a1b9a",
                                             "#ef6c00", "#c62828", "#00838f"};
  for (size_t k = 0; k < r.sweep_runs.size(); ++k) {
    const engine::SweepRunReport& run = r.sweep_runs[k];
    const int first = run.start - (r.daily.empty() ? run.start : r.daily.front().date);
    const int last = k + 1 < r.sweep_runs.size() ? r.sweep_runs[k + 1].start - r.daily.front().date
                                                 : static_cast<int>(r.daily.size());
    std::string points;
    uint64_t cum = 0;
    size_t n = 0;
    for (int d = std::max(0, first); d < std::min(last, static_cast<int>(r.daily.size())); ++d) {
      cum += r.daily[static_cast<size_t>(d)].sweep_swept;
      points += fmt::format("{}{:.2f}", n++ ? "," : "",
                            run.due == 0 ? 100.0 : 100.0 * static_cast<double>(cum) / run.due);
      if (run.due > 0 && cum >= run.swept && run.finished()) break;
    }
    longest = std::max(longest, n);
    sweep_sets +=
        fmt::format("{}{{label:'run {} ({} due)',data:[{}],borderColor:'{}',pointRadius:0}}",
                    k ? "," : "", run.start.to_string(), run.due, points, kColours[k % 6]);
  }
  for (size_t d = 0; d < longest; ++d) sweep_labels += fmt::format("{}{}", d ? "," : "", d);
  std::string sweep_card;
  if (r.sweep_runs.empty()) {
    sweep_card =
        "<p>No sweep run in the simulated time (library: " + std::to_string(r.library.cases) +
        " cases).</p>";
  } else {
    uint64_t fit = 0;
    for (const engine::SweepRunReport& run : r.sweep_runs) fit += run.fit() ? 1 : 0;
    sweep_card = fmt::format(
        "<p>{} cases in the library ({} policy); {} runs, {} within their window; {} debtors "
        "queried, {} hits, {} cases restored.</p><canvas id=\"c4\"></canvas>",
        r.library.cases, html_escape(r.sweep_policy), r.sweep_runs.size(), fit,
        s.sweep_debtors_queried, s.sweep_hits, s.sweep_restored);
  }
  const double comp = 100.0 * compliance(s.control_met, s.control_missed);
  const double pres = 100.0 * compliance(s.preservation_within_5d, s.preservation_late);
  std::string bottleneck = "none: no 48-hour miss";
  if (const std::vector<const ConnectorReport*> worst = by_misses(r);
      !worst.empty() && worst.front()->control_missed > 0) {
    bottleneck = "<b class=\"bad\">" + html_escape(worst.front()->name) + "</b>" +
                 fmt::format("{} of {} misses; utilization {:.1f} %, max queue {}",
                             worst.front()->control_missed, s.control_missed,
                             100 * worst.front()->utilization, worst.front()->max_queue);
  }
  std::string inputs;
  if (!r.inputs.file.empty()) {
    std::string set;
    for (const std::string& o : r.inputs.overrides) set += " --set '" + html_escape(o) + "'";
    inputs = "<h2>Inputs</h2><p><code>chakong simulate " + html_escape(r.inputs.file) + set +
             "</code>" + (r.inputs.version.empty() ? "" : ", " + html_escape(r.inputs.version)) +
             (r.inputs.commit.empty()
                  ? ""
                  : ", commit <code id=\"commit\">" + html_escape(r.inputs.commit) + "</code>") +
             (r.inputs.run_date.empty() ? "" : ", run " + html_escape(r.inputs.run_date)) +
             "</p><pre id=\"scenario\">" + html_escape(r.inputs.text) + "</pre>";
  }
  const std::string data = json_island(report_json(r));
  const MembersSection members = members_section(r);
  std::string html =
      R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Chakong report: )" +
      html_escape(r.name) + R"(</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{margin-bottom:4px} .sub{color:#666;margin-top:0}
.kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:16px 0}
.kpi{border:1px solid #ddd;border-radius:8px;padding:12px} .kpi b{font-size:1.6em;display:block}
.ok{color:#1a7f37} .bad{color:#c62828}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:24px}
.card{border:1px solid #ddd;border-radius:8px;padding:12px} canvas{width:100%!important}
table{border-collapse:collapse} td,th{padding:4px 10px;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left} th{cursor:pointer} tr.miss td:first-child{color:#c62828}
#institutions-box{max-height:480px;overflow:auto} pre{background:#f6f6f6;padding:12px;overflow:auto}
</style>
<script>)" +
      std::string(kChartJs) + R"(</script></head><body>
<h1>)" +
      html_escape(r.name) + R"(</h1>
<p class="sub">seed )" +
      std::to_string(r.seed) + ", " + std::to_string(r.days) + " simulated days, " +
      std::to_string(r.debtors) + " debtors, " + std::to_string(r.connectors.size()) +
      R"( institutions</p>
<div class="kpis">
<div class="kpi">48-hour control compliance<b class=")" +
      (comp >= 99 ? "ok" : "bad") + "\">" + fmt::format("{:.2f} %", comp) + "</b>" +
      fmt::format("{} met, {} missed", s.control_met, s.control_missed) + R"(</div>
<div class="kpi">Where the misses are)" +
      (bottleneck.starts_with("<b") ? bottleneck : "<b class=\"ok\">" + bottleneck + "</b>") +
      R"(</div>
<div class="kpi">Query timeliness score<b>)" +
      (s.query_scored == 0 ? std::string("—") : fmt::format("{:.1f}", s.query_score())) + "</b>" +
      fmt::format("{} of {} within 5 working days", s.query_within_5wd, s.query_scored) + R"(</div>
<div class="kpi">Preservation start<b class=")" +
      (pres >= 99 ? "ok" : "bad") + "\">" + fmt::format("{:.2f} %", pres) + "</b>" +
      fmt::format("{} of {} preservation cases queried within 5 days", s.preservation_within_5d,
                  s.preservation_started) +
      R"(</div>
<div class="kpi">Money<b>)" +
      format_fen(s.frozen) + "</b>" +
      fmt::format("frozen; {} claimed, {} deducted", format_fen(s.claimed),
                  format_fen(s.deducted)) +
      R"(</div>
<div class="kpi">Cases<b>)" +
      std::to_string(s.cases_filed) + "</b>" +
      fmt::format("{} concluded, {} terminated, {} open", s.cases_concluded, s.cases_terminated,
                  r.cases_open) +
      fmt::format(
          "<br>{} wholly secured; {} seals avoided by proportionality, {} remainders "
          "left uncovered",
          s.cases_secured, s.seals_avoided, s.remainders_uncovered) +
      R"(</div>
<div class="kpi">Invariants<b class=")" +
      (r.over_seizure + s.over_seizure + r.duplicate_measures + s.lapsed + s.unauthorized +
                   r.lost_requests + r.ledger_disagreements ==
               0
           ? "ok\">all 0"
           : "bad\">violated") +
      "</b>" +
      fmt::format("over-seizure {}, duplicates {}, lapses {}, lost {}, ledger {}",
                  r.over_seizure + s.over_seizure, r.duplicate_measures, s.lapsed, r.lost_requests,
                  r.ledger_disagreements) +
      R"(</div>
</div>
<h2>Institutions</h2>
<p>Most 48-hour misses first (click a heading to sort). A miss is counted at the institution
whose finding's clock ran out; utilization is busy time over the run and the in-flight cap.</p>
<div id="institutions-box">)" +
      institution_table(r) + "</div>" + members.html + R"(
<div class="charts">
<div class="card"><h3>48-hour control compliance by week, with the 99 % target</h3><canvas id="c5"></canvas></div>
<div class="card"><h3>48-hour control compliance over time</h3><canvas id="c1"></canvas></div>
<div class="card"><h3>Time from finding to freeze, and the 48-hour clocks missed (red)</h3><canvas id="c2"></canvas></div>
<div class="card"><h3>Connector utilization and queue depth (busiest 40)</h3><canvas id="c3"></canvas></div>
<div class="card"><h3>Terminated-case library sweep: share of each run's due cases swept, by day of the run</h3>)" +
      sweep_card + R"(</div>
</div>
)" + inputs +
      R"(
<script type="application/json" id="report">)" +
      data + R"(</script>
<script>
const R=JSON.parse(document.getElementById('report').textContent);
const labels=R.daily.map(d=>d.date);
// Markers on the daily charts: a band per outage (red, the institution named) and per sweep
// run (blue, from its start to its end or the end of the run). Positions in days since the
// first day; each chart maps them to its x value (a day, or a week on the weekly chart). Each
// canvas records the markers it painted (data-outage-markers, data-sweep-markers, and their
// labels in data-marker-labels) for the render test.
const day0=R.daily.length?Date.parse(R.daily[0].date+'T00:00Z'):0;
const daysOf=t=>(Date.parse(t+'Z')-day0)/864e5;
const markers=R.outages.map(o=>({kind:'outage',from:daysOf(o.start),to:daysOf(o.end),label:o.institution+' down',colour:'rgba(198,40,40,0.18)',text:'#c62828'}))
 .concat(R.sweep.run_details.filter(s=>s.started).map(s=>({kind:'sweep',from:daysOf(s.started),to:s.finished?daysOf(s.finished):R.daily.length,label:'sweep '+s.start,colour:'rgba(21,101,192,0.12)',text:'#1565c0'})));
const markerPlugin={id:'markers',beforeDatasetsDraw(chart,args,opts){
 const x=chart.scales.x,a=chart.chartArea,g=chart.ctx;let outage=0,sweep=0;const names=[];
 g.save();g.font='11px sans-serif';
 markers.forEach((m,k)=>{let x0=Math.max(a.left,x.getPixelForValue(opts.at(m.from))),x1=Math.min(a.right,x.getPixelForValue(opts.at(m.to)));
  if(x1<a.left||x0>a.right||x1<x0)return;if(x1-x0<2){x1=Math.min(a.right,x0+2);x0=x1-2;}
  g.fillStyle=m.colour;g.fillRect(x0,a.top,x1-x0,a.bottom-a.top);
  g.fillStyle=m.text;g.fillText(m.label,x0+2,a.top+12+12*(k%3));
  if(m.kind=='outage')++outage;else ++sweep;names.push(m.label);});
 g.restore();const c=chart.canvas.dataset;c.outageMarkers=outage;c.sweepMarkers=sweep;c.markerLabels=names.join('|');}};
let met=0,missed=0;
const cumulative=R.daily.map(d=>{met+=d.control_met;missed+=d.control_missed;return met+missed?100*met/(met+missed):100;});
const weeks=[],weekly=[];
for(let i=0;i<R.daily.length;i+=7){let a=0,b=0;for(const d of R.daily.slice(i,i+7)){a+=d.control_met;b+=d.control_missed;}
 weeks.push(R.daily[i].date);weekly.push(a+b?100*a/(a+b):null);}
new Chart(document.getElementById('c5'),{type:'bar',plugins:[markerPlugin],data:{labels:weeks,datasets:[
 {type:'line',label:'target 99 %',data:weeks.map(()=>99),borderColor:'#c62828',borderDash:[6,4],pointRadius:0},
 {label:'compliance that week %',data:weekly,backgroundColor:weekly.map(v=>v!==null&&v<99?'#c62828':'#1a7f37')}]},
 options:{animation:false,plugins:{markers:{at:d=>d/7-0.5}},scales:{y:{beginAtZero:false,suggestedMin:90,max:100,title:{display:true,text:'%'}}}}});
new Chart(document.getElementById('c1'),{type:'line',plugins:[markerPlugin],data:{labels,datasets:[
 {label:'cumulative compliance %',data:cumulative,borderColor:'#1a7f37',yAxisID:'y',pointRadius:0},
 {label:'target 99 %',data:labels.map(()=>99),borderColor:'#c62828',borderDash:[6,4],yAxisID:'y',pointRadius:0},
 {label:'met per day',data:R.daily.map(d=>d.control_met),borderColor:'#1565c0',yAxisID:'y1',pointRadius:0},
 {label:'missed per day',data:R.daily.map(d=>d.control_missed),borderColor:'#c62828',yAxisID:'y1',pointRadius:0}]},
 options:{animation:false,plugins:{markers:{at:d=>d}},scales:{y:{suggestedMin:90,max:100,title:{display:true,text:'%'}},y1:{position:'right',grid:{drawOnChartArea:false}}}}});
const ttf=R.time_to_freeze_hours.concat([R.deadlines.control_48h.missed]);
new Chart(document.getElementById('c2'),{type:'bar',data:{labels:ttf.map((_,h)=>h==ttf.length-1?'missed':(h<49?h+'h':'>=49h')),datasets:[
 {label:'freezes (met) and 48-hour clocks missed',data:ttf,backgroundColor:ttf.map((_,h)=>h==ttf.length-1?'#c62828':(h<48?'#1565c0':'#ef6c00'))}]},
 options:{animation:false}});
const busiest=R.connectors.slice().sort((a,b)=>b.requests-a.requests).slice(0,40);
new Chart(document.getElementById('c3'),{type:'bar',data:{labels:busiest.map(c=>c.name),datasets:[
 {label:'utilization %',data:busiest.map(c=>100*c.utilization),backgroundColor:'#6a1b9a',yAxisID:'y'},
 {label:'max queue',data:busiest.map(c=>c.max_queue),backgroundColor:'#ef6c00',yAxisID:'y1'}]},
 options:{animation:false,scales:{y:{title:{display:true,text:'%'}},y1:{position:'right',grid:{drawOnChartArea:false}}}}});
if(document.getElementById('c4'))new Chart(document.getElementById('c4'),{type:'line',data:{labels:[)" +
      sweep_labels + R"(],datasets:[)" + sweep_sets + R"(]},
 options:{animation:false,scales:{y:{min:0,max:100,title:{display:true,text:'% swept'}},x:{title:{display:true,text:'day of the run'}}}}});
)" + members.script +
      R"(document.querySelectorAll('#institutions th').forEach((th,col)=>th.addEventListener('click',()=>{
 const body=document.querySelector('#institutions tbody');const rows=[...body.rows];
 const key=r=>col==0?r.cells[0].textContent:parseFloat(r.cells[col].dataset.v);
 const desc=th.dataset.desc!=='1';th.dataset.desc=desc?'1':'0';
 rows.sort((a,b)=>{const x=key(a),y=key(b);return (x<y?-1:x>y?1:0)*(desc?-1:1);});
 rows.forEach(r=>body.appendChild(r));}));
)" + std::string(kDrawnCheckJs) +
      R"(</script></body></html>
)";
  return html;
}

namespace {

std::string csv_field(std::string_view v) {
  if (v.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(v);
  std::string out = "\"";
  for (char ch : v) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

std::string daily_csv(const SimulationReport& r) {
  std::string o = "date,filed,concluded,control_met,control_missed,sweep_swept,sweep_hits\n";
  for (const DailyPoint& d : r.daily) {
    o += fmt::format("{},{},{},{},{},{},{}\n", d.date.to_string(), d.filed, d.concluded,
                     d.control_met, d.control_missed, d.sweep_swept, d.sweep_hits);
  }
  return o;
}

std::string connectors_csv(const SimulationReport& r) {
  std::string o =
      "name,category,via,requests,utilization,latency_p50_ms,latency_p99_ms,"
      "query_turnaround_mean_ms,max_queue,control_met,control_missed,control_compliance\n";
  for (const ConnectorReport& c : r.connectors) {
    o += fmt::format(
        "{},{},{},{},{:.6f},{:.1f},{:.1f},{},{},{},{},{:.6f}\n", csv_field(c.name),
        csv_field(c.category), csv_field(c.via), c.requests, c.utilization, c.latency_p50_ms,
        c.latency_p99_ms,
        c.query_turnaround_mean_ms ? fmt::format("{:.1f}", *c.query_turnaround_mean_ms) : "",
        c.max_queue, c.control_met, c.control_missed, compliance(c.control_met, c.control_missed));
  }
  return o;
}

std::string members_csv(const SimulationReport& r) {
  std::string o =
      "name,hub,capacity,checks,batches,utilization,queue_p50,queue_p99,queue_max,"
      "latency_p50_hours,latency_p99_hours,timeouts,control_started,control_met,control_missed\n";
  for (const ConnectorReport& c : r.connectors) {
    if (!c.member) continue;
    const MemberReport& m = *c.member;
    o +=
        fmt::format("{},{},{},{},{},{:.6f},{},{},{},{:.2f},{:.2f},{},{},{},{}\n", csv_field(c.name),
                    csv_field(c.via), m.capacity, c.requests, m.batches, c.utilization, m.queue_p50,
                    m.queue_p99, c.max_queue, c.latency_p50_ms / 3.6e6, c.latency_p99_ms / 3.6e6,
                    m.timeouts, m.control_started, c.control_met, c.control_missed);
  }
  return o;
}

}  // namespace chakong::sim
