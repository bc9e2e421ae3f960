#include "chakong/engine/engine.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <map>
#include <set>

#include "chakong/base/identity.h"
#include "shard.h"

namespace chakong::engine {

std::string_view case_status_name(CaseStatus status) {
  switch (status) {
    case CaseStatus::kFiled: return "filed";
    case CaseStatus::kQuerying: return "querying";
    case CaseStatus::kControlling: return "controlling";
    case CaseStatus::kDeducting: return "deducting";
    case CaseStatus::kConcluded: return "concluded";
    case CaseStatus::kTerminated: return "terminated";
    case CaseStatus::kRestored: return "restored";
  }
  return "unknown";
}

std::string_view event_type_name(EventType type) {
  switch (type) {
    case EventType::kCaseFiled: return "case_filed";
    case EventType::kQueriesStarted: return "queries_started";
    case EventType::kFinding: return "finding";
    case EventType::kControlMet: return "control_met";
    case EventType::kControlMissed: return "control_missed";
    case EventType::kMeasureEffective: return "measure_effective";
    case EventType::kMeasureWaiting: return "measure_waiting";
    case EventType::kMeasureRenewed: return "measure_renewed";
    case EventType::kMeasureLapsed: return "measure_lapsed";
    case EventType::kMeasureReleased: return "measure_released";
    case EventType::kDeducted: return "deducted";
    case EventType::kCaseConcluded: return "case_concluded";
    case EventType::kCaseTerminated: return "case_terminated";
    case EventType::kCaseRestored: return "case_restored";
    case EventType::kRequestRefused: return "request_refused";
    case EventType::kRequestFailed: return "request_failed";
    case EventType::kSweepRunStarted: return "sweep_run_started";
    case EventType::kSweepRunFinished: return "sweep_run_finished";
    case EventType::kSweepHit: return "sweep_hit";
    case EventType::kRemainderUncovered: return "remainder_uncovered";
  }
  return "unknown";
}

double EngineStats::query_score() const {
  if (query_scored == 0) return 0;
  return (100.0 * static_cast<double>(query_within_5wd) +
          80.0 * static_cast<double>(query_within_10wd) +
          60.0 * static_cast<double>(query_within_22wd)) /
         static_cast<double>(query_scored);
}

void EngineStats::add(const EngineStats& o) {
  cases_filed += o.cases_filed;
  cases_concluded += o.cases_concluded;
  cases_terminated += o.cases_terminated;
  cases_restored += o.cases_restored;
  for (size_t i = 0; i < std::size(requests); ++i) requests[i] += o.requests[i];
  retries += o.retries;
  timeouts += o.timeouts;
  errors += o.errors;
  late_reconciled += o.late_reconciled;
  late_ignored += o.late_ignored;
  findings += o.findings;
  control_started += o.control_started;
  control_met += o.control_met;
  control_missed += o.control_missed;
  control_not_required += o.control_not_required;
  query_scored += o.query_scored;
  query_within_5wd += o.query_within_5wd;
  query_within_10wd += o.query_within_10wd;
  query_within_22wd += o.query_within_22wd;
  query_later += o.query_later;
  query_unscored += o.query_unscored;
  preservation_started += o.preservation_started;
  preservation_within_5d += o.preservation_within_5d;
  preservation_late += o.preservation_late;
  renewed += o.renewed;
  lapsed += o.lapsed;
  waitlist_converted += o.waitlist_converted;
  waitlist_ended += o.waitlist_ended;
  unauthorized += o.unauthorized;
  sweep_debtors_queried += o.sweep_debtors_queried;
  sweep_cases_swept += o.sweep_cases_swept;
  sweep_hits += o.sweep_hits;
  sweep_restored += o.sweep_restored;
  lead_restored += o.lead_restored;
  over_seizure += o.over_seizure;
  in_doubt_resent += o.in_doubt_resent;
  in_doubt_unresolved += o.in_doubt_unresolved;
  stale_callbacks += o.stale_callbacks;
  recovered_cases += o.recovered_cases;
  recovered_requests += o.recovered_requests;
  indivisible_sealed += o.indivisible_sealed;
  remainders_uncovered += o.remainders_uncovered;
  seals_avoided += o.seals_avoided;
  uncovered += o.uncovered;
  cases_secured += o.cases_secured;
  claimed += o.claimed;
  frozen += o.frozen;
  deducted += o.deducted;
}

Status validate(const EngineConfig& c) {
  if (c.journal_cases && c.journal == nullptr) {
    return invalid_argument_error("journal_cases = true: needs a journal");
  }
  if (c.control_deadline <= 0) {
    return invalid_argument_error("control_deadline = " + std::to_string(c.control_deadline) +
                                  ": must be > 0");
  }
  if (c.query_delay < 0) {
    return invalid_argument_error("query_delay = " + std::to_string(c.query_delay) +
                                  ": must be >= 0");
  }
  if (c.renewal_lead_days < 1 || c.renewal_lead_days > 300) {
    return invalid_argument_error("renewal_lead_days = " + std::to_string(c.renewal_lead_days) +
                                  ": must be in 1..300");
  }
  if (!(c.min_seal_share >= 0 && c.min_seal_share <= 1)) {  // NaN fails too.
    char share[32];
    std::snprintf(share, sizeof share, "%g", c.min_seal_share);
    return invalid_argument_error("min_seal_share = " + std::string(share) +
                                  ": must be a share of the claim in 0..1");
  }
  if (c.min_seal_remainder.is_negative() || c.min_seal_remainder > kMaxClaim) {
    return invalid_argument_error("min_seal_remainder = " + format_fen(c.min_seal_remainder) +
                                  ": must be in ¥0.00.." + format_fen(kMaxClaim));
  }
  if (c.over_seizure_tolerance.is_negative()) {
    return invalid_argument_error(
        "over_seizure_tolerance = " + format_fen(c.over_seizure_tolerance) + ": must be >= 0");
  }
  if (c.in_doubt_retry <= 0) {
    return invalid_argument_error("in_doubt_retry = " + std::to_string(c.in_doubt_retry) +
                                  ": must be > 0");
  }
  if (c.in_doubt_resends < 0 || c.in_doubt_resends > 255) {
    return invalid_argument_error("in_doubt_resends = " + std::to_string(c.in_doubt_resends) +
                                  ": must be in 0..255");
  }
  if (c.forget_concluded &&
      c.forget_after <= std::max({c.in_doubt_retry, c.renewal_retry, TimeUs{0}})) {
    return invalid_argument_error("forget_after = " + std::to_string(c.forget_after) +
                                  ": must exceed in_doubt_retry and renewal_retry");
  }
  if (c.waitlist_status_interval < 0) {
    return invalid_argument_error("waitlist_status_interval = " +
                                  std::to_string(c.waitlist_status_interval) + ": must be >= 0");
  }
  if (c.deduct_delay < 0) {
    return invalid_argument_error("deduct_delay = " + std::to_string(c.deduct_delay) +
                                  ": must be >= 0");
  }
  if (c.calendar == nullptr) return invalid_argument_error("calendar is null");
  if (Status s = validate(c.sweep); !s.ok()) return s;
  if (Status s = validate(c.dispatch); !s.ok()) return s;
  for (const auto& [name, dc] : c.dispatch_overrides) {
    if (Status s = validate(dc); !s.ok()) {
      return invalid_argument_error("dispatch_overrides[" + name + "]: " + s.message());
    }
  }
  return ok_status();
}

StatusOr<CaseNumber> validate_filing(const CaseFiling& f) {
  StatusOr<CaseNumber> parsed = CaseNumber::parse(f.case_number);
  if (!parsed.ok()) return invalid_argument_error("case_number: " + parsed.status().message());
  if (!f.court.empty() && f.court != parsed->court()) {
    return invalid_argument_error("court: '" + f.court +
                                  "' does not match the case number's "
                                  "court '" +
                                  parsed->court() + "'");
  }
  if (f.debtors.empty()) return invalid_argument_error("debtors: a case needs at least one debtor");
  std::set<std::string_view> seen;
  for (size_t i = 0; i < f.debtors.size(); ++i) {
    const DebtorInfo& d = f.debtors[i];
    const std::string field = "debtors[" + std::to_string(i) + "].id: ";
    if (d.kind == DebtorInfo::Kind::kPerson) {
      if (Status s = validate_resident_id(d.id); !s.ok()) {
        return invalid_argument_error(field + s.message());
      }
    } else {
      // Policy: an early pilot code failing its checksum is accepted (a warning).
      StatusOr<CreditCodeCheck> cc = validate_credit_code(d.id);
      if (!cc.ok()) return invalid_argument_error(field + cc.status().message());
    }
    if (!seen.insert(d.id).second) {
      return invalid_argument_error(field + "'" + mask_id(d.id) + "' is listed twice");
    }
  }
  if (f.claim <= Fen()) {
    return invalid_argument_error("claim: " + format_fen(f.claim) + " must be positive");
  }
  if (f.claim > kMaxClaim) {
    return invalid_argument_error("claim: " + format_fen(f.claim) + " exceeds the maximum " +
                                  format_fen(kMaxClaim));
  }
  if (f.costs.is_negative()) {
    return invalid_argument_error("costs: " + format_fen(f.costs) + " must not be negative");
  }
  if (f.costs > kMaxClaim) {
    return invalid_argument_error("costs: " + format_fen(f.costs) + " exceeds the maximum " +
                                  format_fen(kMaxClaim));
  }
  if (f.officer_ids.empty()) {
    return invalid_argument_error("officer_ids: a case needs at least one assigned officer");
  }
  if (f.received_at < 0) {
    return invalid_argument_error("received_at: " + std::to_string(f.received_at) +
                                  " must be >= 0");
  }
  return parsed;
}

Engine::Engine(EngineConfig config, std::vector<Executor*> shards,
               std::vector<connectors::Connector*> connectors)
    : shared_(std::make_unique<Shared>()) {
  shared_->config = std::move(config);
  shared_->executors = shards;
  for (connectors::Connector* c : connectors) {
    shared_->connectors.push_back(
        {c, c->name(), c->capabilities(), shared_->config.tops_up(c->name())});
  }
  for (size_t i = 0; i < shards.size(); ++i) {
    shards_.push_back(std::make_unique<Shard>(*this, *shared_, *shards[i], i));
  }
}

Engine::~Engine() = default;

StatusOr<std::unique_ptr<Engine>> Engine::create(EngineConfig config, std::vector<Executor*> shards,
                                                 std::vector<connectors::Connector*> connectors) {
  CHAKONG_RETURN_IF_ERROR(validate(config));
  if (shards.empty()) return invalid_argument_error("shards: at least one executor is needed");
  std::set<std::string> names;
  for (size_t i = 0; i < connectors.size(); ++i) {
    if (connectors[i] == nullptr) {
      return invalid_argument_error("connectors[" + std::to_string(i) + "] is null");
    }
    if (!names.insert(connectors[i]->name()).second) {
      return invalid_argument_error("connectors[" + std::to_string(i) + "]: name '" +
                                    connectors[i]->name() + "' is used twice");
    }
  }
  return std::make_unique<Engine>(std::move(config), std::move(shards), std::move(connectors));
}

Status Engine::register_officer(std::string officer_id, std::string court) {
  if (officer_id.empty()) return invalid_argument_error("officer_id is empty");
  if (court.empty())
    return invalid_argument_error("court of officer '" + officer_id + "' is empty");
  auto [it, inserted] = shared_->officers.emplace(officer_id, std::move(court));
  if (!inserted) return already_exists_error("officer '" + officer_id + "' is already registered");
  return ok_status();
}

StatusOr<uint64_t> Engine::reload(const ReloadableConfig& config,
                                  std::function<void(uint64_t)> applied) {
  auto r = std::make_shared<Reload>();
  for (size_t i = 0; i < config.officers.size(); ++i) {
    const auto& [id, court] = config.officers[i];
    const std::string at = "officers[" + std::to_string(i) + "]";
    if (id.empty()) return invalid_argument_error(at + ".id: empty");
    if (court.empty()) return invalid_argument_error(at + ".court: empty (officer '" + id + "')");
    if (!r->officers.emplace(id, court).second) {
      return invalid_argument_error(at + ".id: '" + id + "' is listed twice");
    }
  }
  if (Status s = validate(config.dispatch); !s.ok()) {
    return invalid_argument_error("dispatch: " + std::string(s.message()));
  }
  for (const auto& [name, dc] : config.dispatch_overrides) {
    const bool known = std::any_of(shared_->connectors.begin(), shared_->connectors.end(),
                                   [&](const ConnectorInfo& c) { return c.name == name; });
    if (!known) {
      return invalid_argument_error("dispatch_overrides[" + name +
                                    "]: not a connector of this engine");
    }
    if (Status s = validate(dc); !s.ok()) {
      return invalid_argument_error("dispatch_overrides[" + name + "]: " + s.message());
    }
  }
  r->config = config;
  r->generation = shared_->generation.fetch_add(1) + 1;
  std::shared_ptr<const Reload> shared_reload = std::move(r);
  // Each shard applies it on its own thread; the last one to do so publishes the generation.
  auto left = std::make_shared<std::atomic<size_t>>(shards_.size());
  auto done = std::make_shared<std::function<void(uint64_t)>>(std::move(applied));
  for (const std::unique_ptr<Shard>& shard : shards_) {
    shard->executor().post([this, s = shard.get(), shared_reload, left, done] {
      s->apply(shared_reload);
      if (left->fetch_sub(1) != 1) return;
      const uint64_t g = shared_reload->generation;
      uint64_t seen = shared_->applied_generation.load();
      while (seen < g && !shared_->applied_generation.compare_exchange_weak(seen, g)) {
      }
      if (*done) (*done)(g);
    });
  }
  return shared_reload->generation;
}

uint64_t Engine::config_generation() const { return shared_->applied_generation.load(); }

size_t Engine::shard_count() const { return shards_.size(); }

size_t Engine::shard_of(std::string_view case_number) const {
  // FNV-1a: stable across runs and platforms, so a case always lands on the same shard.
  uint64_t h = 1469598103934665603ull;
  for (char c : case_number) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return static_cast<size_t>(h % shards_.size());
}

Executor& Engine::executor_of(std::string_view case_number) {
  return shards_[shard_of(case_number)]->executor();
}

// Calls are routed by the normalised case number when it parses, so "(2024)..." and
// "（2024）..." reach the same shard.
namespace {
std::string route_key(std::string_view number) {
  StatusOr<CaseNumber> n = CaseNumber::parse(number);
  return n.ok() ? n->to_string() : std::string(number);
}
}  // namespace

Status Engine::file_case(const CaseFiling& filing) {
  return shards_[shard_of(route_key(filing.case_number))]->file_case(filing);
}

Status Engine::terminate_case(std::string_view number, bool consumption_restricted) {
  const std::string key = route_key(number);
  return shards_[shard_of(key)]->terminate_case(key, consumption_restricted);
}

Status Engine::import_library(std::vector<LibraryEntry> entries) {
  std::vector<std::vector<std::pair<size_t, LibraryEntry>>> by_shard(shards_.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const std::string key = route_key(entries[i].case_number);
    by_shard[shard_of(key)].emplace_back(i, std::move(entries[i]));
  }
  entries.clear();
  std::vector<size_t> before;
  Status failed;
  for (size_t s = 0; s < shards_.size() && failed.ok(); ++s) {
    before.push_back(shards_[s]->library().size());
    failed = shards_[s]->import_library(std::move(by_shard[s]));
  }
  if (!failed.ok()) {
    // All or nothing: shards that took their part give it back.
    for (size_t s = 0; s < before.size(); ++s) shards_[s]->truncate_library(before[s]);
  }
  return failed;
}

Status Engine::start() {
  if (shared_->config.journal_cases) {
    StatusOr<std::map<std::string, CaseRecords>> cases =
        read_case_records(*shared_->config.journal);
    if (!cases.ok()) return cases.status();
    for (const auto& [number, records] : *cases) {
      CHAKONG_RETURN_IF_ERROR(shards_[shard_of(number)]->recover_case(number, records));
    }
  }
  for (auto& shard : shards_) CHAKONG_RETURN_IF_ERROR(shard->recover());
  if (shared_->config.journal_cases) {
    for (auto& shard : shards_) CHAKONG_RETURN_IF_ERROR(shard->resume_cases());
  }
  return ok_status();
}

void Engine::sync(std::function<void(Status)> done) {
  if (!shared_->config.journal_cases) {
    done(ok_status());
    return;
  }
  // A failed write is sticky in the journal, which then answers every sync with it.
  shared_->config.journal->sync(std::move(done));
}

Status Engine::journal_status() const {
  for (const auto& shard : shards_) {
    if (!shard->journal_status().ok()) return shard->journal_status();
  }
  return ok_status();
}

StatusOr<std::string> Engine::restore_on_lead(std::string_view number, std::string_view officer,
                                              std::string_view connector, const Asset& lead) {
  const std::string key = route_key(number);
  return shards_[shard_of(key)]->restore_on_lead(key, officer, connector, lead);
}

std::vector<SweepRunReport> Engine::sweep_runs() const {
  std::map<int32_t, SweepRunReport> runs;
  for (const auto& shard : shards_) shard->collect_runs(runs);
  std::vector<SweepRunReport> out;
  for (auto& [day, run] : runs) out.push_back(run);
  return out;
}

LibraryStats Engine::library_stats() const {
  LibraryStats total;
  for (const auto& shard : shards_) {
    const Library& lib = shard->library();
    total.cases += lib.size();
    for (Library::Index i = 0; i < lib.size(); ++i) {
      total.restored += (lib.record(i).flags & Library::kRestored) != 0 ? 1 : 0;
    }
    total.memory_bytes += lib.memory_bytes();
  }
  return total;
}

StatusOr<std::string> Engine::restore_case(std::string_view number, int year, int64_t serial) {
  const std::string key = route_key(number);
  return shards_[shard_of(key)]->restore_case(key, year, serial);
}

Status Engine::request_query(std::string_view number, std::string_view debtor,
                             std::string_view officer) {
  const std::string key = route_key(number);
  return shards_[shard_of(key)]->request_query(key, debtor, officer);
}

Status Engine::request_freeze(std::string_view number, std::string_view debtor,
                              std::string_view officer, std::string_view connector,
                              const Asset& asset, Fen amount) {
  const std::string key = route_key(number);
  return shards_[shard_of(key)]->request_freeze(key, debtor, officer, connector, asset, amount);
}

StatusOr<CaseView> Engine::case_view(std::string_view number) const {
  const std::string key = route_key(number);
  return shards_[shard_of(key)]->case_view(key);
}

StatusOr<CaseView> Engine::read_case(std::string_view number, std::string_view officer) {
  const std::string key = route_key(number);
  return shards_[shard_of(key)]->read_case(key, officer);
}

void Engine::set_observer(std::function<void(const Event&)> observer) {
  shared_->observer = std::move(observer);
}

EngineStats Engine::stats() const {
  EngineStats total;
  for (const auto& s : shards_) {
    total.add(s->stats());
    for (size_t i = 0; i < shared_->connectors.size(); ++i) {
      const DispatcherStats& d = s->dispatcher(i).stats();
      total.retries += d.retries;
      total.timeouts += d.timeouts;
      total.errors += d.errors;
      total.late_reconciled += d.late_reconciled;
      total.late_ignored += d.late_ignored;
      // A round after an in-doubt wait is a request sent again (with its key).
      for (int k = 0; k < 8; ++k) {
        total.requests[k] += d.resent[k];
        total.in_doubt_resent += d.resent[k];
      }
    }
  }
  return total;
}

DispatcherGauges Engine::dispatcher_gauges(size_t shard, std::string_view connector) const {
  DispatcherGauges g;
  if (shard >= shards_.size()) return g;
  for (size_t i = 0; i < shared_->connectors.size(); ++i) {
    if (shared_->connectors[i].name != connector) continue;
    const Dispatcher& d = shards_[shard]->dispatcher(i);
    for (int l = 0; l < kLaneCount; ++l) g.queued[l] = d.queued(static_cast<Lane>(l));
    g.in_flight = d.in_flight();
    g.breaker_open = d.breaker_open();
  }
  return g;
}

DispatcherStats Engine::dispatcher_stats(std::string_view connector) const {
  DispatcherStats total;
  for (size_t i = 0; i < shared_->connectors.size(); ++i) {
    if (shared_->connectors[i].name != connector) continue;
    for (const auto& s : shards_) {
      const DispatcherStats& d = s->dispatcher(i).stats();
      total.submitted += d.submitted;
      total.attempts += d.attempts;
      total.batches += d.batches;
      total.retries += d.retries;
      total.timeouts += d.timeouts;
      total.errors += d.errors;
      total.late_reconciled += d.late_reconciled;
      total.late_ignored += d.late_ignored;
      total.breaker_opened += d.breaker_opened;
      for (int k = 0; k < 8; ++k) total.resent[k] += d.resent[k];
      total.max_queue = std::max(total.max_queue, d.max_queue);
      total.busy_us += d.busy_us;
      total.completed += d.completed;
      total.latency.merge(d.latency);
      total.queries_completed += d.queries_completed;
      total.query_turnaround_us += d.query_turnaround_us;
      total.query_parts += d.query_parts;
    }
  }
  return total;
}

size_t Engine::open_requests() const {
  size_t n = 0;
  for (const auto& s : shards_) {
    for (size_t i = 0; i < shared_->connectors.size(); ++i) n += s->dispatcher(i).open_jobs();
  }
  return n;
}

}  // namespace chakong::engine
