// Invariants 1 and 2 under stress: many debtors with accounts at several institutions, balances
// that move between query and freeze, other authorities' freezes that come and go, and replies
// that arrive duplicated, reordered or after the timeout. Checked every simulated hour against
// the institutions' ground truth: divisible money frozen plus deducted for a case never
// exceeds its budget, and no institution holds two live measures of one case on one asset. The
// seed is printed on failure. The one tolerance (docs/domain.md): securities are frozen in whole
// units, so a case holding securities may be over its budget by less than one unit price of
// its debtors' positions; every other case by nothing.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "chakong/base/identity.h"
#include "chakong/engine/engine.h"
#include "engine_world.h"

namespace chakong::engine {
namespace {

using connectors::AssetCategory;
using connectors::Request;
using connectors::RequestKind;
using testing::EngineWorld;

std::string make_resident_id(std::mt19937_64& rng) {
  char first17[18];
  std::snprintf(first17, sizeof first17, "110105%04d%02d%02d%03d",
                1950 + static_cast<int>(rng() % 50), 1 + static_cast<int>(rng() % 12),
                1 + static_cast<int>(rng() % 28), static_cast<int>(rng() % 1000));
  return std::string(first17) + resident_id_check_char(first17);
}

// Heavy-tailed amount in fen: ¥10 to ~¥1,000,000.
Fen heavy_amount(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(3.0, 8.0);
  return Fen(static_cast<int64_t>(std::pow(10.0, u(rng))));
}

// Cases seen over their budget (within their whole-unit tolerance), over all seeds.
std::set<std::string> rounded_up;

void run_seed(uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  EngineWorld w(false, "2025-03-03");
  struct Account {
    institution::Institution* inst;
    std::string ref;
  };
  std::vector<institution::Institution*> insts = {
      &w.add_institution("bank.p1"), &w.add_institution("bank.p2"),
      &w.add_institution("provident_fund.x", connectors::Capabilities::all(),
                         institution::InstitutionPolicy{/*top_up=*/false}),
      &w.add_institution("securities.x", connectors::Capabilities::all(),
                         institution::InstitutionPolicy{/*top_up=*/false})};
  std::map<std::string, Fen> unit_slack;  // Debtor: the largest unit price - 1 of a position.
  std::vector<std::string> debtors;
  for (int i = 0; i < 30; ++i) debtors.push_back(make_resident_id(rng));
  std::vector<Account> accounts;
  std::vector<std::pair<institution::Institution*, std::string>> foreign;  // Measures of others.
  const Date start = date_of(w.ex().now());
  for (const std::string& d : debtors) {
    for (institution::Institution* inst : insts) {
      const int n = static_cast<int>(rng() % 3);
      for (int k = 0; k < n; ++k) {
        const std::string ref = inst->name() + "-" + std::to_string(accounts.size());
        if (inst->name().starts_with("securities")) {
          // Whole shares of ¥1 to ¥100.
          const Fen price(100 + static_cast<int64_t>(rng() % 9'900));
          const int64_t units = 1 + heavy_amount(rng).value() / price.value();
          EXPECT_TRUE(inst->add_asset({AssetCategory::kSecurities, ref, Fen(units * price.value()),
                                       d, units, price})
                          .ok());
          unit_slack[d] = max(unit_slack[d], price - Fen(1));
        } else {
          const AssetCategory cat = inst->name().starts_with("bank")
                                        ? AssetCategory::kDeposit
                                        : AssetCategory::kProvidentFund;
          EXPECT_TRUE(inst->add_asset({cat, ref, heavy_amount(rng), d}).ok());
        }
        accounts.push_back({inst, ref});
        if (rng() % 6 == 0) {
          StatusOr<std::string> id = inst->add_foreign_measure(
              ref, "（2024）渝0112执" + std::to_string(accounts.size()) + "号", heavy_amount(rng),
              start, start.plus_days(200));
          EXPECT_TRUE(id.ok());
          foreign.emplace_back(inst, *id);
        }
      }
    }
  }
  for (institution::Institution* inst : insts) {
    w.connect(
        *inst,
        [&rng](const std::vector<Request>&) {
          return kMicrosPerMinute + static_cast<TimeUs>(rng() % (30 * kMicrosPerHour));
        },
        [&rng](const std::vector<Request>&) {
          const uint64_t roll = rng() % 100;
          if (roll < 10) return sim::Fault{sim::Fault::kDuplicate, 0, {}};
          if (roll < 25) {
            return sim::Fault{
                sim::Fault::kDelay, static_cast<TimeUs>(rng() % (6 * kMicrosPerHour)), {}};
          }
          if (roll < 30) return sim::Fault{sim::Fault::kDelay, 60 * kMicrosPerHour, {}};
          return sim::Fault{};
        });
  }
  EngineConfig config;
  config.dispatch.timeout = 40 * kMicrosPerHour;
  config.dispatch.max_attempts = 3;
  config.deduct_delay = 5 * kMicrosPerDay;
  Engine& e = w.start(config);

  struct FiledCase {
    std::string number;
    Fen budget;
    Fen tolerance;  // Less than one unit price of its debtors' securities; else 0.
  };
  std::vector<FiledCase> cases;
  for (int i = 0; i < 25; ++i) {
    std::vector<std::string> ds;
    const int n = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < n; ++k) {
      const std::string& d = debtors[rng() % debtors.size()];
      if (std::find(ds.begin(), ds.end(), d) == ds.end()) ds.push_back(d);
    }
    const std::string number = "（2025）渝0110执" + std::to_string(i + 1) + "号";
    CaseFiling f = EngineWorld::filing(number, heavy_amount(rng), ds);
    f.costs = Fen(static_cast<int64_t>(rng() % 10'000));
    ASSERT_TRUE(e.file_case(f).ok());
    Fen tolerance;
    for (const std::string& d : ds) tolerance = max(tolerance, unit_slack[d]);
    cases.push_back({number, f.claim + f.costs, tolerance});
  }

  // Balances move every 20 minutes; other authorities release a measure every day.
  std::function<void()> move = [&] {
    const Account& a = accounts[rng() % accounts.size()];
    if (rng() % 2 == 0) {
      EXPECT_TRUE(a.inst->credit(a.ref, heavy_amount(rng), date_of(w.ex().now())).ok());
    } else {
      EXPECT_TRUE(a.inst->debit(a.ref, heavy_amount(rng)).ok());
    }
    w.ex().run_after(20 * kMicrosPerMinute, move);
  };
  std::function<void()> release_foreign = [&] {
    if (!foreign.empty()) {
      const size_t i = rng() % foreign.size();
      const institution::MeasureRecord* m = foreign[i].first->measure(foreign[i].second);
      Request r;
      r.kind = RequestKind::kRelease;
      r.idempotency_key = "foreign-release-" + m->id;
      r.case_number = m->case_number;
      r.ruling_number = m->case_number + "之二";
      r.measure_id = m->id;
      foreign[i].first->handle(r, date_of(w.ex().now()));
      foreign.erase(foreign.begin() + static_cast<std::ptrdiff_t>(i));
    }
    w.ex().run_after(kMicrosPerDay, release_foreign);
  };
  int checks = 0;
  std::function<void()> check = [&] {
    ++checks;
    for (const FiledCase& c : cases) {
      Fen held;
      for (institution::Institution* inst : insts) {
        held += inst->frozen_for_case(c.number) + inst->deducted_for_case(c.number);
      }
      ASSERT_LE(held, c.budget + c.tolerance)
          << c.number << " at " << date_of(w.ex().now()).to_string();
      if (held > c.budget) rounded_up.insert(std::to_string(seed) + c.number);
    }
    for (institution::Institution* inst : insts) ASSERT_EQ(inst->duplicate_measures(), 0);
    w.ex().run_after(kMicrosPerHour, check);
  };
  w.ex().post(move);
  w.ex().post(release_foreign);
  w.ex().post(check);
  w.virt().run_until(w.ex().now() + 40 * kMicrosPerDay);

  const EngineStats s = e.stats();
  EXPECT_EQ(checks, 40 * 24 + 1);
  EXPECT_EQ(s.over_seizure, 0u);
  // The paths under test were exercised.
  EXPECT_GT(s.frozen + s.deducted, Fen());
  EXPECT_GT(s.requests[static_cast<int>(RequestKind::kWaitlistFreeze)], 0u);
  EXPECT_GT(s.timeouts, 0u);
  EXPECT_GT(s.late_ignored, 0u);
  EXPECT_GT(s.requests[static_cast<int>(RequestKind::kDeduct)], 0u);
}

TEST(OverSeizureProperty, NeverOverBudgetAndNeverTwoMeasuresUnderMessyReplies) {
  for (uint64_t seed : {1, 2, 3, 4, 5}) run_seed(seed);
  // The tolerance was needed: some freeze in whole shares did go over a budget.
  EXPECT_GT(rounded_up.size(), 0u);
}

}  // namespace
}  // namespace chakong::engine
