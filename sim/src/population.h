// Population generation for the simulator. Private to sim/.
#ifndef CHAKONG_SIM_SRC_POPULATION_H_
#define CHAKONG_SIM_SRC_POPULATION_H_

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chakong/connectors/connector.h"
#include "chakong/engine/library.h"
#include "chakong/institution/institution.h"
#include "chakong/sim/scenario.h"

namespace chakong::sim {

// Where an asset lives: a place, which is an institution instance or a member of a hub
// (index into the simulation's flat list of places).
struct PlacedAsset {
  uint32_t institution = 0;
  Asset asset;
  // What the reference was made from (asset_reference): the debtor and the account's serial.
  uint64_t owner = 0;
  uint32_t serial = 0;
};

// A debtor in plain form: its ID, references and holder IDs as strings. The simulator keeps
// the compact form (Population below); this one is the reference the compact form is tested
// against, and the population benchmark's baseline.
struct Debtor {
  std::string id;
  bool organisation = false;
  std::vector<PlacedAsset> assets;
  int late_day = -1;  // Day on which `late_asset` appears, or -1.
  PlacedAsset late_asset;
};

// Places per category, as indices into the flat list of places.
struct InstitutionIndex {
  std::vector<uint32_t> by_category[6];
  std::vector<double> bank_weights;  // Cumulative Zipf weights over by_category[deposit].
};

// The name of instance `k` of group `g` ("bank.b001", or "bank.icbc" for a group of one);
// k = -1: a hub's one institution ("bank.members").
std::string instance_name(const GroupConfig& g, int k);

// The institutions of a scenario and where its assets live, in the simulator's order: per
// group, its instances (a hub is one institution for all its members' places), and per place
// its instance. What both a simulation and a sandbox (sandbox.h) are built on.
struct PlaceLayout {
  struct Instance {
    const GroupConfig* group = nullptr;
    int index_in_group = 0;    // k; 0 for a hub.
    uint32_t first_place = 0;  // The group's first place (a hub's members follow it).
    std::string name;          // instance_name().
  };
  std::vector<Instance> instances;
  std::vector<uint32_t> place_instance;  // Place -> index into `instances`.
  InstitutionIndex index;
};
PlaceLayout lay_out_places(const SimulationConfig& c);

// How the institutions of group `g` behave in a run of `c` (what they remember, top-ups).
institution::InstitutionPolicy institution_policy(const SimulationConfig& c, const GroupConfig& g);

// std::mt19937_64, output for output, with its state made only as far as it is read. Each
// debtor has its own generator and draws a few dozen numbers from it; seeding the whole
// 312-word state and twisting it, as std::mt19937_64 does, cost more than the rest of a
// debtor. The first 156 outputs need the seeded words up to 156 past them and no twist of the
// rest; past those (a debtor with very many accounts) it becomes a std::mt19937_64.
class LazyMt64 {
 public:
  using result_type = uint64_t;
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~uint64_t{0}; }
  LazyMt64() = default;
  explicit LazyMt64(uint64_t seed) { reset(seed); }
  LazyMt64(const LazyMt64&) = delete;
  LazyMt64& operator=(const LazyMt64&) = delete;

  // As if newly made with `seed`.
  void reset(uint64_t seed) {
    x_[0] = seed;
    made_ = 1;
    next_ = 0;
    full_.reset();
  }
  // Makes the seeded words up to `upto` (< 312) of four freshly reset generators at once: one
  // generator's words are a chain of multiplications, each waiting for the last; four chains
  // side by side keep the multiplier busy (3-4 times the throughput).
  static void make_four(LazyMt64* g, int upto);

  result_type operator()() {
    if (next_ >= kN - kM) [[unlikely]]
      return beyond();
    const int j = next_++;
    for (; made_ <= j + kM; ++made_) {
      const uint64_t p = x_[made_ - 1];
      x_[made_] = 6364136223846793005ull * (p ^ (p >> 62)) + static_cast<uint64_t>(made_);
    }
    const uint64_t y = (x_[j] & ~kLower) | (x_[j + 1] & kLower);
    uint64_t z = x_[j + kM] ^ (y >> 1) ^ ((y & 1) ? 0xb5026f5aa96619e9ull : 0);
    z ^= (z >> 29) & 0x5555555555555555ull;
    z ^= (z << 17) & 0x71d67fffeda60000ull;
    z ^= (z << 37) & 0xfff7eee000000000ull;
    return z ^ (z >> 43);
  }

 private:
  static constexpr int kN = 312, kM = 156;
  static constexpr uint64_t kLower = (uint64_t{1} << 31) - 1;
  result_type beyond();

  uint64_t x_[kN] = {};  // The seeded state, x_[0, made_) made (not twisted: read as it is).
  int made_ = 1;
  int next_ = 0;  // Outputs given.
  std::unique_ptr<std::mt19937_64> full_;
};

// A sample of a log-normal money spread, in whole fen, at least 1 fen.
Fen sample_money(const MoneySpread& s, std::mt19937_64& rng);

// The valid resident ID or credit code of debtor `index` (library debtors included).
std::string debtor_id(uint64_t index, bool organisation);
// The reference of account `serial` of debtor `owner` at `place`; unique, at most 15
// characters, and the place can be read back from it.
std::string asset_reference(uint32_t place, uint64_t owner, int serial);
uint32_t place_of_reference(std::string_view reference);

// Generates debtor `index` from (seed, index) alone, in plain form.
Debtor make_debtor(const SimulationConfig& c, const InstitutionIndex& idx, uint64_t index);

// Generates debtors [first, first + count) in plain form, in parallel on up to `threads`
// threads; the result does not depend on the thread count.
std::vector<Debtor> make_debtors(const SimulationConfig& c, const InstitutionIndex& idx,
                                 uint64_t first, uint64_t count, int threads);

// A generated asset, compact (16 bytes): its reference and holder ID are made from its place,
// serial and owner (asset_reference, debtor_id) when it is placed.
struct GenAsset {
  uint64_t packed = 0;  // Value in fen (low 48 bits) and securities' unit price (high 16).
  uint32_t place = 0;
  uint16_t serial = 0;
  AssetCategory category = AssetCategory::kDeposit;

  Fen value() const { return Fen(static_cast<int64_t>(packed & kValueMask)); }
  Fen unit_price() const { return Fen(static_cast<int64_t>(packed >> 48)); }
  int64_t quantity() const {  // Securities: value is quantity x unit price; else 0.
    return unit_price().is_zero() ? 0 : value().value() / unit_price().value();
  }
  // The asset as an institution holds it, for debtor `owner` whose ID is `holder`.
  void to_asset(uint64_t owner, const std::string& holder, Asset& out) const;

  static constexpr uint64_t kValueMask = (uint64_t{1} << 48) - 1;
};

// Debtors [first, first + size()) in compact form (about 32 bytes a debtor): no strings, the
// IDs and references are made from the indices when they are needed. Held in blocks of
// kBlock debtors, each generated (in parallel) where it stays.
struct Population {
  static constexpr uint64_t kBlock = 4096;
  struct Block {
    std::vector<uint8_t> organisation;  // Per debtor: 1 for an organisation, 0 for a person.
    std::vector<uint32_t> end;          // Per debtor: one past its last asset in `assets`.
    std::vector<GenAsset> assets;
  };
  struct Late {
    uint64_t debtor = 0;  // Its index.
    int32_t day = 0;      // The day its asset appears.
    GenAsset asset;
  };
  uint64_t first = 0, count = 0;
  std::vector<Block> blocks;
  std::vector<Late> late;  // Debtors without property who open an account later, in order.

  size_t size() const { return static_cast<size_t>(count); }
  // Of debtor first + k.
  bool organisation(size_t k) const { return blocks[k / kBlock].organisation[k % kBlock] != 0; }
  std::span<const GenAsset> assets_of(size_t k) const {
    const Block& b = blocks[k / kBlock];
    const size_t i = k % kBlock;
    const uint32_t from = i == 0 ? 0 : b.end[i - 1];
    return {b.assets.data() + from, b.end[i] - from};
  }
  // Bytes the vectors hold (their capacity).
  size_t bytes() const;
};

// The same debtors as make_debtors, in compact form, from (seed, index) alone; the result does
// not depend on the thread count.
Population make_population(const SimulationConfig& c, const InstitutionIndex& idx, uint64_t first,
                           uint64_t count, int threads);
// Debtor `index` alone, in compact form (the same as make_population's).
Population make_population_of(const SimulationConfig& c, const InstitutionIndex& idx,
                              uint64_t index);

// One generated library case: the entry to import and the property its debtors acquire
// during the run (day, asset), which the sweep should find.
struct LibraryCaseGen {
  engine::LibraryEntry entry;
  std::vector<std::pair<int, PlacedAsset>> late;
};

// Generates library case `index` from (seed, index) alone: terminated on a day spread evenly
// over the `library_years` before the start, debtors with IDs after the population's.
LibraryCaseGen make_library_case(const SimulationConfig& c, const InstitutionIndex& idx,
                                 uint64_t index);
std::vector<LibraryCaseGen> make_library(const SimulationConfig& c, const InstitutionIndex& idx,
                                         int threads);

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_SRC_POPULATION_H_
