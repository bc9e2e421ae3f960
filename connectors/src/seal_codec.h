// The codec of registries that seal whole objects (real estate, vehicles): each has its own
// wire package with the same shape, so one template serves both. Private to connectors/.
#ifndef CHAKONG_CONNECTORS_SRC_SEAL_CODEC_H_
#define CHAKONG_CONNECTORS_SRC_SEAL_CODEC_H_

#include <string>
#include <utility>
#include <vector>

#include "chakong/connectors/connector.h"
#include "chakong/connectors/wire_util.h"

namespace chakong::connectors::internal {

// Traits: using Config, InstructionBatch, ResultBatch, Op; kKind; kCategory.
// Op numbers are shared: 1 query, 2 seal, 3 waiting seal, 4 renew, 5 release, 7 measure status.
template <typename Traits>
struct SealCodec : wire::VectorForms<SealCodec<Traits>> {
  using Config = typename Traits::Config;
  static constexpr std::string_view kKind = Traits::kKind;
  static constexpr AssetCategory kCategory = Traits::kCategory;
  static Capabilities capabilities(const Config&) {
    return {RequestKind::kQuery, RequestKind::kFreeze,  RequestKind::kWaitlistFreeze,
            RequestKind::kRenew, RequestKind::kRelease, RequestKind::kMeasureStatus};
  }
  static Status validate_extra(const Config&) { return ok_status(); }
  static void set_defaults(Config*) {}

  static int op_of(RequestKind k) {
    switch (k) {
      case RequestKind::kQuery: return 1;
      case RequestKind::kFreeze: return 2;
      case RequestKind::kWaitlistFreeze: return 3;
      case RequestKind::kRenew: return 4;
      case RequestKind::kRelease: return 5;
      case RequestKind::kMeasureStatus: return 7;
      case RequestKind::kDeduct: break;
    }
    return 0;
  }

  static std::string encode_requests(BatchView batch) {
    wire::Reused<typename Traits::InstructionBatch> b;
    b->mutable_instructions()->Reserve(static_cast<int>(batch.size()));
    for (const Request& r : batch) {
      auto* i = b->add_instructions();
      i->set_serial(r.idempotency_key);
      i->set_op(static_cast<typename Traits::Op>(op_of(r.kind)));
      i->set_case_no(r.case_number);
      i->set_owner_id(r.debtor_id);
      i->set_officer_no(r.officer_id);
      i->set_ruling_no(r.ruling_number);
      i->set_object_no(r.asset.reference);
      i->set_seal_no(r.measure_id);
    }
    return b.serialize();
  }

  // Appends the instructions to `out` (wire::add_request: reused buffers); on an error `out`
  // holds a part of them. decode_responses: the reply's results into out[0, n), reusing out's
  // elements (wire::decode_each_into). The vector-returning forms come from wire::VectorForms.
  using wire::VectorForms<SealCodec>::decode_requests;
  using wire::VectorForms<SealCodec>::decode_responses;

  static Status decode_requests(std::string_view bytes, std::vector<Request>& out) {
    wire::Reused<typename Traits::InstructionBatch> b;
    if (!b.parse(bytes)) return invalid_argument_error("instruction batch does not parse");
    out.reserve(out.size() + static_cast<size_t>(b->instructions_size()));
    for (const auto& i : b->instructions()) {
      if ((i.op() < 1 || i.op() > 5) && i.op() != 7) {
        return invalid_argument_error("instruction " + i.serial() + ": unknown op " +
                                      std::to_string(i.op()));
      }
      Request& r = wire::add_request(out);
      constexpr RequestKind kByOp[] = {RequestKind::kQuery, RequestKind::kFreeze,
                                       RequestKind::kWaitlistFreeze, RequestKind::kRenew,
                                       RequestKind::kRelease};
      r.kind = i.op() == 7 ? RequestKind::kMeasureStatus : kByOp[i.op() - 1];
      r.idempotency_key = i.serial();
      r.case_number = i.case_no();
      r.debtor_id = i.owner_id();
      r.officer_id = i.officer_no();
      r.ruling_number = i.ruling_no();
      r.asset.category = kCategory;
      r.asset.reference = i.object_no();
      r.asset.holder_id = i.owner_id();
      r.measure_id = i.seal_no();
    }
    return ok_status();
  }

  static std::string encode_responses(wire::Results rs) {
    wire::Reused<typename Traits::ResultBatch> b;
    b->mutable_results()->Reserve(static_cast<int>(rs.size()));
    for (const auto& [serial, r] : rs) {
      auto* o = b->add_results();
      o->set_serial(serial);
      o->set_status(static_cast<int>(r.status.code()));
      o->set_message(r.status.message());
      for (const Asset& a : r.assets) {
        auto* g = o->add_registrations();
        g->set_object_no(a.reference);
        g->set_owner_id(a.holder_id);
        g->set_appraised_fen(a.value.value());
      }
      o->set_value_fen(r.frozen.value());
      for (const PriorMeasure& p : r.prior_measures) {
        auto* pr = o->add_priors();
        pr->set_authority(p.authority);
        pr->set_end_date(wire::date_out(p.end_date));
        pr->set_position(p.queue_position);
      }
      o->set_position(r.queue_position);
      o->set_seal_no(r.measure_id);
      o->set_effective_date(wire::date_out(r.effective_date));
      o->set_end_date(wire::date_out(r.end_date));
    }
    return b.serialize();
  }

  static StatusOr<size_t> decode_responses(std::string_view bytes,
                                           std::vector<std::pair<std::string, Response>>& out) {
    wire::Reused<typename Traits::ResultBatch> b;
    if (!b.parse(bytes)) {
      return invalid_argument_error("result batch does not parse (" + std::to_string(bytes.size()) +
                                    " bytes)");
    }
    return wire::decode_each_into(
        b->results(), "results", [](const auto& o) -> const std::string& { return o.serial(); },
        [](const auto& o, const wire::At& at) -> StatusOr<Response> {
          Response r;
          CHAKONG_RETURN_IF_ERROR(wire::read(&r.status, o.status(), o.message(), at + "status"));
          r.assets.reserve(static_cast<size_t>(o.registrations_size()));
          for (const auto& g : o.registrations()) {
            Fen v;
            CHAKONG_RETURN_IF_ERROR(
                wire::read(&v, g.appraised_fen(), at + "registrations.appraised_fen"));
            r.assets.push_back({kCategory, g.object_no(), v, g.owner_id(), 0, Fen()});
          }
          CHAKONG_RETURN_IF_ERROR(wire::read(&r.requested, o.value_fen(), at + "value_fen"));
          r.frozen = r.requested;
          CHAKONG_RETURN_IF_ERROR(
              wire::read(&r.effective_date, o.effective_date(), at + "effective_date"));
          CHAKONG_RETURN_IF_ERROR(wire::read(&r.end_date, o.end_date(), at + "end_date"));
          for (const auto& p : o.priors()) {
            PriorMeasure pm{p.authority(), Fen(), Date(), p.position()};
            CHAKONG_RETURN_IF_ERROR(wire::read(&pm.end_date, p.end_date(), at + "priors.end_date"));
            r.prior_measures.push_back(std::move(pm));
          }
          r.queue_position = o.position();
          r.measure_id = o.seal_no();
          return r;
        },
        out);
  }
};

}  // namespace chakong::connectors::internal

#endif  // CHAKONG_CONNECTORS_SRC_SEAL_CODEC_H_
