#include "institution_faults.h"

#include <limits>

namespace chakong::sim {

using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

FaultConnector::FaultConnector(std::unique_ptr<connectors::Connector> inner, Executor& executor,
                               institution::Institution& truth, InstitutionFaults faults)
    : inner_(std::move(inner)), executor_(executor), truth_(truth), f_(faults), rng_(faults.seed) {}

void FaultConnector::async_submit(std::vector<Request> batch, connectors::BatchCompletion done) {
  std::uniform_real_distribution<double> u(0, 1);
  // Per position: refused here, or forwarded (and whether it is a query, for the drains).
  std::vector<char> refused(batch.size(), 0), query(batch.size(), 0);
  std::vector<Request> forwarded;
  forwarded.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].kind == RequestKind::kRenew && f_.renewal_refusal_rate > 0 &&
        u(rng_) < f_.renewal_refusal_rate) {
      refused[i] = 1;
      ++renewals_refused_;
      continue;
    }
    query[i] = batch[i].kind == RequestKind::kQuery ? 1 : 0;
    forwarded.push_back(std::move(batch[i]));
  }
  const size_t n = batch.size();
  auto merge = [this, n, refused = std::move(refused), query = std::move(query),
                done = std::move(done)](std::vector<Response> answers) mutable {
    std::vector<Response> out;
    out.reserve(n);
    size_t k = 0;
    for (size_t i = 0; i < n; ++i) {
      if (refused[i]) {
        out.push_back(Response::error(
            permission_denied_error("the institution refused the renewal (simulated fault)")));
        continue;
      }
      // A connector answers every request it was given; a short answer stays short.
      if (k >= answers.size()) break;
      Response& r = answers[k++];
      if (query[i] && f_.drain_share > 0 && r.status.ok()) {
        std::uniform_real_distribution<double> u01(0, 1);
        for (const Asset& a : r.assets) {
          if (a.category == AssetCategory::kDeposit && a.value.value() > 0 &&
              u01(rng_) < f_.drain_share) {
            drain_later(a.reference);
          }
        }
      }
      out.push_back(std::move(r));
    }
    done(std::move(out));
  };
  if (forwarded.empty()) {
    executor_.post([merge = std::move(merge)]() mutable { merge({}); });
    return;
  }
  inner_->async_submit(std::move(forwarded), std::move(merge));
}

void FaultConnector::drain_later(const std::string& reference) {
  std::uniform_int_distribution<TimeUs> at(0, f_.drain_window - 1);
  executor_.run_at(executor_.now() + at(rng_), [this, reference] {
    StatusOr<Fen> took = truth_.debit(reference, Fen(std::numeric_limits<int64_t>::max() / 4));
    if (took.ok() && took->value() > 0) ++drained_;
  });
}

}  // namespace chakong::sim
