// Dispatch settings and counters: what an embedder sets per connector (EngineConfig::dispatch
// and dispatch_overrides) and reads back (Engine::dispatcher_stats). The dispatcher itself,
// one per connector and shard, is internal (engine/src/dispatcher.h), and its behaviour is:
//
// Every request the engine sends goes through the dispatcher of its connector, which applies:
//  - three priority lanes that queue rather than reject: URGENT (freezes under a 48-hour
//    clock, renewals near expiry), NORMAL (new-case queries), BULK (library sweep); strict
//    priority between lanes except that BULK is guaranteed `bulk_floor` of the sends when it
//    has work; earliest deadline first within a lane, then submission order;
//  - a token bucket (requests per second, with a burst) and a cap on batches in flight;
//  - micro-batching: up to `max_batch` requests of one lane per connector call, waiting at
//    most `linger` for a NORMAL or BULK batch to fill (URGENT never lingers);
//  - a timeout per attempt, retries of every attempt whose outcome is in doubt (timeout,
//    unreachable, throttled, a reply that does not decode) with exponential backoff and
//    deterministic jitter (a hash of the idempotency key and attempt number, so virtual-time
//    runs are reproducible);
//  - then, when every attempt left the outcome in doubt (a call cut at shutdown too), the long
//    in-doubt waits: the request stays queued under its key and starts a new round of attempts
//    after `in_doubt_wait`, at most `in_doubt_resends` times (a status poll: never; its next
//    poll asks again); its completion runs once, with the answer or, exhausted, the last
//    in-doubt outcome (engine/src/retry_policy.h is the one policy deciding all of this);
//  - a circuit breaker: after `breaker_failures` consecutive failed attempts the connector is
//    left alone for `breaker_cooldown`, then one probe batch decides.
// A request's idempotency key is unchanged across retries, so the institution never acts
// twice. A late answer to a timed-out attempt is accepted if the request is still open
// (reconciled) and ignored otherwise; a connector that completes a batch twice is tolerated.
//
// Capacity is per shard: with N shards each dispatcher gets 1/N of the connector's rate and
// in-flight cap, so shards never share mutable state (no lock on the request path).
//
// Threading: all methods run on the owning shard's executor. Connector completions may
// arrive on any thread; they are posted back to the executor.
#ifndef CHAKONG_ENGINE_DISPATCH_H_
#define CHAKONG_ENGINE_DISPATCH_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chakong/base/date.h"
#include "chakong/base/histogram.h"
#include "chakong/base/status.h"

namespace chakong::engine {

enum class Lane : uint8_t { kUrgent = 0, kNormal = 1, kBulk = 2 };
inline constexpr int kLaneCount = 3;
std::string_view lane_name(Lane lane);

struct DispatcherConfig {
  // Token bucket: sustained requests per second and burst size. rate <= 0 means unlimited.
  double rate_per_second = 0;
  double burst = 100;
  // Batches in flight at once.
  int max_in_flight = 64;
  // Requests per connector call, and how long a NORMAL/BULK batch may wait to fill.
  int max_batch = 1;
  TimeUs linger = 0;
  // Per-attempt timeout, attempts in all (first included), exponential backoff with jitter.
  // Banks answer queries in minutes to a day and freezes within about two days.
  TimeUs timeout = 2 * kMicrosPerDay;
  int max_attempts = 5;
  TimeUs backoff_initial = kMicrosPerSecond;
  TimeUs backoff_max = 10 * kMicrosPerMinute;
  double backoff_multiplier = 2.0;
  double jitter = 0.2;  // +-20 %.
  // The in-doubt waits after the attempts. The engine sets both from EngineConfig's
  // in_doubt_retry and in_doubt_resends (whatever the dispatch settings say); 0 re-sends: the
  // request ends after its attempts.
  TimeUs in_doubt_wait = kMicrosPerHour;
  int in_doubt_resends = 0;
  // Circuit breaker.
  int breaker_failures = 20;
  TimeUs breaker_cooldown = kMicrosPerMinute;
  // Share of sends reserved for BULK while it has work (0 = BULK only gets leftovers).
  double bulk_floor = 0.0;
};

// Validates a config; kInvalidArgument naming the field and value.
Status validate(const DispatcherConfig& config);

struct DispatcherStats {
  uint64_t submitted = 0;
  uint64_t completed = 0;  // Requests whose `done` ran (exactly once each).
  uint64_t attempts = 0;   // Requests sent, retries included.
  uint64_t batches = 0;
  uint64_t retries = 0;
  uint64_t timeouts = 0;
  uint64_t errors = 0;           // Final non-OK outcomes.
  uint64_t late_reconciled = 0;  // Late answers accepted for a still-open request.
  uint64_t late_ignored = 0;     // Late or duplicate answers for a finished request.
  uint64_t breaker_opened = 0;
  // Rounds of attempts started again after an in-doubt wait, by connectors::RequestKind
  // (index 1..7); their sum is EngineStats::in_doubt_resent.
  uint64_t resent[8] = {};
  size_t max_queue = 0;
  TimeUs busy_us = 0;        // Sum over batches of time in flight.
  LatencyHistogram latency;  // Submission to final answer, per request.
  // Queries alone: how many were answered, and the sum of their submission-to-answer times
  // (a query's turnaround; the mean is query_turnaround_us / queries_completed).
  uint64_t queries_completed = 0;
  TimeUs query_turnaround_us = 0;
  // Parts of query answers handed on ahead of their final answer (a hub's members).
  uint64_t query_parts = 0;
};

// One connector's dispatcher on one shard, as it is now (Engine::dispatcher_gauges).
struct DispatcherGauges {
  size_t queued[kLaneCount] = {};  // Requests waiting to be sent, by Lane.
  int in_flight = 0;               // Batches sent and not answered.
  bool breaker_open = false;       // Open or half-open: only a probe batch is sent.
};

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_DISPATCH_H_
