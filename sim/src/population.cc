#include "population.h"

#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "chakong/base/case_number.h"
#include "chakong/base/identity.h"

namespace chakong::sim {
namespace {

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// A unique, valid resident ID per index: birth date from the index, sequence and region above.
std::string person_id(uint64_t i) {
  const Date birth = Date::from_days(static_cast<int32_t>(-7300 + (i % 18'000)));  // 1950..1999
  const uint64_t rest = i / 18'000;
  char first17[18];
  std::snprintf(first17, sizeof first17, "%06u%04d%02d%02d%03u",
                static_cast<unsigned>(500101 + rest / 1000), birth.year(), birth.month(),
                birth.day(), static_cast<unsigned>(rest % 1000));
  return std::string(first17) + resident_id_check_char(first17);
}

// A unique, valid unified social credit code per index.
std::string organisation_id(uint64_t i) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  std::string code = "91500110";
  for (int k = 8; k >= 0; --k) {
    uint64_t p = 1;
    for (int j = 0; j < k; ++j) p *= 31;
    code.push_back(kAlphabet[(i / p) % 31]);
  }
  return code + credit_code_check_char(code);
}

uint32_t pick(const std::vector<uint32_t>& v, std::mt19937_64& rng) { return v[rng() % v.size()]; }

uint32_t pick_bank(const InstitutionIndex& idx, std::mt19937_64& rng) {
  const auto& banks = idx.by_category[static_cast<int>(AssetCategory::kDeposit)];
  std::uniform_real_distribution<double> u(0, idx.bank_weights.back());
  const auto it = std::upper_bound(idx.bank_weights.begin(), idx.bank_weights.end(), u(rng));
  return banks[std::min<size_t>(static_cast<size_t>(it - idx.bank_weights.begin()),
                                banks.size() - 1)];
}

}  // namespace

std::string debtor_id(uint64_t index, bool organisation) {
  return organisation ? organisation_id(index) : person_id(index);
}

std::string asset_reference(uint32_t place, uint64_t owner, int serial) {
  // "<place>:<owner in base 36>:<serial>": unique, and short enough for the string's own
  // buffer (no allocation per account at national scale).
  char buf[32];
  char* p = buf + sizeof buf;
  *--p = '\0';
  for (unsigned s = static_cast<unsigned>(serial);; s /= 10) {
    *--p = static_cast<char>('0' + s % 10);
    if (s < 10) break;
  }
  *--p = ':';
  for (uint64_t o = owner;; o /= 36) {
    *--p = "0123456789abcdefghijklmnopqrstuvwxyz"[o % 36];
    if (o < 36) break;
  }
  *--p = ':';
  for (uint32_t q = place;; q /= 10) {
    *--p = static_cast<char>('0' + q % 10);
    if (q < 10) break;
  }
  return std::string(p);
}

uint32_t place_of_reference(std::string_view reference) {
  uint32_t place = 0;
  for (char ch : reference) {
    if (ch < '0' || ch > '9') break;
    place = place * 10 + static_cast<uint32_t>(ch - '0');
  }
  return place;
}

Fen sample_money(const MoneySpread& s, std::mt19937_64& rng) {
  const double median = static_cast<double>(s.median.value());
  if (s.p99 <= s.median) return s.median;
  const double sigma = std::log(static_cast<double>(s.p99.value()) / median) / 2.326;
  std::normal_distribution<double> z(0.0, 1.0);
  const double v = median * std::exp(sigma * z(rng));
  return Fen(std::max<int64_t>(1, std::min<int64_t>(static_cast<int64_t>(v), kMaxClaim.value())));
}

Debtor make_debtor(const SimulationConfig& c, const InstitutionIndex& idx, uint64_t index) {
  std::mt19937_64 rng(mix(c.seed * 0x100000001b3ull + index));
  std::uniform_real_distribution<double> u(0, 1);
  Debtor d;
  d.organisation = u(rng) < c.organisation_share;
  d.id = debtor_id(index, d.organisation);
  int serial = 0;
  auto add = [&](AssetCategory cat, uint32_t inst, Fen value) {
    PlacedAsset p;
    p.institution = inst;
    p.owner = index;
    p.serial = static_cast<uint32_t>(serial);
    p.asset.category = cat;
    p.asset.reference = asset_reference(inst, index, serial++);
    p.asset.holder_id = d.id;
    p.asset.value = value;
    if (cat == AssetCategory::kSecurities) {
      p.asset.unit_price = Fen(500 + static_cast<int64_t>(rng() % 4'500));
      p.asset.quantity = std::max<int64_t>(1, value.value() / p.asset.unit_price.value());
      p.asset.value = Fen(p.asset.quantity * p.asset.unit_price.value());
    }
    d.assets.push_back(std::move(p));
  };
  auto has = [&](AssetCategory cat) { return !idx.by_category[static_cast<int>(cat)].empty(); };
  if (u(rng) >= c.no_property_share) {
    std::poisson_distribution<int> accounts(std::max(0.0, c.accounts_per_debtor - 1));
    const int n = 1 + accounts(rng);
    for (int k = 0; k < n; ++k)
      add(AssetCategory::kDeposit, pick_bank(idx, rng), sample_money(c.balance, rng));
    const std::pair<AssetCategory, std::pair<double, const MoneySpread*>> others[] = {
        {AssetCategory::kProvidentFund, {c.provident_fund_share, &c.provident_fund_balance}},
        {AssetCategory::kSecurities, {c.securities_share, &c.securities_value}},
        {AssetCategory::kVehicle, {c.vehicle_share, &c.vehicle_value}},
        {AssetCategory::kRealEstate, {c.real_estate_share, &c.real_estate_value}},
    };
    for (const auto& [cat, sv] : others) {
      if (has(cat) && u(rng) < sv.first) {
        add(cat, pick(idx.by_category[static_cast<int>(cat)], rng), sample_money(*sv.second, rng));
      }
    }
  } else if (u(rng) < c.late_property_share) {
    d.late_day = static_cast<int>(rng() % static_cast<uint64_t>(std::max(1, c.days)));
    add(AssetCategory::kDeposit, pick_bank(idx, rng), sample_money(c.balance, rng));
    d.late_asset = std::move(d.assets.back());
    d.assets.pop_back();
  }
  return d;
}

std::vector<Debtor> make_debtors(const SimulationConfig& c, const InstitutionIndex& idx,
                                 uint64_t first, uint64_t count, int threads) {
  std::vector<Debtor> out(static_cast<size_t>(count));
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<size_t>(std::max(1, threads)));
  tbb::parallel_for(tbb::blocked_range<size_t>(0, out.size(), 4096),
                    [&](const tbb::blocked_range<size_t>& r) {
                      for (size_t i = r.begin(); i < r.end(); ++i) {
                        out[i] = make_debtor(c, idx, first + i);
                      }
                    });
  return out;
}

LibraryCaseGen make_library_case(const SimulationConfig& c, const InstitutionIndex& idx,
                                 uint64_t index) {
  std::mt19937_64 rng(mix(c.seed * 0x100000001b3ull + 0x5eed'0000'0000ull + index));
  std::uniform_real_distribution<double> u(0, 1);
  LibraryCaseGen g;
  engine::LibraryEntry& e = g.entry;
  const int span = 365 * c.library_years;
  e.terminated = c.start.plus_days(-1 - static_cast<int32_t>(index % static_cast<uint64_t>(span)));
  const Date filed = e.terminated.plus_days(-100 - static_cast<int32_t>(rng() % 300));
  // Serials from 1,000,000,000 on: never those of the run's own arrivals.
  e.case_number = CaseNumber::make(filed.year(), c.court, CaseType::kZhi,
                                   1'000'000'000 + static_cast<int64_t>(index))
                      ->to_string();
  e.officer_id = c.court + "-" + std::to_string(1 + index % static_cast<uint64_t>(c.officers));
  e.remaining = sample_money(c.library_remaining, rng);
  e.consumption_restricted = true;
  const int n = 1 + static_cast<int>(rng() % static_cast<uint64_t>(c.library_max_debtors));
  for (int k = 0; k < n; ++k) {
    const uint64_t di = static_cast<uint64_t>(c.debtors) +
                        index * static_cast<uint64_t>(c.library_max_debtors) +
                        static_cast<uint64_t>(k);
    engine::LibraryDebtor d;
    d.organisation = u(rng) < c.organisation_share;
    d.id = debtor_id(di, d.organisation);
    if (u(rng) < c.library_hit_share) {
      PlacedAsset p;
      p.institution = pick_bank(idx, rng);
      p.owner = di;
      p.asset.category = AssetCategory::kDeposit;
      p.asset.reference = asset_reference(p.institution, di, 0);
      p.asset.holder_id = d.id;
      p.asset.value = sample_money(c.balance, rng);
      g.late.emplace_back(static_cast<int>(rng() % static_cast<uint64_t>(std::max(1, c.days))),
                          std::move(p));
    }
    e.debtors.push_back(std::move(d));
  }
  return g;
}

std::vector<LibraryCaseGen> make_library(const SimulationConfig& c, const InstitutionIndex& idx,
                                         int threads) {
  std::vector<LibraryCaseGen> out(static_cast<size_t>(c.library_cases));
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<size_t>(std::max(1, threads)));
  tbb::parallel_for(tbb::blocked_range<size_t>(0, out.size(), 4096),
                    [&](const tbb::blocked_range<size_t>& r) {
                      for (size_t i = r.begin(); i < r.end(); ++i) {
                        out[i] = make_library_case(c, idx, i);
                      }
                    });
  return out;
}

}  // namespace chakong::sim
