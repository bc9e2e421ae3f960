// RankConnector: LpConnector's counterpart for a run over MPI ranks, where a shard's LP and
// an institution's LP may be in different processes. The batch crosses as bytes
// (lp_wire.h, ParallelTime::send_bytes) instead of as a task holding the caller's requests:
// the institution's LP decodes its own copy of the requests, hands them to `inner` (the
// adapter, its transport and the institution, on that LP's executor) `transit` after the
// submission, and `transit` after `inner` completes its answers cross back as bytes, are
// written into the caller's sink and it completes, on the caller's LP. The same times and the
// same order as LpConnector (the kernel orders bytes and tasks by one key), so a report is the
// same whichever carries the batches.
//
// LpRouter is every LP's receiver: it decodes what arrives and hands requests to the
// connector of the receiving (institution) LP and answers to the connector of the sending
// one. A message that does not decode is answered in doubt (kDataLoss naming the field) when
// its call can be told, else counted in undecodable().
#ifndef CHAKONG_SIM_SRC_RANK_CONNECTOR_H_
#define CHAKONG_SIM_SRC_RANK_CONNECTOR_H_

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "chakong/sim/parallel_time.h"
#include "lp_crossing.h"
#include "lp_wire.h"

namespace chakong::sim {

class RankConnector final : public LpCrossing {
 public:
  // `inner` is used only on LP `lp`'s rank; the times and early output: LpCrossing.
  RankConnector(connectors::Connector& inner, ParallelTime& time, uint32_t lp, TimeUs transit,
                const AnswerTime* answer_time = nullptr);
  ~RankConnector() override;

  // From an event of the caller's LP.
  void async_submit(connectors::BatchView batch, connectors::BatchSink& sink) override;

  // On LP lp(): the requests of call `batch.call` from LP `caller`.
  void serve(uint32_t caller, lp_wire::RequestBatch batch);
  // On LP lp(): call `call` from `caller` could not be read; answers it with `error`.
  void refuse(uint32_t caller, uint64_t call, const Status& error);
  // On the caller's LP: the answer to one of its calls (an unknown call is ignored).
  void answer(uint32_t caller, lp_wire::ResponseBatch batch);
  // Calls sent from LP `caller` and not answered yet.
  size_t in_flight(uint32_t caller) const { return callers_[caller].calls.size(); }

 private:
  class ServerCall;
  struct Pending {
    connectors::BatchSink* out = nullptr;
    size_t size = 0;
  };
  // Per caller LP, touched only by that LP's events (a cache line each).
  struct alignas(64) Caller {
    uint64_t next = 1;  // Call numbers from 1 (0: unknown, lp_wire::call_of).
    std::unordered_map<uint64_t, Pending> calls;
  };

  std::vector<Caller> callers_;
};

class LpRouter {
 public:
  explicit LpRouter(ParallelTime& time);
  // The connector of its LP; before install().
  void add(RankConnector& connector);
  // Sets the receiver of every LP of this rank.
  void install();
  // Messages dropped because neither they nor their call could be read (this rank's).
  uint64_t undecodable() const;

 private:
  void receive(uint32_t to, uint32_t from, const std::string& bytes);

  ParallelTime& time_;
  std::vector<RankConnector*> by_lp_;
  struct alignas(64) Count {
    uint64_t n = 0;
  };
  std::vector<Count> undecodable_;  // Per LP.
};

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_SRC_RANK_CONNECTOR_H_
