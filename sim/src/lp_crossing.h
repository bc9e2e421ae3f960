// What the two connectors that carry batches between logical processes share: LpConnector
// (threads of one process) and RankConnector (ranks). Private to the simulator.
#ifndef CHAKONG_SIM_SRC_LP_CROSSING_H_
#define CHAKONG_SIM_SRC_LP_CROSSING_H_

#include <string>

#include "chakong/base/status.h"
#include "chakong/connectors/connector.h"

namespace chakong::sim {

// A batch submitted outside an event of a logical process has no LP for its answer to come
// back to: every request is refused (kFailedPrecondition, naming `connector`) and the batch
// completed at once. A programming error of the caller, never a path of a run.
inline void refuse_outside_an_lp(const std::string& connector, connectors::BatchView batch,
                                 connectors::BatchSink& sink) {
  for (size_t i = 0; i < batch.size(); ++i) {
    sink.response(i) = connectors::Response::error(failed_precondition_error(
        "connector " + connector + ": submitted outside an event of a logical process"));
  }
  sink.complete();
}

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_SRC_LP_CROSSING_H_
