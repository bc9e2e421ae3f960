// Assets and the legal terms of the measures on them: what every layer shares about property.
// The categories mirror chakong.v1.AssetCategory and are listed in the planner's liquidity
// order; the terms are the law's (docs/domain.md, rule 4).
#ifndef CHAKONG_BASE_ASSET_H_
#define CHAKONG_BASE_ASSET_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "chakong/base/money.h"

namespace chakong {

enum class AssetCategory : uint8_t {
  kDeposit = 1,
  kProvidentFund = 2,
  kSecurities = 3,
  kVehicle = 4,
  kRealEstate = 5,
};
std::string_view asset_category_name(AssetCategory category);
// Divisible assets can be frozen in part (deposits, provident fund, securities by value).
bool is_divisible(AssetCategory category);
// Legal term of a measure in years: deposits and provident fund 1, vehicles 2, real estate
// and securities 3 (docs/domain.md, rule 4; provident fund is a policy, default 1).
int measure_term_years(AssetCategory category);

// An asset as an institution reports it (chakong.v1.Asset).
struct Asset {
  AssetCategory category = AssetCategory::kDeposit;
  // The institution's reference: account number, certificate, plate. Masked in logs.
  std::string reference;
  // Balance or appraised value in fen (securities: quantity x unit price).
  Fen value;
  // Resident ID or credit code of the holder.
  std::string holder_id;
  // Securities: units held and the price per unit; 0 for other categories.
  int64_t quantity = 0;
  Fen unit_price;
};

}  // namespace chakong

#endif  // CHAKONG_BASE_ASSET_H_
