// The kit must catch broken adapters: each broken behaviour below is seen to fail the check
// that guards against it, with the rule named, and never to crash the kit.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "chakong/conformance/conformance.h"
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/factory.h"
#include "crash_detail.h"

namespace chakong::connectors {
namespace {

enum class Breakage {
  kCompletesInline,
  kCompletesTwice,
  kDropsAQueryResult,
  kReportsRequestedAsFrozen,
  kSwallowsDataLoss,
  kSendsUndeclaredOperations,
  kAcceptsAnyConfig,
  kLosesCallsOnShutdown,
  // Contract monitors (conformance.h): each breaks one rule on calls the old kit did not watch.
  kFewerResponses,               // A batch completes with one response fewer.
  kInlineUnimplemented,          // An undeclared operation is refused inside async_submit().
  kInlineRetry,                  // A retried key is answered from a cache inside async_submit().
  kBlocks300Ms,                  // async_submit() sleeps 300 ms.
  kCompletesLateAfterShutdown,   // Calls in flight at shutdown complete two days later.
  kCompletesAgainAfterShutdown,  // Every call completes once, and again after shutdown.
  kRunAtFromSubmit,              // async_submit() arms a timer (run_at) on the caller's thread.
  // New checks.
  kIgnoresMaxBatch,          // Sends a batch in one wire call whatever its max_batch.
  kRepeatedKeyNewMeasure,    // A key repeated in a batch makes a second measure.
  kRetryInFlightNewMeasure,  // A retry while the first call is in flight makes a second one.
  kStatusAlwaysWaiting,      // MEASURE_STATUS reports a converted waiter still waiting.
  // Isolation.
  kThrows,     // async_submit() throws.
  kHangs,      // async_submit() blocks until the test releases it.
  kSegfaults,  // async_submit() writes through a null pointer (SIGSEGV).
  kExits,      // async_submit() ends the process with status 7 (as a sanitizer's report does).
};

std::atomic<bool> g_release_hang{false};

// Answers the caller with `r`, one slot per element (fewer or more than the batch when a
// breakage says so), and completes.
void deliver(BatchSink& out, std::vector<Response> r) {
  for (size_t i = 0; i < r.size(); ++i) out.response(i) = std::move(r[i]);
  out.complete();
}

// One call of a BrokenConnector: a copy of the requests the inner connector sees (some
// breakages change them) and the slots it answers into; what reaches the caller's sink is up to
// the breakage. Kept reachable for the life of the test binary: the inner connector may
// complete it after the BrokenConnector is gone.
struct Pending final : BatchSink {
  Pending(BatchView batch, BatchSink& sink)
      : requests(batch.begin(), batch.end()),
        pointers(connectors::pointers_to(requests)),
        slots(requests.size()),
        written(requests.size()),
        out(&sink),
        n(requests.size()) {}
  Response& response(size_t i) override {
    if (i >= slots.size()) return overflow;
    written[i] = 1;
    return slots[i];
  }
  void complete() override {
    std::vector<Response> r;
    for (size_t i = 0; i < slots.size(); ++i) {
      if (written[i]) r.push_back(std::move(slots[i]));
    }
    on_complete(std::move(r));
  }
  void done(std::vector<Response> r) { deliver(*out, std::move(r)); }

  std::vector<Request> requests;
  std::vector<const Request*> pointers;
  std::vector<Response> slots;
  std::vector<uint8_t> written;
  Response overflow;
  BatchSink* out;
  size_t n;
  std::atomic<bool> fired{false};
  std::function<void(std::vector<Response>)> on_complete;
};

std::shared_ptr<Pending> new_pending(BatchView batch, BatchSink& sink) {
  static std::mutex mu;
  static auto* all = new std::vector<std::shared_ptr<Pending>>();
  auto p = std::make_shared<Pending>(batch, sink);
  std::lock_guard<std::mutex> lock(mu);
  all->push_back(p);
  return p;
}

// Wraps a good connector and breaks it in one way.
class BrokenConnector final : public Connector {
 public:
  BrokenConnector(std::unique_ptr<Connector> inner, Breakage b, Executor& ex)
      : inner_(std::move(inner)), b_(b), ex_(ex) {}
  ~BrokenConnector() override {
    // Never shuts the inner connector down: its calls in flight are lost. (Kept reachable so
    // that leak checkers stay quiet.)
    static auto* graveyard = new std::vector<std::unique_ptr<Connector>>();
    if (b_ == Breakage::kLosesCallsOnShutdown || b_ == Breakage::kCompletesLateAfterShutdown) {
      graveyard->push_back(std::move(inner_));
    }
    std::lock_guard<std::mutex> lock(cache_->mu);
    if (b_ == Breakage::kCompletesLateAfterShutdown) {
      std::vector<std::shared_ptr<Pending>> open;
      for (const auto& p : pending_) {
        if (!p->fired) open.push_back(p);
        p->fired = true;  // The lost inner connector's own late completions are dropped.
      }
      ex_.run_after(2 * kMicrosPerDay, [open] {
        for (const auto& p : open) {
          p->done(std::vector<Response>(p->n, Response::error(cancelled_error("late"))));
        }
      });
    }
    if (b_ == Breakage::kCompletesAgainAfterShutdown) {
      std::vector<std::shared_ptr<Pending>> all = pending_;
      ex_.run_after(kMicrosPerHour, [all] {
        for (const auto& p : all) p->done(std::vector<Response>(p->n));
      });
    }
  }
  const std::string& name() const override { return inner_->name(); }
  Capabilities capabilities() const override {
    if (b_ == Breakage::kSendsUndeclaredOperations || b_ == Breakage::kInlineUnimplemented) {
      return {RequestKind::kQuery, RequestKind::kFreeze, RequestKind::kWaitlistFreeze,
              RequestKind::kRenew, RequestKind::kRelease};
    }
    return inner_->capabilities();
  }
  void async_submit(BatchView view, BatchSink& sink) override {
    std::shared_ptr<Pending> pending = new_pending(view, sink);
    std::vector<Request>& batch = pending->requests;
    switch (b_) {
      case Breakage::kCompletesInline: deliver(sink, std::vector<Response>(batch.size())); return;
      case Breakage::kInlineUnimplemented:
        if (batch.size() == 1 && batch[0].kind == RequestKind::kDeduct) {
          deliver(sink, {Response::error(unimplemented_error("no deduct"))});
          return;
        }
        break;
      case Breakage::kInlineRetry:
        if (batch.size() == 1) {
          std::lock_guard<std::mutex> lock(cache_->mu);
          auto it = cache_->answered.find(batch[0].idempotency_key);
          if (it != cache_->answered.end()) {
            deliver(sink, {it->second});
            return;
          }
        }
        break;
      case Breakage::kBlocks300Ms:
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        break;
      case Breakage::kThrows: throw std::runtime_error("adapter bug");
      case Breakage::kSegfaults: {
        static int* volatile null = nullptr;  // Volatile: the compiler cannot see it is null.
        *null = 1;
        break;
      }
      case Breakage::kExits: std::_Exit(7);
      case Breakage::kHangs:
        while (!g_release_hang) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        break;
      case Breakage::kRepeatedKeyNewMeasure: {
        std::set<std::string> seen;
        for (Request& r : batch) {
          if (!seen.insert(r.idempotency_key).second) r.idempotency_key += "-again";
        }
        break;
      }
      case Breakage::kRetryInFlightNewMeasure: {
        std::lock_guard<std::mutex> lock(cache_->mu);
        for (Request& r : batch) {
          if (!in_flight_.insert(r.idempotency_key).second) r.idempotency_key += "-again";
        }
        break;
      }
      case Breakage::kRunAtFromSubmit: {
        // Defers the call with a timer armed on the caller's thread: fine on the executor's
        // thread, a data race from any other.
        Connector* inner = inner_.get();
        BatchSink* out = &sink;
        ex_.run_at(0, [inner, view, out] { inner->async_submit(view, *out); });
        return;
      }
      default: break;
    }
    if (b_ == Breakage::kCompletesLateAfterShutdown ||
        b_ == Breakage::kCompletesAgainAfterShutdown) {
      // async_submit() may be called from several threads at once (concurrent_submit_from_
      // threads): this fake breaks rule 5, not thread safety.
      std::lock_guard<std::mutex> lock(cache_->mu);
      pending_.push_back(pending);
    }
    std::vector<std::string> keys;
    std::vector<RequestKind> kinds;
    for (const Request& r : batch) {
      keys.push_back(r.idempotency_key);
      kinds.push_back(r.kind);
    }
    const Breakage b = b_;
    Executor* ex = &ex_;
    // Holds the cache, not `this`: the inner connector may complete after this one is gone.
    std::shared_ptr<Cache> cache = cache_;
    Pending* p = pending.get();
    pending->on_complete = [cache, b, ex, p, keys, kinds](std::vector<Response> r) {
      for (size_t i = 0; i < r.size() && i < kinds.size(); ++i) {
        Response& x = r[i];
        if (b == Breakage::kStatusAlwaysWaiting && kinds[i] == RequestKind::kMeasureStatus &&
            x.status.ok() && x.queue_position == 0) {
          x.queue_position = 1;  // What it answered while the measure waited.
          x.frozen = Fen();
          x.end_date = Date();
        }
        if (b == Breakage::kDropsAQueryResult && !x.assets.empty()) x.assets.pop_back();
        if (b == Breakage::kReportsRequestedAsFrozen && x.requested > Fen()) x.frozen = x.requested;
        if (b == Breakage::kSwallowsDataLoss && x.status.code() == StatusCode::kDataLoss) {
          x.status = Status();
        }
      }
      if (b == Breakage::kInlineRetry && r.size() == 1) {
        std::lock_guard<std::mutex> lock(cache->mu);
        cache->answered[keys[0]] = r[0];
      }
      if (b == Breakage::kFewerResponses && !r.empty()) r.pop_back();
      if (b == Breakage::kCompletesLateAfterShutdown && p->fired) return;
      p->fired = true;
      if (b == Breakage::kCompletesTwice) {
        ex->post([p, r] { p->done(r); });
      }
      p->done(std::move(r));
    };
    inner_->async_submit(BatchView(pending->pointers), *pending);
  }

 private:
  std::unique_ptr<Connector> inner_;
  Breakage b_;
  Executor& ex_;
  struct Cache {
    std::mutex mu;
    std::map<std::string, Response> answered;
  };
  std::shared_ptr<Cache> cache_ = std::make_shared<Cache>();
  std::set<std::string> in_flight_;
  std::vector<std::shared_ptr<Pending>> pending_;
};

class BrokenFactory final : public ConnectorFactory {
 public:
  BrokenFactory(const ConnectorFactory& inner, Breakage b) : inner_(inner), b_(b) {}
  std::string_view kind() const override { return inner_.kind(); }
  AssetCategory category() const override { return inner_.category(); }
  std::unique_ptr<google::protobuf::Message> default_config() const override {
    return inner_.default_config();
  }
  Status validate(const google::protobuf::Message& c) const override {
    return b_ == Breakage::kAcceptsAnyConfig ? ok_status() : inner_.validate(c);
  }
  StatusOr<std::unique_ptr<Connector>> create(const google::protobuf::Message& c,
                                              ConnectorContext ctx) const override {
    Executor* ex = ctx.executor;
    std::unique_ptr<google::protobuf::Message> config(c.New());
    config->CopyFrom(c);
    if (b_ == Breakage::kIgnoresMaxBatch) {
      // Whatever max_batch the kit configured, one wire call.
      const auto* fd = config->GetDescriptor()->FindFieldByName("max_batch");
      config->GetReflection()->SetUInt32(config.get(), fd, 100'000);
    }
    StatusOr<std::unique_ptr<Connector>> inner = inner_.create(*config, std::move(ctx));
    if (!inner.ok()) return inner.status();
    std::unique_ptr<Connector> out =
        std::make_unique<BrokenConnector>(std::move(inner).value(), b_, *ex);
    return out;
  }
  std::unique_ptr<Transport> sandbox_endpoint(GroundTruth& t, Executor& e,
                                              EndpointOptions o) const override {
    return inner_.sandbox_endpoint(t, e, o);
  }

 private:
  const ConnectorFactory& inner_;
  Breakage b_;
};

// The built-in bank adapter every broken one wraps: registered once for the whole binary
// (factories are stateless, and the hang test's abandoned check may still use its factory
// after the test has returned).
const ConnectorFactory& bank() {
  static const ConnectorRegistry* registry = [] {
    auto* r = new ConnectorRegistry();
    if (!register_builtin_connectors(*r).ok()) std::abort();
    return r;
  }();
  return *registry->find("bank");
}

// Seed 3, and only `checks` when given.
conformance::Options options(std::vector<std::string> checks = {}) {
  conformance::Options o;
  o.seed = 3;
  o.checks = std::move(checks);
  return o;
}

struct Case {
  Breakage breakage;
  const char* check;
  // What the detail must say: the rule, or what went wrong.
  const char* says;
  // Whether to run the whole kit too (the slow breakages run their check only).
  bool whole_run = true;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.check << ": " << c.says; }

class BrokenAdapterTest : public ::testing::TestWithParam<Case> {};

TEST_P(BrokenAdapterTest, KitReportsTheBrokenCheck) {
  BrokenFactory broken(bank(), GetParam().breakage);
  conformance::CheckResult r = conformance::run_check(broken, GetParam().check, options());
  EXPECT_EQ(r.result, conformance::Result::kFail) << r.detail;
  EXPECT_EQ(r.name, GetParam().check);
  EXPECT_NE(r.detail.find(GetParam().says), std::string::npos) << r.detail;
  if (!GetParam().whole_run) return;
  // And the whole run counts it, reporting every check as it finishes.
  std::vector<std::string> streamed;
  conformance::Report all = conformance::run(
      broken, options(), [&](const conformance::CheckResult& c) { streamed.push_back(c.name); });
  EXPECT_GE(all.failed, 1);
  EXPECT_EQ(streamed, conformance::check_names());
  for (const conformance::CheckResult& c : all.checks) {
    if (c.name == GetParam().check) {
      EXPECT_EQ(c.result, conformance::Result::kFail) << c.detail;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Breakages, BrokenAdapterTest,
    ::testing::Values(
        Case{Breakage::kCompletesInline, "completion_once_never_inline", "rule 2 (never inline)"},
        Case{Breakage::kCompletesTwice, "completion_once_never_inline",
             "rule 1 (exactly once): query completed twice"},
        Case{Breakage::kDropsAQueryResult, "query_finds_seeded_assets", "expected assets"},
        Case{Breakage::kReportsRequestedAsFrozen, "freeze_caps_at_available", "reported requested"},
        Case{Breakage::kSwallowsDataLoss, "malformed_reply_is_data_loss", "expected DATA_LOSS"},
        Case{Breakage::kSendsUndeclaredOperations, "unsupported_is_unimplemented",
             "deduct (not declared)"},
        Case{Breakage::kAcceptsAnyConfig, "invalid_config_rejected", "expected INVALID_ARGUMENT"},
        Case{Breakage::kLosesCallsOnShutdown, "shutdown_drains_calls",
             "rule 5 (drain at shutdown): query completed only 59.0 s after the connector was "
             "destroyed"},
        Case{Breakage::kFewerResponses, "shutdown_drains_calls",
             "rule 1 (one response per request): query batch of 1 completed with 0 responses"},
        Case{Breakage::kFewerResponses, "query_finds_seeded_assets",
             "rule 1 (one response per request)"},
        Case{Breakage::kInlineUnimplemented, "unsupported_is_unimplemented",
             "rule 2 (never inline): deduct completed inside async_submit"},
        Case{Breakage::kInlineRetry, "retry_same_key_one_measure",
             "rule 2 (never inline): freeze completed inside async_submit"},
        Case{Breakage::kBlocks300Ms, "query_finds_seeded_assets",
             "rule 3 (never blocks): async_submit of query took 3", false},
        Case{Breakage::kCompletesLateAfterShutdown, "shutdown_drains_calls",
             "rule 5 (drain at shutdown): query completed only 2.0 days after the connector was "
             "destroyed"},
        Case{Breakage::kCompletesAgainAfterShutdown, "query_finds_seeded_assets",
             "rule 5 (never after shutdown): query completed again after the connector was "
             "destroyed"},
        Case{Breakage::kRunAtFromSubmit, "concurrent_submit_from_threads",
             "Executor::run_at called from a thread other than the executor's"},
        Case{Breakage::kIgnoresMaxBatch, "batch_larger_than_max_batch",
             "sent in 1 wire calls; max_batch needs at least 3"},
        Case{Breakage::kRepeatedKeyNewMeasure, "repeated_key_in_one_batch",
             "taken for a new measure"},
        Case{Breakage::kRetryInFlightNewMeasure, "retry_while_in_flight",
             "taken for a new measure"},
        Case{Breakage::kStatusAlwaysWaiting, "waitlist_conversion_reported",
             "measure_status after conversion: still reported waiting (queue position 1)"},
        Case{Breakage::kThrows, "query_finds_seeded_assets",
             "async_submit of query threw std::runtime_error: adapter bug"}),
    [](const ::testing::TestParamInfo<Case>& p) {
      return std::string(p.param.check) + "_" + std::to_string(p.index);
    });

TEST(BrokenAdapterTest, TheSubmitBoundIsConfigurable) {
  BrokenFactory broken(bank(), Breakage::kBlocks300Ms);
  conformance::Options o = options();
  o.submit_bound_us = 2'000'000;
  conformance::CheckResult r = conformance::run_check(broken, "query_finds_seeded_assets", o);
  EXPECT_EQ(r.result, conformance::Result::kPass) << r.detail;
}

// A check that throws is one failed check: the others still run and report.
TEST(BrokenAdapterTest, ACheckThatThrowsDoesNotStopTheOthers) {
  BrokenFactory broken(bank(), Breakage::kThrows);
  std::vector<conformance::CheckResult> streamed;
  conformance::Report r = conformance::run(
      broken, options(), [&](const conformance::CheckResult& c) { streamed.push_back(c); });
  ASSERT_EQ(r.checks.size(), conformance::check_names().size());
  ASSERT_EQ(streamed.size(), r.checks.size());
  for (const conformance::CheckResult& c : streamed) {
    if (c.name == "invalid_config_rejected") {
      EXPECT_EQ(c.result, conformance::Result::kPass) << c.detail;  // Makes no call.
    } else if (c.result != conformance::Result::kSkip) {
      EXPECT_EQ(c.result, conformance::Result::kFail) << c.name;
      EXPECT_NE(c.detail.find("threw std::runtime_error: adapter bug"), std::string::npos)
          << c.name << ": " << c.detail;
    }
  }
  EXPECT_EQ(r.passed, 1);
  EXPECT_EQ(r.failed + r.passed + r.skipped, static_cast<int>(r.checks.size()));
}

// A check that does not finish is failed as timed out, and the next check runs.
TEST(BrokenAdapterTest, ACheckThatHangsTimesOutAndTheRunGoesOn) {
  // Static: the abandoned check's thread uses the factory until it is released.
  static BrokenFactory* broken = new BrokenFactory(bank(), Breakage::kHangs);
  g_release_hang = false;
  conformance::Options o = options({"query_finds_seeded_assets", "invalid_config_rejected"});
  o.check_timeout_ms = 300;
  const auto start = std::chrono::steady_clock::now();
  conformance::Report r = conformance::run(*broken, o);
  ASSERT_EQ(r.checks.size(), 2u);
  EXPECT_EQ(r.checks[0].result, conformance::Result::kFail);
  EXPECT_TRUE(r.checks[0].timed_out);
  EXPECT_NE(r.checks[0].detail.find("timed out: not finished after 300 ms"), std::string::npos)
      << r.checks[0].detail;
  EXPECT_EQ(r.checks[1].result, conformance::Result::kPass) << r.checks[1].detail;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(conformance::abandoned_checks(), 1);
  g_release_hang = true;  // The abandoned check then finishes on its own.
  for (int i = 0; i < 500 && conformance::abandoned_checks() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(conformance::abandoned_checks(), 0);
}

// With Options::fork_checks (as `chakong conformance` runs) an adapter that crashes the
// process fails the check it crashed in, naming the signal, and the next check runs.
TEST(BrokenAdapterTest, AnAdapterThatSegfaultsFailsItsCheckAndTheRunGoesOn) {
  BrokenFactory broken(bank(), Breakage::kSegfaults);
  conformance::Options o =
      options({"query_finds_seeded_assets", "invalid_config_rejected", "freeze_caps_at_available"});
  o.fork_checks = true;
  std::vector<std::string> streamed;
  conformance::Report r = conformance::run(
      broken, o, [&](const conformance::CheckResult& c) { streamed.push_back(c.name); });
  ASSERT_EQ(r.checks.size(), 3u);
  EXPECT_EQ(streamed, o.checks);
  const std::string crashed = ::chakong::conformance::testing_support::segfault_detail();
  EXPECT_EQ(r.checks[0].name, "query_finds_seeded_assets");
  EXPECT_EQ(r.checks[0].result, conformance::Result::kFail);
  EXPECT_EQ(r.checks[0].detail, crashed);
  EXPECT_EQ(r.checks[1].result, conformance::Result::kPass) << r.checks[1].detail;
  EXPECT_EQ(r.checks[2].result, conformance::Result::kFail);
  EXPECT_EQ(r.checks[2].detail, crashed);
  EXPECT_EQ(r.passed, 1);
  EXPECT_EQ(r.failed, 2);
}

// An adapter that ends the process without a signal (exit(), or a sanitizer's report of a
// crash) fails its check naming the exit status, and the next check runs.
TEST(BrokenAdapterTest, AnAdapterThatExitsFailsItsCheckWithTheStatus) {
  BrokenFactory broken(bank(), Breakage::kExits);
  conformance::Options o = options({"query_finds_seeded_assets", "invalid_config_rejected"});
  o.fork_checks = true;
  conformance::Report r = conformance::run(broken, o);
  ASSERT_EQ(r.checks.size(), 2u);
  EXPECT_EQ(r.checks[0].result, conformance::Result::kFail);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  const std::string sanitizer = " (a sanitizer reports a crash so: its report is on stderr)";
#else
  const std::string sanitizer;
#endif
  EXPECT_EQ(r.checks[0].detail,
            "the check's process exited with status 7 before reporting a result: the adapter "
            "crashed or exited" +
                sanitizer + "; the run goes on");
  EXPECT_EQ(r.checks[1].result, conformance::Result::kPass) << r.checks[1].detail;
}

// A forked check reports what the same check reports in-process.
TEST(BrokenAdapterTest, AForkedCheckReportsAsInProcess) {
  BrokenFactory broken(bank(), Breakage::kThrows);
  conformance::Options o = options();
  const conformance::CheckResult here =
      conformance::run_check(broken, "freeze_caps_at_available", o);
  o.fork_checks = true;
  const conformance::CheckResult forked =
      conformance::run_check(broken, "freeze_caps_at_available", o);
  EXPECT_EQ(forked.result, conformance::Result::kFail);
  EXPECT_EQ(forked.detail, here.detail);
  EXPECT_EQ(forked.name, "freeze_caps_at_available");
  EXPECT_FALSE(forked.timed_out);
}

TEST(BrokenAdapterTest, TheUnbrokenWrapperPassesEverything) {
  conformance::Report r = conformance::run(bank(), options());
  EXPECT_EQ(r.failed, 0);
  EXPECT_EQ(r.passed + r.skipped, static_cast<int>(conformance::check_names().size()));
}

}  // namespace
}  // namespace chakong::connectors
