// The one authorisation check of the engine: every outbound request (the engine's own
// included), every read of a case, every restoration, the sweep of a library case and the
// officers of every filing (new or recovered) pass through Authoriser::check(). Private to
// the engine.
#ifndef CHAKONG_ENGINE_SRC_AUTHORISER_H_
#define CHAKONG_ENGINE_SRC_AUTHORISER_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "chakong/base/status.h"
#include "chakong/engine/engine.h"
#include "library.h"

namespace chakong::engine {

// What is acted on, as the check needs it: an engine case (its debtors) or a library case
// (`library` and `index`). Plain data, borrowed for the one call: nothing of it is kept.
struct Subject {
  std::string_view number;                // The case number, for the refusal's message.
  std::string_view court;                 // The case's court.
  std::span<const std::string> officers;  // Assigned to the case.
  std::span<const DebtorInfo> debtors;    // An engine case's debtors.
  const Library* library = nullptr;       // Or a library case's record.
  Library::Index index = 0;
  // A filing (new or recovered) whose officers are being validated: a refusal is the bare
  // reason ("officer 'x' is not registered"), for the caller to name the field.
  bool filing = false;
};

class Authoriser {
 public:
  using Officers = std::unordered_map<std::string, std::string>;  // ID -> court.

  // `officers`: the registered officers; must outlive the authoriser (or its next
  // set_officers()).
  explicit Authoriser(const Officers& officers) : officers_(&officers) {}

  // The registry from now on (Engine::reload, on the shard's thread); same lifetime rule.
  void set_officers(const Officers& officers) { officers_ = &officers; }

  // `officer` is assigned to the case and registered with its court, and `debtor`, when
  // given, is a debtor of the case: OK, or kPermissionDenied "<what> refused: ..." naming the
  // officer (or the masked debtor) and the case. The caller counts and reports a refusal.
  Status check(const Subject& subject, std::string_view officer,
               std::optional<std::string_view> debtor, std::string_view what) const;

 private:
  // `officer` is registered with `court`: kPermissionDenied "officer 'x' is not registered" or
  // "officer 'x' belongs to court A, not B". Part of check().
  Status registered(std::string_view officer, std::string_view court) const;

  const Officers* officers_;
};

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_SRC_AUTHORISER_H_
