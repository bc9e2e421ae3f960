// Registers "bank", which is built in, next to a new kind "dup_extra". The plugin ignores the
// status of add(), as the void entry point lets it.
#include "test_config.pb.h"
#include "test_plugin.h"

using namespace chakong::connectors;
using Factory = test_plugin::TestFactory<chakong_test::TestConfig>;

CHAKONG_PLUGIN_EXPORT int chakong_plugin_abi_version() { return kPluginAbiVersion; }
CHAKONG_PLUGIN_EXPORT void chakong_register_connectors(ConnectorRegistry* r) {
  (void)r->add(std::make_unique<Factory>("bank", false));
  (void)r->add(std::make_unique<Factory>("dup_extra", false));
}
