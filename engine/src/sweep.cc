// Engine::Shard, the sweep runs over the terminated-case library (records: sweep_journal.cc;
// restoration: restoration.cc).
//
// A sweep run releases its due library cases into the BULK lanes a few at a time (evenly over
// the spread for a batch, on each case's anniversary otherwise), at most sweep_cap_ cases
// with queries out; each debtor of a released case is queried at every connector in scope
// with the key "<case>/sweep/<run>/<debtor>/<connector>". A case is done when every answer
// is in; its bit in the run's done bitmap and the run header go to the journal at that
// moment, so a restarted engine skips exactly the finished cases and re-sends the others
// with the same keys. A hit restores the case at once with the findings as leads.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "chakong/base/identity.h"
#include "shard.h"
#include "sweep_records.h"

namespace chakong::engine {

using connectors::Request;
using connectors::RequestKind;
using connectors::Response;
using namespace sweep_records;

// ---- Sweep runs -------------------------------------------------------------------------

void Engine::Shard::arm_sweep() {
  if (sweep_armed_ || !config_.sweep.enabled) return;
  sweep_armed_ = true;
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

void Engine::Shard::schedule_run(Date from) {
  const Date start = next_start(config_.sweep, from);
  const int32_t day = start.days();
  sweep_timer_ = executor_.run_at(std::max(executor_.now(), start.start_us()), [this, day] {
    sweep_timer_ = TimerHandle();
    // A new run reads nothing from the journal; should that change, its error is reported.
    const Status s = begin_run(day, nullptr);
    if (!s.ok()) sweep_event(EventType::kRequestFailed, s.to_string());
  });
}

Status Engine::Shard::begin_run(int32_t day, const std::string* saved) {
  const SweepConfig& sc = config_.sweep;
  const Date start = Date::from_days(day);
  SweepRun run;
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
  for (const SweepRange& g : run.ranges) {
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
    journal_put(run_key(day), run_header());
    sweep_event(EventType::kSweepRunStarted,
                "run " + start.to_string() + ": " + std::to_string(run_->total) + " cases");
  }
  sweep_tick();
  return ok_status();
}

void Engine::Shard::sweep_event(EventType type, std::string detail) {
  if (!shared_.observer) return;
  shared_.observer(Event{type, executor_.now(), {}, {}, {}, std::move(detail)});
}

void Engine::Shard::sweep_tick() {
  if (!run_) return;
  release_cases();
  if (!run_) return;
  bool released = true;
  for (const SweepRange& g : run_->ranges) released = released && g.cursor == g.hi;
  if (!released) {
    sweep_timer_ = executor_.run_after(config_.sweep.tick, [this] {
      sweep_timer_ = TimerHandle();
      sweep_tick();
    });
  }
}

void Engine::Shard::release_cases() {
  if (!run_ || releasing_) return;
  releasing_ = true;
  SweepRun& r = *run_;
  const TimeUs now = executor_.now();
  const TimeUs start = r.report.start.start_us();
  bool released = true;
  for (SweepRange& g : r.ranges) {
    Library::Index limit = g.hi;
    if (!r.report.anniversary && now + config_.sweep.tick < r.spread_end) {
      // Evenly over the spread: by the next tick, this share of the range is out.
      const double share = static_cast<double>(now + config_.sweep.tick - start) /
                           static_cast<double>(r.spread_end - start);
      limit = g.lo + static_cast<Library::Index>(
                         std::ceil(static_cast<double>(g.hi - g.lo) * std::clamp(share, 0.0, 1.0)));
    }
    while (g.cursor < limit && static_cast<int>(sweeping_.size()) < sweep_cap_) {
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

void Engine::Shard::release(Library::Index i, TimeUs due) {
  const std::string number = library_.case_number(i);
  const std::string& officer = library_.officer(i);
  const Library::Record& rec = library_.record(i);
  // Authorisation, as for every request: the case's officer, registered with its court (its
  // debtors are the record's own).
  Subject subject = subject_of(i);
  subject.number = number;
  if (!authorize(subject, officer, std::nullopt, "sweep").ok()) {
    mark_done(i);  // Not swept: the run's coverage shows it.
    return;
  }
  SweepCase& sc = sweeping_[i];
  sc.due = due;
  for (int k = 0; k < rec.debtor_count; ++k) {
    ++stats_.sweep_debtors_queried;
    ++run_->report.debtors_queried;
    for (uint32_t c = 0; c < shared_.connectors.size(); ++c) {
      const ConnectorInfo& info = shared_.connectors[c];
      if (!info.caps.has(RequestKind::kQuery) || !config_.query_scope(info.name)) continue;
      ++sweeping_[i].outstanding;
      send_sweep_query(i, c, number, static_cast<uint8_t>(k));
    }
  }
  if (sweeping_[i].outstanding == 0) sweep_case_done(i);  // No connector in scope.
}

// The request is built from the library record (debtor `k` of case `i`), so the callback
// carries indices, not strings: it fits a UniqueFunction's inline storage. The request is
// written straight into the dispatcher's job slot (Dispatcher::submit_in_place), whose strings
// keep their buffers from query to query: building and handing it over allocate nothing once
// the slots have grown.
void Engine::Shard::send_sweep_query(Library::Index i, uint32_t connector,
                                     const std::string& number, uint8_t k) {
  const std::string_view debtor = library_.debtor_id(i, k);
  const std::string& name = shared_.connectors[connector].name;
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
  ++stats_.requests[static_cast<int>(RequestKind::kQuery)];
  // The dispatcher asks again while the outcome is in doubt (the one retry / in-doubt policy);
  // exhausted, the debtor counts as answered with the failure, so the run can finish.
  Callback done = [this, i, connector, k](Response resp) {
    on_sweep_answer(i, connector, library_.debtor_id(i, k), std::move(resp));
  };
  if (durable_) {
    Request r;
    fill(r);
    hold(connector, std::move(r), Lane::kBulk, run_->report.window_end, std::move(done));
    return;
  }
  dispatchers_[connector]->submit_in_place(Lane::kBulk, run_->report.window_end, std::move(done),
                                           fill);
}

void Engine::Shard::on_sweep_answer(Library::Index i, uint32_t connector, std::string_view debtor,
                                    Response r) {
  auto it = sweeping_.find(i);
  if (it == sweeping_.end()) return;
  SweepCase& sc = it->second;
  const ConnectorInfo& info = shared_.connectors[connector];
  Library::Record& rec = library_.record(i);
  // Most answers are "nothing found": the number is formatted only when there is property.
  const std::string number = r.assets.empty() ? std::string() : library_.case_number(i);
  if (r.status.ok() && info.caps.has(RequestKind::kFreeze) && !r.assets.empty()) {
    const CaseState* own = (rec.flags & Library::kEngineCase) != 0 ? find(number) : nullptr;
    for (Asset& a : r.assets) {
      if (a.holder_id != debtor || a.value <= Fen()) continue;
      // Property already under this case's own measure (kept in force) is not new.
      if (own != nullptr &&
          std::any_of(own->findings.begin(), own->findings.end(), [&](const Finding& f) {
            return f.connector == connector && f.asset.reference == a.reference;
          })) {
        continue;
      }
      sc.leads.push_back({connector, std::move(a), executor_.now()});
    }
    // A terminated engine case whose measures kept in force already hold its whole budget
    // (a sealed property, a bank freeze waiting for top-ups) can take nothing more: not a hit.
    if (own != nullptr && own->ledger.remaining() <= Fen()) sc.leads.clear();
  }
  if (!sc.leads.empty()) {
    if (!sc.hit) {
      sc.hit = true;
      ++stats_.sweep_hits;
      ++run_->report.hits;
      ++rec.hits;
      if (shared_.observer) {
        shared_.observer(Event{EventType::kSweepHit, executor_.now(), number, info.name,
                               sc.leads.front().asset.value, "run " + day_key(run_->id)});
      }
    }
    std::vector<Lead> leads = std::move(sc.leads);
    sc.leads.clear();
    if (sc.restored_as.empty()) {
      // A hit restores the case at once; the sweep has just queried, so no second fan-out.
      StatusOr<std::string> n = restore(number, std::nullopt, std::move(leads), false);
      if (n.ok()) {
        sc.restored_as = *n;
        ++stats_.sweep_restored;
        ++run_->report.restored;
        // The sweep found what it looks for: the case is swept now (a restart does not ask
        // again), and the answers still out go to the restored case.
        count_swept(i, sc);
      } else {
        sweep_event(EventType::kRequestFailed, "restore " + number + ": " + n.status().to_string());
      }
    } else {
      // Later hits of the same sweep go to the restored case.
      const size_t to = engine_.shard_of(sc.restored_as);
      Shard* target = engine_.shards_[to].get();
      post_to(to, [target, number = sc.restored_as, leads = std::move(leads)]() mutable {
        if (CaseState* c = target->find(number)) target->receive_leads(*c, std::move(leads));
      });
    }
  }
  if (--sc.outstanding == 0) sweep_case_done(i);
}

void Engine::Shard::count_swept(Library::Index i, SweepCase& sc) {
  if (sc.counted) return;
  sc.counted = true;
  Library::Record& rec = library_.record(i);
  ++rec.sweeps;
  rec.last_swept = date_of(executor_.now()).days();
  ++stats_.sweep_cases_swept;
  ++run_->report.swept;
  run_->report.max_lateness = std::max(run_->report.max_lateness, executor_.now() - sc.due);
  mark_done(i);
}

void Engine::Shard::sweep_case_done(Library::Index i) {
  auto it = sweeping_.find(i);
  if (it == sweeping_.end()) return;
  count_swept(i, it->second);
  sweeping_.erase(it);
  release_cases();
}

void Engine::Shard::mark_done(Library::Index i) {
  SweepRun& r = *run_;
  const uint32_t k = i - r.base;
  r.done[k / 64] |= uint64_t{1} << (k % 64);
  if (config_.journal == nullptr) return;
  const uint32_t chunk = k / (64 * kChunkWords);
  journal_put(run_key(r.id) + "/done/" + index_key(chunk),
              encode_done(&r.done[chunk * kChunkWords]));
  journal_put(run_key(r.id), run_header());
}

void Engine::Shard::finish_run() {
  SweepRun& r = *run_;
  r.report.finished_at = executor_.now();
  r.report.due = r.total - r.skipped;
  journal_put(run_key(r.id), run_header());
  // The run's progress chunks are no longer needed: every chunk it can have written.
  const size_t chunks = (r.done.size() + kChunkWords - 1) / kChunkWords;
  for (size_t chunk = 0; chunk < chunks && config_.journal != nullptr; ++chunk) {
    journal_erase(run_key(r.id) + "/done/" + index_key(static_cast<uint32_t>(chunk)));
  }
  sweep_event(EventType::kSweepRunFinished,
              "run " + r.report.start.to_string() + ": " + std::to_string(r.report.swept) + " of " +
                  std::to_string(r.report.due) + " swept" +
                  (r.report.fit() ? ", within its window" : ", after its window"));
  past_runs_.push_back(r.report);
  const int32_t id = r.id;
  run_.reset();
  schedule_run(Date::from_days(id).plus_days(1));
}

void Engine::Shard::collect_runs(std::map<int32_t, SweepRunReport>& runs) const {
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

}  // namespace chakong::engine
