// Small helpers every codec needs: dates, status codes and money on the wire, with decoding
// errors that name the field (a bad reply becomes kDataLoss in WireConnector).
#ifndef CHAKONG_CONNECTORS_WIRE_UTIL_H_
#define CHAKONG_CONNECTORS_WIRE_UTIL_H_

#include <string>
#include <string_view>

#include "chakong/engine/date.h"
#include "chakong/engine/money.h"
#include "chakong/engine/status.h"

namespace chakong::connectors::wire {

// "" for an unset date (1970-01-01), else "YYYY-MM-DD".
inline std::string date_out(Date d) { return d.days() == 0 ? std::string() : d.to_string(); }

// Parses a wire date; "" is the unset date. kInvalidArgument naming `field`.
inline StatusOr<Date> date_in(const std::string& text, std::string_view field) {
  if (text.empty()) return Date();
  StatusOr<Date> d = Date::parse(text);
  if (!d.ok()) return invalid_argument_error(std::string(field) + ": " + d.status().message());
  return d;
}

// A canonical status code from the wire; codes outside 0..16 are refused.
inline StatusOr<StatusCode> code_in(int code, std::string_view field) {
  if (code < 0 || code > 16) {
    return invalid_argument_error(std::string(field) + ": status code " + std::to_string(code) +
                                  " is not a canonical code");
  }
  return static_cast<StatusCode>(code);
}

// Money must not be negative on the wire.
inline StatusOr<Fen> fen_in(int64_t fen, std::string_view field) {
  if (fen < 0) {
    return invalid_argument_error(std::string(field) + ": " + format_fen(Fen(fen)) +
                                  " is negative");
  }
  return Fen(fen);
}

// The same, straight into a field: each returns the error naming `field`, or OK. Codecs decode a
// result as a list of these, one line a field.
inline Status read(Fen* out, int64_t fen, std::string_view field) {
  StatusOr<Fen> v = fen_in(fen, field);
  if (!v.ok()) return v.status();
  *out = *v;
  return ok_status();
}
inline Status read(Date* out, const std::string& text, std::string_view field) {
  StatusOr<Date> v = date_in(text, field);
  if (!v.ok()) return v.status();
  *out = *v;
  return ok_status();
}
inline Status read(Status* out, int code, const std::string& message, std::string_view field) {
  StatusOr<StatusCode> c = code_in(code, field);
  if (!c.ok()) return c.status();
  *out = Status(*c, message);
  return ok_status();
}

}  // namespace chakong::connectors::wire

#endif  // CHAKONG_CONNECTORS_WIRE_UTIL_H_
