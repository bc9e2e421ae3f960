// sim::ParallelTime: windows step logical processes in parallel and the run is the same event
// for event whatever the threads, and the same as one global event queue.
#include "chakong/sim/parallel_time.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "bench/phold.h"

namespace chakong::sim {
namespace {

std::unique_ptr<ParallelTime> make(uint32_t lps, TimeUs lookahead, int threads) {
  StatusOr<std::unique_ptr<ParallelTime>> pt =
      ParallelTime::create({.lps = lps, .start = 0, .lookahead = lookahead, .threads = threads});
  EXPECT_TRUE(pt.ok()) << pt.status().to_string();
  return pt.ok() ? std::move(pt).value() : nullptr;
}

TEST(ParallelTimeTest, PholdEqualsOneGlobalQueueWhateverTheThreads) {
  phold::Options o;
  o.lps = 16;
  o.jobs = 8;
  o.hops = 300;
  o.lookahead = 1000;
  o.spread = 3000;
  const TimeUs limit = 100'000'000;
  const phold::Totals want = phold::reference_phold(o, 0, limit);
  ASSERT_EQ(want.events, uint64_t{16} * 8 * 300);  // Every job ran to its end by the limit.
  std::vector<ParallelTimeStats> stats;
  for (int threads : {1, 2, 3, 4}) {
    auto pt = make(o.lps, o.lookahead, threads);
    phold::Model<> model(*pt, o);
    model.start(0);
    ASSERT_TRUE(pt->run_until(limit).ok());
    EXPECT_EQ(model.events(), want.events) << threads << " threads";
    EXPECT_EQ(model.checksum(), want.checksum) << threads << " threads";
    EXPECT_EQ(pt->stats().events, want.events);
    for (uint32_t lp = 0; lp < o.lps; ++lp) EXPECT_EQ(pt->executor(lp).now(), limit);
    stats.push_back(pt->stats());
  }
  for (const ParallelTimeStats& s : stats) {
    EXPECT_EQ(s.windows, stats[0].windows);
    EXPECT_EQ(s.messages, stats[0].messages);
    EXPECT_EQ(s.busy_lps, stats[0].busy_lps);
  }
  // Half the hops go to a random LP (one in 16 of them its own): messages are most of them.
  EXPECT_GT(stats[0].messages, want.events / 3);
  EXPECT_LT(stats[0].messages, want.events * 2 / 3);
}

// The benchmark's sequential baseline runs the same model.
TEST(ParallelTimeTest, PholdOnOneExecutorEqualsTheReference) {
  phold::Options o;
  o.lps = 7;
  o.jobs = 4;
  o.hops = 500;
  const phold::Totals want = phold::reference_phold(o, 0, 1'000'000'000);
  phold::OneExecutor one(0);
  phold::Model<phold::OneExecutor> model(one, o);
  model.start(0);
  one.executor(0).run_until(1'000'000'000);
  EXPECT_EQ(model.events(), uint64_t{7} * 4 * 500);
  EXPECT_EQ(model.events(), want.events);
  EXPECT_EQ(model.checksum(), want.checksum);
}

TEST(ParallelTimeTest, BytesMessagesGiveTheSameRunAsTasks) {
  phold::Options o;
  o.lps = 9;
  o.jobs = 5;
  o.hops = 250;
  o.bytes = true;
  const phold::Totals want = phold::reference_phold(o, 0, 50'000'000);
  for (int threads : {1, 2}) {
    auto pt = make(o.lps, o.lookahead, threads);
    phold::Model<> model(*pt, o);
    model.start(0);
    ASSERT_TRUE(pt->run_until(50'000'000).ok());
    EXPECT_EQ(model.events(), want.events);
    EXPECT_EQ(model.checksum(), want.checksum);
  }
}

TEST(ParallelTimeTest, ARunStoppedAtALimitEqualsTheReferenceUpToThatLimit) {
  phold::Options o;
  o.lps = 5;
  o.jobs = 3;
  o.hops = 100'000;
  for (TimeUs limit : {TimeUs{0}, TimeUs{999}, TimeUs{1000}, TimeUs{123'456}}) {
    const phold::Totals want = phold::reference_phold(o, 0, limit);
    auto pt = make(o.lps, o.lookahead, 2);
    phold::Model<> model(*pt, o);
    model.start(0);
    ASSERT_TRUE(pt->run_until(limit).ok());
    EXPECT_EQ(model.events(), want.events) << limit;
    EXPECT_EQ(model.checksum(), want.checksum) << limit;
  }
}

TEST(ParallelTimeTest, AnIdleStretchCostsOneWindow) {
  auto pt = make(2, kMicrosPerSecond, 2);
  int ran = 0;
  pt->executor(0).run_at(10, [&] { ++ran; });
  pt->executor(1).run_at(300 * kMicrosPerDay, [&] { ++ran; });
  ASSERT_TRUE(pt->run_until(365 * kMicrosPerDay).ok());
  EXPECT_EQ(ran, 2);
  EXPECT_EQ(pt->stats().windows, 2u);
  EXPECT_EQ(pt->stats().busy_lps, 2u);
  EXPECT_EQ(pt->stats().events, 2u);
}

// Spins for `seconds` of wall time (an event that takes time).
void spin_for(double seconds) {
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < seconds) {
  }
}

TEST(ParallelTimeTest, TheCriticalPathIsTheSlowestLpOfEachWindowAndTheThreadsShareTheTime) {
  for (int threads : {1, 2}) {
    // One busy LP a window: the critical path is all of the LPs' time.
    auto alone = make(2, kMicrosPerSecond, threads);
    alone->executor(0).run_at(10, [] { spin_for(0.002); });
    alone->executor(1).run_at(300 * kMicrosPerDay, [] { spin_for(0.001); });
    ASSERT_TRUE(alone->run_until(365 * kMicrosPerDay).ok());
    EXPECT_EQ(alone->stats().windows, 2u);
    EXPECT_GE(alone->stats().step_seconds, 0.003);
    EXPECT_EQ(alone->stats().critical_step_seconds, alone->stats().step_seconds) << threads;
    // A lone busy LP runs on the calling thread (0); a worker has nothing to run.
    ASSERT_EQ(alone->stats().thread_step_seconds.size(), static_cast<size_t>(threads));
    EXPECT_EQ(alone->stats().thread_step_seconds[0], alone->stats().step_seconds);
    if (threads == 2) {
      EXPECT_EQ(alone->stats().thread_step_seconds[1], 0.0);
    }
    // Both in one window: only the slower one's time is on the critical path.
    auto both = make(2, kMicrosPerSecond, threads);
    // 30 ms against 1: a loaded machine may pause the short one, not by 29 ms.
    both->executor(0).run_at(10, [] { spin_for(0.030); });
    both->executor(1).run_at(20, [] { spin_for(0.001); });
    ASSERT_TRUE(both->run_until(kMicrosPerDay).ok());
    const ParallelTimeStats& s = both->stats();
    EXPECT_EQ(s.windows, 1u);
    EXPECT_EQ(s.busiest_lp, 0u);
    EXPECT_EQ(s.critical_step_seconds, s.busiest_step_seconds) << threads;
    EXPECT_GE(s.step_seconds - s.critical_step_seconds, 0.001) << threads;
    // Whichever thread ran which LP, the threads' times add up to the LPs'.
    ASSERT_EQ(s.thread_step_seconds.size(), static_cast<size_t>(threads));
    double sum = 0;
    for (double t : s.thread_step_seconds) sum += t;
    EXPECT_NEAR(sum, s.step_seconds, 1e-9) << threads;
  }
}

TEST(ParallelTimeTest, MessagesAtOneTimeArriveBySourceThenSendOrder) {
  auto pt = make(4, 100, 2);
  std::vector<std::string> arrived;  // Written only by LP 3's events.
  for (uint32_t from : {2u, 0u, 1u}) {
    pt->executor(from).run_at(5, [&, from] {
      for (int k = 0; k < 2; ++k) {
        pt->send(from, 3, 500, [&arrived, from, k] {
          arrived.push_back(std::to_string(from) + "." + std::to_string(k));
        });
      }
      pt->send(from, 3, 400,
               [&arrived, from] { arrived.push_back(std::to_string(from) + "@400"); });
    });
  }
  ASSERT_TRUE(pt->run_until(1000).ok());
  EXPECT_EQ(arrived, (std::vector<std::string>{"0@400", "1@400", "2@400", "0.0", "0.1", "1.0",
                                               "1.1", "2.0", "2.1"}));
  EXPECT_EQ(pt->stats().messages, 9u);
}

// Early output: messages sent for long after their window (an institution's answers, hours
// ahead) wait at the kernel, many at once, and run at their times in their order, interleaved
// with the ones sent later for sooner.
TEST(ParallelTimeTest, MessagesSentFarAheadRunAtTheirTimesInOrder) {
  auto pt = make(2, 100, 2);
  std::vector<std::pair<TimeUs, int>> arrived;  // Written only by LP 1's events.
  const auto send = [&](TimeUs at, int tag) {
    pt->send(0, 1, at, [&arrived, &pt, tag] { arrived.emplace_back(pt->executor(1).now(), tag); });
  };
  pt->executor(0).run_at(10, [&] {
    for (int k = 0; k < 50; ++k) send(100'000 - 1'000 * k, k);  // Latest first.
  });
  pt->executor(0).run_at(20'000, [&] {
    send(30'500, 100);
    send(30'500, 101);
    send(200'000, 102);
  });
  ASSERT_TRUE(pt->run_until(300'000).ok());
  ASSERT_EQ(arrived.size(), 53u);
  for (size_t i = 1; i < arrived.size(); ++i) {
    EXPECT_LE(arrived[i - 1].first, arrived[i].first) << i;
  }
  // The two sent later for sooner come first, in send order; then the first 50, by time.
  EXPECT_EQ(arrived[0], (std::pair<TimeUs, int>{30'500, 100}));
  EXPECT_EQ(arrived[1], (std::pair<TimeUs, int>{30'500, 101}));
  EXPECT_EQ(arrived[2], (std::pair<TimeUs, int>{51'000, 49}));
  EXPECT_EQ(arrived[51], (std::pair<TimeUs, int>{100'000, 0}));
  EXPECT_EQ(arrived[52], (std::pair<TimeUs, int>{200'000, 102}));
  EXPECT_EQ(pt->stats().messages, 53u);
}

TEST(ParallelTimeTest, AMessageInsideTheLookaheadFailsTheRunNamingIt) {
  auto pt = make(3, 1000, 1);
  bool delivered = false;
  pt->executor(1).run_at(50, [&] { pt->send(1, 2, 1049, [&] { delivered = true; }); });
  Status s = pt->run_until(10'000);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "parallel time: LP 1 sent a message to LP 2 for t=1049 us at t=50 us, less than the "
            "lookahead (1000 us) ahead; every transit between logical processes must be at least "
            "the lookahead");
  EXPECT_FALSE(delivered);

  auto other = make(3, 1000, 1);
  other->executor(0).run_at(0, [&] { other->send(0, 7, 5000, [] {}); });
  EXPECT_EQ(other->run_until(10'000).message(),
            "parallel time: LP 0 sent a message to LP 7, which does not exist (3 LPs)");
}

// Three LPs, each its own class: 0 -> 1 takes 100 us, 1 -> 0 takes 1000 us, 0 -> 2 takes 10 us,
// nothing else sends. LP 1 answers LP 0's message `reaction` after it arrives.
struct ThreeLps {
  explicit ThreeLps(TimeUs reaction, TimeUs answer_after, int threads) {
    ParallelTimeOptions o{.lps = 3, .start = 0, .lookahead = 10, .threads = threads};
    o.lp_class = {0, 1, 2};
    o.class_lookahead = [](uint32_t from, uint32_t to) -> TimeUs {
      if (from == 0 && to == 1) return 100;
      if (from == 1 && to == 0) return 1000;
      if (from == 0 && to == 2) return 10;
      return ParallelTime::kNoMessages;
    };
    o.reaction = {0, reaction, 0};
    StatusOr<std::unique_ptr<ParallelTime>> p = ParallelTime::create(o);
    EXPECT_TRUE(p.ok()) << p.status().to_string();
    pt = std::move(p).value();
    // Each log is written only by its LP's events.
    pt->executor(0).run_at(0, [this, answer_after] {
      log[0].push_back("send@0");
      pt->send(0, 1, 100, [this, answer_after] {
        log[1].push_back("got@" + std::to_string(pt->executor(1).now()));
        pt->executor(1).run_after(answer_after, [this] {
          const TimeUs now = pt->executor(1).now();
          log[1].push_back("answer@" + std::to_string(now));
          pt->send(1, 0, now + 1000,
                   [this] { log[0].push_back("got@" + std::to_string(pt->executor(0).now())); });
        });
      });
      pt->send(0, 2, 10, [this] { log[2].push_back("got@10"); });
    });
    for (TimeUs t = 5; t < 100; t += 10) {
      pt->executor(2).run_at(
          t, [this] { log[2].push_back("own@" + std::to_string(pt->executor(2).now())); });
    }
    pt->executor(2).run_at(2000, [this] { log[2].push_back("own@2000"); });
  }
  std::unique_ptr<ParallelTime> pt;
  std::vector<std::string> log[3];
};

// Window 1 (earliest events: LP 0 at 0, LP 2 at 5): LP 1 can be reached no sooner than
// 0 + 100, LP 2 no sooner than 0 + 10, LP 0 no sooner than 100 + 400 + 1000 (LP 1 answers
// 400 us after a message at the earliest): LP 0 runs 0, LP 2 runs 5. Window 2 (LP 1's message
// at 100, LP 2's own events from 15): D(1) = D(0) + 100 = 1600, D(0) = 100 + 400 + 1000 = 1500,
// D(2) = D(0) + 10 = 1510: LP 1 takes the message and answers at 500, LP 2 runs 10 (the
// message) to 95 in one window. Window 3: LP 0 takes the answer at 1500, and LP 2 (D(2) = 1510
// again) waits. Window 4: LP 2 at 2000, alone.
TEST(ParallelTimeTest, PerPairLookaheadAndReactionGiveEachLpItsOwnBound) {
  for (int threads : {1, 2, 3}) {
    ThreeLps m(/*reaction=*/400, /*answer_after=*/400, threads);
    ASSERT_TRUE(m.pt->run_until(10'000).ok()) << threads;
    EXPECT_EQ(m.log[0], (std::vector<std::string>{"send@0", "got@1500"}));
    EXPECT_EQ(m.log[1], (std::vector<std::string>{"got@100", "answer@500"}));
    EXPECT_EQ(m.log[2], (std::vector<std::string>{"own@5", "got@10", "own@15", "own@25", "own@35",
                                                  "own@45", "own@55", "own@65", "own@75", "own@85",
                                                  "own@95", "own@2000"}));
    const ParallelTimeStats& s = m.pt->stats();
    EXPECT_EQ(s.windows, 4u) << threads;
    EXPECT_EQ(s.busy_lps, 2u + 2u + 1u + 1u) << threads;
    EXPECT_EQ(s.events, 16u);
    EXPECT_EQ(s.messages, 3u);
    EXPECT_EQ(m.pt->lookahead(0, 1), 100);
    EXPECT_EQ(m.pt->lookahead(1, 0), 1000);
    EXPECT_EQ(m.pt->lookahead(2, 1), ParallelTime::kNoMessages);
  }
}

TEST(ParallelTimeTest, AnAnswerSoonerThanItsReactionFailsTheRunNamingIt) {
  // LP 1 promises 400 us but answers at once: its answer (100 + 1000) comes before LP 0's
  // bound (100 + 400 + 1000).
  ThreeLps m(/*reaction=*/400, /*answer_after=*/0, 1);
  Status s = m.pt->run_until(10'000);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "parallel time: LP 1 sent a message to LP 0 for t=1100 us at t=100 us, before LP 0's "
            "bound for the window (1500 us): LP 1 sent sooner after a message than its reaction "
            "(400 us) allows");
  EXPECT_EQ(m.log[0], (std::vector<std::string>{"send@0"}));
}

TEST(ParallelTimeTest, ASendToAPairThatNeverSendsOrInsideItsLookaheadFailsNamingIt) {
  ThreeLps m(0, 0, 1);
  m.pt->executor(2).run_at(7, [&] { m.pt->send(2, 1, 5000, [] {}); });
  EXPECT_EQ(m.pt->run_until(10'000).message(),
            "parallel time: LP 2 sent a message to LP 1 at t=7 us, but class 2 never sends to "
            "class 1 (class_lookahead)");
  ThreeLps n(0, 0, 1);
  n.pt->executor(0).run_at(1, [&] { n.pt->send(0, 1, 50, [] {}); });
  EXPECT_EQ(n.pt->run_until(10'000).message(),
            "parallel time: LP 0 sent a message to LP 1 for t=50 us at t=1 us, less than the "
            "lookahead (100 us) ahead; every transit between logical processes must be at least "
            "the lookahead");
}

// Without messages to itself, an LP's own next event does not bound it: LP 0's events at 0, 10,
// 20, ... run up to 200 in one window (another LP could answer a message of LP 0's at
// 0 + 100 + 100), where with them it could reach only 100.
TEST(ParallelTimeTest, WithoutSelfMessagesAnLpIsNotBoundByItsOwnNextEvent) {
  for (bool self : {true, false}) {
    ParallelTimeOptions o{.lps = 2, .start = 0, .lookahead = 100, .threads = 1};
    o.self_messages = self;
    auto pt = std::move(ParallelTime::create(o)).value();
    std::vector<TimeUs> ran;
    for (TimeUs t = 0; t < 400; t += 10) pt->executor(0).run_at(t, [&, t] { ran.push_back(t); });
    pt->executor(1).run_at(1000, [] {});
    ASSERT_TRUE(pt->run_until(399).ok());
    EXPECT_EQ(ran.size(), 40u);
    EXPECT_EQ(pt->stats().windows, self ? 4u : 2u) << self;
  }
  ParallelTimeOptions o{.lps = 2, .start = 0, .lookahead = 100, .threads = 1};
  o.self_messages = false;
  auto pt = std::move(ParallelTime::create(o)).value();
  pt->executor(1).run_at(3, [&] { pt->send(1, 1, 500, [] {}); });
  EXPECT_EQ(pt->run_until(1000).message(),
            "parallel time: LP 1 sent a message to LP 1 (itself) at t=3 us, and self_messages is "
            "false");
}

TEST(ParallelTimeTest, BadOptionsAreRefusedNamingThem) {
  EXPECT_EQ(ParallelTime::create({.lps = 0}).status().message(),
            "parallel time lps: must be >= 1, got 0");
  EXPECT_EQ(ParallelTime::create({.lps = 2, .lookahead = 0}).status().message(),
            "parallel time lookahead: must be > 0 us, got 0");
  EXPECT_EQ(ParallelTime::create({.lps = 2, .lookahead = 5, .threads = 0}).status().message(),
            "parallel time threads: must be >= 1, got 0");
  ParallelTimeOptions o{.lps = 2, .lookahead = 5};
  o.lp_class = {0};
  EXPECT_EQ(ParallelTime::create(o).status().message(),
            "parallel time lp_class: must have one class per LP (2), got 1");
  o.lp_class = {0, 1};
  o.class_lookahead = [](uint32_t f, uint32_t t) -> TimeUs { return f == 1 && t == 0 ? 4 : 5; };
  EXPECT_EQ(ParallelTime::create(o).status().message(),
            "parallel time class_lookahead(1, 0): must be >= lookahead (5 us) or kNoMessages, "
            "got 4");
  o.class_lookahead = nullptr;
  o.reaction = {0, -1};
  EXPECT_EQ(ParallelTime::create(o).status().message(),
            "parallel time reaction[1]: must be >= 0 us, got -1");
}

}  // namespace
}  // namespace chakong::sim
