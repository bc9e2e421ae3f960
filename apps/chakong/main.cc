// chakong: the command line of the Chakong engine and simulator.
#include <CLI/CLI.hpp>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"chakong: court-enforcement asset query-and-freeze engine and simulator"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "chakong 0.1.0");
  int exit_code = 0;
  chakong::cli::add_check_command(app, exit_code);
  chakong::cli::add_conformance_command(app, exit_code);
  chakong::cli::add_simulate_command(app, exit_code);
  chakong::cli::add_experiment_command(app, exit_code);
  chakong::cli::add_journal_commands(app, exit_code);
  chakong::cli::add_institutions_command(app, exit_code);
#ifdef CHAKONG_HAVE_SERVICE
  chakong::cli::add_serve_command(app, exit_code);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // Bad flags are bad input: exit 2.
  }
  return exit_code;
}
