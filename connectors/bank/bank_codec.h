// The bank adapter's codec: engine requests <-> the bank instruction / result files.
#ifndef CHAKONG_CONNECTORS_BANK_BANK_CODEC_H_
#define CHAKONG_CONNECTORS_BANK_BANK_CODEC_H_

#include <string>
#include <utility>
#include <vector>

#include "bank/bank.pb.h"
#include "chakong/connectors/connector.h"
#include "chakong/connectors/wire_util.h"

namespace chakong::connectors::bank {

struct BankCodec : wire::VectorForms<BankCodec> {
  using Config = v1::BankConfig;
  static constexpr std::string_view kKind = "bank";
  static constexpr AssetCategory kCategory = AssetCategory::kDeposit;
  static Capabilities capabilities(const Config&) { return Capabilities::all(); }
  static Status validate_extra(const Config&) { return ok_status(); }
  static void set_defaults(Config* c) { c->set_top_up(true); }

  static std::string encode_requests(BatchView batch);
  // The same for requests in a vector (tests, benchmarks).
  static std::string encode_requests(const std::vector<Request>& batch) {
    const std::vector<const Request*> pointers = pointers_to(batch);
    return encode_requests(BatchView(pointers));
  }
  // The reply's results into out[0, n), reusing out's elements (wire::decode_each_into).
  static StatusOr<size_t> decode_responses(std::string_view bytes,
                                           std::vector<std::pair<std::string, Response>>& out);
  // Appends the instructions to `out` (wire::add_request: reused buffers); on an error `out`
  // holds a part of them.
  static Status decode_requests(std::string_view bytes, std::vector<Request>& out);
  // The vector-returning forms of both decoders (tests, tools).
  using wire::VectorForms<BankCodec>::decode_requests;
  using wire::VectorForms<BankCodec>::decode_responses;
  static std::string encode_responses(wire::Results r);
};

}  // namespace chakong::connectors::bank

#endif  // CHAKONG_CONNECTORS_BANK_BANK_CODEC_H_
