// A plugin built for plugin ABI 2 (the entry point of ABI 3, but the Transport's completion a
// std::function): load_plugin must refuse it naming both versions, and never call its entry
// point.
#include <cstddef>
#include <cstdlib>

namespace chakong::connectors {
class ConnectorRegistry;
}
extern "C" int chakong_plugin_abi_version() { return 2; }
extern "C" int chakong_register_connectors_v2(chakong::connectors::ConnectorRegistry*, char*,
                                              size_t) {
  std::abort();  // Calling an ABI 2 entry point from an ABI 3 host is the bug this guards.
}
