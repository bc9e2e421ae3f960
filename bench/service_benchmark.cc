// `chakong serve` end to end over loopback: case-server clients file cases through gRPC
// (plaintext 127.0.0.1, the chakong-principal header) into an in-process CaseServer with 2
// shards, a RocksDB journal on this machine's disk and a sandbox bank behind the bank adapter's
// wire protocol on a Unix socket. A FileCase is answered once the case is durable (its journal
// sync returned), so its latency is gRPC + the shard + a group-commit sync. Each client thread
// files new cases in a loop; requests/s is items_per_second, p50_us/p99_us are each thread's
// percentiles averaged over the threads.
//
// Same-run baseline: BM_ServiceHealthCheck, a grpc.health.v1 Check over the same channel
// (gRPC and loopback only, no shard, no journal), with the same threads.
//   build/release/bench/service_benchmark --benchmark_min_time=3
#include <benchmark/benchmark.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "chakong/connectors/builtin.h"
#include "chakong/connectors/factory.h"
#include "chakong/connectors/socket_transport.h"
#include "chakong/engine/asio_executor.h"
#include "chakong/institution/institution.h"
#include "chakong/service/config.h"
#include "chakong/service/server.h"
#include "chakong/v1/service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace chakong {
namespace {

namespace fs = std::filesystem;
constexpr char kDebtor[] = "11010519491231002X";

// The server and the bank, made once for the whole run.
struct World {
  World() {
    dir = (fs::temp_directory_path() / ("chakong-service-bench-" + std::to_string(getpid())))
              .string();
    fs::remove_all(dir);
    fs::create_directories(dir);
    (void)connectors::register_builtin_connectors(registry);
    (void)bank.add_asset(
        {connectors::AssetCategory::kDeposit, "6222000011112222", Fen(1'000'000'000), kDebtor});
    connectors::EndpointOptions eo;
    eo.latency = 2'000;
    endpoint = registry.find("bank")->sandbox_endpoint(bank, ex, eo);
    auto listening = connectors::SocketServer::listen(dir + "/inst.sock", {endpoint.get()});
    if (!listening.ok()) std::abort();
    socket = std::move(*listening);
    ex.add_work();
    thread = std::thread([this] { ex.run(); });
    std::ostringstream y;
    y << "listen: {address: \"127.0.0.1:0\", plaintext: true}\njournal: " << dir
      << "/journal\nshards: 2\nofficers: [{id: cq-0110-017, court: 渝0110}]\n"
      << "clients: [case-server]\nlog_level: warn\nconnectors:\n  - adapter: bank\n"
      << "    config: {name: a, timeout_ms: 5000}\n    transport: {unix: " << dir
      << "/inst.sock, channel: 0}\n";
    auto settings = service::parse_serve_config(y.str(), "bench.yaml", "", registry);
    if (!settings.ok()) std::abort();
    auto s = service::CaseServer::start(std::move(*settings), registry);
    if (!s.ok()) std::abort();
    server = std::move(*s);
    channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server->port()),
                                  grpc::InsecureChannelCredentials());
  }
  ~World() {
    (void)server->shutdown(std::chrono::seconds(5));
    server.reset();
    ex.stop();
    thread.join();
    socket.reset();
    fs::remove_all(dir);
  }
  std::string dir;
  connectors::ConnectorRegistry registry;
  institution::Institution bank{"bank.a", connectors::Capabilities::all()};
  AsioExecutor ex;
  std::unique_ptr<connectors::Transport> endpoint;
  std::unique_ptr<connectors::SocketServer> socket;
  std::thread thread;
  std::unique_ptr<service::CaseServer> server;
  std::shared_ptr<grpc::Channel> channel;
};

World& world() {
  static World* w = new World();  // Left to the process's end (the benchmark threads use it).
  return *w;
}

std::atomic<uint64_t> next_serial{1};

void percentiles(benchmark::State& state, std::vector<double>& us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = benchmark::Counter(us[us.size() / 2], benchmark::Counter::kAvgThreads);
  state.counters["p99_us"] = benchmark::Counter(us[std::min(us.size() - 1, us.size() * 99 / 100)],
                                                benchmark::Counter::kAvgThreads);
}

// One client loop for every benchmark: `call` builds its request (a few microseconds, inside the
// timed span) and makes one RPC on a fresh context (deadline 30 s), returning its status; each
// call's end-to-end latency is recorded.
template <typename Call>
void timed_calls(benchmark::State& state, Call call) {
  std::vector<double> us;
  for (auto _ : state) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    const auto t0 = std::chrono::steady_clock::now();
    const grpc::Status s = call(ctx);
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    if (!s.ok()) {
      state.SkipWithError(s.error_message().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  percentiles(state, us);
}

void BM_ServiceFileCase(benchmark::State& state) {
  auto stub = v1::CaseService::NewStub(world().channel);
  timed_calls(state, [&](grpc::ClientContext& ctx) {
    v1::FileCaseRequest r;
    v1::Case* c = r.mutable_filing();
    c->set_case_number("（2026）渝0110执" + std::to_string(next_serial.fetch_add(1)) + "号");
    c->set_court("渝0110");
    v1::Debtor* d = c->add_debtors();
    d->set_kind(v1::Debtor::KIND_PERSON);
    d->set_id_number(kDebtor);
    d->set_name("被执行人");
    c->set_claim_fen(200'000);
    c->set_costs_fen(1'000);
    c->add_officer_ids("cq-0110-017");
    ctx.AddMetadata("chakong-principal", "case-server");
    v1::FileCaseResponse resp;
    return stub->FileCase(&ctx, r, &resp);
  });
}
BENCHMARK(BM_ServiceFileCase)->Threads(1)->Threads(4)->Threads(16)->UseRealTime();

void BM_ServiceHealthCheck(benchmark::State& state) {
  auto stub = grpc::health::v1::Health::NewStub(world().channel);
  timed_calls(state, [&](grpc::ClientContext& ctx) {
    grpc::health::v1::HealthCheckRequest r;
    grpc::health::v1::HealthCheckResponse resp;
    return stub->Check(&ctx, r, &resp);
  });
}
BENCHMARK(BM_ServiceHealthCheck)->Threads(1)->Threads(4)->Threads(16)->UseRealTime();

}  // namespace
}  // namespace chakong

BENCHMARK_MAIN();
