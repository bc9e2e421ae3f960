// A small world for engine tests: institutions, in-process connectors (optionally wrapped in a
// FaultyConnector) and an Engine on one executor, virtual or real time.
#ifndef CHAKONG_TESTS_ENGINE_ENGINE_WORLD_H_
#define CHAKONG_TESTS_ENGINE_ENGINE_WORLD_H_

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "chakong/base/virtual_executor.h"
#include "chakong/engine/asio_executor.h"
#include "chakong/engine/engine.h"
#include "chakong/sim/in_process_connector.h"

namespace chakong::testing {

inline constexpr char kCourt[] = "渝0110";
inline constexpr char kOfficer[] = "cq-0110-017";
inline constexpr char kDebtor[] = "11010519491231002X";

class EngineWorld {
 public:
  // Virtual time from `start` (a date), or real time when `real_time`.
  explicit EngineWorld(bool real_time = false, const char* start = "2025-03-03") {
    if (real_time) {
      asio_ = std::make_unique<AsioExecutor>();
      ex_ = asio_.get();
    } else {
      virt_ = std::make_unique<VirtualExecutor>(Date::parse(start)->start_us());
      ex_ = virt_.get();
    }
  }

  Executor& ex() { return *ex_; }
  VirtualExecutor& virt() { return *virt_; }
  AsioExecutor& asio() { return *asio_; }

  institution::Institution& add_institution(
      const std::string& name, connectors::Capabilities caps = connectors::Capabilities::all(),
      institution::InstitutionPolicy policy = {}) {
    institutions_.push_back(std::make_unique<institution::Institution>(name, caps, policy));
    return *institutions_.back();
  }

  // Connects `inst` with latency, optionally through a fault plan.
  connectors::Connector& connect(institution::Institution& inst, sim::LatencyFn latency,
                                 sim::FaultPlan faults = nullptr) {
    inproc_.push_back(std::make_unique<sim::InProcessConnector>(inst, *ex_, std::move(latency)));
    connectors::Connector* c = inproc_.back().get();
    if (faults) {
      faulty_.push_back(std::make_unique<sim::FaultyConnector>(*c, *ex_, std::move(faults)));
      c = faulty_.back().get();
    }
    connectors_.push_back(c);
    return *c;
  }

  // Adds a connector built elsewhere (e.g. a wire adapter over a sandbox endpoint); the world
  // owns it.
  connectors::Connector& add_connector(std::unique_ptr<connectors::Connector> c) {
    owned_.push_back(std::move(c));
    connectors_.push_back(owned_.back().get());
    return *owned_.back();
  }

  engine::Engine& start(engine::EngineConfig config) {
    auto e = engine::Engine::create(std::move(config), {ex_}, connectors_);
    EXPECT_TRUE(e.ok()) << e.status().to_string();
    engine_ = std::move(e).value();
    EXPECT_TRUE(engine_->register_officer(kOfficer, kCourt).ok());
    engine_->set_observer([this](const engine::Event& ev) { events.push_back(ev); });
    return *engine_;
  }

  engine::Engine& engine() { return *engine_; }

  static engine::CaseFiling filing(std::string number, Fen claim,
                                   std::vector<std::string> debtors = {kDebtor}) {
    engine::CaseFiling f;
    f.case_number = std::move(number);
    f.court = kCourt;
    for (std::string& id : debtors) {
      f.debtors.push_back({engine::DebtorInfo::Kind::kPerson, std::move(id), "debtor"});
    }
    f.claim = claim;
    f.officer_ids = {kOfficer};
    return f;
  }

  int count(engine::EventType type) const {
    int n = 0;
    for (const engine::Event& e : events) n += e.type == type ? 1 : 0;
    return n;
  }
  const engine::Event* first(engine::EventType type) const {
    for (const engine::Event& e : events) {
      if (e.type == type) return &e;
    }
    return nullptr;
  }

  std::vector<engine::Event> events;

 private:
  std::unique_ptr<AsioExecutor> asio_;
  std::unique_ptr<VirtualExecutor> virt_;
  Executor* ex_ = nullptr;
  std::deque<std::unique_ptr<institution::Institution>> institutions_;
  std::vector<std::unique_ptr<sim::InProcessConnector>> inproc_;
  std::vector<std::unique_ptr<sim::FaultyConnector>> faulty_;
  std::vector<std::unique_ptr<connectors::Connector>> owned_;
  std::vector<connectors::Connector*> connectors_;
  std::unique_ptr<engine::Engine> engine_;
};

}  // namespace chakong::testing

#endif  // CHAKONG_TESTS_ENGINE_ENGINE_WORLD_H_
