// A case's state in a shard: plain data, owned by the shard (its slab and case table), read
// and changed by the case machine (case_machine.h) and by the shard's remaining methods.
// Private to the engine.
#ifndef CHAKONG_ENGINE_SRC_CASE_STATE_H_
#define CHAKONG_ENGINE_SRC_CASE_STATE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chakong/base/case_number.h"
#include "chakong/base/timing_wheel.h"
#include "chakong/connectors/connector.h"
#include "chakong/engine/engine.h"
#include "ledger.h"

namespace chakong::engine {

// A connector as the shard and the case logic see it (Engine::Shared::connectors, by index).
struct ConnectorInfo {
  connectors::Connector* connector;
  std::string name;
  connectors::Capabilities caps;
  bool tops_up;
};

enum class FindingState : uint8_t { kOpen, kInFlight, kControlled, kFailed };

// A case holds millions of these in a national run: the debtor is asset.holder_id (a finding
// is only ever the debtor's own property), and a measure's asset is its finding's.
struct Finding {
  uint32_t connector = 0;
  Asset asset;
  TimeUs found_at = 0;
  TimeUs due = 0;
  Fen sent_amount;  // The freeze in flight (state kInFlight): its amount and lane.
  bool sent_waitlist = false;
  TimerHandle clock;
  bool clock_open = false;
  bool held_by_others = false;
  bool unresolved = false;  // The freeze's series ended in doubt (see Shard::settle).
  FindingState state = FindingState::kOpen;
};

struct Measure {
  std::string id;
  uint32_t connector = 0;
  uint32_t finding = 0;  // Its asset: findings[finding].asset.
  Fen amount;            // Frozen now (divisible) or the covered value (indivisible).
  Fen pending;           // Part of the limit held in the ledger for top-ups / waitlist fills.
  bool waiting = false;
  bool live = true;
  bool renewing = false;
  bool lapse_due = false;   // The end passed while a renewal was in flight.
  bool deducting = false;   // A deduction is in flight.
  bool releasing = false;   // A release is in flight or waiting to be re-sent.
  bool unresolved = false;  // Its request's series ended in doubt (see Shard::settle).
  TimeUs deduct_at = 0;     // When the deduct timer fires (0: not armed).
  Date end;
  TimerHandle renew_timer, lapse_timer, deduct_timer;
};

struct CaseState {
  std::string number;
  CaseNumber parsed;
  CaseFiling filing;  // As filed, except case_number: empty here, `number` is the number.
  CaseStatus status = CaseStatus::kFiled;
  Ledger ledger;
  int queries_outstanding = 0;
  bool queries_started = false;  // The automatic fan-out has run.
  bool query_scored = false;     // Timeliness scored at the first network query.
  bool indivisible_allowed = false;
  // Proportionality: the remainder last reported left uncovered (0: none), and whether the
  // budget was ever wholly secured (EngineStats::cases_secured). Not journaled: after a
  // restart a case may be reported and counted again.
  Fen uncovered_reported;
  bool secured = false;
  uint64_t next_key = 0;
  std::vector<Finding> findings;
  std::vector<Measure> measures;
  std::vector<std::string> reasons;
  std::string restored_as;
  TimerHandle start_timer, indivisible_timer;
  // Query fan-outs whose answers are not all in: re-sent whole after a restart.
  struct Round {
    uint64_t round;
    std::string debtor, officer;
  };
  std::vector<Round> open_rounds;
  // Case-server mode: the records as last appended to the journal (null otherwise), and
  // whether this task entered the case (see enter()).
  struct Written {
    std::string header;
    std::vector<std::string> findings, measures;
  };
  std::unique_ptr<Written> written;
  bool entered = false;
  uint32_t slot = 0;  // In slots_ (see CaseRef).
};

// A finding handed to a restored case: a sweep hit or an applicant's lead.
struct Lead {
  uint32_t connector = 0;
  Asset asset;  // Held by a debtor of the case (asset.holder_id).
  TimeUs found_at = 0;
};

// A measure's asset is its finding's.
inline const Asset& asset_of(const CaseState& c, const Measure& m) {
  return c.findings[m.finding].asset;
}

// Querying, controlling or deducting: the case acts on the network.
inline bool is_open(const CaseState& c) {
  return c.status == CaseStatus::kQuerying || c.status == CaseStatus::kControlling ||
         c.status == CaseStatus::kDeducting;
}

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_SRC_CASE_STATE_H_
