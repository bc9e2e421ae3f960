#include "engine/src/dispatcher.h"

#include <gtest/gtest.h>

#include "chakong/base/virtual_executor.h"
#include "chakong/sim/in_process_connector.h"
#include "engine/src/retry_policy.h"

namespace chakong::engine {
namespace {

using connectors::Request;
using connectors::RequestKind;
using connectors::Response;
using sim::Fault;

// Records every batch (a copy of its requests, and the dispatcher's sink); the test decides when
// and how each is answered. Calls never answered are completed with kCancelled when the
// connector goes (rule 5).
class ScriptedConnector final : public connectors::Connector {
 public:
  struct Call {
    std::vector<Request> batch;
    connectors::BatchSink* sink;
    TimeUs at;
    bool answered = false;
    std::vector<const Request*> shown;  // The requests the dispatcher's view showed.
  };
  explicit ScriptedConnector(Executor& ex) : ex_(ex) {}
  ~ScriptedConnector() override {
    for (Call& c : calls) {
      if (c.answered) continue;
      for (size_t i = 0; i < c.batch.size(); ++i) {
        c.sink->response(i) = Response::error(cancelled_error("shut down"));
      }
      c.sink->complete();
    }
  }
  const std::string& name() const override { return name_; }
  connectors::Capabilities capabilities() const override { return connectors::Capabilities::all(); }
  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override {
    std::vector<const Request*> shown;
    for (const Request& r : batch) shown.push_back(&r);
    calls.push_back(
        {std::vector<Request>(batch.begin(), batch.end()), &sink, ex_.now(), false, shown});
  }
  // Answers call `i` with OK for each request.
  void answer(size_t i) {
    calls[i].answered = true;
    connectors::BatchSink* sink = calls[i].sink;
    const size_t n = calls[i].batch.size();
    ex_.post([sink, n] {
      for (size_t k = 0; k < n; ++k) sink->response(k) = Response();
      sink->complete();
    });
  }
  std::vector<Call> calls;

 private:
  Executor& ex_;
  std::string name_ = "bank.scripted";
};

void noop(Response) {}

Request req(std::string key) {
  Request r;
  r.kind = RequestKind::kQuery;
  r.idempotency_key = std::move(key);
  return r;
}

DispatcherConfig one_at_a_time() {
  DispatcherConfig c;
  c.max_in_flight = 1;
  c.max_batch = 1;
  return c;
}

TEST(DispatcherTest, UrgentOvertakesAFullBulkQueue) {
  VirtualExecutor ex(0);
  ScriptedConnector conn(ex);
  Dispatcher d(conn, ex, one_at_a_time());
  for (int i = 0; i < 100; ++i) d.submit(req("bulk" + std::to_string(i)), Lane::kBulk, 0, noop);
  d.submit(req("normal"), Lane::kNormal, 0, [](Response) {});
  d.submit(req("urgent"), Lane::kUrgent, 1'000'000, [](Response) {});
  ASSERT_EQ(conn.calls.size(), 1u);  // bulk0 went out before the others arrived.
  EXPECT_EQ(d.queued(Lane::kBulk), 99u);
  conn.answer(0);
  ex.run_until(ex.now());
  ASSERT_EQ(conn.calls.size(), 2u);
  EXPECT_EQ(conn.calls[1].batch[0].idempotency_key, "urgent");
  conn.answer(1);
  ex.run_until(ex.now());
  EXPECT_EQ(conn.calls[2].batch[0].idempotency_key, "normal");
  conn.answer(2);
  ex.run_until(ex.now());
  EXPECT_EQ(conn.calls[3].batch[0].idempotency_key, "bulk1");
}

TEST(DispatcherTest, EarliestDeadlineFirstWithinALaneThenSubmissionOrder) {
  VirtualExecutor ex(0);
  ScriptedConnector conn(ex);
  Dispatcher d(conn, ex, one_at_a_time());
  d.submit(req("blocker"), Lane::kNormal, 0, [](Response) {});
  d.submit(req("d300"), Lane::kNormal, 300, [](Response) {});
  d.submit(req("d100"), Lane::kNormal, 100, [](Response) {});
  d.submit(req("d200a"), Lane::kNormal, 200, [](Response) {});
  d.submit(req("d200b"), Lane::kNormal, 200, [](Response) {});
  std::vector<std::string> order;
  for (size_t i = 0; i < 5; ++i) {
    order.push_back(conn.calls[i].batch[0].idempotency_key);
    conn.answer(i);
    ex.run_until(ex.now());
  }
  EXPECT_EQ(order, (std::vector<std::string>{"blocker", "d100", "d200a", "d200b", "d300"}));
}

TEST(DispatcherTest, MicroBatchesWaitAtMostLinger) {
  VirtualExecutor ex(0);
  ScriptedConnector conn(ex);
  DispatcherConfig c;
  c.max_batch = 10;
  c.linger = kMicrosPerSecond;
  Dispatcher d(conn, ex, c);
  for (int i = 0; i < 23; ++i) d.submit(req("q" + std::to_string(i)), Lane::kNormal, 0, noop);
  ASSERT_EQ(conn.calls.size(), 2u);  // Two full batches at once.
  EXPECT_EQ(conn.calls[0].batch.size(), 10u);
  EXPECT_EQ(conn.calls[1].batch.size(), 10u);
  ex.run_until(kMicrosPerSecond - 1);
  EXPECT_EQ(conn.calls.size(), 2u);
  ex.run_until(kMicrosPerSecond);
  ASSERT_EQ(conn.calls.size(), 3u);  // The rest after the linger.
  EXPECT_EQ(conn.calls[2].batch.size(), 3u);
  EXPECT_EQ(conn.calls[2].at, kMicrosPerSecond);
  // URGENT never lingers.
  d.submit(req("u"), Lane::kUrgent, 0, noop);
  EXPECT_EQ(conn.calls.size(), 4u);
}

// Finished batches are kept in two lists by the room they kept: a batch of up to eight takes a
// small one and never a large one's room, so idle batches do not each keep max_batch slots; a
// large batch reuses a large one, or grows a small one when no large one is free.
TEST(DispatcherTest, ASmallBatchNeverTakesALargeBatchsRoom) {
  VirtualExecutor ex(0);
  ScriptedConnector conn(ex);
  DispatcherConfig c;
  c.max_batch = 20;
  c.max_in_flight = 4;
  c.linger = kMicrosPerSecond;  // A batch of NORMAL requests goes when full (URGENT at once).
  Dispatcher d(conn, ex, c);
  const auto room = [&d] {
    const Dispatcher::BatchRoom r = d.batch_room();
    return std::vector<size_t>{r.batches, r.response_slots};
  };
  const auto answer_all = [&] {
    for (size_t i = 0; i < conn.calls.size(); ++i) {
      if (!conn.calls[i].answered) conn.answer(i);
    }
    ex.run();
  };
  int n = 0;
  const auto submit = [&](int count, Lane lane) {
    for (int i = 0; i < count; ++i) d.submit(req("k" + std::to_string(n++)), lane, 0, noop);
  };
  submit(20, Lane::kNormal);  // One full batch of 20.
  ASSERT_EQ(conn.calls.size(), 1u);
  answer_all();
  EXPECT_EQ(room(), (std::vector<size_t>{1, 20}));
  submit(1, Lane::kUrgent);  // A lone urgent request: a new small batch, not the large one.
  ASSERT_EQ(conn.calls.size(), 2u);
  answer_all();
  EXPECT_EQ(room(), (std::vector<size_t>{2, 21}));
  submit(1, Lane::kUrgent);   // Reuses the small one.
  submit(20, Lane::kNormal);  // Reuses the large one.
  ASSERT_EQ(conn.calls.size(), 4u);
  EXPECT_EQ(conn.calls[2].batch.size(), 1u);
  EXPECT_EQ(conn.calls[3].batch.size(), 20u);
  answer_all();
  EXPECT_EQ(room(), (std::vector<size_t>{2, 21}));
  submit(20, Lane::kNormal);  // Two large batches at once: the second grows the small one.
  submit(20, Lane::kNormal);
  ASSERT_EQ(conn.calls.size(), 6u);
  answer_all();
  EXPECT_EQ(room(), (std::vector<size_t>{2, 40}));
  submit(1, Lane::kUrgent);  // No small one left: a new one (the large ones are kept).
  answer_all();
  EXPECT_EQ(room(), (std::vector<size_t>{3, 41}));
  EXPECT_EQ(d.open_jobs(), 0u);
}

TEST(DispatcherTest, TokenBucketPacesSends) {
  institution::Institution bank("bank.paced", connectors::Capabilities::all());
  VirtualExecutor ex(0);
  sim::InProcessConnector conn(bank, ex, sim::fixed_latency(0));
  DispatcherConfig c;
  c.rate_per_second = 10;
  c.burst = 1;
  Dispatcher d(conn, ex, c);
  std::vector<TimeUs> done_at;
  for (int i = 0; i < 20; ++i) {
    Request r = req("k" + std::to_string(i));
    r.case_number = "（2024）渝0110执1号";
    d.submit(r, Lane::kNormal, 0, [&](Response resp) {
      EXPECT_TRUE(resp.status.ok()) << resp.status.to_string();
      done_at.push_back(ex.now());
    });
  }
  ex.run();
  ASSERT_EQ(done_at.size(), 20u);
  EXPECT_EQ(done_at[0], 0);
  EXPECT_EQ(done_at[1], 100'000);
  EXPECT_EQ(done_at[19], 1'900'000);
}

// The bank acts at once but the first answer is lost in transit for 5 minutes: the attempt
// times out, the retry (same idempotency key) is answered from the bank's record, and the
// late first answer is ignored. Exactly one measure.
class TimeoutTest : public ::testing::Test {
 protected:
  TimeoutTest()
      : bank_("bank.slow", connectors::Capabilities::all()),
        ex_(Date::parse("2025-03-03")->start_us()),
        inner_(bank_, ex_, sim::fixed_latency(kMicrosPerSecond)) {
    connectors::Asset a;
    a.category = connectors::AssetCategory::kDeposit;
    a.reference = "6222000011112222";
    a.value = Fen(1'000'000);
    a.holder_id = "11010519491231002X";
    EXPECT_TRUE(bank_.add_asset(a).ok());
  }
  Request freeze() const {
    Request r;
    r.kind = RequestKind::kFreeze;
    r.idempotency_key = "（2025）渝0110执7号/freeze/1";
    r.case_number = "（2025）渝0110执7号";
    r.debtor_id = "11010519491231002X";
    r.ruling_number = "（2025）渝0110执7号之一";
    r.asset.reference = "6222000011112222";
    r.asset.category = connectors::AssetCategory::kDeposit;
    r.amount = Fen(400'000);
    return r;
  }
  DispatcherConfig config() const {
    DispatcherConfig c;
    c.timeout = kMicrosPerMinute;
    c.backoff_initial = kMicrosPerSecond;
    c.jitter = 0;
    return c;
  }
  institution::Institution bank_;
  VirtualExecutor ex_;
  sim::InProcessConnector inner_;
};

TEST_F(TimeoutTest, TimeoutThenRetryCreatesExactlyOneMeasure) {
  int call = 0;
  sim::FaultyConnector conn(inner_, ex_, [&](const std::vector<Request>&) {
    return ++call == 1 ? Fault{Fault::kDelay, 5 * kMicrosPerMinute, {}} : Fault{};
  });
  Dispatcher d(conn, ex_, config());
  int done = 0;
  Response got;
  d.submit(freeze(), Lane::kUrgent, 0, [&](Response r) {
    ++done;
    got = std::move(r);
  });
  ex_.run();
  EXPECT_EQ(done, 1);
  ASSERT_TRUE(got.status.ok()) << got.status.to_string();
  EXPECT_EQ(got.frozen, Fen(400'000));
  EXPECT_EQ(bank_.measures_on("6222000011112222").size(), 1u);
  EXPECT_EQ(bank_.idempotent_replays(), 1u);
  EXPECT_EQ(d.stats().timeouts, 1u);
  EXPECT_EQ(d.stats().retries, 1u);
  EXPECT_EQ(d.stats().late_ignored, 1u);
  EXPECT_EQ(d.stats().late_reconciled, 0u);
}

TEST_F(TimeoutTest, ALateAnswerIsReconciledWhileTheRetryIsStillOut) {
  int call = 0;
  sim::FaultyConnector conn(inner_, ex_, [&](const std::vector<Request>&) {
    return ++call == 1 ? Fault{Fault::kDelay, 90 * kMicrosPerSecond, {}}
                       : Fault{Fault::kDelay, 10 * kMicrosPerMinute, {}};
  });
  Dispatcher d(conn, ex_, config());
  int done = 0;
  TimeUs done_at = 0;
  d.submit(freeze(), Lane::kUrgent, 0, [&](Response r) {
    ++done;
    done_at = ex_.now();
    EXPECT_TRUE(r.status.ok());
  });
  ex_.run();
  EXPECT_EQ(done, 1);
  // Bank answered at 1 s; delivered 90 s later.
  EXPECT_EQ(done_at - Date::parse("2025-03-03")->start_us(), 91 * kMicrosPerSecond);
  EXPECT_EQ(bank_.measures_on("6222000011112222").size(), 1u);
  EXPECT_EQ(d.stats().late_reconciled, 1u);
  EXPECT_EQ(d.stats().late_ignored, 1u);  // The retry's answer, 10 minutes on.
}

TEST_F(TimeoutTest, DuplicateCompletionIsIgnored) {
  sim::FaultyConnector conn(inner_, ex_, [](const std::vector<Request>&) {
    return Fault{Fault::kDuplicate, 0, {}};
  });
  Dispatcher d(conn, ex_, config());
  int done = 0;
  d.submit(freeze(), Lane::kUrgent, 0, [&](Response) { ++done; });
  ex_.run();
  EXPECT_EQ(done, 1);
  EXPECT_EQ(d.stats().late_ignored, 1u);
}

TEST_F(TimeoutTest, GivesUpAfterMaxAttemptsWithDeadlineExceeded) {
  sim::FaultyConnector conn(inner_, ex_, [](const std::vector<Request>&) {
    return Fault{Fault::kDelay, kMicrosPerHour, {}};
  });
  DispatcherConfig c = config();
  c.max_attempts = 3;
  Dispatcher d(conn, ex_, c);
  Response got;
  d.submit(freeze(), Lane::kUrgent, 0, [&](Response r) { got = std::move(r); });
  ex_.run_until(ex_.now() + 10 * kMicrosPerMinute);
  EXPECT_EQ(got.status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(got.status.message(), "bank.slow did not answer within 60000 ms");
  EXPECT_EQ(d.stats().timeouts, 3u);
  EXPECT_EQ(d.stats().retries, 2u);
  EXPECT_EQ(d.stats().errors, 1u);
  ex_.run();  // The three late answers arrive after the request ended.
  EXPECT_EQ(d.stats().late_reconciled, 0u);
  EXPECT_EQ(bank_.measures_on("6222000011112222").size(), 1u);
}

// The one retry / in-doubt series (retry_policy.h), all in the dispatcher: a round of
// attempts with backoff, then a new round after each in-doubt wait, then one completion with
// the last in-doubt outcome. The bank is down throughout; every attempt is at a known time.
DispatcherConfig series_config() {
  DispatcherConfig c;
  c.timeout = kMicrosPerMinute;
  c.max_attempts = 2;
  c.backoff_initial = kMicrosPerSecond;
  c.jitter = 0;
  c.in_doubt_wait = kMicrosPerHour;
  c.in_doubt_resends = 2;
  return c;
}

TEST_F(TimeoutTest, AnInDoubtSeriesIsAttemptsThenWaitsThenOneExhaustedCompletion) {
  std::vector<TimeUs> attempts;
  const TimeUs t0 = ex_.now();
  sim::FaultyConnector conn(inner_, ex_, [&](const std::vector<Request>& b) {
    attempts.push_back(ex_.now() - t0);
    EXPECT_EQ(b.front().idempotency_key, "（2025）渝0110执7号/freeze/1");  // The same key.
    return Fault{Fault::kFail, 0, unavailable_error("bank down")};
  });
  Dispatcher d(conn, ex_, series_config());
  std::vector<std::pair<TimeUs, Status>> done;
  d.submit(freeze(), Lane::kUrgent, 0,
           [&](Response r) { done.emplace_back(ex_.now() - t0, r.status); });
  ex_.run();
  constexpr TimeUs s = kMicrosPerSecond, h = kMicrosPerHour;
  // Round 1 at 0 and 1 s (backoff); round 2 an hour after its last attempt; round 3 likewise.
  EXPECT_EQ(attempts, (std::vector<TimeUs>{0, s, s + h, 2 * s + h, 2 * s + 2 * h, 3 * s + 2 * h}));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].first, 3 * s + 2 * h);
  EXPECT_EQ(done[0].second, unavailable_error("bank down"));
  EXPECT_EQ(d.stats().retries, 3u);  // One within each round.
  EXPECT_EQ(d.stats().resent[static_cast<int>(RequestKind::kFreeze)], 2u);
  EXPECT_EQ(d.stats().errors, 1u);
  EXPECT_EQ(d.stats().completed, 1u);
  EXPECT_EQ(d.open_jobs(), 0u);
}

TEST_F(TimeoutTest, ADefiniteAnswerMidSeriesEndsIt) {
  std::vector<TimeUs> attempts;
  const TimeUs t0 = ex_.now();
  sim::FaultyConnector conn(inner_, ex_, [&](const std::vector<Request>&) {
    attempts.push_back(ex_.now() - t0);
    // Down for the first round and the first attempt of the second; then the bank answers.
    return attempts.size() <= 3 ? Fault{Fault::kFail, 0, unavailable_error("bank down")} : Fault{};
  });
  Dispatcher d(conn, ex_, series_config());
  std::vector<std::pair<TimeUs, Response>> done;
  d.submit(freeze(), Lane::kUrgent, 0,
           [&](Response r) { done.emplace_back(ex_.now() - t0, std::move(r)); });
  ex_.run();
  constexpr TimeUs s = kMicrosPerSecond, h = kMicrosPerHour;
  EXPECT_EQ(attempts, (std::vector<TimeUs>{0, s, s + h, 2 * s + h}));
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].first, 3 * s + h);  // The bank's one second of latency.
  EXPECT_TRUE(done[0].second.status.ok()) << done[0].second.status;
  EXPECT_EQ(done[0].second.frozen, Fen(400'000));
  EXPECT_EQ(d.stats().resent[static_cast<int>(RequestKind::kFreeze)], 1u);
  EXPECT_EQ(d.stats().errors, 0u);
  EXPECT_EQ(bank_.measures_on("6222000011112222").size(), 1u);
}

// A late answer to a timed-out attempt, arriving during the in-doubt wait, ends the series
// there: no further round is sent.
TEST_F(TimeoutTest, ALateAnswerDuringTheInDoubtWaitEndsTheSeries) {
  std::vector<TimeUs> attempts;
  const TimeUs t0 = ex_.now();
  sim::FaultyConnector conn(inner_, ex_, [&](const std::vector<Request>&) {
    attempts.push_back(ex_.now() - t0);
    // The second attempt's answer takes 20 minutes: after its timeout, within the wait.
    return attempts.size() == 2 ? Fault{Fault::kDelay, 20 * kMicrosPerMinute, {}}
                                : Fault{Fault::kFail, 0, unavailable_error("bank down")};
  });
  Dispatcher d(conn, ex_, series_config());
  std::vector<TimeUs> done;
  d.submit(freeze(), Lane::kUrgent, 0, [&](Response r) {
    EXPECT_TRUE(r.status.ok()) << r.status;
    done.push_back(ex_.now() - t0);
  });
  ex_.run();
  constexpr TimeUs s = kMicrosPerSecond;
  EXPECT_EQ(attempts, (std::vector<TimeUs>{0, s}));
  EXPECT_EQ(done, (std::vector<TimeUs>{s + s + 20 * kMicrosPerMinute}));
  EXPECT_EQ(d.stats().late_reconciled, 1u);
  EXPECT_EQ(d.stats().resent[static_cast<int>(RequestKind::kFreeze)], 0u);
}

// A status poll has no in-doubt waits (its next poll asks again): it ends after its attempts.
TEST_F(TimeoutTest, AStatusPollEndsAfterItsAttempts) {
  std::vector<TimeUs> attempts;
  const TimeUs t0 = ex_.now();
  sim::FaultyConnector conn(inner_, ex_, [&](const std::vector<Request>&) {
    attempts.push_back(ex_.now() - t0);
    return Fault{Fault::kFail, 0, unavailable_error("bank down")};
  });
  Dispatcher d(conn, ex_, series_config());
  Request r = freeze();
  r.kind = RequestKind::kMeasureStatus;
  std::vector<TimeUs> done;
  d.submit(std::move(r), Lane::kNormal, 0, [&](Response resp) {
    EXPECT_EQ(resp.status.code(), StatusCode::kUnavailable);
    done.push_back(ex_.now() - t0);
  });
  ex_.run();
  EXPECT_EQ(attempts, (std::vector<TimeUs>{0, kMicrosPerSecond}));
  EXPECT_EQ(done, (std::vector<TimeUs>{kMicrosPerSecond}));
}

TEST(DispatcherTest, CircuitBreakerOpensThenProbes) {
  VirtualExecutor ex(0);
  ScriptedConnector inner(ex);
  sim::FaultyConnector conn(inner, ex, [](const std::vector<Request>&) {
    return Fault{Fault::kFail, 0, unavailable_error("bank down")};
  });
  DispatcherConfig c = one_at_a_time();
  c.max_attempts = 1;
  c.breaker_failures = 3;
  c.breaker_cooldown = kMicrosPerMinute;
  Dispatcher d(conn, ex, c);
  std::vector<TimeUs> failed_at;
  for (int i = 0; i < 5; ++i) {
    d.submit(req("k" + std::to_string(i)), Lane::kNormal, 0, [&](Response r) {
      EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
      failed_at.push_back(ex.now());
    });
  }
  ex.run();
  EXPECT_EQ(failed_at, (std::vector<TimeUs>{0, 0, 0, kMicrosPerMinute, 2 * kMicrosPerMinute}));
  EXPECT_EQ(d.stats().breaker_opened, 3u);
  EXPECT_EQ(d.stats().errors, 5u);
}

TEST(DispatcherTest, RetriesUseDeterministicJitteredBackoff) {
  auto run = [] {
    VirtualExecutor ex(0);
    ScriptedConnector inner(ex);
    sim::FaultyConnector conn(inner, ex, [](const std::vector<Request>&) {
      return Fault{Fault::kFail, 0, resource_exhausted_error("throttled")};
    });
    DispatcherConfig c = one_at_a_time();
    c.max_attempts = 4;
    Dispatcher d(conn, ex, c);
    TimeUs end = 0;
    d.submit(req("same-key"), Lane::kNormal, 0, [&](Response) { end = ex.now(); });
    ex.run();
    return end;
  };
  const TimeUs a = run();
  EXPECT_EQ(a, run());
  // 1 s + 2 s + 4 s of backoff, each within +-20 %.
  EXPECT_GE(a, 5'600'000);
  EXPECT_LE(a, 8'400'000);
}

// The batch contract: a request's slot is not reused while a batch that shows it is still in
// the connector's hands (here a timed-out attempt), and retries re-send the slot itself.
TEST(DispatcherTest, ATimedOutAttemptKeepsShowingItsRequestUntilItCompletes) {
  VirtualExecutor ex(0);
  ScriptedConnector conn(ex);
  DispatcherConfig c = one_at_a_time();
  c.timeout = kMicrosPerSecond;
  c.backoff_initial = 0;
  c.backoff_max = 0;
  Dispatcher d(conn, ex, c);
  int done = 0;
  d.submit(req("a"), Lane::kUrgent, 0, [&](Response) { ++done; });
  ex.run_until(kMicrosPerSecond + kMicrosPerSecond / 2);  // Timed out at 1 s, retried.
  ASSERT_EQ(conn.calls.size(), 2u);
  EXPECT_EQ(conn.calls[0].shown[0], conn.calls[1].shown[0]);  // The same slot, not a copy.
  conn.answer(1);
  ex.run_until(ex.now());
  EXPECT_EQ(done, 1);
  EXPECT_EQ(d.open_jobs(), 0u);
  d.submit(req("b"), Lane::kUrgent, 0, [&](Response) { ++done; });
  ASSERT_EQ(conn.calls.size(), 3u);
  EXPECT_EQ(conn.calls[0].shown[0]->idempotency_key, "a");  // Still what call 0 was given.
  EXPECT_NE(conn.calls[2].shown[0], conn.calls[0].shown[0]);
  conn.answer(0);  // The late answer: ignored, and the slot of "a" becomes free.
  conn.answer(2);
  ex.run_until(ex.now());
  EXPECT_EQ(done, 2);
  EXPECT_EQ(d.stats().late_ignored, 1u);
  d.submit(req("c"), Lane::kUrgent, 0, [&](Response) { ++done; });
  ASSERT_EQ(conn.calls.size(), 4u);
  // Both slots are free now; "c" takes the one freed last, "b"'s.
  EXPECT_EQ(conn.calls[3].shown[0], conn.calls[2].shown[0]);
  EXPECT_EQ(conn.calls[3].shown[0]->idempotency_key, "c");
}

// submit_in_place() writes the request into the job slot itself: a slot used before has every
// field reset (nothing of the earlier freeze shows), its strings keep their buffers (the case
// number is written where the earlier one was), and the dispatcher's view shows the slot.
TEST(DispatcherTest, ARequestBuiltInPlaceTakesAResetSlotThatKeepsItsBuffers) {
  VirtualExecutor ex(0);
  ScriptedConnector conn(ex);
  Dispatcher d(conn, ex, one_at_a_time());
  Request freeze;
  freeze.kind = RequestKind::kFreeze;
  freeze.idempotency_key = "（2025）渝0110执7号/freeze/1";
  freeze.case_number = "（2025）渝0110执7号";
  freeze.debtor_id = "11010519491231002X";
  freeze.ruling_number = "（2025）渝0110执7号之一";
  freeze.asset.reference = "6222000011112222";
  freeze.asset.value = Fen(1'000'000);
  freeze.amount = Fen(400'000);
  freeze.measure_id = "m-1";
  freeze.term_end = *Date::parse("2026-01-01");
  int done = 0;
  d.submit(freeze, Lane::kUrgent, 0, [&](Response) { ++done; });  // Copied: buffers kept.
  ASSERT_EQ(conn.calls.size(), 1u);
  const Request* slot = conn.calls[0].shown[0];
  const char* case_buffer = slot->case_number.data();
  conn.answer(0);
  ex.run();
  ASSERT_EQ(done, 1);
  d.submit_in_place(
      Lane::kUrgent, 0, [&](Response) { ++done; },
      [](Request& r) {
        r.case_number.assign("（2025）渝0110执8号");
        r.idempotency_key.append(r.case_number).append("/query/1");
      });
  ASSERT_EQ(conn.calls.size(), 2u);
  EXPECT_EQ(conn.calls[1].shown[0], slot);
  EXPECT_EQ(slot->case_number.data(), case_buffer);
  const Request& sent = conn.calls[1].batch[0];
  EXPECT_EQ(sent.kind, RequestKind::kQuery);
  EXPECT_EQ(sent.idempotency_key, "（2025）渝0110执8号/query/1");
  EXPECT_EQ(sent.case_number, "（2025）渝0110执8号");
  EXPECT_EQ(sent.debtor_id, "");
  EXPECT_EQ(sent.ruling_number, "");
  EXPECT_EQ(sent.asset.reference, "");
  EXPECT_EQ(sent.asset.value, Fen());
  EXPECT_EQ(sent.amount, Fen());
  EXPECT_EQ(sent.measure_id, "");
  EXPECT_EQ(sent.term_end, Date());
  conn.answer(1);
  ex.run();
  EXPECT_EQ(done, 2);
  EXPECT_EQ(d.open_jobs(), 0u);
}

// A batch left in the connector's hands when its dispatcher goes: the connector still writes
// into live memory and completes; the completion is dropped (ASan checks the memory).
TEST(DispatcherTest, ABatchCompletedAfterItsDispatcherIsGoneIsDropped) {
  VirtualExecutor ex(0);
  ScriptedConnector conn(ex);
  int done = 0;
  {
    Dispatcher d(conn, ex, one_at_a_time());
    d.submit(req("a"), Lane::kUrgent, 0, [&](Response) { ++done; });
    ASSERT_EQ(conn.calls.size(), 1u);
  }
  EXPECT_EQ(conn.calls[0].shown[0]->idempotency_key, "a");  // Still there.
  conn.answer(0);
  ex.run();
  EXPECT_EQ(done, 0);
}

// A connector that leaves a slot unwritten broke rule 1: the batch is DATA_LOSS (in doubt).
TEST(DispatcherTest, ABatchWithAnUnwrittenSlotIsDataLoss) {
  VirtualExecutor ex(0);
  ScriptedConnector conn(ex);
  DispatcherConfig c = one_at_a_time();
  c.max_attempts = 1;
  Dispatcher d(conn, ex, c);
  Response got;
  d.submit(req("a"), Lane::kUrgent, 0, [&](Response r) { got = std::move(r); });
  ASSERT_EQ(conn.calls.size(), 1u);
  conn.calls[0].answered = true;
  ex.post([sink = conn.calls[0].sink] { sink->complete(); });  // Nothing written.
  ex.run();
  EXPECT_EQ(got.status, data_loss_error("bank.scripted answered 0 responses to a batch of 1"));
}

TEST(DispatcherConfigTest, ValidationNamesTheField) {
  DispatcherConfig c;
  c.max_batch = 0;
  EXPECT_EQ(validate(c), invalid_argument_error("dispatcher.max_batch = 0: must be >= 1"));
  c = DispatcherConfig();
  c.jitter = 1.5;
  EXPECT_EQ(validate(c).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(validate(DispatcherConfig()).ok());
}

}  // namespace
}  // namespace chakong::engine

// The one retry / in-doubt policy's bounds (retry_policy.h): tier 1 (the dispatcher's
// attempts, backoff) and tier 2 (the shard's re-sends), each finite.
TEST(RetryPolicyTest, BothTiersAreBoundedAndBackoffIsExponentialAndCapped) {
  using chakong::engine::retry::Step;
  namespace retry = chakong::engine::retry;
  chakong::engine::DispatcherConfig c;
  c.max_attempts = 5;
  c.backoff_initial = chakong::kMicrosPerSecond;
  c.backoff_max = 5 * chakong::kMicrosPerSecond;
  c.backoff_multiplier = 2.0;
  c.jitter = 0;
  EXPECT_EQ(retry::attempt_step(c, chakong::StatusCode::kUnavailable, 4), Step::kRetry);
  EXPECT_EQ(retry::attempt_step(c, chakong::StatusCode::kUnavailable, 5), Step::kExhausted);
  EXPECT_EQ(retry::attempt_step(c, chakong::StatusCode::kCancelled, 1), Step::kDefinite);
  EXPECT_EQ(retry::attempt_step(c, chakong::StatusCode::kInvalidArgument, 1), Step::kDefinite);
  EXPECT_EQ(retry::backoff(c, "k", 1), 1 * chakong::kMicrosPerSecond);
  EXPECT_EQ(retry::backoff(c, "k", 3), 4 * chakong::kMicrosPerSecond);
  EXPECT_EQ(retry::backoff(c, "k", 4), 5 * chakong::kMicrosPerSecond);  // Capped.
  EXPECT_EQ(retry::resend_step(chakong::StatusCode::kDeadlineExceeded, 47, 48), Step::kRetry);
  EXPECT_EQ(retry::resend_step(chakong::StatusCode::kDeadlineExceeded, 48, 48), Step::kExhausted);
  EXPECT_EQ(retry::resend_step(chakong::StatusCode::kOk, 0, 48), Step::kDefinite);
  EXPECT_EQ(retry::resend_step(chakong::StatusCode::kNotFound, 0, 48), Step::kDefinite);
  // The series as the dispatcher asks it.
  c.in_doubt_resends = 2;
  using chakong::connectors::RequestKind;
  const auto kUnavailable = chakong::StatusCode::kUnavailable;
  EXPECT_EQ(retry::next_step(c, RequestKind::kFreeze, kUnavailable, 4, 0), Step::kRetry);
  EXPECT_EQ(retry::next_step(c, RequestKind::kFreeze, kUnavailable, 5, 0), Step::kWait);
  EXPECT_EQ(retry::next_step(c, RequestKind::kFreeze, kUnavailable, 5, 2), Step::kExhausted);
  EXPECT_EQ(retry::next_step(c, RequestKind::kMeasureStatus, kUnavailable, 5, 0), Step::kExhausted);
  // A cut call is not retried at once, but waits.
  EXPECT_EQ(retry::next_step(c, RequestKind::kQuery, chakong::StatusCode::kCancelled, 1, 0),
            Step::kWait);
  EXPECT_EQ(retry::next_step(c, RequestKind::kQuery, chakong::StatusCode::kNotFound, 1, 0),
            Step::kDefinite);
}
