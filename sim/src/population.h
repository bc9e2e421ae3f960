// Population generation for the simulator. Private to sim/.
#ifndef CHAKONG_SIM_SRC_POPULATION_H_
#define CHAKONG_SIM_SRC_POPULATION_H_

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "chakong/connectors/connector.h"
#include "chakong/engine/library.h"
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

// A sample of a log-normal money spread, in whole fen, at least 1 fen.
Fen sample_money(const MoneySpread& s, std::mt19937_64& rng);

// The valid resident ID or credit code of debtor `index` (library debtors included).
std::string debtor_id(uint64_t index, bool organisation);
// The reference of account `serial` of debtor `owner` at `place`; unique, at most 15
// characters, and the place can be read back from it.
std::string asset_reference(uint32_t place, uint64_t owner, int serial);
uint32_t place_of_reference(std::string_view reference);

// Generates debtor `index` from (seed, index) alone.
Debtor make_debtor(const SimulationConfig& c, const InstitutionIndex& idx, uint64_t index);

// Generates debtors [first, first + count), in parallel on up to `threads` threads; the
// result does not depend on the thread count.
std::vector<Debtor> make_debtors(const SimulationConfig& c, const InstitutionIndex& idx,
                                 uint64_t first, uint64_t count, int threads);

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
