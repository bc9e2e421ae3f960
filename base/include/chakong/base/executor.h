// Executor: the time seam. The engine reaches time only through this interface, so the same
// engine code runs in real time (AsioExecutor: Boost.Asio, wall clock) and in virtual time
// (VirtualExecutor: a discrete-event scheduler that jumps from event to event).
//
// Ordering: tasks run one at a time on the executor's thread, in (time, submission order):
// post() runs at now(); run_at() at the given time, or at now() when that is in the past.
//
// Threading: on a real-time executor (AsioExecutor) post() is safe from any thread: connector
// completions arrive on the connector's threads and are posted back to the owning shard's
// executor. A VirtualExecutor is single-threaded: everything that uses it (the engine, every
// connector, transport and institution of a simulation) runs on its thread, and a post() from
// another thread is a bug (asserted in debug builds). now(), run_at() and cancel() are called
// only from the executor's own thread, i.e. from inside its tasks or before it starts running.
//
//   executor.run_at(executor.now() + 48 * kMicrosPerHour, [this, id] { on_control_due(id); });
#ifndef CHAKONG_BASE_EXECUTOR_H_
#define CHAKONG_BASE_EXECUTOR_H_

#include "chakong/base/date.h"
#include "chakong/base/function.h"
#include "chakong/base/timing_wheel.h"

namespace chakong {

// A task: move-only, and a small closure is stored inline (no allocation per task).
using Task = UniqueFunction<void()>;

class Executor {
 public:
  virtual ~Executor() = default;

  // Current engine time, µs since the Unix epoch.
  virtual TimeUs now() const = 0;

  // Runs `task` soon, after the tasks already due. Thread-safe.
  virtual void post(Task task) = 0;

  // Runs `task` at time `t` (at now() if `t` is in the past). The handle cancels it.
  virtual TimerHandle run_at(TimeUs t, Task task) = 0;

  // Cancels a timer from run_at(); false if it already ran or was cancelled.
  virtual bool cancel(TimerHandle handle) = 0;

  // True for a virtual-time executor (tests and reports use it; engine logic must not).
  virtual bool is_virtual() const = 0;

  TimerHandle run_after(TimeUs delay, Task task) { return run_at(now() + delay, std::move(task)); }
};

}  // namespace chakong

#endif  // CHAKONG_BASE_EXECUTOR_H_
