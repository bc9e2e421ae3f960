// chakong.v1.CaseService end to end: a gRPC server (in this process on a loopback port, or a
// real `chakong serve` process on a Unix socket) with a simulated bank behind it, served from
// this process over the adapters' real wire protocol (connectors/socket_transport.h).
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "chakong/base/identity.h"
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/factory.h"
#include "chakong/connectors/socket_transport.h"
#include "chakong/durable/rocks_journal.h"
#include "chakong/engine/asio_executor.h"
#include "chakong/institution/institution.h"
#include "chakong/service/config.h"
#include "chakong/service/log.h"
#include "chakong/service/server.h"
#include "chakong/sim/sandbox.h"
#include "chakong/sim/scenario.h"
#include "chakong/v1/service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "service/src/event_log.h"
#include "tests/service/test_support.h"

namespace chakong {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using test_support::EchoTransport;
using test_support::make_test_ca;
using test_support::make_test_leaf;
using test_support::read_text;

constexpr char kCourt[] = "渝0110";
constexpr char kOfficer[] = "cq-0110-017";       // Assigned to the cases.
constexpr char kOtherOfficer[] = "cq-0111-003";  // Of another court.
constexpr char kCaseServer[] = "case-server";
constexpr char kDebtor[] = "11010519491231002X";
constexpr char kCase1[] = "（2026）渝0110执1001号";
constexpr char kCase2[] = "（2026）渝0110执1002号";
constexpr int64_t kBalance = 500'000;  // ¥5,000 in the debtor's account.
constexpr int64_t kClaim = 200'000;
constexpr int64_t kCosts = 1'000;

// The simulated bank "bank.a", served on a Unix socket for the lifetime of the fixture (and
// so across restarts of the service).
class Institutions {
 public:
  explicit Institutions(const std::string& socket) {
    EXPECT_TRUE(connectors::register_builtin_connectors(registry_).ok());
    EXPECT_TRUE(bank_
                    .add_asset({connectors::AssetCategory::kDeposit, "6222000011112222",
                                Fen(kBalance), kDebtor})
                    .ok());
    EXPECT_TRUE(bank_
                    .add_asset({connectors::AssetCategory::kDeposit, "6222000033334444",
                                Fen(kBalance), "110105198001010016"})
                    .ok());
    connectors::EndpointOptions eo;
    eo.latency = 2'000;  // 2 ms.
    endpoint_ = registry_.find("bank")->sandbox_endpoint(bank_, ex_, eo);
    auto server = connectors::SocketServer::listen(socket, {endpoint_.get()});
    EXPECT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(*server);
    ex_.add_work();
    thread_ = std::thread([this] { ex_.run(); });
  }
  ~Institutions() {
    ex_.stop();
    thread_.join();
    server_.reset();
  }

 private:
  connectors::ConnectorRegistry registry_;
  institution::Institution bank_{"bank.a", connectors::Capabilities::all()};
  AsioExecutor ex_;
  std::unique_ptr<connectors::Transport> endpoint_;
  std::unique_ptr<connectors::SocketServer> server_;
  std::thread thread_;
};

// `transport`: the connector's transport; empty: the fixture's Unix socket.
std::string config_yaml(const std::string& address, const std::string& dir,
                        const std::string& extra = "", const std::string& transport = "") {
  std::ostringstream y;
  y << "listen:\n  address: \"" << address << "\"\n  plaintext: true\n"
    << "journal: " << dir << "/journal\n"
    << "shards: 2\n"
    << "officers:\n  - {id: " << kOfficer << ", court: " << kCourt << "}\n"
    << "  - {id: " << kOtherOfficer << ", court: 渝0111}\n"
    << "clients: [" << kCaseServer << "]\n"
    << "connectors:\n  - adapter: bank\n    config: {name: a, timeout_ms: 5000}\n"
    << "    transport: "
    << (transport.empty() ? "{unix: " + dir + "/institutions.sock, channel: 0}" : transport) << "\n"
    << (extra.find("dispatch:") == std::string::npos  // `extra` may give its own.
            ? "dispatch:\n  - {connector: bank.a, timeout: 5s, max_attempts: 3}\n"
            : "")
    << extra;
  return y.str();
}

v1::FileCaseRequest filing(const std::string& number, int64_t claim = kClaim) {
  v1::FileCaseRequest r;
  v1::Case* c = r.mutable_filing();
  c->set_case_number(number);
  c->set_court(kCourt);
  v1::Debtor* d = c->add_debtors();
  d->set_kind(v1::Debtor::KIND_PERSON);
  d->set_id_number(kDebtor);
  d->set_name("被执行人");
  c->set_claim_fen(claim);
  c->set_costs_fen(kCosts);
  c->add_officer_ids(kOfficer);
  return r;
}

// A client, as a case server or an officer.
class Client {
 public:
  explicit Client(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::CaseService::NewStub(channel)),
        health_(grpc::health::v1::Health::NewStub(channel)) {}

  void as(grpc::ClientContext& ctx, const std::string& who) {
    if (!who.empty()) ctx.AddMetadata("chakong-principal", who);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  }
  grpc::Status file(const v1::FileCaseRequest& r, v1::FileCaseResponse* out = nullptr) {
    grpc::ClientContext ctx;
    as(ctx, kCaseServer);
    v1::FileCaseResponse resp;
    grpc::Status s = stub_->FileCase(&ctx, r, &resp);
    if (out) *out = resp;
    return s;
  }
  grpc::Status get(const std::string& number, const std::string& who, v1::CaseState* out) {
    grpc::ClientContext ctx;
    as(ctx, who);
    v1::GetCaseRequest r;
    r.set_case_number(number);
    return stub_->GetCase(&ctx, r, out);
  }
  // Events after `after` until `until` says enough (or 20 s pass).
  std::vector<v1::EngineEvent> watch(
      uint64_t after, const std::function<bool(const std::vector<v1::EngineEvent>&)>& until,
      const std::string& case_number = "") {
    grpc::ClientContext ctx;
    as(ctx, kCaseServer);
    v1::WatchEventsRequest r;
    r.set_after_cursor(after);
    r.set_case_number(case_number);
    std::unique_ptr<grpc::ClientReader<v1::EngineEvent>> reader = stub_->WatchEvents(&ctx, r);
    std::vector<v1::EngineEvent> got;
    v1::EngineEvent e;
    while (!until(got) && reader->Read(&e)) got.push_back(e);
    ctx.TryCancel();
    (void)reader->Finish();
    return got;
  }
  grpc::health::v1::HealthCheckResponse::ServingStatus health(const std::string& service) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    ctx.set_wait_for_ready(true);  // A fresh channel connects first (see KillUnderLoad).
    grpc::health::v1::HealthCheckRequest r;
    r.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    if (!health_->Check(&ctx, r, &resp).ok()) return grpc::health::v1::HealthCheckResponse::UNKNOWN;
    return resp.status();
  }
  v1::CaseService::Stub& stub() { return *stub_; }

 private:
  std::unique_ptr<v1::CaseService::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

bool has_kind(const std::vector<v1::EngineEvent>& events, const std::string& number,
              v1::EventKind kind) {
  return std::any_of(events.begin(), events.end(), [&](const v1::EngineEvent& e) {
    return e.case_number() == number && e.kind() == kind;
  });
}

std::string kinds(const std::vector<v1::EngineEvent>& events) {
  std::string out;
  for (const v1::EngineEvent& e : events) {
    out += (out.empty() ? "" : " ") + std::to_string(e.cursor()) + ":" +
           v1::EventKind_Name(e.kind()).substr(11) + "/" + std::to_string(e.amount_fen());
  }
  return out;
}

// The same without cursors.
std::string kind_names(const std::vector<v1::EngineEvent>& events) {
  std::string out;
  for (const v1::EngineEvent& e : events) {
    out += (out.empty() ? "" : " ") + v1::EventKind_Name(e.kind()).substr(11) + "/" +
           std::to_string(e.amount_fen());
  }
  return out;
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() /
            ("chakong-service-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name()))
               .string();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_TRUE(connectors::register_builtin_connectors(registry_).ok());
    institutions_ = std::make_unique<Institutions>(dir_ + "/institutions.sock");
  }
  void TearDown() override {
    server_.reset();
    institutions_.reset();
    if (getenv("CHAKONG_KEEP_TEST_DIR") == nullptr) fs::remove_all(dir_);
  }
  void start(const std::string& extra = "") {
    StatusOr<service::ServeSettings> s = service::parse_serve_config(
        config_yaml("127.0.0.1:0", dir_, extra), "serve.yaml", "", registry_);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    StatusOr<std::unique_ptr<service::CaseServer>> server =
        service::CaseServer::start(std::move(*s), registry_);
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(*server);
    client_ = std::make_unique<Client>(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }
  void stop() {
    ASSERT_TRUE(server_->shutdown(milliseconds(2000)).ok());
    server_.reset();
    client_.reset();
  }

  std::string dir_;
  connectors::ConnectorRegistry registry_;
  std::unique_ptr<Institutions> institutions_;
  std::unique_ptr<service::CaseServer> server_;
  std::unique_ptr<Client> client_;
};

// A finding at bank.a of the whole balance, its freeze for the budget (claim + costs) in
// force within the 48-hour clock.
auto settled(const std::string& number) {
  return [number](const std::vector<v1::EngineEvent>& events) {
    return has_kind(events, number, v1::EVENT_KIND_CONTROL_MET) &&
           has_kind(events, number, v1::EVENT_KIND_MEASURE_EFFECTIVE);
  };
}

TEST_F(ServiceTest, FileCaseThenWatchEventsShowsTheFindingAndTheMeasure) {
  start();
  EXPECT_EQ(client_->health(""), grpc::health::v1::HealthCheckResponse::SERVING);
  EXPECT_EQ(client_->health("chakong.v1.CaseService"),
            grpc::health::v1::HealthCheckResponse::SERVING);
  v1::FileCaseResponse resp;
  ASSERT_TRUE(client_->file(filing(kCase1), &resp).ok());
  EXPECT_EQ(resp.case_number(), kCase1);
  EXPECT_FALSE(resp.replayed());

  const std::vector<v1::EngineEvent> events = client_->watch(0, settled(kCase1));
  EXPECT_EQ(kinds(events),
            "1:CASE_FILED/200000 2:QUERIES_STARTED/0 3:FINDING/500000 4:CONTROL_MET/201000 "
            "5:MEASURE_EFFECTIVE/201000");
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[2].connector(), "bank.a");
  EXPECT_EQ(events[3].connector(), "bank.a");
  for (const v1::EngineEvent& e : events) EXPECT_EQ(e.case_number(), kCase1);

  v1::CaseState state;
  ASSERT_TRUE(client_->get(kCase1, kOfficer, &state).ok());
  EXPECT_EQ(state.case_number(), kCase1);
  EXPECT_EQ(state.status(), v1::CASE_STATUS_CONTROLLING);
  EXPECT_EQ(state.budget_fen(), kClaim + kCosts);
  EXPECT_EQ(state.frozen_fen(), kClaim + kCosts);
  EXPECT_EQ(state.findings(), 1);
  EXPECT_EQ(state.open_control_clocks(), 0);
  ASSERT_EQ(state.measures_size(), 1);
  EXPECT_EQ(state.measures(0).connector(), "bank.a");
  EXPECT_EQ(state.measures(0).amount_fen(), kClaim + kCosts);
  EXPECT_EQ(state.measures(0).reference_masked(), mask_id("6222000011112222"));
  EXPECT_TRUE(state.measures(0).live());

  grpc::ClientContext ctx;
  client_->as(ctx, kCaseServer);
  v1::ListCasesRequest lr;
  lr.set_status(v1::CASE_STATUS_CONTROLLING);
  v1::ListCasesResponse list;
  ASSERT_TRUE(client_->stub().ListCases(&ctx, lr, &list).ok());
  ASSERT_EQ(list.cases_size(), 1);
  EXPECT_EQ(list.cases(0).case_number(), kCase1);
  EXPECT_EQ(list.next_page_token(), "");
}

TEST_F(ServiceTest, RetriedFileCaseIsOkAndDifferentContentIsAlreadyExists) {
  start();
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());
  v1::FileCaseResponse again;
  const grpc::Status retry = client_->file(filing(kCase1), &again);
  EXPECT_EQ(retry.error_code(), grpc::StatusCode::OK) << retry.error_message();
  EXPECT_TRUE(again.replayed());
  const grpc::Status different = client_->file(filing(kCase1, kClaim + 1));
  EXPECT_EQ(different.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(different.error_message(),
            std::string("case ") + kCase1 + " was filed before with different content");
  EXPECT_EQ(server_->counters().filings_replayed, 1u);
  // Bad input names the field, and nothing is recorded: the corrected filing is accepted.
  v1::FileCaseRequest bad = filing(kCase2);
  bad.mutable_filing()->set_claim_fen(0);
  const grpc::Status refused = client_->file(bad);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.error_message().find("claim"), std::string::npos) << refused.error_message();
  EXPECT_EQ(client_->file(filing(kCase2)).error_code(), grpc::StatusCode::OK);
}

TEST_F(ServiceTest, UnauthorisedGetCaseIsRefusedCountedAndJournaled) {
  start();
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());
  v1::CaseState state;
  const grpc::Status other = client_->get(kCase1, kOtherOfficer, &state);
  EXPECT_EQ(other.error_code(), grpc::StatusCode::PERMISSION_DENIED) << other.error_message();
  const grpc::Status anonymous = client_->get(kCase1, "", &state);
  EXPECT_EQ(anonymous.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(anonymous.error_message(), "no chakong-principal header");
  const grpc::Status not_officer = client_->get(kCase1, kCaseServer, &state);
  EXPECT_EQ(not_officer.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(not_officer.error_message(), "'case-server' is not a registered officer");
  // An officer may not file.
  grpc::ClientContext ctx;
  client_->as(ctx, kOfficer);
  v1::FileCaseResponse resp;
  const grpc::Status officer_files = client_->stub().FileCase(&ctx, filing(kCase2), &resp);
  EXPECT_EQ(officer_files.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(officer_files.error_message(),
            "'cq-0110-017' is not a case server allowed to call FileCase");
  EXPECT_TRUE(client_->get(kCase1, kOfficer, &state).ok());
  EXPECT_EQ(server_->counters().unauthenticated, 1u);
  EXPECT_EQ(server_->counters().permission_denied, 3u);
  stop();

  engine::RocksJournalOptions jo;
  jo.path = dir_ + "/journal";
  jo.read_only = true;
  auto journal = engine::RocksJournal::open(jo);
  ASSERT_TRUE(journal.ok()) << journal.status().to_string();
  std::vector<std::string> refused;
  ASSERT_TRUE((*journal)
                  ->scan("service/refused/",
                         [&](std::string_view, std::string_view v) { refused.emplace_back(v); })
                  .ok());
  ASSERT_EQ(refused.size(), 4u);
  EXPECT_NE(refused[0].find("\"rpc\":\"GetCase\",\"principal\":\"cq-0111-003\""), std::string::npos)
      << refused[0];
  EXPECT_NE(refused[1].find("\"principal\":\"\""), std::string::npos) << refused[1];
  EXPECT_NE(refused[3].find("\"rpc\":\"FileCase\""), std::string::npos) << refused[3];
}

TEST_F(ServiceTest, TerminateRestoreAndListCasesByPage) {
  start("engine: {termination_min_days: 0}\n");
  // A claim the account cannot cover, so that something is left to restore.
  ASSERT_TRUE(client_->file(filing(kCase1, 900'000)).ok());
  (void)client_->watch(0, settled(kCase1));
  ASSERT_TRUE(client_->file(filing(kCase2)).ok());
  {
    grpc::ClientContext ctx;
    client_->as(ctx, kCaseServer);
    v1::TerminateRequest r;
    r.set_case_number(kCase1);
    r.set_consumption_restricted(false);  // A criterion unmet.
    v1::TerminateResponse resp;
    EXPECT_EQ(client_->stub().Terminate(&ctx, r, &resp).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  {
    grpc::ClientContext ctx;
    client_->as(ctx, kCaseServer);
    v1::TerminateRequest r;
    r.set_case_number(kCase1);
    r.set_consumption_restricted(true);
    v1::TerminateResponse resp;
    const grpc::Status st = client_->stub().Terminate(&ctx, r, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  std::string restored;
  {
    grpc::ClientContext ctx;
    client_->as(ctx, kCaseServer);
    v1::RestoreRequest r;
    r.set_case_number(kCase1);
    r.set_year(2026);
    r.set_serial(7);
    v1::RestoreResponse resp;
    const grpc::Status st = client_->stub().Restore(&ctx, r, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
    restored = resp.restored_as();
    EXPECT_EQ(restored, "（2026）渝0110执恢7号");
  }
  // Three cases, two a page, in byte order of their numbers.
  auto page = [&](const std::string& token, v1::CaseStatus status) {
    grpc::ClientContext ctx;
    client_->as(ctx, kCaseServer);
    v1::ListCasesRequest r;
    r.set_page_size(2);
    r.set_page_token(token);
    r.set_status(status);
    v1::ListCasesResponse resp;
    EXPECT_TRUE(client_->stub().ListCases(&ctx, r, &resp).ok());
    return resp;
  };
  std::vector<std::string> all = {kCase1, kCase2, restored};
  std::sort(all.begin(), all.end());
  const v1::ListCasesResponse first = page("", v1::CASE_STATUS_UNSPECIFIED);
  ASSERT_EQ(first.cases_size(), 2);
  EXPECT_EQ(first.cases(0).case_number(), all[0]);
  EXPECT_EQ(first.cases(1).case_number(), all[1]);
  EXPECT_EQ(first.next_page_token(), all[1]);
  const v1::ListCasesResponse second = page(first.next_page_token(), v1::CASE_STATUS_UNSPECIFIED);
  ASSERT_EQ(second.cases_size(), 1);
  EXPECT_EQ(second.cases(0).case_number(), all[2]);
  EXPECT_EQ(second.next_page_token(), "");
  const v1::ListCasesResponse restored_only = page("", v1::CASE_STATUS_RESTORED);
  ASSERT_EQ(restored_only.cases_size(), 1);
  EXPECT_EQ(restored_only.cases(0).case_number(), kCase1);
}

TEST_F(ServiceTest, WatchEventsResumedFromACursorMissesNothingAcrossARestart) {
  start();
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());
  const std::vector<v1::EngineEvent> first = client_->watch(0, settled(kCase1));
  ASSERT_EQ(first.size(), 5u);
  // A client that saw up to cursor 2 and reconnects gets 3, 4, 5 exactly.
  const std::vector<v1::EngineEvent> resumed =
      client_->watch(2, [](const std::vector<v1::EngineEvent>& e) { return e.size() >= 3; });
  ASSERT_EQ(resumed.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(resumed[i].SerializeAsString(), first[i + 2].SerializeAsString()) << i;
  }
  // The server restarts on the same journal; events keep their cursors and new ones follow.
  stop();
  start();
  EXPECT_EQ(server_->counters().recovered_cases, 1u);
  ASSERT_TRUE(client_->file(filing(kCase2)).ok());
  const std::vector<v1::EngineEvent> after = client_->watch(5, settled(kCase2));
  std::vector<v1::EngineEvent> case2;
  for (const v1::EngineEvent& e : after) {
    if (e.case_number() == kCase2) case2.push_back(e);
  }
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after.front().cursor(), 6u);
  for (size_t i = 1; i < after.size(); ++i) EXPECT_EQ(after[i].cursor(), after[i - 1].cursor() + 1);
  EXPECT_EQ(kind_names(case2),
            "CASE_FILED/200000 QUERIES_STARTED/0 FINDING/299000 CONTROL_MET/201000 "
            "MEASURE_EFFECTIVE/201000")
      << kinds(after);
  // Filtered by case, from the start: exactly case 1's five events, with their cursors.
  const std::vector<v1::EngineEvent> only1 = client_->watch(
      0, [](const std::vector<v1::EngineEvent>& e) { return e.size() >= 5; }, kCase1);
  EXPECT_EQ(kinds(only1), kinds(first));
}

// ---- /metrics, /healthz, /readyz --------------------------------------------------------

// GET `path` from 127.0.0.1:`port` over a real TCP socket: "<status code>\n<body>".
std::string http_get(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "connect failed";
  }
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return "write failed";
  }
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) got.append(buf, static_cast<size_t>(n));
  close(fd);
  const size_t head_end = got.find("\r\n\r\n");
  if (got.size() < 12 || head_end == std::string::npos) return "bad reply: " + got;
  return got.substr(9, 3) + "\n" + got.substr(head_end + 4);
}

// The sample lines (no comments) of a metrics page that start with `prefix`.
std::string samples(const std::string& page, const std::string& prefix) {
  std::istringstream in(page);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix)) out += line + "\n";
  }
  return out;
}

TEST_F(ServiceTest, MetricsCountTheRequestsClocksAndEventsOfFiledCases) {
  start("metrics: {address: \"127.0.0.1:0\"}\n");
  const int port = server_->metrics_port();
  ASSERT_GT(port, 0);
  EXPECT_EQ(http_get(port, "/healthz"), "200\nok\n");
  EXPECT_EQ(http_get(port, "/readyz"), "200\nready\n");
  EXPECT_EQ(http_get(port, "/nothing").substr(0, 4), "404\n");
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());  // A replay.
  (void)client_->watch(0, settled(kCase1));
  ASSERT_TRUE(client_->file(filing(kCase2)).ok());
  (void)client_->watch(5, settled(kCase2));
  v1::CaseState state;
  EXPECT_EQ(client_->get(kCase1, kOtherOfficer, &state).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // The watch streams end (their handlers return) a little after the client cancels.
  std::string page;
  for (int i = 0; i < 100; ++i) {
    page = http_get(port, "/metrics");
    // ... and the refused read's event (not waited for by its call) is synced.
    if (page.find("\nchakong_rpc_in_flight 0\n") != std::string::npos &&
        page.find("\nchakong_event_log_cursor 11\n") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_EQ(page.substr(0, 4), "200\n");
  EXPECT_EQ(samples(page, "chakong_rpc_"),
            "chakong_rpc_calls_total 6\n"
            "chakong_rpc_refused_total{reason=\"unauthenticated\"} 0\n"
            "chakong_rpc_refused_total{reason=\"permission_denied\"} 1\n"
            "chakong_rpc_in_flight 0\n");
  EXPECT_EQ(samples(page, "chakong_filings_replayed_total"), "chakong_filings_replayed_total 1\n");
  // Two queries and two freezes answered, nothing else sent.
  EXPECT_EQ(
      samples(page, "chakong_institution_requests_total{connector=\"bank.a\",kind=\"query\""),
      "chakong_institution_requests_total{connector=\"bank.a\",kind=\"query\",outcome=\"ok\"} 2\n"
      "chakong_institution_requests_total{connector=\"bank.a\",kind=\"query\",outcome=\"in_doubt\"}"
      " 0\n"
      "chakong_institution_requests_total{connector=\"bank.a\",kind=\"query\",outcome=\"error\"} "
      "0\n");
  EXPECT_NE(page.find("chakong_institution_requests_total{connector=\"bank.a\",kind=\"freeze\","
                      "outcome=\"ok\"} 2\n"),
            std::string::npos)
      << page;
  EXPECT_EQ(samples(page, "chakong_institution_requests_in_flight"),
            "chakong_institution_requests_in_flight{connector=\"bank.a\"} 0\n");
  // The four answers' times: none under 1 ms (the sandbox bank takes 2 ms), all within a day.
  EXPECT_NE(page.find("# TYPE chakong_institution_request_seconds histogram\n"), std::string::npos);
  const std::string h = "chakong_institution_request_seconds";
  EXPECT_EQ(samples(page, h + "_bucket{connector=\"bank.a\",le=\"0.001\"}"),
            h + "_bucket{connector=\"bank.a\",le=\"0.001\"} 0\n");
  EXPECT_EQ(samples(page, h + "_bucket{connector=\"bank.a\",le=\"86400\"}"),
            h + "_bucket{connector=\"bank.a\",le=\"86400\"} 4\n");
  EXPECT_EQ(samples(page, h + "_bucket{connector=\"bank.a\",le=\"+Inf\"}"),
            h + "_bucket{connector=\"bank.a\",le=\"+Inf\"} 4\n");
  EXPECT_EQ(samples(page, h + "_count"), h + "_count{connector=\"bank.a\"} 4\n");
  // The dispatchers, read on the shards' threads: nothing queued, in flight or broken.
  EXPECT_EQ(samples(page, "chakong_dispatcher_"),
            "chakong_dispatcher_queued{connector=\"bank.a\",lane=\"urgent\"} 0\n"
            "chakong_dispatcher_queued{connector=\"bank.a\",lane=\"normal\"} 0\n"
            "chakong_dispatcher_queued{connector=\"bank.a\",lane=\"bulk\"} 0\n"
            "chakong_dispatcher_batches_in_flight{connector=\"bank.a\"} 0\n"
            "chakong_dispatcher_breaker_open{connector=\"bank.a\"} 0\n");
  EXPECT_EQ(samples(page, "chakong_control_clocks"),
            "chakong_control_clocks_open 0\n"
            "chakong_control_clocks_met_total 2\n"
            "chakong_control_clocks_missed_total 0\n");
  EXPECT_EQ(samples(page, "chakong_engine_events_total{kind=\"finding\"}"),
            "chakong_engine_events_total{kind=\"finding\"} 2\n");
  EXPECT_EQ(samples(page, "chakong_engine_events_total{kind=\"measure_effective\"}"),
            "chakong_engine_events_total{kind=\"measure_effective\"} 2\n");
  EXPECT_EQ(samples(page, "chakong_cases"), "chakong_cases{status=\"controlling\"} 2\n");
  EXPECT_EQ(samples(page, "chakong_sweep_runs_started_total"),
            "chakong_sweep_runs_started_total 0\n");
  EXPECT_EQ(samples(page, "chakong_shards_unanswered"), "chakong_shards_unanswered 0\n");
  EXPECT_EQ(samples(page, "chakong_event_log_cursor"), "chakong_event_log_cursor 11\n");
  // The refused read is an event too.
  EXPECT_EQ(samples(page, "chakong_engine_events_total{kind=\"request_refused\"}"),
            "chakong_engine_events_total{kind=\"request_refused\"} 1\n");
  // Every acknowledged change waited for a sync: 3 filings (the replay too) and the read's
  // audit link, each measured.
  EXPECT_EQ(samples(page, "chakong_journal_sync_seconds_count"),
            "chakong_journal_sync_seconds_count 3\n");
  EXPECT_EQ(samples(page, "chakong_journal_failures_total"), "chakong_journal_failures_total 0\n");
  EXPECT_NE(page.find("\nchakong_journal_groups_total "), std::string::npos) << page;
  stop();
}

// The institutions server gone, the first failed attempt opens the breaker (breaker_failures:
// 1) of the case's shard, and /metrics shows it while the shards keep running.
TEST_F(ServiceTest, MetricsShowAnOpenBreaker) {
  start(
      "metrics: {address: \"127.0.0.1:0\"}\n"
      "dispatch:\n  - {connector: bank.a, timeout: 5s, max_attempts: 3, breaker_failures: 1, "
      "breaker_cooldown: 1h}\n");
  institutions_.reset();  // Every call now fails: UNAVAILABLE, in doubt.
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());
  const int port = server_->metrics_port();
  std::string page;
  for (int i = 0; i < 250; ++i) {
    page = http_get(port, "/metrics");
    if (page.find("\nchakong_dispatcher_breaker_open{connector=\"bank.a\"} 1\n") !=
        std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(samples(page, "chakong_dispatcher_breaker_open"),
            "chakong_dispatcher_breaker_open{connector=\"bank.a\"} 1\n")
      << page;
  EXPECT_EQ(samples(page,
                    "chakong_institution_requests_total{connector=\"bank.a\",kind=\"query\","
                    "outcome=\"in_doubt\"}"),
            "chakong_institution_requests_total{connector=\"bank.a\",kind=\"query\",outcome=\"in_"
            "doubt\"} 1\n");
  EXPECT_EQ(samples(page, "chakong_shards_unanswered"), "chakong_shards_unanswered 0\n");
  stop();
}

// ---- Mutual TLS ------------------------------------------------------------------------------

// Certificates made by `openssl` in `d`: CAs "ca" and "rogue"; of ca, "server" (CN and DNS
// name localhost, IP 127.0.0.1), "client" (CN case-server) and "intruder"; of rogue,
// "forged" (CN case-server). Each NAME.pem with its NAME.key.
bool make_test_certs(const std::string& d) {
  auto ca = [&](const std::string& name) { return make_test_ca(d, name); };
  auto leaf = [&](const std::string& file, const std::string& cn, const std::string& by,
                  bool server) { return make_test_leaf(d, file, cn, by, server); };
  return ca("ca") && ca("rogue") && leaf("server", "localhost", "ca", true) &&
         leaf("client", kCaseServer, "ca", false) && leaf("intruder", "intruder", "ca", false) &&
         leaf("forged", kCaseServer, "rogue", false);
}

class TlsTest : public ServiceTest {
 protected:
  bool make_certs() { return make_test_certs(dir_); }
  std::shared_ptr<grpc::Channel> channel(const std::string& cert) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = read(dir_ + "/ca.pem");
    if (!cert.empty()) {
      o.pem_private_key = read(dir_ + "/" + cert + ".key");
      o.pem_cert_chain = read(dir_ + "/" + cert + ".pem");
    }
    return grpc::CreateChannel("localhost:" + std::to_string(server_->port()),
                               grpc::SslCredentials(o));
  }
  static std::string read(const std::string& path) { return read_text(path); }
  // FileCase with a channel whose principal comes from its certificate (no header).
  grpc::StatusCode file_with(const std::string& cert, const std::string& number) {
    auto stub = v1::CaseService::NewStub(channel(cert));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::FileCaseResponse resp;
    return stub->FileCase(&ctx, filing(number), &resp).error_code();
  }
};

TEST_F(TlsTest, OnlyAClientCertificateOfTheCaNamingACaseServerMayFile) {
  ASSERT_TRUE(make_certs()) << "openssl failed";
  std::string yaml = config_yaml("127.0.0.1:0", dir_);
  const std::string plain = "  plaintext: true\n";
  yaml.replace(yaml.find(plain), plain.size(),
               "  tls_cert: server.pem\n  tls_key: server.key\n  client_ca: ca.pem\n");
  StatusOr<service::ServeSettings> s =
      service::parse_serve_config(yaml, "serve.yaml", dir_, registry_);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  auto server = service::CaseServer::start(std::move(*s), registry_);
  ASSERT_TRUE(server.ok()) << server.status().to_string();
  server_ = std::move(*server);

  EXPECT_EQ(file_with("client", kCase1), grpc::StatusCode::OK);
  // A principal of the right CA that is no case server.
  EXPECT_EQ(file_with("intruder", kCase2), grpc::StatusCode::PERMISSION_DENIED);
  // No certificate, or one of another CA: refused in the handshake, no RPC runs.
  EXPECT_EQ(file_with("", kCase2), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(file_with("forged", kCase2), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(server_->counters().calls, 2u);
  EXPECT_EQ(server_->counters().permission_denied, 1u);
  // The header means nothing over TLS.
  auto stub = v1::CaseService::NewStub(channel("intruder"));
  grpc::ClientContext ctx;
  ctx.AddMetadata("chakong-principal", kCaseServer);
  v1::FileCaseResponse resp;
  EXPECT_EQ(stub->FileCase(&ctx, filing(kCase2), &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST(ServiceEventKinds, EveryEngineEventTypeHasItsProtoKind) {
  for (int t = 0; t <= static_cast<int>(engine::EventType::kRemainderUncovered); ++t) {
    const auto type = static_cast<engine::EventType>(t);
    std::string upper(engine::event_type_name(type));
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    EXPECT_EQ(v1::EventKind_Name(service::to_event_kind(type)), "EVENT_KIND_" + upper);
  }
  EXPECT_EQ(v1::EventKind_descriptor()->value_count(),
            static_cast<int>(engine::EventType::kRemainderUncovered) + 2);
}

// ---- The config file -------------------------------------------------------------------------

class ServeConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(connectors::register_builtin_connectors(registry_).ok()); }
  std::string error(const std::string& yaml) {
    StatusOr<service::ServeSettings> s =
        service::parse_serve_config(yaml, "serve.yaml", "/srv", registry_);
    if (s.ok()) return "ok";
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    return std::string(s.status().message());
  }
  static std::string base(
      const std::string& listen = "{address: \"127.0.0.1:50051\", plaintext: true}") {
    return "listen: " + listen +
           "\njournal: j\nclients: [cs]\nofficers: [{id: o1, court: 渝0110}]\n"
           "connectors:\n  - {adapter: bank, config: {name: a}, transport: {unix: s.sock}}\n";
  }
  connectors::ConnectorRegistry registry_;
};

TEST_F(ServeConfigTest, AValidFileResolvesPathsAndSettings) {
  StatusOr<service::ServeSettings> s = service::parse_serve_config(
      base() +
          "shards: 4\nengine: {deduct_delay: 2d, termination_min_days: 0}\n"
          "dispatch: [{connector: bank.a, max_batch: 20, linger: 250ms}]\n",
      "serve.yaml", "/srv", registry_);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->journal_path, "/srv/j");
  EXPECT_EQ(s->shards, 4u);
  ASSERT_EQ(s->connectors.size(), 1u);
  EXPECT_EQ(s->connectors[0].name, "bank.a");
  EXPECT_EQ(s->connectors[0].socket, "/srv/s.sock");
  EXPECT_EQ(s->engine.deduct_delay, 2 * kMicrosPerDay);
  EXPECT_EQ(s->engine.termination.min_days_since_filing, 0);
  EXPECT_EQ(s->engine.dispatch_overrides.at("bank.a").max_batch, 20);
  EXPECT_EQ(s->engine.dispatch_overrides.at("bank.a").linger, 250'000);
  EXPECT_TRUE(s->journal_truncate_torn_tail);  // The default.
  StatusOr<service::ServeSettings> off = service::parse_serve_config(
      base() + "journal_truncate_torn_tail: false\n", "serve.yaml", "/srv", registry_);
  ASSERT_TRUE(off.ok()) << off.status().to_string();
  EXPECT_FALSE(off->journal_truncate_torn_tail);
}

TEST_F(ServeConfigTest, EveryErrorNamesTheFileTheFieldAndTheValue) {
  EXPECT_EQ(error(base("{address: \"0.0.0.0:50051\", plaintext: true}")),
            "serve.yaml: listen.address: '0.0.0.0:50051' is not a loopback address (plaintext "
            "is allowed only on loopback or a Unix socket)");
  EXPECT_EQ(error(base("{address: \"10.0.0.1:443\"}")),
            "serve.yaml: listen.tls_cert: required (mutual TLS), or set listen.plaintext: true "
            "on a loopback address");
  EXPECT_EQ(error(base("{address: \"localhost\", plaintext: true}")),
            "serve.yaml: listen.address: 'localhost' is not host:port or unix:PATH");
  EXPECT_EQ(error(base() + "shards: 65\n"), "serve.yaml: shards: 65 is not in 1..64");
  EXPECT_EQ(error(base() + "shard: 2\n").substr(0, 43),
            "serve.yaml: shard: unknown field (known her");
  EXPECT_EQ(error(base() + "engine: {deduct_delay: 10 days}\n"),
            "serve.yaml: engine.deduct_delay: '10 days' is not a duration (use 250ms, 90s, 30m, "
            "6h or 2d)");
  EXPECT_EQ(error(base() + "dispatch: [{connector: bank.b}]\n"),
            "serve.yaml: dispatch[0].connector: 'bank.b' is not a configured connector");
  EXPECT_EQ(error("listen: {address: \"unix:/run/c.sock\", plaintext: true}\njournal: j\n"
                  "clients: [cs]\nconnectors: [{adapter: bonk, transport: {unix: s}}]\n")
                .substr(0, 74),
            "serve.yaml: connectors[0].adapter: 'bonk' is not a registered adapter (kno");
  EXPECT_EQ(error("listen: {address: \"unix:/run/c.sock\", plaintext: true}\njournal: j\n"
                  "clients: [cs]\nconnectors: [{adapter: bank, config: {name: a, timeout_ms: "
                  "-5}, transport: {unix: s}}]\n"),
            "serve.yaml: connectors[0].config.timeout_ms: '-5' is not a valid uint32");
  EXPECT_EQ(error(base() + "clients: [o1]\n").substr(0, 41),
            "serve.yaml: clients: given twice (lines 3");
}

TEST_F(ServeConfigTest, MetricsAddressAndLogLevelAreChecked) {
  EXPECT_EQ(error(base() + "metrics: {address: \"example.org:9464\"}\n"),
            "serve.yaml: metrics.address: 'example.org:9464' is not host:port (an IP address or "
            "localhost, a port 0..65535)");
  EXPECT_EQ(error(base() + "metrics: {address: \"127.0.0.1:70000\"}\n"),
            "serve.yaml: metrics.address: '127.0.0.1:70000' is not host:port (an IP address or "
            "localhost, a port 0..65535)");
  EXPECT_EQ(error(base() + "metrics: {address: \"[::1]:9464\"}\n"), "ok");
  EXPECT_EQ(error(base() + "log_level: loud\n"),
            "serve.yaml: log_level: 'loud' is not a level (debug, info, warn or error)");
  EXPECT_EQ(error(base() + "log_level: warn\n"), "ok");
}

TEST_F(ServeConfigTest, AConnectorTransportIsOneOfUnixAndTcp) {
  auto with = [&](const std::string& transport) {
    return error(
        "listen: {address: \"127.0.0.1:1\", plaintext: true}\njournal: j\n"
        "clients: [cs]\nconnectors:\n  - {adapter: bank, config: {name: a}, "
        "transport: " +
        transport + "}\n");
  };
  EXPECT_EQ(with("{channel: 1}"),
            "serve.yaml: connectors[0].transport: required: unix (the institutions server's "
            "socket) or tcp (its host:port)");
  EXPECT_EQ(with("{unix: s.sock, tcp: \"127.0.0.1:7000\"}"),
            "serve.yaml: connectors[0].transport.tcp: '127.0.0.1:7000' given with "
            "transport.unix (choose one)");
  EXPECT_EQ(with("{tcp: \"bank.example\"}"),
            "serve.yaml: connectors[0].transport.tcp: 'bank.example' is not host:port (a port "
            "1..65535)");
  EXPECT_EQ(with("{tcp: \"bank.example:0\"}"),
            "serve.yaml: connectors[0].transport.tcp: 'bank.example:0' is not host:port (a "
            "port 1..65535)");
  EXPECT_EQ(with("{tcp: \"10.1.2.3:70000\"}"),
            "serve.yaml: connectors[0].transport.tcp: '10.1.2.3:70000' is not host:port (a "
            "port 1..65535)");
  StatusOr<service::ServeSettings> s = service::parse_serve_config(
      "listen: {address: \"127.0.0.1:1\", plaintext: true}\njournal: j\nclients: [cs]\n"
      "connectors:\n  - {adapter: bank, config: {name: a}, transport: {tcp: "
      "\"bank.example:7001\", channel: 2}}\n",
      "serve.yaml", "/srv", registry_);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->connectors[0].tcp, "bank.example:7001");
  EXPECT_EQ(s->connectors[0].socket, "");
  EXPECT_EQ(s->connectors[0].channel, 2u);
}

TEST_F(ServeConfigTest, ATcpTransportsTlsFieldsAreChecked) {
  const std::string dir =
      fs::temp_directory_path() / ("chakong-serve-tls-" + std::to_string(getpid()));
  fs::create_directories(dir);
  ASSERT_TRUE(make_test_certs(dir)) << "openssl failed";
  std::ofstream(dir + "/junk.pem") << "not a certificate\n";
  auto parse = [&](const std::string& transports) {
    return service::parse_serve_config(
        "listen: {address: \"127.0.0.1:1\", plaintext: true}\njournal: j\nclients: [cs]\n"
        "connectors:\n" +
            transports,
        "serve.yaml", dir, registry_);
  };
  auto with = [&](const std::string& transport) {
    StatusOr<service::ServeSettings> s =
        parse("  - {adapter: bank, config: {name: a}, transport: " + transport + "}\n");
    return s.ok() ? "ok" : std::string(s.status().message());
  };
  const std::string tcp = "tcp: \"127.0.0.1:7001\"";
  EXPECT_EQ(with("{" + tcp + ", tls_cert: client.pem, tls_key: client.key}"),
            "serve.yaml: connectors[0].transport.tls_ca: required with tls_cert");
  EXPECT_EQ(with("{unix: s.sock, tls_ca: ca.pem}"),
            "serve.yaml: connectors[0].transport.tls_ca: TLS is for a tcp transport");
  EXPECT_EQ(with("{" + tcp + ", tls_ca: nope.pem}"),
            "serve.yaml: connectors[0].transport.tls_ca: cannot read '" + dir + "/nope.pem'");
  EXPECT_EQ(with("{" + tcp + ", tls_ca: junk.pem}"),
            "serve.yaml: connectors[0].transport: TLS CA: not a PEM CA bundle (no start line)");
  EXPECT_EQ(with("{" + tcp + ", tls_ca: ca.pem, tls_cert: client.pem}"),
            "serve.yaml: connectors[0].transport.tls_key: required with tls_cert");
  EXPECT_EQ(
      with("{" + tcp + ", tls_ca: ca.pem, tls_cert: client.pem, tls_key: server.key}"),
      "serve.yaml: connectors[0].transport: TLS client key: not a PEM private key (key values "
      "mismatch)");
  StatusOr<service::ServeSettings> two =
      parse("  - {adapter: bank, config: {name: a}, transport: {" + tcp + ", tls_ca: ca.pem}}\n" +
            "  - {adapter: bank, config: {name: b}, transport: {" + tcp + "}}\n");
  EXPECT_EQ(two.status().message(),
            "serve.yaml: connectors[1].transport: the TLS fields differ from connectors[0]'s for "
            "the same "
            "tcp '127.0.0.1:7001'");
  StatusOr<service::ServeSettings> s =
      parse("  - {adapter: bank, config: {name: a}, transport: {" + tcp +
            ", tls_ca: ca.pem, tls_cert: client.pem, tls_key: client.key, tls_server_name: "
            "localhost}}\n");
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  ASSERT_TRUE(s->connectors[0].tls.has_value());
  EXPECT_EQ(s->connectors[0].tls->ca_pem, read_text(dir + "/ca.pem"));
  EXPECT_EQ(s->connectors[0].tls->cert_pem, read_text(dir + "/client.pem"));
  EXPECT_EQ(s->connectors[0].tls->key_pem, read_text(dir + "/client.key"));
  EXPECT_EQ(s->connectors[0].tls->server_name, "localhost");
  fs::remove_all(dir);
}

// ---- The TCP transport ---------------------------------------------------------------------

TEST(TcpTransport, CarriesCallsToTheirChannelAndRefusesBadAddresses) {
  EchoTransport a, b;
  StatusOr<std::unique_ptr<connectors::SocketServer>> server =
      connectors::SocketServer::listen_tcp("127.0.0.1:0", {&a, &b});
  ASSERT_TRUE(server.ok()) << server.status().to_string();
  const uint16_t port = (*server)->port();
  ASSERT_NE(port, 0);
  StatusOr<std::shared_ptr<connectors::SocketClient>> client =
      connectors::SocketClient::connect_tcp("127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(client.ok()) << client.status().to_string();
  auto call = [](connectors::Transport& t, const std::string& bytes) {
    std::promise<StatusOr<std::string>> p;
    t.async_call(bytes, [&p](StatusOr<std::string> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  };
  std::unique_ptr<connectors::Transport> ch1 = (*client)->channel(1);
  StatusOr<std::string> r = call(*ch1, std::string("x\0y", 3));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(*r, std::string("echo:x\0y", 8));
  std::unique_ptr<connectors::Transport> ch7 = (*client)->channel(7);
  EXPECT_EQ(call(*ch7, "z").status().to_string(), "UNAVAILABLE: institution: no channel 7");
  EXPECT_EQ((*server)->connections(), 1u);

  EXPECT_EQ(connectors::SocketClient::connect_tcp("localhost").status().to_string(),
            "INVALID_ARGUMENT: 'localhost' is not host:port");
  EXPECT_EQ(connectors::SocketClient::connect_tcp("127.0.0.1:0").status().to_string(),
            "INVALID_ARGUMENT: '127.0.0.1:0' is not host:port");
  EXPECT_EQ(connectors::SocketServer::listen_tcp("[::1:80", {&a}).status().to_string(),
            "INVALID_ARGUMENT: '[::1:80' is not host:port");
  // The server gone, its port refuses: UNAVAILABLE naming the address.
  (*client)->close();
  server->reset();
  const StatusOr<std::shared_ptr<connectors::SocketClient>> refused =
      connectors::SocketClient::connect_tcp("127.0.0.1:" + std::to_string(port));
  EXPECT_EQ(refused.status().to_string(),
            "UNAVAILABLE: cannot connect to institutions at "
            "127.0.0.1:" +
                std::to_string(port) + ": Connection refused");
}

// ---- A real `chakong serve` process ------------------------------------------------------

class ServeProcessTest : public ServiceTest {
 protected:
  // Writes the config and starts `chakong serve` on it, its stderr to serve.log.
  pid_t launch() {
    const std::string config = dir_ + "/serve.yaml";
    {
      std::ofstream out(config);
      out << edit_(config_yaml("unix:" + dir_ + "/grpc.sock", dir_, extra_, transport_));
    }
    const std::string log = dir_ + "/serve.log";
    fs::remove(dir_ + "/grpc.sock");  // A killed server's socket file stays behind.
    const pid_t pid = fork();
    if (pid == 0) {
      FILE* f = std::freopen(log.c_str(), "a", stderr);
      (void)f;
      execl(CHAKONG_CLI, "chakong", "serve", "--config", config.c_str(), "--grace-ms", "3000",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    return pid;
  }
  // launch(), then waits until it is SERVING on its Unix socket.
  pid_t spawn() {
    const std::string log = dir_ + "/serve.log";
    const std::string socket = dir_ + "/grpc.sock";
    const pid_t pid = launch();
    // The socket file appears when the server listens, after the journal is recovered.
    for (int i = 0; i < 400 && !fs::exists(socket); ++i)
      std::this_thread::sleep_for(milliseconds(25));
    // Reconnect quickly should the first attempt fail (gRPC's default backoff starts at 1 s).
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
    client_ = std::make_unique<Client>(grpc::CreateCustomChannel(
        "unix:" + dir_ + "/grpc.sock", grpc::InsecureChannelCredentials(), args));
    for (int i = 0; i < 200; ++i) {
      if (client_->health("") == grpc::health::v1::HealthCheckResponse::SERVING) return pid;
      std::this_thread::sleep_for(milliseconds(50));
    }
    ADD_FAILURE() << "chakong serve did not become SERVING; its log:\n" << read(log);
    return pid;
  }
  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // How many times `what` occurs in serve.log.
  size_t count_in_log(const std::string& what) const {
    const std::string log = read(dir_ + "/serve.log");
    size_t n = 0;
    for (size_t at = 0; (at = log.find(what, at)) != std::string::npos; ++at) ++n;
    return n;
  }
  // Sends SIGHUP to `pid` and waits (up to 5 s) until serve.log holds `nth` sighup lines: the
  // server logs one per signal, applied or refused.
  void reload(pid_t pid, size_t nth) const {
    kill(pid, SIGHUP);
    for (int i = 0; i < 500; ++i) {
      if (count_in_log("\"event\":\"sighup\"") >= nth) return;
      std::this_thread::sleep_for(milliseconds(10));
    }
    ADD_FAILURE() << "no sighup line number " << nth << " in 5 s; the log:\n"
                  << read(dir_ + "/serve.log");
  }
  std::string extra_;      // More config for spawn().
  std::string transport_;  // The connector's transport for spawn(); empty: the Unix socket.
  // Applied to the config text spawn() writes.
  std::function<std::string(std::string)> edit_ = [](std::string text) { return text; };
  static int wait_exit(pid_t pid, int seconds) {
    for (int i = 0; i < seconds * 20; ++i) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) return status;
      std::this_thread::sleep_for(milliseconds(50));
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    return -1;
  }
};

TEST_F(ServeProcessTest, AnAcknowledgedFilingSurvivesSigkill) {
  const pid_t first = spawn();
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());
  // Killed at once: nothing after the acknowledgement had a chance to run.
  kill(first, SIGKILL);
  int status = 0;
  waitpid(first, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));

  const pid_t second = spawn();
  v1::CaseState state;
  const grpc::Status got = client_->get(kCase1, kOfficer, &state);
  ASSERT_TRUE(got.ok()) << got.error_message();
  EXPECT_EQ(state.case_number(), kCase1);
  EXPECT_EQ(state.budget_fen(), kClaim + kCosts);
  v1::FileCaseResponse again;
  ASSERT_TRUE(client_->file(filing(kCase1), &again).ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(client_->file(filing(kCase1, kClaim + 1)).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  // The case goes on to its freeze under the new process; its events start at cursor 1.
  const std::vector<v1::EngineEvent> events = client_->watch(0, settled(kCase1), kCase1);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().kind(), v1::EVENT_KIND_CASE_FILED);
  EXPECT_EQ(events.front().cursor(), 1u);
  EXPECT_TRUE(settled(kCase1)(events)) << kinds(events);
  kill(second, SIGTERM);
  EXPECT_EQ(wait_exit(second, 20), 0) << read(dir_ + "/serve.log");
  EXPECT_NE(read(dir_ + "/serve.log").find("\"recovered_cases\":1"), std::string::npos)
      << read(dir_ + "/serve.log");
}

TEST_F(ServeProcessTest, SigtermDrainsAndExitsZero) {
  const pid_t pid = spawn();
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());
  kill(pid, SIGTERM);
  const int status = wait_exit(pid, 20);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n"
                                                             << read(dir_ + "/serve.log");
  const std::string log = read(dir_ + "/serve.log");
  EXPECT_NE(log.find("{\"event\":\"stopped\",\"journal\":\"ok\""), std::string::npos) << log;
  // The next process finds the case.
  const pid_t next = spawn();
  v1::CaseState state;
  EXPECT_TRUE(client_->get(kCase1, kOfficer, &state).ok());
  kill(next, SIGTERM);
  EXPECT_EQ(wait_exit(next, 20), 0);
}

TEST_F(ServeProcessTest, EachCallIsOneJsonLogLineWithItsRequestIdAndTheCaseMasked) {
  const pid_t pid = spawn();
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());  // A retry: same request id.
  EXPECT_EQ(client_->file(filing(kCase1, kClaim + 1)).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  kill(pid, SIGTERM);
  ASSERT_EQ(wait_exit(pid, 20), 0);
  const std::string log = read(dir_ + "/serve.log");
  std::vector<nlohmann::json> rpcs;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
    ASSERT_TRUE(j.contains("level") && j.contains("time")) << line;
    if (j.value("event", "") == "rpc" && j.value("rpc", "") == "FileCase") rpcs.push_back(j);
  }
  ASSERT_EQ(rpcs.size(), 3u) << log;
  const std::string masked = "（2026）渝0110执***1号";
  EXPECT_EQ(service::mask_case_number(kCase1), masked);
  for (const nlohmann::json& j : rpcs) {
    EXPECT_EQ(j["principal"], kCaseServer);
    EXPECT_EQ(j["case"], masked);
    EXPECT_EQ(j["request_id"].get<std::string>().size(), 16u);
    EXPECT_EQ(j["time"].get<std::string>().back(), 'Z');
  }
  EXPECT_EQ(rpcs[0]["code"], "OK");
  EXPECT_EQ(rpcs[0]["level"], "info");
  EXPECT_EQ(rpcs[1]["code"], "OK");
  EXPECT_EQ(rpcs[0]["request_id"], rpcs[1]["request_id"]);
  EXPECT_EQ(rpcs[0]["request_id"],
            service::request_id("FileCase", filing(kCase1).SerializeAsString()));
  EXPECT_EQ(rpcs[2]["code"], "ALREADY_EXISTS");
  EXPECT_EQ(rpcs[2]["level"], "warning");
  EXPECT_NE(rpcs[2]["request_id"], rpcs[0]["request_id"]);
  EXPECT_EQ(rpcs[2]["message"], "case " + masked + " was filed before with different content");
  // Neither the case number nor the debtor's identity number is anywhere in the log.
  EXPECT_EQ(log.find(kCase1), std::string::npos) << log;
  EXPECT_EQ(log.find(kDebtor), std::string::npos) << log;
}

TEST_F(ServeProcessTest, SighupReloadsTheLogLevelAndKeepsABadFileOut) {
  const pid_t pid = spawn();
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());  // Logged at info.
  const std::string config = dir_ + "/serve.yaml";
  std::ofstream(config, std::ios::app) << "log_level: warn\n";
  reload(pid, 1);
  ASSERT_EQ(
      count_in_log("\"event\":\"sighup\",\"reloaded\":\"log_level,clients,officers,dispatch\","
                   "\"log_level\":\"warn\",\"clients\":1,\"officers\":2,\"generation\":1"),
      1u)
      << read(dir_ + "/serve.log");
  ASSERT_TRUE(client_->file(filing(kCase2)).ok());  // Info: not logged any more.
  EXPECT_EQ(client_->file(filing(kCase2, kClaim + 1)).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);  // Warning: logged.
  // A file that no longer parses is refused whole, and the server goes on.
  std::ofstream(config, std::ios::app) << "metrics: {address: \"example.org:1\"}\n";
  reload(pid, 2);
  kill(pid, SIGTERM);
  ASSERT_EQ(wait_exit(pid, 20), 0);
  EXPECT_EQ(count_in_log("\"rpc\":\"FileCase\""), 2u) << read(dir_ + "/serve.log");
  EXPECT_EQ(count_in_log("\"code\":\"ALREADY_EXISTS\""), 1u);
  EXPECT_EQ(count_in_log("\"error\":\"" + dir_ +
                         "/serve.yaml: metrics.address: 'example.org:1' is not host:port (an IP "
                         "address or localhost, a port 0..65535)\""),
            1u)
      << read(dir_ + "/serve.log");
}

// SIGHUP applies a new list of case servers: one added may file, one removed may not.
TEST_F(ServeProcessTest, SighupReloadsTheCaseServers) {
  const pid_t pid = spawn();
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());
  auto file_as = [&](const std::string& who, const std::string& number) {
    grpc::ClientContext ctx;
    client_->as(ctx, who);
    v1::FileCaseResponse resp;
    return client_->stub().FileCase(&ctx, filing(number), &resp);
  };
  const grpc::Status before = file_as("case-server-2", kCase2);
  EXPECT_EQ(before.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(before.error_message(),
            "'case-server-2' is not a case server allowed to call FileCase");
  const std::string config = dir_ + "/serve.yaml";
  std::string text = read(config);
  const std::string was = std::string("clients: [") + kCaseServer + "]";
  ASSERT_NE(text.find(was), std::string::npos) << text;
  text.replace(text.find(was), was.size(), "clients: [case-server-2]");
  std::ofstream(config, std::ios::trunc) << text;
  reload(pid, 1);
  EXPECT_NE(read(dir_ + "/serve.log")
                .find("\"reloaded\":\"log_level,clients,officers,dispatch\",\"log_level\":"
                      "\"info\",\"clients\":1,\"officers\":2,\"generation\":1"),
            std::string::npos)
      << read(dir_ + "/serve.log");
  EXPECT_TRUE(file_as("case-server-2", kCase2).ok());
  EXPECT_EQ(file_as(kCaseServer, "（2026）渝0110执1003号").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 20), 0);
}

// Kill under load: `chakong serve` is SIGKILLed three times while 3 case-server threads file
// cases (each retrying its case with the same content until acknowledged) and a watcher follows
// the event stream, reconnecting with the last cursor it handled. Then: every acknowledged
// filing is in the last process (a retry is a replay, the officer reads it), the watcher saw
// cursors 1, 2, 3, ... with no gap and none twice, byte for byte what a fresh watch from 0
// gives, and every case holds exactly one measure for its budget.
TEST_F(ServeProcessTest, KillUnderLoad) {
  // A SIGKILL may land inside a journal write; the torn record, never acknowledged, is cut at
  // the next start (journal_truncate_torn_tail is on by default).
  pid_t pid = spawn();
  grpc::ChannelArguments args;
  // Retry a connection soon (50..100 ms between attempts); GRPC_ARG_MIN_RECONNECT_BACKOFF_MS
  // is also gRPC's connect timeout, 1 s for an attempt to get the server's SETTINGS frame.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  // Every call waits for the channel to be ready (wait_for_ready) instead of failing at once
  // while it reconnects: a call waiting in the channel is what polls the new connection. With
  // fail-fast calls nobody reads the server's SETTINGS frame but gRPC's backup poller (every
  // 5 s), each attempt times out after its 1 s, and a restarted server got no call from this
  // channel for ~10 s (docs/service.md, "Reconnecting").
  auto channel = grpc::CreateCustomChannel("unix:" + dir_ + "/grpc.sock",
                                           grpc::InsecureChannelCredentials(), args);
  constexpr int64_t kSmallClaim = 1'000;  // Budget ¥20 with the costs.
  std::atomic<bool> done{false};
  std::mutex mu;
  std::vector<std::string> acked;
  std::vector<std::thread> filers;
  for (int t = 0; t < 3; ++t) {
    filers.emplace_back([&, t] {
      auto stub = v1::CaseService::NewStub(channel);
      // At most 40 cases a thread: 120 budgets of ¥20 stay well within the ¥5,000 account.
      // Paced (30 ms between cases) so that the filing spans all three kills.
      for (int n = 0; n < 40 && !done.load(); ++n) {
        if (n > 0) std::this_thread::sleep_for(milliseconds(30));
        const std::string number = "（2026）渝0110执" + std::to_string(2000 + t * 1000 + n) + "号";
        while (!done.load()) {  // Until acknowledged: a real case server's retry.
          grpc::ClientContext ctx;
          ctx.AddMetadata("chakong-principal", kCaseServer);
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
          ctx.set_wait_for_ready(true);
          v1::FileCaseResponse resp;
          const grpc::Status fs = stub->FileCase(&ctx, filing(number, kSmallClaim), &resp);
          if (fs.ok()) {
            std::lock_guard<std::mutex> lock(mu);
            acked.push_back(number);
            break;
          }
          std::this_thread::sleep_for(milliseconds(10));
        }
      }
    });
  }
  std::vector<v1::EngineEvent> seen;  // Only the watcher thread touches it until joined.
  std::atomic<bool> watching{true};
  std::thread watcher([&] {
    auto stub = v1::CaseService::NewStub(channel);
    while (watching.load()) {
      grpc::ClientContext ctx;
      ctx.AddMetadata("chakong-principal", kCaseServer);
      ctx.set_deadline(std::chrono::system_clock::now() + milliseconds(500));
      ctx.set_wait_for_ready(true);
      v1::WatchEventsRequest r;
      r.set_after_cursor(seen.empty() ? 0 : seen.back().cursor());
      auto reader = stub->WatchEvents(&ctx, r);
      v1::EngineEvent e;
      while (reader->Read(&e)) seen.push_back(e);
      (void)reader->Finish();  // Killed, or the deadline: reconnect from the last cursor.
    }
  });
  std::vector<size_t> acked_at_kill;
  auto acked_now = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return acked.size();
  };
  for (int kill_no = 0; kill_no < 3; ++kill_no) {
    // Kill only once this process acknowledged filings of its own (load on each life).
    const size_t before = acked_at_kill.empty() ? 0 : acked_at_kill.back();
    for (int i = 0; i < 1000 && acked_now() <= before; ++i) {
      std::this_thread::sleep_for(milliseconds(10));
    }
    std::this_thread::sleep_for(milliseconds(100));
    {
      std::lock_guard<std::mutex> lock(mu);
      acked_at_kill.push_back(acked.size());
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    pid = spawn();
  }
  for (int i = 0; i < 1000 && acked_now() <= acked_at_kill.back(); ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  done = true;
  for (std::thread& t : filers) t.join();
  std::sort(acked.begin(), acked.end());
  // Every life acknowledged filings of its own (each is given up to 10 s before it is killed).
  ASSERT_EQ(acked_at_kill.size(), 3u);
  EXPECT_GT(acked_at_kill[0], 0u);
  EXPECT_GT(acked_at_kill[1], acked_at_kill[0]);
  EXPECT_GT(acked_at_kill[2], acked_at_kill[1]);
  EXPECT_GT(acked.size(), acked_at_kill[2]);
  // Every acknowledged filing survived: the retry is a replay, and it settles to one measure.
  for (const std::string& number : acked) {
    v1::FileCaseResponse again;
    ASSERT_TRUE(client_->file(filing(number, kSmallClaim), &again).ok()) << number;
    EXPECT_TRUE(again.replayed()) << number;
  }
  // Wait until every acknowledged case has its measure in force (the watcher's view).
  auto all_settled = [&] {
    std::set<std::string> effective;
    for (const v1::EngineEvent& e : client_->watch(0, [&](const std::vector<v1::EngineEvent>& got) {
           std::set<std::string> cases;
           for (const v1::EngineEvent& x : got) {
             if (x.kind() == v1::EVENT_KIND_MEASURE_EFFECTIVE) cases.insert(x.case_number());
           }
           return cases.size() >= acked.size();
         })) {
      if (e.kind() == v1::EVENT_KIND_MEASURE_EFFECTIVE) effective.insert(e.case_number());
    }
    return effective.size();
  };
  EXPECT_EQ(all_settled(), acked.size());
  for (const std::string& number : acked) {
    v1::CaseState state;
    ASSERT_TRUE(client_->get(number, kOfficer, &state).ok()) << number;
    EXPECT_EQ(state.measures_size(), 1) << number;
    EXPECT_EQ(state.frozen_fen(), kSmallClaim + kCosts) << number;
  }
  std::this_thread::sleep_for(milliseconds(600));  // The watcher catches up.
  watching = false;
  watcher.join();
  ASSERT_FALSE(seen.empty());
  for (size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i].cursor(), i + 1) << kinds(seen);
  const std::vector<v1::EngineEvent> fresh = client_->watch(
      0, [&](const std::vector<v1::EngineEvent>& got) { return got.size() >= seen.size(); });
  ASSERT_EQ(fresh.size(), seen.size());
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(fresh[i].SerializeAsString(), seen[i].SerializeAsString()) << i;
  }
  // No measure twice: each case above holds exactly one measure. (Its MEASURE_EFFECTIVE event
  // may be in the log twice, under two cursors: reported before a kill, and again when the
  // freeze re-sent at recovery is answered with the first outcome; docs/service.md.)
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 20), 0);
}

// `chakong institutions --scenario spec --listen listen` with `args` after (port 0: one is
// picked); sets *port to the port it listens on. It serves `channels` channels.
pid_t start_institutions_on(const std::string& spec, const std::string& dir,
                            const std::string& listen, const std::vector<std::string>& args,
                            std::string* port, size_t channels = 1) {
  const std::string out = dir + "/institutions.out";
  fs::remove(out);
  const pid_t inst = fork();
  if (inst == 0) {
    FILE* f = std::freopen(out.c_str(), "w", stdout);
    (void)f;
    std::vector<const char*> argv{"chakong",    "institutions", "--scenario",
                                  spec.c_str(), "--listen",     listen.c_str()};
    for (const std::string& a : args) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    execv(CHAKONG_CLI, const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  std::string line;
  for (int i = 0; i < 400 && line.empty(); ++i) {
    std::this_thread::sleep_for(milliseconds(25));
    std::ifstream in(out);
    std::getline(in, line);
  }
  // "listening 127.0.0.1:0 port N channels 1"
  const std::string head = "listening " + listen + " port ";
  EXPECT_EQ(line.rfind(head, 0), 0u) << line;
  *port = line.substr(head.size(), line.find(' ', head.size()) - head.size());
  EXPECT_EQ(line.substr(head.size() + port->size()), " channels " + std::to_string(channels));
  return inst;
}

// The same for bank.a (channel 0) holding kBalance for kDebtor, answering after `latency_ms`.
pid_t start_institutions(const std::string& dir, const std::string& listen, int latency_ms,
                         const std::vector<std::string>& args, std::string* port) {
  const std::string spec = dir + "/institutions.yaml";
  std::ofstream(spec) << "institutions:\n"
                      << "  - adapter: bank\n    name: bank.a\n    latency_ms: " << latency_ms
                      << "\n    assets:\n      - {category: deposit, reference: "
                      << "\"6222000011112222\", holder: \"" << kDebtor << "\", fen: " << kBalance
                      << "}\n";
  return start_institutions_on(spec, dir, listen, args, port);
}

// `chakong serve` against a `chakong institutions` process over TCP: the filed case's
// finding and freeze come from the bank served by the other process.
TEST_F(ServeProcessTest, ServesAgainstAChakongInstitutionsProcessOverTcp) {
  std::string port;
  const pid_t inst = start_institutions(dir_, "127.0.0.1:0", 2, {}, &port);
  transport_ = "{tcp: \"127.0.0.1:" + port + "\", channel: 0}";
  const pid_t pid = spawn();
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());
  const std::vector<v1::EngineEvent> events = client_->watch(0, settled(kCase1));
  EXPECT_EQ(kinds(events),
            "1:CASE_FILED/200000 2:QUERIES_STARTED/0 3:FINDING/500000 4:CONTROL_MET/201000 "
            "5:MEASURE_EFFECTIVE/201000");
  v1::CaseState state;
  ASSERT_TRUE(client_->get(kCase1, kOfficer, &state).ok());
  EXPECT_EQ(state.frozen_fen(), kClaim + kCosts);
  ASSERT_EQ(state.measures_size(), 1);
  EXPECT_EQ(state.measures(0).connector(), "bank.a");
  EXPECT_EQ(state.measures(0).amount_fen(), kClaim + kCosts);
  EXPECT_EQ(state.measures(0).reference_masked(), mask_id("6222000011112222"));
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 20), 0) << read(dir_ + "/serve.log");
  kill(inst, SIGTERM);
  EXPECT_EQ(wait_exit(inst, 20), 0);
}

// SIGTERM while a query is out at an institution that answers only after a minute: the
// connector completes it (CANCELLED, contract rule 5) before the connector executor stops, the
// log says so, and the process exits 0 at once. (Stopping the executor first left the call
// open for ever: its counting wrapper leaked, LeakSanitizer's finding of issue 18.)
TEST_F(ServeProcessTest, SigtermCancelsTheCallsStillAtTheInstitutions) {
  std::string port;
  const pid_t inst = start_institutions(dir_, "127.0.0.1:0", 60'000, {}, &port);
  transport_ = "{tcp: \"127.0.0.1:" + port + "\", channel: 0}";
  const pid_t pid = spawn();
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());
  (void)client_->watch(0, [](const std::vector<v1::EngineEvent>& events) {
    return has_kind(events, kCase1, v1::EVENT_KIND_QUERIES_STARTED);
  });
  // The query leaves with the event's journal group; it is at the institution a moment later
  // and stays there for a minute.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto stopped_at = std::chrono::steady_clock::now();
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 20), 0) << read(dir_ + "/serve.log");
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, std::chrono::seconds(15));
  const std::string log = read(dir_ + "/serve.log");
  EXPECT_NE(log.find("\"event\":\"connectors_drained\",\"cancelled\":1,\"left\":0"),
            std::string::npos)
      << log;
  kill(inst, SIGTERM);
  EXPECT_EQ(wait_exit(inst, 20), 0);
}

// Mutual TLS between `chakong serve` and `chakong institutions`; the institutions process
// SIGKILLed while a query is out at it and started again on its port: the query is in doubt
// (counted so), the connection is made again and the query's retry is answered.
TEST_F(ServeProcessTest, ReconnectsOverTlsToARestartedInstitutionsProcess) {
  ASSERT_TRUE(make_test_certs(dir_)) << "openssl failed";
  const std::vector<std::string> tls{"--tls-cert",         dir_ + "/server.pem", "--tls-key",
                                     dir_ + "/server.key", "--tls-client-ca",    dir_ + "/ca.pem"};
  std::string port;
  pid_t inst = start_institutions(dir_, "127.0.0.1:0", 1500, tls, &port);
  transport_ = "{tcp: \"127.0.0.1:" + port +
               "\", channel: 0, tls_ca: ca.pem, tls_cert: client.pem, tls_key: client.key}";
  extra_ = "metrics: {address: \"127.0.0.1:0\"}\n";
  const pid_t pid = spawn();
  const std::string log = read(dir_ + "/serve.log");
  const size_t at = log.find("\"metrics_port\":");
  ASSERT_NE(at, std::string::npos) << log;
  const int metrics_port = std::stoi(log.substr(at + 15));

  // Filed; its query is out at the institution (1.5 s to answer) when that process dies.
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());
  (void)client_->watch(0, [](const std::vector<v1::EngineEvent>& e) { return e.size() >= 2; });
  kill(inst, SIGKILL);
  int status = 0;
  waitpid(inst, &status, 0);
  inst = start_institutions(dir_, "127.0.0.1:" + port, 2, tls, &port);

  const std::vector<v1::EngineEvent> events = client_->watch(0, settled(kCase1));
  EXPECT_EQ(kind_names(events),
            "CASE_FILED/200000 QUERIES_STARTED/0 FINDING/500000 CONTROL_MET/201000 "
            "MEASURE_EFFECTIVE/201000");
  const std::string page = http_get(metrics_port, "/metrics");
  EXPECT_NE(page.find("chakong_institution_requests_total{connector=\"bank.a\",kind=\"query\","
                      "outcome=\"in_doubt\"} 1\n"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("chakong_institution_requests_total{connector=\"bank.a\",kind=\"query\","
                      "outcome=\"ok\"} 1\n"),
            std::string::npos)
      << page;
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 20), 0) << read(dir_ + "/serve.log");
  kill(inst, SIGTERM);
  EXPECT_EQ(wait_exit(inst, 20), 0);
}

// SIGHUP with a renewed client certificate for the institutions' TLS: the next connection
// presents it (the institutions process, restarted, accepts only it), and a bad file in
// between is refused with its error while the renewed settings stay.
TEST_F(ServeProcessTest, SighupRenewsTheInstitutionsTlsCertificate) {
  ASSERT_TRUE(make_test_certs(dir_)) << "openssl failed";
  auto tls_args = [&](const std::string& client_ca) {
    return std::vector<std::string>{"--tls-cert",      dir_ + "/server.pem",
                                    "--tls-key",       dir_ + "/server.key",
                                    "--tls-client-ca", dir_ + "/" + client_ca};
  };
  std::string port;
  pid_t inst = start_institutions(dir_, "127.0.0.1:0", 2, tls_args("ca.pem"), &port);
  auto transport = [&](const std::string& cert, const std::string& key) {
    return "{tcp: \"127.0.0.1:" + port + "\", channel: 0, tls_ca: ca.pem, tls_cert: " + cert +
           ", tls_key: " + key + "}";
  };
  transport_ = transport("client.pem", "client.key");
  const pid_t pid = spawn();
  ASSERT_TRUE(client_->file(filing(kCase1)).ok());
  EXPECT_TRUE(settled(kCase1)(client_->watch(0, settled(kCase1))));

  const std::string config = dir_ + "/serve.yaml";
  auto sighup = [&](const std::string& yaml, size_t nth) {
    std::ofstream(config) << yaml;
    reload(pid, nth);
  };
  // The rogue CA's certificate (the institutions process will accept only that CA).
  sighup(
      config_yaml("unix:" + dir_ + "/grpc.sock", dir_, "", transport("forged.pem", "forged.key")),
      1);
  EXPECT_NE(read(dir_ + "/serve.log")
                .find("\"event\":\"sighup\",\"reloaded\":\"log_level,clients,officers,dispatch,"
                      "connectors.transport.tls\""),
            std::string::npos)
      << read(dir_ + "/serve.log");
  // A certificate without its key: refused, nothing applied.
  sighup(config_yaml("unix:" + dir_ + "/grpc.sock", dir_, "",
                     "{tcp: \"127.0.0.1:" + port +
                         "\", channel: 0, tls_ca: ca.pem, tls_cert: " + "client.pem}"),
         2);
  EXPECT_NE(read(dir_ + "/serve.log")
                .find("\"reloaded\":\"\",\"error\":\"" + config +
                      ": connectors[0].transport.tls_key: required with tls_cert\""),
            std::string::npos)
      << read(dir_ + "/serve.log");

  kill(inst, SIGTERM);
  EXPECT_EQ(wait_exit(inst, 20), 0);
  inst = start_institutions(dir_, "127.0.0.1:" + port, 2, tls_args("rogue.pem"), &port);
  ASSERT_TRUE(client_->file(filing(kCase2)).ok());
  const std::vector<v1::EngineEvent> events = client_->watch(5, settled(kCase2));
  EXPECT_EQ(kind_names(events),
            "CASE_FILED/200000 QUERIES_STARTED/0 FINDING/500000 CONTROL_MET/201000 "
            "MEASURE_EFFECTIVE/201000");
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 20), 0) << read(dir_ + "/serve.log");
  kill(inst, SIGTERM);
  EXPECT_EQ(wait_exit(inst, 20), 0);
}

TEST(InstitutionsCommand, ABadFileExitsTwoNamingTheFieldAndTheValue) {
  const std::string dir = fs::temp_directory_path() / ("chakong-inst-" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto run = [&](const std::string& yaml) {
    std::ofstream(dir + "/i.yaml") << yaml;
    const std::string cmd = std::string(CHAKONG_CLI) + " institutions --scenario " + dir +
                            "/i.yaml --listen 127.0.0.1:0 2>" + dir + "/err";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(dir + "/err");
    std::string line;
    std::getline(in, line);
    return std::to_string(WEXITSTATUS(rc)) + " " + line;
  };
  const std::string prefix = "2 chakong institutions: " + dir + "/i.yaml: ";
  EXPECT_EQ(run("institutions:\n  - {adapter: bonk, name: x}\n"),
            prefix + "institutions[0].adapter: 'bonk' is not a registered adapter");
  EXPECT_EQ(run("institutions:\n  - {adapter: bank, name: bank.a, latency_ms: 2s}\n"),
            prefix + "institutions[0].latency_ms: '2s' is not an integer 0..600000");
  EXPECT_EQ(run("institutions:\n  - {adapter: bank, name: bank.a, assets: [{reference: r, "
                "holder: h, fen: -1}]}\n"),
            prefix + "institutions[0].assets[0].fen: '-1' is not an integer 0..9007199254740992");
  EXPECT_EQ(run("institutions:\n  - {adapter: bank, name: bank.a, colour: red}\n"),
            prefix + "institutions[0].colour: unknown field");
  fs::remove_all(dir);
}

TEST(InstitutionsCommand, BadTlsOptionsExitTwoNamingTheOption) {
  const std::string dir =
      fs::temp_directory_path() / ("chakong-inst-tls-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir + "/i.yaml") << "institutions:\n  - {adapter: bank, name: bank.a}\n";
  std::ofstream(dir + "/junk.pem") << "junk\n";
  auto run = [&](const std::string& listen, const std::string& args) {
    const std::string cmd = std::string(CHAKONG_CLI) + " institutions --scenario " + dir +
                            "/i.yaml --listen " + listen + " " + args + " 2>" + dir + "/err";
    const int rc = std::system(cmd.c_str());
    return std::to_string(WEXITSTATUS(rc)) + " " + read_text(dir + "/err");
  };
  EXPECT_EQ(run("127.0.0.1:0", "--tls-cert " + dir + "/junk.pem"),
            "2 chakong institutions: --tls-cert and --tls-key: both are needed for TLS\n");
  EXPECT_EQ(run("unix:" + dir + "/s.sock",
                "--tls-cert " + dir + "/junk.pem --tls-key " + dir + "/junk.pem"),
            "2 chakong institutions: --tls-cert: TLS is for a TCP --listen address\n");
  EXPECT_EQ(run("127.0.0.1:0", "--tls-cert " + dir + "/nope.pem --tls-key " + dir + "/junk.pem"),
            "2 chakong institutions: --tls-cert: cannot read '" + dir + "/nope.pem'\n");
  EXPECT_EQ(run("127.0.0.1:0", "--tls-cert " + dir + "/junk.pem --tls-key " + dir + "/junk.pem"),
            "2 chakong institutions: TLS server certificate: not a PEM certificate chain (PEM "
            "lib)\n");
  fs::remove_all(dir);
}

TEST(ServiceLog, MaskCaseNumberKeepsYearAndCourtOnly) {
  EXPECT_EQ(service::mask_case_number("（2026）渝0110执恢7号"), "（2026）渝0110执恢7号");
  EXPECT_EQ(service::mask_case_number("（2026）渝0110执12345号"), "（2026）渝0110执****5号");
  EXPECT_EQ(service::mask_case_number("case-42"), "****-**");
  EXPECT_EQ(service::json_string("a\"b\\c\n渝"), "\"a\\\"b\\\\c\\u000a渝\"");
}

// `text` with `from` replaced by `to` (which must be there).
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from << " not in " << text;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// The value of the sample line `name` (labels included) of a metrics page; -1 when absent.
int64_t metric_value(const std::string& page, const std::string& name) {
  const size_t at = page.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(page.substr(at + name.size() + 2));
}

// SIGHUP with officers and dispatch settings changed: an officer removed is refused and one
// added files and reads; bank.a's max_in_flight raised sends the queued queries at once, and
// its lowered timeout ends them (the institution answers after 20 s) while the query sent
// before keeps its timer. A broken edit then is logged with its error and the second
// generation keeps serving.
TEST_F(ServeProcessTest, SighupReloadsOfficersAndDispatchSettings) {
  std::string port;
  const pid_t inst = start_institutions(dir_, "127.0.0.1:0", 20'000, {}, &port);
  transport_ = "{tcp: \"127.0.0.1:" + port + "\", channel: 0}";
  extra_ =
      "metrics: {address: \"127.0.0.1:0\"}\n"
      "dispatch:\n  - {connector: bank.a, max_in_flight: 1, max_batch: 1}\n";
  edit_ = [](std::string text) { return replaced(std::move(text), "shards: 2", "shards: 1"); };
  const pid_t pid = spawn();
  const std::string log = read(dir_ + "/serve.log");
  const size_t at = log.find("\"metrics_port\":");
  ASSERT_NE(at, std::string::npos) << log;
  const int metrics_port = std::stoi(log.substr(at + 15));
  auto metrics_until = [&](const std::function<bool(const std::string&)>& ok) {
    std::string page;
    for (int i = 0; i < 400; ++i) {
      page = http_get(metrics_port, "/metrics");
      if (ok(page)) break;
      std::this_thread::sleep_for(milliseconds(25));
    }
    return page;
  };
  const std::string queued = "chakong_dispatcher_queued{connector=\"bank.a\",lane=\"normal\"}";
  const std::string sent = "chakong_dispatcher_batches_in_flight{connector=\"bank.a\"}";
  constexpr char kNewOfficer[] = "cq-0110-099";
  auto file_for = [&](const std::string& number, const std::string& officer) {
    v1::FileCaseRequest r = filing(number);
    r.mutable_filing()->set_officer_ids(0, officer);
    return client_->file(r);
  };

  for (const char* number : {kCase1, kCase2, "（2026）渝0110执1003号"}) {
    ASSERT_TRUE(client_->file(filing(number)).ok());
  }
  std::string page = metrics_until([&](const std::string& p) {
    return metric_value(p, queued) == 2 && metric_value(p, sent) == 1;
  });
  EXPECT_EQ(metric_value(page, queued), 2) << page;
  EXPECT_EQ(metric_value(page, sent), 1);
  EXPECT_EQ(metric_value(page, "chakong_config_generation"), 0);
  const grpc::Status before = file_for("（2026）渝0110执1004号", kNewOfficer);
  EXPECT_EQ(before.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(before.error_message(), "officer_ids[0]: officer 'cq-0110-099' is not registered");
  v1::CaseState state;
  EXPECT_TRUE(client_->get(kCase1, kOfficer, &state).ok());

  const std::string config = dir_ + "/serve.yaml";
  std::string text = read(config);
  text = replaced(text, std::string("{id: ") + kOfficer, std::string("{id: ") + kNewOfficer);
  text = replaced(text, "{connector: bank.a, max_in_flight: 1, max_batch: 1}",
                  "{connector: bank.a, max_in_flight: 3, max_batch: 1, timeout: 1s, "
                  "max_attempts: 1}");
  std::ofstream(config, std::ios::trunc) << text;
  reload(pid, 1);
  EXPECT_NE(read(dir_ + "/serve.log")
                .find("\"event\":\"sighup\",\"reloaded\":\"log_level,clients,officers,dispatch\","
                      "\"log_level\":\"info\",\"clients\":1,\"officers\":2,\"generation\":1,"),
            std::string::npos)
      << read(dir_ + "/serve.log");

  // The queued two were sent at once (max_in_flight 3) and ended after 1 s (timeout), in
  // doubt; the first, sent under the old settings (2 days), is still out.
  page = metrics_until([&](const std::string& p) {
    return metric_value(p, queued) == 0 && metric_value(p, sent) == 1;
  });
  EXPECT_EQ(metric_value(page, queued), 0) << page;
  EXPECT_EQ(metric_value(page, sent), 1);
  EXPECT_EQ(metric_value(page, "chakong_config_generation"), 1);
  EXPECT_EQ(metric_value(page, "chakong_config_reloads_total{outcome=\"applied\"}"), 1);
  const grpc::Status not_his = client_->get(kCase2, kNewOfficer, &state);
  EXPECT_EQ(not_his.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(not_his.error_message(),
            "read refused: officer 'cq-0110-099' is not assigned to case （2026）渝0110执1002号");
  const grpc::Status removed = client_->get(kCase2, kOfficer, &state);
  EXPECT_EQ(removed.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(removed.error_message(), "'cq-0110-017' is not a registered officer");
  ASSERT_TRUE(file_for("（2026）渝0110执1004号", kNewOfficer).ok());
  ASSERT_TRUE(client_->get("（2026）渝0110执1004号", kNewOfficer, &state).ok());
  EXPECT_EQ(state.status(), v1::CASE_STATUS_QUERYING);

  // A broken edit: refused whole, logged with its error; generation 1 goes on serving.
  std::ofstream(config, std::ios::trunc)
      << replaced(text, "  - {id: cq-0111-003", std::string("  - {id: ") + kNewOfficer);
  reload(pid, 2);
  EXPECT_NE(read(dir_ + "/serve.log")
                .find("\"reloaded\":\"\",\"error\":\"" + config +
                      ": officers[1].id: 'cq-0110-099' is listed twice\",\"generation\":1"),
            std::string::npos)
      << read(dir_ + "/serve.log");
  EXPECT_TRUE(client_->get("（2026）渝0110执1004号", kNewOfficer, &state).ok());
  EXPECT_EQ(file_for("（2026）渝0110执1005号", kOfficer).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  page = http_get(metrics_port, "/metrics");
  EXPECT_EQ(metric_value(page, "chakong_config_generation"), 1);
  EXPECT_EQ(metric_value(page, "chakong_config_reloads_total{outcome=\"refused\"}"), 1) << page;
  EXPECT_EQ(metric_value(page, "chakong_config_reloads_total{outcome=\"applied\"}"), 1) << page;

  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 20), 0) << read(dir_ + "/serve.log");
  kill(inst, SIGTERM);
  EXPECT_EQ(wait_exit(inst, 20), 0);
}

// SIGHUP with a renewed listener certificate and client CA (a server certificate of the CA
// "rogue", clients of rogue only): a client trusting the new CA files, one of the old CA is
// refused in the handshake, and a WatchEvents stream opened before the reload goes on and
// receives the new case's events. A key of another certificate on the next SIGHUP is refused
// with its error and the renewed material stays.
TEST_F(ServeProcessTest, SighupRenewsTheListenerCertificateAndKeepsStreams) {
  ASSERT_TRUE(make_test_certs(dir_)) << "openssl failed";
  ASSERT_TRUE(make_test_leaf(dir_, "server2", "localhost", "rogue", true)) << "openssl failed";
  const std::string tls_old =
      "  tls_cert: server.pem\n  tls_key: server.key\n  client_ca: ca.pem\n";
  edit_ = [&](std::string text) {
    text = replaced(std::move(text), "\"unix:" + dir_ + "/grpc.sock\"", "\"127.0.0.1:0\"");
    return replaced(std::move(text), "  plaintext: true\n", tls_old);
  };
  const pid_t pid = launch();
  std::string log;
  for (int i = 0; i < 400 && log.find("\"event\":\"serving\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(milliseconds(25));
    log = read(dir_ + "/serve.log");
  }
  const size_t at = log.find("\"port\":");
  ASSERT_NE(at, std::string::npos) << log;
  const std::string target = "localhost:" + std::to_string(std::stoi(log.substr(at + 7)));
  // A fresh connection each time (no subchannel shared with another channel).
  auto channel = [&](const std::string& ca, const std::string& cert) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = read(dir_ + "/" + ca + ".pem");
    o.pem_private_key = read(dir_ + "/" + cert + ".key");
    o.pem_cert_chain = read(dir_ + "/" + cert + ".pem");
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(target, grpc::SslCredentials(o), args);
  };
  auto file_over = [&](const std::shared_ptr<grpc::Channel>& ch, const std::string& number) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::FileCaseResponse resp;
    return v1::CaseService::NewStub(ch)->FileCase(&ctx, filing(number), &resp);
  };

  const std::shared_ptr<grpc::Channel> old_channel = channel("ca", "client");
  ASSERT_TRUE(file_over(old_channel, kCase1).ok());
  EXPECT_EQ(file_over(channel("rogue", "forged"), kCase2).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // The stream, opened before the reload and read through it.
  grpc::ClientContext wctx;
  v1::WatchEventsRequest wr;
  auto stub = v1::CaseService::NewStub(old_channel);
  std::unique_ptr<grpc::ClientReader<v1::EngineEvent>> reader = stub->WatchEvents(&wctx, wr);
  std::vector<v1::EngineEvent> seen;
  v1::EngineEvent e;
  while (!settled(kCase1)(seen) && reader->Read(&e)) seen.push_back(e);
  ASSERT_TRUE(settled(kCase1)(seen)) << kinds(seen);

  const std::string config = dir_ + "/serve.yaml";
  const std::string renewed =
      replaced(read(config), tls_old,
               "  tls_cert: server2.pem\n  tls_key: server2.key\n  client_ca: rogue.pem\n");
  std::ofstream(config, std::ios::trunc) << renewed;
  reload(pid, 1);
  EXPECT_NE(read(dir_ + "/serve.log")
                .find("\"reloaded\":\"log_level,clients,officers,dispatch,listen.tls\""),
            std::string::npos)
      << read(dir_ + "/serve.log");
  // The provider reads the new copies within its 1 s refresh.
  grpc::Status renewed_call;
  for (int i = 0; i < 100; ++i) {
    renewed_call = file_over(channel("rogue", "forged"), kCase2);
    if (renewed_call.ok()) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_TRUE(renewed_call.ok()) << renewed_call.error_message();
  EXPECT_EQ(file_over(channel("ca", "client"), "（2026）渝0110执1003号").error_code(),
            grpc::StatusCode::UNAVAILABLE);
  // The old stream was not dropped: it goes on with the case filed after the reload.
  while (!settled(kCase2)(seen) && reader->Read(&e)) seen.push_back(e);
  EXPECT_TRUE(settled(kCase2)(seen)) << kinds(seen);

  // A key of another certificate: refused whole, the renewed material stays.
  std::ofstream(config, std::ios::trunc)
      << replaced(renewed, "tls_key: server2.key", "tls_key: server.key");
  reload(pid, 2);
  const std::string after = read(dir_ + "/serve.log");
  const size_t err = after.find("\"reloaded\":\"\",\"error\":\"" + config + ": listen: ");
  EXPECT_NE(err, std::string::npos) << after;
  if (err != std::string::npos) std::cerr << after.substr(err, 300) << "\n";
  EXPECT_TRUE(file_over(channel("rogue", "forged"), "（2026）渝0110执1004号").ok());

  wctx.TryCancel();
  (void)reader->Finish();
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 20), 0) << read(dir_ + "/serve.log");
}

// `chakong institutions --scenario` with a `chakong simulate` scenario: its institutions hold
// the scenario's generated population, so a debtor the generator places at bank.a is found
// there by a case filed through `chakong serve`, with the generator's exact value.
TEST_F(ServeProcessTest, ServesASimulateScenariosGeneratedPopulation) {
  const std::string scenario = dir_ + "/sandbox.yaml";
  const std::string text =
      "name: sandbox\nseed: 7\npopulation: {debtors: 300}\ninstitutions:\n"
      "  - {kind: bank, name: a}\n  - {kind: bank, name: b, count: 2}\n"
      "  - {kind: real_estate, name: cq}\n";
  std::ofstream(scenario) << text;
  // The generator's first person with exactly one account, at bank.a (institution 0).
  StatusOr<v1::Scenario> parsed = sim::parse_scenario_yaml(text, scenario);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  StatusOr<sim::SimulationConfig> config = sim::compile_scenario(*parsed, scenario);
  ASSERT_TRUE(config.ok()) << config.status();
  sim::SandboxDebtor debtor;
  uint64_t index = 0;
  for (; index < 300; ++index) {
    debtor = sim::sandbox_debtor(*config, index);
    if (!debtor.organisation && debtor.holdings.size() == 1 &&
        debtor.holdings[0].institution == 0) {
      break;
    }
  }
  ASSERT_LT(index, 300u);
  std::cerr << "debtor " << index << " " << debtor.id << " " << debtor.holdings[0].asset.reference
            << " " << debtor.holdings[0].asset.value.value() << "\n";

  std::string port;
  const pid_t inst = start_institutions_on(scenario, dir_, "127.0.0.1:0", {}, &port, 4);
  EXPECT_EQ(read(dir_ + "/institutions.out"),
            "listening 127.0.0.1:0 port " + port +
                " channels 4\nchannel 0 bank.a bank\nchannel 1 bank.b001 bank\n"
                "channel 2 bank.b002 bank\nchannel 3 real_estate.cq real_estate\n");
  transport_ = "{tcp: \"127.0.0.1:" + port + "\", channel: 0}";
  const pid_t pid = spawn();
  const int64_t value = debtor.holdings[0].asset.value.value();
  const int64_t claim = value / 2;
  v1::FileCaseRequest r = filing(kCase1, claim);
  r.mutable_filing()->mutable_debtors(0)->set_id_number(debtor.id);
  ASSERT_TRUE(client_->file(r).ok());
  const std::vector<v1::EngineEvent> events = client_->watch(0, settled(kCase1));
  EXPECT_EQ(kinds(events), "1:CASE_FILED/" + std::to_string(claim) +
                               " 2:QUERIES_STARTED/0 3:FINDING/" + std::to_string(value) +
                               " 4:CONTROL_MET/" + std::to_string(claim + kCosts) +
                               " 5:MEASURE_EFFECTIVE/" + std::to_string(claim + kCosts));
  v1::CaseState state;
  ASSERT_TRUE(client_->get(kCase1, kOfficer, &state).ok());
  ASSERT_EQ(state.measures_size(), 1);
  EXPECT_EQ(state.measures(0).connector(), "bank.a");
  EXPECT_EQ(state.measures(0).reference_masked(), mask_id(debtor.holdings[0].asset.reference));
  EXPECT_EQ(state.measures(0).amount_fen(), claim + kCosts);
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 20), 0) << read(dir_ + "/serve.log");
  kill(inst, SIGTERM);
  EXPECT_EQ(wait_exit(inst, 20), 0);
}

}  // namespace
}  // namespace chakong
