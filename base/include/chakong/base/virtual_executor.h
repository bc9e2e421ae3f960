// VirtualExecutor: the virtual-time Executor, a discrete-event scheduler.
//
// now() is the time of the event being run; it jumps from one event to the next, so a
// simulated year of mostly idle waiting runs in seconds. Events are kept in a TimingWheel
// (O(1) add and cancel) and run in (time, submission order): the same program and inputs
// always run the same events in the same order, which is what makes a simulation
// deterministic.
//
// Single-threaded: post() too must be called from the executor's thread (in a simulation
// every connector and institution runs on it); debug builds assert it. run_until() is the
// driver. (sim::ParallelTime gives each logical process its own executor and moves it between
// worker threads with bind_to_current_thread(), one thread at a time.)
//
//   VirtualExecutor ex(Date::parse("2025-01-01")->start_us());
//   ex.run_at(ex.now() + kMicrosPerDay, [] { ... });
//   ex.run_until(ex.now() + 365 * kMicrosPerDay);
#ifndef CHAKONG_BASE_VIRTUAL_EXECUTOR_H_
#define CHAKONG_BASE_VIRTUAL_EXECUTOR_H_

#include <cassert>
#include <cstdint>
#include <optional>
#include <thread>

#include "chakong/base/executor.h"
#include "chakong/base/timing_wheel.h"

namespace chakong {

class VirtualExecutor final : public Executor {
 public:
  explicit VirtualExecutor(TimeUs start = 0) : wheel_(start) {}

  TimeUs now() const override { return wheel_.now(); }
  void post(Task task) override {
    assert(std::this_thread::get_id() == owner_ && "VirtualExecutor::post from another thread");
    wheel_.add(wheel_.now(), std::move(task));
  }
  TimerHandle run_at(TimeUs t, Task task) override { return wheel_.add(t, std::move(task)); }
  bool cancel(TimerHandle handle) override { return wheel_.cancel(handle); }
  bool is_virtual() const override { return true; }

  // Runs every event due at or before `limit`, then sets now() to `limit`. Returns the
  // number of events run.
  uint64_t run_until(TimeUs limit) {
    const uint64_t before = events_;
    while (auto e = wheel_.pop_until(limit)) {
      e->payload();
      ++events_;  // Counted as they run: events_run() is read from inside events (progress).
    }
    wheel_.advance_to(limit);
    return events_ - before;
  }

  // Runs until no event is pending (now() stays at the last event's time).
  uint64_t run() {
    const uint64_t before = events_;
    while (auto e = wheel_.pop_until(INT64_MAX)) {
      e->payload();
      ++events_;
    }
    return events_ - before;
  }

  // Runs at most one event due at or before `limit`; false if there was none.
  bool run_one(TimeUs limit = INT64_MAX) {
    auto e = wheel_.pop_until(limit);
    if (!e) return false;
    e->payload();
    ++events_;
    return true;
  }

  // The time of the earliest pending event, if any.
  std::optional<TimeUs> next_time() const { return wheel_.next_time(); }

  // Makes the calling thread the executor's thread (a parallel kernel hands a logical
  // process's executor to a worker thread for a window; only one thread uses it at a time).
  void bind_to_current_thread() { owner_ = std::this_thread::get_id(); }

  size_t pending() const { return wheel_.size(); }
  uint64_t events_run() const { return events_; }

 private:
  TimingWheel<Task> wheel_;
  uint64_t events_ = 0;
  std::thread::id owner_ = std::this_thread::get_id();  // The thread that made it.
};

}  // namespace chakong

#endif  // CHAKONG_BASE_VIRTUAL_EXECUTOR_H_
