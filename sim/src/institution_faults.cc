#include "institution_faults.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace chakong::sim {

using connectors::Request;
using connectors::RequestKind;
using connectors::Response;

FaultConnector::FaultConnector(std::unique_ptr<connectors::Connector> inner, Executor& executor,
                               institution::Institution& truth, InstitutionFaults faults,
                               const AnswerTime* answer_time)
    : inner_(std::move(inner)),
      executor_(executor),
      truth_(truth),
      f_(faults),
      answer_time_(answer_time),
      rng_(faults.seed) {}

// One batch on its way through: the requests forwarded (a view), where each one's answer goes
// in the caller's sink, and which were queries (for the drains). Deletes itself on completion.
class FaultConnector::Call final : public connectors::BatchSink {
 public:
  Call(FaultConnector& owner, connectors::BatchSink& outer, size_t n)
      : owner_(owner), outer_(outer), refused_(n, 0) {}

  void refuse(size_t i) { refused_[i] = 1; }
  void forward(size_t i, const Request* r) {
    pointers_.push_back(r);
    position_.push_back(i);
    query_.push_back(r->kind == RequestKind::kQuery ? 1 : 0);
  }
  connectors::BatchView view() const { return connectors::BatchView(pointers_); }
  bool empty() const { return pointers_.empty(); }

  Response& response(size_t k) override {
    // A connector answers only the slots of its batch; anything else is its bug, kept apart.
    if (k >= position_.size()) return stray_;
    return outer_.response(position_[k]);
  }
  void complete() override {
    for (size_t i = 0; i < refused_.size(); ++i) {
      if (!refused_[i]) continue;
      outer_.response(i) = Response::error(
          permission_denied_error("the institution refused the renewal (simulated fault)"));
    }
    if (owner_.f_.drain_share > 0) {
      std::uniform_real_distribution<double> u01(0, 1);
      for (size_t k = 0; k < position_.size(); ++k) {
        if (!query_[k]) continue;
        const Response& r = outer_.response(position_[k]);
        if (!r.status.ok()) continue;
        for (const Asset& a : r.assets) {
          if (a.category == AssetCategory::kDeposit && a.value.value() > 0 &&
              u01(owner_.rng_) < owner_.f_.drain_share) {
            owner_.drain_later(a.reference);
          }
        }
      }
    }
    connectors::BatchSink& outer = outer_;
    delete this;
    outer.complete();
  }

 private:
  FaultConnector& owner_;
  connectors::BatchSink& outer_;
  std::vector<char> refused_;
  std::vector<const Request*> pointers_;
  std::vector<size_t> position_;
  std::vector<char> query_;
  Response stray_;
};

void FaultConnector::async_submit(connectors::BatchView batch, connectors::BatchSink& sink) {
  std::uniform_real_distribution<double> u(0, 1);
  auto* call = new Call(*this, sink, batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    const Request& r = batch[i];
    if (r.kind == RequestKind::kRenew && f_.renewal_refusal_rate > 0 &&
        u(rng_) < f_.renewal_refusal_rate) {
      call->refuse(i);
      ++renewals_refused_;
      continue;
    }
    call->forward(i, &r);
  }
  if (call->empty()) {
    executor_.post([call] { call->complete(); });
    return;
  }
  inner_->async_submit(call->view(), *call);
}

void FaultConnector::drain_later(const std::string& reference) {
  std::uniform_int_distribution<TimeUs> at(0, f_.drain_window - 1);
  const TimeUs answered =
      answer_time_ != nullptr ? std::max(executor_.now(), answer_time_->due) : executor_.now();
  executor_.run_at(answered + at(rng_), [this, reference] {
    StatusOr<Fen> took = truth_.debit(reference, Fen(std::numeric_limits<int64_t>::max() / 4));
    if (took.ok() && took->value() > 0) ++drained_;
  });
}

}  // namespace chakong::sim
