#include "chakong/sim/parallel_time.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <thread>
#include <utility>

namespace chakong::sim {
namespace {

constexpr TimeUs kNever = std::numeric_limits<TimeUs>::max();

TimeUs saturating_add(TimeUs a, TimeUs b) { return a > kNever - b ? kNever : a + b; }

// A message to another rank, as it crosses: at, to, from, seq, length, then the bytes (this
// machine's byte order: ranks of one run share an architecture).
constexpr size_t kRecordHeader = sizeof(TimeUs) + 4 + 4 + 8 + 4;

template <typename T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}
template <typename T>
T get(const char*& p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  p += sizeof(T);
  return v;
}

thread_local uint32_t t_current_lp = UINT32_MAX;
// The index of a window pool's thread: 0 the thread calling run_until(), w + 1 worker w.
thread_local uint32_t t_pool_thread = 0;

// The pending messages' heap order: a max-heap of this comparison has the earliest (time,
// source LP, source sequence) on top. The key is unique (a source's sequence is), so the
// order is total and the same whatever the threads.
template <typename K>
bool later(const K& a, const K& b) {
  if (a.at != b.at) return a.at > b.at;
  if (a.from != b.from) return a.from > b.from;
  return a.seq > b.seq;
}

enum class Fault : uint8_t {
  kNone,
  kLookahead,
  kNoPair,
  kBeforeBound,
  kSelf,
  kNoSuchLp,
  kTaskToOtherRank,
  kSetUpToOtherRank
};

}  // namespace

struct ParallelTime::Message {
  TimeUs at = 0;
  uint32_t to = 0;
  uint32_t from = 0;
  uint64_t seq = 0;
  Task task;          // In-process messages,
  std::string bytes;  // or bytes (is_bytes).
  bool is_bytes = false;
};

// One logical process. Cache-line aligned: workers write their LPs' fields in parallel.
struct alignas(64) ParallelTime::Lp {
  explicit Lp(TimeUs start) : ex(start) {}
  VirtualExecutor ex;
  std::vector<Message> out;  // Sent this window, in send order.
  // Delivered to this LP and not yet handed to its executor: a min-heap of (time, source LP,
  // source sequence, slot) over the messages kept in `held` (free slots in `free`), handed
  // over in the window that runs them. A heap, because answers sent early (at an
  // institution's intake, for hours later) make hundreds of messages wait at a shard while a
  // few come and go every window.
  struct Key {
    TimeUs at;
    uint32_t from;
    uint32_t slot;
    uint64_t seq;
  };
  std::vector<Key> pending;
  std::vector<Message> held;
  std::vector<uint32_t> free;
  uint64_t seq = 0;  // Messages sent, ever: the tie-break after (time, source).
  uint64_t events = 0;
  double step_seconds = 0;
  double last_step_seconds = 0;  // In the last window it was busy.
  // The first message this LP sent that could not go.
  Fault fault = Fault::kNone;
  TimeUs fault_now = 0;
  TimeUs fault_at = 0;
  TimeUs fault_bound = 0;
  uint32_t fault_to = 0;
};

// A fixed pool for the windows: `threads - 1` workers and the calling thread claim the items of
// a step from one atomic index. Every hand-over is an acquire/release on a std::atomic (no
// oneTBB: Debian's libtbb is not built for ThreadSanitizer, which then sees no barrier), so the
// race detector checks the windows. Workers spin briefly between steps (a window is
// microseconds), then sleep on the generation counter.
//
// The caller never waits for a worker that has not joined the step: a step ends when its items
// are done, whoever ran them. On a loaded machine a sleeping or descheduled worker would
// otherwise cost every window a wake-up (the district on two threads with other builds
// running: 25 s where one thread takes 1.4 s). A worker joins a step by counting itself in
// `inside_` and then checking that the step is still open and its generation the one it woke
// for; the caller closes the step and waits for `inside_` to drain before run() returns, so no
// worker touches a step's fields (or `fn`, the caller's) once it is over.
class ParallelTime::Pool {
 public:
  explicit Pool(int threads) : errors_(static_cast<size_t>(threads - 1)) {
    workers_.reserve(static_cast<size_t>(threads - 1));
    for (int w = 0; w < threads - 1; ++w) {
      workers_.emplace_back([this, w] { work(static_cast<size_t>(w)); });
    }
  }
  ~Pool() {
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (std::thread& t : workers_) t.join();
  }
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Calls fn(k) for every k in [0, n), on the workers and the calling thread; returns when all
  // are done, everything they wrote visible to the caller. Rethrows the first exception thrown.
  template <typename F>
  void run(size_t n, F& fn) {
    // No worker is inside (the last run() drained them): the step's fields are the caller's.
    items_ = n;
    fn_ = &fn;
    call_ = [](void* f, size_t k) { (*static_cast<F*>(f))(k); };
    next_.store(0, std::memory_order_relaxed);
    finished_.store(0, std::memory_order_relaxed);
    open_.store(true, std::memory_order_seq_cst);
    generation_.fetch_add(1, std::memory_order_seq_cst);
    generation_.notify_all();
    std::exception_ptr mine;
    claim(mine);
    // Items a worker claimed and is still running.
    for (int spin = 0;; ++spin) {
      const size_t f = finished_.load(std::memory_order_acquire);
      if (f >= n) break;
      if (spin < kSpins) {
        back_off(spin);
      } else {
        finished_.wait(f, std::memory_order_acquire);
      }
    }
    // Close the step; a worker counted inside leaves at once (nothing left to claim), or sees
    // the step closed and backs out.
    open_.store(false, std::memory_order_seq_cst);
    for (int spin = 0; inside_.load(std::memory_order_seq_cst) != 0; ++spin) back_off(spin);
    if (mine) std::rethrow_exception(mine);
    for (std::exception_ptr& e : errors_) {
      if (e) std::rethrow_exception(std::exchange(e, nullptr));
    }
  }

 private:
  // Waiting: a few pauses, then yields (on a loaded machine the thread waited for may not be
  // running: let it), then sleep on the atomic.
  static constexpr int kPauses = 64;
  static constexpr int kSpins = kPauses + 256;

  static void back_off(int spin) {
    if (spin < kPauses) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }

  // Runs items until none is left (an item that throws does not stop the others: the step
  // ends only when every item is done); the first exception is kept in `error`. The item
  // that ends the step wakes the caller.
  void claim(std::exception_ptr& error) {
    for (size_t k = next_.fetch_add(1, std::memory_order_relaxed); k < items_;
         k = next_.fetch_add(1, std::memory_order_relaxed)) {
      try {
        call_(fn_, k);
      } catch (...) {
        if (!error) error = std::current_exception();
      }
      if (finished_.fetch_add(1, std::memory_order_acq_rel) + 1 == items_) {
        finished_.notify_one();
      }
    }
  }

  void work(size_t w) {
    t_pool_thread = static_cast<uint32_t>(w + 1);
    uint64_t seen = 0;
    for (;;) {
      for (int spin = 0;; ++spin) {
        const uint64_t g = generation_.load(std::memory_order_acquire);
        if (g != seen) {
          seen = g;
          break;
        }
        if (spin < kSpins) {
          back_off(spin);
        } else {
          generation_.wait(g, std::memory_order_acquire);
        }
      }
      if (stop_.load(std::memory_order_relaxed)) return;
      inside_.fetch_add(1, std::memory_order_seq_cst);
      // Still the step it woke for? If the caller has closed it (or closed it and opened the
      // next), back out: the loop above sees the newer generation, if any, and joins that.
      if (open_.load(std::memory_order_seq_cst) &&
          generation_.load(std::memory_order_seq_cst) == seen) {
        claim(errors_[w]);
      }
      inside_.fetch_sub(1, std::memory_order_seq_cst);
    }
  }

  std::vector<std::thread> workers_;
  std::vector<std::exception_ptr> errors_;  // Per worker: what its last step threw.
  // The step: written by the caller while no worker is inside, read by a worker only inside
  // an open step of the generation it woke for.
  size_t items_ = 0;
  void* fn_ = nullptr;
  void (*call_)(void*, size_t) = nullptr;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> generation_{0};  // Bumped to start a step (or to stop).
  std::atomic<bool> open_{false};        // The current step may be joined.
  std::atomic<uint32_t> inside_{0};      // Workers that have joined (or are checking).
  std::atomic<size_t> next_{0};          // The next item to claim.
  std::atomic<size_t> finished_{0};      // Items of this step done.
};

StatusOr<std::unique_ptr<ParallelTime>> ParallelTime::create(const ParallelTimeOptions& o) {
  if (o.lps == 0) return invalid_argument_error("parallel time lps: must be >= 1, got 0");
  if (o.lookahead <= 0) {
    return invalid_argument_error("parallel time lookahead: must be > 0 us, got " +
                                  std::to_string(o.lookahead));
  }
  if (o.threads < 1) {
    return invalid_argument_error("parallel time threads: must be >= 1, got " +
                                  std::to_string(o.threads));
  }
  if (!o.lp_class.empty() && o.lp_class.size() != o.lps) {
    return invalid_argument_error("parallel time lp_class: must have one class per LP (" +
                                  std::to_string(o.lps) + "), got " +
                                  std::to_string(o.lp_class.size()));
  }
  if (!o.reaction.empty() && o.reaction.size() != o.lps) {
    return invalid_argument_error("parallel time reaction: must have one per LP (" +
                                  std::to_string(o.lps) + "), got " +
                                  std::to_string(o.reaction.size()));
  }
  if (!o.lp_rank.empty()) {
    const int ranks = o.comm != nullptr ? o.comm->size() : 1;
    if (o.lp_rank.size() != o.lps) {
      return invalid_argument_error("parallel time lp_rank: must have one rank per LP (" +
                                    std::to_string(o.lps) + "), got " +
                                    std::to_string(o.lp_rank.size()));
    }
    for (size_t i = 0; i < o.lp_rank.size(); ++i) {
      if (o.lp_rank[i] < 0 || o.lp_rank[i] >= ranks) {
        return invalid_argument_error(
            "parallel time lp_rank[" + std::to_string(i) + "]: must be a rank of the run (0.." +
            std::to_string(ranks - 1) + "), got " + std::to_string(o.lp_rank[i]));
      }
    }
  }
  for (size_t i = 0; i < o.reaction.size(); ++i) {
    if (o.reaction[i] < 0) {
      return invalid_argument_error("parallel time reaction[" + std::to_string(i) +
                                    "]: must be >= 0 us, got " + std::to_string(o.reaction[i]));
    }
  }
  auto pt = std::unique_ptr<ParallelTime>(new ParallelTime(o));
  for (uint32_t f = 0; f < pt->classes_; ++f) {
    for (uint32_t t = 0; t < pt->classes_; ++t) {
      const TimeUs l = pt->pair_[f * pt->classes_ + t];
      if (l != kNoMessages && l < o.lookahead) {
        return invalid_argument_error("parallel time class_lookahead(" + std::to_string(f) + ", " +
                                      std::to_string(t) + "): must be >= lookahead (" +
                                      std::to_string(o.lookahead) + " us) or kNoMessages, got " +
                                      std::to_string(l));
      }
    }
  }
  return pt;
}

ParallelTime::ParallelTime(const ParallelTimeOptions& options)
    : options_(options),
      rank_(options.comm != nullptr ? options.comm->rank() : 0),
      ranks_(options.comm != nullptr ? options.comm->size() : 1),
      lp_rank_(options.lp_rank),
      receivers_(options.lps),
      class_(options.lp_class),
      reaction_(options.reaction),
      next_(options.lps, kNever),
      next_message_(options.lps, kNever),
      bound_(options.lps, kNever),
      inbox_(options.lps),
      thread_step_(static_cast<size_t>(std::max(1, options.threads))) {
  for (uint32_t c : class_) classes_ = std::max(classes_, c + 1);
  pair_.resize(static_cast<size_t>(classes_) * classes_, options.lookahead);
  senders_.resize(classes_);
  for (uint32_t f = 0; f < classes_; ++f) {
    for (uint32_t t = 0; t < classes_; ++t) {
      TimeUs& l = pair_[f * classes_ + t];
      if (options.class_lookahead) l = options.class_lookahead(f, t);
      if (l != kNoMessages) senders_[t].emplace_back(f, l);
    }
  }
  min_reaction_.assign(classes_, kNever);
  for (uint32_t i = 0; i < options.lps; ++i) {
    TimeUs& r = min_reaction_[class_of(i)];
    r = std::min(r, reaction_.empty() ? 0 : reaction_[i]);
  }
  reach_.resize(classes_);
  best_.resize(classes_);
  who_.resize(classes_);
  second_.resize(classes_);
  lps_.reserve(options.lps);
  for (uint32_t i = 0; i < options.lps; ++i) {
    lps_.push_back(std::make_unique<Lp>(options.start));
    if (is_local(i)) local_.push_back(i);
  }
  if (options.threads > 1) pool_ = std::make_unique<Pool>(options.threads);
}

ParallelTime::~ParallelTime() = default;

VirtualExecutor& ParallelTime::executor(uint32_t lp) { return lps_[lp]->ex; }

void ParallelTime::set_receiver(uint32_t lp, Receiver receiver) {
  receivers_[lp] = std::move(receiver);
}

// The sending LP if the message may go; else notes why not (the first time) and returns null.
ParallelTime::Lp* ParallelTime::sender(uint32_t from, uint32_t to, TimeUs at) {
  Lp& src = *lps_[from];
  Fault f = Fault::kNone;
  if (to >= lps_.size()) {
    f = Fault::kNoSuchLp;
  } else if (to == from && !options_.self_messages) {
    f = Fault::kSelf;
  } else if (lookahead(from, to) == kNoMessages) {
    f = Fault::kNoPair;
  } else if (at < saturating_add(src.ex.now(), lookahead(from, to))) {
    f = Fault::kLookahead;
  } else if (is_local(to) && at < bound_[to]) {
    f = Fault::kBeforeBound;
  }
  if (f == Fault::kNone) return &src;
  if (src.fault == Fault::kNone) {
    src.fault = f;
    src.fault_now = src.ex.now();
    src.fault_at = at;
    src.fault_to = to;
    src.fault_bound = to < lps_.size() ? bound_[to] : 0;
    any_violation_.store(true, std::memory_order_relaxed);
  }
  return nullptr;
}

void ParallelTime::send(uint32_t from, uint32_t to, TimeUs at, Task task) {
  if (!in_window_) {
    if (to < lps_.size() && is_local(to)) {
      lps_[to]->ex.run_at(at, std::move(task));
    } else if (to < lps_.size()) {
      lps_[from]->fault = Fault::kSetUpToOtherRank;
      lps_[from]->fault_to = to;
      any_violation_.store(true, std::memory_order_relaxed);
    }
    return;
  }
  Lp* src = sender(from, to, at);
  if (src == nullptr) return;
  if (!is_local(to)) {
    if (src->fault == Fault::kNone) {
      src->fault = Fault::kTaskToOtherRank;
      src->fault_to = to;
      any_violation_.store(true, std::memory_order_relaxed);
    }
    return;
  }
  src->out.push_back({at, to, from, src->seq++, std::move(task), {}, false});
}

void ParallelTime::send_bytes(uint32_t from, uint32_t to, TimeUs at, std::string bytes) {
  if (!in_window_) {
    if (to < lps_.size() && is_local(to)) {
      lps_[to]->ex.run_at(at, [this, from, to, b = std::move(bytes)]() mutable {
        if (receivers_[to]) receivers_[to](from, std::move(b));
      });
    } else if (to < lps_.size()) {
      lps_[from]->fault = Fault::kSetUpToOtherRank;
      lps_[from]->fault_to = to;
      any_violation_.store(true, std::memory_order_relaxed);
    }
    return;
  }
  Lp* src = sender(from, to, at);
  if (src == nullptr) return;
  src->out.push_back({at, to, from, src->seq++, {}, std::move(bytes), true});
}

uint32_t ParallelTime::current_lp() { return t_current_lp; }

void ParallelTime::step(uint32_t i, TimeUs bound) {
  Lp& lp = *lps_[i];
  lp.ex.bind_to_current_thread();
  // The messages this window runs go to the executor now, in their order.
  while (!lp.pending.empty() && lp.pending.front().at < bound) {
    std::pop_heap(lp.pending.begin(), lp.pending.end(), later<Lp::Key>);
    const uint32_t slot = lp.pending.back().slot;
    lp.pending.pop_back();
    Message& m = lp.held[slot];
    if (m.is_bytes) {
      lp.ex.run_at(m.at, [this, from = m.from, i, b = std::move(m.bytes)]() mutable {
        if (receivers_[i]) receivers_[i](from, std::move(b));
      });
    } else {
      lp.ex.run_at(m.at, std::move(m.task));
    }
    lp.free.push_back(slot);  // Moved from: it holds nothing.
  }
  t_current_lp = i;
  const auto t0 = std::chrono::steady_clock::now();
  lp.events += lp.ex.run_until(bound - 1);
  lp.last_step_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  lp.step_seconds += lp.last_step_seconds;
  thread_step_[t_pool_thread].seconds += lp.last_step_seconds;
  t_current_lp = kNoLp;
}

// Adds the window's messages for `to` to its pending ones; they reach its executor in the
// window that runs them (step), ordered by (time, source LP, source sequence).
void ParallelTime::hand_over(uint32_t to) {
  std::vector<Message>& in = inbox_[to];
  Lp& lp = *lps_[to];
  for (Message& m : in) {
    uint32_t slot;
    if (lp.free.empty()) {
      slot = static_cast<uint32_t>(lp.held.size());
      lp.held.emplace_back();
    } else {
      slot = lp.free.back();
      lp.free.pop_back();
    }
    lp.pending.push_back({m.at, m.from, slot, m.seq});
    std::push_heap(lp.pending.begin(), lp.pending.end(), later<Lp::Key>);
    lp.held[slot] = std::move(m);
  }
  next_message_[to] = lp.pending.front().at;
  in.clear();
}

// Delivers the window's messages: to this rank's LPs directly, to the others' through one
// all-to-all (which every rank makes every window, with or without messages).
void ParallelTime::exchange() {
  std::vector<uint32_t>& touched = touched_;
  touched.clear();
  std::vector<std::string>& out = outgoing_;
  out.resize(ranks_ > 1 ? static_cast<size_t>(ranks_) : 0);
  for (std::string& o : out) o.clear();
  for (uint32_t i : busy_) {
    for (Message& m : lps_[i]->out) {
      if (is_local(m.to)) {
        if (inbox_[m.to].empty()) touched.push_back(m.to);
        inbox_[m.to].push_back(std::move(m));
        continue;
      }
      std::string& o = out[static_cast<size_t>(rank_of(m.to))];
      put(o, m.at);
      put(o, m.to);
      put(o, m.from);
      put(o, m.seq);
      put(o, static_cast<uint32_t>(m.bytes.size()));
      o += m.bytes;
      stats_.remote_bytes += kRecordHeader + m.bytes.size();
    }
    lps_[i]->out.clear();
  }
  if (ranks_ > 1) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<std::string> in = options_.comm->alltoall(out);
    stats_.barrier_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (const std::string& from_rank : in) {
      const char* p = from_rank.data();
      const char* const end = p + from_rank.size();
      while (p + kRecordHeader <= end) {
        Message m;
        m.is_bytes = true;
        m.at = get<TimeUs>(p);
        m.to = get<uint32_t>(p);
        m.from = get<uint32_t>(p);
        m.seq = get<uint64_t>(p);
        const auto n = get<uint32_t>(p);
        m.bytes.assign(p, n);
        p += n;
        if (inbox_[m.to].empty()) touched.push_back(m.to);
        inbox_[m.to].push_back(std::move(m));
      }
    }
  }
  for (uint32_t to : touched) stats_.messages += inbox_[to].size();
  if (pool_ == nullptr || touched.size() < 2) {
    for (uint32_t to : touched) hand_over(to);
    return;
  }
  auto hand = [&](size_t k) { hand_over(touched[k]); };
  pool_->run(touched.size(), hand);
}

Status ParallelTime::first_violation() const {
  for (uint32_t i : local_) {
    const Lp& lp = *lps_[i];
    const std::string who = "parallel time: LP " + std::to_string(i) + " sent a message to LP " +
                            std::to_string(lp.fault_to);
    switch (lp.fault) {
      case Fault::kNone: continue;
      case Fault::kNoSuchLp:
        return failed_precondition_error(who + ", which does not exist (" +
                                         std::to_string(lps_.size()) + " LPs)");
      case Fault::kLookahead:
        return failed_precondition_error(
            who + " for t=" + std::to_string(lp.fault_at) +
            " us at t=" + std::to_string(lp.fault_now) + " us, less than the lookahead (" +
            std::to_string(lookahead(i, lp.fault_to)) +
            " us) ahead; every transit between logical processes must be at least the lookahead");
      case Fault::kNoPair:
        return failed_precondition_error(
            who + " at t=" + std::to_string(lp.fault_now) + " us, but class " +
            std::to_string(class_of(i)) + " never sends to class " +
            std::to_string(class_of(lp.fault_to)) + " (class_lookahead)");
      case Fault::kSelf:
        return failed_precondition_error(who + " (itself) at t=" + std::to_string(lp.fault_now) +
                                         " us, and self_messages is false");
      case Fault::kBeforeBound:
        return failed_precondition_error(
            who + " for t=" + std::to_string(lp.fault_at) + " us at t=" +
            std::to_string(lp.fault_now) + " us, before LP " + std::to_string(lp.fault_to) +
            "'s bound for the window (" + std::to_string(lp.fault_bound) + " us): LP " +
            std::to_string(i) + " sent sooner after a message than its reaction (" +
            std::to_string(reaction_.empty() ? 0 : reaction_[i]) + " us) allows");
      case Fault::kTaskToOtherRank:
      case Fault::kSetUpToOtherRank:
        return failed_precondition_error(
            who + " on rank " + std::to_string(rank_of(lp.fault_to)) +
            " as a task; only bytes (send_bytes) cross ranks" +
            (lp.fault == Fault::kSetUpToOtherRank ? ", and not during set-up" : ""));
    }
  }
  return failed_precondition_error(
      "parallel time: a logical process on another rank sent a message that could not go (that "
      "rank's error names it)");
}

void ParallelTime::timed_min(int64_t* values, int n) {
  const auto t0 = std::chrono::steady_clock::now();
  options_.comm->allreduce_min(values, n);
  stats_.barrier_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// LP lp's earliest output time: no send from it in the coming window happens before this.
TimeUs ParallelTime::eot(uint32_t lp) const {
  const TimeUs r = reaction_.empty() ? 0 : reaction_[lp];
  return std::min(next_[lp], saturating_add(next_message_[lp], r));
}

// Each local LP's bound for the window (bound_), from the classes' least EOTs (best_, who_,
// second_, agreed over the ranks). A message reaching X later may also come from a chain that
// starts now: a message sent in this window reaches S, which answers it `reaction` later, and
// so on. So per class c, D[c] = the least time any message can still reach an LP of class c,
// the shortest path over the class graph: D[t] = min over c -> t of F[c] + L(c, t), with
// F[c] = min(least EOT of class c, D[c] + least reaction of class c) (every edge is > 0, so
// relaxing C times settles it). X's bound is then the least over its sender classes of the
// other LPs' EOTs and F, plus the lookahead: every message X can still receive — in this window
// or any later one — comes at or after it.
void ParallelTime::bounds(TimeUs end) {
  std::vector<int64_t>& d = reach_;
  std::fill(d.begin(), d.end(), kNever);
  for (uint32_t round = 0; round <= classes_; ++round) {
    bool changed = false;
    for (uint32_t t = 0; t < classes_; ++t) {
      for (const auto& [c, l] : senders_[t]) {
        const TimeUs f = std::min(best_[c], saturating_add(d[c], min_reaction_[c]));
        const TimeUs v = saturating_add(f, l);
        if (v < d[t]) {
          d[t] = v;
          changed = true;
        }
      }
    }
    if (!changed) break;
  }
  for (uint32_t x : local_) {
    TimeUs b = end;
    for (const auto& [c, l] : senders_[class_of(x)]) {
      const int64_t e = !options_.self_messages && who_[c] == x ? second_[c] : best_[c];
      const TimeUs f = std::min(e, saturating_add(d[c], min_reaction_[c]));
      b = std::min(b, saturating_add(f, l));
    }
    bound_[x] = b;
  }
}

Status ParallelTime::run_until(TimeUs limit) {
  // Set-up may have scheduled anything on any local LP.
  for (uint32_t i : local_) next_[i] = lps_[i]->ex.next_time().value_or(kNever);
  const TimeUs end = limit == kNever ? kNever : limit + 1;  // Events at `limit` run.
  const auto n_classes = static_cast<int>(classes_);
  std::vector<int64_t> agree(2 + classes_);
  for (;;) {
    // The window starts at the earliest event of any rank; a fault anywhere stops every rank.
    // Per class, the least EOT (and, when an LP's own output does not bound it, which LP has
    // it and the least of the others).
    agree[0] = kNever;
    agree[1] = any_violation_.load(std::memory_order_relaxed) ? 0 : 1;
    std::fill(best_.begin(), best_.end(), kNever);
    std::fill(who_.begin(), who_.end(), kNever);
    std::fill(second_.begin(), second_.end(), kNever);
    for (uint32_t i : local_) {
      agree[0] = std::min({agree[0], next_[i], next_message_[i]});
      const uint32_t c = class_of(i);
      const TimeUs e = eot(i);
      if (e < best_[c]) {
        second_[c] = best_[c];
        best_[c] = e;
        who_[c] = i;
      } else if (e < second_[c]) {
        second_[c] = e;
      }
    }
    if (ranks_ > 1) {
      std::copy(best_.begin(), best_.end(), agree.begin() + 2);
      std::vector<int64_t> mine = best_;
      timed_min(agree.data(), 2 + n_classes);
      std::copy(agree.begin() + 2, agree.end(), best_.begin());
      if (!options_.self_messages) {
        // The smallest LP with the least EOT, then the least EOT of every other LP.
        std::vector<int64_t> who(classes_), second(classes_);
        for (uint32_t c = 0; c < classes_; ++c) who[c] = mine[c] == best_[c] ? who_[c] : kNever;
        timed_min(who.data(), n_classes);
        for (uint32_t c = 0; c < classes_; ++c) {
          second[c] = who_[c] == who[c] ? second_[c] : mine[c];
        }
        timed_min(second.data(), n_classes);
        who_ = std::move(who);
        second_ = std::move(second);
      }
    }
    if (agree[1] == 0) return first_violation();
    const TimeUs t = agree[0];
    if (t >= end) break;
    bounds(end);
    busy_.clear();
    for (uint32_t i : local_) {
      if (std::min(next_[i], next_message_[i]) < bound_[i]) busy_.push_back(i);
    }
    in_window_ = true;
    const auto w0 = std::chrono::steady_clock::now();
    if (pool_ == nullptr || busy_.size() < 2) {
      for (uint32_t i : busy_) step(i, bound_[i]);
    } else {
      auto one = [&](size_t k) { step(busy_[k], bound_[busy_[k]]); };
      pool_->run(busy_.size(), one);
    }
    stats_.window_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
    in_window_ = false;
    ++stats_.windows;
    stats_.busy_lps += busy_.size();
    double longest = 0;
    for (uint32_t i : busy_) {
      Lp& lp = *lps_[i];
      longest = std::max(longest, lp.last_step_seconds);
      lp.ex.bind_to_current_thread();
      next_[i] = lp.ex.next_time().value_or(kNever);
      next_message_[i] = lp.pending.empty() ? kNever : lp.pending.front().at;
    }
    stats_.critical_step_seconds += longest;
    exchange();
  }
  // Outside a window no send is checked against a bound.
  for (uint32_t i : local_) bound_[i] = kNever;
  stats_.events = 0;
  stats_.step_seconds = 0;
  stats_.busiest_step_seconds = 0;
  for (uint32_t i : local_) {
    Lp& lp = *lps_[i];
    t_current_lp = i;
    lp.events += lp.ex.run_until(limit);
    t_current_lp = kNoLp;
    stats_.events += lp.events;
    stats_.step_seconds += lp.step_seconds;
    if (lp.step_seconds > stats_.busiest_step_seconds) {
      stats_.busiest_step_seconds = lp.step_seconds;
      stats_.busiest_lp = i;
    }
  }
  stats_.thread_step_seconds.resize(thread_step_.size());
  for (size_t t = 0; t < thread_step_.size(); ++t) {
    stats_.thread_step_seconds[t] = thread_step_[t].seconds;
  }
  return ok_status();
}

}  // namespace chakong::sim
