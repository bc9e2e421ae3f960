// Case-server mode in virtual time: an engine "crashes" (it, its executor and everything
// pending on it are destroyed) with requests in flight, and the next one recovers from the
// journal. The crash harness does the same with real processes and SIGKILL.
#include <gtest/gtest.h>

#include "chakong/engine/audit.h"
#include "chakong/engine/engine.h"
#include "chakong/sim/in_process_connector.h"
#include "chakong/sim/virtual_executor.h"

namespace chakong {
namespace {

constexpr char kCourt[] = "渝0110";
constexpr char kOfficer[] = "cq-0110-017";
constexpr char kDebtor[] = "11010519491231002X";
constexpr char kCase[] = "（2025）渝0110执7号";

// Records every request a connector sends.
class Recording final : public connectors::Connector {
 public:
  Recording(connectors::Connector& inner, std::vector<connectors::Request>& sent)
      : inner_(inner), sent_(sent) {}
  const std::string& name() const override { return inner_.name(); }
  connectors::Capabilities capabilities() const override { return inner_.capabilities(); }
  void async_submit(std::vector<connectors::Request> batch,
                    connectors::BatchCompletion done) override {
    for (const connectors::Request& r : batch) sent_.push_back(r);
    inner_.async_submit(std::move(batch), std::move(done));
  }

 private:
  connectors::Connector& inner_;
  std::vector<connectors::Request>& sent_;
};

struct Institutions {
  Institutions() {
    EXPECT_TRUE(bank.add_asset({connectors::AssetCategory::kDeposit, "6222000011112222",
                                Fen(1'000'000), kDebtor})
                    .ok());
    EXPECT_TRUE(land.add_asset({connectors::AssetCategory::kRealEstate, "渝(2020)不动产权第1号",
                                Fen(50'000'000), kDebtor})
                    .ok());
  }
  sim::Institution bank{"bank.icbc", connectors::Capabilities::all()};
  sim::Institution land{"real_estate.cq", connectors::Capabilities::all()};
  std::vector<connectors::Request> sent;
};

// One engine life; destroying it is a crash.
class Life {
 public:
  Life(Institutions& in, TimeUs now, engine::Journal& journal) : ex_(now) {
    for (sim::Institution* i : {&in.bank, &in.land}) {
      inner_.push_back(
          std::make_unique<sim::InProcessConnector>(*i, ex_, sim::fixed_latency(kMicrosPerHour)));
      rec_.push_back(std::make_unique<Recording>(*inner_.back(), in.sent));
    }
    engine::EngineConfig config;
    config.journal = &journal;
    config.journal_cases = true;
    config.deduct_delay = 30 * kMicrosPerDay;
    auto e = engine::Engine::create(std::move(config), {&ex_}, {rec_[0].get(), rec_[1].get()});
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    engine_ = std::move(e).value();
    EXPECT_TRUE(engine_->register_officer(kOfficer, kCourt).ok());
  }
  sim::VirtualExecutor& ex() { return ex_; }
  engine::Engine& engine() { return *engine_; }

 private:
  sim::VirtualExecutor ex_;
  std::vector<std::unique_ptr<sim::InProcessConnector>> inner_;
  std::vector<std::unique_ptr<Recording>> rec_;
  std::unique_ptr<engine::Engine> engine_;
};

engine::CaseFiling filing() {
  engine::CaseFiling f;
  f.case_number = kCase;
  f.court = kCourt;
  f.debtors = {{engine::DebtorInfo::Kind::kPerson, kDebtor, "debtor"}};
  f.claim = Fen(100'000'000);  // More than both assets: both are frozen.
  f.officer_ids = {kOfficer};
  return f;
}

const TimeUs kStart = Date::parse("2025-03-03")->start_us();

// Files the case and runs until the freezes are out (queries answered after 1 h, freezes
// answered after 2 h): returns the freezes sent.
std::vector<connectors::Request> first_life_until(Institutions& in, engine::Journal& journal,
                                                  TimeUs crash) {
  Life first(in, kStart, journal);
  EXPECT_TRUE(first.engine().start().ok());
  EXPECT_TRUE(first.engine().file_case(filing()).ok());
  bool acknowledged = false;
  first.engine().sync([&](Status s) { acknowledged = s.ok(); });
  EXPECT_TRUE(acknowledged);
  first.ex().run_until(crash);
  std::vector<connectors::Request> freezes;
  for (const connectors::Request& r : in.sent) {
    if (r.kind == connectors::RequestKind::kFreeze) freezes.push_back(r);
  }
  return freezes;
}

TEST(RecoveryTest, InFlightFreezesAreResentWithTheirKeysAndNeverDoubled) {
  Institutions in;
  engine::MemoryJournal journal;
  const TimeUs crash = kStart + 90 * kMicrosPerMinute;
  const std::vector<connectors::Request> freezes = first_life_until(in, journal, crash);
  ASSERT_EQ(freezes.size(), 2u);
  EXPECT_EQ(in.bank.duplicate_measures() + in.land.duplicate_measures(), 0);
  // The bank acted on its freeze, but the answer was lost with the engine.
  const connectors::Request& bank_freeze =
      freezes[0].asset.category == connectors::AssetCategory::kDeposit ? freezes[0] : freezes[1];
  const connectors::Response acted = in.bank.handle(bank_freeze, date_of(crash));
  ASSERT_TRUE(acted.status.ok());

  Life second(in, crash, journal);
  ASSERT_TRUE(second.engine().start().ok());
  EXPECT_EQ(second.engine().stats().recovered_cases, 1u);
  EXPECT_EQ(second.engine().stats().recovered_requests, 2u);
  second.ex().run_until(kStart + 5 * kMicrosPerDay);

  // Re-sent with the same keys: the bank answered as before, nothing frozen twice.
  std::vector<std::string> keys;
  for (const connectors::Request& r : in.sent) {
    if (r.kind == connectors::RequestKind::kFreeze) keys.push_back(r.idempotency_key);
  }
  ASSERT_EQ(keys.size(), 4u);
  EXPECT_EQ(keys[2] == freezes[0].idempotency_key || keys[2] == freezes[1].idempotency_key, true);
  EXPECT_EQ(in.bank.idempotent_replays(), 1u);
  EXPECT_EQ(in.bank.duplicate_measures(), 0);
  EXPECT_EQ(in.land.duplicate_measures(), 0);

  StatusOr<engine::CaseView> v = second.engine().case_view(kCase);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->status, engine::CaseStatus::kControlling);
  EXPECT_EQ(v->frozen, Fen(1'000'000));
  EXPECT_EQ(v->reserved, Fen());
  EXPECT_EQ(v->indivisible_cover, Fen(50'000'000));
  ASSERT_EQ(v->measures.size(), 2u);
  for (const engine::MeasureView& m : v->measures) {
    EXPECT_TRUE(m.live);
    if (m.connector == "bank.icbc") {
      EXPECT_EQ(m.measure_id, acted.measure_id);
    }
  }
  // Both 48-hour clocks were re-armed and met.
  EXPECT_EQ(second.engine().stats().control_met, 2u);
  EXPECT_EQ(second.engine().stats().control_missed, 0u);
  EXPECT_EQ(v->open_control_clocks, 0);

  // Every request left with its audit link: 2 queries and 2 freezes, then 2 re-sent freezes.
  StatusOr<engine::AuditVerdict> audit = engine::verify_audit(journal);
  ASSERT_TRUE(audit.ok());
  EXPECT_TRUE(audit->intact) << audit->broken_key << ": " << audit->reason;
  EXPECT_EQ(audit->records, 6u);
  v1::AuditRecord first_link;
  ASSERT_TRUE(first_link.ParseFromString(*journal.get("audit/0/0000000000000001")));
  EXPECT_EQ(first_link.debtor(), "1101**********002X");
  EXPECT_EQ(first_link.request_id().find(kDebtor), std::string::npos);
}

TEST(RecoveryTest, ClockThatRanOutWhileDownIsReportedMissedAndTheFreezeStillLands) {
  Institutions in;
  engine::MemoryJournal journal;
  const TimeUs crash = kStart + 90 * kMicrosPerMinute;
  ASSERT_EQ(first_life_until(in, journal, crash).size(), 2u);

  // Down for three days: both 48-hour windows closed meanwhile.
  const TimeUs back = kStart + 3 * kMicrosPerDay;
  Life second(in, back, journal);
  ASSERT_TRUE(second.engine().start().ok());
  second.ex().run_until(back + kMicrosPerDay);
  EXPECT_EQ(second.engine().stats().control_missed, 2u);
  EXPECT_EQ(second.engine().stats().control_met, 0u);
  StatusOr<engine::CaseView> v = second.engine().case_view(kCase);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->measures.size(), 2u);
  EXPECT_EQ(v->frozen, Fen(1'000'000));
  EXPECT_EQ(in.bank.duplicate_measures() + in.land.duplicate_measures(), 0);
}

TEST(RecoveryTest, ReadsAreAuditedAndOnlyForAssignedOfficers) {
  Institutions in;
  engine::MemoryJournal journal;
  Life life(in, kStart, journal);
  ASSERT_TRUE(life.engine().start().ok());
  ASSERT_TRUE(life.engine().file_case(filing()).ok());
  life.ex().run_until(kStart + kMicrosPerDay);
  StatusOr<engine::CaseView> refused = life.engine().read_case(kCase, "cq-0110-999");
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  StatusOr<engine::CaseView> read = life.engine().read_case(kCase, kOfficer);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->findings, 2);
  life.ex().run_until(kStart + 2 * kMicrosPerDay);
  StatusOr<engine::AuditVerdict> audit = engine::verify_audit(journal);
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(audit->records, 5u);  // 2 queries, 2 freezes, 1 read.
  v1::AuditRecord last;
  ASSERT_TRUE(last.ParseFromString(*journal.get("audit/0/head")));
  EXPECT_EQ(last.action(), "read");
  EXPECT_EQ(last.who(), kOfficer);
  EXPECT_EQ(last.purpose(), "read findings");
}

}  // namespace
}  // namespace chakong
