#include "chakong/sim/behaviour.h"

#include <algorithm>
#include <cmath>

namespace chakong::sim {

namespace {

// ln X ~ N(mu, sigma): median = e^mu, p99 = e^(mu + 2.326 sigma).
double sigma_of(const LatencyDist& d) {
  return std::log(static_cast<double>(d.p99) / static_cast<double>(d.median)) / 2.326;
}

}  // namespace

TimeUs LatencyDist::sample(std::mt19937_64& rng) const {
  if (p99 <= median || median <= 0) return median;
  const double sigma = sigma_of(*this);
  std::normal_distribution<double> z(0.0, 1.0);
  const double zz = std::max(-kLeastZ, z(rng));
  return static_cast<TimeUs>(static_cast<double>(median) * std::exp(sigma * zz));
}

TimeUs LatencyDist::least() const {
  if (p99 <= median || median <= 0) return std::max<TimeUs>(0, median);
  // The same expression as sample() at its cut-off (exp and the product are monotone), less
  // one microsecond for good measure.
  const double sigma = sigma_of(*this);
  const auto l = static_cast<TimeUs>(static_cast<double>(median) * std::exp(sigma * -kLeastZ));
  return std::max<TimeUs>(0, l - 1);
}

TimeUs LatencyDist::at_z(double z) const {
  if (p99 <= median || median <= 0) return median;
  // Cut off where sample() is, so that least() holds for hub members' draws too.
  return static_cast<TimeUs>(static_cast<double>(median) *
                             std::exp(sigma_of(*this) * std::max(-kLeastZ, z)));
}

std::function<TimeUs(const std::vector<connectors::Request>&)> latency_by_operation(
    std::map<connectors::RequestKind, LatencyDist> by_kind, LatencyDist fallback, uint64_t seed) {
  auto rng = std::make_shared<std::mt19937_64>(seed);
  return [by_kind = std::move(by_kind), fallback, rng](const std::vector<connectors::Request>& b) {
    auto it = b.empty() ? by_kind.end() : by_kind.find(b.front().kind);
    return (it == by_kind.end() ? fallback : it->second).sample(*rng);
  };
}

BusinessHours BusinessHours::weekdays(int open_minute, int close_minute) {
  BusinessHours h;
  h.always_open = false;
  h.open_minute = open_minute;
  h.close_minute = close_minute;
  return h;
}

BusinessHours BusinessHours::end_of_day(int batch_minute) {
  BusinessHours h;
  h.always_open = false;
  h.batch_minute = batch_minute;
  return h;
}

TimeUs BusinessHours::next_intake(TimeUs t) const {
  if (always_open) return t;
  Date day = date_of(t);
  for (int i = 0; i < 14; ++i, day = day.plus_days(1)) {
    if (day.is_weekend()) continue;
    const TimeUs start = day.start_us();
    if (batch_minute >= 0) {
      const TimeUs batch = start + batch_minute * kMicrosPerMinute;
      if (batch >= t) return batch;
      continue;
    }
    const TimeUs open = start + open_minute * kMicrosPerMinute;
    const TimeUs close = start + close_minute * kMicrosPerMinute;
    if (t < open) return open;
    if (t < close) return t;
  }
  return t;  // Unreachable with sane hours (validated).
}

TimeUs resume_after_outages(const std::vector<OutageWindow>& outages, TimeUs start, TimeUs due) {
  for (const OutageWindow& w : outages) {
    const TimeUs from = std::max(w.from, start);
    const TimeUs to = std::min(w.to, due);
    if (from < to) due += w.to - from;  // Paused from `from` until the window ends.
  }
  return due;
}

Status validate(const InstitutionBehaviour& b) {
  const BusinessHours& h = b.hours;
  if (!h.always_open) {
    if (h.batch_minute >= 24 * 60 ||
        (h.batch_minute < 0 &&
         (h.open_minute < 0 || h.close_minute > 24 * 60 || h.open_minute >= h.close_minute))) {
      return invalid_argument_error("hours: open " + std::to_string(h.open_minute) + ", close " +
                                    std::to_string(h.close_minute) + ", batch " +
                                    std::to_string(h.batch_minute) +
                                    " (minutes of the day) do not make a working day");
    }
  }
  if (b.capacity < 0) {
    return invalid_argument_error("capacity = " + std::to_string(b.capacity) + ": must be >= 0");
  }
  for (size_t i = 0; i < b.outages.size(); ++i) {
    if (b.outages[i].to <= b.outages[i].from) {
      return invalid_argument_error("outages[" + std::to_string(i) + "]: ends before it starts");
    }
  }
  for (const auto& [field, rate] : {std::pair{"error_rate", b.error_rate},
                                    {"duplicate_rate", b.duplicate_rate},
                                    {"malformed_rate", b.malformed_rate}}) {
    if (rate < 0 || rate > 1) {
      return invalid_argument_error(std::string(field) + " = " + std::to_string(rate) +
                                    ": must be in [0, 1]");
    }
  }
  return ok_status();
}

BehaviourTransport::BehaviourTransport(std::unique_ptr<connectors::Transport> inner,
                                       Executor& executor, InstitutionBehaviour behaviour,
                                       EarlyOutput early)
    : inner_(std::move(inner)),
      executor_(executor),
      b_(std::move(behaviour)),
      early_(early),
      rng_(b_.seed) {
  if (early_.time != nullptr && b_.capacity > 0) {
    free_.assign(static_cast<size_t>(b_.capacity), 0);  // All free: a heap already.
  }
}

void BehaviourTransport::async_call(std::string request, connectors::TransportDone done) {
  const auto [id, call] = calls_.add();
  call->request = std::move(request);
  call->done = std::move(done);
  call->sent = executor_.now();
  executor_.post([this, id = id] { arrive(id); });
}

void BehaviourTransport::arrive(uint64_t id) {
  const TimeUs now = executor_.now();
  for (const OutageWindow& w : b_.outages) {
    if (w.from <= now && now < w.to) {
      ++refused_;
      finish(id, unavailable_error("institution is down (outage until " +
                                   date_of(w.to).to_string() + ")"));
      return;
    }
  }
  std::uniform_real_distribution<double> u(0, 1);
  if (b_.error_rate > 0 && u(rng_) < b_.error_rate) {
    ++refused_;
    finish(id, Status(b_.error_code, "institution refused the call (transient)"));
    return;
  }
  const TimeUs at = b_.hours.next_intake(now);
  if (at == now) {
    intake(id);
  } else {
    executor_.run_at(at, [this, id] { intake(id); });
  }
}

void BehaviourTransport::intake(uint64_t id) {
  if (early_.time != nullptr) {
    answer_early(id);
    return;
  }
  if (b_.capacity > 0 && busy_ >= b_.capacity) {
    waiting_.push_back(id);
    return;
  }
  deliver(id);
}

void BehaviourTransport::deliver(uint64_t id) {
  ++busy_;
  Pending& p = *calls_.find(id);
  std::uniform_real_distribution<double> u(0, 1);
  p.duplicate = b_.duplicate_rate > 0 && u(rng_) < b_.duplicate_rate;
  p.malformed = b_.malformed_rate > 0 && u(rng_) < b_.malformed_rate;
  std::string request = std::move(p.request);
  p.request = std::string();
  // `p` is not touched after: the inner transport may call async_call() again (never `done`).
  inner_->async_call(std::move(request),
                     [this, id](StatusOr<std::string> reply) { on_reply(id, std::move(reply)); });
}

void BehaviourTransport::on_reply(uint64_t id, StatusOr<std::string> reply) {
  // The gateway is down both ways: a reply due during an outage waits for its end. Else it
  // passes now, with no event of its own.
  const TimeUs now = executor_.now();
  const TimeUs at = when_up(now);
  if (at == now) {
    pass_reply(id, std::move(reply));
    return;
  }
  calls_.find(id)->held.emplace(std::move(reply));
  executor_.run_at(at, [this, id] {
    StatusOr<std::string> held = std::move(*calls_.find(id)->held);
    pass_reply(id, std::move(held));
  });
}

void BehaviourTransport::pass_reply(uint64_t id, StatusOr<std::string> reply) {
  --busy_;
  corrupt(*calls_.find(id), reply);
  finish(id, std::move(reply));
  if (!waiting_.empty() && (b_.capacity == 0 || busy_ < b_.capacity)) {
    const uint64_t next = waiting_.front();
    waiting_.pop_front();
    deliver(next);
  }
}

TimeUs BehaviourTransport::when_up(TimeUs t) const {
  for (const OutageWindow& w : b_.outages) {
    if (w.from <= t && t < w.to) t = w.to;
  }
  return t;
}

// The call is taken now (intake): a server starts on it now or, with every server busy, when
// the first is free (FIFO: the multi-server Lindley recursion, as a hub member's queue); the
// endpoint acts on the ground truth now and answers at once, and the reply is handed up now,
// due when the service drawn is done and the gateway is up. Nothing waits on the executor: the
// institution's logical process has no event between a call's intake and its answer.
void BehaviourTransport::answer_early(uint64_t id) {
  const TimeUs now = executor_.now();
  const auto later = std::greater<TimeUs>();  // free_ is a min-heap.
  const TimeUs start = free_.empty() ? now : std::max(now, free_.front());
  Pending& p = *calls_.find(id);
  std::uniform_real_distribution<double> u(0, 1);
  p.duplicate = b_.duplicate_rate > 0 && u(rng_) < b_.duplicate_rate;
  p.malformed = b_.malformed_rate > 0 && u(rng_) < b_.malformed_rate;
  std::string request = std::move(p.request);
  p.request = std::string();
  AnswerTime& at = *early_.time;
  at.start = start;
  at.service = AnswerTime::kNow;
  at.parts = 0;
  // The endpoint answers from a posted task: the slot is still open after this call.
  inner_->async_call(std::move(request), [this, id](StatusOr<std::string> reply) {
    on_early_reply(id, std::move(reply));
  });
  // The latency function ran inside async_call (the endpoint draws at receipt).
  const TimeUs service = std::max<TimeUs>(0, at.service);
  const TimeUs due = when_up(resume_after_outages(b_.outages, start, start + service));
  Pending& q = *calls_.find(id);
  q.due = due;
  q.parts = at.parts;
  at.parts = 0;
  if (!free_.empty()) {
    std::pop_heap(free_.begin(), free_.end(), later);
    free_.back() = due;
    std::push_heap(free_.begin(), free_.end(), later);
  }
}

void BehaviourTransport::on_early_reply(uint64_t id, StatusOr<std::string> reply) {
  Pending& p = *calls_.find(id);
  const TimeUs handed = executor_.now();
  const TimeUs due = std::max(p.due, handed);
  if (due - p.sent >= early_.patience) {
    // The caller has given up on it by then: handed up at its time, as it was.
    p.held.emplace(std::move(reply));
    executor_.run_at(due, [this, id] {
      Pending& q = *calls_.find(id);
      StatusOr<std::string> held = std::move(*q.held);
      corrupt(q, held);
      finish(id, std::move(held));
    });
    return;
  }
  corrupt(p, reply);
  AnswerTime& t = *early_.time;
  t.due = due > handed ? due : AnswerTime::kNow;
  t.parts = p.parts;
  finish(id, std::move(reply));
  t.due = AnswerTime::kNow;
  t.parts = 0;
}

void BehaviourTransport::corrupt(const Pending& p, StatusOr<std::string>& reply) {
  if (reply.ok() && p.duplicate) {
    reply = *reply + *reply;  // Every result of field 1 twice.
    ++duplicated_;
  }
  if (reply.ok() && p.malformed) {
    // A length-delimited field 1 that claims 127 bytes and has 1: the reply cannot parse.
    reply = *reply + std::string("\x0a\x7f\x01", 3);
    ++malformed_;
  }
}

void BehaviourTransport::finish(uint64_t id, StatusOr<std::string> reply) {
  connectors::TransportDone done = std::move(calls_.find(id)->done);
  calls_.erase(id);
  done(std::move(reply));
}

}  // namespace chakong::sim
