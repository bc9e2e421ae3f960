// A plugin built for plugin ABI 1 (the void entry point, the connector contract of
// std::vector<Request> and a std::function): load_plugin must refuse it naming both versions,
// and never call its entry point.
#include <cstdlib>

namespace chakong::connectors {
class ConnectorRegistry;
}
extern "C" int chakong_plugin_abi_version() { return 1; }
extern "C" void chakong_register_connectors(chakong::connectors::ConnectorRegistry*) {
  std::abort();  // Calling an ABI 1 entry point from a later host is the bug this guards.
}
