// Golden exchanges (conformance.h, load_golden()): every built-in adapter passes the shipped
// conformance/golden/ files, and an adapter whose codec is wrong the same way on both sides
// (yuan instead of fen, on encode and on decode) passes every round-trip check of the kit but
// fails its golden exchange, naming the field.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bank/bank_codec.h"
#include "chakong/conformance/conformance.h"
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/wire_connector.h"

namespace chakong::connectors {
namespace {

const std::string kGoldenDir = std::string(CHAKONG_SOURCE_DIR) + "/conformance/golden";

// The bank protocol with every amount in yuan (fen / 100) instead of fen, on the adapter's side
// and on the sandbox institution's: the round trip through its own inverse codec is exact for
// whole yuan, so only a golden exchange of the real bank shows the mistake.
struct YuanBankCodec : bank::BankCodec {
  static std::string encode_requests(BatchView batch) {
    bank::v1::BankInstructionFile f;
    f.ParseFromString(bank::BankCodec::encode_requests(batch));
    for (auto& i : *f.mutable_instructions()) i.set_amount_fen(i.amount_fen() / 100);
    return f.SerializeAsString();
  }
  static StatusOr<std::vector<Request>> decode_requests(std::string_view bytes) {
    bank::v1::BankInstructionFile f;
    if (!f.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return invalid_argument_error("instruction file does not parse");
    }
    for (auto& i : *f.mutable_instructions()) i.set_amount_fen(i.amount_fen() * 100);
    return bank::BankCodec::decode_requests(f.SerializeAsString());
  }
  static std::string encode_responses(const std::vector<std::pair<std::string, Response>>& rs) {
    bank::v1::BankResultFile f;
    f.ParseFromString(bank::BankCodec::encode_responses(rs));
    scale(f, [](int64_t fen) { return fen / 100; });
    return f.SerializeAsString();
  }
  static StatusOr<std::vector<std::pair<std::string, Response>>> decode_responses(
      std::string_view bytes) {
    bank::v1::BankResultFile f;
    if (!f.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return invalid_argument_error("result file does not parse");
    }
    scale(f, [](int64_t yuan) { return yuan * 100; });
    return bank::BankCodec::decode_responses(f.SerializeAsString());
  }
  template <typename F>
  static void scale(bank::v1::BankResultFile& f, F by) {
    for (auto& r : *f.mutable_results()) {
      r.set_requested_fen(by(r.requested_fen()));
      r.set_frozen_fen(by(r.frozen_fen()));
      r.set_balance_fen(by(r.balance_fen()));
      r.set_shortfall_fen(by(r.shortfall_fen()));
      for (auto& a : *r.mutable_accounts()) a.set_available_fen(by(a.available_fen()));
      for (auto& p : *r.mutable_priors()) p.set_amount_fen(by(p.amount_fen()));
    }
  }
};

conformance::Options golden_options(uint64_t seed = 1) {
  conformance::Options o;
  o.seed = seed;
  StatusOr<std::vector<conformance::GoldenFile>> g = conformance::load_golden(kGoldenDir);
  EXPECT_TRUE(g.ok()) << g.status();
  if (g.ok()) o.golden = *g;
  return o;
}

TEST(GoldenTest, TheShippedFilesCoverEveryBuiltInKind) {
  ConnectorRegistry registry;
  ASSERT_TRUE(register_builtin_connectors(registry).ok());
  const conformance::Options o = golden_options();
  std::vector<std::string> names;
  for (const conformance::GoldenFile& g : o.golden) names.push_back(g.name);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "golden:bank/measure_status",
                       "golden:bank/measures_in_two_files",
                       "golden:bank/query_and_freeze",
                       "golden:provident_fund/deduct_not_allowed",
                       "golden:provident_fund/measure_status",
                       "golden:provident_fund/query_freeze_deduct",
                       "golden:real_estate/measure_status",
                       "golden:real_estate/query_seal_waiting_release",
                       "golden:reference/measure_status",
                       "golden:reference/query_and_freeze",
                       "golden:securities/measure_status",
                       "golden:securities/query_freeze_by_units",
                       "golden:securities/waiting_renew_unfreeze",
                       "golden:vehicle/measure_status",
                       "golden:vehicle/query_seal_waiting_release",
                   }));
  for (const std::string& kind : registry.registered_names()) {
    const bool has = std::any_of(o.golden.begin(), o.golden.end(),
                                 [&](const conformance::GoldenFile& g) { return g.kind == kind; });
    EXPECT_TRUE(has) << kind;
  }
}

TEST(GoldenTest, EveryBuiltInAdapterPassesItsGoldenExchanges) {
  ConnectorRegistry registry;
  ASSERT_TRUE(register_builtin_connectors(registry).ok());
  conformance::Options o = golden_options();
  o.checks = {"golden"};
  for (const std::string& kind : registry.registered_names()) {
    conformance::Report r = conformance::run(*registry.find(kind), o);
    EXPECT_GE(r.passed, 1) << kind;
    EXPECT_EQ(r.failed, 0) << kind;
    EXPECT_EQ(r.skipped, 0) << kind;
    for (const conformance::CheckResult& c : r.checks) {
      EXPECT_EQ(c.name.rfind("golden:" + kind + "/", 0), 0u) << c.name;
      EXPECT_EQ(c.result, conformance::Result::kPass) << c.name << ": " << c.detail;
    }
  }
  // The detail says what was compared.
  conformance::CheckResult c =
      conformance::run_check(*registry.find("bank"), "golden:bank/measures_in_two_files", o);
  EXPECT_EQ(c.detail, "5 requests, 2 wire calls: sent and decoded as recorded");
}

// Seed 4: the sandbox's assets are whole yuan and so is half of the first (deduct), so that
// the yuan codec's round trip loses nothing.
TEST(GoldenTest, AYuanCodecPassesTheRoundTripButFailsTheGoldenExchange) {
  WireConnectorFactory<YuanBankCodec> yuan;
  conformance::Options o = golden_options(4);
  o.checks = conformance::check_names();
  conformance::Report round_trip = conformance::run(yuan, o);
  EXPECT_EQ(round_trip.failed, 0);
  for (const conformance::CheckResult& c : round_trip.checks) {
    EXPECT_NE(c.result, conformance::Result::kFail) << c.name << ": " << c.detail;
  }

  conformance::CheckResult r = conformance::run_check(yuan, "golden:bank/query_and_freeze", o);
  EXPECT_EQ(r.name, "golden:bank/query_and_freeze");
  EXPECT_EQ(r.result, conformance::Result::kFail);
  EXPECT_EQ(r.detail,
            "golden encode: wire call 1: instructions[1].amount_fen: expected 150000, got 1500; "
            "golden encode: wire call 1: instructions[2].amount_fen: expected 2000000, got 20000; "
            "golden decode: responses[0].assets[0].value_fen: expected 1234500, got 123450000; "
            "golden decode: responses[0].assets[1].value_fen: expected 500000, got 50000000; "
            "golden decode: responses[1].requested: expected 150000, got 15000000; "
            "golden decode: responses[1].frozen: expected 150000, got 15000000; and 3 more");

  // The whole run: the golden exchanges of its kind after the checks, all three failed (the
  // freeze status's amounts too).
  o.checks.clear();
  std::vector<std::string> streamed;
  conformance::Report all = conformance::run(
      yuan, o, [&](const conformance::CheckResult& c) { streamed.push_back(c.name); });
  EXPECT_EQ(all.failed, 3);
  ASSERT_EQ(streamed.size(), conformance::check_names().size() + 3);
  EXPECT_EQ(streamed[streamed.size() - 3], "golden:bank/measure_status");
  EXPECT_EQ(streamed[streamed.size() - 2], "golden:bank/measures_in_two_files");
  EXPECT_EQ(streamed.back(), "golden:bank/query_and_freeze");
}

// A kind with no golden file in the set is told, not passed silently.
TEST(GoldenTest, AKindWithoutGoldenFilesIsSkippedWithTheReason) {
  ConnectorRegistry registry;
  ASSERT_TRUE(register_builtin_connectors(registry).ok());
  conformance::Options o = golden_options();
  std::erase_if(o.golden, [](const conformance::GoldenFile& g) { return g.kind == "vehicle"; });
  o.checks = {"golden"};
  conformance::Report r = conformance::run(*registry.find("vehicle"), o);
  ASSERT_EQ(r.checks.size(), 1u);
  EXPECT_EQ(r.checks[0].name, "golden");
  EXPECT_EQ(r.checks[0].result, conformance::Result::kSkip);
  EXPECT_EQ(r.checks[0].detail, "no golden exchange of kind 'vehicle'");
}

class GoldenFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("chakong_golden_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::filesystem::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  // Runs `check` of the built-in bank adapter with the golden files written in dir_.
  conformance::CheckResult run_bank_check(const std::string& check) {
    ConnectorRegistry registry;
    EXPECT_TRUE(register_builtin_connectors(registry).ok());
    conformance::Options o;
    StatusOr<std::vector<conformance::GoldenFile>> g = conformance::load_golden(dir_.string());
    EXPECT_TRUE(g.ok()) << g.status();
    if (!g.ok()) return {};
    o.golden = *g;
    return conformance::run_check(*registry.find("bank"), check, o);
  }
  std::filesystem::path dir_;
};

TEST_F(GoldenFilesTest, BadFilesAreRefusedNamingFileLineAndField) {
  EXPECT_EQ(conformance::load_golden((dir_ / "none").string()).status(),
            not_found_error("golden directory '" + (dir_ / "none").string() + "' does not exist"));
  EXPECT_EQ(conformance::load_golden(dir_.string()).status(),
            not_found_error("no *.textproto file under '" + dir_.string() + "'"));

  std::string path = write("a.textproto", "kind: \"bank\"\nrequests { kind: NO_SUCH_KIND }\n");
  EXPECT_EQ(conformance::load_golden(dir_.string()).status(),
            invalid_argument_error(path +
                                   ":2:31: Unknown enumeration value of \"NO_SUCH_KIND\" for field "
                                   "\"kind\"."));

  path = write("a.textproto", "requests { kind: REQUEST_KIND_QUERY }\nresponses {}\n");
  EXPECT_EQ(conformance::load_golden(dir_.string()).status(),
            invalid_argument_error(path + ": kind is not set"));

  path = write("a.textproto", "kind: \"bank\"\nrequests { kind: REQUEST_KIND_QUERY }\n");
  EXPECT_EQ(
      conformance::load_golden(dir_.string()).status(),
      invalid_argument_error(path + ": 1 requests but 0 responses (one response per request)"));

  path = write("a.textproto",
               "kind: \"bank\"\nrequests { kind: REQUEST_KIND_QUERY }\nresponses {}\n"
               "calls { request { type_url: \"type.googleapis.com/acme.v1.Nothing\" } }\n");
  EXPECT_EQ(conformance::load_golden(dir_.string()).status(),
            invalid_argument_error(path +
                                   ": calls[0].request: message type "
                                   "'type.googleapis.com/acme.v1.Nothing' is not known (its .proto "
                                   "is neither built in nor in a loaded plugin)"));
}

// Raw bytes (an Any without type_url) are compared byte for byte; the reply's bytes reach the
// decoder as recorded.
TEST_F(GoldenFilesTest, RawBytesAreComparedByteForByte) {
  write("raw.textproto", R"(kind: "bank"
requests { kind: REQUEST_KIND_QUERY idempotency_key: "q" }
calls {
  request { value: "\n\007\n\001q\022\00201" }
  reply { value: "\n\005\n\001q\020\014" }
}
responses { code: STATUS_CODE_UNIMPLEMENTED }
)");
  const conformance::CheckResult r = run_bank_check("golden:raw");
  EXPECT_EQ(r.result, conformance::Result::kFail);
  // The bank sends code "00" for a query; the recording says "01" (a freeze).
  EXPECT_EQ(r.detail,
            "golden encode: wire call 1: the bytes sent differ from the recorded request from "
            "byte 8 (sent 9 bytes, recorded 9): expected \"1\", got \"0\"");
}

// The number of wire calls is part of the exchange: with max_batch 1 two queries are two calls,
// and a call the exchange has no reply for is answered UNAVAILABLE.
TEST_F(GoldenFilesTest, AnUnrecordedWireCallIsNamed) {
  write("split.textproto", R"(kind: "bank"
config { [type.googleapis.com/chakong.connectors.bank.v1.BankConfig] { max_batch: 1 } }
requests { kind: REQUEST_KIND_QUERY idempotency_key: "q1" }
requests { kind: REQUEST_KIND_QUERY idempotency_key: "q2" }
calls {
  request { [type.googleapis.com/chakong.connectors.bank.v1.BankInstructionFile] {
    instructions { serial: "q1" code: "00" } instructions { serial: "q2" code: "00" } } }
  reply { [type.googleapis.com/chakong.connectors.bank.v1.BankResultFile] {
    results { serial: "q1" status: 5 } results { serial: "q2" status: 5 } } }
}
responses { code: STATUS_CODE_NOT_FOUND }
responses { code: STATUS_CODE_NOT_FOUND }
)");
  const conformance::CheckResult r = run_bank_check("golden:split");
  EXPECT_EQ(r.result, conformance::Result::kFail);
  EXPECT_EQ(
      r.detail,
      "golden encode: the connector made 2 wire calls for the batch, the exchange records 1; "
      "golden encode: wire call 1: instructions[1]: expected { serial: \"q2\" code: \"00\" }, "
      "got none; golden decode: responses[1].code: expected STATUS_CODE_NOT_FOUND, got "
      "STATUS_CODE_UNAVAILABLE");
}

// Runs `command` in a shell: (exit status, stdout and stderr).
std::pair<int, std::string> run(const std::string& command) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

TEST(GoldenCliTest, GoldenExchangesAreChecksOfTheirKind) {
  const std::string cli = CHAKONG_CLI;
  auto [code, out] = run(cli + " conformance --connector securities --golden " + kGoldenDir +
                         " --check golden --json");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("{\"connector\": \"securities.sandbox\", \"check\": "
                     "\"golden:securities/query_freeze_by_units\", \"result\": \"pass\", "
                     "\"detail\": \"3 requests, 1 wire call: sent and decoded as recorded\""),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("{\"connector\": \"securities.sandbox\", \"summary\": true, \"passed\": 3, "
                     "\"failed\": 0, \"skipped\": 0}"),
            std::string::npos)
      << out;
  // One golden file named: it runs for its kind only, every other connector runs nothing.
  std::tie(code, out) = run(cli + " conformance --golden " + kGoldenDir +
                            " --check golden:vehicle/query_seal_waiting_release");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("vehicle.sandbox: 1 passed, 0 failed, 0 skipped"), std::string::npos) << out;
  EXPECT_NE(out.find("bank.sandbox: 0 passed, 0 failed, 0 skipped"), std::string::npos) << out;
  std::tie(code, out) = run(cli + " conformance --golden /nonexistent/golden");
  EXPECT_EQ(code, 2) << out;
  std::tie(code, out) = run(cli + " conformance --golden " + kGoldenDir + " --check golden:nosuch");
  EXPECT_EQ(code, 2) << out;
}

// The yuan codec as a plugin, through the CLI: every sandbox check passes, its golden exchange
// fails naming the field both ways, exit 1.
TEST(GoldenCliTest, AYuanPluginFailsItsGoldenExchangeAndExits1) {
  auto [code, out] = run(std::string(CHAKONG_CLI) + " conformance --plugin " + YUAN_PLUGIN +
                         " --connector yuan --seed 4 --golden " + CHAKONG_SOURCE_DIR +
                         "/tests/connectors/golden --json");
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("{\"connector\": \"yuan.sandbox\", \"check\": \"golden:yuan/freeze\", "
                     "\"result\": \"fail\", \"detail\": \"golden encode: wire call 1: "
                     "orders[0].amount_fen: expected 150000, got 1500; golden decode: "
                     "responses[0].requested: expected 150000, got 15000000; golden decode: "
                     "responses[0].frozen: expected 150000, got 15000000; golden decode: "
                     "responses[0].balance: expected 1084500, got 108450000\""),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("{\"connector\": \"yuan.sandbox\", \"summary\": true, \"passed\": " +
                     std::to_string(conformance::check_names().size() - 1) +
                     ", \"failed\": 1, \"skipped\": 1}"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace chakong::connectors
