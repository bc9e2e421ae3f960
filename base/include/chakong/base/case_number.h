// Case numbers (案号): "（2024）渝0110执1234号" = year, court code, type code, serial.
//
// Parsing accepts full-width （） and ASCII () brackets, and also 〔〕; formatting always
// writes full-width brackets. The type codes are the six enforcement types. A restored case
// (恢复执行) gets a new 执恢 number in the same court, linked to the original.
//
//   StatusOr<CaseNumber> n = CaseNumber::parse("(2024)渝0110执1234号");
//   CaseNumber restored = n->restored(2025, 17);  // "（2025）渝0110执恢17号"
#ifndef CHAKONG_BASE_CASE_NUMBER_H_
#define CHAKONG_BASE_CASE_NUMBER_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "chakong/base/status.h"

namespace chakong {

enum class CaseType : uint8_t {
  kZhi = 1,      // 执: first enforcement.
  kZhiHui = 2,   // 执恢: restored after termination.
  kZhiBao = 3,   // 执保: preservation.
  kZhiYi = 4,    // 执异: objection.
  kZhiFu = 5,    // 执复: review.
  kZhiJian = 6,  // 执监: supervision.
};

// "执", "执恢", ...
std::string_view case_type_code(CaseType type);

class CaseNumber {
 public:
  // An empty number (year 0); only a placeholder until assigned from make() or parse().
  CaseNumber() = default;
  // Builds a number from parts; kInvalidArgument naming the field for a year outside
  // 1990..2200, an empty or malformed court code, or a serial < 1.
  [[nodiscard]] static StatusOr<CaseNumber> make(int year, std::string court, CaseType type,
                                                 int64_t serial);
  // Parses a full case number. kInvalidArgument naming the text and the part that is wrong
  // (brackets, year, court code, type code, serial, the closing 号).
  [[nodiscard]] static StatusOr<CaseNumber> parse(std::string_view text);

  int year() const { return year_; }
  const std::string& court() const { return court_; }
  CaseType type() const { return type_; }
  int64_t serial() const { return serial_; }

  // "（2024）渝0110执1234号".
  std::string to_string() const;

  // The 执恢 number of this case restored in `year` with the court's next 执恢 `serial`.
  CaseNumber restored(int year, int64_t serial) const;

  friend bool operator==(const CaseNumber&, const CaseNumber&) = default;

 private:
  int year_ = 0;
  std::string court_;
  CaseType type_ = CaseType::kZhi;
  int64_t serial_ = 0;
};

}  // namespace chakong

#endif  // CHAKONG_BASE_CASE_NUMBER_H_
