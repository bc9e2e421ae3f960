#include "dispatcher.h"

#include <algorithm>
#include <cmath>

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
  if (c.bulk_floor < 0 || c.bulk_floor > 1) {
    return bad("bulk_floor", c.bulk_floor, "must be in [0, 1]");
  }
  return ok_status();
}

struct Dispatcher::Job {
  Request request;
  Done done;
  Lane lane = Lane::kNormal;
  TimeUs deadline = 0;
  TimeUs submitted_at = 0;
  int attempts = 0;
  uint32_t generation = 0;
  bool open = false;
  TimerHandle retry_timer;
};

struct Dispatcher::Batch {
  std::vector<std::pair<uint32_t, uint32_t>> jobs;  // (slot, generation)
  TimeUs sent_at = 0;
  TimerHandle timeout;
  bool timed_out = false;
  bool live = false;
  uint32_t generation = 0;
};

namespace {

// An attempt whose outcome is in doubt is tried again with the same key, as a timeout is; a
// call cut by the connector's shutdown is not (the connector will not take another).
bool retryable(StatusCode code) {
  return connectors::outcome_in_doubt(code) && code != StatusCode::kCancelled;
}

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

Dispatcher::Dispatcher(connectors::Connector& connector, Executor& executor,
                       DispatcherConfig config)
    : connector_(connector),
      executor_(executor),
      config_(config),
      tokens_(config.burst),
      tokens_at_(executor.now()),
      alive_(std::make_shared<Dispatcher*>(this)) {}

Dispatcher::~Dispatcher() {
  *alive_ = nullptr;
  executor_.cancel(pump_timer_);
  for (Batch& b : batches_) {
    if (b.live) executor_.cancel(b.timeout);
  }
  for (Job& j : jobs_) {
    if (j.open) executor_.cancel(j.retry_timer);
  }
}

size_t Dispatcher::open_jobs() const { return jobs_.size() - free_jobs_.size(); }

size_t Dispatcher::queued() const {
  size_t n = 0;
  for (const LaneQueue& q : lanes_) n += q.size();
  return n;
}

void Dispatcher::submit(Request request, Lane lane, TimeUs deadline, Done done) {
  uint32_t slot;
  if (!free_jobs_.empty()) {
    slot = free_jobs_.back();
    free_jobs_.pop_back();
  } else {
    slot = static_cast<uint32_t>(jobs_.size());
    jobs_.emplace_back();
  }
  Job& j = jobs_[slot];
  j.request = std::move(request);
  j.done = std::move(done);
  j.lane = lane;
  j.deadline = deadline;
  j.submitted_at = executor_.now();
  j.attempts = 0;
  j.open = true;
  j.retry_timer = TimerHandle();
  ++stats_.submitted;
  if (lanes_[static_cast<int>(lane)].empty()) lane_since_[static_cast<int>(lane)] = executor_.now();
  lanes_[static_cast<int>(lane)].push({deadline, seq_++, slot, j.generation});
  stats_.max_queue = std::max(stats_.max_queue, queued());
  pump();
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
  if (slot >= batches_.size()) return nullptr;
  Batch& b = batches_[slot];
  return b.live && b.generation == generation ? &b : nullptr;
}

bool Dispatcher::send(int lane, int count) {
  std::vector<std::pair<uint32_t, uint32_t>> jobs;
  if (!spare_job_lists_.empty()) {
    jobs = std::move(spare_job_lists_.back());
    spare_job_lists_.pop_back();
  }
  std::vector<Request> requests;
  requests.reserve(static_cast<size_t>(count));
  jobs.reserve(static_cast<size_t>(count));
  while (static_cast<int>(requests.size()) < count && !lanes_[lane].empty()) {
    const Queued q = lanes_[lane].top();
    lanes_[lane].pop();
    Job& j = jobs_[q.job];
    if (!j.open || j.generation != q.generation) continue;
    ++j.attempts;
    jobs.emplace_back(q.job, j.generation);
    requests.push_back(j.request);
  }
  if (requests.empty()) {
    spare_job_lists_.push_back(std::move(jobs));
    if (probing_) probing_ = false;
    return false;
  }
  lane_since_[lane] = executor_.now();
  count = static_cast<int>(requests.size());
  uint32_t slot;
  if (!free_batches_.empty()) {
    slot = free_batches_.back();
    free_batches_.pop_back();
  } else {
    slot = static_cast<uint32_t>(batches_.size());
    batches_.emplace_back();
  }
  Batch& batch = batches_[slot];
  const uint64_t id = (static_cast<uint64_t>(batch.generation) << 32) | slot;
  batch.jobs = std::move(jobs);
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

  // The completion posts back to this shard's executor; the posted task (a weak pointer, the
  // id and the responses: 48 bytes) is stored inline.
  std::weak_ptr<Dispatcher*> alive = alive_;
  Executor* executor = &executor_;
  connector_.async_submit(std::move(requests),
                          [alive, executor, id](std::vector<Response> responses) {
                            executor->post([alive, id, r = std::move(responses)]() mutable {
                              std::shared_ptr<Dispatcher*> d = alive.lock();
                              if (d && *d != nullptr) (*d)->on_batch_done(id, std::move(r));
                            });
                          });
  return true;
}

void Dispatcher::on_batch_done(uint64_t batch_id, std::vector<Response> responses) {
  Batch* found = find_batch(batch_id);
  if (found == nullptr) {
    // The connector completed this batch twice: the contract says once. Drop it.
    stats_.late_ignored += responses.size();
    return;
  }
  // The slot is freed before any callback runs: a callback may submit and send again.
  std::vector<std::pair<uint32_t, uint32_t>> jobs = std::move(found->jobs);
  const bool timed_out = found->timed_out;
  if (!timed_out) {
    executor_.cancel(found->timeout);
    --in_flight_;
    stats_.busy_us += executor_.now() - found->sent_at;
  }
  found->live = false;
  ++found->generation;
  found->jobs.clear();
  free_batches_.push_back(static_cast<uint32_t>(batch_id & 0xFFFFFFFFu));
  if (responses.size() != jobs.size()) {
    const std::string what = connector_.name() + " answered " + std::to_string(responses.size()) +
                             " responses to a batch of " + std::to_string(jobs.size());
    responses.assign(jobs.size(), Response::error(data_loss_error(what)));
  }
  bool all_failed = true;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const auto [slot, generation] = jobs[i];
    Job& j = jobs_[slot];
    if (!j.open || j.generation != generation) {
      ++stats_.late_ignored;
      continue;
    }
    Response& r = responses[i];
    const bool failed = retryable(r.status.code());
    if (!failed) all_failed = false;
    if (timed_out) {
      if (failed) {
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
    if (failed) {
      attempt_failed(slot, r.status);
    } else {
      finish(slot, std::move(r));
    }
  }
  if (!timed_out) record_outcome(all_failed);
  jobs.clear();
  spare_job_lists_.push_back(std::move(jobs));
  pump();
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
    if (!jobs_[slot].open || jobs_[slot].generation != generation) continue;
    ++stats_.timeouts;
    attempt_failed(slot, status);
  }
  record_outcome(true);
  pump();
}

TimeUs Dispatcher::backoff(const Job& job) const {
  double b = static_cast<double>(config_.backoff_initial) *
             std::pow(config_.backoff_multiplier, job.attempts - 1);
  b = std::min(b, static_cast<double>(config_.backoff_max));
  const uint64_t h = hash_key(job.request.idempotency_key, job.attempts);
  const double unit = static_cast<double>(h >> 11) / static_cast<double>(1ull << 53);  // [0,1)
  b *= 1.0 + config_.jitter * (2.0 * unit - 1.0);
  return static_cast<TimeUs>(b);
}

void Dispatcher::attempt_failed(uint32_t slot, const Status& status) {
  Job& j = jobs_[slot];
  if (j.attempts >= config_.max_attempts) {
    ++stats_.errors;
    finish(slot, Response::error(status));
    return;
  }
  ++stats_.retries;
  const uint32_t generation = j.generation;
  j.retry_timer = executor_.run_after(backoff(j), [this, slot, generation] {
    Job& job = jobs_[slot];
    if (!job.open || job.generation != generation) return;
    job.retry_timer = TimerHandle();
    if (lanes_[static_cast<int>(job.lane)].empty()) {
      lane_since_[static_cast<int>(job.lane)] = executor_.now();
    }
    lanes_[static_cast<int>(job.lane)].push({job.deadline, seq_++, slot, generation});
    stats_.max_queue = std::max(stats_.max_queue, queued());
    pump();
  });
}

void Dispatcher::finish(uint32_t slot, Response response) {
  Job& j = jobs_[slot];
  if (!response.status.ok() && !retryable(response.status.code()) && j.attempts > 0) {
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
  j.request = Request();
  free_jobs_.push_back(slot);
  // `done` may submit again and grow jobs_: nothing of `j` is used after this line.
  done(std::move(response));
}

}  // namespace chakong::engine
