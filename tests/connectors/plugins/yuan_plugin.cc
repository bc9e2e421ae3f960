// A broken adapter as a plugin: kind "yuan" writes and reads every amount in yuan where its
// protocol (yuan.proto) says fen, on the adapter's side and on the sandbox institution's alike.
// Its round trip is exact for whole yuan, so every sandbox check passes; its golden exchange
// (tests/connectors/golden/yuan/) fails naming the field, and `chakong conformance` exits 1.
#include <chakong/connectors/factory.h>
#include <chakong/connectors/wire_connector.h>
#include <chakong/connectors/wire_util.h>

#include "yuan.pb.h"

namespace {

using namespace chakong;
using namespace chakong::connectors;
namespace y = chakong_test::yuan;

int64_t to_yuan(Fen f) { return f.value() / 100; }  // The mistake, both ways.
Fen from_yuan(int64_t yuan) { return Fen(yuan * 100); }

struct YuanCodec {
  using Config = y::YuanConfig;
  static constexpr std::string_view kKind = "yuan";
  static constexpr AssetCategory kCategory = AssetCategory::kDeposit;
  static Capabilities capabilities(const Config&) { return Capabilities::all(); }
  static Status validate_extra(const Config&) { return ok_status(); }
  static void set_defaults(Config*) {}

  static std::string encode_requests(BatchView batch) {
    y::OrderFile f;
    for (const Request& r : batch) {
      y::Order* o = f.add_orders();
      o->set_key(r.idempotency_key);
      o->set_op(static_cast<int>(r.kind));
      o->set_case_no(r.case_number);
      o->set_debtor_id(r.debtor_id);
      o->set_officer(r.officer_id);
      o->set_ruling(r.ruling_number);
      o->set_account(r.asset.reference);
      o->set_amount_fen(to_yuan(r.amount));
      o->set_measure_no(r.measure_id);
    }
    return f.SerializeAsString();
  }
  static StatusOr<std::vector<Request>> decode_requests(std::string_view bytes) {
    y::OrderFile f;
    if (!f.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return invalid_argument_error("order file does not parse");
    }
    std::vector<Request> out;
    for (const y::Order& o : f.orders()) {
      if (o.op() < 1 || o.op() > 7) return invalid_argument_error("order " + o.key() + ": bad op");
      Request r;
      r.kind = static_cast<RequestKind>(o.op());
      r.idempotency_key = o.key();
      r.case_number = o.case_no();
      r.debtor_id = o.debtor_id();
      r.officer_id = o.officer();
      r.ruling_number = o.ruling();
      r.asset = {kCategory, o.account(), Fen(), o.debtor_id()};
      r.amount = from_yuan(o.amount_fen());
      r.measure_id = o.measure_no();
      out.push_back(std::move(r));
    }
    return out;
  }
  static std::string encode_responses(const std::vector<std::pair<std::string, Response>>& rs) {
    y::ResultFile f;
    for (const auto& [key, r] : rs) {
      y::Result* o = f.add_results();
      o->set_key(key);
      o->set_status(static_cast<int>(r.status.code()));
      o->set_message(r.status.message());
      for (const Asset& a : r.assets) {
        y::Account* acc = o->add_accounts();
        acc->set_account(a.reference);
        acc->set_holder(a.holder_id);
        acc->set_available_fen(to_yuan(a.value));
      }
      o->set_requested_fen(to_yuan(r.requested));
      o->set_frozen_fen(to_yuan(r.frozen));
      o->set_balance_fen(to_yuan(r.balance));
      for (const PriorMeasure& p : r.prior_measures) {
        y::Prior* pr = o->add_priors();
        pr->set_authority(p.authority);
        pr->set_amount_fen(to_yuan(p.amount));
        pr->set_end_date(wire::date_out(p.end_date));
        pr->set_position(p.queue_position);
      }
      o->set_position(r.queue_position);
      o->set_measure_no(r.measure_id);
      o->set_effective_date(wire::date_out(r.effective_date));
      o->set_end_date(wire::date_out(r.end_date));
    }
    return f.SerializeAsString();
  }
  static StatusOr<std::vector<std::pair<std::string, Response>>> decode_responses(
      std::string_view bytes) {
    y::ResultFile f;
    if (!f.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return invalid_argument_error("result file does not parse");
    }
    std::vector<std::pair<std::string, Response>> out;
    for (const y::Result& o : f.results()) {
      Response r;
      r.status = Status(static_cast<StatusCode>(o.status()), o.message());
      for (const y::Account& a : o.accounts()) {
        r.assets.push_back({kCategory, a.account(), from_yuan(a.available_fen()), a.holder()});
      }
      r.requested = from_yuan(o.requested_fen());
      r.frozen = from_yuan(o.frozen_fen());
      r.balance = from_yuan(o.balance_fen());
      for (const y::Prior& p : o.priors()) {
        PriorMeasure pm{p.authority(), from_yuan(p.amount_fen()), Date(), p.position()};
        if (!wire::read(&pm.end_date, p.end_date(), "priors.end_date").ok()) {
          return invalid_argument_error("bad prior end date");
        }
        r.prior_measures.push_back(std::move(pm));
      }
      r.queue_position = o.position();
      r.measure_id = o.measure_no();
      if (!wire::read(&r.effective_date, o.effective_date(), "effective_date").ok() ||
          !wire::read(&r.end_date, o.end_date(), "end_date").ok()) {
        return invalid_argument_error("bad date");
      }
      out.emplace_back(o.key(), std::move(r));
    }
    return out;
  }
};

}  // namespace

CHAKONG_PLUGIN_EXPORT int chakong_plugin_abi_version() { return kPluginAbiVersion; }
CHAKONG_PLUGIN_EXPORT int chakong_register_connectors_v2(ConnectorRegistry* r, char* error,
                                                         size_t error_size) {
  return plugin_status(r->add(std::make_unique<WireConnectorFactory<YuanCodec>>()), error,
                       error_size);
}
