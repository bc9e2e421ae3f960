// The case machine's lifecycle and termination driven with scripted inputs, asserting the
// exact effects it returns (as case_machine_test.cc does for measures): a case filed and its
// query start, termination refused and granted (into the library), conclusion releasing what
// is left, and when a concluded case has settled. No executor, dispatcher or journal.
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
using lifecycle::Settled;

constexpr char kNumber[] = "（2025）渝0110执1001号";

using test_support::at;
using test_support::day;

class CaseMachineLifecycle : public test_support::CaseMachineTest {
 protected:
  CaseMachineLifecycle() {
    connectors_ = {{nullptr, "bank.a", Capabilities::all(), false}};
    config_.auto_deduct = false;
    file(kNumber, 100'000);
    c_.filing.received_at = received_;
  }

  // lifecycle::terminate at `now`: its status; the effects in fx_.
  Status terminate(bool restricted, TimeUs now) {
    fx_.clear();
    return lifecycle::terminate(env(now), c_, restricted, fx_);
  }
  // An open case 100 days after filing, every query answered, 600.00 frozen at bank.a under
  // bank.a/17 (in force until 2026-06-30) and a finding at bank.a whose clock still runs.
  void open_with_a_measure() {
    c_.status = CaseStatus::kControlling;
    c_.queries_started = c_.query_scored = true;
    c_.ledger = Ledger::restore(Fen(100'000), Fen(60'000), Fen(), Fen(), Fen(), Fen());
    Finding f;
    f.asset.holder_id = "d1";
    f.asset.reference = "acct-7";
    f.asset.category = AssetCategory::kDeposit;
    f.asset.value = Fen(60'000);
    f.state = FindingState::kControlled;
    c_.findings.push_back(f);
    f.asset.reference = "acct-8";
    f.state = FindingState::kOpen;
    f.clock_open = true;
    c_.findings.push_back(f);
    Measure m;
    m.id = "bank.a/17";
    m.amount = Fen(60'000);
    m.end = day(2026, 6, 30);
    c_.measures.push_back(m);
  }

  const TimeUs received_ = day(2025, 10, 13).start_us() + 10 * kMicrosPerHour;
  const TimeUs later_ = received_ + 100 * kMicrosPerDay;
};

TEST_F(CaseMachineLifecycle, AFiledCaseIsReportedAndItsQueriesStartAfterTheDelay) {
  config_.query_delay = 2 * kMicrosPerHour;
  EXPECT_EQ(feed(Input::of(InputKind::kFiled), received_ + kMicrosPerHour),
            (std::vector<std::string>{"emit case_filed - 100000 ",
                                      "arm start at=" + at(received_ + 2 * kMicrosPerHour)}));
  EXPECT_EQ(stats_.cases_filed, 1u);
  EXPECT_EQ(stats_.claimed, Fen(100'000));
  // Filed after the delay already passed (a late filing): at once.
  EXPECT_EQ(feed(Input::of(InputKind::kFiled), received_ + 3 * kMicrosPerHour),
            (std::vector<std::string>{"emit case_filed - 100000 ",
                                      "arm start at=" + at(received_ + 3 * kMicrosPerHour)}));
  const TimeUs start = received_ + 3 * kMicrosPerHour;
  EXPECT_EQ(feed(Input::timer_fired(TimerKind::kStart, 0), start),
            (std::vector<std::string>{
                "case changed",
                "emit queries_started - 0 0 working days after receipt",
                "send query round=1 c0 lane=normal deadline=" + at(received_ + 7 * kMicrosPerDay),
            }));
  EXPECT_EQ(c_.status, CaseStatus::kQuerying);
}

TEST_F(CaseMachineLifecycle, TerminationIsRefusedUntilItsConditionsHoldAndChangesNothing) {
  c_.status = CaseStatus::kQuerying;
  c_.query_scored = true;
  c_.queries_outstanding = 2;
  EXPECT_EQ(terminate(true, received_ + 30 * kMicrosPerDay),
            failed_precondition_error("case " + std::string(kNumber) +
                                      " was filed 30 days ago; termination needs 90"));
  EXPECT_EQ(terminate(true, later_),
            failed_precondition_error("case " + std::string(kNumber) +
                                      " has 2 network queries outstanding; termination needs "
                                      "them done"));
  c_.queries_outstanding = 0;
  EXPECT_EQ(terminate(false, later_),
            failed_precondition_error("case " + std::string(kNumber) +
                                      ": termination needs a consumption restriction issued"));
  EXPECT_TRUE(fx_.list().empty());
  EXPECT_EQ(c_.status, CaseStatus::kQuerying);
  EXPECT_EQ(stats_.cases_terminated, 0u);
  c_.status = CaseStatus::kConcluded;
  EXPECT_EQ(terminate(true, later_),
            failed_precondition_error("case " + std::string(kNumber) +
                                      " is concluded; only an open case can be terminated"));
}

TEST_F(CaseMachineLifecycle, ATerminatedCaseGoesIntoTheLibraryWithItsMeasuresKept) {
  open_with_a_measure();
  EXPECT_TRUE(terminate(true, later_).ok());
  EXPECT_EQ(lines(), (std::vector<std::string>{"case changed", "emit case_terminated - 40000 ",
                                               "to library, consumption restricted"}));
  EXPECT_EQ(c_.status, CaseStatus::kTerminated);
  EXPECT_TRUE(c_.measures[0].live);  // Kept in force: no release.
  EXPECT_EQ(stats_.cases_terminated, 1u);
  // Without a consumption restriction where the policy does not ask for one.
  c_.status = CaseStatus::kControlling;
  config_.termination.require_consumption_restriction = false;
  EXPECT_TRUE(terminate(false, later_).ok());
  EXPECT_EQ(lines(), (std::vector<std::string>{"case changed", "emit case_terminated - 40000 ",
                                               "to library"}));
  // Nothing owed any more (all deducted): terminated, but nothing for the library.
  c_.status = CaseStatus::kControlling;
  c_.ledger = Ledger::restore(Fen(100'000), Fen(), Fen(), Fen(), Fen(100'000), Fen());
  EXPECT_TRUE(terminate(false, later_).ok());
  EXPECT_EQ(lines(), (std::vector<std::string>{"case changed", "emit case_terminated - 0 "}));
}

TEST_F(CaseMachineLifecycle, ConclusionStopsClocksReleasesWhatIsLeftAndSettles) {
  open_with_a_measure();
  EXPECT_EQ(feed(Input::of(InputKind::kConclude), later_),
            (std::vector<std::string>{
                "case changed",
                "cancel clock f1",
                "send release m0 c0 key=" + std::string(kNumber) +
                    "/release/bank.a/17 measure=bank.a/17 lane=normal deadline=" +
                    at(later_ + kMicrosPerDay),
                "emit case_concluded - 0 ",
                "forget when settled",
            }));
  EXPECT_EQ(c_.status, CaseStatus::kConcluded);
  EXPECT_EQ(stats_.cases_concluded, 1u);
  EXPECT_EQ(stats_.control_not_required, 1u);
  EXPECT_TRUE(c_.measures[0].releasing);
  // Once only.
  EXPECT_EQ(feed(Input::of(InputKind::kConclude), later_ + 1), std::vector<std::string>{});
  // The release in flight keeps it busy; released, it has settled.
  EXPECT_EQ(lifecycle::settled(c_), Settled::kBusy);
  EXPECT_EQ(feed(Input::answer(RequestKind::kRelease, 0, Response()), later_ + 2),
            (std::vector<std::string>{"case changed", "emit measure_released c0 60000 bank.a/17",
                                      "cancel renew m0", "cancel lapse m0", "cancel deduct m0"}));
  EXPECT_EQ(lifecycle::settled(c_), Settled::kSettled);
  EXPECT_EQ(c_.ledger.frozen(), Fen());
}

TEST_F(CaseMachineLifecycle, AConcludedCaseWithARequestInDoubtOrARefusedReleaseIsKept) {
  open_with_a_measure();
  feed(Input::of(InputKind::kConclude), later_);
  // The institution refused the release: the measure stays in force, the record is kept.
  EXPECT_EQ(
      feed(Input::answer(RequestKind::kRelease, 0, Response::error(permission_denied_error("no"))),
           later_ + 1),
      (std::vector<std::string>{"case changed",
                                "emit request_failed c0 60000 release: PERMISSION_DENIED: no"}));
  EXPECT_EQ(lifecycle::settled(c_), Settled::kKept);
  // A freeze still in doubt after its series keeps the record too, for an officer.
  c_.measures.clear();
  c_.findings[1].state = FindingState::kInFlight;
  EXPECT_EQ(lifecycle::settled(c_), Settled::kBusy);
  c_.findings[1].unresolved = true;
  EXPECT_EQ(lifecycle::settled(c_), Settled::kKept);
}

}  // namespace
}  // namespace chakong::engine::machine
