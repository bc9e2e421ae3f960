// The connector contract: how the engine talks to one institution (a bank, a registry).
//
// Lifetimes (Envoy's extension model): a stateless ConnectorFactory, registered by name
// ("bank.icbc"), builds a Connector once from a validated config; the Connector then serves
// any number of calls. Requests and responses here are plain structs; a connector turns them
// into the institution's own protocol (see chakong/v1/request.proto for the wire form).
//
// The async contract, which every connector must keep and the conformance kit checks:
//  1. `done` runs exactly once per submitted batch, with one Response per Request in the
//     same order, whatever happens (success, institution error, timeout, shutdown).
//  2. `done` never runs inside async_submit(): not even for an immediate refusal.
//  3. async_submit() never blocks; the work happens on the connector's own threads or
//     executor, and `done` may run on any thread (the engine posts it back to its shard).
//  4. An operation outside capabilities() completes with kUnimplemented, never silently.
//  5. The connector outlives its calls: its destructor (or drain()) waits until every
//     accepted call has completed.
//  6. A request carries an idempotency key; submitting the same key again must not create a
//     second measure (the institution answers with the first outcome).
//
// Threading: async_submit() may be called concurrently from several shards.
//
//   connector.async_submit({query}, [](std::vector<Response> r) { ... });
#ifndef CHAKONG_CONNECTORS_CONNECTOR_H_
#define CHAKONG_CONNECTORS_CONNECTOR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "chakong/base/asset.h"
#include "chakong/base/date.h"
#include "chakong/base/money.h"
#include "chakong/base/status.h"

namespace chakong::connectors {

// The domain types the contract carries, defined in base/ (chakong/base/asset.h) and named
// here too so that an adapter can write connectors::Asset.
using ::chakong::Asset;
using ::chakong::asset_category_name;
using ::chakong::AssetCategory;
using ::chakong::is_divisible;
using ::chakong::measure_term_years;

// Mirrors chakong.v1.RequestKind.
enum class RequestKind : uint8_t {
  kQuery = 1,
  kFreeze = 2,
  kWaitlistFreeze = 3,
  kRenew = 4,
  kRelease = 5,
  kDeduct = 6,
};
std::string_view request_kind_name(RequestKind kind);

// A set of RequestKinds a connector supports.
class Capabilities {
 public:
  constexpr Capabilities() = default;
  constexpr Capabilities(std::initializer_list<RequestKind> kinds) {
    for (RequestKind k : kinds) bits_ |= bit(k);
  }
  constexpr bool has(RequestKind k) const { return (bits_ & bit(k)) != 0; }
  static constexpr Capabilities all() {
    return {RequestKind::kQuery, RequestKind::kFreeze,  RequestKind::kWaitlistFreeze,
            RequestKind::kRenew, RequestKind::kRelease, RequestKind::kDeduct};
  }

 private:
  static constexpr uint32_t bit(RequestKind k) { return 1u << static_cast<uint32_t>(k); }
  uint32_t bits_ = 0;
};

// A measure another authority (or this court) already holds on the asset.
struct PriorMeasure {
  std::string authority;
  Fen amount;
  Date end_date;
  int queue_position = 0;
};

// One request (chakong.v1.Request). Every control request names an asset; QUERY does not.
struct Request {
  RequestKind kind = RequestKind::kQuery;
  // Unique per logical request; retries reuse it.
  std::string idempotency_key;
  std::string case_number;
  std::string debtor_id;
  std::string officer_id;
  std::string ruling_number;
  // Purpose for the audit trail.
  std::string purpose;
  // The asset acted on (control requests).
  Asset asset;
  // FREEZE / WAITLIST_FREEZE / DEDUCT: amount in fen (ignored for indivisible assets).
  Fen amount;
  // RENEW / RELEASE / DEDUCT: the measure acted on.
  std::string measure_id;
  // FREEZE / RENEW: last day requested; a default Date means the full legal term.
  Date term_end;
};

// One response (chakong.v1.Response). `status` is OK when the institution acted, even if it
// froze less than requested.
struct Response {
  // A response carrying only a non-OK status.
  static Response error(Status status) {
    Response r;
    r.status = std::move(status);
    return r;
  }

  Status status;
  // QUERY: every asset the debtor holds at this institution.
  std::vector<Asset> assets;
  // FREEZE / WAITLIST_FREEZE: requested and actually frozen; DEDUCT: transferred in `frozen`.
  Fen requested;
  Fen frozen;
  // Balance at the time of the answer.
  Fen balance;
  std::vector<PriorMeasure> prior_measures;
  // WAITLIST_FREEZE: 1-based position; 0 when in effect.
  int queue_position = 0;
  std::string measure_id;
  Date effective_date;
  Date end_date;
};

// The one in-doubt rule (for the dispatcher and every kind of request): true when the
// institution may or may not have acted, so that the engine cannot know the outcome. That is
// no answer in time (kDeadlineExceeded), an institution that could not be reached
// (kUnavailable) or was too busy to take the call (kResourceExhausted), a reply that does not
// decode or lacks a result (kDataLoss), and a call cut by shutdown while in flight
// (kCancelled). The engine then keeps what the request reserved and resolves it by asking
// again with the same idempotency key; it never assumes that nothing happened. Every other
// code is a definite answer.
constexpr bool outcome_in_doubt(StatusCode code) {
  return code == StatusCode::kDeadlineExceeded || code == StatusCode::kUnavailable ||
         code == StatusCode::kResourceExhausted || code == StatusCode::kDataLoss ||
         code == StatusCode::kCancelled;
}

using BatchCompletion = std::function<void(std::vector<Response>)>;

class Connector {
 public:
  virtual ~Connector() = default;

  // The stable "category.name" of this instance, e.g. "bank.icbc".
  virtual const std::string& name() const = 0;

  // The operations this connector supports.
  virtual Capabilities capabilities() const = 0;

  // Submits a batch of requests (one or more). See the contract at the top of this file.
  virtual void async_submit(std::vector<Request> batch, BatchCompletion done) = 0;
};

}  // namespace chakong::connectors

#endif  // CHAKONG_CONNECTORS_CONNECTOR_H_
