// The one retry / in-doubt policy of the engine, for every request it sends (case requests,
// the sweep's queries). Private to the engine.
//
// An outcome is definite (an answer, a refusal, a validation error) or in doubt
// (connectors::outcome_in_doubt: timeout, unreachable, throttled, a reply that does not
// decode). In doubt, the same request goes again with the same idempotency key, in one series
// of two bounded tiers:
//  1. attempts (the dispatcher): up to DispatcherConfig::max_attempts, the n-th retry after
//     backoff_initial * backoff_multiplier^(n-1), capped at backoff_max, +-jitter by a hash of
//     the key and n (deterministic in virtual time). A call the connector cut at shutdown
//     (kCancelled) is not retried: the connector takes no other.
//  2. re-sends (the shard): when every attempt left the outcome in doubt, the request stays in
//     flight (its reservation kept) and is sent again after EngineConfig::in_doubt_retry (an
//     institution may be down for hours), at most in_doubt_resends times in a row; a definite
//     answer starts a new series.
// Exhausted: reported (kRequestFailed); a control request is counted in in_doubt_unresolved
// and marked unresolved (its reservation stays, it keeps its case; a restart re-sends it with
// the same key, or an officer resolves it); a query counts as failed. So a key is sent at most
// max_attempts * (1 + in_doubt_resends) times per series: never an unbounded loop.
#ifndef CHAKONG_ENGINE_SRC_RETRY_POLICY_H_
#define CHAKONG_ENGINE_SRC_RETRY_POLICY_H_

#include <cstdint>
#include <string_view>

#include "chakong/base/status.h"
#include "chakong/engine/dispatch.h"

namespace chakong::engine::retry {

enum class Step : uint8_t { kDefinite, kRetry, kExhausted };

// Tier 1: whether an attempt's outcome is tried again by the dispatcher.
bool retryable(StatusCode code);
// Tier 1: after `attempts` attempts ended with `code`.
Step attempt_step(const DispatcherConfig& c, StatusCode code, int attempts);
// Tier 1: the wait before attempt `attempts + 1` of `key`.
TimeUs backoff(const DispatcherConfig& c, std::string_view key, int attempts);
// Tier 2: after a send (all its attempts) ended with `code`, `resends` re-sends into the series;
// `limit` is EngineConfig::in_doubt_resends.
Step resend_step(StatusCode code, int resends, int limit);

}  // namespace chakong::engine::retry

#endif  // CHAKONG_ENGINE_SRC_RETRY_POLICY_H_
