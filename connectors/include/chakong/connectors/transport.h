// Transport: how an adapter's encoded bytes reach its institution and the reply comes back.
//
// An adapter encodes a batch of requests into the institution's own protocol and calls
// async_call(); the transport delivers the bytes (a TCP or HTTPS channel, a file drop, a
// message queue in production; an in-process endpoint in the sandbox) and completes with the
// reply bytes, or with kUnavailable when the institution cannot be reached.
//
// Contract: `done` runs exactly once, never inside async_call(), on any thread. A transport
// says nothing about whether the bytes make sense: decoding is the adapter's job.
//
// `done` is a TransportDone: move-only, with 32 bytes of inline storage, so that a callback
// that captures a shared pointer and an id or two (WireConnector's: the connector's state and
// the wire call's id) or `this` and a slot id (a wrapper transport's) allocates nothing. A
// larger capture still works, boxed on the heap. A wrapper transport that must run code when
// the inner one completes keeps the caller's `done` in a slot of its own and hands the inner
// transport a small callback naming the slot (sim::BehaviourTransport): a callback wrapping a
// TransportDone does not fit in one. Plugin ABI 3 (it was a std::function until ABI 2).
#ifndef CHAKONG_CONNECTORS_TRANSPORT_H_
#define CHAKONG_CONNECTORS_TRANSPORT_H_

#include <string>

#include "chakong/base/function.h"
#include "chakong/base/status.h"

namespace chakong::connectors {

// Inline storage of a TransportDone: a shared_ptr and two 8-byte ids.
inline constexpr size_t kTransportDoneInline = 32;
using TransportDone = UniqueFunction<void(StatusOr<std::string> reply), kTransportDoneInline>;

class Transport {
 public:
  virtual ~Transport() = default;
  virtual void async_call(std::string request, TransportDone done) = 0;
};

}  // namespace chakong::connectors

#endif  // CHAKONG_CONNECTORS_TRANSPORT_H_
