// Registers "bank", which is built in, next to a new kind "dup_extra". Both succeed in the
// plugin's own registry; the host finds "bank" taken when it merges them.
#include "test_config.pb.h"
#include "test_plugin.h"

using namespace chakong::connectors;
using Factory = test_plugin::TestFactory<chakong_test::TestConfig>;

CHAKONG_PLUGIN_EXPORT int chakong_plugin_abi_version() { return kPluginAbiVersion; }
CHAKONG_PLUGIN_EXPORT int chakong_register_connectors_v2(ConnectorRegistry* r, char* error,
                                                         size_t error_size) {
  if (int rc = plugin_status(r->add(std::make_unique<Factory>("bank", false)), error, error_size)) {
    return rc;
  }
  return plugin_status(r->add(std::make_unique<Factory>("dup_extra", false)), error, error_size);
}
