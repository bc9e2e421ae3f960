// PHOLD, the standard benchmark model of parallel discrete-event simulation (Fujimoto 1990),
// on sim::ParallelTime: `lps` logical processes each start `jobs` jobs; an event of a job
// schedules the job's next event on its own LP or, with probability `remote_percent`, on another
// LP, after a delay drawn from the job's identity; a job ends after `hops` events.
//
// Every draw is a hash of (job, hop), not a stream a thread could consume out of order, so the
// set of events a run makes is a pure function of the options: the same whatever the threads
// and whatever the order of events at the same microsecond. checksum() sums a hash of every
// event (commutative), so a sequential reference (reference_phold) must give the same value.
// Shared by tests/sim/parallel_time_test.cc and bench/parallel_time_benchmark.cc.
#ifndef CHAKONG_BENCH_PHOLD_H_
#define CHAKONG_BENCH_PHOLD_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <queue>
#include <string>
#include <tuple>
#include <vector>

#include "chakong/sim/parallel_time.h"

namespace chakong::phold {

struct Options {
  uint32_t lps = 8;
  uint32_t jobs = 16;  // Per LP.
  uint32_t hops = 200;
  uint32_t remote_percent = 50;
  TimeUs lookahead = 1000;
  TimeUs spread = 4000;  // Delays are lookahead + [0, spread) remote, [0, spread) local.
  // Work per event (iterations of a hash loop), so an event costs what a model's would.
  uint32_t work = 0;
  // Remote hops as bytes (send_bytes, which crosses ranks) rather than tasks.
  bool bytes = false;
};

inline uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Where and when a job's next event is, from its identity.
struct Next {
  uint32_t lp;
  TimeUs delay;
};
inline Next next_of(const Options& o, uint32_t lp, uint64_t job, uint32_t hop) {
  const uint64_t r = mix(job * 1'000'003ULL + hop);
  const bool remote = (r >> 32) % 100 < o.remote_percent;
  const uint64_t spread = static_cast<uint64_t>(o.spread);
  if (!remote) return {lp, static_cast<TimeUs>(r % spread)};
  return {static_cast<uint32_t>((r >> 40) % o.lps), o.lookahead + static_cast<TimeUs>(r % spread)};
}

inline uint64_t event_hash(uint32_t lp, TimeUs at, uint64_t job, uint32_t hop, uint32_t work) {
  uint64_t h = mix(mix(job) ^ (static_cast<uint64_t>(at) * 31 + hop) ^ (uint64_t{lp} << 48));
  for (uint32_t i = 0; i < work; ++i) h = mix(h);
  return h;
}

// Every LP on one shared VirtualExecutor, a message an event on it: the sequential loop the
// simulator runs today, the baseline of the window protocol's overhead (Model<OneExecutor>).
class OneExecutor {
 public:
  explicit OneExecutor(TimeUs start) : ex_(start) {}
  VirtualExecutor& executor(uint32_t) { return ex_; }
  bool is_local(uint32_t) const { return true; }
  void send(uint32_t, uint32_t, TimeUs at, Task task) { ex_.run_at(at, std::move(task)); }
  void send_bytes(uint32_t, uint32_t, TimeUs, std::string) {}  // Options::bytes is for ranks.
  void set_receiver(uint32_t, sim::ParallelTime::Receiver) {}

 private:
  VirtualExecutor ex_;
};

// The model on a ParallelTime (or a OneExecutor): per-LP counters, written only by their LP.
template <typename Net = sim::ParallelTime>
class Model {
 public:
  Model(Net& pt, Options o) : pt_(pt), o_(o), counters_(o.lps) {}

  // Starts the jobs of this rank's LPs.
  void start(TimeUs t0) {
    for (uint32_t lp = 0; lp < o_.lps; ++lp) {
      if (!pt_.is_local(lp)) continue;
      if (o_.bytes) {
        pt_.set_receiver(lp, [this, lp](uint32_t, std::string b) {
          uint64_t job = 0;
          uint32_t hop = 0;
          std::memcpy(&job, b.data(), sizeof job);
          std::memcpy(&hop, b.data() + sizeof job, sizeof hop);
          on_event(lp, job, hop);
        });
      }
      for (uint32_t j = 0; j < o_.jobs; ++j) {
        const uint64_t job = uint64_t{lp} * o_.jobs + j;
        pt_.executor(lp).run_at(t0 + static_cast<TimeUs>(job % 7),
                                [this, lp, job] { on_event(lp, job, 0); });
      }
    }
  }
  // This rank's events and checksum (add them up over ranks for the run's).
  uint64_t events() const {
    uint64_t n = 0;
    for (const Counter& c : counters_) n += c.events;
    return n;
  }
  uint64_t checksum() const {
    uint64_t s = 0;
    for (const Counter& c : counters_) s += c.checksum;
    return s;
  }

 private:
  void on_event(uint32_t lp, uint64_t job, uint32_t hop) {
    VirtualExecutor& ex = pt_.executor(lp);
    Counter& c = counters_[lp];
    ++c.events;
    c.checksum += event_hash(lp, ex.now(), job, hop, o_.work);
    if (hop + 1 >= o_.hops) return;
    const Next n = next_of(o_, lp, job, hop);
    const TimeUs at = ex.now() + n.delay;
    if (n.lp == lp) {
      ex.run_at(at, [this, lp, job, hop] { on_event(lp, job, hop + 1); });
    } else if (o_.bytes) {
      std::string b(sizeof job + sizeof hop, '\0');
      const uint32_t next = hop + 1;
      std::memcpy(b.data(), &job, sizeof job);
      std::memcpy(b.data() + sizeof job, &next, sizeof next);
      pt_.send_bytes(lp, n.lp, at, std::move(b));
    } else {
      const uint32_t to = n.lp;
      pt_.send(lp, to, at, [this, to, job, hop] { on_event(to, job, hop + 1); });
    }
  }

  struct alignas(64) Counter {
    uint64_t events = 0;
    uint64_t checksum = 0;
  };
  Net& pt_;
  const Options o_;
  std::vector<Counter> counters_;
};

// The same model on one global event queue: the reference a parallel run must equal.
struct Totals {
  uint64_t events = 0;
  uint64_t checksum = 0;
};
inline Totals reference_phold(const Options& o, TimeUs t0, TimeUs limit) {
  using Event = std::tuple<TimeUs, uint32_t, uint64_t, uint32_t>;  // at, lp, job, hop
  std::priority_queue<Event, std::vector<Event>, std::greater<>> q;
  for (uint32_t lp = 0; lp < o.lps; ++lp) {
    for (uint32_t j = 0; j < o.jobs; ++j) {
      const uint64_t job = uint64_t{lp} * o.jobs + j;
      q.emplace(t0 + static_cast<TimeUs>(job % 7), lp, job, 0);
    }
  }
  Totals t;
  while (!q.empty() && std::get<0>(q.top()) <= limit) {
    const auto [at, lp, job, hop] = q.top();
    q.pop();
    ++t.events;
    t.checksum += event_hash(lp, at, job, hop, o.work);
    if (hop + 1 >= o.hops) continue;
    const Next n = next_of(o, lp, job, hop);
    q.emplace(at + n.delay, n.lp, job, hop + 1);
  }
  return t;
}

}  // namespace chakong::phold

#endif  // CHAKONG_BENCH_PHOLD_H_
