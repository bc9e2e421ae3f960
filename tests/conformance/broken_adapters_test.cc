// The kit must catch broken adapters: each broken behaviour below is seen to fail the check
// that guards against it.
#include <google/protobuf/message.h>
#include <gtest/gtest.h>

#include "chakong/conformance/conformance.h"
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/factory.h"

namespace chakong::connectors {
namespace {

enum class Breakage {
  kCompletesInline,
  kCompletesTwice,
  kDropsAQueryResult,
  kReportsRequestedAsFrozen,
  kSwallowsDataLoss,
  kSendsUndeclaredOperations,
  kAcceptsAnyConfig,
  kLosesCallsOnShutdown,
};

// Wraps a good connector and breaks it in one way.
class BrokenConnector final : public Connector {
 public:
  BrokenConnector(std::unique_ptr<Connector> inner, Breakage b, Executor& ex)
      : inner_(std::move(inner)), b_(b), ex_(ex) {}
  ~BrokenConnector() override {
    // Never shuts the inner connector down: its calls in flight are lost. (Kept reachable so
    // that leak checkers stay quiet.)
    static auto* graveyard = new std::vector<std::unique_ptr<Connector>>();
    if (b_ == Breakage::kLosesCallsOnShutdown) graveyard->push_back(std::move(inner_));
  }
  const std::string& name() const override { return inner_->name(); }
  Capabilities capabilities() const override {
    if (b_ == Breakage::kSendsUndeclaredOperations) {
      return {RequestKind::kQuery, RequestKind::kFreeze, RequestKind::kWaitlistFreeze,
              RequestKind::kRenew, RequestKind::kRelease};
    }
    return inner_->capabilities();
  }
  void async_submit(std::vector<Request> batch, BatchCompletion done) override {
    if (b_ == Breakage::kCompletesInline) {
      done(std::vector<Response>(batch.size()));
      return;
    }
    const Breakage b = b_;
    Executor* ex = &ex_;
    inner_->async_submit(std::move(batch), [b, ex, done](std::vector<Response> r) {
      for (Response& x : r) {
        if (b == Breakage::kDropsAQueryResult && !x.assets.empty()) x.assets.pop_back();
        if (b == Breakage::kReportsRequestedAsFrozen && x.requested > Fen()) x.frozen = x.requested;
        if (b == Breakage::kSwallowsDataLoss && x.status.code() == StatusCode::kDataLoss) {
          x.status = Status();
        }
      }
      if (b == Breakage::kCompletesTwice) ex->post([done, r] { done(r); });
      done(std::move(r));
    });
  }

 private:
  std::unique_ptr<Connector> inner_;
  Breakage b_;
  Executor& ex_;
};

class BrokenFactory final : public ConnectorFactory {
 public:
  BrokenFactory(const ConnectorFactory& inner, Breakage b) : inner_(inner), b_(b) {}
  std::string_view kind() const override { return inner_.kind(); }
  AssetCategory category() const override { return inner_.category(); }
  std::unique_ptr<google::protobuf::Message> default_config() const override {
    return inner_.default_config();
  }
  Status validate(const google::protobuf::Message& c) const override {
    return b_ == Breakage::kAcceptsAnyConfig ? ok_status() : inner_.validate(c);
  }
  StatusOr<std::unique_ptr<Connector>> create(const google::protobuf::Message& c,
                                              ConnectorContext ctx) const override {
    Executor* ex = ctx.executor;
    StatusOr<std::unique_ptr<Connector>> inner = inner_.create(c, std::move(ctx));
    if (!inner.ok()) return inner.status();
    std::unique_ptr<Connector> out =
        std::make_unique<BrokenConnector>(std::move(inner).value(), b_, *ex);
    return out;
  }
  std::unique_ptr<Transport> sandbox_endpoint(GroundTruth& t, Executor& e,
                                              EndpointOptions o) const override {
    return inner_.sandbox_endpoint(t, e, o);
  }

 private:
  const ConnectorFactory& inner_;
  Breakage b_;
};

struct Case {
  Breakage breakage;
  const char* check;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.check; }

class BrokenAdapterTest : public ::testing::TestWithParam<Case> {};

TEST_P(BrokenAdapterTest, KitReportsTheBrokenCheck) {
  ConnectorRegistry registry;
  ASSERT_TRUE(register_builtin_connectors(registry).ok());
  BrokenFactory broken(*registry.find("bank"), GetParam().breakage);
  conformance::CheckResult r = conformance::run_check(broken, GetParam().check, {3});
  EXPECT_EQ(r.result, conformance::Result::kFail) << r.detail;
  EXPECT_FALSE(r.detail.empty());
  // And the whole run counts it.
  conformance::Report all = conformance::run(broken, {3});
  EXPECT_GE(all.failed, 1);
}

INSTANTIATE_TEST_SUITE_P(
    Breakages, BrokenAdapterTest,
    ::testing::Values(Case{Breakage::kCompletesInline, "completion_once_never_inline"},
                      Case{Breakage::kCompletesTwice, "completion_once_never_inline"},
                      Case{Breakage::kDropsAQueryResult, "query_finds_seeded_assets"},
                      Case{Breakage::kReportsRequestedAsFrozen, "freeze_caps_at_available"},
                      Case{Breakage::kSwallowsDataLoss, "malformed_reply_is_data_loss"},
                      Case{Breakage::kSendsUndeclaredOperations, "unsupported_is_unimplemented"},
                      Case{Breakage::kAcceptsAnyConfig, "invalid_config_rejected"},
                      Case{Breakage::kLosesCallsOnShutdown, "shutdown_drains_calls"}),
    [](const ::testing::TestParamInfo<Case>& p) {
      return std::string(p.param.check) + "_" + std::to_string(p.index);
    });

TEST(BrokenAdapterTest, TheUnbrokenWrapperPassesEverything) {
  ConnectorRegistry registry;
  ASSERT_TRUE(register_builtin_connectors(registry).ok());
  conformance::Report r = conformance::run(*registry.find("bank"), {3});
  EXPECT_EQ(r.failed, 0);
  EXPECT_EQ(r.passed + r.skipped, static_cast<int>(conformance::check_names().size()));
}

}  // namespace
}  // namespace chakong::connectors
