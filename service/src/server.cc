#include "chakong/service/server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <span>
#include <thread>

#include "chakong/base/identity.h"
#include "chakong/connectors/proto_convert.h"
#include "chakong/connectors/socket_transport.h"
#include "chakong/durable/rocks_journal.h"
#include "chakong/engine/asio_executor.h"
#include "chakong/service/log.h"
#include "chakong/v1/service.grpc.pb.h"
#include "event_log.h"
#include "http.h"
#include "listener_tls.h"

namespace chakong::service {
namespace {

constexpr const char* kServiceName = "chakong.v1.CaseService";
// The longest a call waits for its shard and its journal sync when the client set no deadline.
constexpr auto kDefaultCallWait = std::chrono::seconds(60);

grpc::Status to_grpc(const Status& s) {
  // chakong's status codes are gRPC's, number for number (base/status.h).
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

v1::CaseStatus to_proto(engine::CaseStatus s) {
  return static_cast<v1::CaseStatus>(static_cast<int>(s) + 1);
}

void to_proto(const engine::CaseView& v, v1::CaseState* out) {
  out->set_case_number(v.case_number);
  out->set_status(to_proto(v.status));
  out->set_restored_as(v.restored_as);
  out->set_budget_fen(v.budget.value());
  out->set_frozen_fen(v.frozen.value());
  out->set_reserved_fen(v.reserved.value());
  out->set_pending_fen(v.pending.value());
  out->set_deducted_fen(v.deducted.value());
  out->set_queries_outstanding(v.queries_outstanding);
  out->set_findings(v.findings);
  out->set_open_control_clocks(v.open_control_clocks);
  for (const engine::MeasureView& m : v.measures) {
    v1::CaseMeasure* pm = out->add_measures();
    pm->set_measure_id(m.measure_id);
    pm->set_connector(m.connector);
    pm->set_reference_masked(mask_id(m.reference));
    pm->set_category(static_cast<v1::AssetCategory>(static_cast<int>(m.category)));
    pm->set_amount_fen(m.amount.value());
    pm->set_waiting(m.waiting);
    pm->set_live(m.live);
    pm->set_end_date(m.end.to_string());
  }
}

engine::CaseFiling to_filing(const v1::Case& c) {
  engine::CaseFiling f;
  f.case_number = c.case_number();
  f.court = c.court();
  for (const v1::Debtor& d : c.debtors()) {
    f.debtors.push_back({d.kind() == v1::Debtor::KIND_ORGANISATION
                             ? engine::DebtorInfo::Kind::kOrganisation
                             : engine::DebtorInfo::Kind::kPerson,
                         d.id_number(), d.name()});
  }
  f.claim = Fen(c.claim_fen());
  f.costs = Fen(c.costs_fen());
  f.officer_ids.assign(c.officer_ids().begin(), c.officer_ids().end());
  f.received_at = c.filed_at_us();
  return f;
}

// `text` with every occurrence of `number` masked (mask_case_number), for the log.
std::string masked_in(std::string text, std::string_view number) {
  if (number.empty()) return text;
  const std::string masked = mask_case_number(number);
  for (size_t at = 0; (at = text.find(number, at)) != std::string::npos; at += masked.size()) {
    text.replace(at, number.size(), masked);
  }
  return text;
}

std::string numbered(const char* prefix, uint64_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%020" PRIu64, prefix, n);
  return buf;
}

// Minimal JSON string escaping for the log lines.
std::string json(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) {
      out += ' ';
      continue;
    }
    out += ch;
  }
  return out + "\"";
}

ListenerTlsMaterial listener_material(const ServeSettings& s) {
  return {s.tls_cert_pem, s.tls_key_pem, s.client_ca_pem};
}

// The shard index of the calling thread (-1 off the shards): set when a shard thread starts,
// so the event observer counts into its own shard's metrics.
thread_local int t_shard = -1;

// A connector that counts its requests by kind and outcome on their way back (atomics: its
// completions run on any thread), then hands the answers on unchanged.
// A Prometheus histogram of durations (seconds), filled with atomics (relaxed: a scrape may
// see one observation in a bucket and not yet in the count, never a torn value).
class Histogram {
 public:
  static constexpr size_t kMaxBounds = 12;
  // `bounds`: the buckets' upper bounds in seconds, ascending, at most kMaxBounds.
  explicit Histogram(std::span<const double> bounds) {
    for (double b : bounds) bounds_[n_++] = b;
  }
  void observe(std::chrono::steady_clock::duration d, uint64_t times = 1) {
    const uint64_t us =
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
    for (size_t i = 0; i < n_; ++i) {
      if (static_cast<double>(us) <= bounds_[i] * 1e6) {
        buckets_[i].fetch_add(times, std::memory_order_relaxed);
      }
    }
    count_.fetch_add(times, std::memory_order_relaxed);
    sum_us_.fetch_add(us * times, std::memory_order_relaxed);
  }
  static void header(std::string& out, const std::string& name, const std::string& help) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  }
  // The sample lines; `labels` ("connector=\"bank.a\"") go before le.
  void samples(std::string& out, const std::string& name, const std::string& labels = "") const {
    const std::string pre = labels.empty() ? "" : labels + ",";
    const std::string braces = labels.empty() ? "" : "{" + labels + "}";
    char buf[64];
    for (size_t i = 0; i < n_; ++i) {
      std::snprintf(buf, sizeof buf, "%g", bounds_[i]);
      out += name + "_bucket{" + pre + "le=\"" + buf + "\"} " +
             std::to_string(buckets_[i].load(std::memory_order_relaxed)) + "\n";
    }
    const uint64_t n = count_.load(std::memory_order_relaxed);
    out += name + "_bucket{" + pre + "le=\"+Inf\"} " + std::to_string(n) + "\n";
    std::snprintf(buf, sizeof buf, "%.6f",
                  static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6);
    out += name + "_sum" + braces + " " + buf + "\n";
    out += name + "_count" + braces + " " + std::to_string(n) + "\n";
  }
  void write(std::string& out, const std::string& name, const std::string& help) const {
    header(out, name, help);
    samples(out, name);
  }

 private:
  double bounds_[kMaxBounds] = {};
  size_t n_ = 0;
  std::atomic<uint64_t> buckets_[kMaxBounds] = {};
  std::atomic<uint64_t> count_{0}, sum_us_{0};
};

// Buckets of the journal sync wait, and of an institution's answer (milliseconds to a day).
constexpr double kSyncBounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                  0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
constexpr double kInstitutionBounds[] = {0.001, 0.005, 0.025, 0.1,  0.5,  2.5,
                                         10,    60,    300,   1800, 7200, 86400};

class CountingConnector final : public connectors::Connector {
 public:
  static constexpr int kKinds = 8;  // connectors::RequestKind 1..7.
  enum Outcome { kOk, kInDoubt, kError, kOutcomes };
  explicit CountingConnector(std::unique_ptr<connectors::Connector> inner)
      : inner_(std::move(inner)), name_(inner_->name()), capabilities_(inner_->capabilities()) {}
  const std::string& name() const override { return name_; }
  connectors::Capabilities capabilities() const override { return capabilities_; }
  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override {
    in_flight_.fetch_add(batch.size(), std::memory_order_relaxed);
    inner_->async_submit(batch, *new Call(this, batch, sink));
  }
  // At shutdown, once nothing submits any more (the shards have stopped): destroys the inner
  // connector, which completes its open calls (CANCELLED, contract rule 5) on the connector
  // executor, and waits up to `limit` for them to come back through this one. The connector
  // executor must still run. Returns the requests still open after `limit`.
  uint64_t drain(std::chrono::milliseconds limit) {
    inner_.reset();
    const auto until = std::chrono::steady_clock::now() + limit;
    while (in_flight() > 0 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return in_flight();
  }
  // Sent to answered, each request of each attempt (a batch's requests share its time).
  const Histogram& latency() const { return latency_; }
  uint64_t count(int kind, int outcome) const {
    return counts_[kind][outcome].load(std::memory_order_relaxed);
  }
  uint64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  struct Call final : connectors::BatchSink {
    Call(CountingConnector* c, connectors::BatchView b, connectors::BatchSink& s)
        : owner(c), batch(b), outer(s), sent(std::chrono::steady_clock::now()) {}
    connectors::Response& response(size_t i) override { return outer.response(i); }
    void complete() override {
      owner->latency_.observe(std::chrono::steady_clock::now() - sent, batch.size());
      for (size_t i = 0; i < batch.size(); ++i) {
        const Status& st = outer.response(i).status;
        const int outcome =
            st.ok() ? kOk : (connectors::outcome_in_doubt(st.code()) ? kInDoubt : kError);
        const int kind = static_cast<int>(batch[i].kind);
        if (kind > 0 && kind < kKinds) {
          owner->counts_[kind][outcome].fetch_add(1, std::memory_order_relaxed);
        }
      }
      owner->in_flight_.fetch_sub(batch.size(), std::memory_order_relaxed);
      connectors::BatchSink& o = outer;
      delete this;
      o.complete();
    }
    CountingConnector* owner;
    connectors::BatchView batch;
    connectors::BatchSink& outer;
    std::chrono::steady_clock::time_point sent;
  };
  std::unique_ptr<connectors::Connector> inner_;  // Null once drained.
  const std::string name_;
  const connectors::Capabilities capabilities_;
  Histogram latency_{kInstitutionBounds};
  std::atomic<uint64_t> counts_[kKinds][kOutcomes] = {};
  std::atomic<uint64_t> in_flight_{0};
};

// "kind" label text for an event type, a case status.
std::string lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

constexpr int kEventTypes = static_cast<int>(engine::EventType::kRemainderUncovered) + 1;

}  // namespace

struct CaseServer::Impl final : public v1::CaseService::Service {
  // ---- Owned, in construction order (destroyed in reverse: the gRPC server first, the
  // journal last). The shard and connector executors outlive the engine and connectors that
  // post to them.
  ServeSettings settings;
  std::unique_ptr<engine::RocksJournal> journal;
  std::unique_ptr<EventLog> events;
  std::vector<std::unique_ptr<AsioExecutor>> shards;
  AsioExecutor io;  // Connector timers and completions.
  std::map<std::string, std::shared_ptr<connectors::SocketClient>> sockets;
  std::vector<std::unique_ptr<connectors::Connector>> owned_connectors;
  std::unique_ptr<engine::Engine> engine;
  std::vector<std::thread> threads;
  // The listener's TLS material (not plaintext): renewed by reload(); outlives the server.
  std::unique_ptr<ListenerTls> listener_tls;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::unique_ptr<HttpServer> http;  // /metrics, /healthz, /readyz (metrics.address).
  std::vector<CountingConnector*> counting;
  std::atomic<bool> ready{false};  // Serving: recovered, listening, not stopping.

  // ---- The case-server principals: replaced whole by reload() (SIGHUP), read by every call
  // through one atomic load (no lock on the request path, a call sees the old or the new set).
  using ClientSet = std::set<std::string, std::less<>>;
  std::atomic<std::shared_ptr<const ClientSet>> clients;

  // ---- The registered officers (id -> court), for the role check: replaced whole by reload()
  // like `clients` (the engine's own registry is replaced on each shard, Engine::reload).
  using OfficerMap = std::map<std::string, std::string, std::less<>>;
  std::atomic<std::shared_ptr<const OfficerMap>> officers;

  // ---- reload() (SIGHUP): one at a time, on the signal thread; never on the request path.
  std::mutex reload_mu;
  std::atomic<uint64_t> reloads_applied{0}, reloads_refused{0};

  // ---- Per shard, touched only on that shard's thread: the cases filed (value: the filing
  // as serialised, the idempotency reference) or restored (value empty) through the service.
  std::vector<std::map<std::string, std::string, std::less<>>> cases;
  // ---- Per shard, touched only on that shard's thread: events seen by type (this process).
  struct ShardMetrics {
    uint64_t events[kEventTypes] = {};
  };
  std::vector<ShardMetrics> shard_metrics;
  Histogram sync_latency{kSyncBounds};  // Engine::sync() wait of acknowledged calls.

  // ---- Counters (atomics) and the refusal log's next number.
  std::atomic<uint64_t> calls{0}, unauthenticated{0}, permission_denied{0}, replayed{0};
  std::atomic<uint64_t> journal_failures{0};
  std::atomic<uint64_t> next_refusal{1};
  uint64_t recovered_cases = 0;

  // ---- Shutdown: once `stopping` is set new calls are refused (UNAVAILABLE), and shutdown()
  // waits for `in_flight` to reach 0 before it closes the gRPC server.
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
  struct InFlight {
    explicit InFlight(std::atomic<int>& n) : n_(n) { n_.fetch_add(1); }
    ~InFlight() { n_.fetch_sub(1); }
    std::atomic<int>& n_;
  };
  std::mutex shutdown_mu;
  bool shut_down = false;
  Status final_status;

  static std::string case_key(std::string_view number) {
    return "service/case/" + std::string(number);
  }

  // ---- Authorisation -------------------------------------------------------------------

  enum class Role { kCaseServer, kOfficer };

  std::string principal(grpc::ServerContext* ctx) const {
    if (settings.plaintext) {
      auto it = ctx->client_metadata().find("chakong-principal");
      if (it == ctx->client_metadata().end()) return "";
      return std::string(it->second.data(), it->second.size());
    }
    std::shared_ptr<const grpc::AuthContext> ac = ctx->auth_context();
    if (!ac || !ac->IsPeerAuthenticated()) return "";
    std::vector<grpc::string_ref> cn = ac->FindPropertyValues("x509_common_name");
    if (cn.empty()) return "";
    return std::string(cn[0].data(), cn[0].size());
  }

  // Records a refusal: counted, one log line, one journal record.
  void refuse(std::string_view rpc, std::string_view who, std::string_view case_number,
              const grpc::Status& why) {
    (why.error_code() == grpc::StatusCode::UNAUTHENTICATED ? unauthenticated : permission_denied)
        .fetch_add(1);
    std::string line = "{\"event\":\"refused\",\"rpc\":" + json(rpc) +
                       ",\"principal\":" + json(who) +
                       ",\"case\":" + json(mask_case_number(case_number)) +
                       ",\"code\":" + std::to_string(static_cast<int>(why.error_code())) +
                       ",\"reason\":" + json(why.error_message()) + "}";
    LogLine(LogLevel::kWarn, "refused")
        .str("rpc", rpc)
        .str("principal", who)
        .str("case", mask_case_number(case_number))
        .num("code", static_cast<int>(why.error_code()))
        .str("reason", masked_in(why.error_message(), case_number));
    const std::string key = numbered("service/refused/", next_refusal.fetch_add(1));
    if (Status s = journal->append_put(key, line); !s.ok()) {
      journal_failed("the refusal record " + key, s);
      return;
    }
    journal->sync([this, key](Status s) {
      if (!s.ok()) journal_failed("the refusal record " + key, s);
    });
  }

  // A journal write the service itself makes (a refusal record, a restored case's entry, the
  // undo of a refused filing's entry) failed. The journal refuses every later write after its
  // first failure, so acknowledgements can no longer be made durable: counted, logged, and
  // health turns NOT_SERVING so that a load balancer stops sending calls here.
  void journal_failed(const std::string& what, const Status& s) {
    journal_failures.fetch_add(1);
    LogLine(LogLevel::kError, "journal_failed").str("what", what).str("status", s.to_string());
    if (grpc::Server* srv = server.get(); srv != nullptr) {
      srv->GetHealthCheckService()->SetServingStatus(false);
    }
  }

  // OK with the principal in *who, or the refusal (already recorded).
  grpc::Status authorize(grpc::ServerContext* ctx, std::string_view rpc, Role role,
                         std::string_view case_number, std::string* who) {
    calls.fetch_add(1);
    if (stopping.load()) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
    }
    *who = principal(ctx);
    grpc::Status refusal;
    if (who->empty()) {
      refusal = grpc::Status(
          grpc::StatusCode::UNAUTHENTICATED,
          settings.plaintext ? "no chakong-principal header" : "no client certificate common name");
    } else if (role == Role::kCaseServer && clients.load()->count(*who) == 0) {
      refusal =
          grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                       "'" + *who + "' is not a case server allowed to call " + std::string(rpc));
    } else if (role == Role::kOfficer && officers.load()->count(*who) == 0) {
      refusal = grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                             "'" + *who + "' is not a registered officer");
    } else {
      return grpc::Status::OK;
    }
    refuse(rpc, *who, case_number, refusal);
    return refusal;
  }

  // ---- Carrying a call to a shard ----------------------------------------------------------

  using Reply = std::function<void(Status)>;

  // Runs `task` on `ex`; the task calls its Reply exactly once (on any thread, e.g. from a
  // journal sync). Waits for it until the call's deadline.
  Status on_shard(Executor& ex, grpc::ServerContext* ctx, std::function<void(Reply)> task) {
    auto promise = std::make_shared<std::promise<Status>>();
    std::future<Status> answer = promise->get_future();
    auto once = std::make_shared<std::atomic<bool>>(false);
    ex.post([task = std::move(task), promise, once] {
      task([promise, once](Status s) {
        if (!once->exchange(true)) promise->set_value(std::move(s));
      });
    });
    auto until = std::chrono::system_clock::now() + kDefaultCallWait;
    if (ctx->deadline() < until) until = ctx->deadline();
    if (answer.wait_until(until) != std::future_status::ready) {
      return Status(StatusCode::kDeadlineExceeded,
                    "no answer before the deadline (the change may still become durable; "
                    "retry with the same content)");
    }
    return answer.get();
  }

  // Engine::sync(), its wait measured (chakong_journal_sync_seconds).
  void timed_sync(Reply reply) {
    engine->sync([this, t0 = std::chrono::steady_clock::now(), reply = std::move(reply)](Status s) {
      sync_latency.observe(std::chrono::steady_clock::now() - t0);
      reply(std::move(s));
    });
  }

  // Replies after everything the task changed is durable.
  Reply after_sync(Reply reply) {
    return [this, reply = std::move(reply)](Status s) {
      if (!s.ok()) {
        reply(std::move(s));
        return;
      }
      timed_sync(reply);
    };
  }

  // ---- RPCs ------------------------------------------------------------------------------

  grpc::Status do_FileCase(grpc::ServerContext* ctx, const v1::FileCaseRequest* req,
                           v1::FileCaseResponse* resp) {
    const InFlight counted(in_flight);
    const std::string& number = req->filing().case_number();
    std::string who;
    if (grpc::Status a = authorize(ctx, "FileCase", Role::kCaseServer, number, &who); !a.ok())
      return a;
    if (number.empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "filing.case_number: required");
    }
    const std::string content = req->filing().SerializeAsString();
    auto was_replayed = std::make_shared<bool>(false);
    const size_t shard = engine->shard_of(number);
    // The task copies what it reads: it may still run after a call that timed out returned.
    const Status s =
        on_shard(engine->executor_of(number), ctx,
                 [this, filing = req->filing(), content, was_replayed, shard, number](Reply reply) {
                   std::map<std::string, std::string, std::less<>>& mine = cases[shard];
                   auto it = mine.find(number);
                   if (it != mine.end()) {
                     if (it->second != content) {
                       reply(Status(StatusCode::kAlreadyExists,
                                    "case " + number + " was filed before with different content"));
                       return;
                     }
                     // A retry: the first filing may not be durable yet (or the crash came between
                     // our record and the engine's): file again, where kAlreadyExists means it is
                     // there.
                     const Status again = engine->file_case(to_filing(filing));
                     if (!again.ok() && again.code() != StatusCode::kAlreadyExists) {
                       reply(again);
                       return;
                     }
                     *was_replayed = true;
                     timed_sync(std::move(reply));
                     return;
                   }
                   // The service's record first, in the same journal and so the same ordered group
                   // commit: once the engine's case is durable, so is the content a retry is
                   // compared with.
                   if (Status j = journal->append_put(case_key(number), content); !j.ok()) {
                     reply(j);
                     return;
                   }
                   const Status filed = engine->file_case(to_filing(filing));
                   if (!filed.ok()) {
                     if (Status j = journal->append_erase(case_key(number)); !j.ok()) {
                       // The record stays, and a retry would be taken for a replay of a case
                       // that was never filed: say so rather than only the refusal.
                       journal_failed("the undo of service/case/" + mask_case_number(number), j);
                       reply(Status(j.code(), filed.to_string() + "; and " + j.message()));
                       return;
                     }
                     reply(filed);
                     return;
                   }
                   mine.emplace(number, content);
                   timed_sync(std::move(reply));
                 });
    if (!s.ok()) return to_grpc(s);
    resp->set_case_number(number);
    resp->set_replayed(*was_replayed);
    if (*was_replayed) replayed.fetch_add(1);
    return grpc::Status::OK;
  }

  grpc::Status do_Terminate(grpc::ServerContext* ctx, const v1::TerminateRequest* req,
                            v1::TerminateResponse*) {
    const InFlight counted(in_flight);
    std::string who;
    if (grpc::Status a = authorize(ctx, "Terminate", Role::kCaseServer, req->case_number(), &who);
        !a.ok())
      return a;
    return to_grpc(on_shard(engine->executor_of(req->case_number()), ctx,
                            [this, number = req->case_number(),
                             restricted = req->consumption_restricted()](Reply reply) {
                              after_sync(std::move(reply))(
                                  engine->terminate_case(number, restricted));
                            }));
  }

  // Notes a restored case (on its own shard) so that ListCases shows it.
  void note_restored(const std::string& number) {
    const size_t shard = engine->shard_of(number);
    engine->executor_of(number).post([this, number, shard] {
      if (cases[shard].emplace(number, std::string()).second) {
        if (Status j = journal->append_put(case_key(number), ""); !j.ok()) {
          journal_failed("the restored case's entry service/case/" + mask_case_number(number), j);
        }
      }
    });
  }

  grpc::Status do_Restore(grpc::ServerContext* ctx, const v1::RestoreRequest* req,
                          v1::RestoreResponse* resp) {
    const InFlight counted(in_flight);
    std::string who;
    if (grpc::Status a = authorize(ctx, "Restore", Role::kCaseServer, req->case_number(), &who);
        !a.ok())
      return a;
    auto restored = std::make_shared<std::string>();
    const Status s = on_shard(engine->executor_of(req->case_number()), ctx,
                              [this, restored, number = req->case_number(), year = req->year(),
                               serial = req->serial()](Reply r) {
                                StatusOr<std::string> n =
                                    engine->restore_case(number, year, serial);
                                if (n.ok()) *restored = *n;
                                after_sync(std::move(r))(n.status());
                              });
    if (!s.ok()) return to_grpc(s);
    note_restored(*restored);
    resp->set_restored_as(*restored);
    return grpc::Status::OK;
  }

  grpc::Status do_RestoreOnLead(grpc::ServerContext* ctx, const v1::RestoreOnLeadRequest* req,
                                v1::RestoreResponse* resp) {
    const InFlight counted(in_flight);
    std::string who;
    if (grpc::Status a = authorize(ctx, "RestoreOnLead", Role::kOfficer, req->case_number(), &who);
        !a.ok())
      return a;
    if (req->officer_id() != who) {
      const grpc::Status refusal(
          grpc::StatusCode::PERMISSION_DENIED,
          "officer_id '" + req->officer_id() + "' is not the caller '" + who + "'");
      refuse("RestoreOnLead", who, req->case_number(), refusal);
      return refusal;
    }
    StatusOr<connectors::Asset> lead = connectors::from_proto(req->lead());
    if (!lead.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "lead: " + std::string(lead.status().message()));
    }
    auto restored = std::make_shared<std::string>();
    const Status s = on_shard(engine->executor_of(req->case_number()), ctx,
                              [this, restored, number = req->case_number(), who,
                               connector = req->connector(), lead = *lead](Reply r) {
                                StatusOr<std::string> n =
                                    engine->restore_on_lead(number, who, connector, lead);
                                if (n.ok()) *restored = *n;
                                after_sync(std::move(r))(n.status());
                              });
    if (!s.ok()) {
      if (s.code() == StatusCode::kPermissionDenied) {
        refuse("RestoreOnLead", who, req->case_number(), to_grpc(s));
      }
      return to_grpc(s);
    }
    note_restored(*restored);
    resp->set_restored_as(*restored);
    return grpc::Status::OK;
  }

  grpc::Status do_GetCase(grpc::ServerContext* ctx, const v1::GetCaseRequest* req,
                          v1::CaseState* resp) {
    const InFlight counted(in_flight);
    std::string who;
    if (grpc::Status a = authorize(ctx, "GetCase", Role::kOfficer, req->case_number(), &who);
        !a.ok())
      return a;
    auto view = std::make_shared<engine::CaseView>();
    // The read's audit link is durable before the answer leaves.
    const Status s = on_shard(engine->executor_of(req->case_number()), ctx,
                              [this, view, number = req->case_number(), who](Reply r) {
                                StatusOr<engine::CaseView> v = engine->read_case(number, who);
                                if (v.ok()) *view = std::move(*v);
                                after_sync(std::move(r))(v.status());
                              });
    if (!s.ok()) {
      if (s.code() == StatusCode::kPermissionDenied) {
        refuse("GetCase", who, req->case_number(), to_grpc(s));
      }
      return to_grpc(s);
    }
    to_proto(*view, resp);
    return grpc::Status::OK;
  }

  grpc::Status do_ListCases(grpc::ServerContext* ctx, const v1::ListCasesRequest* req,
                            v1::ListCasesResponse* resp) {
    const InFlight counted(in_flight);
    std::string who;
    if (grpc::Status a = authorize(ctx, "ListCases", Role::kCaseServer, "", &who); !a.ok())
      return a;
    if (req->page_size() < 0 || req->page_size() > 1000) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "page_size: " + std::to_string(req->page_size()) + " is not in 0..1000");
    }
    const size_t page = req->page_size() == 0 ? 100 : static_cast<size_t>(req->page_size());
    std::vector<v1::CaseSummary> all;
    for (size_t i = 0; i < shards.size(); ++i) {
      auto found = std::make_shared<std::vector<v1::CaseSummary>>();
      const Status s = on_shard(
          *shards[i], ctx,
          [this, i, found, page, token = req->page_token(), status = req->status()](Reply r) {
            const auto& mine = cases[i];
            for (auto it = mine.upper_bound(token); it != mine.end() && found->size() <= page;
                 ++it) {
              StatusOr<engine::CaseView> v = engine->case_view(it->first);
              if (!v.ok()) continue;
              const v1::CaseStatus st = to_proto(v->status);
              if (status != v1::CASE_STATUS_UNSPECIFIED && status != st) continue;
              v1::CaseSummary c;
              c.set_case_number(it->first);
              c.set_status(st);
              found->push_back(std::move(c));
            }
            r(ok_status());
          });
      if (!s.ok()) return to_grpc(s);
      all.insert(all.end(), found->begin(), found->end());
    }
    std::sort(all.begin(), all.end(), [](const v1::CaseSummary& a, const v1::CaseSummary& b) {
      return a.case_number() < b.case_number();
    });
    for (size_t i = 0; i < all.size() && i < page; ++i) *resp->add_cases() = all[i];
    if (all.size() > page) resp->set_next_page_token(all[page - 1].case_number());
    return grpc::Status::OK;
  }

  grpc::Status do_WatchEvents(grpc::ServerContext* ctx, const v1::WatchEventsRequest* req,
                              grpc::ServerWriter<v1::EngineEvent>* writer) {
    const InFlight counted(in_flight);
    std::string who;
    if (grpc::Status a = authorize(ctx, "WatchEvents", Role::kCaseServer, req->case_number(), &who);
        !a.ok())
      return a;
    uint64_t after = req->after_cursor();
    std::vector<v1::EngineEvent> batch;
    while (!ctx->IsCancelled()) {
      batch.clear();
      if (!events->wait_after(after, 256, std::chrono::milliseconds(100), batch)) {
        return grpc::Status(
            grpc::StatusCode::UNAVAILABLE,
            "the server is shutting down; resume from cursor " + std::to_string(after));
      }
      for (const v1::EngineEvent& e : batch) {
        after = e.cursor();
        if (!req->case_number().empty() && e.case_number() != req->case_number()) continue;
        if (!writer->Write(e)) return grpc::Status::OK;  // The client went away.
      }
    }
    return grpc::Status::OK;
  }

  // ---- The access log: one JSON line per call -------------------------------------------

  template <typename Call>
  grpc::Status logged(grpc::ServerContext* ctx, std::string_view rpc, const std::string& number,
                      const std::string& request, const Call& call) {
    const auto t0 = std::chrono::steady_clock::now();
    const grpc::Status s = call();
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    const std::string message = masked_in(s.error_message(), number);
    LogLine line(s.ok() ? LogLevel::kInfo : LogLevel::kWarn, "rpc");
    line.str("rpc", rpc)
        .str("request_id", request_id(rpc, request))
        .str("principal", principal(ctx))
        .str("case", number.empty() ? "" : mask_case_number(number))
        .str("code", code_name(s.error_code()))
        .num("ms", ms);
    if (!message.empty()) line.str("message", message);
    return s;
  }

  static const char* code_name(grpc::StatusCode c) {
    static const char* kNames[] = {"OK",
                                   "CANCELLED",
                                   "UNKNOWN",
                                   "INVALID_ARGUMENT",
                                   "DEADLINE_EXCEEDED",
                                   "NOT_FOUND",
                                   "ALREADY_EXISTS",
                                   "PERMISSION_DENIED",
                                   "RESOURCE_EXHAUSTED",
                                   "FAILED_PRECONDITION",
                                   "ABORTED",
                                   "OUT_OF_RANGE",
                                   "UNIMPLEMENTED",
                                   "INTERNAL",
                                   "UNAVAILABLE",
                                   "DATA_LOSS",
                                   "UNAUTHENTICATED"};
    const int i = static_cast<int>(c);
    return i >= 0 && i <= 16 ? kNames[i] : "UNKNOWN";
  }

  grpc::Status FileCase(grpc::ServerContext* ctx, const v1::FileCaseRequest* req,
                        v1::FileCaseResponse* resp) override {
    return logged(ctx, "FileCase", req->filing().case_number(), req->SerializeAsString(),
                  [&] { return do_FileCase(ctx, req, resp); });
  }
  grpc::Status Terminate(grpc::ServerContext* ctx, const v1::TerminateRequest* req,
                         v1::TerminateResponse* resp) override {
    return logged(ctx, "Terminate", req->case_number(), req->SerializeAsString(),
                  [&] { return do_Terminate(ctx, req, resp); });
  }
  grpc::Status Restore(grpc::ServerContext* ctx, const v1::RestoreRequest* req,
                       v1::RestoreResponse* resp) override {
    return logged(ctx, "Restore", req->case_number(), req->SerializeAsString(),
                  [&] { return do_Restore(ctx, req, resp); });
  }
  grpc::Status RestoreOnLead(grpc::ServerContext* ctx, const v1::RestoreOnLeadRequest* req,
                             v1::RestoreResponse* resp) override {
    return logged(ctx, "RestoreOnLead", req->case_number(), req->SerializeAsString(),
                  [&] { return do_RestoreOnLead(ctx, req, resp); });
  }
  grpc::Status GetCase(grpc::ServerContext* ctx, const v1::GetCaseRequest* req,
                       v1::CaseState* resp) override {
    return logged(ctx, "GetCase", req->case_number(), req->SerializeAsString(),
                  [&] { return do_GetCase(ctx, req, resp); });
  }
  grpc::Status ListCases(grpc::ServerContext* ctx, const v1::ListCasesRequest* req,
                         v1::ListCasesResponse* resp) override {
    return logged(ctx, "ListCases", std::string(), req->SerializeAsString(),
                  [&] { return do_ListCases(ctx, req, resp); });
  }
  grpc::Status WatchEvents(grpc::ServerContext* ctx, const v1::WatchEventsRequest* req,
                           grpc::ServerWriter<v1::EngineEvent>* writer) override {
    return logged(ctx, "WatchEvents", req->case_number(), req->SerializeAsString(),
                  [&] { return do_WatchEvents(ctx, req, writer); });
  }

  // ---- Start and stop --------------------------------------------------------------------

  Status build(const connectors::ConnectorRegistry& registry) {
    clients.store(
        std::make_shared<const ClientSet>(settings.clients.begin(), settings.clients.end()));
    officers.store(
        std::make_shared<const OfficerMap>(settings.officers.begin(), settings.officers.end()));

    engine::RocksJournalOptions jo;
    jo.path = settings.journal_path;
    jo.create_if_missing = true;
    jo.truncate_corrupt_tail = settings.journal_truncate_torn_tail;
    StatusOr<std::unique_ptr<engine::RocksJournal>> j = engine::RocksJournal::open(jo);
    if (!j.ok()) {
      return Status(j.status().code(),
                    "journal " + jo.path + ": " + std::string(j.status().message()));
    }
    journal = std::move(*j);
    if (journal->truncated()) {
      LogLine(LogLevel::kWarn, "journal_tail_truncated")
          .str("journal", jo.path)
          .str("detail", "a torn final record (never acknowledged) was cut");
    }
    events = std::make_unique<EventLog>(*journal);
    CHAKONG_RETURN_IF_ERROR(events->load());
    uint64_t refusals = 0;
    CHAKONG_RETURN_IF_ERROR(
        journal->scan("service/refused/", [&](std::string_view, std::string_view) { ++refusals; }));
    next_refusal = refusals + 1;

    std::vector<Executor*> shard_ptrs;
    for (size_t i = 0; i < settings.shards; ++i) {
      shards.push_back(std::make_unique<AsioExecutor>());
      shard_ptrs.push_back(shards.back().get());
    }
    std::vector<connectors::Connector*> conns;
    for (ServeSettings::Connector& c : settings.connectors) {
      // One connection per institutions server, whatever the number of its channels used.
      const std::string where = c.tcp.empty() ? "socket " + c.socket : "tcp " + c.tcp;
      auto& client = sockets[where];
      if (!client) {
        StatusOr<std::shared_ptr<connectors::SocketClient>> cl =
            c.tcp.empty() ? connectors::SocketClient::connect(c.socket)
                          : connectors::SocketClient::connect_tcp(
                                c.tcp, connectors::TcpClientOptions{c.tls, {}});
        if (!cl.ok()) {
          return Status(cl.status().code(), "connector " + c.name + ": institutions " + where +
                                                ": " + std::string(cl.status().message()));
        }
        client = std::move(*cl);
      }
      connectors::ConnectorContext ctx;
      ctx.executor = &io;
      ctx.transport = client->channel(c.channel);
      const connectors::ConnectorFactory* f = registry.find(c.adapter);
      StatusOr<std::unique_ptr<connectors::Connector>> made = f->create(*c.config, std::move(ctx));
      if (!made.ok()) {
        return Status(made.status().code(),
                      "connector " + c.name + ": " + std::string(made.status().message()));
      }
      auto wrapped = std::make_unique<CountingConnector>(std::move(*made));
      counting.push_back(wrapped.get());
      conns.push_back(wrapped.get());
      owned_connectors.push_back(std::move(wrapped));
    }

    engine::EngineConfig config = settings.engine;
    config.journal = journal.get();
    config.journal_cases = true;
    if (settings.calendar) config.calendar = &*settings.calendar;
    StatusOr<std::unique_ptr<engine::Engine>> e =
        engine::Engine::create(std::move(config), shard_ptrs, conns);
    if (!e.ok()) return Status(e.status().code(), "engine: " + std::string(e.status().message()));
    engine = std::move(*e);
    for (size_t i = 0; i < settings.officers.size(); ++i) {
      const auto& [id, court] = settings.officers[i];
      if (Status s = engine->register_officer(id, court); !s.ok()) {
        return Status(s.code(), settings.file + ": officers[" + std::to_string(i) +
                                    "]: " + std::string(s.message()));
      }
    }
    shard_metrics.resize(shards.size());
    engine->set_observer([this](const engine::Event& ev) {
      // On the event's shard thread (or the starting thread, before the shards run).
      const size_t i = t_shard >= 0
                           ? static_cast<size_t>(t_shard)
                           : (ev.case_number.empty() ? 0 : engine->shard_of(ev.case_number));
      ++shard_metrics[i].events[static_cast<int>(ev.type)];
      events->append(ev);
    });

    // The service's case list, by shard, before the engine runs.
    cases.resize(shards.size());
    CHAKONG_RETURN_IF_ERROR(
        journal->scan("service/case/", [&](std::string_view key, std::string_view value) {
          const std::string_view number = key.substr(std::string_view("service/case/").size());
          cases[engine->shard_of(number)].emplace(std::string(number), std::string(value));
        }));

    CHAKONG_RETURN_IF_ERROR(engine->start());
    recovered_cases = engine->stats().recovered_cases;

    for (auto& s : shards) s->add_work();
    io.add_work();
    for (size_t i = 0; i < shards.size(); ++i) {
      threads.emplace_back([ex = shards[i].get(), i] {
        t_shard = static_cast<int>(i);
        ex->run();
      });
    }
    threads.emplace_back([this] { io.run(); });

    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    std::shared_ptr<grpc::ServerCredentials> creds;
    if (settings.plaintext) {
      creds = grpc::InsecureServerCredentials();
    } else {
      StatusOr<std::unique_ptr<ListenerTls>> t = ListenerTls::create(listener_material(settings));
      if (!t.ok()) {
        return Status(t.status().code(),
                      settings.file + ": listen: " + std::string(t.status().message()));
      }
      listener_tls = std::move(*t);
      creds = listener_tls->credentials();
    }
    builder.AddListeningPort(settings.address, creds, &port);
    builder.RegisterService(this);
    server = builder.BuildAndStart();
    if (!server || (!settings.address.starts_with("unix:") && port == 0)) {
      return Status(
          StatusCode::kUnavailable,
          settings.file + ": listen.address: cannot listen on '" + settings.address + "'");
    }
    if (settings.address.starts_with("unix:")) port = 0;
    server->GetHealthCheckService()->SetServingStatus(true);
    server->GetHealthCheckService()->SetServingStatus(kServiceName, true);
    if (!settings.metrics_address.empty()) {
      StatusOr<std::unique_ptr<HttpServer>> h = HttpServer::start(
          settings.metrics_address, [this](std::string_view target) { return http_page(target); });
      if (!h.ok()) {
        return Status(h.status().code(), settings.file + ": " + std::string(h.status().message()));
      }
      http = std::move(*h);
    }
    ready = true;
    return ok_status();
  }

  // ---- Reload (SIGHUP) -------------------------------------------------------------------

  StatusOr<std::vector<std::string>> reload(const ServeSettings& fresh) {
    std::lock_guard<std::mutex> lock(reload_mu);
    StatusOr<std::vector<std::string>> applied = try_reload(fresh);
    (applied.ok() ? reloads_applied : reloads_refused).fetch_add(1);
    return applied;
  }

  // Checks everything `fresh` would change, then applies it; nothing when a check fails.
  StatusOr<std::vector<std::string>> try_reload(const ServeSettings& fresh) {
    // ---- 1. Checks. The file itself was checked whole by load_serve_config().
    for (const auto& [name, dc] : fresh.engine.dispatch_overrides) {
      const bool running =
          std::any_of(counting.begin(), counting.end(),
                      [&](const CountingConnector* c) { return c->name() == name; });
      if (!running) {
        return invalid_argument_error(fresh.file + ": dispatch: '" + name +
                                      "' is not a connector of the running server (connectors "
                                      "change only at a restart)");
      }
    }
    // Renewed institutions TLS material, for connections that are TLS before and after (a
    // change between plaintext and TLS, or of address, waits for the next start).
    std::vector<std::pair<connectors::SocketClient*, connectors::TlsClientOptions>> tls;
    for (const ServeSettings::Connector& c : fresh.connectors) {
      if (c.tcp.empty() || !c.tls) continue;
      auto it = sockets.find("tcp " + c.tcp);
      const bool was_tls = std::any_of(
          settings.connectors.begin(), settings.connectors.end(),
          [&](const ServeSettings::Connector& old) { return old.tcp == c.tcp && old.tls; });
      if (it != sockets.end() && was_tls) tls.emplace_back(it->second.get(), *c.tls);
    }

    // The listener's TLS material, for a listener that is TLS in both configs.
    const bool listener_renewable = listener_tls != nullptr && !fresh.plaintext;
    if (listener_renewable) {
      if (Status st = ListenerTls::check(listener_material(fresh)); !st.ok()) {
        return Status(st.code(), fresh.file + ": listen: " + std::string(st.message()));
      }
    }

    // ---- 2. The engine's officers and dispatch settings: checked whole by the engine too, and
    // nothing is applied when it refuses. Each shard applies them on its own thread; this
    // waits (off the request path) until every shard has.
    engine::ReloadableConfig rc;
    rc.officers = fresh.officers;
    rc.dispatch = fresh.engine.dispatch;
    rc.dispatch_overrides = fresh.engine.dispatch_overrides;
    auto shards_done = std::make_shared<std::promise<void>>();
    std::future<void> all_applied = shards_done->get_future();
    StatusOr<uint64_t> generation =
        engine->reload(rc, [shards_done](uint64_t) { shards_done->set_value(); });
    if (!generation.ok()) {
      return Status(generation.status().code(),
                    fresh.file + ": " + std::string(generation.status().message()));
    }
    if (all_applied.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      LogLine(LogLevel::kWarn, "sighup_slow_shard")
          .num("generation", static_cast<int64_t>(*generation))
          .str("detail", "a shard has not applied the new settings within 10 s; it will");
    }

    // ---- 3. The service's own sets (one atomic store each) and the institutions' TLS.
    officers.store(
        std::make_shared<const OfficerMap>(fresh.officers.begin(), fresh.officers.end()));
    clients.store(std::make_shared<const ClientSet>(fresh.clients.begin(), fresh.clients.end()));
    std::vector<std::string> applied{"clients", "officers", "dispatch"};
    bool tls_applied = false;
    for (auto& [client, options] : tls) tls_applied = client->set_tls(options).ok() || tls_applied;
    if (tls_applied) applied.push_back("connectors.transport.tls");
    if (listener_renewable) {
      StatusOr<bool> renewed = listener_tls->renew(listener_material(fresh));
      if (!renewed.ok()) {
        // Checked above: only writing the private copies can fail here; the old material
        // stays served, and the rest is applied already.
        LogLine(LogLevel::kError, "sighup_listen_tls").str("error", renewed.status().to_string());
      } else if (*renewed) {
        applied.push_back("listen.tls");
      }
    }
    return applied;
  }

  // ---- /metrics, /healthz, /readyz ---------------------------------------------------------

  HttpReply http_page(std::string_view target) {
    if (target == "/healthz") return {200, "text/plain; charset=utf-8", "ok\n"};
    if (target == "/readyz") {
      if (!ready.load() || stopping.load()) {
        return {503, "text/plain; charset=utf-8", "not ready: starting or shutting down\n"};
      }
      if (journal_failures.load() + events->append_failures() > 0) {
        return {503, "text/plain; charset=utf-8", "not ready: a journal write failed\n"};
      }
      return {200, "text/plain; charset=utf-8", "ready\n"};
    }
    if (target == "/metrics") {
      return {200, "text/plain; version=0.0.4; charset=utf-8", metrics_text()};
    }
    return {404, "text/plain; charset=utf-8", "not found (try /metrics, /healthz, /readyz)\n"};
  }

  // What one shard reports, gathered on its own thread.
  struct ShardSample {
    ShardMetrics metrics;
    uint64_t open_clocks = 0;
    std::map<int, uint64_t> by_status;               // v1::CaseStatus -> cases.
    std::vector<engine::DispatcherGauges> dispatch;  // By connector, as `counting`.
  };

  // Collects every shard's sample by posting to its executor (the shards keep running);
  // a shard that does not answer within 2 s is counted in *missing.
  std::vector<ShardSample> gather(size_t* missing) {
    std::vector<std::future<ShardSample>> answers;
    for (size_t i = 0; i < shards.size(); ++i) {
      auto p = std::make_shared<std::promise<ShardSample>>();
      answers.push_back(p->get_future());
      shards[i]->post([this, i, p] {
        ShardSample s;
        s.metrics = shard_metrics[i];
        for (const auto& [number, content] : cases[i]) {
          StatusOr<engine::CaseView> v = engine->case_view(number);
          if (!v.ok()) continue;
          s.open_clocks += static_cast<uint64_t>(v->open_control_clocks);
          ++s.by_status[static_cast<int>(to_proto(v->status))];
        }
        for (const CountingConnector* c : counting) {
          s.dispatch.push_back(engine->dispatcher_gauges(i, c->name()));
        }
        p->set_value(std::move(s));
      });
    }
    std::vector<ShardSample> out;
    *missing = 0;
    for (auto& a : answers) {
      if (a.wait_for(std::chrono::seconds(2)) != std::future_status::ready) {
        ++*missing;
        continue;
      }
      out.push_back(a.get());
    }
    return out;
  }

  std::string metrics_text() {
    std::string out;
    auto metric = [&out](const std::string& name, const char* type, const std::string& help) {
      out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    };
    auto sample = [&out](const std::string& name, const std::string& labels, uint64_t v) {
      out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + std::to_string(v) + "\n";
    };
    size_t missing = 0;
    const std::vector<ShardSample> samples = gather(&missing);
    uint64_t by_type[kEventTypes] = {};
    uint64_t open_clocks = 0;
    std::map<int, uint64_t> by_status;
    for (const ShardSample& s : samples) {
      for (int t = 0; t < kEventTypes; ++t) by_type[t] += s.metrics.events[t];
      open_clocks += s.open_clocks;
      for (const auto& [st, n] : s.by_status) by_status[st] += n;
    }

    metric("chakong_rpc_calls_total", "counter", "RPCs received (health excluded).");
    sample("chakong_rpc_calls_total", "", calls.load());
    metric("chakong_rpc_refused_total", "counter", "RPCs refused, by reason.");
    sample("chakong_rpc_refused_total", "reason=\"unauthenticated\"", unauthenticated.load());
    sample("chakong_rpc_refused_total", "reason=\"permission_denied\"", permission_denied.load());
    metric("chakong_rpc_in_flight", "gauge", "RPCs being handled now (watch streams included).");
    sample("chakong_rpc_in_flight", "", static_cast<uint64_t>(std::max(0, in_flight.load())));
    metric("chakong_filings_replayed_total", "counter", "FileCase retries answered OK again.");
    sample("chakong_filings_replayed_total", "", replayed.load());

    metric("chakong_institution_requests_total", "counter",
           "Requests answered by institutions (each attempt), by connector, kind and outcome.");
    metric("chakong_institution_requests_in_flight", "gauge",
           "Requests sent to the connector and not answered yet.");
    static const char* kOutcome[] = {"ok", "in_doubt", "error"};
    for (const CountingConnector* c : counting) {
      for (int k = 1; k < CountingConnector::kKinds; ++k) {
        const std::string kind(
            connectors::request_kind_name(static_cast<connectors::RequestKind>(k)));
        for (int o = 0; o < CountingConnector::kOutcomes; ++o) {
          sample("chakong_institution_requests_total",
                 "connector=\"" + c->name() + "\",kind=\"" + kind + "\",outcome=\"" + kOutcome[o] +
                     "\"",
                 c->count(k, o));
        }
      }
    }
    for (const CountingConnector* c : counting) {
      sample("chakong_institution_requests_in_flight", "connector=\"" + c->name() + "\"",
             c->in_flight());
    }
    Histogram::header(out, "chakong_institution_request_seconds",
                      "Time from sending a request to its answer (each attempt), by connector.");
    for (const CountingConnector* c : counting) {
      c->latency().samples(out, "chakong_institution_request_seconds",
                           "connector=\"" + c->name() + "\"");
    }
    metric("chakong_dispatcher_queued", "gauge",
           "Requests waiting in the engine's dispatcher to be sent, by connector and lane.");
    for (size_t j = 0; j < counting.size(); ++j) {
      for (int l = 0; l < engine::kLaneCount; ++l) {
        uint64_t n = 0;
        for (const ShardSample& s : samples) n += s.dispatch[j].queued[l];
        sample("chakong_dispatcher_queued",
               "connector=\"" + counting[j]->name() + "\",lane=\"" +
                   lower(engine::lane_name(static_cast<engine::Lane>(l))) + "\"",
               n);
      }
    }
    auto per_connector = [&](const std::string& name, const char* help, auto value) {
      metric(name, "gauge", help);
      for (size_t j = 0; j < counting.size(); ++j) {
        uint64_t n = 0;
        for (const ShardSample& s : samples) n += value(s.dispatch[j]);
        sample(name, "connector=\"" + counting[j]->name() + "\"", n);
      }
    };
    per_connector("chakong_dispatcher_batches_in_flight",
                  "Batches the dispatchers sent and that are not answered, by connector.",
                  [](const engine::DispatcherGauges& g) {
                    return static_cast<uint64_t>(std::max(0, g.in_flight));
                  });
    per_connector("chakong_dispatcher_breaker_open",
                  "Shards whose circuit breaker for the connector is open or half-open (0: "
                  "closed everywhere).",
                  [](const engine::DispatcherGauges& g) { return g.breaker_open ? 1u : 0u; });

    metric("chakong_control_clocks_open", "gauge",
           "48-hour control clocks running now, over the cases of the service.");
    sample("chakong_control_clocks_open", "", open_clocks);
    metric("chakong_control_clocks_met_total", "counter", "48-hour clocks met (this process).");
    sample("chakong_control_clocks_met_total", "",
           by_type[static_cast<int>(engine::EventType::kControlMet)]);
    metric("chakong_control_clocks_missed_total", "counter",
           "48-hour clocks missed (this process).");
    sample("chakong_control_clocks_missed_total", "",
           by_type[static_cast<int>(engine::EventType::kControlMissed)]);
    metric("chakong_sweep_runs_started_total", "counter", "Library sweep runs started.");
    sample("chakong_sweep_runs_started_total", "",
           by_type[static_cast<int>(engine::EventType::kSweepRunStarted)]);
    metric("chakong_sweep_runs_finished_total", "counter", "Library sweep runs finished.");
    sample("chakong_sweep_runs_finished_total", "",
           by_type[static_cast<int>(engine::EventType::kSweepRunFinished)]);
    metric("chakong_sweep_hits_total", "counter", "Library cases found with property.");
    sample("chakong_sweep_hits_total", "", by_type[static_cast<int>(engine::EventType::kSweepHit)]);
    metric("chakong_engine_events_total", "counter", "Engine events by kind (this process).");
    for (int t = 0; t < kEventTypes; ++t) {
      sample("chakong_engine_events_total",
             "kind=\"" + std::string(engine::event_type_name(static_cast<engine::EventType>(t))) +
                 "\"",
             by_type[t]);
    }
    metric("chakong_cases", "gauge", "Cases filed or restored through the service, by status.");
    for (const auto& [st, n] : by_status) {
      sample("chakong_cases",
             "status=\"" + lower(v1::CaseStatus_Name(static_cast<v1::CaseStatus>(st)).substr(12)) +
                 "\"",
             n);
    }
    metric("chakong_shards_unanswered", "gauge",
           "Shards that did not answer this scrape within 2 s (their figures are missing).");
    sample("chakong_shards_unanswered", "", missing);

    const engine::RocksJournal::Stats js = journal->stats();
    metric("chakong_journal_changes_total", "counter", "Changes appended to the journal.");
    sample("chakong_journal_changes_total", "", js.changes);
    metric("chakong_journal_groups_total", "counter",
           "Synced group writes (changes_total / groups_total: the mean group size).");
    sample("chakong_journal_groups_total", "", js.groups);
    metric("chakong_journal_group_size_max", "gauge", "The largest group written.");
    sample("chakong_journal_group_size_max", "", js.max_group);
    sync_latency.write(out, "chakong_journal_sync_seconds",
                       "Wait of an acknowledged call for its journal sync.");
    metric("chakong_journal_failures_total", "counter", "Failed journal writes of the service.");
    sample("chakong_journal_failures_total", "",
           journal_failures.load() + events->append_failures());
    metric("chakong_event_log_cursor", "gauge", "The last durable event's cursor.");
    sample("chakong_event_log_cursor", "", events->durable());
    metric("chakong_recovered_cases", "gauge", "Cases the engine rebuilt at start.");
    sample("chakong_recovered_cases", "", recovered_cases);
    metric("chakong_config_generation", "gauge",
           "The configuration every shard runs: 0 as started, +1 for each SIGHUP applied.");
    sample("chakong_config_generation", "", engine->config_generation());
    metric("chakong_config_reloads_total", "counter", "SIGHUP reloads, by outcome.");
    sample("chakong_config_reloads_total", "outcome=\"applied\"", reloads_applied.load());
    sample("chakong_config_reloads_total", "outcome=\"refused\"", reloads_refused.load());
    return out;
  }

  Status shutdown(std::chrono::milliseconds grace) {
    std::lock_guard<std::mutex> lock(shutdown_mu);
    if (shut_down) return final_status;
    shut_down = true;
    ready = false;
    if (server) {
      server->GetHealthCheckService()->SetServingStatus(false);
      // Ends health Watch streams too, which would otherwise hold Shutdown() to its deadline.
      server->GetHealthCheckService()->Shutdown();
      events->stop();  // Event streams end (their clients resume with a cursor).
      // Stop accepting, then let the calls in flight finish (each waits for its journal sync).
      stopping = true;
      const auto until = std::chrono::steady_clock::now() + grace;
      while (in_flight.load() > 0 && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      // What is still running now is cancelled.
      server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
      server->Wait();
    }
    if (events) events->stop();
    http.reset();  // Its scrapes post to the shards: gone before they stop.
    if (engine && !threads.empty()) {
      // Everything each shard changed is made durable while the shards still run.
      for (auto& shard : shards) {
        auto synced = std::make_shared<std::promise<Status>>();
        std::future<Status> done = synced->get_future();
        shard->post([this, synced] {
          engine->sync([synced](Status s) { synced->set_value(std::move(s)); });
        });
        if (done.wait_for(grace + std::chrono::seconds(5)) != std::future_status::ready) {
          final_status =
              Status(StatusCode::kDeadlineExceeded, "the last journal sync did not return");
          break;
        }
        if (Status st = done.get(); !st.ok() && final_status.ok()) final_status = st;
      }
    }
    // The shards stop first (nothing submits any more); the connector executor runs on, so
    // that the connectors drain: each completes its open calls (CANCELLED, contract rule 5)
    // back through the counting wrapper into the dispatchers, whose completions go to the
    // stopped shard executors and are dropped with them. Stopping the connector executor
    // first would leave those calls open for ever (their state freed, never completed).
    for (auto& s : shards) s->stop();
    const bool io_running = !threads.empty();  // The last thread runs `io`.
    for (size_t i = 0; i + 1 < threads.size(); ++i) threads[i].join();
    if (io_running) {
      uint64_t cancelled = 0, left = 0;
      for (CountingConnector* c : counting) {
        const uint64_t open = c->in_flight();
        const uint64_t still = c->drain(std::chrono::seconds(2));
        cancelled += open - still;
        left += still;
        if (still != 0) {
          LogLine(LogLevel::kWarn, "connector_not_drained")
              .str("connector", c->name())
              .num("open_requests", static_cast<int64_t>(still));
        }
      }
      LogLine(LogLevel::kInfo, "connectors_drained")
          .num("cancelled", static_cast<int64_t>(cancelled))
          .num("left", static_cast<int64_t>(left));
    }
    // Close the institutions' connections: each socket's reader thread completes the
    // transport calls still waiting (kUnavailable, posted to `io`; the connectors ended their
    // wire calls already, so this only releases what the callbacks hold). The socket API has
    // no way to wait for its reader, hence the short bounded pause.
    for (auto& [path, client] : sockets) client->close();
    if (!sockets.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    io.stop();
    if (io_running) threads.back().join();
    threads.clear();
    if (journal) {
      // What the last tasks appended; its callbacks post to stopped (but living) executors.
      std::promise<Status> flushed;
      std::future<Status> f = flushed.get_future();
      journal->sync([&flushed](Status s) { flushed.set_value(std::move(s)); });
      const Status last = f.get();
      if (final_status.ok()) final_status = last;
    }
    return final_status;
  }
};

CaseServer::CaseServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

CaseServer::~CaseServer() {
  if (impl_) (void)impl_->shutdown(std::chrono::seconds(5));
}

StatusOr<std::unique_ptr<CaseServer>> CaseServer::start(
    ServeSettings settings, const connectors::ConnectorRegistry& registry) {
  set_log_level(settings.log_level);
  auto impl = std::make_unique<Impl>();
  impl->settings = std::move(settings);
  if (Status s = impl->build(registry); !s.ok()) {
    (void)impl->shutdown(std::chrono::seconds(1));
    return s;
  }
  return std::unique_ptr<CaseServer>(new CaseServer(std::move(impl)));
}

int CaseServer::port() const { return impl_->port; }

StatusOr<std::vector<std::string>> CaseServer::reload(const ServeSettings& fresh) {
  return impl_->reload(fresh);
}

void CaseServer::count_refused_reload() { impl_->reloads_refused.fetch_add(1); }

int CaseServer::metrics_port() const { return impl_->http ? impl_->http->port() : 0; }

Status CaseServer::shutdown(std::chrono::milliseconds grace) { return impl_->shutdown(grace); }

ServiceCounters CaseServer::counters() const {
  ServiceCounters c;
  c.calls = impl_->calls.load();
  c.unauthenticated = impl_->unauthenticated.load();
  c.permission_denied = impl_->permission_denied.load();
  c.filings_replayed = impl_->replayed.load();
  c.journal_failures =
      impl_->journal_failures.load() + (impl_->events ? impl_->events->append_failures() : 0);
  c.events = impl_->events ? impl_->events->durable() : 0;
  c.recovered_cases = impl_->recovered_cases;
  c.config_generation = impl_->engine ? impl_->engine->config_generation() : 0;
  c.reloads_refused = impl_->reloads_refused.load();
  return c;
}

}  // namespace chakong::service
