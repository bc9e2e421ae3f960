// WireConnector<Codec>: an adapter that speaks an institution's own Protobuf protocol over a
// Transport, and the factory and sandbox endpoint that go with it. Every built-in adapter is
// one of these with its own Codec; a plugin can be too.
//
// A Codec is a struct with:
//   using Config = <config message>;   // with string name, uint32 timeout_ms, uint32 max_batch
//   static constexpr std::string_view kKind;             // "bank"
//   static constexpr AssetCategory kCategory;
//   static Capabilities capabilities(const Config&);
//   static Status validate_extra(const Config&);         // kind-specific fields
//   static void set_defaults(Config*);                   // kind-specific defaults
//   // Adapter side:
//   static std::string encode_requests(BatchView);        // the requests of one wire call
//   static StatusOr<size_t> decode_responses(             // (idempotency key, response) into
//       std::string_view bytes,                           // out[0, n), out's elements reused
//       std::vector<std::pair<std::string, Response>>& out);   // (wire::decode_each_into)
//   // Institution side (sandbox endpoint):
//   static Status decode_requests(std::string_view bytes,  // appended with wire::add_request
//                                 std::vector<Request>& out);
//   static std::string encode_responses(wire::Results);   // a span of (key, response)
//
// A codec written for the first form of the contract (`StatusOr<std::vector<std::pair<
// std::string, Response>>> decode_responses(std::string_view)`, `StatusOr<std::vector<Request>>
// decode_requests(std::string_view)`, `encode_responses(const std::vector<...>&)`) works too,
// at the cost of the vectors and strings they build per call.
//
// The connector keeps the contract of connector.h: requests outside capabilities() complete
// with kUnimplemented without being sent; a batch is split into wire calls of at most
// max_batch; each wire call has a timeout (kDeadlineExceeded); an unreachable institution is
// kUnavailable; a reply that does not decode, or lacks a result, is kDataLoss; each request
// takes the first result that carries its idempotency key, so reordered and duplicated results
// are harmless (results are matched by position with the key as the check, and by a key map
// only where the position does not match); completion runs once, on the executor, never inside
// async_submit(). shutdown() (and the destructor) completes every open call with kCancelled
// and drops late replies (an executor destroyed before it ran that task abandons the open calls
// instead: see Closer). Nothing of the batch is copied: the wire calls encode straight from
// the caller's view, keep their keys as views into it (valid while the call is open, which
// outlasts every wire call of it) and the answers are written into the caller's sink.
//
// The timeout stays although the engine's dispatcher times out each attempt too: this one is
// what completes a call whose transport never answers (rule 1 of connector.h; the dispatcher
// keeps a timed-out batch until its connector completes it, and the conformance kit calls
// connectors directly). It arms no timer per wire call: every wire call's deadline is its send
// time plus the one `timeout_ms`, so deadlines come in send order, and the connector keeps them
// in a queue with a single executor timer armed for the oldest open one. A wire call answered
// is only marked (its queue entry goes when it reaches the front), so an attempt costs the
// executor one timer (the dispatcher's) instead of two armed and two cancelled; the deadline
// timer is cancelled only when no wire call is left open (an idle connector leaves nothing
// pending). A wire call still times out at exactly its deadline; calls due at the same instant
// are timed out in send order, in one event.
//
// Threading: async_submit() and shutdown() may be called from any thread; everything else runs
// on the connector's executor.
#ifndef CHAKONG_CONNECTORS_WIRE_CONNECTOR_H_
#define CHAKONG_CONNECTORS_WIRE_CONNECTOR_H_

#include <google/protobuf/message.h>

#include <algorithm>
#include <atomic>
#include <concepts>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "chakong/connectors/factory.h"
#include "chakong/connectors/wire_util.h"

namespace chakong::connectors {

namespace internal {
// Validates the fields every wire config shares; errors read "<kind>.<field> = <value>: ...".
Status validate_common(std::string_view kind, const std::string& name, uint32_t timeout_ms,
                       uint32_t max_batch);

// Which form of the codec contract a Codec implements (see the top of this file).
template <typename Codec>
concept DecodesRequestsInto = requires(std::string_view b, std::vector<Request>& out) {
  { Codec::decode_requests(b, out) } -> std::same_as<Status>;
};
template <typename Codec>
concept DecodesResponsesInto = requires(std::string_view b,
                                        std::vector<std::pair<std::string, Response>>& out) {
  { Codec::decode_responses(b, out) } -> std::same_as<StatusOr<size_t>>;
};
template <typename Codec>
concept EncodesResponseSpan = requires(wire::Results r) {
  { Codec::encode_responses(r) } -> std::same_as<std::string>;
};

// Objects by id in reused slots, for WireConnector's open calls and wire calls: add(), find()
// and erase() are an index and a generation check (no hashing, and no allocation once the
// slots have grown to the most ever open; they are never given back). An id is not reused (until a
// slot's 32-bit generation wraps): a stale id, a late reply's or a timer's, finds nothing. A
// pointer from add() or find() is good until the next add().
template <typename T>
class Slots {
 public:
  std::pair<uint64_t, T*> add() {
    uint32_t i;
    if (!free_.empty()) {
      i = free_.back();
      free_.pop_back();
    } else {
      i = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    Slot& s = slots_[i];
    s.open = true;
    return {(uint64_t{s.generation} << 32) | i, &s.value};
  }
  T* find(uint64_t id) {
    const auto i = static_cast<uint32_t>(id);
    if (i >= slots_.size()) return nullptr;
    Slot& s = slots_[i];
    return s.open && s.generation == static_cast<uint32_t>(id >> 32) ? &s.value : nullptr;
  }
  // Ends the object of `id`, which must be open. A T with reuse() is reset by it (keeping
  // buffers for the next object of the slot), any other T is replaced by T().
  void erase(uint64_t id) {
    const auto i = static_cast<uint32_t>(id);
    Slot& s = slots_[i];
    if constexpr (requires(T & t) { t.reuse(); }) {
      s.value.reuse();
    } else {
      s.value = T();
    }
    s.open = false;
    ++s.generation;
    free_.push_back(i);
  }
  // Calls f(id, T&) for every open object.
  template <typename F>
  void for_each(F f) {
    for (uint32_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].open) f((uint64_t{slots_[i].generation} << 32) | i, slots_[i].value);
    }
  }

 private:
  struct Slot {
    T value;
    uint32_t generation = 0;
    bool open = false;
  };
  // A deque: growing it moves nothing (a vector would copy every slot and, while it does, hold
  // the old and the new array: three times the most slots ever open).
  std::deque<Slot> slots_;
  std::vector<uint32_t> free_;
};

// A pointer that shares an object of T through a count inside it (`std::atomic<uint32_t>
// refs`, starting at 1 for the first Ref): 8 bytes where a std::shared_ptr takes 16, so that
// the tasks and transport callbacks that hold WireConnector's state fit their inline storage
// with the reply's bytes (a task of a Ref, a wire id and a std::string is 48 bytes: the
// executor's Task holds it without allocating). Copies may be made and dropped on any thread.
template <typename T>
class Ref {
 public:
  Ref() = default;
  static Ref make() { return Ref(new T()); }
  Ref(const Ref& other) noexcept : p_(other.p_) {
    if (p_ != nullptr) p_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  Ref(Ref&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  Ref& operator=(Ref other) noexcept {
    std::swap(p_, other.p_);
    return *this;
  }
  ~Ref() {
    if (p_ != nullptr && p_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete p_;
  }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  T* get() const noexcept { return p_; }

 private:
  explicit Ref(T* p) noexcept : p_(p) {}
  T* p_ = nullptr;
};
}  // namespace internal

template <typename Codec>
class WireConnector final : public Connector {
 public:
  using Config = typename Codec::Config;

  WireConnector(Config config, ConnectorContext context)
      : name_(std::string(Codec::kKind) + "." + config.name()),
        capabilities_(Codec::capabilities(config)),
        state_(internal::Ref<State>::make()) {
    state_->executor = context.executor;
    state_->transport = std::move(context.transport);
    state_->timeout = static_cast<TimeUs>(config.timeout_ms()) * 1000;
    state_->max_batch = std::max<size_t>(1, config.max_batch());
    state_->name = name_;
    state_->caps = capabilities_;
  }
  ~WireConnector() override { shutdown(); }

  const std::string& name() const override { return name_; }
  Capabilities capabilities() const override { return capabilities_; }

  void async_submit(BatchView batch, BatchSink& sink) override {
    ++state_->in_flight;
    internal::Ref<State> s = state_;
    BatchSink* out = &sink;
    s->executor->post([s, batch, out]() mutable { State::start(s, batch, *out); });
  }

  // Completes every open call with kCancelled; later submissions are cancelled at once.
  void shutdown() {
    internal::Ref<State> s = state_;
    s->closed = true;
    s->executor->post(Closer(std::move(s)));
  }

  // Calls accepted and not yet completed.
  int in_flight() const { return state_->in_flight.load(); }

 private:
  // One submitted batch: the caller's sink (a response slot per request), filled by its wire
  // calls.
  struct Call {
    uint64_t seq = 0;  // Submission order.
    BatchSink* sink = nullptr;
    std::vector<bool> resolved;
    size_t open = 0;
    // Ended: the slot keeps `resolved`'s buffer for the next call (a batch of up to 64: a
    // slot holds what it kept for the rest of the run, and there are as many slots as calls
    // were ever open at once).
    void reuse() {
      seq = 0;
      sink = nullptr;
      open = 0;
      if (resolved.capacity() > 64) {
        resolved = std::vector<bool>();
      } else {
        resolved.clear();
      }
    }
  };

  // One wire call in flight: (idempotency key, index in the call's responses) of each request
  // in the order sent. The transport's callback and the deadline queue carry only the wire
  // call's id, so that neither copies the keys.
  struct Wire {
    uint64_t call = 0;
    std::vector<std::pair<std::string_view, size_t>> keys;  // Views into the caller's batch.
    bool distinct_keys = true;                              // No key twice (see match()).
    // Ended: the slot keeps `keys`' buffer for the next wire call (up to 8 keys; see Call).
    void reuse() {
      call = 0;
      distinct_keys = true;
      if (keys.capacity() > 8) {
        keys = {};
      } else {
        keys.clear();
      }
    }
  };

  struct State;

  // The task shutdown() posts. Run, it completes every open call with kCancelled (rule 5 of
  // connector.h). Destroyed without having run, its executor discarded it: the executor is
  // being destroyed with it pending (a simulation's end, a test's), and no task of this
  // connector will run again. The State is then abandoned (State::abandon()): without that it
  // would live for ever, held by the callbacks its own transport holds (State -> transport ->
  // callbacks -> State), a transport that will never call them. An owner that needs the calls
  // completed keeps the executor running until the task has run (chakong serve drains so).
  class Closer {
   public:
    explicit Closer(internal::Ref<State> s) noexcept : s_(std::move(s)) {}
    Closer(Closer&& other) noexcept = default;  // Ref's move leaves `other` empty.
    Closer& operator=(Closer&&) = delete;
    ~Closer() {
      if (s_.get() != nullptr) s_->abandon();
    }
    void operator()() {
      const internal::Ref<State> s = std::move(s_);
      s->cancel_all();
    }

   private:
    internal::Ref<State> s_;
  };

  struct State {
    std::atomic<uint32_t> refs{1};  // Held by internal::Ref (the connector, tasks, callbacks).
    Executor* executor = nullptr;
    std::unique_ptr<Transport> transport;
    TimeUs timeout = 0;
    size_t max_batch = 1;
    std::string name;
    std::atomic<int> in_flight{0};
    std::atomic<bool> closed{false};
    uint64_t next_seq = 1;
    internal::Slots<Call> calls;
    internal::Slots<Wire> wires;
    Capabilities caps;
    std::vector<size_t> key_hashes;  // Scratch for distinct(), kept from call to call.
    // The decoded results of a reply, kept from reply to reply (their keys' buffers too); only
    // the first `n` of a decode are that reply's.
    std::vector<std::pair<std::string, Response>> kept_results;
    static constexpr size_t kMaxKeptResults = 32;  // A larger reply's are not kept.
    // The wire calls' deadlines, (send time + timeout, wire id), in send order (so in deadline
    // order: the timeout is one and the executor's time never goes back). An entry whose wire
    // call has ended stays until it reaches the front, or until the queue holds more ended
    // entries than open ones (then it is compacted): at most about twice the wire calls open.
    // One executor timer, `deadline_timer`, is armed for the front entry while any is queued.
    std::deque<std::pair<TimeUs, uint64_t>> deadlines;
    TimerHandle deadline_timer;
    bool deadline_armed = false;
    size_t open_wires = 0;

    static void start(const internal::Ref<State>& s, BatchView batch, BatchSink& sink) {
      const auto [id, call] = s->calls.add();
      call->seq = s->next_seq++;
      call->sink = &sink;
      call->resolved.assign(batch.size(), false);
      call->open = batch.size();
      if (s->closed) {
        s->finish_all(id, cancelled_error(s->name + " is shut down"));
        return;
      }
      size_t supported = 0;
      for (const Request& r : batch) supported += s->caps.has(r.kind) ? 1 : 0;
      if (supported == batch.size() && batch.size() <= s->max_batch && !batch.empty()) {
        // The common case: the whole batch is one wire call, sent as it came.
        send(s, id, batch, nullptr);
      } else {
        std::vector<size_t> wire;
        wire.reserve(supported);
        for (size_t i = 0; i < batch.size(); ++i) {
          if (s->caps.has(batch[i].kind)) wire.push_back(i);
        }
        std::vector<const Request*> chunk;
        for (size_t from = 0; from < wire.size(); from += s->max_batch) {
          const size_t to = std::min(wire.size(), from + s->max_batch);
          chunk.clear();
          for (size_t k = from; k < to; ++k) chunk.push_back(&batch[wire[k]]);
          const std::vector<size_t> index(wire.begin() + static_cast<std::ptrdiff_t>(from),
                                          wire.begin() + static_cast<std::ptrdiff_t>(to));
          send(s, id, BatchView(chunk), &index);
        }
        // Unsupported requests are answered after the wire calls left (resolving the last of
        // them may complete the call).
        for (size_t i = 0; i < batch.size(); ++i) {
          if (s->caps.has(batch[i].kind)) continue;
          Response refused = Response::error(unimplemented_error(
              s->name + " does not support " + std::string(request_kind_name(batch[i].kind))));
          // The call completing here is the last touch of the batch: stop.
          if (s->resolve(id, s->calls.find(id), i, std::move(refused))) return;
        }
      }
      // Only an empty batch is still open with nothing to wait for.
      Call* c = s->calls.find(id);
      if (c != nullptr && c->open == 0) s->complete(id, c);
    }

    // Encodes `chunk` (request k answers the call's index[k], or k when `index` is null), arms
    // the wire call's timeout and hands the bytes to the transport.
    static void send(const internal::Ref<State>& s, uint64_t id, BatchView chunk,
                     const std::vector<size_t>* index) {
      std::string bytes = Codec::encode_requests(chunk);
      const auto [w, wire] = s->wires.add();
      wire->call = id;
      wire->keys.reserve(chunk.size());
      for (size_t k = 0; k < chunk.size(); ++k) {
        wire->keys.emplace_back(chunk[k].idempotency_key, index ? (*index)[k] : k);
      }
      wire->distinct_keys = s->distinct(wire->keys);  // Now, while the keys are in the cache.
      // The timeout of this wire call: the connector must complete even when the transport
      // never answers (contract rule 1), whatever its caller does about time.
      ++s->open_wires;
      s->deadlines.emplace_back(s->executor->now() + s->timeout, w);
      if (!s->deadline_armed) s->arm_deadline();
      // The callback (a Ref and an id) and the task it posts (with the reply's bytes: 48 bytes)
      // are stored inline: no allocation. Only a failed call's task (a Status) is boxed.
      s->transport->async_call(std::move(bytes), [s, w](StatusOr<std::string> reply) mutable {
        Executor* const ex = s->executor;
        if (reply.ok()) {
          ex->post([s = std::move(s), w, bytes = std::move(*reply)]() mutable {
            s->on_reply(w, StatusOr<std::string>(std::move(bytes)));
          });
        } else {
          ex->post([s = std::move(s), w, status = reply.status()]() mutable {
            s->on_reply(w, StatusOr<std::string>(std::move(status)));
          });
        }
      });
    }

    // Arms the one deadline timer for the front of `deadlines` (which is not empty). The task
    // holds the State by plain pointer (small and trivially copyable: no allocation), which is
    // safe because the State lives while the timer is armed: a transport callback holds it
    // while any wire call is open, after the connector is gone the cancel_all() task does, and
    // cancel_all() cancels the timer.
    void arm_deadline() {
      State* const self = this;
      deadline_armed = true;
      deadline_timer = executor->run_at(deadlines.front().first, [self] { self->on_deadline(); });
    }

    // Times out every wire call whose deadline has come, drops the entries of ended ones from
    // the front, and arms the timer for the next open one.
    void on_deadline() {
      deadline_armed = false;
      const TimeUs now = executor->now();
      while (!deadlines.empty()) {
        const auto [due, w] = deadlines.front();
        if (wires.find(w) != nullptr) {
          if (due > now) break;
          deadlines.pop_front();
          on_timeout(w);  // May end other calls (never add one: async_submit() only posts).
        } else {
          deadlines.pop_front();
        }
      }
      if (!deadlines.empty() && !deadline_armed) arm_deadline();
    }

    // A wire call ended (answered, timed out or cancelled): its deadline entry is dropped at
    // the front, or by a compaction when ended entries outnumber open ones (a call that stays
    // open long would otherwise keep behind it the entry of every call sent after it).
    void wire_ended() {
      --open_wires;
      while (!deadlines.empty() && wires.find(deadlines.front().second) == nullptr) {
        deadlines.pop_front();
      }
      if (deadlines.size() > 2 * open_wires + 64) {
        std::erase_if(deadlines, [&](const auto& d) { return wires.find(d.second) == nullptr; });
      }
      // While calls are open the timer stays armed for an entry gone (it finds it ended and
      // looks at the next): not cancelling it is what saves the cancel per wire call. With
      // none open it is cancelled, so that an idle connector leaves no event pending.
      if (open_wires == 0 && deadline_armed) {
        executor->cancel(deadline_timer);
        deadline_armed = false;
        deadlines.clear();
      }
    }

    // The wire call's slot stays in place while its answers are handed out (nothing in between
    // adds a wire call: async_submit() only posts) and is ended after, keeping its buffers.
    void on_timeout(uint64_t w) {
      Wire* wire = wires.find(w);
      if (wire == nullptr) return;
      fail_open(*wire, [&] {
        return deadline_exceeded_error(name + " did not answer within " +
                                       std::to_string(timeout / 1000) + " ms");
      });
      wires.erase(w);
      wire_ended();
    }

    void on_reply(uint64_t w, StatusOr<std::string> reply) {
      Wire* wire = wires.find(w);
      if (wire == nullptr) return;  // Timed out or cancelled: a late reply.
      answer(*wire, reply);
      if (reply.ok()) wire::give_bytes(*reply);  // Decoded: for the next encoding.
      wires.erase(w);
      wire_ended();
    }

    void answer(const Wire& wire, StatusOr<std::string>& reply) {
      if (!reply.ok()) {
        const StatusCode c = reply.status().code();
        fail_open(wire, [&] {
          return Status(c == StatusCode::kUnknown ? StatusCode::kUnavailable : c,
                        name + ": " + reply.status().message());
        });
        return;
      }
      // Decoded into the kept results (taken out while in use: a nested reply would get none).
      std::vector<std::pair<std::string, Response>> kept = std::move(kept_results);
      size_t n = 0;
      Status decoded;
      if constexpr (internal::DecodesResponsesInto<Codec>) {
        StatusOr<size_t> r = Codec::decode_responses(*reply, kept);
        if (r.ok()) n = *r;
        decoded = r.status();
      } else {
        StatusOr<std::vector<std::pair<std::string, Response>>> r = Codec::decode_responses(*reply);
        if (r.ok()) {
          kept = std::move(*r);
          n = kept.size();
        }
        decoded = r.status();
      }
      bool completed = false;
      if (decoded.ok()) completed = match(wire, std::span(kept.data(), n));
      if (kept.capacity() <= kMaxKeptResults) kept_results = std::move(kept);
      if (!decoded.ok()) {
        fail_open(wire, [&] {
          return data_loss_error(name + " sent a reply that does not decode: " + decoded.message());
        });
        return;
      }
      if (completed) return;  // The call completed.
      fail_open(wire, [&] {
        return data_loss_error(name + " sent a reply without a result for this instruction");
      });
    }

    // Gives each request of `wire` the first result that carries its key (a result of a key
    // already answered, or of no request, is ignored: duplicated, reordered and stray results
    // are harmless). Results are matched by position with the key as the check; a key map is
    // built only for what does not match by position. True when that completed the call.
    bool match(const Wire& wire, std::span<std::pair<std::string, Response>> results) {
      Call* call = calls.find(wire.call);
      if (call == nullptr) return true;
      if (!wire.distinct_keys) return match_repeated_keys(wire, call, results);
      // With distinct keys, request k's first result is results[k] when the results up to k
      // carry the keys up to k, and each result answers at most one request: moved, not copied.
      const size_t n = wire.keys.size();
      size_t k = 0;
      for (; k < n && k < results.size() && results[k].first == wire.keys[k].first; ++k) {
        if (resolve(wire.call, call, wire.keys[k].second, std::move(results[k].second))) {
          return true;
        }
      }
      if (k == n || k == results.size()) return false;
      // The rest by key, among the results after the matched prefix (the prefix carries other
      // requests' keys). Only the first result of a key counts.
      std::unordered_map<std::string_view, size_t> first;
      first.reserve(results.size() - k);
      for (size_t j = k; j < results.size(); ++j) first.emplace(results[j].first, j);
      for (; k < n; ++k) {
        auto f = first.find(wire.keys[k].first);
        if (f == first.end()) continue;
        if (resolve(wire.call, call, wire.keys[k].second, std::move(results[f->second].second))) {
          return true;
        }
      }
      return false;
    }

    // The same when one key appears more than once in a wire call (a batch that carries a
    // request twice): every request with that key takes the key's first result, copied.
    bool match_repeated_keys(const Wire& wire, Call* call,
                             std::span<const std::pair<std::string, Response>> results) {
      for (const auto& [key, response] : results) {
        for (const auto& [k, i] : wire.keys) {
          if (k == key && resolve(wire.call, call, i, response)) return true;
        }
      }
      return false;
    }

    // False when two of `keys` may be equal (equal hashes; a collision only costs the slower
    // exact path of match()). No allocation once key_hashes has grown to max_batch.
    bool distinct(const std::vector<std::pair<std::string_view, size_t>>& keys) {
      if (keys.size() < 2) return true;
      key_hashes.clear();
      for (const auto& [k, i] : keys) key_hashes.push_back(std::hash<std::string_view>{}(k));
      std::sort(key_hashes.begin(), key_hashes.end());
      return std::adjacent_find(key_hashes.begin(), key_hashes.end()) == key_hashes.end();
    }

    // Resolves every still-open request of `wire` with the status `make()` returns (built
    // only if one is open).
    template <typename MakeStatus>
    void fail_open(const Wire& wire, MakeStatus make) {
      Call* call = calls.find(wire.call);
      if (call == nullptr) return;
      std::optional<Status> status;
      for (const auto& [k, i] : wire.keys) {
        if (call->resolved[i]) continue;
        if (!status) status = make();
        if (resolve(wire.call, call, i, Response::error(*status))) return;
      }
    }

    // Fills response `i` of call `id` (at `call`) unless it is filled already (duplicates are
    // harmless). True when that was the call's last open response: the call has completed and
    // `call` is gone.
    bool resolve(uint64_t id, Call* call, size_t i, Response r) {
      if (call->resolved[i]) return false;
      call->resolved[i] = true;
      call->sink->response(i) = std::move(r);
      if (--call->open != 0) return false;
      complete(id, call);
      return true;
    }
    void resolve(uint64_t id, size_t i, Response r) {
      if (Call* call = calls.find(id)) resolve(id, call, i, std::move(r));
    }

    void finish_all(uint64_t id, const Status& status) {
      Call* call = calls.find(id);
      if (call == nullptr) return;
      for (size_t i = 0; i < call->resolved.size(); ++i) {
        if (!call->resolved[i]) {
          call->resolved[i] = true;
          call->sink->response(i) = Response::error(status);
        }
      }
      complete(id, call);
    }

    void complete(uint64_t id, Call* c) {
      BatchSink* const sink = c->sink;
      calls.erase(id);
      --in_flight;
      sink->complete();  // The last touch of the caller's batch.
    }

    // Ends every wire call without an answer: their deadlines and slots go, so a late reply
    // finds nothing. The deadline timer is the caller's (cancelled, or its executor gone).
    void drop_wires() {
      deadline_armed = false;
      deadlines.clear();
      open_wires = 0;
      std::vector<uint64_t> ids;
      wires.for_each([&](uint64_t w, Wire&) { ids.push_back(w); });
      for (uint64_t w : ids) wires.erase(w);
    }

    void cancel_all() {
      // No wire call outlives this: the deadline timer is cancelled, a late reply finds nothing.
      if (deadline_armed) executor->cancel(deadline_timer);
      drop_wires();
      // The open calls in the order they were submitted.
      std::vector<std::pair<uint64_t, uint64_t>> open;  // (seq, id)
      calls.for_each([&](uint64_t id, Call& call) { open.emplace_back(call.seq, id); });
      std::sort(open.begin(), open.end());
      for (const auto& [seq, id] : open) finish_all(id, cancelled_error(name + " is shut down"));
    }

    // The shutdown task was discarded un-run with its executor (see Closer): the open calls
    // are dropped without completing (no executor is left to complete them on, and their
    // sinks' owners may be gone with it), and the transport is destroyed now, with the
    // callbacks it holds, whose Refs are what keeps this State alive. Safe because nothing of
    // the transport runs again either: its tasks are on this executor, or on one destroyed
    // with it. Touches no executor (this one is being destroyed) and no sink.
    void abandon() {
      drop_wires();
      std::vector<uint64_t> ids;
      calls.for_each([&](uint64_t id, Call&) { ids.push_back(id); });
      for (uint64_t id : ids) calls.erase(id);
      in_flight = 0;
      // Moved out first: the callbacks' Refs drop while the transport is destroyed, and the
      // Closer's Ref keeps this State alive until after.
      std::unique_ptr<Transport> t = std::move(transport);
      t.reset();
    }
  };

  std::string name_;
  Capabilities capabilities_;
  internal::Ref<State> state_;
};

// Serves a Codec's protocol from a GroundTruth: decodes the instructions, lets the ground truth
// act on them at receipt, and replies after the configured latency.
template <typename Codec>
class SandboxEndpoint final : public Transport {
 public:
  SandboxEndpoint(GroundTruth& truth, Executor& executor, EndpointOptions options)
      : truth_(truth), executor_(executor), options_(std::move(options)) {}

  // The institution takes the bytes now, processes them when its latency has passed (and it
  // is able to: EndpointOptions::process_at), acting on the ground truth then, and replies.
  // A call in progress lives in a reused slot (its decoded requests in reused buffers, see
  // wire::add_request) and its tasks carry only the slot's id: no allocation per call in the
  // steady state but the reply's bytes. The bytes are decoded here, at receipt (decoding
  // touches no ground truth and calls nothing back): one event per call, the processing.
  // On a virtual executor every caller is on its thread (executor.h), so the call is taken at
  // once. A real-time endpoint is called from any thread (a SocketServer calls it from each
  // connection's thread) and first hops onto its executor: its calls and the executor's timers
  // are touched only there.
  void async_call(std::string request, TransportDone done) override {
    if (!executor_.is_virtual()) {
      executor_.post([this, request = std::move(request), done = std::move(done)]() mutable {
        take(std::move(request), std::move(done));
      });
      return;
    }
    take(std::move(request), std::move(done));
  }

 private:
  struct Pending {
    std::string request;
    TransportDone done;
    std::vector<Request> batch;  // Decoded at receipt.
    Status error;                // Or why it does not decode.
    // Ended: the requests and their vector go back to this thread's spares (wire::give_back);
    // the slot keeps no buffer.
    void reuse() {
      request = std::string();
      done = nullptr;
      wire::give_back(batch);
      error = ok_status();
    }
  };

  void take(std::string request, TransportDone done) {
    const auto [id, call] = calls_.add();
    call->request = std::move(request);
    call->done = std::move(done);
    receive(id);
  }

  void receive(uint64_t id) {
    Pending& p = *calls_.find(id);
    if constexpr (internal::DecodesRequestsInto<Codec>) {
      p.batch = wire::take_batch();
      p.error = Codec::decode_requests(p.request, p.batch);
      for (Request& r : p.batch) wire::trim(r);
    } else {
      StatusOr<std::vector<Request>> batch = Codec::decode_requests(p.request);
      if (batch.ok()) {
        p.batch = std::move(*batch);
      } else {
        p.error = batch.status();
      }
    }
    wire::give_bytes(p.request);  // Read: for the next encoding on this thread.
    if (!p.error.ok()) {
      executor_.run_after(options_.latency, [this, id] {
        Pending& f = *calls_.find(id);
        TransportDone done = std::move(f.done);
        const Status s = std::move(f.error);
        calls_.erase(id);
        done(invalid_argument_error("institution could not read the request: " + s.message()));
      });
      return;
    }
    const TimeUs latency = options_.latency_fn ? options_.latency_fn(p.batch) : options_.latency;
    TimeUs when = executor_.now() + std::max<TimeUs>(0, latency);
    if (options_.process_at) when = std::max(when, options_.process_at(executor_.now(), when));
    executor_.run_at(when, [this, id] { process(id); });
  }

  void process(uint64_t id) {
    Pending& p = *calls_.find(id);
    const size_t n = p.batch.size();
    const size_t m = options_.duplicate_results ? 2 * n : n;
    if (results_.size() < m) results_.resize(m);
    const Date today = date_of(executor_.now());
    for (size_t k = 0; k < n; ++k) {
      const Request& r = p.batch[k];
      results_[k].first.assign(r.idempotency_key);
      results_[k].second = truth_.handle(r, today);
    }
    if (options_.reverse_results) std::reverse(results_.begin(), results_.begin() + n);
    for (size_t k = n; k < m; ++k) results_[k] = results_[k - n];
    std::string reply;
    if constexpr (internal::EncodesResponseSpan<Codec>) {
      reply = Codec::encode_responses(wire::Results(results_.data(), m));
    } else {
      reply = Codec::encode_responses(std::vector<std::pair<std::string, Response>>(
          results_.begin(), results_.begin() + static_cast<std::ptrdiff_t>(m)));
    }
    // The answers' assets and measures are not kept until the next call, nor more than 32.
    for (size_t k = 0; k < m; ++k) results_[k].second = Response();
    if (results_.size() > 32) results_ = {};
    TransportDone done = std::move(p.done);
    calls_.erase(id);
    done(std::move(reply));
  }

  GroundTruth& truth_;
  Executor& executor_;
  EndpointOptions options_;
  internal::Slots<Pending> calls_;
  // (key, response) of the call being answered, kept from call to call (the keys' buffers).
  std::vector<std::pair<std::string, Response>> results_;
};

template <typename Codec>
class WireConnectorFactory final : public ConnectorFactory {
 public:
  using Config = typename Codec::Config;

  std::string_view kind() const override { return Codec::kKind; }
  AssetCategory category() const override { return Codec::kCategory; }

  std::unique_ptr<google::protobuf::Message> default_config() const override {
    auto c = std::make_unique<Config>();
    c->set_name("sandbox");
    c->set_timeout_ms(60'000);
    c->set_max_batch(100);
    Codec::set_defaults(c.get());
    return c;
  }

  Status validate(const google::protobuf::Message& message) const override {
    const Config* c = dynamic_cast<const Config*>(&message);
    if (c == nullptr) {
      return invalid_argument_error(std::string(Codec::kKind) + " config must be " +
                                    Config().GetTypeName() + ", got " + message.GetTypeName());
    }
    CHAKONG_RETURN_IF_ERROR(
        internal::validate_common(Codec::kKind, c->name(), c->timeout_ms(), c->max_batch()));
    return Codec::validate_extra(*c);
  }

  StatusOr<std::unique_ptr<Connector>> create(const google::protobuf::Message& message,
                                              ConnectorContext context) const override {
    CHAKONG_RETURN_IF_ERROR(validate(message));
    if (context.executor == nullptr) return invalid_argument_error("context.executor is null");
    if (context.transport == nullptr) return invalid_argument_error("context.transport is null");
    std::unique_ptr<Connector> c = std::make_unique<WireConnector<Codec>>(
        static_cast<const Config&>(message), std::move(context));
    return c;
  }

  std::unique_ptr<Transport> sandbox_endpoint(GroundTruth& truth, Executor& executor,
                                              EndpointOptions options) const override {
    return std::make_unique<SandboxEndpoint<Codec>>(truth, executor, options);
  }
};

}  // namespace chakong::connectors

#endif  // CHAKONG_CONNECTORS_WIRE_CONNECTOR_H_
