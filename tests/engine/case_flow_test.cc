// Case flows with scripted inputs, asserting the exact requests and effects. Two levels:
//  - the case machine's deduction (engine/src/deduction.cc) fed inputs directly, asserting the
//    exact effects list (no executor, dispatcher or journal);
//  - the shard's whole flow behind a scripted institution in virtual time: every request it
//    sends (kind, key, amount) and every event of interest, in order, for the 48-hour clock
//    with a partial freeze, the waiting list, renewal and lapse, deduction, termination and
//    restoration.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/src/case_machine.h"
#include "tests/engine/engine_world.h"

namespace chakong::engine {
namespace {

using connectors::AssetCategory;
using connectors::Request;
using connectors::RequestKind;
using connectors::Response;
using testing::EngineWorld;
using testing::kDebtor;

constexpr char kNumber[] = "（2025）渝0110执1001号";

// ---- The machine: deduction ----------------------------------------------------------

class CaseMachineDeduction : public ::testing::Test {
 protected:
  CaseMachineDeduction() {
    connectors_.push_back({nullptr, "bank.a", connectors::Capabilities::all(), false});
    connectors_.push_back({nullptr, "bank.b", connectors::Capabilities::all(), true});
    c_.number = kNumber;
    c_.filing.officer_ids = {"officer-1"};
    c_.status = CaseStatus::kControlling;
    // 1,000.00 owed; 500.00 frozen in the one measure, 100.00 more of its limit pending.
    c_.ledger = Ledger::restore(Fen(100'000), Fen(50'000), Fen(), Fen(10'000), Fen(), Fen());
    Finding f;
    f.connector = 1;
    f.asset = {AssetCategory::kDeposit, "acct-7", Fen(80'000), kDebtor};
    f.state = FindingState::kControlled;
    c_.findings.push_back(f);
    Measure m;
    m.id = "bank.b/17";
    m.connector = 1;
    m.amount = Fen(50'000);
    m.pending = Fen(10'000);
    m.end = Date::no_end();
    m.deduct_at = 1'000;
    c_.measures.push_back(m);
    stats_.frozen = Fen(50'000);
  }

  std::vector<std::string> feed(const machine::Input& in, TimeUs now = 5'000) {
    fx_.clear();
    machine::step(machine::Env{config_, now, stats_, connectors_}, c_, in, fx_);
    std::vector<std::string> lines;
    for (const machine::Effect& e : fx_.list()) lines.push_back(machine::describe(e));
    return lines;
  }

  EngineConfig config_;
  EngineStats stats_;
  std::vector<ConnectorInfo> connectors_;
  CaseState c_;
  machine::Effects fx_;
};

TEST_F(CaseMachineDeduction, TimerSendsTheDeductionOfAllThatIsFrozen) {
  const TimeUs deadline = 5'000 + config_.control_deadline;
  EXPECT_EQ(feed(machine::Input::timer_fired(machine::TimerKind::kDeduct, 0)),
            (std::vector<std::string>{
                "case changed",
                "send deduct m0 c1 key=" + std::string(kNumber) +
                    "/deduct/bank.b/17 measure=bank.b/17 lane=normal deadline=" +
                    std::to_string(deadline),
            }));
  EXPECT_TRUE(c_.measures[0].deducting);
  EXPECT_EQ(c_.measures[0].deduct_at, 0);
  EXPECT_EQ(c_.status, CaseStatus::kDeducting);
  EXPECT_EQ(fx_.list()[1].request.amount, Fen());  // All that is frozen now.
}

TEST_F(CaseMachineDeduction, NothingIsSentForAConnectorThatCannotDeduct) {
  connectors_[1].caps = connectors::Capabilities{RequestKind::kQuery, RequestKind::kFreeze};
  EXPECT_EQ(feed(machine::Input::timer_fired(machine::TimerKind::kDeduct, 0)),
            (std::vector<std::string>{"case changed"}));
  EXPECT_FALSE(c_.measures[0].deducting);
  EXPECT_EQ(c_.status, CaseStatus::kControlling);
}

TEST_F(CaseMachineDeduction, ARefusedDeductionIsNotInFlight) {
  feed(machine::Input::timer_fired(machine::TimerKind::kDeduct, 0));
  EXPECT_EQ(feed(machine::Input::refused(RequestKind::kDeduct, 0)),
            (std::vector<std::string>{"case changed"}));
  EXPECT_FALSE(c_.measures[0].deducting);
}

TEST_F(CaseMachineDeduction, AnAnswerWithTopUpsMovesThePendingLimitThenEndsTheMeasure) {
  feed(machine::Input::timer_fired(machine::TimerKind::kDeduct, 0));
  Response r;
  r.frozen = Fen(70'000);  // 500.00 frozen + a top-up of 200.00, of which 100.00 was pending.
  EXPECT_EQ(feed(machine::Input::answer(RequestKind::kDeduct, 0, r)),
            (std::vector<std::string>{
                "case changed",
                "emit deducted c1 60000 bank.b/17",
                "cancel renew m0",
                "cancel lapse m0",
                "cancel deduct m0",
            }));
  EXPECT_EQ(c_.ledger.deducted(), Fen(60'000));
  EXPECT_EQ(c_.ledger.frozen(), Fen());
  EXPECT_EQ(c_.ledger.pending(), Fen());
  EXPECT_EQ(stats_.deducted, Fen(60'000));
  EXPECT_EQ(stats_.frozen, Fen());
  EXPECT_FALSE(c_.measures[0].live);
  EXPECT_FALSE(c_.measures[0].deducting);
}

TEST_F(CaseMachineDeduction, ASatisfiedBudgetConcludesTheCase) {
  c_.ledger = Ledger::restore(Fen(50'000), Fen(50'000), Fen(), Fen(), Fen(), Fen());
  c_.measures[0].pending = Fen();
  feed(machine::Input::timer_fired(machine::TimerKind::kDeduct, 0));
  Response r;
  r.frozen = Fen(50'000);
  EXPECT_EQ(feed(machine::Input::answer(RequestKind::kDeduct, 0, r)),
            (std::vector<std::string>{
                "case changed",
                "emit deducted c1 50000 bank.b/17",
                "cancel renew m0",
                "cancel lapse m0",
                "cancel deduct m0",
                "conclude",
            }));
}

TEST_F(CaseMachineDeduction, AFailedDeductionIsReportedAndTheMeasureStays) {
  feed(machine::Input::timer_fired(machine::TimerKind::kDeduct, 0));
  Response r = Response::error(failed_precondition_error("account closed"));
  EXPECT_EQ(feed(machine::Input::answer(RequestKind::kDeduct, 0, r)),
            (std::vector<std::string>{
                "case changed",
                "emit request_failed c1 50000 deduct: FAILED_PRECONDITION: account closed",
            }));
  EXPECT_TRUE(c_.measures[0].live);
  EXPECT_EQ(c_.ledger.frozen(), Fen(50'000));
}

TEST_F(CaseMachineDeduction, AResendAsksAgainWithTheSameKey) {
  feed(machine::Input::timer_fired(machine::TimerKind::kDeduct, 0));
  const std::string key = fx_.list()[1].request.idempotency_key;
  const std::vector<std::string> again = feed(machine::Input::resend(RequestKind::kDeduct, 0));
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0], "case changed");
  EXPECT_EQ(fx_.list()[1].request.idempotency_key, key);
  EXPECT_TRUE(c_.measures[0].deducting);
}

// ---- The shard behind a scripted institution -----------------------------------------

// Answers every request with `script` one hour after it arrives and logs it as
// "<hours since start> <kind> <key> amount=<fen>".
class ScriptedBank : public connectors::Connector {
 public:
  ScriptedBank(Executor& ex, TimeUs t0) : ex_(ex), t0_(t0) {}
  const std::string& name() const override { return name_; }
  connectors::Capabilities capabilities() const override { return connectors::Capabilities::all(); }
  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override {
    std::vector<Response> answers;
    for (const Request& r : batch) {
      log.push_back(std::to_string((ex_.now() - t0_) / kMicrosPerHour) + "h " +
                    std::string(connectors::request_kind_name(r.kind)) + " " + r.idempotency_key +
                    " amount=" + std::to_string(r.amount.value()));
      answers.push_back(script(r));
    }
    ex_.run_after(kMicrosPerHour, [&sink, answers = std::move(answers)]() mutable {
      for (size_t i = 0; i < answers.size(); ++i) sink.response(i) = std::move(answers[i]);
      sink.complete();
    });
  }

  std::function<Response(const Request&)> script;
  std::vector<std::string> log;

 private:
  Executor& ex_;
  TimeUs t0_;
  std::string name_ = "bank.s";
};

class CaseFlow : public ::testing::Test {
 protected:
  CaseFlow() {
    config_.auto_deduct = false;
    bank_ = std::make_unique<ScriptedBank>(w_.ex(), w_.ex().now());
    bank = bank_.get();
    w_.add_connector(std::move(bank_));
    bank->script = [this](const Request& r) { return answer(r); };
  }

  // The institution's answers: the debtor's one deposit of 9,000.00; a freeze of `frozen_`
  // (all of the request when unset) until `end_`, or queued behind another authority.
  Response answer(const Request& r) {
    Response a;
    switch (r.kind) {
      case RequestKind::kQuery:
        a.assets.push_back({AssetCategory::kDeposit, "acct-1", Fen(900'000), kDebtor});
        break;
      case RequestKind::kFreeze:
        if (held_) {
          a.status = failed_precondition_error("held by another authority");
          a.prior_measures.push_back({"（2024）京0105执88号", Fen(900'000), end_, 0});
          break;
        }
        a.frozen = frozen_.is_zero() ? r.amount : frozen_;
        a.measure_id = "m-1";
        a.end_date = end_;
        break;
      case RequestKind::kWaitlistFreeze:
        a.queue_position = 1;
        a.measure_id = "w-1";
        a.end_date = end_;
        break;
      case RequestKind::kRenew:
        if (renewals_ok_-- > 0) {
          a.end_date = end_.plus_days(365);
          end_ = a.end_date;
        } else {
          a.status = failed_precondition_error("ruling expired");
        }
        break;
      case RequestKind::kDeduct: a.frozen = Fen(600'000); break;
      case RequestKind::kRelease: break;
      case RequestKind::kMeasureStatus:
        // The waiter takes effect on `converts_` for `converted_frozen_` until `end_`, or is
        // voided there (`voided_`).
        if (voided_) {
          a.status = failed_precondition_error("measure 'w-1' is voided");
        } else if (converts_ != Date() && date_of(w_.ex().now()) >= converts_) {
          a.frozen = converted_frozen_;
          a.measure_id = r.measure_id;
          a.effective_date = converts_;
          a.end_date = end_;
        } else {
          a.queue_position = 1;
          a.measure_id = r.measure_id;
        }
        break;
    }
    return a;
  }

  Engine& start() {
    Engine& e = w_.start(config_);
    EXPECT_TRUE(e.file_case(EngineWorld::filing(kNumber, Fen(600'000))).ok());
    return e;
  }
  void run_hours(int h) { w_.virt().run_until(w_.ex().now() + h * kMicrosPerHour); }
  // The events of `types`, one line each: "<type> <amount> <detail>".
  std::vector<std::string> events(std::initializer_list<EventType> types) const {
    std::vector<std::string> out;
    for (const Event& ev : w_.events) {
      for (EventType t : types) {
        if (ev.type == t) {
          out.push_back(std::string(event_type_name(ev.type)) + " " +
                        std::to_string(ev.amount.value()) + " " + ev.detail);
        }
      }
    }
    return out;
  }
  std::string key(const std::string& rest) const { return std::string(kNumber) + rest; }

  EngineWorld w_{false, "2025-03-03"};
  EngineConfig config_;
  std::unique_ptr<ScriptedBank> bank_;
  ScriptedBank* bank = nullptr;
  Fen frozen_;
  bool held_ = false;
  int renewals_ok_ = 0;
  Date end_ = *Date::from_ymd(2026, 3, 2);
  Date converts_;
  Fen converted_frozen_;
  bool voided_ = false;
};

TEST_F(CaseFlow, PartialFreezeMeetsThe48HourClock) {
  frozen_ = Fen(400'000);  // 4,000.00 of the 6,000.00 asked.
  Engine& e = start();
  run_hours(3);
  EXPECT_EQ(bank->log, (std::vector<std::string>{
                           "0h query " + key("/query/1/") + kDebtor + "/bank.s amount=0",
                           "1h freeze " + key("/freeze/0") + " amount=600000",
                       }));
  EXPECT_EQ(
      events({EventType::kControlMet, EventType::kControlMissed, EventType::kMeasureEffective}),
      (std::vector<std::string>{
          "control_met 400000 60 minutes after the finding",
          "measure_effective 400000 m-1",
      }));
  const CaseView v = *e.case_view(kNumber);
  EXPECT_EQ(v.status, CaseStatus::kControlling);
  EXPECT_EQ(v.frozen, Fen(400'000));
  EXPECT_EQ(v.reserved, Fen());
  EXPECT_EQ(v.open_control_clocks, 0);
  EXPECT_EQ(e.stats().control_met, 1u);
  EXPECT_EQ(e.stats().control_missed, 0u);
}

TEST_F(CaseFlow, AFreezeRefusedByTheBankLetsThe48HourClockRunOut) {
  bank->script = [this](const Request& r) {
    return r.kind == RequestKind::kFreeze
               ? Response::error(permission_denied_error("ruling not on file"))
               : answer(r);
  };
  Engine& e = start();
  run_hours(48);
  EXPECT_EQ(e.case_view(kNumber)->open_control_clocks, 1);  // Found at 1 h: due at 49 h.
  run_hours(2);
  EXPECT_EQ(bank->log, (std::vector<std::string>{
                           "0h query " + key("/query/1/") + kDebtor + "/bank.s amount=0",
                           "1h freeze " + key("/freeze/0") + " amount=600000",
                       }));
  std::vector<std::string> timed;
  for (const Event& ev : w_.events) {
    if (ev.type == EventType::kRequestFailed || ev.type == EventType::kControlMissed) {
      timed.push_back(std::to_string((ev.time - w_.events.front().time) / kMicrosPerHour) + "h " +
                      std::string(event_type_name(ev.type)) + " " +
                      std::to_string(ev.amount.value()) + " " + ev.detail);
    }
  }
  EXPECT_EQ(timed, (std::vector<std::string>{
                       "2h request_failed 600000 freeze: PERMISSION_DENIED: ruling not on file",
                       "49h control_missed 900000 not controlled within 48 hours of the finding",
                   }));
  EXPECT_EQ(e.case_view(kNumber)->open_control_clocks, 0);
  EXPECT_EQ(e.case_view(kNumber)->reserved, Fen());  // The reservation went back.
  EXPECT_EQ(e.stats().control_missed, 1u);
}

TEST_F(CaseFlow, AHeldAssetGoesOnTheWaitingList) {
  held_ = true;
  Engine& e = start();
  run_hours(4);
  EXPECT_EQ(bank->log, (std::vector<std::string>{
                           "0h query " + key("/query/1/") + kDebtor + "/bank.s amount=0",
                           "1h freeze " + key("/freeze/0") + " amount=600000",
                           "2h waitlist_freeze " + key("/waitlist/0") + " amount=600000",
                       }));
  EXPECT_EQ(events({EventType::kMeasureWaiting, EventType::kMeasureEffective}),
            (std::vector<std::string>{"measure_waiting 0 queue position 1"}));
  const CaseView v = *e.case_view(kNumber);
  ASSERT_EQ(v.measures.size(), 1u);
  EXPECT_TRUE(v.measures[0].waiting);
  EXPECT_EQ(v.pending, Fen(600'000));  // The limit stays claimed for the queue to fill.
}

// The waiting-list gap closed: the engine asks MEASURE_STATUS daily while the measure waits,
// and a conversion at the institution makes it a measure in force, renewed as any other.
TEST_F(CaseFlow, AWaitingMeasureThatTakesEffectIsRenewed) {
  held_ = true;
  converts_ = *Date::from_ymd(2025, 3, 6);
  converted_frozen_ = Fen(500'000);    // 5,000.00 of the 6,000.00 limit was free.
  end_ = *Date::from_ymd(2026, 3, 5);  // The term from the conversion.
  renewals_ok_ = 1;
  Engine& e = start();
  run_hours(80);
  // The first three polls find it waiting; the third, on 2025-03-06, in force.
  EXPECT_EQ(bank->log, (std::vector<std::string>{
                           "0h query " + key("/query/1/") + kDebtor + "/bank.s amount=0",
                           "1h freeze " + key("/freeze/0") + " amount=600000",
                           "2h waitlist_freeze " + key("/waitlist/0") + " amount=600000",
                           "27h measure_status " + key("/status/w-1/2025-03-04") + " amount=0",
                           "52h measure_status " + key("/status/w-1/2025-03-05") + " amount=0",
                           "77h measure_status " + key("/status/w-1/2025-03-06") + " amount=0",
                       }));
  w_.virt().run_until(Date::from_ymd(2026, 3, 1)->start_us());
  EXPECT_EQ(bank->log.back(), "8088h renew " + key("/renew/w-1/2026-03-05") + " amount=0");
  EXPECT_EQ(bank->log.size(), 7u);  // No poll after the conversion.
  EXPECT_EQ(events({EventType::kMeasureWaiting, EventType::kMeasureEffective,
                    EventType::kMeasureRenewed}),
            (std::vector<std::string>{
                "measure_waiting 0 queue position 1",
                "measure_effective 500000 w-1 took effect from the waiting list, until 2026-03-05",
                "measure_renewed 500000 until 2027-03-05",
            }));
  const CaseView v = *e.case_view(kNumber);
  ASSERT_EQ(v.measures.size(), 1u);
  EXPECT_FALSE(v.measures[0].waiting);
  EXPECT_EQ(v.measures[0].end, *Date::from_ymd(2027, 3, 5));
  EXPECT_EQ(v.frozen, Fen(500'000));
  EXPECT_EQ(v.pending, Fen(100'000));  // The rest of the limit, for the institution to fill.
  EXPECT_EQ(e.stats().waitlist_converted, 1u);
  EXPECT_EQ(e.stats().renewed, 1u);
  EXPECT_EQ(e.stats().requests[static_cast<int>(RequestKind::kMeasureStatus)], 3u);
}

TEST_F(CaseFlow, AWaitingMeasureVoidedAtTheInstitutionEnds) {
  held_ = true;
  voided_ = true;
  Engine& e = start();
  run_hours(30);
  EXPECT_EQ(bank->log.back(), "27h measure_status " + key("/status/w-1/2025-03-04") + " amount=0");
  EXPECT_EQ(events({EventType::kRequestFailed}),
            (std::vector<std::string>{"request_failed 0 measure_status: FAILED_PRECONDITION: "
                                      "measure 'w-1' is voided; the waiting measure ended"}));
  const CaseView v = *e.case_view(kNumber);
  ASSERT_EQ(v.measures.size(), 1u);
  EXPECT_FALSE(v.measures[0].live);
  EXPECT_EQ(v.pending, Fen());  // The limit it held is free again.
  EXPECT_EQ(e.stats().waitlist_ended, 1u);
  run_hours(72);
  EXPECT_EQ(bank->log.size(), 4u);  // Not asked again.
}

TEST_F(CaseFlow, RenewedOnceThenLapsesWithoutARenewal) {
  end_ = *Date::from_ymd(2025, 4, 12);  // 40 days after the filing.
  renewals_ok_ = 1;
  config_.renewal_retry = 400 * kMicrosPerDay;  // No retry: the failed renewal lapses.
  Engine& e = start();
  w_.virt().run_until(Date::from_ymd(2026, 5, 1)->start_us());
  // The first lead is 30 days before 2025-04-12; the second before 2026-04-12.
  EXPECT_EQ(bank->log, (std::vector<std::string>{
                           "0h query " + key("/query/1/") + kDebtor + "/bank.s amount=0",
                           "1h freeze " + key("/freeze/0") + " amount=600000",
                           "240h renew " + key("/renew/m-1/2025-04-12") + " amount=0",
                           "9000h renew " + key("/renew/m-1/2026-04-12") + " amount=0",
                       }));
  EXPECT_EQ(
      events({EventType::kMeasureRenewed, EventType::kMeasureLapsed, EventType::kRequestFailed}),
      (std::vector<std::string>{
          "measure_renewed 600000 until 2026-04-12",
          "request_failed 600000 renew: FAILED_PRECONDITION: ruling expired",
          "measure_lapsed 600000 ended 2026-04-12 without renewal",
      }));
  EXPECT_EQ(e.stats().renewed, 1u);
  EXPECT_EQ(e.stats().lapsed, 1u);
  EXPECT_EQ(e.case_view(kNumber)->frozen, Fen());
}

TEST_F(CaseFlow, DeductionConcludesTheCase) {
  config_.auto_deduct = true;
  config_.deduct_delay = 2 * kMicrosPerHour;
  Engine& e = start();
  run_hours(8);
  EXPECT_EQ(bank->log, (std::vector<std::string>{
                           "0h query " + key("/query/1/") + kDebtor + "/bank.s amount=0",
                           "1h freeze " + key("/freeze/0") + " amount=600000",
                           "4h deduct " + key("/deduct/m-1") + " amount=0",
                       }));
  EXPECT_EQ(events({EventType::kDeducted, EventType::kCaseConcluded, EventType::kMeasureReleased}),
            (std::vector<std::string>{"deducted 600000 m-1", "case_concluded 600000 "}));
  EXPECT_EQ(e.case_view(kNumber)->status, CaseStatus::kConcluded);
  EXPECT_EQ(e.stats().deducted, Fen(600'000));
}

TEST_F(CaseFlow, TerminatedThenRestoredUnderANewNumber) {
  bank->script = [](const Request&) { return Response{}; };  // Nothing found.
  Engine& e = start();
  run_hours(2);
  EXPECT_EQ(e.terminate_case(kNumber, true).code(), StatusCode::kFailedPrecondition);  // 90 days.
  w_.virt().run_until(w_.ex().now() + 91 * kMicrosPerDay);
  ASSERT_TRUE(e.terminate_case(kNumber, true).ok());
  EXPECT_EQ(e.case_view(kNumber)->status, CaseStatus::kTerminated);
  StatusOr<std::string> restored = e.restore_case(kNumber, 2025, 5001);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(*restored, "（2025）渝0110执恢5001号");
  run_hours(2);
  EXPECT_EQ(bank->log, (std::vector<std::string>{
                           "0h query " + key("/query/1/") + kDebtor + "/bank.s amount=0",
                           "2186h query （2025）渝0110执恢5001号/query/1/" + std::string(kDebtor) +
                               "/bank.s amount=0",
                       }));
  EXPECT_EQ(events({EventType::kCaseTerminated, EventType::kCaseRestored}),
            (std::vector<std::string>{"case_terminated 600000 ",
                                      "case_restored 600000 （2025）渝0110执恢5001号"}));
  EXPECT_EQ(e.case_view(kNumber)->status, CaseStatus::kRestored);
  EXPECT_EQ(e.case_view(*restored)->budget, Fen(600'000));
}

}  // namespace
}  // namespace chakong::engine
