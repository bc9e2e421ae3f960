// Engine::Shard, case-server mode: recovery. start() reads every case's records
// (read_case_records: only from a journal whose audit chains are intact), rebuilds each case
// after checking it as file_case() checks a filing (recover_case, validate_recovered), then
// resumes it (resume): clocks and timers armed again, requests in flight re-sent with their
// keys.
#include <algorithm>

#include "case_records.h"
#include "chakong/base/identity.h"
#include "chakong/connectors/proto_convert.h"
#include "chakong/engine/audit.h"
#include "chakong/v1/journal.pb.h"
#include "shard.h"

namespace chakong::engine {

using connectors::RequestKind;
using namespace case_records;

namespace {

CaseFiling filing_in(const v1::Case& in) {
  CaseFiling f;
  f.case_number = in.case_number();
  f.court = in.court();
  for (const v1::Debtor& d : in.debtors()) {
    f.debtors.push_back({d.kind() == v1::Debtor::KIND_ORGANISATION ? DebtorInfo::Kind::kOrganisation
                                                                   : DebtorInfo::Kind::kPerson,
                         d.id_number(), d.name()});
  }
  f.claim = Fen(in.claim_fen());
  f.costs = Fen(in.costs_fen());
  f.officer_ids.assign(in.officer_ids().begin(), in.officer_ids().end());
  f.received_at = in.filed_at_us();
  return f;
}

}  // namespace

StatusOr<std::map<std::string, CaseRecords>> read_case_records(const Journal& journal) {
  // Nothing is rebuilt from a journal whose audit chains are broken, or from a case record
  // that is not the value its last write sealed (changed, added or removed by hand).
  StatusOr<AuditVerdict> audit = verify_audit(journal);
  if (!audit.ok()) return audit.status();
  if (!audit->intact) return data_loss_error(audit->broken_key + ": " + audit->reason);
  std::map<std::string, CaseRecords> cases;
  // Byte order puts a case's header before its records, and its records in index order.
  CHAKONG_RETURN_IF_ERROR(
      journal.scan(kCasePrefix, [&](std::string_view key, std::string_view value) {
        const std::string_view rest = key.substr(kCasePrefix.size());
        const size_t at = rest.size() >= kRecordSuffix ? rest.size() - kRecordSuffix : 0;
        const std::string_view suffix = rest.substr(at);
        if (at > 0 && suffix.starts_with("/f/")) {
          cases[std::string(rest.substr(0, at))].findings.emplace_back(value);
        } else if (at > 0 && suffix.starts_with("/m/")) {
          cases[std::string(rest.substr(0, at))].measures.emplace_back(value);
        } else {
          cases[std::string(rest)].header = std::string(value);
        }
      }));
  return cases;
}

// ---- Recovery ---------------------------------------------------------------------------

Status Engine::Shard::validate_recovered(const std::string& key, const v1::Case& record,
                                         const CaseNumber& number, const v1::JournalCase& h,
                                         Fen unit_allowance) const {
  // The filing as file_case() checks a new one: identifiers, amounts, officers of its court.
  const CaseFiling filing = filing_in(record);
  if (StatusOr<CaseNumber> valid = validate_filing(filing); !valid.ok()) {
    return data_loss_error(key + ": " + valid.status().message());
  }
  if (Status s = authorize_filing(filing, number.court()); !s.ok()) {
    return data_loss_error(key + ": " + s.message());
  }
  if (h.status() < 0 || h.status() > static_cast<int32_t>(CaseStatus::kRestored)) {
    return data_loss_error(key + ": status " + std::to_string(h.status()) +
                           " is not a case status");
  }
  // The ledger: its budget is the filing's claim + costs, and what is frozen, reserved,
  // pending, deducted or covered is never negative and never more than that budget.
  const v1::JournalLedger& l = h.ledger();
  const Fen budget = filing.claim + filing.costs;
  if (Fen(l.budget()) != budget) {
    return data_loss_error(key + ": ledger.budget " + format_fen(Fen(l.budget())) +
                           " is not claim + costs " + format_fen(budget));
  }
  const Fen limit = budget + config_.over_seizure_tolerance + unit_allowance;
  const std::pair<const char*, int64_t> parts[] = {{"frozen", l.frozen()},
                                                   {"reserved", l.reserved()},
                                                   {"pending", l.pending()},
                                                   {"deducted", l.deducted()},
                                                   {"indivisible_cover", l.indivisible_cover()}};
  Fen held;
  for (const auto& [field, value] : parts) {
    if (value < 0 || Fen(value) > limit) {
      return data_loss_error(key + ": ledger." + field + " " + format_fen(Fen(value)) +
                             " is outside 0.." + format_fen(limit));
    }
    held += Fen(value);
  }
  if (held > limit) {
    return data_loss_error(key + ": ledger: frozen + reserved + pending + deducted + " +
                           "indivisible_cover = " + format_fen(held) + " exceed the budget " +
                           format_fen(budget));
  }
  return ok_status();
}

Status Engine::Shard::recover_case(const std::string& number, const CaseRecords& records) {
  const std::string& header = records.header;
  const std::vector<std::string>& findings = records.findings;
  const std::vector<std::string>& measures = records.measures;
  const std::string key = std::string(kCasePrefix) + number;
  v1::JournalCase h;
  if (header.empty() || !h.ParseFromString(header)) {
    return data_loss_error(key + ": unreadable case record");
  }
  if (h.findings() != findings.size() || h.measures() != measures.size()) {
    return data_loss_error(key + ": the record lists " + std::to_string(h.findings()) +
                           " findings and " + std::to_string(h.measures()) +
                           " measures, the journal holds " + std::to_string(findings.size()) +
                           " and " + std::to_string(measures.size()));
  }
  auto state = std::make_unique<CaseState>();
  CaseState& c = *state;
  c.filing = filing_in(h.filing());
  StatusOr<CaseNumber> parsed = CaseNumber::parse(c.filing.case_number);
  if (!parsed.ok() || parsed->to_string() != number) {
    return data_loss_error(key + ": case number '" + c.filing.case_number + "' does not match");
  }
  c.number = number;
  c.filing.case_number.clear();
  c.parsed = *parsed;
  c.status = static_cast<CaseStatus>(h.status());
  const v1::JournalLedger& l = h.ledger();
  c.ledger = Ledger::restore(Fen(l.budget()), Fen(l.frozen()), Fen(l.reserved()), Fen(l.pending()),
                             Fen(l.deducted()), Fen(l.indivisible_cover()));
  c.queries_started = h.queries_started();
  c.query_scored = h.query_scored();
  c.indivisible_allowed = h.indivisible_allowed();
  c.next_key = h.next_key();
  for (const v1::JournalQueryRound& r : h.open_rounds()) {
    c.open_rounds.push_back({r.round(), r.debtor_id(), r.officer_id()});
  }
  c.reasons.assign(h.indivisible_reasons().begin(), h.indivisible_reasons().end());
  c.restored_as = h.restored_as();
  // What a finding's and a measure's record share: the bytes, the connector, the asset.
  auto read = [this](const std::string& at, const std::string& bytes, auto& r, uint32_t& connector,
                     Asset& asset) -> Status {
    if (!r.ParseFromString(bytes)) return data_loss_error(at + ": unreadable record");
    StatusOr<uint32_t> ci = connector_index(r.connector());
    if (!ci.ok()) return data_loss_error(at + ": " + ci.status().message());
    StatusOr<Asset> a = connectors::from_proto(r.asset());
    if (!a.ok()) return data_loss_error(at + ": " + a.status().message());
    connector = *ci;
    asset = std::move(*a);
    return ok_status();
  };
  for (size_t i = 0; i < findings.size(); ++i) {
    v1::JournalFinding r;
    Finding f;
    CHAKONG_RETURN_IF_ERROR(read(record_key(number, 'f', static_cast<uint32_t>(i)), findings[i], r,
                                 f.connector, f.asset));
    if (f.asset.holder_id.empty()) f.asset.holder_id = r.debtor_id();
    if (f.asset.holder_id != r.debtor_id()) {
      return data_loss_error(record_key(number, 'f', static_cast<uint32_t>(i)) +
                             ": the asset's holder is not the finding's debtor");
    }
    if (r.state() < 0 || r.state() > static_cast<int32_t>(FindingState::kFailed) ||
        r.sent_amount() < 0) {
      return data_loss_error(record_key(number, 'f', static_cast<uint32_t>(i)) + ": state " +
                             std::to_string(r.state()) + ", sent_amount " +
                             std::to_string(r.sent_amount()) + ": out of range");
    }
    f.found_at = r.found_at_us();
    f.due = r.due_us();
    f.clock_open = r.clock_open();
    f.held_by_others = r.held_by_others();
    f.state = static_cast<FindingState>(r.state());
    f.sent_amount = Fen(r.sent_amount());
    f.sent_waitlist = r.sent_waitlist();
    c.findings.push_back(std::move(f));
  }
  for (size_t i = 0; i < measures.size(); ++i) {
    const std::string mkey = record_key(number, 'm', static_cast<uint32_t>(i));
    v1::JournalMeasure r;
    Measure m;
    Asset asset;
    CHAKONG_RETURN_IF_ERROR(read(mkey, measures[i], r, m.connector, asset));
    StatusOr<Date> end = Date::parse(r.end_date());
    if (!end.ok()) return data_loss_error(mkey + ": end_date: " + end.status().message());
    m.id = r.measure_id();
    m.finding = r.finding();
    if (m.finding >= c.findings.size() ||
        c.findings[m.finding].asset.reference != asset.reference) {
      return data_loss_error(mkey + ": finding " + std::to_string(m.finding) +
                             " is not the measure's asset");
    }
    if (r.amount() < 0 || r.pending() < 0) {
      return data_loss_error(mkey + ": amount " + std::to_string(r.amount()) + " and pending " +
                             std::to_string(r.pending()) + " must not be negative");
    }
    m.amount = Fen(r.amount());
    m.pending = Fen(r.pending());
    m.waiting = r.waiting();
    m.live = r.live();
    m.end = *end;
    m.renewing = r.renewing();
    m.lapse_due = r.lapse_due();
    m.deduct_at = r.deduct_at_us();
    m.deducting = r.deducting();
    m.releasing = r.releasing();
    c.measures.push_back(std::move(m));
  }
  // A whole-unit (securities) freeze may be rounded up past the budget by less than a unit.
  Fen unit_allowance;
  for (const Finding& f : c.findings) {
    if (f.asset.unit_price > Fen())
      unit_allowance = max(unit_allowance, f.asset.unit_price - Fen(1));
  }
  CHAKONG_RETURN_IF_ERROR(validate_recovered(key, h.filing(), *parsed, h, unit_allowance));
  c.ledger.restore_unit_allowance(unit_allowance);  // Or the over-seizure check misfires.
  if (cases_.count(c.number) != 0) return already_exists_error(key + ": recovered twice");
  // What the journal holds: re-written only where the case changes from here.
  c.written = std::make_unique<CaseState::Written>();
  c.written->header = header_record(c);
  for (uint32_t fi = 0; fi < c.findings.size(); ++fi) {
    c.written->findings.push_back(finding_record(c, fi));
  }
  for (uint32_t mi = 0; mi < c.measures.size(); ++mi) {
    c.written->measures.push_back(measure_record(c, mi));
  }
  adopt(std::move(state));
  ++stats_.recovered_cases;
  ++stats_.cases_filed;
  stats_.claimed += c.filing.claim;
  return ok_status();
}

Status Engine::Shard::resume_cases() {
  CHAKONG_RETURN_IF_ERROR(audit_.resume(*config_.journal));
  for (auto& [number, c] : cases_) {
    enter(*c);
    resume(*c);
  }
  return ok_status();
}

void Engine::Shard::resume(CaseState& c) {
  const CaseRef ref = ref_of(c);
  auto sent = [this] {
    uint64_t n = 0;
    for (uint64_t r : stats_.requests) n += r;
    return n;
  };
  const uint64_t sent_before = sent();
  if (c.status == CaseStatus::kFiled && !c.queries_started) {
    const TimeUs start = std::max(executor_.now(), c.filing.received_at + config_.query_delay);
    arm(ref, machine::TimerKind::kStart, 0, start);
  }
  // Query rounds not fully answered: all of each round again, same keys.
  run(c, machine::Input::of(machine::InputKind::kResendQueries));
  for (uint32_t fi = 0; fi < c.findings.size(); ++fi) {
    Finding& f = c.findings[fi];
    if (f.clock_open) {
      // A clock that ran out while the engine was down fires now: reported missed.
      arm(ref, machine::TimerKind::kClock, fi, f.due);
      ++stats_.control_started;
    }
    if (f.state == FindingState::kInFlight) {  // Same key, same amount.
      run(c, machine::Input::resend(
                 f.sent_waitlist ? RequestKind::kWaitlistFreeze : RequestKind::kFreeze, fi));
    }
  }
  for (uint32_t mi = 0; mi < c.measures.size(); ++mi) {
    Measure& m = c.measures[mi];
    if (!m.live) continue;
    if (m.releasing) {
      run(c, machine::Input::of(machine::InputKind::kRelease, mi));
      continue;
    }
    if (c.status != CaseStatus::kConcluded)
      run(c, machine::Input::of(machine::InputKind::kRearm, mi));  // Waiting: its status poll.
    if (m.waiting) continue;
    if (m.renewing) {
      m.renew_timer = TimerHandle();  // As the renewal it re-sends always did.
      run(c, machine::Input::resend(RequestKind::kRenew, mi));  // Same key: the same cycle.
    }
    if (m.deducting) {
      m.deduct_timer = TimerHandle();
      run(c, machine::Input::resend(RequestKind::kDeduct, mi));  // Same key.
    } else if (m.deduct_at != 0) {
      arm(ref, machine::TimerKind::kDeduct, mi, m.deduct_at);
    }
  }
  if (c.status == CaseStatus::kConcluded) {
    for (uint32_t mi = 0; mi < c.measures.size(); ++mi) {
      if (c.measures[mi].live && !c.measures[mi].releasing) {
        run(c, machine::Input::of(machine::InputKind::kRelease, mi));
      }
    }
  }
  run(c, machine::Input::of(machine::InputKind::kPlan));
  stats_.recovered_requests += sent() - sent_before;
}

}  // namespace chakong::engine
