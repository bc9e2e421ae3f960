// The library's and the sweep's journal keys and the sweep run header: shared by
// sweep_journal.cc (writing and recovering the records), sweep.cc (runs) and restoration.cc.
// Private to the engine.
#ifndef CHAKONG_ENGINE_SRC_SWEEP_RECORDS_H_
#define CHAKONG_ENGINE_SRC_SWEEP_RECORDS_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "chakong/base/date.h"

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

struct Header {
  int anniversary = 0;
  long long started = 0, finished = 0, window_end = 0, lateness = 0;
  unsigned long long total = 0, skipped = 0, swept = 0, hits = 0, restored = 0, queried = 0;
};
inline bool parse_header(const std::string& v, Header& h) {
  return std::sscanf(v.c_str(), "%d %lld %lld %lld %llu %llu %llu %llu %llu %llu %lld",
                     &h.anniversary, &h.started, &h.finished, &h.window_end, &h.total, &h.skipped,
                     &h.swept, &h.hits, &h.restored, &h.queried, &h.lateness) == 11;
}

}  // namespace chakong::engine::sweep_records

#endif  // CHAKONG_ENGINE_SRC_SWEEP_RECORDS_H_
