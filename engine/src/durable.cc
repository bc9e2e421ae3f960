// Engine::Shard, part three: case-server mode. Every case a task enters (find, resolve,
// adopt) is compared at the end of the task with its records as last written, the records
// that differ are appended to the journal (flush), and the task's requests leave when that
// group is durable (on_durable). Recovery (rebuilding the cases from
// their records and resuming them) is in recovery.cc.
#include <cinttypes>
#include <cstdio>

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

void debtors_out(const CaseFiling& f, v1::Case* out) {
  out->set_case_number(f.case_number);
  out->set_court(f.court);
  for (const DebtorInfo& d : f.debtors) {
    v1::Debtor* o = out->add_debtors();
    o->set_kind(d.kind == DebtorInfo::Kind::kPerson ? v1::Debtor::KIND_PERSON
                                                    : v1::Debtor::KIND_ORGANISATION);
    o->set_id_number(d.id);
    o->set_name(d.name);
  }
  out->set_claim_fen(f.claim.value());
  out->set_costs_fen(f.costs.value());
  for (const std::string& id : f.officer_ids) out->add_officer_ids(id);
  out->set_filed_at_us(f.received_at);
}

}  // namespace

// ---- Entering and flushing ------------------------------------------------------------

void Engine::Shard::mark_entered(CaseState& c) {
  c.entered = true;
  entered_.push_back(ref_of(c));
  request_flush();
}

void Engine::Shard::request_flush() {
  if (!flush_posted_) {
    flush_posted_ = true;
    std::weak_ptr<int> alive = alive_;
    executor_.post([this, alive] {
      if (alive.lock()) flush();
    });
  }
}

std::string Engine::Shard::finding_record(const CaseState& c, uint32_t fi) const {
  const Finding& f = c.findings[fi];
  v1::JournalFinding r;
  r.set_connector(shared_.connectors[f.connector].name);
  r.set_debtor_id(f.asset.holder_id);
  connectors::to_proto(f.asset, r.mutable_asset());
  r.set_found_at_us(f.found_at);
  r.set_due_us(f.due);
  r.set_clock_open(f.clock_open);
  r.set_held_by_others(f.held_by_others);
  r.set_state(static_cast<int32_t>(f.state));
  r.set_sent_amount(f.sent_amount.value());
  r.set_sent_waitlist(f.sent_waitlist);
  return r.SerializeAsString();
}

std::string Engine::Shard::measure_record(const CaseState& c, uint32_t mi) const {
  const Measure& m = c.measures[mi];
  v1::JournalMeasure r;
  r.set_measure_id(m.id);
  r.set_connector(shared_.connectors[m.connector].name);
  r.set_finding(m.finding);
  // The asset and debtor are the finding's; written again so that a record reads alone.
  connectors::to_proto(asset_of(c, m), r.mutable_asset());
  r.set_debtor_id(asset_of(c, m).holder_id);
  r.set_amount(m.amount.value());
  r.set_pending(m.pending.value());
  r.set_waiting(m.waiting);
  r.set_live(m.live);
  r.set_end_date(m.end.to_string());
  r.set_renewing(m.renewing);
  r.set_lapse_due(m.lapse_due);
  r.set_deduct_at_us(m.deduct_at);
  r.set_deducting(m.deducting);
  r.set_releasing(m.releasing);
  return r.SerializeAsString();
}

std::string Engine::Shard::header_record(const CaseState& c) const {
  v1::JournalCase h;
  debtors_out(c.filing, h.mutable_filing());
  h.mutable_filing()->set_case_number(c.number);
  h.set_status(static_cast<int32_t>(c.status));
  v1::JournalLedger* l = h.mutable_ledger();
  l->set_budget(c.ledger.budget().value());
  l->set_frozen(c.ledger.frozen().value());
  l->set_reserved(c.ledger.reserved().value());
  l->set_pending(c.ledger.pending().value());
  l->set_deducted(c.ledger.deducted().value());
  l->set_indivisible_cover(c.ledger.indivisible_cover().value());
  h.set_queries_started(c.queries_started);
  h.set_query_scored(c.query_scored);
  h.set_indivisible_allowed(c.indivisible_allowed);
  h.set_next_key(c.next_key);
  for (const CaseState::Round& round : c.open_rounds) {
    v1::JournalQueryRound* o = h.add_open_rounds();
    o->set_round(round.round);
    o->set_debtor_id(round.debtor);
    o->set_officer_id(round.officer);
  }
  for (const std::string& reason : c.reasons) h.add_indivisible_reasons(reason);
  h.set_restored_as(c.restored_as);
  h.set_findings(static_cast<uint32_t>(c.findings.size()));
  h.set_measures(static_cast<uint32_t>(c.measures.size()));
  return h.SerializeAsString();
}

void Engine::Shard::write_case(CaseState& c) {
  c.entered = false;
  if (!c.written) c.written = std::make_unique<CaseState::Written>();
  CaseState::Written& w = *c.written;
  // Every record that differs from its last write (or was never written) is appended.
  auto put = [&](std::string key, std::string& last, std::string now) {
    if (now == last) return;
    last = now;
    pending_.push_back({std::move(key), std::move(now)});
  };
  w.findings.resize(c.findings.size());
  for (uint32_t fi = 0; fi < c.findings.size(); ++fi) {
    put(record_key(c.number, 'f', fi), w.findings[fi], finding_record(c, fi));
  }
  w.measures.resize(c.measures.size());
  for (uint32_t mi = 0; mi < c.measures.size(); ++mi) {
    put(record_key(c.number, 'm', mi), w.measures[mi], measure_record(c, mi));
  }
  // The header last: its counts cover the records above.
  put(std::string(kCasePrefix) + c.number, w.header, header_record(c));
}

void Engine::Shard::flush() {
  flush_posted_ = false;
  const uint64_t generation = ++flush_generation_;
  const size_t first_record = pending_.size();
  for (const CaseRef ref : entered_) {
    // A case dropped since it was entered has nothing left to write (not in this mode).
    if (ref.slot < slots_.size() && slots_[ref.slot].generation == ref.generation &&
        slots_[ref.slot].state != nullptr) {
      write_case(*slots_[ref.slot].state);
    }
  }
  entered_.clear();
  if (pending_.size() > first_record) {
    // The group's seal: a link naming the digest of every case record written with it, in
    // the same atomic group, so that recovery can tell a record changed outside the engine.
    v1::AuditRecord r;
    r.set_time_us(executor_.now());
    r.set_who("engine");
    r.set_purpose("case records written");
    r.set_action("write");
    for (size_t i = first_record; i < pending_.size(); ++i) {
      v1::RecordSeal* seal = r.add_records();
      seal->set_key(pending_[i].key);
      seal->set_sha256(record_digest(pending_[i].value));
    }
    std::string key = audit_.link(r);
    pending_.push_back({std::move(key), r.SerializeAsString()});
    audit_head_due_ = true;
  }
  if (audit_head_due_) {
    pending_.push_back({audit_.head_key(), audit_.head()});
    audit_head_due_ = false;
  }
  if (journal_error_.ok()) {
    // One task's records (and the audit links of its requests) are durable together or not
    // at all: a finding never says "controlled" without its measure and ledger.
    const Status s = config_.journal->append_all(pending_);
    if (!s.ok()) journal_failed("case records", s);
  }
  pending_.clear();
  if (!journal_error_.ok()) return;  // Nothing more leaves: see on_durable().
  std::weak_ptr<int> alive = alive_;
  config_.journal->sync([this, alive, generation](Status s) {
    // On the journal's writer thread: back to this shard.
    executor_.post([this, alive, generation, s = std::move(s)] {
      if (alive.lock()) on_durable(generation, s);
    });
  });
}

void Engine::Shard::hold(uint32_t connector, connectors::Request r, Lane lane, TimeUs deadline,
                         Callback done) {
  std::string id = r.idempotency_key;
  if (const size_t at = id.find(r.debtor_id); !r.debtor_id.empty() && at != std::string::npos) {
    id.replace(at, r.debtor_id.size(), mask_id(r.debtor_id));
  }
  audit(r.case_number, r.officer_id, r.debtor_id, r.purpose, connectors::request_kind_name(r.kind),
        shared_.connectors[connector].name, id);
  request_flush();
  held_.push_back(
      {connector, std::move(r), lane, deadline, std::move(done), flush_generation_ + 1});
}

void Engine::Shard::on_durable(uint64_t generation, const Status& status) {
  if (!status.ok()) {
    // The group was not stored: its requests never leave, and the engine accepts no more
    // changes. What a restarted engine recovers is the state before this group, which
    // matches what the institutions were told.
    journal_failed("sync", status);
    return;
  }
  while (!held_.empty() && held_.front().generation <= generation) {
    Held& h = held_.front();
    dispatchers_[h.connector]->submit(std::move(h.request), h.lane, h.deadline, std::move(h.done));
    held_.pop_front();
  }
}

void Engine::Shard::audit(std::string_view case_number, std::string_view who,
                          std::string_view debtor, std::string_view purpose,
                          std::string_view action, std::string_view connector,
                          std::string_view request_id) {
  v1::AuditRecord r;
  r.set_time_us(executor_.now());
  r.set_who(std::string(who));
  r.set_case_number(std::string(case_number));
  r.set_debtor(mask_id(debtor));
  r.set_purpose(std::string(purpose));
  r.set_action(std::string(action));
  r.set_connector(std::string(connector));
  r.set_request_id(std::string(request_id));
  std::string key = audit_.link(r);
  pending_.push_back({std::move(key), r.SerializeAsString()});
  audit_head_due_ = true;  // The head is written once per flush.
  request_flush();
}

StatusOr<CaseView> Engine::Shard::read_case(std::string_view number, std::string_view officer) {
  CaseState* c = find(number);
  if (c == nullptr) return not_found_error("case " + std::string(number) + " is not filed");
  CHAKONG_RETURN_IF_ERROR(authorize(subject_of(*c), officer, std::nullopt, "read"));
  if (durable_) {
    audit(c->number, officer, "", "read findings", "read", "",
          "read/" + std::to_string(audit_.next_seq()));
  }
  return case_view(number);
}

}  // namespace chakong::engine
