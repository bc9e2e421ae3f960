// `chakong audit verify PATH` and `chakong journal check|show PATH`: the case-server
// journal (a RocksDB directory) from outside the engine.
#include <fmt/core.h>

#include <algorithm>

#include "chakong/base/identity.h"
#include "chakong/durable/rocks_journal.h"
#include "chakong/engine/audit.h"
#include "chakong/engine/engine.h"
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

// Exit codes of `journal check` and `audit verify`.
constexpr int kIntact = 0;
constexpr int kDamaged = 1;
constexpr int kCannotOpen = 2;

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(ch) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<int>(ch));
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

constexpr const char* kStatusNames[] = {"intact", "damaged", "cannot_open"};

// One JSON object: path, status, message, then `extra` (already JSON members, comma-led).
void print_json(const std::string& path, int code, std::string_view message,
                const std::string& extra) {
  fmt::print("{{\"path\": {}, \"status\": \"{}\", \"message\": {}{}}}\n", json_string(path),
             kStatusNames[code], json_string(message), extra);
}

int verify(const std::string& path, bool json) {
  auto fail = [&](const Status& s) {
    const int code = s.code() == StatusCode::kDataLoss ? kDamaged : kCannotOpen;
    if (json) {
      print_json(path, code, s.message(), "");
    } else {
      fmt::print(stderr, "chakong audit verify: {}\n", s.to_string());
    }
    return code;
  };
  StatusOr<std::unique_ptr<RocksJournal>> j = open_read_only(path);
  if (!j.ok()) return fail(j.status());
  StatusOr<engine::AuditVerdict> v = engine::verify_audit(**j);
  if (!v.ok()) return fail(v.status());
  if (!v->intact) {
    const std::string message =
        fmt::format("audit chain BROKEN at {}: {}", v->broken_key, v->reason);
    if (json) {
      print_json(path, kDamaged, message,
                 fmt::format(", \"key\": {}, \"links_verified\": {}", json_string(v->broken_key),
                             v->records));
    } else {
      fmt::print("{}\n  ({} links before it verified)\n", message, v->records);
    }
    return kDamaged;
  }
  const std::string message =
      fmt::format("audit chain intact: {} links in {} chains verified", v->records, v->chains);
  if (json) {
    print_json(path, kIntact, message,
               fmt::format(", \"links\": {}, \"chains\": {}", v->records, v->chains));
  } else {
    fmt::print("{}\n", message);
  }
  return kIntact;
}

int check(const std::string& path, bool truncate, bool json) {
  const engine::JournalCheck c = RocksJournal::check(path, truncate);
  const int code = c.verdict == engine::JournalCheck::Verdict::kIntact    ? kIntact
                   : c.verdict == engine::JournalCheck::Verdict::kDamaged ? kDamaged
                                                                          : kCannotOpen;
  if (json) {
    std::string extra;
    if (!c.file.empty()) extra += ", \"file\": " + json_string(c.file);
    if (c.offset) extra += fmt::format(", \"offset\": {}", *c.offset);
    if (c.truncated) {
      extra += fmt::format(", \"truncated\": {{\"file\": {}, \"offset\": {}}}",
                           json_string(c.truncated->file), c.truncated->offset);
    }
    print_json(path, code, c.message, extra);
  } else if (code == kCannotOpen) {
    fmt::print(stderr, "chakong journal check: {}\n", c.message);
  } else {
    fmt::print("{}\n", c.message);
  }
  return code;
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
  auto vjson = std::make_shared<bool>(false);
  v->add_option("PATH", *path, "Journal directory")->required();
  v->add_flag("--json", *vjson, "Print one JSON object (path, status, message, key)");
  v->footer("Exit: 0 intact, 1 damaged (a broken link or a damaged journal), 2 cannot open");
  v->callback([path, vjson, &exit_code] { exit_code = verify(*path, *vjson); });

  CLI::App* journal = app.add_subcommand("journal", "Inspect a case-server journal");
  journal->require_subcommand(1);
  CLI::App* c = journal->add_subcommand(
      "check",
      "Verify the whole journal (every log record, every table block checksum) under its lock; "
      "report damage with its file and offset");
  auto cpath = std::make_shared<std::string>();
  auto truncate = std::make_shared<bool>(false);
  auto cjson = std::make_shared<bool>(false);
  c->add_option("PATH", *cpath, "Journal directory")->required();
  c->add_flag("--truncate-tail", *truncate,
              "Cut a torn final record of the newest log file (a write a crash cut short, never "
              "acknowledged) so the engine can start; any other damage is refused");
  c->add_flag("--json", *cjson, "Print one JSON object (path, status, message, file, offset)");
  c->footer("Exit: 0 intact, 1 damaged, 2 cannot open (bad path, not a journal, locked)");
  c->callback(
      [cpath, truncate, cjson, &exit_code] { exit_code = check(*cpath, *truncate, *cjson); });
  CLI::App* sh = journal->add_subcommand("show", "Print one case's journal records (masked)");
  auto spath = std::make_shared<std::string>();
  auto number = std::make_shared<std::string>();
  sh->add_option("PATH", *spath, "Journal directory")->required();
  sh->add_option("CASE", *number, "Case number as journaled, e.g. （2026）渝0110执1000号")
      ->required();
  sh->callback([spath, number, &exit_code] { exit_code = show(*spath, *number); });
}

}  // namespace chakong::cli
