// Engine::Shard, the shell around the case machine: the slots and handles cases are reached
// by, the send path (held until durable in case-server mode), and Shard::run/apply, which
// feed the machine an input and carry out its effects. The case logic is the machine's, in
// files by concern, each with the shell methods of its concern beside it:
//   queries.cc     query fan-out and answers (Shard::send_query, request_query)
//   findings.cc    findings, 48-hour clocks, invariants
//   control.cc     the planner, freezes, their answers (Shard::request_freeze)
//   in_doubt.cc    the in-doubt rule (machine::settle, Shard::settle)
//   measures.cc, deduction.cc: renewal, lapse, release, status polls; deduction
//   lifecycle.cc   filing, conclusion, termination (Shard::file_case, terminate_case, forgetting)
//   restoration.cc restoring a case and its leads (Shard::restore, adopt_restored)
//   authoriser.cc  the one authorisation check (Shard::authorize, admit)
//   durable.cc, recovery.cc: journal records and recovery;
//   sweeper.{h,cc}: the library sweep (runs, pacing, their records and queries) behind the
//                  SweepHost; sweep_journal.cc: the library's records, Shard::sweep_host.
#include "shard.h"

#include <algorithm>

#include "chakong/base/identity.h"

namespace chakong::engine {

namespace {
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

Request Engine::Shard::make_request(const CaseState& c, RequestKind kind,
                                    const std::string& debtor) const {
  return machine::make_request(c, kind, debtor);
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
