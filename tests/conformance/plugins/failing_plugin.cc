// A plugin whose registration fails: it registers kind "twice" twice, and its entry point (ABI
// 2 and 3) reports the ALREADY_EXISTS of the second add(). load_plugin must report that message, naming
// the plugin, and register nothing (the ABI 1 entry point returned void: the failure was lost).
#include "failing_config.pb.h"
#include "test_plugin.h"

using namespace chakong::connectors;
using Factory = test_plugin::TestFactory<chakong_test::failing::FailingConfig>;

CHAKONG_PLUGIN_EXPORT int chakong_plugin_abi_version() { return kPluginAbiVersion; }
CHAKONG_PLUGIN_EXPORT int chakong_register_connectors_v2(ConnectorRegistry* r, char* error,
                                                         size_t error_size) {
  if (int rc =
          plugin_status(r->add(std::make_unique<Factory>("twice", false)), error, error_size)) {
    return rc;
  }
  return plugin_status(r->add(std::make_unique<Factory>("twice", false)), error, error_size);
}
