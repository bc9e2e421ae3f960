// Transport: how an adapter's encoded bytes reach its institution and the reply comes back.
//
// An adapter encodes a batch of requests into the institution's own protocol and calls
// async_call(); the transport delivers the bytes (a TCP or HTTPS channel, a file drop, a
// message queue in production; an in-process endpoint in the sandbox) and completes with the
// reply bytes, or with kUnavailable when the institution cannot be reached.
//
// Contract: `done` runs exactly once, never inside async_call(), on any thread. A transport
// says nothing about whether the bytes make sense: decoding is the adapter's job.
#ifndef CHAKONG_CONNECTORS_TRANSPORT_H_
#define CHAKONG_CONNECTORS_TRANSPORT_H_

#include <functional>
#include <string>

#include "chakong/base/status.h"

namespace chakong::connectors {

using TransportDone = std::function<void(StatusOr<std::string> reply)>;

class Transport {
 public:
  virtual ~Transport() = default;
  virtual void async_call(std::string request, TransportDone done) = 0;
};

}  // namespace chakong::connectors

#endif  // CHAKONG_CONNECTORS_TRANSPORT_H_
