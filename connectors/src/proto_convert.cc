#include "chakong/connectors/proto_convert.h"

#include "chakong/connectors/wire_util.h"

namespace chakong::connectors {
namespace {

void asset_out(const Asset& a, chakong::v1::Asset* o) {
  o->set_category(static_cast<chakong::v1::AssetCategory>(a.category));
  o->set_reference(a.reference);
  o->set_value_fen(a.value.value());
  o->set_holder_id(a.holder_id);
  o->set_quantity(a.quantity);
  o->set_unit_price_fen(a.unit_price.value());
  o->set_divisible(is_divisible(a.category));
}

// `at` names the asset's fields in an error ("asset.", "assets[2]."), formatted only then.
StatusOr<Asset> asset_in(const chakong::v1::Asset& o, const wire::At& at) {
  if (o.category() < 1 || o.category() > 5) {
    return invalid_argument_error(at.str() + "category: " + std::to_string(o.category()) +
                                  " is not an asset category");
  }
  Asset a;
  CHAKONG_RETURN_IF_ERROR(wire::read(&a.value, o.value_fen(), at + "value_fen"));
  a.category = static_cast<AssetCategory>(o.category());
  a.reference = o.reference();
  a.holder_id = o.holder_id();
  a.quantity = o.quantity();
  CHAKONG_RETURN_IF_ERROR(wire::read(&a.unit_price, o.unit_price_fen(), at + "unit_price_fen"));
  if (o.quantity() != 0 || o.unit_price_fen() != 0) {
    // Units times the unit price must be a value in fen: negative or overflowing is refused.
    Fen product;
    CHAKONG_RETURN_IF_ERROR(
        wire::read(&product, o.quantity(), o.unit_price_fen(), at + "quantity x unit_price_fen"));
  }
  return a;
}

}  // namespace

void to_proto(const Asset& in, chakong::v1::Asset* out) { asset_out(in, out); }

StatusOr<Asset> from_proto(const chakong::v1::Asset& in) {
  return asset_in(in, wire::At("asset."));
}

void to_proto(const Request& in, chakong::v1::Request* out) {
  out->set_kind(static_cast<chakong::v1::RequestKind>(in.kind));
  out->set_idempotency_key(in.idempotency_key);
  out->set_case_number(in.case_number);
  out->set_debtor_id(in.debtor_id);
  out->set_officer_id(in.officer_id);
  out->set_ruling_number(in.ruling_number);
  out->set_purpose(in.purpose);
  if (in.kind != RequestKind::kQuery) asset_out(in.asset, out->mutable_asset());
  out->set_amount(in.amount.value());
  out->set_measure_id(in.measure_id);
  out->set_term_end_date(wire::date_out(in.term_end));
}

void to_proto(const Response& in, chakong::v1::Response* out) {
  out->set_code(static_cast<chakong::v1::StatusCode>(in.status.code()));
  out->set_message(in.status.message());
  for (const Asset& a : in.assets) asset_out(a, out->add_assets());
  out->set_requested(in.requested.value());
  out->set_frozen(in.frozen.value());
  out->set_balance(in.balance.value());
  out->set_shortfall(std::max(Fen(), in.requested - in.frozen).value());
  for (const PriorMeasure& p : in.prior_measures) {
    chakong::v1::PriorMeasure* o = out->add_prior_measures();
    o->set_authority(p.authority);
    o->set_amount_fen(p.amount.value());
    o->set_end_date(wire::date_out(p.end_date));
    o->set_queue_position(p.queue_position);
  }
  out->set_queue_position(in.queue_position);
  out->set_measure_id(in.measure_id);
  out->set_effective_date(wire::date_out(in.effective_date));
  out->set_end_date(wire::date_out(in.end_date));
}

StatusOr<Request> from_proto(const chakong::v1::Request& in) {
  if (in.kind() < 1 || in.kind() > 7) {
    return invalid_argument_error("kind: " + std::to_string(in.kind()) + " is not a request kind");
  }
  Request r;
  r.kind = static_cast<RequestKind>(in.kind());
  r.idempotency_key = in.idempotency_key();
  r.case_number = in.case_number();
  r.debtor_id = in.debtor_id();
  r.officer_id = in.officer_id();
  r.ruling_number = in.ruling_number();
  r.purpose = in.purpose();
  if (in.has_asset()) {
    StatusOr<Asset> a = asset_in(in.asset(), wire::At("asset."));
    if (!a.ok()) return a.status();
    r.asset = std::move(*a);
  }
  CHAKONG_RETURN_IF_ERROR(wire::read(&r.amount, in.amount(), "amount"));
  r.measure_id = in.measure_id();
  CHAKONG_RETURN_IF_ERROR(wire::read(&r.term_end, in.term_end_date(), "term_end_date"));
  return r;
}

StatusOr<Response> from_proto(const chakong::v1::Response& in) {
  Response r;
  CHAKONG_RETURN_IF_ERROR(wire::read(&r.status, in.code(), in.message(), "code"));
  r.assets.reserve(static_cast<size_t>(in.assets_size()));
  for (int i = 0; i < in.assets_size(); ++i) {
    StatusOr<Asset> a = asset_in(in.assets(i), wire::At("assets", i));
    if (!a.ok()) return a.status();
    r.assets.push_back(std::move(*a));
  }
  CHAKONG_RETURN_IF_ERROR(wire::read(&r.requested, in.requested(), "requested"));
  CHAKONG_RETURN_IF_ERROR(wire::read(&r.frozen, in.frozen(), "frozen"));
  CHAKONG_RETURN_IF_ERROR(wire::read(&r.balance, in.balance(), "balance"));
  CHAKONG_RETURN_IF_ERROR(wire::read(&r.effective_date, in.effective_date(), "effective_date"));
  CHAKONG_RETURN_IF_ERROR(wire::read(&r.end_date, in.end_date(), "end_date"));
  for (const chakong::v1::PriorMeasure& p : in.prior_measures()) {
    PriorMeasure pm{p.authority(), Fen(), Date(), p.queue_position()};
    CHAKONG_RETURN_IF_ERROR(wire::read(&pm.amount, p.amount_fen(), "prior_measures.amount_fen"));
    CHAKONG_RETURN_IF_ERROR(wire::read(&pm.end_date, p.end_date(), "prior_measures.end_date"));
    r.prior_measures.push_back(std::move(pm));
  }
  r.queue_position = in.queue_position();
  r.measure_id = in.measure_id();
  return r;
}

}  // namespace chakong::connectors
