// The housing provident fund centre adapter: balances frozen by amount; deductions by network
// only where the centre's policy allows them (config allow_deduct, default true); otherwise
// kDeduct is not a capability and a deduction completes kUnimplemented without being sent.
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/wire_connector.h"
#include "chakong/connectors/wire_util.h"
#include "provident_fund/provident_fund.pb.h"

namespace chakong::connectors {
namespace provident_fund {
namespace {

// Op numbers follow RequestKind: 1 query ... 6 deduct, 7 measure status.
v1::Op op_of(RequestKind k) { return static_cast<v1::Op>(static_cast<int>(k)); }

}  // namespace

struct ProvidentFundCodec : wire::VectorForms<ProvidentFundCodec> {
  using Config = v1::ProvidentFundConfig;
  static constexpr std::string_view kKind = "provident_fund";
  static constexpr AssetCategory kCategory = AssetCategory::kProvidentFund;
  static Capabilities capabilities(const Config& c) {
    Capabilities caps = {RequestKind::kQuery, RequestKind::kFreeze,  RequestKind::kWaitlistFreeze,
                         RequestKind::kRenew, RequestKind::kRelease, RequestKind::kMeasureStatus};
    return c.allow_deduct() ? Capabilities::all() : caps;
  }
  static Status validate_extra(const Config&) { return ok_status(); }
  static void set_defaults(Config* c) { c->set_allow_deduct(true); }

  static std::string encode_requests(BatchView batch) {
    wire::Reused<v1::InstructionBatch> b;
    b->mutable_instructions()->Reserve(static_cast<int>(batch.size()));
    for (const Request& r : batch) {
      v1::Instruction* i = b->add_instructions();
      i->set_serial(r.idempotency_key);
      i->set_op(op_of(r.kind));
      i->set_case_no(r.case_number);
      i->set_member_id(r.debtor_id);
      i->set_officer_no(r.officer_id);
      i->set_ruling_no(r.ruling_number);
      i->set_fund_account(r.asset.reference);
      i->set_amount_fen(r.amount.value());
      i->set_measure_no(r.measure_id);
    }
    return b.serialize();
  }

  // Appends the instructions to `out` (wire::add_request: reused buffers); on an error `out`
  // holds a part of them. decode_responses: the reply's results into out[0, n), reusing out's
  // elements (wire::decode_each_into). The vector-returning forms come from wire::VectorForms.
  using wire::VectorForms<ProvidentFundCodec>::decode_requests;
  using wire::VectorForms<ProvidentFundCodec>::decode_responses;

  static Status decode_requests(std::string_view bytes, std::vector<Request>& out) {
    wire::Reused<v1::InstructionBatch> b;
    if (!b.parse(bytes)) return invalid_argument_error("instruction batch does not parse");
    out.reserve(out.size() + static_cast<size_t>(b->instructions_size()));
    for (const v1::Instruction& i : b->instructions()) {
      if (i.op() < 1 || i.op() > 7) {
        return invalid_argument_error("instruction " + i.serial() + ": unknown op " +
                                      std::to_string(i.op()));
      }
      Request& r = wire::add_request(out);
      r.kind = static_cast<RequestKind>(i.op());
      r.idempotency_key = i.serial();
      r.case_number = i.case_no();
      r.debtor_id = i.member_id();
      r.officer_id = i.officer_no();
      r.ruling_number = i.ruling_no();
      r.asset = {kCategory, i.fund_account(), Fen(), i.member_id(), 0, Fen()};
      r.amount = Fen(i.amount_fen());
      r.measure_id = i.measure_no();
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
        v1::FundAccount* acc = o->add_accounts();
        acc->set_fund_account(a.reference);
        acc->set_member_id(a.holder_id);
        acc->set_available_fen(a.value.value());
      }
      o->set_requested_fen(r.requested.value());
      o->set_frozen_fen(r.frozen.value());
      o->set_balance_fen(r.balance.value());
      for (const PriorMeasure& p : r.prior_measures) {
        v1::Prior* pr = o->add_priors();
        pr->set_authority(p.authority);
        pr->set_amount_fen(p.amount.value());
        pr->set_end_date(wire::date_out(p.end_date));
        pr->set_position(p.queue_position);
      }
      o->set_position(r.queue_position);
      o->set_measure_no(r.measure_id);
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
          r.assets.reserve(static_cast<size_t>(o.accounts_size()));
          for (const v1::FundAccount& acc : o.accounts()) {
            Fen v;
            CHAKONG_RETURN_IF_ERROR(
                wire::read(&v, acc.available_fen(), at + "accounts.available_fen"));
            r.assets.push_back({kCategory, acc.fund_account(), v, acc.member_id(), 0, Fen()});
          }
          CHAKONG_RETURN_IF_ERROR(
              wire::read(&r.requested, o.requested_fen(), at + "requested_fen"));
          CHAKONG_RETURN_IF_ERROR(wire::read(&r.frozen, o.frozen_fen(), at + "frozen_fen"));
          CHAKONG_RETURN_IF_ERROR(wire::read(&r.balance, o.balance_fen(), at + "balance_fen"));
          CHAKONG_RETURN_IF_ERROR(
              wire::read(&r.effective_date, o.effective_date(), at + "effective_date"));
          CHAKONG_RETURN_IF_ERROR(wire::read(&r.end_date, o.end_date(), at + "end_date"));
          for (const v1::Prior& p : o.priors()) {
            PriorMeasure pm{p.authority(), Fen(), Date(), p.position()};
            CHAKONG_RETURN_IF_ERROR(
                wire::read(&pm.amount, p.amount_fen(), at + "priors.amount_fen"));
            CHAKONG_RETURN_IF_ERROR(wire::read(&pm.end_date, p.end_date(), at + "priors.end_date"));
            r.prior_measures.push_back(std::move(pm));
          }
          r.queue_position = o.position();
          r.measure_id = o.measure_no();
          return r;
        },
        out);
  }
};

}  // namespace provident_fund

Status register_provident_fund_connector(ConnectorRegistry& registry) {
  return registry.add(std::make_unique<WireConnectorFactory<provident_fund::ProvidentFundCodec>>());
}

}  // namespace chakong::connectors
