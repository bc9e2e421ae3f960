// `chakong audit verify PATH` and `chakong journal check|show PATH`: the case-server
// journal (a RocksDB directory) from outside the engine.
#include <fmt/core.h>

#include <algorithm>

#include "chakong/engine/audit.h"
#include "chakong/engine/engine.h"
#include "chakong/engine/identity.h"
#include "chakong/engine/rocks_journal.h"
#include "chakong/v1/journal.pb.h"
#include "commands.h"

namespace chakong::cli {
namespace {

using engine::RocksJournal;
using engine::RocksJournalOptions;

StatusOr<std::unique_ptr<RocksJournal>> open_read_only(const std::string& path) {
  RocksJournalOptions o;
  o.path = path;
  o.read_only = true;
  return RocksJournal::open(o);
}

int verify(const std::string& path) {
  StatusOr<std::unique_ptr<RocksJournal>> j = open_read_only(path);
  if (!j.ok()) {
    fmt::print(stderr, "chakong audit verify: {}\n", j.status().to_string());
    return 2;
  }
  StatusOr<engine::AuditVerdict> v = engine::verify_audit(**j);
  if (!v.ok()) {
    fmt::print(stderr, "chakong audit verify: {}\n", v.status().to_string());
    return 2;
  }
  if (!v->intact) {
    fmt::print("audit chain BROKEN at {}: {}\n  ({} links before it verified)\n", v->broken_key,
               v->reason, v->records);
    return 1;
  }
  fmt::print("audit chain intact: {} links in {} chains verified\n", v->records, v->chains);
  return 0;
}

int check(const std::string& path, bool truncate) {
  StatusOr<std::optional<engine::JournalDamage>> d = engine::inspect_journal_log(path);
  if (!d.ok()) {
    fmt::print(stderr, "chakong journal check: {}\n", d.status().to_string());
    return 2;
  }
  if (!d->has_value()) {
    StatusOr<std::unique_ptr<RocksJournal>> j = open_read_only(path);
    if (!j.ok()) {
      fmt::print("journal {}: {}\n", path, j.status().to_string());
      return 1;
    }
    fmt::print("journal {}: log intact\n", path);
    return 0;
  }
  if (!truncate) {
    fmt::print(
        "{}\n  (the engine refuses to start on it; --truncate-tail drops the damaged tail, "
        "which was never acknowledged)\n",
        (*d)->to_string());
    return 1;
  }
  RocksJournalOptions o;
  o.path = path;
  o.truncate_corrupt_tail = true;
  StatusOr<std::unique_ptr<RocksJournal>> j = RocksJournal::open(o);
  if (!j.ok()) {
    fmt::print("journal {}: {}\n", path, j.status().to_string());
    return 1;
  }
  fmt::print("cut {} at offset {} ({} bytes dropped); the journal opens\n", (*d)->file,
             (*d)->offset, (*d)->file_size - (*d)->offset);
  return 0;
}

constexpr const char* kFindingStates[] = {"open", "freeze-in-flight", "controlled", "failed"};

std::string money(int64_t fen) { return fmt::format("{}.{:02}", fen / 100, fen % 100); }

int show(const std::string& path, const std::string& case_number) {
  StatusOr<std::unique_ptr<RocksJournal>> j = open_read_only(path);
  if (!j.ok()) {
    fmt::print(stderr, "chakong journal show: {}\n", j.status().to_string());
    return 2;
  }
  const std::string prefix = "case/" + case_number;
  int records = 0;
  const Status s = (*j)->scan(prefix, [&](std::string_view key, std::string_view value) {
    ++records;
    const std::string k(key);
    const std::string v(value);
    if (k.find("/f/") != std::string::npos) {
      v1::JournalFinding f;
      f.ParseFromString(v);
      fmt::print("  finding {} {} {} value {} state {} clock {} sent {}{}\n",
                 k.substr(k.size() - 6), f.connector(), mask_id(f.asset().reference()),
                 money(f.asset().value_fen()), kFindingStates[std::clamp(f.state(), 0, 3)],
                 f.clock_open() ? "open" : "closed", money(f.sent_amount()),
                 f.sent_waitlist() ? " (waitlist)" : "");
    } else if (k.find("/m/") != std::string::npos) {
      v1::JournalMeasure m;
      m.ParseFromString(v);
      fmt::print("  measure {} {} {} {} amount {} pending {} end {}{}{}{}{}\n",
                 k.substr(k.size() - 6), m.connector(), m.measure_id(), m.live() ? "live" : "ended",
                 money(m.amount()), money(m.pending()), m.end_date(),
                 m.renewing() ? " renewing" : "", m.deducting() ? " deducting" : "",
                 m.releasing() ? " releasing" : "", m.deduct_at_us() != 0 ? " deduct-armed" : "");
    } else {
      v1::JournalCase c;
      c.ParseFromString(v);
      const v1::JournalLedger& l = c.ledger();
      fmt::print(
          "{} status {} budget {} frozen {} reserved {} pending {} deducted {} cover {} "
          "open rounds {}\n",
          k.substr(5), engine::case_status_name(static_cast<engine::CaseStatus>(c.status())),
          money(l.budget()), money(l.frozen()), money(l.reserved()), money(l.pending()),
          money(l.deducted()), money(l.indivisible_cover()), c.open_rounds_size());
    }
  });
  if (!s.ok()) {
    fmt::print(stderr, "chakong journal show: {}\n", s.to_string());
    return 2;
  }
  if (records == 0) {
    fmt::print(stderr, "chakong journal show: no case '{}' in {}\n", case_number, path);
    return 1;
  }
  return 0;
}

}  // namespace

void add_journal_commands(CLI::App& app, int& exit_code) {
  CLI::App* audit = app.add_subcommand("audit", "The audit chain of a case-server journal");
  audit->require_subcommand(1);
  CLI::App* v = audit->add_subcommand(
      "verify", "Check every audit chain in the journal at PATH; report the first broken link");
  auto path = std::make_shared<std::string>();
  v->add_option("PATH", *path, "Journal directory")->required();
  v->callback([path, &exit_code] { exit_code = verify(*path); });

  CLI::App* journal = app.add_subcommand("journal", "Inspect a case-server journal");
  journal->require_subcommand(1);
  CLI::App* c = journal->add_subcommand(
      "check", "Check the journal's write-ahead log; report a damaged record with its offset");
  auto cpath = std::make_shared<std::string>();
  auto truncate = std::make_shared<bool>(false);
  c->add_option("PATH", *cpath, "Journal directory")->required();
  c->add_flag("--truncate-tail", *truncate,
              "Cut a damaged tail of the newest log file (never-acknowledged changes) so the "
              "engine can start");
  c->callback([cpath, truncate, &exit_code] { exit_code = check(*cpath, *truncate); });
  CLI::App* sh = journal->add_subcommand("show", "Print one case's journal records (masked)");
  auto spath = std::make_shared<std::string>();
  auto number = std::make_shared<std::string>();
  sh->add_option("PATH", *spath, "Journal directory")->required();
  sh->add_option("CASE", *number, "Case number as journaled, e.g. （2026）渝0110执1000号")
      ->required();
  sh->callback([spath, number, &exit_code] { exit_code = show(*spath, *number); });
}

}  // namespace chakong::cli
