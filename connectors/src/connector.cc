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
    case RequestKind::kMeasureStatus: return "measure_status";
  }
  return "unknown";
}

}  // namespace chakong::connectors
