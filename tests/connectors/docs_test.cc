// Every registered connector has a README and a config example that its factory accepts.
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "chakong/connectors/builtin.h"
#include "chakong/connectors/factory.h"

namespace chakong::connectors {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ConnectorDocsTest, EveryConnectorHasAReadmeAndAValidConfigExample) {
  ConnectorRegistry registry;
  ASSERT_TRUE(register_builtin_connectors(registry).ok());
  for (const std::string& kind : registry.registered_names()) {
    SCOPED_TRACE(kind);
    const std::string dir = std::string(CHAKONG_SOURCE_DIR) + "/connectors/" + kind + "/";
    const std::string readme = read(dir + "README.md");
    EXPECT_NE(readme.find("# " + kind), std::string::npos) << dir << "README.md";
    const std::string example = read(dir + "config_example.textproto");
    ASSERT_FALSE(example.empty()) << dir << "config_example.textproto";
    std::unique_ptr<google::protobuf::Message> config = registry.find(kind)->default_config();
    config->Clear();
    ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(example, config.get()));
    EXPECT_TRUE(registry.find(kind)->validate(*config).ok())
        << registry.find(kind)->validate(*config);
  }
}

}  // namespace
}  // namespace chakong::connectors
