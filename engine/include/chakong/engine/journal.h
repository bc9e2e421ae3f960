// Journal: the seam through which the engine writes down what it must not forget.
//
// The engine keeps its working state in memory and records, through this interface, what a
// restarted engine needs to continue: the terminated-case library's additions and
// restorations and the sweep's progress; and, in case-server mode (EngineConfig::
// journal_cases), every case, finding and measure and every request in flight (see
// proto/chakong/v1/journal.proto). The store is a set of keys with values; a put replaces
// the value.
//
// Two ways to write:
//  - put()/erase() are durable when they return OK (one synced write each, or a share of a
//    group write the call waits for);
//  - append_put()/append_erase() queue a change for the next group write and return at once;
//    sync(done) calls `done` once every change appended before it is durable, or with the
//    write's error. This is group commit: the engine appends what a task changed, asks for
//    one sync, and holds the task's outbound requests until `done`.
// Changes are applied in the order they were made, whichever way they were written.
//
// Keys are ASCII paths ("sweep/0/run/20260101/done/00000003"); the engine owns every key
// that starts with a component it writes ("library/", "sweep/", "case/", "audit/"). Values
// are opaque bytes. get() and scan() see durable changes (they are for recovery).
//
// MemoryJournal keeps everything in a map for simulation and tests: it survives an engine
// being destroyed and re-created (the restart tests), not a process crash. RocksJournal
// (rocks_journal.h) is the durable one.
//
// Threading: every method may be called from any shard's thread at once; `done` runs on
// any thread (the engine posts it back to its shard).
#ifndef CHAKONG_ENGINE_JOURNAL_H_
#define CHAKONG_ENGINE_JOURNAL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "chakong/base/status.h"

namespace chakong::engine {

class Journal {
 public:
  using Visitor = std::function<void(std::string_view key, std::string_view value)>;

  virtual ~Journal() = default;
  // Stores `value` under `key`, replacing what was there. Durable when it returns OK; an
  // error (kUnavailable, kResourceExhausted for a full disk) means nothing was stored.
  virtual Status put(std::string_view key, std::string_view value) = 0;
  // Removes `key` (OK when absent).
  virtual Status erase(std::string_view key) = 0;
  // The value under `key`; kNotFound when absent.
  virtual StatusOr<std::string> get(std::string_view key) const = 0;
  // Visits every key that starts with `prefix`, in byte order of the keys.
  virtual Status scan(std::string_view prefix, const Visitor& visit) const = 0;

  using Done = std::function<void(Status)>;
  // Group commit (see above). The defaults write at once (put/erase) and call `done` at once:
  // right for a journal whose writes cost nothing, like MemoryJournal. An error from an
  // earlier failed write is returned again: nothing is queued after a failure.
  virtual Status append_put(std::string_view key, std::string_view value) {
    return put(key, value);
  }
  virtual Status append_erase(std::string_view key) { return erase(key); }
  // Appends several changes that become durable together or not at all (one task's
  // records: a finding, its measure and the case's ledger).
  struct Change {
    std::string key;
    std::string value;
    bool erase = false;
  };
  virtual Status append_all(const std::vector<Change>& changes) {
    for (const Change& c : changes) {
      CHAKONG_RETURN_IF_ERROR(c.erase ? append_erase(c.key) : append_put(c.key, c.value));
    }
    return ok_status();
  }
  virtual void sync(Done done) { done(ok_status()); }
};

class MemoryJournal final : public Journal {
 public:
  Status put(std::string_view key, std::string_view value) override;
  Status erase(std::string_view key) override;
  StatusOr<std::string> get(std::string_view key) const override;
  Status scan(std::string_view prefix, const Visitor& visit) const override;

  size_t size() const;
  uint64_t puts() const;

 private:
  // One lock for the map: the simulator runs every shard on one thread, and the tests that
  // use real threads write a few keys. A durable journal (RocksDB) is concurrent inside.
  mutable std::mutex mu_;
  std::map<std::string, std::string, std::less<>> entries_;
  uint64_t puts_ = 0;
};

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_JOURNAL_H_
