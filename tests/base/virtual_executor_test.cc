#include "chakong/base/virtual_executor.h"

#include <gtest/gtest.h>

#include <string>

namespace chakong {
namespace {

TEST(VirtualExecutorTest, RunsInTimeThenSubmissionOrderAndJumpsTime) {
  VirtualExecutor ex(1000);
  std::string log;
  ex.run_at(3000, [&] { log += "c"; });
  ex.post([&] { log += "a"; });
  ex.run_at(2000, [&] {
    log += "b";
    ex.post([&] { log += "B"; });       // Same time, after what is due.
    ex.run_at(0, [&] { log += "P"; });  // The past runs at now().
  });
  ex.run_at(3000, [&] { log += "d"; });
  EXPECT_EQ(ex.run_until(2500), 4u);
  EXPECT_EQ(log, "abBP");
  EXPECT_EQ(ex.now(), 2500);
  EXPECT_EQ(ex.run(), 2u);
  EXPECT_EQ(log, "abBPcd");
  EXPECT_EQ(ex.now(), 3000);
  EXPECT_EQ(ex.events_run(), 6u);
}

TEST(VirtualExecutorTest, CancelledTimersDoNotRun) {
  VirtualExecutor ex(0);
  int ran = 0;
  TimerHandle h = ex.run_at(10, [&] { ++ran; });
  ex.run_at(20, [&] { ++ran; });
  EXPECT_TRUE(ex.cancel(h));
  EXPECT_FALSE(ex.cancel(h));
  ex.run();
  EXPECT_EQ(ran, 1);
}

TEST(VirtualExecutorTest, RunsAYearOfDailyEventsAtOnce) {
  const TimeUs start = Date::parse("2025-01-01")->start_us();
  VirtualExecutor ex(start);
  int days = 0;
  std::function<void()> tick = [&] {
    ++days;
    ex.run_after(kMicrosPerDay, tick);
  };
  ex.post(tick);
  ex.run_until(start + 365 * kMicrosPerDay - 1);
  EXPECT_EQ(days, 365);
  EXPECT_EQ(date_of(ex.now()).to_string(), "2025-12-31");
}

}  // namespace
}  // namespace chakong
