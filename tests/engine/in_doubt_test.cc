// The one in-doubt rule: an outcome the engine cannot know (no answer in time, an institution
// down, a reply that does not decode, a call cut by shutdown) keeps what the request reserved
// and is resolved by asking again with the same idempotency key, for every control kind. The
// institution acts on every request here; only its reply is lost (Fault::kLoseReply).
#include <gtest/gtest.h>

#include <set>

#include "chakong/engine/engine.h"
#include "engine_world.h"

namespace chakong::engine {
namespace {

using connectors::AssetCategory;
using connectors::Request;
using connectors::RequestKind;
using testing::EngineWorld;
using testing::kDebtor;

constexpr char kCase[] = "（2025）渝0110执1号";

sim::LatencyFn minutes(int n) {
  return [n](const std::vector<Request>&) { return n * kMicrosPerMinute; };
}

// Loses the reply of the first batch of control requests of `kind`, with `status`.
sim::FaultPlan lose_first(RequestKind kind, Status status) {
  auto done = std::make_shared<bool>(false);
  return [kind, status, done](const std::vector<Request>& batch) {
    if (!*done && batch.front().kind == kind) {
      *done = true;
      return sim::Fault{sim::Fault::kLoseReply, 0, status};
    }
    return sim::Fault{};
  };
}

// Loses the reply of every request the first time its key is seen.
sim::FaultPlan lose_every_first_reply(Status status) {
  auto seen = std::make_shared<std::set<std::string>>();
  return [status, seen](const std::vector<Request>& batch) {
    bool fresh = false;
    for (const Request& r : batch) fresh |= seen->insert(r.idempotency_key).second;
    return fresh ? sim::Fault{sim::Fault::kLoseReply, 0, status} : sim::Fault{};
  };
}

// bank.a holding `accounts` deposits of ¥500,000 for the debtor (A1, A2, ...); claims are
// ¥300,000, so one account covers a case.
institution::Institution& bank_with(EngineWorld& w, int accounts) {
  institution::Institution& bank = w.add_institution("bank.a");
  for (int i = 1; i <= accounts; ++i) {
    EXPECT_TRUE(
        bank.add_asset({AssetCategory::kDeposit, "A" + std::to_string(i), Fen(500'000'00), kDebtor})
            .ok());
  }
  return bank;
}

// The engine's shard-level rule is under test: the dispatcher makes one attempt.
EngineConfig one_attempt() {
  EngineConfig config;
  config.dispatch.max_attempts = 1;
  config.in_doubt_retry = kMicrosPerHour;
  return config;
}

class FreezeInDoubtTest : public ::testing::TestWithParam<StatusCode> {};

// Regression: a freeze answered with DATA_LOSS (or cut by shutdown) gave its reservation back
// and the planner froze a second account, although the bank had frozen the first: the banks
// held twice the claim while the engine's own over-seizure counter read 0, and the first
// measure was never renewed, released or deducted.
TEST_P(FreezeInDoubtTest, KeepsTheReservationAndResolvesWithTheSameKey) {
  EngineWorld w;
  institution::Institution& bank = bank_with(w, 2);
  w.connect(bank, minutes(10), lose_first(RequestKind::kFreeze, Status(GetParam(), "lost")));
  EngineConfig config = one_attempt();
  config.auto_deduct = false;
  Engine& e = w.start(config);
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(300'000'00))).ok());
  w.virt().run_until(w.ex().now() + 3 * kMicrosPerDay);

  EXPECT_EQ(bank.frozen_for_case(kCase), Fen(300'000'00));
  EXPECT_EQ(bank.measures_on("A1").size() + bank.measures_on("A2").size(), 1u);
  StatusOr<CaseView> v = e.case_view(kCase);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->frozen, Fen(300'000'00));
  EXPECT_EQ(v->reserved, Fen());
  ASSERT_EQ(v->measures.size(), 1u);
  EXPECT_TRUE(v->measures[0].live);
  const EngineStats s = e.stats();
  EXPECT_EQ(s.in_doubt_resent, 1u);
  EXPECT_EQ(s.in_doubt_unresolved, 0u);
  EXPECT_EQ(s.requests[static_cast<int>(RequestKind::kFreeze)], 2u);  // Sent, then re-sent.
  EXPECT_EQ(s.control_met, 1u);
  EXPECT_EQ(s.over_seizure, 0u);
}

INSTANTIATE_TEST_SUITE_P(Outcomes, FreezeInDoubtTest,
                         ::testing::Values(StatusCode::kDataLoss, StatusCode::kCancelled,
                                           StatusCode::kDeadlineExceeded, StatusCode::kUnavailable),
                         [](const ::testing::TestParamInfo<StatusCode>& p) {
                           return status_code_name(p.param);
                         });

// A definite refusal is not in doubt: the reservation comes back and the planner goes on.
TEST(FreezeInDoubtTest, ADefiniteRefusalGivesTheReservationBack) {
  EngineWorld w;
  institution::Institution& bank = bank_with(w, 1);
  w.connect(bank, minutes(10), [](const std::vector<Request>& b) {
    return b.front().kind == RequestKind::kFreeze
               ? sim::Fault{sim::Fault::kFail, 0, permission_denied_error("refused")}
               : sim::Fault{};
  });
  Engine& e = w.start(one_attempt());
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(300'000'00))).ok());
  w.virt().run_until(w.ex().now() + 3 * kMicrosPerDay);
  StatusOr<CaseView> v = e.case_view(kCase);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->reserved, Fen());
  EXPECT_EQ(e.stats().in_doubt_resent, 0u);
  EXPECT_EQ(e.stats().requests[static_cast<int>(RequestKind::kFreeze)], 1u);
}

// Regression: a deduction whose reply did not decode was dropped: the bank had moved the funds
// to the court, the engine still showed them frozen and never concluded the case.
TEST(ControlInDoubtTest, DeductionWithALostReplyIsResolvedAndTheCaseConcludes) {
  EngineWorld w;
  institution::Institution& bank = bank_with(w, 1);
  w.connect(bank, minutes(10), lose_every_first_reply(data_loss_error("garbled")));
  EngineConfig config = one_attempt();
  config.deduct_delay = kMicrosPerDay;
  Engine& e = w.start(config);
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(300'000'00))).ok());
  w.virt().run_until(w.ex().now() + 5 * kMicrosPerDay);

  EXPECT_EQ(bank.deducted_for_case(kCase), Fen(300'000'00));
  const EngineStats s = e.stats();
  EXPECT_EQ(s.deducted, Fen(300'000'00));
  EXPECT_EQ(s.cases_concluded, 1u);
  EXPECT_EQ(s.in_doubt_resent, 3u);  // The query, the freeze and the deduction.
  EXPECT_EQ(bank.duplicate_measures(), 0);
}

// Regression: a renewal whose reply was lost was retried only a day later and, past the end
// date, the engine counted a lapse and gave the money back to the planner although the bank
// had renewed. Now the same key asks again; the measure stays in force on both sides.
TEST(ControlInDoubtTest, RenewalWithALostReplyKeepsTheMeasureOnBothSides) {
  EngineWorld w;
  institution::Institution& bank = bank_with(w, 1);
  w.connect(bank, minutes(10), lose_every_first_reply(cancelled_error("cut by shutdown")));
  EngineConfig config = one_attempt();
  config.auto_deduct = false;
  config.renewal_lead_days = 1;  // The renewal is sent the day before the end.
  Engine& e = w.start(config);
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(300'000'00))).ok());
  w.virt().run_until(w.ex().now() + 400 * kMicrosPerDay);

  EXPECT_EQ(bank.lapsed(), 0u);
  EXPECT_EQ(bank.frozen_for_case(kCase), Fen(300'000'00));
  const EngineStats s = e.stats();
  EXPECT_EQ(s.renewed, 1u);
  EXPECT_EQ(s.lapsed, 0u);
  StatusOr<CaseView> v = e.case_view(kCase);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->measures.size(), 1u);
  EXPECT_TRUE(v->measures[0].live);
  const institution::MeasureRecord* m = bank.measure(v->measures[0].measure_id);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->end, v->measures[0].end);
  EXPECT_EQ(s.in_doubt_resent, 3u);  // The query, the freeze and the renewal.
}

// Re-sends are bounded: an institution that never answers readably leaves the freeze in doubt,
// its reservation kept (never re-planned elsewhere), and says so.
TEST(ControlInDoubtTest, AFreezeStillInDoubtAfterTheLastResendKeepsItsReservation) {
  EngineWorld w;
  institution::Institution& bank = bank_with(w, 2);
  w.connect(bank, minutes(10), [](const std::vector<Request>& b) {
    return b.front().kind == RequestKind::kFreeze
               ? sim::Fault{sim::Fault::kLoseReply, 0, data_loss_error("garbled")}
               : sim::Fault{};
  });
  EngineConfig config = one_attempt();
  config.in_doubt_resends = 3;
  Engine& e = w.start(config);
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(300'000'00))).ok());
  w.virt().run_until(w.ex().now() + 5 * kMicrosPerDay);

  EXPECT_EQ(bank.frozen_for_case(kCase), Fen(300'000'00));
  const EngineStats s = e.stats();
  EXPECT_EQ(s.requests[static_cast<int>(RequestKind::kFreeze)], 4u);  // Sent and 3 re-sends.
  EXPECT_EQ(s.in_doubt_resent, 3u);
  EXPECT_EQ(s.in_doubt_unresolved, 1u);
  StatusOr<CaseView> v = e.case_view(kCase);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->reserved, Fen(300'000'00));
  EXPECT_TRUE(v->measures.empty());
  bool said = false;
  for (const Event& ev : w.events) {
    said |= ev.detail ==
            "freeze: DATA_LOSS: garbled; still in doubt after 3 re-sends with the same key, what "
            "it reserved is kept until an officer resolves it";
  }
  EXPECT_TRUE(said);
}

// The one retry / in-doubt layer seen from the engine: the dispatcher runs the whole series
// (here one attempt a round, a round an hour) and the case hears once, when it ends. A query
// still in doubt counts as failed; a freeze still in doubt keeps its reservation.
TEST(ControlInDoubtTest, AQueryAndAFreezeEachHaveOneBoundedSeriesAtExactTimes) {
  EngineWorld w;
  institution::Institution& bank = bank_with(w, 1);
  institution::Institution& down = w.add_institution("bank.b");
  std::vector<TimeUs> freezes, queries_b;
  w.connect(bank, minutes(10), [&](const std::vector<Request>& b) {
    if (b.front().kind != RequestKind::kFreeze) return sim::Fault{};
    freezes.push_back(w.ex().now());
    return sim::Fault{sim::Fault::kLoseReply, 0, data_loss_error("garbled")};
  });
  w.connect(down, minutes(10), [&](const std::vector<Request>&) {
    queries_b.push_back(w.ex().now());
    return sim::Fault{sim::Fault::kFail, 0, unavailable_error("down")};
  });
  EngineConfig config = one_attempt();
  config.in_doubt_resends = 2;
  Engine& e = w.start(config);
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(300'000'00))).ok());
  w.virt().run_until(w.ex().now() + 5 * kMicrosPerDay);

  constexpr TimeUs h = kMicrosPerHour;
  ASSERT_EQ(queries_b.size(), 3u);  // Sent, then a round after each wait.
  const TimeUs q = queries_b[0];
  EXPECT_EQ(queries_b, (std::vector<TimeUs>{q, q + h, q + 2 * h}));
  ASSERT_EQ(freezes.size(), 3u);
  const TimeUs f = freezes[0];
  // Its reply comes (garbled) 10 minutes after each send: each wait starts then.
  constexpr TimeUs m10 = 10 * kMicrosPerMinute;
  EXPECT_EQ(freezes, (std::vector<TimeUs>{f, f + m10 + h, f + 2 * m10 + 2 * h}));
  // One report each, when its series ended.
  std::vector<std::pair<TimeUs, std::string>> failed;
  for (const Event& ev : w.events) {
    if (ev.type == EventType::kRequestFailed) failed.emplace_back(ev.time, ev.detail);
  }
  EXPECT_EQ(failed, (std::vector<std::pair<TimeUs, std::string>>{
                        {q + 2 * h,
                         "query: UNAVAILABLE: down; still in doubt after 2 re-sends "
                         "with the same key"},
                        {q + 2 * h, "query: UNAVAILABLE: down"},
                        {f + 3 * m10 + 2 * h,
                         "freeze: DATA_LOSS: garbled; still in doubt after 2 re-sends with the "
                         "same key, what it reserved is kept until an officer resolves it"}}));
  const EngineStats s = e.stats();
  EXPECT_EQ(s.in_doubt_resent, 4u);
  EXPECT_EQ(s.in_doubt_unresolved, 1u);
  EXPECT_EQ(s.requests[static_cast<int>(RequestKind::kFreeze)], 3u);
  EXPECT_EQ(s.requests[static_cast<int>(RequestKind::kQuery)], 2u + 2u);  // Two banks; b again.
  StatusOr<CaseView> v = e.case_view(kCase);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->reserved, Fen(300'000'00));
  EXPECT_EQ(v->queries_outstanding, 0);
}

}  // namespace
}  // namespace chakong::engine
