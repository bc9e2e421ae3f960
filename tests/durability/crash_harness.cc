// Crash harness: kills a real-time, journaled engine at random points and checks that its
// successors lose nothing.
//
// The institutions (simulated banks, a real-estate and a vehicle registry, each behind its
// adapter's real wire protocol and a random 5-60 ms latency) live in this process and serve
// a Unix socket; the engine runs in a child process (this binary with --engine) on Boost.Asio
// with a RocksDB journal in case-server mode. The parent starts an engine, lets it work for
// a random time, SIGKILLs it, starts the next one on the same journal, and so on --kills
// times; then it starts a last engine and lets it settle. The last engine writes what it
// holds, and the parent checks it against the institutions:
//   - no duplicate measure at any institution (same case, same asset, two live measures);
//   - no measure lost: the engine's live measures are exactly the institutions' live measures
//     for its cases, amount for amount; every asset of a debtor whose claim is not covered
//     is under a measure of the case;
//   - over-seizure 0: what the institutions hold frozen or transferred for a case is within
//     its budget;
//   - every 48-hour clock re-armed and closed (met, missed and reported, or not needed);
//   - the audit chain verifies.
//
//   crash_harness --kills 100 [--cases 8] [--seed 1] [--dir /tmp/crash]
// Each engine life files `--cases` new cases (10 ms apart), so every kill lands on work in
// flight; the last life files whatever is left and settles.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "chakong/base/identity.h"
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/factory.h"
#include "chakong/connectors/socket_transport.h"
#include "chakong/durable/rocks_journal.h"
#include "chakong/engine/asio_executor.h"
#include "chakong/engine/audit.h"
#include "chakong/engine/engine.h"
#include "chakong/institution/institution.h"
#include "chakong/v1/journal.pb.h"
#include "google/protobuf/message.h"

namespace chakong {
namespace {

using connectors::AssetCategory;
using std::chrono::milliseconds;

struct Options {
  int kills = 10;
  int cases = 8;  // New cases each engine life files (the world has cases x (kills + 1)).
  uint64_t seed = 1;
  std::string dir = "/tmp/chakong-crash";
  std::string socket;
  bool engine = false;
  bool settle = false;
  bool verbose = false;
  bool tamper = false;  // Alter audit link 5 of shard 0 in --dir's journal (for the CLI test).
};

// ---- The world both processes agree on ------------------------------------------------

struct InstitutionSpec {
  std::string kind, name;
  AssetCategory category;
};
const std::vector<InstitutionSpec>& institutions() {
  static const std::vector<InstitutionSpec> v = {
      {"bank", "bank.a", AssetCategory::kDeposit},
      {"bank", "bank.b", AssetCategory::kDeposit},
      {"bank", "bank.c", AssetCategory::kDeposit},
      {"real_estate", "real_estate.cq", AssetCategory::kRealEstate},
      {"vehicle", "vehicle.cq", AssetCategory::kVehicle}};
  return v;
}

struct PlannedAsset {
  size_t institution;
  connectors::Asset asset;
};
struct PlannedCase {
  engine::CaseFiling filing;
  std::vector<PlannedAsset> assets;
  bool covered_by_deposits = false;  // Small claim: deducted and concluded.
};

std::string debtor_id(int i) {
  const unsigned u = static_cast<unsigned>(i);
  char first17[32];
  std::snprintf(first17, sizeof first17, "500110%04u%02u%02u%03u", 1960 + u % 40, 1 + u % 12,
                1 + u % 28, u % 1000);
  first17[17] = '\0';
  return std::string(first17) + resident_id_check_char(first17);
}

int world_size(const Options& o) { return std::min(5000, o.cases * (o.kills + 1)); }

std::vector<PlannedCase> plan_world(const Options& o) {
  std::mt19937_64 rng(o.seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::vector<PlannedCase> cases;
  for (int i = 0; i < world_size(o); ++i) {
    PlannedCase c;
    const std::string id = debtor_id(i);
    c.filing.case_number = "（2026）渝0110执" + std::to_string(1000 + i) + "号";
    c.filing.court = "渝0110";
    c.filing.debtors = {{engine::DebtorInfo::Kind::kPerson, id, "被执行人" + std::to_string(i)}};
    c.filing.officer_ids = {"cq-0110-001"};
    c.filing.received_at = 0;  // Now, for whichever engine files it first.
    Fen deposits;
    const int first_bank = static_cast<int>(uniform(0, 2));
    for (int k = 0; k < 2; ++k) {
      const size_t bank = static_cast<size_t>((first_bank + k) % 3);
      const Fen balance = Fen(uniform(100'000, 5'000'000));
      deposits += balance;
      c.assets.push_back(
          {bank,
           {AssetCategory::kDeposit, "6222" + std::to_string(100000 + i * 10 + k), balance, id}});
    }
    if (uniform(0, 9) < 4) {
      c.assets.push_back({3,
                          {AssetCategory::kRealEstate,
                           "渝(2020)不动产权第" + std::to_string(i) + "号", Fen(80'000'000), id}});
    }
    if (uniform(0, 9) < 3) {
      c.assets.push_back(
          {4, {AssetCategory::kVehicle, "渝A" + std::to_string(10000 + i), Fen(9'000'000), id}});
    }
    c.covered_by_deposits = uniform(0, 1) == 0;
    c.filing.claim = c.covered_by_deposits ? Fen(deposits.value() / 2) : Fen(900'000'000);
    c.filing.costs = Fen(1'000);
    cases.push_back(std::move(c));
  }
  return cases;
}

std::unique_ptr<google::protobuf::Message> connector_config(const connectors::ConnectorFactory& f,
                                                            const std::string& name,
                                                            const std::string& kind) {
  std::unique_ptr<google::protobuf::Message> config = f.default_config();
  const google::protobuf::Descriptor* d = config->GetDescriptor();
  const google::protobuf::Reflection* r = config->GetReflection();
  r->SetString(config.get(), d->FindFieldByName("name"), name.substr(kind.size() + 1));
  r->SetUInt32(config.get(), d->FindFieldByName("timeout_ms"), 5'000);
  r->SetUInt32(config.get(), d->FindFieldByName("max_batch"), 20);
  return config;
}

// ---- The engine process ----------------------------------------------------------------

int run_engine(const Options& o) {
  const std::vector<PlannedCase> world = plan_world(o);
  engine::RocksJournalOptions jo;
  jo.path = o.dir + "/journal";
  jo.create_if_missing = true;  // The first life starts the journal.
  // A SIGKILL during a write(2) of several pages stops it at a page boundary (Linux checks for
  // a fatal signal between pages), so the newest log's last record may be torn. It was never
  // synced, hence never acknowledged: cutting it is what an operator's `chakong journal check
  // --truncate-tail` does, and the journal still refuses damage anywhere else.
  jo.truncate_corrupt_tail = true;
  StatusOr<std::unique_ptr<engine::RocksJournal>> journal = engine::RocksJournal::open(jo);
  if (!journal.ok()) {
    std::cerr << "engine: " << journal.status().to_string() << "\n";
    return 3;
  }
  StatusOr<std::shared_ptr<connectors::SocketClient>> client =
      connectors::SocketClient::connect(o.socket);
  if (!client.ok()) {
    std::cerr << "engine: " << client.status().to_string() << "\n";
    return 3;
  }
  AsioExecutor shard0, shard1, io;
  connectors::ConnectorRegistry registry;
  if (!connectors::register_builtin_connectors(registry).ok()) return 3;
  std::vector<std::unique_ptr<connectors::Connector>> owned;
  std::vector<connectors::Connector*> conns;
  for (uint32_t i = 0; i < institutions().size(); ++i) {
    const InstitutionSpec& spec = institutions()[i];
    const connectors::ConnectorFactory* f = registry.find(spec.kind);
    connectors::ConnectorContext ctx;
    ctx.executor = &io;
    ctx.transport = (*client)->channel(i);
    auto c = f->create(*connector_config(*f, spec.name, spec.kind), std::move(ctx));
    if (!c.ok()) {
      std::cerr << "engine: " << c.status().to_string() << "\n";
      return 3;
    }
    conns.push_back(c->get());
    owned.push_back(std::move(c).value());
  }
  engine::EngineConfig config;
  config.journal = journal->get();
  config.journal_cases = true;
  config.deduct_delay = 300 * 1000;
  config.in_doubt_retry = 300 * 1000;
  config.termination.min_days_since_filing = 0;
  auto created = engine::Engine::create(config, {&shard0, &shard1}, conns);
  if (!created.ok()) {
    std::cerr << "engine: " << created.status().to_string() << "\n";
    return 3;
  }
  engine::Engine& eng = **created;
  (void)eng.register_officer("cq-0110-001", "渝0110");
  std::atomic<uint64_t> events{0};
  eng.set_observer([&](const engine::Event&) { ++events; });
  if (Status s = eng.start(); !s.ok()) {
    std::cerr << "engine: start: " << s.to_string() << "\n";
    return 3;
  }
  const engine::EngineStats recovered = eng.stats();
  if (o.verbose) {
    std::cerr << "engine " << getpid() << ": recovered " << recovered.recovered_cases
              << " cases, re-sent " << recovered.recovered_requests << " requests\n";
  }
  {
    std::ofstream lives(o.dir + "/lives.txt", std::ios::app);
    lives << recovered.recovered_cases << " " << recovered.recovered_requests << " "
          << ((*journal)->truncated().has_value() ? 1 : 0) << "\n";
  }
  // This life files the next `cases` cases of the world (the last one all that are left),
  // one every 10 ms, so that every life has new work in flight when it is killed. Cases a
  // previous life filed without its filing becoming durable are filed again.
  const size_t upto = o.settle
                          ? world.size()
                          : std::min(world.size(), static_cast<size_t>(recovered.recovered_cases) +
                                                       static_cast<size_t>(o.cases));
  for (size_t i = 0; i < upto; ++i) {
    const engine::CaseFiling& f = world[i].filing;
    const TimeUs at = shard0.now() + static_cast<TimeUs>(i) * 10'000 -
                      static_cast<TimeUs>(std::min<size_t>(i, recovered.recovered_cases)) * 10'000;
    Executor& ex = eng.executor_of(f.case_number);
    ex.post([&eng, &ex, f, at] {
      ex.run_at(at, [&eng, f] {
        const Status s = eng.file_case(f);
        if (!s.ok() && s.code() != StatusCode::kAlreadyExists) {
          std::cerr << "engine: file_case: " << s.to_string() << "\n";
        }
      });
    });
  }
  shard0.add_work();
  shard1.add_work();
  io.add_work();
  std::thread t0([&] { shard0.run(); });
  std::thread t1([&] { shard1.run(); });
  std::thread t2([&] { io.run(); });
  if (!o.settle) {
    // Until killed.
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  // Settle: no event for 2 s (longer than any timer of the run).
  uint64_t last = events.load();
  int quiet = 0;
  for (int waited = 0; waited < 600 && quiet < 20; ++waited) {
    std::this_thread::sleep_for(milliseconds(100));
    const uint64_t now = events.load();
    quiet = now == last ? quiet + 1 : 0;
    last = now;
  }
  shard0.stop();
  shard1.stop();
  io.stop();
  t0.join();
  t1.join();
  t2.join();
  std::ofstream out(o.dir + "/final_state.txt");
  const engine::EngineStats st = eng.stats();
  out << "stats recovered_cases " << recovered.recovered_cases << " recovered_requests "
      << recovered.recovered_requests << " control_met " << st.control_met << " control_missed "
      << st.control_missed << " open_requests " << eng.open_requests() << " journal "
      << (eng.journal_status().ok() ? "ok" : eng.journal_status().to_string()) << "\n";
  for (const PlannedCase& c : world) {
    StatusOr<engine::CaseView> v = eng.case_view(c.filing.case_number);
    if (!v.ok()) {
      out << "missing " << c.filing.case_number << "\n";
      continue;
    }
    out << "case " << v->case_number << " " << engine::case_status_name(v->status) << " budget "
        << v->budget.value() << " reserved " << v->reserved.value() << " clocks "
        << v->open_control_clocks << " queries " << v->queries_outstanding << "\n";
    for (const engine::MeasureView& m : v->measures) {
      if (!m.live) continue;
      out << "measure " << v->case_number << " " << m.connector << " " << m.measure_id << " "
          << m.amount.value() << " " << (m.waiting ? 1 : 0) << "\n";
    }
  }
  return 0;
}

// ---- The institutions process ------------------------------------------------------------

struct EngineResult {
  int status = 0;
  bool killed = false;
};

pid_t spawn_engine(const Options& o, bool settle) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  const std::string cases = std::to_string(o.cases), seed = std::to_string(o.seed),
                    kills = std::to_string(o.kills);
  std::vector<const char*> argv = {"crash_harness", "--engine",       "--dir",   o.dir.c_str(),
                                   "--socket",      o.socket.c_str(), "--cases", cases.c_str(),
                                   "--kills",       kills.c_str(),    "--seed",  seed.c_str()};
  if (settle) argv.push_back("--settle");
  if (o.verbose) argv.push_back("--verbose");
  argv.push_back(nullptr);
  execv("/proc/self/exe", const_cast<char* const*>(argv.data()));
  std::perror("execv");
  _exit(127);
}

int run_parent(const Options& o) {
  namespace fs = std::filesystem;
  // Start clean, but never delete a directory that is not a previous run's.
  std::error_code ec;
  if (fs::exists(o.dir, ec) && !fs::is_empty(o.dir, ec) && !fs::exists(o.dir + "/journal", ec) &&
      !fs::exists(o.dir + "/lives.txt", ec)) {
    std::cerr << "--dir " << o.dir << " exists and is not a crash-harness directory; refusing to "
              << "delete it\n";
    return 2;
  }
  fs::remove_all(o.dir);
  fs::create_directories(o.dir);
  Options opts = o;
  opts.socket = o.dir + "/institutions.sock";
  if (opts.socket.size() >= 100) {  // A Unix socket path has at most 107 bytes.
    opts.socket = "/tmp/chakong-crash-" + std::to_string(getpid()) + ".sock";
  }
  const std::vector<PlannedCase> world = plan_world(o);

  AsioExecutor ex;
  connectors::ConnectorRegistry registry;
  if (!connectors::register_builtin_connectors(registry).ok()) return 2;
  std::vector<std::unique_ptr<institution::Institution>> truths;
  std::vector<std::unique_ptr<connectors::Transport>> endpoints;
  std::vector<connectors::Transport*> channels;
  std::mt19937_64 latency_rng(o.seed * 31 + 7);
  for (const InstitutionSpec& spec : institutions()) {
    institution::InstitutionPolicy policy;
    policy.top_up = spec.kind == "bank";
    truths.push_back(std::make_unique<institution::Institution>(
        spec.name, connectors::Capabilities::all(), policy));
    connectors::EndpointOptions eo;
    eo.latency_fn = [&latency_rng](const std::vector<connectors::Request>&) {
      return std::uniform_int_distribution<TimeUs>(5, 60)(latency_rng) * 1000;
    };
    endpoints.push_back(registry.find(spec.kind)->sandbox_endpoint(*truths.back(), ex, eo));
    channels.push_back(endpoints.back().get());
  }
  for (const PlannedCase& c : world) {
    for (const PlannedAsset& a : c.assets) {
      if (Status s = truths[a.institution]->add_asset(a.asset); !s.ok()) {
        std::cerr << s.to_string() << "\n";
        return 2;
      }
    }
  }
  auto server = connectors::SocketServer::listen(opts.socket, channels);
  if (!server.ok()) {
    std::cerr << server.status().to_string() << "\n";
    return 2;
  }
  ex.add_work();
  std::thread institution_thread([&] { ex.run(); });

  std::mt19937_64 rng(o.seed);
  int restarts_failed = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int k = 0; k < o.kills; ++k) {
    const pid_t pid = spawn_engine(opts, false);
    // Kill points spread over the whole run: most during the first second and a half,
    // when queries, freezes, deductions and releases are in flight.
    const int ms = std::uniform_int_distribution<int>(5, 800)(rng);
    std::this_thread::sleep_for(milliseconds(ms));
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      std::cerr << "engine " << k << " exited early (status " << status << ")\n";
      ++restarts_failed;
      continue;
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    if (o.verbose) std::cerr << "kill " << (k + 1) << " after " << ms << " ms\n";
  }
  const pid_t last = spawn_engine(opts, true);
  int status = 0;
  waitpid(last, &status, 0);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Stop the institutions before reading them.
  ex.stop();
  institution_thread.join();
  server->reset();

  std::vector<std::string> failures;
  if (restarts_failed > 0)
    failures.push_back(std::to_string(restarts_failed) + " engines exited early");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    failures.push_back("the last engine failed (status " + std::to_string(status) + ")");
  }
  // What the last engine holds.
  std::ifstream in(o.dir + "/final_state.txt");
  std::string line, stats_line;
  std::map<std::string, std::pair<std::string, int64_t>> engine_measures;  // id -> (case, amount)
  std::map<std::string, std::string> status_by_case;
  int clocks_open = 0, missing = 0;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string what;
    ls >> what;
    if (what == "stats") {
      stats_line = line;
    } else if (what == "missing") {
      ++missing;
    } else if (what == "case") {
      std::string number, st, w;
      int64_t budget, reserved;
      int clocks, queries;
      ls >> number >> st >> w >> budget >> w >> reserved >> w >> clocks >> w >> queries;
      status_by_case[number] = st;
      clocks_open += clocks;
      if (reserved != 0)
        failures.push_back(number + ": " + std::to_string(reserved) + " fen still reserved");
      if (queries != 0)
        failures.push_back(number + ": " + std::to_string(queries) + " queries outstanding");
    } else if (what == "measure") {
      std::string number, connector, id;
      int64_t amount;
      int waiting;
      ls >> number >> connector >> id >> amount >> waiting;
      engine_measures[connector + "/" + id] = {number, amount};
    }
  }
  if (missing > 0) failures.push_back(std::to_string(missing) + " filed cases missing");
  if (clocks_open > 0)
    failures.push_back(std::to_string(clocks_open) + " control clocks still open");
  uint64_t lives = 0, resent = 0, tails_cut = 0;
  {
    std::ifstream lf(o.dir + "/lives.txt");
    uint64_t cases_recovered = 0, requests_resent = 0, cut = 0;
    while (lf >> cases_recovered >> requests_resent >> cut) {
      ++lives;
      resent += requests_resent;
      tails_cut += cut;
    }
  }

  // The institutions' side.
  int duplicates = 0, lost = 0, unknown = 0, over = 0, unfrozen = 0;
  std::unordered_map<std::string, Fen> held;
  for (size_t i = 0; i < truths.size(); ++i) {
    duplicates += truths[i]->duplicate_measures();
    truths[i]->add_held_by_case(held);
  }
  std::set<std::string> seen;
  for (const PlannedCase& c : world) {
    const std::string& number = c.filing.case_number;
    if (held[number] > c.filing.claim + c.filing.costs) {
      ++over;
      failures.push_back(number + ": institutions hold " + std::to_string(held[number].value()) +
                         " fen, budget " +
                         std::to_string((c.filing.claim + c.filing.costs).value()));
    }
    for (const PlannedAsset& a : c.assets) {
      const std::string& inst = institutions()[a.institution].name;
      bool under_measure = false;
      for (const institution::MeasureRecord* m :
           truths[a.institution]->measures_on(a.asset.reference)) {
        if (m->case_number != number) continue;
        if (m->state == institution::MeasureState::kDeducted) under_measure = true;
        if (m->state != institution::MeasureState::kActive &&
            m->state != institution::MeasureState::kWaiting)
          continue;
        under_measure = true;
        const std::string key = inst + "/" + m->id;
        seen.insert(key);
        auto it = engine_measures.find(key);
        const int64_t amount = connectors::is_divisible(m->category) ? m->frozen.value() : -1;
        if (it == engine_measures.end()) {
          ++lost;
          failures.push_back(number + ": measure " + key +
                             " held at the institution is unknown to the engine");
        } else if (amount >= 0 && it->second.second != amount) {
          ++lost;
          failures.push_back(number + ": measure " + key + " is " + std::to_string(amount) +
                             " fen at the institution, " + std::to_string(it->second.second) +
                             " in the engine");
        }
      }
      if (!c.covered_by_deposits && !under_measure && a.asset.value > Fen()) {
        ++unfrozen;
        failures.push_back(number + ": asset " + mask_id(a.asset.reference) + " at " + inst +
                           " was never controlled");
      }
    }
    if (c.covered_by_deposits && status_by_case[number] != "concluded") {
      failures.push_back(number + ": claim covered by deposits but the case is " +
                         status_by_case[number]);
    }
  }
  for (const auto& [key, v] : engine_measures) {
    if (seen.count(key) == 0) {
      ++unknown;
      failures.push_back(v.first + ": the engine holds measure " + key +
                         " that no institution has");
    }
  }
  if (duplicates > 0) failures.push_back(std::to_string(duplicates) + " duplicate measures");

  // The audit chain.
  engine::RocksJournalOptions jo;
  jo.path = o.dir + "/journal";
  jo.read_only = true;
  uint64_t links = 0;
  if (auto j = engine::RocksJournal::open(jo); !j.ok()) {
    failures.push_back("journal: " + j.status().to_string());
  } else if (auto v = engine::verify_audit(**j); !v.ok() || !v->intact) {
    failures.push_back("audit chain: " +
                       (v.ok() ? v->broken_key + ": " + v->reason : v.status().to_string()));
  } else {
    links = v->records;
  }

  std::printf(
      "crash test: %d kills, then a settling run, %.1f s; %zu cases, %zu live measures; "
      "%llu engine lives re-sent %llu requests in flight, %llu cut a torn final record\n"
      "  duplicate measures %d, lost %d, unknown to institutions %d, never controlled %d, "
      "over-seizure %d, control clocks open %d, audit links %llu %s\n  last engine: %s\n",
      o.kills, seconds, world.size(), engine_measures.size(),
      static_cast<unsigned long long>(lives), static_cast<unsigned long long>(resent),
      static_cast<unsigned long long>(tails_cut), duplicates, lost, unknown, unfrozen, over,
      clocks_open, static_cast<unsigned long long>(links), links > 0 ? "verified" : "",
      stats_line.c_str());
  if (!failures.empty()) {
    std::printf("FAILED (%zu):\n", failures.size());
    for (size_t i = 0; i < failures.size() && i < 30; ++i)
      std::printf("  %s\n", failures[i].c_str());
    return 1;
  }
  std::printf("PASSED\n");
  return 0;
}

// Someone rewrites who made request 5: `chakong audit verify` must name that link.
int tamper(const Options& o) {
  engine::RocksJournalOptions jo;
  jo.path = o.dir + "/journal";
  auto j = engine::RocksJournal::open(jo);
  if (!j.ok()) {
    std::cerr << j.status().to_string() << "\n";
    return 2;
  }
  const std::string key = "audit/0/0000000000000005";
  StatusOr<std::string> bytes = (*j)->get(key);
  v1::AuditRecord r;
  if (!bytes.ok() || !r.ParseFromString(*bytes)) {
    std::cerr << key << ": not found\n";
    return 2;
  }
  r.set_who("cq-0110-999");
  if (!(*j)->put(key, r.SerializeAsString()).ok()) return 2;
  std::cout << "altered " << key << "\n";
  return 0;
}

int parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << ": needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--kills") {
        o.kills = std::stoi(value());
      } else if (a == "--cases") {
        o.cases = std::stoi(value());
      } else if (a == "--seed") {
        o.seed = std::stoull(value());
      } else if (a == "--dir") {
        o.dir = value();
      } else if (a == "--socket") {
        o.socket = value();
      } else if (a == "--engine") {
        o.engine = true;
      } else if (a == "--settle") {
        o.settle = true;
      } else if (a == "--verbose") {
        o.verbose = true;
      } else if (a == "--tamper") {
        o.tamper = true;
      } else {
        std::cerr
            << "unknown option " << a
            << "\nusage: crash_harness [--kills N] [--cases N] [--seed S] [--dir D] [--verbose]\n";
        return 2;
      }
    } catch (const std::exception&) {
      std::cerr << a << ": not a number\n";
      return 2;
    }
  }
  if (o.kills < 0 || o.kills > 10'000 || o.cases < 1 || o.cases > 900) {
    std::cerr << "--kills must be in 0..10000 and --cases in 1..900\n";
    return 2;
  }
  return 0;
}

}  // namespace
}  // namespace chakong

int main(int argc, char** argv) {
  chakong::Options o;
  if (int rc = chakong::parse(argc, argv, o); rc != 0) return rc;
  if (o.tamper) return chakong::tamper(o);
  return o.engine ? chakong::run_engine(o) : chakong::run_parent(o);
}
