#include "chakong/base/calendar.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace chakong {
namespace {

Date d(const char* text) { return Date::parse(text).value(); }
const WorkCalendar& cal() { return WorkCalendar::china(); }

TEST(ChinaCalendarTest, CoversThreeYears) {
  EXPECT_EQ(cal().first(), d("2024-01-01"));
  EXPECT_EQ(cal().last(), d("2026-12-31"));
}

TEST(ChinaCalendarTest, HolidaysAndMakeUpWorkdays) {
  EXPECT_FALSE(*cal().is_working_day(d("2024-02-12")));  // Spring Festival (Monday).
  EXPECT_TRUE(*cal().is_working_day(d("2024-02-04")));   // Make-up Sunday.
  EXPECT_TRUE(*cal().is_working_day(d("2024-02-09")));   // Eve: not an official holiday in 2024.
  EXPECT_FALSE(*cal().is_working_day(d("2025-01-28")));  // Eve: a holiday from 2025 on.
  EXPECT_FALSE(*cal().is_working_day(d("2025-10-08")));  // National Day + Mid-Autumn 2025.
  EXPECT_TRUE(*cal().is_working_day(d("2025-10-11")));   // Make-up Saturday.
  EXPECT_FALSE(*cal().is_working_day(d("2026-01-02")));  // New Year 2026 (Friday).
  EXPECT_TRUE(*cal().is_working_day(d("2026-01-04")));   // Make-up Sunday.
  EXPECT_FALSE(*cal().is_working_day(d("2026-02-23")));  // Spring Festival 2026 (Monday).
  EXPECT_TRUE(*cal().is_working_day(d("2026-02-28")));   // Make-up Saturday.
  EXPECT_FALSE(*cal().is_working_day(d("2026-06-06")));  // Plain Saturday.
  EXPECT_TRUE(*cal().is_working_day(d("2026-06-08")));   // Plain Monday.
}

TEST(ChinaCalendarTest, WorkingDaysIn2024) {
  // Counted independently from the 2024 notice: 251 working days. (from, to] excludes
  // 1 January, which is a holiday anyway.
  EXPECT_FALSE(*cal().is_working_day(d("2024-01-01")));
  EXPECT_EQ(*cal().working_days_between(d("2024-01-01"), d("2024-12-31")), 251);
}

TEST(ChinaCalendarTest, AddWorkingDaysSkipsHolidaysAndCountsMakeUpDays) {
  EXPECT_EQ(*cal().add_working_days(d("2024-02-08"), 5), d("2024-02-21"));
  EXPECT_EQ(*cal().add_working_days(d("2024-09-27"), 5), d("2024-10-10"));
  EXPECT_EQ(*cal().add_working_days(d("2024-04-30"), 1), d("2024-05-06"));
  EXPECT_EQ(*cal().add_working_days(d("2024-06-07"), 1), d("2024-06-11"));  // Dragon Boat.
  EXPECT_EQ(*cal().add_working_days(d("2024-06-08"), 0), d("2024-06-08"));
  // From a holiday: the first working day after it.
  EXPECT_EQ(*cal().add_working_days(d("2024-10-03"), 1), d("2024-10-08"));
}

TEST(ChinaCalendarTest, WorkingDaysBetween) {
  EXPECT_EQ(*cal().working_days_between(d("2024-02-08"), d("2024-02-29")), 11);
  EXPECT_EQ(*cal().working_days_between(d("2024-02-08"), d("2024-02-21")), 5);
  EXPECT_EQ(*cal().working_days_between(d("2024-02-21"), d("2024-02-08")), 0);
  EXPECT_EQ(*cal().working_days_between(d("2024-06-08"), d("2024-06-08")), 0);
}

TEST(ChinaCalendarTest, OutsideTheTableIsAnErrorNotAGuess) {
  StatusOr<bool> before = cal().is_working_day(d("2023-12-29"));
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(before.status().message(),
            "date 2023-12-29 is outside the working-day calendar (2024-01-01..2026-12-31)");
  StatusOr<Date> past = cal().add_working_days(d("2026-12-30"), 5);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(past.status().message(),
            "5 working days after 2026-12-30 is past the end of the working-day calendar "
            "(2026-12-31)");
  EXPECT_EQ(cal().working_days_between(d("2024-01-02"), d("2027-01-04")).status().code(),
            StatusCode::kOutOfRange);
  EXPECT_EQ(cal().add_working_days(d("2024-01-02"), -1).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(WorkCalendarParseTest, BadLinesNameSourceAndLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"holiday 2024-01-01\n", "test.txt: no 'range FIRST LAST' line"},
           Case{"range 2024-01-01 2024-12-31\nferie 2024-05-01\n",
                "test.txt:2: unknown keyword 'ferie', expected 'range', 'holiday' or 'workday'"},
           Case{"range 2024-01-01 2024-12-31\nholiday 2024-13-01\n",
                "test.txt:2: date '2024-13-01': date 2024-13-01 does not exist"},
           Case{"range 2024-01-01 2024-12-31\n# c\nholiday 2025-01-01\n",
                "test.txt:3: date 2025-01-01 is outside the range 2024-01-01..2024-12-31"},
           Case{"range 2024-01-01 2024-12-31\nholiday 2024-05-05..2024-05-01\n",
                "test.txt:2: date range '2024-05-05..2024-05-01' ends before it starts"},
           Case{"range 2024-01-01 2024-12-31\nholiday 2024-05-01\nworkday 2024-05-01\n",
                "test.txt:3: date 2024-05-01 is listed both as holiday and as workday"},
           Case{"range 2024-01-01 2024-12-31\nrange 2024-01-01 2024-12-31\n",
                "test.txt:2: a second 'range' line"},
       }) {
    StatusOr<WorkCalendar> r = WorkCalendar::parse(c.text, "test.txt");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.message);
  }
}

TEST(WorkCalendarParseTest, LoadsFromFile) {
  const std::string path = ::testing::TempDir() + "/chakong_calendar_test.txt";
  {
    std::ofstream out(path);
    out << "range 2030-01-01 2030-01-31\nholiday 2030-01-01 New Year\n";
  }
  StatusOr<WorkCalendar> r = WorkCalendar::load_file(path);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_FALSE(*r->is_working_day(d("2030-01-01")));
  EXPECT_TRUE(*r->is_working_day(d("2030-01-02")));
  std::remove(path.c_str());
  EXPECT_EQ(WorkCalendar::load_file(path).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace chakong
