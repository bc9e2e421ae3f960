#include "library.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <set>

#include "chakong/base/identity.h"

namespace chakong::engine {

Status validate(const SweepConfig& c) {
  auto bad = [](std::string_view field, int64_t value, std::string_view rule) {
    return invalid_argument_error("sweep." + std::string(field) + " = " + std::to_string(value) +
                                  ": " + std::string(rule));
  };
  if (c.starts.empty()) return invalid_argument_error("sweep.starts: at least one start date");
  for (size_t i = 0; i < c.starts.size(); ++i) {
    const auto [m, d] = c.starts[i];
    if (!Date::from_ymd(2001, m, d).ok()) {
      return invalid_argument_error("sweep.starts[" + std::to_string(i) +
                                    "] = " + std::to_string(m) + "-" + std::to_string(d) +
                                    ": not a day of a common year");
    }
  }
  if (c.interval_months < 1 || c.interval_months > 60) {
    return bad("interval_months", c.interval_months, "must be in 1..60");
  }
  if (c.years < 1 || c.years > 30) return bad("years", c.years, "must be in 1..30");
  if (c.window_days < 1) return bad("window_days", c.window_days, "must be >= 1");
  if (c.spread_days < 0 || c.spread_days > c.window_days) {
    return bad("spread_days", c.spread_days, "must be in 0..window_days");
  }
  if (c.max_in_flight_cases < 1) {
    return bad("max_in_flight_cases", c.max_in_flight_cases, "must be >= 1");
  }
  if (c.tick <= 0) return bad("tick", c.tick, "must be > 0");
  if (c.restore_serial_base < 0) return bad("restore_serial_base", c.restore_serial_base, ">= 0");
  return ok_status();
}

Date add_months(Date d, int months) {
  const int total = d.year() * 12 + (d.month() - 1) + months;
  const int year = total / 12, month = total % 12 + 1;
  int day = d.day();
  while (day > 28 && !Date::from_ymd(year, month, day).ok()) --day;
  return *Date::from_ymd(year, month, day);
}

Library::Library() = default;

namespace {
// year - 1990 (8 bits) | type (3 bits) | court (21 bits) | serial (32 bits).
uint64_t packed(const CaseNumber& n, uint32_t court) {
  return (static_cast<uint64_t>(n.year() - 1990) << 56) | (static_cast<uint64_t>(n.type()) << 53) |
         (static_cast<uint64_t>(court) << 32) | static_cast<uint64_t>(n.serial());
}
}  // namespace

StatusOr<uint64_t> Library::pack(std::string_view text) {
  StatusOr<CaseNumber> n = CaseNumber::parse(text);
  if (!n.ok()) return invalid_argument_error("case_number: " + n.status().message());
  if (n->serial() > 0xFFFFFFFFll) {
    return invalid_argument_error("case_number: serial " + std::to_string(n->serial()) +
                                  " is over the library's 2^32 - 1");
  }
  auto [it, inserted] = court_ids_.emplace(n->court(), static_cast<uint32_t>(courts_.size()));
  if (inserted) {
    if (courts_.size() >= (1u << 21)) return resource_exhausted_error("library: too many courts");
    courts_.push_back(n->court());
  }
  return packed(*n, it->second);
}

std::string Library::case_number(Index i) const {
  // Formatted directly (the parts were validated on add): the sweep builds one per release.
  const uint64_t p = records_[i].number;
  const std::string& court = courts_[(p >> 32) & 0x1FFFFF];
  const std::string_view type = case_type_code(static_cast<CaseType>((p >> 53) & 7));
  char year[8], serial[16];
  const char* year_end = std::to_chars(year, year + 8, static_cast<int>(p >> 56) + 1990).ptr;
  const char* serial_end = std::to_chars(serial, serial + 16, p & 0xFFFFFFFF).ptr;
  std::string out;
  out.reserve(3 + 4 + 3 + court.size() + type.size() + 10 + 3);
  out.append("（").append(year, static_cast<size_t>(year_end - year)).append("）");
  out.append(court).append(type);
  out.append(serial, static_cast<size_t>(serial_end - serial)).append("号");
  return out;
}

uint32_t Library::intern_officer(const std::string& officer) {
  auto [it, inserted] = officer_ids_.emplace(officer, static_cast<uint32_t>(officers_.size()));
  if (inserted) officers_.push_back(officer);
  return it->second;
}

StatusOr<Library::Index> Library::add(const LibraryEntry& e, uint8_t flags) {
  if (e.debtors.empty() || e.debtors.size() > 255) {
    return invalid_argument_error("debtors: " + std::to_string(e.debtors.size()) +
                                  " debtors; a library case has 1..255");
  }
  std::set<std::string_view> seen;
  for (size_t k = 0; k < e.debtors.size(); ++k) {
    const LibraryDebtor& d = e.debtors[k];
    const std::string field = "debtors[" + std::to_string(k) + "].id: ";
    if (d.organisation) {
      StatusOr<CreditCodeCheck> cc = validate_credit_code(d.id);
      if (!cc.ok()) return invalid_argument_error(field + cc.status().message());
    } else if (Status s = validate_resident_id(d.id); !s.ok()) {
      return invalid_argument_error(field + s.message());
    }
    if (!seen.insert(d.id).second) {
      return invalid_argument_error(field + "'" + mask_id(d.id) + "' is listed twice");
    }
  }
  if (e.officer_id.empty()) return invalid_argument_error("officer_id: empty");
  if (e.remaining <= Fen()) {
    return invalid_argument_error("remaining: " + format_fen(e.remaining) + " must be positive");
  }
  if (!records_.empty() && e.terminated.days() < records_.back().terminated) {
    return failed_precondition_error("terminated: " + e.terminated.to_string() +
                                     " is before the last library case's " +
                                     Date::from_days(records_.back().terminated).to_string() +
                                     "; add cases in order of termination");
  }
  StatusOr<uint64_t> packed = pack(e.case_number);
  if (!packed.ok()) return packed.status();
  const Index index = static_cast<Index>(records_.size());
  if (!index_.emplace(*packed, index).second) {
    return already_exists_error("case_number: " + e.case_number + " is already in the library");
  }
  Record r;
  r.number = *packed;
  r.remaining = e.remaining.value();
  r.debtors = static_cast<uint32_t>(debtors_.size());
  r.officer = intern_officer(e.officer_id);
  r.terminated = e.terminated.days();
  r.measures_in_force = static_cast<uint16_t>(std::clamp(e.measures_in_force, 0, 65535));
  r.debtor_count = static_cast<uint8_t>(e.debtors.size());
  r.flags = static_cast<uint8_t>(flags | (e.consumption_restricted ? kRestricted : 0));
  for (const LibraryDebtor& d : e.debtors) {
    PackedDebtor p;
    std::memcpy(p.id.data(), d.id.data(), p.id.size());
    p.organisation = d.organisation ? 1 : 0;
    debtors_.push_back(p);
  }
  records_.push_back(r);
  return index;
}

std::string_view Library::debtor_id(Index i, int k) const {
  const PackedDebtor& p = debtors_[records_[i].debtors + static_cast<uint32_t>(k)];
  return std::string_view(p.id.data(), p.id.size());
}

std::vector<LibraryDebtor> Library::debtors(Index i) const {
  std::vector<LibraryDebtor> out;
  const Record& r = records_[i];
  for (int k = 0; k < r.debtor_count; ++k) {
    out.push_back({debtors_[r.debtors + static_cast<uint32_t>(k)].organisation != 0,
                   std::string(debtor_id(i, k))});
  }
  return out;
}

LibraryEntry Library::entry(Index i) const {
  const Record& r = records_[i];
  LibraryEntry e;
  e.case_number = case_number(i);
  e.debtors = debtors(i);
  e.officer_id = officers_[r.officer];
  e.remaining = Fen(r.remaining);
  e.terminated = Date::from_days(r.terminated);
  e.consumption_restricted = (r.flags & kRestricted) != 0;
  e.measures_in_force = r.measures_in_force;
  return e;
}

std::optional<Library::Index> Library::find(std::string_view text) const {
  StatusOr<CaseNumber> n = CaseNumber::parse(text);
  if (!n.ok() || n->serial() > 0xFFFFFFFFll) return std::nullopt;
  auto court = court_ids_.find(n->court());
  if (court == court_ids_.end()) return std::nullopt;
  auto it = index_.find(packed(*n, court->second));
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

std::pair<Library::Index, Library::Index> Library::terminated_between(Date from, Date to) const {
  auto by_day = [](const Record& r, int32_t day) { return r.terminated < day; };
  const auto lo = std::lower_bound(records_.begin(), records_.end(), from.days(), by_day);
  const auto hi = std::lower_bound(lo, records_.end(), to.days(), by_day);
  return {static_cast<Index>(lo - records_.begin()), static_cast<Index>(hi - records_.begin())};
}

std::pair<Library::Index, Library::Index> Library::anniversaries_between(Date from, Date to,
                                                                         int months) const {
  // add_months is monotonic in the date, so the anniversaries are sorted like the records.
  auto before = [months](const Record& r, Date day) {
    return add_months(Date::from_days(r.terminated), months) < day;
  };
  const auto lo = std::lower_bound(records_.begin(), records_.end(), from, before);
  const auto hi = std::lower_bound(lo, records_.end(), to, before);
  return {static_cast<Index>(lo - records_.begin()), static_cast<Index>(hi - records_.begin())};
}

size_t Library::memory_bytes() const {
  // An unordered_map node holds the pair and a next pointer (and libstdc++ caches no hash for
  // integer keys); each bucket is a pointer.
  const size_t node = sizeof(void*) + sizeof(std::pair<const uint64_t, Index>);
  size_t bytes = sizeof(*this) + records_.capacity() * sizeof(Record) +
                 debtors_.capacity() * sizeof(PackedDebtor) + index_.size() * (node + 8) +
                 index_.bucket_count() * sizeof(void*);
  for (const std::string& s : courts_) bytes += sizeof(s) + s.capacity() + 64;
  for (const std::string& s : officers_) bytes += sizeof(s) + s.capacity() + 64;
  return bytes;
}

void Library::truncate(size_t n) {
  if (n >= records_.size()) return;
  for (size_t i = n; i < records_.size(); ++i) index_.erase(records_[i].number);
  debtors_.resize(records_[n].debtors);
  records_.resize(n);
}

void Library::reserve(size_t cases) {
  records_.reserve(cases);
  debtors_.reserve(cases + cases / 4);
  index_.reserve(cases);
}

}  // namespace chakong::engine
