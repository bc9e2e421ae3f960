// The virtual-time event loop and the deadline wheel against binary-heap / tree baselines, in
// the same binary. Hold model: N events pending; each step pops the earliest and schedules a
// new one a random delay later (uniform up to 2x the mean), so N stays constant.
#include <benchmark/benchmark.h>

#include <functional>
#include <map>
#include <queue>
#include <random>
#include <vector>

#include "chakong/base/timing_wheel.h"
#include "chakong/base/virtual_executor.h"
#include "smoke.h"

namespace chakong {
namespace {

constexpr TimeUs kMeanDelay = 48 * kMicrosPerHour;

struct HeapEntry {
  TimeUs when;
  uint64_t seq;
  uint64_t payload;
  bool operator>(const HeapEntry& o) const { return when != o.when ? when > o.when : seq > o.seq; }
};

// Baseline: std::priority_queue ordered by (time, sequence).
void BM_PriorityQueueHold(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<TimeUs> delay(0, 2 * kMeanDelay);
  std::priority_queue<HeapEntry, std::vector<HeapEntry>, std::greater<>> q;
  uint64_t seq = 0;
  for (int64_t i = 0; i < n; ++i) q.push({delay(rng), seq++, 0});
  for (auto _ : state) {
    HeapEntry e = q.top();
    q.pop();
    q.push({e.when + delay(rng), seq++, e.payload + 1});
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PriorityQueueHold)->Apply(bench::sizes<10'000, 10'000, 1'000'000, 10'000'000>);

void BM_TimingWheelHold(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<TimeUs> delay(0, 2 * kMeanDelay);
  TimingWheel<uint64_t> w(0);
  for (int64_t i = 0; i < n; ++i) w.add(delay(rng), 0);
  for (auto _ : state) {
    auto e = w.pop_until(INT64_MAX);
    w.add(e->when + delay(rng), e->payload + 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TimingWheelHold)->Apply(bench::sizes<10'000, 10'000, 1'000'000, 10'000'000>);

// The full executor: std::function tasks that reschedule themselves.
void BM_VirtualExecutorHold(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<TimeUs> delay(0, 2 * kMeanDelay);
  VirtualExecutor ex(0);
  uint64_t ran = 0;
  std::function<void()> task = [&] {
    ++ran;
    ex.run_after(delay(rng), task);
  };
  for (int64_t i = 0; i < n; ++i) ex.run_at(delay(rng), task);
  for (auto _ : state) ex.run_one();
  benchmark::DoNotOptimize(ran);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VirtualExecutorHold)->Apply(bench::sizes<10'000, 10'000, 1'000'000, 10'000'000>);

// Deadlines: with N pending, add one and cancel one (most deadlines are cancelled).
struct Deadline {
  uint64_t case_id;
  uint32_t item;
  uint32_t kind;
};

void BM_TimingWheelAddCancel(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<TimeUs> delay(kMicrosPerHour, 3 * 365 * kMicrosPerDay);
  TimingWheel<Deadline> w(0);
  std::vector<TimerHandle> handles(static_cast<size_t>(n));
  for (auto& h : handles) h = w.add(delay(rng), {});
  size_t i = 0;
  for (auto _ : state) {
    w.cancel(handles[i]);
    handles[i] = w.add(delay(rng), {});
    i = (i + 7919) % handles.size();
  }
  state.SetItemsProcessed(2 * state.iterations());  // One add and one cancel.
  state.counters["bytes_per_deadline"] =
      static_cast<double>(TimingWheel<Deadline>::bytes_per_entry());
}
BENCHMARK(BM_TimingWheelAddCancel)->Apply(bench::sizes<10'000, 1'000'000, 10'000'000>);

// Baseline: an ordered multimap (what a heap cannot do: cancel in the middle).
void BM_MultimapAddCancel(benchmark::State& state) {
  const int64_t n = state.range(0);
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<TimeUs> delay(kMicrosPerHour, 3 * 365 * kMicrosPerDay);
  std::multimap<TimeUs, Deadline> m;
  std::vector<std::multimap<TimeUs, Deadline>::iterator> handles(static_cast<size_t>(n));
  for (auto& h : handles) h = m.emplace(delay(rng), Deadline{});
  size_t i = 0;
  for (auto _ : state) {
    m.erase(handles[i]);
    handles[i] = m.emplace(delay(rng), Deadline{});
    i = (i + 7919) % handles.size();
  }
  state.SetItemsProcessed(2 * state.iterations());
  state.counters["bytes_per_deadline"] = 48 + sizeof(Deadline) + sizeof(TimeUs);  // Node estimate.
}
BENCHMARK(BM_MultimapAddCancel)->Apply(bench::sizes<10'000, 1'000'000, 10'000'000>);

}  // namespace
}  // namespace chakong
