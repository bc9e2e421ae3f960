// The one retry / in-doubt policy of the engine, for every request it sends (case requests,
// the sweep's queries). Private to the engine. Only the dispatcher applies it (next_step):
// the shard gets one completion per request, never a retry of its own to schedule.
//
// An outcome is definite (an answer, a refusal, a validation error) or in doubt
// (connectors::outcome_in_doubt: timeout, unreachable, throttled, a reply that does not
// decode, a call cut at shutdown). In doubt, the same request goes again with the same
// idempotency key, in one bounded series:
//  - attempts: up to DispatcherConfig::max_attempts in a round, the n-th retry after
//    backoff_initial * backoff_multiplier^(n-1), capped at backoff_max, +-jitter by a hash of
//    the key and n (deterministic in virtual time). A call the connector cut at shutdown
//    (kCancelled) is not retried at once: the connector takes no other;
//  - in-doubt waits: when a round's attempts all left the outcome in doubt, the request stays
//    in flight (its reservation kept) and a new round starts after
//    DispatcherConfig::in_doubt_wait (EngineConfig::in_doubt_retry: an institution may be
//    down for hours), at most in_doubt_resends times (EngineConfig::in_doubt_resends; a
//    MEASURE_STATUS poll: none, the next poll asks again).
// A definite answer at any point ends the series (a late answer to a timed-out attempt too).
// Exhausted, the completion carries the last in-doubt outcome: the shard reports it
// (kRequestFailed); a control request is counted in in_doubt_unresolved and marked unresolved
// (its reservation stays, it keeps its case; a restart re-sends it with the same key, or an
// officer resolves it); a query counts as failed. So a key is sent at most
// max_attempts * (1 + in_doubt_resends) times per series: never an unbounded loop.
#ifndef CHAKONG_ENGINE_SRC_RETRY_POLICY_H_
#define CHAKONG_ENGINE_SRC_RETRY_POLICY_H_

#include <cstdint>
#include <string_view>

#include "chakong/base/status.h"
#include "chakong/connectors/connector.h"
#include "chakong/engine/dispatch.h"

namespace chakong::engine::retry {

// kRetry: another attempt after backoff(); kWait: a new round after the in-doubt wait.
enum class Step : uint8_t { kDefinite, kRetry, kWait, kExhausted };

// The series' next step after attempt `attempts` of the current round ended with `code`,
// `waits` in-doubt waits into the series (the dispatcher's one question).
Step next_step(const DispatcherConfig& c, connectors::RequestKind kind, StatusCode code,
               int attempts, int waits);
// The in-doubt waits a request of `kind` may have in its series.
int wait_limit(const DispatcherConfig& c, connectors::RequestKind kind);

// The parts of next_step().
// Whether an attempt's outcome is tried again at once (after backoff).
bool retryable(StatusCode code);
// Within a round: after `attempts` attempts ended with `code`.
Step attempt_step(const DispatcherConfig& c, StatusCode code, int attempts);
// The wait before attempt `attempts + 1` of `key` in a round.
TimeUs backoff(const DispatcherConfig& c, std::string_view key, int attempts);
// Between rounds: after a round (all its attempts) ended with `code`, `resends` waits into the
// series; `limit` is wait_limit().
Step resend_step(StatusCode code, int resends, int limit);

}  // namespace chakong::engine::retry

#endif  // CHAKONG_ENGINE_SRC_RETRY_POLICY_H_
