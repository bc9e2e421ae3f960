#include "chakong/sim/sandbox.h"

#include <algorithm>

#include "population.h"

namespace chakong::sim {

StatusOr<Sandbox> make_sandbox(const SimulationConfig& config, int threads) {
  const PlaceLayout layout = lay_out_places(config);
  Sandbox box;
  for (const PlaceLayout::Instance& li : layout.instances) {
    box.institutions.push_back(
        {li.name, li.group->kind,
         std::make_unique<institution::Institution>(li.name, connectors::Capabilities::all(),
                                                    institution_policy(config, *li.group))});
  }
  box.debtors = static_cast<uint64_t>(config.debtors);
  // In chunks, as the simulator does, so that only a chunk is ever held in compact form.
  constexpr uint64_t kChunk = 1 << 20;
  connectors::Asset placed;
  for (uint64_t first = 0; first < box.debtors; first += kChunk) {
    const uint64_t n = std::min<uint64_t>(kChunk, box.debtors - first);
    const Population chunk = make_population(config, layout.index, first, n, threads);
    for (uint64_t k = 0; k < n; ++k) {
      const std::span<const GenAsset> assets = chunk.assets_of(k);
      if (assets.empty()) continue;
      const uint64_t owner = first + k;
      const std::string holder = debtor_id(owner, chunk.organisation(k));
      for (const GenAsset& a : assets) {
        a.to_asset(owner, holder, placed);
        SandboxInstitution& at = box.institutions[layout.place_instance[a.place]];
        if (Status s = at.truth->add_asset(placed); !s.ok()) {
          return internal_error(at.name + ": debtor " + std::to_string(owner) + ": " +
                                std::string(s.message()));
        }
        ++box.assets;
      }
    }
  }
  return box;
}

SandboxDebtor sandbox_debtor(const SimulationConfig& config, uint64_t index) {
  const PlaceLayout layout = lay_out_places(config);
  const Population p = make_population_of(config, layout.index, index);
  SandboxDebtor d;
  d.organisation = p.organisation(0);
  d.id = debtor_id(index, d.organisation);
  for (const GenAsset& a : p.assets_of(0)) {
    SandboxHolding h;
    h.institution = layout.place_instance[a.place];
    a.to_asset(index, d.id, h.asset);
    d.holdings.push_back(std::move(h));
  }
  return d;
}

}  // namespace chakong::sim
