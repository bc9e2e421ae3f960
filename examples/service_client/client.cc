// A C++ case server's use of `chakong serve`: file a case, then print its events from a cursor
// until the freeze is in force (docs/service.md, "A client"). Built with the tests
// (target service_client_example) from the stubs of service/ (chakong_service_proto).
//   service_client_example ADDRESS PRINCIPAL CASE_NUMBER [AFTER_CURSOR]
// ADDRESS is a plaintext loopback listener ("unix:/run/chakong/grpc.sock", "127.0.0.1:7443");
// over mutual TLS use grpc::SslCredentials with the client's certificate instead (see
// docs/service.md) and drop the chakong-principal header.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "chakong/v1/service.grpc.pb.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: service_client_example ADDRESS PRINCIPAL CASE_NUMBER [AFTER_CURSOR]\n";
    return 2;
  }
  const std::string address = argv[1], principal = argv[2], number = argv[3];
  uint64_t cursor = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 0;
  auto stub = chakong::v1::CaseService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));

  chakong::v1::FileCaseRequest req;
  chakong::v1::Case* c = req.mutable_filing();
  c->set_case_number(number);
  c->set_court("渝0110");
  chakong::v1::Debtor* d = c->add_debtors();
  d->set_kind(chakong::v1::Debtor::KIND_PERSON);
  d->set_id_number("11010519491231002X");
  d->set_name("被执行人");
  c->set_claim_fen(200'000);
  c->set_costs_fen(1'000);
  c->add_officer_ids("cq-0110-017");
  grpc::ClientContext ctx;
  ctx.AddMetadata("chakong-principal", principal);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  ctx.set_wait_for_ready(true);  // Wait for a (re)connecting channel; docs/service.md.
  chakong::v1::FileCaseResponse resp;
  // OK: durable. On UNAVAILABLE or DEADLINE_EXCEEDED retry with the same content.
  if (grpc::Status s = stub->FileCase(&ctx, req, &resp); !s.ok()) {
    std::cerr << "FileCase: " << s.error_code() << " " << s.error_message() << "\n";
    return 1;
  }
  std::cout << "filed " << resp.case_number() << (resp.replayed() ? " (replayed)" : "") << "\n";

  grpc::ClientContext wctx;
  wctx.AddMetadata("chakong-principal", principal);
  chakong::v1::WatchEventsRequest w;
  w.set_after_cursor(cursor);
  w.set_case_number(number);
  auto reader = stub->WatchEvents(&wctx, w);
  chakong::v1::EngineEvent e;
  while (reader->Read(&e)) {
    cursor = e.cursor();  // Keep it in your own database; reconnect with after_cursor = cursor.
    std::cout << e.cursor() << " " << chakong::v1::EventKind_Name(e.kind()) << " " << e.connector()
              << " " << e.amount_fen() << "\n";
    if (e.kind() == chakong::v1::EVENT_KIND_MEASURE_EFFECTIVE) {
      wctx.TryCancel();
      break;
    }
  }
  (void)reader->Finish();
  std::cout << "last cursor " << cursor << "\n";
  return 0;
}
