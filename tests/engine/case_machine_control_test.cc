// The case machine's control and the planner driven with scripted inputs, asserting the exact
// effects it returns (as case_machine_test.cc does for measures): a finding planned and frozen
// whole, a partial freeze re-planned elsewhere, the waiting list, and the fail-safe rule (a
// freeze whose outcome stays in doubt keeps its reservation: the same money is never frozen at
// another institution). No executor, dispatcher or journal is involved.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/src/case_machine.h"
#include "tests/engine/case_machine_fixture.h"

namespace chakong::engine::machine {
namespace {

using connectors::Capabilities;
using connectors::RequestKind;
using connectors::Response;

constexpr char kNumber[] = "（2025）渝0110执1001号";

using test_support::at;
using test_support::day;

class CaseMachineControl : public test_support::CaseMachineTest {
 protected:
  CaseMachineControl() {
    connectors_ = {{nullptr, "bank.a", Capabilities::all(), false},
                   {nullptr, "bank.b", Capabilities::all(), false}};
    config_.auto_deduct = false;  // Deduction has its own tests (case_machine_test.cc).
    file(kNumber, 80'000);        // 800.00 owed; every query answered.
    c_.status = CaseStatus::kControlling;
    c_.query_scored = c_.queries_started = true;
    // Two deposits found at `found_`, their 48-hour clocks running: 800.00 at bank.a, 600.00
    // at bank.b. The larger is planned first.
    add_finding(0, "acct-7", 80'000);
    add_finding(1, "acct-9", 60'000);
  }

  void add_finding(uint32_t connector, std::string reference, int64_t fen) {
    Finding f;
    f.connector = connector;
    f.asset.holder_id = "d1";
    f.asset.reference = std::move(reference);
    f.asset.category = AssetCategory::kDeposit;
    f.asset.value = Fen(fen);
    f.found_at = found_;
    f.due = found_ + 48 * kMicrosPerHour;
    f.clock_open = true;
    c_.findings.push_back(f);
  }

  std::string freeze(std::string_view kind, uint32_t fi, int64_t amount, TimeUs deadline) const {
    const std::string c = "c" + std::to_string(c_.findings[fi].connector);
    const std::string key =
        std::string(kNumber) + (kind == "freeze" ? "/freeze/" : "/waitlist/") + std::to_string(fi);
    return "send " + std::string(kind) + " f" + std::to_string(fi) + " " + c + " key=" + key +
           " measure= amount=" + std::to_string(amount) + " lane=urgent deadline=" + at(deadline);
  }
  // Plans at `planned_`: bank.a's 800.00 covers the budget, bank.b's clock stops.
  void plan_first() {
    ASSERT_EQ(feed(Input::of(InputKind::kPlan), planned_), (std::vector<std::string>{
                                                               "case changed",
                                                               freeze("freeze", 0, 80'000, due(0)),
                                                               "cancel clock f1",
                                                           }));
  }
  TimeUs due(uint32_t fi) const { return c_.findings[fi].due; }
  static Response frozen(int64_t fen) {
    Response r;
    r.requested = Fen(80'000);
    r.frozen = Fen(fen);
    r.measure_id = "bank.a/17";
    r.end_date = day(2026, 3, 31);
    return r;
  }
  // The effects of a measure in force until 2026-03-31 (renewal lead 30 days).
  static std::vector<std::string> renewal_and_lapse() {
    return {"cancel renew m0", "cancel lapse m0",
            "arm renew m0 at=" + at(day(2026, 3, 1).start_us()),
            "arm lapse m0 at=" + at(day(2026, 4, 1).start_us())};
  }

  const TimeUs found_ = day(2025, 10, 15).start_us() + 9 * kMicrosPerHour;
  const TimeUs planned_ = found_ + 5 * kMicrosPerMinute;
  const TimeUs answered_ = found_ + 95 * kMicrosPerMinute;
};

TEST_F(CaseMachineControl, AFindingPlannedAndFrozenWholeBecomesAMeasureInForce) {
  plan_first();
  EXPECT_EQ(c_.findings[0].state, FindingState::kInFlight);
  EXPECT_EQ(c_.findings[0].sent_amount, Fen(80'000));
  EXPECT_FALSE(c_.findings[0].sent_waitlist);
  EXPECT_EQ(c_.ledger.reserved(), Fen(80'000));
  EXPECT_EQ(c_.findings[1].state, FindingState::kOpen);
  EXPECT_FALSE(c_.findings[1].clock_open);
  EXPECT_EQ(stats_.control_not_required, 1u);

  std::vector<std::string> expected = {
      "case changed",
      "cancel clock f0",
      "emit control_met c0 80000 95 minutes after the finding",
      "emit measure_effective c0 80000 bank.a/17",
  };
  for (const std::string& line : renewal_and_lapse()) expected.push_back(line);
  EXPECT_EQ(feed(Input::freeze_answer(RequestKind::kFreeze, 0, frozen(80'000), 3), answered_),
            expected);
  // control_met names the asset and the time from finding to control.
  EXPECT_EQ(fx_.list()[2].reference, "acct-7");
  EXPECT_EQ(fx_.list()[2].elapsed, 95 * kMicrosPerMinute);
  EXPECT_EQ(c_.findings[0].state, FindingState::kControlled);
  EXPECT_FALSE(c_.findings[0].clock_open);
  ASSERT_EQ(c_.measures.size(), 1u);
  EXPECT_EQ(c_.measures[0].id, "bank.a/17");
  EXPECT_EQ(c_.measures[0].amount, Fen(80'000));
  EXPECT_EQ(c_.measures[0].end, day(2026, 3, 31));
  EXPECT_EQ(c_.ledger.frozen(), Fen(80'000));
  EXPECT_EQ(c_.ledger.reserved(), Fen());
  EXPECT_EQ(stats_.control_met, 1u);
  EXPECT_EQ(stats_.frozen, Fen(80'000));
  EXPECT_EQ(stats_.cases_secured, 1u);
}

TEST_F(CaseMachineControl, APartialFreezeIsReplannedOnTheNextAsset) {
  plan_first();
  // bank.a froze 500.00 of the 800.00 asked: the 300.00 left goes to bank.b, whose clock has
  // stopped (its deadline: 48 hours from now).
  std::vector<std::string> expected = {
      "case changed",
      "cancel clock f0",
      "emit control_met c0 50000 95 minutes after the finding",
      "emit measure_effective c0 50000 bank.a/17",
  };
  for (const std::string& line : renewal_and_lapse()) expected.push_back(line);
  expected.push_back(freeze("freeze", 1, 30'000, answered_ + 48 * kMicrosPerHour));
  EXPECT_EQ(feed(Input::freeze_answer(RequestKind::kFreeze, 0, frozen(50'000), 3), answered_),
            expected);
  EXPECT_EQ(c_.measures[0].amount, Fen(50'000));
  EXPECT_EQ(c_.ledger.frozen(), Fen(50'000));
  EXPECT_EQ(c_.ledger.reserved(), Fen(30'000));
  EXPECT_EQ(c_.findings[1].state, FindingState::kInFlight);
  EXPECT_EQ(c_.findings[1].sent_amount, Fen(30'000));
  EXPECT_EQ(stats_.frozen, Fen(50'000));
  EXPECT_EQ(stats_.cases_secured, 0u);
}

TEST_F(CaseMachineControl, AnAssetHeldByAnotherAuthorityIsQueuedOnTheWaitingList) {
  plan_first();
  Response held = Response::error(failed_precondition_error("under another measure"));
  held.prior_measures.emplace_back();
  EXPECT_EQ(feed(Input::freeze_answer(RequestKind::kFreeze, 0, held, 3), answered_),
            (std::vector<std::string>{
                "case changed",
                freeze("waitlist_freeze", 0, 80'000, due(0)),  // Still by the finding's clock.
            }));
  EXPECT_TRUE(c_.findings[0].held_by_others);
  EXPECT_TRUE(c_.findings[0].sent_waitlist);
  EXPECT_EQ(c_.ledger.reserved(), Fen(80'000));  // The reservation is kept.

  // Second in the queue: a waiting measure holding the whole limit, its status polled daily.
  Response queued;
  queued.queue_position = 2;
  queued.measure_id = "bank.a/18";
  const TimeUs t = answered_ + kMicrosPerHour;
  EXPECT_EQ(feed(Input::freeze_answer(RequestKind::kWaitlistFreeze, 0, queued, 3), t),
            (std::vector<std::string>{
                "case changed",
                "cancel clock f0",
                "emit control_met c0 0 155 minutes after the finding",
                "emit measure_waiting c0 0 queue position 2",
                "cancel renew m0",
                "cancel lapse m0",
                "arm status m0 at=" + at(t + kMicrosPerDay),
            }));
  ASSERT_EQ(c_.measures.size(), 1u);
  EXPECT_TRUE(c_.measures[0].waiting);
  EXPECT_EQ(c_.measures[0].pending, Fen(80'000));
  EXPECT_EQ(c_.ledger.pending(), Fen(80'000));
  EXPECT_EQ(c_.ledger.reserved(), Fen());
  EXPECT_EQ(c_.ledger.remaining(), Fen());
}

// The fail-safe rule: a reply that does not decode may hide a freeze that took effect, so the
// money stays reserved for the finding and is not frozen at bank.b, now or at the next plan.
TEST_F(CaseMachineControl, AnExhaustedInDoubtFreezeKeepsItsReservationAndFreezesNothingElsewhere) {
  plan_first();
  c_.findings[1].clock_open = true;  // bank.b still a candidate with a clock.
  const Response undecodable = Response::error(data_loss_error("reply does not decode"));
  EXPECT_EQ(feed(Input::freeze_answer(RequestKind::kFreeze, 0, undecodable, 3), answered_),
            (std::vector<std::string>{
                "case changed",
                "emit request_failed c0 80000 freeze: DATA_LOSS: reply does not decode; still in "
                "doubt after 3 re-sends with the same key, what it reserved is kept until an "
                "officer resolves it",
            }));
  EXPECT_EQ(c_.findings[0].state, FindingState::kInFlight);
  EXPECT_TRUE(c_.findings[0].unresolved);
  EXPECT_EQ(c_.ledger.reserved(), Fen(80'000));
  EXPECT_EQ(stats_.in_doubt_unresolved, 1u);
  // The next plan finds nothing to freeze: the budget is reserved.
  EXPECT_EQ(feed(Input::of(InputKind::kPlan), answered_ + 1),
            (std::vector<std::string>{"case changed", "cancel clock f1"}));
  EXPECT_EQ(c_.findings[1].state, FindingState::kOpen);
  // A restart re-sends it with the same key and amount; the answer settles it.
  EXPECT_EQ(feed(Input::resend(RequestKind::kFreeze, 0), answered_ + 2),
            (std::vector<std::string>{"case changed", freeze("freeze", 0, 80'000, due(0))}));
  feed(Input::freeze_answer(RequestKind::kFreeze, 0, frozen(80'000), 3), answered_ + 3);
  EXPECT_FALSE(c_.findings[0].unresolved);
  EXPECT_EQ(c_.ledger.frozen(), Fen(80'000));
}

// A definite refusal, by contrast, frees the reservation and the rest is planned elsewhere.
TEST_F(CaseMachineControl, ARefusedFreezeFreesItsReservationForTheNextAsset) {
  plan_first();
  const Response refused = Response::error(permission_denied_error("ruling not accepted"));
  EXPECT_EQ(feed(Input::freeze_answer(RequestKind::kFreeze, 0, refused, 3), answered_),
            (std::vector<std::string>{
                "case changed",
                "emit request_failed c0 80000 freeze: PERMISSION_DENIED: ruling not accepted",
                freeze("freeze", 1, 60'000, answered_ + 48 * kMicrosPerHour),
            }));
  EXPECT_EQ(c_.findings[0].state, FindingState::kFailed);
  EXPECT_EQ(c_.ledger.reserved(), Fen(60'000));
  EXPECT_EQ(stats_.in_doubt_unresolved, 0u);
}

// A freeze the authoriser stopped never left: its reservation is freed, nothing else happens.
TEST_F(CaseMachineControl, AFreezeThatDidNotLeaveFreesItsReservation) {
  plan_first();
  EXPECT_EQ(feed(Input::refused(RequestKind::kFreeze, 0), answered_),
            (std::vector<std::string>{"case changed"}));
  EXPECT_EQ(c_.findings[0].state, FindingState::kFailed);
  EXPECT_EQ(c_.ledger.reserved(), Fen());
}

// A flat is planned only once every query has answered, or, while slow banks are still
// answering, at half its clock (kIndivisible).
TEST_F(CaseMachineControl, AnIndivisibleAssetIsPlannedAtHalfItsClockWhileQueriesAreOut) {
  c_.findings.clear();
  add_finding(1, "flat-3", 500'000);
  c_.findings[0].asset.category = AssetCategory::kRealEstate;
  c_.queries_outstanding = 1;
  config_.min_seal_share = 0;  // No proportionality floor here (proportionality_test.cc).
  config_.min_seal_remainder = Fen();
  EXPECT_EQ(feed(Input::of(InputKind::kPlan), planned_),
            (std::vector<std::string>{"arm indivisible at=" + at(found_ + 24 * kMicrosPerHour)}));
  EXPECT_EQ(feed(Input::timer_fired(TimerKind::kIndivisible, 0), found_ + 24 * kMicrosPerHour),
            (std::vector<std::string>{"case changed", freeze("freeze", 0, 80'000, due(0))}));
  EXPECT_TRUE(c_.indivisible_allowed);
  EXPECT_EQ(c_.ledger.indivisible_cover(), Fen(80'000));  // The flat covers what is owed.
  EXPECT_EQ(stats_.indivisible_sealed, 1u);
  ASSERT_EQ(c_.reasons.size(), 1u);
}

}  // namespace
}  // namespace chakong::engine::machine
