// Shards on real threads: two shard executors and an institution on a third thread. Every
// case concludes, and the shards share no mutable state (run under the tsan preset to see).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "chakong/base/identity.h"
#include "chakong/engine/asio_executor.h"
#include "chakong/engine/engine.h"
#include "chakong/sim/in_process_connector.h"

namespace chakong::engine {
namespace {

using connectors::AssetCategory;

TEST(ShardTest, CasesSpreadOverTwoShardThreadsAllConclude) {
  AsioExecutor shard0, shard1, bank_thread;
  institution::Institution bank("bank.a", connectors::Capabilities::all());
  sim::InProcessConnector conn(bank, bank_thread, sim::fixed_latency(0));
  constexpr int kCases = 40;
  std::vector<std::string> numbers;
  std::vector<std::string> debtors;
  for (int i = 0; i < kCases; ++i) {
    numbers.push_back("（2025）渝0110执" + std::to_string(1000 + i) + "号");
    char first17[18];
    std::snprintf(first17, sizeof first17, "110105198001%02d%03d", 1 + i % 28, i);
    debtors.push_back(std::string(first17) + resident_id_check_char(first17));
    ASSERT_TRUE(bank.add_asset({AssetCategory::kDeposit, "acct-" + std::to_string(i),
                                Fen(1'000'000), debtors.back()})
                    .ok());
  }
  EngineConfig config;
  config.deduct_delay = 0;
  auto created = Engine::create(config, {&shard0, &shard1}, {&conn});
  ASSERT_TRUE(created.ok()) << created.status();
  Engine& e = **created;
  ASSERT_TRUE(e.register_officer("cq-1", "渝0110").ok());
  std::atomic<int> concluded{0};
  std::atomic<int> on_shard[2] = {0, 0};
  e.set_observer([&](const Event& ev) {
    if (ev.type != EventType::kCaseConcluded) return;
    if (++concluded == kCases) {
      shard0.stop();
      shard1.stop();
      bank_thread.stop();
    }
  });
  for (int i = 0; i < kCases; ++i) {
    CaseFiling f;
    f.case_number = numbers[static_cast<size_t>(i)];
    f.debtors = {{DebtorInfo::Kind::kPerson, debtors[static_cast<size_t>(i)], "d"}};
    f.claim = Fen(250'000);
    f.officer_ids = {"cq-1"};
    const size_t s = e.shard_of(f.case_number);
    ++on_shard[s];
    e.executor_of(f.case_number).post([&e, f] {
      const Status st = e.file_case(f);
      ASSERT_TRUE(st.ok()) << st;
    });
  }
  EXPECT_GT(on_shard[0].load(), 0);
  EXPECT_GT(on_shard[1].load(), 0);
  // A safety stop, not a timing assertion.
  bank_thread.run_at(bank_thread.now() + 30 * kMicrosPerSecond, [&] {
    shard0.stop();
    shard1.stop();
    bank_thread.stop();
  });
  std::thread t0([&] { shard0.run(); });
  std::thread t1([&] { shard1.run(); });
  bank_thread.run();
  t0.join();
  t1.join();
  EXPECT_EQ(concluded.load(), kCases);
  const EngineStats s = e.stats();
  EXPECT_EQ(s.cases_concluded, static_cast<uint64_t>(kCases));
  EXPECT_EQ(s.deducted, Fen(250'000 * kCases));
  EXPECT_EQ(s.over_seizure, 0u);
  for (int i = 0; i < kCases; ++i) {
    EXPECT_EQ(*bank.balance("acct-" + std::to_string(i)), Fen(750'000));
  }
}

}  // namespace
}  // namespace chakong::engine
