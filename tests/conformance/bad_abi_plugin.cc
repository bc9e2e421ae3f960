// A plugin built for another ABI: load_plugin must refuse it.
namespace chakong::connectors {
class ConnectorRegistry;
}
extern "C" int chakong_plugin_abi_version() { return 99; }
extern "C" int chakong_register_connectors_v2(chakong::connectors::ConnectorRegistry*, char*,
                                              unsigned long) {
  return 0;
}
