// `chakong check`: the domain rules on single values, for officers and integrators.
#include <fmt/core.h>

#include <memory>
#include <string>
#include <vector>

#include "chakong/base/calendar.h"
#include "chakong/base/case_number.h"
#include "chakong/base/date.h"
#include "chakong/base/identity.h"
#include "commands.h"

namespace chakong::cli {
namespace {

int check_ids(const std::vector<std::string>& ids) {
  int rc = 0;
  for (const std::string& id : ids) {
    // 18 characters either way; a person's ID is all digits but the last.
    const bool person = id.size() == 18 && id.find_first_not_of("0123456789") >= 17;
    if (person) {
      Status s = validate_resident_id(id);
      fmt::print("{}  resident ID  {}\n", mask_id(id), s.ok() ? "valid" : s.message());
      if (!s.ok()) rc = 1;
      continue;
    }
    StatusOr<CreditCodeCheck> c = validate_credit_code(id);
    if (!c.ok()) {
      fmt::print("{}  invalid  {}\n", mask_id(id), c.status().message());
      rc = 1;
    } else if (!c->checksum_ok) {
      fmt::print(
          "{}  credit code  valid with warning: check character should be '{}' "
          "(early pilot codes fail the checksum)\n",
          mask_id(id), c->expected_check);
    } else {
      fmt::print("{}  credit code  valid\n", mask_id(id));
    }
  }
  return rc;
}

int check_cases(const std::vector<std::string>& numbers) {
  int rc = 0;
  for (const std::string& text : numbers) {
    StatusOr<CaseNumber> n = CaseNumber::parse(text);
    if (!n.ok()) {
      fmt::print("{}  invalid  {}\n", text, n.status().message());
      rc = 1;
      continue;
    }
    fmt::print("{}  year {}  court {}  type {}  serial {}  restored as {}\n", n->to_string(),
               n->year(), n->court(), case_type_code(n->type()), n->serial(),
               n->restored(n->year() + 1, 1).to_string());
  }
  return rc;
}

int check_deadline(const std::string& received_text) {
  StatusOr<Date> received = Date::parse(received_text);
  if (!received.ok()) {
    fmt::print(stderr, "chakong check deadline: --received: {}\n", received.status().message());
    return 2;
  }
  const WorkCalendar& cal = WorkCalendar::china();
  fmt::print("case received {}\n", received->to_string());
  // DOMAIN rule 6: query within 5 / 10 / 22 working days scores 100 / 80 / 60.
  for (const auto& [wd, score] : {std::pair{5, 100}, {10, 80}, {22, 60}}) {
    StatusOr<Date> due = cal.add_working_days(*received, wd);
    if (!due.ok()) {
      fmt::print(stderr, "chakong check deadline: {}\n", due.status().message());
      return 2;
    }
    fmt::print("  network query by {} ({:>2} working days) scores {}\n", due->to_string(), wd,
               score);
  }
  for (const auto& [years, what] :
       {std::pair{1, "deposit freeze"}, {2, "vehicle seal"}, {3, "real-estate seal"}}) {
    fmt::print("  a {} effective that day ends {}\n", what, term_end(*received, years).to_string());
  }
  return 0;
}

}  // namespace

void add_check_command(CLI::App& app, int& exit_code) {
  CLI::App* check = app.add_subcommand("check", "Validate identifiers, case numbers, deadlines");
  check->require_subcommand(1);

  auto ids = std::make_shared<std::vector<std::string>>();  // Freed with the app.
  CLI::App* id = check->add_subcommand("id", "Validate resident IDs and credit codes");
  id->add_option("ID", *ids, "18-character resident ID or unified social credit code")->required();
  id->callback([ids, &exit_code] { exit_code = check_ids(*ids); });

  auto cases = std::make_shared<std::vector<std::string>>();
  CLI::App* cs = check->add_subcommand("case", "Parse case numbers");
  cs->add_option("NUMBER", *cases, "case number, e.g. （2024）渝0110执1234号")->required();
  cs->callback([cases, &exit_code] { exit_code = check_cases(*cases); });

  auto received = std::make_shared<std::string>();
  CLI::App* dl = check->add_subcommand("deadline", "Query deadlines and measure terms");
  dl->add_option("--received", *received, "date the officer received the case, YYYY-MM-DD")
      ->required();
  dl->callback([received, &exit_code] { exit_code = check_deadline(*received); });
}

}  // namespace chakong::cli
