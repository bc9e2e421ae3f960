// Plugins A and B: each registers one kind, with a config from a file named conflict.proto.
// Built twice (PLUGIN_A / PLUGIN_B) from a/ and b/.
#include "conflict.pb.h"
#include "test_plugin.h"

using namespace chakong::connectors;

CHAKONG_PLUGIN_EXPORT int chakong_plugin_abi_version() { return kPluginAbiVersion; }
CHAKONG_PLUGIN_EXPORT int chakong_register_connectors_v2(ConnectorRegistry* r, char* error,
                                                         size_t error_size) {
#ifdef PLUGIN_A
  return plugin_status(r->add(std::make_unique<test_plugin::TestFactory<chakong_test::a::AConfig>>(
                           "conflict_a", false)),
                       error, error_size);
#else
  return plugin_status(r->add(std::make_unique<test_plugin::TestFactory<chakong_test::b::BConfig>>(
                           "conflict_b", false)),
                       error, error_size);
#endif
}
