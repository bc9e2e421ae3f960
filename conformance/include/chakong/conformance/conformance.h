// The conformance kit: checks that prove a connector keeps the contract of connector.h and
// the domain's semantics, end to end against a seeded ground truth in a sandbox.
//
// Every check builds a fresh sandbox: a virtual-time executor, an institution::Institution seeded
// from the seed with known accounts (or properties, vehicles, holdings) for a debtor and one for
// another person, the factory's sandbox endpoint serving the connector's own protocol from
// that institution, and sometimes a faulty transport in between (a black hole, an outage,
// corrupt bytes). The connector under test is built from the factory's default config.
//
// Every call a check makes goes through the kit's contract monitors, which watch the rules of
// connector.h on that call: exactly one completion (rule 1), one response per request (rule 1),
// never inside async_submit() (rule 2), async_submit() returning within
// Options::submit_bound_us (rule 3), prompt drain and nothing after shutdown (rule 5), and
// Executor::run_at()/cancel() only from the executor's thread. A broken rule fails the check it
// happened in, whatever the check itself concluded, with a detail naming the rule and the
// operation: "rule 2 (never inline): freeze completed inside async_submit (call 2)".
//
// Every check is isolated: it runs on a thread of its own; an exception (from the adapter or
// from the check meeting an adapter that broke the contract) or a check that does not finish
// within Options::check_timeout_ms is reported as a failed check with its reason, and the run
// goes on. A timed-out check's thread cannot be stopped: it is abandoned (abandoned_checks()),
// and a process that saw one should exit without running destructors (std::_Exit). With
// Options::fork_checks each check runs in a child process, so an adapter that crashes (a
// signal) fails its check too: "the check's process was killed by signal 11 (SIGSEGV: ...)".
//
// Golden exchanges (load_golden(), Options::golden) check the adapter's encoder and decoder
// against recorded (or hand-written) exchanges of the real institution, independently of the
// adapter's own inverse codec, which is what the sandbox endpoint runs: the connector is given
// a transport that compares the bytes it sends with the recorded request, field by field, and
// answers with the recorded reply; the responses it completes with are compared with the
// expected decoded result. A difference fails the check "golden:<file>" naming the field:
// "golden encode: wire call 1: instructions[1].amount_fen: expected 150000, got 1500".
//
// A check passes, fails with a detail saying what was expected and what came, or is skipped
// with the reason (an operation the connector does not declare). run() is deterministic for a
// seed. Used by `chakong conformance` and by the parameterized GoogleTest suite.
//
//   conformance::Report r = conformance::run(*registry.find("bank"), {.seed = 7},
//       [](const conformance::CheckResult& c) { std::puts(conformance::to_json(c).c_str()); });
#ifndef CHAKONG_CONFORMANCE_CONFORMANCE_H_
#define CHAKONG_CONFORMANCE_CONFORMANCE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "chakong/base/status.h"
#include "chakong/connectors/factory.h"

namespace chakong::conformance {

enum class Result : uint8_t { kPass, kFail, kSkip };
std::string_view result_name(Result r);  // "pass", "fail", "skip"

struct CheckResult {
  std::string name;
  Result result = Result::kPass;
  std::string detail;
  // Wall time the check took, in microseconds.
  int64_t elapsed_us = 0;
  // The check did not finish within Options::check_timeout_ms; its thread was abandoned.
  bool timed_out = false;
};

struct Report {
  std::string connector;  // "<kind>.sandbox"
  std::vector<CheckResult> checks;
  int passed = 0, failed = 0, skipped = 0;
};

// One golden exchange file: a chakong.conformance.v1.GoldenExchange in text format
// (chakong/conformance/v1/golden.proto).
struct GoldenFile {
  std::string name;  // Its check's name: "golden:" + its path under the directory, no extension.
  std::string path;
  std::string kind;  // The connector kind it is for.
  std::string text;  // The file's content.
};

// Every *.textproto file under `dir` (recursively, in path order), each parsed: kNotFound for a
// missing directory or one without such files; kInvalidArgument naming "<file>:<line>:<column>"
// for a file that does not parse (an Any of a message type this process does not know
// included: load plugins first) and naming the file for one without `kind` or with a count of
// responses other than of requests.
StatusOr<std::vector<GoldenFile>> load_golden(const std::string& dir);

struct Options {
  uint64_t seed = 1;
  // Rule 3: every async_submit() must return within this wall time. A call over it is a
  // violation when the thread blocked (gave up the CPU: a sleep, a lock, a socket) or computed
  // for that long; a call that was only preempted on a busy machine is not.
  int64_t submit_bound_us = 5000;
  // A check that takes longer (wall time) fails as timed out.
  int64_t check_timeout_ms = 60'000;
  // The checks to run (names from check_names(), a golden file's "golden:<name>", or "golden"
  // for every golden file of the connector's kind); empty: every check, then every golden file
  // of the connector's kind.
  std::vector<std::string> checks;
  // Golden exchanges (load_golden()); those of the connector's kind run after the checks. When
  // there are golden files but none of its kind, run() reports a skipped check "golden".
  std::vector<GoldenFile> golden;
  // Each check runs in a forked child process of its own (POSIX fork(); the result comes back
  // through a pipe): an adapter that crashes the process (SIGSEGV, abort()) fails that check,
  // naming the signal, and the run goes on. A timed-out check's thread dies with its child.
  // `chakong conformance` sets it; off, checks run on a thread of this process. The child
  // copies only the forking thread: other threads of this process must hold no lock the check
  // needs (an abandoned check of an earlier run() in-process, for one).
  bool fork_checks = false;
};

// The names of every check, in the order run() runs them.
std::vector<std::string> check_names();

// One check, isolated and monitored; kFail with "unknown check" for a name not in
// check_names() nor a golden file's of Options::golden. Never throws.
CheckResult run_check(const connectors::ConnectorFactory& factory, std::string_view check,
                      const Options& options);

// Every check (or Options::checks), in order; `on_result`, when set, is called with each
// result as it finishes. Never throws. `factory` must outlive an abandoned check's thread.
Report run(const connectors::ConnectorFactory& factory, const Options& options,
           const std::function<void(const CheckResult&)>& on_result = {});

// Check threads that timed out and may still be running, in this process.
int abandoned_checks();

// {"connector": ..., "checks": [{"name", "result", "detail"}], "passed", "failed", "skipped"}
std::string to_json(const Report& report);

// One check as a JSON line:
// {"connector": ..., "check": ..., "result": ..., "detail": ..., "ms": ...}
std::string to_json(std::string_view connector, const CheckResult& check);

// A connector's summary as a JSON line:
// {"connector": ..., "summary": true, "passed": n, "failed": n, "skipped": n}
std::string summary_json(const Report& report);

}  // namespace chakong::conformance

#endif  // CHAKONG_CONFORMANCE_CONFORMANCE_H_
