// The conformance kit over every built-in connector, one test per (connector, check). Its own
// binary, linking only the kit and the connectors, so that the ThreadSanitizer step of
// scripts/test.sh can build it in a handful of targets (docs/testing.md).
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "chakong/conformance/conformance.h"
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/factory.h"

namespace chakong::connectors {
namespace {

const ConnectorRegistry& registry() {
  static const ConnectorRegistry* r = [] {
    auto* reg = new ConnectorRegistry();
    EXPECT_TRUE(register_builtin_connectors(*reg).ok());
    return reg;
  }();
  return *r;
}

using Param = std::tuple<std::string, std::string>;  // (kind, check)

class ConformanceTest : public ::testing::TestWithParam<Param> {};

TEST_P(ConformanceTest, Passes) {
  const auto& [kind, check] = GetParam();
  const ConnectorFactory* f = registry().find(kind);
  ASSERT_NE(f, nullptr);
  for (uint64_t seed : {1, 2}) {
    conformance::CheckResult r = conformance::run_check(*f, check, {seed});
    if (r.result == conformance::Result::kSkip) GTEST_SKIP() << r.detail;
    EXPECT_EQ(r.result, conformance::Result::kPass) << "seed " << seed << ": " << r.detail;
  }
}

INSTANTIATE_TEST_SUITE_P(AllConnectors, ConformanceTest,
                         ::testing::Combine(::testing::ValuesIn(registry().registered_names()),
                                            ::testing::ValuesIn(conformance::check_names())),
                         [](const ::testing::TestParamInfo<Param>& p) {
                           return std::get<0>(p.param) + "_" + std::get<1>(p.param);
                         });

TEST(RegistryTest, BuiltinsAreRegisteredOnceEach) {
  EXPECT_EQ(registry().registered_names(),
            (std::vector<std::string>{"bank", "provident_fund", "real_estate", "reference",
                                      "securities", "vehicle"}));
  EXPECT_EQ(registry().find("bank.icbc"), registry().find("bank"));
  EXPECT_EQ(registry().find("trust"), nullptr);
  ConnectorRegistry again;
  ASSERT_TRUE(register_builtin_connectors(again).ok());
  EXPECT_EQ(register_builtin_connectors(again).code(), StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace chakong::connectors
