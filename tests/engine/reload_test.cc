// Engine::reload(): the officer registry and the dispatcher settings replaced while the engine
// runs, checked whole first, applied by each shard on its own thread.
#include <gtest/gtest.h>

#include "chakong/engine/engine.h"
#include "engine_world.h"

namespace chakong::engine {
namespace {

using connectors::AssetCategory;
using testing::EngineWorld;
using testing::kCourt;
using testing::kDebtor;
using testing::kOfficer;

constexpr char kNewOfficer[] = "cq-0110-099";

ReloadableConfig with_officers(std::vector<std::pair<std::string, std::string>> officers) {
  ReloadableConfig r;
  r.officers = std::move(officers);
  return r;
}

TEST(EngineReloadTest, AnOfficerRemovedIsRefusedAndOneAddedIsAcceptedOnceTheShardApplied) {
  EngineWorld w;
  institution::Institution& a = w.add_institution("bank.a");
  ASSERT_TRUE(a.add_asset({AssetCategory::kDeposit, "A-001", Fen(500'000), kDebtor}).ok());
  w.connect(a, sim::fixed_latency(kMicrosPerHour));
  Engine& e = w.start(EngineConfig{});
  ASSERT_TRUE(e.file_case(EngineWorld::filing("（2025）渝0110执1号", Fen(100'000))).ok());
  w.virt().run_until(w.ex().now() + 2 * kMicrosPerHour);

  uint64_t applied = 0;
  StatusOr<uint64_t> g =
      e.reload(with_officers({{kNewOfficer, kCourt}}), [&](uint64_t gen) { applied = gen; });
  ASSERT_TRUE(g.ok()) << g.status().to_string();
  EXPECT_EQ(*g, 1u);
  // Posted, not yet run by the shard: the old registry still serves.
  EXPECT_EQ(e.config_generation(), 0u);
  EXPECT_EQ(applied, 0u);
  EXPECT_TRUE(e.read_case("（2025）渝0110执1号", kOfficer).ok());
  w.virt().run_until(w.ex().now() + 1);
  EXPECT_EQ(e.config_generation(), 1u);
  EXPECT_EQ(applied, 1u);

  // The removed officer: a new filing naming him, and his read of the case filed before.
  const Status filed = e.file_case(EngineWorld::filing("（2025）渝0110执2号", Fen(100'000)));
  EXPECT_EQ(filed.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(filed.message(), "officer_ids[0]: officer 'cq-0110-017' is not registered");
  StatusOr<CaseView> read = e.read_case("（2025）渝0110执1号", kOfficer);
  EXPECT_EQ(read.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(read.status().message(),
            "read refused: officer 'cq-0110-017' is not registered (case （2025）渝0110执1号)");

  // The added officer files and reads.
  CaseFiling f = EngineWorld::filing("（2025）渝0110执3号", Fen(100'000));
  f.officer_ids = {kNewOfficer};
  ASSERT_TRUE(e.file_case(f).ok());
  w.virt().run_until(w.ex().now() + 2 * kMicrosPerHour);
  StatusOr<CaseView> mine = e.read_case("（2025）渝0110执3号", kNewOfficer);
  ASSERT_TRUE(mine.ok()) << mine.status().to_string();
  EXPECT_EQ(mine->frozen, Fen(100'000));
}

TEST(EngineReloadTest, ABadConfigIsRefusedWholeAndNothingIsApplied) {
  EngineWorld w;
  institution::Institution& a = w.add_institution("bank.a");
  w.connect(a, sim::fixed_latency(kMicrosPerHour));
  Engine& e = w.start(EngineConfig{});

  // The first officer would be valid; the second is listed twice: nothing changes.
  StatusOr<uint64_t> twice =
      e.reload(with_officers({{kNewOfficer, kCourt}, {kOfficer, kCourt}, {kOfficer, "渝0111"}}));
  EXPECT_EQ(twice.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(twice.status().message(), "officers[2].id: 'cq-0110-017' is listed twice");
  StatusOr<uint64_t> no_court = e.reload(with_officers({{kNewOfficer, ""}}));
  EXPECT_EQ(no_court.status().message(), "officers[0].court: empty (officer 'cq-0110-099')");

  ReloadableConfig unknown = with_officers({{kNewOfficer, kCourt}});
  unknown.dispatch_overrides["bank.zz"] = DispatcherConfig{};
  StatusOr<uint64_t> u = e.reload(unknown);
  EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(u.status().message(), "dispatch_overrides[bank.zz]: not a connector of this engine");

  ReloadableConfig bad = with_officers({{kNewOfficer, kCourt}});
  bad.dispatch_overrides["bank.a"].max_in_flight = 0;
  StatusOr<uint64_t> b = e.reload(bad);
  EXPECT_EQ(b.status().message(),
            "dispatch_overrides[bank.a]: dispatcher.max_in_flight = 0: must be >= 1");
  ReloadableConfig bad_default = with_officers({{kNewOfficer, kCourt}});
  bad_default.dispatch.timeout = 0;
  EXPECT_EQ(e.reload(bad_default).status().message(),
            "dispatch: dispatcher.timeout = 0: must be > 0");

  w.virt().run_until(w.ex().now() + kMicrosPerMinute);
  EXPECT_EQ(e.config_generation(), 0u);
  // The old registry: the officer of the running config still files, the new one does not.
  EXPECT_TRUE(e.file_case(EngineWorld::filing("（2025）渝0110执1号", Fen(100'000))).ok());
  CaseFiling f = EngineWorld::filing("（2025）渝0110执2号", Fen(100'000));
  f.officer_ids = {kNewOfficer};
  EXPECT_EQ(e.file_case(f).code(), StatusCode::kPermissionDenied);
}

// max_in_flight raised: the queued requests leave at once. timeout lowered: the next attempt
// times out, the one in flight keeps its timer and is answered.
TEST(EngineReloadTest, DispatchSettingsTakeEffectForTheNextSendsAndAttempts) {
  EngineWorld w;
  institution::Institution& a = w.add_institution("bank.a");
  ASSERT_TRUE(a.add_asset({AssetCategory::kDeposit, "A-001", Fen(500'000), kDebtor}).ok());
  w.connect(a, sim::fixed_latency(3 * kMicrosPerHour));
  EngineConfig config;
  config.dispatch.max_in_flight = 1;
  config.dispatch.max_batch = 1;
  Engine& e = w.start(config);
  const TimeUs t0 = w.ex().now();
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(
        e.file_case(EngineWorld::filing("（2025）渝0110执" + std::to_string(i) + "号", Fen(1'000)))
            .ok());
  }
  w.virt().run_until(t0 + 30 * kMicrosPerMinute);
  DispatcherGauges before = e.dispatcher_gauges(0, "bank.a");
  EXPECT_EQ(before.in_flight, 1);
  EXPECT_EQ(before.queued[static_cast<int>(Lane::kNormal)], 2u);

  ReloadableConfig r = with_officers({{kOfficer, kCourt}});
  r.dispatch.max_in_flight = 4;
  r.dispatch.max_batch = 1;
  r.dispatch_overrides["bank.a"] = r.dispatch;
  r.dispatch_overrides["bank.a"].timeout = kMicrosPerHour;
  r.dispatch_overrides["bank.a"].max_attempts = 1;
  ASSERT_EQ(*e.reload(r), 1u);
  w.virt().run_until(t0 + 31 * kMicrosPerMinute);
  DispatcherGauges after = e.dispatcher_gauges(0, "bank.a");
  EXPECT_EQ(after.in_flight, 3);
  EXPECT_EQ(after.queued[static_cast<int>(Lane::kNormal)], 0u);

  // Cases 2 and 3 were sent under the 1-hour timeout (they time out at 1 h 30 min); case 1's
  // query, sent at t0 under the 2-day one, is answered at 3 h.
  w.virt().run_until(t0 + 2 * kMicrosPerHour);
  EXPECT_EQ(e.dispatcher_stats("bank.a").timeouts, 2u);
  w.virt().run_until(t0 + 3 * kMicrosPerHour + kMicrosPerMinute);
  EXPECT_EQ(e.dispatcher_stats("bank.a").timeouts, 2u);
  StatusOr<CaseView> first = e.case_view("（2025）渝0110执1号");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->findings, 1);
  StatusOr<CaseView> second = e.case_view("（2025）渝0110执2号");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->findings, 0);
  EXPECT_EQ(second->queries_outstanding, 1);  // In doubt: re-sent with its key later.
}

}  // namespace
}  // namespace chakong::engine
