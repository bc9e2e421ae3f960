// The v1 schema compiles, and a request survives the wire byte for byte.
#include <gtest/gtest.h>

#include "chakong/v1/case.pb.h"
#include "chakong/v1/request.pb.h"

namespace chakong {
namespace {

TEST(ProtoV1Test, RequestRoundTrip) {
  v1::Request req;
  req.set_kind(v1::REQUEST_KIND_FREEZE);
  req.set_idempotency_key("（2024）渝0110执1234号/freeze/1");
  req.set_case_number("（2024）渝0110执1234号");
  req.set_debtor_id("11010519491231002X");
  req.set_officer_id("cq-0110-017");
  req.set_ruling_number("（2024）渝0110执1234号之一");
  req.mutable_asset()->set_category(v1::ASSET_CATEGORY_DEPOSIT);
  req.mutable_asset()->set_institution("bank.icbc");
  req.set_amount(5'000'000'000);
  const std::string bytes = req.SerializeAsString();

  v1::Request back;
  ASSERT_TRUE(back.ParseFromString(bytes));
  EXPECT_EQ(back.kind(), v1::REQUEST_KIND_FREEZE);
  EXPECT_EQ(back.amount(), 5'000'000'000);
  EXPECT_EQ(back.asset().institution(), "bank.icbc");
  EXPECT_EQ(back.SerializeAsString(), bytes);
}

TEST(ProtoV1Test, StatusCodesMatchEngineNumbering) {
  EXPECT_EQ(v1::STATUS_CODE_DATA_LOSS, 15);
  EXPECT_EQ(v1::STATUS_CODE_UNIMPLEMENTED, 12);
}

TEST(ProtoV1Test, TruncatedBytesAreRejected) {
  v1::Case c;
  c.set_case_number("（2024）渝0110执1234号");
  c.set_claim_fen(123456);
  std::string bytes = c.SerializeAsString();
  bytes.resize(bytes.size() - 3);
  v1::Case back;
  EXPECT_FALSE(back.ParseFromString(bytes));
}

}  // namespace
}  // namespace chakong
