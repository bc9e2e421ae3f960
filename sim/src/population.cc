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

// Writes `v` as `width` decimal digits ending just before `end`.
void put_digits(char* end, uint64_t v, int width) {
  for (int k = 0; k < width; ++k, v /= 10) *--end = static_cast<char>('0' + v % 10);
}

// A unique, valid resident ID per index: birth date from the index, sequence and region above.
// (As "%06u%04d%02d%02d%03u" of region, year, month, day and sequence; the region stays below
// 10^6 for any population the scenario allows.)
std::string person_id(uint64_t i) {
  const Date birth = Date::from_days(static_cast<int32_t>(-7300 + (i % 18'000)));  // 1950..1999
  const uint64_t rest = i / 18'000;
  char id[18];
  put_digits(id + 6, 500101 + rest / 1000, 6);
  put_digits(id + 10, static_cast<uint64_t>(birth.year()), 4);
  put_digits(id + 12, static_cast<uint64_t>(birth.month()), 2);
  put_digits(id + 14, static_cast<uint64_t>(birth.day()), 2);
  put_digits(id + 17, rest % 1000, 3);
  id[17] = resident_id_check_char(std::string_view(id, 17));
  return std::string(id, 18);
}

// A unique, valid unified social credit code per index.
std::string organisation_id(uint64_t i) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  char code[18] = {'9', '1', '5', '0', '0', '1', '1', '0'};
  for (int k = 16; k >= 8; --k, i /= 31) code[k] = kAlphabet[i % 31];
  code[17] = credit_code_check_char(std::string_view(code, 17));
  return std::string(code, 18);
}

// A MoneySpread with its log-normal's sigma worked out once.
struct Spread {
  Fen median;
  bool flat = true;  // p99 <= median: always the median.
  double m = 0, sigma = 0;

  explicit Spread(const MoneySpread& s) : median(s.median), flat(s.p99 <= s.median) {
    m = static_cast<double>(s.median.value());
    if (!flat) sigma = std::log(static_cast<double>(s.p99.value()) / m) / 2.326;
  }

  template <typename Rng>
  Fen sample(Rng& rng) const {
    if (flat) return median;
    std::normal_distribution<double> z(0.0, 1.0);
    const double v = m * std::exp(sigma * z(rng));
    return Fen(std::max<int64_t>(1, std::min<int64_t>(static_cast<int64_t>(v), kMaxClaim.value())));
  }
};

// The population model of a config: what make_debtor draws, in the order it draws it, for any
// generator and any form of the result. `Out` gets begin(organisation), then asset(...) for
// each asset in serial order, or late(day, ...) for a debtor whose only asset comes later.
class Model {
 public:
  Model(const SimulationConfig& c, const InstitutionIndex& idx)
      : c_(c),
        idx_(idx),
        accounts_(std::max(0.0, c.accounts_per_debtor - 1)),
        balance_(c.balance),
        others_{{AssetCategory::kProvidentFund, c.provident_fund_share,
                 Spread(c.provident_fund_balance)},
                {AssetCategory::kSecurities, c.securities_share, Spread(c.securities_value)},
                {AssetCategory::kVehicle, c.vehicle_share, Spread(c.vehicle_value)},
                {AssetCategory::kRealEstate, c.real_estate_share, Spread(c.real_estate_value)}} {}

  // The seed of debtor `index`'s generator.
  uint64_t seed_of(uint64_t index) const { return mix(c_.seed * 0x100000001b3ull + index); }

  template <typename Rng, typename Out>
  void debtor(uint64_t index, Out& out) const {
    Rng rng(seed_of(index));
    debtor(rng, out);
  }
  // Debtor `index` from `rng`, made with seed_of(index) and not read yet.
  template <typename Rng, typename Out>
  void debtor(Rng& rng, Out& out) const {
    std::uniform_real_distribution<double> u(0, 1);
    out.begin(u(rng) < c_.organisation_share);
    uint16_t serial = 0;
    // Securities are held in whole units at a unit price drawn after the value.
    const auto add = [&](AssetCategory cat, uint32_t place, Fen value) {
      Fen price;
      if (cat == AssetCategory::kSecurities) {
        price = Fen(500 + static_cast<int64_t>(rng() % 4'500));
        value = Fen(std::max<int64_t>(1, value.value() / price.value()) * price.value());
      }
      out.asset(cat, place, serial++, value, price);
    };
    // (Each value is drawn before its place: the order in which the plain generator of
    // 2026-11 evaluated them, which the populations of existing seeds depend on.)
    if (u(rng) >= c_.no_property_share) {
      std::poisson_distribution<int> accounts = accounts_;  // A fresh copy: no saved state.
      const int n = 1 + accounts(rng);
      for (int k = 0; k < n; ++k) {
        const Fen value = balance_.sample(rng);
        add(AssetCategory::kDeposit, pick_bank(rng), value);
      }
      for (const Other& o : others_) {
        const std::vector<uint32_t>& places = idx_.by_category[static_cast<int>(o.category)];
        if (!places.empty() && u(rng) < o.share) {
          const Fen value = o.spread.sample(rng);
          add(o.category, places[rng() % places.size()], value);
        }
      }
    } else if (u(rng) < c_.late_property_share) {
      const int day = static_cast<int>(rng() % static_cast<uint64_t>(std::max(1, c_.days)));
      const Fen value = balance_.sample(rng);
      out.late(day, AssetCategory::kDeposit, pick_bank(rng), value);
    }
  }

 private:
  struct Other {
    AssetCategory category;
    double share;
    Spread spread;
  };

  template <typename Rng>
  uint32_t pick_bank(Rng& rng) const {
    const auto& banks = idx_.by_category[static_cast<int>(AssetCategory::kDeposit)];
    std::uniform_real_distribution<double> u(0, idx_.bank_weights.back());
    const auto it = std::upper_bound(idx_.bank_weights.begin(), idx_.bank_weights.end(), u(rng));
    return banks[std::min<size_t>(static_cast<size_t>(it - idx_.bank_weights.begin()),
                                  banks.size() - 1)];
  }

  const SimulationConfig& c_;
  const InstitutionIndex& idx_;
  const std::poisson_distribution<int> accounts_;
  const Spread balance_;
  const Other others_[4];
};

// Builds a plain Debtor.
struct PlainOut {
  uint64_t index;
  Debtor& d;

  void begin(bool organisation) {
    d.organisation = organisation;
    d.id = debtor_id(index, organisation);
  }
  PlacedAsset placed(AssetCategory cat, uint32_t place, uint16_t serial, Fen value,
                     Fen price) const {
    PlacedAsset p;
    p.institution = place;
    p.owner = index;
    p.serial = serial;
    p.asset.category = cat;
    p.asset.reference = asset_reference(place, index, serial);
    p.asset.holder_id = d.id;
    p.asset.value = value;
    if (!price.is_zero()) {
      p.asset.unit_price = price;
      p.asset.quantity = value.value() / price.value();
    }
    return p;
  }
  void asset(AssetCategory cat, uint32_t place, uint16_t serial, Fen value, Fen price) {
    d.assets.push_back(placed(cat, place, serial, value, price));
  }
  void late(int day, AssetCategory cat, uint32_t place, Fen value) {
    d.late_day = day;
    d.late_asset = placed(cat, place, 0, value, Fen());
  }
};

GenAsset gen_asset(AssetCategory cat, uint32_t place, uint16_t serial, Fen value, Fen price) {
  GenAsset a;
  a.packed = static_cast<uint64_t>(value.value()) | static_cast<uint64_t>(price.value()) << 48;
  a.place = place;
  a.serial = serial;
  a.category = cat;
  return a;
}

// Appends to a block of a compact Population.
struct CompactOut {
  Population::Block& b;
  std::vector<Population::Late>& late_list;
  uint64_t index = 0;

  void begin(bool organisation) { b.organisation.push_back(organisation ? 1 : 0); }
  void asset(AssetCategory cat, uint32_t place, uint16_t serial, Fen value, Fen price) {
    b.assets.push_back(gen_asset(cat, place, serial, value, price));
  }
  void late(int day, AssetCategory cat, uint32_t place, Fen value) {
    late_list.push_back({index, day, gen_asset(cat, place, 0, value, Fen())});
  }
  void end() { b.end.push_back(static_cast<uint32_t>(b.assets.size())); }
};

// The library's debtors' banks (make_library_case), as the model picks them.
uint32_t pick_bank(const InstitutionIndex& idx, std::mt19937_64& rng) {
  const auto& banks = idx.by_category[static_cast<int>(AssetCategory::kDeposit)];
  std::uniform_real_distribution<double> u(0, idx.bank_weights.back());
  const auto it = std::upper_bound(idx.bank_weights.begin(), idx.bank_weights.end(), u(rng));
  return banks[std::min<size_t>(static_cast<size_t>(it - idx.bank_weights.begin()),
                                banks.size() - 1)];
}

static_assert(kMaxClaim.value() <= static_cast<int64_t>(GenAsset::kValueMask));
static_assert(sizeof(GenAsset) == 16);

}  // namespace

void LazyMt64::make_four(LazyMt64* g, int upto) {
  uint64_t* x0 = g[0].x_;
  uint64_t* x1 = g[1].x_;
  uint64_t* x2 = g[2].x_;
  uint64_t* x3 = g[3].x_;
  constexpr uint64_t kF = 6364136223846793005ull;
  for (int i = 1; i <= upto; ++i) {
    const uint64_t p0 = x0[i - 1], p1 = x1[i - 1], p2 = x2[i - 1], p3 = x3[i - 1];
    const uint64_t k = static_cast<uint64_t>(i);
    x0[i] = kF * (p0 ^ (p0 >> 62)) + k;
    x1[i] = kF * (p1 ^ (p1 >> 62)) + k;
    x2[i] = kF * (p2 ^ (p2 >> 62)) + k;
    x3[i] = kF * (p3 ^ (p3 >> 62)) + k;
  }
  for (int q = 0; q < 4; ++q) g[q].made_ = upto + 1;
}

LazyMt64::result_type LazyMt64::beyond() {
  if (full_ == nullptr) {
    full_ = std::make_unique<std::mt19937_64>(x_[0]);
    full_->discard(static_cast<unsigned long long>(kN - kM));
  }
  return (*full_)();
}

std::string instance_name(const GroupConfig& g, int k) {
  if (g.count == 1 || (g.is_hub() && k < 0)) return g.kind + "." + g.name;
  char buf[16];
  std::snprintf(buf, sizeof buf, g.count >= 1000 ? "%04d" : "%03d", k + 1);
  return g.kind + "." + g.name + buf;
}

PlaceLayout lay_out_places(const SimulationConfig& c) {
  PlaceLayout l;
  for (const GroupConfig& g : c.groups) {
    const uint32_t first_place = static_cast<uint32_t>(l.place_instance.size());
    for (int k = 0; k < g.count; ++k) {
      if (!g.is_hub() || k == 0) {
        l.instances.push_back({&g, k, first_place, instance_name(g, g.is_hub() ? -1 : k)});
      }
      const uint32_t place = static_cast<uint32_t>(l.place_instance.size());
      l.place_instance.push_back(static_cast<uint32_t>(l.instances.size() - 1));
      l.index.by_category[static_cast<int>(g.category)].push_back(place);
      if (g.category == AssetCategory::kDeposit) {
        const double w = 1.0 / std::pow(static_cast<double>(k + 1), g.zipf);
        std::vector<double>& bw = l.index.bank_weights;
        bw.push_back((bw.empty() ? 0 : bw.back()) + w);
      }
    }
  }
  return l;
}

institution::InstitutionPolicy institution_policy(const SimulationConfig& c, const GroupConfig& g) {
  institution::InstitutionPolicy policy;
  // Longer than any retry schedule (attempts x timeout, plus the in-doubt re-sends).
  policy.remember_days = static_cast<int>(2 * c.max_attempts * c.timeout / kMicrosPerDay) + 30;
  policy.top_up = g.kind == "bank";
  return policy;
}

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

Fen sample_money(const MoneySpread& s, std::mt19937_64& rng) { return Spread(s).sample(rng); }

Debtor make_debtor(const SimulationConfig& c, const InstitutionIndex& idx, uint64_t index) {
  Debtor d;
  PlainOut out{index, d};
  Model(c, idx).debtor<std::mt19937_64>(index, out);
  return d;
}

std::vector<Debtor> make_debtors(const SimulationConfig& c, const InstitutionIndex& idx,
                                 uint64_t first, uint64_t count, int threads) {
  std::vector<Debtor> out(static_cast<size_t>(count));
  const Model model(c, idx);
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<size_t>(std::max(1, threads)));
  tbb::parallel_for(tbb::blocked_range<size_t>(0, out.size(), 4096),
                    [&](const tbb::blocked_range<size_t>& r) {
                      for (size_t i = r.begin(); i < r.end(); ++i) {
                        PlainOut o{first + i, out[i]};
                        model.debtor<std::mt19937_64>(first + i, o);
                      }
                    });
  return out;
}

void GenAsset::to_asset(uint64_t owner, const std::string& holder, Asset& out) const {
  out.category = category;
  out.reference = asset_reference(place, owner, serial);
  out.holder_id = holder;
  out.value = value();
  out.unit_price = unit_price();
  out.quantity = quantity();
}

size_t Population::bytes() const {
  size_t n = blocks.capacity() * sizeof(Block) + late.capacity() * sizeof(Late);
  for (const Block& b : blocks) {
    n += b.organisation.capacity() * sizeof(uint8_t) + b.end.capacity() * sizeof(uint32_t) +
         b.assets.capacity() * sizeof(GenAsset);
  }
  return n;
}

Population make_population_of(const SimulationConfig& c, const InstitutionIndex& idx,
                              uint64_t index) {
  Population p;
  p.first = index;
  p.count = 1;
  p.blocks.resize(1);
  CompactOut out{p.blocks[0], p.late, index};
  Model(c, idx).debtor<LazyMt64>(index, out);
  out.end();
  return p;
}

Population make_population(const SimulationConfig& c, const InstitutionIndex& idx, uint64_t first,
                           uint64_t count, int threads) {
  constexpr uint64_t kBlock = Population::kBlock;
  const Model model(c, idx);
  Population p;
  p.first = first;
  p.count = count;
  p.blocks.resize(static_cast<size_t>((count + kBlock - 1) / kBlock));
  std::vector<std::vector<Population::Late>> late(p.blocks.size());
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism,
                            static_cast<size_t>(std::max(1, threads)));
  tbb::parallel_for(size_t{0}, p.blocks.size(), [&](size_t k) {
    Population::Block& b = p.blocks[k];
    const uint64_t from = first + k * kBlock, n = std::min(kBlock, first + count - from);
    b.organisation.reserve(n);
    b.end.reserve(n);
    b.assets.reserve(2 * n);
    CompactOut out{b, late[k]};
    // Four generators seeded together up to what a debtor with property usually reads (a
    // debtor reads ~20 numbers; LazyMt64 makes more words itself when it needs them).
    constexpr int kUsual = 156 + 24;
    LazyMt64 rng[4];
    uint64_t i = from;
    for (; i + 4 <= from + n; i += 4) {
      for (int q = 0; q < 4; ++q) rng[q].reset(model.seed_of(i + static_cast<uint64_t>(q)));
      LazyMt64::make_four(rng, kUsual);
      for (int q = 0; q < 4; ++q) {
        out.index = i + static_cast<uint64_t>(q);
        model.debtor(rng[q], out);
        out.end();
      }
    }
    for (; i < from + n; ++i) {
      out.index = i;
      model.debtor<LazyMt64>(i, out);
      out.end();
    }
    b.assets.shrink_to_fit();  // Kept: no room to spare.
  });
  size_t n = 0;
  for (const auto& l : late) n += l.size();
  p.late.reserve(n);
  for (const auto& l : late) p.late.insert(p.late.end(), l.begin(), l.end());
  return p;
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
