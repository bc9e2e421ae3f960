// A sandbox institution for the service's out-of-process tests (tests/service/*.py): the
// simulated bank "bank.a" behind the bank adapter's real wire protocol on a Unix socket
// (channel 0), with ¥5,000 in an account of debtor 11010519491231002X and ¥5,000 of
// 110105198001010016, 2 ms latency. Prints "ready" on stdout once it listens; runs until
// SIGTERM or SIGINT.
//   institutions_server SOCKET
#include <signal.h>

#include <iostream>
#include <thread>

#include "chakong/connectors/builtin.h"
#include "chakong/connectors/factory.h"
#include "chakong/connectors/socket_transport.h"
#include "chakong/engine/asio_executor.h"
#include "chakong/institution/institution.h"

int main(int argc, char** argv) {
  using namespace chakong;
  if (argc != 2) {
    std::cerr << "usage: institutions_server SOCKET\n";
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  connectors::ConnectorRegistry registry;
  if (!connectors::register_builtin_connectors(registry).ok()) return 1;
  institution::Institution bank{"bank.a", connectors::Capabilities::all()};
  for (const auto& [account, holder] : {std::pair{"6222000011112222", "11010519491231002X"},
                                        std::pair{"6222000033334444", "110105198001010016"}}) {
    if (Status s =
            bank.add_asset({connectors::AssetCategory::kDeposit, account, Fen(500'000), holder});
        !s.ok()) {
      std::cerr << s.to_string() << "\n";
      return 1;
    }
  }
  AsioExecutor ex;
  connectors::EndpointOptions eo;
  eo.latency = 2'000;
  std::unique_ptr<connectors::Transport> endpoint =
      registry.find("bank")->sandbox_endpoint(bank, ex, eo);
  StatusOr<std::unique_ptr<connectors::SocketServer>> server =
      connectors::SocketServer::listen(argv[1], {endpoint.get()});
  if (!server.ok()) {
    std::cerr << server.status().to_string() << "\n";
    return 1;
  }
  ex.add_work();
  std::thread thread([&ex] { ex.run(); });
  std::cout << "ready" << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  ex.stop();
  thread.join();
  server->reset();
  return 0;
}
