#include "chakong/connectors/builtin.h"

namespace chakong::connectors {

// The one list of built-in connectors.
Status register_builtin_connectors(ConnectorRegistry& registry) {
  CHAKONG_RETURN_IF_ERROR(register_reference_connector(registry));
  CHAKONG_RETURN_IF_ERROR(register_bank_connector(registry));
  CHAKONG_RETURN_IF_ERROR(register_securities_connector(registry));
  CHAKONG_RETURN_IF_ERROR(register_real_estate_connector(registry));
  CHAKONG_RETURN_IF_ERROR(register_vehicle_connector(registry));
  CHAKONG_RETURN_IF_ERROR(register_provident_fund_connector(registry));
  return ok_status();
}

}  // namespace chakong::connectors
