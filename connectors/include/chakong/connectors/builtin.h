// Registration functions of the built-in connectors, one per kind. register_builtin_connectors()
// (factory.h) calls them all; this is the one list of built-ins.
#ifndef CHAKONG_CONNECTORS_BUILTIN_H_
#define CHAKONG_CONNECTORS_BUILTIN_H_

#include "chakong/connectors/factory.h"

namespace chakong::connectors {

Status register_reference_connector(ConnectorRegistry& registry);
Status register_bank_connector(ConnectorRegistry& registry);
Status register_securities_connector(ConnectorRegistry& registry);
Status register_real_estate_connector(ConnectorRegistry& registry);
Status register_vehicle_connector(ConnectorRegistry& registry);
Status register_provident_fund_connector(ConnectorRegistry& registry);

}  // namespace chakong::connectors

#endif  // CHAKONG_CONNECTORS_BUILTIN_H_
