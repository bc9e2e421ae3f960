#include "freeze_planner.h"

#include <algorithm>
#include <cmath>

namespace chakong::engine {

using connectors::is_divisible;

namespace {
// Up to this many candidates (a case's findings; a handful), plan_freezes() sorts them by
// insertion.
constexpr size_t kInsertionSortMax = 32;
}  // namespace

Plan plan_freezes(std::vector<Candidate> candidates, Fen remaining, const PlanPolicy& policy) {
  Plan plan;
  plan_freezes(candidates, remaining, policy, plan);
  return plan;
}

void plan_freezes(std::vector<Candidate>& candidates, Fen remaining, const PlanPolicy& policy,
                  Plan& plan) {
  std::vector<PlannedFreeze>& out = plan.freezes;
  out.clear();
  plan.uncovered = Fen();
  plan.seals_avoided = 0;
  plan.uncovered_reason.clear();
  if (remaining <= Fen()) return;
  auto before = [](const Candidate& a, const Candidate& b) {
    if (a.category != b.category) return a.category < b.category;
    return a.value > b.value;
  };
  if (candidates.size() <= kInsertionSortMax) {
    // Stable too, and in place: std::stable_sort allocates a buffer on every call.
    for (size_t i = 1; i < candidates.size(); ++i) {
      const Candidate c = candidates[i];
      size_t j = i;
      for (; j > 0 && before(c, candidates[j - 1]); --j) candidates[j] = candidates[j - 1];
      candidates[j] = c;
    }
  } else {
    std::stable_sort(candidates.begin(), candidates.end(), before);
  }
  for (const Candidate& c : candidates) {
    if (!is_divisible(c.category) || c.value <= Fen() || remaining <= Fen()) continue;
    Fen amount = min(c.value, remaining);
    Fen whole_unit;
    if (c.unit_price > Fen()) {
      // Whole units: as many as the position holds, or enough to cover the rest (rounded
      // up, so that no few-yuan remainder is left for an indivisible asset).
      const int64_t price = c.unit_price.value();
      const int64_t units =
          std::min(c.value.value() / price, (remaining.value() + price - 1) / price);
      if (units == 0) continue;
      amount = Fen(units * price);
      whole_unit = c.unit_price;
    }
    out.push_back({c.finding, amount, c.held_by_others, {}, whole_unit});
    remaining -= amount;
  }
  if (remaining <= Fen() || !policy.allow_indivisible) return;

  // Divisible property is insufficient: seal indivisible assets, the smallest that covers
  // the rest if there is one, else the largest, until covered.
  std::vector<const Candidate*> rest;
  for (const Candidate& c : candidates) {
    if (!is_divisible(c.category) && c.value > Fen()) rest.push_back(&c);
  }
  std::sort(rest.begin(), rest.end(), [](const Candidate* a, const Candidate* b) {
    return a->value != b->value ? a->value < b->value : a->finding < b->finding;
  });
  auto pick = [&rest](Fen uncovered) {
    auto it = std::find_if(rest.begin(), rest.end(),
                           [&](const Candidate* c) { return c->value >= uncovered; });
    return it == rest.end() ? rest.end() - 1 : it;
  };
  while (remaining > Fen() && !rest.empty()) {
    auto it = pick(remaining);
    const Candidate& c = **it;
    if (remaining < policy.min_seal_remainder) {
      // Disproportionate: the remainder stays uncovered. Count the seals the rule would
      // still have made for it.
      plan.uncovered = remaining;
      plan.uncovered_reason = format_fen(remaining) +
                              " of the budget left uncovered: below the proportionality floor of " +
                              format_fen(policy.min_seal_remainder) + "; not sealing " +
                              std::string(asset_category_name(c.category)) + " worth " +
                              format_fen(c.value);
      for (; remaining > Fen() && !rest.empty(); ++plan.seals_avoided) {
        auto next = pick(remaining);
        remaining -= min((*next)->value, remaining);
        rest.erase(next);
      }
      break;
    }
    std::string reason = "divisible property insufficient: " + format_fen(remaining) +
                         " of the budget uncovered after freezing every divisible asset "
                         "found; sealing " +
                         std::string(asset_category_name(c.category)) + " worth " +
                         format_fen(c.value);
    out.push_back({c.finding, min(c.value, remaining), c.held_by_others, std::move(reason), {}});
    remaining -= min(c.value, remaining);
    rest.erase(it);
  }
}

std::vector<PlannedFreeze> plan_freezes(std::vector<Candidate> candidates, Fen remaining,
                                        bool allow_indivisible) {
  PlanPolicy policy;
  policy.allow_indivisible = allow_indivisible;
  return plan_freezes(std::move(candidates), remaining, policy).freezes;
}

Fen proportionate_seal_floor(Fen claim, double min_share, Fen min_remainder) {
  const Fen share(static_cast<int64_t>(std::ceil(static_cast<double>(claim.value()) * min_share)));
  return max(share, min_remainder);
}

}  // namespace chakong::engine
