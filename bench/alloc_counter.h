// Heap allocations counted by the allocator, for the benchmarks that report
// `allocs_per_request` and `bytes_per_request`.
//
// bench/alloc_counter.cc replaces the global operator new and operator delete (every standard
// form: plain, array, sized, aligned, nothrow) with versions that call malloc / aligned_alloc
// and free and count each allocation and its requested size, per thread, in relaxed atomics
// that a snapshot sums. It is linked only into the benchmark binaries that report these
// counters (bench/CMakeLists.txt), never into the chakong executable or the tests. Every heap
// allocation made through operator new in the process is counted: the binary's own code and
// the shared libraries' (libstdc++, protobuf, yaml-cpp, TBB), on every thread. malloc() called
// directly (C libraries, RocksDB's own arenas) is not.
//
// In sanitizer builds (which bring their own operator new) the replacement is compiled out:
// counting_enabled() is false and the counters are not reported.
//
//   bench::require_alloc_counting();     // aborts if the replacement is not in effect
//   bench::AllocCounter count;           // snapshot now
//   ... work ...
//   count.allocations(), count.bytes()   // since the snapshot, all threads
#ifndef CHAKONG_BENCH_ALLOC_COUNTER_H_
#define CHAKONG_BENCH_ALLOC_COUNTER_H_

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

namespace chakong::bench {

// Process totals since start, summed over every thread that ever allocated.
uint64_t allocations();      // Calls of operator new / new[] that returned memory.
uint64_t allocated_bytes();  // Bytes requested by them.
uint64_t deallocations();    // Calls of operator delete / delete[] with a non-null pointer.

// True when the replacement operators are compiled in (not in sanitizer builds).
bool counting_enabled();

// When counting is enabled, checks once that it works (a `new int` from this binary and a
// stream buffer grown inside libstdc++.so are both counted) and aborts with a message on
// stderr if not. Call at the start of every benchmark that reports allocation counters.
// CHAKONG_BENCH_ALLOC_CHECK=0 skips the check (to run under heaptrack, whose preloaded malloc
// allocates through operator new: the counters then include heaptrack's own allocations).
void require_alloc_counting();

// Allocations since construction (or the last reset()), all threads.
class AllocCounter {
 public:
  AllocCounter() { reset(); }
  void reset() {
    allocations_ = bench::allocations();
    bytes_ = bench::allocated_bytes();
  }
  uint64_t allocations() const { return bench::allocations() - allocations_; }
  uint64_t bytes() const { return bench::allocated_bytes() - bytes_; }

 private:
  uint64_t allocations_ = 0;
  uint64_t bytes_ = 0;
};

// Sets `<prefix>allocs_per_request` and `<prefix>bytes_per_request` to `allocs` and `bytes`
// divided by `requests`; nothing when counting is disabled.
inline void report_allocs(benchmark::State& state, uint64_t allocs, uint64_t bytes, double requests,
                          const std::string& prefix = "") {
  if (!counting_enabled() || requests <= 0) return;
  state.counters[prefix + "allocs_per_request"] = static_cast<double>(allocs) / requests;
  state.counters[prefix + "bytes_per_request"] = static_cast<double>(bytes) / requests;
}

}  // namespace chakong::bench

#endif  // CHAKONG_BENCH_ALLOC_COUNTER_H_
