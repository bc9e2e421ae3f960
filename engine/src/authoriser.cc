#include "authoriser.h"

#include <algorithm>

#include "chakong/base/identity.h"

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

}  // namespace chakong::engine
