#include "dispatcher.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "chakong/connectors/wire_util.h"
#include "retry_policy.h"

namespace chakong::engine {

using connectors::Request;
using connectors::Response;

std::string_view lane_name(Lane lane) {
  switch (lane) {
    case Lane::kUrgent: return "urgent";
    case Lane::kNormal: return "normal";
    case Lane::kBulk: return "bulk";
  }
  return "unknown";
}

Status validate(const DispatcherConfig& c) {
  auto bad = [](const char* field, auto value, const char* rule) {
    return invalid_argument_error(std::string("dispatcher.") + field + " = " +
                                  std::to_string(value) + ": " + rule);
  };
  if (c.rate_per_second < 0) return bad("rate_per_second", c.rate_per_second, "must be >= 0");
  if (c.rate_per_second > 0 && c.burst < 1) return bad("burst", c.burst, "must be >= 1");
  if (c.max_in_flight < 1) return bad("max_in_flight", c.max_in_flight, "must be >= 1");
  if (c.max_batch < 1) return bad("max_batch", c.max_batch, "must be >= 1");
  if (c.linger < 0) return bad("linger", c.linger, "must be >= 0");
  if (c.timeout <= 0) return bad("timeout", c.timeout, "must be > 0");
  if (c.max_attempts < 1) return bad("max_attempts", c.max_attempts, "must be >= 1");
  if (c.backoff_initial < 0) return bad("backoff_initial", c.backoff_initial, "must be >= 0");
  if (c.backoff_max < c.backoff_initial) {
    return bad("backoff_max", c.backoff_max, "must be >= backoff_initial");
  }
  if (c.backoff_multiplier < 1) {
    return bad("backoff_multiplier", c.backoff_multiplier, "must be >= 1");
  }
  if (c.jitter < 0 || c.jitter >= 1) return bad("jitter", c.jitter, "must be in [0, 1)");
  if (c.breaker_failures < 1) return bad("breaker_failures", c.breaker_failures, "must be >= 1");
  if (c.breaker_cooldown < 0) return bad("breaker_cooldown", c.breaker_cooldown, "must be >= 0");
  if (c.in_doubt_wait <= 0) return bad("in_doubt_wait", c.in_doubt_wait, "must be > 0");
  if (c.in_doubt_resends < 0 || c.in_doubt_resends > 255) {
    return bad("in_doubt_resends", c.in_doubt_resends, "must be in [0, 255]");
  }
  if (c.bulk_floor < 0 || c.bulk_floor > 1) {
    return bad("bulk_floor", c.bulk_floor, "must be in [0, 1]");
  }
  return ok_status();
}

struct Dispatcher::Job {
  // Kept between uses when it was copied in (submit(const Request&)): its strings' capacity is
  // reused by the next copy. A request moved in is released when the slot is freed.
  Request request;
  bool keep_buffers = false;
  Done done;
  Lane lane = Lane::kNormal;
  TimeUs deadline = 0;
  TimeUs submitted_at = 0;
  int attempts = 0;  // In the current round.
  int waits = 0;     // In-doubt waits into the series (each starts a round).
  uint32_t generation = 0;
  // Batches in a connector's hands that show this request: the slot is reused only at 0.
  uint32_t in_batches = 0;
  bool open = false;
  bool free_pending = false;  // Finished, waiting for in_batches to reach 0.
  TimerHandle retry_timer;
};

// One batch in flight: the connector reads its requests through `pointers` (into the job slab)
// and writes into `responses` (the sink). Reused from batch to batch.
struct Dispatcher::Batch final : connectors::BatchSink {
  std::vector<std::pair<uint32_t, uint32_t>> jobs;  // (slot, generation)
  std::vector<const Request*> pointers;
  std::vector<Response> responses;
  std::vector<uint8_t> written;
  Response overflow;               // Where writes past the batch's end go.
  std::atomic<uint32_t> extra{0};  // Such writes.
  std::atomic<uint32_t> completions{0};
  Executor* executor = nullptr;
  Storage* storage = nullptr;
  uint64_t id = 0;
  TimeUs sent_at = 0;
  TimerHandle timeout;
  bool timed_out = false;
  bool live = false;
  uint32_t generation = 0;

  Response& response(size_t i) override {
    if (i >= responses.size()) {
      ++extra;
      return overflow;
    }
    written[i] = 1;
    return responses[i];
  }
  // Posts the completion to the shard (a pointer and an id: stored inline). A second
  // completion in a row is counted and dropped.
  void complete() override;
  // Parts of a query's answer (a hub's members): posted to the shard, handed to the query's
  // `done` at once if the request is still open (Dispatcher::on_batch_part).
  bool takes_parts() const override { return true; }
  void part(size_t i, Response&& r) override;
};

struct Dispatcher::Storage {
  Dispatcher* owner = nullptr;  // Null once the dispatcher is gone (the storage is orphaned).
  std::deque<Job> jobs;         // A deque: a job's address is stable as the slab grows.
  std::vector<std::unique_ptr<Batch>> batches;
  int orphan_live = 0;  // Batches still in a connector's hands after the dispatcher went.

  // On the shard's executor, for the completion of batch `id`.
  void on_complete(uint64_t id);
  // On the shard's executor, for a part of request `i` of batch `id` (dropped once the
  // dispatcher is gone).
  void on_part(uint64_t id, size_t i, Response r) {
    if (owner != nullptr) owner->on_batch_part(id, i, std::move(r));
  }
};

namespace {

// Storages whose dispatcher was destroyed while a connector still held some of their batches:
// they stay (reachable) until the last such batch completes, so that the connector writes into
// live memory. A batch never completed keeps its storage until exit (its connector broke rule 5).
std::mutex g_orphans_mu;
std::vector<std::unique_ptr<Dispatcher::Storage>>& orphans() {
  static auto* v = new std::vector<std::unique_ptr<Dispatcher::Storage>>();
  return *v;
}

}  // namespace

void Dispatcher::Storage::on_complete(uint64_t id) {
  if (owner != nullptr) {
    owner->on_batch_done(id);
    return;
  }
  const auto slot = static_cast<uint32_t>(id & 0xFFFFFFFFu);
  Batch& b = *batches[slot];
  if (!b.live || b.generation != static_cast<uint32_t>(id >> 32)) return;
  b.live = false;
  if (--orphan_live != 0) return;
  std::lock_guard<std::mutex> lock(g_orphans_mu);
  auto& v = orphans();
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i].get() == this) {
      std::unique_ptr<Storage> self = std::move(v[i]);
      v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
      return;  // `self` deletes this storage here.
    }
  }
}

void Dispatcher::Batch::complete() {
  if (completions.fetch_add(1) != 0) return;  // Counted in on_batch_done.
  Storage* const s = storage;
  const uint64_t batch_id = id;
  executor->post([s, batch_id] { s->on_complete(batch_id); });
}

void Dispatcher::Batch::part(size_t i, Response&& r) {
  // A closure with a Response does not fit a Task's inline storage: one allocation per part.
  Storage* const s = storage;
  const uint64_t batch_id = id;
  executor->post(
      [s, batch_id, i, r = std::move(r)]() mutable { s->on_part(batch_id, i, std::move(r)); });
}

using retry::retryable;  // The one retry policy (retry_policy.h).

Dispatcher::Dispatcher(connectors::Connector& connector, Executor& executor,
                       DispatcherConfig config)
    : connector_(connector),
      executor_(executor),
      config_(config),
      storage_(std::make_unique<Storage>()),
      tokens_(config.burst),
      tokens_at_(executor.now()) {
  storage_->owner = this;
}

Dispatcher::~Dispatcher() {
  storage_->owner = nullptr;
  executor_.cancel(pump_timer_);
  int live = 0;
  for (const std::unique_ptr<Batch>& b : storage_->batches) {
    if (!b->live) continue;
    ++live;
    executor_.cancel(b->timeout);
  }
  for (Job& j : storage_->jobs) {
    if (j.open) executor_.cancel(j.retry_timer);
    j.done = nullptr;  // What the callbacks hold goes now; the requests stay for the batches.
  }
  if (live == 0) return;  // storage_ goes with the dispatcher.
  storage_->orphan_live = live;
  std::lock_guard<std::mutex> lock(g_orphans_mu);
  orphans().push_back(std::move(storage_));
}

void Dispatcher::reconfigure(const DispatcherConfig& config) {
  refill_tokens();  // What the old rate earned until now.
  const bool was_limited = config_.rate_per_second > 0;
  config_ = config;
  if (config_.rate_per_second > 0) {
    tokens_ = was_limited ? std::min(tokens_, config_.burst) : config_.burst;
    tokens_at_ = executor_.now();
  }
  if (queued() > 0) schedule_pump(executor_.now());  // A larger cap or batch may send now.
}

size_t Dispatcher::queued() const {
  size_t n = 0;
  for (const LaneQueue& q : lanes_) n += q.size();
  return n;
}

Dispatcher::Job& Dispatcher::new_job(Lane lane, TimeUs deadline, Done done, uint32_t* slot) {
  std::deque<Job>& jobs = storage_->jobs;
  if (!free_jobs_.empty()) {
    *slot = free_jobs_.back();
    free_jobs_.pop_back();
  } else {
    *slot = static_cast<uint32_t>(jobs.size());
    jobs.emplace_back();
  }
  Job& j = jobs[*slot];
  j.done = std::move(done);
  j.lane = lane;
  j.deadline = deadline;
  j.submitted_at = executor_.now();
  j.attempts = 0;
  j.waits = 0;
  j.open = true;
  j.free_pending = false;
  j.retry_timer = TimerHandle();
  ++open_jobs_;
  return j;
}

void Dispatcher::enqueue(uint32_t slot, Job& j) {
  ++stats_.submitted;
  const int lane = static_cast<int>(j.lane);
  if (lanes_[lane].empty()) lane_since_[lane] = executor_.now();
  lanes_[lane].push({j.deadline, seq_++, slot, j.generation});
  stats_.max_queue = std::max(stats_.max_queue, queued());
  pump();
}

void Dispatcher::submit(Request&& request, Lane lane, TimeUs deadline, Done done) {
  uint32_t slot;
  Job& j = new_job(lane, deadline, std::move(done), &slot);
  j.request = std::move(request);
  j.keep_buffers = false;
  enqueue(slot, j);
}

void Dispatcher::submit(const Request& request, Lane lane, TimeUs deadline, Done done) {
  uint32_t slot;
  Job& j = new_job(lane, deadline, std::move(done), &slot);
  j.request = request;  // Copy-assigned: the slot's string buffers are reused.
  j.keep_buffers = true;
  enqueue(slot, j);
}

Request& Dispatcher::begin_in_place(Lane lane, TimeUs deadline, Done done, uint32_t* slot) {
  Job& j = new_job(lane, deadline, std::move(done), slot);
  connectors::wire::reset_keeping_buffers(j.request);
  j.keep_buffers = true;
  return j.request;
}

void Dispatcher::commit_in_place(uint32_t slot) { enqueue(slot, storage_->jobs[slot]); }

void Dispatcher::free_job(uint32_t slot) {
  Job& j = storage_->jobs[slot];
  j.free_pending = false;
  // A moved-in request's strings would only be replaced by the next move: release them now
  // (a slab sized for the peak queue would otherwise hold every string of that peak).
  if (!j.keep_buffers) j.request = Request();
  free_jobs_.push_back(slot);
}

void Dispatcher::release_job_ref(uint32_t slot) {
  Job& j = storage_->jobs[slot];
  if (--j.in_batches == 0 && j.free_pending) free_job(slot);
}

void Dispatcher::refill_tokens() {
  if (config_.rate_per_second <= 0) return;
  const TimeUs now = executor_.now();
  if (now > tokens_at_) {
    tokens_ = std::min(config_.burst, tokens_ + static_cast<double>(now - tokens_at_) *
                                                    config_.rate_per_second / 1e6);
    tokens_at_ = now;
  }
}

bool Dispatcher::breaker_allows() {
  if (breaker_open_until_ == 0) return true;
  if (executor_.now() < breaker_open_until_) return false;
  // Half-open: exactly one probe batch at a time.
  if (probing_) return false;
  probing_ = true;
  return true;
}

void Dispatcher::record_outcome(bool failure) {
  if (probing_) {
    probing_ = false;
    if (failure) {
      breaker_open_until_ = executor_.now() + config_.breaker_cooldown;
      ++stats_.breaker_opened;
    } else {
      breaker_open_until_ = 0;
      consecutive_failures_ = 0;
    }
    return;
  }
  if (!failure) {
    consecutive_failures_ = 0;
    return;
  }
  if (++consecutive_failures_ >= config_.breaker_failures && breaker_open_until_ == 0) {
    breaker_open_until_ = executor_.now() + config_.breaker_cooldown;
    ++stats_.breaker_opened;
  }
}

int Dispatcher::pick_lane() {
  const LaneQueue& bulk = lanes_[static_cast<int>(Lane::kBulk)];
  if (config_.bulk_floor > 0 && !bulk.empty() &&
      static_cast<double>(bulk_sends_) < config_.bulk_floor * static_cast<double>(sends_ + 1)) {
    return static_cast<int>(Lane::kBulk);
  }
  for (int l = 0; l < kLaneCount; ++l) {
    if (!lanes_[l].empty()) return l;
  }
  return -1;
}

void Dispatcher::schedule_pump(TimeUs at) {
  if (pump_at_ <= at) return;  // An earlier pump is already due; it will look again.
  executor_.cancel(pump_timer_);
  pump_at_ = at;
  pump_timer_ = executor_.run_at(at, [this] {
    pump_at_ = INT64_MAX;
    pump();
  });
}

void Dispatcher::pump() {
  refill_tokens();
  while (in_flight_ < config_.max_in_flight) {
    if (!breaker_allows()) {
      if (queued() > 0 && !probing_) schedule_pump(breaker_open_until_);
      return;
    }
    const int lane = pick_lane();
    if (lane < 0) {
      if (probing_ && in_flight_ == 0) probing_ = false;  // Nothing to probe with.
      return;
    }
    int count = std::min<int>(config_.max_batch, static_cast<int>(lanes_[lane].size()));
    if (lane != static_cast<int>(Lane::kUrgent) && config_.linger > 0 &&
        count < config_.max_batch && executor_.now() < lane_since_[lane] + config_.linger) {
      // Let the batch fill, but no longer than `linger` after its first request arrived.
      if (probing_) probing_ = false;
      schedule_pump(lane_since_[lane] + config_.linger);
      return;
    }
    if (config_.rate_per_second > 0) {
      if (tokens_ < 1) {
        if (probing_) probing_ = false;
        const double wait_us = (1 - tokens_) * 1e6 / config_.rate_per_second;
        schedule_pump(executor_.now() + static_cast<TimeUs>(std::ceil(wait_us)));
        return;
      }
      count = std::min(count, static_cast<int>(tokens_));
    }
    if (!send(lane, count)) continue;  // Only stale entries: look again.
    if (probing_) return;              // One probe batch only.
  }
}

Dispatcher::Batch* Dispatcher::find_batch(uint64_t id) {
  const auto slot = static_cast<uint32_t>(id & 0xFFFFFFFFu);
  const auto generation = static_cast<uint32_t>(id >> 32);
  if (slot >= storage_->batches.size()) return nullptr;
  Batch& b = *storage_->batches[slot];
  return b.live && b.generation == generation ? &b : nullptr;
}

uint32_t Dispatcher::take_batch(int count) {
  const bool small = static_cast<size_t>(count) <= kSmallBatch;
  // A large batch may grow a small one; a small batch never takes a large one's room.
  std::vector<uint32_t>* list = small ? &free_small_batches_ : &free_batches_;
  if (list->empty() && !small) list = &free_small_batches_;
  if (list->empty()) {
    storage_->batches.push_back(std::make_unique<Batch>());
    return static_cast<uint32_t>(storage_->batches.size() - 1);
  }
  const uint32_t slot = list->back();
  list->pop_back();
  return slot;
}

Dispatcher::BatchRoom Dispatcher::batch_room() const {
  BatchRoom room;
  room.batches = storage_->batches.size();
  for (const std::unique_ptr<Batch>& b : storage_->batches) {
    room.response_slots += b->responses.capacity();
  }
  return room;
}

void Dispatcher::free_batch(uint32_t slot) {
  const bool small = storage_->batches[slot]->responses.capacity() <= kSmallBatch;
  (small ? free_small_batches_ : free_batches_).push_back(slot);
}

bool Dispatcher::send(int lane, int count) {
  const uint32_t slot = take_batch(count);
  Batch& batch = *storage_->batches[slot];
  batch.jobs.clear();
  batch.pointers.clear();
  while (static_cast<int>(batch.jobs.size()) < count && !lanes_[lane].empty()) {
    const Queued q = lanes_[lane].top();
    lanes_[lane].pop();
    Job& j = storage_->jobs[q.job];
    if (!j.open || j.generation != q.generation) continue;
    ++j.attempts;
    ++j.in_batches;
    batch.jobs.emplace_back(q.job, j.generation);
    batch.pointers.push_back(&j.request);  // The slot itself: no copy, on retries too.
  }
  if (batch.jobs.empty()) {
    free_batch(slot);
    if (probing_) probing_ = false;
    return false;
  }
  lane_since_[lane] = executor_.now();
  count = static_cast<int>(batch.jobs.size());
  const size_t n = batch.jobs.size();
  batch.responses.resize(n);
  for (Response& r : batch.responses) r = Response();
  batch.written.assign(n, 0);
  batch.extra.store(0, std::memory_order_relaxed);
  batch.completions.store(0, std::memory_order_relaxed);
  batch.executor = &executor_;
  batch.storage = storage_.get();
  batch.id = (static_cast<uint64_t>(batch.generation) << 32) | slot;
  const uint64_t id = batch.id;
  batch.live = true;
  batch.timed_out = false;
  batch.sent_at = executor_.now();
  batch.timeout = executor_.run_after(config_.timeout, [this, id] { on_batch_timeout(id); });
  ++in_flight_;
  ++stats_.batches;
  stats_.attempts += static_cast<uint64_t>(count);
  ++sends_;
  if (lane == static_cast<int>(Lane::kBulk)) ++bulk_sends_;
  if (config_.rate_per_second > 0) tokens_ -= count;
  connector_.async_submit(connectors::BatchView(batch.pointers), batch);
  return true;
}

void Dispatcher::on_batch_done(uint64_t batch_id) {
  Batch* found = find_batch(batch_id);
  if (found == nullptr) return;
  Batch& batch = *found;
  const size_t n = batch.jobs.size();
  // Completions after the first (a connector that completed twice in a row).
  stats_.late_ignored += static_cast<uint64_t>(batch.completions.load() - 1) * n;
  const bool timed_out = batch.timed_out;
  if (!timed_out) {
    executor_.cancel(batch.timeout);
    --in_flight_;
    stats_.busy_us += executor_.now() - batch.sent_at;
  }
  // The batch leaves the live set before any callback runs (a callback may submit and send
  // again, which takes another batch); its slot is reused once the responses are handed out.
  batch.live = false;
  ++batch.generation;
  size_t answered = batch.extra.load();
  for (uint8_t w : batch.written) answered += w;
  if (answered != n) {
    const std::string what = connector_.name() + " answered " + std::to_string(answered) +
                             " responses to a batch of " + std::to_string(n);
    for (Response& r : batch.responses) r = Response::error(data_loss_error(what));
  }
  bool all_failed = true;
  for (size_t i = 0; i < n; ++i) {
    const auto [slot, generation] = batch.jobs[i];
    Job& j = storage_->jobs[slot];
    const bool current = j.open && j.generation == generation;
    release_job_ref(slot);
    if (!current) {
      ++stats_.late_ignored;
      continue;
    }
    Response& r = batch.responses[i];
    // `failed` counts for the breaker; an outcome in doubt (a cut call too) goes on in the
    // series.
    const bool failed = retryable(r.status.code());
    const bool doubt = connectors::outcome_in_doubt(r.status.code());
    if (!failed) all_failed = false;
    if (timed_out) {
      if (doubt) {
        ++stats_.late_ignored;  // A late failure tells nothing new; the retry goes on.
        continue;
      }
      // The attempt had timed out but the institution did act: take its answer now. Any
      // retry still pending or in flight is dropped by the generation check.
      ++stats_.late_reconciled;
      executor_.cancel(j.retry_timer);
      finish(slot, std::move(r));
      continue;
    }
    if (doubt) {
      attempt_failed(slot, r.status);
    } else {
      finish(slot, std::move(r));
    }
  }
  if (!timed_out) record_outcome(all_failed);
  free_batch(static_cast<uint32_t>(batch_id & 0xFFFFFFFFu));
  pump();
}

void Dispatcher::on_batch_part(uint64_t batch_id, size_t i, Response r) {
  Batch* found = find_batch(batch_id);
  // A part after its batch completed (a connector breaking the contract) is dropped.
  if (found == nullptr || i >= found->jobs.size()) return;
  const auto [slot, generation] = found->jobs[i];
  Job& j = storage_->jobs[slot];
  // Only a query still open takes a part: one whose attempt timed out too (the member did
  // answer; its findings are known, and a retry's answer repeats them).
  if (!j.open || j.generation != generation || j.request.kind != connectors::RequestKind::kQuery) {
    ++stats_.late_ignored;
    return;
  }
  ++stats_.query_parts;
  r.part = true;
  r.status = ok_status();
  // `done` may submit again (the deque keeps `j` in place); it stays the job's for the final
  // answer, and nothing but the connector's completion finishes the job.
  j.done(std::move(r));
}

void Dispatcher::on_batch_timeout(uint64_t batch_id) {
  Batch* found = find_batch(batch_id);
  if (found == nullptr) return;
  Batch& batch = *found;
  batch.timed_out = true;
  --in_flight_;
  stats_.busy_us += executor_.now() - batch.sent_at;
  const Status status = deadline_exceeded_error(connector_.name() + " did not answer within " +
                                                std::to_string(config_.timeout / 1000) + " ms");
  for (const auto& [slot, generation] : batch.jobs) {
    const Job& j = storage_->jobs[slot];
    if (!j.open || j.generation != generation) continue;
    ++stats_.timeouts;
    attempt_failed(slot, status);
  }
  record_outcome(true);
  pump();
}

TimeUs Dispatcher::backoff(const Job& job) const {
  return retry::backoff(config_, job.request.idempotency_key, job.attempts);
}

void Dispatcher::attempt_failed(uint32_t slot, const Status& status) {
  Job& j = storage_->jobs[slot];
  // The one retry / in-doubt policy (retry_policy.h) decides the whole series.
  TimeUs wait = 0;
  switch (retry::next_step(config_, j.request.kind, status.code(), j.attempts, j.waits)) {
    case retry::Step::kDefinite:
    case retry::Step::kExhausted:
      ++stats_.errors;
      finish(slot, Response::error(status));
      return;
    case retry::Step::kRetry:
      ++stats_.retries;
      wait = backoff(j);
      break;
    case retry::Step::kWait:
      // A new round of attempts, same slot and key, once the institution may be back.
      ++j.waits;
      j.attempts = 0;
      wait = config_.in_doubt_wait;
      break;
  }
  const uint32_t generation = j.generation;
  const bool round = j.attempts == 0;
  j.retry_timer = executor_.run_after(wait, [this, slot, generation, round] {
    Job& job = storage_->jobs[slot];
    if (!job.open || job.generation != generation) return;
    job.retry_timer = TimerHandle();
    if (round) ++stats_.resent[static_cast<int>(job.request.kind)];
    if (lanes_[static_cast<int>(job.lane)].empty()) {
      lane_since_[static_cast<int>(job.lane)] = executor_.now();
    }
    lanes_[static_cast<int>(job.lane)].push({job.deadline, seq_++, slot, generation});
    stats_.max_queue = std::max(stats_.max_queue, queued());
    pump();
  });
}

void Dispatcher::finish(uint32_t slot, Response response) {
  Job& j = storage_->jobs[slot];
  // A definite error (one in doubt was counted when its series ended).
  if (!response.status.ok() && !connectors::outcome_in_doubt(response.status.code()) &&
      j.attempts > 0) {
    ++stats_.errors;
  }
  ++stats_.completed;
  stats_.latency.record(executor_.now() - j.submitted_at);
  if (j.request.kind == connectors::RequestKind::kQuery) {
    ++stats_.queries_completed;
    stats_.query_turnaround_us += executor_.now() - j.submitted_at;
  }
  Done done = std::move(j.done);
  j.open = false;
  ++j.generation;
  --open_jobs_;
  // The request stays while a batch still shows it.
  if (j.in_batches == 0) {
    free_job(slot);
  } else {
    j.free_pending = true;
  }
  // `done` may submit again and grow the slab: nothing of `j` is used after this line (a deque
  // keeps `j` in place anyway).
  done(std::move(response));
}

}  // namespace chakong::engine
