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
// Opening: open() takes the journal's lock (RocksDB's LOCK file) before it reads or changes
// anything, and keeps it until the journal is destroyed, so a second opener (another process,
// or another RocksJournal in this one) is refused with kUnavailable and touches nothing. It
// creates a journal only when asked (`create_if_missing`), only in a missing or empty
// directory, and never deletes a table file: a table file RocksDB would drop as obsolete at
// open (e.g. one a crash left half-written) is moved to `<path>/lost/` instead.
//
// Damage: open() reads the log files itself (RocksDB's documented log format: 32 KiB blocks
// of checksummed records) and reports the first damaged record with its file and byte offset
// (kDataLoss). Only a torn final record of the newest log file (nothing valid follows it: a
// write a crash cut short, never acknowledged since a write is acknowledged after its sync) may
// be cut, and only when `truncate_corrupt_tail` is set. Damage anywhere else (a flipped bit or
// a zeroed hole with records after it, an older log file) is refused whatever the options,
// naming a backup as the remedy. RocksDB tracks synced log files in its manifest
// (track_and_verify_wals_in_manifest), so a rotated log that is missing or shorter than
// recorded is refused the same way; it then recovers with absolute consistency, so a damaged
// log is never silently skipped.
//
// The newest log: RocksDB records a log's size in the manifest only when the log is rotated,
// so the log being written when a crash came could be removed, or cut at a record boundary,
// without a trace. The journal keeps its own watermark for that: after every synced group the
// writer writes the group's last sequence number into <path>/CHAKONG-WATERMARK (one pwrite in
// place, no sync of its own: the file is written only after the group's sync returned, so it
// never claims more than the log holds, and a killed process loses nothing in the page cache).
// open() refuses a journal whose logs and tables end before its watermark (kDataLoss: the
// newest log was removed or cut), and a journal that lost its watermark file (a marker key
// written in a table file at creation says it had one). A journal from before the watermark
// gets one at its first open.
//
// Full disk: before each group the writer checks the free space of the journal's file system
// (statvfs); a group that would leave less than `reserve_bytes` is not written. Its callbacks
// and every later append get kResourceExhausted, the process goes on, and everything
// acknowledged before stays on disk. A real ENOSPC that still reaches RocksDB (reserve 0, or
// another process filling the disk) is reported the same way.
//
//   RocksJournalOptions options;
//   options.path = "/var/lib/chakong/journal";
//   options.create_if_missing = true;  // A new case server; omit to require an existing one.
//   CHAKONG_ASSIGN_OR_RETURN(std::unique_ptr<RocksJournal> journal, RocksJournal::open(options));
#ifndef CHAKONG_DURABLE_ROCKS_JOURNAL_H_
#define CHAKONG_DURABLE_ROCKS_JOURNAL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chakong/base/date.h"
#include "chakong/engine/journal.h"

namespace rocksdb {
class DB;
class Logger;
class Env;
class WriteBatch;
}  // namespace rocksdb

namespace chakong::engine {

struct RocksJournalOptions {
  std::string path;  // The journal's directory.
  // Create a new journal when `path` is missing or an empty directory. Without it, opening a
  // missing path or a directory without a journal (no CURRENT file) is an error.
  bool create_if_missing = false;
  // Open for reading only (chakong audit verify); writes fail with kFailedPrecondition.
  bool read_only = false;
  // Cut a torn final record of the newest log file instead of refusing to open.
  bool truncate_corrupt_tail = false;
  // The writer writes a group once it holds `group_size` changes, or when its first change
  // has waited `group_wait` µs (0: as soon as the previous group is synced).
  size_t group_size = 8192;
  TimeUs group_wait = 0;
  // Memtable size: at most this much log is replayed at a restart.
  size_t memtable_bytes = 16 << 20;
  // RocksDB's info log (`LOG`, warnings and errors) is rotated to `LOG.old` at this size.
  uint64_t info_log_bytes = 4 << 20;
  // Free space left on the journal's file system: a group that would leave less is refused
  // (kResourceExhausted) and so is an open for writing. The default leaves room for RocksDB's
  // own writes after the last group (a memtable flush, the manifest). 0: no reserve.
  uint64_t reserve_bytes = 64 << 20;
  // RocksDB environment (a fault-injecting one in tests); null: the default.
  rocksdb::Env* env = nullptr;
};

// A damaged record in the journal's write-ahead log.
struct JournalDamage {
  std::string file;     // Full path of the log file.
  uint64_t offset = 0;  // Byte offset of the first damaged record.
  uint64_t file_size = 0;
  bool newest = false;  // In the newest log file, or in an older one.
  // Nothing valid follows the damaged record: a torn final record (a write cut short).
  bool torn = false;
  std::string reason;  // "checksum mismatch", "truncated record", ...
  std::string to_string() const;
};

// Reads every write-ahead log file in `path`; the first damage found, or nullopt. Takes no
// lock: RocksJournal::open() and RocksJournal::check() call it under the journal's lock.
StatusOr<std::optional<JournalDamage>> inspect_journal_log(const std::string& path);

// What RocksJournal::check() found (`chakong journal check`).
struct JournalCheck {
  enum class Verdict { kIntact, kDamaged, kCannotOpen };
  Verdict verdict = Verdict::kCannotOpen;
  // One line: what was verified, or what is wrong (with the remedy).
  std::string message;
  std::string file;  // The damaged file, when known.
  std::optional<uint64_t> offset;
  std::optional<JournalDamage> truncated;  // What truncate_tail cut.
};

class RocksJournal final : public Journal {
 public:
  // Opens the journal at options.path (see above). kNotFound for a missing path or a
  // directory without a journal (unless create_if_missing); kDataLoss naming the file and
  // offset of damage, or a directory that lost its CURRENT file; kUnavailable when the
  // journal is locked by another opener; kResourceExhausted when the file system has less
  // free space than reserve_bytes (not for read_only); kInvalidArgument for bad options.
  [[nodiscard]] static StatusOr<std::unique_ptr<RocksJournal>> open(RocksJournalOptions options);
  // Verifies the whole journal at `path` under its lock: every log record (as open()) and
  // every block checksum of every table file (RocksDB's VerifyChecksum). Read-only, unless
  // `truncate_tail`: then it opens for writing and cuts a torn final record, as open() does.
  // kIntact, kDamaged (data loss: file and offset when known), or kCannotOpen (missing,
  // locked, not a journal).
  static JournalCheck check(const std::string& path, bool truncate_tail);
  // Writes what is queued, flushes the memtable into a table file (unless a write failed), so
  // the log holds nothing a lost or cut log file could take along, closes, and unlocks.
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
    // Watermark writes (or its sync at close) that failed: the check then lags, logged in LOG.
    uint64_t watermark_failures = 0;
  };
  Stats stats() const;
  const std::string& path() const { return options_.path; }
  // What open() cut from a damaged tail (nullopt when nothing).
  const std::optional<JournalDamage>& truncated() const { return truncated_; }
  // Table files open() moved to <path>/lost/ rather than let RocksDB delete them.
  std::vector<std::string> quarantined() const;
  // Checks every block checksum of every table file: kDataLoss naming the file and offset.
  Status verify_checksums() const;

 private:
  class Files;  // The file system RocksDB writes through (lock hand-over, no deletes at open).
  explicit RocksJournal(RocksJournalOptions options);
  static StatusOr<std::unique_ptr<RocksJournal>> open_impl(RocksJournalOptions options,
                                                           std::optional<JournalDamage>* found);
  // kResourceExhausted when writing `bytes` would leave less than reserve_bytes free.
  Status check_space(uint64_t bytes) const;
  template <typename Fill>
  Status queue(size_t n, const Fill& fill);
  // Waits until everything appended so far is durable (put/erase).
  Status wait_durable();
  void write_loop();
  Status convert(const void* rocks_status, std::string_view what) const;
  // Checks the watermark against what was recovered and opens it for writing (see above).
  Status open_watermark();
  // Writes a new journal's watermark file whole: aside, synced, renamed, directory synced.
  Status create_watermark_file(const std::string& file, uint64_t sequence);
  Status put_watermark_marker();
  void write_watermark(uint64_t sequence);
  void watermark_failed(const char* why);

  RocksJournalOptions options_;
  std::shared_ptr<Files> files_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::optional<JournalDamage> truncated_;
  int watermark_fd_ = -1;  // <path>/CHAKONG-WATERMARK, written by the writer thread only.
  std::atomic<uint64_t> watermark_failures_{0};
  std::shared_ptr<rocksdb::Logger> info_log_;  // LOG: where a failed watermark write is told.
  std::string newest_log_;  // The newest log file's name and size before RocksDB opened.
  uint64_t newest_log_size_ = 0;

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

#endif  // CHAKONG_DURABLE_ROCKS_JOURNAL_H_
