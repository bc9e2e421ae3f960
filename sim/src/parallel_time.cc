#include "chakong/sim/parallel_time.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

namespace chakong::sim {
namespace {

constexpr TimeUs kNever = std::numeric_limits<TimeUs>::max();

TimeUs saturating_add(TimeUs a, TimeUs b) { return a > kNever - b ? kNever : a + b; }

}  // namespace

struct ParallelTime::Message {
  TimeUs at = 0;
  uint32_t to = 0;
  Task task;
};

// One logical process. Cache-line aligned: workers write their LPs' fields in parallel.
struct alignas(64) ParallelTime::Lp {
  explicit Lp(TimeUs start) : ex(start) {}
  VirtualExecutor ex;
  std::vector<Message> out;  // Sent this window, in send order.
  TimeUs next = kNever;      // Earliest pending event, as of the last window's end.
  uint64_t events = 0;
  // The first message this LP sent inside the lookahead.
  bool violated = false;
  TimeUs violation_now = 0;
  TimeUs violation_at = 0;
  uint32_t violation_to = 0;
};

struct ParallelTime::Pool {
  explicit Pool(int threads) : arena(threads) {}
  tbb::task_arena arena;
};

StatusOr<std::unique_ptr<ParallelTime>> ParallelTime::create(const ParallelTimeOptions& o) {
  if (o.lps == 0) return invalid_argument_error("parallel time lps: must be >= 1, got 0");
  if (o.lookahead <= 0) {
    return invalid_argument_error("parallel time lookahead: must be > 0 us, got " +
                                  std::to_string(o.lookahead));
  }
  if (o.threads < 1) {
    return invalid_argument_error("parallel time threads: must be >= 1, got " +
                                  std::to_string(o.threads));
  }
  return std::unique_ptr<ParallelTime>(new ParallelTime(o));
}

ParallelTime::ParallelTime(const ParallelTimeOptions& options)
    : options_(options), inbox_(options.lps) {
  lps_.reserve(options.lps);
  for (uint32_t i = 0; i < options.lps; ++i) lps_.push_back(std::make_unique<Lp>(options.start));
  if (options.threads > 1) pool_ = std::make_unique<Pool>(options.threads);
}

ParallelTime::~ParallelTime() = default;

VirtualExecutor& ParallelTime::executor(uint32_t lp) { return lps_[lp]->ex; }

void ParallelTime::send(uint32_t from, uint32_t to, TimeUs at, Task task) {
  if (!in_window_) {
    if (to < lps_.size()) lps_[to]->ex.run_at(at, std::move(task));
    return;
  }
  Lp& src = *lps_[from];
  if (to >= lps_.size() || at < saturating_add(src.ex.now(), options_.lookahead)) {
    if (!src.violated) {
      src.violated = true;
      any_violation_.store(true, std::memory_order_relaxed);
      src.violation_now = src.ex.now();
      src.violation_at = at;
      src.violation_to = to;
    }
    return;
  }
  src.out.push_back({at, to, std::move(task)});
}

void ParallelTime::step(uint32_t i, TimeUs bound) {
  Lp& lp = *lps_[i];
  lp.ex.bind_to_current_thread();
  lp.events += lp.ex.run_until(bound - 1);
}

// Hands each LP the window's messages for it ordered by (time, source LP, source sequence):
// sources are visited in index order and each source's messages are in send order, so a
// stable sort by time gives exactly that order.
void ParallelTime::deliver() {
  std::vector<uint32_t> touched;
  for (uint32_t i : busy_) {
    for (Message& m : lps_[i]->out) {
      if (inbox_[m.to].empty()) touched.push_back(m.to);
      inbox_[m.to].push_back(std::move(m));
    }
    stats_.messages += lps_[i]->out.size();
    lps_[i]->out.clear();
  }
  auto hand_over = [this](uint32_t to) {
    std::vector<Message>& in = inbox_[to];
    std::stable_sort(in.begin(), in.end(),
                     [](const Message& a, const Message& b) { return a.at < b.at; });
    Lp& lp = *lps_[to];
    for (Message& m : in) lp.ex.run_at(m.at, std::move(m.task));
    lp.next = std::min(lp.next, in.front().at);
    in.clear();
  };
  if (pool_ == nullptr || touched.size() < 2) {
    for (uint32_t to : touched) hand_over(to);
    return;
  }
  pool_->arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, touched.size()),
                      [&](const tbb::blocked_range<size_t>& r) {
                        for (size_t k = r.begin(); k != r.end(); ++k) hand_over(touched[k]);
                      });
  });
}

Status ParallelTime::first_violation() const {
  for (uint32_t i = 0; i < lps_.size(); ++i) {
    const Lp& lp = *lps_[i];
    if (!lp.violated) continue;
    if (lp.violation_to >= lps_.size()) {
      return failed_precondition_error("parallel time: LP " + std::to_string(i) +
                                       " sent a message to LP " + std::to_string(lp.violation_to) +
                                       ", which does not exist (" + std::to_string(lps_.size()) +
                                       " LPs)");
    }
    return failed_precondition_error(
        "parallel time: LP " + std::to_string(i) + " sent a message to LP " +
        std::to_string(lp.violation_to) + " for t=" + std::to_string(lp.violation_at) +
        " us at t=" + std::to_string(lp.violation_now) + " us, less than the lookahead (" +
        std::to_string(options_.lookahead) +
        " us) ahead; every transit between logical processes must be at least the lookahead");
  }
  return ok_status();
}

Status ParallelTime::run_until(TimeUs limit) {
  // Set-up may have scheduled anything anywhere.
  for (auto& lp : lps_) lp->next = lp->ex.next_time().value_or(kNever);
  const TimeUs end = limit == kNever ? kNever : limit + 1;  // Events at `limit` run.
  for (;;) {
    TimeUs t = kNever;
    for (const auto& lp : lps_) t = std::min(t, lp->next);
    if (t >= end) break;
    const TimeUs bound = std::min(saturating_add(t, options_.lookahead), end);
    busy_.clear();
    for (uint32_t i = 0; i < lps_.size(); ++i) {
      if (lps_[i]->next < bound) busy_.push_back(i);
    }
    in_window_ = true;
    if (pool_ == nullptr || busy_.size() < 2) {
      for (uint32_t i : busy_) step(i, bound);
    } else {
      pool_->arena.execute([&] {
        tbb::parallel_for(tbb::blocked_range<size_t>(0, busy_.size()),
                          [&](const tbb::blocked_range<size_t>& r) {
                            for (size_t k = r.begin(); k != r.end(); ++k) step(busy_[k], bound);
                          });
      });
    }
    in_window_ = false;
    ++stats_.windows;
    stats_.busy_lps += busy_.size();
    for (uint32_t i : busy_) {
      lps_[i]->ex.bind_to_current_thread();
      lps_[i]->next = lps_[i]->ex.next_time().value_or(kNever);
    }
    deliver();
    if (any_violation_.load(std::memory_order_relaxed)) return first_violation();
  }
  stats_.events = 0;
  for (auto& lp : lps_) {
    lp->events += lp->ex.run_until(limit);
    stats_.events += lp->events;
  }
  return ok_status();
}

}  // namespace chakong::sim
