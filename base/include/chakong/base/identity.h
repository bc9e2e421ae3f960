// Identifiers of debtors: the resident ID of a person and the unified social credit code
// of an organisation, validated by their national standards, and masked for logs.
//
// - Resident ID, GB 11643-1999: 17 digits (6-digit region, 8-digit birth date, 3-digit
//   sequence) and a check character from ISO 7064 MOD 11-2, "10X98765432"[sum % 11] with
//   weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2. The check character is upper-case 'X'.
// - Unified social credit code, GB 32100-2015: 18 characters from the 31-character
//   alphabet 0-9 A-H J-N P-R T U W-Y (no I O S V Z); weights 3^i mod 31; check
//   31 - (sum % 31), 31 -> 0. Some early pilot codes fail the checksum, so by default
//   (policy) a checksum failure is a warning, not a rejection.
//
// All functions are pure and thread-safe.
//
//   if (Status s = validate_resident_id(id); !s.ok()) return s;
//   log("debtor {}", mask_id(id));  // "1101**********002X"
#ifndef CHAKONG_BASE_IDENTITY_H_
#define CHAKONG_BASE_IDENTITY_H_

#include <string>
#include <string_view>

#include "chakong/base/status.h"

namespace chakong {

// The check character a resident ID with these 17 leading digits must end with.
// `first17` must be exactly 17 ASCII digits (not checked here).
char resident_id_check_char(std::string_view first17);

// OK for a well-formed resident ID with a real birth date and the right check character.
// kInvalidArgument otherwise, naming the ID (masked) and what is wrong: length, a
// non-digit, an impossible birth date, a lower-case 'x', or the expected check character.
Status validate_resident_id(std::string_view id);

// The check character a credit code with these 17 leading characters must end with, or
// '\0' when one of them is outside the alphabet.
char credit_code_check_char(std::string_view first17);

// What to do with a credit code whose check character is wrong.
enum class ChecksumPolicy { kWarn, kReject };

struct CreditCodeCheck {
  // False when the code is well-formed but its check character is wrong (kWarn policy).
  bool checksum_ok = true;
  // The check character the code should end with.
  char expected_check = '\0';
};

// Validates a unified social credit code. kInvalidArgument for a wrong length, a character
// outside the alphabet (lower-case letters included), or a non-digit in the 6-character
// administrative-division part; for a bad check character only under kReject. Under kWarn
// a bad check character yields OK with checksum_ok = false.
[[nodiscard]] StatusOr<CreditCodeCheck> validate_credit_code(
    std::string_view code, ChecksumPolicy policy = ChecksumPolicy::kWarn);

// Masks an identity or account number for logs and reports: keeps the first four and the
// last four characters, the rest become '*' ("11010519491231002X" -> "1101**********002X").
// Strings of eight characters or fewer are masked whole but for the last two.
std::string mask_id(std::string_view id);

}  // namespace chakong

#endif  // CHAKONG_BASE_IDENTITY_H_
