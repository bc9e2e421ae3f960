// The securities depository adapter (CSDC-style): holdings by quantity, freezes by whole units.
// A freeze for an amount in fen asks for floor(amount / price) units, so it never exceeds the
// budget the engine reserved. Deductions of securities are not by network (cash only, policy):
// kDeduct is not a capability.
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/wire_connector.h"
#include "chakong/connectors/wire_util.h"
#include "securities/securities.pb.h"

namespace chakong::connectors {
namespace securities {
namespace {

using v1::Op;

constexpr std::pair<RequestKind, Op> kOps[] = {
    {RequestKind::kQuery, v1::OP_QUERY},
    {RequestKind::kFreeze, v1::OP_FREEZE},
    {RequestKind::kWaitlistFreeze, v1::OP_WAIT_FREEZE},
    {RequestKind::kRenew, v1::OP_RENEW},
    {RequestKind::kRelease, v1::OP_UNFREEZE},
    {RequestKind::kMeasureStatus, v1::OP_MEASURE_STATUS},
};

}  // namespace

struct SecuritiesCodec : wire::VectorForms<SecuritiesCodec> {
  using Config = v1::SecuritiesConfig;
  static constexpr std::string_view kKind = "securities";
  static constexpr AssetCategory kCategory = AssetCategory::kSecurities;
  static Capabilities capabilities(const Config&) {
    return {RequestKind::kQuery, RequestKind::kFreeze,  RequestKind::kWaitlistFreeze,
            RequestKind::kRenew, RequestKind::kRelease, RequestKind::kMeasureStatus};
  }
  static Status validate_extra(const Config&) { return ok_status(); }
  static void set_defaults(Config*) {}

  static std::string encode_requests(BatchView batch) {
    wire::Reused<v1::InstructionBatch> b;
    b->mutable_instructions()->Reserve(static_cast<int>(batch.size()));
    for (const Request& r : batch) {
      v1::Instruction* i = b->add_instructions();
      i->set_serial(r.idempotency_key);
      for (const auto& [kind, op] : kOps) {
        if (kind == r.kind) i->set_op(op);
      }
      i->set_case_no(r.case_number);
      i->set_investor_id(r.debtor_id);
      i->set_officer_no(r.officer_id);
      i->set_ruling_no(r.ruling_number);
      i->set_position_ref(r.asset.reference);
      const int64_t price = r.asset.unit_price.value();
      i->set_price_fen(price);
      i->set_quantity(price > 0 ? r.amount.value() / price : 0);
      i->set_freeze_no(r.measure_id);
    }
    return b.serialize();
  }

  // Appends the instructions to `out` (wire::add_request: reused buffers); on an error `out`
  // holds a part of them. decode_responses: the reply's results into out[0, n), reusing out's
  // elements (wire::decode_each_into). The vector-returning forms come from wire::VectorForms.
  using wire::VectorForms<SecuritiesCodec>::decode_requests;
  using wire::VectorForms<SecuritiesCodec>::decode_responses;

  static Status decode_requests(std::string_view bytes, std::vector<Request>& out) {
    wire::Reused<v1::InstructionBatch> b;
    if (!b.parse(bytes)) return invalid_argument_error("instruction batch does not parse");
    out.reserve(out.size() + static_cast<size_t>(b->instructions_size()));
    for (const v1::Instruction& i : b->instructions()) {
      Request& r = wire::add_request(out);
      bool known = false;
      for (const auto& [kind, op] : kOps) {
        if (op == i.op()) {
          r.kind = kind;
          known = true;
        }
      }
      if (!known) {
        return invalid_argument_error("instruction " + i.serial() + ": unknown op " +
                                      std::to_string(i.op()));
      }
      if (i.quantity() < 0 || i.price_fen() < 0) {
        return invalid_argument_error("instruction " + i.serial() + ": negative quantity or price");
      }
      r.idempotency_key = i.serial();
      r.case_number = i.case_no();
      r.debtor_id = i.investor_id();
      r.officer_id = i.officer_no();
      r.ruling_number = i.ruling_no();
      r.asset = {AssetCategory::kSecurities, i.position_ref(), Fen(), i.investor_id(), 0,
                 Fen(i.price_fen())};
      r.amount = Fen(i.quantity() * i.price_fen());
      r.measure_id = i.freeze_no();
    }
    return ok_status();
  }

  static std::string encode_responses(wire::Results rs) {
    wire::Reused<v1::ResultBatch> b;
    b->mutable_results()->Reserve(static_cast<int>(rs.size()));
    for (const auto& [serial, r] : rs) {
      v1::Result* o = b->add_results();
      o->set_serial(serial);
      o->set_status(static_cast<int>(r.status.code()));
      o->set_message(r.status.message());
      for (const Asset& a : r.assets) {
        v1::Holding* h = o->add_holdings();
        h->set_position_ref(a.reference);
        h->set_holder_id(a.holder_id);
        h->set_price_fen(a.unit_price.value());
        h->set_quantity(a.unit_price.value() > 0 ? a.value.value() / a.unit_price.value() : 0);
      }
      o->set_requested_value_fen(r.requested.value());
      o->set_frozen_value_fen(r.frozen.value());
      o->set_holding_value_fen(r.balance.value());
      for (const PriorMeasure& p : r.prior_measures) {
        v1::Prior* pr = o->add_priors();
        pr->set_authority(p.authority);
        pr->set_value_fen(p.amount.value());
        pr->set_end_date(wire::date_out(p.end_date));
        pr->set_position(p.queue_position);
      }
      o->set_position(r.queue_position);
      o->set_freeze_no(r.measure_id);
      o->set_effective_date(wire::date_out(r.effective_date));
      o->set_end_date(wire::date_out(r.end_date));
    }
    return b.serialize();
  }

  static StatusOr<size_t> decode_responses(std::string_view bytes,
                                           std::vector<std::pair<std::string, Response>>& out) {
    wire::Reused<v1::ResultBatch> b;
    if (!b.parse(bytes)) {
      return invalid_argument_error("result batch does not parse (" + std::to_string(bytes.size()) +
                                    " bytes)");
    }
    return wire::decode_each_into(
        b->results(), "results",
        [](const v1::Result& o) -> const std::string& { return o.serial(); },
        [](const v1::Result& o, const wire::At& at) -> StatusOr<Response> {
          Response r;
          CHAKONG_RETURN_IF_ERROR(wire::read(&r.status, o.status(), o.message(), at + "status"));
          r.assets.reserve(static_cast<size_t>(o.holdings_size()));
          for (const v1::Holding& h : o.holdings()) {
            Fen value, price;
            CHAKONG_RETURN_IF_ERROR(
                wire::read(&value, h.quantity(), h.price_fen(), at + "holdings.value"));
            CHAKONG_RETURN_IF_ERROR(wire::read(&price, h.price_fen(), at + "holdings.price_fen"));
            r.assets.push_back({AssetCategory::kSecurities, h.position_ref(), value, h.holder_id(),
                                h.quantity(), price});
          }
          CHAKONG_RETURN_IF_ERROR(
              wire::read(&r.requested, o.requested_value_fen(), at + "requested_value_fen"));
          CHAKONG_RETURN_IF_ERROR(
              wire::read(&r.frozen, o.frozen_value_fen(), at + "frozen_value_fen"));
          CHAKONG_RETURN_IF_ERROR(
              wire::read(&r.balance, o.holding_value_fen(), at + "holding_value_fen"));
          CHAKONG_RETURN_IF_ERROR(
              wire::read(&r.effective_date, o.effective_date(), at + "effective_date"));
          CHAKONG_RETURN_IF_ERROR(wire::read(&r.end_date, o.end_date(), at + "end_date"));
          for (const v1::Prior& p : o.priors()) {
            PriorMeasure pm{p.authority(), Fen(), Date(), p.position()};
            CHAKONG_RETURN_IF_ERROR(wire::read(&pm.amount, p.value_fen(), at + "priors.value_fen"));
            CHAKONG_RETURN_IF_ERROR(wire::read(&pm.end_date, p.end_date(), at + "priors.end_date"));
            r.prior_measures.push_back(std::move(pm));
          }
          r.queue_position = o.position();
          r.measure_id = o.freeze_no();
          return r;
        },
        out);
  }
};

}  // namespace securities

Status register_securities_connector(ConnectorRegistry& registry) {
  return registry.add(std::make_unique<WireConnectorFactory<securities::SecuritiesCodec>>());
}

}  // namespace chakong::connectors
