// The conformance kit over every registered connector, one test per (connector, check).
#include "chakong/conformance/conformance.h"

#include <gtest/gtest.h>

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

TEST(PluginTest, MissingAndInvalidPluginsAreRefusedNamingThePath) {
  ConnectorRegistry r;
  Status s = load_plugin("/nonexistent/libx.so", r);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message().rfind("cannot load plugin '/nonexistent/libx.so'", 0), 0u) << s;
  // A shared library that is not a plugin.
  s = load_plugin("libm.so.6", r);
  EXPECT_EQ(s, failed_precondition_error("plugin 'libm.so.6' does not export "
                                         "chakong_plugin_abi_version and "
                                         "chakong_register_connectors"));
  s = load_plugin(BAD_ABI_PLUGIN, r);
  EXPECT_EQ(s, failed_precondition_error(std::string("plugin '") + BAD_ABI_PLUGIN +
                                         "' was built for plugin ABI 99, this chakong has ABI 1; "
                                         "rebuild it against these headers"));
  EXPECT_TRUE(r.registered_names().empty());
}

}  // namespace
}  // namespace chakong::connectors
