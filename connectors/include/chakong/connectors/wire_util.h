// Small helpers every codec needs: dates, status codes and money on the wire, with decoding
// errors that name the field (a bad reply becomes kDataLoss in WireConnector).
#ifndef CHAKONG_CONNECTORS_WIRE_UTIL_H_
#define CHAKONG_CONNECTORS_WIRE_UTIL_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chakong/base/date.h"
#include "chakong/base/money.h"
#include "chakong/base/status.h"
#include "chakong/connectors/connector.h"

namespace chakong::connectors::wire {

// "" for an unset date (1970-01-01), else "YYYY-MM-DD" (Date::no_end() is "9999-12-31").
inline std::string date_out(Date d) { return d.days() == 0 ? std::string() : d.to_string(); }

// Parses a wire date; "" is the unset date and "9999-12-31" is Date::no_end() (the common
// sentinel for "no end"). kInvalidArgument naming `field`.
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

// A value that is a quantity times a unit price (securities: units x price per unit), checked:
// a negative factor or a product beyond the range of fen is refused, naming `field`.
inline StatusOr<Fen> product_in(int64_t quantity, int64_t unit_fen, std::string_view field) {
  if (quantity < 0 || unit_fen < 0) {
    return invalid_argument_error(std::string(field) + ": quantity " + std::to_string(quantity) +
                                  " x price " + std::to_string(unit_fen) + " fen is negative");
  }
  int64_t value = 0;
  if (__builtin_mul_overflow(quantity, unit_fen, &value)) {
    return invalid_argument_error(std::string(field) + ": quantity " + std::to_string(quantity) +
                                  " x price " + std::to_string(unit_fen) +
                                  " fen overflows 64 bits");
  }
  return Fen(value);
}

// Decodes a reply's results one at a time, so that one bad field spoils one result, not the
// reply: `decode(result, at)` returns the result's Response (at = "results[n]." for naming
// fields), and a result it refuses becomes kDataLoss for its own key, naming the field;
// `key(result)` is the result's idempotency key. `what` names the sender in the message.
template <typename Results, typename Key, typename Decode>
std::vector<std::pair<std::string, Response>> decode_each(const Results& results,
                                                          std::string_view list, Key key,
                                                          Decode decode) {
  std::vector<std::pair<std::string, Response>> out;
  out.reserve(static_cast<size_t>(results.size()));
  int n = 0;
  for (const auto& result : results) {
    StatusOr<Response> r = decode(result, std::string(list) + "[" + std::to_string(n++) + "].");
    if (r.ok()) {
      out.emplace_back(key(result), std::move(*r));
    } else {
      out.emplace_back(key(result), Response::error(data_loss_error("the result does not decode: " +
                                                                    r.status().message())));
    }
  }
  return out;
}

// The same, straight into a field: each returns the error naming `field`, or OK. Codecs decode a
// result as a list of these, one line a field.
inline Status read(Fen* out, int64_t fen, std::string_view field) {
  StatusOr<Fen> v = fen_in(fen, field);
  if (!v.ok()) return v.status();
  *out = *v;
  return ok_status();
}
inline Status read(Fen* out, int64_t quantity, int64_t unit_fen, std::string_view field) {
  StatusOr<Fen> v = product_in(quantity, unit_fen, field);
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
