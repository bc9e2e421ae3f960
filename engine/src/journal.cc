#include "chakong/engine/journal.h"

namespace chakong::engine {

Status MemoryJournal::put(std::string_view key, std::string_view value) {
  std::lock_guard<std::mutex> lock(mu_);
  ++puts_;
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    entries_.emplace(std::string(key), std::string(value));
  } else {
    it->second.assign(value.data(), value.size());
  }
  return ok_status();
}

Status MemoryJournal::erase(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) entries_.erase(it);
  return ok_status();
}

StatusOr<std::string> MemoryJournal::get(std::string_view key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return not_found_error("journal: no key '" + std::string(key) + "'");
  return it->second;
}

Status MemoryJournal::scan(std::string_view prefix, const Visitor& visit) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = entries_.lower_bound(prefix);
       it != entries_.end() && std::string_view(it->first).starts_with(prefix); ++it) {
    visit(it->first, it->second);
  }
  return ok_status();
}

size_t MemoryJournal::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

uint64_t MemoryJournal::puts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return puts_;
}

}  // namespace chakong::engine
