// EventLog: the service's durable, numbered log of engine events (WatchEvents).
//
// The engine reports events to an observer and keeps no log of them, so the service keeps
// one in the journal the engine writes to: key "service/event/<%020u cursor>", value a
// serialised chakong.v1.EngineEvent. Cursors are 1, 2, 3, ... with no gap. An event is
// appended to the journal's group commit as it happens and is handed to watchers only once a
// sync covering it returned: what a client saw is on disk, so a restarted server numbers new
// events after it and a client resuming from its last cursor misses nothing and sees nothing
// twice.
//
// Threading: append() is called on any shard's thread. One mutex orders cursor assignment
// with the journal append (the journal itself serialises appends under its own lock, so this
// adds no new serial point) and guards the in-memory copy; wait_after() is called from gRPC
// threads. Sync callbacks hold the state by shared_ptr, so they may outlive the log.
#ifndef CHAKONG_SERVICE_SRC_EVENT_LOG_H_
#define CHAKONG_SERVICE_SRC_EVENT_LOG_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chakong/engine/engine.h"
#include "chakong/engine/journal.h"
#include "chakong/v1/service.pb.h"

namespace chakong::service {

class EventLog {
 public:
  explicit EventLog(engine::Journal& journal);
  // Reads the events already in the journal (call before the engine starts). kDataLoss for a
  // record that does not parse or a gap in the cursors.
  Status load();
  // Numbers and journals one event.
  void append(const engine::Event& event);
  // Copies into `out` the durable events with cursor > `after` (at most `max`), waiting up
  // to `wait` for one. False once stop() was called.
  bool wait_after(uint64_t after, size_t max, std::chrono::milliseconds wait,
                  std::vector<v1::EngineEvent>& out);
  // Wakes every watcher; wait_after() then returns false.
  void stop();
  uint64_t durable() const;
  uint64_t appended() const;
  uint64_t append_failures() const;

  static std::string key(uint64_t cursor);

 private:
  struct State {
    mutable std::mutex mu;
    std::condition_variable cv;
    std::vector<v1::EngineEvent> events;  // events[i].cursor() == i + 1.
    uint64_t durable = 0;                 // Every cursor <= this is on disk.
    uint64_t failures = 0;
    bool stopped = false;
  };
  engine::Journal& journal_;
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

v1::EventKind to_event_kind(engine::EventType type);

}  // namespace chakong::service

#endif  // CHAKONG_SERVICE_SRC_EVENT_LOG_H_
