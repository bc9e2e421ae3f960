// Dispatcher: the traffic controller in front of one connector, owned by one shard.
//
// Every request the engine sends goes through the dispatcher of its connector, which applies:
//  - three priority lanes that queue rather than reject: URGENT (freezes under a 48-hour
//    clock, renewals near expiry), NORMAL (new-case queries), BULK (library sweep); strict
//    priority between lanes except that BULK is guaranteed `bulk_floor` of the sends when it
//    has work; earliest deadline first within a lane, then submission order;
//  - a token bucket (requests per second, with a burst) and a cap on batches in flight;
//  - micro-batching: up to `max_batch` requests of one lane per connector call, waiting at
//    most `linger` for a NORMAL or BULK batch to fill (URGENT never lingers);
//  - the one retry / in-doubt series (retry_policy.h decides every step): a timeout per
//    attempt, retries of every attempt whose outcome is in doubt (timeout, unreachable,
//    throttled, a reply that does not decode) with exponential backoff and deterministic
//    jitter (a hash of the idempotency key and attempt number, so virtual-time runs are
//    reproducible), then, while still in doubt, new rounds of attempts after the long
//    in-doubt wait (EngineConfig::in_doubt_retry, at most in_doubt_resends times); the
//    request's `done` runs once, when the series ends;
//  - a circuit breaker: after `breaker_failures` consecutive failed attempts the connector is
//    left alone for `breaker_cooldown`, then one probe batch decides.
// A request's idempotency key is unchanged across retries, so the institution never acts
// twice. A late answer to a timed-out attempt is accepted if the request is still open
// (reconciled) and ignored otherwise; a connector that completes a batch twice in a row is
// tolerated (the second completion is ignored).
//
// No copies on the way (connector.h's BatchView/BatchSink contract): a request lives in the
// dispatcher's job slab from submit() to its last batch's completion; a batch is a view of job
// slots and a reused set of response slots (the batch's sink), so a retry re-sends the slot, not
// a copy, and a warm dispatcher allocates nothing per request. A job slot is reused only when
// no batch still in a connector's hands shows its request, and the slab outlives the dispatcher
// while any batch is in flight (a connector completing after the dispatcher is gone writes into
// live memory, and the completion is dropped).
//
// Capacity is per shard: with N shards each dispatcher gets 1/N of the connector's rate and
// in-flight cap, so shards never share mutable state (no lock on the request path).
//
// Threading: all methods run on the owning shard's executor. Connector completions may
// arrive on any thread; they are posted back to the executor.
#ifndef CHAKONG_ENGINE_SRC_DISPATCHER_H_
#define CHAKONG_ENGINE_SRC_DISPATCHER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "chakong/base/executor.h"
#include "chakong/base/function.h"
#include "chakong/base/histogram.h"
#include "chakong/connectors/connector.h"
#include "chakong/engine/dispatch.h"

namespace chakong::engine {

class Dispatcher {
 public:
  // Move-only; a closure of up to 48 bytes is stored inline (no allocation per request).
  using Done = UniqueFunction<void(connectors::Response)>;

  // `connector` and `executor` must outlive the dispatcher. `config` must be valid.
  Dispatcher(connectors::Connector& connector, Executor& executor, DispatcherConfig config);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Queues a request (moved into the job slab, and released when done; the const& form copies
  // into a slot that keeps its strings, which allocates nothing once they have grown). `done` runs
  // exactly once on the executor with the final response: the institution's answer (a definite
  // one ends the series at once), or when the series is exhausted the in-doubt outcome of its
  // last attempt (connectors::outcome_in_doubt: kDeadlineExceeded, kUnavailable,
  // kResourceExhausted, kDataLoss, or kCancelled when the connector cut the call at shutdown).
  // A query's `done` may run before that with parts of its answer (connectors::BatchSink::part,
  // a hub's members answering): `Response::part` set, OK, assets only; the final call is the
  // one without it.
  void submit(connectors::Request&& request, Lane lane, TimeUs deadline, Done done);
  void submit(const connectors::Request& request, Lane lane, TimeUs deadline, Done done);
  // Queues a request built in place: `fill(connectors::Request&)` writes it straight into a job
  // slot whose every field has been reset to its default, its strings keeping their buffers
  // from the slot's earlier requests (assign or append into them), so that neither building it
  // nor handing it over allocates once the slot's strings have grown. `fill` runs before this
  // returns and must not call the dispatcher. Otherwise as submit(): the request stays in its
  // slot, retries included, until `done` has run and no batch shows it.
  template <typename Fill>
  void submit_in_place(Lane lane, TimeUs deadline, Done done, Fill&& fill) {
    uint32_t slot;
    connectors::Request& r = begin_in_place(lane, deadline, std::move(done), &slot);
    fill(r);
    commit_in_place(slot);
  }

  // New settings (Engine::reload; `config` valid): the rate, burst, max_in_flight,
  // max_batch, linger and breaker apply from the next send (queued requests are looked at
  // again at once), the timeout, attempts and backoff from the next attempt; an attempt in
  // flight keeps the timer it was sent with, an open breaker its cooldown.
  void reconfigure(const DispatcherConfig& config);

  const DispatcherStats& stats() const { return stats_; }
  size_t queued() const;
  size_t queued(Lane lane) const { return lanes_[static_cast<int>(lane)].size(); }
  int in_flight() const { return in_flight_; }
  // The circuit breaker is open or half-open (probing): nothing but a probe is sent.
  bool breaker_open() const { return breaker_open_until_ != 0; }
  // Requests submitted whose `done` has not run yet (queued, in flight or awaiting a retry).
  size_t open_jobs() const { return open_jobs_; }
  // The batches made so far (in flight or kept for reuse) and the response slots they keep
  // room for: what the batch slab holds (tests, memory accounting).
  struct BatchRoom {
    size_t batches = 0;
    size_t response_slots = 0;
  };
  BatchRoom batch_room() const;
  const connectors::Connector& connector() const { return connector_; }
  const DispatcherConfig& config() const { return config_; }

 public:
  struct Storage;  // Private to dispatcher.cc (public only so that its orphan list can name it).

 private:
  struct Job;
  struct Batch;
  struct Queued {
    TimeUs deadline;
    uint64_t seq;
    uint32_t job;
    uint32_t generation;  // A stale entry (job finished meanwhile) is skipped.
    bool operator>(const Queued& o) const {
      return deadline != o.deadline ? deadline > o.deadline : seq > o.seq;
    }
  };
  using LaneQueue = std::priority_queue<Queued, std::vector<Queued>, std::greater<Queued>>;

  Job& new_job(Lane lane, TimeUs deadline, Done done, uint32_t* slot);
  // submit_in_place(): a new job whose request is reset, keeping its buffers; then queued.
  connectors::Request& begin_in_place(Lane lane, TimeUs deadline, Done done, uint32_t* slot);
  void commit_in_place(uint32_t slot);
  void enqueue(uint32_t slot, Job& j);
  void release_job_ref(uint32_t slot);
  void free_job(uint32_t slot);
  void pump();
  void schedule_pump(TimeUs at);
  int pick_lane();
  bool send(int lane, int count);
  void on_batch_done(uint64_t batch_id);
  void on_batch_part(uint64_t batch_id, size_t i, connectors::Response r);
  void on_batch_timeout(uint64_t batch_id);
  void attempt_failed(uint32_t job, const Status& status);
  void finish(uint32_t job, connectors::Response response);
  void refill_tokens();
  bool breaker_allows();
  void record_outcome(bool failure);
  TimeUs backoff(const Job& job) const;

  connectors::Connector& connector_;
  Executor& executor_;
  DispatcherConfig config_;
  DispatcherStats stats_;

  // The job slab and the batches (sinks); outlives the dispatcher while a connector holds a batch.
  std::unique_ptr<Storage> storage_;
  std::vector<uint32_t> free_jobs_;
  size_t open_jobs_ = 0;
  LaneQueue lanes_[kLaneCount];
  // When the oldest unsent request of each lane started waiting (for linger).
  TimeUs lane_since_[kLaneCount] = {};
  uint64_t seq_ = 0;
  uint64_t sends_ = 0, bulk_sends_ = 0;

  // Batches in flight (or timed out and awaiting their late completion) live in storage_; a
  // batch id is (generation << 32 | slot), so a completion for a reused slot is told apart.
  // Finished batches keep their vectors for reuse (no allocation per batch once warm), in two
  // lists by the room they kept: a batch of up to kSmallBatch requests (an urgent request, a
  // lone freeze) takes a small one, so that idle batches do not each keep room for max_batch
  // responses (district year: 1,391 batches, 72 k response slots of 160 bytes, most idle).
  static constexpr size_t kSmallBatch = 8;
  std::vector<uint32_t> free_batches_;        // Room for more than kSmallBatch.
  std::vector<uint32_t> free_small_batches_;  // Room for up to kSmallBatch.
  uint32_t take_batch(int count);
  void free_batch(uint32_t slot);
  Batch* find_batch(uint64_t id);
  int in_flight_ = 0;

  double tokens_;
  TimeUs tokens_at_;
  TimerHandle pump_timer_;
  TimeUs pump_at_ = INT64_MAX;

  int consecutive_failures_ = 0;
  TimeUs breaker_open_until_ = 0;
  bool probing_ = false;
};

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_SRC_DISPATCHER_H_
