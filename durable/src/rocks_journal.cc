#include "chakong/durable/rocks_journal.h"

#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <boost/crc.hpp>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

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
  kRecyclableFirst = 6,
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

// Whether a well-formed physical record (header, length within its block and the file,
// checksum) starts at `pos`.
bool valid_record_at(const std::string& bytes, size_t pos) {
  const size_t left_in_block = kBlockSize - pos % kBlockSize;
  if (left_in_block < kHeaderSize || bytes.size() - pos < kHeaderSize) return false;
  const char* h = bytes.data() + pos;
  const uint8_t type = static_cast<uint8_t>(h[6]);
  if (type == kZero || type > kSetCompression) return false;
  const size_t length = static_cast<unsigned char>(h[4]) | (static_cast<unsigned char>(h[5]) << 8);
  const size_t header =
      type >= kRecyclableFull && type <= kRecyclableLast ? kRecyclableHeaderSize : kHeaderSize;
  if (header + length > left_in_block || pos + header + length > bytes.size()) return false;
  return unmask(load32(h)) == crc32c(h + 6, header - 6 + length);
}

// Whether a well-formed physical record that starts a new logical record (a whole one or the
// first fragment of one) is at `pos`. A later fragment of the damaged record does not count:
// one group written across several blocks and cut by a crash before its sync can leave a
// good fragment after a bad one.
bool record_starts_at(const std::string& bytes, size_t pos) {
  if (!valid_record_at(bytes, pos)) return false;
  const uint8_t type = static_cast<uint8_t>(bytes[pos + 6]);
  return type == kFull || type == kFirst || type == kRecyclableFull || type == kRecyclableFirst;
}

// The first damaged record of one log file, or nullopt. `torn`: no valid record starts after
// the bad one anywhere in the file (every offset is tried, since a damaged length cannot be
// trusted to find the next record), so it is the final record, cut short or half-written.
std::optional<JournalDamage> inspect_file(const fs::path& file, const std::string& bytes) {
  auto damage = [&](uint64_t offset, std::string reason, size_t bad_at) {
    JournalDamage d;
    d.file = file.string();
    d.offset = offset;
    d.file_size = bytes.size();
    d.reason = std::move(reason);
    d.torn = true;
    for (size_t p = bad_at + 1; p < bytes.size(); ++p) {
      if (record_starts_at(bytes, p)) {
        d.torn = false;
        break;
      }
    }
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
        if (bytes[i] != 0) return damage(pos, "non-zero block trailer", pos);
      }
      pos = end;
      continue;
    }
    const size_t start = pos;
    if (bytes.size() - pos < kHeaderSize) {
      if (all_zero(bytes, pos)) break;
      return damage(in_fragments ? record_start : start, "truncated record header", start);
    }
    const char* h = bytes.data() + pos;
    const uint32_t stored = load32(h);
    const size_t length =
        static_cast<unsigned char>(h[4]) | (static_cast<unsigned char>(h[5]) << 8);
    const uint8_t type = static_cast<uint8_t>(h[6]);
    if (type == kZero && length == 0 && stored == 0) {
      // Preallocated space: the log ends here if nothing but zeros follows.
      if (all_zero(bytes, pos)) break;
      return damage(in_fragments ? record_start : start, "zeroed record in the middle of the log",
                    start);
    }
    const size_t header =
        type >= kRecyclableFull && type <= kRecyclableLast ? kRecyclableHeaderSize : kHeaderSize;
    if (type > kSetCompression) {
      return damage(in_fragments ? record_start : start,
                    "unknown record type " + std::to_string(type), start);
    }
    if (header + length > left_in_block) {
      return damage(in_fragments ? record_start : start, "record longer than its block", start);
    }
    if (pos + header + length > bytes.size()) {
      return damage(in_fragments ? record_start : start,
                    "truncated record (" + std::to_string(bytes.size() - pos) + " of " +
                        std::to_string(header + length) + " bytes)",
                    start);
    }
    // The checksum covers the type byte, a recyclable header's log number, and the payload.
    const uint32_t actual = crc32c(h + 6, header - 6 + length);
    if (unmask(stored) != actual) {
      return damage(in_fragments ? record_start : start, "checksum mismatch", start);
    }
    const uint8_t base = type >= kRecyclableFull && type <= kRecyclableLast ? type - 4 : type;
    switch (base) {
      case kFull:
        if (in_fragments)
          return damage(record_start, "fragmented record not finished", record_start);
        break;
      case kFirst:
        if (in_fragments)
          return damage(record_start, "fragmented record not finished", record_start);
        in_fragments = true;
        record_start = start;
        break;
      case kMiddle:
        if (!in_fragments) return damage(start, "record fragment without a beginning", start - 1);
        break;
      case kLast:
        if (!in_fragments) return damage(start, "record fragment without a beginning", start - 1);
        in_fragments = false;
        break;
      default:  // kSetCompression: metadata.
        break;
    }
    pos += header + length;
  }
  if (in_fragments) {
    return damage(record_start, "truncated record (last fragment missing)", bytes.size());
  }
  return std::nullopt;
}

}  // namespace

std::string JournalDamage::to_string() const {
  return "journal log " + file + " is damaged at offset " + std::to_string(offset) + " of " +
         std::to_string(file_size) + ": " + reason;
}

namespace {

// RocksDB's info log. Its own logger asserts (aborts the process) once a write to LOG has
// failed, which a full disk does first; this one drops what it cannot write.
// RocksDB's info log, kept bounded: WARN and above go to `<journal>/LOG`; when it reaches
// `max_bytes` it becomes `LOG.old` (replacing the one before) and a new `LOG` starts, so the
// journal's directory never holds more than twice the bound of log text. A line that cannot be
// written is dropped (RocksDB's own logger asserts on a failed write; a full disk must not abort).
// With an empty path (a read-only open) lines go to stderr.
class InfoLog final : public rocksdb::Logger {
 public:
  InfoLog(std::string path, uint64_t max_bytes, rocksdb::InfoLogLevel level)
      : rocksdb::Logger(level), path_(std::move(path)), max_bytes_(max_bytes) {
    if (!path_.empty()) open_file();
  }
  ~InfoLog() override {
    if (out_ != nullptr && out_ != stderr) std::fclose(out_);
  }
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char when[32];
    std::strftime(when, sizeof(when), "%Y/%m/%d-%H:%M:%S ", &tm);
    std::lock_guard<std::mutex> lock(mu_);
    if (!path_.empty() && written_ >= max_bytes_) rotate();
    if (out_ == nullptr) return;
    const int a = std::fputs(when, out_);
    const int b = std::vfprintf(out_, format, ap);
    std::fputc('\n', out_);
    std::fflush(out_);
    if (a >= 0 && b >= 0) written_ += std::strlen(when) + static_cast<uint64_t>(b) + 1;
  }

 private:
  void open_file() {
    std::error_code ec;
    const uintmax_t size = fs::file_size(path_, ec);
    written_ = ec ? 0 : size;
    if (written_ >= max_bytes_) {
      rotate();
      return;
    }
    out_ = std::fopen(path_.c_str(), "a");
  }
  void rotate() {
    if (out_ != nullptr) std::fclose(out_);
    out_ = nullptr;
    std::error_code ec;
    fs::rename(path_, path_ + ".old", ec);
    out_ = std::fopen(path_.c_str(), "w");
    written_ = 0;
  }

  std::mutex mu_;
  const std::string path_;
  const uint64_t max_bytes_;
  std::FILE* out_ = stderr;
  uint64_t written_ = 0;
};

class HeldLock final : public rocksdb::FileLock {};

bool is_table_file(const std::string& name) {
  return name.ends_with(".sst") || name.ends_with(".ldb");
}

// The watermark: the sequence number of the last synced group, and the key whose presence in
// a table file says the journal has one.
constexpr const char* kWatermarkFile = "CHAKONG-WATERMARK";
constexpr const char* kWatermarkKey = "meta/watermark";
// "chakong-watermark 1 <20 digits> <8 hex digits of the digits' CRC-32C>\n": fixed width, so
// each write overwrites the last in place.
constexpr size_t kWatermarkSize = 50;

std::string watermark_text(uint64_t sequence) {
  char digits[21];
  std::snprintf(digits, sizeof(digits), "%020llu", static_cast<unsigned long long>(sequence));
  char text[kWatermarkSize + 1];
  std::snprintf(text, sizeof(text), "chakong-watermark 1 %s %08x\n", digits, crc32c(digits, 20));
  return std::string(text, kWatermarkSize);
}

std::optional<uint64_t> parse_watermark(const std::string& text) {
  if (text.size() != kWatermarkSize || !text.starts_with("chakong-watermark 1 ") ||
      text[40] != ' ' || text[49] != '\n') {
    return std::nullopt;
  }
  const std::string digits = text.substr(20, 20);
  if (digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  unsigned int crc = 0;
  if (std::sscanf(text.c_str() + 41, "%8x", &crc) != 1 || crc != crc32c(digits.data(), 20)) {
    return std::nullopt;
  }
  return std::stoull(digits);
}

}  // namespace

// The file system RocksDB works through. open() takes the journal's lock itself, before it
// reads the log, and hands it to RocksDB (whose own LockFile() would fail against it), so no
// other opener can come between the check and the open. While RocksDB opens, a table file it
// would delete as obsolete is moved to <path>/lost/ instead: after a crash such a file is
// usually half-written garbage, but it may be the only copy of data a stale manifest forgot.
class RocksJournal::Files final : public rocksdb::FileSystemWrapper {
 public:
  Files(const std::shared_ptr<rocksdb::FileSystem>& base, std::string dir)
      : FileSystemWrapper(base), dir_(std::move(dir)) {}
  const char* Name() const override { return "ChakongJournalFiles"; }

  Status lock() {
    rocksdb::IOStatus s = target()->LockFile(lock_name(), rocksdb::IOOptions(), &lock_, nullptr);
    if (s.ok()) return ok_status();
    lock_ = nullptr;
    return unavailable_error("journal " + dir_ +
                             " is locked: another process or another RocksJournal in this one "
                             "has it open; nothing was read or changed (" +
                             s.ToString() + ")");
  }
  void unlock() {
    if (lock_ != nullptr) target()->UnlockFile(lock_, rocksdb::IOOptions(), nullptr).ok();
    lock_ = nullptr;
  }
  void set_opening(bool opening) {
    std::lock_guard<std::mutex> lock(mu_);
    opening_ = opening;
  }
  std::vector<std::string> quarantined() const {
    std::lock_guard<std::mutex> lock(mu_);
    return quarantined_;
  }

  rocksdb::IOStatus LockFile(const std::string& name, const rocksdb::IOOptions& o,
                             rocksdb::FileLock** out, rocksdb::IODebugContext* dbg) override {
    if (lock_ != nullptr && fs::path(name).filename() == "LOCK") {
      *out = new HeldLock();
      return rocksdb::IOStatus::OK();
    }
    return target()->LockFile(name, o, out, dbg);
  }
  rocksdb::IOStatus UnlockFile(rocksdb::FileLock* l, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override {
    if (dynamic_cast<HeldLock*>(l) != nullptr) {
      delete l;
      return rocksdb::IOStatus::OK();
    }
    return target()->UnlockFile(l, o, dbg);
  }
  rocksdb::IOStatus DeleteFile(const std::string& name, const rocksdb::IOOptions& o,
                               rocksdb::IODebugContext* dbg) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!opening_ || !is_table_file(name)) return target()->DeleteFile(name, o, dbg);
    const std::string lost = dir_ + "/lost";
    rocksdb::IOStatus s = target()->CreateDirIfMissing(lost, o, dbg);
    std::string to = lost + "/" + fs::path(name).filename().string();
    for (int i = 1; s.ok() && target()->FileExists(to, o, dbg).ok(); ++i) {
      to = lost + "/" + fs::path(name).filename().string() + "." + std::to_string(i);
    }
    if (s.ok()) s = target()->RenameFile(name, to, o, dbg);
    if (s.ok()) quarantined_.push_back(to);
    return s;
  }

 private:
  // One spelling per directory: a second lock from this process is refused only when RocksDB
  // sees the same name (fcntl() locks are per process).
  std::string lock_name() const {
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(fs::absolute(dir_), ec);
    return ((ec ? fs::path(dir_) : canonical) / "LOCK").string();
  }

  const std::string dir_;
  rocksdb::FileLock* lock_ = nullptr;  // Set by lock() before RocksDB runs; read-only after.
  mutable std::mutex mu_;
  bool opening_ = false;
  std::vector<std::string> quarantined_;
};

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

Status RocksJournal::check_space(uint64_t bytes) const {
  if (options_.reserve_bytes == 0) return ok_status();
  struct statvfs st {};
  // A file system that cannot say (statvfs fails) is not refused: RocksDB's own ENOSPC
  // handling remains.
  if (::statvfs(options_.path.c_str(), &st) != 0) return ok_status();
  const uint64_t free = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  if (free >= options_.reserve_bytes + bytes) return ok_status();
  return resource_exhausted_error(
      "journal " + options_.path + ": disk nearly full: " + std::to_string(free) +
      " bytes free, less than the reserve of " + std::to_string(options_.reserve_bytes) +
      " bytes (reserve_bytes)" + (bytes > 0 ? " plus " + std::to_string(bytes) + " to write" : "") +
      "; nothing after the last acknowledged change is stored: free space, then restart");
}

namespace {

constexpr const char* kBackup = "restore the journal from a backup";

// A directory listing's names (empty on error).
std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// What RocksDB writes while creating a journal, before CURRENT (no changes yet).
bool is_creation_file(const std::string& name) {
  return name == "LOCK" || name == "IDENTITY" || name.starts_with("LOG") ||
         name.starts_with("MANIFEST-") || name.starts_with("OPTIONS-") || name.ends_with(".dbtmp");
}

// Whether `path` may be opened (or created): the checks that need no lock, since they change
// nothing. Creates the directory only when asked to.
Status check_path(const RocksJournalOptions& o, bool* create) {
  *create = false;
  std::error_code ec;
  const fs::file_status st = fs::status(o.path, ec);
  const bool may_create = o.create_if_missing && !o.read_only;
  const std::string how = "; to start a new journal there, open it with create_if_missing";
  if (!fs::exists(st)) {
    if (!may_create) return not_found_error("journal " + o.path + ": no such directory" + how);
    fs::create_directories(o.path, ec);
    if (ec) return unavailable_error("journal " + o.path + ": cannot create: " + ec.message());
    *create = true;
    return ok_status();
  }
  if (!fs::is_directory(st)) {
    return failed_precondition_error("journal " + o.path + ": not a directory");
  }
  if (fs::exists(fs::path(o.path) / "CURRENT", ec)) return ok_status();
  // No CURRENT: a journal that lost it (it holds changes: never created over), the remains of
  // a creation a crash cut short (created again when asked), or not a journal at all.
  const std::vector<std::string> names = entries(o.path);
  for (const std::string& name : names) {
    if (is_table_file(name) || name.ends_with(".log") || name == kWatermarkFile) {
      return data_loss_error("journal " + o.path + " has no CURRENT file but holds " + name +
                             ": the journal is damaged (it is never created over); " + kBackup);
    }
  }
  for (const std::string& name : names) {
    if (!is_creation_file(name)) {
      return failed_precondition_error("journal " + o.path +
                                       ": not a journal (no CURRENT file) and not empty (" + name +
                                       "): no journal is created over it");
    }
  }
  if (!may_create) {
    return not_found_error("journal " + o.path + ": no journal there (no CURRENT file)" + how);
  }
  *create = true;
  return ok_status();
}

std::string log_name(const std::string& dir, uint64_t number) {
  char name[32];
  std::snprintf(name, sizeof(name), "/%06llu.log", static_cast<unsigned long long>(number));
  return dir + name;
}

// RocksDB's reports of a tracked log that is missing or shorter than its manifest says, and
// of a damaged table block, made to name the file and offset.
Status describe_open_failure(const std::string& dir, const rocksdb::Status& s,
                             std::optional<JournalDamage>* found) {
  const std::string text = s.ToString();
  std::smatch m;
  static const std::regex kMissing(R"(Missing WAL with log number: (\d+))");
  static const std::regex kShort(
      R"(Size mismatch: WAL \(log number: (\d+)\) in MANIFEST is (\d+) bytes\s*, but actually )"
      R"(is (\d+) bytes)");
  JournalDamage d;
  if (std::regex_search(text, m, kMissing)) {
    d.file = log_name(dir, std::stoull(m[1].str()));
    d.reason = "missing";
    *found = d;
    return data_loss_error("journal log " + d.file +
                           " is missing: the manifest records it as synced and its changes are "
                           "in no table file, so acknowledged changes are lost; " +
                           kBackup);
  }
  if (std::regex_search(text, m, kShort)) {
    d.file = log_name(dir, std::stoull(m[1].str()));
    d.offset = std::stoull(m[3].str());
    d.file_size = d.offset;
    d.reason = "shorter than the manifest records";
    *found = d;
    return data_loss_error("journal log " + d.file + " ends at offset " + m[3].str() +
                           " but the manifest records " + m[2].str() +
                           " synced bytes: acknowledged changes from offset " + m[3].str() +
                           " on are lost; " + kBackup);
  }
  return ok_status();
}

// "... in /x/000012.sst offset 4096 size 4020": the damaged table file and block.
void table_damage(const std::string& text, JournalCheck* c) {
  static const std::regex kWhere(R"( in (\S+\.(?:sst|ldb)) offset (\d+))");
  std::smatch m;
  if (std::regex_search(text, m, kWhere)) {
    c->file = m[1].str();
    c->offset = std::stoull(m[2].str());
  }
}

}  // namespace

StatusOr<std::unique_ptr<RocksJournal>> RocksJournal::open(RocksJournalOptions options) {
  std::optional<JournalDamage> found;
  return open_impl(std::move(options), &found);
}

StatusOr<std::unique_ptr<RocksJournal>> RocksJournal::open_impl(
    RocksJournalOptions options, std::optional<JournalDamage>* found) {
  if (options.path.empty()) return invalid_argument_error("journal path: must not be empty");
  if (options.group_size == 0) return invalid_argument_error("journal group_size: must be >= 1");
  bool create = false;
  CHAKONG_RETURN_IF_ERROR(check_path(options, &create));
  std::unique_ptr<RocksJournal> j(new RocksJournal(std::move(options)));
  const RocksJournalOptions& o = j->options_;
  j->files_ = std::make_shared<Files>(
      o.env != nullptr ? o.env->GetFileSystem() : rocksdb::FileSystem::Default(), o.path);
  j->env_ = rocksdb::NewCompositeEnv(j->files_);
  // From here on the lock is held; ~RocksJournal releases it.
  CHAKONG_RETURN_IF_ERROR(j->files_->lock());
  if (!o.read_only) {
    // Opening replays the logs into a table file: about their size is written.
    uint64_t logs = 0;
    for (const std::string& name : entries(o.path)) {
      std::error_code ec;
      const uintmax_t size = fs::file_size(fs::path(o.path) / name, ec);
      if (name.ends_with(".log") && !ec) logs += size;
    }
    CHAKONG_RETURN_IF_ERROR(j->check_space(logs));
  }

  StatusOr<std::optional<JournalDamage>> damage = inspect_journal_log(o.path);
  if (!damage.ok()) return damage.status();
  if (damage->has_value()) {
    const JournalDamage& d = **damage;
    *found = d;
    if (!d.newest) {
      return data_loss_error(d.to_string() +
                             "; an older log file, not a tail: acknowledged changes are lost; " +
                             kBackup);
    }
    if (!d.torn) {
      return data_loss_error(d.to_string() +
                             "; valid records follow it, so acknowledged changes are lost and it "
                             "is not a tail that can be cut; " +
                             kBackup);
    }
    if (!o.truncate_corrupt_tail || o.read_only) {
      return data_loss_error(d.to_string() +
                             "; a torn final record (a write a crash cut short, never "
                             "acknowledged): the engine will not start on it; to drop it, open "
                             "with truncate_corrupt_tail (chakong journal check --truncate-tail)");
    }
    if (::truncate(d.file.c_str(), static_cast<off_t>(d.offset)) != 0) {
      return unavailable_error("journal: cannot truncate " + d.file + " at " +
                               std::to_string(d.offset));
    }
    j->truncated_ = d;
  }

  rocksdb::Options ro;
  ro.create_if_missing = create;
  ro.write_buffer_size = o.memtable_bytes;
  ro.wal_recovery_mode = rocksdb::WALRecoveryMode::kAbsoluteConsistency;
  ro.track_and_verify_wals_in_manifest = true;
  ro.paranoid_checks = true;
  ro.env = j->env_.get();
  ro.info_log = j->info_log_ = std::make_shared<InfoLog>(
      o.read_only ? std::string() : o.path + "/LOG", o.info_log_bytes,
      o.read_only ? rocksdb::InfoLogLevel::ERROR_LEVEL : rocksdb::InfoLogLevel::WARN_LEVEL);
  // The newest log as the crash (or whoever) left it, for the watermark's message: opening
  // starts a new one.
  for (const std::string& name : entries(o.path)) {
    std::error_code ec;
    const uintmax_t size = fs::file_size(fs::path(o.path) / name, ec);
    if (name.ends_with(".log") && !ec && (j->newest_log_.empty() || name > j->newest_log_)) {
      j->newest_log_ = name;
      j->newest_log_size_ = size;
    }
  }
  rocksdb::DB* db = nullptr;
  j->files_->set_opening(true);
  rocksdb::Status s = o.read_only ? rocksdb::DB::OpenForReadOnly(ro, o.path, &db)
                                  : rocksdb::DB::Open(ro, o.path, &db);
  j->files_->set_opening(false);
  if (!s.ok()) {
    Status described = describe_open_failure(o.path, s, found);
    if (!described.ok()) return described;
    return j->convert(&s, "open");
  }
  j->db_.reset(db);
  CHAKONG_RETURN_IF_ERROR(j->open_watermark());
  if (!o.read_only) j->writer_ = std::thread([raw = j.get()] { raw->write_loop(); });
  return j;
}

Status RocksJournal::open_watermark() {
  const std::string file = options_.path + "/" + kWatermarkFile;
  const uint64_t recovered = db_->GetLatestSequenceNumber();
  std::error_code ec;
  if (fs::exists(file, ec)) {
    std::ifstream in(file, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::optional<uint64_t> mark = parse_watermark(text);
    if (!mark) {
      return data_loss_error("journal watermark " + file +
                             " is damaged (not a watermark this version writes); " + kBackup);
    }
    if (recovered < *mark) {
      const std::string newest = newest_log_.empty()
                                     ? "no log file was left"
                                     : "the newest log file, " + options_.path + "/" + newest_log_ +
                                           ", has " + std::to_string(newest_log_size_) + " bytes";
      return data_loss_error("journal " + options_.path + " holds changes up to sequence " +
                             std::to_string(recovered) + " but changes up to sequence " +
                             std::to_string(*mark) + " were acknowledged (" + file +
                             "): the newest log file was removed or cut (" + newest +
                             "), so acknowledged changes are lost; " + kBackup);
    }
    if (!options_.read_only) {
      // A crash while the journal was created can leave the file without its marker (and a
      // torn aside file): put the marker now, so that the file is required from here on.
      fs::remove(file + ".new", ec);
      std::string marker;
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kWatermarkKey, &marker);
      if (s.IsNotFound())
        CHAKONG_RETURN_IF_ERROR(put_watermark_marker());
      else if (!s.ok())
        return convert(&s, "read the watermark marker");
    }
  } else {
    std::string marker;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), kWatermarkKey, &marker);
    if (s.ok()) {
      return data_loss_error("journal watermark " + file +
                             " is missing although the journal was made with one, so a removed "
                             "or cut newest log file cannot be ruled out; " +
                             kBackup);
    }
    if (!s.IsNotFound()) return convert(&s, "read the watermark marker");
    if (options_.read_only) return ok_status();  // A journal from before the watermark.
    // A new journal, or one from before the watermark. The file comes first, whole (written
    // aside, synced, renamed, the directory synced), and the marker after it: a crash between
    // the two leaves a file and no marker, which opens; the other order left a marker and no
    // file, a journal that refused to open ever after (found by the crash harness killing an
    // engine while it created its journal).
    CHAKONG_RETURN_IF_ERROR(create_watermark_file(file, recovered));
    CHAKONG_RETURN_IF_ERROR(put_watermark_marker());
  }
  if (options_.read_only) return ok_status();
  watermark_fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (watermark_fd_ < 0) {
    return unavailable_error("journal: cannot open " + file +
                             " for writing: " + std::strerror(errno));
  }
  write_watermark(db_->GetLatestSequenceNumber());
  if (::fsync(watermark_fd_) != 0) {
    return unavailable_error("journal: cannot sync " + file + ": " + std::strerror(errno));
  }
  return ok_status();
}

// The marker goes into a table file at once, so that losing the newest log cannot take it
// along.
Status RocksJournal::put_watermark_marker() {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status s = db_->Put(wo, kWatermarkKey, "1");
  if (s.ok()) s = db_->Flush(rocksdb::FlushOptions());
  if (!s.ok()) return convert(&s, "write the watermark marker");
  return ok_status();
}

Status RocksJournal::create_watermark_file(const std::string& file, uint64_t sequence) {
  const std::string aside = file + ".new";
  const std::string text = watermark_text(sequence);
  const int fd = ::open(aside.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return unavailable_error("journal: cannot create " + aside + ": " + std::strerror(errno));
  }
  const ssize_t n = ::pwrite(fd, text.data(), text.size(), 0);
  std::string why;
  if (n != static_cast<ssize_t>(text.size())) {
    why = n < 0 ? std::strerror(errno) : "short write";
  } else if (::fsync(fd) != 0) {
    why = std::strerror(errno);
  }
  ::close(fd);
  if (!why.empty()) return unavailable_error("journal: cannot write " + aside + ": " + why);
  if (::rename(aside.c_str(), file.c_str()) != 0) {
    return unavailable_error("journal: cannot rename " + aside + " to " + file + ": " +
                             std::strerror(errno));
  }
  const int dir = ::open(options_.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0 || ::fsync(dir) != 0) {
    const std::string e = std::strerror(errno);
    if (dir >= 0) ::close(dir);
    return unavailable_error("journal: cannot sync directory " + options_.path + ": " + e);
  }
  ::close(dir);
  return ok_status();
}

// Best effort by design: a watermark that lags (a failed write, a power cut before the page
// cache reached the disk) only weakens the check, it never refuses a good journal. A failed
// write is counted (Stats::watermark_failures) and told in LOG, not ignored.
void RocksJournal::write_watermark(uint64_t sequence) {
  if (watermark_fd_ < 0) return;
  const std::string text = watermark_text(sequence);
  const ssize_t n = ::pwrite(watermark_fd_, text.data(), text.size(), 0);
  if (n != static_cast<ssize_t>(text.size())) {
    watermark_failed(n < 0 ? std::strerror(errno) : "short write");
  }
}

void RocksJournal::watermark_failed(const char* why) {
  watermark_failures_.fetch_add(1);
  if (info_log_ != nullptr) {
    rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, info_log_,
                 "chakong: writing %s/%s failed (%s); the watermark check lags until the next "
                 "group",
                 options_.path.c_str(), kWatermarkFile, why);
  }
}

std::vector<std::string> RocksJournal::quarantined() const { return files_->quarantined(); }

Status RocksJournal::verify_checksums() const {
  rocksdb::Status s = db_->VerifyChecksum();
  if (s.ok()) return ok_status();
  if (!s.IsCorruption()) return convert(&s, "verify table checksums");
  JournalCheck where;
  table_damage(s.ToString(), &where);
  return data_loss_error("journal table file " + (where.file.empty() ? options_.path : where.file) +
                         " is damaged" +
                         (where.offset ? " at offset " + std::to_string(*where.offset) : "") +
                         " (" + s.ToString() + "); " + kBackup);
}

JournalCheck RocksJournal::check(const std::string& path, bool truncate_tail) {
  JournalCheck c;
  RocksJournalOptions o;
  o.path = path;
  o.read_only = !truncate_tail;
  o.truncate_corrupt_tail = truncate_tail;
  std::optional<JournalDamage> found;
  StatusOr<std::unique_ptr<RocksJournal>> j = open_impl(o, &found);
  Status s = j.ok() ? (*j)->verify_checksums() : j.status();
  if (s.ok()) {
    const std::vector<std::string> names = entries(path);
    const auto count = [&](auto pred) { return std::count_if(names.begin(), names.end(), pred); };
    const auto tables = count([](const std::string& n) { return is_table_file(n); });
    const auto logs = count([](const std::string& n) { return n.ends_with(".log"); });
    c.verdict = JournalCheck::Verdict::kIntact;
    c.truncated = (*j)->truncated();
    c.message = "journal " + path + ": intact (" + std::to_string(logs) + " log and " +
                std::to_string(tables) + " table files, every record and block checksum verified)";
    if (c.truncated) {
      c.message = "cut " + c.truncated->file + " at offset " + std::to_string(c.truncated->offset) +
                  " (" + std::to_string(c.truncated->file_size - c.truncated->offset) +
                  " bytes of a torn final record dropped); " + c.message;
    }
    return c;
  }
  c.message = s.message();
  if (s.code() != StatusCode::kDataLoss) {
    c.verdict = JournalCheck::Verdict::kCannotOpen;
    return c;
  }
  c.verdict = JournalCheck::Verdict::kDamaged;
  if (found) {
    c.file = found->file;
    if (found->reason != "missing") c.offset = found->offset;
  } else {
    table_damage(s.message(), &c);
  }
  return c;
}

RocksJournal::~RocksJournal() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (db_ != nullptr) {
    // After a clean close every acknowledged change is in a table file (size and checksums in
    // the manifest), so the log holds nothing that a lost or cut log file could take along.
    if (!options_.read_only && failed_.ok()) {
      rocksdb::FlushOptions fo;
      fo.wait = true;
      db_->Flush(fo).PermitUncheckedError();
    }
    if (failed_.ok()) write_watermark(db_->GetLatestSequenceNumber());
    db_->Close().PermitUncheckedError();
    db_.reset();
  }
  if (watermark_fd_ >= 0) {
    if (::fsync(watermark_fd_) != 0) watermark_failed(std::strerror(errno));
    ::close(watermark_fd_);
  }
  if (files_ != nullptr) files_->unlock();
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

    // The reserve is checked before every group, so RocksDB itself never meets a full disk
    // unless something else fills it.
    Status result = check_space(batch->GetDataSize());
    if (result.ok()) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      rocksdb::Status s = db_->Write(wo, batch.get());
      result = convert(&s, "write");
      if (result.ok()) write_watermark(db_->GetLatestSequenceNumber());
    }

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
  Stats s = stats_;
  s.watermark_failures = watermark_failures_.load();
  return s;
}

}  // namespace chakong::engine
