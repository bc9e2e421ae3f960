// Journal: the seam through which the engine writes down what it must not forget.
//
// The engine keeps its working state in memory and records, through this interface, what a
// restarted engine needs to continue: today the terminated-case library's additions and
// restorations and the sweep's progress (which run is under way, which library cases of it
// are done). The store is a set of keys with values; a put replaces the value, and a put that
// returned OK must survive a crash of the process (a durable implementation syncs before it
// returns, or groups puts into one synced write and returns when that write is done).
//
// Keys are ASCII paths ("sweep/0/run/20260101/done/00000003"); the engine owns every key
// that starts with a component it writes ("library/", "sweep/"). Values are opaque bytes.
//
// MemoryJournal keeps everything in a map for simulation and tests: it survives an engine
// being destroyed and re-created (the restart tests), not a process crash.
//
// Threading: put/erase/get/scan may be called from any shard's thread at once.
#ifndef CHAKONG_ENGINE_JOURNAL_H_
#define CHAKONG_ENGINE_JOURNAL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "chakong/engine/status.h"

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
