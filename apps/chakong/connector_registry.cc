#include "connector_registry.h"

#include <fmt/core.h>

#include "chakong/connectors/builtin.h"

namespace chakong::cli {

int load_connectors(std::string_view command, const std::vector<std::string>& plugins,
                    int builtin_failure_exit, connectors::ConnectorRegistry& registry) {
  if (Status s = connectors::register_builtin_connectors(registry); !s.ok()) {
    fmt::print(stderr, "chakong {}: {}\n", command, s.to_string());
    return builtin_failure_exit;
  }
  for (const std::string& path : plugins) {
    if (Status s = connectors::load_plugin(path, registry); !s.ok()) {
      fmt::print(stderr, "chakong {}: --plugin: {}\n", command, s.message());
      return 2;
    }
  }
  return 0;
}

}  // namespace chakong::cli
