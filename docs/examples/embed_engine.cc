// Embedding the Chakong engine: one bank, one case, run in virtual time (default) or real time
// (--real-time). A case server does the same with its own connectors and executors.
//
//   build/release/docs/examples/embed_engine [--real-time]
#include <cstdio>
#include <cstring>
#include <memory>

#include "chakong/engine/asio_executor.h"
#include "chakong/engine/engine.h"
#include "chakong/sim/in_process_connector.h"
#include "chakong/sim/virtual_executor.h"

using namespace chakong;

int main(int argc, char** argv) {
  const bool real_time = argc > 1 && std::strcmp(argv[1], "--real-time") == 0;

  // 1. An executor per shard: the engine's only source of time.
  std::unique_ptr<Executor> executor;
  sim::VirtualExecutor* virt = nullptr;
  AsioExecutor* asio = nullptr;
  if (real_time) {
    executor = std::make_unique<AsioExecutor>();
    asio = static_cast<AsioExecutor*>(executor.get());
  } else {
    executor = std::make_unique<sim::VirtualExecutor>(Date::parse("2025-06-02")->start_us());
    virt = static_cast<sim::VirtualExecutor*>(executor.get());
  }

  // 2. Connectors. Here an in-process simulated bank; in production, adapters that speak
  //    each institution's protocol.
  sim::Institution bank("bank.example", connectors::Capabilities::all());
  const std::string debtor = "11010519491231002X";
  if (!bank.add_asset({connectors::AssetCategory::kDeposit, "6222-0001", Fen(900'000), debtor})
           .ok()) {
    return 1;
  }
  sim::InProcessConnector connector(bank, *executor,
                                    sim::fixed_latency(real_time ? 0 : 3 * kMicrosPerHour));

  // 3. The engine, its officers and an observer.
  engine::EngineConfig config;
  config.deduct_delay = real_time ? 0 : kMicrosPerDay;
  StatusOr<std::unique_ptr<engine::Engine>> created =
      engine::Engine::create(config, {executor.get()}, {&connector});
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

  // 4. File a case: claim ¥5,000 plus ¥200 costs against one debtor.
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

  // 5. Run: a simulated month in virtual time, or until concluded in real time.
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
  return view.status == engine::CaseStatus::kConcluded && view.deducted == Fen(520'000) ? 0 : 1;
}
