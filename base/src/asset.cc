#include "chakong/base/asset.h"

namespace chakong {

std::string_view asset_category_name(AssetCategory category) {
  switch (category) {
    case AssetCategory::kDeposit: return "deposit";
    case AssetCategory::kProvidentFund: return "provident_fund";
    case AssetCategory::kSecurities: return "securities";
    case AssetCategory::kVehicle: return "vehicle";
    case AssetCategory::kRealEstate: return "real_estate";
  }
  return "unknown";
}

bool is_divisible(AssetCategory category) {
  return category == AssetCategory::kDeposit || category == AssetCategory::kProvidentFund ||
         category == AssetCategory::kSecurities;
}

int measure_term_years(AssetCategory category) {
  switch (category) {
    case AssetCategory::kDeposit:
    case AssetCategory::kProvidentFund: return 1;
    case AssetCategory::kVehicle: return 2;
    case AssetCategory::kSecurities:
    case AssetCategory::kRealEstate: return 3;
  }
  return 1;
}

}  // namespace chakong
