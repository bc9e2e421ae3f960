// Civil dates (China Standard Time) and the legal term arithmetic for measures.
//
// A Date is a day number since 1970-01-01; it is what working-day calendars, measure end
// dates and the wire's "YYYY-MM-DD" strings speak. Engine time (microseconds since the Unix
// epoch, UTC) maps to the civil date in UTC+8 through date_of().
//
//   StatusOr<Date> d = Date::parse("2024-02-29");
//   Date end = term_end(*d, 1);   // 2025-02-28
#ifndef CHAKONG_BASE_DATE_H_
#define CHAKONG_BASE_DATE_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "chakong/base/status.h"

namespace chakong {

// Engine time: microseconds since the Unix epoch (UTC). Comes only from the executor seam.
using TimeUs = int64_t;
inline constexpr TimeUs kMicrosPerSecond = 1'000'000;
inline constexpr TimeUs kMicrosPerMinute = 60 * kMicrosPerSecond;
inline constexpr TimeUs kMicrosPerHour = 60 * kMicrosPerMinute;
inline constexpr TimeUs kMicrosPerDay = 24 * kMicrosPerHour;
// China Standard Time is UTC+8 all year (no daylight saving since 1991).
inline constexpr TimeUs kChinaUtcOffset = 8 * kMicrosPerHour;

class Date {
 public:
  // 1970-01-01.
  constexpr Date() = default;
  // From a day number since 1970-01-01.
  static constexpr Date from_days(int32_t days) { return Date(days); }
  // From a year, month (1-12) and day; kInvalidArgument naming the value for an impossible
  // date (2023-02-29, month 13) or a year outside 1900..2200.
  [[nodiscard]] static StatusOr<Date> from_ymd(int year, int month, int day);
  // Parses exactly "YYYY-MM-DD"; errors name the text. "9999-12-31", the sentinel
  // institutions and registries write for "no end", is no_end(), outside the year range.
  [[nodiscard]] static StatusOr<Date> parse(std::string_view text);
  // 9999-12-31: a measure (or term) without an end date. Nothing is renewed or lapses then.
  static constexpr Date no_end() { return Date(2932896); }
  constexpr bool is_no_end() const { return days_ == no_end().days_; }

  constexpr int32_t days() const { return days_; }
  int year() const;
  int month() const;
  int day() const;
  // 0 = Sunday ... 6 = Saturday.
  int weekday() const;
  bool is_weekend() const { return weekday() == 0 || weekday() == 6; }

  // "YYYY-MM-DD".
  std::string to_string() const;

  constexpr Date plus_days(int32_t n) const { return Date(days_ + n); }
  friend constexpr int32_t operator-(Date a, Date b) { return a.days_ - b.days_; }
  friend constexpr auto operator<=>(Date a, Date b) = default;

  // Midnight at the start of this date in China Standard Time, as engine time.
  constexpr TimeUs start_us() const { return days_ * kMicrosPerDay - kChinaUtcOffset; }

 private:
  constexpr explicit Date(int32_t days) : days_(days) {}
  int32_t days_ = 0;
};

// The civil date in China Standard Time at engine time `t`.
constexpr Date date_of(TimeUs t) {
  TimeUs local = t + kChinaUtcOffset;
  int64_t d = local / kMicrosPerDay;
  if (local % kMicrosPerDay < 0) --d;
  return Date::from_days(static_cast<int32_t>(d));
}

// The last day of a measure that takes effect on `start` for `years` years: the same day
// `years` years later minus one day (2024-03-15 + 1y -> 2025-03-14). Where that day does not
// exist (a term starting 29 February ending in a common year), the anniversary is 1 March,
// so the term ends on 28 February: 2024-02-29 + 1y -> 2025-02-28. This never shortens a term
// below a full year. Requires years >= 1.
Date term_end(Date start, int years);

}  // namespace chakong

#endif  // CHAKONG_BASE_DATE_H_
