// Engine::Shard: the query fan-out. A case's debtors are queried at every connector in scope
// in rounds (one key per debtor, connector and round); the first network query scores the
// case's timeliness (DOMAIN rule 6); answers become findings (findings.cc) and the planner
// (control.cc) runs on them.
#include <charconv>

#include "shard.h"

namespace chakong::engine {

using connectors::is_divisible;
using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

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

void Engine::Shard::append_query_key(std::string& key, const CaseState& c, uint64_t round,
                                     std::string_view debtor, uint32_t connector) const {
  // One key per (debtor, connector, round): a re-send after an outage or a restart is the
  // same query. "<case>/query/<round>/<debtor>/<connector>".
  const std::string& name = shared_.connectors[connector].name;
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, round);
  const size_t n = static_cast<size_t>(end - digits);
  key.reserve(key.size() + c.number.size() + 7 + n + 1 + debtor.size() + 1 + name.size());
  key.append(c.number).append("/query/").append(digits, n).append("/");
  key.append(debtor).append("/").append(name);
}

const Engine::Shard::CaseState::Round* Engine::Shard::round_of(const CaseState& c, uint64_t round) {
  for (const CaseState::Round& r : c.open_rounds) {
    if (r.round == round) return &r;
  }
  return nullptr;
}

void Engine::Shard::send_query(CaseState& c, uint32_t connector, uint64_t round) {
  const CaseState::Round* open_round = round_of(c, round);
  if (open_round == nullptr) return;  // Every query of a round is sent while it is open.
  const std::string& debtor = open_round->debtor;
  const std::string& officer = open_round->officer;
  // What make_request() and append_query_key() build, written in place (into the dispatcher's job
  // slot, which keeps its strings' buffers from request to request).
  auto fill = [&](Request& r) {
    r.kind = RequestKind::kQuery;
    r.case_number.assign(c.number);
    r.debtor_id.assign(debtor);
    r.officer_id.assign(officer);
    r.purpose.assign("enforcement query");
    append_query_key(r.idempotency_key, c, round, debtor, connector);
  };
  const TimeUs deadline = c.filing.received_at + 7 * kMicrosPerDay;
  const CaseRef ref = ref_of(c);
  auto done = [this, cpr = ref, connector, round](Response resp) {
    CaseState* const cp = resolve(cpr);
    if (cp == nullptr) return;
    // The dispatcher asked again while in doubt; still in doubt now, it is reported and the
    // query counts as failed.
    settle(*cp, {RequestKind::kQuery, connector}, resp.status);
    const CaseState::Round* answered = round_of(*cp, round);
    on_query(*cp, connector, answered ? answered->debtor : std::string(), std::move(resp));
  };
  if (send_in_place(c, RequestKind::kQuery, officer, debtor, connector, Lane::kNormal, deadline,
                    std::move(done), fill)) {
    ++c.queries_outstanding;
  }
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

Status Engine::Shard::request_query(std::string_view number, std::string_view debtor,
                                    std::string_view officer) {
  CaseState* c = find(number);
  if (c == nullptr) return not_found_error("case " + std::string(number) + " is not filed");
  CHAKONG_RETURN_IF_ERROR(authorize(subject_of(*c), officer, debtor, "query"));
  query_debtor(*c, std::string(debtor), std::string(officer));
  return ok_status();
}

}  // namespace chakong::engine
