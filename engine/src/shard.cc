#include "shard.h"

#include <algorithm>

#include "chakong/base/identity.h"

namespace chakong::engine {

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
    auto it = config_.dispatch_overrides.find(info.name);
    DispatcherConfig dc = it == config_.dispatch_overrides.end() ? config_.dispatch : it->second;
    // Capacity is split over shards so that shards share no mutable state.
    dc.rate_per_second /= n;
    dc.burst = std::max(1.0, dc.burst / n);
    dc.max_in_flight = std::max(1, static_cast<int>(dc.max_in_flight / n));
    dispatchers_.push_back(std::make_unique<Dispatcher>(*info.connector, executor, dc));
  }
  sweep_cap_ = std::max(1, static_cast<int>(config_.sweep.max_in_flight_cases / n));
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

void Engine::Shard::emit(EventType type, const CaseState& c, std::string connector, Fen amount,
                         std::string detail, TimeUs elapsed) {
  if (!shared_.observer) return;
  shared_.observer(Event{type, executor_.now(), c.number, std::move(connector), amount,
                         std::move(detail), elapsed});
}

// ---- Filing ----------------------------------------------------------------------------

Status Engine::Shard::file_case(const CaseFiling& filing) {
  StatusOr<CaseNumber> valid = validate_filing(filing);
  if (!valid.ok()) return valid.status();
  const CaseNumber& parsed = *valid;
  for (size_t i = 0; i < filing.officer_ids.size(); ++i) {
    if (Status s = authoriser_.registered(filing.officer_ids[i], parsed.court()); !s.ok()) {
      return permission_denied_error("officer_ids[" + std::to_string(i) + "]: " + s.message());
    }
  }
  const std::string number = parsed.to_string();
  if (cases_.count(number) != 0 || forgotten_concluded_.count(number) != 0 ||
      (config_.forget_empty_terminated && library_.find(number))) {
    return already_exists_error("case_number: case " + number + " is already filed");
  }
  auto state = std::make_unique<CaseState>();
  CaseState& c = *state;
  c.number = number;
  c.parsed = parsed;
  c.filing = filing;
  c.filing.case_number.clear();
  if (c.filing.received_at == 0) c.filing.received_at = executor_.now();
  c.ledger = Ledger(filing.claim + filing.costs);
  if (durable_ && !journal_error_.ok()) return journal_error_;
  adopt(std::move(state));
  ++stats_.cases_filed;
  stats_.claimed += filing.claim;
  emit(EventType::kCaseFiled, c, {}, filing.claim);
  const TimeUs start = std::max(executor_.now(), c.filing.received_at + config_.query_delay);
  const CaseRef ref = ref_of(c);
  c.start_timer = executor_.run_at(start, [this, cpr = ref] {
    CaseState* const cp = resolve(cpr);
    if (cp == nullptr) return;
    start_queries(*cp);
  });
  if (durable_) {
    // Appended now, so that Engine::sync() covers it: the case server acknowledges the
    // filing once that sync is done.
    flush();
  }
  return ok_status();
}

// ---- Requests --------------------------------------------------------------------------

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

Subject Engine::Shard::subject_of(const CaseState& c) const {
  return {c.number, c.parsed.court(), c.filing.officer_ids, c.filing.debtors};
}

Subject Engine::Shard::subject_of(Library::Index i) const {
  // The library's number is formatted by the caller (subject.number).
  return {{}, library_.court(i), {&library_.officer(i), 1}, {}, &library_, i};
}

Request Engine::Shard::make_request(const CaseState& c, RequestKind kind,
                                    const std::string& debtor) const {
  return machine::make_request(c, kind, debtor);
}

bool Engine::Shard::send(CaseState& c, Request r, uint32_t connector, Lane lane, TimeUs deadline,
                         Callback done) {
  // Every request passes authorisation here, the engine's own included.
  if (!authorize(subject_of(c), r.officer_id, r.debtor_id, connectors::request_kind_name(r.kind))
           .ok()) {
    return false;
  }
  if (r.idempotency_key.empty()) {
    r.idempotency_key = c.number + "/" + std::string(connectors::request_kind_name(r.kind)) + "/" +
                        std::to_string(++c.next_key);
  }
  ++stats_.requests[static_cast<int>(r.kind)];
  if (durable_) {
    // Write-ahead: the request leaves when the state that sends it (and its audit link) is
    // durable.
    hold(connector, std::move(r), lane, deadline, std::move(done));
    return true;
  }
  dispatchers_[connector]->submit(std::move(r), lane, deadline, std::move(done));
  return true;
}

// ---- Queries ---------------------------------------------------------------------------

void Engine::Shard::start_queries(CaseState& c) {
  if (c.queries_started || !(c.status == CaseStatus::kFiled || open(c))) return;
  c.queries_started = true;
  const std::string& officer = c.filing.officer_ids.front();
  for (const DebtorInfo& d : c.filing.debtors) query_debtor(c, d.id, officer);
}

void Engine::Shard::score_query_start(CaseState& c) {
  c.query_scored = true;
  // DOMAIN rule 6: 100 within 5 working days of receipt, 80 within 10, 60 within 22.
  StatusOr<int> wd = config_.calendar->working_days_between(date_of(c.filing.received_at),
                                                            date_of(executor_.now()));
  if (!wd.ok()) {
    ++stats_.query_unscored;
  } else {
    ++stats_.query_scored;
    if (*wd <= 5) {
      ++stats_.query_within_5wd;
    } else if (*wd <= 10) {
      ++stats_.query_within_10wd;
    } else if (*wd <= 22) {
      ++stats_.query_within_22wd;
    } else {
      ++stats_.query_later;
    }
  }
  if (c.parsed.type() == CaseType::kZhiBao) {
    // A preservation ruling: enforcement starts within 5 calendar days (China time).
    ++stats_.preservation_started;
    if (date_of(executor_.now()) - date_of(c.filing.received_at) <= 5) {
      ++stats_.preservation_within_5d;
    } else {
      ++stats_.preservation_late;
    }
  }
  emit(EventType::kQueriesStarted, c, {}, {},
       wd.ok() ? std::to_string(*wd) + " working days after receipt" : wd.status().message());
}

void Engine::Shard::query_debtor(CaseState& c, const std::string& debtor,
                                 const std::string& officer) {
  if (c.status == CaseStatus::kFiled) c.status = CaseStatus::kQuerying;
  if (!c.query_scored) score_query_start(c);
  const uint64_t round = ++c.next_key;
  c.open_rounds.push_back({round, debtor, officer});
  for (uint32_t i = 0; i < shared_.connectors.size(); ++i) {
    if (!shared_.connectors[i].caps.has(RequestKind::kQuery)) continue;
    if (!config_.query_scope(shared_.connectors[i].name)) continue;
    send_query(c, i, round);
  }
  if (c.queries_outstanding == 0) c.open_rounds.clear();
}

std::string Engine::Shard::query_key(const CaseState& c, uint64_t round, const std::string& debtor,
                                     uint32_t connector) const {
  // One key per (debtor, connector, round): a re-send after an outage or a restart is the
  // same query.
  return c.number + "/query/" + std::to_string(round) + "/" + debtor + "/" +
         shared_.connectors[connector].name;
}

const Engine::Shard::CaseState::Round* Engine::Shard::round_of(const CaseState& c, uint64_t round) {
  for (const CaseState::Round& r : c.open_rounds) {
    if (r.round == round) return &r;
  }
  return nullptr;
}

void Engine::Shard::send_query(CaseState& c, uint32_t connector, uint64_t round, uint8_t resends) {
  const CaseState::Round* open_round = round_of(c, round);
  if (open_round == nullptr) return;  // Every query of a round is sent while it is open.
  Request r = make_request(c, RequestKind::kQuery, open_round->debtor);
  r.officer_id = open_round->officer;
  r.idempotency_key = query_key(c, round, open_round->debtor, connector);
  const TimeUs deadline = c.filing.received_at + 7 * kMicrosPerDay;
  const CaseRef ref = ref_of(c);
  const bool sent =
      send(c, std::move(r), connector, Lane::kNormal, deadline,
           [this, cpr = ref, connector, round, resends](Response resp) {
             CaseState* const cp = resolve(cpr);
             if (cp == nullptr) return;
             // Nothing lost: ask again once the institution is back.
             const Ask ask{RequestKind::kQuery, resends, connector, round};
             if (on_doubt(*cp, ask, cpr, resp.status) == Doubt::kResent) {
               return;
             }
             const CaseState::Round* answered = round_of(*cp, round);
             on_query(*cp, connector, answered ? answered->debtor : std::string(), std::move(resp));
           });
  if (sent) ++c.queries_outstanding;
}

void Engine::Shard::on_query(CaseState& c, uint32_t connector, const std::string& debtor,
                             Response r) {
  --c.queries_outstanding;
  if (c.queries_outstanding == 0) c.open_rounds.clear();
  const ConnectorInfo& info = shared_.connectors[connector];
  if (!r.status.ok() && r.status.code() != StatusCode::kNotFound) {
    emit(EventType::kRequestFailed, c, info.name, {}, "query: " + r.status.to_string());
  }
  for (Asset& a : r.assets) {
    if (a.holder_id != debtor) continue;  // Defensive: only the debtor's own property.
    add_finding(c, connector, std::move(a), executor_.now());
  }
  if (c.status == CaseStatus::kQuerying && !c.findings.empty()) {
    c.status = CaseStatus::kControlling;
  }
  plan(c);
}

void Engine::Shard::add_finding(CaseState& c, uint32_t connector, Asset asset, TimeUs found_at) {
  // The same asset reported twice (a repeated query, a lead) is one finding: never two
  // measures.
  const bool known = std::any_of(c.findings.begin(), c.findings.end(), [&](const Finding& f) {
    return f.connector == connector && f.asset.reference == asset.reference;
  });
  if (known) return;
  const ConnectorInfo& info = shared_.connectors[connector];
  Finding f;
  f.connector = connector;
  f.asset = std::move(asset);
  f.found_at = found_at;
  ++stats_.findings;
  emit(EventType::kFinding, c, info.name, f.asset.value,
       std::string(asset_category_name(f.asset.category)));
  const uint32_t fi = static_cast<uint32_t>(c.findings.size());
  if (info.caps.has(RequestKind::kFreeze) && f.asset.value > Fen() && open(c)) {
    // DOMAIN rule 5: a 48-hour clock from the moment the result arrives.
    f.due = f.found_at + config_.control_deadline;
    f.clock_open = true;
    const CaseRef ref = ref_of(c);
    f.clock = executor_.run_at(f.due, [this, cpr = ref, fi] {
      CaseState* const cp = resolve(cpr);
      if (cp == nullptr) return;
      on_control_due(*cp, fi);
    });
    ++stats_.control_started;
  }
  c.findings.push_back(std::move(f));
}

// ---- Planning and freezing -------------------------------------------------------------

void Engine::Shard::plan(CaseState& c) {
  if (!open(c)) return;
  std::vector<Candidate> candidates;
  bool indivisible_waiting = false;
  TimeUs earliest_indivisible = INT64_MAX;
  for (uint32_t i = 0; i < c.findings.size(); ++i) {
    const Finding& f = c.findings[i];
    if (f.state != FindingState::kOpen || f.asset.value <= Fen()) continue;
    if (!shared_.connectors[f.connector].caps.has(RequestKind::kFreeze)) continue;
    candidates.push_back(
        {i, f.asset.category, f.asset.value, f.held_by_others, f.asset.unit_price});
    if (!is_divisible(f.asset.category)) {
      indivisible_waiting = true;
      earliest_indivisible = std::min(earliest_indivisible, f.found_at);
    }
  }
  if (candidates.empty()) return;
  PlanPolicy policy;
  policy.allow_indivisible = c.indivisible_allowed || c.queries_outstanding == 0;
  policy.min_seal_remainder =
      proportionate_seal_floor(c.filing.claim, config_.min_seal_share, config_.min_seal_remainder);
  const bool allow = policy.allow_indivisible;
  Plan planned = plan_freezes(candidates, c.ledger.remaining(), policy);
  for (PlannedFreeze& p : planned.freezes) {
    Finding& f = c.findings[p.finding];
    if (is_divisible(f.asset.category)) {
      // Cannot fail: planned within budget (whole units: by less than one unit over it).
      if (!c.ledger.reserve(p.amount, p.whole_unit).ok()) continue;
    } else {
      p.amount = c.ledger.cover_indivisible(f.asset.value);
      c.reasons.push_back(p.reason);
      ++stats_.indivisible_sealed;
    }
    send_freeze(c, p.finding, p.amount, p.waitlist);
  }
  if (!allow && indivisible_waiting && config_.plan_indivisible_early &&
      !c.indivisible_timer.valid()) {
    // Do not let an indivisible asset's clock run out while slow banks are still answering.
    const CaseRef ref = ref_of(c);
    c.indivisible_timer =
        executor_.run_at(earliest_indivisible + config_.control_deadline / 2, [this, cpr = ref] {
          CaseState* const cp = resolve(cpr);
          if (cp == nullptr) return;
          cp->indivisible_allowed = true;
          plan(*cp);
        });
  }
  if (planned.seals_avoided > 0) {
    // Proportionality: the indivisible assets not sealed need no control, so their clocks
    // stop without a miss. The remainder is reported once every query has answered (until
    // then divisible property may still cover it), and again only if it changes.
    for (Finding& f : c.findings) {
      if (f.state == FindingState::kOpen && f.clock_open && !is_divisible(f.asset.category)) {
        stop_clock(f);
        ++stats_.control_not_required;
      }
    }
    if (c.queries_outstanding == 0 && planned.uncovered != c.uncovered_reported) {
      if (c.uncovered_reported.is_zero()) {
        ++stats_.remainders_uncovered;
        stats_.seals_avoided += planned.seals_avoided;
      }
      stats_.uncovered += planned.uncovered - c.uncovered_reported;
      c.uncovered_reported = planned.uncovered;
      emit(EventType::kRemainderUncovered, c, {}, planned.uncovered,
           std::move(planned.uncovered_reason));
    }
  }
  if (c.ledger.remaining() <= Fen()) {
    // The budget is covered: open clocks of findings not needed stop without a miss.
    for (Finding& f : c.findings) {
      if (f.state == FindingState::kOpen && f.clock_open) {
        stop_clock(f);
        ++stats_.control_not_required;
      }
    }
  }
  check_invariants(c);
}

void Engine::Shard::send_freeze(CaseState& c, uint32_t fi, Fen amount, bool waitlist) {
  Finding& f = c.findings[fi];
  f.state = FindingState::kInFlight;
  f.sent_amount = amount;
  f.sent_waitlist = waitlist;
  Request r = make_request(c, waitlist ? RequestKind::kWaitlistFreeze : RequestKind::kFreeze,
                           f.asset.holder_id);
  r.asset = f.asset;
  r.amount = amount;
  // One key per (finding, kind): a re-send after a timeout can never freeze twice.
  r.idempotency_key = c.number + (waitlist ? "/waitlist/" : "/freeze/") + std::to_string(fi);
  const TimeUs deadline = f.clock_open ? f.due : executor_.now() + config_.control_deadline;
  const CaseRef ref = ref_of(c);
  const bool sent = send(c, std::move(r), f.connector, Lane::kUrgent, deadline,
                         [this, cpr = ref, fi, amount, waitlist](Response resp) {
                           CaseState* const cp = resolve(cpr);
                           if (cp == nullptr) return;
                           on_freeze(*cp, fi, amount, waitlist, std::move(resp));
                         });
  if (!sent) {
    f.state = FindingState::kFailed;
    if (is_divisible(f.asset.category)) {
      c.ledger.cancel(amount);
    } else {
      c.ledger.uncover_indivisible(amount);
    }
  }
}

void Engine::Shard::stop_clock(Finding& f) {
  if (!f.clock_open) return;
  executor_.cancel(f.clock);
  f.clock_open = false;
}

void Engine::Shard::on_control_due(CaseState& c, uint32_t fi) {
  Finding& f = c.findings[fi];
  if (!f.clock_open) return;
  f.clock_open = false;
  ++stats_.control_missed;
  emit(EventType::kControlMissed, c, shared_.connectors[f.connector].name, f.asset.value,
       "not controlled within " + std::to_string(config_.control_deadline / kMicrosPerHour) +
           " hours of the finding");
}

void Engine::Shard::on_freeze(CaseState& c, uint32_t fi, Fen amount, bool waitlist, Response r) {
  Finding& f = c.findings[fi];
  const ConnectorInfo& info = shared_.connectors[f.connector];
  const bool divisible = is_divisible(f.asset.category);
  if (!r.status.ok()) {
    const bool queue = r.status.code() == StatusCode::kFailedPrecondition &&
                       !r.prior_measures.empty() && !waitlist &&
                       info.caps.has(RequestKind::kWaitlistFreeze);
    if (queue) {
      // Already under another authority's measure: queue behind it (DOMAIN rule 3), keeping
      // the reservation.
      f.held_by_others = true;
      send_freeze(c, fi, amount, /*waitlist=*/true);
      return;
    }
    // The institution may have acted without our hearing: the finding stays in flight with
    // its reservation, never planned again, until the same key brings the answer.
    if (on_doubt(c, {waitlist ? RequestKind::kWaitlistFreeze : RequestKind::kFreeze, 0, fi},
                 ref_of(c), r.status) != Doubt::kDefinite) {
      return;
    }
    if (divisible) {
      c.ledger.cancel(amount);
    } else {
      c.ledger.uncover_indivisible(amount);
    }
    f.state = FindingState::kFailed;
    emit(EventType::kRequestFailed, c, info.name, amount,
         std::string(waitlist ? "waitlist_freeze: " : "freeze: ") + r.status.to_string());
    plan(c);
    return;
  }

  on_doubt(c, {RequestKind::kFreeze, 0, fi}, ref_of(c), r.status);  // Answered: a new series.
  Measure m;
  m.id = r.measure_id;
  m.connector = f.connector;
  m.finding = fi;
  m.waiting = r.queue_position > 0;
  m.end = r.end_date;
  Fen unused;
  if (divisible) {
    const Fen frozen = std::clamp(r.frozen, Fen(), amount);
    if (waitlist || info.tops_up) {
      // The institution may still fill this measure up to its limit: keep the limit claimed.
      c.ledger.commit_limit(amount, frozen);
      m.pending = amount - frozen;
    } else {
      unused = c.ledger.commit(amount, frozen);
    }
    m.amount = frozen;
    stats_.frozen += frozen;
  } else {
    m.amount = amount;
  }
  f.state = FindingState::kControlled;
  if (f.clock_open) {
    stop_clock(f);
    ++stats_.control_met;
    emit(EventType::kControlMet, c, info.name, m.amount,
         std::to_string((executor_.now() - f.found_at) / kMicrosPerMinute) +
             " minutes after the finding",
         executor_.now() - f.found_at);
  }
  const uint32_t mi = static_cast<uint32_t>(c.measures.size());
  emit(m.waiting ? EventType::kMeasureWaiting : EventType::kMeasureEffective, c, info.name,
       m.amount, m.waiting ? "queue position " + std::to_string(r.queue_position) : m.id);
  c.measures.push_back(std::move(m));
  if (c.status == CaseStatus::kConcluded) {
    run(c, machine::Input::of(machine::InputKind::kRelease, mi));  // An in-doubt freeze that
                                                                   // took effect after the end.
    return;
  }
  if (!c.measures[mi].waiting) run(c, machine::Input::of(machine::InputKind::kInForce, mi));
  check_invariants(c);
  if (unused > Fen()) plan(c);  // Continue on other assets with what came back.
}

// ---- Measures: renewal, lapse, deduction, release ---------------------------------------

void Engine::Shard::run(CaseState& c, const machine::Input& in) {
  if (effects_depth_ == effects_.size()) effects_.emplace_back();
  machine::Effects& fx = effects_[effects_depth_++];  // A deque: deeper lists never move it.
  fx.clear();
  machine::step({config_, executor_.now(), stats_}, c, in, fx);
  apply(c, fx);
  --effects_depth_;
}

TimerHandle& Engine::Shard::timer_of(CaseState& c, machine::TimerKind t, uint32_t mi) {
  Measure& m = c.measures[mi];
  switch (t) {
    case machine::TimerKind::kRenew: return m.renew_timer;
    case machine::TimerKind::kLapse: return m.lapse_timer;
    case machine::TimerKind::kDeduct: break;
  }
  return m.deduct_timer;
}

void Engine::Shard::apply(CaseState& c, machine::Effects& fx) {
  using machine::EffectKind;
  using machine::TimerKind;
  const CaseRef ref = ref_of(c);
  for (machine::Effect& e : fx.list()) {
    switch (e.kind) {
      case EffectKind::kSend: {
        const RequestKind kind = e.request.kind;
        const uint32_t mi = e.index;
        const bool sent =
            send(c, std::move(e.request), e.connector, e.lane, e.at,
                 [this, ref, kind, mi, cycle = e.cycle](Response resp) {
                   CaseState* const cp = resolve(ref);
                   if (cp == nullptr) return;
                   // In doubt, the request stays in flight (a renewal: a lapse due meanwhile
                   // waits for its answer; a release: the measure may have ended).
                   if (on_doubt(*cp, {kind, 0, mi}, ref, resp.status) != Doubt::kDefinite) return;
                   run(*cp, machine::Input::answer(kind, mi, resp, cycle));
                 });
        if (!sent) run(c, machine::Input::refused(kind, mi));
        break;
      }
      case EffectKind::kArmTimer: {
        const TimerKind t = e.timer;
        const uint32_t mi = e.index;
        timer_of(c, t, mi) = executor_.run_at(e.at, [this, ref, t, mi] {
          CaseState* const cp = resolve(ref);
          if (cp == nullptr) return;
          if (t == TimerKind::kDeduct) {
            deduct(*cp, mi);  // Deduction is not in the machine yet.
            return;
          }
          timer_of(*cp, t, mi) = TimerHandle();
          run(*cp, machine::Input::timer_fired(t, mi));
        });
        break;
      }
      case EffectKind::kCancelTimer: executor_.cancel(timer_of(c, e.timer, e.index)); break;
      case EffectKind::kEmit:
        emit(e.event, c,
             e.connector == machine::kNoConnector ? std::string()
                                                  : shared_.connectors[e.connector].name,
             e.amount, std::move(e.detail));
        break;
      case EffectKind::kCaseChanged: enter(c); break;
      case EffectKind::kPlan: plan(c); break;
    }
  }
}

void Engine::Shard::deduct(CaseState& c, uint32_t mi) {
  Measure& m = c.measures[mi];
  m.deduct_timer = TimerHandle();
  m.deduct_at = 0;
  if (!m.live || m.waiting || m.amount <= Fen() || !open(c)) return;
  if (!shared_.connectors[m.connector].caps.has(RequestKind::kDeduct)) return;
  Request r = make_request(c, RequestKind::kDeduct, asset_of(c, m).holder_id);
  r.asset = asset_of(c, m);
  r.measure_id = m.id;
  r.amount = Fen();  // All that is frozen now, top-ups included.
  if (c.status == CaseStatus::kControlling) c.status = CaseStatus::kDeducting;
  r.idempotency_key = c.number + "/deduct/" + m.id;
  const CaseRef ref = ref_of(c);
  m.deducting = send(
      c, std::move(r), m.connector, Lane::kNormal, executor_.now() + config_.control_deadline,
      [this, cpr = ref, mi](Response resp) {
        CaseState* const cp = resolve(cpr);
        if (cp == nullptr) return;
        Measure& mm = cp->measures[mi];
        // In doubt, the deduction stays in flight: the funds may have moved.
        if (on_doubt(*cp, {RequestKind::kDeduct, 0, mi}, cpr, resp.status) != Doubt::kDefinite) {
          return;
        }
        mm.deducting = false;
        const std::string& name = shared_.connectors[mm.connector].name;
        if (!resp.status.ok() || !mm.live) {
          if (!resp.status.ok()) {
            emit(EventType::kRequestFailed, *cp, name, mm.amount,
                 "deduct: " + resp.status.to_string());
          }
          return;
        }
        Fen moved = std::max(resp.frozen, Fen());
        if (moved > mm.amount) {
          // The institution topped the freeze up since; that came out of the pending
          // limit.
          const Fen filled = std::min(moved - mm.amount, mm.pending);
          cp->ledger.fill_pending(filled);
          mm.pending -= filled;
          mm.amount += filled;
          stats_.frozen += filled;
          moved = mm.amount;
        }
        cp->ledger.deduct(moved);
        mm.amount -= moved;
        stats_.frozen -= moved;
        stats_.deducted += moved;
        emit(EventType::kDeducted, *cp, name, moved, mm.id);
        // The institution ends a measure whose frozen funds are all transferred.
        run(*cp, machine::Input::of(machine::InputKind::kEnded, mi));
        if (cp->ledger.satisfied()) conclude(*cp);
      });
}

void Engine::Shard::conclude(CaseState& c) {
  if (c.status == CaseStatus::kConcluded) return;
  c.status = CaseStatus::kConcluded;
  ++stats_.cases_concluded;
  for (Finding& f : c.findings) {
    if (f.clock_open) {
      stop_clock(f);
      ++stats_.control_not_required;
    }
  }
  for (uint32_t mi = 0; mi < c.measures.size(); ++mi) {
    if (c.measures[mi].live) run(c, machine::Input::of(machine::InputKind::kRelease, mi));
  }
  emit(EventType::kCaseConcluded, c, {}, c.ledger.deducted());
  if (config_.forget_concluded && !durable_) {
    executor_.run_after(config_.forget_after,
                        [this, number = c.number] { forget_if_settled(number); });
  }
}

void Engine::Shard::forget_if_settled(const std::string& number) {
  CaseState* c = find(number);
  if (c == nullptr || c->status != CaseStatus::kConcluded) return;
  // Callbacks and timers hold a generation-checked CaseRef, never the state: dropping the
  // case makes each of them a counted no-op (EngineStats::stale_callbacks). What waits is
  // what still matters: a control request in flight (its answer moves money or ends a
  // measure). Network queries still out do not hold a concluded case: nothing is planned or
  // clocked on it, so their late answers are dropped on the stale handle.
  bool busy = false;
  bool kept = false;  // A measure in force the institution did not release: keep the record.
  // A control request still in doubt after its last re-send is not waited for (nothing of it
  // is pending): it keeps the record, for an officer to resolve.
  for (const Finding& f : c->findings) {
    busy |= f.state == FindingState::kInFlight && !f.unresolved;
    kept |= f.state == FindingState::kInFlight && f.unresolved;
  }
  for (const Measure& m : c->measures) {
    busy |= (m.releasing || m.renewing || m.deducting) && !m.unresolved;
    kept |= (m.live && !m.releasing) || m.unresolved;
  }
  if (kept) return;
  if (busy) {
    executor_.run_after(config_.forget_after, [this, number] { forget_if_settled(number); });
    return;
  }
  executor_.cancel(c->start_timer);
  executor_.cancel(c->indivisible_timer);
  for (Finding& f : c->findings) executor_.cancel(f.clock);
  for (Measure& m : c->measures) {
    executor_.cancel(m.renew_timer);
    executor_.cancel(m.lapse_timer);
    executor_.cancel(m.deduct_timer);
  }
  forgotten_concluded_.insert(c->number);
  drop(*c);
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

Engine::Shard::InDoubtStep Engine::Shard::in_doubt_step(StatusCode code, int resends) const {
  if (!connectors::outcome_in_doubt(code)) return InDoubtStep::kDefinite;
  return resends < config_.in_doubt_resends ? InDoubtStep::kResend : InDoubtStep::kExhausted;
}

Engine::Shard::Doubt Engine::Shard::on_doubt(CaseState& c, const Ask& ask, CaseRef ref,
                                             const Status& status) {
  // What the request belongs to: its series of re-sends, its connector and amount, and
  // whether the case still wants the answer (a query of an open case, a live measure's
  // request, any freeze: the finding holds a reservation).
  const bool query = ask.kind == RequestKind::kQuery;
  const bool freeze = ask.kind == RequestKind::kFreeze || ask.kind == RequestKind::kWaitlistFreeze;
  uint8_t query_resends = ask.resends;
  uint8_t* resends = &query_resends;
  bool* unresolved = nullptr;
  uint32_t connector = ask.index;
  Fen amount;
  bool wanted = open(c);
  if (freeze) {
    Finding& f = c.findings[ask.index];
    resends = &f.doubts;
    unresolved = &f.unresolved;
    connector = f.connector;
    amount = f.sent_amount;
    wanted = true;
  } else if (!query) {
    Measure& m = c.measures[ask.index];
    resends = &m.doubts;
    unresolved = &m.unresolved;
    connector = m.connector;
    amount = m.amount;
    wanted = m.live;
  }
  const InDoubtStep step = wanted ? in_doubt_step(status.code(), *resends) : InDoubtStep::kDefinite;
  if (step == InDoubtStep::kDefinite) {
    *resends = 0;  // Answered: the next doubt starts a new series.
    if (unresolved != nullptr) *unresolved = false;
    return Doubt::kDefinite;
  }
  const std::string& name = shared_.connectors[connector].name;
  const std::string_view what = connectors::request_kind_name(ask.kind);
  if (step == InDoubtStep::kExhausted) {
    if (!query) {
      ++stats_.in_doubt_unresolved;
      *unresolved = true;
    }
    emit(EventType::kRequestFailed, c, name, amount,
         std::string(what) + ": " + status.to_string() + "; still in doubt after " +
             std::to_string(*resends) + " re-sends with the same key" +
             (!query ? ", what it reserved is kept until an officer resolves it" : ""));
    return Doubt::kUnresolved;
  }
  ++*resends;
  ++stats_.in_doubt_resent;
  emit(EventType::kRequestFailed, c, name, amount,
       std::string(what) + ": " + status.to_string() + "; in doubt, re-sending with the same key");
  Ask again = ask;
  again.resends = query ? query_resends : 0;  // A control request counts in its record.
  executor_.run_after(config_.in_doubt_retry, [this, ref, again] { ask_again(ref, again); });
  return Doubt::kResent;
}

void Engine::Shard::ask_again(CaseRef ref, Ask ask) {
  CaseState* const c = resolve(ref);
  if (c == nullptr) return;
  switch (ask.kind) {
    case RequestKind::kQuery:
      --c->queries_outstanding;  // Counted again as it leaves.
      send_query(*c, ask.index, ask.round, ask.resends);
      return;
    case RequestKind::kFreeze:
    case RequestKind::kWaitlistFreeze: {
      const Finding& f = c->findings[ask.index];
      send_freeze(*c, ask.index, f.sent_amount, f.sent_waitlist);
      return;
    }
    case RequestKind::kRenew:
      c->measures[ask.index].renew_timer = TimerHandle();  // As when its timer fires.
      run(*c, machine::Input::resend(RequestKind::kRenew, ask.index));
      return;
    case RequestKind::kDeduct:
      c->measures[ask.index].deducting = false;
      deduct(*c, ask.index);
      return;
    case RequestKind::kRelease:
      run(*c, machine::Input::resend(RequestKind::kRelease, ask.index));
      return;
  }
}

void Engine::Shard::check_invariants(CaseState& c) {
  // Invariant 1: divisible money frozen, reserved, pending and deducted within the budget;
  // over it only by less than one unit of a whole-unit freeze rounded up (Ledger::reserve).
  if (c.ledger.committed() >
      c.ledger.budget() + config_.over_seizure_tolerance + c.ledger.unit_allowance()) {
    ++stats_.over_seizure;
  }
  if (!c.secured) {
    Fen held = c.ledger.frozen() + c.ledger.deducted();
    for (const Measure& m : c.measures) {
      if (m.live && !m.waiting && !is_divisible(asset_of(c, m).category)) held += m.amount;
    }
    if (held >= c.ledger.budget()) {
      c.secured = true;
      ++stats_.cases_secured;
    }
  }
}

// ---- Termination, restoration, ad-hoc requests -----------------------------------------

Status Engine::Shard::terminate_case(std::string_view number, bool consumption_restricted) {
  CaseState* c = find(number);
  if (c == nullptr) return not_found_error("case " + std::string(number) + " is not filed");
  if (!open(*c) && c->status != CaseStatus::kFiled) {
    return failed_precondition_error("case " + c->number + " is " +
                                     std::string(case_status_name(c->status)) +
                                     "; only an open case can be terminated");
  }
  const TerminationPolicy& p = config_.termination;
  const TimeUs since = executor_.now() - c->filing.received_at;
  if (since < p.min_days_since_filing * kMicrosPerDay) {
    return failed_precondition_error(
        "case " + c->number + " was filed " + std::to_string(since / kMicrosPerDay) +
        " days ago; termination needs " + std::to_string(p.min_days_since_filing));
  }
  if (p.require_queries_done && (!c->query_scored || c->queries_outstanding > 0)) {
    return failed_precondition_error("case " + c->number + " has " +
                                     std::to_string(c->queries_outstanding) +
                                     " network queries outstanding; termination needs them done");
  }
  if (p.require_consumption_restriction && !consumption_restricted) {
    return failed_precondition_error("case " + c->number +
                                     ": termination needs a consumption restriction issued");
  }
  c->status = CaseStatus::kTerminated;
  ++stats_.cases_terminated;
  emit(EventType::kCaseTerminated, *c, {}, c->ledger.remaining());
  // Into the library: swept every six months for five years from now.
  if (c->ledger.budget() > c->ledger.deducted()) {
    add_to_library(*c, consumption_restricted);
    // Nothing refers to an empty case any more (no clock, timer or request of its own):
    // the library entry is all that restoration needs.
    if (config_.forget_empty_terminated && !durable_ && library_.find(c->number) &&
        c->queries_started && c->queries_outstanding == 0 && c->findings.empty() &&
        c->measures.empty()) {
      drop(*c);
    }
  }
  return ok_status();
}

StatusOr<uint32_t> Engine::Shard::connector_index(std::string_view name) const {
  for (uint32_t i = 0; i < shared_.connectors.size(); ++i) {
    if (shared_.connectors[i].name == name) return i;
  }
  return not_found_error("no connector named '" + std::string(name) + "'");
}

Status Engine::Shard::request_query(std::string_view number, std::string_view debtor,
                                    std::string_view officer) {
  CaseState* c = find(number);
  if (c == nullptr) return not_found_error("case " + std::string(number) + " is not filed");
  CHAKONG_RETURN_IF_ERROR(authorize(subject_of(*c), officer, debtor, "query"));
  query_debtor(*c, std::string(debtor), std::string(officer));
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
  const uint32_t ci = *found;
  if (asset.holder_id != debtor) {
    return permission_denied_error("freeze refused: asset '" + mask_id(asset.reference) +
                                   "' is not held by '" + mask_id(debtor) + "'");
  }
  if (is_divisible(asset.category)) {
    CHAKONG_RETURN_IF_ERROR(c->ledger.reserve(amount));
  } else {
    amount = c->ledger.cover_indivisible(asset.value);
  }
  Finding f;
  f.connector = ci;
  f.asset = asset;
  f.found_at = executor_.now();
  c->findings.push_back(std::move(f));
  if (c->status == CaseStatus::kQuerying || c->status == CaseStatus::kFiled) {
    c->status = CaseStatus::kControlling;
  }
  send_freeze(*c, static_cast<uint32_t>(c->findings.size() - 1), amount, false);
  return ok_status();
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
