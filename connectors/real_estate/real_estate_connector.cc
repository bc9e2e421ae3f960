// The real-estate registry adapter: seals and waiting seals by property certificate number.
// Full disposal of a property (auction) voids later waiters at the registry.
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/wire_connector.h"
#include "real_estate/real_estate.pb.h"
#include "src/seal_codec.h"

namespace chakong::connectors {
namespace {

struct Traits {
  using Config = real_estate::v1::RealEstateConfig;
  using InstructionBatch = real_estate::v1::InstructionBatch;
  using ResultBatch = real_estate::v1::ResultBatch;
  using Op = real_estate::v1::Op;
  static constexpr std::string_view kKind = "real_estate";
  static constexpr AssetCategory kCategory = AssetCategory::kRealEstate;
};

}  // namespace

Status register_real_estate_connector(ConnectorRegistry& registry) {
  return registry.add(std::make_unique<WireConnectorFactory<internal::SealCodec<Traits>>>());
}

}  // namespace chakong::connectors
