// Small helpers every codec needs: dates, status codes and money on the wire, with decoding
// errors that name the field (a bad reply becomes kDataLoss in WireConnector), and the
// Protobuf messages a codec reuses from call to call.
//
// Cost: decoding a good result builds no strings. A field's path ("results[3].end_date") is a
// wire::Field that is formatted only when an error names it, and a codec parses into and
// encodes from a message this thread reuses (wire::Reused), so that in the steady state a call
// allocates little more than what the decoded Requests and Responses own.
#ifndef CHAKONG_CONNECTORS_WIRE_UTIL_H_
#define CHAKONG_CONNECTORS_WIRE_UTIL_H_

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
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

class Field;

// Where one result (or one nested message) is, for naming its fields in an error:
// At("results", 3) is "results[3].", At("asset.") is "asset.". Nothing is formatted until
// str() is called, i.e. until an error names a field. `at + "status"` is that field.
class At {
 public:
  constexpr At(std::string_view list, int index) : list_(list), index_(index) {}
  constexpr explicit At(std::string_view prefix) : list_(prefix) {}

  // "results[3]." (or the prefix).
  std::string str() const {
    if (index_ < 0) return std::string(list_);
    return std::string(list_) + "[" + std::to_string(index_) + "].";
  }

  friend Field operator+(const At& at, std::string_view field);

 private:
  std::string_view list_;
  int index_ = -1;
};

// A field's name in an error message: a plain name ("amount_fen", or a string a caller built)
// or a field of a result, `at + "end_date"`, formatted only by str(). A parameter type: it
// refers to what it was made from and must not outlive the call it is passed to.
class Field {
 public:
  Field(const char* name) : name_(name) {}         // NOLINT(google-explicit-constructor)
  Field(std::string_view name) : name_(name) {}    // NOLINT(google-explicit-constructor)
  Field(const std::string& name) : name_(name) {}  // NOLINT(google-explicit-constructor)
  Field(const At& at, std::string_view name) : at_(&at), name_(name) {}

  std::string str() const {
    if (at_ == nullptr) return std::string(name_);
    return at_->str() + std::string(name_);
  }

 private:
  const At* at_ = nullptr;
  std::string_view name_;
};

inline Field operator+(const At& at, std::string_view field) { return Field(at, field); }

namespace internal {
// True when `decode` takes a result's place as a wire::At (and not as a std::string prefix,
// as decoders written before wire::At do; a generic decoder keeps the std::string).
template <typename Decode, typename Result>
constexpr bool kTakesAt = std::is_invocable_v<Decode&, const Result&, const At&> &&
                          !std::is_invocable_v<Decode&, const Result&, const std::string&>;
}  // namespace internal

// Decodes a reply's results one at a time, so that one bad field spoils one result, not the
// reply: `decode(result, at)` returns the result's Response, and a result it refuses becomes
// kDataLoss for its own key, naming the field; `key(result)` is the result's idempotency key.
// `at` names the result's fields: a wire::At (`at + "status"`, formatted only if an error
// names it) when `decode` takes `const wire::At&`, else the std::string "results[n]." (the
// form decoders written before wire::At take, built for every result).
template <typename Results, typename Key, typename Decode>
std::vector<std::pair<std::string, Response>> decode_each(const Results& results,
                                                          std::string_view list, Key key,
                                                          Decode decode) {
  std::vector<std::pair<std::string, Response>> out;
  out.reserve(static_cast<size_t>(results.size()));
  int n = 0;
  for (const auto& result : results) {
    using Result = std::decay_t<decltype(result)>;
    const At at(list, n++);
    StatusOr<Response> r = [&]() -> StatusOr<Response> {
      if constexpr (internal::kTakesAt<Decode, Result>) {
        return decode(result, at);
      } else {
        return decode(result, at.str());
      }
    }();
    if (r.ok()) {
      out.emplace_back(key(result), std::move(*r));
    } else {
      out.emplace_back(key(result), Response::error(data_loss_error("the result does not decode: " +
                                                                    r.status().message())));
    }
  }
  return out;
}

// The same into `out`, reusing its elements: result n goes to out[n] (its key assigned into the
// string's buffer, so a key of a size seen before allocates nothing), and `out` grows when it
// is shorter but never shrinks, so that the buffers stay for the next call. Returns the number
// of results; out[0, n) are this reply's, the elements past n are stale.
template <typename Results, typename Key, typename Decode>
size_t decode_each_into(const Results& results, std::string_view list, Key key, Decode decode,
                        std::vector<std::pair<std::string, Response>>& out) {
  size_t n = 0;
  for (const auto& result : results) {
    if (n == out.size()) out.emplace_back();
    auto& [k, response] = out[n];
    const At at(list, static_cast<int>(n));
    ++n;
    const auto& key_text = key(result);
    k.assign(key_text.data(), key_text.size());
    StatusOr<Response> r = decode(result, at);
    if (r.ok()) {
      response = std::move(*r);
    } else {
      response =
          Response::error(data_loss_error("the result does not decode: " + r.status().message()));
    }
  }
  return n;
}

// The results of one reply, as encode_responses() takes them: (idempotency key, response).
using Results = std::span<const std::pair<std::string, Response>>;

// Requests decoded into buffers kept from call to call. A codec's decode_requests(bytes, out)
// appends each request with add_request(out): a request whose every field is at its default
// and whose strings keep the buffers of a request given back by recycle(), so that decoding a
// batch of requests the size of earlier ones allocates nothing. recycle(batch) takes the
// requests of a batch back (this thread keeps up to kMaxSpareRequests of them) and leaves it
// empty with its capacity. Both use this thread's spares: no locking, and a batch may be
// recycled on another thread than the one that decoded it. The bound is the requests a
// simulated institution side has waiting at once at its busiest (the district's library sweep
// keeps thousands of decoded batches waiting hours of virtual time): with 512, a third of the
// requests decoded found no spare and allocated their strings again. At most ~9 MB a thread
// (a request and its strings ~550 bytes), kept only once that many were out at once.
inline constexpr size_t kMaxSpareRequests = 16384;

namespace internal {
inline std::vector<Request>& spare_requests() {
  thread_local std::vector<Request> spare;
  return spare;
}
// Every field of `r` to its default, keeping the strings' buffers.
inline void reset(Request& r) {
  struct AssetFields {  // Asset's fields as reset() knows them.
    AssetCategory category;
    std::string reference;
    Fen value;
    std::string holder;
    int64_t quantity;
    Fen unit_price;
  };
  struct Fields {  // Request's fields as reset() knows them.
    RequestKind kind;
    std::string key, case_number, debtor, officer, ruling, purpose;
    Asset asset;
    Fen amount;
    std::string measure;
    Date term_end;
  };
  static_assert(sizeof(Request) == sizeof(Fields) && sizeof(Asset) == sizeof(AssetFields),
                "a field was added to Request or Asset: reset() must clear it");
  r.kind = RequestKind::kQuery;
  r.idempotency_key.clear();
  r.case_number.clear();
  r.debtor_id.clear();
  r.officer_id.clear();
  r.ruling_number.clear();
  r.purpose.clear();
  r.asset.category = AssetCategory::kDeposit;
  r.asset.reference.clear();
  r.asset.value = Fen();
  r.asset.holder_id.clear();
  r.asset.quantity = 0;
  r.asset.unit_price = Fen();
  r.amount = Fen();
  r.measure_id.clear();
  r.term_end = Date();
}
}  // namespace internal

// Every field of `r` to its default, its strings keeping their buffers (for a request slot
// that is filled again in place: the engine's dispatcher, a decoded batch).
inline void reset_keeping_buffers(Request& r) { internal::reset(r); }

inline Request& add_request(std::vector<Request>& out) {
  std::vector<Request>& spare = internal::spare_requests();
  if (spare.empty()) return out.emplace_back();
  Request& r = out.emplace_back(std::move(spare.back()));
  spare.pop_back();
  internal::reset(r);
  return r;
}

// After decoding: a field left empty gives its buffer back, so that a request reused for a
// query does not keep what an earlier control request needed (a decoded batch may wait hours
// of virtual time at the institution; what it holds is memory for that long).
inline void trim(Request& r) {
  for (std::string* s :
       {&r.idempotency_key, &r.case_number, &r.debtor_id, &r.officer_id, &r.ruling_number,
        &r.purpose, &r.asset.reference, &r.asset.holder_id, &r.measure_id}) {
    if (s->empty() && s->capacity() > 15) std::string().swap(*s);
  }
}

inline void recycle(std::vector<Request>& batch) {
  std::vector<Request>& spare = internal::spare_requests();
  for (Request& r : batch) {
    if (spare.size() >= kMaxSpareRequests) break;
    spare.push_back(std::move(r));
  }
  batch.clear();
}

// Vectors for decoded batches, reused the same way: take_batch() is an empty vector (with the
// capacity of one given back), give_back() recycles a batch's requests and keeps its vector
// (this thread keeps up to kMaxSpareBatches of up to kMaxSpareBatchSize), leaving `batch`
// empty without a buffer. What is kept is bounded per thread, not per call in flight: a pool
// per call in flight would hold the most calls ever in flight at once for the rest of a run.
inline constexpr size_t kMaxSpareBatches = 64;
inline constexpr size_t kMaxSpareBatchSize = 32;

namespace internal {
inline std::vector<std::vector<Request>>& spare_batches() {
  thread_local std::vector<std::vector<Request>> spare;
  return spare;
}
}  // namespace internal

inline std::vector<Request> take_batch() {
  std::vector<std::vector<Request>>& spare = internal::spare_batches();
  if (spare.empty()) return {};
  std::vector<Request> batch = std::move(spare.back());
  spare.pop_back();
  return batch;
}

inline void give_back(std::vector<Request>& batch) {
  recycle(batch);
  std::vector<std::vector<Request>>& spare = internal::spare_batches();
  if (spare.size() < kMaxSpareBatches && batch.capacity() <= kMaxSpareBatchSize) {
    spare.push_back(std::move(batch));
  }
  batch = std::vector<Request>();
}

// The same, straight into a field: each returns the error naming `field`, or OK. Codecs decode a
// result as a list of these, one line a field. Only an error formats `field`.
inline Status read(Fen* out, int64_t fen, Field field) {
  if (fen < 0) return fen_in(fen, field.str()).status();
  *out = Fen(fen);
  return ok_status();
}
inline Status read(Fen* out, int64_t quantity, int64_t unit_fen, Field field) {
  int64_t value = 0;
  if (quantity < 0 || unit_fen < 0 || __builtin_mul_overflow(quantity, unit_fen, &value)) {
    return product_in(quantity, unit_fen, field.str()).status();
  }
  *out = Fen(value);
  return ok_status();
}
inline Status read(Date* out, const std::string& text, Field field) {
  if (text.empty()) {
    *out = Date();
    return ok_status();
  }
  StatusOr<Date> d = Date::parse(text);
  if (!d.ok()) return invalid_argument_error(field.str() + ": " + d.status().message());
  *out = *d;
  return ok_status();
}
inline Status read(Status* out, int code, const std::string& message, Field field) {
  if (code < 0 || code > 16) return code_in(code, field.str()).status();
  *out = Status(static_cast<StatusCode>(code), message);
  return ok_status();
}

// Encoded bytes reused the same way: Reused::serialize() encodes into take_bytes() (an empty
// string with the buffer of bytes given back), and the side that has read a wire call's
// request or reply hands the bytes to give_bytes() (the sandbox endpoint once it has answered,
// WireConnector once it has decoded the reply), so that in the steady state a wire call's
// encodings allocate nothing. This thread keeps up to kMaxSpareBytes of them, none with a
// buffer larger than kMaxSpareBytesCapacity (at most 2 MiB a thread); bytes dropped anywhere
// else are simply freed.
inline constexpr size_t kMaxSpareBytes = 32;
inline constexpr size_t kMaxSpareBytesCapacity = size_t{64} << 10;

namespace internal {
inline std::vector<std::string>& spare_bytes() {
  thread_local std::vector<std::string> spare;
  return spare;
}
}  // namespace internal

inline std::string take_bytes() {
  std::vector<std::string>& spare = internal::spare_bytes();
  if (spare.empty()) return {};
  std::string bytes = std::move(spare.back());
  spare.pop_back();
  bytes.clear();
  return bytes;
}

// Takes `bytes`' buffer for a later take_bytes() (or frees it), leaving `bytes` empty.
inline void give_bytes(std::string& bytes) {
  std::vector<std::string>& spare = internal::spare_bytes();
  const size_t capacity = bytes.capacity();
  if (capacity > 15 && capacity <= kMaxSpareBytesCapacity && spare.size() < kMaxSpareBytes) {
    if (spare.capacity() == 0) spare.reserve(kMaxSpareBytes);
    spare.push_back(std::move(bytes));
  }
  bytes = std::string();
}

// The Protobuf message of type M this thread reuses for one codec call: its repeated elements
// and their string buffers stay allocated from call to call, so that parsing into it or
// encoding from it allocates nothing once it has served a call of that size (a message per
// call would allocate every element and every string again). It is left empty between calls; a
// call that parsed or encoded more than kMaxReusedBytes frees it instead. Taking a second
// Reused<M> while one is alive on this thread (a nested call) gets a message of its own.
//
//   wire::Reused<v1::ResultBatch> b;
//   if (!b.parse(bytes)) return invalid_argument_error("result batch does not parse");
//   return wire::decode_each(b->results(), ...);
inline constexpr size_t kMaxReusedBytes = size_t{1} << 20;

template <typename M>
class Reused {
 public:
  Reused() {
    Slot& s = slot();
    if (!s.in_use) {
      s.in_use = true;
      slot_ = &s;
      message_ = &s.message;
    } else {
      own_ = std::make_unique<M>();
      message_ = own_.get();
    }
  }
  ~Reused() {
    if (slot_ == nullptr) return;
    if (size_ > kMaxReusedBytes) {
      slot_->message = M();
    } else {
      slot_->message.Clear();
    }
    slot_->in_use = false;
  }
  Reused(const Reused&) = delete;
  Reused& operator=(const Reused&) = delete;

  M& operator*() const { return *message_; }
  M* operator->() const { return message_; }

  // Parses `bytes` into the message; false if they do not parse.
  [[nodiscard]] bool parse(std::string_view bytes) {
    size_ = bytes.size();
    return message_->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
  }
  // The message's encoding, into a buffer of bytes given back (take_bytes()) when there is one.
  std::string serialize() {
    std::string out = take_bytes();
    if (!message_->SerializeToString(&out)) out.clear();
    size_ = out.size();
    return out;
  }

 private:
  struct Slot {
    M message;
    bool in_use = false;
  };
  static Slot& slot() {
    thread_local Slot s;
    return s;
  }

  Slot* slot_ = nullptr;
  M* message_ = nullptr;
  std::unique_ptr<M> own_;
  size_t size_ = 0;
};

// The vector-returning forms of a codec's decoders, for tests and tools, written once: a codec
// derives from VectorForms<itself> and brings them in next to its buffer-reusing forms with
//   using wire::VectorForms<MyCodec>::decode_requests;
//   using wire::VectorForms<MyCodec>::decode_responses;
// decode_requests(bytes) decodes into a vector of its own; decode_responses(bytes) returns the
// reply's results, out[0, n) of the buffer-reusing form.
template <typename Codec>
struct VectorForms {
  static StatusOr<std::vector<Request>> decode_requests(std::string_view bytes) {
    std::vector<Request> out;
    CHAKONG_RETURN_IF_ERROR(Codec::decode_requests(bytes, out));
    return out;
  }
  static StatusOr<std::vector<std::pair<std::string, Response>>> decode_responses(
      std::string_view bytes) {
    std::vector<std::pair<std::string, Response>> out;
    StatusOr<size_t> n = Codec::decode_responses(bytes, out);
    if (!n.ok()) return n.status();
    out.resize(*n);
    return out;
  }
};

}  // namespace chakong::connectors::wire

#endif  // CHAKONG_CONNECTORS_WIRE_UTIL_H_
