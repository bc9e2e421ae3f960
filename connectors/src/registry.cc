#include <dlfcn.h>
#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
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

namespace {

// A factory a plugin registered, served from the plugin's own staging registry (which it keeps
// alive). Plugins register into a fresh registry so that every add() of theirs succeeds, and
// the host then sees, and reports, each kind that is already taken.
class PluginFactory final : public ConnectorFactory {
 public:
  PluginFactory(std::shared_ptr<ConnectorRegistry> staging, const ConnectorFactory* f)
      : staging_(std::move(staging)), f_(f) {}
  std::string_view kind() const override { return f_->kind(); }
  AssetCategory category() const override { return f_->category(); }
  std::unique_ptr<google::protobuf::Message> default_config() const override {
    return f_->default_config();
  }
  Status validate(const google::protobuf::Message& config) const override {
    return f_->validate(config);
  }
  StatusOr<std::unique_ptr<Connector>> create(const google::protobuf::Message& config,
                                              ConnectorContext context) const override {
    return f_->create(config, std::move(context));
  }
  std::unique_ptr<Transport> sandbox_endpoint(GroundTruth& truth, Executor& executor,
                                              EndpointOptions options) const override {
    return f_->sandbox_endpoint(truth, executor, std::move(options));
  }

 private:
  std::shared_ptr<ConnectorRegistry> staging_;
  const ConnectorFactory* f_;
};

// The .proto files whose generated code a shared library carries. Generated code embeds each
// file's serialized FileDescriptorProto, which starts with field 1, the file name (0x0a, its
// length, "<path>.proto"), followed by another length-delimited field of the descriptor
// (package, dependency, message type, ..., syntax).
std::vector<std::string> embedded_proto_files(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto name_char = [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '/' || c == '-';
  };
  std::vector<std::string> out;
  for (size_t p = bytes.find(".proto"); p != std::string::npos; p = bytes.find(".proto", p + 1)) {
    const size_t end = p + 6;
    if (end >= bytes.size()) break;
    const unsigned char next = static_cast<unsigned char>(bytes[end]);
    if ((next & 7) != 2 || next < 0x12 || next > 0x62) continue;
    // The name starts at q: its length byte is at q - 1, the tag 0x0a at q - 2.
    for (size_t q = p; q >= 2 && name_char(static_cast<unsigned char>(bytes[q])); --q) {
      const size_t len = end - q;
      if (len < 128 && static_cast<unsigned char>(bytes[q - 1]) == len && bytes[q - 2] == '\x0a') {
        std::string name = bytes.substr(q, len);
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
        break;
      }
    }
  }
  return out;
}

std::mutex g_plugins_mu;
// Proto file -> the plugin that brought it into this process: (path as given, canonical path).
std::map<std::string, std::pair<std::string, std::string>>& proto_owners() {
  static auto* m = new std::map<std::string, std::pair<std::string, std::string>>();
  return *m;
}

}  // namespace

Status load_plugin(const std::string& path, ConnectorRegistry& registry) {
  // A path without '/' is a file in the current directory, as on the command line; dlopen()
  // would look it up on the library search path instead.
  std::string file = path;
  if (path.find('/') == std::string::npos) file = (std::filesystem::current_path() / path).string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return not_found_error("cannot load plugin '" + path + "': no such file" +
                           (file != path ? " '" + file +
                                               "' (a path without '/' is taken from the current "
                                               "directory, not the library search path)"
                                         : std::string()));
  }
  std::lock_guard<std::mutex> lock(g_plugins_mu);
  // Two generated files of one name abort the process in Protobuf's descriptor pool when the
  // second library is opened: refuse before dlopen().
  const std::vector<std::string> protos = embedded_proto_files(file);
  const std::string canonical = std::filesystem::canonical(file, ec).string();
  for (const std::string& proto : protos) {
    if (proto.rfind("google/protobuf/", 0) == 0) continue;  // Protobuf's own.
    auto it = proto_owners().find(proto);
    if (it != proto_owners().end() && it->second.second == canonical) continue;  // Loaded again.
    if (it != proto_owners().end()) {
      return failed_precondition_error(
          "plugin '" + path + "' and plugin '" + it->second.first +
          "' both define the Protobuf file '" + proto +
          "'; one process can hold only one file of a name: give the .proto a path of its own "
          "(e.g. <vendor>/<kind>/v1/" +
          proto.substr(proto.rfind('/') + 1) + ") and rebuild one of them");
    }
    if (google::protobuf::DescriptorPool::generated_pool()->FindFileByName(proto) != nullptr) {
      return failed_precondition_error(
          "plugin '" + path + "' defines the Protobuf file '" + proto +
          "', which chakong already has (a built-in .proto); give the plugin's .proto a path "
          "of its own and rebuild it");
    }
  }
  void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return not_found_error("cannot load plugin '" + path + "': " + (why ? why : "unknown error"));
  }
  using AbiFn = int (*)();
  using RegisterFn = int (*)(ConnectorRegistry*, char*, size_t);
  auto abi = reinterpret_cast<AbiFn>(dlsym(handle, "chakong_plugin_abi_version"));
  if (abi == nullptr) {
    const bool v1 = dlsym(handle, "chakong_register_connectors") != nullptr;
    dlclose(handle);
    return failed_precondition_error("plugin '" + path +
                                     "' does not export chakong_plugin_abi_version" +
                                     (v1 ? "" : " and chakong_register_connectors_v2"));
  }
  // The version first: a plugin of another ABI has other entry points (ABI 1:
  // `void chakong_register_connectors(ConnectorRegistry*)`), which must not be called.
  if (abi() != kPluginAbiVersion) {
    const int got = abi();
    dlclose(handle);
    return failed_precondition_error("plugin '" + path + "' was built for plugin ABI " +
                                     std::to_string(got) + ", this chakong has ABI " +
                                     std::to_string(kPluginAbiVersion) +
                                     "; rebuild it against these headers");
  }
  auto reg = reinterpret_cast<RegisterFn>(dlsym(handle, "chakong_register_connectors_v2"));
  if (reg == nullptr) {
    dlclose(handle);
    return failed_precondition_error("plugin '" + path +
                                     "' does not export chakong_register_connectors_v2");
  }
  // The handle stays open for the life of the process from here: its code is loaded, its
  // .proto files are in the descriptor pool, and its factories may live in the registry.
  for (const std::string& proto : protos) proto_owners().emplace(proto, std::pair(path, canonical));
  auto staging = std::make_shared<ConnectorRegistry>();
  char error[1024] = "";
  const int rc = reg(staging.get(), error, sizeof error);
  if (rc != 0) {
    error[sizeof error - 1] = '\0';
    // The plugin's own code when it is a canonical one, else kFailedPrecondition; none of its
    // factories is registered.
    const StatusCode code = rc > 0 && rc <= static_cast<int>(StatusCode::kUnauthenticated)
                                ? static_cast<StatusCode>(rc)
                                : StatusCode::kFailedPrecondition;
    return Status(code, "plugin '" + path + "' could not register its connectors (" +
                            status_code_name(static_cast<StatusCode>(rc)) +
                            "): " + (error[0] != '\0' ? std::string(error) : "no message given") +
                            "; nothing was registered");
  }
  const std::vector<std::string> kinds = staging->registered_names();
  if (kinds.empty()) {
    return failed_precondition_error("plugin '" + path + "' registered no connector");
  }
  std::string taken, added;
  for (const std::string& kind : kinds) {
    if (registry.find(kind) != nullptr) {
      taken += (taken.empty() ? "'" : ", '") + kind + "'";
      continue;
    }
    Status s = registry.add(std::make_unique<PluginFactory>(staging, staging->find(kind)));
    if (!s.ok()) return failed_precondition_error("plugin '" + path + "': " + s.message());
    added += (added.empty() ? "" : ", ") + kind;
  }
  if (!taken.empty()) {
    return already_exists_error("plugin '" + path + "' registers connector kind " + taken +
                                ", already registered (built in or by an earlier plugin); " +
                                (added.empty() ? std::string("nothing was registered")
                                               : "its other kinds were registered: " + added));
  }
  return ok_status();
}

}  // namespace chakong::connectors
