// RocksJournal (group commit, reopen, damaged tails, full disk) and the audit chain.
#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>

#include "chakong/durable/rocks_journal.h"
#include "chakong/engine/audit.h"
#include "engine/src/audit_chain.h"

namespace chakong::engine {
namespace {

namespace fs = std::filesystem;

class JournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("chakong-journal-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    fs::remove_all(dir_);
    fs::remove_all(live());
  }

  fs::path live() const { return dir_.string() + "-live"; }

  std::unique_ptr<RocksJournal> open(bool truncate = false, rocksdb::Env* env = nullptr,
                                     const fs::path& dir = {}) {
    RocksJournalOptions o;
    o.path = dir.empty() ? dir_.string() : dir.string();
    o.create_if_missing = true;
    o.truncate_corrupt_tail = truncate;
    o.env = env;
    StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(o);
    EXPECT_TRUE(j.ok()) << j.status().to_string();
    return j.ok() ? std::move(j).value() : nullptr;
  }

  static Status synced(Journal& j) {
    std::promise<Status> p;
    j.sync([&p](Status s) { p.set_value(std::move(s)); });
    return p.get_future().get();
  }

  fs::path newest_log(const fs::path& dir) const {
    fs::path newest;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".log" && e.path().filename() != "LOG" &&
          (newest.empty() || e.path().filename() > newest.filename())) {
        newest = e.path();
      }
    }
    return newest;
  }

  // A journal with two synced puts as a crash leaves it: its files copied to dir_ while it is
  // open (a clean close moves every change into a table file). The log file and the offset
  // where the second put's record starts.
  std::pair<fs::path, uint64_t> two_records() {
    fs::remove_all(live());
    auto j = open(false, nullptr, live());
    EXPECT_NE(j, nullptr);
    if (j == nullptr) return {};
    EXPECT_TRUE(j->put("a", std::string(100, 'a')).ok());
    const fs::path log = newest_log(live());
    const uint64_t second = fs::file_size(log);
    // The watermark before b's put returned: the image is of a crash during b's sync.
    std::ifstream in(live() / "CHAKONG-WATERMARK", std::ios::binary);
    const std::string mark((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(j->put("b", std::string(100, 'b')).ok());
    fs::copy(live(), dir_, fs::copy_options::recursive);
    std::ofstream(dir_ / "CHAKONG-WATERMARK", std::ios::binary | std::ios::trunc) << mark;
    return {dir_ / log.filename(), second};
  }

  fs::path dir_;
};

TEST_F(JournalTest, GroupCommitIsDurableAcrossReopen) {
  {
    auto j = open();
    ASSERT_NE(j, nullptr);
    for (int i = 0; i < 10'000; ++i) {
      ASSERT_TRUE(
          j->append_put("case/" + std::to_string(100000 + i), "v" + std::to_string(i)).ok());
    }
    ASSERT_TRUE(j->append_erase("case/100005").ok());
    ASSERT_TRUE(synced(*j).ok());
    const RocksJournal::Stats s = j->stats();
    EXPECT_EQ(s.changes, 10'001u);
    // Many changes share a synced write.
    EXPECT_LT(s.groups, 10'001u);
    EXPECT_TRUE(j->put("library/0/serial", "7").ok());
  }
  auto j = open();
  ASSERT_NE(j, nullptr);
  int n = 0;
  ASSERT_TRUE(j->scan("case/", [&](std::string_view, std::string_view) { ++n; }).ok());
  EXPECT_EQ(n, 9'999);
  EXPECT_EQ(*j->get("case/109999"), "v9999");
  EXPECT_EQ(j->get("case/100005").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*j->get("library/0/serial"), "7");
}

TEST_F(JournalTest, CorruptTailIsReportedWithItsOffsetAndRefused) {
  const auto [log, second] = two_records();
  ASSERT_FALSE(log.empty());
  {
    std::fstream f(log, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(second + 40));
    f.put('X');  // Inside the second record's payload.
  }
  RocksJournalOptions o;
  o.path = dir_.string();
  StatusOr<std::unique_ptr<RocksJournal>> refused = RocksJournal::open(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(refused.status().message().find(log.string() + " is damaged at offset " +
                                            std::to_string(second) + " of "),
            std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("checksum mismatch"), std::string::npos);

  // Told to, the engine cuts the tail: the first change stays, the damaged one is gone.
  auto j = open(/*truncate=*/true);
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->truncated().has_value());
  EXPECT_EQ(j->truncated()->offset, second);
  EXPECT_EQ(*j->get("a"), std::string(100, 'a'));
  EXPECT_EQ(j->get("b").status().code(), StatusCode::kNotFound);
}

TEST_F(JournalTest, TruncatedTailIsReportedWithItsOffset) {
  const auto [log, second] = two_records();
  ASSERT_FALSE(log.empty());
  fs::resize_file(log, fs::file_size(log) - 30);  // A write cut short.
  StatusOr<std::optional<JournalDamage>> d = inspect_journal_log(dir_.string());
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->has_value());
  EXPECT_EQ((*d)->offset, second);
  EXPECT_TRUE((*d)->newest);
  EXPECT_EQ((*d)->reason.rfind("truncated record", 0), 0u) << (*d)->reason;
  RocksJournalOptions o;
  o.path = dir_.string();
  EXPECT_EQ(RocksJournal::open(o).status().code(), StatusCode::kDataLoss);
}

// A file system with a byte budget for writes: the disk fills when it runs out.
class QuotaFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  QuotaFile(std::unique_ptr<rocksdb::FSWritableFile>&& f, std::atomic<int64_t>* budget)
      : FSWritableFileOwnerWrapper(std::move(f)), budget_(budget) {}
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           rocksdb::IODebugContext* dbg) override {
    if ((*budget_ -= static_cast<int64_t>(data.size())) < 0) {
      return rocksdb::IOStatus::NoSpace("No space left on device");
    }
    return target()->Append(data, o, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                           const rocksdb::DataVerificationInfo&,
                           rocksdb::IODebugContext* dbg) override {
    return Append(data, o, dbg);
  }

 private:
  std::atomic<int64_t>* budget_;
};

class QuotaFs : public rocksdb::FileSystemWrapper {
 public:
  QuotaFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "QuotaFs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* out,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, o, out, dbg);
    if (s.ok()) *out = std::make_unique<QuotaFile>(std::move(*out), &budget);
    return s;
  }
  std::atomic<int64_t> budget{INT64_MAX / 2};
};

TEST_F(JournalTest, FullDiskFailsWritesClearlyAndKeepsWhatWasAcknowledged) {
  auto quota = std::make_shared<QuotaFs>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(quota);
  {
    auto j = open(false, env.get());
    ASSERT_NE(j, nullptr);
    for (int i = 0; i < 100; ++i)
      ASSERT_TRUE(j->append_put("k/" + std::to_string(i), "acked").ok());
    ASSERT_TRUE(synced(*j).ok());
    quota->budget = 0;  // The disk is full from here on.
    ASSERT_TRUE(j->append_put("k/lost", "never acknowledged").ok());
    const Status s = synced(*j);
    EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
    EXPECT_NE(s.message().find("journal " + dir_.string() + ": write: disk full"),
              std::string::npos)
        << s.message();
    // Nothing more is taken.
    EXPECT_EQ(j->append_put("k/after", "x").code(), StatusCode::kResourceExhausted);
    EXPECT_EQ(j->put("k/after", "x").code(), StatusCode::kResourceExhausted);
    quota->budget = INT64_MAX / 2;
  }
  auto j = open();
  ASSERT_NE(j, nullptr);
  int acked = 0;
  ASSERT_TRUE(
      j->scan("k/", [&](std::string_view, std::string_view v) { acked += v == "acked"; }).ok());
  EXPECT_EQ(acked, 100);
  EXPECT_EQ(j->get("k/lost").status().code(), StatusCode::kNotFound);
}

// ---- The audit chain ----------------------------------------------------------------------

void add_links(MemoryJournal& j, AuditChain& chain, int n) {
  for (int i = 0; i < n; ++i) {
    v1::AuditRecord r;
    r.set_time_us(1'700'000'000'000'000 + i);
    r.set_who("cq-0110-017");
    r.set_case_number("（2025）渝0110执1号");
    r.set_debtor("1101**********002X");
    r.set_purpose("enforcement query");
    r.set_action("query");
    r.set_connector("bank.icbc");
    r.set_request_id("（2025）渝0110执1号/query/" + std::to_string(i));
    const std::string key = chain.link(r);
    ASSERT_TRUE(j.put(key, r.SerializeAsString()).ok());
    ASSERT_TRUE(j.put(chain.head_key(), r.SerializeAsString()).ok());
  }
}

TEST(AuditTest, ChainVerifiesAndResumes) {
  MemoryJournal j;
  AuditChain chain(0);
  add_links(j, chain, 3);
  AuditChain resumed(0);  // A restarted engine continues the same chain.
  ASSERT_TRUE(resumed.resume(j).ok());
  EXPECT_EQ(resumed.next_seq(), 4u);
  add_links(j, resumed, 2);
  StatusOr<AuditVerdict> v = verify_audit(j);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->intact) << v->broken_key << ": " << v->reason;
  EXPECT_EQ(v->records, 5u);
  EXPECT_EQ(v->chains, 1u);
}

TEST(AuditTest, AlteredRecordIsTheFirstBrokenLink) {
  MemoryJournal j;
  AuditChain chain(1);
  add_links(j, chain, 5);
  const std::string key = "audit/1/0000000000000003";
  v1::AuditRecord r;
  ASSERT_TRUE(r.ParseFromString(*j.get(key)));
  r.set_debtor("5001**********1234");  // Someone rewrites who was looked up.
  ASSERT_TRUE(j.put(key, r.SerializeAsString()).ok());
  StatusOr<AuditVerdict> v = verify_audit(j);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->intact);
  EXPECT_EQ(v->broken_key, key);
  EXPECT_EQ(v->reason, "hash does not match the record's contents (the record was altered)");
  EXPECT_EQ(v->records, 2u);  // Links 1 and 2 checked out.
}

TEST(AuditTest, RemovedAndCutLinksAreCaught) {
  MemoryJournal j;
  AuditChain chain(0);
  add_links(j, chain, 4);
  ASSERT_TRUE(j.erase("audit/0/0000000000000002").ok());
  StatusOr<AuditVerdict> v = verify_audit(j);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->intact);
  EXPECT_EQ(v->broken_key, "audit/0/0000000000000003");
  EXPECT_EQ(v->reason.rfind("sequence 3 where 2 was expected", 0), 0u) << v->reason;

  MemoryJournal k;
  AuditChain c2(0);
  add_links(k, c2, 4);
  ASSERT_TRUE(k.erase("audit/0/0000000000000004").ok());  // The newest link cut off.
  v = verify_audit(k);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->intact);
  EXPECT_EQ(v->broken_key, "audit/0/head");
}

}  // namespace
}  // namespace chakong::engine
