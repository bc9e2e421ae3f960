#include "chakong/engine/freeze_planner.h"

#include <algorithm>

namespace chakong::engine {

using connectors::is_divisible;

std::vector<PlannedFreeze> plan_freezes(std::vector<Candidate> candidates, Fen remaining,
                                        bool allow_indivisible) {
  std::vector<PlannedFreeze> out;
  if (remaining <= Fen()) return out;
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) {
                     if (a.category != b.category) return a.category < b.category;
                     return a.value > b.value;
                   });
  for (const Candidate& c : candidates) {
    if (!is_divisible(c.category) || c.value <= Fen() || remaining <= Fen()) continue;
    const Fen amount = min(c.value, remaining);
    out.push_back({c.finding, amount, c.held_by_others, {}});
    remaining -= amount;
  }
  if (remaining <= Fen() || !allow_indivisible) return out;

  // Divisible property is insufficient: seal indivisible assets, the smallest that covers
  // the rest if there is one, else the largest, until covered.
  std::vector<const Candidate*> rest;
  for (const Candidate& c : candidates) {
    if (!is_divisible(c.category) && c.value > Fen()) rest.push_back(&c);
  }
  std::sort(rest.begin(), rest.end(), [](const Candidate* a, const Candidate* b) {
    return a->value != b->value ? a->value < b->value : a->finding < b->finding;
  });
  while (remaining > Fen() && !rest.empty()) {
    auto it = std::find_if(rest.begin(), rest.end(),
                           [&](const Candidate* c) { return c->value >= remaining; });
    if (it == rest.end()) it = rest.end() - 1;
    const Candidate& c = **it;
    std::string reason = "divisible property insufficient: " + format_fen(remaining) +
                         " of the budget uncovered after freezing every divisible asset "
                         "found; sealing " +
                         std::string(connectors::asset_category_name(c.category)) + " worth " +
                         format_fen(c.value);
    out.push_back({c.finding, min(c.value, remaining), c.held_by_others, std::move(reason)});
    remaining -= min(c.value, remaining);
    rest.erase(it);
  }
  return out;
}

}  // namespace chakong::engine
