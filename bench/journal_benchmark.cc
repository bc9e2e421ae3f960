// Durable mode: journaled state changes per second on RocksDB, group commit against the
// per-change-sync baseline, in the same run and on the same disk.
//
// A change is a ~200-byte record (the size of a finding or measure record). The baseline
// writes each change with its own synced write and waits for it (put()). Group commit is
// how the engine writes: a task appends its changes (append_all, here 4 records per task)
// and asks for one sync, whose callback releases the task's requests; tasks do not wait, so
// every sync covers all the tasks that came while the previous one was on the disk.
// `producers` threads append at once (the engine's shards).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <thread>

#include "chakong/durable/rocks_journal.h"

namespace chakong::engine {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<RocksJournal> fresh(const std::string& name, TimeUs group_wait = 0) {
  const fs::path dir =
      fs::temp_directory_path() / ("chakong-bench-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  RocksJournalOptions o;
  o.path = dir.string();
  o.create_if_missing = true;
  o.group_wait = group_wait;
  return std::move(RocksJournal::open(o)).value();
}

std::string record(uint64_t i) {
  std::string v(200, 'x');
  std::snprintf(v.data(), v.size(), "%020llu", static_cast<unsigned long long>(i));
  return v;
}

void BM_JournalPerChangeSync(benchmark::State& state) {
  auto j = fresh("sync");
  uint64_t i = 0;
  for (auto _ : state) {
    const Status s = j->put("case/" + std::to_string(i % 100'000), record(i));
    if (!s.ok()) state.SkipWithError(s.message().c_str());
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["changes_per_sync"] = 1;
  const std::string path = j->path();
  j.reset();
  fs::remove_all(path);
}
BENCHMARK(BM_JournalPerChangeSync)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_JournalGroupCommit(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0));
  constexpr int kTasks = 50'000;  // Per producer and iteration.
  constexpr int kChangesPerTask = 4;
  auto j = fresh("group");
  uint64_t changes = 0;
  for (auto _ : state) {
    std::atomic<int> outstanding{producers * kTasks};
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
      threads.emplace_back([&, p] {
        std::vector<Journal::Change> task(kChangesPerTask);
        for (int t = 0; t < kTasks; ++t) {
          for (int c = 0; c < kChangesPerTask; ++c) {
            const uint64_t n = (static_cast<uint64_t>(p) * kTasks + t) * kChangesPerTask + c;
            task[c].key = "case/" + std::to_string(p) + "/" + std::to_string(n % 100'000);
            task[c].value = record(n);
          }
          if (!j->append_all(task).ok()) std::abort();
          j->sync([&](Status s) {
            if (!s.ok()) std::abort();
            if (--outstanding == 0) {
              std::lock_guard<std::mutex> lock(mu);
              cv.notify_all();
            }
          });
        }
      });
    }
    for (std::thread& t : threads) t.join();
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return outstanding.load() == 0; });
    changes += static_cast<uint64_t>(producers) * kTasks * kChangesPerTask;
  }
  const RocksJournal::Stats s = j->stats();
  state.SetItemsProcessed(static_cast<int64_t>(changes));
  state.counters["changes_per_sync"] =
      s.groups == 0 ? 0.0 : static_cast<double>(s.changes) / static_cast<double>(s.groups);
  state.counters["max_group"] = static_cast<double>(s.max_group);
  const std::string path = j->path();
  j.reset();
  fs::remove_all(path);
}
BENCHMARK(BM_JournalGroupCommit)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace chakong::engine
