// Institution: the ground truth of one simulated bank or registry.
//
// It holds assets (accounts with balances that move, properties, vehicles), the measures every
// authority holds on them, and the waiting lists, and answers requests exactly as the real
// institution would on receipt (latency is the connector's business, not this class's):
//  - QUERY lists the debtor's assets with current balances / values.
//  - FREEZE on a divisible asset is a limited-amount freeze: it freezes min(limit, available)
//    and reports requested, frozen, balance, shortfall and the prior measures; with the top-up
//    policy (default on) later credits fill a short freeze up to its limit. On an indivisible
//    asset already sealed it refuses with kFailedPrecondition and lists the prior measures.
//  - WAITLIST_FREEZE queues FIFO; when a prior measure is released or lapses the freed value
//    goes to the earliest waiter, partially for divisible assets (the remainder stays queued).
//  - RENEW extends an active measure by its term from the day after its current end.
//  - RELEASE ends a measure and promotes waiters; DEDUCT transfers frozen funds out.
//  - MEASURE_STATUS answers from the measure book: a waiter's queue position, or a measure in
//    force with its frozen amount and end date (a waiter that converted); a measure no longer
//    live is refused kFailedPrecondition naming its state. It changes nothing and is never
//    remembered by key.
//  - A repeated idempotency key returns the first answer and changes nothing.
// Measures lapse when expire() passes their end date without renewal; lapses are counted.
//
// Not thread-safe: owned by one simulation thread (the virtual executor's).
#ifndef CHAKONG_INSTITUTION_INSTITUTION_H_
#define CHAKONG_INSTITUTION_INSTITUTION_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chakong/connectors/connector.h"
#include "chakong/connectors/ground_truth.h"

namespace chakong::institution {

struct InstitutionPolicy {
  // Later credits top up a short limited freeze until its limit is reached (DOMAIN rule 7).
  bool top_up = true;
  // How many days an answered idempotency key is remembered (0: for ever). A repeat after
  // that is acted on afresh. The simulator keeps keys for longer than any retry schedule
  // lasts, so that a national year does not hold every control answer it ever gave.
  int remember_days = 0;
};

enum class MeasureState : uint8_t { kWaiting, kActive, kReleased, kLapsed, kDeducted, kVoided };
std::string_view measure_state_name(MeasureState state);

struct MeasureRecord {
  std::string id;
  std::string case_number;  // The authority: a case number of this or another court.
  std::string reference;    // Asset reference.
  AssetCategory category = AssetCategory::kDeposit;
  Fen limit;        // Requested amount (divisible) or the value (indivisible).
  Fen frozen;       // Currently frozen (divisible); value when active (indivisible).
  Fen transferred;  // Transferred to the case by deductions (and a disposal's proceeds).
  MeasureState state = MeasureState::kWaiting;
  Date effective;
  Date end;
  bool from_waitlist = false;
  uint32_t next_on_asset = UINT32_MAX;  // The asset's next measure in service order.
};

class Institution final : public connectors::GroundTruth {
 public:
  Institution(std::string name, connectors::Capabilities capabilities,
              InstitutionPolicy policy = {});

  const std::string& name() const { return name_; }
  connectors::Capabilities capabilities() const { return capabilities_; }

  // Adds an asset; kAlreadyExists for a reference already held, kInvalidArgument for an
  // empty reference or holder or a negative value.
  Status add_asset(const Asset& asset);
  // Room for `assets` more assets of `holders` more holders (a hint: set-up then adds them
  // without growing its tables step by step).
  void reserve(size_t assets, size_t holders);
  // Moves a balance: credit adds (and tops up short freezes by policy); debit takes only
  // unfrozen funds and returns what it took. kNotFound for an unknown reference.
  Status credit(std::string_view reference, Fen amount, Date today);
  StatusOr<Fen> debit(std::string_view reference, Fen amount);
  // Places another authority's measure directly (scenario set-up), active or waiting.
  StatusOr<std::string> add_foreign_measure(std::string_view reference, std::string authority,
                                            Fen amount, Date effective, Date end);

  // Answers one request as of civil date `today` (expiring measures first).
  connectors::Response handle(const connectors::Request& request, Date today) override;

  // Full disposal of an asset (a property sold at auction): the measure in effect ends as
  // deducted, every waiter is voided, and the asset's value drops to 0. Returns the number of
  // waiters voided; kNotFound for an unknown reference.
  StatusOr<int> dispose(std::string_view reference);

  // Lapses every active measure whose end date is before `today` and promotes waiters.
  // Returns how many lapsed now.
  int expire(Date today);

  // Inspection, for tests and the simulator's invariant checks.
  const MeasureRecord* measure(std::string_view id) const;
  std::vector<const MeasureRecord*> measures_on(std::string_view reference) const;
  // Sum frozen on divisible assets by measures of `case_number` (active ones).
  Fen frozen_for_case(std::string_view case_number) const;
  // Adds, per case, the divisible money this institution holds frozen for it plus what it has
  // transferred to it: one pass over the measures (the simulator's over-seizure check).
  void add_held_by_case(std::unordered_map<std::string, Fen>& held) const;
  // Raises, per case, the one over-seizure tolerance (docs/domain.md) to what its whole-unit
  // freezes here allow: one fen less than the largest unit price of a position this
  // institution holds frozen for it (securities; nothing for other assets).
  void add_unit_slack_by_case(std::unordered_map<std::string, Fen>& slack) const;
  // Adds, per case, the divisible money held frozen now by active measures (no transfers).
  void add_frozen_by_case(std::unordered_map<std::string, Fen>& frozen) const;
  // Funds transferred to `case_number`'s account by deductions.
  Fen deducted_for_case(std::string_view case_number) const;
  // Number of (case, asset) pairs holding more than one live (active or waiting) measure.
  // One pass over the measures; live_duplicates() is the same number, kept up to date.
  int duplicate_measures() const;

  // For incremental checks (the simulator's daily over-seizure check looks only at the cases
  // whose measures changed). With note_changes(true), every change to a measure's state,
  // frozen amount or transfers notes the measure's index (maybe more than once) until
  // take_changed_measures() hands the notes over (into `out`, which is cleared first).
  void note_changes(bool on) { note_ = on; }
  void take_changed_measures(std::vector<uint32_t>& out);
  size_t measure_count() const { return measures_.size(); }
  const MeasureRecord& measure_at(uint32_t i) const { return measures_[i]; }
  // What measure `i` adds to its case in add_held_by_case (`listed`: whether it makes the case
  // appear there at all; `amount`: frozen while active on a divisible asset, plus what it
  // transferred) and in add_unit_slack_by_case (0 when it raises nothing).
  struct Holding {
    bool listed = false;
    Fen amount;
    Fen unit_slack;
  };
  Holding holding_of(uint32_t i) const;
  // duplicate_measures(), counted as measures become live and stop being live.
  int live_duplicates() const { return live_duplicates_; }
  uint64_t lapsed() const { return lapsed_; }
  uint64_t requests_handled() const { return handled_; }
  uint64_t idempotent_replays() const { return replays_; }
  StatusOr<Fen> balance(std::string_view reference) const;

 private:
  // One asset, kept small: a national run holds tens of millions. The reference is the key of
  // assets_ and the holder ID the key of holders_ (node keys do not move); securities' units
  // and unit price live in securities_.
  struct AssetState {
    const std::string* reference = nullptr;
    const std::string* holder = nullptr;
    AssetState* next_of_holder = nullptr;  // The holder's next asset, in the order added.
    Fen value;
    uint32_t first_measure = UINT32_MAX;  // Measures chained through next_on_asset.
    AssetCategory category = AssetCategory::kDeposit;
    bool priced = false;  // Has units and a unit price in securities_.
  };
  // Looks assets up by a reference view without building a string.
  struct ReferenceHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct HolderAssets {
    AssetState* first = nullptr;
    AssetState* last = nullptr;
  };
  // Holders by ID (every query looks one up): the holders in a deque, so that an ID string
  // does not move (AssetState::holder points at it), indexed by an open-addressing table of
  // (the hash's upper 32 bits, position + 1) at most half full. A lookup is one hash of the ID,
  // 8 bytes at a time (holder_hash), and nearly always one probe and one compare, where
  // std::unordered_map hashed it with std::hash and walked a bucket's nodes.
  struct Holder {
    std::string id;
    HolderAssets assets;
  };
  static uint64_t holder_hash(std::string_view id);
  Holder* find_holder(std::string_view id);
  Holder& holder_for(const std::string& id);  // Found or added.
  void index_holders(size_t capacity);        // Rebuilds the table with `capacity` slots.
  // The indices of an asset's measures, in service order (range-for over the chain).
  class Chain {
   public:
    class iterator {
     public:
      using value_type = uint32_t;
      using difference_type = std::ptrdiff_t;
      using iterator_category = std::forward_iterator_tag;
      using pointer = const uint32_t*;
      using reference = uint32_t;
      iterator() = default;
      iterator(const std::vector<MeasureRecord>* m, uint32_t i) : m_(m), i_(i) {}
      uint32_t operator*() const { return i_; }
      iterator& operator++() {
        i_ = (*m_)[i_].next_on_asset;
        return *this;
      }
      iterator operator++(int) {
        iterator old = *this;
        ++*this;
        return old;
      }
      bool operator==(const iterator& o) const { return i_ == o.i_; }

     private:
      const std::vector<MeasureRecord>* m_ = nullptr;
      uint32_t i_ = UINT32_MAX;
    };
    Chain(const std::vector<MeasureRecord>& m, uint32_t first) : m_(&m), first_(first) {}
    iterator begin() const { return {m_, first_}; }
    iterator end() const { return {m_, UINT32_MAX}; }

   private:
    const std::vector<MeasureRecord>* m_;
    uint32_t first_;
  };
  Chain chain(const AssetState& a) const { return Chain(measures_, a.first_measure); }
  Asset asset_of(const AssetState& a) const;
  AssetState* find_asset(std::string_view reference);
  const AssetState* find_asset(std::string_view reference) const;

  connectors::Response act(const connectors::Request& r, Date today);
  connectors::Response query(const connectors::Request& r);
  connectors::Response freeze(const connectors::Request& r, AssetState& a, Date today);
  connectors::Response waitlist(const connectors::Request& r, AssetState& a, Date today);
  connectors::Response renew(const connectors::Request& r, Date today);
  connectors::Response release(const connectors::Request& r, Date today);
  connectors::Response deduct(const connectors::Request& r, Date today);
  connectors::Response status_of(const connectors::Request& r) const;
  uint32_t new_measure(const connectors::Request& r, AssetState& a, MeasureState state, Fen limit,
                       Fen frozen, Date today);
  Fen available(const AssetState& a) const;
  // Gives free value to short measures (top-ups when `credit`, waitlist fills always) and
  // promotes waiters in service order.
  void distribute(AssetState& a, Date today, bool credit);
  void activate(MeasureRecord& m, Date today);
  std::vector<connectors::PriorMeasure> prior(const AssetState& a, uint32_t except) const;
  StatusOr<uint32_t> find_measure(const connectors::Request& r) const;
  // After measure `i` became live (+1) or stopped being live (-1) on `a`: a (case, asset)
  // pair's duplicates change only when another live measure of the case is there.
  void count_live(const AssetState& a, uint32_t i, int delta);
  void noted(uint32_t i) {
    if (note_) changed_.push_back(i);
  }

  std::string name_;
  connectors::Capabilities capabilities_;
  InstitutionPolicy policy_;
  std::unordered_map<std::string, AssetState, ReferenceHash, std::equal_to<>> assets_;
  std::deque<Holder> holders_;
  std::vector<uint64_t> holder_slots_;  // 0: empty. A power of two in size (or empty).
  std::unordered_map<const AssetState*, std::pair<int64_t, Fen>> securities_;  // units, price
  std::vector<MeasureRecord> measures_;  // Measure "name/N" is measures_[N - 1].
  std::unordered_map<std::string, connectors::Response> answered_;
  // With remember_days: (day answered, key in answered_), oldest first.
  std::deque<std::pair<int32_t, const std::string*>> answered_order_;
  std::unordered_map<std::string, Fen> deducted_;
  // (end day, measure) of active measures; stale entries (renewed, released) are skipped.
  std::priority_queue<std::pair<int32_t, uint32_t>, std::vector<std::pair<int32_t, uint32_t>>,
                      std::greater<>>
      expiry_;
  bool note_ = false;
  std::vector<uint32_t> changed_;  // With note_: measures changed since last taken.
  int live_duplicates_ = 0;
  uint64_t lapsed_ = 0;
  uint64_t handled_ = 0;
  uint64_t replays_ = 0;
};

}  // namespace chakong::institution

#endif  // CHAKONG_INSTITUTION_INSTITUTION_H_
