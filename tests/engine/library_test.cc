// The terminated-case library, the sweep, restoration on a hit or a lead, and a restart in
// the middle of a sweep run.
#include "engine/src/library.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "chakong/base/identity.h"
#include "chakong/base/virtual_executor.h"
#include "chakong/engine/engine.h"
#include "chakong/engine/journal.h"
#include "chakong/institution/institution.h"
#include "chakong/sim/in_process_connector.h"
#include "engine/engine_world.h"

namespace chakong {
namespace {

using engine::Library;
using engine::LibraryEntry;
using testing::kCourt;
using testing::kOfficer;

Date day(const char* text) { return *Date::parse(text); }

// A valid resident ID per index (birth date 1980-01-01 + index days).
std::string person(int i) {
  const Date birth = day("1980-01-01").plus_days(i % 7000);
  char buf[48];  // Room for any int, so that no build mode warns of truncation.
  std::snprintf(buf, sizeof buf, "500101%04d%02d%02d%03d", birth.year(), birth.month(), birth.day(),
                100 + i / 7000);
  const std::string first17(buf, 17);
  return first17 + resident_id_check_char(first17);
}

LibraryEntry entry(int serial, const char* terminated, std::vector<std::string> debtors = {}) {
  LibraryEntry e;
  e.case_number = "（2023）渝0110执" + std::to_string(serial) + "号";
  if (debtors.empty()) debtors = {person(serial)};
  for (std::string& d : debtors) e.debtors.push_back({false, std::move(d)});
  e.officer_id = kOfficer;
  e.remaining = Fen(5'000'000);
  e.terminated = day(terminated);
  return e;
}

TEST(LibraryTest, KeepsRecordsCompactAndFindsThemByNumberAndDate) {
  Library lib;
  ASSERT_TRUE(lib.add(entry(7, "2024-03-01")).ok());
  ASSERT_TRUE(lib.add(entry(8, "2024-03-01", {person(8), person(9)})).ok());
  ASSERT_TRUE(lib.add(entry(12, "2024-08-31")).ok());
  EXPECT_EQ(sizeof(Library::Record), 40u);
  EXPECT_EQ(lib.case_number(1), "（2023）渝0110执8号");
  EXPECT_EQ(lib.find("(2023)渝0110执12号"), std::optional<Library::Index>(2));
  EXPECT_EQ(lib.find("（2023）渝0110执13号"), std::nullopt);
  ASSERT_EQ(lib.debtors(1).size(), 2u);
  EXPECT_EQ(lib.debtors(1)[1].id, person(9));
  EXPECT_EQ(lib.officer(0), kOfficer);
  EXPECT_EQ(lib.entry(2).remaining, Fen(5'000'000));
  EXPECT_EQ(lib.terminated_between(day("2024-03-01"), day("2024-03-02")),
            std::make_pair(Library::Index{0}, Library::Index{2}));
  EXPECT_EQ(lib.terminated_between(day("2024-03-02"), day("2025-01-01")),
            std::make_pair(Library::Index{2}, Library::Index{3}));
  // 31 August + 6 months is 28 February: the anniversary falls in February 2025.
  EXPECT_EQ(engine::add_months(day("2024-08-31"), 6), day("2025-02-28"));
  EXPECT_EQ(engine::add_months(day("2024-03-01"), 12), day("2025-03-01"));
  EXPECT_EQ(lib.anniversaries_between(day("2025-02-28"), day("2025-03-01"), 6),
            std::make_pair(Library::Index{2}, Library::Index{3}));
  EXPECT_EQ(lib.anniversaries_between(day("2025-03-01"), day("2025-03-02"), 12),
            std::make_pair(Library::Index{0}, Library::Index{2}));
}

TEST(LibraryTest, RefusesBadEntriesNamingTheField) {
  Library lib;
  ASSERT_TRUE(lib.add(entry(1, "2024-05-01")).ok());
  LibraryEntry bad_id = entry(2, "2024-05-01", {"11010519491231002Y"});
  Status s = lib.add(bad_id).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(s.message().starts_with("debtors[0].id: ")) << s.message();
  EXPECT_EQ(lib.add(entry(1, "2024-05-01")).status().message(),
            "case_number: （2023）渝0110执1号 is already in the library");
  s = lib.add(entry(3, "2024-04-30")).status();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "terminated: 2024-04-30 is before the last library case's 2024-05-01; add cases in "
            "order of termination");
  LibraryEntry zero = entry(4, "2024-05-02");
  zero.remaining = Fen();
  EXPECT_EQ(lib.add(zero).status().message(), "remaining: ¥0.00 must be positive");
  LibraryEntry bad_number = entry(5, "2024-05-02");
  bad_number.case_number = "（2023）渝0110执X号";
  EXPECT_TRUE(lib.add(bad_number).status().message().starts_with("case_number: "));
  EXPECT_EQ(lib.size(), 1u);
  engine::SweepConfig sc;
  sc.window_days = 0;
  EXPECT_EQ(engine::validate(sc).message(), "sweep.window_days = 0: must be >= 1");
}

TEST(LibraryTest, StaysUnder256BytesPerCase) {
  Library lib;
  lib.reserve(20'000);
  for (int i = 0; i < 20'000; ++i) {
    ASSERT_TRUE(lib.add(entry(i + 1, "2024-01-01")).ok());
  }
  const double per_case = static_cast<double>(lib.memory_bytes()) / 20'000.0;
  EXPECT_LT(per_case, 256.0);
  EXPECT_GT(per_case, 40.0);  // At least the record itself: the count is not made up.
}

// A world for the sweep: a bank and a vehicle registry, each with a connector that records
// the idempotency keys of the queries it is given.
class RecordingConnector final : public connectors::Connector {
 public:
  RecordingConnector(connectors::Connector& inner, std::map<std::string, int>& keys)
      : inner_(inner), keys_(keys) {}
  const std::string& name() const override { return inner_.name(); }
  connectors::Capabilities capabilities() const override { return inner_.capabilities(); }
  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override {
    for (const connectors::Request& r : batch) {
      if (r.kind == connectors::RequestKind::kQuery) ++keys_[r.idempotency_key];
    }
    inner_.async_submit(batch, sink);
  }

 private:
  connectors::Connector& inner_;
  std::map<std::string, int>& keys_;
};

struct Institutions {
  institution::Institution bank{"bank.b001", connectors::Capabilities::all()};
  institution::Institution vehicle{"vehicle.cq", connectors::Capabilities::all()};
  std::map<std::string, int> keys;  // Query key -> times sent.
};

// One engine life: its executor, connectors and engine. Destroying it is a crash: nothing
// pending on its executor runs.
class Life {
 public:
  Life(Institutions& in, TimeUs now, engine::EngineConfig config) : ex_(now) {
    const sim::LatencyFn latency = sim::fixed_latency(3 * kMicrosPerHour);
    for (institution::Institution* i : {&in.bank, &in.vehicle}) {
      inner_.push_back(std::make_unique<sim::InProcessConnector>(*i, ex_, latency));
      rec_.push_back(std::make_unique<RecordingConnector>(*inner_.back(), in.keys));
    }
    auto e = engine::Engine::create(std::move(config), {&ex_}, {rec_[0].get(), rec_[1].get()});
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    engine_ = std::move(e).value();
    EXPECT_TRUE(engine_->register_officer(kOfficer, kCourt).ok());
    engine_->set_observer([this](const engine::Event& ev) { events.push_back(ev); });
  }
  VirtualExecutor& ex() { return ex_; }
  engine::Engine& engine() { return *engine_; }
  std::vector<engine::Event> events;

 private:
  VirtualExecutor ex_;
  std::vector<std::unique_ptr<sim::InProcessConnector>> inner_;
  std::vector<std::unique_ptr<RecordingConnector>> rec_;
  std::unique_ptr<engine::Engine> engine_;
};

engine::EngineConfig sweep_config(engine::Journal* journal = nullptr) {
  engine::EngineConfig c;
  c.journal = journal;
  c.sweep.max_in_flight_cases = 3;
  c.auto_deduct = false;
  return c;
}

// 40 library cases terminated in 2024, one debtor each; debtors 5, 17 and 33 have since
// opened an account.
std::vector<LibraryEntry> library_of_40(Institutions& in, bool add_assets = true) {
  std::vector<LibraryEntry> out;
  for (int i = 0; i < 40; ++i) {
    out.push_back(entry(100 + i, "2024-06-01"));
    if (add_assets && (i == 5 || i == 17 || i == 33)) {
      connectors::Asset a;
      a.category = connectors::AssetCategory::kDeposit;
      a.reference = "acct-" + std::to_string(i);
      a.holder_id = out.back().debtors[0].id;
      a.value = Fen(1'000'000);
      EXPECT_TRUE(in.bank.add_asset(a).ok());
    }
  }
  // Terminated more than five years before the run: no longer swept.
  out.push_back(entry(99, "2019-12-31"));
  return out;
}

TEST(SweepTest, BatchRunSweepsEveryDueCaseWithinItsWindowAndRestoresHits) {
  Institutions in;
  Life life(in, day("2025-01-01").start_us(), sweep_config());
  ASSERT_TRUE(life.engine().import_library(library_of_40(in)).ok());
  life.ex().run_until(day("2025-02-15").start_us());

  const std::vector<engine::SweepRunReport> runs = life.engine().sweep_runs();
  ASSERT_EQ(runs.size(), 1u);
  const engine::SweepRunReport& run = runs[0];
  EXPECT_EQ(run.start, day("2025-01-01"));
  EXPECT_EQ(run.due, 40u);
  EXPECT_EQ(run.swept, 40u);
  EXPECT_EQ(run.debtors_queried, 40u);
  EXPECT_EQ(run.hits, 3u);
  EXPECT_EQ(run.restored, 3u);
  EXPECT_TRUE(run.fit());
  // Released evenly over the 22-day spread, not all at once.
  EXPECT_GT(run.finished_at, day("2025-01-22").start_us());
  // Every due debtor asked once at each connector; the old case never.
  EXPECT_EQ(in.keys.size(), 80u);
  for (const auto& [key, times] : in.keys) {
    EXPECT_EQ(times, 1) << key;
    EXPECT_EQ(key.find("执99号"), std::string::npos) << key;
  }
  // The hits became 执恢 cases with the finding frozen within 48 hours.
  const engine::EngineStats s = life.engine().stats();
  EXPECT_EQ(s.cases_restored, 3u);
  EXPECT_EQ(s.sweep_restored, 3u);
  EXPECT_EQ(s.control_started, 3u);
  EXPECT_EQ(s.control_met, 3u);
  StatusOr<engine::CaseView> v = life.engine().case_view("（2025）渝0110执恢900001号");
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->frozen, Fen(1'000'000));
  EXPECT_EQ(v->budget, Fen(5'000'000));
  EXPECT_EQ(s.requests[static_cast<int>(connectors::RequestKind::kQuery)], 80u);
  EXPECT_EQ(life.engine().library_stats().restored, 3u);
}

// Every sweep query passes the one authorisation check, as any request does: the officer of
// cases 100..109 is removed from the registry (Engine::reload) before the run, so each of
// their queries is refused, counted and emitted, and not sent; the cases are not swept.
TEST(SweepTest, AQueryOfAnOfficerNoLongerRegisteredIsRefusedCountedAndNotSent) {
  constexpr char kRemoved[] = "cq-0110-099";
  Institutions in;
  Life life(in, day("2025-01-01").start_us(), sweep_config());
  ASSERT_TRUE(life.engine().register_officer(kRemoved, kCourt).ok());
  engine::ReloadableConfig reload;
  reload.officers = {{kOfficer, kCourt}};
  ASSERT_TRUE(life.engine().reload(reload).ok());
  life.ex().run_until(day("2025-01-01").start_us());
  ASSERT_EQ(life.engine().config_generation(), 1u);
  std::vector<LibraryEntry> library = library_of_40(in);
  for (int i = 0; i < 10; ++i) library[i].officer_id = kRemoved;  // Case 105 has an account.
  ASSERT_TRUE(life.engine().import_library(std::move(library)).ok());
  life.ex().run_until(day("2025-02-15").start_us());

  const std::vector<engine::SweepRunReport> runs = life.engine().sweep_runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].due, 40u);
  EXPECT_EQ(runs[0].swept, 30u);
  EXPECT_EQ(runs[0].debtors_queried, 30u);
  EXPECT_EQ(runs[0].hits, 2u);
  EXPECT_EQ(runs[0].restored, 2u);
  EXPECT_TRUE(runs[0].finished());
  // Sent: the 30 cases of the registered officer, at both connectors, once each.
  EXPECT_EQ(in.keys.size(), 60u);
  for (const auto& [key, times] : in.keys) {
    EXPECT_EQ(times, 1) << key;
    for (int serial = 100; serial < 110; ++serial) {
      EXPECT_EQ(key.find("执" + std::to_string(serial) + "号"), std::string::npos) << key;
    }
  }
  const engine::EngineStats s = life.engine().stats();
  EXPECT_EQ(s.unauthorized, 20u);  // 10 cases x 2 connectors.
  EXPECT_EQ(s.requests[static_cast<int>(connectors::RequestKind::kQuery)], 60u);
  EXPECT_EQ(s.sweep_cases_swept, 30u);
  EXPECT_EQ(s.sweep_debtors_queried, 30u);
  EXPECT_EQ(s.sweep_hits, 2u);
  std::vector<std::string> refusals;
  for (const engine::Event& e : life.events) {
    if (e.type == engine::EventType::kRequestRefused) refusals.push_back(e.detail);
  }
  ASSERT_EQ(refusals.size(), 20u);
  EXPECT_EQ(refusals[0],
            "query refused: officer 'cq-0110-099' is not registered (case （2023）渝0110执100号)");
}

TEST(SweepTest, NextRunSkipsRestoredCasesAndCoversTheRest) {
  Institutions in;
  Life life(in, day("2025-01-01").start_us(), sweep_config());
  ASSERT_TRUE(life.engine().import_library(library_of_40(in)).ok());
  life.ex().run_until(day("2025-08-15").start_us());
  const std::vector<engine::SweepRunReport> runs = life.engine().sweep_runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].start, day("2025-07-01"));
  EXPECT_EQ(runs[1].due, 37u);
  EXPECT_EQ(runs[1].swept, 37u);
  EXPECT_EQ(runs[1].hits, 0u);  // The three restored cases left the library's due set.
  EXPECT_TRUE(runs[1].fit());
}

TEST(SweepTest, AnniversaryPolicySweepsEachCaseOnItsDay) {
  Institutions in;
  engine::EngineConfig c = sweep_config();
  c.sweep.policy = engine::SweepConfig::Policy::kAnniversary;
  Life life(in, day("2025-01-01").start_us(), c);
  ASSERT_TRUE(
      life.engine()
          .import_library({entry(1, "2024-08-31"), entry(2, "2024-09-15"), entry(3, "2024-12-20")})
          .ok());
  life.ex().run_until(day("2025-03-01").start_us());
  // Only the 31 August case is due by 1 March (on 28 February).
  EXPECT_EQ(in.keys.size(), 2u);
  EXPECT_EQ(in.keys.count("（2023）渝0110执1号/sweep/20250101/" + person(1) + "/bank.b001"), 1u);
  life.ex().run_until(day("2025-07-05").start_us());
  const std::vector<engine::SweepRunReport> runs = life.engine().sweep_runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].due, 3u);  // 28 February, 15 March and 20 June.
  EXPECT_EQ(runs[0].swept, 3u);
  EXPECT_LT(runs[0].max_lateness, kMicrosPerDay);
  EXPECT_TRUE(runs[0].fit());
  EXPECT_EQ(runs[1].start, day("2025-07-01"));
  EXPECT_EQ(runs[1].due, 3u);  // Their first anniversaries, from 31 August on.
  EXPECT_EQ(runs[1].swept, 0u);
}

// Also in case-server mode, where sweep progress rides in the shard's atomic groups and
// every sweep query leaves only once its audit link is durable.
class SweepRestartTest : public ::testing::TestWithParam<bool> {};

TEST_P(SweepRestartTest, RestartMidRunSkipsNoDebtorAndQueriesNoneTwice) {
  Institutions in;
  engine::MemoryJournal journal;
  uint64_t swept_before = 0;
  engine::EngineConfig config = sweep_config(&journal);
  config.journal_cases = GetParam();
  config.sweep.spread_days = 1;  // Three cases at a time, each answered in three hours.
  const TimeUs crash = day("2025-01-01").start_us() + 20 * kMicrosPerHour + 30 * kMicrosPerMinute;
  {
    Life first(in, day("2025-01-01").start_us(), config);
    ASSERT_TRUE(first.engine().import_library(library_of_40(in)).ok());
    ASSERT_TRUE(first.engine().start().ok());
    first.ex().run_until(crash);
    swept_before = first.engine().sweep_runs().at(0).swept;
    EXPECT_GT(first.engine().open_requests(), 0u);  // The crash falls with queries out.
  }  // Crash: the engine and everything pending on its executor are gone.
  ASSERT_GT(swept_before, 5u);
  ASSERT_LT(swept_before, 30u);
  const std::map<std::string, int> before = in.keys;

  Life second(in, crash, config);
  ASSERT_TRUE(second.engine().import_library(library_of_40(in, /*add_assets=*/false)).ok());
  ASSERT_TRUE(second.engine().start().ok());
  second.ex().run_until(day("2025-02-15").start_us());

  const std::vector<engine::SweepRunReport> runs = second.engine().sweep_runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].due, 40u);
  EXPECT_EQ(runs[0].swept, 40u);
  EXPECT_TRUE(runs[0].fit());
  // No debtor skipped: every due debtor's query key reached both connectors.
  std::set<std::string> debtors;
  for (const auto& [key, times] : in.keys) {
    const size_t a = key.find("/sweep/20250101/") + 16;
    debtors.insert(key.substr(a, 18));
  }
  EXPECT_EQ(debtors.size(), 40u);
  EXPECT_EQ(in.keys.size(), 80u);
  // None queried twice: one key per debtor and connector; a key sent twice is a query in
  // flight at the crash, re-sent unchanged. Cases finished before the crash are not re-sent.
  int resent = 0;
  for (const auto& [key, times] : in.keys) {
    EXPECT_LE(times, 2) << key;
    if (times == 2) {
      ++resent;
      EXPECT_EQ(before.at(key), 1) << key;
    }
  }
  EXPECT_GT(resent, 0);
  EXPECT_LE(resent, 2 * 3);  // At most the cases in flight (3) times the connectors (2).
  // Restored before the crash stays restored: three hits, three restorations in all.
  EXPECT_EQ(runs[0].hits, 3u);
  // The finished run's progress chunks are gone; its header stays.
  int chunks = 0;
  ASSERT_TRUE(
      journal
          .scan("sweep/0/run/20250101/done/", [&](std::string_view, std::string_view) { ++chunks; })
          .ok());
  EXPECT_EQ(chunks, 0);
  EXPECT_TRUE(journal.get("sweep/0/run/20250101").ok());
}
INSTANTIATE_TEST_SUITE_P(Journal, SweepRestartTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "CaseServerMode" : "LibraryOnly";
                         });

// A journal whose writes of keys containing `writes`, and scans of prefixes containing
// `scans`, fail as a broken disk would ("" fails none).
class FailingJournal final : public engine::Journal {
 public:
  FailingJournal(engine::Journal& inner, std::string writes, std::string scans)
      : inner_(inner), writes_(std::move(writes)), scans_(std::move(scans)) {}
  Status put(std::string_view key, std::string_view value) override {
    return hit(key, writes_) ? broken() : inner_.put(key, value);
  }
  Status erase(std::string_view key) override {
    return hit(key, writes_) ? broken() : inner_.erase(key);
  }
  StatusOr<std::string> get(std::string_view key) const override { return inner_.get(key); }
  Status scan(std::string_view prefix, const Visitor& visit) const override {
    return hit(prefix, scans_) ? broken() : inner_.scan(prefix, visit);
  }

 private:
  static bool hit(std::string_view key, const std::string& part) {
    return !part.empty() && key.find(part) != std::string_view::npos;
  }
  static Status broken() { return unavailable_error("IO error: read-only file system"); }
  engine::Journal& inner_;
  std::string writes_, scans_;
};

// Regression: a sweep progress write that failed was dropped with (void), and so was the scan
// that resumes a run, so a restart swept from a guess without a word. Now a failed write is
// kept (journal_status) and reported, and a resumed run whose progress cannot be read refuses
// the start, naming the run.
TEST(SweepTest, JournalFailuresOfTheSweepAreReportedAndAResumeThatCannotReadRefuses) {
  Institutions in;
  engine::MemoryJournal journal;
  FailingJournal no_writes(journal, "/run/", "");
  engine::EngineConfig config = sweep_config(&no_writes);
  config.sweep.spread_days = 1;
  {
    Life life(in, day("2025-01-01").start_us(), config);
    ASSERT_TRUE(life.engine().import_library(library_of_40(in)).ok());
    ASSERT_TRUE(life.engine().start().ok());
    life.ex().run_until(day("2025-01-01").start_us() + 6 * kMicrosPerHour);
    EXPECT_EQ(life.engine().journal_status(), unavailable_error("IO error: read-only file system"));
    bool reported = false;
    for (const engine::Event& e : life.events) {
      reported |= e.type == engine::EventType::kRequestFailed &&
                  e.detail ==
                      "journal: sweep/0/run/20250101: UNAVAILABLE: IO error: read-only "
                      "file system";
    }
    EXPECT_TRUE(reported);
    for (const engine::Event& e : life.events)
      if (e.detail.find("journal") != std::string::npos) std::printf("EV %s\n", e.detail.c_str());
  }
  // A run under way in the journal, whose progress chunks cannot be read back.
  engine::MemoryJournal saved;
  {
    Life life(in, day("2025-01-01").start_us(), sweep_config(&saved));
    ASSERT_TRUE(life.engine().import_library(library_of_40(in, /*add_assets=*/false)).ok());
    ASSERT_TRUE(life.engine().start().ok());
    life.ex().run_until(day("2025-01-01").start_us() + 6 * kMicrosPerHour);
  }
  FailingJournal no_reads(saved, "", "/done/");
  Life second(in, day("2025-01-01").start_us() + 6 * kMicrosPerHour, sweep_config(&no_reads));
  ASSERT_TRUE(second.engine().import_library(library_of_40(in, /*add_assets=*/false)).ok());
  EXPECT_EQ(second.engine().start(),
            unavailable_error("journal: sweep run 20250101 progress (sweep/0/run/20250101/done/): "
                              "IO error: read-only file system"));
}

// The sweep's records are Protobuf (JournalSweepRun, JournalSweepDone, JournalLibraryCase):
// a damaged value, or a text record of an older version, refuses the start naming the key.
TEST(SweepTest, ADamagedOrOldTextSweepRecordRefusesTheStartNamingTheKey) {
  Institutions in;
  engine::MemoryJournal saved;  // A run under way: its header and done chunk 0.
  {
    Life life(in, day("2025-01-01").start_us(), sweep_config(&saved));
    ASSERT_TRUE(life.engine().import_library(library_of_40(in, /*add_assets=*/false)).ok());
    ASSERT_TRUE(life.engine().start().ok());
    life.ex().run_until(day("2025-01-01").start_us() + 6 * kMicrosPerHour);
  }
  const std::string run = "sweep/0/run/20250101", chunk = run + "/done/0000000000";
  const StatusOr<std::string> header = saved.get(run), done = saved.get(chunk);
  ASSERT_TRUE(header.ok());
  ASSERT_TRUE(done.ok());
  ASSERT_EQ(done->size(), 133u);    // format (2 bytes); words: tag, 2-byte length, 16 * 8.
  ASSERT_EQ((*header)[0], '\x08');  // format = 1 first.
  ASSERT_EQ((*header)[1], '\x01');
  // Each case: one key set to damaged (or old) bytes in a copy of the journal.
  auto start_with = [&](const std::string& key, const std::string& value) {
    engine::MemoryJournal j;
    EXPECT_TRUE(saved
                    .scan("", [&](std::string_view k,
                                  std::string_view v) { EXPECT_TRUE(j.put(k, v).ok()); })
                    .ok());
    EXPECT_TRUE(j.put(key, value).ok());
    Life life(in, day("2025-01-01").start_us() + 6 * kMicrosPerHour, sweep_config(&j));
    EXPECT_TRUE(life.engine().import_library(library_of_40(in, /*add_assets=*/false)).ok());
    return life.engine().start();
  };
  // The undamaged journal resumes.
  EXPECT_EQ(start_with(run, *header), ok_status());
  // A done chunk cut short by a torn write.
  EXPECT_EQ(start_with(chunk, done->substr(0, 70)),
            data_loss_error("journal " + chunk +
                            ": is not a sweep progress record: 70 bytes that do not parse"));
  // A flipped byte in the header's format field.
  std::string flipped = *header;
  flipped[1] = '\x02';
  EXPECT_EQ(start_with(run, flipped),
            data_loss_error("journal " + run + ": is not a sweep run record: format 2, not 1"));
  // The space-separated header of an older version.
  const std::string old_text =
      " record of an older version (tab- or space-separated), which this version does not "
      "read: rebuild the library by importing it into a new journal";
  EXPECT_EQ(start_with(run, "0 1735689600000000 0 1751328000000000 40 0 7 1 1 7 0"),
            data_loss_error("journal " + run + ": is a text sweep run" + old_text));
  // The tab-separated library case of an older version (the 42nd case, after the 41 imported).
  EXPECT_EQ(
      start_with("library/0/case/0000000041",
                 "（2023）渝0110执9号\tofficer\t100\t19000\t1\t0\tP:110101199001010017"),
      data_loss_error("journal library/0/case/0000000041: is a text library case" + old_text));
}

TEST(SweepTest, RestoreOnLeadChecksAuthorityAndStartsTheClock) {
  Institutions in;
  Life life(in, day("2025-03-03").start_us(), sweep_config());
  LibraryEntry e = entry(500, "2024-10-01");
  const std::string debtor = e.debtors[0].id;
  ASSERT_TRUE(life.engine().import_library({e}).ok());
  connectors::Asset lead;
  lead.category = connectors::AssetCategory::kVehicle;
  lead.reference = "渝A12345";
  lead.holder_id = debtor;
  lead.value = Fen(8'000'000);
  ASSERT_TRUE(in.vehicle.add_asset(lead).ok());

  StatusOr<std::string> n =
      life.engine().restore_on_lead(e.case_number, "cq-0110-999", "vehicle.cq", lead);
  EXPECT_EQ(n.status().code(), StatusCode::kPermissionDenied);
  connectors::Asset stranger = lead;
  stranger.holder_id = person(501);
  n = life.engine().restore_on_lead(e.case_number, kOfficer, "vehicle.cq", stranger);
  EXPECT_EQ(n.status().code(), StatusCode::kPermissionDenied);
  n = life.engine().restore_on_lead(e.case_number, kOfficer, "vehicle.xx", lead);
  EXPECT_EQ(n.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(life.engine().stats().unauthorized, 2u);

  n = life.engine().restore_on_lead(e.case_number, kOfficer, "vehicle.cq", lead);
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(*n, "（2025）渝0110执恢900001号");
  EXPECT_EQ(
      life.engine().restore_on_lead(e.case_number, kOfficer, "vehicle.cq", lead).status().message(),
      "case （2023）渝0110执500号 was restored already");
  life.ex().run_until(day("2025-03-06").start_us());
  const engine::EngineStats s = life.engine().stats();
  EXPECT_EQ(s.lead_restored, 1u);
  EXPECT_EQ(s.control_started, 1u);
  EXPECT_EQ(s.control_met, 1u);
  StatusOr<engine::CaseView> v = life.engine().case_view(*n);
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->measures.size(), 1u);
  EXPECT_EQ(v->measures[0].reference, "渝A12345");
  EXPECT_EQ(v->indivisible_cover, Fen(5'000'000));  // The seal covers the budget.
}

// forget_empty_terminated: a terminated case with nothing in it lives on only as its library
// record (the national simulation's memory), and nothing that matters is lost.
TEST(SweepTest, AnEmptyTerminatedCaseIsKeptInTheLibraryOnly) {
  Institutions in;
  engine::EngineConfig config = sweep_config();
  config.forget_empty_terminated = true;
  config.termination.min_days_since_filing = 0;
  Life life(in, day("2025-03-03").start_us(), config);
  engine::CaseFiling f;
  f.case_number = "（2025）渝0110执7号";
  f.court = kCourt;
  f.debtors = {{engine::DebtorInfo::Kind::kPerson, person(7), "debtor"}};
  f.claim = Fen(1'000'000);
  f.officer_ids = {kOfficer};
  engine::CaseFiling g = f;  // The same, with a deposit to freeze.
  g.case_number = "（2025）渝0110执8号";
  g.debtors = {{engine::DebtorInfo::Kind::kPerson, person(8), "debtor"}};
  connectors::Asset deposit;
  deposit.reference = "acct-8";
  deposit.holder_id = person(8);
  deposit.value = Fen(300'000);
  ASSERT_TRUE(in.bank.add_asset(deposit).ok());
  ASSERT_TRUE(life.engine().file_case(f).ok());
  ASSERT_TRUE(life.engine().file_case(g).ok());
  life.ex().run_until(day("2025-03-05").start_us());  // Queries answered, the deposit frozen.
  ASSERT_TRUE(life.engine().terminate_case(f.case_number, true).ok());
  ASSERT_TRUE(life.engine().terminate_case(g.case_number, true).ok());

  // The empty case: gone from the engine, in the library, its number still taken.
  EXPECT_EQ(life.engine().case_view(f.case_number).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(life.engine().file_case(f).code(), StatusCode::kAlreadyExists);
  // The case with a measure in force is kept whole (its freeze is still renewed).
  StatusOr<engine::CaseView> kept = life.engine().case_view(g.case_number);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->status, engine::CaseStatus::kTerminated);
  ASSERT_EQ(kept->measures.size(), 1u);
  EXPECT_EQ(life.engine().library_stats().cases, 2u);

  // Restoration on a lead works from the library record: the budget is what was owed.
  connectors::Asset lead;
  lead.category = connectors::AssetCategory::kVehicle;
  lead.reference = "渝A54321";
  lead.holder_id = person(7);
  lead.value = Fen(8'000'000);
  ASSERT_TRUE(in.vehicle.add_asset(lead).ok());
  StatusOr<std::string> n =
      life.engine().restore_on_lead(f.case_number, kOfficer, "vehicle.cq", lead);
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  life.ex().run_until(day("2025-03-08").start_us());
  StatusOr<engine::CaseView> v = life.engine().case_view(*n);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->budget, Fen(1'000'000));
  ASSERT_EQ(v->measures.size(), 1u);
  EXPECT_EQ(v->measures[0].reference, "渝A54321");
  EXPECT_EQ(life.engine().stats().control_met, 2u);
}

TEST(SweepTest, ImportIsAllOrNothing) {
  Institutions in;
  Life life(in, day("2025-01-01").start_us(), sweep_config());
  std::vector<LibraryEntry> entries = {entry(1, "2024-01-01"), entry(2, "2024-01-02"),
                                       entry(3, "2024-01-03")};
  entries[2].officer_id.clear();
  const Status s = life.engine().import_library(entries);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "entries[2]: officer_id: empty");
  EXPECT_EQ(life.engine().library_stats().cases, 0u);
  entries[2].officer_id = kOfficer;
  EXPECT_TRUE(life.engine().import_library(entries).ok());
  EXPECT_EQ(life.engine().library_stats().cases, 3u);
}

}  // namespace
}  // namespace chakong
