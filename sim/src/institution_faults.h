// Faults of a simulated institution that only the meaning of a request can decide, as a
// wrapper around its connector (the wire-level faults are BehaviourTransport's): renewals
// refused, and balances drained between the query that found them and the freeze.
#ifndef CHAKONG_SIM_SRC_INSTITUTION_FAULTS_H_
#define CHAKONG_SIM_SRC_INSTITUTION_FAULTS_H_

#include <memory>
#include <random>

#include "chakong/base/executor.h"
#include "chakong/connectors/connector.h"
#include "chakong/institution/institution.h"
#include "chakong/sim/behaviour.h"

namespace chakong::sim {

struct InstitutionFaults {
  double renewal_refusal_rate = 0;  // Share of renewals refused (PERMISSION_DENIED).
  double drain_share = 0;           // Share of found deposit accounts emptied after a query,
  TimeUs drain_window = 0;          // at a uniform time within this of the answer.
  uint64_t seed = 1;
};

// Refused renewals never reach the institution; a drain withdraws every unfrozen fen of the
// account from the institution's ground truth (`truth`, which must outlive this). A batch goes
// on to the inner connector without its refused requests, through a view of the rest whose
// answers land in the caller's own slots; the caller's sink completes exactly once, never
// inside async_submit (a batch refused whole is answered from a posted task). With early
// output (`answer_time`, behaviour.h) a drain is timed from the answer's due time, not from
// the intake that computed it.
class FaultConnector final : public connectors::Connector {
 public:
  FaultConnector(std::unique_ptr<connectors::Connector> inner, Executor& executor,
                 institution::Institution& truth, InstitutionFaults faults,
                 const AnswerTime* answer_time = nullptr);

  const std::string& name() const override { return inner_->name(); }
  connectors::Capabilities capabilities() const override { return inner_->capabilities(); }
  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override;

  uint64_t renewals_refused() const { return renewals_refused_; }
  uint64_t drained() const { return drained_; }

 private:
  class Call;
  void drain_later(const std::string& reference);

  std::unique_ptr<connectors::Connector> inner_;
  Executor& executor_;
  institution::Institution& truth_;
  InstitutionFaults f_;
  const AnswerTime* answer_time_;
  std::mt19937_64 rng_;
  uint64_t renewals_refused_ = 0, drained_ = 0;
};

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_SRC_INSTITUTION_FAULTS_H_
