// Embedding the Chakong engine: one bank, one case. The engine talks to the bank through the
// built-in bank adapter — its real wire protocol — over a real transport:
//
//   embed_engine               virtual time: the adapter's bytes go to the bank's endpoint in
//                              process, and a month passes in milliseconds (deterministic);
//   embed_engine --real-time   real time: the bytes go over a Unix socket to the endpoint,
//                              served on its own thread as another process would serve it.
//
// A case server does the same with its own adapters, transports and executors. The bank here is
// a stand-in (chakong::institution, what the simulator and the conformance kit use); a real one
// is at the other end of the socket. Built in tree, and out of tree against an installed Chakong
// by the find-package test (tests/packaging):
//
//   find_package(chakong 0.2 REQUIRED COMPONENTS engine)   # engine, adapters, stand-in bank
#include <google/protobuf/message.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "chakong/base/virtual_executor.h"
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/factory.h"
#include "chakong/connectors/socket_transport.h"
#include "chakong/engine/asio_executor.h"
#include "chakong/engine/engine.h"
#include "chakong/institution/institution.h"

using namespace chakong;

int main(int argc, char** argv) {
  const bool real_time = argc > 1 && std::strcmp(argv[1], "--real-time") == 0;

  // 1. An executor per shard: the engine's only source of time.
  std::unique_ptr<Executor> executor;
  VirtualExecutor* virt = nullptr;
  AsioExecutor* asio = nullptr;
  if (real_time) {
    executor = std::make_unique<AsioExecutor>();
    asio = static_cast<AsioExecutor*>(executor.get());
  } else {
    executor = std::make_unique<VirtualExecutor>(Date::parse("2025-06-02")->start_us());
    virt = static_cast<VirtualExecutor*>(executor.get());
  }

  // 2. The bank: a stand-in holding ¥9,000 for the debtor, behind the bank protocol's endpoint.
  const std::string debtor = "11010519491231002X";
  institution::Institution bank("bank.sandbox", connectors::Capabilities::all());
  if (!bank.add_asset({AssetCategory::kDeposit, "6222-0001", Fen(900'000), debtor}).ok()) return 1;
  connectors::ConnectorRegistry registry;
  if (Status s = connectors::register_builtin_connectors(registry); !s.ok()) return 1;
  const connectors::ConnectorFactory* bank_kind = registry.find("bank");
  connectors::EndpointOptions reply_after;
  // Within the adapter's default timeout (60 s): 20 ms in real time, 20 s in virtual time.
  reply_after.latency = real_time ? 20 * kMicrosPerSecond / 1000 : 20 * kMicrosPerSecond;
  // In real time the endpoint runs on its own executor and thread, behind a socket server.
  AsioExecutor bank_side;
  std::unique_ptr<connectors::Transport> endpoint =
      bank_kind->sandbox_endpoint(bank, real_time ? bank_side : *executor, reply_after);

  // 3. The transport from the adapter to the bank, and the adapter itself.
  connectors::ConnectorContext context;
  context.executor = executor.get();
  std::unique_ptr<connectors::SocketServer> server;
  std::thread bank_thread;
  if (real_time) {
    const std::string socket = "/tmp/chakong-embed-" + std::to_string(getpid()) + ".sock";
    StatusOr<std::unique_ptr<connectors::SocketServer>> listening =
        connectors::SocketServer::listen(socket, {endpoint.get()});
    StatusOr<std::shared_ptr<connectors::SocketClient>> client =
        listening.ok() ? connectors::SocketClient::connect(socket) : listening.status();
    if (!client.ok()) {
      std::fprintf(stderr, "socket: %s\n", client.status().to_string().c_str());
      return 1;
    }
    server = std::move(listening).value();
    context.transport = (*client)->channel(0);
    bank_side.add_work();
    bank_thread = std::thread([&bank_side] { bank_side.run(); });
  } else {
    context.transport = std::move(endpoint);  // The adapter writes straight to the endpoint.
  }
  StatusOr<std::unique_ptr<connectors::Connector>> adapter =
      bank_kind->create(*bank_kind->default_config(), std::move(context));
  if (!adapter.ok()) {
    std::fprintf(stderr, "adapter: %s\n", adapter.status().to_string().c_str());
    return 1;
  }

  // 4. The engine, its officers and an observer.
  engine::EngineConfig config;
  config.deduct_delay = real_time ? 0 : kMicrosPerDay;
  StatusOr<std::unique_ptr<engine::Engine>> created =
      engine::Engine::create(config, {executor.get()}, {adapter->get()});
  if (!created.ok()) {
    std::fprintf(stderr, "engine: %s\n", created.status().to_string().c_str());
    return 1;
  }
  engine::Engine& engine = **created;
  if (Status s = engine.register_officer("cq-0110-017", "渝0110"); !s.ok()) return 1;
  engine.set_observer([&](const engine::Event& e) {
    std::printf("%s  %-18s %-14s %s %s\n", date_of(e.time).to_string().c_str(),
                std::string(engine::event_type_name(e.type)).c_str(), e.connector.c_str(),
                e.amount.is_zero() ? "" : format_fen(e.amount).c_str(), e.detail.c_str());
    if (e.type == engine::EventType::kCaseConcluded && asio != nullptr) asio->stop();
  });

  // 5. File a case: claim ¥5,000 plus ¥200 costs against one debtor.
  engine::CaseFiling filing;
  filing.case_number = "（2025）渝0110执2001号";
  filing.debtors = {{engine::DebtorInfo::Kind::kPerson, debtor, "张三"}};
  filing.claim = Fen(500'000);
  filing.costs = Fen(20'000);
  filing.officer_ids = {"cq-0110-017"};
  if (Status s = engine.file_case(filing); !s.ok()) {
    std::fprintf(stderr, "file_case: %s\n", s.to_string().c_str());
    return 2;
  }

  // 6. Run: a simulated month in virtual time, or until concluded in real time (at most 10 s).
  if (virt != nullptr) {
    virt->run_until(virt->now() + 30 * kMicrosPerDay);
  } else {
    asio->run_at(asio->now() + 10 * kMicrosPerSecond, [asio] { asio->stop(); });
    asio->run();
  }

  const engine::CaseView view = *engine.case_view(filing.case_number);
  std::printf("case %s: %s, deducted %s of %s; bank balance now %s\n", view.case_number.c_str(),
              std::string(engine::case_status_name(view.status)).c_str(),
              format_fen(view.deducted).c_str(), format_fen(view.budget).c_str(),
              format_fen(*bank.balance("6222-0001")).c_str());
  const bool concluded = view.status == engine::CaseStatus::kConcluded &&
                         view.deducted == Fen(520'000) &&
                         *bank.balance("6222-0001") == Fen(380'000);

  // 7. Shut down in order: the engine and the adapter (which drains its calls), then the bank.
  created->reset();
  adapter->reset();
  if (real_time) {
    server.reset();
    bank_side.stop();
    bank_thread.join();
  }
  return concluded ? 0 : 1;
}
