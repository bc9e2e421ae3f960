// Working-day arithmetic: the prefix-table calendar against the obvious day-by-day walk.
#include <benchmark/benchmark.h>

#include "chakong/base/calendar.h"

namespace chakong {
namespace {

const Date kStart = Date::parse("2024-01-02").value();

// Baseline: step one day at a time and ask whether each is a working day.
void BM_AddWorkingDaysWalk(benchmark::State& state) {
  const WorkCalendar& cal = WorkCalendar::china();
  const int n = static_cast<int>(state.range(0));
  int32_t offset = 0;
  for (auto _ : state) {
    Date d = kStart.plus_days(offset);
    for (int left = n; left > 0;) {
      d = d.plus_days(1);
      if (*cal.is_working_day(d)) --left;
    }
    benchmark::DoNotOptimize(d);
    offset = (offset + 1) % 300;
  }
}
BENCHMARK(BM_AddWorkingDaysWalk)->Arg(5)->Arg(22);

void BM_AddWorkingDays(benchmark::State& state) {
  const WorkCalendar& cal = WorkCalendar::china();
  const int n = static_cast<int>(state.range(0));
  int32_t offset = 0;
  for (auto _ : state) {
    StatusOr<Date> d = cal.add_working_days(kStart.plus_days(offset), n);
    benchmark::DoNotOptimize(d);
    offset = (offset + 1) % 300;
  }
}
BENCHMARK(BM_AddWorkingDays)->Arg(5)->Arg(22);

}  // namespace
}  // namespace chakong
