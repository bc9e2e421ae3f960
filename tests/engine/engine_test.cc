// The engine end to end, against in-process institutions: a small case on both executors,
// filing validation, authorisation, termination and restoration.
#include "chakong/engine/engine.h"

#include <gtest/gtest.h>

#include "engine_world.h"

namespace chakong::engine {
namespace {

using connectors::AssetCategory;
using testing::EngineWorld;
using testing::kDebtor;
using testing::kOfficer;

constexpr char kCase[] = "（2025）渝0110执100号";

// One debtor with ¥5,000 at bank.a and ¥3,000 at bank.b; claim ¥6,000 + ¥100 costs. The
// engine queries both, freezes ¥5,000 and ¥1,100 (largest first), deducts both and concludes.
class EndToEndTest : public ::testing::TestWithParam<bool> {};

TEST_P(EndToEndTest, SmallCaseConcludesOnBothExecutors) {
  const bool real_time = GetParam();
  EngineWorld w(real_time);
  institution::Institution& a = w.add_institution("bank.a");
  institution::Institution& b = w.add_institution("bank.b");
  ASSERT_TRUE(a.add_asset({AssetCategory::kDeposit, "A-001", Fen(500'000), kDebtor}).ok());
  ASSERT_TRUE(b.add_asset({AssetCategory::kDeposit, "B-001", Fen(300'000), kDebtor}).ok());
  const TimeUs latency = real_time ? 0 : 2 * kMicrosPerHour;
  w.connect(a, sim::fixed_latency(latency));
  w.connect(b, sim::fixed_latency(latency));
  EngineConfig config;
  config.deduct_delay = real_time ? 0 : kMicrosPerDay;
  Engine& e = w.start(config);
  CaseFiling f = EngineWorld::filing(kCase, Fen(600'000));
  f.costs = Fen(10'000);

  if (real_time) {
    ASSERT_TRUE(e.file_case(f).ok());
    w.engine().set_observer([&](const Event& ev) {
      w.events.push_back(ev);
      if (ev.type == EventType::kCaseConcluded) w.asio().stop();
    });
    // A safety stop, not a timing assertion: the case needs a few milliseconds.
    w.asio().run_at(w.asio().now() + 20 * kMicrosPerSecond, [&] { w.asio().stop(); });
    w.asio().run();
  } else {
    ASSERT_TRUE(e.file_case(f).ok());
    w.virt().run_until(w.ex().now() + 30 * kMicrosPerDay);
  }

  StatusOr<CaseView> v = e.case_view(kCase);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, CaseStatus::kConcluded);
  EXPECT_EQ(v->deducted, Fen(610'000));
  EXPECT_EQ(v->frozen, Fen(0));
  EXPECT_EQ(v->pending, Fen(0));
  ASSERT_EQ(v->measures.size(), 2u);
  EXPECT_EQ(v->measures[0].reference, "A-001");
  EXPECT_EQ(v->measures[1].reference, "B-001");
  EXPECT_EQ(*a.balance("A-001"), Fen(0));
  EXPECT_EQ(*b.balance("B-001"), Fen(190'000));
  EXPECT_EQ(a.deducted_for_case(kCase) + b.deducted_for_case(kCase), Fen(610'000));
  const EngineStats s = e.stats();
  EXPECT_EQ(s.requests[static_cast<int>(connectors::RequestKind::kQuery)], 2u);
  EXPECT_EQ(s.requests[static_cast<int>(connectors::RequestKind::kFreeze)], 2u);
  EXPECT_EQ(s.requests[static_cast<int>(connectors::RequestKind::kDeduct)], 2u);
  EXPECT_EQ(s.control_started, 2u);
  EXPECT_EQ(s.control_met, 2u);
  EXPECT_EQ(s.control_missed, 0u);
  EXPECT_EQ(s.cases_concluded, 1u);
  EXPECT_EQ(s.over_seizure, 0u);
  EXPECT_EQ(s.query_within_5wd, 1u);
  EXPECT_EQ(w.count(EventType::kCaseConcluded), 1);
}

// forget_concluded (the national simulation's memory): a settled concluded case is dropped
// forget_after its conclusion; its number stays taken and the counts stay.
TEST(ForgetConcludedTest, ASettledConcludedCaseIsDroppedAfterTheWaitAndItsNumberStaysTaken) {
  EngineWorld w(/*real_time=*/false);
  institution::Institution& a = w.add_institution("bank.a");
  ASSERT_TRUE(a.add_asset({AssetCategory::kDeposit, "A-001", Fen(900'000), kDebtor}).ok());
  w.connect(a, sim::fixed_latency(2 * kMicrosPerHour));
  EngineConfig config;
  config.deduct_delay = kMicrosPerDay;
  config.forget_concluded = true;
  config.forget_after = 10 * kMicrosPerDay;
  Engine& e = w.start(config);
  const CaseFiling f = EngineWorld::filing(kCase, Fen(600'000));
  ASSERT_TRUE(e.file_case(f).ok());
  const TimeUs filed = w.ex().now();

  w.virt().run_until(filed + 5 * kMicrosPerDay);  // Frozen, deducted, concluded.
  StatusOr<CaseView> v = e.case_view(kCase);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, CaseStatus::kConcluded);
  EXPECT_EQ(v->deducted, Fen(600'000));

  w.virt().run_until(filed + 20 * kMicrosPerDay);
  EXPECT_EQ(e.case_view(kCase).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(e.file_case(f).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(e.stats().cases_concluded, 1u);
  EXPECT_EQ(e.stats().cases_filed, 1u);
  EXPECT_EQ(a.deducted_for_case(kCase), Fen(600'000));
  EXPECT_EQ(*a.balance("A-001"), Fen(300'000));

  config.forget_after = config.in_doubt_retry;
  EXPECT_EQ(validate(config).code(), StatusCode::kInvalidArgument);
}

// Handles, not pointers: a concluded case is forgotten while a slow bank's query is still out;
// the late answer finds the case's slot moved on, is counted in stale_callbacks and dropped
// (no finding, no event, no access to the freed state: run engine_test under the asan preset).
TEST(ForgetConcludedTest, ALateAnswerToAForgottenCaseIsCountedAndDropped) {
  EngineWorld w(/*real_time=*/false);
  institution::Institution& fast = w.add_institution("bank.a");
  institution::Institution& slow = w.add_institution("bank.b");
  ASSERT_TRUE(fast.add_asset({AssetCategory::kDeposit, "A-001", Fen(900'000), kDebtor}).ok());
  ASSERT_TRUE(slow.add_asset({AssetCategory::kDeposit, "B-001", Fen(500'000), kDebtor}).ok());
  w.connect(fast, sim::fixed_latency(kMicrosPerHour));
  w.connect(slow, sim::fixed_latency(36 * kMicrosPerHour));  // Within the 2-day timeout.
  EngineConfig config;
  config.deduct_delay = kMicrosPerHour;
  config.renewal_retry = 30 * kMicrosPerMinute;
  config.in_doubt_retry = 30 * kMicrosPerMinute;
  config.forget_concluded = true;
  config.forget_after = 2 * kMicrosPerHour;
  Engine& e = w.start(config);
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(600'000))).ok());
  const TimeUs filed = w.ex().now();

  // Query 1 h, freeze 1 h, deduct after 1 h, answered 1 h later: concluded at 4 h, forgotten
  // at 6 h with bank.b's query still out.
  w.virt().run_until(filed + 5 * kMicrosPerHour);
  ASSERT_TRUE(e.case_view(kCase).ok());
  EXPECT_EQ(e.case_view(kCase)->status, CaseStatus::kConcluded);
  EXPECT_EQ(e.case_view(kCase)->queries_outstanding, 1);
  w.virt().run_until(filed + 7 * kMicrosPerHour);
  EXPECT_EQ(e.case_view(kCase).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(e.stats().stale_callbacks, 0u);

  w.virt().run_until(filed + 3 * kMicrosPerDay);  // bank.b answered at 36 h.
  EXPECT_EQ(slow.requests_handled(), 1u);
  EXPECT_EQ(e.stats().stale_callbacks, 1u);
  EXPECT_EQ(e.stats().findings, 1u);  // bank.a's deposit only: the late one was dropped.
  EXPECT_EQ(w.count(EventType::kFinding), 1);
  EXPECT_EQ(e.stats().cases_concluded, 1u);
  EXPECT_EQ(e.stats().deducted, Fen(600'000));
  EXPECT_EQ(e.case_view(kCase).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(e.file_case(EngineWorld::filing(kCase, Fen(600'000))).code(),
            StatusCode::kAlreadyExists);
}

INSTANTIATE_TEST_SUITE_P(Executors, EndToEndTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? std::string("RealTime") : std::string("Virtual");
                         });

TEST(LifecycleTest, QueryScopeLimitsTheFanOutAndDeductingIsAState) {
  EngineWorld w;
  institution::Institution& bank = w.add_institution("bank.a");
  institution::Institution& dmv = w.add_institution("vehicle.cq");
  ASSERT_TRUE(bank.add_asset({AssetCategory::kDeposit, "A-1", Fen(80'000), kDebtor}).ok());
  w.connect(bank, sim::fixed_latency(kMicrosPerHour));
  w.connect(dmv, sim::fixed_latency(kMicrosPerHour));
  EngineConfig config;
  config.query_scope = [](std::string_view name) { return name.starts_with("bank."); };
  config.deduct_delay = kMicrosPerDay;
  config.dispatch.linger = 0;
  Engine& e = w.start(config);
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(100'000))).ok());
  // Query 1 h, freeze 1 h, then the deduction a day later: in flight at 1 d 2 h 30 min.
  w.virt().run_until(w.ex().now() + kMicrosPerDay + 150 * kMicrosPerMinute);
  EXPECT_EQ(e.case_view(kCase)->status, CaseStatus::kDeducting);
  EXPECT_EQ(case_status_name(CaseStatus::kDeducting), "deducting");
  w.virt().run_until(w.ex().now() + 2 * kMicrosPerDay);
  EXPECT_EQ(dmv.requests_handled(), 0u);  // Out of scope: never queried.
  EXPECT_EQ(bank.deducted_for_case(kCase), Fen(80'000));
  EXPECT_EQ(e.case_view(kCase)->status, CaseStatus::kDeducting);  // ¥200 of the claim remain.
}

class FilingTest : public ::testing::Test {
 protected:
  FilingTest() {
    institution::Institution& bank = w_.add_institution("bank.a");
    w_.connect(bank, sim::fixed_latency(kMicrosPerHour));
    w_.start(EngineConfig());
    EXPECT_TRUE(w_.engine().register_officer("bj-0105-001", "京0105").ok());
  }
  void expect_refused(const CaseFiling& f, StatusCode code, const std::string& message) {
    Status s = w_.engine().file_case(f);
    EXPECT_EQ(s.code(), code);
    EXPECT_EQ(s.message(), message);
    if (filed_ == 0) {
      EXPECT_EQ(w_.engine().case_view(f.case_number).status().code(), StatusCode::kNotFound);
    }
    EXPECT_EQ(w_.engine().stats().cases_filed, filed_);
  }
  EngineWorld w_;
  uint64_t filed_ = 0;
};

TEST_F(FilingTest, BadCaseDataIsRefusedNamingTheFieldAndNothingIsFiled) {
  CaseFiling f = EngineWorld::filing(kCase, Fen(100));
  f.debtors[0].id = "110105194912310021";
  expect_refused(f, StatusCode::kInvalidArgument,
                 "debtors[0].id: resident ID '1101**********0021' has check character '1', "
                 "expected 'X'");
  f = EngineWorld::filing(kCase, Fen(-100));
  expect_refused(f, StatusCode::kInvalidArgument, "claim: -¥1.00 must be positive");
  f = EngineWorld::filing(kCase, Fen(100));
  f.costs = Fen(-1);
  expect_refused(f, StatusCode::kInvalidArgument, "costs: -¥0.01 must not be negative");
  f = EngineWorld::filing("（2025）渝0110民100号", Fen(100));
  expect_refused(f, StatusCode::kInvalidArgument,
                 "case_number: case number '（2025）渝0110民100号' has no enforcement type code "
                 "(执, 执恢, 执保, ...)");
  f = EngineWorld::filing(kCase, Fen(100));
  f.court = "渝0111";
  expect_refused(f, StatusCode::kInvalidArgument,
                 "court: '渝0111' does not match the case number's court '渝0110'");
  f = EngineWorld::filing(kCase, Fen(100), {});
  expect_refused(f, StatusCode::kInvalidArgument, "debtors: a case needs at least one debtor");
  f = EngineWorld::filing(kCase, Fen(100), {kDebtor, kDebtor});
  expect_refused(f, StatusCode::kInvalidArgument,
                 "debtors[1].id: '1101**********002X' is listed twice");
  f = EngineWorld::filing(kCase, Fen(100));
  f.officer_ids = {"nobody"};
  expect_refused(f, StatusCode::kPermissionDenied,
                 "officer_ids[0]: officer 'nobody' is not registered");
  f.officer_ids = {"bj-0105-001"};
  expect_refused(f, StatusCode::kPermissionDenied,
                 "officer_ids[0]: officer 'bj-0105-001' belongs to court 京0105, not 渝0110");
  f.officer_ids = {};
  expect_refused(f, StatusCode::kInvalidArgument,
                 "officer_ids: a case needs at least one assigned officer");
}

TEST_F(FilingTest, DuplicateCaseNumberIsRefused) {
  ASSERT_TRUE(w_.engine().file_case(EngineWorld::filing(kCase, Fen(100))).ok());
  filed_ = 1;
  // The same number with ASCII brackets is the same case.
  expect_refused(EngineWorld::filing("(2025)渝0110执100号", Fen(100)), StatusCode::kAlreadyExists,
                 "case_number: case （2025）渝0110执100号 is already filed");
}

TEST(AuthorisationTest, UnauthorisedRequestsAreRefusedCountedAndNeverReachAConnector) {
  EngineWorld w;
  institution::Institution& bank = w.add_institution("bank.a");
  ASSERT_TRUE(bank.add_asset({AssetCategory::kDeposit, "A-1", Fen(1'000), kDebtor}).ok());
  ASSERT_TRUE(
      bank.add_asset({AssetCategory::kDeposit, "X-1", Fen(1'000), "500110200002290017"}).ok());
  w.connect(bank, sim::fixed_latency(kMicrosPerHour));
  EngineConfig config;
  config.query_delay = 365 * kMicrosPerDay;  // No automatic queries during this test.
  Engine& e = w.start(config);
  ASSERT_TRUE(e.register_officer("cq-0110-099", testing::kCourt).ok());
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(100'000))).ok());

  Status s = e.request_query(kCase, kDebtor, "cq-0110-099");
  EXPECT_EQ(s,
            permission_denied_error("query refused: officer 'cq-0110-099' is not assigned to case "
                                    "（2025）渝0110执100号"));
  s = e.request_query(kCase, "500110200002290017", kOfficer);
  EXPECT_EQ(s,
            permission_denied_error("query refused: '5001**********0017' is not a debtor of case "
                                    "（2025）渝0110执100号"));
  s = e.request_freeze(kCase, "500110200002290017", kOfficer, "bank.a",
                       {AssetCategory::kDeposit, "X-1", Fen(1'000), "500110200002290017"},
                       Fen(1'000));
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(e.request_query("（2025）渝0110执999号", kDebtor, kOfficer).code(),
            StatusCode::kNotFound);
  w.virt().run_until(w.ex().now() + 10 * kMicrosPerDay);
  EXPECT_EQ(bank.requests_handled(), 0u);
  EXPECT_EQ(e.stats().unauthorized, 3u);
  EXPECT_EQ(w.count(EventType::kRequestRefused), 3);

  // The assigned officer on the real debtor goes through.
  ASSERT_TRUE(e.request_query(kCase, kDebtor, kOfficer).ok());
  w.virt().run_until(w.ex().now() + kMicrosPerDay);
  EXPECT_EQ(bank.requests_handled(), 2u);  // The query, then the freeze of what it found.
  EXPECT_EQ(bank.frozen_for_case(kCase), Fen(1'000));
}

TEST(TerminationTest, TerminateNeedsThePolicyCriteriaThenRestoreStartsANewCase) {
  EngineWorld w;
  institution::Institution& bank = w.add_institution("bank.a");
  w.connect(bank, sim::fixed_latency(kMicrosPerHour));
  Engine& e = w.start(EngineConfig());
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(100'000))).ok());
  w.virt().run_until(w.ex().now() + 10 * kMicrosPerDay);
  EXPECT_EQ(e.case_view(kCase)->status, CaseStatus::kQuerying);  // Nothing found.
  EXPECT_EQ(e.terminate_case(kCase, true),
            failed_precondition_error("case （2025）渝0110执100号 was filed 10 days ago; "
                                      "termination needs 90"));
  w.virt().run_until(w.ex().now() + 80 * kMicrosPerDay);
  EXPECT_EQ(e.terminate_case(kCase, false),
            failed_precondition_error(
                "case （2025）渝0110执100号: termination needs a consumption restriction issued"));
  ASSERT_TRUE(e.terminate_case(kCase, true).ok());
  EXPECT_EQ(e.case_view(kCase)->status, CaseStatus::kTerminated);

  // Property appears later; the case is restored under a 执恢 number and queried again.
  ASSERT_TRUE(bank.add_asset({AssetCategory::kDeposit, "A-9", Fen(40'000), kDebtor}).ok());
  StatusOr<std::string> restored = e.restore_case(kCase, 2025, 31);
  ASSERT_TRUE(restored.ok()) << restored.status().to_string();
  EXPECT_EQ(*restored, "（2025）渝0110执恢31号");
  EXPECT_EQ(e.case_view(kCase)->restored_as, *restored);
  EXPECT_EQ(e.restore_case(kCase, 2025, 32).status().code(), StatusCode::kFailedPrecondition);
  w.virt().run_until(w.ex().now() + kMicrosPerDay);
  StatusOr<CaseView> nv = e.case_view(*restored);
  ASSERT_TRUE(nv.ok());
  EXPECT_EQ(nv->budget, Fen(100'000));
  EXPECT_EQ(nv->frozen, Fen(40'000));
  EXPECT_EQ(e.stats().cases_restored, 1u);
  EXPECT_EQ(e.stats().control_met, 1u);
}

}  // namespace
}  // namespace chakong::engine

namespace chakong::testing {
namespace {

// DOMAIN rule 6: a preservation ruling's enforcement starts within 5 calendar days of
// receipt, counted apart from the working-day query score.
TEST(PreservationStartTest, CountsStartsWithinFiveCalendarDaysApart) {
  EngineWorld w;
  institution::Institution& bank = w.add_institution("bank.icbc");
  w.connect(bank, sim::fixed_latency(kMicrosPerHour));
  engine::Engine& e = w.start(engine::EngineConfig{});
  engine::CaseFiling on_time = EngineWorld::filing("（2025）渝0110执保1号", Fen(100'000));
  engine::CaseFiling late = EngineWorld::filing("（2025）渝0110执保2号", Fen(100'000));
  late.received_at = w.ex().now() - 6 * kMicrosPerDay;  // Handed over six days ago.
  engine::CaseFiling ordinary = EngineWorld::filing("（2025）渝0110执3号", Fen(100'000));
  ASSERT_TRUE(e.file_case(on_time).ok());
  ASSERT_TRUE(e.file_case(late).ok());
  ASSERT_TRUE(e.file_case(ordinary).ok());
  w.virt().run_until(w.ex().now() + kMicrosPerDay);
  const engine::EngineStats s = e.stats();
  EXPECT_EQ(s.preservation_started, 2u);
  EXPECT_EQ(s.preservation_within_5d, 1u);
  EXPECT_EQ(s.preservation_late, 1u);
  EXPECT_EQ(s.query_scored, 3u);  // All three in the working-day score as well.
}

}  // namespace
}  // namespace chakong::testing
