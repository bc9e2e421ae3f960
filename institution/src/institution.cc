#include "chakong/institution/institution.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <set>

#include "chakong/base/identity.h"

namespace chakong::institution {

using connectors::PriorMeasure;
using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

std::string_view measure_state_name(MeasureState state) {
  switch (state) {
    case MeasureState::kWaiting: return "waiting";
    case MeasureState::kActive: return "active";
    case MeasureState::kReleased: return "released";
    case MeasureState::kLapsed: return "lapsed";
    case MeasureState::kDeducted: return "deducted";
    case MeasureState::kVoided: return "voided";
  }
  return "unknown";
}

namespace {
bool live(MeasureState s) { return s == MeasureState::kActive || s == MeasureState::kWaiting; }
Response error(Status s) { return Response::error(std::move(s)); }
}  // namespace

Institution::Institution(std::string name, connectors::Capabilities capabilities,
                         InstitutionPolicy policy)
    : name_(std::move(name)), capabilities_(capabilities), policy_(policy) {}

Status Institution::add_asset(const Asset& asset) {
  if (asset.reference.empty()) return invalid_argument_error("asset.reference is empty");
  if (asset.holder_id.empty()) {
    return invalid_argument_error("asset '" + mask_id(asset.reference) + "': holder_id is empty");
  }
  if (asset.value.is_negative()) {
    return invalid_argument_error("asset '" + mask_id(asset.reference) + "': value " +
                                  format_fen(asset.value) + " is negative");
  }
  auto [it, inserted] = assets_.try_emplace(asset.reference);
  if (!inserted) {
    return already_exists_error(name_ + " already holds asset '" + mask_id(asset.reference) + "'");
  }
  AssetState& a = it->second;
  Holder& holder = holder_for(asset.holder_id);
  a.reference = &it->first;
  a.holder = &holder.id;
  a.value = asset.value;
  a.category = asset.category;
  if (asset.quantity != 0 || !asset.unit_price.is_zero()) {
    securities_.emplace(&a, std::pair(asset.quantity, asset.unit_price));
    a.priced = true;
  }
  HolderAssets& h = holder.assets;
  (h.last == nullptr ? h.first : h.last->next_of_holder) = &a;
  h.last = &a;
  return ok_status();
}

void Institution::reserve(size_t assets, size_t holders) {
  assets_.reserve(assets_.size() + assets);
  const size_t want = std::bit_ceil(2 * (holders_.size() + holders));
  if (want > holder_slots_.size()) index_holders(want);
}

uint64_t Institution::holder_hash(std::string_view id) {
  // 8 bytes at a time, each mixed in by a multiply and a shift (an ID is 18 bytes: 3 rounds).
  uint64_t h = 0x9E3779B97F4A7C15ull ^ id.size();
  size_t i = 0;
  for (; i + 8 <= id.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, id.data() + i, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
  }
  uint64_t w = 0;
  std::memcpy(&w, id.data() + i, id.size() - i);
  h = (h ^ w) * 0x94D049BB133111EBull;
  return h ^ (h >> 29);
}

void Institution::index_holders(size_t capacity) {
  holder_slots_.assign(capacity, 0);
  const size_t mask = capacity - 1;
  for (size_t k = 0; k < holders_.size(); ++k) {
    const uint64_t h = holder_hash(holders_[k].id);
    size_t i = h & mask;
    while (holder_slots_[i] != 0) i = (i + 1) & mask;
    holder_slots_[i] = (h & 0xFFFFFFFF00000000ull) | (k + 1);
  }
}

Institution::Holder* Institution::find_holder(std::string_view id) {
  if (holder_slots_.empty()) return nullptr;
  const uint64_t h = holder_hash(id);
  const size_t mask = holder_slots_.size() - 1;
  for (size_t i = h & mask; holder_slots_[i] != 0; i = (i + 1) & mask) {
    const uint64_t slot = holder_slots_[i];
    if ((slot ^ h) >> 32 != 0) continue;
    Holder& holder = holders_[(slot & 0xFFFFFFFFu) - 1];
    if (holder.id == id) return &holder;
  }
  return nullptr;
}

Institution::Holder& Institution::holder_for(const std::string& id) {
  if (Holder* found = find_holder(id)) return *found;
  if (2 * (holders_.size() + 1) > holder_slots_.size()) {
    index_holders(std::max<size_t>(16, 2 * holder_slots_.size()));
  }
  holders_.push_back({id, {}});
  const uint64_t h = holder_hash(id);
  const size_t mask = holder_slots_.size() - 1;
  size_t i = h & mask;
  while (holder_slots_[i] != 0) i = (i + 1) & mask;
  holder_slots_[i] = (h & 0xFFFFFFFF00000000ull) | holders_.size();
  return holders_.back();
}

Asset Institution::asset_of(const AssetState& a) const {
  Asset asset;
  asset.category = a.category;
  asset.reference = *a.reference;
  asset.value = a.value;
  asset.holder_id = *a.holder;
  if (a.priced) {
    const std::pair<int64_t, Fen>& units = securities_.at(&a);
    asset.quantity = units.first;
    asset.unit_price = units.second;
  }
  return asset;
}

Institution::AssetState* Institution::find_asset(std::string_view reference) {
  auto it = assets_.find(reference);
  return it == assets_.end() ? nullptr : &it->second;
}

const Institution::AssetState* Institution::find_asset(std::string_view reference) const {
  auto it = assets_.find(reference);
  return it == assets_.end() ? nullptr : &it->second;
}

Status Institution::credit(std::string_view reference, Fen amount, Date today) {
  AssetState* a = find_asset(reference);
  if (a == nullptr) return not_found_error("no asset '" + mask_id(reference) + "'");
  a->value += amount;
  distribute(*a, today, /*credit=*/true);
  return ok_status();
}

StatusOr<Fen> Institution::debit(std::string_view reference, Fen amount) {
  AssetState* a = find_asset(reference);
  if (a == nullptr) return not_found_error("no asset '" + mask_id(reference) + "'");
  const Fen taken = std::min(amount, available(*a));
  a->value -= taken;
  return taken;
}

StatusOr<std::string> Institution::add_foreign_measure(std::string_view reference,
                                                       std::string authority, Fen amount,
                                                       Date effective, Date end) {
  AssetState* found = find_asset(reference);
  if (found == nullptr) return not_found_error("no asset '" + mask_id(reference) + "'");
  Request r;
  r.case_number = std::move(authority);
  AssetState& a = *found;
  const bool divisible = is_divisible(a.category);
  const bool sealed = std::any_of(chain(a).begin(), chain(a).end(), [&](uint32_t i) {
    return measures_[i].state == MeasureState::kActive;
  });
  const bool waits = divisible ? available(a).is_zero() : sealed;
  const Fen frozen = divisible ? std::min(amount, available(a)) : a.value;
  const uint32_t i = new_measure(r, a, waits ? MeasureState::kWaiting : MeasureState::kActive,
                                 divisible ? amount : a.value, waits ? Fen() : frozen, effective);
  measures_[i].effective = effective;
  measures_[i].end = end;
  if (!waits) expiry_.emplace(end.days(), i);
  return measures_[i].id;
}

Fen Institution::available(const AssetState& a) const {
  Fen held;
  for (uint32_t i : chain(a)) {
    if (measures_[i].state == MeasureState::kActive) held += measures_[i].frozen;
  }
  return max(Fen(), a.value - held);
}

std::vector<PriorMeasure> Institution::prior(const AssetState& a, uint32_t except) const {
  std::vector<PriorMeasure> out;
  int position = 0;
  for (uint32_t i : chain(a)) {
    const MeasureRecord& m = measures_[i];
    if (i == except || !live(m.state)) continue;
    out.push_back(
        {m.case_number, m.frozen, m.end, m.state == MeasureState::kWaiting ? ++position : 0});
  }
  return out;
}

uint32_t Institution::new_measure(const Request& r, AssetState& a, MeasureState state, Fen limit,
                                  Fen frozen, Date today) {
  const uint32_t i = static_cast<uint32_t>(measures_.size());
  MeasureRecord m;
  m.id = name_ + "/" + std::to_string(i + 1);
  m.case_number = r.case_number;
  m.reference = *a.reference;
  m.category = a.category;
  m.limit = limit;
  m.frozen = frozen;
  m.state = state;
  if (state == MeasureState::kActive) {
    m.effective = today;
    m.end = term_end(today, measure_term_years(m.category));
  }
  measures_.push_back(std::move(m));
  uint32_t* tail = &a.first_measure;
  while (*tail != UINT32_MAX) tail = &measures_[*tail].next_on_asset;
  *tail = i;
  count_live(a, i, +1);  // A new measure is live (waiting or active).
  noted(i);
  return i;
}

void Institution::count_live(const AssetState& a, uint32_t i, int delta) {
  const std::string& case_number = measures_[i].case_number;
  for (uint32_t j : chain(a)) {
    if (j != i && live(measures_[j].state) && measures_[j].case_number == case_number) {
      live_duplicates_ += delta;
      return;
    }
  }
}

void Institution::activate(MeasureRecord& m, Date today) {
  m.state = MeasureState::kActive;
  // Policy: a waiter's term starts when it converts (DOMAIN rule 3 default).
  m.effective = today;
  m.end = term_end(today, measure_term_years(m.category));
  const uint32_t i = static_cast<uint32_t>(&m - measures_.data());
  expiry_.emplace(m.end.days(), i);
  noted(i);
}

void Institution::distribute(AssetState& a, Date today, bool credit) {
  if (!is_divisible(a.category)) {
    const bool sealed = std::any_of(chain(a).begin(), chain(a).end(), [&](uint32_t i) {
      return measures_[i].state == MeasureState::kActive;
    });
    if (sealed) return;
    for (uint32_t i : chain(a)) {
      if (measures_[i].state == MeasureState::kWaiting) {
        measures_[i].frozen = a.value;
        activate(measures_[i], today);
        return;
      }
    }
    return;
  }
  Fen free = available(a);
  for (uint32_t i : chain(a)) {
    if (free.is_zero()) return;
    MeasureRecord& m = measures_[i];
    const bool fill = m.state == MeasureState::kWaiting ||
                      (m.state == MeasureState::kActive && m.frozen < m.limit &&
                       (m.from_waitlist || (credit && policy_.top_up)));
    if (!fill) continue;
    const Fen take = std::min(free, m.limit - m.frozen);
    m.frozen += take;
    free -= take;
    if (!take.is_zero()) noted(i);
    if (m.state == MeasureState::kWaiting && !m.frozen.is_zero()) activate(m, today);
  }
}

StatusOr<int> Institution::dispose(std::string_view reference) {
  AssetState* a = find_asset(reference);
  if (a == nullptr) return not_found_error("no asset '" + mask_id(reference) + "'");
  int voided = 0;
  for (uint32_t i : chain(*a)) {
    MeasureRecord& m = measures_[i];
    if (m.state == MeasureState::kActive) {
      m.state = MeasureState::kDeducted;
      deducted_[m.case_number] += m.frozen;
      m.transferred += m.frozen;
    } else if (m.state == MeasureState::kWaiting) {
      m.state = MeasureState::kVoided;
      ++voided;
    } else {
      continue;
    }
    count_live(*a, i, -1);
    noted(i);
  }
  a->value = Fen();
  return voided;
}

int Institution::expire(Date today) {
  int n = 0;
  std::set<std::string> touched;
  while (!expiry_.empty() && expiry_.top().first < today.days()) {
    const auto [end, i] = expiry_.top();
    expiry_.pop();
    MeasureRecord& m = measures_[i];
    if (m.state != MeasureState::kActive || m.end.days() != end) continue;  // Stale.
    m.state = MeasureState::kLapsed;
    ++lapsed_;
    ++n;
    count_live(assets_.at(m.reference), i, -1);
    noted(i);
    touched.insert(m.reference);
  }
  for (const std::string& ref : touched) distribute(assets_.at(ref), today, /*credit=*/false);
  return n;
}

Response Institution::handle(const Request& r, Date today) {
  ++handled_;
  expire(today);
  while (!answered_order_.empty() &&
         answered_order_.front().first < today.days() - policy_.remember_days) {
    answered_.erase(answered_.find(*answered_order_.front().second));
    answered_order_.pop_front();
  }
  if (r.idempotency_key.empty()) return error(invalid_argument_error("idempotency_key is empty"));
  // Only control requests are remembered (below), so only they can be replays: a query (or a
  // status question) skips hashing its key.
  const bool asks = r.kind == RequestKind::kQuery || r.kind == RequestKind::kMeasureStatus;
  if (!asks && !answered_.empty()) {
    if (auto it = answered_.find(r.idempotency_key); it != answered_.end()) {
      ++replays_;
      return it->second;
    }
  }
  Response resp = act(r, today);
  // Refusals for malformed requests are not remembered: a corrected retry may succeed. Queries
  // change nothing, so a repeated query is simply answered again: only control requests are
  // remembered (a city's queries would otherwise fill memory with answers). A status answer
  // is never remembered: the same key asked later gets the measure's state then.
  if (resp.status.code() != StatusCode::kInvalidArgument && !asks) {
    auto [it, inserted] = answered_.emplace(r.idempotency_key, resp);
    if (policy_.remember_days > 0 && inserted)
      answered_order_.emplace_back(today.days(), &it->first);
  }
  return resp;
}

Response Institution::act(const Request& r, Date today) {
  if (!capabilities_.has(r.kind)) {
    return error(unimplemented_error(name_ + " does not support " +
                                     std::string(connectors::request_kind_name(r.kind))));
  }
  if (r.case_number.empty()) return error(invalid_argument_error("case_number is empty"));
  if (r.kind == RequestKind::kQuery) return query(r);
  if (r.kind == RequestKind::kMeasureStatus) return status_of(r);
  if (r.ruling_number.empty()) {
    return error(invalid_argument_error(std::string(connectors::request_kind_name(r.kind)) +
                                        " needs ruling_number"));
  }
  switch (r.kind) {
    case RequestKind::kRenew: return renew(r, today);
    case RequestKind::kRelease: return release(r, today);
    case RequestKind::kDeduct: return deduct(r, today);
    default: break;
  }
  AssetState* a = find_asset(r.asset.reference);
  if (a == nullptr) {
    return error(not_found_error(name_ + " holds no asset '" + mask_id(r.asset.reference) + "'"));
  }
  if (*a->holder != r.debtor_id) {
    return error(permission_denied_error("asset '" + mask_id(r.asset.reference) +
                                         "' is not held by debtor '" + mask_id(r.debtor_id) + "'"));
  }
  return r.kind == RequestKind::kFreeze ? freeze(r, *a, today) : waitlist(r, *a, today);
}

Response Institution::query(const Request& r) {
  Response resp;
  const Holder* holder = find_holder(r.debtor_id);
  if (holder == nullptr) return resp;  // No record: an empty, successful answer.
  for (const AssetState* a = holder->assets.first; a != nullptr; a = a->next_of_holder) {
    Asset asset = asset_of(*a);
    if (is_divisible(asset.category)) asset.value = available(*a);
    resp.assets.push_back(std::move(asset));
  }
  return resp;
}

Response Institution::freeze(const Request& r, AssetState& a, Date today) {
  Response resp;
  resp.balance = a.value;
  if (!is_divisible(a.category)) {
    const bool sealed = std::any_of(chain(a).begin(), chain(a).end(), [&](uint32_t i) {
      return measures_[i].state == MeasureState::kActive;
    });
    if (sealed) {
      resp.status = failed_precondition_error("asset '" + mask_id(*a.reference) +
                                              "' is already sealed; use a waiting-list seal");
      resp.prior_measures = prior(a, UINT32_MAX);
      return resp;
    }
    const uint32_t i = new_measure(r, a, MeasureState::kActive, a.value, a.value, today);
    expiry_.emplace(measures_[i].end.days(), i);
    resp.requested = resp.frozen = a.value;
    resp.measure_id = measures_[i].id;
    resp.effective_date = measures_[i].effective;
    resp.end_date = measures_[i].end;
    return resp;
  }
  if (r.amount <= Fen()) {
    return error(
        invalid_argument_error("freeze amount " + format_fen(r.amount) + " must be positive"));
  }
  const Fen free = available(a);
  const bool held = std::any_of(chain(a).begin(), chain(a).end(),
                                [&](uint32_t j) { return live(measures_[j].state); });
  if (free.is_zero() && held) {
    resp.status = failed_precondition_error("asset '" + mask_id(*a.reference) +
                                            "' is fully frozen by other authorities; use a "
                                            "waiting-list freeze");
    resp.requested = r.amount;
    resp.prior_measures = prior(a, UINT32_MAX);
    return resp;
  }
  const Fen frozen = std::min(r.amount, free);
  const uint32_t i = new_measure(r, a, MeasureState::kActive, r.amount, frozen, today);
  expiry_.emplace(measures_[i].end.days(), i);
  resp.requested = r.amount;
  resp.frozen = frozen;
  resp.prior_measures = prior(a, i);
  resp.measure_id = measures_[i].id;
  resp.effective_date = measures_[i].effective;
  resp.end_date = measures_[i].end;
  return resp;
}

Response Institution::waitlist(const Request& r, AssetState& a, Date today) {
  const bool divisible = is_divisible(a.category);
  if (divisible && r.amount <= Fen()) {
    return error(invalid_argument_error("waiting-list amount " + format_fen(r.amount) +
                                        " must be positive"));
  }
  const Fen limit = divisible ? r.amount : a.value;
  const uint32_t i = new_measure(r, a, MeasureState::kWaiting, limit, Fen(), today);
  measures_[i].from_waitlist = true;
  distribute(a, today, /*credit=*/false);
  Response resp;
  resp.requested = limit;
  resp.frozen = measures_[i].frozen;
  resp.balance = a.value;
  resp.prior_measures = prior(a, i);
  resp.measure_id = measures_[i].id;
  if (measures_[i].state == MeasureState::kWaiting) {
    int position = 0;
    for (uint32_t j : chain(a)) {
      if (measures_[j].state == MeasureState::kWaiting) ++position;
      if (j == i) break;
    }
    resp.queue_position = position;
  } else {
    resp.effective_date = measures_[i].effective;
    resp.end_date = measures_[i].end;
  }
  return resp;
}

Response Institution::status_of(const Request& r) const {
  StatusOr<uint32_t> i = find_measure(r);
  if (!i.ok()) return error(i.status());
  const MeasureRecord& m = measures_[*i];
  if (!live(m.state)) {
    return error(failed_precondition_error(
        "measure '" + m.id + "' is " + std::string(measure_state_name(m.state)) +
        (m.state == MeasureState::kLapsed ? " since " + m.end.plus_days(1).to_string()
                                          : std::string())));
  }
  const AssetState& a = assets_.at(m.reference);
  Response resp;
  resp.measure_id = m.id;
  resp.requested = m.limit;
  resp.frozen = m.frozen;
  resp.balance = a.value;
  if (m.state == MeasureState::kWaiting) {
    int position = 0;
    for (uint32_t j : chain(a)) {
      if (measures_[j].state == MeasureState::kWaiting) ++position;
      if (j == *i) break;
    }
    resp.queue_position = position;
  } else {
    resp.effective_date = m.effective;
    resp.end_date = m.end;
  }
  return resp;
}

StatusOr<uint32_t> Institution::find_measure(const Request& r) const {
  const MeasureRecord* m = measure(r.measure_id);
  if (m == nullptr) return not_found_error(name_ + " has no measure '" + r.measure_id + "'");
  if (m->case_number != r.case_number) {
    return permission_denied_error("measure '" + r.measure_id + "' belongs to another case");
  }
  return static_cast<uint32_t>(m - measures_.data());
}

Response Institution::renew(const Request& r, Date today) {
  StatusOr<uint32_t> i = find_measure(r);
  if (!i.ok()) return error(i.status());
  MeasureRecord& m = measures_[*i];
  if (m.state == MeasureState::kWaiting) {
    return error(failed_precondition_error("measure '" + m.id +
                                           "' is waiting; its term starts "
                                           "when it takes effect"));
  }
  if (m.state != MeasureState::kActive) {
    return error(failed_precondition_error(
        "measure '" + m.id + "' is " + std::string(measure_state_name(m.state)) +
        (m.state == MeasureState::kLapsed ? " since " + m.end.plus_days(1).to_string()
                                          : std::string())));
  }
  (void)today;
  m.end = term_end(m.end.plus_days(1), measure_term_years(m.category));
  expiry_.emplace(m.end.days(), *i);
  Response resp;
  resp.measure_id = m.id;
  resp.frozen = m.frozen;
  resp.effective_date = m.effective;
  resp.end_date = m.end;
  return resp;
}

Response Institution::release(const Request& r, Date today) {
  StatusOr<uint32_t> i = find_measure(r);
  if (!i.ok()) return error(i.status());
  MeasureRecord& m = measures_[*i];
  if (!live(m.state)) {
    return error(failed_precondition_error("measure '" + m.id + "' is already " +
                                           std::string(measure_state_name(m.state))));
  }
  Response resp;
  resp.measure_id = m.id;
  resp.frozen = m.frozen;
  m.state = MeasureState::kReleased;
  m.frozen = Fen();
  AssetState& a = assets_.at(m.reference);
  count_live(a, *i, -1);
  noted(*i);
  distribute(a, today, /*credit=*/false);
  return resp;
}

Response Institution::deduct(const Request& r, Date today) {
  StatusOr<uint32_t> i = find_measure(r);
  if (!i.ok()) return error(i.status());
  MeasureRecord& m = measures_[*i];
  if (!is_divisible(m.category)) {
    return error(failed_precondition_error("measure '" + m.id +
                                           "' is on an indivisible asset; "
                                           "it is disposed of by auction, not deducted"));
  }
  if (m.state != MeasureState::kActive) {
    return error(failed_precondition_error("measure '" + m.id + "' is " +
                                           std::string(measure_state_name(m.state))));
  }
  const Fen amount = r.amount.is_zero() ? m.frozen : r.amount;
  if (amount.is_negative() || amount > m.frozen) {
    return error(invalid_argument_error("deduct amount " + format_fen(amount) +
                                        " exceeds the frozen " + format_fen(m.frozen)));
  }
  AssetState& a = assets_.at(m.reference);
  a.value -= amount;
  deducted_[m.case_number] += amount;
  m.transferred += amount;
  m.frozen -= amount;
  m.limit -= amount;
  if (m.frozen.is_zero()) {
    m.state = MeasureState::kDeducted;
    count_live(a, *i, -1);
  }
  noted(*i);
  distribute(a, today, /*credit=*/false);
  Response resp;
  resp.measure_id = m.id;
  resp.frozen = amount;
  resp.balance = a.value;
  return resp;
}

const MeasureRecord* Institution::measure(std::string_view id) const {
  // Measure IDs are "name/N" with N = 1, 2, ...: the number is the index, no map needed.
  if (id.size() <= name_.size() + 1 || id.substr(0, name_.size()) != name_ ||
      id[name_.size()] != '/') {
    return nullptr;
  }
  uint64_t n = 0;
  for (char ch : id.substr(name_.size() + 1)) {
    if (ch < '0' || ch > '9' || n > measures_.size()) return nullptr;
    n = n * 10 + static_cast<uint64_t>(ch - '0');
  }
  if (n == 0 || n > measures_.size()) return nullptr;
  const MeasureRecord& m = measures_[n - 1];
  return m.id == id ? &m : nullptr;
}

std::vector<const MeasureRecord*> Institution::measures_on(std::string_view reference) const {
  std::vector<const MeasureRecord*> out;
  const AssetState* a = find_asset(reference);
  if (a == nullptr) return out;
  for (uint32_t i : chain(*a)) out.push_back(&measures_[i]);
  return out;
}

Fen Institution::frozen_for_case(std::string_view case_number) const {
  Fen sum;
  for (const MeasureRecord& m : measures_) {
    if (m.state == MeasureState::kActive && m.case_number == case_number &&
        is_divisible(m.category)) {
      sum += m.frozen;
    }
  }
  return sum;
}

void Institution::add_held_by_case(std::unordered_map<std::string, Fen>& held) const {
  for (const MeasureRecord& m : measures_) {
    if (m.state == MeasureState::kActive && is_divisible(m.category)) {
      held[m.case_number] += m.frozen;
    }
  }
  for (const auto& [c, amount] : deducted_) held[c] += amount;
}

void Institution::add_unit_slack_by_case(std::unordered_map<std::string, Fen>& slack) const {
  if (securities_.empty()) return;
  for (const MeasureRecord& m : measures_) {
    if (m.state != MeasureState::kActive || m.category != AssetCategory::kSecurities) {
      continue;
    }
    const AssetState* a = find_asset(m.reference);
    if (a == nullptr || !a->priced) continue;
    Fen& s = slack[m.case_number];
    s = max(s, securities_.at(a).second - Fen(1));
  }
}

void Institution::add_frozen_by_case(std::unordered_map<std::string, Fen>& frozen) const {
  for (const MeasureRecord& m : measures_) {
    if (m.state == MeasureState::kActive && is_divisible(m.category)) {
      frozen[m.case_number] += m.frozen;
    }
  }
}

Fen Institution::deducted_for_case(std::string_view case_number) const {
  auto it = deducted_.find(std::string(case_number));
  return it == deducted_.end() ? Fen() : it->second;
}

int Institution::duplicate_measures() const {
  // Over the measures, not the assets: a national institution holds millions of assets and
  // few measures.
  std::vector<std::pair<std::string_view, std::string_view>> live_pairs;
  for (const MeasureRecord& m : measures_) {
    if (live(m.state)) live_pairs.emplace_back(m.reference, m.case_number);
  }
  std::sort(live_pairs.begin(), live_pairs.end());
  int n = 0;
  for (size_t i = 1; i < live_pairs.size(); ++i) n += live_pairs[i] == live_pairs[i - 1];
  return n;
}

void Institution::take_changed_measures(std::vector<uint32_t>& out) {
  out.clear();
  out.swap(changed_);
}

Institution::Holding Institution::holding_of(uint32_t i) const {
  const MeasureRecord& m = measures_[i];
  Holding h;
  const bool active = m.state == MeasureState::kActive;
  if (active && is_divisible(m.category)) {
    h.listed = true;
    h.amount = m.frozen;
  }
  // A deduction or a disposal lists the case for good (add_held_by_case's deducted_ entry),
  // even one that transferred nothing.
  if (!m.transferred.is_zero() || m.state == MeasureState::kDeducted) {
    h.listed = true;
    h.amount += m.transferred;
  }
  if (active && m.category == AssetCategory::kSecurities) {
    const AssetState* a = find_asset(m.reference);
    if (a != nullptr && a->priced) h.unit_slack = max(Fen(), securities_.at(a).second - Fen(1));
  }
  return h;
}

StatusOr<Fen> Institution::balance(std::string_view reference) const {
  const AssetState* a = find_asset(reference);
  if (a == nullptr) return not_found_error("no asset '" + mask_id(reference) + "'");
  return a->value;
}

}  // namespace chakong::institution
