#include "chakong/base/date.h"

#include <gtest/gtest.h>

namespace chakong {
namespace {

Date d(const char* text) { return Date::parse(text).value(); }

TEST(DateTest, ParsesAndFormats) {
  Date x = d("2024-02-29");
  EXPECT_EQ(x.year(), 2024);
  EXPECT_EQ(x.month(), 2);
  EXPECT_EQ(x.day(), 29);
  EXPECT_EQ(x.weekday(), 4);  // Thursday.
  EXPECT_EQ(x.to_string(), "2024-02-29");
  EXPECT_EQ(d("1970-01-01").days(), 0);
  EXPECT_EQ(d("2024-03-01") - d("2024-02-28"), 2);
}

TEST(DateTest, BadDatesNameTheText) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"", "date '' is not in YYYY-MM-DD form"},
           Case{"2024-2-29", "date '2024-2-29' is not in YYYY-MM-DD form"},
           Case{"2024/02/29", "date '2024/02/29' is not in YYYY-MM-DD form"},
           Case{"2023-02-29", "date '2023-02-29': date 2023-02-29 does not exist"},
           Case{"2024-13-01", "date '2024-13-01': date 2024-13-01 does not exist"},
           Case{"2024-00-10", "date '2024-00-10': date 2024-00-10 does not exist"},
           Case{"2024-04-31", "date '2024-04-31': date 2024-04-31 does not exist"},
           Case{"1899-12-31", "date '1899-12-31': year 1899 is outside 1900..2200"},
       }) {
    StatusOr<Date> r = Date::parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.message);
  }
}

// Registries write 9999-12-31 for a measure without an end: a value, not a bad date.
TEST(DateTest, NoEndSentinelParsesAsNoEnd) {
  const Date x = d("9999-12-31");
  EXPECT_TRUE(x.is_no_end());
  EXPECT_EQ(x, Date::no_end());
  EXPECT_EQ(x.to_string(), "9999-12-31");
  EXPECT_FALSE(d("2200-12-31").is_no_end());
  EXPECT_EQ(Date::parse("9999-12-30").status().message(),
            "date '9999-12-30': year 9999 is outside 1900..2200");
}

TEST(DateTest, EngineTimeMapsToChinaCivilDate) {
  const Date day = d("2024-06-01");
  EXPECT_EQ(date_of(day.start_us()), day);
  EXPECT_EQ(date_of(day.start_us() - 1), d("2024-05-31"));
  // 2024-05-31T16:00:00Z is midnight in Beijing.
  EXPECT_EQ(day.start_us(), int64_t{1717171200} * kMicrosPerSecond);
  EXPECT_EQ(date_of(0), d("1970-01-01"));
  EXPECT_EQ(date_of(-9 * kMicrosPerHour), d("1969-12-31"));
}

TEST(TermEndTest, SameDayNYearsLaterMinusOneDay) {
  EXPECT_EQ(term_end(d("2024-03-15"), 1), d("2025-03-14"));  // Deposits: 1 year.
  EXPECT_EQ(term_end(d("2024-03-15"), 2), d("2026-03-14"));  // Vehicles: 2 years.
  EXPECT_EQ(term_end(d("2024-03-15"), 3), d("2027-03-14"));  // Real estate: 3 years.
  EXPECT_EQ(term_end(d("2024-01-01"), 1), d("2024-12-31"));
}

TEST(TermEndTest, LeapDays) {
  EXPECT_EQ(term_end(d("2024-02-29"), 1), d("2025-02-28"));
  EXPECT_EQ(term_end(d("2024-02-29"), 3), d("2027-02-28"));
  EXPECT_EQ(term_end(d("2024-02-29"), 4), d("2028-02-28"));
  EXPECT_EQ(term_end(d("2023-03-01"), 1), d("2024-02-29"));
  EXPECT_EQ(term_end(d("2023-02-28"), 1), d("2024-02-27"));
}

}  // namespace
}  // namespace chakong
