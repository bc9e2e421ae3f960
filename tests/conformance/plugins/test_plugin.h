// A minimal connector for the kit's plugin tests, header-only so that a test plugin links no
// Chakong library (the host provides ConnectorRegistry::add and Status).
//
// TestFactory<Config> builds a connector that answers every request OK on the executor,
// optionally leaving the last response slot unwritten (a broken adapter: rule 1).
#ifndef CHAKONG_TESTS_CONFORMANCE_PLUGINS_TEST_PLUGIN_H_
#define CHAKONG_TESTS_CONFORMANCE_PLUGINS_TEST_PLUGIN_H_

#include <google/protobuf/message.h>

#include <memory>
#include <string>

#include "chakong/connectors/factory.h"

namespace chakong::connectors::test_plugin {

class TestConnector final : public Connector {
 public:
  TestConnector(std::string name, Executor* ex, bool short_answers, bool segfaults)
      : name_(std::move(name)), ex_(ex), short_(short_answers), segfaults_(segfaults) {}
  const std::string& name() const override { return name_; }
  Capabilities capabilities() const override { return Capabilities::all(); }
  void async_submit(BatchView batch, BatchSink& sink) override {
    if (segfaults_) {
      static int* volatile null = nullptr;  // Volatile: the compiler cannot see it is null.
      *null = 1;
    }
    size_t n = batch.size();
    if (short_ && n > 0) --n;
    BatchSink* out = &sink;
    ex_->post([n, out] {
      for (size_t i = 0; i < n; ++i) out->response(i) = Response();
      out->complete();
    });
  }

 private:
  std::string name_;
  Executor* ex_;
  bool short_;
  bool segfaults_;
};

// An institution that never answers (the test connectors do not call it).
class SilentTransport final : public Transport {
 public:
  void async_call(std::string, TransportDone) override {}
};

template <typename Config>
class TestFactory final : public ConnectorFactory {
 public:
  // segfaults: async_submit() writes through a null pointer.
  TestFactory(std::string kind, bool short_answers, bool segfaults = false)
      : kind_(std::move(kind)), short_(short_answers), segfaults_(segfaults) {}
  std::string_view kind() const override { return kind_; }
  AssetCategory category() const override { return AssetCategory::kDeposit; }
  std::unique_ptr<google::protobuf::Message> default_config() const override {
    return std::make_unique<Config>();
  }
  Status validate(const google::protobuf::Message&) const override { return Status(); }
  StatusOr<std::unique_ptr<Connector>> create(const google::protobuf::Message&,
                                              ConnectorContext ctx) const override {
    std::unique_ptr<Connector> c =
        std::make_unique<TestConnector>(kind_ + ".sandbox", ctx.executor, short_, segfaults_);
    return c;
  }
  std::unique_ptr<Transport> sandbox_endpoint(GroundTruth&, Executor&,
                                              EndpointOptions) const override {
    return std::make_unique<SilentTransport>();
  }

 private:
  std::string kind_;
  bool short_;
  bool segfaults_;
};

}  // namespace chakong::connectors::test_plugin

#endif  // CHAKONG_TESTS_CONFORMANCE_PLUGINS_TEST_PLUGIN_H_
