// The reference connector: chakong.v1 RequestBatch / ResponseBatch over a transport. It is the
// trivial adapter the conformance kit must pass (if it fails, the kit is wrong).
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/proto_convert.h"
#include "chakong/connectors/wire_connector.h"
#include "chakong/connectors/wire_util.h"
#include "reference/reference.pb.h"

namespace chakong::connectors {
namespace reference {

struct ReferenceCodec : wire::VectorForms<ReferenceCodec> {
  using Config = v1::ReferenceConfig;
  static constexpr std::string_view kKind = "reference";
  static constexpr AssetCategory kCategory = AssetCategory::kDeposit;
  static Capabilities capabilities(const Config&) { return Capabilities::all(); }
  static Status validate_extra(const Config&) { return ok_status(); }
  static void set_defaults(Config*) {}

  static std::string encode_requests(BatchView batch) {
    wire::Reused<chakong::v1::RequestBatch> b;
    b->mutable_requests()->Reserve(static_cast<int>(batch.size()));
    for (const Request& r : batch) to_proto(r, b->add_requests());
    return b.serialize();
  }
  // Appends the instructions to `out` (wire::add_request: reused buffers); on an error `out`
  // holds a part of them. decode_responses: the reply's results into out[0, n), reusing out's
  // elements (wire::decode_each_into). The vector-returning forms come from wire::VectorForms.
  using wire::VectorForms<ReferenceCodec>::decode_requests;
  using wire::VectorForms<ReferenceCodec>::decode_responses;

  static Status decode_requests(std::string_view bytes, std::vector<Request>& out) {
    wire::Reused<chakong::v1::RequestBatch> b;
    if (!b.parse(bytes)) return invalid_argument_error("request batch does not parse");
    out.reserve(out.size() + static_cast<size_t>(b->requests_size()));
    for (int i = 0; i < b->requests_size(); ++i) {
      StatusOr<Request> r = from_proto(b->requests(i));
      if (!r.ok()) {
        return invalid_argument_error("requests[" + std::to_string(i) + "]." +
                                      r.status().message());
      }
      wire::add_request(out) = std::move(*r);  // The trivial codec: not the fast path.
    }
    return ok_status();
  }
  static std::string encode_responses(wire::Results rs) {
    wire::Reused<chakong::v1::ResponseBatch> b;
    b->mutable_responses()->Reserve(static_cast<int>(rs.size()));
    for (const auto& [key, r] : rs) {
      chakong::v1::Response* o = b->add_responses();
      to_proto(r, o);
      o->set_idempotency_key(key);
    }
    return b.serialize();
  }
  static StatusOr<size_t> decode_responses(std::string_view bytes,
                                           std::vector<std::pair<std::string, Response>>& out) {
    wire::Reused<chakong::v1::ResponseBatch> b;
    if (!b.parse(bytes)) {
      return invalid_argument_error("response batch does not parse (" +
                                    std::to_string(bytes.size()) + " bytes)");
    }
    return wire::decode_each_into(
        b->responses(), "responses",
        [](const chakong::v1::Response& o) -> const std::string& { return o.idempotency_key(); },
        [](const chakong::v1::Response& o, const wire::At& at) -> StatusOr<Response> {
          StatusOr<Response> r = from_proto(o);
          if (!r.ok()) return invalid_argument_error(at.str() + r.status().message());
          return r;
        },
        out);
  }
};

}  // namespace reference

Status register_reference_connector(ConnectorRegistry& registry) {
  return registry.add(std::make_unique<WireConnectorFactory<reference::ReferenceCodec>>());
}

}  // namespace chakong::connectors
