#include <dlfcn.h>

#include <regex>

#include "chakong/connectors/factory.h"
#include "chakong/connectors/wire_connector.h"

namespace chakong::connectors {

namespace internal {
Status validate_common(std::string_view kind, const std::string& name, uint32_t timeout_ms,
                       uint32_t max_batch) {
  static const std::regex kName("[a-z0-9_]+");
  const std::string k(kind);
  if (!std::regex_match(name, kName)) {
    return invalid_argument_error(k + ".name = '" + name + "': must match [a-z0-9_]+");
  }
  if (timeout_ms < 1 || timeout_ms > 7u * 24 * 3600 * 1000) {
    return invalid_argument_error(k + ".timeout_ms = " + std::to_string(timeout_ms) +
                                  ": must be in 1..604800000");
  }
  if (max_batch < 1 || max_batch > 100'000) {
    return invalid_argument_error(k + ".max_batch = " + std::to_string(max_batch) +
                                  ": must be in 1..100000");
  }
  return ok_status();
}
}  // namespace internal

Status ConnectorRegistry::add(std::unique_ptr<ConnectorFactory> factory) {
  const std::string kind(factory->kind());
  if (kind.empty() || kind.find('.') != std::string::npos) {
    return invalid_argument_error("connector kind '" + kind + "' must be non-empty without '.'");
  }
  auto [it, inserted] = factories_.emplace(kind, std::move(factory));
  if (!inserted) return already_exists_error("connector kind '" + kind + "' is already registered");
  return ok_status();
}

const ConnectorFactory* ConnectorRegistry::find(std::string_view kind_or_name) const {
  const std::string_view kind = kind_or_name.substr(0, kind_or_name.find('.'));
  auto it = factories_.find(kind);
  return it == factories_.end() ? nullptr : it->second.get();
}

std::vector<std::string> ConnectorRegistry::registered_names() const {
  std::vector<std::string> out;
  for (const auto& [kind, f] : factories_) out.push_back(kind);
  return out;
}

Status load_plugin(const std::string& path, ConnectorRegistry& registry) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return not_found_error("cannot load plugin '" + path + "': " + (why ? why : "unknown error"));
  }
  using AbiFn = int (*)();
  using RegisterFn = void (*)(ConnectorRegistry*);
  auto abi = reinterpret_cast<AbiFn>(dlsym(handle, "chakong_plugin_abi_version"));
  auto reg = reinterpret_cast<RegisterFn>(dlsym(handle, "chakong_register_connectors"));
  if (abi == nullptr || reg == nullptr) {
    dlclose(handle);
    return failed_precondition_error("plugin '" + path +
                                     "' does not export chakong_plugin_abi_version and "
                                     "chakong_register_connectors");
  }
  if (abi() != kPluginAbiVersion) {
    const int got = abi();
    dlclose(handle);
    return failed_precondition_error("plugin '" + path + "' was built for plugin ABI " +
                                     std::to_string(got) + ", this chakong has ABI " +
                                     std::to_string(kPluginAbiVersion) +
                                     "; rebuild it against these headers");
  }
  const size_t before = registry.registered_names().size();
  reg(&registry);
  if (registry.registered_names().size() == before) {
    return failed_precondition_error("plugin '" + path + "' registered no connector");
  }
  // The handle stays open for the life of the process: its factories live in the registry.
  return ok_status();
}

}  // namespace chakong::connectors
