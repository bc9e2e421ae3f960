// The case machine driven with scripted inputs, asserting the exact effects it returns (as
// Envoy's filter tests do): no executor, dispatcher or journal is involved. This file covers
// measures and renewal: the renewal lead, renew answers, lapse, release, the end of a measure.
#include "engine/src/case_machine.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/engine/case_machine_fixture.h"

namespace chakong::engine::machine {
namespace {

using connectors::RequestKind;
using connectors::Response;

constexpr char kNumber[] = "（2025）渝0110执1001号";

using test_support::day;
std::string at(int y, int m, int d) { return std::to_string(day(y, m, d).start_us()); }

class CaseMachineMeasures : public test_support::CaseMachineTest {
 protected:
  CaseMachineMeasures() {
    config_.auto_deduct = false;  // Deduction timers are tested on their own below.
    c_.number = kNumber;
    c_.filing.officer_ids = {"officer-1"};
    c_.status = CaseStatus::kControlling;
    // 1,000.00 owed; 500.00 frozen in the one measure.
    c_.ledger = Ledger::restore(Fen(100'000), Fen(50'000), Fen(), Fen(), Fen(), Fen());
    Finding f;
    f.connector = 1;
    f.asset.category = connectors::AssetCategory::kDeposit;
    f.asset.reference = "acct-7";
    f.asset.value = Fen(80'000);
    f.asset.holder_id = "110105198001010011";
    f.state = FindingState::kControlled;
    c_.findings.push_back(f);
    Measure m;
    m.id = "bank.b/17";
    m.connector = 1;
    m.finding = 0;
    m.amount = Fen(50'000);
    m.end = day(2026, 3, 31);
    c_.measures.push_back(m);
    stats_.frozen = Fen(50'000);
  }

  Measure& m() { return c_.measures[0]; }
};

TEST_F(CaseMachineMeasures, InForceArmsRenewalLeadAndLapse) {
  EXPECT_EQ(feed(Input::of(InputKind::kInForce, 0), day(2025, 10, 1).start_us()),
            (std::vector<std::string>{
                "cancel renew m0", "cancel lapse m0",
                "arm renew m0 at=" + at(2026, 3, 1),  // 30 days before the end.
                "arm lapse m0 at=" + at(2026, 4, 1),  // The day after the end.
            }));
}

// A waiting measure on a connector that declares MEASURE_STATUS is asked about daily; the
// answer "in force" makes it a measure in force with the institution's end date.
TEST_F(CaseMachineMeasures, AWaitingMeasureIsAskedAboutDailyAndConvertsOnItsStatus) {
  connectors_ = {{nullptr, "bank.a", connectors::Capabilities::all(), false},
                 {nullptr, "bank.b", connectors::Capabilities::all(), true}};
  m().waiting = true;
  m().amount = Fen();
  m().pending = Fen(50'000);
  m().end = Date();
  c_.ledger = Ledger::restore(Fen(100'000), Fen(), Fen(), Fen(50'000), Fen(), Fen());
  stats_.frozen = Fen();
  EXPECT_EQ(feed(Input::of(InputKind::kRearm, 0), day(2025, 10, 1).start_us()),
            (std::vector<std::string>{"cancel renew m0", "cancel lapse m0",
                                      "arm status m0 at=" + at(2025, 10, 2)}));
  EXPECT_EQ(feed(Input::timer_fired(TimerKind::kStatus, 0), day(2025, 10, 2).start_us()),
            (std::vector<std::string>{"send measure_status m0 c1 key=" + std::string(kNumber) +
                                      "/status/bank.b/17/2025-10-02 measure=bank.b/17 "
                                      "lane=normal deadline=" +
                                      at(2025, 10, 3)}));
  Response waiting;
  waiting.queue_position = 1;
  EXPECT_EQ(
      feed(Input::answer(RequestKind::kMeasureStatus, 0, waiting), day(2025, 10, 3).start_us()),
      (std::vector<std::string>{"arm status m0 at=" + at(2025, 10, 4)}));
  Response in_force;
  in_force.frozen = Fen(30'000);
  in_force.end_date = day(2026, 10, 3);
  EXPECT_EQ(
      feed(Input::answer(RequestKind::kMeasureStatus, 0, in_force), day(2025, 10, 4).start_us()),
      (std::vector<std::string>{
          "case changed",
          "emit measure_effective c1 30000 bank.b/17 took effect from the waiting list, "
          "until 2026-10-03",
          "cancel renew m0",
          "cancel lapse m0",
          "arm renew m0 at=" + at(2026, 9, 3),
          "arm lapse m0 at=" + at(2026, 10, 4),
      }));
  EXPECT_FALSE(m().waiting);
  EXPECT_EQ(m().end, day(2026, 10, 3));
  EXPECT_EQ(m().amount, Fen(30'000));
  EXPECT_EQ(m().pending, Fen(20'000));
  EXPECT_EQ(c_.ledger.frozen(), Fen(30'000));
  EXPECT_EQ(c_.ledger.pending(), Fen(20'000));
  EXPECT_EQ(stats_.frozen, Fen(30'000));
  EXPECT_EQ(stats_.waitlist_converted, 1u);
  // Without the operation, nothing is asked.
  connectors_.clear();
  m().waiting = true;
  EXPECT_EQ(feed(Input::of(InputKind::kRearm, 0), day(2025, 10, 5).start_us()),
            (std::vector<std::string>{"cancel renew m0", "cancel lapse m0"}));
}

TEST_F(CaseMachineMeasures, InForceWithoutEndArmsNothing) {
  m().end = Date::no_end();
  EXPECT_EQ(feed(Input::of(InputKind::kInForce, 0), day(2025, 10, 1).start_us()),
            (std::vector<std::string>{"cancel renew m0", "cancel lapse m0"}));
}

TEST_F(CaseMachineMeasures, InForceArmsDeductionOfDivisibleFundsOfAnOpenCase) {
  config_.auto_deduct = true;
  const TimeUs now = day(2025, 10, 1).start_us() + 5;
  EXPECT_EQ(feed(Input::of(InputKind::kInForce, 0), now),
            (std::vector<std::string>{
                "cancel renew m0",
                "cancel lapse m0",
                "arm renew m0 at=" + at(2026, 3, 1),
                "arm lapse m0 at=" + at(2026, 4, 1),
                "case changed",
                "arm deduct m0 at=" + std::to_string(day(2025, 10, 11).start_us() + 5),
            }));
  EXPECT_EQ(m().deduct_at, day(2025, 10, 11).start_us() + 5);
}

// The deduct timer: the deduction of all that is frozen now (amount 0), the case deducting;
// its answer moves the money, ends the measure (the institution ends a measure whose funds are
// all transferred) and, the budget not yet satisfied, leaves the case open.
TEST_F(CaseMachineMeasures, DeductTimerSendsTheDeductionAndItsAnswerMovesTheMoney) {
  connectors_ = {{nullptr, "bank.a", connectors::Capabilities::all(), false},
                 {nullptr, "bank.b", connectors::Capabilities::all(), false}};
  const TimeUs now = day(2025, 10, 11).start_us() + 5;
  m().deduct_at = now;
  EXPECT_EQ(feed(Input::timer_fired(TimerKind::kDeduct, 0), now),
            (std::vector<std::string>{
                "case changed",
                "send deduct m0 c1 key=（2025）渝0110执1001号/deduct/bank.b/17 "
                "measure=bank.b/17 lane=normal deadline=" +
                    std::to_string(now + config_.control_deadline),
            }));
  EXPECT_EQ(m().deduct_at, 0);
  EXPECT_TRUE(m().deducting);
  EXPECT_EQ(c_.status, CaseStatus::kDeducting);
  Response moved;
  moved.frozen = Fen(50'000);
  EXPECT_EQ(feed(Input::answer(RequestKind::kDeduct, 0, moved), now + kMicrosPerHour),
            (std::vector<std::string>{
                "case changed",
                "emit deducted c1 50000 bank.b/17",
                "cancel renew m0",
                "cancel lapse m0",
                "cancel deduct m0",
            }));
  EXPECT_FALSE(m().deducting);
  EXPECT_FALSE(m().live);
  EXPECT_EQ(m().amount, Fen());
  EXPECT_EQ(c_.ledger.frozen(), Fen());
  EXPECT_EQ(c_.ledger.deducted(), Fen(50'000));
  EXPECT_EQ(stats_.deducted, Fen(50'000));
  EXPECT_EQ(stats_.frozen, Fen());
}

// A deduction that satisfies the budget concludes the case; one that moved more than the
// measure held (the institution topped the freeze up since) takes the top-up out of the
// measure's pending limit first.
TEST_F(CaseMachineMeasures, ADeductionThatSatisfiesTheBudgetConcludesAndCountsTheTopUp) {
  connectors_ = {{nullptr, "bank.a", connectors::Capabilities::all(), false},
                 {nullptr, "bank.b", connectors::Capabilities::all(), true}};
  // 600.00 owed; 500.00 frozen and 100.00 pending a top-up in the one measure.
  c_.ledger = Ledger::restore(Fen(60'000), Fen(50'000), Fen(), Fen(10'000), Fen(), Fen());
  m().pending = Fen(10'000);
  const TimeUs now = day(2025, 10, 11).start_us();
  (void)feed(Input::timer_fired(TimerKind::kDeduct, 0), now);
  Response moved;
  moved.frozen = Fen(60'000);
  EXPECT_EQ(feed(Input::answer(RequestKind::kDeduct, 0, moved), now + kMicrosPerHour),
            (std::vector<std::string>{
                "case changed",
                "emit deducted c1 60000 bank.b/17",
                "cancel renew m0",
                "cancel lapse m0",
                "cancel deduct m0",
                "conclude",
            }));
  EXPECT_EQ(m().pending, Fen());
  EXPECT_EQ(c_.ledger.deducted(), Fen(60'000));
  EXPECT_TRUE(c_.ledger.satisfied());
  EXPECT_EQ(stats_.deducted, Fen(60'000));
  EXPECT_EQ(stats_.frozen, Fen());  // 500.00 + the 100.00 top-up, all moved.
}

// A failed deduction is reported and changes no money; the measure stays in force.
TEST_F(CaseMachineMeasures, AFailedDeductionIsReportedAndMovesNothing) {
  connectors_ = {{nullptr, "bank.a", connectors::Capabilities::all(), false},
                 {nullptr, "bank.b", connectors::Capabilities::all(), false}};
  const TimeUs now = day(2025, 10, 11).start_us();
  (void)feed(Input::timer_fired(TimerKind::kDeduct, 0), now);
  EXPECT_EQ(feed(Input::answer(RequestKind::kDeduct, 0,
                               Response::error(failed_precondition_error("account closed"))),
                 now + kMicrosPerHour),
            (std::vector<std::string>{
                "case changed",
                "emit request_failed c1 50000 deduct: FAILED_PRECONDITION: account closed",
            }));
  EXPECT_FALSE(m().deducting);
  EXPECT_TRUE(m().live);
  EXPECT_EQ(c_.ledger.frozen(), Fen(50'000));
  EXPECT_EQ(stats_.deducted, Fen());
}

TEST_F(CaseMachineMeasures, RenewalLeadSendsOneRenewalPerCycle) {
  const TimeUs now = day(2026, 3, 1).start_us();
  const std::vector<std::string> sent{
      "case changed",
      "send renew m0 c1 key=（2025）渝0110执1001号/renew/bank.b/17/2026-03-31 measure=bank.b/17 "
      "lane=normal deadline=" +
          at(2026, 3, 31) + " cycle=2026-03-31",
  };
  EXPECT_EQ(feed(Input::timer_fired(TimerKind::kRenew, 0), now), sent);
  EXPECT_TRUE(m().renewing);
  ASSERT_EQ(fx_.list().size(), 2u);
  EXPECT_EQ(fx_.list()[1].request.ruling_number, std::string(kNumber) + "之一");
  EXPECT_EQ(fx_.list()[1].request.asset.reference, "acct-7");
  EXPECT_EQ(fx_.list()[1].request.debtor_id, "110105198001010011");
  EXPECT_EQ(fx_.list()[1].request.officer_id, "officer-1");
  // In flight: the lead firing again sends nothing.
  EXPECT_EQ(feed(Input::timer_fired(TimerKind::kRenew, 0), now + 1), std::vector<std::string>{});
}

TEST_F(CaseMachineMeasures, RenewalWithinUrgentDaysTakesTheUrgentLane) {
  const std::vector<std::string> fx =
      feed(Input::timer_fired(TimerKind::kRenew, 0), day(2026, 3, 24).start_us());  // 7 days left.
  ASSERT_EQ(fx.size(), 2u);
  EXPECT_NE(fx[1].find(" lane=urgent "), std::string::npos) << fx[1];
}

TEST_F(CaseMachineMeasures, ConcludedOrWaitingMeasureIsNotRenewed) {
  c_.status = CaseStatus::kConcluded;
  EXPECT_EQ(feed(Input::timer_fired(TimerKind::kRenew, 0), day(2026, 3, 1).start_us()),
            std::vector<std::string>{});
  c_.status = CaseStatus::kControlling;
  m().waiting = true;
  EXPECT_EQ(feed(Input::timer_fired(TimerKind::kRenew, 0), day(2026, 3, 1).start_us()),
            std::vector<std::string>{});
  EXPECT_FALSE(m().renewing);
}

TEST_F(CaseMachineMeasures, RenewedAnswerExtendsAndArmsTheNextCycle) {
  feed(Input::timer_fired(TimerKind::kRenew, 0), day(2026, 3, 1).start_us());
  Response r;
  r.end_date = day(2026, 9, 30);
  EXPECT_EQ(
      feed(Input::answer(RequestKind::kRenew, 0, r, day(2026, 3, 31)), day(2026, 3, 2).start_us()),
      (std::vector<std::string>{
          "case changed",
          "emit measure_renewed c1 50000 until 2026-09-30",
          "cancel renew m0",
          "cancel lapse m0",
          "arm renew m0 at=" + at(2026, 8, 31),
          "arm lapse m0 at=" + at(2026, 10, 1),
      }));
  EXPECT_FALSE(m().renewing);
  EXPECT_EQ(m().end, day(2026, 9, 30));
  EXPECT_EQ(stats_.renewed, 1);
}

TEST_F(CaseMachineMeasures, RenewAnswerNotLaterIsAFailureRetriedNextDay) {
  feed(Input::timer_fired(TimerKind::kRenew, 0), day(2026, 3, 1).start_us());
  Response r;
  r.end_date = day(2026, 3, 31);  // Not extended.
  const TimeUs now = day(2026, 3, 2).start_us() + 7;
  EXPECT_EQ(feed(Input::answer(RequestKind::kRenew, 0, r, day(2026, 3, 31)), now),
            (std::vector<std::string>{
                "case changed",
                "emit request_failed c1 50000 renew: OK",
                "arm renew m0 at=" + std::to_string(now + kMicrosPerDay),
            }));
  EXPECT_EQ(stats_.renewed, 0);
  // Refused on the last day: no retry after the measure's end.
  m().renewing = true;
  r.status = failed_precondition_error("measure ended");
  EXPECT_EQ(feed(Input::answer(RequestKind::kRenew, 0, r, day(2026, 3, 31)),
                 day(2026, 3, 31).start_us() + 1),
            (std::vector<std::string>{
                "case changed",
                "emit request_failed c1 50000 renew: FAILED_PRECONDITION: measure ended",
            }));
}

TEST_F(CaseMachineMeasures, LapseEndsTheMeasureReportsItAndReplans) {
  EXPECT_EQ(feed(Input::timer_fired(TimerKind::kLapse, 0), day(2026, 4, 1).start_us()),
            (std::vector<std::string>{
                "case changed",
                "emit measure_lapsed c1 50000 ended 2026-03-31 without renewal",
                "cancel renew m0",
                "cancel lapse m0",
                "cancel deduct m0",
                "plan",
            }));
  EXPECT_FALSE(m().live);
  EXPECT_EQ(m().amount, Fen());
  EXPECT_EQ(c_.ledger.frozen(), Fen());
  EXPECT_EQ(stats_.lapsed, 1);
  EXPECT_EQ(stats_.frozen, Fen());
  // Ended: nothing more happens to it.
  EXPECT_EQ(feed(Input::timer_fired(TimerKind::kLapse, 0), day(2026, 4, 2).start_us()),
            std::vector<std::string>{});
}

TEST_F(CaseMachineMeasures, LapseDuringRenewalWaitsForItsAnswer) {
  feed(Input::timer_fired(TimerKind::kRenew, 0), day(2026, 3, 31).start_us());
  EXPECT_EQ(feed(Input::timer_fired(TimerKind::kLapse, 0), day(2026, 4, 1).start_us()),
            std::vector<std::string>{"case changed"});
  EXPECT_TRUE(m().live);
  EXPECT_TRUE(m().lapse_due);
  // The renewal failed: the lapse it held back happens now.
  const Response r = Response::error(unavailable_error("bank down"));
  EXPECT_EQ(
      feed(Input::answer(RequestKind::kRenew, 0, r, day(2026, 3, 31)), day(2026, 4, 1).start_us()),
      (std::vector<std::string>{
          "case changed",
          "emit request_failed c1 50000 renew: UNAVAILABLE: bank down",
          "emit measure_lapsed c1 50000 ended 2026-03-31 without renewal",
          "cancel renew m0",
          "cancel lapse m0",
          "cancel deduct m0",
          "plan",
      }));
  EXPECT_FALSE(m().live);
  EXPECT_FALSE(m().lapse_due);
  EXPECT_EQ(stats_.lapsed, 1);
}

TEST_F(CaseMachineMeasures, LapseDuringRenewalThatSucceedsIsNoLapse) {
  feed(Input::timer_fired(TimerKind::kRenew, 0), day(2026, 3, 31).start_us());
  feed(Input::timer_fired(TimerKind::kLapse, 0), day(2026, 4, 1).start_us());
  Response r;
  r.end_date = day(2026, 9, 30);
  const std::vector<std::string> fx =
      feed(Input::answer(RequestKind::kRenew, 0, r, day(2026, 3, 31)), day(2026, 4, 1).start_us());
  ASSERT_EQ(fx.size(), 6u);
  EXPECT_EQ(fx[1], "emit measure_renewed c1 50000 until 2026-09-30");
  EXPECT_TRUE(m().live);
  EXPECT_EQ(stats_.lapsed, 0);
}

TEST_F(CaseMachineMeasures, RefusedRenewalIsNotInFlight) {
  feed(Input::timer_fired(TimerKind::kRenew, 0), day(2026, 3, 1).start_us());
  EXPECT_EQ(feed(Input::refused(RequestKind::kRenew, 0), day(2026, 3, 1).start_us()),
            std::vector<std::string>{"case changed"});
  EXPECT_FALSE(m().renewing);
}

TEST_F(CaseMachineMeasures, InDoubtResendOfARenewalAsksAgainWithTheSameKey) {
  const std::vector<std::string> first =
      feed(Input::timer_fired(TimerKind::kRenew, 0), day(2026, 3, 1).start_us());
  const std::vector<std::string> again =
      feed(Input::resend(RequestKind::kRenew, 0), day(2026, 3, 1).start_us() + kMicrosPerHour);
  EXPECT_EQ(again, first);
  EXPECT_TRUE(m().renewing);
}

TEST_F(CaseMachineMeasures, ReleaseSendsThenEndsTheMeasure) {
  c_.status = CaseStatus::kConcluded;
  const TimeUs now = day(2026, 1, 5).start_us();
  EXPECT_EQ(feed(Input::of(InputKind::kRelease, 0), now),
            (std::vector<std::string>{
                "case changed",
                "send release m0 c1 key=（2025）渝0110执1001号/release/bank.b/17 "
                "measure=bank.b/17 lane=normal deadline=" +
                    std::to_string(now + kMicrosPerDay),
            }));
  EXPECT_TRUE(m().releasing);
  // A refused release stays marked for a restart to send again.
  EXPECT_EQ(feed(Input::refused(RequestKind::kRelease, 0), now), std::vector<std::string>{});
  EXPECT_TRUE(m().releasing);
  EXPECT_EQ(feed(Input::answer(RequestKind::kRelease, 0, Response()), now + 1),
            (std::vector<std::string>{
                "case changed",
                "emit measure_released c1 50000 bank.b/17",
                "cancel renew m0",
                "cancel lapse m0",
                "cancel deduct m0",
            }));
  EXPECT_FALSE(m().releasing);
  EXPECT_FALSE(m().live);
  EXPECT_EQ(c_.ledger.frozen(), Fen());
  EXPECT_EQ(stats_.frozen, Fen());
}

TEST_F(CaseMachineMeasures, FailedReleaseKeepsTheMeasure) {
  feed(Input::of(InputKind::kRelease, 0), day(2026, 1, 5).start_us());
  const Response r = Response::error(failed_precondition_error("no such measure"));
  EXPECT_EQ(feed(Input::answer(RequestKind::kRelease, 0, r), day(2026, 1, 5).start_us()),
            (std::vector<std::string>{
                "case changed",
                "emit request_failed c1 50000 release: FAILED_PRECONDITION: no such measure",
            }));
  EXPECT_FALSE(m().releasing);
  EXPECT_TRUE(m().live);
  EXPECT_EQ(c_.ledger.frozen(), Fen(50'000));
}

TEST_F(CaseMachineMeasures, IndivisibleMeasureEndsItsCover) {
  c_.findings[0].asset.category = connectors::AssetCategory::kVehicle;
  c_.ledger = Ledger::restore(Fen(100'000), Fen(), Fen(), Fen(), Fen(), Fen(50'000));
  stats_.frozen = Fen();
  EXPECT_EQ(feed(Input::of(InputKind::kEnded, 0), day(2026, 1, 5).start_us()),
            (std::vector<std::string>{"case changed", "cancel renew m0", "cancel lapse m0",
                                      "cancel deduct m0"}));
  EXPECT_EQ(c_.ledger.indivisible_cover(), Fen());
  EXPECT_EQ(stats_.frozen, Fen());  // Frozen money counts divisible funds only.
  EXPECT_EQ(feed(Input::of(InputKind::kEnded, 0), day(2026, 1, 6).start_us()),
            std::vector<std::string>{});
}

TEST(CaseMachineEffects, ListIsReusedAcrossInputs) {
  Effects fx;
  fx.emit(EventType::kMeasureLapsed, 0, Fen(1), "x");
  fx.changed();
  fx.changed();
  ASSERT_EQ(fx.list().size(), 2u);  // Case changed at most once.
  fx.clear();
  EXPECT_TRUE(fx.list().empty());
  fx.changed();
  EXPECT_EQ(fx.list().size(), 1u);
}

}  // namespace
}  // namespace chakong::engine::machine
