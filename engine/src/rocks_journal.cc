#include "chakong/engine/rocks_journal.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <boost/crc.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

namespace chakong::engine {
namespace {

namespace fs = std::filesystem;

TimeUs steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// RocksDB's write-ahead log format (db/log_format.h, stable since LevelDB): the file is a
// sequence of 32 KiB blocks; a block holds records, each a 7-byte header (masked CRC32C of
// type + payload, 16-bit length, type) and the payload; a logical record longer than a
// block's room is split into FIRST, MIDDLE..., LAST fragments; fewer than 7 bytes left at a
// block's end are zero padding. Recyclable records (types 5..8) add a 4-byte log number.
constexpr size_t kBlockSize = 32768;
constexpr size_t kHeaderSize = 7;
constexpr size_t kRecyclableHeaderSize = 11;
enum RecordType : uint8_t {
  kZero = 0,
  kFull = 1,
  kFirst = 2,
  kMiddle = 3,
  kLast = 4,
  kRecyclableFull = 5,
  kRecyclableLast = 8,
  kSetCompression = 9,
};

uint32_t unmask(uint32_t masked) {
  const uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

uint32_t crc32c(const char* data, size_t n) {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
  crc.process_bytes(data, n);
  return crc.checksum();
}

uint32_t load32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return u[0] | (u[1] << 8) | (u[2] << 16) | (static_cast<uint32_t>(u[3]) << 24);
}

bool all_zero(const std::string& s, size_t from) {
  return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(from), s.end(),
                     [](char ch) { return ch == 0; });
}

// The first damaged record of one log file, or nullopt.
std::optional<JournalDamage> inspect_file(const fs::path& file, const std::string& bytes) {
  auto damage = [&](uint64_t offset, std::string reason) {
    JournalDamage d;
    d.file = file.string();
    d.offset = offset;
    d.file_size = bytes.size();
    d.reason = std::move(reason);
    return std::optional<JournalDamage>(d);
  };
  size_t pos = 0;
  bool in_fragments = false;
  size_t record_start = 0;  // Where the logical record being read began.
  while (pos < bytes.size()) {
    const size_t left_in_block = kBlockSize - pos % kBlockSize;
    if (left_in_block < kHeaderSize) {
      // Block trailer: zero padding.
      const size_t end = std::min(bytes.size(), pos + left_in_block);
      for (size_t i = pos; i < end; ++i) {
        if (bytes[i] != 0) return damage(pos, "non-zero block trailer");
      }
      pos = end;
      continue;
    }
    const size_t start = pos;
    if (bytes.size() - pos < kHeaderSize) {
      if (all_zero(bytes, pos)) break;
      return damage(in_fragments ? record_start : start, "truncated record header");
    }
    const char* h = bytes.data() + pos;
    const uint32_t stored = load32(h);
    const size_t length =
        static_cast<unsigned char>(h[4]) | (static_cast<unsigned char>(h[5]) << 8);
    const uint8_t type = static_cast<uint8_t>(h[6]);
    if (type == kZero && length == 0 && stored == 0) {
      // Preallocated space: the log ends here if nothing but zeros follows.
      if (all_zero(bytes, pos)) break;
      return damage(in_fragments ? record_start : start, "zeroed record in the middle of the log");
    }
    const size_t header =
        type >= kRecyclableFull && type <= kRecyclableLast ? kRecyclableHeaderSize : kHeaderSize;
    if (type > kSetCompression) {
      return damage(in_fragments ? record_start : start,
                    "unknown record type " + std::to_string(type));
    }
    if (header + length > left_in_block) {
      return damage(in_fragments ? record_start : start, "record longer than its block");
    }
    if (pos + header + length > bytes.size()) {
      return damage(in_fragments ? record_start : start,
                    "truncated record (" + std::to_string(bytes.size() - pos) + " of " +
                        std::to_string(header + length) + " bytes)");
    }
    // The checksum covers the type byte, a recyclable header's log number, and the payload.
    const uint32_t actual = crc32c(h + 6, header - 6 + length);
    if (unmask(stored) != actual) {
      return damage(in_fragments ? record_start : start, "checksum mismatch");
    }
    const uint8_t base = type >= kRecyclableFull && type <= kRecyclableLast ? type - 4 : type;
    switch (base) {
      case kFull:
        if (in_fragments) return damage(record_start, "fragmented record not finished");
        break;
      case kFirst:
        if (in_fragments) return damage(record_start, "fragmented record not finished");
        in_fragments = true;
        record_start = start;
        break;
      case kMiddle:
        if (!in_fragments) return damage(start, "record fragment without a beginning");
        break;
      case kLast:
        if (!in_fragments) return damage(start, "record fragment without a beginning");
        in_fragments = false;
        break;
      default:  // kSetCompression: metadata.
        break;
    }
    pos += header + length;
  }
  if (in_fragments) return damage(record_start, "truncated record (last fragment missing)");
  return std::nullopt;
}

}  // namespace

std::string JournalDamage::to_string() const {
  return "journal log " + file + " is damaged at offset " + std::to_string(offset) + " of " +
         std::to_string(file_size) + ": " + reason;
}

StatusOr<std::optional<JournalDamage>> inspect_journal_log(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return std::optional<JournalDamage>();
  std::vector<fs::path> logs;
  for (const fs::directory_entry& e : fs::directory_iterator(path, ec)) {
    const std::string name = e.path().filename().string();
    // RocksDB names its write-ahead logs <number>.log (its info log is "LOG").
    if (e.is_regular_file() && name.size() > 4 && name.ends_with(".log") &&
        std::all_of(name.begin(), name.end() - 4, [](char ch) { return ch >= '0' && ch <= '9'; })) {
      logs.push_back(e.path());
    }
  }
  if (ec) return unavailable_error("journal " + path + ": cannot list: " + ec.message());
  std::sort(logs.begin(), logs.end(), [](const fs::path& a, const fs::path& b) {
    return std::stoull(a.stem().string()) < std::stoull(b.stem().string());
  });
  for (size_t i = 0; i < logs.size(); ++i) {
    std::ifstream in(logs[i], std::ios::binary);
    if (!in) return unavailable_error("journal: cannot read " + logs[i].string());
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::optional<JournalDamage> d = inspect_file(logs[i], bytes);
    if (d) {
      d->newest = i + 1 == logs.size();
      return d;
    }
  }
  return std::optional<JournalDamage>();
}

RocksJournal::RocksJournal(RocksJournalOptions options)
    : options_(std::move(options)), queued_(std::make_unique<rocksdb::WriteBatch>()) {}

Status RocksJournal::convert(const void* rocks_status, std::string_view what) const {
  const auto& s = *static_cast<const rocksdb::Status*>(rocks_status);
  if (s.ok()) return ok_status();
  const std::string where = "journal " + options_.path + ": " + std::string(what) + ": ";
  if (s.IsNoSpace()) {
    return resource_exhausted_error(where + "disk full (" + s.ToString() +
                                    "); changes after the last acknowledged one were not stored");
  }
  if (s.IsCorruption()) return data_loss_error(where + s.ToString());
  if (s.IsNotFound()) return not_found_error(where + s.ToString());
  if (s.IsInvalidArgument()) return invalid_argument_error(where + s.ToString());
  return unavailable_error(where + s.ToString());
}

StatusOr<std::unique_ptr<RocksJournal>> RocksJournal::open(RocksJournalOptions options) {
  if (options.path.empty()) return invalid_argument_error("journal path: must not be empty");
  if (options.group_size == 0) return invalid_argument_error("journal group_size: must be >= 1");
  std::unique_ptr<RocksJournal> j(new RocksJournal(std::move(options)));
  const RocksJournalOptions& o = j->options_;

  StatusOr<std::optional<JournalDamage>> damage = inspect_journal_log(o.path);
  if (!damage.ok()) return damage.status();
  if (damage->has_value()) {
    const JournalDamage& d = **damage;
    if (!o.truncate_corrupt_tail || o.read_only) {
      return data_loss_error(d.to_string() + (d.newest
                                                  ? "; the engine will not start on a damaged "
                                                    "journal: to drop the damaged tail, open it "
                                                    "with truncate_corrupt_tail "
                                                    "(chakong journal check --truncate-tail)"
                                                  : "; not the newest log file, so not a tail "
                                                    "that can be cut: restore from a backup"));
    }
    if (!d.newest) {
      return data_loss_error(d.to_string() +
                             "; not the newest log file, so not a tail that can be cut: restore "
                             "from a backup");
    }
    if (::truncate(d.file.c_str(), static_cast<off_t>(d.offset)) != 0) {
      return unavailable_error("journal: cannot truncate " + d.file + " at " +
                               std::to_string(d.offset));
    }
    j->truncated_ = d;
  }

  rocksdb::Options ro;
  ro.create_if_missing = true;
  ro.write_buffer_size = o.memtable_bytes;
  ro.wal_recovery_mode = rocksdb::WALRecoveryMode::kAbsoluteConsistency;
  ro.paranoid_checks = true;
  ro.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  ro.keep_log_file_num = 2;
  if (o.env != nullptr) ro.env = o.env;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = o.read_only ? rocksdb::DB::OpenForReadOnly(ro, o.path, &db)
                                  : rocksdb::DB::Open(ro, o.path, &db);
  if (!s.ok()) return j->convert(&s, "open");
  j->db_.reset(db);
  if (!o.read_only) j->writer_ = std::thread([raw = j.get()] { raw->write_loop(); });
  return j;
}

RocksJournal::~RocksJournal() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (db_ != nullptr) db_->Close().PermitUncheckedError();
}

// Queues `n` changes written into the batch by `fill`, all or none (a failure rolls the batch
// back to where it was), and wakes the writer.
template <typename Fill>
Status RocksJournal::queue(size_t n, const Fill& fill) {
  if (options_.read_only) {
    return failed_precondition_error("journal " + options_.path + " is open read-only");
  }
  if (n == 0) return ok_status();
  std::lock_guard<std::mutex> lock(mu_);
  if (!failed_.ok()) return failed_;
  queued_->SetSavePoint();
  rocksdb::Status s = fill(*queued_);
  if (!s.ok()) {
    queued_->RollbackToSavePoint().PermitUncheckedError();
    return convert(&s, "queue a change");
  }
  queued_->PopSavePoint().PermitUncheckedError();
  if (queued_changes_ == 0) first_queued_at_ = steady_us();
  queued_changes_ += n;
  appended_ += n;
  stats_.changes += n;
  if (queued_changes_ == n || queued_changes_ >= options_.group_size) work_cv_.notify_one();
  return ok_status();
}

Status RocksJournal::append_all(const std::vector<Change>& changes) {
  // Under one lock: the writer takes all of them into the same group or none.
  return queue(changes.size(), [&](rocksdb::WriteBatch& b) {
    for (const Change& c : changes) {
      rocksdb::Status s = c.erase ? b.Delete(c.key) : b.Put(c.key, c.value);
      if (!s.ok()) return s;
    }
    return rocksdb::Status::OK();
  });
}

Status RocksJournal::append_put(std::string_view key, std::string_view value) {
  return queue(1, [&](rocksdb::WriteBatch& b) {
    return b.Put(rocksdb::Slice(key.data(), key.size()),
                 rocksdb::Slice(value.data(), value.size()));
  });
}

Status RocksJournal::append_erase(std::string_view key) {
  return queue(
      1, [&](rocksdb::WriteBatch& b) { return b.Delete(rocksdb::Slice(key.data(), key.size())); });
}

void RocksJournal::sync(Done done) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!failed_.ok() || durable_ >= appended_) {
    const Status s = failed_;
    lock.unlock();
    done(s);
    return;
  }
  waiters_.push_back({appended_, std::move(done)});
}

Status RocksJournal::wait_durable() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t seq = appended_;
  done_cv_.wait(lock, [&] { return durable_ >= seq || !failed_.ok(); });
  return durable_ >= seq ? ok_status() : failed_;
}

Status RocksJournal::put(std::string_view key, std::string_view value) {
  CHAKONG_RETURN_IF_ERROR(append_put(key, value));
  return wait_durable();
}

Status RocksJournal::erase(std::string_view key) {
  CHAKONG_RETURN_IF_ERROR(append_erase(key));
  return wait_durable();
}

void RocksJournal::write_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stop_ || queued_changes_ > 0; });
    if (queued_changes_ == 0 && stop_) break;
    // Bounded wait for company: a small group may wait until its first change is
    // `group_wait` old.
    if (options_.group_wait > 0 && !stop_) {
      const TimeUs until = first_queued_at_ + options_.group_wait;
      while (!stop_ && queued_changes_ < options_.group_size && steady_us() < until) {
        work_cv_.wait_for(lock, std::chrono::microseconds(until - steady_us()));
      }
    }
    std::unique_ptr<rocksdb::WriteBatch> batch = std::move(queued_);
    queued_ = std::make_unique<rocksdb::WriteBatch>();
    const uint64_t seq = appended_;
    const uint64_t changes = queued_changes_;
    queued_changes_ = 0;
    lock.unlock();

    rocksdb::WriteOptions wo;
    wo.sync = true;
    rocksdb::Status s = db_->Write(wo, batch.get());
    const Status result = convert(&s, "write");

    lock.lock();
    ++stats_.groups;
    stats_.max_group = std::max(stats_.max_group, changes);
    if (result.ok()) {
      durable_ = seq;
    } else if (failed_.ok()) {
      failed_ = result;
    }
    std::vector<Waiter> ready;
    auto split = std::partition(waiters_.begin(), waiters_.end(), [&](const Waiter& w) {
      return !(w.seq <= durable_ || !failed_.ok());
    });
    std::move(split, waiters_.end(), std::back_inserter(ready));
    waiters_.erase(split, waiters_.end());
    const Status outcome = failed_;
    lock.unlock();
    done_cv_.notify_all();
    for (Waiter& w : ready) w.done(w.seq <= seq && result.ok() ? ok_status() : outcome);
    lock.lock();
  }
}

StatusOr<std::string> RocksJournal::get(std::string_view key) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return not_found_error("journal: no key '" + std::string(key) + "'");
  if (!s.ok()) return convert(&s, "read");
  return value;
}

Status RocksJournal::scan(std::string_view prefix, const Visitor& visit) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    const rocksdb::Slice k = it->key();
    const std::string_view key(k.data(), k.size());
    if (!key.starts_with(prefix)) break;
    const rocksdb::Slice v = it->value();
    visit(key, std::string_view(v.data(), v.size()));
  }
  rocksdb::Status s = it->status();
  return convert(&s, "scan");
}

RocksJournal::Stats RocksJournal::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace chakong::engine
