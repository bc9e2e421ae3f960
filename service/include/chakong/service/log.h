// The service's log: structured JSON lines on stderr through spdlog, one object a line,
// the event first and the level and UTC time last:
//   {"event":"rpc","rpc":"FileCase","request_id":"9c1f0e5a2b7d4433","principal":"case-server",
//    "case":"（2026）渝0110执***1号","code":"OK","ms":3,"level":"info","time":"2026-12-02T16:20:01.123Z"}
// Case numbers are masked (mask_case_number) and identity numbers never logged.
//
//   LogLine(LogLevel::kWarn, "refused").str("rpc", "GetCase").num("code", 7);  // written at ~
#ifndef CHAKONG_SERVICE_LOG_H_
#define CHAKONG_SERVICE_LOG_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace chakong::service {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// Sets the lowest level written: "debug", "info", "warn" or "error" (the config's log_level,
// checked there); false, and nothing changed, for another text.
bool set_log_level(std::string_view level);

// One log line, written when it goes out of scope (if its level is enabled).
class LogLine {
 public:
  LogLine(LogLevel level, std::string_view event);
  ~LogLine();
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;
  LogLine& str(std::string_view key, std::string_view value);
  LogLine& num(std::string_view key, int64_t value);

 private:
  LogLevel level_;
  std::string fields_;
};

// "（2026）渝0110执1001号" -> "（2026）渝0110执***1号": the serial's digits but the last become
// '*'; year and court stay. A text of another shape has every ASCII letter and digit masked.
std::string mask_case_number(std::string_view number);

// The request id of a call: 16 hex digits of a 64-bit FNV-1a hash of the RPC's name and the
// request's bytes. A retried FileCase with the same content (its idempotency key) has the same
// id; different content another.
std::string request_id(std::string_view rpc, std::string_view request_bytes);

// `s` as a JSON string, quotes included (UTF-8 kept, control characters escaped).
std::string json_string(std::string_view s);

}  // namespace chakong::service

#endif  // CHAKONG_SERVICE_LOG_H_
