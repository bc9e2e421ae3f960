#include "chakong/base/identity.h"

#include <gtest/gtest.h>

namespace chakong {
namespace {

TEST(ResidentIdTest, DomainExampleIsValid) {
  EXPECT_EQ(resident_id_check_char("11010519491231002"), 'X');
  EXPECT_TRUE(validate_resident_id("11010519491231002X").ok());
}

TEST(ResidentIdTest, OtherValidIds) {
  EXPECT_TRUE(validate_resident_id("500110200002290017").ok());  // Born 29 Feb 2000.
  EXPECT_TRUE(validate_resident_id("110101202401010019").ok());
}

struct BadId {
  const char* id;
  const char* message;
};

void PrintTo(const BadId& b, std::ostream* os) { *os << "'" << b.id << "'"; }

class ResidentIdBadInputTest : public ::testing::TestWithParam<BadId> {};

TEST_P(ResidentIdBadInputTest, RefusedNamingTheProblem) {
  Status s = validate_resident_id(GetParam().id);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    BadInputs, ResidentIdBadInputTest,
    ::testing::Values(
        BadId{"", "resident ID is empty"},
        BadId{"1101051949123100", "resident ID '1101********3100' has 16 characters, expected 18"},
        BadId{"11010519491231002X1",
              "resident ID '1101***********02X1' has 19 characters, expected 18"},
        BadId{"110105194912310021",
              "resident ID '1101**********0021' has check character '1', expected 'X'"},
        BadId{"11010519491231002x",
              "resident ID '1101**********002x' ends in lower-case 'x'; the check character is "
              "'X'"},
        BadId{"1101051949123A002X",
              "resident ID '1101**********002X' has a non-digit at position 14"},
        BadId{"110105194913310028",
              "resident ID '1101**********0028' has an impossible birth date '19491331'"},
        BadId{"500110200102290011",
              "resident ID '5001**********0011' has an impossible birth date '20010229'"}));

TEST(CreditCodeTest, DomainExampleIsValid) {
  EXPECT_EQ(credit_code_check_char("91350100M000100Y4"), '3');
  StatusOr<CreditCodeCheck> r = validate_credit_code("91350100M000100Y43");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->checksum_ok);
  EXPECT_EQ(r->expected_check, '3');
  EXPECT_TRUE(validate_credit_code("91110000600037341L").ok());
}

TEST(CreditCodeTest, ChecksumFailureWarnsByDefault) {
  StatusOr<CreditCodeCheck> r = validate_credit_code("91350100M000100Y44");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->checksum_ok);
  EXPECT_EQ(r->expected_check, '3');
}

TEST(CreditCodeTest, ChecksumFailureRejectedUnderRejectPolicy) {
  StatusOr<CreditCodeCheck> r = validate_credit_code("91350100M000100Y44", ChecksumPolicy::kReject);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "credit code '9135**********0Y44' has check character '4', expected '3'");
}

class CreditCodeBadInputTest : public ::testing::TestWithParam<BadId> {};

TEST_P(CreditCodeBadInputTest, RefusedNamingTheProblem) {
  StatusOr<CreditCodeCheck> r = validate_credit_code(GetParam().id);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    BadInputs, CreditCodeBadInputTest,
    ::testing::Values(
        BadId{"", "credit code is empty"},
        BadId{"91350100M000100Y4",
              "credit code '9135*********00Y4' has 17 characters, expected 18"},
        BadId{"91350100m000100Y43",
              "credit code '9135**********0Y43' has a lower-case letter at position 9"},
        BadId{"91350100I000100Y43",
              "credit code '9135**********0Y43' has a character outside the GB 32100 alphabet "
              "at position 9"},
        BadId{"9135A100M000100Y43",
              "credit code '9135**********0Y43' has a non-digit in the administrative "
              "division code at position 5"}));

TEST(MaskIdTest, KeepsFirstAndLastFour) {
  EXPECT_EQ(mask_id("11010519491231002X"), "1101**********002X");
  EXPECT_EQ(mask_id("6222021234567890123"), "6222***********0123");
  EXPECT_EQ(mask_id("12345678"), "******78");
  EXPECT_EQ(mask_id(""), "");
}

}  // namespace
}  // namespace chakong
