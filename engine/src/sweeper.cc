// Engine::Shard, the sweep runs over the terminated-case library (records: sweep_journal.cc;
// restoration: restoration.cc).
//
// A sweep run releases its due library cases into the BULK lanes a few at a time (evenly over
// the spread for a batch, on each case's anniversary otherwise), at most cap_ cases
// with queries out; each debtor of a released case is queried at every connector in scope
// with the key "<case>/sweep/<run>/<debtor>/<connector>". A case is done when every answer
// is in; its bit in the run's done bitmap and the run header go to the journal at that
// moment, so a restarted engine skips exactly the finished cases and re-sends the others
// with the same keys. A hit restores the case at once with the findings as leads.
#include "sweeper.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "chakong/base/identity.h"
#include "sweep_records.h"

namespace chakong::engine {

using connectors::Request;
using connectors::RequestKind;
using connectors::Response;
using namespace sweep_records;

Sweeper::Sweeper(SweepHost host, int cap)
    : host_(std::move(host)),
      executor_(host_.executor),
      config_(host_.config),
      library_(host_.library),
      stats_(host_.stats),
      cap_(cap) {}

Sweeper::~Sweeper() { executor_.cancel(timer_); }

// ---- Sweep runs -------------------------------------------------------------------------

void Sweeper::arm() {
  if (armed_ || !config_.sweep.enabled) return;
  armed_ = true;
  schedule_run(date_of(executor_.now()));
}

namespace {
// The first configured start date on or after `from`.
Date next_start(const SweepConfig& sc, Date from) {
  Date best = Date::from_days(INT32_MAX);
  for (int year = from.year(); year <= from.year() + 1; ++year) {
    for (const auto& [m, d] : sc.starts) {
      StatusOr<Date> s = Date::from_ymd(year, m, d);
      if (!s.ok()) s = Date::from_ymd(year, m, d - 1);  // 29 February in a common year.
      if (s.ok() && *s >= from && *s < best) best = *s;
    }
  }
  return best;
}
}  // namespace

void Sweeper::schedule_run(Date from) {
  const Date start = next_start(config_.sweep, from);
  const int32_t day = start.days();
  timer_ = executor_.run_at(std::max(executor_.now(), start.start_us()), [this, day] {
    timer_ = TimerHandle();
    // A new run reads nothing from the journal; should that change, its error is reported.
    const Status s = begin_run(day, nullptr);
    if (!s.ok()) event(EventType::kRequestFailed, s.to_string());
  });
}

Status Sweeper::begin_run(int32_t day, const std::string* saved) {
  const SweepConfig& sc = config_.sweep;
  const Date start = Date::from_days(day);
  Run run;
  run.id = day;
  run.report.start = start;
  run.report.anniversary = sc.policy == SweepConfig::Policy::kAnniversary;
  run.report.started_at = std::max(executor_.now(), start.start_us());
  if (!run.report.anniversary) {
    // Cases terminated less than `years` ago, before the run's day.
    const auto [lo, hi] =
        library_.terminated_between(add_months(start, -12 * sc.years).plus_days(1), start);
    run.ranges.push_back({lo, hi, lo, 0});
    run.report.window_end = start.start_us() + sc.window_days * kMicrosPerDay;
    const int spread = sc.spread_days > 0 ? sc.spread_days : std::max(1, sc.window_days * 3 / 4);
    run.spread_end = start.start_us() + spread * kMicrosPerDay;
  } else {
    const Date end = next_start(sc, start.plus_days(1));
    for (int m = sc.interval_months; m <= 12 * sc.years; m += sc.interval_months) {
      const auto [lo, hi] = library_.anniversaries_between(start, end, m);
      if (lo < hi) run.ranges.push_back({lo, hi, lo, m});
    }
    run.report.window_end = end.start_us() + sc.window_days * kMicrosPerDay;
    run.spread_end = end.start_us();
  }
  Library::Index lo = UINT32_MAX, hi = 0;
  for (const Range& g : run.ranges) {
    lo = std::min(lo, g.lo);
    hi = std::max(hi, g.hi);
    run.total += g.hi - g.lo;
  }
  run.base = run.ranges.empty() ? 0 : lo;
  const Library::Index span = run.ranges.empty() ? 0 : hi - lo;
  run.done.assign((span + 64 * kChunkWords - 1) / (64 * kChunkWords) * kChunkWords, 0);
  if (saved != nullptr) {
    StatusOr<Header> header = decode_run(*saved);
    // A header that does not match: recover() reports it.
    if (!header.ok() || header->total != run.total) return ok_status();
    const Header& h = *header;
    run.report.started_at = h.started;
    run.skipped = h.skipped;
    run.report.hits = h.hits;
    run.report.restored = h.restored;
    run.report.debtors_queried = h.queried;
    run.report.max_lateness = h.lateness;
    const std::string prefix = run_key(day) + "/done/";
    Status bad;
    const Status read =
        config_.journal->scan(prefix, [&](std::string_view key, std::string_view v) {
          if (!bad.ok()) return;
          const uint64_t chunk = key_number(key);
          if ((chunk + 1) * kChunkWords > run.done.size()) {
            bad = data_loss_error("journal " + std::string(key) + ": chunk " +
                                  std::to_string(chunk) + " is beyond the run's " +
                                  std::to_string(run.done.size() / kChunkWords) + " chunks");
            return;
          }
          if (Status s = decode_done(v, &run.done[chunk * kChunkWords]); !s.ok()) {
            bad = data_loss_error("journal " + std::string(key) + ": " + s.message());
          }
        });
    // A damaged chunk: the run's progress cannot be trusted; refuse rather than guess.
    CHAKONG_RETURN_IF_ERROR(bad);
    if (!read.ok()) {
      // The progress of the run cannot be known: refuse rather than sweep from a guess.
      return Status(read.code(), "journal: sweep run " + day_key(day) + " progress (" + prefix +
                                     "): " + read.message());
    }
    uint64_t finished = 0;  // Swept or skipped.
    for (uint64_t w : run.done) finished += static_cast<uint64_t>(std::popcount(w));
    // The bitmap is the truth (a crash may fall between a chunk and its header).
    run.report.swept = finished >= run.skipped ? finished - run.skipped : 0;
  }
  run_ = std::move(run);
  if (saved == nullptr) {
    host_.journal_put(run_key(day), run_header());
    event(EventType::kSweepRunStarted,
          "run " + start.to_string() + ": " + std::to_string(run_->total) + " cases");
  }
  tick();
  return ok_status();
}

void Sweeper::event(EventType type, std::string detail) {
  if (!host_.observer) return;
  host_.observer(Event{type, executor_.now(), {}, {}, {}, std::move(detail)});
}

void Sweeper::tick() {
  if (!run_) return;
  release_cases();
  if (!run_) return;
  bool released = true;
  for (const Range& g : run_->ranges) released = released && g.cursor == g.hi;
  if (!released) {
    timer_ = executor_.run_after(config_.sweep.tick, [this] {
      timer_ = TimerHandle();
      tick();
    });
  }
}

void Sweeper::release_cases() {
  if (!run_ || releasing_) return;
  releasing_ = true;
  Run& r = *run_;
  const TimeUs now = executor_.now();
  const TimeUs start = r.report.start.start_us();
  bool released = true;
  for (Range& g : r.ranges) {
    Library::Index limit = g.hi;
    if (!r.report.anniversary && now + config_.sweep.tick < r.spread_end) {
      // Evenly over the spread: by the next tick, this share of the range is out.
      const double share = static_cast<double>(now + config_.sweep.tick - start) /
                           static_cast<double>(r.spread_end - start);
      limit = g.lo + static_cast<Library::Index>(
                         std::ceil(static_cast<double>(g.hi - g.lo) * std::clamp(share, 0.0, 1.0)));
    }
    while (g.cursor < limit && static_cast<int>(sweeping_.size()) < cap_) {
      const Library::Index i = g.cursor;
      const TimeUs due =
          g.months == 0 ? start : add_months(library_.terminated(i), g.months).start_us();
      if (due > now) break;
      ++g.cursor;
      if (r.is_done(i)) continue;  // Finished before a restart.
      if ((library_.record(i).flags & Library::kRestored) != 0) {
        ++r.skipped;  // Restored before its turn: no longer due.
        mark_done(i);
        continue;
      }
      release(i, due);
    }
    released = released && g.cursor == g.hi;
  }
  releasing_ = false;
  if (released && sweeping_.empty()) finish_run();
}

void Sweeper::release(Library::Index i, TimeUs due) {
  const std::string number = library_.case_number(i);
  const Library::Record& rec = library_.record(i);
  Case& sc = sweeping_[i];
  sc.due = due;
  for (int k = 0; k < rec.debtor_count; ++k) {
    int sent = 0, refused = 0;
    for (uint32_t c = 0; c < host_.connectors.size(); ++c) {
      const ConnectorInfo& info = host_.connectors[c];
      if (!info.caps.has(RequestKind::kQuery) || !config_.query_scope(info.name)) continue;
      // Every query is authorised as any request is (the case's officer, registered with its
      // court; the debtor one of the record's): a refusal is counted there, and not sent.
      if (send_query(i, c, number, static_cast<uint8_t>(k))) {
        ++sent;
      } else {
        ++refused;
      }
    }
    sc.outstanding += sent;
    sc.refused += refused;
    if (sent > 0 || refused == 0) {  // A debtor with no connector in scope counts as asked.
      ++stats_.sweep_debtors_queried;
      ++run_->report.debtors_queried;
    }
  }
  if (sc.outstanding == 0) case_done(i);  // No connector in scope, or every query refused.
}

// The request is built from the library record (debtor `k` of case `i`), so the callback
// carries indices, not strings: it fits a UniqueFunction's inline storage. The request is
// written straight into the dispatcher's job slot (Dispatcher::submit_in_place), whose strings
// keep their buffers from query to query: building and handing it over allocate nothing once
// the slots have grown.
bool Sweeper::send_query(Library::Index i, uint32_t connector, const std::string& number,
                         uint8_t k) {
  const std::string_view debtor = library_.debtor_id(i, k);
  const std::string& name = host_.connectors[connector].name;
  auto fill = [&](Request& r) {
    r.kind = RequestKind::kQuery;
    r.case_number.assign(number);
    r.debtor_id.assign(debtor);
    r.officer_id.assign(library_.officer(i));
    r.purpose.assign("terminated-case sweep");
    // "<case>/sweep/<run>/<debtor>/<connector>", built in place.
    r.idempotency_key.reserve(number.size() + 7 + 8 + 1 + debtor.size() + 1 + name.size());
    r.idempotency_key.append(number).append("/sweep/");
    r.idempotency_key.append(day_key(run_->id)).append("/").append(debtor).append("/").append(name);
  };
  // The dispatcher asks again while the outcome is in doubt (the one retry / in-doubt policy);
  // exhausted, the debtor counts as answered with the failure, so the run can finish.
  Dispatcher::Done done = [this, i, connector, k](Response resp) {
    on_answer(i, connector, library_.debtor_id(i, k), std::move(resp));
  };
  const SweepSend send{RequestKind::kQuery, library_.officer(i), debtor,
                       connector,           Lane::kBulk,         run_->report.window_end};
  return host_.send(library_subject(library_, i, number), send, std::move(done), fill);
}

void Sweeper::on_answer(Library::Index i, uint32_t connector, std::string_view debtor, Response r) {
  auto it = sweeping_.find(i);
  if (it == sweeping_.end()) return;
  Case& sc = it->second;
  const ConnectorInfo& info = host_.connectors[connector];
  Library::Record& rec = library_.record(i);
  // Most answers are "nothing found": the number is formatted only when there is property.
  const std::string number = r.assets.empty() ? std::string() : library_.case_number(i);
  if (r.status.ok() && info.caps.has(RequestKind::kFreeze) && !r.assets.empty()) {
    const size_t before = sc.leads.size();
    for (Asset& a : r.assets) {
      if (a.holder_id != debtor || a.value <= Fen()) continue;
      sc.leads.push_back({connector, std::move(a), executor_.now()});
    }
    // Property already under a terminated engine case's own measure (kept in force) is not
    // new, and a case whose measures hold its whole budget can take nothing more: not a hit.
    if ((rec.flags & Library::kEngineCase) != 0 && sc.leads.size() > before) {
      host_.drop_known(number, sc.leads);
    }
  }
  if (!sc.leads.empty()) {
    if (!sc.hit) {
      sc.hit = true;
      ++stats_.sweep_hits;
      ++run_->report.hits;
      ++rec.hits;
      if (host_.observer) {
        host_.observer(Event{EventType::kSweepHit, executor_.now(), number, info.name,
                             sc.leads.front().asset.value, "run " + day_key(run_->id)});
      }
    }
    std::vector<Lead> leads = std::move(sc.leads);
    sc.leads.clear();
    if (sc.restored_as.empty()) {
      // A hit restores the case at once; the sweep has just queried, so no second fan-out.
      StatusOr<std::string> n = host_.restore(number, std::move(leads));
      if (n.ok()) {
        sc.restored_as = *n;
        ++stats_.sweep_restored;
        ++run_->report.restored;
        // The sweep found what it looks for: the case is swept now (a restart does not ask
        // again), and the answers still out go to the restored case.
        count_swept(i, sc);
      } else {
        event(EventType::kRequestFailed, "restore " + number + ": " + n.status().to_string());
      }
    } else {
      // Later hits of the same sweep go to the restored case.
      host_.forward_leads(sc.restored_as, std::move(leads));
    }
  }
  // A part (a hub's member answering ahead) leaves the query outstanding.
  if (!r.part && --sc.outstanding == 0) case_done(i);
}

void Sweeper::count_swept(Library::Index i, Case& sc) {
  if (sc.counted) return;
  sc.counted = true;
  if (sc.refused > 0) {
    mark_done(i);  // Not swept (a query was refused): the run's coverage shows it.
    return;
  }
  Library::Record& rec = library_.record(i);
  ++rec.sweeps;
  rec.last_swept = date_of(executor_.now()).days();
  ++stats_.sweep_cases_swept;
  ++run_->report.swept;
  run_->report.max_lateness = std::max(run_->report.max_lateness, executor_.now() - sc.due);
  mark_done(i);
}

void Sweeper::case_done(Library::Index i) {
  auto it = sweeping_.find(i);
  if (it == sweeping_.end()) return;
  count_swept(i, it->second);
  sweeping_.erase(it);
  release_cases();
}

void Sweeper::mark_done(Library::Index i) {
  Run& r = *run_;
  const uint32_t k = i - r.base;
  r.done[k / 64] |= uint64_t{1} << (k % 64);
  if (config_.journal == nullptr) return;
  const uint32_t chunk = k / (64 * kChunkWords);
  host_.journal_put(run_key(r.id) + "/done/" + index_key(chunk),
                    encode_done(&r.done[chunk * kChunkWords]));
  host_.journal_put(run_key(r.id), run_header());
}

void Sweeper::finish_run() {
  Run& r = *run_;
  r.report.finished_at = executor_.now();
  r.report.due = r.total - r.skipped;
  host_.journal_put(run_key(r.id), run_header());
  // The run's progress chunks are no longer needed: every chunk it can have written.
  const size_t chunks = (r.done.size() + kChunkWords - 1) / kChunkWords;
  for (size_t chunk = 0; chunk < chunks && config_.journal != nullptr; ++chunk) {
    host_.journal_erase(run_key(r.id) + "/done/" + index_key(static_cast<uint32_t>(chunk)));
  }
  event(EventType::kSweepRunFinished,
        "run " + r.report.start.to_string() + ": " + std::to_string(r.report.swept) + " of " +
            std::to_string(r.report.due) + " swept" +
            (r.report.fit() ? ", within its window" : ", after its window"));
  past_runs_.push_back(r.report);
  const int32_t id = r.id;
  run_.reset();
  schedule_run(Date::from_days(id).plus_days(1));
}

void Sweeper::collect_runs(std::map<int32_t, SweepRunReport>& runs) const {
  auto merge = [&](const SweepRunReport& r) {
    auto [it, inserted] = runs.emplace(r.start.days(), r);
    if (inserted) return;
    SweepRunReport& m = it->second;
    m.finished_at = m.finished() && r.finished() ? std::max(m.finished_at, r.finished_at) : 0;
    m.due += r.due;
    m.swept += r.swept;
    m.debtors_queried += r.debtors_queried;
    m.hits += r.hits;
    m.restored += r.restored;
    m.started_at = std::min(m.started_at, r.started_at);
    m.window_end = std::max(m.window_end, r.window_end);
    m.max_lateness = std::max(m.max_lateness, r.max_lateness);
  };
  for (const SweepRunReport& r : past_runs_) merge(r);
  if (run_) {
    SweepRunReport r = run_->report;
    r.due = run_->total - run_->skipped;
    merge(r);
  }
}

// ---- Journal records --------------------------------------------------------------------

std::string Sweeper::run_key(int32_t day) const {
  return "sweep/" + std::to_string(host_.shard) + "/run/" + day_key(day);
}

std::string Sweeper::run_header() const {
  const Run& r = *run_;
  Header h;
  h.anniversary = r.report.anniversary;
  h.started = r.report.started_at;
  h.finished = r.report.finished_at;
  h.window_end = r.report.window_end;
  h.total = r.total;
  h.skipped = r.skipped;
  h.swept = r.report.swept;
  h.hits = r.report.hits;
  h.restored = r.report.restored;
  h.queried = r.report.debtors_queried;
  h.lateness = r.report.max_lateness;
  return encode_run(h);
}

Status Sweeper::recover() {
  Journal* j = config_.journal;
  int32_t resume = -1;
  std::string resume_header;
  if (j != nullptr) {
    Status bad;
    const std::string runs = "sweep/" + std::to_string(host_.shard) + "/run/";
    CHAKONG_RETURN_IF_ERROR(j->scan(runs, [&](std::string_view key, std::string_view v) {
      const std::string_view rest = key.substr(runs.size());
      if (rest.find('/') != std::string_view::npos || !bad.ok()) return;  // A done chunk.
      StatusOr<Date> day =
          Date::parse(std::string(rest.substr(0, 4)) + "-" + std::string(rest.substr(4, 2)) + "-" +
                      std::string(rest.substr(6, 2)));
      if (rest.size() != 8 || !day.ok()) {
        bad = data_loss_error("journal " + std::string(key) + ": not a sweep run day (YYYYMMDD)");
        return;
      }
      StatusOr<Header> header = decode_run(v);
      if (!header.ok()) {
        bad = data_loss_error("journal " + std::string(key) + ": " + header.status().message());
        return;
      }
      const Header& h = *header;
      if (h.finished != 0) {
        SweepRunReport r;
        r.start = *day;
        r.anniversary = h.anniversary;
        r.started_at = h.started;
        r.finished_at = h.finished;
        r.window_end = h.window_end;
        r.due = h.total - h.skipped;
        r.swept = h.swept;
        r.hits = h.hits;
        r.restored = h.restored;
        r.debtors_queried = h.queried;
        r.max_lateness = h.lateness;
        past_runs_.push_back(r);
      } else {
        resume = day->days();
        resume_header = std::string(v);
      }
    }));
    CHAKONG_RETURN_IF_ERROR(bad);
  }
  if (!config_.sweep.enabled) return ok_status();
  executor_.cancel(timer_);
  armed_ = true;
  if (resume >= 0) {
    CHAKONG_RETURN_IF_ERROR(begin_run(resume, &resume_header));
    if (!run_)
      return failed_precondition_error("journal: sweep run " + day_key(resume) +
                                       " does not match the library on shard " +
                                       std::to_string(host_.shard));
  } else {
    const Date from =
        past_runs_.empty() ? date_of(executor_.now()) : past_runs_.back().start.plus_days(1);
    schedule_run(from);
  }
  return ok_status();
}

}  // namespace chakong::engine
