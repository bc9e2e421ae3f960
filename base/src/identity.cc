#include "chakong/base/identity.h"

#include <array>

#include "chakong/base/date.h"

namespace chakong {
namespace {

constexpr std::array<int, 17> kResidentWeights = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                                                  3, 7, 9,  10, 5, 8, 4, 2};
constexpr std::string_view kResidentChecks = "10X98765432";
constexpr std::string_view kCreditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
constexpr std::array<int, 17> kCreditWeights = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                                29, 25, 13, 8,  24, 10, 30, 28};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int credit_value(char c) {
  const size_t pos = kCreditAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

std::string quoted_masked(std::string_view id) { return "'" + mask_id(id) + "'"; }

}  // namespace

char resident_id_check_char(std::string_view first17) {
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) sum += (first17[i] - '0') * kResidentWeights[i];
  return kResidentChecks[static_cast<size_t>(sum % 11)];
}

Status validate_resident_id(std::string_view id) {
  if (id.empty()) return invalid_argument_error("resident ID is empty");
  if (id.size() != 18) {
    return invalid_argument_error("resident ID " + quoted_masked(id) + " has " +
                                  std::to_string(id.size()) + " characters, expected 18");
  }
  for (size_t i = 0; i < 17; ++i) {
    if (!is_digit(id[i])) {
      return invalid_argument_error("resident ID " + quoted_masked(id) + " has a non-digit at " +
                                    "position " + std::to_string(i + 1));
    }
  }
  const int year = (id[6] - '0') * 1000 + (id[7] - '0') * 100 + (id[8] - '0') * 10 + (id[9] - '0');
  const int month = (id[10] - '0') * 10 + (id[11] - '0');
  const int day = (id[12] - '0') * 10 + (id[13] - '0');
  if (!Date::from_ymd(year, month, day).ok()) {
    return invalid_argument_error("resident ID " + quoted_masked(id) + " has an impossible " +
                                  "birth date '" + std::string(id.substr(6, 8)) + "'");
  }
  const char last = id[17];
  if (last == 'x') {
    return invalid_argument_error("resident ID " + quoted_masked(id) +
                                  " ends in lower-case 'x'; the check character is 'X'");
  }
  const char expected = resident_id_check_char(id);
  if (last != expected) {
    return invalid_argument_error("resident ID " + quoted_masked(id) + " has check character '" +
                                  std::string(1, last) + "', expected '" +
                                  std::string(1, expected) + "'");
  }
  return ok_status();
}

char credit_code_check_char(std::string_view first17) {
  int sum = 0;
  for (size_t i = 0; i < 17; ++i) {
    const int v = credit_value(first17[i]);
    if (v < 0) return '\0';
    sum += v * kCreditWeights[i];
  }
  const int check = (31 - sum % 31) % 31;
  return kCreditAlphabet[static_cast<size_t>(check)];
}

StatusOr<CreditCodeCheck> validate_credit_code(std::string_view code, ChecksumPolicy policy) {
  if (code.empty()) return invalid_argument_error("credit code is empty");
  if (code.size() != 18) {
    return invalid_argument_error("credit code " + quoted_masked(code) + " has " +
                                  std::to_string(code.size()) + " characters, expected 18");
  }
  for (size_t i = 0; i < 18; ++i) {
    const char c = code[i];
    if (credit_value(c) < 0) {
      const bool lower = c >= 'a' && c <= 'z';
      return invalid_argument_error(
          "credit code " + quoted_masked(code) + " has " +
          (lower ? "a lower-case letter" : "a character outside the GB 32100 alphabet") +
          " at position " + std::to_string(i + 1));
    }
  }
  for (size_t i = 2; i < 8; ++i) {
    if (!is_digit(code[i])) {
      return invalid_argument_error("credit code " + quoted_masked(code) +
                                    " has a non-digit in the administrative division code at " +
                                    "position " + std::to_string(i + 1));
    }
  }
  CreditCodeCheck result;
  result.expected_check = credit_code_check_char(code);
  result.checksum_ok = code[17] == result.expected_check;
  if (!result.checksum_ok && policy == ChecksumPolicy::kReject) {
    return invalid_argument_error("credit code " + quoted_masked(code) + " has check character '" +
                                  std::string(1, code[17]) + "', expected '" +
                                  std::string(1, result.expected_check) + "'");
  }
  return result;
}

std::string mask_id(std::string_view id) {
  std::string out(id);
  if (out.size() <= 8) {
    for (size_t i = 0; i + 2 < out.size(); ++i) out[i] = '*';
    return out;
  }
  for (size_t i = 4; i + 4 < out.size(); ++i) out[i] = '*';
  return out;
}

}  // namespace chakong
