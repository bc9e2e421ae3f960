// Status and StatusOr<T>: how every fallible call in Chakong reports its outcome.
//
// The shape follows absl::Status: a canonical code (numbered as google.rpc.Code, and as
// chakong.v1.StatusCode on the wire) plus a message for people. No exceptions cross the
// engine API or the connector interface; a call that can fail returns one of these.
// An OK Status carries no message and allocates nothing.
//
// Thread safety: values; copy freely, no shared state.
//
//   StatusOr<Fen> amount = parse_yuan(text);
//   if (!amount.ok()) return amount.status();
//   use(*amount);
#ifndef CHAKONG_BASE_STATUS_H_
#define CHAKONG_BASE_STATUS_H_

#include <cstdlib>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace chakong {

// Canonical codes. The mapping of institution failures (STYLE.md): timeout ->
// kDeadlineExceeded, down -> kUnavailable, no record -> kNotFound, refused ->
// kPermissionDenied, throttled -> kResourceExhausted, bad reply -> kDataLoss.
enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", ...; "UNKNOWN_CODE(n)" for values outside the enum.
std::string status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  // An OK status.
  Status() = default;
  // A status with `code` and `message`. A kOk code drops the message.
  Status(StatusCode code, std::string message);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "OK" or "CODE_NAME: message".
  std::string to_string() const;

  // Explicitly ignores the status where dropping it is intended.
  void ignore_error() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Write status_code_name(code) / status.to_string().
std::ostream& operator<<(std::ostream& os, StatusCode code);
std::ostream& operator<<(std::ostream& os, const Status& status);

inline Status ok_status() { return Status(); }
Status cancelled_error(std::string message);
Status invalid_argument_error(std::string message);
Status deadline_exceeded_error(std::string message);
Status not_found_error(std::string message);
Status already_exists_error(std::string message);
Status permission_denied_error(std::string message);
Status resource_exhausted_error(std::string message);
Status failed_precondition_error(std::string message);
Status out_of_range_error(std::string message);
Status unimplemented_error(std::string message);
Status internal_error(std::string message);
Status unavailable_error(std::string message);
Status data_loss_error(std::string message);

namespace internal {
// Prints `what` and the status to stderr and aborts. Used for programming errors only.
[[noreturn]] void die_on_bad_access(const Status& status);
}  // namespace internal

// Either a value of T or a non-OK Status. Reading the value of an error is a programming
// error and aborts with the status printed.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  // From an error status. An OK status here is a programming error and becomes kInternal.
  StatusOr(Status status)  // NOLINT(google-explicit-constructor): mirrors absl::StatusOr.
      : status_(std::move(status)) {
    if (status_.ok()) status_ = internal_error("StatusOr constructed from an OK Status");
  }
  StatusOr(const T& value) : value_(value) {}        // NOLINT(google-explicit-constructor)
  StatusOr(T&& value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  const T& value() const& {
    if (!ok()) internal::die_on_bad_access(status_);
    return *value_;
  }
  T& value() & {
    if (!ok()) internal::die_on_bad_access(status_);
    return *value_;
  }
  T&& value() && {
    if (!ok()) internal::die_on_bad_access(status_);
    return std::move(*value_);
  }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  // The value, or `fallback` when this holds an error.
  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace chakong

// Returns early from the enclosing function with the status of `expr` if it is not OK.
#define CHAKONG_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::chakong::Status chakong_status_ = (expr);        \
    if (!chakong_status_.ok()) return chakong_status_; \
  } while (0)

#endif  // CHAKONG_BASE_STATUS_H_
