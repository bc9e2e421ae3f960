#include "chakong/sim/behaviour.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "chakong/base/virtual_executor.h"

namespace chakong::sim {
namespace {

// Replies "re:<request>" after `latency`.
class EchoTransport final : public connectors::Transport {
 public:
  EchoTransport(Executor& ex, TimeUs latency) : ex_(ex), latency_(latency) {}
  void async_call(std::string request, connectors::TransportDone done) override {
    ++delivered;
    delivered_at.push_back(ex_.now());
    ex_.run_after(latency_, [request, done = std::move(done)] { done("re:" + request); });
  }
  int delivered = 0;
  std::vector<TimeUs> delivered_at;

 private:
  Executor& ex_;
  TimeUs latency_;
};

TimeUs at(const char* date, int hour, int minute = 0) {
  return Date::parse(date)->start_us() + hour * kMicrosPerHour + minute * kMicrosPerMinute;
}

struct World {
  explicit World(InstitutionBehaviour b, TimeUs latency = 0, TimeUs start = at("2025-03-03", 0))
      : ex(start) {
    auto e = std::make_unique<EchoTransport>(ex, latency);
    echo = e.get();
    t = std::make_unique<BehaviourTransport>(std::move(e), ex, std::move(b));
  }
  // Calls at time `when`; returns where the reply goes.
  std::shared_ptr<std::pair<TimeUs, StatusOr<std::string>>> call(TimeUs when, std::string r) {
    auto out =
        std::make_shared<std::pair<TimeUs, StatusOr<std::string>>>(0, internal_error("none"));
    ex.run_at(when, [this, out, r] {
      t->async_call(r, [this, out](StatusOr<std::string> reply) {
        out->first = ex.now();
        out->second = std::move(reply);
      });
    });
    return out;
  }
  VirtualExecutor ex;
  EchoTransport* echo;
  std::unique_ptr<BehaviourTransport> t;
};

TEST(BehaviourTest, BusinessHoursHoldCallsUntilOpening) {
  InstitutionBehaviour b;
  b.hours = BusinessHours::weekdays(9 * 60, 17 * 60);
  World w(b);
  auto sat = w.call(at("2025-03-08", 10), "a");   // Saturday.
  auto early = w.call(at("2025-03-10", 8), "b");  // Monday before opening.
  auto noon = w.call(at("2025-03-10", 12), "c");
  auto late = w.call(at("2025-03-10", 18), "d");  // After closing.
  w.ex.run();
  EXPECT_EQ(sat->first, at("2025-03-10", 9));
  EXPECT_EQ(early->first, at("2025-03-10", 9));
  EXPECT_EQ(noon->first, at("2025-03-10", 12));
  EXPECT_EQ(late->first, at("2025-03-11", 9));
  EXPECT_EQ(*noon->second, "re:c");
}

TEST(BehaviourTest, EndOfDayBatchTakesTheDaysCallsAtTheCutOff) {
  InstitutionBehaviour b;
  b.hours = BusinessHours::end_of_day(16 * 60);
  World w(b);
  auto morning = w.call(at("2025-03-10", 10), "a");
  auto after = w.call(at("2025-03-10", 16, 30), "b");
  auto friday = w.call(at("2025-03-14", 17), "c");
  w.ex.run();
  EXPECT_EQ(morning->first, at("2025-03-10", 16));
  EXPECT_EQ(after->first, at("2025-03-11", 16));
  EXPECT_EQ(friday->first, at("2025-03-17", 16));
}

TEST(BehaviourTest, CapacityQueuesCallsFifo) {
  InstitutionBehaviour b;
  b.capacity = 1;
  World w(b, kMicrosPerHour);
  const TimeUs t0 = at("2025-03-03", 0);
  auto a = w.call(t0, "a");
  auto c1 = w.call(t0, "b");
  auto c2 = w.call(t0, "c");
  w.ex.run();
  EXPECT_EQ(a->first - t0, kMicrosPerHour);
  EXPECT_EQ(c1->first - t0, 2 * kMicrosPerHour);
  EXPECT_EQ(c2->first - t0, 3 * kMicrosPerHour);
  EXPECT_EQ(*c2->second, "re:c");
}

TEST(BehaviourTest, OutageWindowRefusesCallsAndNeverDeliversThem) {
  InstitutionBehaviour b;
  b.outages.push_back({at("2025-03-03", 8), at("2025-03-04", 14)});
  World w(b);
  auto down = w.call(at("2025-03-03", 9), "a");
  auto up = w.call(at("2025-03-04", 14), "b");
  w.ex.run();
  EXPECT_EQ(down->second.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(down->second.status().message(), "institution is down (outage until 2025-03-04)");
  EXPECT_EQ(*up->second, "re:b");
  EXPECT_EQ(w.echo->delivered, 1);
  EXPECT_EQ(w.t->refused(), 1u);
}

TEST(BehaviourTest, RepliesDueDuringAnOutageWaitForItsEnd) {
  InstitutionBehaviour b;
  b.outages.push_back({at("2025-03-03", 10), at("2025-03-04", 16)});
  World w(b, 2 * kMicrosPerHour);
  auto taken = w.call(at("2025-03-03", 9), "a");  // Taken before; due at 11:00, inside.
  w.ex.run();
  EXPECT_EQ(taken->first, at("2025-03-04", 16));
  EXPECT_EQ(*taken->second, "re:a");
}

TEST(BehaviourTest, OutagesPauseWorkInProgress) {
  const std::vector<OutageWindow> w = {{at("2025-03-03", 10), at("2025-03-04", 16)}};  // 30 h.
  // Taken at 09:00, due at 15:00: paused from 10:00 until the end, then the 5 h left.
  EXPECT_EQ(resume_after_outages(w, at("2025-03-03", 9), at("2025-03-03", 15)),
            at("2025-03-04", 21));
  // Work done before the outage, or started after it, is untouched.
  EXPECT_EQ(resume_after_outages(w, at("2025-03-03", 6), at("2025-03-03", 9)), at("2025-03-03", 9));
  EXPECT_EQ(resume_after_outages(w, at("2025-03-04", 16), at("2025-03-04", 18)),
            at("2025-03-04", 18));
}

TEST(BehaviourTest, DuplicatedAndMalformedReplies) {
  InstitutionBehaviour dup;
  dup.duplicate_rate = 1;
  World w1(dup);
  auto r1 = w1.call(at("2025-03-03", 1), "x");
  w1.ex.run();
  EXPECT_EQ(*r1->second, "re:xre:x");
  InstitutionBehaviour bad;
  bad.malformed_rate = 1;
  World w2(bad);
  auto r2 = w2.call(at("2025-03-03", 1), "x");
  w2.ex.run();
  EXPECT_EQ(*r2->second, std::string("re:x\x0a\x7f\x01", 7));
}

// An endpoint that answers at once (early output): "re:<request>" from a posted task, its
// service drawn as AnswerTime::service the way the simulator's latency function writes it.
class InstantEndpoint final : public connectors::Transport {
 public:
  InstantEndpoint(Executor& ex, AnswerTime& at, TimeUs service)
      : ex_(ex), at_(at), service_(service) {}
  void async_call(std::string request, connectors::TransportDone done) override {
    starts.push_back(at_.start);
    taken_at.push_back(ex_.now());
    at_.service = service_;
    ex_.post([request, done = std::move(done)] { done("re:" + request); });
  }
  std::vector<TimeUs> starts, taken_at;

 private:
  Executor& ex_;
  AnswerTime& at_;
  TimeUs service_;
};

// A BehaviourTransport answering at intake: where each reply is handed up (when, its due
// time, the bytes).
struct EarlyWorld {
  struct Reply {
    TimeUs when = -1;
    TimeUs due = -2;
    StatusOr<std::string> bytes = internal_error("none");
  };
  EarlyWorld(InstitutionBehaviour b, TimeUs service, TimeUs patience = INT64_MAX)
      : ex(at("2025-03-03", 0)) {
    auto e = std::make_unique<InstantEndpoint>(ex, time, service);
    endpoint = e.get();
    t = std::make_unique<BehaviourTransport>(std::move(e), ex, std::move(b),
                                             EarlyOutput{&time, patience});
  }
  std::shared_ptr<Reply> call(TimeUs when, std::string r) {
    auto out = std::make_shared<Reply>();
    ex.run_at(when, [this, out, r] {
      t->async_call(r, [this, out](StatusOr<std::string> reply) {
        out->when = ex.now();
        out->due = time.due;
        out->bytes = std::move(reply);
      });
    });
    return out;
  }
  VirtualExecutor ex;
  AnswerTime time;
  InstantEndpoint* endpoint;
  std::unique_ptr<BehaviourTransport> t;
};

TEST(BehaviourTest, EarlyOutputAnswersAtIntakeForWhenTheServiceIsDone) {
  InstitutionBehaviour b;
  b.capacity = 2;
  EarlyWorld w(b, kMicrosPerHour);
  const TimeUs t0 = at("2025-03-03", 10);
  auto r1 = w.call(t0, "a");
  auto r2 = w.call(t0, "b");
  auto r3 = w.call(t0, "c");  // Both servers busy until 11:00: starts then.
  auto r4 = w.call(t0 + 30 * kMicrosPerMinute, "d");
  w.ex.run();
  // Every call is taken and answered at its arrival; the due time is the FIFO queue's.
  for (const auto& r : {r1, r2, r3}) EXPECT_EQ(r->when, t0);
  EXPECT_EQ(r4->when, t0 + 30 * kMicrosPerMinute);
  EXPECT_EQ(r1->due, t0 + kMicrosPerHour);
  EXPECT_EQ(r2->due, t0 + kMicrosPerHour);
  EXPECT_EQ(r3->due, t0 + 2 * kMicrosPerHour);
  EXPECT_EQ(r4->due, t0 + 2 * kMicrosPerHour);
  EXPECT_EQ(w.endpoint->starts,
            (std::vector<TimeUs>{t0, t0, t0 + kMicrosPerHour, t0 + kMicrosPerHour}));
  EXPECT_EQ(w.endpoint->taken_at, (std::vector<TimeUs>{t0, t0, t0, t0 + 30 * kMicrosPerMinute}));
  EXPECT_EQ(*r3->bytes, "re:c");
  EXPECT_EQ(w.time.due, AnswerTime::kNow);  // Set only while a reply is handed up.
  EXPECT_EQ(w.ex.pending(), 0u);
}

TEST(BehaviourTest, EarlyOutputKeepsHoursOutagesAndFaults) {
  InstitutionBehaviour b;
  b.hours = BusinessHours::end_of_day(16 * 60);
  b.outages.push_back({at("2025-03-10", 17), at("2025-03-11", 23)});  // 30 h.
  b.duplicate_rate = 1;
  EarlyWorld w(b, 2 * kMicrosPerHour);
  auto morning = w.call(at("2025-03-10", 10), "a");  // Taken at 16:00; paused 17:00 -> 23:00.
  auto down = w.call(at("2025-03-10", 18), "b");     // Refused at once.
  w.ex.run();
  EXPECT_EQ(morning->when, at("2025-03-10", 16));
  EXPECT_EQ(morning->due, at("2025-03-12", 0));  // 1 h before the outage, 1 h after.
  EXPECT_EQ(*morning->bytes, "re:are:a");
  EXPECT_EQ(down->when, at("2025-03-10", 18));
  EXPECT_EQ(down->due, AnswerTime::kNow);
  EXPECT_EQ(down->bytes.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(w.t->duplicated(), 1u);
  EXPECT_EQ(w.t->refused(), 1u);
}

// A reply the caller has stopped waiting for (its timeout, `patience`) is handed up at its
// time, as without early output, so the caller's own timeout answers the call first.
TEST(BehaviourTest, EarlyOutputHandsUpAReplyPastThePatienceAtItsTime) {
  EarlyWorld w(InstitutionBehaviour(), 3 * kMicrosPerHour, /*patience=*/3 * kMicrosPerHour);
  const TimeUs t0 = at("2025-03-03", 10);
  auto late = w.call(t0, "a");
  w.ex.run();
  EXPECT_EQ(late->when, t0 + 3 * kMicrosPerHour);
  EXPECT_EQ(late->due, AnswerTime::kNow);
  EXPECT_EQ(*late->bytes, "re:a");
}

TEST(BehaviourTest, LogNormalLatencyHitsItsMedianAndP99AndRepeatsForASeed) {
  LatencyDist d{10 * kMicrosPerMinute, 6 * kMicrosPerHour};
  std::mt19937_64 rng(42);
  std::vector<TimeUs> s(20000);
  for (TimeUs& x : s) x = d.sample(rng);
  std::sort(s.begin(), s.end());
  const double median = static_cast<double>(s[10000]);
  const double p99 = static_cast<double>(s[19800]);
  EXPECT_NEAR(median / static_cast<double>(d.median), 1.0, 0.05);
  EXPECT_NEAR(p99 / static_cast<double>(d.p99), 1.0, 0.15);
  std::mt19937_64 a(7), b(7);
  EXPECT_EQ(d.sample(a), d.sample(b));
  EXPECT_EQ((LatencyDist{kMicrosPerSecond, 0}.sample(a)), kMicrosPerSecond);  // Fixed.
}

// The least a latency can be, an institution's early-output margin in the parallel windows:
// the log-normal cut off 6 sigma below its median (a bank query of median 2 h, p99 20 h: 19 s).
TEST(BehaviourTest, LatencyHasALeastValueSixSigmaBelowItsMedian) {
  const LatencyDist bank{2 * kMicrosPerHour, 20 * kMicrosPerHour};
  EXPECT_EQ(bank.least(), 18'958'186);
  EXPECT_EQ((LatencyDist{kMicrosPerHour, 3 * kMicrosPerHour}.least()), 211'617'313);
  EXPECT_EQ((LatencyDist{kMicrosPerSecond, 0}.least()), kMicrosPerSecond);  // Fixed.
  EXPECT_EQ((LatencyDist{0, 0}.least()), 0);
  std::mt19937_64 rng(3);
  TimeUs low = bank.median;
  for (int k = 0; k < 100'000; ++k) low = std::min(low, bank.sample(rng));
  EXPECT_GE(low, bank.least());
}

TEST(BehaviourTest, InvalidBehaviourNamesTheField) {
  InstitutionBehaviour b;
  b.error_rate = 1.5;
  EXPECT_EQ(validate(b), invalid_argument_error("error_rate = 1.500000: must be in [0, 1]"));
  b = InstitutionBehaviour();
  b.outages.push_back({10, 5});
  EXPECT_EQ(validate(b), invalid_argument_error("outages[0]: ends before it starts"));
  b = InstitutionBehaviour();
  b.hours = BusinessHours::weekdays(18 * 60, 9 * 60);
  EXPECT_EQ(validate(b).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(validate(InstitutionBehaviour()).ok());
}

}  // namespace
}  // namespace chakong::sim
