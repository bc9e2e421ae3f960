// The wire form of the messages between the simulator's logical processes when they are on
// different MPI ranks (proto/chakong/v1/lp.proto): a batch of requests from an engine shard to
// an institution and the batch of its answers. The kernel (sim::ParallelTime::send_bytes)
// carries the bytes with their virtual time, source and destination LP; these hold the call's
// number, to pair an answer with its call, and the requests or responses, converted field for
// field (connectors/proto_convert.h), so that a decoded batch equals the one encoded.
//
// Decoding checks what it reads: bytes that are not an LpMessage, a message with no body, and
// a request or response whose field does not convert are kDataLoss errors naming the field
// ("lp message requests[2].asset.category: 9 is not an asset category").
#ifndef CHAKONG_SIM_SRC_LP_WIRE_H_
#define CHAKONG_SIM_SRC_LP_WIRE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "chakong/base/status.h"
#include "chakong/connectors/connector.h"

namespace chakong::sim::lp_wire {

struct RequestBatch {
  uint64_t call = 0;
  std::vector<connectors::Request> requests;
  bool parts = false;  // The caller's sink takes parts (BatchSink::takes_parts).
};

struct ResponseBatch {
  uint64_t call = 0;
  std::vector<connectors::Response> responses;
  uint32_t extra = 0;
  // Not ok: the institution's side could not read the call; every request gets this status.
  Status error;
  // Parts ahead of the call's answer (the call stays open): responses[k] answers, in part,
  // request index[k].
  bool part = false;
  std::vector<uint32_t> index;
};

using Message = std::variant<RequestBatch, ResponseBatch>;

std::string encode_requests(uint64_t call, connectors::BatchView batch, bool parts = false);
// Parts of the answers to call `call` (request index, part), ahead of its answer.
std::string encode_parts(uint64_t call,
                         std::span<const std::pair<uint32_t, connectors::Response>> parts);
std::string encode_responses(uint64_t call, std::span<const connectors::Response> responses,
                             uint32_t extra);
// The answer to a call whose requests could not be read: `error` for every request.
std::string encode_error(uint64_t call, const Status& error);

// kDataLoss naming the field for anything malformed.
StatusOr<Message> decode(std::string_view bytes);

// The call number of a message whose body is otherwise unreadable, when its header is
// readable (0 if not): lets the receiver answer the call it belongs to.
uint64_t call_of(std::string_view bytes);

}  // namespace chakong::sim::lp_wire

#endif  // CHAKONG_SIM_SRC_LP_WIRE_H_
