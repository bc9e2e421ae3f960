#include "chakong/connectors/connector.h"

namespace chakong::connectors {

std::string_view request_kind_name(RequestKind kind) {
  switch (kind) {
    case RequestKind::kQuery: return "query";
    case RequestKind::kFreeze: return "freeze";
    case RequestKind::kWaitlistFreeze: return "waitlist_freeze";
    case RequestKind::kRenew: return "renew";
    case RequestKind::kRelease: return "release";
    case RequestKind::kDeduct: return "deduct";
  }
  return "unknown";
}

}  // namespace chakong::connectors
