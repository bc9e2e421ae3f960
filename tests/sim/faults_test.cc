// The institution faults of a scenario (renewal_refusal_rate, drain_share): a wrapper around
// the connector, checked on a scripted inner connector (exact effects), and on a district run
// (every invariant still 0).
#include <gtest/gtest.h>

#include "../../sim/src/institution_faults.h"
#include "chakong/base/virtual_executor.h"
#include "chakong/sim/scenario.h"
#include "chakong/sim/simulation.h"

namespace chakong::sim {
namespace {

using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

constexpr char kDebtor[] = "110101199003077777";

// Answers every request OK after an hour; a query finds the account "a1" holding ¥1,000.
class Scripted final : public connectors::Connector {
 public:
  explicit Scripted(Executor& ex) : ex_(ex) {}
  const std::string& name() const override { return name_; }
  connectors::Capabilities capabilities() const override { return connectors::Capabilities::all(); }
  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override {
    for (const Request& r : batch) seen.push_back(r.kind);
    ex_.run_at(ex_.now() + kMicrosPerHour, [batch, &sink] {
      for (size_t i = 0; i < batch.size(); ++i) {
        Response& out = sink.response(i);
        out = Response();
        if (batch[i].kind == RequestKind::kQuery) {
          out.assets.push_back({AssetCategory::kDeposit, "a1", Fen(100'000), kDebtor});
        }
      }
      sink.complete();
    });
  }
  std::vector<RequestKind> seen;

 private:
  Executor& ex_;
  std::string name_ = "bank.s";
};

Request of(RequestKind k) {
  Request r;
  r.kind = k;
  return r;
}

TEST(InstitutionFaultsTest, RefusedRenewalsNeverReachTheInstitution) {
  VirtualExecutor ex(0);
  institution::Institution truth("bank.s", connectors::Capabilities::all());
  auto inner = std::make_unique<Scripted>(ex);
  Scripted* scripted = inner.get();
  FaultConnector c(std::move(inner), ex, truth, {.renewal_refusal_rate = 1.0, .seed = 3});
  std::vector<Response> got;
  int calls = 0;
  connectors::OwnedBatch first(
      {of(RequestKind::kRenew), of(RequestKind::kQuery), of(RequestKind::kRenew)},
      [&](std::vector<Response>& r) {
        ++calls;
        got = r;
      });
  c.async_submit(first.view(), first);
  EXPECT_EQ(calls, 0);  // Never inside the submitting call.
  ex.run();
  ASSERT_EQ(calls, 1);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].status.code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(got[1].status.ok());
  EXPECT_EQ(got[1].assets.size(), 1u);
  EXPECT_EQ(got[2].status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(scripted->seen, (std::vector<RequestKind>{RequestKind::kQuery}));
  EXPECT_EQ(c.renewals_refused(), 2u);
  // A batch refused whole is answered from a posted task, not inline.
  calls = 0;
  connectors::OwnedBatch whole({of(RequestKind::kRenew)}, [&](std::vector<Response>& r) {
    ++calls;
    got = r;
  });
  c.async_submit(whole.view(), whole);
  EXPECT_EQ(calls, 0);
  ex.run();
  ASSERT_EQ(calls, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(scripted->seen.size(), 1u);
}

TEST(InstitutionFaultsTest, ADrainedAccountIsEmptiedWithinTheWindowAfterTheAnswer) {
  VirtualExecutor ex(0);
  institution::Institution truth("bank.s", connectors::Capabilities::all());
  ASSERT_TRUE(truth.add_asset({AssetCategory::kDeposit, "a1", Fen(100'000), kDebtor}).ok());
  FaultConnector c(std::make_unique<Scripted>(ex), ex, truth,
                   {.drain_share = 1.0, .drain_window = 6 * kMicrosPerHour, .seed = 3});
  connectors::OwnedBatch query({of(RequestKind::kQuery), of(RequestKind::kFreeze)});
  c.async_submit(query.view(), query);
  ex.run_until(kMicrosPerHour);  // The answer: the account still holds its money.
  EXPECT_EQ(truth.balance("a1").value(), Fen(100'000));
  EXPECT_EQ(c.drained(), 0u);
  ex.run_until(7 * kMicrosPerHour);  // Within 6 hours of the answer: emptied.
  EXPECT_EQ(truth.balance("a1").value(), Fen(0));
  EXPECT_EQ(c.drained(), 1u);
  // No share, no drain, and renewals pass.
  FaultConnector none(std::make_unique<Scripted>(ex), ex, truth, {.seed = 3});
  ASSERT_TRUE(truth.credit("a1", Fen(5'000), Date::parse("2025-01-01").value()).ok());
  std::vector<Response> got;
  connectors::OwnedBatch pass({of(RequestKind::kQuery), of(RequestKind::kRenew)},
                              [&](std::vector<Response>& r) { got = r; });
  none.async_submit(pass.view(), pass);
  ex.run();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[1].status.ok());
  EXPECT_EQ(truth.balance("a1").value(), Fen(5'000));
  EXPECT_EQ(none.drained(), 0u);
}

TEST(InstitutionFaultsTest, DistrictWithDrainedBalancesKeepsEveryInvariant) {
  StatusOr<v1::Scenario> s = load_scenario_file(
      std::string(CHAKONG_SOURCE_DIR) + "/scenarios/district.yaml",
      {"days=60", "institutions[name=b].drain_share=0.5", "institutions[name=b].drain_window=12h",
       "institutions[name=b].renewal_refusal_rate=0.5"});
  ASSERT_TRUE(s.ok()) << s.status();
  StatusOr<SimulationConfig> c = compile_scenario(*s, "district.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->groups[0].drain_window, 12 * kMicrosPerHour);
  StatusOr<SimulationReport> r = run_simulation(*c, SimulationOptions());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->faults.drained, 50u);
  EXPECT_EQ(r->over_seizure + r->stats.over_seizure, 0u);
  EXPECT_EQ(r->duplicate_measures, 0u);
  EXPECT_EQ(r->lost_requests, 0u);
  EXPECT_EQ(r->ledger_disagreements, 0u);
  // The same run without the faults freezes more.
  StatusOr<v1::Scenario> base =
      load_scenario_file(std::string(CHAKONG_SOURCE_DIR) + "/scenarios/district.yaml", {"days=60"});
  StatusOr<SimulationConfig> bc = compile_scenario(*base, "district.yaml");
  StatusOr<SimulationReport> b = run_simulation(*bc, SimulationOptions());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->faults.drained, 0u);
  EXPECT_LT(r->stats.frozen, b->stats.frozen);
  const std::string json = report_json(*r);
  EXPECT_NE(json.find("\"renewals_refused\": " + std::to_string(r->faults.renewals_refused) +
                      ", \"drained\": " + std::to_string(r->faults.drained) + "}"),
            std::string::npos);
}

TEST(InstitutionFaultsTest, BadFaultFieldsAreRefusedNamingThem) {
  for (const auto& [set, message] : std::vector<std::pair<std::string, std::string>>{
           {"institutions[name=b].drain_share=1.5",
            "district.yaml: institutions[0].drain_share: 1.5 must be a share in [0, 1]"},
           {"institutions[name=b].renewal_refusal_rate=-0.1",
            "district.yaml: institutions[0].renewal_refusal_rate: -0.1 must be a share in "
            "[0, 1]"},
           {"institutions[name=b].drain_window=0s",
            "district.yaml: institutions[0].drain_window: '0s' must be positive"}}) {
    StatusOr<v1::Scenario> s =
        load_scenario_file(std::string(CHAKONG_SOURCE_DIR) + "/scenarios/district.yaml", {set});
    ASSERT_TRUE(s.ok()) << s.status();
    StatusOr<SimulationConfig> c = compile_scenario(*s, "district.yaml");
    ASSERT_FALSE(c.ok()) << set;
    EXPECT_EQ(c.status().message(), message);
  }
}

}  // namespace
}  // namespace chakong::sim
