#include "chakong/base/function.h"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace chakong {
namespace {

// Counts live copies, so a test can see every construction and destruction.
struct Tracked {
  explicit Tracked(int* counter) : live(counter) { ++*live; }
  Tracked(Tracked&& o) noexcept : live(o.live) { ++*live; }
  Tracked(const Tracked&) = delete;
  ~Tracked() { --*live; }
  int* live;
};

TEST(UniqueFunctionTest, SmallClosureIsInlineAndCalled) {
  int hits = 0;
  UniqueFunction<void()> f = [&hits] { ++hits; };
  EXPECT_TRUE(static_cast<bool>(f));
  EXPECT_TRUE(f.is_inline());
  f();
  f();
  EXPECT_EQ(hits, 2);
  EXPECT_EQ(sizeof(UniqueFunction<void()>), 56u);
}

TEST(UniqueFunctionTest, ArgumentsAndResultPassThrough) {
  UniqueFunction<int(int, std::string)> f = [](int a, std::string s) {
    return a + static_cast<int>(s.size());
  };
  EXPECT_EQ(f(40, "ab"), 42);
}

TEST(UniqueFunctionTest, LargeClosureIsBoxedAndStillWorks) {
  std::array<int64_t, 16> big{};
  big[15] = 7;
  UniqueFunction<int64_t()> f = [big] { return big[15]; };
  EXPECT_FALSE(f.is_inline());
  EXPECT_EQ(f(), 7);
  UniqueFunction<int64_t()> g = std::move(f);
  EXPECT_FALSE(static_cast<bool>(f));  // NOLINT(bugprone-use-after-move): moved-from is empty.
  EXPECT_EQ(g(), 7);
}

TEST(UniqueFunctionTest, OwnsMoveOnlyCaptures) {
  auto p = std::make_unique<int>(5);
  UniqueFunction<int()> f = [p = std::move(p)] { return *p; };
  EXPECT_TRUE(f.is_inline());
  UniqueFunction<int()> g;
  g = std::move(f);
  EXPECT_EQ(g(), 5);
}

TEST(UniqueFunctionTest, DestroysItsTargetExactlyOnce) {
  int live = 0;
  {
    UniqueFunction<void()> f = [t = Tracked(&live)] { (void)t; };
    EXPECT_EQ(live, 1);
    UniqueFunction<void()> g = std::move(f);
    EXPECT_EQ(live, 1);  // Relocated, not duplicated.
    g = nullptr;
    EXPECT_EQ(live, 0);
    g = [t = Tracked(&live)] { (void)t; };
    EXPECT_EQ(live, 1);
    g = [] {};  // Assigning destroys the old target.
    EXPECT_EQ(live, 0);
    std::vector<UniqueFunction<void()>> v;
    for (int i = 0; i < 100; ++i) v.emplace_back([t = Tracked(&live)] { (void)t; });
    EXPECT_EQ(live, 100);  // Survives the vector's reallocations.
  }
  EXPECT_EQ(live, 0);
}

TEST(UniqueFunctionTest, EmptyThrowsBadFunctionCall) {
  UniqueFunction<void()> f;
  EXPECT_FALSE(static_cast<bool>(f));
  EXPECT_THROW(f(), std::bad_function_call);
  void (*null_fn)() = nullptr;
  UniqueFunction<void()> g = null_fn;
  EXPECT_FALSE(static_cast<bool>(g));
}

TEST(UniqueFunctionTest, MutableClosureKeepsItsState) {
  UniqueFunction<int()> counter = [n = 0]() mutable { return ++n; };
  EXPECT_EQ(counter(), 1);
  EXPECT_EQ(counter(), 2);
  EXPECT_EQ(counter(), 3);
}

}  // namespace
}  // namespace chakong
