#include "chakong/base/money.h"

#include <gtest/gtest.h>

#include <limits>

namespace chakong {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

TEST(FenTest, FormatsWithGroupingAndTwoDecimals) {
  EXPECT_EQ(format_fen(Fen(123456)), "¥1,234.56");
  EXPECT_EQ(format_fen(Fen(0)), "¥0.00");
  EXPECT_EQ(format_fen(Fen(7)), "¥0.07");
  EXPECT_EQ(format_fen(Fen(100)), "¥1.00");
  EXPECT_EQ(format_fen(Fen(578791)), "¥5,787.91");
  EXPECT_EQ(format_fen(Fen::from_yuan(50'000'000)), "¥50,000,000.00");
  EXPECT_EQ(format_fen(Fen(-123456)), "-¥1,234.56");
  EXPECT_EQ(format_fen(Fen(kMax)), "¥92,233,720,368,547,758.07");
  EXPECT_EQ(format_fen(Fen(kMin)), "-¥92,233,720,368,547,758.08");
}

TEST(FenTest, CheckedArithmetic) {
  EXPECT_EQ(*Fen(100).checked_add(Fen(250)), Fen(350));
  EXPECT_EQ(*Fen(100).checked_sub(Fen(250)), Fen(-150));
  StatusOr<Fen> over = Fen(kMax).checked_add(Fen(1));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(over.status().message(), "money overflow: ¥92,233,720,368,547,758.07 + ¥0.01");
  StatusOr<Fen> under = Fen(kMin).checked_sub(Fen(1));
  ASSERT_FALSE(under.ok());
  EXPECT_EQ(under.status().code(), StatusCode::kOutOfRange);
}

TEST(FenDeathTest, PlainOperatorsAbortOnOverflow) {
  EXPECT_DEATH({ (void)(Fen(kMax) + Fen(1)); }, "Fen overflow");
  EXPECT_DEATH({ (void)Fen::from_yuan(kMax / 10); }, "Fen overflow");
}

TEST(FenTest, ParsesYuanAsPeopleWriteIt) {
  EXPECT_EQ(*parse_yuan("1234.56"), Fen(123456));
  EXPECT_EQ(*parse_yuan("1,234.5"), Fen(123450));
  EXPECT_EQ(*parse_yuan("¥1,234.56"), Fen(123456));
  EXPECT_EQ(*parse_yuan("-3"), Fen(-300));
  EXPECT_EQ(*parse_yuan("0.07"), Fen(7));
  EXPECT_EQ(*parse_yuan("92233720368547758.07"), Fen(kMax));
}

struct BadAmount {
  const char* text;
  StatusCode code;
  const char* message;
};

void PrintTo(const BadAmount& a, std::ostream* os) { *os << "'" << a.text << "'"; }

class ParseYuanBadInputTest : public ::testing::TestWithParam<BadAmount> {};

TEST_P(ParseYuanBadInputTest, NamesTheText) {
  StatusOr<Fen> r = parse_yuan(GetParam().text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), GetParam().code);
  EXPECT_EQ(r.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    BadInputs, ParseYuanBadInputTest,
    ::testing::Values(
        BadAmount{"", StatusCode::kInvalidArgument, "amount is empty"},
        BadAmount{"¥", StatusCode::kInvalidArgument, "amount '¥' has no digits"},
        BadAmount{"12a", StatusCode::kInvalidArgument,
                  "amount '12a' has an unexpected character 'a'"},
        BadAmount{"1.234", StatusCode::kInvalidArgument,
                  "amount '1.234' has more than two decimals (fen)"},
        BadAmount{"1.", StatusCode::kInvalidArgument, "amount '1.' ends with a decimal point"},
        BadAmount{".5", StatusCode::kInvalidArgument, "amount '.5' has no whole part"},
        BadAmount{"12,34", StatusCode::kInvalidArgument, "amount '12,34' has a misplaced ','"},
        BadAmount{"1234,567", StatusCode::kInvalidArgument,
                  "amount '1234,567' has a misplaced ','"},
        BadAmount{"92233720368547758.08", StatusCode::kOutOfRange,
                  "amount '92233720368547758.08' overflows int64 fen"},
        BadAmount{"999999999999999999999", StatusCode::kOutOfRange,
                  "amount '999999999999999999999' overflows int64 fen"}));

}  // namespace
}  // namespace chakong
