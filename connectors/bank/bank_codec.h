// The bank adapter's codec: engine requests <-> the bank instruction / result files.
#ifndef CHAKONG_CONNECTORS_BANK_BANK_CODEC_H_
#define CHAKONG_CONNECTORS_BANK_BANK_CODEC_H_

#include <string>
#include <utility>
#include <vector>

#include "bank/bank.pb.h"
#include "chakong/connectors/connector.h"

namespace chakong::connectors::bank {

struct BankCodec {
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
  static StatusOr<std::vector<std::pair<std::string, Response>>> decode_responses(
      std::string_view bytes);
  static StatusOr<std::vector<Request>> decode_requests(std::string_view bytes);
  static std::string encode_responses(const std::vector<std::pair<std::string, Response>>& r);
};

}  // namespace chakong::connectors::bank

#endif  // CHAKONG_CONNECTORS_BANK_BANK_CODEC_H_
