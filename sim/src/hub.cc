#include "hub.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "population.h"

namespace chakong::sim {

using connectors::RequestKind;
using connectors::Response;

constexpr TimeUs kNoEnd = std::numeric_limits<TimeUs>::max();

MemberQueue::MemberQueue(int capacity, TimeUs end) : capacity_(std::max(0, capacity)), end_(end) {
  free_.assign(static_cast<size_t>(capacity_), 0);  // All free; a heap already.
}

MemberQueue::Admitted MemberQueue::admit(TimeUs arrival, TimeUs service, const BusinessHours& hours,
                                         const std::vector<OutageWindow>& outages) {
  Admitted a;
  // The batches that had started by `arrival` have left the queue.
  while (head_ < starts_.size() && starts_[head_] <= arrival) ++head_;
  if (head_ == starts_.size()) {
    starts_.clear();
    head_ = 0;
  } else if (head_ > 64 && head_ * 2 > starts_.size()) {
    starts_.erase(starts_.begin(), starts_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  a.queued = static_cast<uint32_t>(starts_.size() - head_);
  const auto later = std::greater<TimeUs>();  // free_ is a min-heap.
  const TimeUs ready = capacity_ == 0 ? arrival : std::max(arrival, free_.front());
  a.start = hours.next_intake(ready);
  a.done = resume_after_outages(outages, a.start, a.start + service);
  if (a.start > arrival) starts_.push_back(a.start);
  if (capacity_ == 0) {
    const TimeUs done = std::min(a.done, end_);
    busy_us_ += std::max<TimeUs>(0, done - std::max(a.start, busy_until_));
    busy_until_ = std::max(busy_until_, done);
  } else {
    std::pop_heap(free_.begin(), free_.end(), later);
    free_.back() = a.done;
    std::push_heap(free_.begin(), free_.end(), later);
    busy_us_ += std::max<TimeUs>(0, std::min(a.done, end_) - a.start);
  }
  return a;
}

namespace {

TimeUs draw(const LatencyDist& d, SplitMix64& rng) {
  if (d.p99 <= d.median || d.median <= 0) return d.median;
  std::normal_distribution<double> z(0.0, 1.0);
  return d.at_z(z(rng));
}

}  // namespace

Hub::Hub(const GroupConfig& g, uint32_t first_place, uint64_t seed, TimeUs end)
    : group_(g), first_place_(first_place), rng_(seed) {
  members_.reserve(static_cast<size_t>(g.count));
  for (int k = 0; k < g.count; ++k) {
    const int capacity = g.hub == GroupConfig::Hub::kMembers && !g.member_capacity.empty()
                             ? g.member_capacity[static_cast<size_t>(k)]
                             : 0;
    // The member's own stream: (seed, member index), mixed so that neighbours are unrelated.
    SplitMix64 mix(seed ^ (0xd1b54a32d192ed03ull * static_cast<uint64_t>(k + 1)));
    members_.emplace_back(capacity, g.hub == GroupConfig::Hub::kMembers ? end : kNoEnd, mix());
  }
  for (const auto& [instance, window] : g.outages) {
    members_[static_cast<size_t>(instance)].outages.push_back(window);
  }
}

double Hub::utilization(size_t k, TimeUs elapsed) const {
  const MemberQueue& q = members_[k].queue;
  const double servers = q.capacity() == 0 ? 1.0 : static_cast<double>(q.capacity());
  return static_cast<double>(q.busy_us()) / (static_cast<double>(elapsed) * servers);
}

TimeUs Hub::admit(Member& m, TimeUs now, const LatencyDist& dist, uint64_t n) {
  const MemberQueue::Admitted a = m.queue.admit(now, draw(dist, m.rng), group_.hours, m.outages);
  if (!m.stats) {
    m.stats = std::make_unique<MemberStats>();
    if (m.queue.capacity() > 0) m.stats->queue = std::make_unique<LatencyHistogram>();
  }
  m.checks += n;
  ++m.batches;
  m.max_queue = std::max(m.max_queue, a.queued);
  m.stats->latency.record(a.done - now, n);
  if (m.stats->queue) m.stats->queue->record(a.queued);
  return a.done;
}

uint64_t Hub::split(const std::vector<connectors::Request>& batch) {
  uint64_t queries = 0;
  control_.clear();
  for (const connectors::Request& r : batch) {
    if (r.kind == RequestKind::kQuery) {
      ++queries;
      continue;
    }
    const uint32_t place = place_of_reference(r.asset.reference);
    if (place < first_place_ || place - first_place_ >= members_.size()) continue;
    const bool freeze = r.kind == RequestKind::kFreeze || r.kind == RequestKind::kWaitlistFreeze;
    control_.emplace_back(place - first_place_, freeze ? 1 : 0);
  }
  return queries;
}

TimeUs Hub::latency(const std::vector<connectors::Request>& batch, TimeUs now, uint64_t* parts,
                    TimeUs asked) {
  if (parts != nullptr) *parts = 0;
  if (group_.hub == GroupConfig::Hub::kCounted) return latency_counted(batch, now);
  const uint64_t queries = split(batch);
  TimeUs last = now;
  if (queries > 0) {
    Answers* kept = nullptr;
    if (parts != nullptr) {
      for (Answers& a : answers_) {
        if (a.id != 0 && a.asked < asked) a.id = 0;  // Its call ended without it.
        if (a.id == 0 && kept == nullptr) kept = &a;
      }
      if (kept == nullptr) kept = &answers_.emplace_back();
      kept->id = next_answers_++;
      kept->asked = asked;
      kept->done.resize(members_.size());
      *parts = kept->id;
    }
    const TimeUs give_up = group_.member_timeout > 0 ? now + group_.member_timeout : -1;
    for (size_t k = 0; k < members_.size(); ++k) {
      Member& m = members_[k];
      TimeUs done = admit(m, now, group_.query, queries);
      if (give_up >= 0 && done > give_up) {
        ++m.timeouts;
        if (kept != nullptr) kept->done[k] = kTimedOut;
        done = give_up;
      } else if (kept != nullptr) {
        kept->done[k] = done;
      }
      last = std::max(last, done);
    }
  }
  // Control: one batch at each member involved, in member order.
  std::sort(control_.begin(), control_.end());
  for (size_t i = 0; i < control_.size();) {
    const uint32_t k = control_[i].first;
    uint64_t n = 0;
    bool freeze = false;
    for (; i < control_.size() && control_[i].first == k; ++i, ++n) freeze |= control_[i].second;
    last = std::max(last, admit(members_[k], now, freeze ? group_.control : group_.other, n));
  }
  return last - now;
}

size_t Hub::kept_answers() const {
  return static_cast<size_t>(
      std::count_if(answers_.begin(), answers_.end(), [](const Answers& a) { return a.id != 0; }));
}

void Hub::split(uint64_t id, connectors::BatchView batch, std::span<connectors::Response> responses,
                TimeUs answer_at, bool stream, std::vector<Part>& parts) {
  auto found =
      std::find_if(answers_.begin(), answers_.end(), [id](const Answers& a) { return a.id == id; });
  if (id == 0 || found == answers_.end()) return;
  found->id = 0;
  const std::vector<TimeUs>& done = found->done;
  const size_t first = parts.size();
  for (size_t i = 0; i < batch.size() && i < responses.size(); ++i) {
    Response& r = responses[i];
    if (batch[i].kind != RequestKind::kQuery || !r.status.ok() || r.assets.empty()) continue;
    size_t kept = 0;
    for (size_t a = 0; a < r.assets.size(); ++a) {
      const uint32_t place = place_of_reference(r.assets[a].reference);
      const size_t k = place - first_place_;
      const TimeUs at = place < first_place_ || k >= done.size() ? answer_at : done[k];
      if (at == kTimedOut) continue;  // No answer from its member: not given.
      if (!stream || at >= answer_at) {
        if (kept != a) r.assets[kept] = std::move(r.assets[a]);
        ++kept;
        continue;
      }
      // One part per (member time, request): members answering at one time share it.
      auto part = std::find_if(parts.begin() + static_cast<std::ptrdiff_t>(first), parts.end(),
                               [&](const Part& p) { return p.at == at && p.index == i; });
      if (part == parts.end()) {
        part = parts.insert(parts.end(), Part{at, static_cast<uint32_t>(i), {}});
      }
      part->response.assets.push_back(std::move(r.assets[a]));
    }
    r.assets.resize(kept);
  }
  std::stable_sort(
      parts.begin() + static_cast<std::ptrdiff_t>(first), parts.end(),
      [](const Part& x, const Part& y) { return x.at != y.at ? x.at < y.at : x.index < y.index; });
}

// The counted model, as it was: one stream for the hub, one draw per member for a query batch,
// one draw per operation for a control batch.
TimeUs Hub::latency_counted(const std::vector<connectors::Request>& batch, TimeUs now) {
  const TimeUs intake = group_.hours.next_intake(now);
  TimeUs last = now;
  const uint64_t queries = split(batch);
  // Member -> (n, the operation of its last request).
  std::map<uint32_t, std::pair<uint64_t, const LatencyDist*>> control;
  for (const auto& [k, freeze] : control_) {
    auto& [n, dist] = control[k];
    ++n;
    dist = freeze ? &group_.control : &group_.other;
  }
  if (queries > 0) {
    for (Member& m : members_) {
      last = std::max(last, work_counted(m, intake, group_.query.sample(rng_), queries));
    }
  }
  TimeUs draws[2] = {-1, -1};  // Control, other: one draw each for the batch.
  for (const auto& [k, nd] : control) {
    TimeUs& d = draws[nd.second == &group_.control ? 0 : 1];
    if (d < 0) d = nd.second->sample(rng_);
    last = std::max(last, work_counted(members_[k], intake, d, nd.first));
  }
  return last - now;
}

TimeUs Hub::work_counted(Member& m, TimeUs intake, TimeUs latency, uint64_t n) {
  // An unlimited queue taking the batch at `intake` is exactly the counted model's member.
  const MemberQueue::Admitted a = m.queue.admit(intake, latency, BusinessHours{}, m.outages);
  if (!m.stats) m.stats = std::make_unique<MemberStats>();
  m.checks += n;
  ++m.batches;
  m.stats->latency.record(a.done - intake, n);
  return a.done;
}

}  // namespace chakong::sim
