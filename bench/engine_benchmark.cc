// Per-request costs of the engine's components: dispatcher, ledger, planner, wire codecs.
// The round trips also report heap allocations per request (`allocs_per_request`,
// `bytes_per_request`, counted by bench/alloc_counter.cc's operator new) in the steady state:
// one warm-up round runs before the counted, timed loop.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <deque>

#include "alloc_counter.h"
#include "bank/bank_codec.h"
#include "chakong/base/virtual_executor.h"
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/factory.h"
#include "chakong/institution/institution.h"
#include "chakong/sim/in_process_connector.h"
#include "engine/src/dispatcher.h"
#include "engine/src/freeze_planner.h"
#include "engine/src/ledger.h"

namespace chakong {
namespace {

using connectors::Request;
using connectors::Response;

// Completes every batch at once (through the executor, as the contract requires).
class NullConnector final : public connectors::Connector {
 public:
  explicit NullConnector(Executor& ex) : ex_(ex) {}
  const std::string& name() const override { return name_; }
  connectors::Capabilities capabilities() const override { return connectors::Capabilities::all(); }
  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override {
    ex_.post([n = batch.size(), out = &sink] {
      for (size_t i = 0; i < n; ++i) out->response(i) = Response();
      out->complete();
    });
  }

 private:
  Executor& ex_;
  std::string name_ = "bank.null";
};

// Submit -> lane -> batch -> connector -> completion, per request, in batches of `range(0)`.
// The request's only string (its 12-byte key) fits std::string's inline buffer and the
// callback UniqueFunction's, so what allocates is the dispatcher, the executor and NullConnector
// (nothing, since the BatchView/BatchSink contract: the target is 0).
// URGENT never lingers and submit() pumps at once, so every request leaves as a batch of one
// under both arguments (`/100` batches nothing).
void BM_DispatcherRoundTrip(benchmark::State& state) {
  bench::require_alloc_counting();
  VirtualExecutor ex(0);
  NullConnector conn(ex);
  engine::DispatcherConfig c;
  c.max_batch = static_cast<int>(state.range(0));
  c.max_in_flight = 1'000'000;
  engine::Dispatcher d(conn, ex, c);
  Request r;
  r.idempotency_key = "case/query/1";
  uint64_t done = 0;
  auto round = [&] {
    for (int i = 0; i < 1000; ++i) {
      d.submit(r, engine::Lane::kUrgent, i, [&done](Response) { ++done; });
    }
    ex.run();
  };
  round();  // Warm-up: the job slab, lanes and batch map reach their steady size.
  bench::AllocCounter count;
  for (auto _ : state) round();
  bench::report_allocs(state, count.allocations(), count.bytes(),
                       static_cast<double>(state.iterations()) * 1000);
  benchmark::DoNotOptimize(done);
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_DispatcherRoundTrip)->Arg(1)->Arg(100);

// One engine query built per request from its case's strings, as Engine::Shard::send_query and
// Sweeper::send_query build theirs (case number, debtor, officer, purpose and the key appended from
// them), through the Dispatcher to NullConnector and back, in batches of 100 (NORMAL lane,
// lingering so that they fill). `in_place:1` writes it straight into the dispatcher's job slot
// (Dispatcher::submit_in_place, the engine's path): the slot's strings keep their buffers, so the
// steady state allocates nothing. `in_place:0`, the same-run baseline, builds a Request and moves
// it in (submit(Request&&), the engine's path before): the strings longer than 15 bytes (case
// number, debtor, purpose, key) are allocated for every request and freed with its slot.
void BM_DispatcherEngineRequest(benchmark::State& state) {
  bench::require_alloc_counting();
  VirtualExecutor ex(0);
  NullConnector conn(ex);
  engine::DispatcherConfig c;
  c.max_batch = 100;
  c.linger = 10 * kMicrosPerMinute;
  c.max_in_flight = 1'000'000;
  engine::Dispatcher d(conn, ex, c);
  const bool in_place = state.range(0) != 0;
  const std::string number = "（2025）渝0110执1号", debtor = "11010519491231002X",
                    officer = "cq-0110-017", connector = "bank.null";
  auto fill = [&](Request& r, int round) {
    r.kind = connectors::RequestKind::kQuery;
    r.case_number.assign(number);
    r.debtor_id.assign(debtor);
    r.officer_id.assign(officer);
    r.purpose.assign("enforcement query");
    char digits[16];
    const int n = std::snprintf(digits, sizeof digits, "%d", round);
    r.idempotency_key.reserve(2 * number.size() + 7 + 16 + debtor.size() + connector.size());
    r.idempotency_key.append(number).append("/query/").append(digits, static_cast<size_t>(n));
    r.idempotency_key.append("/").append(debtor).append("/").append(connector);
  };
  uint64_t done = 0, key_bytes = 0;
  auto round = [&] {
    for (int i = 0; i < 1000; ++i) {
      auto on_done = [&done](Response) { ++done; };
      if (in_place) {
        d.submit_in_place(engine::Lane::kNormal, i, on_done, [&](Request& r) {
          fill(r, i);
          key_bytes += r.idempotency_key.size();
        });
      } else {
        Request r;
        fill(r, i);
        key_bytes += r.idempotency_key.size();
        d.submit(std::move(r), engine::Lane::kNormal, i, on_done);
      }
    }
    ex.run();
  };
  round();  // Warm-up: the job slab (and its strings), lanes and batches reach their steady size.
  bench::AllocCounter count;
  for (auto _ : state) round();
  const uint64_t allocs = count.allocations(), bytes = count.bytes();
  if (done != (static_cast<uint64_t>(state.iterations()) + 1) * 1000) {
    state.SkipWithError("not every request was answered");
    return;
  }
  bench::report_allocs(state, allocs, bytes, static_cast<double>(state.iterations()) * 1000);
  benchmark::DoNotOptimize(key_bytes);
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_DispatcherEngineRequest)->ArgName("in_place")->Arg(1)->Arg(0);

// Baseline: the same requests through a bare std::deque and a callback.
void BM_DequeRoundTripBaseline(benchmark::State& state) {
  bench::require_alloc_counting();
  std::deque<std::pair<Request, std::function<void(Response)>>> q;
  Request r;
  r.idempotency_key = "case/query/1";
  uint64_t done = 0;
  auto round = [&] {
    for (int i = 0; i < 1000; ++i) q.emplace_back(r, [&done](Response) { ++done; });
    while (!q.empty()) {
      q.front().second(Response());
      q.pop_front();
    }
  };
  round();
  bench::AllocCounter count;
  for (auto _ : state) round();
  bench::report_allocs(state, count.allocations(), count.bytes(),
                       static_cast<double>(state.iterations()) * 1000);
  benchmark::DoNotOptimize(done);
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_DequeRoundTripBaseline);

// One query as the engine sends it (Engine::Shard::make_request and query_key).
Request engine_query() {
  Request r;
  r.kind = connectors::RequestKind::kQuery;
  r.case_number = "（2025）渝0110执1号";
  r.debtor_id = "11010519491231002X";
  r.officer_id = "cq-0110-017";
  r.purpose = "enforcement query";
  r.idempotency_key = r.case_number + "/query/1/" + r.debtor_id + "/bank.inproc";
  return r;
}

// An institution holding `assets` deposit accounts of engine_query()'s debtor.
std::unique_ptr<institution::Institution> inproc_bank(int64_t assets) {
  auto bank =
      std::make_unique<institution::Institution>("bank.inproc", connectors::Capabilities::all());
  for (int64_t i = 0; i < assets; ++i) {
    if (!bank->add_asset({connectors::AssetCategory::kDeposit,
                          "62220200000000" + std::to_string(10 + i), Fen(1'000'000),
                          "11010519491231002X"})
             .ok()) {
      std::abort();
    }
  }
  return bank;
}

// One request through the engine's Dispatcher to a sim::InProcessConnector (the simulator's
// connector: an institution in this process, zero latency) over a VirtualExecutor and back:
// submit -> lane -> batch -> connector -> executor -> Institution::handle -> completion ->
// callback. Engine-shaped queries (case number, debtor, officer, purpose and key as the engine
// fills them) on the NORMAL lane, copied into submit() as the engine builds one per send, in
// batches of `batch` (1000 a round, so every batch is full), to a debtor with `assets` accounts
// (the answer carries them). Steady state; the counter `request_allocs` is what building the
// request alone allocates (part of the figure).
void BM_InProcessRoundTrip(benchmark::State& state) {
  bench::require_alloc_counting();
  VirtualExecutor ex(Date::parse("2025-03-03")->start_us());
  auto bank = inproc_bank(state.range(1));
  sim::InProcessConnector conn(*bank, ex, sim::fixed_latency(0));
  engine::DispatcherConfig c;
  c.max_batch = static_cast<int>(state.range(0));
  c.max_in_flight = 1'000'000;
  c.linger = 10 * kMicrosPerMinute;  // As the scenarios set it: NORMAL batches fill to max_batch.
  engine::Dispatcher d(conn, ex, c);
  const Request r = engine_query();
  struct Tally {
    uint64_t done = 0, found = 0;
  } tally;
  auto round = [&] {
    for (int i = 0; i < 1000; ++i) {
      // One pointer captured: the callback fits std::function's inline buffer.
      d.submit(r, engine::Lane::kNormal, ex.now() + kMicrosPerDay, [t = &tally](Response resp) {
        ++t->done;
        t->found += resp.assets.size();
      });
    }
    ex.run();
  };
  round();
  bench::AllocCounter count;
  for (auto _ : state) round();
  const uint64_t allocs = count.allocations(), bytes = count.bytes();
  if (tally.done != (static_cast<uint64_t>(state.iterations()) + 1) * 1000 ||
      tally.found != tally.done * static_cast<uint64_t>(state.range(1))) {
    state.SkipWithError("not every query was answered with its assets");
    return;
  }
  bench::report_allocs(state, allocs, bytes, static_cast<double>(state.iterations()) * 1000);
  bench::AllocCounter copy;
  Request copied = r;
  benchmark::DoNotOptimize(copied);
  if (bench::counting_enabled()) {
    state.counters["request_allocs"] = static_cast<double>(copy.allocations());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_InProcessRoundTrip)->ArgNames({"batch", "assets"})->ArgsProduct({{1, 100}, {0, 1}});

// Baseline: the same requests copied and answered by the same institution directly (no
// dispatcher, connector or executor): what the round trip costs on top of the institution.
void BM_InProcessDirectBaseline(benchmark::State& state) {
  bench::require_alloc_counting();
  auto bank = inproc_bank(state.range(0));
  const Date today = *Date::parse("2025-03-03");
  const Request r = engine_query();
  uint64_t found = 0;
  auto round = [&] {
    for (int i = 0; i < 1000; ++i) {
      Request copied = r;
      found += bank->handle(copied, today).assets.size();
    }
  };
  round();
  bench::AllocCounter count;
  for (auto _ : state) round();
  bench::report_allocs(state, count.allocations(), count.bytes(),
                       static_cast<double>(state.iterations()) * 1000);
  benchmark::DoNotOptimize(found);
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_InProcessDirectBaseline)->ArgName("assets")->Arg(0)->Arg(1);

void BM_LedgerReserveCommit(benchmark::State& state) {
  engine::Ledger l(Fen(1'000'000'000));
  for (auto _ : state) {
    Status s = l.reserve(Fen(1000));
    benchmark::DoNotOptimize(s);
    l.commit(Fen(1000), Fen(600));
    l.unfreeze(Fen(600));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LedgerReserveCommit);

// Baseline: the same three steps as bare int64 arithmetic, no checks (what the ledger's
// validation and invariant costs).
void BM_LedgerUncheckedBaseline(benchmark::State& state) {
  int64_t budget = 1'000'000'000, frozen = 0, reserved = 0;
  for (auto _ : state) {
    const bool ok = budget - frozen - reserved >= 1000;
    benchmark::DoNotOptimize(ok);
    reserved += 1000;
    reserved -= 1000;
    frozen += 600;
    frozen -= 600;
    benchmark::DoNotOptimize(frozen);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LedgerUncheckedBaseline);

void BM_PlanFreezes(benchmark::State& state) {
  std::vector<engine::Candidate> c;
  for (uint32_t i = 0; i < static_cast<uint32_t>(state.range(0)); ++i) {
    c.push_back(
        {i,
         i % 5 == 4 ? connectors::AssetCategory::kRealEstate : connectors::AssetCategory::kDeposit,
         Fen(1000 * (i + 1)), false});
  }
  for (auto _ : state) {
    auto p = engine::plan_freezes(c, Fen(5'000'000), true);
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PlanFreezes)->Arg(4)->Arg(32);

// Baseline: a naive plan — sort by value, freeze greedily until the budget is covered — with
// none of the rules (divisible first, indivisible only when needed, held-by-others last).
void BM_PlanGreedyBaseline(benchmark::State& state) {
  std::vector<std::pair<int64_t, uint32_t>> c;
  for (uint32_t i = 0; i < static_cast<uint32_t>(state.range(0)); ++i) {
    c.emplace_back(1000 * (i + 1), i);
  }
  for (auto _ : state) {
    std::vector<std::pair<int64_t, uint32_t>> sorted = c;
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    std::vector<std::pair<uint32_t, int64_t>> plan;
    int64_t left = 5'000'000;
    for (const auto& [value, index] : sorted) {
      if (left <= 0) break;
      plan.emplace_back(index, std::min(value, left));
      left -= std::min(value, left);
    }
    benchmark::DoNotOptimize(plan);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PlanGreedyBaseline)->Arg(4)->Arg(32);

std::vector<Request> sample_batch(size_t n) {
  std::vector<Request> b(n);
  for (size_t i = 0; i < n; ++i) {
    b[i].kind = connectors::RequestKind::kFreeze;
    b[i].idempotency_key = "（2025）渝0110执" + std::to_string(i) + "号/freeze/0";
    b[i].case_number = "（2025）渝0110执1号";
    b[i].debtor_id = "11010519491231002X";
    b[i].ruling_number = "（2025）渝0110执1号之一";
    b[i].asset.reference = "6222020000" + std::to_string(i);
    b[i].amount = Fen(1'000'000);
  }
  return b;
}

// Wire cost per request: encode the instruction file, decode it at the institution, encode
// the results, decode them at the adapter (bank protocol, batches of 100).
void BM_BankWireRoundTrip(benchmark::State& state) {
  const std::vector<Request> batch = sample_batch(100);
  std::vector<std::pair<std::string, Response>> results;
  for (const Request& r : batch) {
    Response resp;
    resp.requested = resp.frozen = r.amount;
    resp.measure_id = "bank.x/1";
    results.emplace_back(r.idempotency_key, resp);
  }
  for (auto _ : state) {
    auto in = connectors::bank::BankCodec::decode_requests(
        connectors::bank::BankCodec::encode_requests(batch));
    auto out = connectors::bank::BankCodec::decode_responses(
        connectors::bank::BankCodec::encode_responses(results));
    benchmark::DoNotOptimize(in);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_BankWireRoundTrip);

// Every built-in adapter through its factory: a batch of 100 queries encoded by the adapter,
// decoded by its sandbox endpoint, answered at once (one asset each), the answers encoded and
// decoded again, and completed through the connector (virtual time, zero latency). Per request.
class AnswerAtOnce final : public connectors::GroundTruth {
 public:
  explicit AnswerAtOnce(connectors::AssetCategory category) : category_(category) {}
  Response handle(const Request& r, Date) override {
    Response out;
    out.assets.push_back({category_,
                          "REF-" + r.idempotency_key.substr(r.idempotency_key.size() - 4),
                          Fen(1'234'567), r.debtor_id});
    return out;
  }

 private:
  connectors::AssetCategory category_;
};

const char* const kKinds[] = {"bank",    "securities",     "real_estate",
                              "vehicle", "provident_fund", "reference"};

void BM_WireRoundTrip(benchmark::State& state) {
  bench::require_alloc_counting();
  const std::string kind = kKinds[state.range(0)];
  connectors::ConnectorRegistry registry;
  if (!connectors::register_builtin_connectors(registry).ok()) std::abort();
  const connectors::ConnectorFactory* f = registry.find(kind);
  VirtualExecutor ex;
  AnswerAtOnce truth(f->category());
  connectors::EndpointOptions eo;
  eo.latency = 0;
  connectors::ConnectorContext ctx;
  ctx.executor = &ex;
  ctx.transport = f->sandbox_endpoint(truth, ex, eo);
  auto conn = f->create(*f->default_config(), std::move(ctx));
  if (!conn.ok()) {
    state.SkipWithError(conn.status().to_string().c_str());
    return;
  }
  std::vector<Request> batch = sample_batch(100);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].kind = connectors::RequestKind::kQuery;
    batch[i].officer_id = "cq-0110-017";
    batch[i].purpose = "enforcement query";
    batch[i].idempotency_key = "（2025）渝0110执1号/query/1/" + std::to_string(1000 + i);
  }
  size_t answered = 0;
  connectors::OwnedBatch call(std::move(batch),
                              [&](std::vector<Response>& r) { answered += r.size(); });
  auto round = [&] {
    (*conn)->async_submit(call.view(), call);
    ex.run();
  };
  round();  // Warm-up, not counted.
  bench::AllocCounter count;
  for (auto _ : state) round();
  bench::report_allocs(state, count.allocations(), count.bytes(),
                       static_cast<double>(state.iterations()) * 100);
  if (answered != (static_cast<size_t>(state.iterations()) + 1) * call.requests().size()) {
    state.SkipWithError("not every request was answered");
  }
  state.SetLabel(kind);
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_WireRoundTrip)->DenseRange(0, 5);

// Baseline: copying the same requests and responses as plain structs (no encoding).
void BM_PlainStructCopyBaseline(benchmark::State& state) {
  bench::require_alloc_counting();
  const std::vector<Request> batch = sample_batch(100);
  std::vector<Response> results(100);
  bench::AllocCounter count;
  for (auto _ : state) {
    std::vector<Request> in = batch;
    std::vector<Response> out = results;
    benchmark::DoNotOptimize(in);
    benchmark::DoNotOptimize(out);
  }
  bench::report_allocs(state, count.allocations(), count.bytes(),
                       static_cast<double>(state.iterations()) * 100);
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_PlainStructCopyBaseline);

}  // namespace
}  // namespace chakong
