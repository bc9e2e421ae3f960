#include "authoriser.h"

#include <algorithm>

#include "chakong/base/identity.h"
#include "shard.h"

namespace chakong::engine {
namespace {

bool is_debtor(const Subject& s, std::string_view id) {
  if (s.library != nullptr) {
    for (int k = 0; k < s.library->record(s.index).debtor_count; ++k) {
      if (s.library->debtor_id(s.index, k) == id) return true;
    }
    return false;
  }
  return std::any_of(s.debtors.begin(), s.debtors.end(),
                     [&](const DebtorInfo& d) { return d.id == id; });
}

}  // namespace

Status Authoriser::registered(std::string_view officer, std::string_view court) const {
  auto it = officers_->find(std::string(officer));
  if (it == officers_->end()) {
    return permission_denied_error("officer '" + std::string(officer) + "' is not registered");
  }
  if (it->second != court) {
    return permission_denied_error("officer '" + std::string(officer) + "' belongs to court " +
                                   it->second + ", not " + std::string(court));
  }
  return ok_status();
}

Status Authoriser::check(const Subject& s, std::string_view officer,
                         std::optional<std::string_view> debtor, std::string_view what) const {
  if (std::find(s.officers.begin(), s.officers.end(), officer) == s.officers.end()) {
    return permission_denied_error(std::string(what) + " refused: officer '" +
                                   std::string(officer) + "' is not assigned to case " +
                                   std::string(s.number));
  }
  if (Status r = registered(officer, s.court); !r.ok()) {
    // Registered with the case's court, on every path: a recovered case, a library case.
    if (s.filing) return r;
    return permission_denied_error(std::string(what) + " refused: " + r.message() + " (case " +
                                   std::string(s.number) + ")");
  }
  if (debtor && !is_debtor(s, *debtor)) {
    return permission_denied_error(std::string(what) + " refused: '" + mask_id(*debtor) +
                                   "' is not a debtor of case " + std::string(s.number));
  }
  return ok_status();
}

// Engine::Shard's use of the one check: every request, read, restoration and filing.

using connectors::RequestKind;

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

bool Engine::Shard::admit(const Subject& subject, RequestKind kind, std::string_view officer,
                          std::string_view debtor) {
  // Every request passes authorisation here, the engine's own and the sweep's included.
  if (!authorize(subject, officer, debtor, connectors::request_kind_name(kind)).ok()) {
    return false;
  }
  ++stats_.requests[static_cast<int>(kind)];
  return true;
}

}  // namespace chakong::engine
