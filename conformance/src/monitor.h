// The kit's contract monitors: every call a check makes goes through a MonitoredConnector,
// which watches the rules of connector.h on that call (exactly one completion, never inside
// async_submit(), async_submit() returning within a bound, one response per request, nothing
// after shutdown) and records each broken rule in the sandbox's Monitor. The check runner
// fails a check in which any rule was broken, naming the operation and the rule.
//
// SandboxExecutor is the executor a connector under test is given: virtual time, with post()
// safe from any thread (the Executor contract), so that the kit can call async_submit() from
// several threads; run_at() and cancel() from another thread are reported as violations.
// Private to the kit.
#ifndef CHAKONG_CONFORMANCE_MONITOR_H_
#define CHAKONG_CONFORMANCE_MONITOR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chakong/base/virtual_executor.h"
#include "chakong/connectors/connector.h"

namespace chakong::conformance {

// One broken rule. `rule` and `op` identify it (repeats on other calls are counted, not
// listed); `text` is the first occurrence's detail.
struct Violation {
  std::string rule;  // "rule 2 (never inline)"
  std::string op;    // "freeze", "query+freeze"
  std::string text;  // "rule 2 (never inline): freeze completed inside async_submit"
  int count = 1;
};

// What one call did; shared by the monitor and the completion it wraps.
struct CallRecord {
  std::string op;
  size_t requests = 0;
  int index = 0;  // 1-based, in the order the check submitted.
  std::thread::id submit_thread;
  std::atomic<bool> submitting{false};
  std::atomic<int> completions{0};
};

class Monitor {
 public:
  explicit Monitor(int64_t submit_bound_us) : submit_bound_us_(submit_bound_us) {}

  void record(std::string rule, std::string op, std::string text);
  std::vector<Violation> violations() const;
  int64_t submit_bound_us() const { return submit_bound_us_; }

  std::shared_ptr<CallRecord> add_call(std::string op, size_t requests);
  std::vector<std::shared_ptr<CallRecord>> calls() const;
  // Keeps `object` (a call's watching sink) as long as the monitor: a connector may complete a
  // call after the MonitoredConnector is gone.
  void keep(std::shared_ptr<void> object);

  // Called when the connector is destroyed, with the virtual time.
  void connector_destroyed(TimeUs at) {
    destroyed_at_.store(at);
    destroyed_.store(true);
  }
  bool destroyed() const { return destroyed_.load(); }
  TimeUs destroyed_at() const { return destroyed_at_.load(); }

 private:
  const int64_t submit_bound_us_;
  mutable std::mutex mu_;
  std::vector<Violation> violations_;
  std::vector<std::shared_ptr<CallRecord>> calls_;
  std::vector<std::shared_ptr<void>> kept_;
  std::atomic<bool> destroyed_{false};
  std::atomic<TimeUs> destroyed_at_{0};
};

// Virtual time for the connector under test; post() from any thread.
class SandboxExecutor final : public Executor {
 public:
  explicit SandboxExecutor(TimeUs start) : inner_(start) {}
  void set_monitor(std::shared_ptr<Monitor> m) { monitor_ = std::move(m); }

  TimeUs now() const override { return inner_.now(); }
  void post(Task task) override;
  TimerHandle run_at(TimeUs t, Task task) override;
  bool cancel(TimerHandle handle) override;
  bool is_virtual() const override { return true; }

  // Runs what other threads posted, then every event due at or before `limit`.
  void run_until(TimeUs limit);
  bool on_owner_thread() const { return std::this_thread::get_id() == owner_; }

 private:
  void foreign_use(const char* what);
  void take_inbox();

  VirtualExecutor inner_;
  const std::thread::id owner_ = std::this_thread::get_id();
  std::mutex mu_;  // Guards inbox_, and inner_ while another thread touches it.
  std::vector<Task> inbox_;
  std::shared_ptr<Monitor> monitor_;
};

// Forwards to the connector under test and watches every call.
class MonitoredConnector final : public connectors::Connector {
 public:
  MonitoredConnector(std::unique_ptr<connectors::Connector> inner, std::shared_ptr<Monitor> monitor,
                     SandboxExecutor& executor)
      : inner_(std::move(inner)), monitor_(std::move(monitor)), executor_(executor) {}
  ~MonitoredConnector() override;

  const std::string& name() const override { return inner_->name(); }
  connectors::Capabilities capabilities() const override { return inner_->capabilities(); }
  // Passes the caller's view on, and a sink of its own in front of the caller's that watches
  // every slot written and each completion.
  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override;

 private:
  std::unique_ptr<connectors::Connector> inner_;
  std::shared_ptr<Monitor> monitor_;
  SandboxExecutor& executor_;
};

// A readable type name: "std::out_of_range".
std::string demangle(const char* mangled);

// "query", "freeze", "query+freeze": the kinds of a batch, each once, in order.
std::string describe_batch(connectors::BatchView batch);

// The monitors of the sandboxes built on this thread while a check runs (the runner's).
struct CheckContext {
  int64_t submit_bound_us = 5000;
  std::vector<std::shared_ptr<Monitor>> monitors;
};
CheckContext*& current_check_context();

}  // namespace chakong::conformance

#endif  // CHAKONG_CONFORMANCE_MONITOR_H_
