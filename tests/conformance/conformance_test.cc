// Plugin loading and the `chakong conformance` CLI (the kit itself over every built-in
// connector is tests/conformance/kit_test.cc).
#include "chakong/conformance/conformance.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "chakong/connectors/builtin.h"
#include "chakong/connectors/factory.h"
#include "crash_detail.h"

namespace chakong::connectors {
namespace {

TEST(PluginTest, MissingAndInvalidPluginsAreRefusedNamingThePath) {
  ConnectorRegistry r;
  Status s = load_plugin("/nonexistent/libx.so", r);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message().rfind("cannot load plugin '/nonexistent/libx.so'", 0), 0u) << s;
  // A shared library that is not a plugin.
  s = load_plugin(NOT_A_PLUGIN, r);
  EXPECT_EQ(s, failed_precondition_error(std::string("plugin '") + NOT_A_PLUGIN +
                                         "' does not export chakong_plugin_abi_version and "
                                         "chakong_register_connectors_v2"));
  s = load_plugin(BAD_ABI_PLUGIN, r);
  EXPECT_EQ(s, failed_precondition_error(std::string("plugin '") + BAD_ABI_PLUGIN +
                                         "' was built for plugin ABI 99, this chakong has ABI 4; "
                                         "rebuild it against these headers"));
  EXPECT_TRUE(r.registered_names().empty());
}

// A plugin of ABI 1 (void chakong_register_connectors, the vector/std::function contract) is
// refused before its entry point is called (it aborts if called).
TEST(PluginTest, AnAbi1PluginIsRefusedNamingBothVersions) {
  EXPECT_EQ(kPluginAbiVersion, 4);
  ConnectorRegistry r;
  Status s = load_plugin(ABI1_PLUGIN, r);
  EXPECT_EQ(s, failed_precondition_error(std::string("plugin '") + ABI1_PLUGIN +
                                         "' was built for plugin ABI 1, this chakong has ABI 4; "
                                         "rebuild it against these headers"));
  EXPECT_TRUE(r.registered_names().empty());
}

// A plugin of ABI 2 has the entry point of ABI 3 (chakong_register_connectors_v2) but passes a
// std::function where the host's TransportDone is a UniqueFunction: it is refused on its version
// alone, before that entry point is called (it aborts if called).
TEST(PluginTest, AnAbi2PluginIsRefusedNamingBothVersions) {
  ConnectorRegistry r;
  Status s = load_plugin(ABI2_PLUGIN, r);
  EXPECT_EQ(s, failed_precondition_error(std::string("plugin '") + ABI2_PLUGIN +
                                         "' was built for plugin ABI 2, this chakong has ABI 4; "
                                         "rebuild it against these headers"));
  EXPECT_TRUE(r.registered_names().empty());
}

// The ABI 2 entry point reports its own failure: code and message, and nothing registered.
TEST(PluginTest, ARegistrationThatFailsInThePluginIsReportedWithItsMessage) {
  ConnectorRegistry r;
  Status s = load_plugin(FAILING_PLUGIN, r);
  EXPECT_EQ(s, already_exists_error(std::string("plugin '") + FAILING_PLUGIN +
                                    "' could not register its connectors (ALREADY_EXISTS): "
                                    "connector kind 'twice' is already registered; nothing was "
                                    "registered"));
  EXPECT_TRUE(r.registered_names().empty());
}

TEST(PluginTest, PluginStatusCopiesTheMessageTruncated) {
  char buf[8] = "xxxxxxx";
  EXPECT_EQ(plugin_status(ok_status(), buf, sizeof buf), 0);
  EXPECT_STREQ(buf, "xxxxxxx");
  EXPECT_EQ(plugin_status(already_exists_error("connector kind 'b'"), buf, sizeof buf),
            static_cast<int>(StatusCode::kAlreadyExists));
  EXPECT_STREQ(buf, "connect");
  EXPECT_EQ(plugin_status(internal_error("x"), nullptr, 0),
            static_cast<int>(StatusCode::kInternal));
}

// Runs `command` in a shell: (exit status, stdout).
std::pair<int, std::string> run(const std::string& command) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

// Runs `f` with the current directory set to `dir`.
template <typename F>
void in_directory(const std::filesystem::path& dir, F f) {
  const std::filesystem::path old = std::filesystem::current_path();
  std::filesystem::current_path(dir);
  f();
  std::filesystem::current_path(old);
}

TEST(PluginTest, APathWithoutSlashIsTakenFromTheCurrentDirectory) {
  const std::filesystem::path plugin(NOT_A_PLUGIN);
  const std::string file = plugin.filename().string();
  in_directory(plugin.parent_path(), [&] {
    ConnectorRegistry r;
    // Found in the current directory (dlopen alone would search the library path).
    EXPECT_EQ(load_plugin(file, r).message(),
              "plugin '" + file +
                  "' does not export chakong_plugin_abi_version and "
                  "chakong_register_connectors_v2");
  });
  in_directory(std::filesystem::temp_directory_path(), [&] {
    ConnectorRegistry r;
    Status s = load_plugin("libchakong_no_such_plugin.so", r);
    EXPECT_EQ(s.code(), StatusCode::kNotFound);
    EXPECT_NE(s.message().find(
                  "no such file '" +
                  (std::filesystem::current_path() / "libchakong_no_such_plugin.so").string() +
                  "' (a path without '/' is taken from the current directory"),
              std::string::npos)
        << s;
  });
}

TEST(PluginTest, AKindAlreadyRegisteredIsNamedAndTheOthersAreKept) {
  ConnectorRegistry r;
  ASSERT_TRUE(register_builtin_connectors(r).ok());
  const ConnectorFactory* bank = r.find("bank");
  Status s = load_plugin(DUP_KIND_PLUGIN, r);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s;
  EXPECT_NE(s.message().find("registers connector kind 'bank', already registered"),
            std::string::npos)
      << s;
  EXPECT_NE(s.message().find("its other kinds were registered: dup_extra"), std::string::npos) << s;
  EXPECT_EQ(r.find("bank"), bank);  // The built-in stays.
  ASSERT_NE(r.find("dup_extra"), nullptr);
  EXPECT_EQ(r.find("dup_extra")->kind(), "dup_extra");
}

TEST(PluginTest, TwoPluginsWithOneProtoFileNameAreRefusedNotCrashed) {
  ConnectorRegistry r;
  ASSERT_TRUE(load_plugin(CONFLICT_A_PLUGIN, r).ok());
  Status s = load_plugin(CONFLICT_B_PLUGIN, r);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(
      s.message().find(std::string("plugin '") + CONFLICT_B_PLUGIN + "' and plugin '" +
                       CONFLICT_A_PLUGIN + "' both define the Protobuf file 'conflict.proto'"),
      std::string::npos)
      << s;
  EXPECT_NE(r.find("conflict_a"), nullptr);
  EXPECT_EQ(r.find("conflict_b"), nullptr);
}

// The CLI on a plugin adapter that segfaults in async_submit(): each check fails naming the
// signal, the run reports every check and its summary, exit 1.
TEST(ConformanceCliTest, ASegfaultingPluginFailsItsChecksAndTheRunGoesOn) {
  auto [code, out] = run(std::string(CHAKONG_CLI) + " conformance --plugin " + SEGV_PLUGIN +
                         " --connector segv --check query_finds_seeded_assets --check "
                         "freeze_caps_at_available --json");
  EXPECT_EQ(code, 1) << out;
  const std::string crashed = "\"result\": \"fail\", \"detail\": \"" +
                              ::chakong::conformance::testing_support::segfault_detail() + "\"";
  EXPECT_NE(out.find("{\"connector\": \"segv.sandbox\", \"check\": "
                     "\"query_finds_seeded_assets\", " +
                     crashed),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("{\"connector\": \"segv.sandbox\", \"check\": "
                     "\"freeze_caps_at_available\", " +
                     crashed),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("{\"connector\": \"segv.sandbox\", \"summary\": true, \"passed\": 0, "
                     "\"failed\": 2, \"skipped\": 0}"),
            std::string::npos)
      << out;
}

// The CLI on a broken plugin adapter (one response fewer than requests): every check is
// reported as it finishes, each fails naming rule 1, exit 1, no crash.
TEST(ConformanceCliTest, ABrokenPluginFailsEveryCheckWithTheRuleAndExits1) {
  auto [code, out] = run(std::string(CHAKONG_CLI) + " conformance --plugin " + SHORT_PLUGIN +
                         " --connector short --json");
  EXPECT_EQ(code, 1) << out;
  std::istringstream lines(out);
  std::string line;
  size_t checks = 0, rule1 = 0;
  std::string last;
  while (std::getline(lines, line)) {
    last = line;
    if (line.find("\"check\": ") == std::string::npos) continue;
    ++checks;
    if (line.find("rule 1 (one response per request)") != std::string::npos) ++rule1;
  }
  EXPECT_EQ(checks, conformance::check_names().size()) << out;
  EXPECT_GE(rule1, 15u) << out;
  EXPECT_NE(out.find("\"check\": \"shutdown_drains_calls\", \"result\": \"fail\", \"detail\": "
                     "\"rule 1 (one response per request): query batch of 1 completed with 0 "
                     "responses"),
            std::string::npos)
      << out;
  EXPECT_EQ(last.rfind("{\"connector\": \"short.sandbox\", \"summary\": true, \"passed\": ", 0), 0u)
      << last;
}

TEST(ConformanceCliTest, ExitCodes) {
  const std::string cli = CHAKONG_CLI;
  EXPECT_EQ(run(cli + " conformance --connector reference --check query_finds_seeded_assets").first,
            0);
  EXPECT_EQ(run(cli + " conformance --connector nosuch").first, 2);
  EXPECT_EQ(run(cli + " conformance --check nosuch").first, 2);
  EXPECT_EQ(run(cli + " conformance --no-such-flag").first, 2);
  auto [code, out] = run(cli + " conformance --plugin " + BAD_ABI_PLUGIN);
  EXPECT_EQ(code, 2) << out;
  std::tie(code, out) = run(cli + " conformance --plugin " + DUP_KIND_PLUGIN);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("connector kind 'bank'"), std::string::npos) << out;
  std::tie(code, out) = run(cli + " conformance --plugin " + FAILING_PLUGIN);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("could not register its connectors (ALREADY_EXISTS): connector kind 'twice' "
                     "is already registered"),
            std::string::npos)
      << out;
  std::tie(code, out) = run(cli + " conformance --plugin " + ABI1_PLUGIN);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("was built for plugin ABI 1, this chakong has ABI 4"), std::string::npos)
      << out;
  std::tie(code, out) = run(cli + " conformance --plugin " + ABI2_PLUGIN);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("was built for plugin ABI 2, this chakong has ABI 4"), std::string::npos)
      << out;
  std::tie(code, out) =
      run(cli + " conformance --plugin " + CONFLICT_A_PLUGIN + " --plugin " + CONFLICT_B_PLUGIN);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("both define the Protobuf file 'conflict.proto'"), std::string::npos) << out;
  std::tie(code, out) = run(cli + " conformance --plugin " + SHORT_PLUGIN +
                            " --connector short --check query_finds_seeded_assets");
  EXPECT_EQ(code, 1) << out;
}

}  // namespace
}  // namespace chakong::connectors
