#include "chakong/base/case_number.h"

#include <array>
#include <utility>

namespace chakong {
namespace {

struct TypeCode {
  CaseType type;
  std::string_view code;
};
// Longest codes first so that "执恢" is not read as "执" followed by garbage.
constexpr std::array<TypeCode, 6> kTypeCodes = {{
    {CaseType::kZhiHui, "执恢"},
    {CaseType::kZhiBao, "执保"},
    {CaseType::kZhiYi, "执异"},
    {CaseType::kZhiFu, "执复"},
    {CaseType::kZhiJian, "执监"},
    {CaseType::kZhi, "执"},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kBrackets = {{
    {"（", "）"},
    {"(", ")"},
    {"〔", "〕"},
}};

constexpr std::string_view kZhi = "执";
constexpr std::string_view kHao = "号";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

Status check_court(const std::string& court) {
  if (court.empty()) return invalid_argument_error("court code is empty");
  if (is_digit(court.front())) {
    return invalid_argument_error("court code '" + court + "' must start with the province " +
                                  "abbreviation, not a digit");
  }
  for (char c : court) {
    if (c == ' ' || c == '\t' || c == '(' || c == ')' || c == '\n') {
      return invalid_argument_error("court code '" + court + "' contains a space or bracket");
    }
  }
  if (court.find(kZhi) != std::string::npos || court.find(kHao) != std::string::npos) {
    return invalid_argument_error("court code '" + court + "' contains '执' or '号'");
  }
  return ok_status();
}

}  // namespace

std::string_view case_type_code(CaseType type) {
  for (const TypeCode& t : kTypeCodes) {
    if (t.type == type) return t.code;
  }
  return "?";
}

StatusOr<CaseNumber> CaseNumber::make(int year, std::string court, CaseType type, int64_t serial) {
  if (year < 1990 || year > 2200) {
    return invalid_argument_error("case year " + std::to_string(year) + " is outside 1990..2200");
  }
  CHAKONG_RETURN_IF_ERROR(check_court(court));
  if (serial < 1) {
    return invalid_argument_error("case serial " + std::to_string(serial) + " must be >= 1");
  }
  CaseNumber n;
  n.year_ = year;
  n.court_ = std::move(court);
  n.type_ = type;
  n.serial_ = serial;
  return n;
}

StatusOr<CaseNumber> CaseNumber::parse(std::string_view text) {
  const std::string quoted = "case number '" + std::string(text) + "'";
  if (text.empty()) return invalid_argument_error("case number is empty");
  std::string_view s = text;

  std::string_view close;
  for (const auto& [open, shut] : kBrackets) {
    if (s.starts_with(open)) {
      s.remove_prefix(open.size());
      close = shut;
      break;
    }
  }
  if (close.empty()) {
    return invalid_argument_error(quoted +
                                  " must start with the year in brackets, e.g. '（2024）'");
  }
  size_t i = 0;
  int year = 0;
  while (i < s.size() && is_digit(s[i])) year = year * 10 + (s[i++] - '0');
  if (i != 4) return invalid_argument_error(quoted + " must have a 4-digit year");
  s.remove_prefix(4);
  if (!s.starts_with(close)) {
    return invalid_argument_error(quoted + " must close the year with '" + std::string(close) +
                                  "'");
  }
  s.remove_prefix(close.size());

  const size_t zhi = s.find(kZhi);
  if (zhi == std::string_view::npos) {
    return invalid_argument_error(quoted + " has no enforcement type code (执, 执恢, 执保, ...)");
  }
  std::string court(s.substr(0, zhi));
  s.remove_prefix(zhi);

  const TypeCode* type = nullptr;
  for (const TypeCode& t : kTypeCodes) {
    if (s.starts_with(t.code)) {
      type = &t;
      break;
    }
  }
  s.remove_prefix(type->code.size());  // "执" always matches at least.
  if (s.empty() || !is_digit(s.front())) {
    return invalid_argument_error(quoted + " has an unknown type code or no serial after '" +
                                  std::string(type->code) + "'");
  }
  int64_t serial = 0;
  size_t digits = 0;
  while (digits < s.size() && is_digit(s[digits])) {
    if (digits >= 12) return invalid_argument_error(quoted + " has a serial over 12 digits");
    serial = serial * 10 + (s[digits++] - '0');
  }
  s.remove_prefix(digits);
  if (s != kHao) return invalid_argument_error(quoted + " must end with '号' after the serial");

  StatusOr<CaseNumber> n = make(year, std::move(court), type->type, serial);
  if (!n.ok()) return invalid_argument_error(quoted + ": " + n.status().message());
  return n;
}

std::string CaseNumber::to_string() const {
  std::string out = "（" + std::to_string(year_) + "）" + court_;
  out += case_type_code(type_);
  out += std::to_string(serial_);
  out += kHao;
  return out;
}

CaseNumber CaseNumber::restored(int year, int64_t serial) const {
  CaseNumber n = *this;
  n.year_ = year;
  n.type_ = CaseType::kZhiHui;
  n.serial_ = serial;
  return n;
}

}  // namespace chakong
