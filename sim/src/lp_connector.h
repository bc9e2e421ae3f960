// LpConnector: a connector whose institution is another logical process of a ParallelTime
// (docs/architecture.md, "Parallel virtual time in the simulator"). async_submit(), called
// from an event of the caller's LP (an engine shard), sends the batch to the institution's LP
// `lp`, where `inner` (the adapter, its transport and the institution, all on that LP's
// executor) gets it `transit` later; `transit` after `inner` completes, the answers are
// written into the caller's sink and it completes, on the caller's LP. Early output and the
// times: LpCrossing (lp_crossing.h), which RankConnector shares. The two sides share only the
// messages and the batch's requests, which the batch contract keeps in place and unchanged
// until the caller's sink completes (read by the institution's LP on another thread, never
// written meanwhile); so the LPs must be in one process (threads, not ranks).
#ifndef CHAKONG_SIM_SRC_LP_CONNECTOR_H_
#define CHAKONG_SIM_SRC_LP_CONNECTOR_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "lp_crossing.h"

namespace chakong::sim {

class LpConnector final : public LpCrossing {
 public:
  LpConnector(connectors::Connector& inner, ParallelTime& time, uint32_t lp, TimeUs transit,
              const AnswerTime* answer_time = nullptr);
  ~LpConnector() override;

  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override;

 private:
  class Call;
  // Crossings delivered, kept for the next from the same caller LP: at most kMaxSpareCalls
  // an LP, and only those of batches of up to kMaxKeptSlots requests.
  static constexpr size_t kMaxSpareCalls = 256;
  static constexpr size_t kMaxKeptSlots = 8;
  // On the caller's LP, after a crossing was delivered.
  void keep(uint32_t caller, std::unique_ptr<Call> call);

  // One list per LP of the kernel, touched only by that LP's events (a cache line each, so
  // that LPs on different threads do not share one).
  struct alignas(64) Spare {
    std::vector<std::unique_ptr<Call>> calls;
  };
  std::vector<Spare> spare_;
};

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_SRC_LP_CONNECTOR_H_
