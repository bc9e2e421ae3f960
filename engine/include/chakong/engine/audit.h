// Audit: the hash-chained log of every outbound request and every read of a case's findings.
//
// Each shard keeps one chain in the journal (keys "audit/<shard>/<%016u seq>", plus
// "audit/<shard>/head", the newest link). A link says who (officer), when, which case and
// debtor (masked: "1101**********002X"), why (purpose), what (query, freeze, ..., read),
// where (connector) and the request id (the idempotency key, identity numbers masked), and
// carries hash = SHA-256(prev_hash || canonical text of those fields). Links are written in
// the same group commit as the state that sends the request, before it leaves: a request
// that reached an institution always has its link.
//
// Every group of case records the engine writes carries one more link, action "write",
// that seals them: the key and SHA-256 of each record written (RecordSeal). The link is in
// the same atomic group as the records, so after any crash each case record is the value its
// newest seal names; a record changed, added or removed outside the engine is not.
//
// verify_audit() walks every chain and reports the first broken link: an altered record
// (its hash no longer matches), a removed or reordered one (sequence gap, previous-hash
// mismatch), a cut chain (the head is ahead of the last link) or a removed head (links
// without a head). Then it checks every case record against its newest seal. Engine::start()
// runs it and refuses a journal that fails (kDataLoss naming the key).
#ifndef CHAKONG_ENGINE_AUDIT_H_
#define CHAKONG_ENGINE_AUDIT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "chakong/engine/journal.h"

namespace chakong::engine {

struct AuditVerdict {
  uint64_t records = 0;  // Links checked.
  uint64_t chains = 0;
  uint64_t sealed = 0;  // Case records that matched their newest seal.
  bool intact = true;
  std::string broken_key;  // The first broken link's key, or the case record's.
  std::string reason;
};

// Checks every audit chain in `journal`, then every case record ("case/...") against the
// newest seal of its key. kDataLoss only when the journal cannot be read; a broken chain or
// a record that is not what the engine wrote is a verdict with intact = false.
StatusOr<AuditVerdict> verify_audit(const Journal& journal);

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_AUDIT_H_
