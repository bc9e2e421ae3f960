// Case-server mode: the journal keys of a case's records, shared by durable.cc (writing) and
// recovery.cc (reading). Private to the engine.
#ifndef CHAKONG_ENGINE_SRC_CASE_RECORDS_H_
#define CHAKONG_ENGINE_SRC_CASE_RECORDS_H_

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace chakong::engine::case_records {

// "case/<number>" (JournalCase), "case/<number>/f/<%06u>" (JournalFinding),
// "case/<number>/m/<%06u>" (JournalMeasure).
constexpr std::string_view kCasePrefix = "case/";
constexpr size_t kRecordSuffix = 9;  // "/f/000012"

inline std::string record_key(const std::string& number, char kind, uint32_t index) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "/%c/%06" PRIu32, kind, index);
  return std::string(kCasePrefix) + number + buf;
}

}  // namespace chakong::engine::case_records

#endif  // CHAKONG_ENGINE_SRC_CASE_RECORDS_H_
