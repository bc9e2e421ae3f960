// Engine::Shard, the shell around the case machine: the slots and handles cases are reached
// by, the one authorisation check every request passes, the send path (held until durable in
// case-server mode), and Shard::run/apply, which feed the machine an input and carry out its
// effects. The case logic is in files by concern:
//   queries.cc     query fan-out and answers          findings.cc   findings, 48-hour clocks
//   control.cc     the planner, freezes, measures     in_doubt.cc   a series ended in doubt
//   lifecycle.cc   filing, conclusion, forgetting,    restoration.cc  restoring a case, leads
//                  termination
//   case_machine.cc, measures.cc, deduction.cc: the pure machine (renewal, lapse, release,
//                  deduction); durable.cc, recovery.cc: journal records and recovery;
//   sweeper.{h,cc}: the library sweep (runs, pacing, their records and queries) behind the
//                  SweepHost this file gives it; sweep_journal.cc: the library's records.
#include "shard.h"

#include <algorithm>

#include "chakong/base/identity.h"

namespace chakong::engine {

namespace {
// UniqueFunction's inline storage (base/function.h, N = 48): a callback this small is never
// allocated.
constexpr size_t kInlineCallback = 48;

// A connector's dispatch settings for one of `n` shards. Capacity is split over shards so that
// shards share no mutable state; the in-doubt waits are the dispatcher's, as the engine
// configures them (EngineConfig::in_doubt_retry, in_doubt_resends).
DispatcherConfig shard_share(const EngineConfig& engine, const DispatcherConfig& dispatch,
                             const std::map<std::string, DispatcherConfig, std::less<>>& overrides,
                             const std::string& connector, double n) {
  auto it = overrides.find(connector);
  DispatcherConfig dc = it == overrides.end() ? dispatch : it->second;
  dc.rate_per_second /= n;
  dc.burst = std::max(1.0, dc.burst / n);
  dc.max_in_flight = std::max(1, static_cast<int>(dc.max_in_flight / n));
  dc.in_doubt_wait = engine.in_doubt_retry;
  dc.in_doubt_resends = engine.in_doubt_resends;
  return dc;
}
}  // namespace

using connectors::is_divisible;
using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

Engine::Shard::Shard(Engine& engine, Shared& shared, Executor& executor, size_t index)
    : engine_(engine),
      shared_(shared),
      config_(shared.config),
      authoriser_(shared.officers),
      executor_(executor),
      index_(index),
      durable_(shared.config.journal != nullptr && shared.config.journal_cases),
      audit_(index) {
  const double n = static_cast<double>(shared.executors.size());
  for (const ConnectorInfo& info : shared.connectors) {
    dispatchers_.push_back(std::make_unique<Dispatcher>(
        *info.connector, executor,
        shard_share(config_, config_.dispatch, config_.dispatch_overrides, info.name, n)));
  }
  sweeper_ = std::make_unique<Sweeper>(
      sweep_host(), std::max(1, static_cast<int>(config_.sweep.max_in_flight_cases / n)));
}

SweepHost Engine::Shard::sweep_host() {
  SweepHost h{executor_, config_, shared_.connectors, shared_.observer, library_, stats_, index_};
  h.send = [this](const Subject& subject, const SweepSend& s, Callback done, RequestFill fill) {
    return send_in_place(subject, s.kind, s.officer, s.debtor, s.connector, s.lane, s.deadline,
                         std::move(done), fill);
  };
  h.journal_put = [this](const std::string& key, std::string_view value) {
    journal_put(key, value);
  };
  h.journal_erase = [this](const std::string& key) { journal_erase(key); };
  h.restore = [this](const std::string& number, std::vector<Lead> leads) {
    return restore(number, std::nullopt, std::move(leads), false);
  };
  h.forward_leads = [this](const std::string& number, std::vector<Lead> leads) {
    const size_t to = engine_.shard_of(number);
    Shard* target = engine_.shards_[to].get();
    post_to(to, [target, number, leads = std::move(leads)]() mutable {
      if (CaseState* c = target->find(number)) target->receive_leads(*c, std::move(leads));
    });
  };
  h.drop_known = [this](const std::string& number, std::vector<Lead>& leads) {
    const CaseState* own = find(number);
    if (own == nullptr) return;
    // A terminated engine case whose measures kept in force already hold its whole budget
    // (a sealed property, a bank freeze waiting for top-ups) can take nothing more.
    if (own->ledger.remaining() <= Fen()) {
      leads.clear();
      return;
    }
    // Property already under this case's own measure (kept in force) is not new.
    std::erase_if(leads, [&](const Lead& l) {
      return std::any_of(own->findings.begin(), own->findings.end(), [&](const Finding& f) {
        return f.connector == l.connector && f.asset.reference == l.asset.reference;
      });
    });
  };
  return h;
}

void Engine::Shard::apply(std::shared_ptr<const Reload> reload) {
  const double n = static_cast<double>(shared_.executors.size());
  for (size_t i = 0; i < dispatchers_.size(); ++i) {
    dispatchers_[i]->reconfigure(shard_share(config_, reload->config.dispatch,
                                             reload->config.dispatch_overrides,
                                             shared_.connectors[i].name, n));
  }
  authoriser_.set_officers(reload->officers);
  reload_ = std::move(reload);  // Keeps the officers the authoriser reads.
}

Engine::Shard::~Shard() = default;

Engine::Shard::CaseState* Engine::Shard::find(std::string_view number) {
  auto it = cases_.find(number);
  if (it == cases_.end()) return nullptr;
  enter(*it->second);
  return it->second.get();
}

const Engine::Shard::CaseState* Engine::Shard::find(std::string_view number) const {
  auto it = cases_.find(number);
  return it == cases_.end() ? nullptr : it->second.get();
}

// Work for this very shard is posted: EngineConfig::cross_shard is for other shards only.
void Engine::Shard::post_to(size_t target, Task task) {
  if (config_.cross_shard && target != index_) {
    config_.cross_shard(index_, target, std::move(task));
  } else {
    engine_.shards_[target]->executor().post(std::move(task));
  }
}

void Engine::Shard::emit(EventType type, const CaseState& c, std::string connector, Fen amount,
                         std::string detail, TimeUs elapsed, std::string_view reference,
                         TimeUs due) {
  if (!shared_.observer) return;
  shared_.observer(Event{type, executor_.now(), c.number, std::move(connector), amount,
                         std::move(detail), elapsed, std::string(reference), due});
}

Status Engine::Shard::authorize(const Subject& subject, std::string_view officer,
                                std::optional<std::string_view> debtor, std::string_view what) {
  Status refusal = authoriser_.check(subject, officer, debtor, what);
  if (refusal.ok()) return refusal;
  ++stats_.unauthorized;
  if (shared_.observer) {
    shared_.observer(Event{EventType::kRequestRefused,
                           executor_.now(),
                           std::string(subject.number),
                           {},
                           {},
                           refusal.message()});
  }
  return refusal;
}

Status Engine::Shard::authorize_filing(const CaseFiling& filing, std::string_view court) const {
  Subject subject{filing.case_number, court, filing.officer_ids, filing.debtors};
  subject.filing = true;
  for (size_t i = 0; i < filing.officer_ids.size(); ++i) {
    if (Status s = authoriser_.check(subject, filing.officer_ids[i], std::nullopt, "filing");
        !s.ok()) {
      return permission_denied_error("officer_ids[" + std::to_string(i) + "]: " + s.message());
    }
  }
  return ok_status();
}

Subject Engine::Shard::subject_of(const CaseState& c) const {
  return {c.number, c.parsed.court(), c.filing.officer_ids, c.filing.debtors};
}

Subject Engine::Shard::subject_of(Library::Index i) const {
  // The library's number is formatted by the caller (subject.number).
  return library_subject(library_, i);
}

Request Engine::Shard::make_request(const CaseState& c, RequestKind kind,
                                    const std::string& debtor) const {
  return machine::make_request(c, kind, debtor);
}

bool Engine::Shard::admit(const Subject& subject, RequestKind kind, std::string_view officer,
                          std::string_view debtor) {
  // Every request passes authorisation here, the engine's own and the sweep's included.
  if (!authorize(subject, officer, debtor, connectors::request_kind_name(kind)).ok()) {
    return false;
  }
  ++stats_.requests[static_cast<int>(kind)];
  return true;
}

bool Engine::Shard::send(CaseState& c, Request r, uint32_t connector, Lane lane, TimeUs deadline,
                         Callback done) {
  if (!admit(c, r.kind, r.officer_id, r.debtor_id)) return false;
  if (r.idempotency_key.empty()) {
    r.idempotency_key = c.number + "/" + std::string(connectors::request_kind_name(r.kind)) + "/" +
                        std::to_string(++c.next_key);
  }
  if (durable_) {
    // Write-ahead: the request leaves when the state that sends it (and its audit link) is
    // durable.
    hold(connector, std::move(r), lane, deadline, std::move(done));
    return true;
  }
  dispatchers_[connector]->submit(std::move(r), lane, deadline, std::move(done));
  return true;
}

void Engine::Shard::run(CaseState& c, const machine::Input& in) {
  run_with(c, [&](const machine::Env& e, machine::Effects& fx) { machine::step(e, c, in, fx); });
}

TimerHandle& Engine::Shard::timer_of(CaseState& c, machine::TimerKind t, uint32_t mi) {
  if (t == machine::TimerKind::kClock) return c.findings[mi].clock;  // `mi`: the finding.
  if (t == machine::TimerKind::kIndivisible) return c.indivisible_timer;
  if (t == machine::TimerKind::kStart) return c.start_timer;
  Measure& m = c.measures[mi];
  switch (t) {
    case machine::TimerKind::kRenew:
    case machine::TimerKind::kStatus: return m.renew_timer;  // A waiting measure renews nothing.
    case machine::TimerKind::kLapse: return m.lapse_timer;
    case machine::TimerKind::kDeduct:
    case machine::TimerKind::kClock:
    case machine::TimerKind::kIndivisible:
    case machine::TimerKind::kStart: break;
  }
  return m.deduct_timer;
}

void Engine::Shard::arm(CaseRef ref, machine::TimerKind t, uint32_t mi, TimeUs at) {
  CaseState* const c = slots_[ref.slot].state;
  auto fired = [this, ref, t, mi] {
    CaseState* const cp = resolve(ref);
    if (cp == nullptr) return;
    timer_of(*cp, t, mi) = TimerHandle();
    run(*cp, machine::Input::timer_fired(t, mi));
  };
  static_assert(sizeof(fired) <= kInlineCallback, "fits a UniqueFunction's inline storage");
  timer_of(*c, t, mi) = executor_.run_at(at, Task(std::move(fired)));
}

void Engine::Shard::apply(CaseState& c, machine::Effects& fx) {
  using machine::EffectKind;
  using machine::TimerKind;
  const CaseRef ref = ref_of(c);
  for (machine::Effect& e : fx.list()) {
    switch (e.kind) {
      case EffectKind::kSend: {
        const RequestKind kind = e.request.kind;
        const uint32_t mi = e.index;  // The measure, or the finding of a freeze.
        const uint32_t connector = e.connector;
        // The callback is a small value {shard, CaseRef, what}: never the case's state.
        auto done = [this, ref, kind, mi, connector, cycle = e.cycle](Response resp) {
          CaseState* const cp = resolve(ref);
          if (cp == nullptr) return;
          if (kind == RequestKind::kFreeze || kind == RequestKind::kWaitlistFreeze) {
            // The machine settles a freeze itself (machine::control::on_answer).
            const int resends = retry::wait_limit(dispatchers_[connector]->config(), kind);
            run(*cp, machine::Input::freeze_answer(kind, mi, resp, resends));
            return;
          }
          // Still in doubt after the dispatcher's series, the request stays in flight (a
          // renewal: a lapse due meanwhile waits for its answer; a release: the measure may
          // have ended).
          if (settle(*cp, {kind, mi}, resp.status) != Doubt::kDefinite) return;
          run(*cp, machine::Input::answer(kind, mi, resp, cycle));
        };
        static_assert(sizeof(done) <= kInlineCallback, "fits a UniqueFunction's inline storage");
        const bool sent =
            send(c, std::move(e.request), e.connector, e.lane, e.at, Callback(std::move(done)));
        if (!sent) run(c, machine::Input::refused(kind, mi));
        break;
      }
      case EffectKind::kSendQuery: send_query(c, e.connector, e.round, e.at); break;
      case EffectKind::kArmTimer: arm(ref, e.timer, e.index, e.at); break;
      case EffectKind::kCancelTimer: executor_.cancel(timer_of(c, e.timer, e.index)); break;
      case EffectKind::kEmit:
        emit(e.event, c,
             e.connector == machine::kNoConnector ? std::string()
                                                  : shared_.connectors[e.connector].name,
             e.amount, std::move(e.detail), e.elapsed, e.reference, e.at);
        break;
      case EffectKind::kCaseChanged: enter(c); break;
      case EffectKind::kPlan: run(c, machine::Input::of(machine::InputKind::kPlan)); break;
      case EffectKind::kConclude: run(c, machine::Input::of(machine::InputKind::kConclude)); break;
      case EffectKind::kToLibrary: add_to_library(c, e.restricted); break;
      case EffectKind::kForgetWhenSettled: forget_later(c.number); break;
    }
  }
}

void Engine::Shard::send_query(CaseState& c, uint32_t connector, uint64_t round, TimeUs deadline) {
  const CaseState::Round* open_round = machine::queries::round_of(c, round);
  if (open_round == nullptr) {  // Every query of a round is sent while it is open.
    run(c, machine::Input::query_refused(connector, round));
    return;
  }
  const std::string& debtor = open_round->debtor;
  const std::string& officer = open_round->officer;
  // What make_request() and queries::append_key() build, written in place (into the
  // dispatcher's job slot, which keeps its strings' buffers from request to request).
  auto fill = [&](Request& r) {
    r.kind = RequestKind::kQuery;
    r.case_number.assign(c.number);
    r.debtor_id.assign(debtor);
    r.officer_id.assign(officer);
    r.purpose.assign("enforcement query");
    machine::queries::append_key(r.idempotency_key, c, round, debtor,
                                 shared_.connectors[connector].name);
  };
  const CaseRef ref = ref_of(c);
  auto done = [this, ref, connector, round](Response resp) {
    CaseState* const cp = resolve(ref);
    if (cp == nullptr) return;
    // The dispatcher asked again while in doubt; still in doubt now, it is reported and the
    // query counts as failed. A part (a hub's member answering ahead) settles nothing.
    if (!resp.part) settle(*cp, {RequestKind::kQuery, connector}, resp.status);
    run(*cp, machine::Input::query_answer(connector, round, resp));
  };
  static_assert(sizeof(done) <= kInlineCallback, "fits a UniqueFunction's inline storage");
  if (!send_in_place(c, RequestKind::kQuery, officer, debtor, connector, Lane::kNormal, deadline,
                     Callback(std::move(done)), fill)) {
    run(c, machine::Input::query_refused(connector, round));
  }
}

Status Engine::Shard::request_query(std::string_view number, std::string_view debtor,
                                    std::string_view officer) {
  CaseState* c = find(number);
  if (c == nullptr) return not_found_error("case " + std::string(number) + " is not filed");
  CHAKONG_RETURN_IF_ERROR(authorize(subject_of(*c), officer, debtor, "query"));
  run(*c, machine::Input::query(debtor, officer));
  return ok_status();
}

Status Engine::Shard::request_freeze(std::string_view number, std::string_view debtor,
                                     std::string_view officer, std::string_view connector,
                                     const Asset& asset, Fen amount) {
  CaseState* c = find(number);
  if (c == nullptr) return not_found_error("case " + std::string(number) + " is not filed");
  CHAKONG_RETURN_IF_ERROR(authorize(subject_of(*c), officer, debtor, "freeze"));
  StatusOr<uint32_t> found = connector_index(connector);
  if (!found.ok()) return found.status();
  if (asset.holder_id != debtor) {
    return permission_denied_error("freeze refused: asset '" + mask_id(asset.reference) +
                                   "' is not held by '" + mask_id(debtor) + "'");
  }
  Status s;
  run_with(*c, [&](const machine::Env& e, machine::Effects& fx) {
    s = machine::control::request(e, *c, *found, asset, amount, fx);
  });
  return s;
}

Engine::Shard::CaseState* Engine::Shard::resolve(CaseRef ref) {
  if (ref.slot < slots_.size() && slots_[ref.slot].generation == ref.generation &&
      slots_[ref.slot].state != nullptr) {
    enter(*slots_[ref.slot].state);
    return slots_[ref.slot].state;
  }
  ++stats_.stale_callbacks;
  return nullptr;
}

Engine::Shard::CaseState& Engine::Shard::adopt(std::unique_ptr<CaseState> state) {
  CaseState& c = *state;
  if (!free_slots_.empty()) {
    c.slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    c.slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  slots_[c.slot].state = &c;
  cases_.emplace(c.number, std::move(state));
  enter(c);
  return c;
}

void Engine::Shard::drop(CaseState& c) {
  Slot& slot = slots_[c.slot];
  slot.state = nullptr;
  ++slot.generation;
  free_slots_.push_back(c.slot);
  cases_.erase(cases_.find(c.number));  // Destroys `c`.
}

StatusOr<uint32_t> Engine::Shard::connector_index(std::string_view name) const {
  for (uint32_t i = 0; i < shared_.connectors.size(); ++i) {
    if (shared_.connectors[i].name == name) return i;
  }
  return not_found_error("no connector named '" + std::string(name) + "'");
}

StatusOr<CaseView> Engine::Shard::case_view(std::string_view number) const {
  const CaseState* c = find(number);
  if (c == nullptr) return not_found_error("case " + std::string(number) + " is not filed");
  CaseView v;
  v.case_number = c->number;
  v.status = c->status;
  v.restored_as = c->restored_as;
  v.budget = c->ledger.budget();
  v.frozen = c->ledger.frozen();
  v.reserved = c->ledger.reserved();
  v.pending = c->ledger.pending();
  v.deducted = c->ledger.deducted();
  v.indivisible_cover = c->ledger.indivisible_cover();
  v.queries_outstanding = c->queries_outstanding;
  v.findings = static_cast<int>(c->findings.size());
  for (const Finding& f : c->findings) v.open_control_clocks += f.clock_open ? 1 : 0;
  for (const Measure& m : c->measures) {
    v.measures.push_back({m.id, shared_.connectors[m.connector].name, asset_of(*c, m).reference,
                          asset_of(*c, m).category, m.amount, m.waiting, m.live, m.end});
  }
  v.indivisible_reasons = c->reasons;
  return v;
}

}  // namespace chakong::engine
