// A broken adapter as a plugin: kind "short" completes every batch with one response fewer
// than requests (rule 1). `chakong conformance` must fail its checks naming the rule, exit 1,
// and not crash (the v1 kit died of std::out_of_range in shutdown_drains_calls).
#include "test_config.pb.h"
#include "test_plugin.h"

using namespace chakong::connectors;

CHAKONG_PLUGIN_EXPORT int chakong_plugin_abi_version() { return kPluginAbiVersion; }
CHAKONG_PLUGIN_EXPORT int chakong_register_connectors_v2(ConnectorRegistry* r, char* error,
                                                         size_t error_size) {
  return plugin_status(
      r->add(std::make_unique<test_plugin::TestFactory<chakong_test::TestConfig>>("short", true)),
      error, error_size);
}
