// The one retry / in-doubt policy (retry_policy.h).
#include "retry_policy.h"

#include <algorithm>
#include <cmath>

#include "chakong/connectors/connector.h"

namespace chakong::engine::retry {

namespace {

// FNV-1a, for deterministic jitter.
uint64_t hash_key(std::string_view s, int attempt) {
  uint64_t h = 1469598103934665603ull ^ static_cast<uint64_t>(attempt);
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

bool retryable(StatusCode code) {
  return connectors::outcome_in_doubt(code) && code != StatusCode::kCancelled;
}

Step attempt_step(const DispatcherConfig& c, StatusCode code, int attempts) {
  if (!retryable(code)) return Step::kDefinite;
  return attempts < c.max_attempts ? Step::kRetry : Step::kExhausted;
}

TimeUs backoff(const DispatcherConfig& c, std::string_view key, int attempts) {
  double b = static_cast<double>(c.backoff_initial) * std::pow(c.backoff_multiplier, attempts - 1);
  b = std::min(b, static_cast<double>(c.backoff_max));
  const uint64_t h = hash_key(key, attempts);
  const double unit = static_cast<double>(h >> 11) / static_cast<double>(1ull << 53);  // [0,1)
  b *= 1.0 + c.jitter * (2.0 * unit - 1.0);
  return static_cast<TimeUs>(b);
}

Step next_step(const DispatcherConfig& c, connectors::RequestKind kind, StatusCode code,
               int attempts, int waits) {
  const Step attempt = attempt_step(c, code, attempts);
  if (attempt == Step::kRetry) return Step::kRetry;
  const Step round = resend_step(code, waits, wait_limit(c, kind));
  return round == Step::kRetry ? Step::kWait : round;
}

int wait_limit(const DispatcherConfig& c, connectors::RequestKind kind) {
  // A status poll changes nothing at the institution: a failed poll is asked again by the
  // next poll, not by this series.
  return kind == connectors::RequestKind::kMeasureStatus ? 0 : c.in_doubt_resends;
}

Step resend_step(StatusCode code, int resends, int limit) {
  if (!connectors::outcome_in_doubt(code)) return Step::kDefinite;
  return resends < limit ? Step::kRetry : Step::kExhausted;
}

}  // namespace chakong::engine::retry
