#include "chakong/service/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

namespace chakong::service {
namespace {

spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> log = [] {
    auto l = std::make_shared<spdlog::logger>("chakong.service",
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    // The message is the object's first fields; level and UTC time close it.
    l->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "{%v,\"level\":\"%l\",\"time\":\"%Y-%m-%dT%H:%M:%S.%eZ\"}",
        spdlog::pattern_time_type::utc));
    l->set_level(spdlog::level::info);
    l->flush_on(spdlog::level::debug);
    return l;
  }();
  return *log;
}

spdlog::level::level_enum to_spdlog(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

bool set_log_level(std::string_view level) {
  LogLevel l;
  if (level == "debug") {
    l = LogLevel::kDebug;
  } else if (level == "info") {
    l = LogLevel::kInfo;
  } else if (level == "warn") {
    l = LogLevel::kWarn;
  } else if (level == "error") {
    l = LogLevel::kError;
  } else {
    return false;
  }
  logger().set_level(to_spdlog(l));
  return true;
}

LogLine::LogLine(LogLevel level, std::string_view event) : level_(level) {
  fields_ = "\"event\":" + json_string(event);
}

LogLine::~LogLine() { logger().log(to_spdlog(level_), "{}", fields_); }

LogLine& LogLine::str(std::string_view key, std::string_view value) {
  fields_ += "," + json_string(key) + ":" + json_string(value);
  return *this;
}

LogLine& LogLine::num(std::string_view key, int64_t value) {
  fields_ += "," + json_string(key) + ":" + std::to_string(value);
  return *this;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string mask_case_number(std::string_view number) {
  static constexpr std::string_view kHao = "号";
  std::string out(number);
  if (number.ends_with(kHao)) {
    size_t end = number.size() - kHao.size();  // One past the serial's last digit.
    size_t begin = end;
    while (begin > 0 && number[begin - 1] >= '0' && number[begin - 1] <= '9') --begin;
    if (begin < end) {
      for (size_t i = begin; i + 1 < end; ++i) out[i] = '*';
      return out;
    }
  }
  for (char& ch : out) {
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) ch = '*';
  }
  return out;
}

std::string request_id(std::string_view rpc, std::string_view request_bytes) {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](std::string_view s) {
    for (char ch : s) {
      h ^= static_cast<unsigned char>(ch);
      h *= 1099511628211ull;
    }
  };
  mix(rpc);
  mix(std::string_view("\0", 1));
  mix(request_bytes);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace chakong::service
