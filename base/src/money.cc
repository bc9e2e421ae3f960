#include "chakong/base/money.h"

#include <cstdio>
#include <limits>
#include <ostream>

namespace chakong {
namespace {

[[noreturn]] void die_overflow(const char* op, int64_t a, int64_t b) {
  std::fprintf(stderr, "chakong: Fen overflow in %lld %s %lld\n", static_cast<long long>(a), op,
               static_cast<long long>(b));
  std::abort();
}

// Digits of |v| with a comma every three digits.
std::string group_thousands(uint64_t v) {
  std::string digits = std::to_string(v);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  const size_t lead = digits.size() % 3;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (i + 3 - lead) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

}  // namespace

Fen Fen::from_yuan(int64_t yuan) {
  int64_t fen;
  if (__builtin_mul_overflow(yuan, int64_t{100}, &fen)) die_overflow("*", yuan, 100);
  return Fen(fen);
}

StatusOr<Fen> Fen::checked_add(Fen other) const {
  int64_t r;
  if (__builtin_add_overflow(fen_, other.fen_, &r)) {
    return out_of_range_error("money overflow: " + format_fen(*this) + " + " + format_fen(other));
  }
  return Fen(r);
}

StatusOr<Fen> Fen::checked_sub(Fen other) const {
  int64_t r;
  if (__builtin_sub_overflow(fen_, other.fen_, &r)) {
    return out_of_range_error("money overflow: " + format_fen(*this) + " - " + format_fen(other));
  }
  return Fen(r);
}

Fen Fen::operator+(Fen other) const {
  int64_t r;
  if (__builtin_add_overflow(fen_, other.fen_, &r)) die_overflow("+", fen_, other.fen_);
  return Fen(r);
}

Fen Fen::operator-(Fen other) const {
  int64_t r;
  if (__builtin_sub_overflow(fen_, other.fen_, &r)) die_overflow("-", fen_, other.fen_);
  return Fen(r);
}

std::string format_fen(Fen amount) {
  const int64_t v = amount.value();
  // Magnitude as unsigned so that INT64_MIN formats too.
  const uint64_t mag = v < 0 ? uint64_t{0} - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  std::string out = v < 0 ? "-¥" : "¥";
  out += group_thousands(mag / 100);
  const unsigned cents = static_cast<unsigned>(mag % 100);
  out.push_back('.');
  out.push_back(static_cast<char>('0' + cents / 10));
  out.push_back(static_cast<char>('0' + cents % 10));
  return out;
}

std::ostream& operator<<(std::ostream& os, Fen amount) { return os << format_fen(amount); }

StatusOr<Fen> parse_yuan(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) return invalid_argument_error("amount is empty");
  std::string_view s = text;
  bool negative = false;
  if (s.front() == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  static constexpr std::string_view kYuanSign = "¥";
  if (s.starts_with(kYuanSign)) s.remove_prefix(kYuanSign.size());
  if (s.empty()) return invalid_argument_error("amount " + quoted + " has no digits");

  const size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty()) return invalid_argument_error("amount " + quoted + " has no whole part");
  if (dot != std::string_view::npos && frac.empty()) {
    return invalid_argument_error("amount " + quoted + " ends with a decimal point");
  }
  if (frac.size() > 2) {
    return invalid_argument_error("amount " + quoted + " has more than two decimals (fen)");
  }

  // Grouping commas are allowed only as complete groups of three digits.
  const bool grouped = whole.find(',') != std::string_view::npos;
  uint64_t yuan = 0;
  int digits_since_comma = 0;
  bool first_group = true;
  constexpr uint64_t kMaxYuan = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / 100;
  for (char c : whole) {
    if (c == ',') {
      if (digits_since_comma == 0 || (!first_group && digits_since_comma != 3) ||
          (first_group && digits_since_comma > 3)) {
        return invalid_argument_error("amount " + quoted + " has a misplaced ','");
      }
      first_group = false;
      digits_since_comma = 0;
      continue;
    }
    if (c < '0' || c > '9') {
      return invalid_argument_error("amount " + quoted + " has an unexpected character '" +
                                    std::string(1, c) + "'");
    }
    yuan = yuan * 10 + static_cast<uint64_t>(c - '0');
    if (yuan > kMaxYuan) return out_of_range_error("amount " + quoted + " overflows int64 fen");
    ++digits_since_comma;
  }
  if (grouped && digits_since_comma != 3) {
    return invalid_argument_error("amount " + quoted + " has a misplaced ','");
  }
  uint64_t fen = 0;
  for (size_t i = 0; i < 2; ++i) {
    fen *= 10;
    if (i < frac.size()) {
      const char c = frac[i];
      if (c < '0' || c > '9') {
        return invalid_argument_error("amount " + quoted + " has an unexpected character '" +
                                      std::string(1, c) + "'");
      }
      fen += static_cast<uint64_t>(c - '0');
    }
  }
  const uint64_t total = yuan * 100 + fen;
  if (total > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return out_of_range_error("amount " + quoted + " overflows int64 fen");
  }
  const int64_t signed_total = static_cast<int64_t>(total);
  return Fen(negative ? -signed_total : signed_total);
}

}  // namespace chakong
