#include "lp_wire.h"

#include "chakong/connectors/proto_convert.h"
#include "chakong/v1/lp.pb.h"

namespace chakong::sim::lp_wire {
namespace {

using connectors::Request;
using connectors::Response;

std::string serialise(const v1::LpMessage& m) {
  std::string out;
  m.SerializeToString(&out);
  return out;
}

Status named(const std::string& field, const Status& s) {
  return data_loss_error("lp message " + field + s.message());
}

}  // namespace

std::string encode_requests(uint64_t call, connectors::BatchView batch, bool parts) {
  v1::LpMessage m;
  v1::LpRequestBatch* b = m.mutable_requests();
  b->set_call(call);
  b->set_parts(parts);
  for (const Request& r : batch) {
    v1::Request* o = b->add_requests();
    connectors::to_proto(r, o);
    // The wire leaves a query's asset out (it names none); a query here may still carry one
    // (the engine's own), and a decoded batch must equal the one sent.
    const Asset& a = r.asset;
    if (r.kind == connectors::RequestKind::kQuery &&
        (a.category != AssetCategory::kDeposit || !a.reference.empty() || a.value != Fen() ||
         !a.holder_id.empty() || a.quantity != 0 || a.unit_price != Fen())) {
      connectors::to_proto(a, o->mutable_asset());
    }
  }
  return serialise(m);
}

std::string encode_responses(uint64_t call, std::span<const Response> responses, uint32_t extra) {
  v1::LpMessage m;
  v1::LpResponseBatch* b = m.mutable_responses();
  b->set_call(call);
  b->set_extra(extra);
  for (const Response& r : responses) connectors::to_proto(r, b->add_responses());
  return serialise(m);
}

std::string encode_parts(uint64_t call, std::span<const std::pair<uint32_t, Response>> parts) {
  v1::LpMessage m;
  v1::LpResponseBatch* b = m.mutable_responses();
  b->set_call(call);
  b->set_part(true);
  for (const auto& [i, r] : parts) {
    b->add_index(i);
    connectors::to_proto(r, b->add_responses());
  }
  return serialise(m);
}

std::string encode_error(uint64_t call, const Status& error) {
  v1::LpMessage m;
  v1::LpResponseBatch* b = m.mutable_responses();
  b->set_call(call);
  b->set_error_code(static_cast<v1::StatusCode>(error.code()));
  b->set_error(error.message());
  return serialise(m);
}

StatusOr<Message> decode(std::string_view bytes) {
  v1::LpMessage m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return data_loss_error("lp message: " + std::to_string(bytes.size()) +
                           " bytes that do not parse as chakong.v1.LpMessage");
  }
  switch (m.body_case()) {
    case v1::LpMessage::kRequests: {
      RequestBatch out;
      out.call = m.requests().call();
      out.parts = m.requests().parts();
      out.requests.reserve(static_cast<size_t>(m.requests().requests_size()));
      for (int i = 0; i < m.requests().requests_size(); ++i) {
        StatusOr<Request> r = connectors::from_proto(m.requests().requests(i));
        if (!r.ok()) return named("requests[" + std::to_string(i) + "].", r.status());
        out.requests.push_back(std::move(*r));
      }
      return Message(std::move(out));
    }
    case v1::LpMessage::kResponses: {
      const v1::LpResponseBatch& b = m.responses();
      ResponseBatch out;
      out.call = b.call();
      out.extra = b.extra();
      if (b.error_code() != v1::STATUS_CODE_OK) {
        if (b.error_code() < 0 || b.error_code() > 16) {
          return data_loss_error("lp message error_code: " + std::to_string(b.error_code()) +
                                 " is not a status code");
        }
        out.error = Status(static_cast<StatusCode>(b.error_code()), b.error());
        return Message(std::move(out));
      }
      out.part = b.part();
      if (b.part() ? b.index_size() != b.responses_size() : b.index_size() != 0) {
        return data_loss_error("lp message index: " + std::to_string(b.index_size()) +
                               " indices for " + std::to_string(b.responses_size()) +
                               (b.part() ? " parts" : " responses that are not parts"));
      }
      out.index.assign(b.index().begin(), b.index().end());
      out.responses.reserve(static_cast<size_t>(b.responses_size()));
      for (int i = 0; i < b.responses_size(); ++i) {
        StatusOr<Response> r = connectors::from_proto(b.responses(i));
        if (!r.ok()) return named("responses[" + std::to_string(i) + "].", r.status());
        out.responses.push_back(std::move(*r));
      }
      return Message(std::move(out));
    }
    case v1::LpMessage::BODY_NOT_SET: break;
  }
  return data_loss_error("lp message body: neither requests nor responses (" +
                         std::to_string(bytes.size()) + " bytes)");
}

uint64_t call_of(std::string_view bytes) {
  v1::LpMessage m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return 0;
  if (m.has_requests()) return m.requests().call();
  if (m.has_responses()) return m.responses().call();
  return 0;
}

}  // namespace chakong::sim::lp_wire
