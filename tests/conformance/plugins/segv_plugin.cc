// A broken adapter as a plugin: kind "segv" writes through a null pointer in async_submit().
// `chakong conformance` must fail each check it crashes in, naming the signal, report the
// others, and exit 1 (before, the whole run died of SIGSEGV and its report was lost).
#include "test_config.pb.h"
#include "test_plugin.h"

using namespace chakong::connectors;

CHAKONG_PLUGIN_EXPORT int chakong_plugin_abi_version() { return kPluginAbiVersion; }
CHAKONG_PLUGIN_EXPORT int chakong_register_connectors_v2(ConnectorRegistry* r, char* error,
                                                         size_t error_size) {
  return plugin_status(r->add(std::make_unique<test_plugin::TestFactory<chakong_test::TestConfig>>(
                           "segv", false, true)),
                       error, error_size);
}
