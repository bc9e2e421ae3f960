// The 总对总 hub of a group with `hub:` (docs/architecture.md "Hubs"): one connector for a
// group of member institutions. The hub's latency function decides, for each batch the engine
// sends it, when the hub answers; the answers themselves come from the hub's ground truth.
//
//   MemberQueue q(/*capacity=*/2);             // A member with two servers.
//   q.admit(t, 3 * kMicrosPerHour, hours, {});  // -> {start, done, queued}
#ifndef CHAKONG_SIM_SRC_HUB_H_
#define CHAKONG_SIM_SRC_HUB_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "chakong/base/histogram.h"
#include "chakong/connectors/connector.h"
#include "chakong/sim/behaviour.h"
#include "chakong/sim/scenario.h"
#include "lp_crossing.h"

namespace chakong::sim {

// A member as a FIFO queue in front of `capacity` servers (0: unlimited, no queue). A batch's
// service time is drawn when it arrives and the queue is FIFO, so its start and completion are
// known at arrival from the servers' free times (the multi-server Lindley recursion): a batch
// starts when it has arrived and a server is free, at the next time the member takes work
// (`hours`), and finishes `service` later, paused by every outage it overlaps
// (resume_after_outages). No events of its own. State: the servers' free times (a min-heap of
// `capacity`) and the start times of the batches still waiting.
class MemberQueue {
 public:
  // Busy time is counted up to `end` (the end of the run).
  explicit MemberQueue(int capacity, TimeUs end = std::numeric_limits<TimeUs>::max());

  struct Admitted {
    TimeUs start = 0;     // When a server takes it.
    TimeUs done = 0;      // When it is answered.
    uint32_t queued = 0;  // Batches that arrived before it and had not started at its arrival.
  };
  // Arrivals must come in time order.
  Admitted admit(TimeUs arrival, TimeUs service, const BusinessHours& hours,
                 const std::vector<OutageWindow>& outages);

  int capacity() const { return capacity_; }
  // Server time spent before `end`: the sum over batches of done - start (with unlimited
  // capacity, the time with at least one batch in hand).
  TimeUs busy_us() const { return busy_us_; }

 private:
  int capacity_;
  TimeUs end_;
  std::vector<TimeUs> free_;    // Min-heap of the servers' free times (capacity_ > 0).
  std::vector<TimeUs> starts_;  // Start times of admitted batches, from head_ on (FIFO).
  size_t head_ = 0;
  TimeUs busy_us_ = 0, busy_until_ = 0;
};

// A small, seedable generator (SplitMix64) for each member's own stream: 8 bytes where a
// std::mt19937_64 is 2.5 KB.
class SplitMix64 {
 public:
  using result_type = uint64_t;
  explicit SplitMix64(uint64_t seed) : s_(seed) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }
  result_type operator()() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t s_;
};

// The hub. With GroupConfig::Hub::kMembers each member is a MemberQueue with its own servers
// and its own random stream, seeded from (seed, member index), so that results do not depend
// on the order members are visited. A query batch is one batch at every member (one service
// draw each); the hub's answer ends when the last member has answered, or at `member_timeout`
// after asking (the members still answering count a timeout, and their findings are not
// given). Answers stream: each member's findings are given when it answers (split(), the
// AnswerParts the crossing asks). A control batch goes to the members holding its assets
// (their place is in the reference): one batch at each, drawn from `latency.control` if it
// holds a freeze, else `latency.other`; it is answered whole, at the latest of them.
//
// With kCounted (the earlier model, an explicit approximation): a member's share of a batch is
// one draw of its latency from the hub's one stream, delayed by its hours and outages, counted
// as that many checks; no queue, no capacity; the answer is given whole, at the latest member.
class Hub final : public AnswerParts {
 public:
  // What the report shows of one member.
  struct MemberStats {
    LatencyHistogram latency;  // Arrival at the member to its answer, per check.
    // Batches waiting ahead, per batch (as durations of that many us); kept only for a member
    // with limited capacity (without, nothing ever waits).
    std::unique_ptr<LatencyHistogram> queue;
  };
  struct Member {
    Member(int capacity, TimeUs end, uint64_t seed) : queue(capacity, end), rng(seed) {}
    MemberQueue queue;
    SplitMix64 rng;
    std::vector<OutageWindow> outages;
    uint64_t checks = 0, batches = 0, timeouts = 0;
    uint32_t max_queue = 0;
    std::unique_ptr<MemberStats> stats;  // Allocated at the first batch.
  };

  // `end`: the end of the run, where the members' busy time stops counting (kMembers; the
  // counted model counts work past it, as it always did).
  Hub(const GroupConfig& g, uint32_t first_place, uint64_t seed,
      TimeUs end = std::numeric_limits<TimeUs>::max());

  const std::vector<Member>& members() const { return members_; }
  // The place of member 0 (member k's is first_place() + k; a reference carries its place).
  uint32_t first_place() const { return first_place_; }
  GroupConfig::Hub mode() const { return group_.hub; }
  // Utilization of member k over `elapsed`: busy server time over elapsed x servers (unlimited:
  // the share of the time it had work in hand).
  double utilization(size_t k, TimeUs elapsed) const;

  // Time from `now` until the hub answers `batch`. With `parts` (kMembers, a batch with
  // queries) the members' answer times are kept for split() under a new id, written to
  // *parts; `asked` is the hub's time now (its LP's clock; `now` may be later, when the hub's
  // server takes the batch): times kept at an earlier `asked` and not taken are dropped (their
  // call was answered without them: a reply past the wire timeout). Else *parts is 0.
  TimeUs latency(const std::vector<connectors::Request>& batch, TimeUs now,
                 uint64_t* parts = nullptr, TimeUs asked = 0);

  // AnswerParts: a query's findings by member — given at their member's answer when it is
  // before `answer_at`, dropped for a member past `member_timeout`, else left in the answer.
  // A finding whose reference names no member stays in the answer.
  void split(uint64_t id, connectors::BatchView batch, std::span<connectors::Response> responses,
             TimeUs answer_at, bool stream, std::vector<Part>& parts) override;
  // Answer times kept for split() and not yet taken.
  size_t kept_answers() const;

 private:
  // Fills control_ with the batch's control requests (member, 1 for a freeze), in the batch's
  // order, and returns its count of queries.
  uint64_t split(const std::vector<connectors::Request>& batch);
  TimeUs latency_counted(const std::vector<connectors::Request>& batch, TimeUs now);
  TimeUs work_counted(Member& m, TimeUs intake, TimeUs latency, uint64_t n);
  // A batch of `n` checks at member `m`; its answer time.
  TimeUs admit(Member& m, TimeUs now, const LatencyDist& dist, uint64_t n);

  const GroupConfig& group_;
  const uint32_t first_place_;
  std::mt19937_64 rng_;  // kCounted only.
  std::vector<Member> members_;
  // Scratch: a batch's control requests, (member, 1 for a freeze).
  std::vector<std::pair<uint32_t, uint32_t>> control_;

  // The members' answer times of a query batch, from latency() to split(): done[k] is member
  // k's, or kTimedOut. A few at a time (the batches taken at one instant); reused, so that
  // a warm hub allocates nothing per batch.
  static constexpr TimeUs kTimedOut = -1;
  struct Answers {
    uint64_t id = 0;  // 0: free.
    TimeUs asked = 0;
    std::vector<TimeUs> done;
  };
  std::vector<Answers> answers_;
  uint64_t next_answers_ = 1;
};

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_SRC_HUB_H_
