// The terminated-case library (终本案件库) and the policy of its twice-yearly sweep.
//
// After termination a case's debtors are re-queried every six months for five years, and a
// hit restores the case (DOMAIN.md, "Terminated cases"). Nationally the library holds
// millions of cases, so a library case is a compact record, not an engine case:
//
//   Record (40 bytes): packed case number (year, type, interned court, serial), remaining
//   claim in fen, termination day, last sweep day, sweeps done, hits, measures in force at
//   termination, the interned officer, and the debtors as an offset into a pool of packed
//   18-character identities (19 bytes each, with the kind). An index by packed case number
//   finds a record. memory_bytes() counts all of it; the benchmark reports ~110 bytes a case.
//
// Records are kept in order of termination date (add() refuses an earlier date than the last
// one), so "terminated between A and B" is a contiguous index range found by binary search:
// that is how a sweep run knows what is due without scanning. An index, once given, never
// changes; records are never removed (a restored case is flagged, and skipped by sweeps).
//
//   Library lib;
//   StatusOr<Library::Index> i = lib.add(entry);   // kInvalidArgument naming the field
//   auto [lo, hi] = lib.terminated_between(from, to);
#ifndef CHAKONG_ENGINE_SRC_LIBRARY_H_
#define CHAKONG_ENGINE_SRC_LIBRARY_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "chakong/engine/library.h"

namespace chakong::engine {

class Library {
 public:
  using Index = uint32_t;

  struct Record {
    uint64_t number = 0;     // Packed case number; see case_number().
    int64_t remaining = 0;   // Fen.
    uint32_t debtors = 0;    // First debtor in the pool.
    uint32_t officer = 0;    // Interned officer id.
    int32_t terminated = 0;  // Day number.
    int32_t last_swept = 0;  // Day number; 0 = never.
    uint16_t sweeps = 0;
    uint16_t hits = 0;
    uint16_t measures_in_force = 0;
    uint8_t debtor_count = 0;
    uint8_t flags = 0;
  };
  static constexpr uint8_t kRestricted = 1, kRestored = 2, kEngineCase = 4;

  Library();

  // Adds a case; kInvalidArgument naming the field and value for a bad case number, serial
  // over 2^32, no debtors or more than 255, a bad or repeated ID, an empty officer, a
  // remaining claim <= 0; kAlreadyExists for a case already in the library;
  // kFailedPrecondition for a termination date before the last record's.
  StatusOr<Index> add(const LibraryEntry& entry, uint8_t flags = 0);

  size_t size() const { return records_.size(); }
  const Record& record(Index i) const { return records_[i]; }
  Record& record(Index i) { return records_[i]; }
  Date terminated(Index i) const { return Date::from_days(records_[i].terminated); }
  std::string case_number(Index i) const;
  const std::string& officer(Index i) const { return officers_[records_[i].officer]; }
  const std::string& court(Index i) const { return courts_[(records_[i].number >> 32) & 0x1FFFFF]; }
  // The i-th case's debtors.
  std::vector<LibraryDebtor> debtors(Index i) const;
  // One debtor's ID without building the whole list (k < debtor_count).
  std::string_view debtor_id(Index i, int k) const;
  LibraryEntry entry(Index i) const;
  std::optional<Index> find(std::string_view case_number) const;
  // Indices of cases terminated on days in [from, to): a contiguous range.
  std::pair<Index, Index> terminated_between(Date from, Date to) const;
  // Indices of cases whose `months`-month anniversary falls in [from, to).
  std::pair<Index, Index> anniversaries_between(Date from, Date to, int months) const;
  // Bytes held: records, debtor pool, index, interned strings.
  size_t memory_bytes() const;
  void reserve(size_t cases);
  // Removes the cases from index `n` on (undoes a failed import).
  void truncate(size_t n);

 private:
  struct PackedDebtor {
    std::array<char, 18> id;
    uint8_t organisation;
  };
  StatusOr<uint64_t> pack(std::string_view case_number);
  uint32_t intern_officer(const std::string& officer);

  std::vector<Record> records_;
  std::vector<PackedDebtor> debtors_;
  std::unordered_map<uint64_t, Index> index_;
  std::vector<std::string> courts_;
  std::unordered_map<std::string, uint32_t> court_ids_;
  std::vector<std::string> officers_;
  std::unordered_map<std::string, uint32_t> officer_ids_;
};

}  // namespace chakong::engine

#endif  // CHAKONG_ENGINE_SRC_LIBRARY_H_
