// The shared set-up of the case machine's exact-effects tests (tests/engine/case_machine_*.cc):
// the machine's environment (configuration, counters, the shard's connectors by index), one
// case, its effects list, and feed(): one input at a time, the effects as describe() lines.
#ifndef CHAKONG_TESTS_ENGINE_CASE_MACHINE_FIXTURE_H_
#define CHAKONG_TESTS_ENGINE_CASE_MACHINE_FIXTURE_H_

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "engine/src/case_machine.h"

namespace chakong::engine::machine::test_support {

inline Date day(int y, int m, int d) { return *Date::from_ymd(y, m, d); }
inline std::string at(TimeUs t) { return std::to_string(t); }

class CaseMachineTest : public ::testing::Test {
 protected:
  // Files `c_` as case `number` of officer-1 against one debtor, d1 (Zhang), owing `owed` fen
  // (the claim; nothing else).
  void file(std::string_view number, int64_t owed) {
    c_.number = std::string(number);
    c_.parsed = *CaseNumber::parse(number);
    c_.filing.officer_ids = {"officer-1"};
    c_.filing.debtors = {{DebtorInfo::Kind::kPerson, "d1", "Zhang"}};
    c_.filing.claim = Fen(owed);
    c_.ledger = Ledger(Fen(owed));
  }

  Env env(TimeUs now) { return Env{config_, now, stats_, connectors_}; }
  // The effects of the last input, one describe() line each.
  std::vector<std::string> lines() const {
    std::vector<std::string> out;
    for (const Effect& e : fx_.list()) out.push_back(describe(e));
    return out;
  }
  // Feeds `in` at `now` and returns its effects, one line each.
  std::vector<std::string> feed(const Input& in, TimeUs now) {
    fx_.clear();
    step(env(now), c_, in, fx_);
    return lines();
  }

  // The shard's connectors by index (their capabilities); none unless a test sets them.
  std::vector<ConnectorInfo> connectors_;
  EngineConfig config_;
  EngineStats stats_;
  CaseState c_;
  Effects fx_;
};

}  // namespace chakong::engine::machine::test_support

#endif  // CHAKONG_TESTS_ENGINE_CASE_MACHINE_FIXTURE_H_
