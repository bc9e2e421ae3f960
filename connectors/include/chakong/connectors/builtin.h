// The built-in adapters (target chakong::connectors_builtin): one registration function per
// kind, and register_builtin_connectors(), the one list of built-ins, which calls them all.
#ifndef CHAKONG_CONNECTORS_BUILTIN_H_
#define CHAKONG_CONNECTORS_BUILTIN_H_

#include "chakong/connectors/factory.h"

namespace chakong::connectors {

// Registers the built-in kinds: reference, bank, securities, real_estate, vehicle,
// provident_fund.
Status register_builtin_connectors(ConnectorRegistry& registry);

Status register_reference_connector(ConnectorRegistry& registry);
Status register_bank_connector(ConnectorRegistry& registry);
Status register_securities_connector(ConnectorRegistry& registry);
Status register_real_estate_connector(ConnectorRegistry& registry);
Status register_vehicle_connector(ConnectorRegistry& registry);
Status register_provident_fund_connector(ConnectorRegistry& registry);

}  // namespace chakong::connectors

#endif  // CHAKONG_CONNECTORS_BUILTIN_H_
