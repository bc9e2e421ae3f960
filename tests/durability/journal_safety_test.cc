// What RocksJournal refuses (issue 15, items 5-9): damage that is not a torn final record, a
// journal another opener holds, a journal that is not there, a full disk; and what `chakong
// journal check` / `chakong audit verify` report about it (exit codes, --json). Real bytes are
// damaged in real log and table files; the full disk is a real tmpfs; the lock is held by a
// live journal.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <random>

#include "chakong/durable/rocks_journal.h"

namespace chakong::engine {
namespace {

namespace fs = std::filesystem;

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void write_at(const fs::path& file, uint64_t offset, const std::string& bytes) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Every file under `dir` (recursively) with its bytes. LOCK only by name: opening and closing
// it would drop this process's fcntl() lock on it (POSIX), which is what the tests hold.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    files[e.path().string()] =
        e.path().filename() == "LOCK" ? std::to_string(e.file_size()) : read_bytes(e.path());
  }
  return files;
}

// Every acknowledged key is in `j`; of the rest (a group the disk refused) at most `spare`.
void expect_acknowledged(RocksJournal& j, const std::vector<std::string>& acked, size_t spare) {
  size_t found = 0;
  ASSERT_TRUE(j.scan("k/", [&](std::string_view, std::string_view) { ++found; }).ok());
  for (const std::string& key : acked) EXPECT_TRUE(j.get(key).ok()) << key;
  EXPECT_GE(found, acked.size());
  EXPECT_LE(found, acked.size() + spare);
}

std::vector<fs::path> logs_in(const fs::path& dir) {
  std::vector<fs::path> logs;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".log") logs.push_back(e.path());
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

std::vector<fs::path> tables_in(const fs::path& dir) {
  std::vector<fs::path> tables;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".sst") tables.push_back(e.path());
  }
  std::sort(tables.begin(), tables.end());
  return tables;
}

// Runs the chakong CLI; its exit code and what it printed (stdout and stderr).
std::pair<int, std::string> cli(const std::string& args) {
  const std::string command = std::string(CHAKONG_CLI) + " " + args + " 2>&1";
  std::FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class JournalSafetyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("chakong-safety-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    fs::create_directories(base_);
    dir_ = base_ / "journal";
  }
  void TearDown() override { fs::remove_all(base_); }

  RocksJournalOptions options(const fs::path& dir) const {
    RocksJournalOptions o;
    o.path = dir.string();
    return o;
  }
  std::unique_ptr<RocksJournal> create(RocksJournalOptions o) {
    o.create_if_missing = true;
    StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(o);
    EXPECT_TRUE(j.ok()) << j.status().to_string();
    return j.ok() ? std::move(j).value() : nullptr;
  }

  // Three synced puts, the files copied to dir_ while the journal is open: the journal as a
  // crash during the third put's sync leaves it (a clean close moves every change into a table
  // file). The watermark is the one before the third put, since that put never returned: c may
  // or may not be in the log, and either is a journal the engine must open. The log file and
  // where each record starts.
  std::pair<fs::path, std::vector<uint64_t>> three_records() {
    const fs::path live = base_ / "live";
    auto j = create(options(live));
    if (j == nullptr) return {};
    std::vector<uint64_t> starts;
    std::string mark;
    for (const char* key : {"a", "b", "c"}) {
      starts.push_back(fs::file_size(logs_in(live).back()));
      mark = read_bytes(live / "CHAKONG-WATERMARK");
      EXPECT_TRUE(j->put(key, std::string(100, key[0])).ok());
    }
    const fs::path log = dir_ / logs_in(live).back().filename();
    fs::copy(live, dir_, fs::copy_options::recursive);
    write_at(dir_ / "CHAKONG-WATERMARK", 0, mark);
    j.reset();
    fs::remove_all(live);
    return {log, starts};
  }

  // A journal as Chakong 0.1 made it, before the watermark: RocksDB alone, holding case/1.
  bool make_older_journal() {
    rocksdb::Options ro;
    ro.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    if (!rocksdb::DB::Open(ro, dir_.string(), &raw).ok()) return false;
    std::unique_ptr<rocksdb::DB> db(raw);
    return db->Put(rocksdb::WriteOptions(), "case/1", "filed").ok();
  }

  fs::path base_;
  fs::path dir_;
};

// ---- 5. Only a torn final record is ever cut ----------------------------------------------

TEST_F(JournalSafetyTest, FlippedBitMidLogIsRefusedEvenWhenToldToCut) {
  const auto [log, starts] = three_records();
  ASSERT_FALSE(log.empty());
  write_at(log, starts[1] + 40, "X");  // Inside b's payload; c follows intact.
  const std::string before = read_bytes(log);
  RocksJournalOptions o = options(dir_);
  o.truncate_corrupt_tail = true;
  StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(o);
  ASSERT_EQ(j.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(j.status().message(),
            "journal log " + log.string() + " is damaged at offset " + std::to_string(starts[1]) +
                " of " + std::to_string(before.size()) +
                ": checksum mismatch; valid records follow it, so acknowledged changes are lost "
                "and it is not a tail that can be cut; restore the journal from a backup");
  EXPECT_EQ(read_bytes(log), before);  // Not cut.

  const JournalCheck c = RocksJournal::check(dir_.string(), /*truncate_tail=*/true);
  EXPECT_EQ(c.verdict, JournalCheck::Verdict::kDamaged);
  EXPECT_EQ(c.file, log.string());
  EXPECT_EQ(c.offset, starts[1]);
  EXPECT_FALSE(c.truncated.has_value());
  EXPECT_EQ(read_bytes(log), before);
}

TEST_F(JournalSafetyTest, ZeroFilledHoleIsRefusedEvenWhenToldToCut) {
  const auto [log, starts] = three_records();
  ASSERT_FALSE(log.empty());
  write_at(log, starts[1], std::string(starts[2] - starts[1], '\0'));  // b zeroed, c intact.
  const std::string before = read_bytes(log);
  RocksJournalOptions o = options(dir_);
  o.truncate_corrupt_tail = true;
  StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(o);
  ASSERT_EQ(j.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(j.status().message(),
            "journal log " + log.string() + " is damaged at offset " + std::to_string(starts[1]) +
                " of " + std::to_string(before.size()) +
                ": zeroed record in the middle of the log; valid records follow it, so "
                "acknowledged changes are lost and it is not a tail that can be cut; restore the "
                "journal from a backup");
  EXPECT_EQ(read_bytes(log), before);
}

TEST_F(JournalSafetyTest, TornFinalRecordIsCutOnlyWhenAsked) {
  const auto [log, starts] = three_records();
  ASSERT_FALSE(log.empty());
  const uint64_t size = fs::file_size(log);
  fs::resize_file(log, size - 30);  // c's write cut short by the crash.
  StatusOr<std::unique_ptr<RocksJournal>> refused = RocksJournal::open(options(dir_));
  ASSERT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(refused.status().message(),
            "journal log " + log.string() + " is damaged at offset " + std::to_string(starts[2]) +
                " of " + std::to_string(size - 30) + ": truncated record (" +
                std::to_string(size - 30 - starts[2]) + " of " + std::to_string(size - starts[2]) +
                " bytes); a torn final record (a write a crash cut short, never acknowledged): "
                "the engine will not start on it; to drop it, open with truncate_corrupt_tail "
                "(chakong journal check --truncate-tail)");
  const JournalCheck c = RocksJournal::check(dir_.string(), /*truncate_tail=*/true);
  ASSERT_EQ(c.verdict, JournalCheck::Verdict::kIntact) << c.message;
  ASSERT_TRUE(c.truncated.has_value());
  EXPECT_EQ(c.truncated->offset, starts[2]);
  auto j = RocksJournal::open(options(dir_));
  ASSERT_TRUE(j.ok()) << j.status().to_string();
  EXPECT_EQ(*(*j)->get("b"), std::string(100, 'b'));
  EXPECT_EQ((*j)->get("c").status().code(), StatusCode::kNotFound);
}

// Regression: a group larger than a 32 KiB block is written as fragments; a crash before its
// sync can leave its first fragment damaged and a later one intact. That later fragment was
// taken for "valid records follow", so a legitimately crashed journal was refused as one that
// lost acknowledged changes. Only a record that starts after the damage counts.
TEST_F(JournalSafetyTest, TornGroupWhoseLaterFragmentSurvivedIsStillATornTail) {
  const fs::path live = base_ / "live";
  auto j = create(options(live));
  ASSERT_NE(j, nullptr);
  ASSERT_TRUE(j->put("a", std::string(100, 'a')).ok());
  const uint64_t big_at = fs::file_size(logs_in(live).back());
  const std::string mark = read_bytes(live / "CHAKONG-WATERMARK");  // Before "big" returned.
  ASSERT_TRUE(j->put("big", std::string(40'000, 'x')).ok());        // Spans two blocks.
  const fs::path log = dir_ / logs_in(live).back().filename();
  fs::copy(live, dir_, fs::copy_options::recursive);
  write_at(dir_ / "CHAKONG-WATERMARK", 0, mark);
  j.reset();
  fs::remove_all(live);
  ASSERT_GT(fs::file_size(log), 32'768u + 1'000u);
  write_at(log, big_at + 200, "X");  // In the first fragment; the last one is intact.

  StatusOr<std::unique_ptr<RocksJournal>> refused = RocksJournal::open(options(dir_));
  ASSERT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(refused.status().message().find("a torn final record"), std::string::npos)
      << refused.status().message();
  RocksJournalOptions o = options(dir_);
  o.truncate_corrupt_tail = true;
  StatusOr<std::unique_ptr<RocksJournal>> cut = RocksJournal::open(o);
  ASSERT_TRUE(cut.ok()) << cut.status().to_string();
  ASSERT_TRUE((*cut)->truncated().has_value());
  EXPECT_EQ((*cut)->truncated()->offset, big_at);
  EXPECT_EQ(*(*cut)->get("a"), std::string(100, 'a'));
  EXPECT_EQ((*cut)->get("big").status().code(), StatusCode::kNotFound);
}

// A file system whose table files cannot be created until released: the memtable a full log
// filled stays unflushed, so the rotated log stays on disk, its synced size in the manifest.
class HeldTablesFs : public rocksdb::FileSystemWrapper {
 public:
  HeldTablesFs() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "HeldTablesFs"; }
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* out,
                                    rocksdb::IODebugContext* dbg) override {
    if (name.ends_with(".sst")) released_.wait();
    return target()->NewWritableFile(name, o, out, dbg);
  }
  void release() { release_.set_value(); }

 private:
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
};

class RotatedLogTest : public JournalSafetyTest {
 protected:
  // A crash image in dir_ with two logs, the older one (rotated, synced, not yet in a table
  // file) recorded in the manifest; that log and the record boundaries in it.
  std::pair<fs::path, std::vector<uint64_t>> rotated_log() {
    const fs::path live = base_ / "live";
    auto held = std::make_shared<HeldTablesFs>();
    std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(held);
    // Made first on the plain file system: creation writes the watermark's marker into a table
    // file, which the held file system would not let it do.
    if (create(options(live)) == nullptr) return {};
    RocksJournalOptions o = options(live);
    o.memtable_bytes = 64 << 10;
    o.env = env.get();
    StatusOr<std::unique_ptr<RocksJournal>> opened = RocksJournal::open(o);
    EXPECT_TRUE(opened.ok()) << opened.status().to_string();
    if (!opened.ok()) return {};
    std::unique_ptr<RocksJournal> j = std::move(opened).value();
    const fs::path first = logs_in(live).back();
    std::vector<uint64_t> boundaries;
    for (int i = 0; i < 1000 && logs_in(live).back() == first; ++i) {
      boundaries.push_back(fs::file_size(first));
      EXPECT_TRUE(j->put("k/" + std::to_string(i), std::string(1000, 'v')).ok());
    }
    EXPECT_NE(logs_in(live).back(), first);  // Rotated: a newer log took over.
    fs::copy(live, dir_, fs::copy_options::recursive);
    held->release();
    j.reset();
    return {dir_ / first.filename(), boundaries};
  }
};

TEST_F(RotatedLogTest, MissingLogFileIsRefused) {
  const auto [log, boundaries] = rotated_log();
  ASSERT_FALSE(log.empty());
  fs::remove(log);
  StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(options(dir_));
  ASSERT_EQ(j.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(j.status().message(),
            "journal log " + log.string() +
                " is missing: the manifest records it as synced and its changes are in no table "
                "file, so acknowledged changes are lost; restore the journal from a backup");
  const JournalCheck c = RocksJournal::check(dir_.string(), /*truncate_tail=*/true);
  EXPECT_EQ(c.verdict, JournalCheck::Verdict::kDamaged);
  EXPECT_EQ(c.file, log.string());
  EXPECT_FALSE(c.offset.has_value());
}

TEST_F(RotatedLogTest, LogCutAtARecordBoundaryIsRefused) {
  const auto [log, boundaries] = rotated_log();
  ASSERT_GE(boundaries.size(), 3u);
  const uint64_t synced = fs::file_size(log);
  const uint64_t cut = boundaries[boundaries.size() - 2];
  fs::resize_file(log, cut);  // Whole records gone: the log itself looks intact.
  StatusOr<std::optional<JournalDamage>> d = inspect_journal_log(dir_.string());
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->has_value());
  RocksJournalOptions o = options(dir_);
  o.truncate_corrupt_tail = true;
  StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(o);
  ASSERT_EQ(j.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(j.status().message(),
            "journal log " + log.string() + " ends at offset " + std::to_string(cut) +
                " but the manifest records " + std::to_string(synced) +
                " synced bytes: acknowledged changes from offset " + std::to_string(cut) +
                " on are lost; restore the journal from a backup");
  const JournalCheck c = RocksJournal::check(dir_.string(), /*truncate_tail=*/false);
  EXPECT_EQ(c.verdict, JournalCheck::Verdict::kDamaged);
  EXPECT_EQ(c.file, log.string());
  EXPECT_EQ(c.offset, cut);
}

// The newest log, which the manifest knows nothing about until it is rotated: the watermark.
// three_records() leaves the marker (sequence 1, in a table file) and a, b, c (2..4) in the log,
// a and b acknowledged (the watermark says 3).
TEST_F(JournalSafetyTest, NewestLogRemovedAfterACrashIsRefused) {
  const auto [log, starts] = three_records();
  ASSERT_FALSE(log.empty());
  fs::remove(log);
  StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(options(dir_));
  ASSERT_EQ(j.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(j.status().message(),
            "journal " + dir_.string() +
                " holds changes up to sequence 1 but changes up to sequence 3 were acknowledged (" +
                dir_.string() +
                "/CHAKONG-WATERMARK): the newest log file was removed or cut (no log file was "
                "left), so acknowledged changes are lost; restore the journal from a backup");
  const JournalCheck c = RocksJournal::check(dir_.string(), /*truncate_tail=*/true);
  EXPECT_EQ(c.verdict, JournalCheck::Verdict::kDamaged);
}

TEST_F(JournalSafetyTest, NewestLogCutAtARecordBoundaryAfterACrashIsRefused) {
  const auto [log, starts] = three_records();
  ASSERT_EQ(starts.size(), 3u);
  fs::resize_file(log, starts[1]);  // b (acknowledged) and c gone, whole records.
  StatusOr<std::optional<JournalDamage>> d = inspect_journal_log(dir_.string());
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->has_value());
  RocksJournalOptions o = options(dir_);
  o.truncate_corrupt_tail = true;
  StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(o);
  ASSERT_EQ(j.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(j.status().message(),
            "journal " + dir_.string() +
                " holds changes up to sequence 2 but changes up to sequence 3 were acknowledged (" +
                dir_.string() +
                "/CHAKONG-WATERMARK): the newest log file was removed or cut (the "
                "newest log file, " +
                log.string() + ", has " + std::to_string(starts[1]) +
                " bytes), so acknowledged changes are lost; restore the journal from a backup");
}

TEST_F(JournalSafetyTest, IntactCrashImageOpensWithEveryAcknowledgedChange) {
  const auto [log, starts] = three_records();
  ASSERT_FALSE(log.empty());
  StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(options(dir_));
  ASSERT_TRUE(j.ok()) << j.status().to_string();
  for (const char* key : {"a", "b", "c"}) EXPECT_EQ(*(*j)->get(key), std::string(100, key[0]));
}

TEST_F(JournalSafetyTest, LostOrDamagedWatermarkIsRefused) {
  {
    auto j = create(options(dir_));
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->put("case/1", "filed").ok());
  }
  const fs::path mark = dir_ / "CHAKONG-WATERMARK";
  const std::string bytes = read_bytes(mark);
  ASSERT_EQ(bytes.size(), 50u);
  write_at(mark, 25, "9");  // One digit changed: its checksum no longer matches.
  StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(options(dir_));
  ASSERT_EQ(j.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(j.status().message(),
            "journal watermark " + mark.string() +
                " is damaged (not a watermark this version writes); restore the journal from a "
                "backup");
  fs::remove(mark);
  j = RocksJournal::open(options(dir_));
  ASSERT_EQ(j.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(j.status().message(),
            "journal watermark " + mark.string() +
                " is missing although the journal was made with one, so a removed or cut newest "
                "log file cannot be ruled out; restore the journal from a backup");
}

TEST_F(JournalSafetyTest, JournalFromBeforeTheWatermarkGetsOneAtItsFirstOpen) {
  ASSERT_TRUE(make_older_journal());
  ASSERT_FALSE(fs::exists(dir_ / "CHAKONG-WATERMARK"));
  {
    StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(options(dir_));
    ASSERT_TRUE(j.ok()) << j.status().to_string();
    EXPECT_EQ(*(*j)->get("case/1"), "filed");
  }
  EXPECT_TRUE(fs::exists(dir_ / "CHAKONG-WATERMARK"));
  fs::remove(dir_ / "CHAKONG-WATERMARK");  // From now on it is required.
  EXPECT_EQ(RocksJournal::open(options(dir_)).status().code(), StatusCode::kDataLoss);
}

// What a crash while a journal is created can leave: the watermark file is written whole
// (aside, then renamed) before the marker that makes it required, so a crash leaves at worst a
// half-written aside file, or the file without the marker. Both open.
TEST_F(JournalSafetyTest, CrashWhileCreatingTheWatermarkLeavesAJournalThatOpens) {
  {
    auto j = create(options(dir_));
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->put("case/1", "filed").ok());
  }
  {  // The file and no marker: a crash between the rename and the marker's put.
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir_.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    ASSERT_TRUE(db->Delete(wo, "meta/watermark").ok());
  }
  std::ofstream(dir_ / "CHAKONG-WATERMARK.new") << "chakong-water";  // A torn aside file.
  {
    StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(options(dir_));
    ASSERT_TRUE(j.ok()) << j.status().to_string();
    EXPECT_EQ(*(*j)->get("case/1"), "filed");
  }
  EXPECT_EQ(read_bytes(dir_ / "CHAKONG-WATERMARK").size(), 50u);
  EXPECT_FALSE(fs::exists(dir_ / "CHAKONG-WATERMARK.new"));
  fs::remove(dir_ / "CHAKONG-WATERMARK");  // The marker is back: the file is required again.
  EXPECT_EQ(RocksJournal::open(options(dir_)).status().code(), StatusCode::kDataLoss);
}

TEST_F(JournalSafetyTest, TornAsideWatermarkBesideAnOlderJournalIsReplaced) {
  ASSERT_TRUE(make_older_journal());
  std::ofstream(dir_ / "CHAKONG-WATERMARK.new") << "chakong-water";
  {
    StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(options(dir_));
    ASSERT_TRUE(j.ok()) << j.status().to_string();
    EXPECT_EQ(*(*j)->get("case/1"), "filed");
  }
  EXPECT_FALSE(fs::exists(dir_ / "CHAKONG-WATERMARK.new"));
  EXPECT_EQ(read_bytes(dir_ / "CHAKONG-WATERMARK").size(), 50u);
}

// ---- 6. Nothing is touched before the lock is held ----------------------------------------

TEST_F(JournalSafetyTest, CheckOnALiveJournalRefusesAndChangesNothing) {
  auto live = create(options(dir_));
  ASSERT_NE(live, nullptr);
  ASSERT_TRUE(live->put("case/1", "filed").ok());
  const auto before = snapshot(dir_);

  StatusOr<std::unique_ptr<RocksJournal>> second = RocksJournal::open(options(dir_));
  ASSERT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(second.status().message().rfind(
                "journal " + dir_.string() +
                    " is locked: another process or another RocksJournal in this one has it "
                    "open; nothing was read or changed (",
                0),
            0u)
      << second.status().message();
  for (const bool truncate : {false, true}) {
    const JournalCheck c = RocksJournal::check(dir_.string(), truncate);
    EXPECT_EQ(c.verdict, JournalCheck::Verdict::kCannotOpen);
    EXPECT_EQ(c.message.rfind("journal " + dir_.string() + " is locked: ", 0), 0u) << c.message;
  }
  // Another process: RocksDB's lock file, held by this one.
  for (const char* flags : {"", "--truncate-tail", "--json"}) {
    const auto [code, out] = cli(std::string("journal check ") + flags + " " + dir_.string());
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find("journal " + dir_.string() + " is locked: "), std::string::npos) << out;
  }
  const auto [code, out] = cli("audit verify " + dir_.string());
  EXPECT_EQ(code, 2) << out;
  EXPECT_EQ(snapshot(dir_), before);
}

TEST_F(JournalSafetyTest, TruncateTailOfAHeldJournalCutsNothing) {
  const auto [log, starts] = three_records();
  ASSERT_FALSE(log.empty());
  fs::resize_file(log, fs::file_size(log) - 30);  // A torn tail: --truncate-tail would cut it.
  // Held as a live engine holds it (RocksDB's lock file, this process).
  rocksdb::FileLock* lock = nullptr;
  ASSERT_TRUE(rocksdb::Env::Default()->LockFile((dir_ / "LOCK").string(), &lock).ok());
  const auto before = snapshot(dir_);
  const auto [code, out] = cli("journal check --truncate-tail " + dir_.string());
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find(" is locked: "), std::string::npos) << out;
  EXPECT_EQ(snapshot(dir_), before);
  ASSERT_TRUE(rocksdb::Env::Default()->UnlockFile(lock).ok());
  // Released, the same command cuts the torn record, and only it.
  const auto [code2, out2] = cli("journal check --truncate-tail " + dir_.string());
  EXPECT_EQ(code2, 0) << out2;
  EXPECT_EQ(out2.rfind("cut " + log.string() + " at offset " + std::to_string(starts[2]), 0), 0u)
      << out2;
  auto j = RocksJournal::open(options(dir_));
  ASSERT_TRUE(j.ok()) << j.status().to_string();
  EXPECT_EQ(*(*j)->get("b"), std::string(100, 'b'));
  EXPECT_EQ((*j)->get("c").status().code(), StatusCode::kNotFound);
}

// ---- 7. Opening never creates silently, never deletes a table file ------------------------

// RocksDB's info log is bounded: a LOG at its bound becomes LOG.old (replacing the one before)
// when the journal opens, so a long-lived journal's directory does not grow with log text.
TEST_F(JournalSafetyTest, InfoLogIsRotatedAtItsBound) {
  RocksJournalOptions o = options(dir_);
  o.info_log_bytes = 4096;
  create(o).reset();
  write_bytes(dir_ / "LOG.old", "older");
  const std::string full(5000, 'x');
  write_bytes(dir_ / "LOG", full);
  auto j = RocksJournal::open(o);
  ASSERT_TRUE(j.ok()) << j.status().to_string();
  EXPECT_EQ(read_bytes(dir_ / "LOG.old"), full);
  EXPECT_LT(fs::file_size(dir_ / "LOG"), 4096u);
  j.value().reset();
  // Below the bound it is kept and appended to.
  write_bytes(dir_ / "LOG", "short\n");
  ASSERT_TRUE(RocksJournal::open(o).ok());
  EXPECT_EQ(read_bytes(dir_ / "LOG").substr(0, 6), "short\n");
  EXPECT_EQ(read_bytes(dir_ / "LOG.old"), full);
}

TEST_F(JournalSafetyTest, MissingPathIsAnErrorUnlessCreationIsAsked) {
  StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(options(dir_));
  ASSERT_EQ(j.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(j.status().message(), "journal " + dir_.string() +
                                      ": no such directory; to start a new journal there, open "
                                      "it with create_if_missing");
  EXPECT_FALSE(fs::exists(dir_));
  RocksJournalOptions ro = options(dir_);
  ro.read_only = true;
  ro.create_if_missing = true;  // Never for a read-only open.
  EXPECT_EQ(RocksJournal::open(ro).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_));
  EXPECT_NE(create(options(dir_)), nullptr);
  EXPECT_TRUE(fs::exists(dir_ / "CURRENT"));
}

TEST_F(JournalSafetyTest, DirectoryWithoutCurrentIsAnErrorUnlessCreationIsAsked) {
  fs::create_directories(dir_);
  StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(options(dir_));
  ASSERT_EQ(j.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(j.status().message(), "journal " + dir_.string() +
                                      ": no journal there (no CURRENT file); to start a new "
                                      "journal there, open it with create_if_missing");
  EXPECT_TRUE(fs::is_empty(dir_));
  { std::ofstream(dir_ / "notes.txt") << "not a journal"; }
  RocksJournalOptions o = options(dir_);
  o.create_if_missing = true;
  j = RocksJournal::open(o);
  ASSERT_EQ(j.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(j.status().message(), "journal " + dir_.string() +
                                      ": not a journal (no CURRENT file) and not empty "
                                      "(notes.txt): no journal is created over it");
}

TEST_F(JournalSafetyTest, JournalThatLostItsCurrentIsNeverCreatedOver) {
  {
    auto j = create(options(dir_));
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->put("case/1", "filed").ok());
  }  // A clean close: the change is in a table file.
  ASSERT_FALSE(tables_in(dir_).empty());
  fs::remove(dir_ / "CURRENT");
  const auto before = snapshot(dir_);
  RocksJournalOptions o = options(dir_);
  o.create_if_missing = true;
  StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(o);
  ASSERT_EQ(j.status().code(), StatusCode::kDataLoss);
  // The first of its log and table files by name (the marker's table file, from creation).
  const std::string held = std::min(logs_in(dir_).front().filename().string(),
                                    tables_in(dir_).front().filename().string());
  EXPECT_EQ(j.status().message(), "journal " + dir_.string() + " has no CURRENT file but holds " +
                                      held +
                                      ": the journal is damaged (it is never created over); "
                                      "restore the journal from a backup");
  EXPECT_EQ(snapshot(dir_), before);
}

TEST_F(JournalSafetyTest, OpenMovesATableFileItWouldDeleteToLost) {
  {
    auto j = create(options(dir_));
    ASSERT_NE(j, nullptr);
    ASSERT_TRUE(j->put("case/1", "filed").ok());
  }
  ASSERT_FALSE(tables_in(dir_).empty());
  // A table file the manifest does not list (a stale manifest, or a flush a crash cut short):
  // RocksDB drops it as obsolete at open.
  const fs::path stray = dir_ / "000002.sst";
  fs::copy_file(tables_in(dir_).front(), stray);
  const std::string bytes = read_bytes(stray);
  auto j = RocksJournal::open(options(dir_));
  ASSERT_TRUE(j.ok()) << j.status().to_string();
  EXPECT_EQ((*j)->quarantined(), std::vector<std::string>{(dir_ / "lost" / "000002.sst").string()});
  EXPECT_FALSE(fs::exists(stray));
  EXPECT_EQ(read_bytes(dir_ / "lost" / "000002.sst"), bytes);
  EXPECT_EQ(*(*j)->get("case/1"), "filed");
}

// ---- 8. A full disk, for real ---------------------------------------------------------------

// A 4 MiB tmpfs mounted for one test, unmounted after.
class SmallDisk {
 public:
  explicit SmallDisk(const fs::path& at) : at_(at) {
    fs::create_directories(at_);
    if (::mount("tmpfs", at_.c_str(), "tmpfs", 0, "size=4m") == 0) {
      mounted_ = true;
    } else {
      error_ = std::string("mount -t tmpfs -o size=4m tmpfs ") + at_.string() + ": " +
               std::strerror(errno);
    }
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  uint64_t free_bytes() const {
    struct statvfs st {};
    ::statvfs(at_.c_str(), &st);
    return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  }

 private:
  fs::path at_;
  bool mounted_ = false;
  std::string error_;
};

std::string random_value(std::mt19937_64& rng) {
  std::string v(4000, '\0');
  for (char& ch : v) ch = static_cast<char>(rng());
  return v;
}

// Appends groups of 8 changes and syncs each until a sync fails; the keys acknowledged and
// the failed sync's status (three callers waiting on it).
std::pair<std::vector<std::string>, Status> fill(RocksJournal& j) {
  std::mt19937_64 rng(15);
  std::vector<std::string> acked;
  for (int group = 0; group < 10'000; ++group) {
    std::vector<std::string> keys;
    for (int i = 0; i < 8; ++i) {
      keys.push_back("k/" + std::to_string(group) + "/" + std::to_string(i));
      const Status s = j.append_put(keys.back(), random_value(rng));
      if (!s.ok()) return {acked, s};
    }
    std::vector<std::promise<Status>> waiting(3);
    for (auto& p : waiting) j.sync([&p](Status s) { p.set_value(std::move(s)); });
    std::vector<Status> got;
    for (auto& p : waiting) got.push_back(p.get_future().get());
    if (!got[0].ok()) {
      for (const Status& s : got) EXPECT_EQ(s.code(), got[0].code()) << s.message();
      return {acked, got[0]};
    }
    acked.insert(acked.end(), keys.begin(), keys.end());
  }
  return {acked, ok_status()};
}

TEST_F(JournalSafetyTest, ReserveRefusesWritesBeforeARealDiskIsFull) {
  SmallDisk disk(base_ / "disk");
  if (!disk.mounted()) GTEST_SKIP() << "no real small disk: " << disk.error();
  const fs::path dir = base_ / "disk" / "journal";
  RocksJournalOptions o = options(dir);
  o.reserve_bytes = 1 << 20;
  o.memtable_bytes = 64 << 20;  // No flush: the log alone fills the disk.
  std::vector<std::string> acked;
  {
    auto j = create(o);
    ASSERT_NE(j, nullptr);
    const auto [keys, failed] = fill(*j);
    acked = keys;
    ASSERT_EQ(failed.code(), StatusCode::kResourceExhausted) << failed.message();
    EXPECT_EQ(failed.message().rfind("journal " + dir.string() + ": disk nearly full: ", 0), 0u)
        << failed.message();
    EXPECT_NE(failed.message().find(" bytes free, less than the reserve of 1048576 bytes "
                                    "(reserve_bytes) plus "),
              std::string::npos)
        << failed.message();
    EXPECT_GT(acked.size(), 100u);
    // Refused before the disk was full, and from then on.
    EXPECT_GE(disk.free_bytes(), 512u << 10);
    EXPECT_EQ(j->append_put("k/after", "x").code(), StatusCode::kResourceExhausted);
    EXPECT_EQ(j->put("k/after", "x").code(), StatusCode::kResourceExhausted);
  }
  // An open for writing on the nearly full disk is refused too; reading works.
  EXPECT_EQ(RocksJournal::open(o).status().code(), StatusCode::kResourceExhausted);
  o.read_only = true;
  auto j = RocksJournal::open(o);
  ASSERT_TRUE(j.ok()) << j.status().to_string();
  // The writer may have split the refused group, writing its first part.
  expect_acknowledged(**j, acked, 7);
}

TEST_F(JournalSafetyTest, RealEnospcWithoutReserveFailsTheGroupAndTheProcessLives) {
  SmallDisk disk(base_ / "disk");
  if (!disk.mounted()) GTEST_SKIP() << "no real small disk: " << disk.error();
  const fs::path dir = base_ / "disk" / "journal";
  RocksJournalOptions o = options(dir);
  o.reserve_bytes = 0;  // RocksDB meets ENOSPC itself.
  o.memtable_bytes = 64 << 20;
  std::vector<std::string> acked;
  {
    auto j = create(o);
    ASSERT_NE(j, nullptr);
    const auto [keys, failed] = fill(*j);
    acked = keys;
    ASSERT_EQ(failed.code(), StatusCode::kResourceExhausted) << failed.message();
    EXPECT_EQ(failed.message().rfind("journal " + dir.string() + ": write: disk full (", 0), 0u)
        << failed.message();
    EXPECT_EQ(j->append_put("k/after", "x").code(), StatusCode::kResourceExhausted);
  }  // Closed on a full disk: still alive.
  // Everything acknowledged is there (the group the disk refused is a torn tail at most).
  const fs::path copy = base_ / "copy";
  fs::copy(dir, copy, fs::copy_options::recursive);
  RocksJournalOptions c = options(copy);
  c.truncate_corrupt_tail = true;
  auto j = RocksJournal::open(c);
  ASSERT_TRUE(j.ok()) << j.status().to_string();
  expect_acknowledged(**j, acked, 7);
}

// ---- 9. journal check verifies the whole store; exit codes and --json ----------------------

TEST_F(JournalSafetyTest, CheckVerifiesEveryTableBlock) {
  {
    auto j = create(options(dir_));
    ASSERT_NE(j, nullptr);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(j->put("case/" + std::to_string(i), "v").ok());
  }
  ASSERT_EQ(tables_in(dir_).size(), 2u);  // The watermark's marker, then the hundred cases.
  const fs::path table = tables_in(dir_).back();
  {
    const auto [code, out] = cli("journal check " + dir_.string());
    EXPECT_EQ(code, 0) << out;
    EXPECT_EQ(out, "journal " + dir_.string() +
                       ": intact (1 log and 2 table files, every record and block checksum "
                       "verified)\n");
  }
  write_at(table, 20, "\x5a\xa5");  // Inside the first data block; the log is intact.
  const JournalCheck c = RocksJournal::check(dir_.string(), false);
  ASSERT_EQ(c.verdict, JournalCheck::Verdict::kDamaged);
  EXPECT_EQ(c.file, table.string());
  EXPECT_EQ(c.offset, 0u);
  EXPECT_EQ(
      c.message.rfind("journal table file " + table.string() + " is damaged at offset 0 (", 0), 0u)
      << c.message;
  EXPECT_TRUE(c.message.ends_with("); restore the journal from a backup")) << c.message;
  const auto [code, out] = cli("journal check " + dir_.string());
  EXPECT_EQ(code, 1) << out;
  EXPECT_EQ(out, c.message + "\n");
  const auto [jcode, json] = cli("journal check --json " + dir_.string());
  EXPECT_EQ(jcode, 1) << json;
  EXPECT_EQ(json.rfind("{\"path\": \"" + dir_.string() +
                           "\", \"status\": \"damaged\", "
                           "\"message\": \"journal table file ",
                       0),
            0u)
      << json;
  EXPECT_TRUE(json.ends_with("\"file\": \"" + table.string() + "\", \"offset\": 0}\n")) << json;
}

TEST_F(JournalSafetyTest, CheckAndVerifyExitCodes) {
  // Cannot open: 2.
  auto [code, out] = cli("journal check --json " + dir_.string());
  EXPECT_EQ(code, 2) << out;
  EXPECT_EQ(out, "{\"path\": \"" + dir_.string() +
                     "\", \"status\": \"cannot_open\", \"message\": \"journal " + dir_.string() +
                     ": no such directory; to start a new journal there, open it with "
                     "create_if_missing\"}\n");
  std::tie(code, out) = cli("audit verify " + dir_.string());
  EXPECT_EQ(code, 2) << out;
  EXPECT_FALSE(fs::exists(dir_));
  // Intact: 0.
  { ASSERT_NE(create(options(dir_)), nullptr); }
  std::tie(code, out) = cli("audit verify --json " + dir_.string());
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "{\"path\": \"" + dir_.string() +
                     "\", \"status\": \"intact\", \"message\": \"audit chain intact: 0 links in 0 "
                     "chains verified\", \"links\": 0, \"chains\": 0}\n");
  // Damaged: 1, for both.
  fs::remove_all(dir_);
  const auto [log, starts] = three_records();
  write_at(log, starts[1] + 40, "X");
  std::tie(code, out) = cli("audit verify " + dir_.string());
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("is damaged at offset " + std::to_string(starts[1])), std::string::npos)
      << out;
  std::tie(code, out) = cli("journal check --json " + dir_.string());
  EXPECT_EQ(code, 1) << out;
  EXPECT_TRUE(out.ends_with("\"file\": \"" + log.string() +
                            "\", \"offset\": " + std::to_string(starts[1]) + "}\n"))
      << out;
}

}  // namespace
}  // namespace chakong::engine
