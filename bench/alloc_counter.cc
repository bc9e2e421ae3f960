// The replacement global operator new / delete of alloc_counter.h.
//
// Counters live in per-thread slots (a cache line each) so that counting costs a plain load
// and store on the allocating thread, not a locked instruction: the first kShared threads to
// allocate own a slot each, any later thread shares the last slot through fetch_add. A
// snapshot sums every slot (relaxed loads: exact once the counted threads have been joined or
// have handed their work over, as every benchmark does before it reads). A slot outlives its
// thread, so the totals are cumulative over the process.
#include "alloc_counter.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <sstream>
#include <string_view>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CHAKONG_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define CHAKONG_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef CHAKONG_COUNT_ALLOCATIONS
#define CHAKONG_COUNT_ALLOCATIONS 1
#endif

namespace chakong::bench {
namespace {

struct alignas(64) Slot {
  std::atomic<uint64_t> allocations{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> deallocations{0};
};

constexpr int kSlots = 64;
constexpr int kShared = kSlots - 1;  // Threads beyond the first kShared share this one.

// Constant-initialised: valid before any static constructor runs and after every destructor.
constinit Slot g_slots[kSlots];
constinit std::atomic<int> g_next_slot{0};
constinit thread_local int t_slot = -1;

[[maybe_unused]] int my_slot() {
  int s = t_slot;
  if (s >= 0) return s;
  s = g_next_slot.load(std::memory_order_relaxed);
  while (s < kShared && !g_next_slot.compare_exchange_weak(s, s + 1, std::memory_order_relaxed)) {
  }
  if (s > kShared) s = kShared;
  t_slot = s;
  return s;
}

[[maybe_unused]] void add(std::atomic<uint64_t>& counter, uint64_t n, int slot) {
  if (slot == kShared) {
    counter.fetch_add(n, std::memory_order_relaxed);
  } else {  // Only this thread writes it.
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
}

uint64_t sum(std::atomic<uint64_t> Slot::*field) {
  uint64_t n = 0;
  for (const Slot& s : g_slots) n += (s.*field).load(std::memory_order_relaxed);
  return n;
}

#if CHAKONG_COUNT_ALLOCATIONS
void count_allocation(std::size_t bytes) {
  const int s = my_slot();
  add(g_slots[s].allocations, 1, s);
  add(g_slots[s].bytes, bytes, s);
}

void* counted_new(std::size_t n) {
  const std::size_t size = n == 0 ? 1 : n;
  for (;;) {
    if (void* p = std::malloc(size)) {
      count_allocation(n);
      return p;
    }
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void* counted_new(std::size_t n, std::align_val_t alignment) {
  std::size_t align = static_cast<std::size_t>(alignment);
  if (align < sizeof(void*)) align = sizeof(void*);
  if (n > SIZE_MAX - align) throw std::bad_alloc();
  // aligned_alloc wants a size that is a multiple of the alignment.
  const std::size_t size = n == 0 ? align : (n + align - 1) / align * align;
  for (;;) {
    if (void* p = std::aligned_alloc(align, size)) {
      count_allocation(n);
      return p;
    }
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
  }
}

void counted_delete(void* p) noexcept {
  if (p == nullptr) return;
  const int s = my_slot();
  add(g_slots[s].deallocations, 1, s);
  std::free(p);
}
#endif  // CHAKONG_COUNT_ALLOCATIONS

}  // namespace

uint64_t allocations() { return sum(&Slot::allocations); }
uint64_t allocated_bytes() { return sum(&Slot::bytes); }
uint64_t deallocations() { return sum(&Slot::deallocations); }
bool counting_enabled() { return CHAKONG_COUNT_ALLOCATIONS != 0; }

void require_alloc_counting() {
  if (!counting_enabled()) return;
  static const bool checked = [] {
    // Under a tool that preloads its own malloc and allocates through operator new inside it
    // (heaptrack), the counts include the tool's allocations and the check fails: this skips it.
    if (const char* v = std::getenv("CHAKONG_BENCH_ALLOC_CHECK");
        v != nullptr && std::string_view(v) == "0") {
      std::fprintf(stderr,
                   "alloc_counter: self-check skipped (CHAKONG_BENCH_ALLOC_CHECK=0); "
                   "allocs_per_request may include a tool's own allocations.\n");
      return false;
    }
    const uint64_t before = allocations();
    int* volatile p = new int(42);  // Through a volatile: the new-expression cannot be elided.
    const uint64_t after_new = allocations();
    delete p;
    // A buffer grown inside libstdc++.so (basic_stringbuf::overflow): the shared libraries'
    // allocations must reach the replacement too.
    const uint64_t before_lib = allocations();
    std::ostringstream os;
    for (int i = 0; i < 4096; ++i) os.put('x');
    const uint64_t after_lib = allocations();
    if (after_new - before != 1 || after_lib == before_lib) {
      std::fprintf(stderr,
                   "alloc_counter: heap allocations are not being counted (a `new int` counted "
                   "%llu, a libstdc++ stream buffer %llu); the replacement operator new of "
                   "bench/alloc_counter.cc is not in effect in this binary, so "
                   "allocs_per_request would be wrong. Aborting.\n",
                   static_cast<unsigned long long>(after_new - before),
                   static_cast<unsigned long long>(after_lib - before_lib));
      std::abort();
    }
    return true;
  }();
  (void)checked;
}

}  // namespace chakong::bench

#if CHAKONG_COUNT_ALLOCATIONS
using chakong::bench::counted_delete;
using chakong::bench::counted_new;

void* operator new(std::size_t n) { return counted_new(n); }
void* operator new[](std::size_t n) { return counted_new(n); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_new(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return counted_new(n, a); }

void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n, a);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return counted_new(n, a);
  } catch (...) {
    return nullptr;
  }
}

void operator delete(void* p) noexcept { counted_delete(p); }
void operator delete[](void* p) noexcept { counted_delete(p); }
void operator delete(void* p, std::size_t) noexcept { counted_delete(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_delete(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_delete(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_delete(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_delete(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_delete(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_delete(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_delete(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  counted_delete(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  counted_delete(p);
}
#endif  // CHAKONG_COUNT_ALLOCATIONS
