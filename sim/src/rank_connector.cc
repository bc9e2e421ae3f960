#include "rank_connector.h"

#include <cstdio>
#include <utility>

namespace chakong::sim {

using connectors::BatchSink;
using connectors::BatchView;
using connectors::Request;
using connectors::Response;

// One call on the institution's LP: owns the decoded requests and the answer slots until the
// inner connector completes, then sends the answers back and goes.
class RankConnector::ServerCall final : public AtInner {
 public:
  ServerCall(RankConnector& c, uint32_t caller, lp_wire::RequestBatch batch)
      : AtInner(c),
        c_(c),
        caller_(caller),
        call_(batch.call),
        stream_(batch.parts),
        requests_(std::move(batch.requests)),
        pointers_(connectors::pointers_to(requests_)),
        responses_(requests_.size()) {}
  void submit() {
    link();
    c_.inner_.async_submit(BatchView(pointers_), *this);
  }
  Response& response(size_t i) override {
    if (i < responses_.size()) return responses_[i];
    ++extra_;
    return overflow_;
  }
  // The inner connector's last touch: the answers go back, this call with them; a hub's
  // members' parts first, one message per member answer time.
  void complete() override {
    std::unique_ptr<ServerCall> self(this);
    unlink();
    std::vector<AnswerParts::Part> parts;
    c_.split_answers(BatchView(pointers_), responses_, stream_, parts);
    std::vector<std::pair<uint32_t, Response>> group;
    for (size_t p = 0; p < parts.size();) {
      const TimeUs at = parts[p].at;
      group.clear();
      for (; p < parts.size() && parts[p].at == at; ++p) {
        group.emplace_back(parts[p].index, std::move(parts[p].response));
      }
      c_.time_.send_bytes(c_.lp_, caller_, at + c_.transit_, lp_wire::encode_parts(call_, group));
    }
    c_.time_.send_bytes(c_.lp_, caller_, c_.answer_arrival(),
                        lp_wire::encode_responses(call_, responses_, extra_));
  }

 private:
  RankConnector& c_;
  const uint32_t caller_;
  const uint64_t call_;
  const bool stream_;  // The caller's sink takes parts.
  std::vector<Request> requests_;
  std::vector<const Request*> pointers_;
  std::vector<Response> responses_;
  Response overflow_;
  uint32_t extra_ = 0;
};

RankConnector::RankConnector(connectors::Connector& inner, ParallelTime& time, uint32_t lp,
                             TimeUs transit, const AnswerTime* answer_time)
    : LpCrossing(inner, time, lp, transit, answer_time), callers_(time.lps()) {}

RankConnector::~RankConnector() = default;

void RankConnector::async_submit(BatchView batch, BatchSink& sink) {
  const uint32_t caller = caller_of(batch, sink);
  if (caller == ParallelTime::kNoLp) return;
  Caller& c = callers_[caller];
  const uint64_t call = c.next++;
  c.calls.emplace(call, Pending{&sink, batch.size()});
  time_.send_bytes(caller, lp_, arrival_from(caller),
                   lp_wire::encode_requests(call, batch, sink.takes_parts()));
}

void RankConnector::serve(uint32_t caller, lp_wire::RequestBatch batch) {
  (new ServerCall(*this, caller, std::move(batch)))->submit();
}

void RankConnector::refuse(uint32_t caller, uint64_t call, const Status& error) {
  time_.send_bytes(lp_, caller, arrival_from(lp_), lp_wire::encode_error(call, error));
}

void RankConnector::answer(uint32_t caller, lp_wire::ResponseBatch batch) {
  Caller& c = callers_[caller];
  auto it = c.calls.find(batch.call);
  if (it == c.calls.end()) return;
  if (batch.part) {
    // Parts ahead of the answer: the call stays open (an index past the batch is dropped).
    BatchSink& out = *it->second.out;
    for (size_t k = 0; k < batch.index.size(); ++k) {
      if (batch.index[k] < it->second.size) out.part(batch.index[k], std::move(batch.responses[k]));
    }
    return;
  }
  const Pending p = it->second;
  c.calls.erase(it);
  // Every slot of the batch is written, as LpConnector does: a response the institution's side
  // did not write is a default one there too.
  for (size_t i = 0; i < p.size; ++i) {
    if (!batch.error.ok()) {
      p.out->response(i) = Response::error(batch.error);
    } else {
      p.out->response(i) = i < batch.responses.size() ? std::move(batch.responses[i]) : Response();
    }
  }
  for (uint32_t k = 0; k < batch.extra; ++k) p.out->response(p.size + k);
  p.out->complete();
}

LpRouter::LpRouter(ParallelTime& time)
    : time_(time), by_lp_(time.lps(), nullptr), undecodable_(time.lps()) {}

void LpRouter::add(RankConnector& connector) { by_lp_[connector.lp()] = &connector; }

void LpRouter::install() {
  for (uint32_t lp = 0; lp < time_.lps(); ++lp) {
    if (!time_.is_local(lp)) continue;
    time_.set_receiver(lp,
                       [this, lp](uint32_t from, std::string bytes) { receive(lp, from, bytes); });
  }
}

uint64_t LpRouter::undecodable() const {
  uint64_t n = 0;
  for (const Count& c : undecodable_) n += c.n;
  return n;
}

void LpRouter::receive(uint32_t to, uint32_t from, const std::string& bytes) {
  StatusOr<lp_wire::Message> m = lp_wire::decode(bytes);
  if (m.ok()) {
    if (auto* r = std::get_if<lp_wire::RequestBatch>(&*m)) {
      if (by_lp_[to] != nullptr) {
        by_lp_[to]->serve(from, std::move(*r));
        return;
      }
    } else if (auto* a = std::get_if<lp_wire::ResponseBatch>(&*m)) {
      if (by_lp_[from] != nullptr) {
        by_lp_[from]->answer(to, std::move(*a));
        return;
      }
    }
    ++undecodable_[to].n;
    return;
  }
  // In doubt: the call it belongs to, if that can be read, is answered with the error.
  const uint64_t call = lp_wire::call_of(bytes);
  if (call != 0 && by_lp_[to] != nullptr) {
    by_lp_[to]->refuse(from, call, m.status());
  } else if (call != 0 && by_lp_[from] != nullptr) {
    lp_wire::ResponseBatch failed;
    failed.call = call;
    failed.error = m.status();
    by_lp_[from]->answer(to, std::move(failed));
  } else {
    ++undecodable_[to].n;
    std::fprintf(stderr, "chakong simulate: LP %u from LP %u: %s\n", to, from,
                 m.status().to_string().c_str());
  }
}

}  // namespace chakong::sim
