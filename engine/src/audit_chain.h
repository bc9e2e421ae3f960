// The audit chain's links: how each is hashed and how a shard continues its chain. Internal;
// the format and its guarantees are described in chakong/engine/audit.h.
#ifndef CHAKONG_ENGINE_SRC_AUDIT_CHAIN_H_
#define CHAKONG_ENGINE_SRC_AUDIT_CHAIN_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "chakong/base/status.h"
#include "chakong/engine/journal.h"
#include "chakong/v1/journal.pb.h"

namespace chakong::engine {

// The bytes a link's hash covers besides prev_hash: fields 1..9, one per line, then one
// line per sealed record ("record=<key> <hex SHA-256>").
std::string audit_canonical(const v1::AuditRecord& record);
// SHA-256 of `prev_hash` followed by audit_canonical(record).
std::string audit_hash(const v1::AuditRecord& record);
// SHA-256 of a record's value, as a seal carries it (32 bytes).
std::string record_digest(std::string_view value);

class AuditChain {
 public:
  explicit AuditChain(size_t shard) : shard_(shard) {}
  // Continues the chain from its head in `journal` (a fresh chain when the shard has no
  // link at all). kDataLoss when the head cannot be read, is missing while links exist, or
  // is behind the newest link: a sequence is never restarted over existing links.
  Status resume(const Journal& journal);
  // Fills seq, prev_hash and hash of `record` as the next link; returns its key.
  std::string link(v1::AuditRecord& record);
  std::string head_key() const;
  // The value written under head_key(): the newest link's seq and hash, all that resume() and
  // verify_audit() read (not a copy of the link, which may carry a group's seals).
  std::string head() const;
  uint64_t next_seq() const { return next_seq_; }

 private:
  size_t shard_;
  uint64_t next_seq_ = 1;
  std::string prev_hash_;  // Empty before the first link.
};

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_SRC_AUDIT_CHAIN_H_
