#include "chakong/base/date.h"

#include <chrono>
#include <cstdio>

namespace chakong {
namespace {

namespace chr = std::chrono;

chr::year_month_day ymd_of(Date d) {
  return chr::year_month_day(chr::sys_days(chr::days(d.days())));
}

bool parse_int(std::string_view s, int& out) {
  if (s.empty()) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

}  // namespace

StatusOr<Date> Date::from_ymd(int year, int month, int day) {
  if (year < 1900 || year > 2200) {
    return invalid_argument_error("year " + std::to_string(year) + " is outside 1900..2200");
  }
  const chr::year_month_day ymd{chr::year(year), chr::month(static_cast<unsigned>(month)),
                                chr::day(static_cast<unsigned>(day))};
  if (month < 1 || month > 12 || day < 1 || !ymd.ok()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
    return invalid_argument_error(std::string("date ") + buf + " does not exist");
  }
  return Date(static_cast<int32_t>(chr::sys_days(ymd).time_since_epoch().count()));
}

StatusOr<Date> Date::parse(std::string_view text) {
  if (text == "9999-12-31") return no_end();
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
    return invalid_argument_error("date " + quoted + " is not in YYYY-MM-DD form");
  }
  int y, m, d;
  if (!parse_int(text.substr(0, 4), y) || !parse_int(text.substr(5, 2), m) ||
      !parse_int(text.substr(8, 2), d)) {
    return invalid_argument_error("date " + quoted + " is not in YYYY-MM-DD form");
  }
  StatusOr<Date> date = from_ymd(y, m, d);
  if (!date.ok()) return invalid_argument_error("date " + quoted + ": " + date.status().message());
  return date;
}

int Date::year() const { return static_cast<int>(ymd_of(*this).year()); }
int Date::month() const { return static_cast<int>(static_cast<unsigned>(ymd_of(*this).month())); }
int Date::day() const { return static_cast<int>(static_cast<unsigned>(ymd_of(*this).day())); }

int Date::weekday() const {
  return static_cast<int>(chr::weekday(chr::sys_days(chr::days(days_))).c_encoding());
}

std::string Date::to_string() const {
  const chr::year_month_day ymd = ymd_of(*this);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

Date term_end(Date start, int years) {
  const chr::year_month_day s = ymd_of(start);
  chr::year_month_day anniversary = s + chr::years(years);
  // 29 February in a common year: the anniversary is 1 March (sys_days normalises the
  // invalid day forward), so the term ends on 28 February.
  const chr::sys_days anniv_days{anniversary};
  return Date::from_days(static_cast<int32_t>(anniv_days.time_since_epoch().count()) - 1);
}

}  // namespace chakong
