#include "chakong/sim/simulation.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <set>

#include "chakong/base/calendar.h"
#include "chakong/base/case_number.h"
#include "chakong/base/histogram.h"
#include "chakong/base/virtual_executor.h"
#include "chakong/connectors/builtin.h"
#include "chakong/connectors/factory.h"
#include "chakong/institution/institution.h"
#include "chakong/sim/behaviour.h"
#include "chakong/sim/comm.h"
#include "chakong/sim/in_process_connector.h"
#include "chakong/sim/parallel_time.h"
#include "hub.h"
#include "institution_faults.h"
#include "lp_connector.h"
#include "population.h"
#include "rank_connector.h"
#include "rank_gather.h"

namespace chakong::sim {
namespace {

using connectors::RequestKind;

struct Instance {
  std::unique_ptr<institution::Institution> truth;
  // Early output: the answer's due time, from the transport to the LpConnector, and the
  // adapter's executor that carries it (both outlive the connector, which posts as it goes).
  std::unique_ptr<AnswerTime> answer_time;
  std::unique_ptr<AnswerTimeExecutor> adapter_executor;
  std::unique_ptr<connectors::Connector> connector;
  // What the engine holds: `connector` seen from the shards' LPs (the institution is its own).
  std::unique_ptr<connectors::Connector> crossing;
  const GroupConfig* group = nullptr;
  int index_in_group = 0;
  std::unique_ptr<Hub> hub;                       // Set when the group is reached through a hub.
  const BehaviourTransport* behaviour = nullptr;  // Owned by the connector: its faults.
  const FaultConnector* faults = nullptr;         // `connector` when it injects faults.
};

// An account the simulation moves balances on: its reference is rebuilt from these.
struct Account {
  uint64_t owner;  // Debtor index.
  uint32_t place;
  uint32_t serial;
};

// CPU time of the calling thread: the checks' cost, whatever else shares the machine.
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

bool working_day(const WorkCalendar& cal, Date d) {
  StatusOr<bool> w = cal.is_working_day(d);
  return w.ok() ? *w : !d.is_weekend();
}

// Everything one run owns; the callbacks scheduled on the executor point into it.
class Run {
 public:
  Run(const SimulationConfig& c, const SimulationOptions& o)
      : c_(c), o_(o), rng_(c.seed * 0x9e3779b97f4a7c15ull + 7) {}

  StatusOr<SimulationReport> go();

 private:
  Status build_institutions();
  // Sizes the institutions' tables for the whole population from its first chunk `p`, a
  // `scale`-th of it.
  void reserve_for(const Population& p, double scale);
  Status build_time();
  // The connectors' timeout of one wire call (whole milliseconds).
  TimeUs wire_timeout() const {
    return std::min<TimeUs>(7 * kMicrosPerDay, 2 * c_.timeout) / 1000 * 1000;
  }
  Status build_connectors();
  Status build_engine();
  void day(int d);
  void arrive(Date day);
  void try_terminate(const std::string& number, int attempts);
  // The day's (and with `duplicates` the week's) checks, incremental: the cases whose
  // measures or budget changed since the last check, and the institutions' duplicate counts.
  void check_invariants(bool duplicates);
  // Takes the institutions' notes of changed measures into the cases' held amounts.
  void take_changes();
  void set_budget(const std::string& number, Fen budget);
  // The full check, a pass over every measure: once at the end, and every day with
  // SimulationOptions::audit_daily. Whatever it finds that the incremental check did not is
  // noted in audit_failure_ (and fails the run).
  void audit(bool duplicates, const char* when);
  // At the end: what the institutions hold for each case against the engine's own ledger.
  void check_ledger();
  void sample_sweep(int d);
  institution::Institution& truth_at(uint32_t place) {
    return *inst_[place_instance_[place]].truth;
  }
  // Adds a generated asset to the institution at its place and to the accounts that move.
  Status place_asset(uint32_t place, uint64_t owner, uint32_t serial, const Asset& asset);
  Status place_asset(const PlacedAsset& p) {
    return place_asset(p.institution, p.owner, p.serial, p.asset);
  }
  SimulationReport report(double wall);

  const SimulationConfig& c_;
  const SimulationOptions& o_;
  // The logical processes (docs/architecture.md): the engine's shards 0..shards-1, then one
  // per institution (a hub is one), in inst_'s order.
  std::unique_ptr<ParallelTime> pt_;
  uint32_t lp_of_institution(size_t i) const {
    return static_cast<uint32_t>(static_cast<size_t>(c_.shards) + i);
  }
  uint64_t events_run() const {
    uint64_t n = 0;
    for (uint32_t i = 0; i < pt_->lps(); ++i) {
      if (pt_->is_local(i)) n += pt_->executor(i).events_run();
    }
    return n;
  }
  // Ranks (`mpirun -np R`, docs/architecture.md "Ranks"): every rank builds the whole model,
  // but runs only its LPs: the shards on rank 0, institution i on rank (1 + i) % R. An
  // institution's state is real only on its rank (local()); rank 0 gathers what the checks
  // and the report need from the others (rank_gather.h) and alone writes the report.
  bool ranked() const { return pt_->ranks() > 1; }
  bool root() const { return pt_->rank() == 0; }
  bool local(size_t i) const { return pt_->is_local(lp_of_institution(i)); }
  std::unique_ptr<LpRouter> router_;
  // Rank 0: a remote securities measure's unit slack as of its last change, by (instance,
  // measure).
  std::unordered_map<uint64_t, Fen> remote_slack_;
  static uint64_t measure_key(uint32_t k, uint32_t i) { return uint64_t{k} << 32 | i; }
  // Takes one measure's change (instance k, measure i) into the case's held amount.
  void take_change(uint32_t k, uint32_t i, int64_t now, bool securities,
                   const std::string& case_number);
  // What the report takes from an institution (real on its rank only).
  struct InstitutionFigures {
    uint64_t lapsed = 0, refused = 0, malformed = 0, duplicated = 0;
    uint64_t renewals_refused = 0, drained = 0;
    std::vector<ConnectorReport> members;  // A hub's members (their figures only).
  };
  InstitutionFigures figures_of(const Instance& in, TimeUs elapsed) const;
  // Every institution's figures, on rank 0 (gathered from their ranks).
  StatusOr<std::vector<InstitutionFigures>> gather_figures(TimeUs elapsed);
  // Every rank's share of the kernel's time, on rank 0 (a collective on every rank).
  StatusOr<std::vector<RankReport>> gather_ranks();
  // What the engine's observer counts, per shard (it runs on the shard's LP); merged by
  // shard index: budgets at each day's checks, the rest at the end.
  struct Tally {
    std::vector<DailyPoint> daily;
    std::vector<uint64_t> ttf = std::vector<uint64_t>(50, 0);
    uint64_t restored_met = 0, restored_missed = 0;
    std::map<std::string, std::pair<uint64_t, uint64_t>> control_by_connector;
    // A hub member's 48-hour clocks, by its place: started, met, missed.
    std::map<uint32_t, std::array<uint64_t, 3>> control_by_place;
    std::vector<std::pair<std::string, Fen>> budgets;  // Restored cases' budgets, in order.
  };
  std::vector<Tally> tally_;
  double loop_seconds_ = 0, day_seconds_ = 0;
  void take_budgets();
  void merge_tallies();
  std::mt19937_64 rng_;
  std::vector<Instance> inst_;
  std::vector<uint32_t> place_instance_;  // Place (where an asset lives) -> instance.
  InstitutionIndex idx_;
  std::vector<uint8_t> organisation_;  // Per debtor: an organisation (else a person).
  std::vector<Account> accounts_;
  std::vector<std::vector<uint32_t>> late_by_day_;  // Debtors whose late asset appears that day.
  std::vector<engine::LibraryEntry> library_;       // Imported into the engine, then cleared.
  std::vector<std::vector<PlacedAsset>> library_late_by_day_;
  uint64_t swept_before_ = 0, hits_before_ = 0;
  uint64_t restored_met_ = 0, restored_missed_ = 0;
  std::map<uint32_t, std::array<uint64_t, 3>> control_by_place_;  // Merged from the tallies.
  // The hub member at the place in a finding's reference: its entry in the tally's
  // control_by_place, or null when the reference is not behind a hub.
  std::array<uint64_t, 3>* member_clocks(Tally& t, const std::string& reference) const;
  std::unique_ptr<engine::Engine> engine_;
  std::map<int, int64_t> serials_;
  // The over-seizure check's view of a case: its budget, and what the institutions hold for it
  // (Institution::Holding summed over its measures), kept up to date from the measures that
  // changed, so that a day's check looks only at the cases that changed.
  struct CaseCheck {
    Fen budget;
    int64_t held = 0;          // Fen.
    uint32_t listed : 30 = 0;  // Measures that list the case (Holding::listed).
    uint32_t has_budget : 1 = 0;
    uint32_t dirty : 1 = 0;
    uint32_t securities = UINT32_MAX;  // Its list in securities_ (unit slack), if any.
  };
  using CaseEntry = std::pair<const std::string, CaseCheck>;
  std::unordered_map<std::string, CaseCheck> cases_;
  std::vector<CaseEntry*> dirty_;  // Cases to check at the next check.
  // Per instance and measure: the amount counted in its case's `held`, kNotListed, or kUnseen.
  static constexpr int64_t kNotListed = -1, kUnseen = -2;
  std::vector<std::vector<int64_t>> counted_;
  std::vector<std::vector<std::pair<uint32_t, uint32_t>>> securities_;  // (instance, measure)
  std::vector<uint32_t> changed_;                                       // Scratch.
  std::vector<institution::Institution*> truths_;
  std::string audit_failure_;
  double checks_seconds_ = 0;
  std::set<std::string> over_;
  uint64_t duplicates_ = 0;
  uint64_t ledger_disagreements_ = 0;
  std::vector<DailyPoint> daily_;
  std::vector<uint64_t> ttf_ = std::vector<uint64_t>(50, 0);
  std::unordered_map<std::string, std::pair<uint64_t, uint64_t>> control_by_connector_;
  std::chrono::steady_clock::time_point wall0_ = std::chrono::steady_clock::now();
};

Status Run::place_asset(uint32_t place, uint64_t owner, uint32_t serial, const Asset& asset) {
  CHAKONG_RETURN_IF_ERROR(truth_at(place).add_asset(asset));
  accounts_.push_back({owner, place, serial});
  return ok_status();
}

void Run::reserve_for(const Population& p, double scale) {
  std::vector<uint64_t> assets(inst_.size()), holders(inst_.size());
  std::vector<uint32_t> seen;  // A debtor's instances so far.
  for (size_t k = 0; k < p.size(); ++k) {
    seen.clear();
    for (const GenAsset& a : p.assets_of(k)) {
      const uint32_t i = place_instance_[a.place];
      ++assets[i];
      if (std::find(seen.begin(), seen.end(), i) != seen.end()) continue;
      seen.push_back(i);
      ++holders[i];
    }
  }
  for (size_t i = 0; i < inst_.size(); ++i) {
    inst_[i].truth->reserve(static_cast<size_t>(static_cast<double>(assets[i]) * scale),
                            static_cast<size_t>(static_cast<double>(holders[i]) * scale));
  }
}

Status Run::build_institutions() {
  PlaceLayout layout = lay_out_places(c_);
  for (const PlaceLayout::Instance& li : layout.instances) {
    const GroupConfig& g = *li.group;
    Instance in;
    in.group = &g;
    in.index_in_group = li.index_in_group;
    in.truth = std::make_unique<institution::Institution>(li.name, connectors::Capabilities::all(),
                                                          institution_policy(c_, g));
    if (g.is_hub()) {
      in.hub = std::make_unique<Hub>(g, li.first_place, c_.seed * 6151 + li.first_place,
                                     c_.start.plus_days(c_.days).start_us());
    }
    inst_.push_back(std::move(in));
  }
  place_instance_ = std::move(layout.place_instance);
  idx_ = std::move(layout.index);
  // The checks follow what changes (check_invariants).
  for (Instance& in : inst_) {
    in.truth->note_changes(true);
    truths_.push_back(in.truth.get());
  }
  counted_.resize(inst_.size());
  // Generated in chunks (compact: ~30 bytes a debtor), so that only a chunk of debtors is ever
  // held whole; the institutions keep the assets, the run keeps one byte per debtor.
  organisation_.resize(static_cast<size_t>(c_.debtors));
  late_by_day_.resize(static_cast<size_t>(c_.days));
  constexpr uint64_t kChunk = 1 << 20;
  Asset placed;  // Reused: its strings keep their buffers from one asset to the next.
  for (uint64_t first = 0; first < static_cast<uint64_t>(c_.debtors); first += kChunk) {
    const uint64_t n = std::min<uint64_t>(kChunk, static_cast<uint64_t>(c_.debtors) - first);
    const Population chunk = make_population(c_, idx_, first, n, o_.threads);
    if (first == 0) reserve_for(chunk, static_cast<double>(c_.debtors) / static_cast<double>(n));
    for (uint64_t k = 0; k < n; ++k) {
      const uint64_t owner = first + k;
      const bool organisation = chunk.organisation(k);
      organisation_[owner] = organisation;
      const std::span<const GenAsset> assets = chunk.assets_of(k);
      if (assets.empty()) continue;
      const std::string holder = debtor_id(owner, organisation);
      for (const GenAsset& a : assets) {
        a.to_asset(owner, holder, placed);
        CHAKONG_RETURN_IF_ERROR(place_asset(a.place, owner, a.serial, placed));
      }
    }
    for (const Population::Late& l : chunk.late) {
      late_by_day_[static_cast<size_t>(l.day)].push_back(static_cast<uint32_t>(l.debtor));
    }
  }
  library_late_by_day_.resize(static_cast<size_t>(c_.days));
  std::vector<LibraryCaseGen> lib = make_library(c_, idx_, o_.threads);
  library_.reserve(lib.size());
  for (LibraryCaseGen& g : lib) {
    for (auto& [day, asset] : g.late) {
      library_late_by_day_[static_cast<size_t>(day)].push_back(std::move(asset));
    }
    library_.push_back(std::move(g.entry));
  }
  return ok_status();
}

Status Run::build_connectors() {
  connectors::ConnectorRegistry registry;
  CHAKONG_RETURN_IF_ERROR(connectors::register_builtin_connectors(registry));
  for (uint32_t i = 0; i < inst_.size(); ++i) {
    Instance& in = inst_[i];
    const GroupConfig& g = *in.group;
    // The institution's side (adapter, transport, behaviour, ground truth) runs on its LP.
    VirtualExecutor& ex = pt_->executor(lp_of_institution(i));
    const connectors::ConnectorFactory* f = registry.find(g.kind);
    if (f == nullptr) return internal_error("no connector kind '" + g.kind + "'");
    std::unique_ptr<google::protobuf::Message> config = f->default_config();
    const google::protobuf::Descriptor* d = config->GetDescriptor();
    const google::protobuf::Reflection* r = config->GetReflection();
    r->SetString(config.get(), d->FindFieldByName("name"),
                 in.truth->name().substr(g.kind.size() + 1));
    r->SetUInt32(config.get(), d->FindFieldByName("timeout_ms"),
                 static_cast<uint32_t>(wire_timeout() / 1000));
    r->SetUInt32(config.get(), d->FindFieldByName("max_batch"), static_cast<uint32_t>(g.max_batch));
    // The institution answers at intake (early output): the endpoint acts on the ground truth
    // when the call is taken and answers at once; the transport knows from the service drawn
    // when the answer is given, and the answer leaves the LP at once, stamped for then.
    in.answer_time = std::make_unique<AnswerTime>();
    AnswerTime* const at = in.answer_time.get();
    in.adapter_executor = std::make_unique<AnswerTimeExecutor>(ex, *at);
    connectors::EndpointOptions eo;
    InstitutionBehaviour b;
    b.capacity = g.capacity;
    b.error_rate = g.error_rate;
    b.malformed_rate = g.malformed_rate;
    b.duplicate_rate = g.duplicate_rate;
    b.seed = c_.seed * 7919 + i;
    if (in.hub) {
      // Members' latency, hours and outages: the hub's answer waits for them.
      // A batch no member handles (none: control requests go to the hub holding the asset)
      // would take no time; it takes the least draw, the hub's reaction (build_time).
      // The members are asked when the hub's server takes the batch (AnswerTime::start).
      const TimeUs least = std::min({g.query.least(), g.control.least(), g.other.least()});
      // Each member's findings are given when it answers (Hub::split, through the crossing).
      eo.latency_fn = [hub = in.hub.get(), at, least,
                       &ex](const std::vector<connectors::Request>& batch) {
        at->service = std::max(least, hub->latency(batch, at->start, &at->parts, ex.now()));
        return TimeUs{0};
      };
    } else {
      eo.latency_fn = [at, draw = latency_by_operation({{RequestKind::kQuery, g.query},
                                                        {RequestKind::kFreeze, g.control},
                                                        {RequestKind::kWaitlistFreeze, g.control}},
                                                       g.other, c_.seed * 1000003 + i)](
                          const std::vector<connectors::Request>& batch) {
        at->service = draw(batch);
        return TimeUs{0};
      };
      b.hours = g.hours;
      for (const auto& [instance, window] : g.outages) {
        if (instance == in.index_in_group) b.outages.push_back(window);
      }
    }
    // (Work in progress stops while the institution is down and resumes after: the transport
    // times the answer so.) The adapter runs on the executor that carries the due time.
    connectors::ConnectorContext ctx;
    ctx.executor = in.adapter_executor.get();
    auto transport = std::make_unique<BehaviourTransport>(f->sandbox_endpoint(*in.truth, ex, eo),
                                                          ex, b, EarlyOutput{at, wire_timeout()});
    in.behaviour = transport.get();
    ctx.transport = std::move(transport);
    StatusOr<std::unique_ptr<connectors::Connector>> conn = f->create(*config, std::move(ctx));
    if (!conn.ok()) return conn.status();
    in.connector = std::move(conn).value();
    if (g.renewal_refusal_rate > 0 || g.drain_share > 0) {
      auto faulty =
          std::make_unique<FaultConnector>(std::move(in.connector), ex, *in.truth,
                                           InstitutionFaults{g.renewal_refusal_rate, g.drain_share,
                                                             g.drain_window, c_.seed * 104729 + i},
                                           at);
      in.faults = faulty.get();
      in.connector = std::move(faulty);
    }
    if (ranked()) {
      // The shards may be elsewhere: the batches cross as bytes.
      auto crossing = std::make_unique<RankConnector>(*in.connector, *pt_, lp_of_institution(i),
                                                      c_.transit, at);
      router_->add(*crossing);
      crossing->set_answer_parts(in.hub.get());
      in.crossing = std::move(crossing);
    } else {
      auto crossing =
          std::make_unique<LpConnector>(*in.connector, *pt_, lp_of_institution(i), c_.transit, at);
      crossing->set_answer_parts(in.hub.get());  // A hub's members answer in parts.
      in.crossing = std::move(crossing);
    }
  }
  if (router_) router_->install();
  return ok_status();
}

// How soon institution `in` can answer a batch after it arrives (its early-output margin, the
// reaction of its LP): never sooner than its least latency draw, nor than the connector's
// timeout of a wire call; and at once (0) when some path answers without a draw: a refusal at
// intake (error_rate, or an outage of this institution), or a batch of renewals the fault
// wrapper refuses whole. (Business hours and capacity only add waiting before the draw.)
TimeUs least_answer(const Instance& in, TimeUs wire_timeout) {
  const GroupConfig& g = *in.group;
  if (g.error_rate > 0 || g.renewal_refusal_rate > 0) return 0;
  if (!in.hub) {
    for (const auto& [instance, window] : g.outages) {
      if (instance == in.index_in_group) return 0;
    }
  }
  TimeUs least = std::min({g.query.least(), g.control.least(), g.other.least(), wire_timeout});
  // A hub stops waiting for its members at their timeout: it can answer that soon.
  if (in.hub && g.member_timeout > 0) least = std::min(least, g.member_timeout);
  return least;
}

Status Run::build_time() {
  ParallelTimeOptions po;
  po.lps = static_cast<uint32_t>(static_cast<size_t>(c_.shards) + inst_.size());
  po.start = c_.start.start_us();
  po.lookahead = c_.transit;
  po.threads = std::max(1, o_.threads);
  // Two classes: the shards (0) and the institutions (1). A shard sends requests to
  // institutions and, with several shards, work to other shards (never to itself); an
  // institution answers shards only. Every message crosses in `transit`; an institution's
  // answer leaves no sooner than its least latency after the request came (its reaction).
  po.lp_class.assign(po.lps, 1);
  std::fill_n(po.lp_class.begin(), c_.shards, 0u);
  po.class_lookahead = [this](uint32_t from, uint32_t to) {
    if (from == 1 && to == 1) return ParallelTime::kNoMessages;
    if (from == 0 && to == 0 && c_.shards < 2) return ParallelTime::kNoMessages;
    return c_.transit;
  };
  po.reaction.assign(po.lps, 0);
  for (size_t i = 0; i < inst_.size(); ++i) {
    po.reaction[lp_of_institution(i)] = least_answer(inst_[i], wire_timeout());
  }
  po.self_messages = false;
  po.comm = o_.comm;
  if (o_.comm != nullptr && o_.comm->size() > 1) {
    // The shards on rank 0 (with the engine's cross-shard work, which stays in one process),
    // the institutions round robin over the ranks from rank 1.
    const int ranks = o_.comm->size();
    po.lp_rank.assign(po.lps, 0);
    for (size_t i = 0; i < inst_.size(); ++i) {
      po.lp_rank[lp_of_institution(i)] = static_cast<int>((1 + i) % static_cast<size_t>(ranks));
    }
  }
  StatusOr<std::unique_ptr<ParallelTime>> pt = ParallelTime::create(po);
  if (!pt.ok()) return pt.status();
  pt_ = std::move(pt).value();
  if (ranked()) router_ = std::make_unique<LpRouter>(*pt_);
  tally_.resize(static_cast<size_t>(c_.shards));
  for (Tally& t : tally_) t.daily.resize(static_cast<size_t>(c_.days));
  return ok_status();
}

Status Run::build_engine() {
  engine::EngineConfig ec;
  ec.renewal_lead_days = c_.renewal_lead_days;
  ec.deduct_delay = c_.deduct_delay;
  ec.dispatch.timeout = c_.timeout;
  ec.dispatch.max_attempts = c_.max_attempts;
  ec.dispatch.bulk_floor = c_.bulk_floor;
  ec.sweep = c_.sweep;
  ec.calendar = &c_.working_days();
  ec.forget_empty_terminated = true;
  ec.forget_concluded = true;
  std::vector<connectors::Connector*> conns;
  for (const Instance& in : inst_) {
    const GroupConfig& g = *in.group;
    engine::DispatcherConfig dc = ec.dispatch;
    dc.rate_per_second = g.rate_per_second;
    dc.burst = std::max(1.0, g.rate_per_second);
    dc.max_in_flight = g.max_in_flight;
    dc.max_batch = g.max_batch;
    dc.linger = g.linger;
    ec.dispatch_overrides[in.truth->name()] = dc;
    conns.push_back(in.crossing.get());
  }
  // Work one shard hands another (restorations) is a message between their LPs.
  ec.cross_shard = [this](size_t from, size_t to, Task task) {
    const auto f = static_cast<uint32_t>(from);
    pt_->send(f, static_cast<uint32_t>(to), pt_->executor(f).now() + c_.transit, std::move(task));
  };
  std::vector<Executor*> shards;
  for (int k = 0; k < c_.shards; ++k) shards.push_back(&pt_->executor(static_cast<uint32_t>(k)));
  StatusOr<std::unique_ptr<engine::Engine>> e = engine::Engine::create(ec, shards, conns);
  if (!e.ok()) return e.status();
  engine_ = std::move(e).value();
  for (int k = 0; k < c_.officers; ++k) {
    CHAKONG_RETURN_IF_ERROR(
        engine_->register_officer(c_.court + "-" + std::to_string(k + 1), c_.court));
  }
  CHAKONG_RETURN_IF_ERROR(engine_->import_library(std::move(library_)));
  library_ = {};
  engine_->set_observer([this](const engine::Event& ev) {
    const int d = date_of(ev.time) - c_.start;
    if (d < 0 || d >= static_cast<int>(daily_.size()) || ev.case_number.empty()) return;
    // Runs on a shard's LP (LP k is shard k): only that shard's tally is touched.
    const uint32_t lp = ParallelTime::current_lp();
    Tally& t = tally_[lp < tally_.size() ? lp : engine_->shard_of(ev.case_number)];
    DailyPoint& p = t.daily[static_cast<size_t>(d)];
    // A finding behind a hub: its member's clocks too (0 started, 1 met, 2 missed).
    const auto count_member = [&](size_t which) {
      if (std::array<uint64_t, 3>* m = member_clocks(t, ev.reference)) ++(*m)[which];
    };
    switch (ev.type) {
      case engine::EventType::kCaseFiled: ++p.filed; break;
      case engine::EventType::kFinding:
        if (ev.due != 0) count_member(0);
        break;
      case engine::EventType::kCaseConcluded: ++p.concluded; break;
      case engine::EventType::kCaseRestored:
        // The restored case's budget is what was left; the over-seizure check holds it to that.
        t.budgets.emplace_back(ev.detail, ev.amount);
        break;
      case engine::EventType::kControlMet:
        if (ev.case_number.find("执恢") != std::string::npos) ++t.restored_met;
        ++p.control_met;
        ++t.ttf[static_cast<size_t>(std::min<TimeUs>(49, ev.elapsed / kMicrosPerHour))];
        ++t.control_by_connector[ev.connector].first;
        count_member(1);
        break;
      case engine::EventType::kControlMissed:
        if (ev.case_number.find("执恢") != std::string::npos) ++t.restored_missed;
        ++p.control_missed;
        ++t.control_by_connector[ev.connector].second;
        count_member(2);
        break;
      default: break;
    }
  });
  return ok_status();
}

std::array<uint64_t, 3>* Run::member_clocks(Tally& t, const std::string& reference) const {
  if (reference.empty()) return nullptr;
  const uint32_t place = place_of_reference(reference);
  if (place >= place_instance_.size() || !inst_[place_instance_[place]].hub) return nullptr;
  return &t.control_by_place[place];
}

void Run::arrive(Date day) {
  const double per_day =
      c_.cases_per_year / 250.0 * (working_day(c_.working_days(), day) ? 1.0 : 0.05);
  std::poisson_distribution<int> n_cases(per_day);
  std::uniform_real_distribution<double> u(0, 1);
  const int n = n_cases(rng_);
  for (int i = 0; i < n; ++i) {
    const TimeUs received = day.start_us() + 9 * kMicrosPerHour +
                            static_cast<TimeUs>(u(rng_) * 8 * static_cast<double>(kMicrosPerHour));
    const CaseType type = u(rng_) < c_.preservation_share ? CaseType::kZhiBao : CaseType::kZhi;
    const int64_t serial = ++serials_[day.year()];
    engine::CaseFiling f;
    f.case_number = CaseNumber::make(day.year(), c_.court, type, serial)->to_string();
    f.court = c_.court;
    const int nd = 1 + static_cast<int>(rng_() % static_cast<uint64_t>(c_.max_debtors_per_case));
    std::set<uint64_t> chosen;
    for (int k = 0; k < nd; ++k) chosen.insert(rng_() % organisation_.size());
    for (uint64_t di : chosen) {
      const bool organisation = organisation_[di] != 0;
      f.debtors.push_back({organisation ? engine::DebtorInfo::Kind::kOrganisation
                                        : engine::DebtorInfo::Kind::kPerson,
                           debtor_id(di, organisation), "debtor"});
    }
    f.claim = sample_money(c_.claim, rng_);
    f.costs = Fen(f.claim.value() / 100);
    f.officer_ids = {c_.court + "-" +
                     std::to_string(1 + rng_() % static_cast<uint64_t>(c_.officers))};
    f.received_at = received;
    const TimeUs delay = c_.officer_delay.sample(rng_);
    set_budget(f.case_number, f.claim + f.costs);
    // The case's events run on its shard's LP (on rank 0).
    if (!pt_->is_local(static_cast<uint32_t>(engine_->shard_of(f.case_number)))) continue;
    Executor& shard = engine_->executor_of(f.case_number);
    shard.run_at(received + delay, [this, f] {
      // The filing was generated valid; a refusal here is a defect worth seeing.
      const Status s = engine_->file_case(f);
      if (!s.ok()) std::fprintf(stderr, "chakong simulate: file_case: %s\n", s.to_string().c_str());
    });
    const std::string number = f.case_number;
    shard.run_at(received + c_.terminate_after_days * kMicrosPerDay,
                 [this, number] { try_terminate(number, 0); });
  }
}

void Run::try_terminate(const std::string& number, int attempts) {
  StatusOr<engine::CaseView> v = engine_->case_view(number);
  if (!v.ok()) return;
  const engine::CaseStatus s = v->status;
  if (s != engine::CaseStatus::kQuerying && s != engine::CaseStatus::kControlling &&
      s != engine::CaseStatus::kDeducting) {
    return;
  }
  const Status t = engine_->terminate_case(number, /*consumption_restricted=*/true);
  if (t.code() == StatusCode::kFailedPrecondition && attempts < 10) {
    engine_->executor_of(number).run_after(
        7 * kMicrosPerDay, [this, number, attempts] { try_terminate(number, attempts + 1); });
  }
}

void Run::set_budget(const std::string& number, Fen budget) {
  CaseEntry& e = *cases_.try_emplace(number).first;
  e.second.budget = budget;
  e.second.has_budget = 1;
  if (!e.second.dirty) {
    e.second.dirty = 1;
    dirty_.push_back(&e);
  }
}

void Run::take_budgets() {
  for (Tally& t : tally_) {
    for (const auto& [number, budget] : t.budgets) set_budget(number, budget);
    t.budgets.clear();
  }
}

void Run::merge_tallies() {
  take_budgets();
  for (const Tally& t : tally_) {
    for (size_t d = 0; d < daily_.size(); ++d) {
      daily_[d].filed += t.daily[d].filed;
      daily_[d].concluded += t.daily[d].concluded;
      daily_[d].control_met += t.daily[d].control_met;
      daily_[d].control_missed += t.daily[d].control_missed;
    }
    for (size_t h = 0; h < ttf_.size(); ++h) ttf_[h] += t.ttf[h];
    restored_met_ += t.restored_met;
    restored_missed_ += t.restored_missed;
    for (const auto& [name, mm] : t.control_by_connector) {
      control_by_connector_[name].first += mm.first;
      control_by_connector_[name].second += mm.second;
    }
    for (const auto& [place, clocks] : t.control_by_place) {
      for (size_t j = 0; j < clocks.size(); ++j) control_by_place_[place][j] += clocks[j];
    }
  }
}

void Run::take_changes() {
  // Over ranks: each rank's institutions' changes, taken on rank 0 (the order in which the
  // changes are taken does not matter: the held amounts are sums, the cases found over a set).
  rank_gather::Writer out;
  for (uint32_t k = 0; k < inst_.size(); ++k) {
    institution::Institution& truth = *inst_[k].truth;
    truth.take_changed_measures(changed_);
    // Another rank's institution: this copy's changes are not the run's.
    if (changed_.empty() || !local(k)) continue;
    for (uint32_t i : changed_) {
      const institution::Institution::Holding h = truth.holding_of(i);
      const int64_t now = h.listed ? h.amount.value() : kNotListed;
      const institution::MeasureRecord& m = truth.measure_at(i);
      const bool securities = m.category == AssetCategory::kSecurities;
      if (root()) {
        take_change(k, i, now, securities, m.case_number);
        continue;
      }
      out.put(k);
      out.put(i);
      out.put(now);
      out.put(static_cast<uint8_t>(securities));
      out.put(h.unit_slack.value());
      out.put_string(m.case_number);
    }
  }
  if (!ranked()) return;
  const std::vector<std::string> in = rank_gather::gather(*o_.comm, std::move(out.bytes()));
  for (size_t r = 1; r < in.size(); ++r) {
    rank_gather::Reader rd(in[r]);
    while (!rd.done() && !rd.failed()) {
      const auto k = rd.get<uint32_t>();
      const auto i = rd.get<uint32_t>();
      const auto now = rd.get<int64_t>();
      const bool securities = rd.get<uint8_t>() != 0;
      const Fen slack(rd.get<int64_t>());
      const std::string number = rd.get_string();
      if (rd.failed() || k >= inst_.size()) break;
      if (securities) remote_slack_[measure_key(k, i)] = slack;
      take_change(k, i, now, securities, number);
    }
    if (rd.failed() && audit_failure_.empty()) {
      audit_failure_ = "rank " + std::to_string(r) + "'s changed measures are cut short";
    }
  }
}

void Run::take_change(uint32_t k, uint32_t i, int64_t now, bool securities,
                      const std::string& case_number) {
  std::vector<int64_t>& counted = counted_[k];
  if (counted.size() <= i) {
    counted.resize(std::max<size_t>(i + 1, inst_[k].truth->measure_count()), kUnseen);
  }
  int64_t& was = counted[i];
  // A securities measure's unit slack may change while its amount does not.
  if (now == was && !securities) return;
  CaseEntry& e = *cases_.try_emplace(case_number).first;
  CaseCheck& c = e.second;
  if (was == kUnseen && securities) {
    if (c.securities == UINT32_MAX) {
      c.securities = static_cast<uint32_t>(securities_.size());
      securities_.emplace_back();
    }
    securities_[c.securities].emplace_back(k, i);
  }
  if (was >= 0) {
    c.held -= was;
    --c.listed;
  }
  if (now >= 0) {
    c.held += now;
    ++c.listed;
  }
  was = now;
  if (!c.dirty) {
    c.dirty = 1;
    dirty_.push_back(&e);
  }
}

void Run::check_invariants(bool duplicates) {
  // Over-seizure: a case is over when the institutions hold more for it than its budget, beyond
  // the whole-unit tolerance of its securities (docs/domain.md). Only a case whose holdings or
  // budget changed since the last check can have become over.
  take_changes();
  for (CaseEntry* e : dirty_) {
    CaseCheck& c = e->second;
    c.dirty = 0;
    if (!c.has_budget || c.listed == 0 || c.held <= c.budget.value()) continue;
    Fen slack;
    if (c.securities != UINT32_MAX) {
      for (const auto& [k, i] : securities_[c.securities]) {
        slack = max(slack, local(k) ? inst_[k].truth->holding_of(i).unit_slack
                                    : remote_slack_[measure_key(k, i)]);
      }
    }
    if (c.held > (c.budget + slack).value()) over_.insert(e->first);
  }
  dirty_.clear();
  if (duplicates) {
    uint64_t n = 0;
    for (size_t k = 0; k < inst_.size(); ++k) {
      if (local(k)) n += static_cast<uint64_t>(inst_[k].truth->live_duplicates());
    }
    if (ranked()) o_.comm->allreduce_sum(&n, 1);
    duplicates_ = std::max(duplicates_, n);
  }
}

void Run::audit(bool duplicates, const char* when) {
  std::unordered_map<std::string, Fen> held, slack;  // Slack: whole-unit rounding only.
  uint64_t n = 0, counted = 0;
  for (size_t k = 0; k < inst_.size(); ++k) {
    if (!local(k)) continue;
    const Instance& in = inst_[k];
    in.truth->add_held_by_case(held);
    in.truth->add_unit_slack_by_case(slack);
    n += static_cast<uint64_t>(in.truth->duplicate_measures());
    counted += static_cast<uint64_t>(in.truth->live_duplicates());
  }
  if (ranked()) {
    // Every rank's institutions, on rank 0, which alone checks.
    rank_gather::Writer w;
    rank_gather::put_amounts(w, held);
    rank_gather::put_amounts(w, slack);
    w.put(n);
    w.put(counted);
    const std::vector<std::string> in = rank_gather::gather(*o_.comm, std::move(w.bytes()));
    if (!root()) return;
    for (size_t r = 1; r < in.size(); ++r) {
      rank_gather::Reader rd(in[r]);
      Status s = rank_gather::merge_amounts(rd, held, rank_gather::Merge::kSum);
      if (s.ok()) s = rank_gather::merge_amounts(rd, slack, rank_gather::Merge::kMax);
      n += rd.get<uint64_t>();
      counted += rd.get<uint64_t>();
      if ((!s.ok() || rd.failed()) && audit_failure_.empty()) {
        audit_failure_ =
            std::string(when) + ": rank " + std::to_string(r) + "'s audit is cut short";
      }
    }
  }
  const auto fail = [&](const std::string& what) {
    if (audit_failure_.empty()) audit_failure_ = std::string(when) + ": " + what;
  };
  size_t listed = 0;
  for (const auto& [number, amount] : cases_) listed += amount.listed > 0;
  if (listed != held.size()) {
    fail(std::to_string(held.size()) + " cases held for, the incremental check knows " +
         std::to_string(listed));
  }
  const size_t over_before = over_.size();
  for (const auto& [number, amount] : held) {
    auto c = cases_.find(number);
    if (c == cases_.end() || c->second.listed == 0 || c->second.held != amount.value()) {
      fail("case " + number + ": " + format_fen(amount) + " held, the incremental check counts " +
           (c == cases_.end() ? std::string("nothing") : format_fen(Fen(c->second.held))));
    }
    if (c == cases_.end() || !c->second.has_budget || amount <= c->second.budget) continue;
    auto s = slack.find(number);
    if (s == slack.end() || amount > c->second.budget + s->second) over_.insert(number);
  }
  if (over_.size() != over_before) {
    fail(std::to_string(over_.size() - over_before) +
         " case(s) over their budget that the incremental check did not find");
  }
  if (n != counted) {
    fail(std::to_string(n) + " duplicate measures, the incremental count is " +
         std::to_string(counted));
  }
  if (duplicates) duplicates_ = std::max(duplicates_, n);
}

void Run::check_ledger() {
  // The simulator's ground truth against the engine's ledger: an institution never holds more
  // for a case (frozen plus transferred) than the engine accounts for (frozen, reserved for a
  // freeze in flight or in doubt, pending top-ups, deducted), and nothing stays frozen for a
  // case the engine no longer holds. A measure the engine lost track of shows here.
  std::unordered_map<std::string, Fen> held, frozen;
  for (size_t k = 0; k < inst_.size(); ++k) {
    if (!local(k)) continue;
    inst_[k].truth->add_held_by_case(held);
    inst_[k].truth->add_frozen_by_case(frozen);
  }
  if (ranked()) {
    // The engine (every shard) is on rank 0: it checks against every rank's institutions.
    rank_gather::Writer w;
    rank_gather::put_amounts(w, held);
    rank_gather::put_amounts(w, frozen);
    const std::vector<std::string> in = rank_gather::gather(*o_.comm, std::move(w.bytes()));
    if (!root()) return;
    for (size_t r = 1; r < in.size(); ++r) {
      rank_gather::Reader rd(in[r]);
      Status s = rank_gather::merge_amounts(rd, held, rank_gather::Merge::kSum);
      if (s.ok()) s = rank_gather::merge_amounts(rd, frozen, rank_gather::Merge::kSum);
      if (!s.ok()) ++ledger_disagreements_;  // Cannot tell: counted as a disagreement.
    }
  }
  for (const auto& [number, amount] : held) {
    // Another authority's measure.
    if (auto c = cases_.find(number); c == cases_.end() || !c->second.has_budget) continue;
    StatusOr<engine::CaseView> v = engine_->case_view(number);
    if (v.ok()) {
      if (amount > v->frozen + v->reserved + v->pending + v->deducted) ++ledger_disagreements_;
    } else if (frozen[number] > Fen()) {
      ++ledger_disagreements_;
    }
  }
}

// Library cases swept and hits on day `d` (read at the start of the next day).
void Run::sample_sweep(int d) {
  const engine::EngineStats s = engine_->stats();
  DailyPoint& p = daily_[static_cast<size_t>(d)];
  p.sweep_swept = s.sweep_cases_swept - swept_before_;
  p.sweep_hits = s.sweep_hits - hits_before_;
  swept_before_ = s.sweep_cases_swept;
  hits_before_ = s.sweep_hits;
}

void Run::day(int d) {
  const Date today = c_.start.plus_days(d);
  daily_[static_cast<size_t>(d)].date = today;
  arrive(today);
  // Balances move; some debtors without property open an account.
  std::uniform_real_distribution<double> u(0, 1);
  const size_t churn =
      static_cast<size_t>(c_.balance_churn_per_day * static_cast<double>(accounts_.size()));
  for (size_t k = 0; k < churn && !accounts_.empty(); ++k) {
    const Account& a = accounts_[rng_() % accounts_.size()];
    const std::string ref = asset_reference(a.place, a.owner, static_cast<int>(a.serial));
    const Fen amount = Fen(sample_money(c_.balance, rng_).value() / 4 + 1);
    if (u(rng_) < 0.5) {
      (void)truth_at(a.place).credit(ref, amount, today);
    } else {
      (void)truth_at(a.place).debit(ref, amount);
    }
  }
  for (const PlacedAsset& p : library_late_by_day_[static_cast<size_t>(d)]) (void)place_asset(p);
  if (d > 0) sample_sweep(d - 1);
  for (uint32_t di : late_by_day_[static_cast<size_t>(d)]) {
    // Regenerated: it is the same.
    const Population p = make_population_of(c_, idx_, di);
    Asset asset;
    p.late.front().asset.to_asset(di, debtor_id(di, p.organisation(0)), asset);
    (void)place_asset(p.late.front().asset.place, di, 0, asset);
  }
  take_budgets();
  if (o_.before_checks) o_.before_checks(d, truths_);
  const double checks0 = thread_cpu_seconds();
  check_invariants(/*duplicates=*/d % 7 == 6);
  if (o_.audit_daily) audit(/*duplicates=*/d % 7 == 6, today.to_string().c_str());
  checks_seconds_ += thread_cpu_seconds() - checks0;
  if (o_.on_progress) {
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0_).count();
    o_.on_progress({today, static_cast<double>(d + 1) / c_.days, events_run(), wall, over_.size(),
                    duplicates_});
  }
}

StatusOr<SimulationReport> Run::go() {
  CHAKONG_RETURN_IF_ERROR(build_institutions());
  daily_.resize(static_cast<size_t>(c_.days));
  CHAKONG_RETURN_IF_ERROR(build_time());
  CHAKONG_RETURN_IF_ERROR(build_connectors());
  CHAKONG_RETURN_IF_ERROR(build_engine());
  // Each day's own work (arrivals, balances, the checks) runs between windows, from this
  // thread, once every LP has run everything before the day's start.
  const auto loop0 = std::chrono::steady_clock::now();
  for (int d = 0; d < c_.days; ++d) {
    if (d > 0) CHAKONG_RETURN_IF_ERROR(pt_->run_until(c_.start.plus_days(d).start_us() - 1));
    const auto day0 = std::chrono::steady_clock::now();
    day(d);
    day_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - day0).count();
  }
  CHAKONG_RETURN_IF_ERROR(pt_->run_until(c_.start.plus_days(c_.days).start_us() - 1));
  loop_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - loop0).count();
  merge_tallies();
  // The incremental checks once more, then the full audit, which must agree with them.
  const double checks0 = thread_cpu_seconds();
  check_invariants(/*duplicates=*/true);
  audit(/*duplicates=*/true, "end of the run");
  checks_seconds_ += thread_cpu_seconds() - checks0;
  uint64_t failed = audit_failure_.empty() ? 0 : 1;
  if (ranked()) o_.comm->allreduce_sum(&failed, 1);  // Every rank stops, or none.
  if (failed != 0) {
    return internal_error("the incremental invariant checks missed what a full check found: " +
                          (audit_failure_.empty() ? std::string("(on rank 0)") : audit_failure_));
  }
  check_ledger();
  sample_sweep(c_.days - 1);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0_).count();
  return report(wall);
}

Run::InstitutionFigures Run::figures_of(const Instance& in, TimeUs elapsed) const {
  InstitutionFigures f;
  f.lapsed = in.truth->lapsed();
  if (in.behaviour != nullptr) {
    f.refused = in.behaviour->refused();
    f.malformed = in.behaviour->malformed();
    f.duplicated = in.behaviour->duplicated();
    if (in.faults != nullptr) {
      f.renewals_refused = in.faults->renewals_refused();
      f.drained = in.faults->drained();
    }
  }
  if (!in.hub) return f;
  // The hub's members: their checks, how long they took from the hub's asking to their
  // answer, their queues (kCounted: none) and how busy their servers were.
  const std::vector<Hub::Member>& members = in.hub->members();
  for (size_t k = 0; k < members.size(); ++k) {
    const Hub::Member& m = members[k];
    ConnectorReport mr;
    mr.requests = m.checks;
    mr.utilization = in.hub->utilization(k, elapsed);
    if (m.stats) {
      mr.latency_p50_ms = static_cast<double>(m.stats->latency.quantile(0.5)) / 1000.0;
      mr.latency_p99_ms = static_cast<double>(m.stats->latency.quantile(0.99)) / 1000.0;
    }
    mr.max_queue = m.max_queue;
    if (in.hub->mode() == GroupConfig::Hub::kMembers) {
      MemberReport& x = mr.member.emplace();
      x.capacity = m.queue.capacity();
      x.batches = m.batches;
      x.timeouts = m.timeouts;
      if (m.stats && m.stats->queue) {
        x.queue_p50 = static_cast<uint64_t>(m.stats->queue->quantile(0.5));
        x.queue_p99 = static_cast<uint64_t>(m.stats->queue->quantile(0.99));
      }
    }
    f.members.push_back(std::move(mr));
  }
  return f;
}

namespace {

// This rank's share of the kernel's time: `threads` window threads, `loop_seconds` of event
// loop.
RankReport rank_report(const ParallelTime& pt, int threads, double loop_seconds) {
  const ParallelTimeStats& ps = pt.stats();
  RankReport r;
  r.rank = pt.rank();
  for (uint32_t lp = 0; lp < pt.lps(); ++lp) r.lps += pt.is_local(lp) ? 1 : 0;
  r.events = ps.events;
  auto waiting = [&](double busy, double of) {
    return of <= 0 ? 0.0 : std::clamp(1.0 - busy / of, 0.0, 1.0);
  };
  r.barrier_wait_share = waiting(ps.step_seconds, threads * ps.window_seconds);
  r.collective_wait_share =
      loop_seconds <= 0 ? 0.0 : std::clamp(ps.barrier_seconds / loop_seconds, 0.0, 1.0);
  for (double busy : ps.thread_step_seconds) {
    r.thread_wait_share.push_back(waiting(busy, ps.window_seconds));
  }
  return r;
}

}  // namespace

StatusOr<std::vector<RankReport>> Run::gather_ranks() {
  RankReport mine = rank_report(*pt_, std::max(1, o_.threads), loop_seconds_);
  if (!ranked()) return std::vector<RankReport>{std::move(mine)};
  rank_gather::Writer w;
  w.put(static_cast<int32_t>(mine.rank));
  w.put(mine.lps);
  w.put(mine.events);
  w.put(mine.barrier_wait_share);
  w.put(mine.collective_wait_share);
  w.put(static_cast<uint32_t>(mine.thread_wait_share.size()));
  for (double t : mine.thread_wait_share) w.put(t);
  const std::vector<std::string> in = rank_gather::gather(*o_.comm, std::move(w.bytes()));
  std::vector<RankReport> all;
  for (size_t r = 0; r < in.size(); ++r) {
    rank_gather::Reader rd(in[r]);
    RankReport x;
    x.rank = rd.get<int32_t>();
    x.lps = rd.get<uint32_t>();
    x.events = rd.get<uint64_t>();
    x.barrier_wait_share = rd.get<double>();
    x.collective_wait_share = rd.get<double>();
    const auto n = rd.get<uint32_t>();
    for (uint32_t t = 0; t < n && !rd.failed(); ++t)
      x.thread_wait_share.push_back(rd.get<double>());
    if (rd.failed() || !rd.done()) {
      return data_loss_error("rank " + std::to_string(r) + "'s run figures: " +
                             std::to_string(in[r].size()) + " bytes that do not read as them");
    }
    all.push_back(std::move(x));
  }
  return all;
}

StatusOr<std::vector<Run::InstitutionFigures>> Run::gather_figures(TimeUs elapsed) {
  std::vector<InstitutionFigures> all(inst_.size());
  rank_gather::Writer w;
  for (size_t k = 0; k < inst_.size(); ++k) {
    if (!local(k)) continue;
    InstitutionFigures f = figures_of(inst_[k], elapsed);
    if (!ranked() || root()) {
      all[k] = std::move(f);
      continue;
    }
    w.put(static_cast<uint32_t>(k));
    for (uint64_t v :
         {f.lapsed, f.refused, f.malformed, f.duplicated, f.renewals_refused, f.drained}) {
      w.put(v);
    }
    w.put(static_cast<uint32_t>(f.members.size()));
    for (const ConnectorReport& m : f.members) {
      w.put(m.requests);
      w.put(m.utilization);
      w.put(m.latency_p50_ms);
      w.put(m.latency_p99_ms);
      w.put(m.max_queue);
      w.put(static_cast<uint8_t>(m.member.has_value()));
      if (!m.member) continue;
      w.put(static_cast<int32_t>(m.member->capacity));
      w.put(m.member->batches);
      w.put(m.member->queue_p50);
      w.put(m.member->queue_p99);
      w.put(m.member->timeouts);
    }
  }
  if (!ranked()) return all;
  const std::vector<std::string> in = rank_gather::gather(*o_.comm, std::move(w.bytes()));
  for (size_t r = 1; r < in.size(); ++r) {
    rank_gather::Reader rd(in[r]);
    while (!rd.done() && !rd.failed()) {
      const auto k = rd.get<uint32_t>();
      if (k >= all.size()) break;
      InstitutionFigures& f = all[k];
      for (uint64_t* v :
           {&f.lapsed, &f.refused, &f.malformed, &f.duplicated, &f.renewals_refused, &f.drained}) {
        *v = rd.get<uint64_t>();
      }
      const auto n = rd.get<uint32_t>();
      for (uint32_t j = 0; j < n && !rd.failed(); ++j) {
        ConnectorReport m;
        m.requests = rd.get<uint64_t>();
        m.utilization = rd.get<double>();
        m.latency_p50_ms = rd.get<double>();
        m.latency_p99_ms = rd.get<double>();
        m.max_queue = rd.get<uint64_t>();
        if (rd.get<uint8_t>() != 0) {
          MemberReport& x = m.member.emplace();
          x.capacity = rd.get<int32_t>();
          x.batches = rd.get<uint64_t>();
          x.queue_p50 = rd.get<uint64_t>();
          x.queue_p99 = rd.get<uint64_t>();
          x.timeouts = rd.get<uint64_t>();
        }
        f.members.push_back(std::move(m));
      }
    }
    if (rd.failed() || !rd.done()) {
      return internal_error("rank " + std::to_string(r) + "'s institution figures are cut short");
    }
  }
  return all;
}

SimulationReport Run::report(double wall) {
  SimulationReport r;
  // The collectives first, on every rank: the events and the bytes of every rank, the largest
  // process, the institutions' figures.
  const TimeUs elapsed = static_cast<TimeUs>(c_.days) * kMicrosPerDay;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  uint64_t sums[2] = {events_run(), pt_->stats().remote_bytes};
  int64_t least_rss = -static_cast<int64_t>(ru.ru_maxrss) * 1024;
  if (ranked()) {
    o_.comm->allreduce_sum(sums, 2);
    o_.comm->allreduce_min(&least_rss, 1);
  }
  StatusOr<std::vector<InstitutionFigures>> figures = gather_figures(elapsed);
  if (!figures.ok()) {
    std::fprintf(stderr, "chakong simulate: %s\n", figures.status().to_string().c_str());
    figures = std::vector<InstitutionFigures>(inst_.size());
  }
  StatusOr<std::vector<RankReport>> per_rank = gather_ranks();
  if (per_rank.ok()) {
    r.per_rank = std::move(per_rank).value();
  } else {
    std::fprintf(stderr, "chakong simulate: %s\n", per_rank.status().to_string().c_str());
  }
  r.name = c_.name;
  r.seed = c_.seed;
  r.days = c_.days;
  r.wall_seconds = wall;
  r.checks_seconds = checks_seconds_;
  r.events = sums[0];
  r.remote_bytes = sums[1];
  r.threads = std::max(1, o_.threads);
  const ParallelTimeStats& ps = pt_->stats();
  r.ranks = pt_->ranks();
  r.lps = pt_->lps();
  r.windows = ps.windows;
  r.events_per_window =
      ps.windows == 0 ? 0.0 : static_cast<double>(ps.events) / static_cast<double>(ps.windows);
  const double worker_seconds = static_cast<double>(r.threads) * ps.window_seconds;
  r.loop_seconds = loop_seconds_;
  r.step_seconds = ps.step_seconds;
  r.day_seconds = day_seconds_;
  r.busy_lps_per_window =
      ps.windows == 0 ? 0.0 : static_cast<double>(ps.busy_lps) / static_cast<double>(ps.windows);
  r.barrier_wait_share =
      worker_seconds <= 0 ? 0.0 : std::clamp(1.0 - ps.step_seconds / worker_seconds, 0.0, 1.0);
  r.busiest_lp_share = ps.step_seconds <= 0 ? 0.0 : ps.busiest_step_seconds / ps.step_seconds;
  r.window_parallelism =
      ps.critical_step_seconds <= 0 ? 0.0 : ps.step_seconds / ps.critical_step_seconds;
  for (const GroupConfig& g : c_.groups) {
    for (const auto& [instance, window] : g.outages) {
      r.outages.push_back({instance_name(g, instance), window.from, window.to});
    }
  }
  r.peak_rss_bytes = static_cast<uint64_t>(-least_rss);
  r.stats = engine_->stats();
  r.cases_open = r.stats.cases_filed - r.stats.cases_concluded - r.stats.cases_terminated;
  r.control_open = r.stats.control_started - r.stats.control_met - r.stats.control_missed -
                   r.stats.control_not_required;
  r.over_seizure = over_.size();
  r.duplicate_measures = duplicates_;
  r.ledger_disagreements = ledger_disagreements_;
  for (const InstitutionFigures& f : *figures) {
    r.institution_lapses += f.lapsed;
    r.faults.refused += f.refused;
    r.faults.malformed += f.malformed;
    r.faults.duplicated += f.duplicated;
    r.faults.renewals_refused += f.renewals_refused;
    r.faults.drained += f.drained;
  }
  r.debtors = organisation_.size();
  r.accounts = accounts_.size();
  uint64_t submitted = 0, completed = 0;
  for (size_t i = 0; i < inst_.size(); ++i) {
    const Instance& in = inst_[i];
    const engine::DispatcherStats d = engine_->dispatcher_stats(in.truth->name());
    submitted += d.submitted;
    completed += d.completed;
    ConnectorReport cr;
    cr.name = in.truth->name();
    cr.category = std::string(asset_category_name(in.group->category));
    cr.requests = d.submitted;
    cr.utilization =
        static_cast<double>(d.busy_us) / (static_cast<double>(elapsed) * in.group->max_in_flight);
    cr.latency_p50_ms = static_cast<double>(d.latency.quantile(0.5)) / 1000.0;
    cr.latency_p99_ms = static_cast<double>(d.latency.quantile(0.99)) / 1000.0;
    cr.query_turnaround_mean_ms = d.queries_completed == 0
                                      ? 0.0
                                      : static_cast<double>(d.query_turnaround_us) /
                                            static_cast<double>(d.queries_completed) / 1000.0;
    cr.max_queue = d.max_queue;
    cr.control_met = control_by_connector_[cr.name].first;
    cr.control_missed = control_by_connector_[cr.name].second;
    r.connectors.push_back(std::move(cr));
    if (!in.hub) continue;
    std::vector<ConnectorReport>& members = (*figures)[i].members;
    for (size_t k = 0; k < members.size(); ++k) {
      ConnectorReport& mr = members[k];
      mr.name = instance_name(*in.group, static_cast<int>(k));
      mr.category = r.connectors.back().category;
      mr.via = in.truth->name();
      const auto clocks = control_by_place_.find(in.hub->first_place() + static_cast<uint32_t>(k));
      if (clocks != control_by_place_.end()) {
        if (mr.member) mr.member->control_started = clocks->second[0];
        mr.control_met = clocks->second[1];
        mr.control_missed = clocks->second[2];
      }
      r.connectors.push_back(std::move(mr));
    }
  }
  r.lost_requests = submitted - completed - engine_->open_requests();
  r.daily = daily_;
  r.restored_control_met = restored_met_;
  r.restored_control_missed = restored_missed_;
  r.sweep_runs = engine_->sweep_runs();
  r.library = engine_->library_stats();
  r.sweep_policy = c_.sweep.enabled ? (c_.sweep.policy == engine::SweepConfig::Policy::kAnniversary
                                           ? "anniversary"
                                           : "half_year")
                                    : "disabled";
  r.end = c_.start.plus_days(c_.days).start_us();
  r.time_to_freeze_hours = ttf_;
  return r;
}

}  // namespace

StatusOr<SimulationReport> run_simulation(const SimulationConfig& config,
                                          const SimulationOptions& options) {
  Run run(config, options);
  return run.go();
}

}  // namespace chakong::sim
