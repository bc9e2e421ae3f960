// RocksJournal: the durable Journal of case-server mode, on RocksDB.
//
// Every change goes through RocksDB's write-ahead log with a synced write before it counts
// as durable. One writer thread does the writing: append_put()/append_erase() queue changes
// in a WriteBatch, and the writer takes the whole queue as one group, writes it with
// sync = true and then calls every sync() callback that group covers. While a group is being
// synced the next one fills, so the cost of a sync (~0.2 ms here) is shared by every change
// made meanwhile. `group_wait` lets a small group wait a little for company (bounded);
// put()/erase() are an append plus a wait for its group.
//
// Recovery time stays bounded without an explicit snapshot step: the engine keeps state as
// keys (a record is rewritten when it changes), RocksDB flushes its memtable to a table file
// every `memtable_bytes` and drops the log it no longer needs, so a restart replays at most
// one memtable's worth of log and then reads the current records.
//
// Damage: open() first reads the log files itself (RocksDB's documented log format: 32 KiB
// blocks of checksummed records). A corrupt or truncated record is reported with the file
// and its byte offset, and open() fails (kDataLoss) unless `truncate_corrupt_tail` is set
// and the damage is in the newest log file: then the file is cut at that offset, the
// changes from there on (never acknowledged: a write is acknowledged only after its sync)
// are dropped, and the journal opens. RocksDB itself then opens with absolute-consistency
// log recovery, so a damaged log is never silently skipped.
//
// A full disk fails the write with kResourceExhausted ("journal /x: disk full: ..."); the
// group's callbacks get that error, later appends return it, and nothing acknowledged is lost.
//
//   RocksJournalOptions options;
//   options.path = "/var/lib/chakong/journal";
//   CHAKONG_ASSIGN_OR_RETURN(std::unique_ptr<RocksJournal> journal, RocksJournal::open(options));
#ifndef CHAKONG_ENGINE_ROCKS_JOURNAL_H_
#define CHAKONG_ENGINE_ROCKS_JOURNAL_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chakong/engine/date.h"
#include "chakong/engine/journal.h"

namespace rocksdb {
class DB;
class Env;
class WriteBatch;
}  // namespace rocksdb

namespace chakong::engine {

struct RocksJournalOptions {
  std::string path;  // A directory; created when missing.
  // Open for reading only (chakong audit verify); writes fail with kFailedPrecondition.
  bool read_only = false;
  // Cut a corrupt or truncated tail of the newest log file instead of refusing to open.
  bool truncate_corrupt_tail = false;
  // The writer writes a group once it holds `group_size` changes, or when its first change
  // has waited `group_wait` µs (0: as soon as the previous group is synced).
  size_t group_size = 8192;
  TimeUs group_wait = 0;
  // Memtable size: at most this much log is replayed at a restart.
  size_t memtable_bytes = 16 << 20;
  // RocksDB environment (a fault-injecting one in tests); null: the default.
  rocksdb::Env* env = nullptr;
};

// A damaged record in the journal's write-ahead log.
struct JournalDamage {
  std::string file;     // Full path of the log file.
  uint64_t offset = 0;  // Byte offset of the first damaged record.
  uint64_t file_size = 0;
  bool newest = false;  // In the newest log file (a tail), or in an older one.
  std::string reason;   // "checksum mismatch", "truncated record", ...
  std::string to_string() const;
};

// Reads every write-ahead log file in `path`; the first damage found, or nullopt.
StatusOr<std::optional<JournalDamage>> inspect_journal_log(const std::string& path);

class RocksJournal final : public Journal {
 public:
  // Opens (creating when missing) the journal at options.path. kDataLoss naming the file
  // and offset of a damaged log record (see above); kInvalidArgument for an empty path;
  // kUnavailable when RocksDB cannot open it (e.g. another process holds it).
  [[nodiscard]] static StatusOr<std::unique_ptr<RocksJournal>> open(RocksJournalOptions options);
  // Writes what is queued, then closes.
  ~RocksJournal() override;

  Status put(std::string_view key, std::string_view value) override;
  Status erase(std::string_view key) override;
  StatusOr<std::string> get(std::string_view key) const override;
  Status scan(std::string_view prefix, const Visitor& visit) const override;
  Status append_put(std::string_view key, std::string_view value) override;
  Status append_erase(std::string_view key) override;
  Status append_all(const std::vector<Change>& changes) override;
  void sync(Done done) override;

  struct Stats {
    uint64_t changes = 0;  // Appended (puts and erases).
    uint64_t groups = 0;   // Synced writes.
    uint64_t max_group = 0;
  };
  Stats stats() const;
  const std::string& path() const { return options_.path; }
  // What open() cut from a damaged tail (nullopt when nothing).
  const std::optional<JournalDamage>& truncated() const { return truncated_; }

 private:
  explicit RocksJournal(RocksJournalOptions options);
  template <typename Fill>
  Status queue(size_t n, const Fill& fill);
  // Waits until everything appended so far is durable (put/erase).
  Status wait_durable();
  void write_loop();
  Status convert(const void* rocks_status, std::string_view what) const;

  RocksJournalOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::optional<JournalDamage> truncated_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::unique_ptr<rocksdb::WriteBatch> queued_;
  uint64_t queued_changes_ = 0;
  TimeUs first_queued_at_ = 0;  // Steady-clock µs of the oldest queued change.
  uint64_t appended_ = 0;       // Changes appended so far (sequence of the last one).
  uint64_t durable_ = 0;        // Changes known durable.
  Status failed_;               // The first failed write; sticky.
  struct Waiter {
    uint64_t seq;
    Done done;
  };
  std::vector<Waiter> waiters_;
  Stats stats_;
  bool stop_ = false;
  std::thread writer_;
};

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_ROCKS_JOURNAL_H_
