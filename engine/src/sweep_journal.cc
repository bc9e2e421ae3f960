// Engine::Shard: the journal writes of the library and the sweep (library mode: appended and
// synced asynchronously once per task; a failure is kept and reported), importing the
// library, adding a terminated case to it, recovering it from the journal (the sweep runs'
// own records: the Sweeper, sweeper.cc), and the Sweeper's view of the shard (sweep_host).
#include <algorithm>
#include <string>
#include <vector>

#include "chakong/base/identity.h"
#include "shard.h"
#include "sweep_records.h"

namespace chakong::engine {

using connectors::Request;
using connectors::RequestKind;
using connectors::Response;
using namespace sweep_records;

// ---- Journal --------------------------------------------------------------------------

void Engine::Shard::journal_put(const std::string& key, std::string_view value) {
  if (config_.journal == nullptr) return;
  if (durable_) {
    // Case-server mode: in the task's atomic group (a restoration's library mark lands with
    // the restored case's records), without blocking the shard on a sync.
    pending_.push_back({key, std::string(value)});
    request_flush();
    return;
  }
  // Library mode: appended for the journal's next group write, and made durable by a sync
  // asked for once per task; the shard thread never waits for the disk.
  journal_failed(key, config_.journal->append_put(key, value));
  request_library_sync();
}

void Engine::Shard::request_library_sync() {
  if (library_sync_posted_) return;
  library_sync_posted_ = true;
  std::weak_ptr<int> alive = alive_;
  executor_.post([this, alive] {
    if (!alive.lock()) return;
    library_sync_posted_ = false;
    config_.journal->sync([this, ex = &executor_, alive](Status s) {
      if (s.ok()) return;
      // On the journal's writer thread: reported on this shard.
      ex->post([this, alive, s = std::move(s)] {
        if (alive.lock()) journal_failed("sync", s);
      });
    });
  });
}

void Engine::Shard::journal_failed(const std::string& key, const Status& s) {
  if (s.ok()) return;
  // Library mode writes outside a group: the first failure is kept (journal_status()), so a
  // restart from a journal that missed a write is not mistaken for a clean one, and reported.
  if (journal_error_.ok()) journal_error_ = s;
  if (shared_.observer) {
    shared_.observer(Event{EventType::kRequestFailed,
                           executor_.now(),
                           {},
                           {},
                           {},
                           "journal: " + key + ": " + s.to_string()});
  }
}

void Engine::Shard::journal_erase(const std::string& key) {
  if (config_.journal == nullptr) return;
  if (durable_) {
    pending_.push_back({key, {}, /*erase=*/true});  // After the puts of the same group.
    request_flush();
    return;
  }
  journal_failed(key, config_.journal->append_erase(key));
  request_library_sync();
}

// ---- Library ----------------------------------------------------------------------------

Status Engine::Shard::import_library(std::vector<std::pair<size_t, LibraryEntry>> entries) {
  if (entries.empty()) return ok_status();
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.second.terminated != b.second.terminated ? a.second.terminated < b.second.terminated
                                                      : a.second.case_number < b.second.case_number;
  });
  library_.reserve(library_.size() + entries.size());
  for (const auto& [i, e] : entries) {
    StatusOr<Library::Index> added = library_.add(e);
    if (!added.ok()) {
      return Status(added.status().code(),
                    "entries[" + std::to_string(i) + "]: " + added.status().message());
    }
  }
  // Armed when the executor runs, so that start() can resume a run first.
  executor_.post([this] { sweeper_->arm(); });
  return ok_status();
}

void Engine::Shard::add_to_library(const CaseState& c, bool restricted) {
  LibraryEntry e;
  e.case_number = c.number;
  for (const DebtorInfo& d : c.filing.debtors) {
    e.debtors.push_back({d.kind == DebtorInfo::Kind::kOrganisation, d.id});
  }
  e.officer_id = c.filing.officer_ids.front();
  // What is still owed: measures kept in force do not pay the claim until deducted.
  e.remaining = c.ledger.budget() - c.ledger.deducted();
  e.terminated = date_of(executor_.now());
  e.consumption_restricted = restricted;
  for (const Measure& m : c.measures) e.measures_in_force += m.live ? 1 : 0;
  StatusOr<Library::Index> i = library_.add(e, Library::kEngineCase);
  if (!i.ok()) {
    emit(EventType::kRequestFailed, c, {}, {}, "library: " + i.status().to_string());
    return;
  }
  journal_put("library/" + std::to_string(index_) + "/case/" + index_key(*i), encode_case(e));
  sweeper_->arm();
}

Status Engine::Shard::recover() {
  Journal* j = config_.journal;
  if (j != nullptr) {
    const std::string lib = "library/" + std::to_string(index_) + "/";
    Status bad;
    CHAKONG_RETURN_IF_ERROR(j->scan(lib + "case/", [&](std::string_view key, std::string_view v) {
      if (!bad.ok()) return;
      const std::string where = "journal " + std::string(key) + ": ";
      const uint64_t i = key_number(key);
      if (i != library_.size()) {
        bad = failed_precondition_error(where + "this library case follows " + std::to_string(i) +
                                        " cases but shard " + std::to_string(index_) + " has " +
                                        std::to_string(library_.size()) +
                                        "; import the library the engine had before the restart");
        return;
      }
      StatusOr<LibraryEntry> e = decode_case(v);
      if (!e.ok()) {
        bad = data_loss_error(where + e.status().message());
        return;
      }
      StatusOr<Library::Index> added = library_.add(*e, Library::kEngineCase);
      if (!added.ok()) bad = data_loss_error(where + added.status().message());
    }));
    CHAKONG_RETURN_IF_ERROR(bad);
    CHAKONG_RETURN_IF_ERROR(
        j->scan(lib + "restored/", [&](std::string_view key, std::string_view v) {
          if (!bad.ok()) return;
          const std::string where = "journal " + std::string(key) + ": ";
          const uint64_t i = key_number(key);
          if (StatusOr<std::string> as = decode_restored(v); !as.ok()) {
            bad = data_loss_error(where + as.status().message());
          } else if (i < library_.size()) {
            library_.record(static_cast<Library::Index>(i)).flags |= Library::kRestored;
          } else {
            bad = failed_precondition_error(where + "no such library case on shard " +
                                            std::to_string(index_));
          }
        }));
    CHAKONG_RETURN_IF_ERROR(bad);
    if (StatusOr<std::string> n = j->get(lib + "serial"); n.ok()) {
      StatusOr<int64_t> count = decode_counter(*n);
      if (!count.ok()) {
        return data_loss_error("journal " + lib + "serial: " + count.status().message());
      }
      restore_count_ = *count;
    } else if (n.status().code() != StatusCode::kNotFound) {
      return Status(n.status().code(), "journal " + lib + "serial: " + n.status().message());
    }
  }
  return sweeper_->recover();
}

// The Sweeper's view of a shard (Shard::sweep_host): how it sends, journals, restores and
// hands leads on.

SweepHost Engine::Shard::sweep_host() {
  SweepHost h{executor_, config_, shared_.connectors, shared_.observer, library_, stats_, index_};
  h.send = [this](const Subject& subject, const SweepSend& s, Callback done, RequestFill fill) {
    return send_in_place(subject, s.kind, s.officer, s.debtor, s.connector, s.lane, s.deadline,
                         std::move(done), fill);
  };
  h.journal_put = [this](const std::string& key, std::string_view value) {
    journal_put(key, value);
  };
  h.journal_erase = [this](const std::string& key) { journal_erase(key); };
  h.restore = [this](const std::string& number, std::vector<Lead> leads) {
    return restore(number, std::nullopt, std::move(leads), false);
  };
  h.forward_leads = [this](const std::string& number, std::vector<Lead> leads) {
    const size_t to = engine_.shard_of(number);
    Shard* target = engine_.shards_[to].get();
    post_to(to, [target, number, leads = std::move(leads)]() mutable {
      if (CaseState* c = target->find(number)) target->receive_leads(*c, std::move(leads));
    });
  };
  h.drop_known = [this](const std::string& number, std::vector<Lead>& leads) {
    const CaseState* own = find(number);
    if (own == nullptr) return;
    // A terminated engine case whose measures kept in force already hold its whole budget
    // (a sealed property, a bank freeze waiting for top-ups) can take nothing more.
    if (own->ledger.remaining() <= Fen()) {
      leads.clear();
      return;
    }
    // Property already under this case's own measure (kept in force) is not new.
    std::erase_if(leads, [&](const Lead& l) {
      return std::any_of(own->findings.begin(), own->findings.end(), [&](const Finding& f) {
        return f.connector == l.connector && f.asset.reference == l.asset.reference;
      });
    });
  };
  return h;
}

}  // namespace chakong::engine
