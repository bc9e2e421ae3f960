#include "chakong/base/case_number.h"

#include <gtest/gtest.h>

namespace chakong {
namespace {

TEST(CaseNumberTest, ParsesFullWidthBrackets) {
  StatusOr<CaseNumber> n = CaseNumber::parse("（2024）渝0110执1234号");
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(n->year(), 2024);
  EXPECT_EQ(n->court(), "渝0110");
  EXPECT_EQ(n->type(), CaseType::kZhi);
  EXPECT_EQ(n->serial(), 1234);
  EXPECT_EQ(n->to_string(), "（2024）渝0110执1234号");
}

TEST(CaseNumberTest, AsciiBracketsFormatAsFullWidth) {
  StatusOr<CaseNumber> n = CaseNumber::parse("(2023)京0105执恢88号");
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(n->type(), CaseType::kZhiHui);
  EXPECT_EQ(n->to_string(), "（2023）京0105执恢88号");
}

TEST(CaseNumberTest, AllTypeCodes) {
  const std::pair<const char*, CaseType> kCases[] = {
      {"（2024）渝0110执1号", CaseType::kZhi},      {"（2024）渝0110执恢2号", CaseType::kZhiHui},
      {"（2024）渝0110执保3号", CaseType::kZhiBao}, {"（2024）渝0110执异4号", CaseType::kZhiYi},
      {"（2024）渝0110执复5号", CaseType::kZhiFu},  {"〔2024〕最高法执监6号", CaseType::kZhiJian},
  };
  for (const auto& [text, type] : kCases) {
    StatusOr<CaseNumber> n = CaseNumber::parse(text);
    ASSERT_TRUE(n.ok()) << text << ": " << n.status().to_string();
    EXPECT_EQ(n->type(), type) << text;
  }
}

TEST(CaseNumberTest, RestoredNumberKeepsCourt) {
  CaseNumber original = *CaseNumber::parse("（2024）渝0110执1234号");
  CaseNumber restored = original.restored(2025, 17);
  EXPECT_EQ(restored.to_string(), "（2025）渝0110执恢17号");
  EXPECT_EQ(restored.court(), original.court());
}

TEST(CaseNumberTest, BadNumbersNameThePart) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"", "case number is empty"},
           Case{"2024渝0110执1234号",
                "case number '2024渝0110执1234号' must start with the year in brackets, e.g. "
                "'（2024）'"},
           Case{"（24）渝0110执1234号",
                "case number '（24）渝0110执1234号' must have a 4-digit year"},
           Case{"（2024)渝0110执1234号",
                "case number '（2024)渝0110执1234号' must close the year with '）'"},
           Case{"（2024）渝0110民1234号",
                "case number '（2024）渝0110民1234号' has no enforcement type code (执, 执恢, "
                "执保, ...)"},
           Case{"（2024）渝0110执行1234号",
                "case number '（2024）渝0110执行1234号' has an unknown type code or no serial "
                "after '执'"},
           Case{"（2024）渝0110执1234",
                "case number '（2024）渝0110执1234' must end with '号' "
                "after the serial"},
           Case{"（2024）执1234号", "case number '（2024）执1234号': court code is empty"},
           Case{"（1989）渝0110执1号",
                "case number '（1989）渝0110执1号': case year 1989 is outside 1990..2200"},
           Case{"（2024）渝0110执0号",
                "case number '（2024）渝0110执0号': case serial 0 must be >= 1"},
       }) {
    StatusOr<CaseNumber> r = CaseNumber::parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.message);
  }
}

TEST(CaseNumberTest, MakeValidatesParts) {
  EXPECT_EQ(CaseNumber::make(2024, "0110", CaseType::kZhi, 1).status().message(),
            "court code '0110' must start with the province abbreviation, not a digit");
  EXPECT_TRUE(CaseNumber::make(2024, "渝0110", CaseType::kZhiBao, 9).ok());
}

}  // namespace
}  // namespace chakong
