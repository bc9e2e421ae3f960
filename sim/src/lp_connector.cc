#include "lp_connector.h"

#include <utility>

namespace chakong::sim {

using connectors::BatchSink;
using connectors::BatchView;
using connectors::Response;

// One batch crossing to the institution's LP and back: it holds the answers until they are
// back on the caller's LP, and is the inner connector's sink. The requests are not copied: by
// the batch contract they stay in place, unchanged, until the caller's sink completes, which
// is after the answers are back; the institution's LP reads them after the window barrier
// that follows the send (a happens-before edge), and nothing writes them meanwhile.
// A Call is owned by the message that carries it (so one never delivered goes with its
// message) and, once delivered, is kept for the next crossing from the same caller LP (its
// response slots keep their buffers): no allocation per batch once warm.
class LpConnector::Call final : public AtInner {
 public:
  explicit Call(LpConnector& c) : AtInner(c), c_(c) {}
  // On the caller's LP: a new crossing of `batch`, answered into `out`.
  void start(uint32_t caller, BatchView batch, BatchSink& out) {
    caller_ = caller;
    batch_ = batch;
    out_ = &out;
    stream_ = out.takes_parts();
    extra_ = 0;
    responses_.resize(batch.size());
    for (Response& r : responses_) r = Response();
  }
  // On the institution's LP.
  void submit() {
    link();
    c_.inner_.async_submit(batch_, *this);
  }
  size_t slots() const { return responses_.capacity(); }
  Response& response(size_t i) override {
    if (i < responses_.size()) return responses_[i];
    ++extra_;
    return overflow_;
  }
  // The inner connector's last touch (on the institution's LP): the answers go back; a hub's
  // members' parts first, one message per member answer time (each allocates: its closure
  // holds the parts).
  void complete() override {
    unlink();
    c_.split_answers(batch_, responses_, stream_, parts_);
    for (size_t p = 0; p < parts_.size();) {
      const TimeUs at = parts_[p].at;
      std::vector<std::pair<uint32_t, Response>> group;
      for (; p < parts_.size() && parts_[p].at == at; ++p) {
        group.emplace_back(parts_[p].index, std::move(parts_[p].response));
      }
      c_.time_.send(c_.lp_, caller_, at + c_.transit_,
                    [out = out_, group = std::move(group)]() mutable {
                      for (auto& [i, r] : group) out->part(i, std::move(r));
                    });
    }
    parts_.clear();
    c_.time_.send(c_.lp_, caller_, c_.answer_arrival(),
                  [self = std::unique_ptr<Call>(this)]() mutable {
                    Call& call = *self;
                    call.deliver();
                    call.c_.keep(call.caller_, std::move(self));
                  });
  }

 private:
  // On the caller's LP.
  void deliver() {
    for (size_t i = 0; i < responses_.size(); ++i) out_->response(i) = std::move(responses_[i]);
    for (size_t k = 0; k < extra_; ++k) out_->response(responses_.size() + k);
    out_->complete();
  }

  LpConnector& c_;
  uint32_t caller_ = 0;
  BatchView batch_;
  std::vector<Response> responses_;
  Response overflow_;
  size_t extra_ = 0;
  BatchSink* out_ = nullptr;
  bool stream_ = false;                   // out_ takes parts.
  std::vector<AnswerParts::Part> parts_;  // Scratch, on the institution's LP.
};

LpConnector::LpConnector(connectors::Connector& inner, ParallelTime& time, uint32_t lp,
                         TimeUs transit, const AnswerTime* answer_time)
    : LpCrossing(inner, time, lp, transit, answer_time), spare_(time.lps()) {}

LpConnector::~LpConnector() = default;

void LpConnector::keep(uint32_t caller, std::unique_ptr<Call> call) {
  std::vector<std::unique_ptr<Call>>& spare = spare_[caller].calls;
  // Bounded: a burst of crossings (a sweep's) leaves no more than this many, and a large
  // batch's response slots are not kept.
  if (spare.size() < kMaxSpareCalls && call->slots() <= kMaxKeptSlots) {
    spare.push_back(std::move(call));
  }
}

void LpConnector::async_submit(BatchView batch, BatchSink& sink) {
  const uint32_t caller = caller_of(batch, sink);
  if (caller == ParallelTime::kNoLp) return;
  // The caller's LP's spares: only this LP's events touch them (one thread at a time).
  std::vector<std::unique_ptr<Call>>& spare = spare_[caller].calls;
  std::unique_ptr<Call> call;
  if (spare.empty()) {
    call = std::make_unique<Call>(*this);
  } else {
    call = std::move(spare.back());
    spare.pop_back();
  }
  call->start(caller, batch, sink);
  time_.send(caller, lp_, arrival_from(caller), [call = std::move(call)]() mutable {
    call.release()->submit();  // Owned by the inner connector until it completes.
  });
}

}  // namespace chakong::sim
