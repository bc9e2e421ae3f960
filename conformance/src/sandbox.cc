#include "sandbox.h"

#include <google/protobuf/message.h>

#include <cstdio>

#include "chakong/base/identity.h"

namespace chakong::conformance {
namespace {

std::string resident_id(std::mt19937_64& rng) {
  char first17[18];
  std::snprintf(first17, sizeof first17, "500110%04d%02d%02d%03d",
                1955 + static_cast<int>(rng() % 45), 1 + static_cast<int>(rng() % 12),
                1 + static_cast<int>(rng() % 28), static_cast<int>(rng() % 1000));
  return std::string(first17) + resident_id_check_char(first17);
}

Asset seeded_asset(AssetCategory category, std::string reference, std::string holder,
                   std::mt19937_64& rng) {
  Asset a;
  a.category = category;
  a.reference = std::move(reference);
  a.holder_id = std::move(holder);
  if (category == AssetCategory::kSecurities) {
    a.unit_price = Fen(100 + static_cast<int64_t>(rng() % 9'900));
    a.quantity = 100 + static_cast<int64_t>(rng() % 9'900);
    a.value = Fen(a.unit_price.value() * a.quantity);
  } else if (is_divisible(category)) {
    a.value = Fen(100 * (1'000 + static_cast<int64_t>(rng() % 999'000)));
  } else {
    a.value = Fen(100 * (50'000 + static_cast<int64_t>(rng() % 5'000'000)));
  }
  return a;
}

}  // namespace

void FaultTransport::async_call(std::string request, TransportDone done) {
  ++*calls_;
  switch (mode_) {
    case Mode::kNone: inner_->async_call(std::move(request), std::move(done)); return;
    case Mode::kBlackHole:
      // Never answered. The callback is dropped, not kept: it owns the connector's state, which
      // owns this transport, and keeping it would be a reference cycle.
      done = nullptr;
      return;
    case Mode::kOutage:
      executor_.post([done = std::move(done)] {
        done(unavailable_error("connection refused by the institution's gateway"));
      });
      return;
    case Mode::kCorrupt:
      inner_->async_call(std::move(request), [done = std::move(done)](StatusOr<std::string> r) {
        if (!r.ok()) {
          done(std::move(r));
          return;
        }
        // A length-delimited field 1 claiming 127 bytes that are not there: never parses.
        done(*r + std::string("\x0a\x7f\x01", 3));
      });
      return;
  }
}

Sandbox::Sandbox(const ConnectorFactory& factory, uint64_t seed, FaultTransport::Mode mode,
                 EndpointOptions endpoint, Configure configure, MakeTransport transport)
    : factory_(factory),
      monitor_(std::make_shared<Monitor>(
          current_check_context() ? current_check_context()->submit_bound_us : 5000)),
      executor_(Date::parse("2025-03-03")->start_us() + 10 * kMicrosPerHour),
      truth_(std::string(factory.kind()) + ".sandbox", Capabilities::all()) {
  if (current_check_context()) current_check_context()->monitors.push_back(monitor_);
  executor_.set_monitor(monitor_);
  std::mt19937_64 rng(seed);
  debtor_ = resident_id(rng);
  do {
    other_ = resident_id(rng);
  } while (other_ == debtor_);
  const AssetCategory cat = factory.category();
  for (int i = 0; i < 3; ++i) {
    assets_.push_back(seeded_asset(cat,
                                   std::string(asset_category_name(cat)) + "-" +
                                       std::to_string(seed) + "-" + std::to_string(i),
                                   debtor_, rng));
    status_ = truth_.add_asset(assets_.back());
  }
  if (status_.ok()) {
    status_ = truth_.add_asset(seeded_asset(cat, "other-" + std::to_string(seed), other_, rng));
  }
  std::unique_ptr<google::protobuf::Message> config = factory.default_config();
  if (config == nullptr) {
    status_ = failed_precondition_error("the factory's default_config() returned null");
    return;
  }
  if (configure) configure(*config);
  ConnectorContext ctx;
  ctx.executor = &executor_;
  ctx.transport = std::make_unique<FaultTransport>(
      transport ? transport(executor_) : factory.sandbox_endpoint(truth_, executor_, endpoint),
      executor_, mode, wire_calls_);
  StatusOr<std::unique_ptr<Connector>> c = factory.create(*config, std::move(ctx));
  if (!c.ok()) {
    status_ = c.status();
    return;
  }
  connector_ = std::make_unique<MonitoredConnector>(std::move(c).value(), monitor_, executor_);
}

Sandbox::~Sandbox() {
  try {
    connector_.reset();
    // A call completed late is reported by the monitor (rule 5); one never completed, here.
    executor_.run_until(executor_.now() + 8 * kMicrosPerDay);
    for (const std::shared_ptr<CallRecord>& c : monitor_->calls()) {
      if (c->completions.load() != 0) continue;
      monitor_->record("rule 1 (exactly once)", c->op,
                       "rule 1 (exactly once): " + c->op +
                           " never completed, not even when the connector was destroyed "
                           "(rule 5) (call " +
                           std::to_string(c->index) + ")");
    }
  } catch (const std::exception& e) {
    monitor_->record("teardown", "shutdown",
                     std::string("the connector threw while shut down: ") + e.what());
  } catch (...) {
    monitor_->record("teardown", "shutdown", "the connector threw while shut down");
  }
}

Request Sandbox::request(RequestKind kind, const Asset& asset, Fen amount,
                         const std::string& key) const {
  Request r;
  r.kind = kind;
  r.idempotency_key = key;
  r.case_number = kCase;
  r.debtor_id = debtor_;
  r.officer_id = "cq-0110-017";
  r.ruling_number = kind == RequestKind::kQuery ? "" : std::string(kCase) + "之一";
  r.purpose = "conformance";
  if (kind != RequestKind::kQuery) r.asset = asset;
  r.amount = amount;
  return r;
}

Sandbox::Call::Call(std::vector<Request> batch)
    : requests(std::move(batch)),
      pointers(connectors::pointers_to(requests)),
      slots(requests.size()),
      written(requests.size()) {}

Response& Sandbox::Call::response(size_t i) {
  if (i >= slots.size()) {
    ++extra;
    return overflow;
  }
  written[i] = 1;
  return slots[i];
}

void Sandbox::Call::complete() {
  if (submitting.load()) inline_completion = true;
  if (++completions != 1) return;
  responses.clear();
  for (size_t i = 0; i < slots.size(); ++i) {
    if (written[i]) responses.push_back(std::move(slots[i]));
  }
  responses.resize(responses.size() + extra);
}

std::shared_ptr<Sandbox::Call> Sandbox::submit(std::vector<Request> batch) {
  auto call = std::make_shared<Call>(std::move(batch));
  {
    std::lock_guard<std::mutex> lock(calls_mu_);
    calls_.push_back(call);
  }
  connector_->async_submit(connectors::BatchView(call->pointers), *call);
  call->submitting = false;
  return call;
}

std::shared_ptr<Sandbox::Call> Sandbox::call(std::vector<Request> batch, TimeUs run_for) {
  std::shared_ptr<Call> c = submit(std::move(batch));
  executor_.run_until(executor_.now() + run_for);
  return c;
}

std::string Sandbox::foreign_measure(const Asset& asset, Date end) {
  StatusOr<std::string> id =
      truth_.add_foreign_measure(asset.reference, kOtherAuthority, asset.value, today(), end);
  return id.ok() ? *id : std::string();
}

void Sandbox::release_foreign_measure(const std::string& id) {
  Request release;
  release.kind = RequestKind::kRelease;
  release.idempotency_key = "foreign-release-" + id;
  release.case_number = kOtherAuthority;
  release.ruling_number = std::string(kOtherAuthority) + "之二";
  release.measure_id = id;
  truth_.handle(release, today());
}

}  // namespace chakong::conformance
