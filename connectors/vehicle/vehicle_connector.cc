// The vehicle registry adapter (traffic police): registration seals by plate, 2-year terms.
// A registration seal does not seize the car; physical seizure is a separate, offline act.
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/wire_connector.h"
#include "src/seal_codec.h"
#include "vehicle/vehicle.pb.h"

namespace chakong::connectors {
namespace {

struct Traits {
  using Config = vehicle::v1::VehicleConfig;
  using InstructionBatch = vehicle::v1::InstructionBatch;
  using ResultBatch = vehicle::v1::ResultBatch;
  using Op = vehicle::v1::Op;
  static constexpr std::string_view kKind = "vehicle";
  static constexpr AssetCategory kCategory = AssetCategory::kVehicle;
};

}  // namespace

Status register_vehicle_connector(ConnectorRegistry& registry) {
  return registry.add(std::make_unique<WireConnectorFactory<internal::SealCodec<Traits>>>());
}

}  // namespace chakong::connectors
