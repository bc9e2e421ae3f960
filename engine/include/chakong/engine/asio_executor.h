// AsioExecutor: the real-time Executor, one Boost.Asio io_context per shard.
//
// now() is the wall clock (system_clock, µs since the epoch). Timers live in a TimingWheel
// owned by the executor; one asio steady_timer is armed for the earliest of them, so a
// million pending timeouts cost one kernel timer, not a million. post() goes through
// asio::post and is thread-safe. run() blocks the calling thread (the shard's thread) until
// stop() or until no work and no timers remain.
//
//   AsioExecutor ex;
//   ex.post([&] { engine.start(); });
//   std::thread t([&] { ex.run(); });
#ifndef CHAKONG_ENGINE_ASIO_EXECUTOR_H_
#define CHAKONG_ENGINE_ASIO_EXECUTOR_H_

#include <memory>

#include "chakong/base/executor.h"

namespace chakong {

class AsioExecutor final : public Executor {
 public:
  AsioExecutor();
  ~AsioExecutor() override;
  AsioExecutor(const AsioExecutor&) = delete;
  AsioExecutor& operator=(const AsioExecutor&) = delete;

  TimeUs now() const override;
  void post(Task task) override;
  TimerHandle run_at(TimeUs t, Task task) override;
  bool cancel(TimerHandle handle) override;
  bool is_virtual() const override { return false; }

  // Runs tasks on the calling thread until stop(), or until there is no work left: no posted
  // task, no pending timer and no outstanding work guard.
  void run();
  // Makes run() return as soon as the current task finishes. Thread-safe.
  void stop();
  // Keeps run() alive while others may still post (e.g. connectors with calls in flight).
  // The count is thread-safe; run() returns when it is zero and nothing else is pending.
  void add_work();
  void remove_work();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chakong

#endif  // CHAKONG_ENGINE_ASIO_EXECUTOR_H_
