#include "chakong/base/status.h"

#include <gtest/gtest.h>

namespace chakong {
namespace {

TEST(StatusTest, DefaultIsOkWithoutMessage) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.to_string(), "OK");
}

TEST(StatusTest, OkCodeDropsMessage) {
  Status s(StatusCode::kOk, "ignored");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, ErrorFormatsCodeAndMessage) {
  Status s = deadline_exceeded_error("bank.icbc did not answer in 30s");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(s.to_string(), "DEADLINE_EXCEEDED: bank.icbc did not answer in 30s");
}

TEST(StatusTest, CodeNamesMatchWireNumbering) {
  EXPECT_EQ(static_cast<int>(StatusCode::kDataLoss), 15);
  EXPECT_EQ(status_code_name(StatusCode::kPermissionDenied), "PERMISSION_DENIED");
  EXPECT_EQ(status_code_name(static_cast<StatusCode>(99)), "UNKNOWN_CODE(99)");
}

TEST(StatusOrTest, HoldsValueOrError) {
  StatusOr<int> v = 42;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 42);
  StatusOr<int> e = not_found_error("no account");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(e.value_or(7), 7);
}

TEST(StatusOrTest, OkStatusBecomesInternalError) {
  StatusOr<int> e = ok_status();
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInternal);
}

TEST(StatusOrDeathTest, ValueOfErrorAborts) {
  StatusOr<int> e = unavailable_error("bank down");
  EXPECT_DEATH({ (void)e.value(); }, "UNAVAILABLE: bank down");
}

Status fails_at_second() {
  CHAKONG_RETURN_IF_ERROR(ok_status());
  CHAKONG_RETURN_IF_ERROR(invalid_argument_error("second"));
  return internal_error("not reached");
}

TEST(StatusTest, ReturnIfErrorReturnsFirstError) {
  EXPECT_EQ(fails_at_second(), invalid_argument_error("second"));
}

}  // namespace
}  // namespace chakong
