// The case machine's query fan-out (case_machine.h). A case's debtors are queried at every
// connector in scope in rounds (one key per debtor, connector and round); the first network
// query scores the case's timeliness (DOMAIN rule 6); answers become findings (findings.cc)
// and the case is handed to the planner. The shell writes each query in place
// (Shard::send_query) from the round the machine opened.
#include <charconv>

#include "case_machine.h"
#include "shard.h"

namespace chakong::engine::machine::queries {

using connectors::RequestKind;
using connectors::Response;

namespace {

void score(const Env& env, CaseState& c, Effects& fx) {
  c.query_scored = true;
  // DOMAIN rule 6: 100 within 5 working days of receipt, 80 within 10, 60 within 22.
  StatusOr<int> wd =
      env.config.calendar->working_days_between(date_of(c.filing.received_at), date_of(env.now));
  EngineStats& stats = env.stats;
  if (!wd.ok()) {
    ++stats.query_unscored;
  } else {
    ++stats.query_scored;
    if (*wd <= 5) {
      ++stats.query_within_5wd;
    } else if (*wd <= 10) {
      ++stats.query_within_10wd;
    } else if (*wd <= 22) {
      ++stats.query_within_22wd;
    } else {
      ++stats.query_later;
    }
  }
  if (c.parsed.type() == CaseType::kZhiBao) {
    // A preservation ruling: enforcement starts within 5 calendar days (China time).
    ++stats.preservation_started;
    if (date_of(env.now) - date_of(c.filing.received_at) <= 5) {
      ++stats.preservation_within_5d;
    } else {
      ++stats.preservation_late;
    }
  }
  fx.emit(EventType::kQueriesStarted, kNoConnector, Fen(),
          wd.ok() ? std::to_string(*wd) + " working days after receipt" : wd.status().message());
}

// Round `round`'s query to every connector in scope that answers queries.
void send_round(const Env& env, CaseState& c, uint64_t round, Effects& fx) {
  const TimeUs deadline = c.filing.received_at + 7 * kMicrosPerDay;
  for (uint32_t i = 0; i < env.connectors.size(); ++i) {
    if (!env.connectors[i].caps.has(RequestKind::kQuery)) continue;
    if (!env.config.query_scope(env.connectors[i].name)) continue;
    ++c.queries_outstanding;  // Until its answer, or kRefused if it does not leave.
    fx.send_query(i, round, deadline);
  }
}

// One query answered or not sent: the last one of the open rounds closes them.
void settle_one(CaseState& c, Effects& fx) {
  --c.queries_outstanding;
  if (c.queries_outstanding == 0) c.open_rounds.clear();
  fx.changed();
}

}  // namespace

void start(const Env& env, CaseState& c, Effects& fx) {
  if (c.queries_started || !(c.status == CaseStatus::kFiled || is_open(c))) return;
  c.queries_started = true;
  fx.changed();
  const std::string& officer = c.filing.officer_ids.front();
  for (const DebtorInfo& d : c.filing.debtors) query_debtor(env, c, d.id, officer, fx);
}

void query_debtor(const Env& env, CaseState& c, std::string_view debtor, std::string_view officer,
                  Effects& fx) {
  fx.changed();
  if (c.status == CaseStatus::kFiled) c.status = CaseStatus::kQuerying;
  if (!c.query_scored) score(env, c, fx);
  const uint64_t round = ++c.next_key;
  c.open_rounds.push_back({round, std::string(debtor), std::string(officer)});
  send_round(env, c, round, fx);
  if (c.queries_outstanding == 0) c.open_rounds.clear();
}

void resend_rounds(const Env& env, CaseState& c, Effects& fx) {
  // Query rounds not fully answered: all of each round again, same keys (an institution
  // answers a repeated query as before; known assets are not found twice).
  for (const CaseState::Round& r : c.open_rounds) send_round(env, c, r.round, fx);
  if (c.queries_outstanding == 0 && !c.open_rounds.empty()) {
    c.open_rounds.clear();
    fx.changed();
  }
}

void on_answer(const Env& env, CaseState& c, uint32_t connector, uint64_t round, const Response& r,
               Effects& fx) {
  const CaseState::Round* answered = round_of(c, round);
  const std::string debtor = answered != nullptr ? answered->debtor : std::string();
  // A part (a hub's member answering ahead of the others) brings findings, found now, and
  // leaves the query outstanding until its final answer.
  if (!r.part) settle_one(c, fx);
  if (!r.status.ok() && r.status.code() != StatusCode::kNotFound) {
    fx.emit(EventType::kRequestFailed, connector, Fen(), "query: " + r.status.to_string());
  }
  for (const Asset& a : r.assets) {
    if (a.holder_id != debtor) continue;  // Defensive: only the debtor's own property.
    findings::add(env, c, connector, a, env.now, fx);
  }
  if (c.status == CaseStatus::kQuerying && !c.findings.empty()) {
    c.status = CaseStatus::kControlling;
  }
  fx.plan();
}

void on_refused(CaseState& c, Effects& fx) { settle_one(c, fx); }

const CaseState::Round* round_of(const CaseState& c, uint64_t round) {
  for (const CaseState::Round& r : c.open_rounds) {
    if (r.round == round) return &r;
  }
  return nullptr;
}

void append_key(std::string& key, const CaseState& c, uint64_t round, std::string_view debtor,
                std::string_view connector) {
  // One key per (debtor, connector, round): a re-send after an outage or a restart is the
  // same query. "<case>/query/<round>/<debtor>/<connector>".
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, round);
  const size_t n = static_cast<size_t>(end - digits);
  key.reserve(key.size() + c.number.size() + 7 + n + 1 + debtor.size() + 1 + connector.size());
  key.append(c.number).append("/query/").append(digits, n).append("/");
  key.append(debtor).append("/").append(connector);
}

}  // namespace chakong::engine::machine::queries

namespace chakong::engine {

// The shell's part: queries written in place, and an officer's query round.

using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

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

}  // namespace chakong::engine
