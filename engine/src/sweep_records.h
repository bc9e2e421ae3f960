// The library's and the sweep's journal keys and records: shared by sweep_journal.cc
// (writing and recovering the records), sweep.cc (runs) and restoration.cc; the codec is in
// sweep_records.cc. Private to the engine.
#ifndef CHAKONG_ENGINE_SRC_SWEEP_RECORDS_H_
#define CHAKONG_ENGINE_SRC_SWEEP_RECORDS_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "chakong/base/date.h"
#include "chakong/base/status.h"
#include "chakong/engine/library.h"

namespace chakong::engine::sweep_records {

constexpr uint32_t kChunkWords = 16;  // 1,024 cases per journal chunk of a done bitmap.

inline std::string day_key(int32_t day) {
  const Date d = Date::from_days(day);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d", d.year(), d.month(), d.day());
  return buf;
}

// The number after the last '/' of a journal key ("library/0/case/0000000042" -> 42).
inline uint64_t key_number(std::string_view key) {
  return std::strtoull(std::string(key.substr(key.rfind('/') + 1)).c_str(), nullptr, 10);
}

inline std::string index_key(uint64_t i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%010llu", static_cast<unsigned long long>(i));
  return buf;
}

// The values: Protobuf messages of proto/chakong/v1/journal.proto, each with `format = 1`
// first. A decoder returns kDataLoss naming what is wrong (the caller prefixes the key); a
// text record of an older version (tab- or space-separated) is refused as such.
constexpr uint32_t kFormat = 1;

// A sweep run's header (JournalSweepRun).
struct Header {
  bool anniversary = false;
  int64_t started = 0, finished = 0, window_end = 0, lateness = 0;
  uint64_t total = 0, skipped = 0, swept = 0, hits = 0, restored = 0, queried = 0;
};

std::string encode_case(const LibraryEntry& e);
StatusOr<LibraryEntry> decode_case(std::string_view v);
std::string encode_restored(const std::string& restored_as);
StatusOr<std::string> decode_restored(std::string_view v);
std::string encode_counter(int64_t restored);
StatusOr<int64_t> decode_counter(std::string_view v);
std::string encode_run(const Header& h);
StatusOr<Header> decode_run(std::string_view v);
// One chunk of a done bitmap: `words` holds kChunkWords words.
std::string encode_done(const uint64_t* words);
Status decode_done(std::string_view v, uint64_t* words);

}  // namespace chakong::engine::sweep_records

#endif  // CHAKONG_ENGINE_SRC_SWEEP_RECORDS_H_
