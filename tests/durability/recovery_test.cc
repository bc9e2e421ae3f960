// Case-server mode in virtual time: an engine "crashes" (it, its executor and everything
// pending on it are destroyed) with requests in flight, and the next one recovers from the
// journal. The crash harness does the same with real processes and SIGKILL.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "chakong/base/identity.h"
#include "chakong/base/virtual_executor.h"
#include "chakong/durable/rocks_journal.h"
#include "chakong/engine/audit.h"
#include "chakong/engine/engine.h"
#include "chakong/sim/in_process_connector.h"
#include "engine/src/audit_chain.h"

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
  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override {
    for (const connectors::Request& r : batch) sent_.push_back(r);
    inner_.async_submit(batch, sink);
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
  institution::Institution bank{"bank.icbc", connectors::Capabilities::all()};
  institution::Institution land{"real_estate.cq", connectors::Capabilities::all()};
  // Connected only when a test adds a holding (Life connects it then).
  institution::Institution stocks{"securities.csdc", connectors::Capabilities::all()};
  bool with_stocks = false;
  std::vector<connectors::Request> sent;
};

// One engine life; destroying it is a crash.
class Life {
 public:
  Life(Institutions& in, TimeUs now, engine::Journal& journal, const std::string& court = kCourt)
      : ex_(now) {
    std::vector<institution::Institution*> institutions = {&in.bank, &in.land};
    if (in.with_stocks) institutions.push_back(&in.stocks);
    std::vector<connectors::Connector*> connectors;
    for (institution::Institution* i : institutions) {
      inner_.push_back(
          std::make_unique<sim::InProcessConnector>(*i, ex_, sim::fixed_latency(kMicrosPerHour)));
      rec_.push_back(std::make_unique<Recording>(*inner_.back(), in.sent));
      connectors.push_back(rec_.back().get());
    }
    engine::EngineConfig config;
    config.journal = &journal;
    config.journal_cases = true;
    config.deduct_delay = 30 * kMicrosPerDay;
    auto e = engine::Engine::create(std::move(config), {&ex_}, connectors);
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    engine_ = std::move(e).value();
    EXPECT_TRUE(engine_->register_officer(kOfficer, court).ok());
  }
  VirtualExecutor& ex() { return ex_; }
  engine::Engine& engine() { return *engine_; }

 private:
  VirtualExecutor ex_;
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

// Shard 0's audit links in order.
std::vector<v1::AuditRecord> links_of(const engine::Journal& journal) {
  std::vector<v1::AuditRecord> links;
  EXPECT_TRUE(journal
                  .scan("audit/0/0",
                        [&](std::string_view, std::string_view value) {
                          links.emplace_back();
                          EXPECT_TRUE(links.back().ParseFromString(std::string(value)));
                        })
                  .ok());
  return links;
}

// Links of requests and reads, not the "write" links that seal case records.
size_t count_requests(const std::vector<v1::AuditRecord>& links) {
  size_t n = 0;
  for (const v1::AuditRecord& l : links) n += l.action() == "write" ? 0 : 1;
  return n;
}

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

  // Every request left with its audit link: 2 queries and 2 freezes, then 2 re-sent freezes;
  // the other links seal the case records written, and every record matches its seal.
  StatusOr<engine::AuditVerdict> audit = engine::verify_audit(journal);
  ASSERT_TRUE(audit.ok());
  EXPECT_TRUE(audit->intact) << audit->broken_key << ": " << audit->reason;
  const std::vector<v1::AuditRecord> links = links_of(journal);
  EXPECT_EQ(links.size(), audit->records);
  EXPECT_EQ(count_requests(links), 6u);
  EXPECT_EQ(audit->sealed, 5u);  // The case, 2 findings, 2 measures.
  const v1::AuditRecord& first_request = links[1];
  EXPECT_EQ(first_request.action(), "query");
  EXPECT_EQ(first_request.debtor(), "1101**********002X");
  EXPECT_EQ(first_request.request_id().find(kDebtor), std::string::npos);
}

// Journaling is derived from the state (every case a task enters is compared with its last
// write): at the end of every task the journal holds each case as it is, so an engine
// recovered from a copy of it at any moment sees what the live engine sees; and a read, which
// enters the case but changes nothing, writes no case record (its audit link and the chain's
// head only).
TEST(RecoveryTest, AtEveryMomentTheJournalHoldsTheCaseAsItIs) {
  Institutions in;
  engine::MemoryJournal journal;
  Life live(in, kStart, journal);
  ASSERT_TRUE(live.engine().start().ok());
  ASSERT_TRUE(live.engine().file_case(filing()).ok());
  int checked = 0;
  for (TimeUs t = kStart + kMicrosPerHour; t <= kStart + 40 * kMicrosPerDay;
       t += t < kStart + 3 * kMicrosPerDay ? kMicrosPerHour : kMicrosPerDay) {
    live.ex().run_until(t);
    engine::MemoryJournal copy;
    ASSERT_TRUE(
        journal
            .scan("", [&](std::string_view key,
                          std::string_view value) { EXPECT_TRUE(copy.put(key, value).ok()); })
            .ok());
    Institutions elsewhere;  // The recovered engine's re-sends go there.
    Life recovered(elsewhere, t, copy);
    ASSERT_TRUE(recovered.engine().start().ok());
    StatusOr<engine::CaseView> a = live.engine().case_view(kCase);
    StatusOr<engine::CaseView> b = recovered.engine().case_view(kCase);
    ASSERT_TRUE(a.ok() && b.ok());
    const std::string at = date_of(t).to_string() + " +" + std::to_string(t % kMicrosPerDay);
    EXPECT_EQ(a->status, b->status) << at;
    EXPECT_EQ(a->frozen, b->frozen) << at;
    EXPECT_EQ(a->reserved, b->reserved) << at;
    EXPECT_EQ(a->pending, b->pending) << at;
    EXPECT_EQ(a->deducted, b->deducted) << at;
    EXPECT_EQ(a->indivisible_cover, b->indivisible_cover) << at;
    EXPECT_EQ(a->findings, b->findings) << at;
    EXPECT_EQ(a->open_control_clocks, b->open_control_clocks) << at;
    ASSERT_EQ(a->measures.size(), b->measures.size()) << at;
    for (size_t i = 0; i < a->measures.size(); ++i) {
      EXPECT_EQ(a->measures[i].measure_id, b->measures[i].measure_id) << at;
      EXPECT_EQ(a->measures[i].amount, b->measures[i].amount) << at;
      EXPECT_EQ(a->measures[i].live, b->measures[i].live) << at;
      EXPECT_EQ(a->measures[i].waiting, b->measures[i].waiting) << at;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 71 + 38);
  // The case went through its findings, freezes and the deposit's deduction.
  const engine::CaseView end = *live.engine().case_view(kCase);
  EXPECT_EQ(end.findings, 2);
  EXPECT_EQ(end.deducted, Fen(1'000'000));
  ASSERT_EQ(end.measures.size(), 2u);

  const uint64_t puts = journal.puts();
  ASSERT_TRUE(live.engine().read_case(kCase, kOfficer).ok());
  live.ex().run_until(live.ex().now() + kMicrosPerMinute);
  EXPECT_EQ(journal.puts(), puts + 2);  // The read's audit link and the chain's head.
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

// Regression: the ledger's whole-unit allowance (a securities freeze rounded up past the budget
// by less than one share) was not restored with the case, so after a restart the re-sent
// rounded freeze was counted as over-seizure although it was the one tolerance the rule allows.
TEST(RecoveryTest, RoundedSecuritiesFreezeRecoveredIsNotOverSeizure) {
  Institutions in;
  in.with_stocks = true;
  connectors::Asset shares{
      connectors::AssetCategory::kSecurities, "A-600000", Fen(300'000), kDebtor, 100, Fen(3'000)};
  ASSERT_TRUE(in.stocks.add_asset(shares).ok());
  engine::MemoryJournal journal;
  engine::CaseFiling f = filing();
  f.claim = Fen(1'000'050);  // The deposit and ¥0.50 more: one share (¥30) covers the rest.
  const TimeUs crash = kStart + 90 * kMicrosPerMinute;
  {
    Life first(in, kStart, journal);
    ASSERT_TRUE(first.engine().start().ok());
    ASSERT_TRUE(first.engine().file_case(f).ok());
    first.ex().run_until(crash);  // Both freezes in flight.
  }
  Life second(in, crash, journal);
  ASSERT_TRUE(second.engine().start().ok());
  second.ex().run_until(kStart + 2 * kMicrosPerDay);
  StatusOr<engine::CaseView> v = second.engine().case_view(kCase);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->frozen, Fen(1'003'000));  // The deposit and one whole share.
  EXPECT_EQ(v->measures.size(), 2u);
  EXPECT_EQ(in.stocks.frozen_for_case(kCase), Fen(3'000));
  EXPECT_EQ(second.engine().stats().over_seizure, 0u);
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
  EXPECT_TRUE(audit->intact) << audit->broken_key << ": " << audit->reason;
  const std::vector<v1::AuditRecord> links = links_of(journal);
  EXPECT_EQ(count_requests(links), 5u);  // 2 queries, 2 freezes, 1 read.
  const v1::AuditRecord* read_link = nullptr;
  for (const v1::AuditRecord& l : links) read_link = l.action() == "read" ? &l : read_link;
  ASSERT_NE(read_link, nullptr);
  EXPECT_EQ(read_link->who(), kOfficer);
  EXPECT_EQ(read_link->purpose(), "read findings");
}

// ---- A real RocksJournal, changed by hand -----------------------------------------------

namespace fs = std::filesystem;

// Asks for creation where RocksJournalOptions has the switch (a fresh directory).
template <typename Options>
auto allow_create(Options& o, int) -> decltype(o.create_if_missing = true, void()) {
  o.create_if_missing = true;
}
template <typename Options>
void allow_create(Options&, long) {}

// A RocksJournal whose sync() waits for its group and calls `done` on the caller's thread,
// so that an engine in virtual time (single-threaded executors) can run on the real store.
class BlockingJournal final : public engine::Journal {
 public:
  explicit BlockingJournal(const fs::path& dir) {
    engine::RocksJournalOptions o;
    o.path = dir.string();
    allow_create(o, 0);
    StatusOr<std::unique_ptr<engine::RocksJournal>> j = engine::RocksJournal::open(o);
    EXPECT_TRUE(j.ok()) << j.status().to_string();
    if (j.ok()) rocks_ = std::move(j).value();
  }
  bool ok() const { return rocks_ != nullptr; }
  Status put(std::string_view key, std::string_view value) override {
    return rocks_->put(key, value);
  }
  Status erase(std::string_view key) override { return rocks_->erase(key); }
  StatusOr<std::string> get(std::string_view key) const override { return rocks_->get(key); }
  Status scan(std::string_view prefix, const Visitor& visit) const override {
    return rocks_->scan(prefix, visit);
  }
  Status append_put(std::string_view key, std::string_view value) override {
    return rocks_->append_put(key, value);
  }
  Status append_erase(std::string_view key) override { return rocks_->append_erase(key); }
  Status append_all(const std::vector<Change>& changes) override {
    return rocks_->append_all(changes);
  }
  void sync(Done done) override {
    std::promise<Status> p;
    rocks_->sync([&p](Status s) { p.set_value(std::move(s)); });
    done(p.get_future().get());
  }

 private:
  std::unique_ptr<engine::RocksJournal> rocks_;
};

// Changes the closed journal at `dir` with RocksDB itself, as someone with the files would.
void edit_with_rocksdb(const fs::path& dir, const std::function<void(rocksdb::DB&)>& edit) {
  rocksdb::Options options;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(options, dir.string(), &raw);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::unique_ptr<rocksdb::DB> db(raw);
  edit(*db);
  ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());
  ASSERT_TRUE(db->Close().ok());
}

std::string db_get(rocksdb::DB& db, const std::string& key) {
  std::string value;
  EXPECT_TRUE(db.Get(rocksdb::ReadOptions(), key, &value).ok()) << key;
  return value;
}

void db_put(rocksdb::DB& db, const std::string& key, const std::string& value) {
  ASSERT_TRUE(db.Put(rocksdb::WriteOptions(), key, value).ok()) << key;
}

// What a forger who also rewrites the audit chain does: the newest seal of `key` names its
// new value, and every link from there on is re-hashed (the head too). A no-op for a chain
// without seals.
void reseal(rocksdb::DB& db, const std::string& key) {
  std::vector<std::pair<std::string, v1::AuditRecord>> links;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("audit/0/0"); it->Valid() && it->key().starts_with("audit/0/0"); it->Next()) {
    links.emplace_back(it->key().ToString(), v1::AuditRecord());
    ASSERT_TRUE(links.back().second.ParseFromString(it->value().ToString()));
  }
  size_t from = links.size();
  for (size_t i = 0; i < links.size(); ++i) {
    for (v1::RecordSeal& seal : *links[i].second.mutable_records()) {
      if (seal.key() == key) from = i;
    }
  }
  if (from == links.size()) return;
  for (v1::RecordSeal& seal : *links[from].second.mutable_records()) {
    if (seal.key() == key) seal.set_sha256(engine::record_digest(db_get(db, key)));
  }
  for (size_t i = from; i < links.size(); ++i) {
    v1::AuditRecord& r = links[i].second;
    if (i > 0) r.set_prev_hash(links[i - 1].second.hash());
    r.clear_hash();
    r.set_hash(engine::audit_hash(r));
    db_put(db, links[i].first, r.SerializeAsString());
  }
  db_put(db, "audit/0/head", links.back().second.SerializeAsString());
}

class RocksRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("chakong-recovery-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A first life on the real store: the case filed and acknowledged, then (when `crash` is
  // later than kStart) run until then; the journal is closed when it returns.
  void first_life(TimeUs crash) {
    BlockingJournal journal(dir_);
    ASSERT_TRUE(journal.ok());
    Life first(in_, kStart, journal);
    ASSERT_TRUE(first.engine().start().ok());
    ASSERT_TRUE(first.engine().file_case(filing()).ok());
    Status acknowledged = internal_error("no answer");
    first.engine().sync([&](Status s) { acknowledged = s; });
    ASSERT_TRUE(acknowledged.ok()) << acknowledged.to_string();
    if (crash > kStart) first.ex().run_until(crash);
  }

  // Rewrites the case's record (decoded, changed by `change`, encoded again).
  void edit_case(const std::function<void(v1::JournalCase&)>& change, bool forge_seal) {
    edit_with_rocksdb(dir_, [&](rocksdb::DB& db) {
      const std::string key = std::string("case/") + kCase;
      v1::JournalCase record;
      ASSERT_TRUE(record.ParseFromString(db_get(db, key)));
      change(record);
      db_put(db, key, record.SerializeAsString());
      if (forge_seal) reseal(db, key);
    });
  }

  // Starts a second life on the journal; its start() status.
  Status second_start(const std::string& court = kCourt) {
    BlockingJournal journal(dir_);
    EXPECT_TRUE(journal.ok());
    Life second(in_, kStart + kMicrosPerHour, journal, court);
    Status s = second.engine().start();
    if (s.ok()) second.ex().run_until(kStart + 2 * kMicrosPerDay);
    return s;
  }

  fs::path dir_;
  Institutions in_;
};

// Issue 15, item 10: a recovered filing is checked as file_case checks a new one, and its
// status and ledger are in range. The forger here also rewrote the audit chain, so that the
// seal (item 11) does not catch the edit first.
TEST_F(RocksRecoveryTest, RecoveredCaseThatFailsValidationIsRefusedNamingItsKey) {
  const std::string key = std::string("case/") + kCase;
  struct Edit {
    std::function<void(v1::JournalCase&)> change;
    std::string message;
  };
  const std::vector<Edit> edits = {
      {[](v1::JournalCase& r) { r.mutable_ledger()->set_budget(150'000'000); },
       key + ": ledger.budget " + format_fen(Fen(150'000'000)) + " is not claim + costs " +
           format_fen(Fen(100'000'000))},
      {[](v1::JournalCase& r) { r.mutable_ledger()->set_reserved(100'000'001); },
       key + ": ledger.reserved " + format_fen(Fen(100'000'001)) + " is outside 0.." +
           format_fen(Fen(100'000'000))},
      {[](v1::JournalCase& r) {
         r.mutable_ledger()->set_frozen(60'000'000);
         r.mutable_ledger()->set_deducted(60'000'000);
       },
       key + ": ledger: frozen + reserved + pending + deducted + indivisible_cover = " +
           format_fen(Fen(120'000'000)) + " exceed the budget " + format_fen(Fen(100'000'000))},
      {[](v1::JournalCase& r) { r.set_status(42); }, key + ": status 42 is not a case status"},
      {[](v1::JournalCase& r) { r.mutable_filing()->mutable_debtors(0)->set_id_number(""); },
       key + ": debtors[0].id: " + validate_resident_id("").message()},
      {[](v1::JournalCase& r) { r.mutable_filing()->set_claim_fen(-5); },
       key + ": claim: " + format_fen(Fen(-5)) + " must be positive"},
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    SCOPED_TRACE("edit " + std::to_string(i) + ": " + edits[i].message);
    fs::remove_all(dir_);
    in_.sent.clear();
    first_life(kStart);
    edit_case(edits[i].change, /*forge_seal=*/true);
    EXPECT_EQ(second_start(), data_loss_error(edits[i].message));
    EXPECT_TRUE(in_.sent.empty());  // Nothing was sent on the strength of that record.
  }
}

// Issue 15, item 10: an officer re-registered with another court no longer authorises the
// cases of the first (the journal is untouched).
TEST_F(RocksRecoveryTest, RecoveredCaseWhoseOfficerIsOfAnotherCourtIsRefused) {
  first_life(kStart);
  EXPECT_EQ(second_start("渝0111"),
            data_loss_error(std::string("case/") + kCase + ": officer_ids[0]: officer '" +
                            kOfficer + "' belongs to court 渝0111, not " + kCourt));
  EXPECT_TRUE(in_.sent.empty());
  EXPECT_EQ(second_start(), ok_status());  // Registered with the case's court again.
}

// Issue 15, item 10: one authorisation check on every path, the library's restorations too:
// the library case's officer must be registered with that case's court.
TEST(AuthorisationTest, RestorationOfALibraryCaseChecksTheOfficersCourt) {
  Institutions in;
  engine::MemoryJournal journal;
  Life life(in, kStart, journal);  // kOfficer is of 渝0110.
  engine::LibraryEntry e;
  e.case_number = "（2023）渝0111执5号";  // A case of 渝0111.
  e.debtors = {{false, kDebtor}};
  e.officer_id = kOfficer;
  e.remaining = Fen(1'000'000);
  e.terminated = *Date::parse("2024-10-01");
  ASSERT_TRUE(life.engine().import_library({e}).ok());
  ASSERT_TRUE(life.engine().start().ok());
  connectors::Asset lead{connectors::AssetCategory::kDeposit, "6222000011112222", Fen(1'000'000),
                         kDebtor};
  StatusOr<std::string> restored =
      life.engine().restore_on_lead(e.case_number, kOfficer, "bank.icbc", lead);
  EXPECT_EQ(restored.status(),
            permission_denied_error(std::string("restoration refused: officer '") + kOfficer +
                                    "' belongs to court 渝0110, not 渝0111 (case " + e.case_number +
                                    ")"));
  EXPECT_EQ(life.engine().stats().unauthorized, 1u);
}

// Issue 15, item 11: a debtor added to a case record by hand (decoded, a debtor added,
// encoded, written with RocksDB) makes the engine refuse to start, and nothing is asked
// about that debtor.
TEST_F(RocksRecoveryTest, HandAddedDebtorMakesTheEngineRefuseToStart) {
  first_life(kStart);  // Filed and acknowledged; its queries not started yet.
  {
    BlockingJournal journal(dir_);
    StatusOr<engine::AuditVerdict> before = engine::verify_audit(journal);
    ASSERT_TRUE(before.ok());
    EXPECT_TRUE(before->intact) << before->broken_key << ": " << before->reason;
    EXPECT_EQ(before->sealed, 1u);
  }
  constexpr char kAdded[] = "500110200002290017";
  edit_case(
      [&](v1::JournalCase& r) {
        v1::Debtor* d = r.mutable_filing()->add_debtors();
        d->set_kind(v1::Debtor::KIND_PERSON);
        d->set_id_number(kAdded);
        d->set_name("added by hand");
      },
      /*forge_seal=*/false);
  const std::string message = std::string("case/") + kCase +
                              ": the record is not the value its last write sealed "
                              "(audit/0/0000000000000001): it was changed outside the engine";
  EXPECT_EQ(second_start(), data_loss_error(message));
  for (const connectors::Request& r : in_.sent) EXPECT_NE(r.debtor_id, kAdded);
  EXPECT_TRUE(in_.sent.empty());
  {
    BlockingJournal journal(dir_);  // `audit verify` says the same.
    StatusOr<engine::AuditVerdict> v = engine::verify_audit(journal);
    ASSERT_TRUE(v.ok());
    EXPECT_FALSE(v->intact);
    EXPECT_EQ(v->broken_key + ": " + v->reason, message);
  }
}

// Issue 15, item 11: a case record removed by hand, or one written with no seal, is caught
// too.
TEST_F(RocksRecoveryTest, RemovedOrUnsealedCaseRecordMakesTheEngineRefuseToStart) {
  first_life(kStart + 90 * kMicrosPerMinute);  // Findings and freezes in flight.
  const std::string finding = std::string("case/") + kCase + "/f/000001";
  std::string value;
  edit_with_rocksdb(dir_, [&](rocksdb::DB& db) {
    value = db_get(db, finding);
    ASSERT_TRUE(db.Delete(rocksdb::WriteOptions(), finding).ok());
  });
  Status s = second_start();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_EQ(s.message().rfind(finding + ": the record sealed by audit/0/", 0), 0u) << s.message();
  EXPECT_TRUE(s.message().ends_with(" is missing (it was removed outside the engine)"))
      << s.message();

  edit_with_rocksdb(dir_, [&](rocksdb::DB& db) {
    db_put(db, finding, value);  // Back as it was.
    db_put(db, std::string("case/") + kCase + "/f/000002", value);
  });
  EXPECT_EQ(second_start(), data_loss_error(std::string("case/") + kCase +
                                            "/f/000002: no audit link seals this record (it was "
                                            "written outside the engine)"));
}

// Issue 15, item 12: links without their head are a broken chain, for `audit verify` and at
// engine start; the engine never starts a new sequence over the old links.
TEST_F(RocksRecoveryTest, MissingAuditHeadIsABrokenChainAndTheEngineRefusesToStart) {
  first_life(kStart + 90 * kMicrosPerMinute);
  std::string first_link;
  size_t links = 0;
  edit_with_rocksdb(dir_, [&](rocksdb::DB& db) {
    first_link = db_get(db, "audit/0/0000000000000001");
    std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
    for (it->Seek("audit/0/0"); it->Valid() && it->key().starts_with("audit/0/0"); it->Next()) {
      ++links;
    }
    ASSERT_TRUE(db.Delete(rocksdb::WriteOptions(), "audit/0/head").ok());
  });
  ASSERT_GE(links, 5u);
  const std::string reason = "the head is missing while the chain has " + std::to_string(links) +
                             " links (it was removed)";
  {
    BlockingJournal journal(dir_);
    StatusOr<engine::AuditVerdict> v = engine::verify_audit(journal);
    ASSERT_TRUE(v.ok());
    EXPECT_FALSE(v->intact);
    EXPECT_EQ(v->broken_key, "audit/0/head");
    EXPECT_EQ(v->reason, reason);
    engine::AuditChain chain(0);
    EXPECT_EQ(chain.resume(journal), data_loss_error("audit/0/head: " + reason));
  }
  const size_t sent = in_.sent.size();
  EXPECT_EQ(second_start(), data_loss_error("audit/0/head: " + reason));
  EXPECT_EQ(in_.sent.size(), sent);
  BlockingJournal journal(dir_);
  EXPECT_EQ(*journal.get("audit/0/0000000000000001"), first_link);  // Not overwritten.
}

}  // namespace
}  // namespace chakong
