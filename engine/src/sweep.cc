// Engine::Shard, part two: the terminated-case library, the sweep, and restoration.
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

namespace chakong::engine {

using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

namespace {

constexpr uint32_t kChunkWords = 16;  // 1,024 cases per journal chunk of a done bitmap.

std::string day_key(int32_t day) {
  const Date d = Date::from_days(day);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d", d.year(), d.month(), d.day());
  return buf;
}

// The number after the last '/' of a journal key ("library/0/case/0000000042" -> 42).
uint64_t key_number(std::string_view key) {
  return std::strtoull(std::string(key.substr(key.rfind('/') + 1)).c_str(), nullptr, 10);
}

std::string index_key(uint64_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%010llu", static_cast<unsigned long long>(i));
  return buf;
}

// A library entry as one journal value: fields separated by '\t', debtors by ','.
std::string encode_entry(const LibraryEntry& e) {
  std::string v = e.case_number + "\t" + e.officer_id + "\t" + std::to_string(e.remaining.value()) +
                  "\t" + std::to_string(e.terminated.days()) + "\t" +
                  (e.consumption_restricted ? "1" : "0") + "\t" +
                  std::to_string(e.measures_in_force) + "\t";
  for (size_t k = 0; k < e.debtors.size(); ++k) {
    if (k > 0) v += ",";
    v += (e.debtors[k].organisation ? "O:" : "P:") + e.debtors[k].id;
  }
  return v;
}

StatusOr<LibraryEntry> decode_entry(std::string_view v) {
  std::vector<std::string> f;
  size_t at = 0;
  while (true) {
    const size_t tab = v.find('\t', at);
    f.emplace_back(v.substr(at, tab == std::string_view::npos ? v.size() - at : tab - at));
    if (tab == std::string_view::npos) break;
    at = tab + 1;
  }
  if (f.size() != 7) return data_loss_error("has " + std::to_string(f.size()) + " fields, not 7");
  LibraryEntry e;
  e.case_number = f[0];
  e.officer_id = f[1];
  try {
    e.remaining = Fen(std::stoll(f[2]));
    e.terminated = Date::from_days(std::stoi(f[3]));
    e.measures_in_force = std::stoi(f[5]);
  } catch (const std::exception&) {
    return data_loss_error("has a number that does not parse");
  }
  e.consumption_restricted = f[4] == "1";
  size_t p = 0;
  while (p < f[6].size()) {
    size_t comma = f[6].find(',', p);
    if (comma == std::string::npos) comma = f[6].size();
    const std::string d = f[6].substr(p, comma - p);
    if (d.size() < 3 || (d[0] != 'O' && d[0] != 'P') || d[1] != ':') {
      return data_loss_error("has a malformed debtor '" + mask_id(d) + "'");
    }
    e.debtors.push_back({d[0] == 'O', d.substr(2)});
    p = comma + 1;
  }
  return e;
}

}  // namespace

// ---- Journal --------------------------------------------------------------------------

void Engine::Shard::journal_put(const std::string& key, std::string_view value) {
  if (config_.journal == nullptr) return;
  if (durable_) {
    // Case-server mode: in the task's atomic group (a restoration's library mark lands with
    // the restored case's records), without blocking the shard on a sync.
    pending_.push_back({key, std::string(value)});
    request_flush();
    return;
  }
  // Library mode: appended for the journal's next group write, and made durable by a sync
  // asked for once per task; the shard thread never waits for the disk.
  journal_failed(key, config_.journal->append_put(key, value));
  request_library_sync();
}

void Engine::Shard::request_library_sync() {
  if (library_sync_posted_) return;
  library_sync_posted_ = true;
  std::weak_ptr<int> alive = alive_;
  executor_.post([this, alive] {
    if (!alive.lock()) return;
    library_sync_posted_ = false;
    config_.journal->sync([this, ex = &executor_, alive](Status s) {
      if (s.ok()) return;
      // On the journal's writer thread: reported on this shard.
      ex->post([this, alive, s = std::move(s)] {
        if (alive.lock()) journal_failed("sync", s);
      });
    });
  });
}

void Engine::Shard::journal_failed(const std::string& key, const Status& s) {
  if (s.ok()) return;
  // Library mode writes outside a group: the first failure is kept (journal_status()), so a
  // restart from a journal that missed a write is not mistaken for a clean one, and reported.
  if (journal_error_.ok()) journal_error_ = s;
  if (shared_.observer) {
    shared_.observer(Event{EventType::kRequestFailed,
                           executor_.now(),
                           {},
                           {},
                           {},
                           "journal: " + key + ": " + s.to_string()});
  }
}

void Engine::Shard::journal_erase(const std::string& key) {
  if (config_.journal == nullptr) return;
  if (durable_) {
    pending_.push_back({key, {}, /*erase=*/true});  // After the puts of the same group.
    request_flush();
    return;
  }
  journal_failed(key, config_.journal->append_erase(key));
  request_library_sync();
}

std::string Engine::Shard::run_key(int32_t day) const {
  return "sweep/" + std::to_string(index_) + "/run/" + day_key(day);
}

// "policy started finished window_end total skipped swept hits restored queried lateness".
std::string Engine::Shard::run_header() const {
  const SweepRun& r = *run_;
  char buf[256];
  std::snprintf(
      buf, sizeof buf, "%d %lld %lld %lld %llu %llu %llu %llu %llu %llu %lld",
      r.report.anniversary ? 1 : 0, static_cast<long long>(r.report.started_at),
      static_cast<long long>(r.report.finished_at), static_cast<long long>(r.report.window_end),
      static_cast<unsigned long long>(r.total), static_cast<unsigned long long>(r.skipped),
      static_cast<unsigned long long>(r.report.swept),
      static_cast<unsigned long long>(r.report.hits),
      static_cast<unsigned long long>(r.report.restored),
      static_cast<unsigned long long>(r.report.debtors_queried),
      static_cast<long long>(r.report.max_lateness));
  return buf;
}

namespace {
struct Header {
  int anniversary = 0;
  long long started = 0, finished = 0, window_end = 0, lateness = 0;
  unsigned long long total = 0, skipped = 0, swept = 0, hits = 0, restored = 0, queried = 0;
};
bool parse_header(const std::string& v, Header& h) {
  return std::sscanf(v.c_str(), "%d %lld %lld %lld %llu %llu %llu %llu %llu %llu %lld",
                     &h.anniversary, &h.started, &h.finished, &h.window_end, &h.total, &h.skipped,
                     &h.swept, &h.hits, &h.restored, &h.queried, &h.lateness) == 11;
}
}  // namespace

// ---- Library ----------------------------------------------------------------------------

Status Engine::Shard::import_library(std::vector<std::pair<size_t, LibraryEntry>> entries) {
  if (entries.empty()) return ok_status();
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.second.terminated != b.second.terminated ? a.second.terminated < b.second.terminated
                                                      : a.second.case_number < b.second.case_number;
  });
  library_.reserve(library_.size() + entries.size());
  for (const auto& [i, e] : entries) {
    StatusOr<Library::Index> added = library_.add(e);
    if (!added.ok()) {
      return Status(added.status().code(),
                    "entries[" + std::to_string(i) + "]: " + added.status().message());
    }
  }
  // Armed when the executor runs, so that start() can resume a run first.
  executor_.post([this] { arm_sweep(); });
  return ok_status();
}

void Engine::Shard::add_to_library(const CaseState& c, bool restricted) {
  LibraryEntry e;
  e.case_number = c.number;
  for (const DebtorInfo& d : c.filing.debtors) {
    e.debtors.push_back({d.kind == DebtorInfo::Kind::kOrganisation, d.id});
  }
  e.officer_id = c.filing.officer_ids.front();
  // What is still owed: measures kept in force do not pay the claim until deducted.
  e.remaining = c.ledger.budget() - c.ledger.deducted();
  e.terminated = date_of(executor_.now());
  e.consumption_restricted = restricted;
  for (const Measure& m : c.measures) e.measures_in_force += m.live ? 1 : 0;
  StatusOr<Library::Index> i = library_.add(e, Library::kEngineCase);
  if (!i.ok()) {
    emit(EventType::kRequestFailed, c, {}, {}, "library: " + i.status().to_string());
    return;
  }
  journal_put("library/" + std::to_string(index_) + "/case/" + index_key(*i), encode_entry(e));
  arm_sweep();
}

Status Engine::Shard::recover() {
  Journal* j = config_.journal;
  int32_t resume = -1;
  std::string resume_header;
  if (j != nullptr) {
    const std::string lib = "library/" + std::to_string(index_) + "/";
    Status bad;
    CHAKONG_RETURN_IF_ERROR(j->scan(lib + "case/", [&](std::string_view key, std::string_view v) {
      if (!bad.ok()) return;
      const std::string where = "journal " + std::string(key) + ": ";
      const uint64_t i = key_number(key);
      if (i != library_.size()) {
        bad = failed_precondition_error(where + "this library case follows " + std::to_string(i) +
                                        " cases but shard " + std::to_string(index_) + " has " +
                                        std::to_string(library_.size()) +
                                        "; import the library the engine had before the restart");
        return;
      }
      StatusOr<LibraryEntry> e = decode_entry(v);
      if (!e.ok()) {
        bad = data_loss_error(where + e.status().message());
        return;
      }
      StatusOr<Library::Index> added = library_.add(*e, Library::kEngineCase);
      if (!added.ok()) bad = data_loss_error(where + added.status().message());
    }));
    CHAKONG_RETURN_IF_ERROR(bad);
    CHAKONG_RETURN_IF_ERROR(j->scan(lib + "restored/", [&](std::string_view key, std::string_view) {
      const uint64_t i = key_number(key);
      if (i < library_.size()) {
        library_.record(static_cast<Library::Index>(i)).flags |= Library::kRestored;
      } else if (bad.ok()) {
        bad =
            failed_precondition_error("journal " + std::string(key) +
                                      ": no such library case on shard " + std::to_string(index_));
      }
    }));
    CHAKONG_RETURN_IF_ERROR(bad);
    if (StatusOr<std::string> n = j->get(lib + "serial"); n.ok()) {
      restore_count_ = std::strtoll(n->c_str(), nullptr, 10);
    }
    const std::string runs = "sweep/" + std::to_string(index_) + "/run/";
    CHAKONG_RETURN_IF_ERROR(j->scan(runs, [&](std::string_view key, std::string_view v) {
      const std::string_view rest = key.substr(runs.size());
      if (rest.find('/') != std::string_view::npos || !bad.ok()) return;  // A done chunk.
      Header h;
      StatusOr<Date> day =
          Date::parse(std::string(rest.substr(0, 4)) + "-" + std::string(rest.substr(4, 2)) + "-" +
                      std::string(rest.substr(6, 2)));
      if (rest.size() != 8 || !day.ok() || !parse_header(std::string(v), h)) {
        bad = data_loss_error("journal " + std::string(key) + ": malformed sweep run header '" +
                              std::string(v) + "'");
        return;
      }
      if (h.finished != 0) {
        SweepRunReport r;
        r.start = *day;
        r.anniversary = h.anniversary != 0;
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
  executor_.cancel(sweep_timer_);
  sweep_armed_ = true;
  if (resume >= 0) {
    CHAKONG_RETURN_IF_ERROR(begin_run(resume, &resume_header));
    if (!run_)
      return failed_precondition_error("journal: sweep run " + day_key(resume) +
                                       " does not match the library on shard " +
                                       std::to_string(index_));
  } else {
    const Date from =
        past_runs_.empty() ? date_of(executor_.now()) : past_runs_.back().start.plus_days(1);
    schedule_run(from);
  }
  return ok_status();
}

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
    Header h;
    // A header that does not match: recover() reports it.
    if (!parse_header(*saved, h) || h.total != run.total) return ok_status();
    run.report.started_at = h.started;
    run.skipped = h.skipped;
    run.report.hits = h.hits;
    run.report.restored = h.restored;
    run.report.debtors_queried = h.queried;
    run.report.max_lateness = h.lateness;
    const std::string prefix = run_key(day) + "/done/";
    const Status read =
        config_.journal->scan(prefix, [&](std::string_view key, std::string_view v) {
          const uint64_t chunk = key_number(key);
          if ((chunk + 1) * kChunkWords > run.done.size() ||
              v.size() != kChunkWords * sizeof(uint64_t)) {
            return;
          }
          std::memcpy(&run.done[chunk * kChunkWords], v.data(), v.size());
        });
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
// carries indices, not strings: it fits a UniqueFunction's inline storage.
void Engine::Shard::send_sweep_query(Library::Index i, uint32_t connector,
                                     const std::string& number, uint8_t k, uint8_t resends) {
  const std::string_view debtor = library_.debtor_id(i, k);
  const std::string& name = shared_.connectors[connector].name;
  Request r;
  r.kind = RequestKind::kQuery;
  r.case_number = number;
  r.debtor_id = debtor;
  r.officer_id = library_.officer(i);
  r.purpose = "terminated-case sweep";
  // "<case>/sweep/<run>/<debtor>/<connector>", built in place.
  r.idempotency_key.reserve(number.size() + 7 + 8 + 1 + debtor.size() + 1 + name.size());
  r.idempotency_key.append(number).append("/sweep/");
  r.idempotency_key.append(day_key(run_->id)).append("/").append(debtor).append("/").append(name);
  ++stats_.requests[static_cast<int>(RequestKind::kQuery)];
  Callback done = [this, i, connector, k, resends](Response resp) {
    if (in_doubt_step(resp.status.code(), resends) == InDoubtStep::kResend) {
      // Nothing lost: the same query again once the institution is back, under the one
      // in-doubt policy (exhausted, the debtor counts as answered with the failure, so the
      // run can finish). The key is rebuilt the same: the run cannot end while this case has
      // queries out.
      ++stats_.in_doubt_resent;
      executor_.run_after(config_.in_doubt_retry, [this, i, connector, k, resends] {
        send_sweep_query(i, connector, library_.case_number(i), k,
                         static_cast<uint8_t>(resends + 1));
      });
      return;
    }
    on_sweep_answer(i, connector, library_.debtor_id(i, k), std::move(resp));
  };
  if (durable_) {
    hold(connector, std::move(r), Lane::kBulk, run_->report.window_end, std::move(done));
    return;
  }
  dispatchers_[connector]->submit(std::move(r), Lane::kBulk, run_->report.window_end,
                                  std::move(done));
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
      Shard* target = engine_.shards_[engine_.shard_of(sc.restored_as)].get();
      target->executor().post(
          [target, number = sc.restored_as, leads = std::move(leads)]() mutable {
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
              std::string_view(reinterpret_cast<const char*>(&r.done[chunk * kChunkWords]),
                               kChunkWords * sizeof(uint64_t)));
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

// ---- Restoration ------------------------------------------------------------------------

StatusOr<std::string> Engine::Shard::restore(std::string_view number,
                                             std::optional<std::pair<int, int64_t>> as,
                                             std::vector<Lead> leads, bool fan_out) {
  CaseState* c = find(number);
  const std::optional<Library::Index> li = library_.find(number);
  if (c == nullptr && !li) return not_found_error("case " + std::string(number) + " is not filed");
  if (c != nullptr && c->status != CaseStatus::kTerminated) {
    return failed_precondition_error("case " + c->number + " is " +
                                     std::string(case_status_name(c->status)) +
                                     "; only a terminated case can be restored");
  }
  if (li && (library_.record(*li).flags & Library::kRestored) != 0) {
    return failed_precondition_error("case " + std::string(number) + " was restored already");
  }
  CaseFiling filing;
  Fen rest;
  std::string original;
  std::string court;
  if (c != nullptr) {
    filing = c->filing;
    rest = c->ledger.remaining();
    original = c->number;
    court = c->parsed.court();
  } else {
    const LibraryEntry e = library_.entry(*li);
    for (const LibraryDebtor& d : e.debtors) {
      filing.debtors.push_back(
          {d.organisation ? DebtorInfo::Kind::kOrganisation : DebtorInfo::Kind::kPerson, d.id, {}});
    }
    filing.officer_ids = {e.officer_id};
    rest = e.remaining;
    original = e.case_number;
    court = library_.court(*li);
  }
  if (rest <= Fen()) {
    return failed_precondition_error("case " + original + " has nothing left to enforce");
  }
  int year;
  int64_t serial;
  if (as) {
    std::tie(year, serial) = *as;
  } else {
    // Engine-numbered: base + n * shards + shard never collides between shards.
    year = date_of(executor_.now()).year();
    serial = config_.sweep.restore_serial_base +
             (restore_count_ + 1) * static_cast<int64_t>(shared_.executors.size()) +
             static_cast<int64_t>(index_);
  }
  StatusOr<CaseNumber> restored = CaseNumber::make(year, court, CaseType::kZhiHui, serial);
  if (!restored.ok()) return restored.status();
  if (!as) {
    ++restore_count_;
    journal_put("library/" + std::to_string(index_) + "/serial", std::to_string(restore_count_));
  }
  filing.case_number = restored->to_string();
  filing.court = court;
  filing.claim = rest;
  filing.costs = Fen();
  filing.received_at = executor_.now();
  if (c != nullptr) {
    c->status = CaseStatus::kRestored;
    c->restored_as = filing.case_number;
  }
  if (li) {
    library_.record(*li).flags |= Library::kRestored;
    journal_put("library/" + std::to_string(index_) + "/restored/" + index_key(*li),
                filing.case_number);
  }
  ++stats_.cases_restored;
  if (shared_.observer) {
    shared_.observer(
        Event{EventType::kCaseRestored, executor_.now(), original, {}, rest, filing.case_number});
  }
  std::string result = filing.case_number;
  const size_t target = engine_.shard_of(result);
  if (target == index_) {
    adopt_restored(std::move(filing), std::move(original), std::move(leads), fan_out);
  } else {
    Shard* other = engine_.shards_[target].get();
    other->executor().post([other, filing = std::move(filing), original = std::move(original),
                            leads = std::move(leads), fan_out]() mutable {
      other->adopt_restored(std::move(filing), std::move(original), std::move(leads), fan_out);
    });
  }
  return result;
}

StatusOr<std::string> Engine::Shard::restore_case(std::string_view number, int year,
                                                  int64_t serial) {
  return restore(number, std::make_pair(year, serial), {}, /*fan_out=*/true);
}

void Engine::Shard::adopt_restored(CaseFiling filing, std::string original, std::vector<Lead> leads,
                                   bool fan_out) {
  const Status s = file_case(filing);
  if (!s.ok()) {
    if (shared_.observer) {
      shared_.observer(Event{EventType::kRequestFailed,
                             executor_.now(),
                             original,
                             {},
                             {},
                             "restore: " + s.to_string()});
    }
    return;
  }
  CaseState* c = find(filing.case_number);
  if (c == nullptr) return;
  if (!fan_out) {
    // The sweep has just queried every connector in scope for these debtors.
    executor_.cancel(c->start_timer);
    c->queries_started = true;
    c->query_scored = true;
    c->status = CaseStatus::kQuerying;
  }
  receive_leads(*c, std::move(leads));
}

void Engine::Shard::receive_leads(CaseState& c, std::vector<Lead> leads) {
  if (leads.empty()) return;
  if (c.status == CaseStatus::kFiled || c.status == CaseStatus::kQuerying) {
    c.status = CaseStatus::kControlling;
  }
  for (Lead& l : leads) add_finding(c, l.connector, std::move(l.asset), l.found_at);
  plan(c);
}

StatusOr<std::string> Engine::Shard::restore_on_lead(std::string_view number,
                                                     std::string_view officer,
                                                     std::string_view connector,
                                                     const Asset& lead) {
  CaseState* c = find(number);
  const std::optional<Library::Index> li = library_.find(number);
  if (c == nullptr && !li) return not_found_error("case " + std::string(number) + " is not filed");
  // Authorisation: an officer of the case, registered with its court; the lead's holder one
  // of its debtors.
  Subject subject = c != nullptr ? subject_of(*c) : subject_of(*li);
  subject.number = number;
  CHAKONG_RETURN_IF_ERROR(authorize(subject, officer, lead.holder_id, "restoration"));
  StatusOr<uint32_t> found = connector_index(connector);
  if (!found.ok()) return found.status();
  const uint32_t ci = *found;
  if (!shared_.connectors[ci].caps.has(RequestKind::kFreeze)) {
    return failed_precondition_error("connector '" + std::string(connector) +
                                     "' cannot freeze the lead");
  }
  if (lead.value <= Fen()) {
    return invalid_argument_error("lead.value: " + format_fen(lead.value) + " must be positive");
  }
  StatusOr<std::string> n = restore(number, std::nullopt, {Lead{ci, lead, executor_.now()}}, true);
  if (n.ok()) ++stats_.lead_restored;
  return n;
}

}  // namespace chakong::engine
