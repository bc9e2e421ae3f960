// report.json and report.html of a simulation.
#include <fmt/format.h>

#include <algorithm>

#include "chakong/sim/simulation.h"

namespace chakong::sim {

// Chart.js (Debian's libjs-chart.js), embedded at build time so that the report is one file.
extern const char kChartJs[];

namespace {

std::string esc(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out.push_back('\\');
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(ch);
  }
  return out;
}

std::string ratio(double v) { return fmt::format("{:.6f}", v); }

double compliance(uint64_t met, uint64_t missed) {
  return met + missed == 0 ? 1.0 : static_cast<double>(met) / static_cast<double>(met + missed);
}

std::string when(TimeUs t) {
  if (t == 0) return "null";
  const Date d = date_of(t);
  const TimeUs in_day = t - d.start_us();
  return fmt::format("\"{}T{:02d}:{:02d}\"", d.to_string(), in_day / kMicrosPerHour,
                     in_day % kMicrosPerHour / kMicrosPerMinute);
}

// A run is closed when it finished or its window ended within the simulated time: those are
// the runs coverage is computed over.
bool closed(const engine::SweepRunReport& run, TimeUs end) {
  return run.finished() || run.window_end <= end;
}

std::string sweep_json(const SimulationReport& r) {
  const engine::EngineStats& s = r.stats;
  uint64_t due = 0, swept = 0, closed_runs = 0;
  double max_days = 0;
  std::string details;
  for (size_t i = 0; i < r.sweep_runs.size(); ++i) {
    const engine::SweepRunReport& run = r.sweep_runs[i];
    if (closed(run, r.end)) {
      ++closed_runs;
      due += run.due;
      swept += run.swept;
    }
    const double days =
        static_cast<double>((run.finished() ? run.finished_at : r.end) - run.started_at) /
        static_cast<double>(kMicrosPerDay);
    if (run.finished()) max_days = std::max(max_days, days);
    details += fmt::format(
        "      {{\"start\": \"{}\", \"due\": {}, \"swept\": {}, \"coverage\": {}, "
        "\"debtors_queried\": {}, \"hits\": {}, \"restored\": {}, \"started\": {}, "
        "\"finished\": {}, \"days\": {:.2f}, \"window_end\": {}, \"fit_window\": {}, "
        "\"max_lateness_days\": {:.2f}}}{}\n",
        run.start.to_string(), run.due, run.swept,
        run.due == 0 ? "1.000000" : ratio(static_cast<double>(run.swept) / run.due),
        run.debtors_queried, run.hits, run.restored, when(run.started_at), when(run.finished_at),
        days, when(run.window_end), run.fit() ? "true" : "false",
        static_cast<double>(run.max_lateness) / static_cast<double>(kMicrosPerDay),
        i + 1 < r.sweep_runs.size() ? "," : "");
  }
  const std::string coverage =
      closed_runs == 0 ? "null" : (due == 0 ? "1.000000" : ratio(static_cast<double>(swept) / due));
  return fmt::format(
      "  \"sweep\": {{\"policy\": \"{}\", \"runs\": {}, \"library_size\": {}, "
      "\"library_bytes_per_case\": {:.1f}, \"debtors_queried\": {}, \"coverage\": {}, "
      "\"closed_runs\": {}, \"hits\": {}, \"restored\": {}, \"restored_on_lead\": {}, "
      "\"max_run_days\": {:.2f},\n    \"run_details\": [\n{}    ]}},\n",
      r.sweep_policy, r.sweep_runs.size(), r.library.cases,
      r.library.cases == 0
          ? 0.0
          : static_cast<double>(r.library.memory_bytes) / static_cast<double>(r.library.cases),
      s.sweep_debtors_queried, coverage, closed_runs, s.sweep_hits, s.sweep_restored,
      s.lead_restored, max_days, details);
}

}  // namespace

std::string report_json(const SimulationReport& r) {
  const engine::EngineStats& s = r.stats;
  using connectors::RequestKind;
  auto req = [&](RequestKind k) { return s.requests[static_cast<int>(k)]; };
  std::string o;
  o += "{\n";
  o += fmt::format("  \"scenario\": {{\"name\": \"{}\", \"seed\": {}, \"days\": {}}},\n",
                   esc(r.name), r.seed, r.days);
  o += fmt::format(
      "  \"run\": {{\"wall_seconds\": {:.3f}, \"events\": {}, \"events_per_second\": {:.0f}, "
      "\"threads\": {}, \"peak_rss_bytes\": {}}},\n",
      r.wall_seconds, r.events,
      r.wall_seconds > 0 ? static_cast<double>(r.events) / r.wall_seconds : 0.0, r.threads,
      r.peak_rss_bytes);
  o += fmt::format("  \"population\": {{\"debtors\": {}, \"accounts\": {}}},\n", r.debtors,
                   r.accounts);
  o += fmt::format(
      "  \"cases\": {{\"filed\": {}, \"concluded\": {}, \"terminated\": {}, \"restored\": {}, "
      "\"open\": {}}},\n",
      s.cases_filed, s.cases_concluded, s.cases_terminated, s.cases_restored, r.cases_open);
  o += fmt::format(
      "  \"requests\": {{\"query\": {}, \"freeze\": {}, \"waitlist\": {}, \"renew\": {}, "
      "\"release\": {}, \"deduct\": {}, \"retries\": {}, \"timeouts\": {}, \"errors\": {}}},\n",
      req(RequestKind::kQuery), req(RequestKind::kFreeze), req(RequestKind::kWaitlistFreeze),
      req(RequestKind::kRenew), req(RequestKind::kRelease), req(RequestKind::kDeduct), s.retries,
      s.timeouts, s.errors);
  o += "  \"deadlines\": {\n";
  o += fmt::format(
      "    \"control_48h\": {{\"started\": {}, \"met\": {}, \"missed\": {}, \"not_required\": {}, "
      "\"open\": {}, \"compliance\": {}, \"new_cases_compliance\": {}, "
      "\"restored_cases\": {{\"met\": {}, \"missed\": {}}}}},\n",
      s.control_started, s.control_met, s.control_missed, s.control_not_required, r.control_open,
      ratio(compliance(s.control_met, s.control_missed)),
      ratio(compliance(s.control_met - r.restored_control_met,
                       s.control_missed - r.restored_control_missed)),
      r.restored_control_met, r.restored_control_missed);
  o += fmt::format(
      "    \"query_start\": {{\"score\": {}, \"within_5wd\": {}, \"within_10wd\": {}, "
      "\"within_22wd\": {}, \"later\": {}, \"unscored\": {}}},\n",
      ratio(s.query_score()), s.query_within_5wd, s.query_within_10wd, s.query_within_22wd,
      s.query_later, s.query_unscored);
  o += fmt::format(
      "    \"preservation_start\": {{\"started\": {}, \"within_5d\": {}, \"later\": {}, "
      "\"compliance\": {}}},\n",
      s.preservation_started, s.preservation_within_5d, s.preservation_late,
      ratio(compliance(s.preservation_within_5d, s.preservation_late)));
  o += fmt::format("    \"renewal\": {{\"renewed\": {}, \"lapsed\": {}}}\n  }},\n", s.renewed,
                   s.lapsed);
  o += fmt::format(
      "  \"money\": {{\"claimed_fen\": {}, \"frozen_fen\": {}, \"deducted_fen\": {}}},\n",
      s.claimed.value(), s.frozen.value(), s.deducted.value());
  // Proportionate control (docs/domain.md): seals made, seals not made for a remainder too
  // small beside the claim, and how many cases had their whole budget secured at some point.
  o += fmt::format(
      "  \"control\": {{\"indivisible_sealed\": {}, \"seals_avoided_by_proportionality\": {}, "
      "\"remainders_uncovered\": {}, \"uncovered_fen\": {}, \"cases_fully_secured\": {}, "
      "\"fully_secured_share\": {}}},\n",
      s.indivisible_sealed, s.seals_avoided, s.remainders_uncovered, s.uncovered.value(),
      s.cases_secured,
      ratio(s.cases_filed == 0
                ? 0.0
                : static_cast<double>(s.cases_secured) / static_cast<double>(s.cases_filed)));
  o += fmt::format(
      "  \"invariants\": {{\"over_seizure\": {}, \"duplicate_measures\": {}, \"lapsed_measures\": "
      "{}, "
      "\"unauthorized\": {}, \"lost_requests\": {}, \"ledger_disagreements\": {}}},\n",
      r.over_seizure + s.over_seizure, r.duplicate_measures, r.institution_lapses, s.unauthorized,
      r.lost_requests, r.ledger_disagreements);
  o += fmt::format(
      "  \"faults\": {{\"refused\": {}, \"malformed\": {}, \"duplicated\": {}, "
      "\"in_doubt_resent\": {}, \"in_doubt_unresolved\": {}}},\n",
      r.faults.refused, r.faults.malformed, r.faults.duplicated, s.in_doubt_resent,
      s.in_doubt_unresolved);
  o += sweep_json(r);
  o += "  \"connectors\": [\n";
  for (size_t i = 0; i < r.connectors.size(); ++i) {
    const ConnectorReport& c = r.connectors[i];
    o += fmt::format(
        "    {{\"name\": \"{}\", \"category\": \"{}\", \"requests\": {}, \"utilization\": {}, "
        "\"latency_ms\": {{\"p50\": {:.1f}, \"p99\": {:.1f}}}, \"query_turnaround_mean_ms\": {}, "
        "\"max_queue\": {}, \"control_met\": {}, \"control_missed\": {}{}}}{}\n",
        esc(c.name), c.category, c.requests, ratio(c.utilization), c.latency_p50_ms,
        c.latency_p99_ms,
        c.query_turnaround_mean_ms ? fmt::format("{:.1f}", *c.query_turnaround_mean_ms) : "null",
        c.max_queue, c.control_met, c.control_missed,
        c.via.empty() ? std::string() : ", \"via\": \"" + esc(c.via) + "\"",
        i + 1 < r.connectors.size() ? "," : "");
  }
  o += "  ],\n  \"time_to_freeze_hours\": [";
  for (size_t i = 0; i < r.time_to_freeze_hours.size(); ++i) {
    o += (i ? ", " : "") + std::to_string(r.time_to_freeze_hours[i]);
  }
  o += "],\n  \"daily\": [\n";
  for (size_t i = 0; i < r.daily.size(); ++i) {
    const DailyPoint& d = r.daily[i];
    o += fmt::format(
        "    {{\"date\": \"{}\", \"filed\": {}, \"concluded\": {}, \"control_met\": {}, "
        "\"control_missed\": {}, \"sweep_swept\": {}, \"sweep_hits\": {}}}{}\n",
        d.date.to_string(), d.filed, d.concluded, d.control_met, d.control_missed, d.sweep_swept,
        d.sweep_hits, i + 1 < r.daily.size() ? "," : "");
  }
  o += "  ]\n}\n";
  return o;
}

std::string report_html(const SimulationReport& r) {
  const engine::EngineStats& s = r.stats;
  std::string labels, compliance_series, met_series, missed_series;
  uint64_t met = 0, missed = 0;
  for (size_t i = 0; i < r.daily.size(); ++i) {
    const DailyPoint& d = r.daily[i];
    met += d.control_met;
    missed += d.control_missed;
    const char* sep = i ? "," : "";
    labels += fmt::format("{}\"{}\"", sep, d.date.to_string());
    compliance_series += fmt::format("{}{:.4f}", sep, 100.0 * compliance(met, missed));
    met_series += fmt::format("{}{}", sep, d.control_met);
    missed_series += fmt::format("{}{}", sep, d.control_missed);
  }
  std::string ttf_labels, ttf;
  for (size_t h = 0; h < r.time_to_freeze_hours.size(); ++h) {
    const char* sep = h ? "," : "";
    ttf_labels += h < 49 ? fmt::format("{}\"{}h\"", sep, h) : fmt::format("{}\">48h\"", sep);
    ttf += fmt::format("{}{}", sep, r.time_to_freeze_hours[h]);
  }
  std::vector<const ConnectorReport*> busiest;
  for (const ConnectorReport& c : r.connectors) busiest.push_back(&c);
  std::stable_sort(
      busiest.begin(), busiest.end(),
      [](const ConnectorReport* a, const ConnectorReport* b) { return a->requests > b->requests; });
  if (busiest.size() > 40) busiest.resize(40);
  std::string conn_labels, util, queue;
  for (size_t i = 0; i < busiest.size(); ++i) {
    const char* sep = i ? "," : "";
    conn_labels += fmt::format("{}\"{}\"", sep, esc(busiest[i]->name));
    util += fmt::format("{}{:.3f}", sep, 100.0 * busiest[i]->utilization);
    queue += fmt::format("{}{}", sep, busiest[i]->max_queue);
  }
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
        r.library.cases, r.sweep_policy, r.sweep_runs.size(), fit, s.sweep_debtors_queried,
        s.sweep_hits, s.sweep_restored);
  }
  const double comp = 100.0 * compliance(s.control_met, s.control_missed);
  std::string html =
      R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Chakong report: )" +
      esc(r.name) + R"(</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{margin-bottom:4px} .sub{color:#666;margin-top:0}
.kpis{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:16px 0}
.kpi{border:1px solid #ddd;border-radius:8px;padding:12px} .kpi b{font-size:1.6em;display:block}
.ok{color:#1a7f37} .bad{color:#c62828}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:24px}
.card{border:1px solid #ddd;border-radius:8px;padding:12px} canvas{width:100%!important}
table{border-collapse:collapse} td,th{padding:4px 10px;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}
</style>
<script>)" +
      std::string(kChartJs) + R"(</script></head><body>
<h1>)" +
      esc(r.name) + R"(</h1>
<p class="sub">seed )" +
      std::to_string(r.seed) + ", " + std::to_string(r.days) + " simulated days, " +
      std::to_string(r.debtors) + " debtors, " + std::to_string(r.connectors.size()) +
      R"( institutions</p>
<div class="kpis">
<div class="kpi">48-hour control compliance<b class=")" +
      (comp >= 99 ? "ok" : "bad") + "\">" + fmt::format("{:.2f} %", comp) + "</b>" +
      fmt::format("{} met, {} missed", s.control_met, s.control_missed) + R"(</div>
<div class="kpi">Query timeliness score<b>)" +
      fmt::format("{:.1f}", s.query_score()) + "</b>" +
      fmt::format("{} of {} within 5 working days", s.query_within_5wd, s.query_scored) + R"(</div>
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
<div class="charts">
<div class="card"><h3>48-hour control compliance over time</h3><canvas id="c1"></canvas></div>
<div class="card"><h3>Time from finding to freeze</h3><canvas id="c2"></canvas></div>
<div class="card"><h3>Connector utilization and queue depth (busiest 40)</h3><canvas id="c3"></canvas></div>
<div class="card"><h3>Terminated-case library sweep: share of each run's due cases swept, by day of the run</h3>)" +
      sweep_card + R"(</div>
</div>
<script>
const labels=[)" +
      labels + R"(];
new Chart(document.getElementById('c1'),{type:'line',data:{labels,datasets:[
 {label:'cumulative compliance %',data:[)" +
      compliance_series + R"(],borderColor:'#1a7f37',yAxisID:'y',pointRadius:0},
 {label:'met per day',data:[)" +
      met_series + R"(],borderColor:'#1565c0',yAxisID:'y1',pointRadius:0},
 {label:'missed per day',data:[)" +
      missed_series + R"(],borderColor:'#c62828',yAxisID:'y1',pointRadius:0}]},
 options:{animation:false,scales:{y:{suggestedMin:90,max:100,title:{display:true,text:'%'}},y1:{position:'right',grid:{drawOnChartArea:false}}}}});
new Chart(document.getElementById('c2'),{type:'bar',data:{labels:[)" +
      ttf_labels + R"(],datasets:[
 {label:'freezes',data:[)" +
      ttf + R"(],backgroundColor:'#1565c0'}]},options:{animation:false}});
new Chart(document.getElementById('c3'),{type:'bar',data:{labels:[)" +
      conn_labels + R"(],datasets:[
 {label:'utilization %',data:[)" +
      util + R"(],backgroundColor:'#6a1b9a',yAxisID:'y'},
 {label:'max queue',data:[)" +
      queue + R"(],backgroundColor:'#ef6c00',yAxisID:'y1'}]},
 options:{animation:false,scales:{y:{title:{display:true,text:'%'}},y1:{position:'right',grid:{drawOnChartArea:false}}}}});
if(document.getElementById('c4'))new Chart(document.getElementById('c4'),{type:'line',data:{labels:[)" +
      sweep_labels + R"(],datasets:[)" + sweep_sets + R"(]},
 options:{animation:false,scales:{y:{min:0,max:100,title:{display:true,text:'% swept'}},x:{title:{display:true,text:'day of the run'}}}}});
</script></body></html>
)";
  return html;
}

}  // namespace chakong::sim
