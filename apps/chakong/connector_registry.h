// The connector registry a subcommand runs with: the built-in adapters and every --plugin.
#ifndef CHAKONG_APPS_CHAKONG_CONNECTOR_REGISTRY_H_
#define CHAKONG_APPS_CHAKONG_CONNECTOR_REGISTRY_H_

#include <string>
#include <string_view>
#include <vector>

#include "chakong/connectors/factory.h"

namespace chakong::cli {

// Registers the built-in connectors and loads `plugins` into `registry`. On failure prints
// "chakong <command>: ..." to stderr and returns the exit code: `builtin_failure_exit` when the
// built-ins do not register (the command's "cannot start" code), 2 for a plugin that does not
// load (bad input); 0 on success.
int load_connectors(std::string_view command, const std::vector<std::string>& plugins,
                    int builtin_failure_exit, connectors::ConnectorRegistry& registry);

}  // namespace chakong::cli

#endif  // CHAKONG_APPS_CHAKONG_CONNECTOR_REGISTRY_H_
