// The working-day calendar: weekends, official public holidays and the make-up working days
// (调休) the State Council announces each year. Query timeliness (DOMAIN rule 6) and offline
// control (10 working days) are counted on it.
//
// A calendar covers a fixed range of dates; asking about a date outside it is an error
// (kOutOfRange), never a guess. The built-in calendar covers 2024-01-01..2026-12-31 and is
// compiled from engine/data/cn_calendar.txt. After construction a calendar is immutable and
// safe to share between threads; every query is O(1) or O(log n).
//
// File format, one entry a line, '#' starts a comment:
//   range   2024-01-01 2026-12-31       the covered dates (exactly one line)
//   holiday 2024-02-10..2024-02-17 春节  official holiday(s); a single date or a range
//   workday 2024-02-04 春节调休           a make-up working day on a weekend
//
//   const WorkCalendar& cal = WorkCalendar::china();
//   StatusOr<Date> due = cal.add_working_days(received, 5);
#ifndef CHAKONG_BASE_CALENDAR_H_
#define CHAKONG_BASE_CALENDAR_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chakong/base/date.h"
#include "chakong/base/status.h"

namespace chakong {

class WorkCalendar {
 public:
  // Parses a calendar in the format above. kInvalidArgument naming `source_name`, the line
  // number and the offending text for any bad line, a date outside the range, a holiday on
  // a date also listed as a workday, or a missing / repeated range line.
  [[nodiscard]] static StatusOr<WorkCalendar> parse(std::string_view text,
                                                    std::string_view source_name);
  // Reads and parses a file; kNotFound when it cannot be read.
  [[nodiscard]] static StatusOr<WorkCalendar> load_file(const std::string& path);
  // The built-in Chinese calendar (2024-2026).
  static const WorkCalendar& china();

  Date first() const { return first_; }
  Date last() const { return last_; }
  bool covers(Date d) const { return first_ <= d && d <= last_; }

  // True on a working day; kOutOfRange outside the covered range.
  [[nodiscard]] StatusOr<bool> is_working_day(Date d) const;

  // The date that is `n` working days after `from` (`from` itself is not counted, so
  // add_working_days(Friday, 1) is the next working day). n >= 0; n == 0 returns `from`.
  // kOutOfRange when `from` or the result is outside the range; kInvalidArgument for n < 0.
  [[nodiscard]] StatusOr<Date> add_working_days(Date from, int n) const;

  // The number of working days in (from, to]: 0 when to <= from. kOutOfRange when either
  // date is outside the range.
  [[nodiscard]] StatusOr<int> working_days_between(Date from, Date to) const;

 private:
  WorkCalendar() = default;
  Status out_of_range(Date d) const;

  Date first_;
  Date last_;
  // working_before_[i] = number of working days in [first_, first_ + i); size = days + 1.
  std::vector<int32_t> working_before_;
  // Day offsets (from first_) of every working day, ascending.
  std::vector<int32_t> working_days_;
};

}  // namespace chakong

#endif  // CHAKONG_BASE_CALENDAR_H_
