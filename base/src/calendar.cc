#include "chakong/base/calendar.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace chakong {

// Defined in the generated cn_calendar_data.cc (engine/data/cn_calendar.txt).
extern const char kChinaCalendarText[];

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Next whitespace-separated token of `s`, consuming it.
std::string_view next_token(std::string_view& s) {
  s = trim(s);
  const size_t end = s.find_first_of(" \t");
  std::string_view tok = s.substr(0, end);
  s = end == std::string_view::npos ? std::string_view() : s.substr(end);
  return tok;
}

enum class DayKind : uint8_t { kDefault, kHoliday, kWorkday };

}  // namespace

StatusOr<WorkCalendar> WorkCalendar::parse(std::string_view text, std::string_view source_name) {
  struct Entry {
    Date from, to;
    DayKind kind;
    int line;
  };
  std::vector<Entry> entries;
  bool have_range = false;
  Date first, last;
  int line_no = 0;
  auto fail = [&](const std::string& what) {
    return invalid_argument_error(std::string(source_name) + ":" + std::to_string(line_no) + ": " +
                                  what);
  };

  std::string_view rest = text;
  while (!rest.empty()) {
    ++line_no;
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = trim(line);
    if (line.empty()) continue;

    const std::string_view keyword = next_token(line);
    const std::string_view dates = next_token(line);
    if (keyword == "range") {
      if (have_range) return fail("a second 'range' line");
      const std::string_view end_text = next_token(line);
      StatusOr<Date> a = Date::parse(dates);
      if (!a.ok()) return fail(a.status().message());
      StatusOr<Date> b = Date::parse(end_text);
      if (!b.ok()) return fail(b.status().message());
      if (*b < *a) return fail("range ends before it starts");
      first = *a;
      last = *b;
      have_range = true;
      continue;
    }
    DayKind kind;
    if (keyword == "holiday") {
      kind = DayKind::kHoliday;
    } else if (keyword == "workday") {
      kind = DayKind::kWorkday;
    } else {
      return fail("unknown keyword '" + std::string(keyword) +
                  "', expected 'range', 'holiday' or 'workday'");
    }
    const size_t dots = dates.find("..");
    StatusOr<Date> a = Date::parse(dates.substr(0, dots));
    if (!a.ok()) return fail(a.status().message());
    Date b = *a;
    if (dots != std::string_view::npos) {
      StatusOr<Date> e = Date::parse(dates.substr(dots + 2));
      if (!e.ok()) return fail(e.status().message());
      if (*e < *a) return fail("date range '" + std::string(dates) + "' ends before it starts");
      b = *e;
    }
    entries.push_back({*a, b, kind, line_no});
  }
  if (!have_range) {
    return invalid_argument_error(std::string(source_name) + ": no 'range FIRST LAST' line");
  }

  const int32_t n = last - first + 1;
  std::vector<DayKind> kinds(static_cast<size_t>(n), DayKind::kDefault);
  for (const Entry& e : entries) {
    line_no = e.line;
    if (e.from < first || e.to > last) {
      return fail("date " + (e.from < first ? e.from : e.to).to_string() +
                  " is outside the range " + first.to_string() + ".." + last.to_string());
    }
    for (Date d = e.from; d <= e.to; d = d.plus_days(1)) {
      DayKind& k = kinds[static_cast<size_t>(d - first)];
      if (k != DayKind::kDefault && k != e.kind) {
        return fail("date " + d.to_string() + " is listed both as holiday and as workday");
      }
      k = e.kind;
    }
  }

  WorkCalendar cal;
  cal.first_ = first;
  cal.last_ = last;
  cal.working_before_.resize(static_cast<size_t>(n) + 1);
  cal.working_before_[0] = 0;
  for (int32_t i = 0; i < n; ++i) {
    const Date d = first.plus_days(i);
    const DayKind k = kinds[static_cast<size_t>(i)];
    const bool working = k == DayKind::kWorkday || (k == DayKind::kDefault && !d.is_weekend());
    cal.working_before_[static_cast<size_t>(i) + 1] =
        cal.working_before_[static_cast<size_t>(i)] + (working ? 1 : 0);
    if (working) cal.working_days_.push_back(i);
  }
  return cal;
}

StatusOr<WorkCalendar> WorkCalendar::load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found_error("cannot read calendar file '" + path + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  return parse(buf.str(), path);
}

const WorkCalendar& WorkCalendar::china() {
  static const WorkCalendar* cal = [] {
    StatusOr<WorkCalendar> parsed = parse(kChinaCalendarText, "engine/data/cn_calendar.txt");
    // The built-in file is tested; a parse failure here is a build defect.
    return new WorkCalendar(std::move(parsed).value());
  }();
  return *cal;
}

Status WorkCalendar::out_of_range(Date d) const {
  return out_of_range_error("date " + d.to_string() + " is outside the working-day calendar (" +
                            first_.to_string() + ".." + last_.to_string() + ")");
}

StatusOr<bool> WorkCalendar::is_working_day(Date d) const {
  if (!covers(d)) return out_of_range(d);
  const size_t i = static_cast<size_t>(d - first_);
  return working_before_[i + 1] != working_before_[i];
}

StatusOr<Date> WorkCalendar::add_working_days(Date from, int n) const {
  if (n < 0) {
    return invalid_argument_error("working days to add is " + std::to_string(n) + ", must be >= 0");
  }
  if (!covers(from)) return out_of_range(from);
  if (n == 0) return from;
  // Working days up to and including `from`, then the n-th one after them.
  const size_t before =
      static_cast<size_t>(working_before_[static_cast<size_t>(from - first_) + 1]);
  const size_t target = before + static_cast<size_t>(n) - 1;
  if (target >= working_days_.size()) {
    return out_of_range_error(std::to_string(n) + " working days after " + from.to_string() +
                              " is past the end of the working-day calendar (" + last_.to_string() +
                              ")");
  }
  return first_.plus_days(working_days_[target]);
}

StatusOr<int> WorkCalendar::working_days_between(Date from, Date to) const {
  if (!covers(from)) return out_of_range(from);
  if (!covers(to)) return out_of_range(to);
  if (to <= from) return 0;
  return working_before_[static_cast<size_t>(to - first_) + 1] -
         working_before_[static_cast<size_t>(from - first_) + 1];
}

}  // namespace chakong
