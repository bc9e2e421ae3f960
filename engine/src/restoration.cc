// Restoration. A terminated engine case or a library case is restored under a new 执恢
// number (given, or allocated by the engine: never colliding between shards) for what is
// still owed; the restored case is filed on the shard its number maps to, with any leads (a
// sweep hit, an applicant's lead) as findings whose 48-hour clocks start at once. The case
// machine's part (machine::restoration, case_machine.h): whether a case may be restored, the
// original marked, the restored case taking its leads. The shell's part (Engine::Shard): the
// library, numbering, and filing on the right shard.
#include "case_machine.h"
#include "chakong/base/identity.h"
#include "shard.h"
#include "sweep_records.h"

namespace chakong::engine {

namespace machine::restoration {

Status restorable(const CaseState& c) {
  if (c.status != CaseStatus::kTerminated) {
    return failed_precondition_error("case " + c.number + " is " +
                                     std::string(case_status_name(c.status)) +
                                     "; only a terminated case can be restored");
  }
  if (c.ledger.remaining() <= Fen()) {
    return failed_precondition_error("case " + c.number + " has nothing left to enforce");
  }
  return ok_status();
}

void mark_restored(CaseState& c, std::string_view as, Effects& fx) {
  c.status = CaseStatus::kRestored;
  c.restored_as.assign(as);
  fx.changed();
}

void adopt(const Env& env, CaseState& c, std::span<const Lead> leads, bool fan_out, Effects& fx) {
  if (!fan_out) {
    // The sweep has just queried every connector in scope for these debtors.
    fx.cancel(TimerKind::kStart, 0);
    c.queries_started = true;
    c.query_scored = true;
    c.status = CaseStatus::kQuerying;
    fx.changed();
  }
  findings::add_leads(env, c, leads, fx);
}

}  // namespace machine::restoration

using connectors::Request;
using connectors::RequestKind;
using connectors::Response;
using namespace sweep_records;

StatusOr<std::string> Engine::Shard::restore(std::string_view number,
                                             std::optional<std::pair<int, int64_t>> as,
                                             std::vector<Lead> leads, bool fan_out) {
  CaseState* c = find(number);
  const std::optional<Library::Index> li = library_.find(number);
  if (c == nullptr && !li) return not_found_error("case " + std::string(number) + " is not filed");
  if (c != nullptr) CHAKONG_RETURN_IF_ERROR(machine::restoration::restorable(*c));
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
    journal_put("library/" + std::to_string(index_) + "/serial", encode_counter(restore_count_));
  }
  filing.case_number = restored->to_string();
  filing.court = court;
  filing.claim = rest;
  filing.costs = Fen();
  filing.received_at = executor_.now();
  if (c != nullptr) {
    run_with(*c, [&](const machine::Env&, machine::Effects& fx) {
      machine::restoration::mark_restored(*c, filing.case_number, fx);
    });
  }
  if (li) {
    library_.record(*li).flags |= Library::kRestored;
    journal_put("library/" + std::to_string(index_) + "/restored/" + index_key(*li),
                encode_restored(filing.case_number));
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
    post_to(target, [other, filing = std::move(filing), original = std::move(original),
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
  run(*c, machine::Input::restored(leads, fan_out));
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
