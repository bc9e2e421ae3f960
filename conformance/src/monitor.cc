#include "monitor.h"

#include <cxxabi.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <typeinfo>

namespace chakong::conformance {
namespace {

using connectors::BatchSink;
using connectors::BatchView;
using connectors::Request;
using connectors::Response;

std::string format_ms(int64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(us) / 1000.0);
  return buf;
}

// A span of virtual time: "3.0 s", "2.0 days".
std::string format_virtual(TimeUs us) {
  char buf[32];
  if (us >= kMicrosPerDay) {
    std::snprintf(buf, sizeof buf, "%.1f days", static_cast<double>(us) / kMicrosPerDay);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(us) / kMicrosPerSecond);
  }
  return buf;
}

// Wall time, CPU time and voluntary context switches of this thread: a call that took longer
// than the bound blocked if it gave up the CPU (a sleep, a lock, a socket) or computed for that
// long; one that was only preempted (an involuntary switch, a busy machine) did not.
struct ThreadClock {
  int64_t wall_us = 0;
  int64_t cpu_us = 0;
  long voluntary = 0;

  static ThreadClock now() {
    ThreadClock c;
    c.wall_us = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now().time_since_epoch())
                    .count();
#ifdef RUSAGE_THREAD
    rusage u{};
    if (getrusage(RUSAGE_THREAD, &u) == 0) {
      c.cpu_us = (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1'000'000LL + u.ru_utime.tv_usec +
                 u.ru_stime.tv_usec;
      c.voluntary = u.ru_nvcsw;
    }
#endif
    return c;
  }
};

}  // namespace

void Monitor::record(std::string rule, std::string op, std::string text) {
  std::lock_guard<std::mutex> lock(mu_);
  for (Violation& v : violations_) {
    if (v.rule == rule && v.op == op) {
      ++v.count;
      return;
    }
  }
  violations_.push_back({std::move(rule), std::move(op), std::move(text), 1});
}

std::vector<Violation> Monitor::violations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return violations_;
}

std::shared_ptr<CallRecord> Monitor::add_call(std::string op, size_t requests) {
  auto c = std::make_shared<CallRecord>();
  c->op = std::move(op);
  c->requests = requests;
  c->submit_thread = std::this_thread::get_id();
  std::lock_guard<std::mutex> lock(mu_);
  calls_.push_back(c);
  c->index = static_cast<int>(calls_.size());
  return c;
}

std::vector<std::shared_ptr<CallRecord>> Monitor::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

void Monitor::keep(std::shared_ptr<void> object) {
  std::lock_guard<std::mutex> lock(mu_);
  kept_.push_back(std::move(object));
}

void SandboxExecutor::post(Task task) {
  if (on_owner_thread()) {
    inner_.post(std::move(task));
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  inbox_.push_back(std::move(task));
}

void SandboxExecutor::foreign_use(const char* what) {
  if (monitor_ == nullptr) return;
  monitor_->record("threading", what,
                   std::string("threading (connector.h, executor.h): Executor::") + what +
                       " called from a thread other than the executor's; only post() is "
                       "thread-safe");
}

TimerHandle SandboxExecutor::run_at(TimeUs t, Task task) {
  if (on_owner_thread()) return inner_.run_at(t, std::move(task));
  foreign_use("run_at");
  // The executor's thread is not running events while the kit's threads submit, so this is
  // safe here; on a real executor it would be a data race.
  std::lock_guard<std::mutex> lock(mu_);
  return inner_.run_at(t, std::move(task));
}

bool SandboxExecutor::cancel(TimerHandle handle) {
  if (on_owner_thread()) return inner_.cancel(handle);
  foreign_use("cancel");
  std::lock_guard<std::mutex> lock(mu_);
  return inner_.cancel(handle);
}

void SandboxExecutor::take_inbox() {
  std::vector<Task> tasks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks.swap(inbox_);
  }
  for (Task& t : tasks) inner_.post(std::move(t));
}

void SandboxExecutor::run_until(TimeUs limit) {
  take_inbox();
  inner_.run_until(limit);
  // What a connector's own threads posted meanwhile runs at `limit`.
  take_inbox();
  inner_.run_until(limit);
}

MonitoredConnector::~MonitoredConnector() {
  monitor_->connector_destroyed(executor_.now());
  inner_.reset();
}

namespace {

// The kit's sink in front of the caller's: slots are the caller's (written through), and the
// slots written and the completions are watched.
class WatchedSink final : public BatchSink {
 public:
  WatchedSink(std::shared_ptr<CallRecord> call, Monitor* monitor, SandboxExecutor* ex,
              BatchSink& outer)
      : call_(std::move(call)),
        monitor_(monitor),
        ex_(ex),
        outer_(outer),
        written_(call_->requests) {}

  Response& response(size_t i) override {
    if (i >= written_.size()) {
      ++extra_;
    } else {
      written_[i].store(true);
    }
    return outer_.response(i);
  }

  void complete() override {
    const int n = ++call_->completions;
    const std::string& op = call_->op;
    Monitor* m = monitor_;
    if (call_->submitting.load() && std::this_thread::get_id() == call_->submit_thread) {
      m->record("rule 2 (never inline)", op,
                "rule 2 (never inline): " + op + " completed inside async_submit (call " +
                    std::to_string(call_->index) + ")");
    }
    if (n == 2) {
      m->record("rule 1 (exactly once)", op,
                "rule 1 (exactly once): " + op + " completed twice (call " +
                    std::to_string(call_->index) + ")");
    }
    size_t answered = extra_.load();
    for (const std::atomic<bool>& w : written_) answered += w.load() ? 1 : 0;
    if (answered != call_->requests) {
      m->record("rule 1 (one response per request)", op,
                "rule 1 (one response per request): " + op + " batch of " +
                    std::to_string(call_->requests) + " completed with " +
                    std::to_string(answered) + " responses (call " + std::to_string(call_->index) +
                    ")");
    }
    if (m->destroyed() && ex_->on_owner_thread()) {
      const TimeUs after = ex_->now() - m->destroyed_at();
      if (n >= 2) {
        m->record("rule 5 (never after shutdown)", op,
                  "rule 5 (never after shutdown): " + op +
                      " completed again after the connector was destroyed (call " +
                      std::to_string(call_->index) + ")");
      } else if (after > kMicrosPerSecond) {
        m->record("rule 5 (drain at shutdown)", op,
                  "rule 5 (drain at shutdown): " + op + " completed only " + format_virtual(after) +
                      " after the connector was destroyed, not promptly (call " +
                      std::to_string(call_->index) + ")");
      }
    }
    outer_.complete();
  }

 private:
  std::shared_ptr<CallRecord> call_;
  Monitor* monitor_;  // Owns this sink (Monitor::keep), so outlives it.
  SandboxExecutor* ex_;
  BatchSink& outer_;
  std::vector<std::atomic<bool>> written_;
  std::atomic<size_t> extra_{0};
};

}  // namespace

void MonitoredConnector::async_submit(BatchView batch, BatchSink& sink) {
  std::shared_ptr<CallRecord> call = monitor_->add_call(describe_batch(batch), batch.size());
  auto watched = std::make_shared<WatchedSink>(call, monitor_.get(), &executor_, sink);
  monitor_->keep(watched);
  call->submitting.store(true);
  const ThreadClock before = ThreadClock::now();
  try {
    inner_->async_submit(batch, *watched);
  } catch (const std::exception& e) {
    call->submitting.store(false);
    monitor_->record(
        "async_submit threw", call->op,
        "async_submit of " + call->op + " threw " + demangle(typeid(e).name()) + ": " + e.what());
    throw;
  } catch (...) {
    call->submitting.store(false);
    monitor_->record("async_submit threw", call->op,
                     "async_submit of " + call->op + " threw a non-standard exception");
    throw;
  }
  call->submitting.store(false);
  const ThreadClock after = ThreadClock::now();
  const int64_t wall = after.wall_us - before.wall_us;
  const int64_t bound = monitor_->submit_bound_us();
  if (wall > bound &&
      (after.voluntary > before.voluntary || after.cpu_us - before.cpu_us > bound)) {
    monitor_->record("rule 3 (never blocks)", call->op,
                     "rule 3 (never blocks): async_submit of " + call->op + " took " +
                         format_ms(wall) + ", bound " + format_ms(bound) + " (call " +
                         std::to_string(call->index) + ")");
  }
}

std::string demangle(const char* mangled) {
  int status = 0;
  char* d = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string out = status == 0 && d != nullptr ? d : mangled;
  std::free(d);
  return out;
}

std::string describe_batch(BatchView batch) {
  std::string out;
  std::vector<connectors::RequestKind> seen;
  for (const Request& r : batch) {
    bool dup = false;
    for (auto k : seen) dup = dup || k == r.kind;
    if (dup) continue;
    seen.push_back(r.kind);
    if (!out.empty()) out += "+";
    out += connectors::request_kind_name(r.kind);
  }
  return out.empty() ? "empty batch" : out;
}

CheckContext*& current_check_context() {
  thread_local CheckContext* ctx = nullptr;
  return ctx;
}

}  // namespace chakong::conformance
