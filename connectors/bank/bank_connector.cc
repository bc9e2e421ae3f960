// The bank adapter: request codes 00-07 in instruction files, results matched by serial.
#include <array>

#include "bank/bank_codec.h"
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/wire_connector.h"
#include "chakong/connectors/wire_util.h"

namespace chakong::connectors {
namespace bank {
namespace {

constexpr std::array<std::pair<RequestKind, std::string_view>, 7> kCodes = {{
    {RequestKind::kQuery, "00"},
    {RequestKind::kFreeze, "01"},
    {RequestKind::kRenew, "02"},
    {RequestKind::kWaitlistFreeze, "03"},
    {RequestKind::kRelease, "04"},
    {RequestKind::kDeduct, "06"},
    {RequestKind::kMeasureStatus, "07"},
}};

std::string_view code_of(RequestKind k) {
  for (const auto& [kind, code] : kCodes) {
    if (kind == k) return code;
  }
  return "??";
}

}  // namespace

std::string BankCodec::encode_requests(BatchView batch) {
  wire::Reused<v1::BankInstructionFile> file;
  file->mutable_instructions()->Reserve(static_cast<int>(batch.size()));
  for (const Request& r : batch) {
    v1::BankInstruction* i = file->add_instructions();
    i->set_serial(r.idempotency_key);
    const std::string_view code = code_of(r.kind);
    i->set_code(code.data(), code.size());
    i->set_case_no(r.case_number);
    i->set_subject_id(r.debtor_id);
    i->set_officer_no(r.officer_id);
    i->set_ruling_no(r.ruling_number);
    i->set_account_no(r.asset.reference);
    i->set_amount_fen(r.amount.value());
    i->set_freeze_no(r.measure_id);
    i->set_purpose(r.purpose);
  }
  return file.serialize();
}

Status BankCodec::decode_requests(std::string_view bytes, std::vector<Request>& out) {
  wire::Reused<v1::BankInstructionFile> file;
  if (!file.parse(bytes)) return invalid_argument_error("instruction file does not parse");
  out.reserve(out.size() + static_cast<size_t>(file->instructions_size()));
  for (const v1::BankInstruction& i : file->instructions()) {
    Request& r = wire::add_request(out);
    bool known = false;
    for (const auto& [kind, code] : kCodes) {
      if (code == i.code()) {
        r.kind = kind;
        known = true;
      }
    }
    if (!known)
      return invalid_argument_error("instruction " + i.serial() + ": unknown code '" + i.code() +
                                    "'");
    r.idempotency_key = i.serial();
    r.case_number = i.case_no();
    r.debtor_id = i.subject_id();
    r.officer_id = i.officer_no();
    r.ruling_number = i.ruling_no();
    r.asset.category = AssetCategory::kDeposit;
    r.asset.reference = i.account_no();
    r.asset.holder_id = i.subject_id();
    r.amount = Fen(i.amount_fen());
    r.measure_id = i.freeze_no();
    r.purpose = i.purpose();
  }
  return ok_status();
}

std::string BankCodec::encode_responses(wire::Results rs) {
  wire::Reused<v1::BankResultFile> file;
  file->mutable_results()->Reserve(static_cast<int>(rs.size()));
  for (const auto& [serial, r] : rs) {
    v1::BankResult* o = file->add_results();
    o->set_serial(serial);
    o->set_status(static_cast<int>(r.status.code()));
    o->set_message(r.status.message());
    for (const Asset& a : r.assets) {
      v1::BankAccount* acc = o->add_accounts();
      acc->set_account_no(a.reference);
      acc->set_holder_id(a.holder_id);
      acc->set_available_fen(a.value.value());
    }
    o->set_requested_fen(r.requested.value());
    o->set_frozen_fen(r.frozen.value());
    o->set_balance_fen(r.balance.value());
    o->set_shortfall_fen(std::max(Fen(), r.requested - r.frozen).value());
    for (const PriorMeasure& p : r.prior_measures) {
      v1::BankPriorFreeze* f = o->add_priors();
      f->set_authority(p.authority);
      f->set_amount_fen(p.amount.value());
      f->set_end_date(wire::date_out(p.end_date));
      f->set_position(p.queue_position);
    }
    o->set_position(r.queue_position);
    o->set_freeze_no(r.measure_id);
    o->set_effective_date(wire::date_out(r.effective_date));
    o->set_end_date(wire::date_out(r.end_date));
  }
  return file.serialize();
}

StatusOr<size_t> BankCodec::decode_responses(std::string_view bytes,
                                             std::vector<std::pair<std::string, Response>>& out) {
  wire::Reused<v1::BankResultFile> file;
  if (!file.parse(bytes)) {
    return invalid_argument_error("result file does not parse (" + std::to_string(bytes.size()) +
                                  " bytes)");
  }
  return wire::decode_each_into(
      file->results(), "results",
      [](const v1::BankResult& o) -> const std::string& { return o.serial(); },
      [](const v1::BankResult& o, const wire::At& at) -> StatusOr<Response> {
        Response r;
        CHAKONG_RETURN_IF_ERROR(wire::read(&r.status, o.status(), o.message(), at + "status"));
        r.assets.reserve(static_cast<size_t>(o.accounts_size()));
        for (const v1::BankAccount& acc : o.accounts()) {
          Fen v;
          CHAKONG_RETURN_IF_ERROR(
              wire::read(&v, acc.available_fen(), at + "accounts.available_fen"));
          r.assets.push_back({AssetCategory::kDeposit, acc.account_no(), v, acc.holder_id()});
        }
        CHAKONG_RETURN_IF_ERROR(wire::read(&r.requested, o.requested_fen(), at + "requested_fen"));
        CHAKONG_RETURN_IF_ERROR(wire::read(&r.frozen, o.frozen_fen(), at + "frozen_fen"));
        CHAKONG_RETURN_IF_ERROR(wire::read(&r.balance, o.balance_fen(), at + "balance_fen"));
        CHAKONG_RETURN_IF_ERROR(
            wire::read(&r.effective_date, o.effective_date(), at + "effective_date"));
        CHAKONG_RETURN_IF_ERROR(wire::read(&r.end_date, o.end_date(), at + "end_date"));
        for (const v1::BankPriorFreeze& f : o.priors()) {
          PriorMeasure p{f.authority(), Fen(), Date(), f.position()};
          CHAKONG_RETURN_IF_ERROR(wire::read(&p.amount, f.amount_fen(), at + "priors.amount_fen"));
          CHAKONG_RETURN_IF_ERROR(wire::read(&p.end_date, f.end_date(), at + "priors.end_date"));
          r.prior_measures.push_back(std::move(p));
        }
        r.queue_position = o.position();
        r.measure_id = o.freeze_no();
        return r;
      },
      out);
}

}  // namespace bank

Status register_bank_connector(ConnectorRegistry& registry) {
  return registry.add(std::make_unique<WireConnectorFactory<bank::BankCodec>>());
}

}  // namespace chakong::connectors
