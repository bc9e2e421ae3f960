// sim::ParallelTime: windows step logical processes in parallel and the run is the same event
// for event whatever the threads, and the same as one global event queue.
#include "chakong/sim/parallel_time.h"

#include <gtest/gtest.h>

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

TEST(ParallelTimeTest, BadOptionsAreRefusedNamingThem) {
  EXPECT_EQ(ParallelTime::create({.lps = 0}).status().message(),
            "parallel time lps: must be >= 1, got 0");
  EXPECT_EQ(ParallelTime::create({.lps = 2, .lookahead = 0}).status().message(),
            "parallel time lookahead: must be > 0 us, got 0");
  EXPECT_EQ(ParallelTime::create({.lps = 2, .lookahead = 5, .threads = 0}).status().message(),
            "parallel time threads: must be >= 1, got 0");
}

}  // namespace
}  // namespace chakong::sim
