// An example connector plugin: a trust company's custody accounts, with its own protocol,
// built out of tree against the installed Chakong headers only and loaded at run time:
//
//   chakong conformance --plugin build/libtrust_connector.so --connector trust
#include <chakong/connectors/factory.h>
#include <chakong/connectors/wire_connector.h>
#include <chakong/connectors/wire_util.h>

#include <array>

#include "trust.pb.h"

namespace {

using namespace chakong;
using namespace chakong::connectors;

constexpr std::array<std::pair<RequestKind, std::string_view>, 7> kActions = {{
    {RequestKind::kQuery, "LOOKUP"},
    {RequestKind::kFreeze, "HOLD"},
    {RequestKind::kWaitlistFreeze, "QUEUE"},
    {RequestKind::kRenew, "EXTEND"},
    {RequestKind::kRelease, "UNHOLD"},
    {RequestKind::kDeduct, "PAYOUT"},
    {RequestKind::kMeasureStatus, "STATUS"},
}};

struct TrustCodec {
  using Config = example::trust::v1::TrustConfig;
  static constexpr std::string_view kKind = "trust";
  static constexpr AssetCategory kCategory = AssetCategory::kDeposit;
  static Capabilities capabilities(const Config&) { return Capabilities::all(); }
  static Status validate_extra(const Config&) { return ok_status(); }
  static void set_defaults(Config*) {}

  static std::string encode_requests(BatchView batch) {
    example::trust::v1::OrderSheet sheet;
    for (const Request& r : batch) {
      auto* o = sheet.add_orders();
      o->set_order_id(r.idempotency_key);
      for (const auto& [k, a] : kActions) {
        if (k == r.kind) o->set_action(std::string(a));
      }
      o->set_case_ref(r.case_number);
      o->set_client_id(r.debtor_id);
      o->set_officer(r.officer_id);
      o->set_ruling(r.ruling_number);
      o->set_custody_account(r.asset.reference);
      o->set_amount_fen(r.amount.value());
      o->set_hold_id(r.measure_id);
    }
    return sheet.SerializeAsString();
  }

  static StatusOr<std::vector<Request>> decode_requests(std::string_view bytes) {
    example::trust::v1::OrderSheet sheet;
    if (!sheet.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return invalid_argument_error("order sheet does not parse");
    }
    std::vector<Request> out;
    for (const auto& o : sheet.orders()) {
      Request r;
      bool known = false;
      for (const auto& [k, a] : kActions) {
        if (a == o.action()) {
          r.kind = k;
          known = true;
        }
      }
      if (!known) return invalid_argument_error("order " + o.order_id() + ": unknown action");
      r.idempotency_key = o.order_id();
      r.case_number = o.case_ref();
      r.debtor_id = o.client_id();
      r.officer_id = o.officer();
      r.ruling_number = o.ruling();
      r.asset = {kCategory, o.custody_account(), Fen(), o.client_id()};
      r.amount = Fen(o.amount_fen());
      r.measure_id = o.hold_id();
      out.push_back(std::move(r));
    }
    return out;
  }

  static std::string encode_responses(const std::vector<std::pair<std::string, Response>>& rs) {
    example::trust::v1::OutcomeSheet sheet;
    for (const auto& [id, r] : rs) {
      auto* o = sheet.add_outcomes();
      o->set_order_id(id);
      o->set_code(static_cast<int>(r.status.code()));
      o->set_text(r.status.message());
      for (const Asset& a : r.assets) {
        auto* c = o->add_accounts();
        c->set_custody_account(a.reference);
        c->set_client_id(a.holder_id);
        c->set_free_fen(a.value.value());
      }
      o->set_asked_fen(r.requested.value());
      o->set_held_fen(r.frozen.value());
      o->set_balance_fen(r.balance.value());
      for (const PriorMeasure& p : r.prior_measures) o->add_prior_authorities(p.authority);
      o->set_queue(r.queue_position);
      o->set_hold_id(r.measure_id);
      o->set_from_date(wire::date_out(r.effective_date));
      o->set_until_date(wire::date_out(r.end_date));
    }
    return sheet.SerializeAsString();
  }

  static StatusOr<std::vector<std::pair<std::string, Response>>> decode_responses(
      std::string_view bytes) {
    example::trust::v1::OutcomeSheet sheet;
    if (!sheet.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return invalid_argument_error("outcome sheet does not parse");
    }
    // One outcome at a time: an outcome that does not decode fails its own order only.
    using Outcome = example::trust::v1::Outcome;
    return wire::decode_each(
        sheet.outcomes(), "outcomes", [](const Outcome& o) { return o.order_id(); },
        [](const Outcome& o, const std::string& at) -> StatusOr<Response> {
          Response r;
          CHAKONG_RETURN_IF_ERROR(wire::read(&r.status, o.code(), o.text(), at + "code"));
          for (const auto& c : o.accounts()) {
            Fen v;
            CHAKONG_RETURN_IF_ERROR(wire::read(&v, c.free_fen(), at + "accounts.free_fen"));
            r.assets.push_back({kCategory, c.custody_account(), v, c.client_id()});
          }
          CHAKONG_RETURN_IF_ERROR(wire::read(&r.effective_date, o.from_date(), at + "from_date"));
          CHAKONG_RETURN_IF_ERROR(wire::read(&r.end_date, o.until_date(), at + "until_date"));
          CHAKONG_RETURN_IF_ERROR(wire::read(&r.requested, o.asked_fen(), at + "asked_fen"));
          CHAKONG_RETURN_IF_ERROR(wire::read(&r.frozen, o.held_fen(), at + "held_fen"));
          CHAKONG_RETURN_IF_ERROR(wire::read(&r.balance, o.balance_fen(), at + "balance_fen"));
          for (const std::string& a : o.prior_authorities()) r.prior_measures.push_back({a});
          r.queue_position = o.queue();
          r.measure_id = o.hold_id();
          return r;
        });
  }
};

}  // namespace

CHAKONG_PLUGIN_EXPORT int chakong_plugin_abi_version() {
  return chakong::connectors::kPluginAbiVersion;
}

// Plugin ABI 4 (the entry point of ABI 2): 0 when registered, else the status code with its
// message in `error`.
CHAKONG_PLUGIN_EXPORT int chakong_register_connectors_v2(
    chakong::connectors::ConnectorRegistry* registry, char* error, size_t error_size) {
  return chakong::connectors::plugin_status(
      registry->add(std::make_unique<WireConnectorFactory<TrustCodec>>()), error, error_size);
}
