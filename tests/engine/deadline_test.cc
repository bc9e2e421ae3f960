// The engine's legal clocks: the 48-hour control clock and renewal ahead of expiry.
#include <gtest/gtest.h>

#include "chakong/engine/engine.h"
#include "engine_world.h"

namespace chakong::engine {
namespace {

using connectors::AssetCategory;
using connectors::Request;
using connectors::RequestKind;
using connectors::Response;
using testing::EngineWorld;
using testing::kDebtor;

constexpr char kCase[] = "（2024）渝0110执500号";

// Queries take 3 hours, freezes `freeze_latency`.
sim::LatencyFn by_kind(TimeUs freeze_latency) {
  return [freeze_latency](const std::vector<Request>& batch) {
    return batch.front().kind == RequestKind::kQuery ? 3 * kMicrosPerHour : freeze_latency;
  };
}

TEST(ControlClockTest, StartsAtTheFindingAndStopsAtTheEffectiveFreeze) {
  EngineWorld w;
  institution::Institution& bank = w.add_institution("bank.a");
  ASSERT_TRUE(bank.add_asset({AssetCategory::kDeposit, "A-1", Fen(50'000), kDebtor}).ok());
  w.connect(bank, by_kind(5 * kMicrosPerHour));
  Engine& e = w.start(EngineConfig());
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(100'000))).ok());
  w.virt().run_until(w.ex().now() + 3 * kMicrosPerDay);
  const Event* found = w.first(EventType::kFinding);
  const Event* met = w.first(EventType::kControlMet);
  ASSERT_NE(found, nullptr);
  ASSERT_NE(met, nullptr);
  EXPECT_EQ(met->time - found->time, 5 * kMicrosPerHour);
  EXPECT_EQ(met->detail, "300 minutes after the finding");
  EXPECT_EQ(e.stats().control_started, 1u);
  EXPECT_EQ(e.stats().control_met, 1u);
  EXPECT_EQ(e.stats().control_missed, 0u);
  EXPECT_EQ(e.case_view(kCase)->open_control_clocks, 0);
}

TEST(ControlClockTest, AConnectorSlowerThan48HoursYieldsACountedMiss) {
  EngineWorld w;
  institution::Institution& bank = w.add_institution("bank.slow");
  ASSERT_TRUE(bank.add_asset({AssetCategory::kDeposit, "S-1", Fen(50'000), kDebtor}).ok());
  w.connect(bank, by_kind(50 * kMicrosPerHour));
  EngineConfig config;
  config.dispatch.timeout = 3 * kMicrosPerDay;
  Engine& e = w.start(config);
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(100'000))).ok());
  w.virt().run_until(w.ex().now() + 4 * kMicrosPerDay);
  const Event* found = w.first(EventType::kFinding);
  const Event* missed = w.first(EventType::kControlMissed);
  ASSERT_NE(missed, nullptr);
  EXPECT_EQ(missed->time - found->time, 48 * kMicrosPerHour);
  EXPECT_EQ(e.stats().control_missed, 1u);
  EXPECT_EQ(e.stats().control_met, 0u);
  // The freeze still takes effect, late: the property is controlled, the miss stays counted.
  EXPECT_EQ(bank.frozen_for_case(kCase), Fen(50'000));
  EXPECT_EQ(w.count(EventType::kMeasureEffective), 1);
}

// A deposit (1-year term) and a flat (3-year term, sealed because the deposit cannot cover
// the claim) kept for three simulated years with deduction off: every renewal happens before
// expiry, and nothing lapses at the institutions.
TEST(RenewalTest, MeasuresAreRenewedBeforeExpiryAcrossThreeYears) {
  EngineWorld w(false, "2024-01-10");
  institution::Institution& bank = w.add_institution("bank.a");
  institution::Institution& estate = w.add_institution(
      "real_estate.cq", {RequestKind::kQuery, RequestKind::kFreeze, RequestKind::kWaitlistFreeze,
                         RequestKind::kRenew, RequestKind::kRelease});
  ASSERT_TRUE(bank.add_asset({AssetCategory::kDeposit, "A-1", Fen(100'000), kDebtor}).ok());
  ASSERT_TRUE(
      estate.add_asset({AssetCategory::kRealEstate, "渝(2019)0110-88", Fen(200'000'000), kDebtor})
          .ok());
  w.connect(bank, sim::fixed_latency(kMicrosPerHour));
  w.connect(estate, sim::fixed_latency(kMicrosPerDay));
  EngineConfig config;
  config.auto_deduct = false;
  Engine& e = w.start(config);
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(1'000'000))).ok());
  const TimeUs end = Date::parse("2027-02-01")->start_us();
  while (w.ex().now() < end) {
    w.virt().run_until(std::min(end, w.ex().now() + 7 * kMicrosPerDay));
    // The institutions' end-of-day runs: nothing may lapse.
    bank.expire(date_of(w.ex().now()));
    estate.expire(date_of(w.ex().now()));
  }
  StatusOr<CaseView> v = e.case_view(kCase);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->measures.size(), 2u);
  // Deposit: effective 2024-01-10; renewed in Dec 2024, Dec 2025 and Dec 2026.
  EXPECT_EQ(v->measures[0].reference, "A-1");
  EXPECT_EQ(v->measures[0].end, *Date::parse("2028-01-09"));
  // Flat: a day to answer the query, a day to seal: effective 2024-01-12, ending
  // 2027-01-11; renewed in Dec 2026 from 2027-01-12 for three more years.
  EXPECT_EQ(v->measures[1].category, AssetCategory::kRealEstate);
  EXPECT_EQ(v->measures[1].end, *Date::parse("2030-01-11"));
  ASSERT_EQ(v->indivisible_reasons.size(), 1u);
  EXPECT_EQ(v->indivisible_reasons[0],
            "divisible property insufficient: ¥9,000.00 of the budget uncovered after freezing "
            "every divisible asset found; sealing real_estate worth ¥2,000,000.00");
  EXPECT_EQ(e.stats().renewed, 4u);
  EXPECT_EQ(e.stats().lapsed, 0u);
  EXPECT_EQ(bank.lapsed() + estate.lapsed(), 0u);
  EXPECT_EQ(w.count(EventType::kMeasureRenewed), 4);
}

// A registry that refuses every renewal: the engine keeps trying until the end date, then
// reports the lapse; the registry's end-of-day run lapses the seal and promotes the next
// authority on the waiting list.
TEST(RenewalTest, RefusedRenewalIsAReportedLapseAndPromotesTheNextWaiter) {
  EngineWorld w(false, "2024-03-01");
  institution::Institution& dmv = w.add_institution("vehicle.cq");
  ASSERT_TRUE(dmv.add_asset({AssetCategory::kVehicle, "渝A12345", Fen(8'000'000), kDebtor}).ok());
  w.connect(dmv, sim::fixed_latency(kMicrosPerHour), [](const std::vector<Request>& batch) {
    if (batch.front().kind == RequestKind::kRenew) {
      return sim::Fault{sim::Fault::kFail, 0,
                        permission_denied_error("registry refuses renewal by network")};
    }
    return sim::Fault{};
  });
  Engine& e = w.start(EngineConfig());
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(10'000'000))).ok());
  w.virt().run_until(w.ex().now() + 2 * kMicrosPerDay);
  StatusOr<CaseView> v = e.case_view(kCase);
  ASSERT_EQ(v->measures.size(), 1u);
  EXPECT_EQ(v->measures[0].end, *Date::parse("2026-02-28"));  // Sealed 2024-03-01, 2 years.
  StatusOr<std::string> other =
      dmv.add_foreign_measure("渝A12345", "（2024）渝0112执50号", Fen(8'000'000),
                              *Date::parse("2024-04-01"), *Date::parse("2026-03-31"));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(dmv.measure(*other)->state, institution::MeasureState::kWaiting);

  w.virt().run_until(Date::parse("2026-03-01")->start_us() + kMicrosPerHour);
  dmv.expire(*Date::parse("2026-03-01"));
  EXPECT_EQ(e.stats().lapsed, 1u);
  EXPECT_EQ(e.stats().renewed, 0u);
  const Event* lapse = w.first(EventType::kMeasureLapsed);
  ASSERT_NE(lapse, nullptr);
  EXPECT_EQ(lapse->detail, "ended 2026-02-28 without renewal");
  EXPECT_EQ(date_of(lapse->time).to_string(), "2026-03-01");
  EXPECT_FALSE(e.case_view(kCase)->measures[0].live);
  EXPECT_EQ(dmv.lapsed(), 1u);
  EXPECT_EQ(dmv.measure(*other)->state, institution::MeasureState::kActive);
  EXPECT_EQ(dmv.measure(*other)->effective, *Date::parse("2026-03-01"));
  // Renewal was attempted ahead of time, daily from 30 days before the end.
  EXPECT_GE(w.count(EventType::kRequestFailed), 29);
}

// ---- Streamed query answers (a hub's members answering at different times) ------------

// Answers a query in three steps, the way a 总对总 hub does when its sink takes parts: the
// deposit A-1 one hour after the query, the deposit B-1 at three hours (parts), the final
// answer (no more assets) at five; freezes two hours after they arrive, in full. Logs every
// request as "<hours after the first query> <kind> <reference>".
class StreamingBank final : public connectors::Connector {
 public:
  explicit StreamingBank(Executor& ex) : ex_(ex) {}
  const std::string& name() const override { return name_; }
  connectors::Capabilities capabilities() const override { return connectors::Capabilities::all(); }
  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override {
    if (t0_ < 0) t0_ = ex_.now();
    const bool parts = sink.takes_parts();
    std::vector<Response> answers(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      const Request& r = batch[i];
      log.push_back(std::to_string((ex_.now() - t0_) / kMicrosPerHour) + "h " +
                    std::string(connectors::request_kind_name(r.kind)) + " " + r.asset.reference);
      if (r.kind == RequestKind::kQuery) {
        ASSERT_TRUE(parts);
        for (const auto& [hours, reference] : {std::pair{1, "A-1"}, std::pair{3, "B-1"}}) {
          ex_.run_after(hours * kMicrosPerHour, [&sink, i, reference] {
            Response part;
            part.assets.push_back({AssetCategory::kDeposit, reference, Fen(30'000), kDebtor});
            sink.part(i, std::move(part));
          });
        }
      } else {
        answers[i].frozen = r.amount;
        answers[i].measure_id = "m-" + r.asset.reference;
        answers[i].effective_date = date_of(ex_.now());
        answers[i].end_date = date_of(ex_.now()).plus_days(365);
      }
    }
    const TimeUs after = batch[0].kind == RequestKind::kQuery ? 5 : 2;
    ex_.run_after(after * kMicrosPerHour, [&sink, answers = std::move(answers)]() mutable {
      for (size_t i = 0; i < answers.size(); ++i) sink.response(i) = std::move(answers[i]);
      sink.complete();
    });
  }

  std::vector<std::string> log;

 private:
  Executor& ex_;
  TimeUs t0_ = -1;
  std::string name_ = "bank.hub";
};

TEST(StreamedAnswerTest, EachPartStartsItsClockWhenItArrivesAndIsFrozenAtOnce) {
  EngineWorld w;
  auto owned = std::make_unique<StreamingBank>(w.ex());
  StreamingBank& bank = *owned;
  w.add_connector(std::move(owned));
  Engine& e = w.start(EngineConfig());
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(100'000))).ok());
  w.virt().run_until(w.ex().now() + kMicrosPerDay);
  ASSERT_FALSE(bank.log.empty());
  std::vector<const Event*> found;
  for (const Event& ev : w.events) {
    if (ev.type == EventType::kFinding) found.push_back(&ev);
  }
  ASSERT_EQ(found.size(), 2u);
  const Event* met_a = nullptr;
  const Event* met_b = nullptr;
  for (const Event& ev : w.events) {
    if (ev.type != EventType::kControlMet) continue;
    (ev.reference == "A-1" ? met_a : met_b) = &ev;
  }
  EXPECT_EQ(found[0]->reference, "A-1");
  EXPECT_EQ(found[1]->reference, "B-1");
  // The query left an hour before the first part.
  const TimeUs t0 = found[0]->time - kMicrosPerHour;
  // Each finding is found, and its 48-hour clock starts, when its part arrives.
  EXPECT_EQ(found[1]->time - t0, 3 * kMicrosPerHour);
  EXPECT_EQ(found[0]->due - t0, 49 * kMicrosPerHour);
  EXPECT_EQ(found[1]->due - t0, 51 * kMicrosPerHour);
  // Each is frozen at once, before the query's final answer (at 5 h): the freeze of A-1 leaves
  // at 1 h and is in effect at 3 h, that of B-1 leaves at 3 h and is in effect at 5 h.
  EXPECT_EQ(bank.log, (std::vector<std::string>{"0h query ", "1h freeze A-1", "3h freeze B-1"}));
  ASSERT_NE(met_a, nullptr);
  ASSERT_NE(met_b, nullptr);
  EXPECT_EQ(met_a->time - t0, 3 * kMicrosPerHour);
  EXPECT_EQ(met_b->time - t0, 5 * kMicrosPerHour);
  EXPECT_EQ(e.stats().findings, 2u);
  EXPECT_EQ(e.stats().control_started, 2u);
  EXPECT_EQ(e.stats().control_met, 2u);
  // Two parts, then the one final answer: the query is answered once, and none is out.
  const DispatcherStats d = e.dispatcher_stats("bank.hub");
  EXPECT_EQ(d.query_parts, 2u);
  EXPECT_EQ(d.queries_completed, 1u);
  const StatusOr<CaseView> view = e.case_view(kCase);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->queries_outstanding, 0);
  EXPECT_EQ(view->findings, 2);
  EXPECT_EQ(view->frozen, Fen(60'000));
}

// A part delivered while the query is still out leaves it out: the case's query round is open
// between the first part and the final answer.
TEST(StreamedAnswerTest, TheQueryStaysOutUntilItsFinalAnswer) {
  EngineWorld w;
  auto owned = std::make_unique<StreamingBank>(w.ex());
  StreamingBank& bank = *owned;
  w.add_connector(std::move(owned));
  Engine& e = w.start(EngineConfig());
  ASSERT_TRUE(e.file_case(EngineWorld::filing(kCase, Fen(100'000))).ok());
  // Up to the query's send, then 4 hours on: both parts in, the final answer not.
  while (bank.log.empty()) w.virt().run_until(w.ex().now() + kMicrosPerMinute);
  const TimeUs t0 = w.ex().now();
  w.virt().run_until(t0 + 4 * kMicrosPerHour);
  StatusOr<CaseView> view = e.case_view(kCase);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->findings, 2);
  EXPECT_EQ(view->queries_outstanding, 1);
  EXPECT_EQ(e.dispatcher_stats("bank.hub").queries_completed, 0u);
  w.virt().run_until(t0 + 6 * kMicrosPerHour);
  view = e.case_view(kCase);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->queries_outstanding, 0);
  EXPECT_EQ(e.dispatcher_stats("bank.hub").queries_completed, 1u);
}

}  // namespace
}  // namespace chakong::engine
