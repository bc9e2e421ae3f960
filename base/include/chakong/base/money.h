// Fen: money as an integer number of fen (1 yuan = 100 fen), never floating point.
//
// Arithmetic that could overflow has a checked form returning StatusOr (kOutOfRange).
// The plain operators abort on overflow: use them only on amounts already bounded by a
// validated claim (a claim is at most kMaxClaim, so sums of a few claims cannot overflow).
//
//   Fen claim = Fen::from_yuan(50'000'000);
//   StatusOr<Fen> total = claim.checked_add(costs);
//   std::string s = format_fen(Fen(123456));   // "¥1,234.56"
#ifndef CHAKONG_BASE_MONEY_H_
#define CHAKONG_BASE_MONEY_H_

#include <compare>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "chakong/base/status.h"

namespace chakong {

class Fen {
 public:
  constexpr Fen() = default;
  constexpr explicit Fen(int64_t fen) : fen_(fen) {}
  // `yuan` whole yuan. Aborts if the result does not fit (|yuan| > ~9.2e16).
  static Fen from_yuan(int64_t yuan);

  constexpr int64_t value() const { return fen_; }
  constexpr bool is_zero() const { return fen_ == 0; }
  constexpr bool is_negative() const { return fen_ < 0; }

  // this + other, or kOutOfRange naming both operands when it would overflow int64.
  [[nodiscard]] StatusOr<Fen> checked_add(Fen other) const;
  // this - other, or kOutOfRange when it would overflow int64.
  [[nodiscard]] StatusOr<Fen> checked_sub(Fen other) const;

  // Aborting forms (see the file comment).
  Fen operator+(Fen other) const;
  Fen operator-(Fen other) const;
  Fen& operator+=(Fen other) { return *this = *this + other; }
  Fen& operator-=(Fen other) { return *this = *this - other; }

  friend constexpr auto operator<=>(Fen a, Fen b) = default;

 private:
  int64_t fen_ = 0;
};

constexpr Fen min(Fen a, Fen b) { return a < b ? a : b; }
constexpr Fen max(Fen a, Fen b) { return a < b ? b : a; }

// The largest claim the engine accepts: ¥1e12 (one trillion yuan).
inline constexpr Fen kMaxClaim{100'000'000'000'000};

// "¥1,234.56"; negatives as "-¥1,234.56".
std::string format_fen(Fen amount);
// Writes format_fen(amount) (and so GoogleTest prints money readably).
std::ostream& operator<<(std::ostream& os, Fen amount);

// Parses a yuan amount as people write it: "1234.56", "1,234.5", "¥1,234.56", "-3", "0.07".
// At most two decimals; grouping commas only between groups of three digits. Errors name
// the offending text: empty, stray characters, more than two decimals, overflow.
[[nodiscard]] StatusOr<Fen> parse_yuan(std::string_view text);

}  // namespace chakong

#endif  // CHAKONG_BASE_MONEY_H_
