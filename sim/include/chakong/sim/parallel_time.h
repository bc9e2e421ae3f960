// ParallelTime: conservative parallel discrete-event simulation in windows (YAWNS, "bounded
// lag") over logical processes, each with its own virtual-time executor.
//
// A model is split into logical processes (LPs): an engine shard, an institution, a hub member.
// Each LP's events run on its own VirtualExecutor and touch only that LP's state; LPs talk only
// by messages. send(from, to, at, task) runs `task` on LP `to` at virtual time `at`, which must
// be at least `lookahead` after the sender's now() (the least one-way transit the model has).
//
// run_until() advances in windows. Each LP X gets its own bound for the window and runs its
// events before it independently — in parallel — and then the window's messages are delivered:
//
//   EOT(S)   = min(S's earliest own event, S's earliest pending message + reaction(S))
//   D(X)     = min over LPs S that may send to X of min(EOT(S), D(S) + reaction(S)) + L(S -> X)
//   bound(X) = min(limit, D(X))
//
// L(S -> X) is the per-pair lookahead (by LP class, at least `lookahead`; a pair may also never
// send); reaction(S) the least time between a message reaching S and any send that message
// causes (early output: an institution answers no sooner than its least latency). D is a
// shortest path (every step adds L > 0), computed over the classes. Why no message reaches X
// before bound(X), in this window or any later one: follow the message's causes back to now.
// Its chain starts either at an own event of some LP S (at tau >= S's earliest own event: a
// window's events only go forward in time) or at a message pending at S (at t >= S's earliest
// one, the first send at >= t + reaction(S)): that is EOT(S), plus L(S -> next LP) for the hop.
// Every later hop is a message reaching an LP Y at >= D(Y) and answered >= reaction(Y) later,
// plus L(Y -> next). So the message comes at >= D(X), and X ran only events before that.
// (Messages are held by the kernel and handed to an LP's executor only in the window that runs
// them, so "own event" and "pending message" stay apart.) The next window starts at the next
// earliest event, so an idle stretch costs one step however long it is; the LP with that event
// always runs (every D is beyond it). With one class, no reaction and one lookahead this is
// plain YAWNS: every bound is the earliest event plus the lookahead.
//
// Determinism: the windows depend only on event times; each LP runs its own events in
// (time, submission order); a window's messages are handed to each LP ordered by
// (time, source LP, source sequence), never by which thread sent first. A run is therefore the
// same event for event whatever the number of threads. (It is not the order one shared
// executor would give to events at the same microsecond: a model moved onto LPs changes its
// tie order once, then keeps it.)
//
//   ParallelTime pt({.lps = 4, .start = t0, .lookahead = kMicrosPerSecond, .threads = 2});
//   pt.executor(0).run_at(t0, [&] { pt.send(0, 3, pt.executor(0).now() + kMicrosPerSecond,
//                                           [] { ... runs on LP 3 ... }); });
//   Status s = pt.run_until(t0 + kMicrosPerDay);
//
// Threads: run_until() is called from one thread; during a window each LP's executor runs on
// one of the kernel's worker threads (its own pool), so LP code must not share mutable state with
// another LP except through send(). Between windows (and before the first) any local LP's
// executor may be used from the calling thread, for set-up.
//
// Ranks: with a Comm of several processes (MPI), LP `lp` lives on rank rank_of(lp) and every
// rank runs the same loop: the window's start is the minimum over ranks (an all-reduce), and the
// window's messages for LPs elsewhere cross in one all-to-all. A task cannot cross processes, so
// messages that may go to another rank are bytes: send_bytes(), delivered to the receiver set
// for the destination LP. Deliveries are ordered by the same key whatever the path, so the run
// is the same event for event whatever the threads and ranks.
#ifndef CHAKONG_SIM_PARALLEL_TIME_H_
#define CHAKONG_SIM_PARALLEL_TIME_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chakong/base/executor.h"
#include "chakong/base/status.h"
#include "chakong/base/virtual_executor.h"
#include "chakong/sim/comm.h"

namespace chakong::sim {

struct ParallelTimeOptions {
  uint32_t lps = 1;
  TimeUs start = 0;
  // The least virtual time between a send and its delivery; > 0. Every pair's lookahead is at
  // least this (and is this when class_lookahead is not set).
  TimeUs lookahead = kMicrosPerSecond;
  // Worker threads stepping LPs in a window; 1 runs everything on the calling thread.
  int threads = 1;
  // The ranks of the run (not owned; outlives the ParallelTime). Null: one process.
  Comm* comm = nullptr;
  // Per LP, the rank it lives on (0..ranks-1); empty: round robin (LP lp on rank lp % ranks).
  // Every rank gives the same placement.
  std::vector<int> lp_rank;
  // Per-pair lookahead. lp_class[lp] is LP lp's class (empty: every LP is class 0; classes are
  // 0..max). class_lookahead(from_class, to_class), evaluated once at create() into a table,
  // is the least time between a send from an LP of the first class and its delivery to one of
  // the second, >= lookahead, or kNoMessages for a pair that never sends.
  std::vector<uint32_t> lp_class;
  std::function<TimeUs(uint32_t from_class, uint32_t to_class)> class_lookahead;
  // Per LP (empty: all 0): a message delivered to LP X at t causes no send from X before
  // t + reaction[X] (through any chain of X's events). >= 0.
  std::vector<TimeUs> reaction;
  // Whether an LP sends to itself with send(). When false, a send to itself in a window is a
  // model error, and an LP's own earliest output does not bound its window.
  bool self_messages = true;
};

// This rank's figures (windows is the same on every rank).
struct ParallelTimeStats {
  uint64_t windows = 0;        // Windows stepped.
  uint64_t events = 0;         // Events run by this rank's LPs.
  uint64_t messages = 0;       // Messages delivered to this rank's LPs.
  uint64_t remote_bytes = 0;   // Bytes sent to other ranks.
  double barrier_seconds = 0;  // Wall time in the collectives (waiting for the other ranks).
  // Sum over windows of the LPs that had an event in the window: divided by `windows`, the
  // parallelism the model offers.
  uint64_t busy_lps = 0;
  // Wall time of the windows' parallel part (stepping the LPs), and the sum over LPs of the
  // time each spent running its events in it: with T threads, 1 - step_seconds /
  // (T x window_seconds) is the share of the workers' time in windows spent waiting at the
  // window's barrier for the slowest LP (or for want of work).
  double window_seconds = 0;
  double step_seconds = 0;
  // The largest sum over one LP of the time it spent running its events (which LP: busiest_lp):
  // with step_seconds, the share of the work on the busiest LP, which bounds the speed-up.
  double busiest_step_seconds = 0;
  uint32_t busiest_lp = 0;
  // Sum over windows of the longest time one LP spent running its events in the window: the
  // critical path of the windows. step_seconds / critical_step_seconds bounds the event loop's
  // speed-up however many threads step the LPs (a window ends with its slowest LP).
  double critical_step_seconds = 0;
  // Per thread of the windows (0: the calling thread, 1..: the pool's workers), the time it
  // spent running LPs' events in windows: 1 - this / window_seconds is that thread's share of
  // the windows spent waiting. The sum is step_seconds.
  std::vector<double> thread_step_seconds;
};

class ParallelTime {
 public:
  static constexpr TimeUs kNoMessages = -1;

  // kInvalidArgument (naming the option) for lps == 0, lookahead <= 0, threads < 1, lp_class,
  // lp_rank or reaction not one per LP, a rank in lp_rank that is not one of the run's, a pair's lookahead below `lookahead`, or a negative reaction.
  static StatusOr<std::unique_ptr<ParallelTime>> create(const ParallelTimeOptions& options);
  ~ParallelTime();
  ParallelTime(const ParallelTime&) = delete;
  ParallelTime& operator=(const ParallelTime&) = delete;

  uint32_t lps() const { return static_cast<uint32_t>(lps_.size()); }
  TimeUs lookahead() const { return options_.lookahead; }
  // L(from -> to), kNoMessages when that pair never sends.
  TimeUs lookahead(uint32_t from, uint32_t to) const {
    return pair_[class_of(from) * classes_ + class_of(to)];
  }
  int rank() const { return rank_; }
  int ranks() const { return ranks_; }
  // The rank LP `lp` lives on (ParallelTimeOptions::lp_rank, else round robin).
  int rank_of(uint32_t lp) const {
    return lp_rank_.empty() ? static_cast<int>(lp % static_cast<uint32_t>(ranks_)) : lp_rank_[lp];
  }
  bool is_local(uint32_t lp) const { return rank_of(lp) == rank_; }
  // LP `lp`'s executor: its events, its clock. Only a local LP's runs anything.
  VirtualExecutor& executor(uint32_t lp);

  // The LP whose events the calling thread is running in a window; kNoLp outside a window
  // (set-up, or a thread that is not stepping an LP).
  static constexpr uint32_t kNoLp = UINT32_MAX;
  static uint32_t current_lp();

  // What an LP does with the bytes sent to it: called on that LP at the message's time.
  using Receiver = std::function<void(uint32_t from, std::string bytes)>;
  void set_receiver(uint32_t lp, Receiver receiver);

  // From an event running on LP `from`: runs `task` on LP `to` at `at`. `at` earlier than
  // from's now() + lookahead(from, to) is a model error, and so is one to a pair that never
  // sends, or one earlier than the receiver's bound for the window (the sender broke its
  // reaction): the message is dropped and run_until() fails naming it. Between windows (set-up)
  // `from` is ignored and the lookahead is not required.
  void send(uint32_t from, uint32_t to, TimeUs at, Task task);
  // The same for bytes, to an LP on any rank (its receiver gets them). From set-up (between
  // windows) only to a local LP.
  void send_bytes(uint32_t from, uint32_t to, TimeUs at, std::string bytes);

  // Runs every event due at or before `limit` on every LP, then sets every LP's clock to
  // `limit`. kFailedPrecondition for a message sent inside the lookahead or to an LP that does
  // not exist (the first one, with its LPs and times; on the other ranks, which rank saw it);
  // the run stops at the end of that window. Every rank calls it with the same limit.
  Status run_until(TimeUs limit);

  const ParallelTimeStats& stats() const { return stats_; }

 private:
  struct Message;
  struct Lp;

  explicit ParallelTime(const ParallelTimeOptions& options);
  uint32_t class_of(uint32_t lp) const { return class_.empty() ? 0 : class_[lp]; }
  TimeUs eot(uint32_t lp) const;
  void bounds(TimeUs end);
  Lp* sender(uint32_t from, uint32_t to, TimeUs at);
  void step(uint32_t lp, TimeUs bound);
  void exchange();
  void hand_over(uint32_t to);
  Status first_violation() const;
  void timed_min(int64_t* values, int n);

  const ParallelTimeOptions options_;
  const int rank_;
  const int ranks_;
  const std::vector<int> lp_rank_;  // Empty: round robin.
  std::vector<std::unique_ptr<Lp>> lps_;
  std::vector<uint32_t> local_;  // This rank's LPs, ascending.
  std::vector<Receiver> receivers_;
  // The lookahead table (from class x to class, kNoMessages for none), and per target class
  // the classes that may send to it with their lookahead.
  uint32_t classes_ = 1;
  std::vector<uint32_t> class_;
  std::vector<TimeUs> pair_;
  std::vector<std::vector<std::pair<uint32_t, TimeUs>>> senders_;
  std::vector<TimeUs> reaction_;      // Per LP, or empty.
  std::vector<TimeUs> min_reaction_;  // Per class: the least of its LPs' (kNever: no LP).
  // Each LP's earliest own event and earliest pending message as of the last window's end, and
  // its bound in the current window: dense, so that finding the window's start and its busy LPs
  // touches a few cache lines, not every LP.
  std::vector<TimeUs> next_;
  std::vector<TimeUs> next_message_;
  std::vector<TimeUs> bound_;
  // Per class, this window: the least EOT, the smallest LP with it, the least EOT of the others.
  std::vector<int64_t> best_, who_, second_;
  std::vector<int64_t> reach_;  // Per class, this window: the least time a message can reach it.
  std::vector<uint32_t> busy_;  // The LPs with an event in the current window.
  std::vector<std::vector<Message>> inbox_;
  std::vector<uint32_t> touched_;      // LPs with messages this window (scratch).
  std::vector<std::string> outgoing_;  // Per rank, this window's bytes (scratch).
  // Per thread of the windows, the time it ran LPs' events (a cache line each).
  struct alignas(64) ThreadTime {
    double seconds = 0;
  };
  std::vector<ThreadTime> thread_step_;
  bool in_window_ = false;
  std::atomic<bool> any_violation_{false};
  ParallelTimeStats stats_;
  class Pool;
  std::unique_ptr<Pool> pool_;
};

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_PARALLEL_TIME_H_
