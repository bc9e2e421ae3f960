#include "chakong/base/timing_wheel.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace chakong {
namespace {

TEST(TimingWheelTest, PopsInTimeThenInsertionOrder) {
  TimingWheel<int> w(1000);
  w.add(5000, 1);
  w.add(1000, 2);
  w.add(5000, 3);
  w.add(1'000'000'000, 4);
  w.add(1000, 5);
  std::vector<std::pair<TimeUs, int>> out;
  while (auto e = w.pop_until(INT64_MAX)) out.emplace_back(e->when, e->payload);
  EXPECT_EQ(out, (std::vector<std::pair<TimeUs, int>>{
                     {1000, 2}, {1000, 5}, {5000, 1}, {5000, 3}, {1'000'000'000, 4}}));
  EXPECT_EQ(w.now(), 1'000'000'000);
  EXPECT_TRUE(w.empty());
}

TEST(TimingWheelTest, PastTimesAreFiledAtNow) {
  TimingWheel<int> w(500);
  w.add(10, 1);
  auto e = w.pop_until(500);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->when, 500);
}

TEST(TimingWheelTest, CancelIsExactAndStaleHandlesAreHarmless) {
  TimingWheel<int> w(0);
  TimerHandle a = w.add(100, 1);
  TimerHandle b = w.add(200, 2);
  EXPECT_TRUE(w.pending(a));
  EXPECT_TRUE(w.cancel(a));
  EXPECT_FALSE(w.cancel(a));
  EXPECT_FALSE(w.pending(a));
  TimerHandle c = w.add(300, 3);  // Reuses a's slot with a new generation.
  EXPECT_EQ(c.index, a.index);
  EXPECT_FALSE(w.cancel(a));
  EXPECT_TRUE(w.pending(c));
  auto e = w.pop_until(INT64_MAX);
  EXPECT_EQ(e->payload, 2);
  EXPECT_FALSE(w.cancel(b));  // Already fired.
  EXPECT_EQ(w.pop_until(INT64_MAX)->payload, 3);
  EXPECT_FALSE(w.cancel(TimerHandle()));
}

TEST(TimingWheelTest, PopUntilStopsAtLimitAndLaterAddsBeforeTheNextEntryStillPop) {
  // Regression: the cursor cascaded past now() on a pop that found nothing due, and an entry
  // added between now() and the cursor was filed behind it and never popped.
  TimingWheel<int> w(0);
  w.add(1000, 1);
  EXPECT_FALSE(w.pop_until(999).has_value());
  EXPECT_LE(w.now(), 999);
  w.add(w.now() + 10, 2);
  auto e = w.pop_until(INT64_MAX);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->payload, 2);
  EXPECT_EQ(w.pop_until(INT64_MAX)->payload, 1);
}

TEST(TimingWheelTest, BeyondTheHorizonUsesTheOverflowList) {
  const TimeUs start = Date::parse("2025-01-01")->start_us();
  TimingWheel<int> w(start);
  const TimeUs far = start + (TimeUs{1} << 49);  // ~17.8 years ahead.
  w.add(far, 1);
  w.add(start + kMicrosPerDay, 2);
  w.add(far, 3);
  EXPECT_EQ(*w.next_time(), start + kMicrosPerDay);
  EXPECT_EQ(w.pop_until(INT64_MAX)->payload, 2);
  EXPECT_EQ(*w.next_time(), far);
  EXPECT_EQ(w.pop_until(INT64_MAX)->payload, 1);
  EXPECT_EQ(w.pop_until(INT64_MAX)->payload, 3);
}

TEST(TimingWheelTest, AdvanceToRefusesToSkipPendingEntries) {
  TimingWheel<int> w(0);
  w.add(100, 1);
  EXPECT_FALSE(w.advance_to(200));
  EXPECT_TRUE(w.advance_to(100));
  EXPECT_EQ(w.now(), 100);
}

// Against a reference multimap: random adds (near, far, at now), cancels and pops with
// limits, for many seeds. The seed is printed on failure.
TEST(TimingWheelTest, MatchesReferenceUnderRandomOperations) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    const TimeUs start = 1'700'000'000'000'000 + static_cast<TimeUs>(seed);
    TimingWheel<uint64_t> w(start);
    std::map<std::pair<TimeUs, uint64_t>, TimerHandle> ref;  // (when, seq) -> handle
    std::vector<std::pair<std::pair<TimeUs, uint64_t>, TimerHandle>> live;
    uint64_t seq = 0;
    for (int step = 0; step < 20000; ++step) {
      const int op = static_cast<int>(rng() % 10);
      if (op < 5) {
        TimeUs delta;
        switch (rng() % 4) {
          case 0: delta = 0; break;
          case 1: delta = static_cast<TimeUs>(rng() % 64); break;
          case 2: delta = static_cast<TimeUs>(rng() % (48 * kMicrosPerHour)); break;
          default: delta = static_cast<TimeUs>(rng() % (3 * 366 * kMicrosPerDay)); break;
        }
        const TimeUs when = w.now() + delta;
        TimerHandle h = w.add(when, seq);
        ref.emplace(std::make_pair(when, seq), h);
        live.push_back({{when, seq}, h});
        ++seq;
      } else if (op < 7 && !live.empty()) {
        const size_t i = rng() % live.size();
        const bool in_ref = ref.erase(live[i].first) == 1;
        EXPECT_EQ(w.cancel(live[i].second), in_ref);
        live[i] = live.back();
        live.pop_back();
      } else {
        const TimeUs limit = w.now() + static_cast<TimeUs>(rng() % (2 * kMicrosPerHour));
        auto e = w.pop_until(limit);
        if (ref.empty() || ref.begin()->first.first > limit) {
          ASSERT_FALSE(e.has_value());
        } else {
          ASSERT_TRUE(e.has_value());
          EXPECT_EQ(e->when, ref.begin()->first.first);
          EXPECT_EQ(e->payload, ref.begin()->first.second);
          ref.erase(ref.begin());
        }
      }
      ASSERT_EQ(w.size(), ref.size());
    }
    while (auto e = w.pop_until(INT64_MAX)) {
      ASSERT_FALSE(ref.empty());
      EXPECT_EQ(e->payload, ref.begin()->first.second);
      ref.erase(ref.begin());
    }
    EXPECT_TRUE(ref.empty());
  }
}

TEST(TimingWheelTest, BookkeepingIsSmall) {
  struct Deadline {
    uint64_t case_id;
    uint32_t item;
    uint32_t kind;
  };
  EXPECT_LE(TimingWheel<Deadline>::bytes_per_entry(), 48u);
}

}  // namespace
}  // namespace chakong
