// Validation of a scenario: defaults, units, ranges and combinations, each error with its path.
#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "chakong/base/calendar.h"
#include "chakong/base/case_number.h"
#include "chakong/sim/scenario.h"

namespace chakong::sim {
namespace {

// A number as a person would write it back: 1.5, 0.03, 1e+30 (not 1.500000).
std::string num(double v) { return fmt::format("{}", v); }

class Compiler {
 public:
  explicit Compiler(std::string_view source) : source_(source) {}

  Status error(const std::string& path, const std::string& what) const {
    return invalid_argument_error(source_ + ": " + path + ": " + what);
  }

  // A share given in the file (even 0) is taken as given; one left out takes `def`.
  Status share(const std::string& path, bool present, double v, double* out, double def) const {
    if (!present) {
      *out = def;
      return ok_status();
    }
    if (!(v >= 0 && v <= 1)) return error(path, num(v) + " must be a share in [0, 1]");
    *out = v;
    return ok_status();
  }

  Status money(const std::string& path, const std::string& text, Fen* out, Fen def) const {
    if (text.empty()) {
      *out = def;
      return ok_status();
    }
    StatusOr<Fen> f = parse_yuan(text);
    if (!f.ok()) return error(path, f.status().message());
    if (*f <= Fen()) return error(path, "'" + text + "' must be positive");
    *out = *f;
    return ok_status();
  }

  Status spread(const std::string& path, const v1::Spread& s, MoneySpread* out, Fen median,
                Fen p99) const {
    CHAKONG_RETURN_IF_ERROR(money(path + ".median", s.median(), &out->median, median));
    CHAKONG_RETURN_IF_ERROR(money(path + ".p99", s.p99(), &out->p99, p99));
    if (out->p99 < out->median) {
      return error(path + ".p99", "'" + s.p99() + "' must not be below the median '" +
                                      (s.median().empty() ? "(default)" : s.median()) + "'");
    }
    return ok_status();
  }

  Status duration(const std::string& path, const std::string& text, TimeUs* out, TimeUs def) const {
    if (text.empty()) {
      *out = def;
      return ok_status();
    }
    StatusOr<TimeUs> d = parse_duration(text);
    if (!d.ok()) return error(path, d.status().message());
    *out = *d;
    return ok_status();
  }

  Status latency(const std::string& path, const v1::Spread& s, LatencyDist* out, TimeUs median,
                 TimeUs p99) const {
    CHAKONG_RETURN_IF_ERROR(duration(path + ".median", s.median(), &out->median, median));
    CHAKONG_RETURN_IF_ERROR(duration(path + ".p99", s.p99(), &out->p99, p99));
    if (out->p99 < out->median) {
      return error(path + ".p99", "'" + (s.p99().empty() ? "(default)" : s.p99()) +
                                      "' must not be below the median '" +
                                      (s.median().empty() ? "(default)" : s.median()) + "'");
    }
    return ok_status();
  }

  // A hub's `members:` block (after `count`, `capacity`, `zipf` and `hub` are known).
  Status members(const std::string& at, const v1::InstitutionGroup& g, GroupConfig* gc) const {
    if (!g.has_members()) {
      if (gc->hub == GroupConfig::Hub::kMembers) {
        gc->member_capacity.assign(static_cast<size_t>(gc->count), gc->capacity);
      }
      return ok_status();
    }
    const v1::HubMembers& m = g.members();
    const std::string path = at + ".members";
    if (gc->hub != GroupConfig::Hub::kMembers) {
      return error(path,
                   std::string("only a group with hub: members has members (this one has hub: ") +
                       (g.hub().empty() ? "false" : g.hub()) + ")");
    }
    if (m.has_capacity() && m.has_capacity_by_share()) {
      return error(path + ".capacity_by_share",
                   "give capacity or capacity_by_share, not both (capacity is " +
                       std::to_string(m.capacity()) + ")");
    }
    if (m.has_capacity() && (m.capacity() < 0 || m.capacity() > 100'000)) {
      return error(path + ".capacity",
                   std::to_string(m.capacity()) + " must be in 0..100000 (0: unlimited)");
    }
    if (m.has_capacity_by_share() &&
        (m.capacity_by_share() < gc->count || m.capacity_by_share() > 10'000'000)) {
      return error(path + ".capacity_by_share",
                   std::to_string(m.capacity_by_share()) + " must be in " +
                       std::to_string(gc->count) +
                       "..10000000 (at least one server for each of the group's " +
                       std::to_string(gc->count) + " members)");
    }
    if (m.has_capacity_by_share()) {
      gc->member_capacity = capacity_by_share(m.capacity_by_share(), gc->count, gc->zipf);
    } else {
      gc->member_capacity.assign(static_cast<size_t>(gc->count),
                                 m.has_capacity() ? m.capacity() : gc->capacity);
    }
    CHAKONG_RETURN_IF_ERROR(duration(path + ".timeout", m.timeout(), &gc->member_timeout, 0));
    if (!m.timeout().empty() && gc->member_timeout <= 0) {
      return error(path + ".timeout", "'" + m.timeout() + "' must be positive");
    }
    return ok_status();
  }

  Status hours(const std::string& path, const std::string& text, BusinessHours* out) const {
    if (text.empty() || text == "always") return ok_status();
    int h1, m1, h2, m2;
    char tail;
    if (std::sscanf(text.c_str(), "eod %d:%d%c", &h1, &m1, &tail) == 2 && h1 >= 0 && h1 < 24 &&
        m1 >= 0 && m1 < 60) {
      *out = BusinessHours::end_of_day(h1 * 60 + m1);
      return ok_status();
    }
    if (std::sscanf(text.c_str(), "%d:%d-%d:%d%c", &h1, &m1, &h2, &m2, &tail) == 4 &&
        h1 * 60 + m1 < h2 * 60 + m2 && h2 * 60 + m2 <= 24 * 60 && m1 < 60 && m2 < 60 && h1 >= 0) {
      *out = BusinessHours::weekdays(h1 * 60 + m1, h2 * 60 + m2);
      return ok_status();
    }
    return error(path, "'" + text + "' is not 'always', 'HH:MM-HH:MM' or 'eod HH:MM'");
  }

 private:
  std::string source_;
};

StatusOr<AssetCategory> category_of(std::string_view kind) {
  if (kind == "bank") return AssetCategory::kDeposit;
  if (kind == "securities") return AssetCategory::kSecurities;
  if (kind == "real_estate") return AssetCategory::kRealEstate;
  if (kind == "vehicle") return AssetCategory::kVehicle;
  if (kind == "provident_fund") return AssetCategory::kProvidentFund;
  return invalid_argument_error(
      "'" + std::string(kind) +
      "' is not bank, securities, real_estate, vehicle or provident_fund");
}

}  // namespace

std::vector<int> capacity_by_share(int total, int count, double zipf) {
  std::vector<double> w(static_cast<size_t>(std::max(count, 0)));
  double sum = 0;
  for (size_t k = 0; k < w.size(); ++k) {
    w[k] = 1.0 / std::pow(static_cast<double>(k + 1), zipf);
    sum += w[k];
  }
  std::vector<int> out(w.size());
  for (size_t k = 0; k < w.size(); ++k) {
    out[k] = std::max<int>(1, static_cast<int>(std::llround(total * w[k] / sum)));
  }
  return out;
}

bool is_court_code(std::string_view code) {
  if (code == "最高法") return true;
  static constexpr std::string_view kProvinces[] = {"京", "津", "冀", "晋", "蒙", "辽", "吉", "黑",
                                                    "沪", "苏", "浙", "皖", "闽", "赣", "鲁", "豫",
                                                    "鄂", "湘", "粤", "桂", "琼", "渝", "川", "黔",
                                                    "滇", "藏", "陕", "甘", "青", "宁", "新", "兵"};
  for (std::string_view p : kProvinces) {
    if (!code.starts_with(p)) continue;
    const std::string_view digits = code.substr(p.size());
    if (digits.size() != 0 && digits.size() != 2 && digits.size() != 4) return false;
    for (char ch : digits) {
      if (ch < '0' || ch > '9') return false;
    }
    return true;
  }
  return false;
}

uint64_t estimated_memory_bytes(const SimulationConfig& c) {
  const double debtors = static_cast<double>(c.debtors);
  const double accounts = debtors * (1 - c.no_property_share) * c.accounts_per_debtor;
  const double cases = c.cases_per_year * c.days / 365.0;
  return static_cast<uint64_t>(std::llround(
      debtors * 33.6 + accounts * 40 + static_cast<double>(c.library_cases) * 104 + cases * 2800));
}

uint64_t machine_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

StatusOr<SimulationConfig> compile_scenario(const v1::Scenario& s, std::string_view source,
                                            uint64_t memory_limit) {
  const Compiler c(source);
  SimulationConfig out;
  if (s.name().empty()) return c.error("name", "is required");
  out.name = s.name();
  out.seed = s.has_seed() ? s.seed() : 1;
  StatusOr<Date> start = Date::parse(s.start().empty() ? "2025-01-01" : s.start());
  if (!start.ok()) return c.error("start", start.status().message());
  out.start = *start;
  if (s.has_days() && (s.days() < 1 || s.days() > 3660))
    return c.error("days", std::to_string(s.days()) + " must be in 1..3660");
  out.days = s.has_days() ? s.days() : 365;
  if (!s.calendar().empty()) {
    std::filesystem::path file(s.calendar());
    if (file.is_relative()) file = std::filesystem::path(source).parent_path() / file;
    StatusOr<WorkCalendar> cal = WorkCalendar::load_file(file.string());
    if (!cal.ok()) return c.error("calendar", "'" + s.calendar() + "': " + cal.status().message());
    out.calendar = std::make_shared<const WorkCalendar>(std::move(*cal));
  }
  // Every day of the run must be in the working-day calendar: a day outside it cannot be told
  // a working day or not, so deadlines there could not be scored.
  {
    const WorkCalendar& cal = out.working_days();
    const Date last = out.start.plus_days(out.days - 1);
    if (!cal.covers(out.start) || !cal.covers(last)) {
      const Date first_out = cal.covers(out.start) ? cal.last().plus_days(1) : out.start;
      return c.error(cal.covers(out.start) ? "days" : "start",
                     "the run, " + out.start.to_string() + " to " + last.to_string() +
                         ", is not all in the working-day calendar (" + cal.first().to_string() +
                         ".." + cal.last().to_string() + "): " + first_out.to_string() +
                         " is the first day not covered");
    }
  }

  const v1::Population& p = s.population();
  if (p.debtors() <= 0 || p.debtors() > 100'000'000) {
    return c.error("population.debtors", std::to_string(p.debtors()) + " must be in 1..100000000");
  }
  out.debtors = p.debtors();
  CHAKONG_RETURN_IF_ERROR(c.share("population.no_property_share", p.has_no_property_share(),
                                  p.no_property_share(), &out.no_property_share, 0.43));
  CHAKONG_RETURN_IF_ERROR(c.share("population.organisation_share", p.has_organisation_share(),
                                  p.organisation_share(), &out.organisation_share, 0.15));
  if (p.accounts_per_debtor() < 0 || p.accounts_per_debtor() > 50) {
    return c.error("population.accounts_per_debtor",
                   num(p.accounts_per_debtor()) + " must be in 0..50");
  }
  out.accounts_per_debtor = p.has_accounts_per_debtor() ? p.accounts_per_debtor() : 2.0;
  CHAKONG_RETURN_IF_ERROR(c.spread("population.balance", p.balance(), &out.balance,
                                   Fen::from_yuan(8'000), Fen::from_yuan(800'000)));
  CHAKONG_RETURN_IF_ERROR(c.share("population.real_estate_share", p.has_real_estate_share(),
                                  p.real_estate_share(), &out.real_estate_share, 0.25));
  CHAKONG_RETURN_IF_ERROR(c.share("population.vehicle_share", p.has_vehicle_share(),
                                  p.vehicle_share(), &out.vehicle_share, 0.2));
  CHAKONG_RETURN_IF_ERROR(c.share("population.securities_share", p.has_securities_share(),
                                  p.securities_share(), &out.securities_share, 0.08));
  CHAKONG_RETURN_IF_ERROR(c.share("population.provident_fund_share", p.has_provident_fund_share(),
                                  p.provident_fund_share(), &out.provident_fund_share, 0.35));
  CHAKONG_RETURN_IF_ERROR(c.spread("population.real_estate_value", p.real_estate_value(),
                                   &out.real_estate_value, Fen::from_yuan(900'000),
                                   Fen::from_yuan(8'000'000)));
  CHAKONG_RETURN_IF_ERROR(c.spread("population.vehicle_value", p.vehicle_value(),
                                   &out.vehicle_value, Fen::from_yuan(80'000),
                                   Fen::from_yuan(600'000)));
  CHAKONG_RETURN_IF_ERROR(c.spread("population.securities_value", p.securities_value(),
                                   &out.securities_value, Fen::from_yuan(30'000),
                                   Fen::from_yuan(3'000'000)));
  CHAKONG_RETURN_IF_ERROR(c.spread("population.provident_fund_balance", p.provident_fund_balance(),
                                   &out.provident_fund_balance, Fen::from_yuan(25'000),
                                   Fen::from_yuan(300'000)));
  CHAKONG_RETURN_IF_ERROR(c.share("population.late_property_share", p.has_late_property_share(),
                                  p.late_property_share(), &out.late_property_share, 0.1));
  CHAKONG_RETURN_IF_ERROR(c.share("population.balance_churn_per_day", p.has_balance_churn_per_day(),
                                  p.balance_churn_per_day(), &out.balance_churn_per_day, 0.02));

  const v1::CaseLoad& k = s.cases();
  if (k.per_year() < 0 || k.per_year() > 20'000'000) {
    return c.error("cases.per_year", num(k.per_year()) + " must be in 0..20000000");
  }
  out.cases_per_year = k.has_per_year() ? k.per_year() : 2000;
  CHAKONG_RETURN_IF_ERROR(c.spread("cases.claim", k.claim(), &out.claim, Fen::from_yuan(50'000),
                                   Fen::from_yuan(5'000'000)));
  if (out.claim.p99 > kMaxClaim) return c.error("cases.claim.p99", "exceeds the maximum claim");
  CHAKONG_RETURN_IF_ERROR(c.share("cases.preservation_share", k.has_preservation_share(),
                                  k.preservation_share(), &out.preservation_share, 0.05));
  if (k.has_max_debtors_per_case() &&
      (k.max_debtors_per_case() < 1 || k.max_debtors_per_case() > 20)) {
    return c.error("cases.max_debtors_per_case",
                   std::to_string(k.max_debtors_per_case()) + " must be in 1..20");
  }
  out.max_debtors_per_case = k.has_max_debtors_per_case() ? k.max_debtors_per_case() : 2;
  CHAKONG_RETURN_IF_ERROR(c.latency("cases.officer_delay", k.officer_delay(), &out.officer_delay,
                                    kMicrosPerDay, 10 * kMicrosPerDay));
  if (k.has_terminate_after_days() &&
      (k.terminate_after_days() < 90 || k.terminate_after_days() > 3650)) {
    return c.error("cases.terminate_after_days",
                   std::to_string(k.terminate_after_days()) +
                       " must be in 90..3650 (termination needs 3 months)");
  }
  out.terminate_after_days = k.has_terminate_after_days() ? k.terminate_after_days() : 100;
  if (!k.court().empty()) {
    if (!is_court_code(k.court())) {
      return c.error("cases.court", "'" + k.court() +
                                        "' is not a court code (a province abbreviation, alone "
                                        "or with 2 or 4 digits: 渝, 渝01, 渝0110; or 最高法)");
    }
    StatusOr<CaseNumber> probe = CaseNumber::make(2025, k.court(), CaseType::kZhi, 1);
    if (!probe.ok()) return c.error("cases.court", probe.status().message());
    out.court = k.court();
  }
  if (k.has_officers() && (k.officers() < 1 || k.officers() > 100'000))
    return c.error("cases.officers", std::to_string(k.officers()) + " must be in 1..100000");
  out.officers = k.has_officers() ? k.officers() : 10;

  if (s.institutions().empty())
    return c.error("institutions", "at least one institution group is required");
  std::set<std::string> names;
  for (int i = 0; i < s.institutions_size(); ++i) {
    const v1::InstitutionGroup& g = s.institutions(i);
    const std::string at = "institutions[" + std::to_string(i) + "]";
    GroupConfig gc;
    StatusOr<AssetCategory> cat = category_of(g.kind());
    if (!cat.ok()) return c.error(at + ".kind", cat.status().message());
    gc.kind = g.kind();
    gc.category = *cat;
    if (g.name().empty() ||
        g.name().find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
      return c.error(at + ".name", "'" + g.name() + "' must be non-empty [a-z0-9_]+");
    }
    gc.name = g.name();
    if (!names.insert(g.kind() + "." + g.name()).second)
      return c.error(at + ".name", "'" + g.name() + "' is used twice for " + g.kind());
    if (g.has_count() && (g.count() < 1 || g.count() > 10'000))
      return c.error(at + ".count", std::to_string(g.count()) + " must be in 1..10000");
    gc.count = g.has_count() ? g.count() : 1;
    CHAKONG_RETURN_IF_ERROR(c.latency(at + ".latency.query", g.latency().query(), &gc.query,
                                      2 * kMicrosPerHour, 20 * kMicrosPerHour));
    CHAKONG_RETURN_IF_ERROR(c.latency(at + ".latency.control", g.latency().control(), &gc.control,
                                      8 * kMicrosPerHour, 40 * kMicrosPerHour));
    CHAKONG_RETURN_IF_ERROR(c.latency(at + ".latency.other", g.latency().other(), &gc.other,
                                      4 * kMicrosPerHour, 30 * kMicrosPerHour));
    CHAKONG_RETURN_IF_ERROR(c.hours(at + ".hours", g.hours(), &gc.hours));
    if (g.capacity() < 0)
      return c.error(at + ".capacity", std::to_string(g.capacity()) + " must be >= 0");
    gc.capacity = g.capacity();
    // Bounded both ways: the dispatcher's token bucket counts whole calls in an int and waits
    // (1 - tokens) / rate; 3e9 a second or 1e-300 made a run spin forever.
    if (g.rate_per_second() != 0 && !(g.rate_per_second() >= 1e-5 && g.rate_per_second() <= 1e6)) {
      return c.error(at + ".rate_per_second",
                     num(g.rate_per_second()) +
                         " must be 0 (unlimited) or in 0.00001..1000000 calls a second");
    }
    gc.rate_per_second = g.rate_per_second();
    if (g.has_max_in_flight() && g.max_in_flight() < 1)
      return c.error(at + ".max_in_flight", std::to_string(g.max_in_flight()) + " must be >= 1");
    gc.max_in_flight = g.has_max_in_flight() ? g.max_in_flight() : 64;
    if (g.has_max_batch() && (g.max_batch() < 1 || g.max_batch() > 100'000))
      return c.error(at + ".max_batch", std::to_string(g.max_batch()) + " must be in 1..100000");
    gc.max_batch = g.has_max_batch() ? g.max_batch() : 100;
    CHAKONG_RETURN_IF_ERROR(
        c.duration(at + ".linger", g.linger(), &gc.linger, 5 * kMicrosPerMinute));
    for (int j = 0; j < g.outages_size(); ++j) {
      const v1::Outage& o = g.outages(j);
      const std::string oat = at + ".outages[" + std::to_string(j) + "]";
      if (o.instance() < 0 || o.instance() >= gc.count) {
        return c.error(oat + ".instance", std::to_string(o.instance()) +
                                              " is not an instance of this group (0.." +
                                              std::to_string(gc.count - 1) + ")");
      }
      int hh = 0, mm = 0;
      char tail;
      StatusOr<Date> day = Date::parse(o.start().substr(0, 10));
      if (o.start().size() != 16 || !day.ok() ||
          std::sscanf(o.start().c_str() + 10, "T%d:%d%c", &hh, &mm, &tail) != 2 || hh > 23 ||
          mm > 59) {
        return c.error(oat + ".start", "'" + o.start() + "' is not YYYY-MM-DDTHH:MM");
      }
      TimeUs len;
      CHAKONG_RETURN_IF_ERROR(c.duration(oat + ".duration", o.duration(), &len, 0));
      if (len <= 0) {
        return c.error(oat + ".duration", o.duration().empty()
                                              ? "is required"
                                              : "'" + o.duration() + "' must be positive");
      }
      const TimeUs from = day->start_us() + hh * kMicrosPerHour + mm * kMicrosPerMinute;
      const TimeUs run_end = out.start.plus_days(out.days).start_us();
      if (from + len <= out.start.start_us() || from >= run_end) {
        return c.error(oat + ".start", "'" + o.start() + "' for " + o.duration() +
                                           " is outside the run (" + out.start.to_string() +
                                           " for " + std::to_string(out.days) + " days)");
      }
      gc.outages.push_back({o.instance(), OutageWindow{from, from + len}});
    }
    CHAKONG_RETURN_IF_ERROR(
        c.share(at + ".error_rate", g.has_error_rate(), g.error_rate(), &gc.error_rate, 0));
    CHAKONG_RETURN_IF_ERROR(c.share(at + ".renewal_refusal_rate", g.has_renewal_refusal_rate(),
                                    g.renewal_refusal_rate(), &gc.renewal_refusal_rate, 0));
    CHAKONG_RETURN_IF_ERROR(
        c.share(at + ".drain_share", g.has_drain_share(), g.drain_share(), &gc.drain_share, 0));
    CHAKONG_RETURN_IF_ERROR(
        c.duration(at + ".drain_window", g.drain_window(), &gc.drain_window, kMicrosPerDay));
    if (gc.drain_window <= 0) {
      return c.error(at + ".drain_window", "'" + g.drain_window() + "' must be positive");
    }
    CHAKONG_RETURN_IF_ERROR(c.share(at + ".malformed_rate", g.has_malformed_rate(),
                                    g.malformed_rate(), &gc.malformed_rate, 0));
    CHAKONG_RETURN_IF_ERROR(c.share(at + ".duplicate_rate", g.has_duplicate_rate(),
                                    g.duplicate_rate(), &gc.duplicate_rate, 0));
    if (g.zipf() < 0 || g.zipf() > 5)
      return c.error(at + ".zipf", num(g.zipf()) + " must be in 0..5");
    gc.zipf = g.has_zipf() ? g.zipf() : 1.0;
    if (g.hub().empty() || g.hub() == "false") {
      gc.hub = GroupConfig::Hub::kNone;
    } else if (g.hub() == "members" || g.hub() == "true") {
      gc.hub = GroupConfig::Hub::kMembers;
    } else if (g.hub() == "counted") {
      gc.hub = GroupConfig::Hub::kCounted;
    } else {
      return c.error(at + ".hub", "'" + g.hub() + "' is not members, counted, true or false");
    }
    CHAKONG_RETURN_IF_ERROR(c.members(at, g, &gc));
    out.groups.push_back(std::move(gc));
  }
  bool has_bank = false;
  for (const GroupConfig& g : out.groups) has_bank |= g.kind == "bank";
  if (!has_bank)
    return c.error("institutions",
                   "at least one bank group is required (deposits are where money is)");

  const v1::EngineSettings& e = s.engine();
  if (e.has_shards() && (e.shards() < 1 || e.shards() > 64))
    return c.error("engine.shards", std::to_string(e.shards()) + " must be in 1..64");
  out.shards = e.has_shards() ? e.shards() : 1;
  if (e.has_renewal_lead_days() && (e.renewal_lead_days() < 1 || e.renewal_lead_days() > 300))
    return c.error("engine.renewal_lead_days",
                   std::to_string(e.renewal_lead_days()) + " must be in 1..300");
  out.renewal_lead_days = e.has_renewal_lead_days() ? e.renewal_lead_days() : 30;
  CHAKONG_RETURN_IF_ERROR(
      c.duration("engine.deduct_delay", e.deduct_delay(), &out.deduct_delay, 10 * kMicrosPerDay));
  CHAKONG_RETURN_IF_ERROR(
      c.duration("engine.timeout", e.timeout(), &out.timeout, 2 * kMicrosPerDay));
  if (out.timeout <= 0) return c.error("engine.timeout", "'" + e.timeout() + "' must be positive");
  if (e.has_max_attempts() && (e.max_attempts() < 1 || e.max_attempts() > 100))
    return c.error("engine.max_attempts", std::to_string(e.max_attempts()) + " must be in 1..100");
  out.max_attempts = e.has_max_attempts() ? e.max_attempts() : 5;

  CHAKONG_RETURN_IF_ERROR(
      c.duration("network.transit", s.network().transit(), &out.transit, kMicrosPerSecond));
  if (out.transit < 1000 || out.transit > kMicrosPerHour) {
    return c.error("network.transit", "'" + s.network().transit() +
                                          "' must be in 0.001s..1h (it is the parallel lookahead)");
  }

  const v1::Library& l = s.library();
  if (l.cases() < 0 || l.cases() > 50'000'000) {
    return c.error("library.cases", std::to_string(l.cases()) + " must be in 0..50000000");
  }
  out.library_cases = l.cases();
  if (l.has_years() && (l.years() < 1 || l.years() > 5)) {
    return c.error("library.years", std::to_string(l.years()) + " must be in 1..5");
  }
  out.library_years = l.has_years() ? l.years() : 5;
  CHAKONG_RETURN_IF_ERROR(
      c.share("library.hit_share", l.has_hit_share(), l.hit_share(), &out.library_hit_share, 0.03));
  if (l.has_max_debtors_per_case() &&
      (l.max_debtors_per_case() < 1 || l.max_debtors_per_case() > 20)) {
    return c.error("library.max_debtors_per_case",
                   std::to_string(l.max_debtors_per_case()) + " must be in 1..20");
  }
  out.library_max_debtors = l.has_max_debtors_per_case() ? l.max_debtors_per_case() : 1;
  CHAKONG_RETURN_IF_ERROR(c.spread("library.remaining", l.remaining(), &out.library_remaining,
                                   out.claim.median, out.claim.p99));

  const v1::Sweep& w = s.sweep();
  engine::SweepConfig& sc = out.sweep;
  sc.enabled = !w.disabled();
  if (w.policy().empty() || w.policy() == "half_year") {
    sc.policy = engine::SweepConfig::Policy::kHalfYearBatch;
  } else if (w.policy() == "anniversary") {
    sc.policy = engine::SweepConfig::Policy::kAnniversary;
  } else {
    return c.error("sweep.policy", "'" + w.policy() + "' is not half_year or anniversary");
  }
  if (w.starts_size() > 0) {
    sc.starts.clear();
    for (int i = 0; i < w.starts_size(); ++i) {
      const std::string path = "sweep.starts[" + std::to_string(i) + "]";
      int month = 0, day = 0;
      char tail;
      if (std::sscanf(w.starts(i).c_str(), "%d-%d%c", &month, &day, &tail) != 2 ||
          !Date::from_ymd(2001, month, day).ok()) {
        return c.error(path, "'" + w.starts(i) + "' is not a day of the year as MM-DD");
      }
      sc.starts.emplace_back(month, day);
    }
  }
  TimeUs window = 0, spread = 0;
  CHAKONG_RETURN_IF_ERROR(c.duration("sweep.window", w.window(), &window, 30 * kMicrosPerDay));
  if (window < kMicrosPerDay || window % kMicrosPerDay != 0) {
    return c.error("sweep.window", "'" + w.window() + "' must be a whole number of days >= 1d");
  }
  sc.window_days = static_cast<int>(window / kMicrosPerDay);
  CHAKONG_RETURN_IF_ERROR(c.duration("sweep.spread", w.spread(), &spread, 0));
  if (spread % kMicrosPerDay != 0 || spread > window) {
    return c.error("sweep.spread", "'" + w.spread() + "' must be whole days, at most the window");
  }
  if (!w.spread().empty() && spread < kMicrosPerDay) {
    // The sweep reads 0 as "not given" (three quarters of the window): a 0 given would not be
    // honoured, so it is refused rather than quietly replaced.
    return c.error("sweep.spread", "'" + w.spread() +
                                       "' must be at least 1d (a batch is released over one day "
                                       "at the least)");
  }
  sc.spread_days = static_cast<int>(spread / kMicrosPerDay);
  if (w.has_max_in_flight_cases() && w.max_in_flight_cases() < 1) {
    return c.error("sweep.max_in_flight_cases",
                   std::to_string(w.max_in_flight_cases()) + " must be >= 1");
  }
  if (w.has_max_in_flight_cases()) sc.max_in_flight_cases = w.max_in_flight_cases();
  CHAKONG_RETURN_IF_ERROR(
      c.share("sweep.bulk_floor", w.has_bulk_floor(), w.bulk_floor(), &out.bulk_floor, 0));
  if (Status v = engine::validate(sc); !v.ok()) return c.error("sweep", v.message());
  // Refused before anything is allocated: a run that cannot fit would be killed hours in.
  const uint64_t limit = memory_limit != 0 ? memory_limit : machine_memory_bytes();
  if (const uint64_t need = estimated_memory_bytes(out); limit != 0 && need > limit) {
    // Named after the field that needs the most (the same weights as the estimate).
    const double debtors = static_cast<double>(out.debtors);
    const double by_debtors =
        debtors * 33.6 + debtors * (1 - out.no_property_share) * out.accounts_per_debtor * 40;
    const double by_cases = out.cases_per_year * out.days / 365.0 * 2800;
    const double by_library = static_cast<double>(out.library_cases) * 104;
    const char* field = by_cases > by_debtors && by_cases >= by_library ? "cases.per_year"
                        : by_library > by_debtors                       ? "library.cases"
                                                                        : "population.debtors";
    return c.error(
        field,
        fmt::format("{} debtors, {:.0f} cases and {} library cases need an estimated {:.1f} GiB "
                    "(at least), more than the {:.1f} GiB of memory here",
                    out.debtors, out.cases_per_year * out.days / 365.0, out.library_cases,
                    static_cast<double>(need) / (1ull << 30),
                    static_cast<double>(limit) / (1ull << 30)));
  }
  return out;
}

}  // namespace chakong::sim
