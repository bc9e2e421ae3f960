// Subcommands of the chakong CLI. Each registers itself on the CLI11 app; the callback sets
// the process exit code: 0 success, 1 a check failed, 2 bad input.
#ifndef CHAKONG_APPS_CHAKONG_COMMANDS_H_
#define CHAKONG_APPS_CHAKONG_COMMANDS_H_

#include <CLI/CLI.hpp>

namespace chakong::cli {

// As `chakong --version` prints it (main.cc), recorded in report.json's `run`.
inline constexpr const char* kChakongVersion = "chakong 0.1.0";

// `chakong check id|case|deadline ...`: validate identifiers and case numbers, compute
// query deadlines and measure terms on the working-day calendar.
void add_check_command(CLI::App& app, int& exit_code);

// `chakong conformance [--connector NAME]... [--plugin PATH]... [--check NAME]... [--seed N]
// [--submit-bound-ms MS] [--check-timeout-ms MS] [--json]`: exit 0 every check passed or was
// skipped, 1 a check failed, 2 cannot run (bad flags, unknown connector, a plugin that does
// not load).
void add_conformance_command(CLI::App& app, int& exit_code);

// `chakong simulate SCENARIO [--seed N] [--out DIR] [--threads N] [--days N]`.
void add_simulate_command(CLI::App& app, int& exit_code);

// `chakong experiment SCENARIO... [--replications N] [--vary path=v1,...] [--find PATH --target
// METRIC>=VALUE]`, and `chakong compare A B` (report.json or experiment.json).
void add_experiment_command(CLI::App& app, int& exit_code);

// `chakong audit verify PATH`, `chakong journal check PATH [--truncate-tail]`,
// `chakong journal show PATH CASE`: the case-server journal.
void add_journal_commands(CLI::App& app, int& exit_code);

// `chakong institutions --scenario FILE --listen ADDR [--plugin PATH]...`: simulated
// institutions over TCP ("host:port") or a Unix socket ("unix:PATH") for `chakong serve`.
// Exit 0 after SIGTERM/SIGINT, 1 when it cannot listen, 2 for a bad file or flag.
void add_institutions_command(CLI::App& app, int& exit_code);

// `chakong serve --config FILE`: the engine as the gRPC service chakong.v1.CaseService
// (docs/service.md). Exit 0 after a graceful SIGTERM/SIGINT, 1 when it cannot start, 2 for a
// bad config. Built with CHAKONG_BUILD_SERVICE.
void add_serve_command(CLI::App& app, int& exit_code);

}  // namespace chakong::cli

#endif  // CHAKONG_APPS_CHAKONG_COMMANDS_H_
