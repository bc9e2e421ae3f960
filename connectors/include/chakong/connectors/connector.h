// The connector contract: how the engine talks to one institution (a bank, a registry).
//
// Lifetimes (Envoy's extension model): a stateless ConnectorFactory, registered by name
// ("bank.icbc"), builds a Connector once from a validated config; the Connector then serves
// any number of calls. Requests and responses here are plain structs; a connector turns them
// into the institution's own protocol (see chakong/v1/request.proto for the wire form).
//
// A call is async_submit(BatchView batch, BatchSink& sink). The caller owns everything: the
// requests the view shows and the response slots behind the sink stay valid, and unchanged,
// from async_submit() until the connector calls sink.complete(). The connector copies nothing
// it does not need past that point, writes response i into sink.response(i) (in place: the slot
// is a default Response when the batch is submitted) and then calls sink.complete() once. After
// complete() it touches neither the view nor the sink again (the caller reuses both).
//
// The async contract, which every connector must keep and the conformance kit checks:
//  1. sink.complete() runs exactly once per submitted batch, after sink.response(i) has been
//     written for every request i of the batch (one response per request, same order),
//     whatever happens (success, institution error, timeout, shutdown).
//  2. sink.complete() never runs inside async_submit(): not even for an immediate refusal.
//  3. async_submit() never blocks; the work happens on the connector's own threads or
//     executor, and complete() may run on any thread (the engine posts it back to its shard).
//  4. An operation outside capabilities() completes with kUnimplemented, never silently.
//  5. The connector outlives its calls: its destructor (or drain()) completes every accepted
//     call (kCancelled for what it cannot finish) before the view and sink may go away.
//  6. A request carries an idempotency key; submitting the same key again must not create a
//     second measure (the institution answers with the first outcome).
//
// Threading: async_submit() may be called concurrently from several shards. Different slots of
// one sink may be written from different threads; complete() is the last touch.
//
//   connector.async_submit(batch.view(), batch);   // OwnedBatch below: a caller off the hot path
#ifndef CHAKONG_CONNECTORS_CONNECTOR_H_
#define CHAKONG_CONNECTORS_CONNECTOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
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
  // Asks where a measure stands (a waiting measure may have taken effect): no change at the
  // institution. The answer's queue_position > 0: still waiting; 0: in force, with frozen and
  // end_date; a measure no longer in force (released, lapsed, voided, deducted) is refused
  // kFailedPrecondition naming its state.
  kMeasureStatus = 7,
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
    return {RequestKind::kQuery,        RequestKind::kFreeze,  RequestKind::kWaitlistFreeze,
            RequestKind::kRenew,        RequestKind::kRelease, RequestKind::kDeduct,
            RequestKind::kMeasureStatus};
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
  // RENEW / RELEASE / DEDUCT: the measure acted on; MEASURE_STATUS: the measure asked about.
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
  // WAITLIST_FREEZE, MEASURE_STATUS: 1-based position; 0 when in effect.
  int queue_position = 0;
  std::string measure_id;
  Date effective_date;
  Date end_date;
  // Set by the engine's dispatcher on a part of a query's answer handed to the request's
  // completion ahead of its final answer (BatchSink::part); never set by a connector.
  bool part = false;
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

// A read-only view of a batch of requests: pointers to requests the caller owns (an engine's
// slab, a vector), valid until the batch completes. Cheap to copy (a pointer and a size).
class BatchView {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Request;
    using difference_type = std::ptrdiff_t;
    using pointer = const Request*;
    using reference = const Request&;
    iterator() = default;
    explicit iterator(const Request* const* p) : p_(p) {}
    const Request& operator*() const { return **p_; }
    const Request* operator->() const { return *p_; }
    iterator& operator++() {
      ++p_;
      return *this;
    }
    iterator operator++(int) { return iterator(p_++); }
    difference_type operator-(const iterator& o) const { return p_ - o.p_; }
    bool operator==(const iterator& o) const { return p_ == o.p_; }
    bool operator!=(const iterator& o) const { return p_ != o.p_; }

   private:
    const Request* const* p_ = nullptr;
  };

  constexpr BatchView() = default;
  constexpr BatchView(const Request* const* requests, size_t size)
      : requests_(requests), size_(size) {}
  // A view of `pointers` (which must stay in place while the view is used).
  explicit BatchView(const std::vector<const Request*>& pointers)
      : requests_(pointers.data()), size_(pointers.size()) {}

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Request& operator[](size_t i) const { return *requests_[i]; }
  iterator begin() const { return iterator(requests_); }
  iterator end() const { return iterator(requests_ + size_); }
  // Requests [from, from + count) of this view.
  BatchView subview(size_t from, size_t count) const { return {requests_ + from, count}; }

 private:
  const Request* const* requests_ = nullptr;
  size_t size_ = 0;
};

// Pointers to every request of `requests`, for a BatchView over a vector.
inline std::vector<const Request*> pointers_to(const std::vector<Request>& requests) {
  std::vector<const Request*> out;
  out.reserve(requests.size());
  for (const Request& r : requests) out.push_back(&r);
  return out;
}

// Where a connector writes the responses of one batch, and says it is done. Owned by the
// caller (the engine's dispatcher keeps one per batch in flight and reuses it). See the contract
// at the top of this file.
class BatchSink {
 public:
  // The response slot of request `i` (0 <= i < batch size), a default Response until written.
  // Writing a slot (through this call) is what answers request i; a slot never asked for is a
  // missing response (rule 1).
  virtual Response& response(size_t i) = 0;
  // Ends the batch: exactly once, after every slot is written, never inside async_submit().
  virtual void complete() = 0;

  // Streaming answers (a 总对总 hub whose members answer at different times): a connector may
  // give part of a QUERY request's answer ahead of the batch's end, when the sink takes parts.
  // part(i, r) hands over `r.assets` (its status is not read) as found now; the final
  // response(i) then carries the answer's status and only the assets no part gave. Any number
  // of parts, for any query of the batch, on any thread, all before complete(); a part for a
  // request that is not a query is ignored. A connector that streams asks takes_parts() on
  // the submitting thread, in async_submit(); to a sink that does not take them (the default)
  // it gives every asset in the final response.
  virtual bool takes_parts() const { return false; }
  virtual void part(size_t i, Response&& r) {
    (void)i;
    (void)r;
  }

 protected:
  ~BatchSink() = default;
};

// A batch that owns its requests and response slots and runs a callback on completion, for
// callers off the hot path (tests, tools, the kit's sandbox, examples). It must outlive the call:
// keep it until `done` has run. Counts completions and the slots written, so that a caller can
// check rule 1 itself.
class OwnedBatch final : public BatchSink {
 public:
  using Done = std::function<void(std::vector<Response>&)>;
  explicit OwnedBatch(std::vector<Request> requests, Done done = {})
      : requests_(std::move(requests)),
        pointers_(pointers_to(requests_)),
        responses_(requests_.size()),
        written_(requests_.size()),
        done_(std::move(done)) {}
  OwnedBatch(const OwnedBatch&) = delete;
  OwnedBatch& operator=(const OwnedBatch&) = delete;
  ~OwnedBatch() = default;

  BatchView view() const { return BatchView(pointers_); }
  const std::vector<Request>& requests() const { return requests_; }
  std::vector<Response>& responses() { return responses_; }

  Response& response(size_t i) override {
    if (i >= responses_.size()) {
      ++extra_;
      return overflow_;
    }
    written_[i] = 1;
    return responses_[i];
  }
  void complete() override {
    ++completions_;
    if (done_) done_(responses_);
  }

  // Times complete() ran.
  int completions() const { return completions_.load(); }
  // Distinct slots written, plus writes past the end of the batch.
  size_t answered() const {
    size_t n = extra_.load();
    for (uint8_t w : written_) n += w;
    return n;
  }

 private:
  std::vector<Request> requests_;
  std::vector<const Request*> pointers_;
  std::vector<Response> responses_;
  std::vector<uint8_t> written_;
  Response overflow_;
  std::atomic<size_t> extra_{0};
  std::atomic<int> completions_{0};
  Done done_;
};

class Connector {
 public:
  virtual ~Connector() = default;

  // The stable "category.name" of this instance, e.g. "bank.icbc".
  virtual const std::string& name() const = 0;

  // The operations this connector supports.
  virtual Capabilities capabilities() const = 0;

  // Submits a batch of requests (one or more). `batch` and `sink` stay valid until the
  // connector calls sink.complete(). See the contract at the top of this file.
  virtual void async_submit(BatchView batch, BatchSink& sink) = 0;
};

}  // namespace chakong::connectors

#endif  // CHAKONG_CONNECTORS_CONNECTOR_H_
