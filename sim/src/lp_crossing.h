// What the two connectors that carry batches between logical processes share: LpConnector
// (threads of one process, lp_connector.h) and RankConnector (ranks, rank_connector.h).
// Private to the simulator.
#ifndef CHAKONG_SIM_SRC_LP_CROSSING_H_
#define CHAKONG_SIM_SRC_LP_CROSSING_H_

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "chakong/base/status.h"
#include "chakong/connectors/connector.h"
#include "chakong/sim/behaviour.h"
#include "chakong/sim/parallel_time.h"

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

// Splits an institution's answers into parts given ahead of the batch's answer: a 总对总 hub's
// (docs/architecture.md "Hubs"), whose members each answer at their own time. On the
// institution's LP, as its connector completes a batch whose AnswerTime::parts is `id`.
class AnswerParts {
 public:
  struct Part {
    TimeUs at = 0;                  // When it is given: before the batch's answer.
    uint32_t index = 0;             // The request, in the batch.
    connectors::Response response;  // Its assets.
  };
  // Moves out of `responses` (the batch's, in its order) the assets given before `answer_at`
  // into `parts` (with `stream`; else they stay), in (at, index) order, one part per time and
  // request; drops the assets of members that did not answer in time; leaves the rest in
  // `responses`. Forgets `id`; an unknown `id` changes nothing.
  virtual void split(uint64_t id, connectors::BatchView batch,
                     std::span<connectors::Response> responses, TimeUs answer_at, bool stream,
                     std::vector<Part>& parts) = 0;

 protected:
  ~AnswerParts() = default;
};

// The connector both crossings are: it stands for `inner` (its name and capabilities), whose
// institution is LP `lp` of `time`, reached `transit` after a send (>= the ParallelTime's
// lookahead). `inner` is used only on LP lp(). With `answer_time` (early output, behaviour.h)
// the answers leave when `inner` completes but are stamped for AnswerTime::due + `transit`
// when a due time is set then: the institution's LP computed them at intake.
class LpCrossing : public connectors::Connector {
 public:
  // Frees the calls still at `inner` (see AtInner).
  ~LpCrossing() override {
    while (at_inner_ != nullptr) delete at_inner_;
  }
  const std::string& name() const override { return name_; }
  connectors::Capabilities capabilities() const override { return caps_; }
  uint32_t lp() const { return lp_; }
  // A hub's answers are split by member (before the first call; `parts` outlives this).
  void set_answer_parts(AnswerParts* parts) { parts_ = parts; }

 protected:
  LpCrossing(connectors::Connector& inner, ParallelTime& time, uint32_t lp, TimeUs transit,
             const AnswerTime* answer_time)
      : inner_(inner),
        time_(time),
        lp_(lp),
        transit_(transit),
        answer_time_(answer_time),
        name_(inner.name()),
        caps_(inner.capabilities()) {}

  // The LP whose event submits `batch`, or ParallelTime::kNoLp once the batch is refused
  // (refuse_outside_an_lp) because none is running.
  uint32_t caller_of(connectors::BatchView batch, connectors::BatchSink& sink) const {
    const uint32_t caller = ParallelTime::current_lp();
    if (caller == ParallelTime::kNoLp) refuse_outside_an_lp(name_, batch, sink);
    return caller;
  }
  // When a message sent now from LP `from` arrives.
  TimeUs arrival_from(uint32_t from) const { return time_.executor(from).now() + transit_; }
  // On LP lp(), as `inner` completes: when its answers arrive back (early output: computed
  // now, given at their due time).
  TimeUs answer_arrival() const {
    const TimeUs now = time_.executor(lp_).now();
    const TimeUs at = answer_time_ != nullptr ? std::max(now, answer_time_->due) : now;
    return at + transit_;
  }

  // On LP lp(), as `inner` completes `batch` into `responses`: the parts given ahead of the
  // answer, in `out` (none without AnswerParts, or for an answer that names none). `stream`:
  // the caller's sink takes parts (BatchSink::takes_parts); else every asset given stays in
  // `responses`.
  void split_answers(connectors::BatchView batch, std::span<connectors::Response> responses,
                     bool stream, std::vector<AnswerParts::Part>& out) const {
    out.clear();
    if (parts_ == nullptr || answer_time_ == nullptr || answer_time_->parts == 0) return;
    parts_->split(answer_time_->parts, batch, responses, answer_arrival() - transit_, stream, out);
  }

  // A crossing's call on the institution's LP, the sink handed to `inner`, which owns it
  // until it completes; linked meanwhile into its crossing's list (on the institution's LP
  // only). A call still at `inner` when the crossing is destroyed is freed by the crossing:
  // `inner` did not complete it because its executor stopped for good (the simulation's
  // horizon: the LPs' executors are destroyed without running again, so `inner` never
  // touches the call after; WireConnector::Closer). Without this it would leak.
  class AtInner : public connectors::BatchSink {
   public:
    explicit AtInner(LpCrossing& crossing) : crossing_(crossing) {}
    AtInner(const AtInner&) = delete;
    AtInner& operator=(const AtInner&) = delete;
    virtual ~AtInner() { unlink(); }

   protected:
    // As the call is handed to `inner`, and as `inner` completes it.
    void link() {
      next_ = crossing_.at_inner_;
      if (next_ != nullptr) next_->prev_ = this;
      crossing_.at_inner_ = this;
      linked_ = true;
    }
    void unlink() {
      if (!linked_) return;
      if (prev_ != nullptr) {
        prev_->next_ = next_;
      } else {
        crossing_.at_inner_ = next_;
      }
      if (next_ != nullptr) next_->prev_ = prev_;
      prev_ = next_ = nullptr;
      linked_ = false;
    }

   private:
    LpCrossing& crossing_;
    AtInner* prev_ = nullptr;
    AtInner* next_ = nullptr;
    bool linked_ = false;
  };

  connectors::Connector& inner_;
  ParallelTime& time_;
  const uint32_t lp_;
  const TimeUs transit_;
  const AnswerTime* const answer_time_;  // Read on the institution's LP.
  const std::string name_;
  const connectors::Capabilities caps_;
  AnswerParts* parts_ = nullptr;  // Used on the institution's LP.
  AtInner* at_inner_ = nullptr;   // The calls at `inner` (on the institution's LP).
};

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_SRC_LP_CROSSING_H_
