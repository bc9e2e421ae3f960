// TimingWheel<Payload>: a hierarchical timing wheel keyed by engine time (µs), with O(1)
// add and cancel and exact (time, insertion order) pop order.
//
// Eight levels of 64 slots cover 2^48 µs (8.9 years) ahead of the current time; an entry is
// filed at the level of the highest 6-bit digit in which its time differs from the wheel's
// current time, so an entry moves down ("cascades") at most seven times in its life and most
// deadlines, which are cancelled before they fire, never move at all. Entries further ahead
// than the horizon wait on an overflow list. Entries due at the same microsecond pop in the
// order they were added: cascading and adding both append, and the structure guarantees that
// equal times always share one slot list.
//
// Entries live in a slab (one vector, a free list): 24 bytes of bookkeeping plus the payload,
// no allocation per entry once the slab has grown. A Handle carries a generation, so cancelling
// an entry that already fired or was cancelled is a harmless no-op returning false.
//
// Not thread-safe: one owner (a shard, an executor) uses it from one thread.
//
//   TimingWheel<int> wheel(/*now=*/0);
//   auto h = wheel.add(48 * kMicrosPerHour, 7);
//   wheel.cancel(h);                 // true: it had not fired
//   while (auto e = wheel.pop_until(limit)) use(e->when, e->payload);
#ifndef CHAKONG_BASE_TIMING_WHEEL_H_
#define CHAKONG_BASE_TIMING_WHEEL_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "chakong/base/date.h"

namespace chakong {

// Identifies one entry of a TimingWheel (or one timer of an Executor). Default: no entry.
struct TimerHandle {
  uint32_t index = UINT32_MAX;
  uint32_t generation = 0;
  bool valid() const { return index != UINT32_MAX; }
};

template <typename Payload>
class TimingWheel {
 public:
  struct Entry {
    TimeUs when;
    Payload payload;
  };

  explicit TimingWheel(TimeUs now = 0) : now_(now), cur_(now) {
    for (auto& level : heads_) level.fill(kNil);
    for (auto& level : tails_) level.fill(kNil);
  }

  TimeUs now() const { return now_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Adds an entry due at `when`; a time before now() is filed at now(). O(1).
  TimerHandle add(TimeUs when, Payload payload) {
    if (when < now_) when = now_;
    uint32_t i;
    if (free_ != kNil) {
      i = free_;
      free_ = nodes_[i].next;
      nodes_[i].payload = std::move(payload);
    } else {
      i = static_cast<uint32_t>(nodes_.size());
      nodes_.push_back(Node{0, kNil, kNil, 0, kFree, std::move(payload)});
    }
    nodes_[i].when = when;
    file(i);
    ++size_;
    return TimerHandle{i, nodes_[i].generation};
  }

  // Removes the entry if it is still pending; false when it already fired or was cancelled.
  bool cancel(TimerHandle h) {
    if (!pending(h)) return false;
    unlink(h.index);
    release(h.index);
    return true;
  }

  // True while the entry has neither fired nor been cancelled.
  bool pending(TimerHandle h) const {
    return h.index < nodes_.size() && nodes_[h.index].generation == h.generation &&
           nodes_[h.index].slot != kFree;
  }

  // The time of the earliest pending entry, if any. Does not change the wheel.
  std::optional<TimeUs> next_time() const {
    if (size_ == 0) return std::nullopt;
    const int d0 = digit(cur_, 0);
    const uint64_t m0 = bits_[0] & (~uint64_t{0} << d0);
    if (m0 != 0) return nodes_[heads_[0][std::countr_zero(m0)]].when;
    for (int level = 1; level < kLevels; ++level) {
      const uint64_t m = bits_[level] & above(digit(cur_, level));
      if (m != 0) return min_in(heads_[level][std::countr_zero(m)]);
    }
    return min_in(overflow_head_);
  }

  // Removes and returns the earliest entry if it is due at or before `limit`, and advances
  // now() to its time. Otherwise returns nullopt; now() may then advance, but never past
  // `limit` nor past the earliest pending entry.
  std::optional<Entry> pop_until(TimeUs limit) {
    const uint32_t i = find_min(limit);
    if (i == kNil) return std::nullopt;
    Node& n = nodes_[i];
    now_ = n.when;
    unlink(i);
    Entry e{n.when, std::move(n.payload)};
    release(i);
    return e;
  }

  // Advances now() to `t` if no entry is due before `t`; returns whether it did (or now()
  // was already there).
  bool advance_to(TimeUs t) {
    if (t <= now_) return true;
    const std::optional<TimeUs> next = next_time();
    if (next && *next < t) return false;
    now_ = t;
    return true;
  }

  // Bytes of slab per entry (bookkeeping + payload).
  static constexpr size_t bytes_per_entry() { return sizeof(Node); }

 private:
  static constexpr int kBits = 6;
  static constexpr int kSlots = 1 << kBits;
  static constexpr int kLevels = 8;
  static constexpr uint32_t kNil = UINT32_MAX;
  static constexpr uint16_t kFree = UINT16_MAX;
  static constexpr uint16_t kOverflow = kLevels * kSlots;

  struct Node {
    TimeUs when;
    uint32_t prev;
    uint32_t next;
    uint32_t generation;
    uint16_t slot;  // level * 64 + digit, kOverflow, or kFree.
    Payload payload;
  };

  // Level and digit for time `when` relative to the cursor `cur_` (the start of the slot the
  // wheel last cascaded into). Level L means `when` and cur_ agree above digit L.
  uint16_t slot_for(TimeUs when) const {
    const uint64_t w = static_cast<uint64_t>(when);
    const uint64_t diff = w ^ static_cast<uint64_t>(cur_);
    const int level = diff == 0 ? 0 : (63 - std::countl_zero(diff)) / kBits;
    if (level >= kLevels) return kOverflow;
    return static_cast<uint16_t>(level * kSlots + ((w >> (level * kBits)) & (kSlots - 1)));
  }

  void file(uint32_t i) {
    const uint16_t s = slot_for(nodes_[i].when);
    nodes_[i].slot = s;
    uint32_t& head = s == kOverflow ? overflow_head_ : heads_[s / kSlots][s % kSlots];
    uint32_t& tail = s == kOverflow ? overflow_tail_ : tails_[s / kSlots][s % kSlots];
    nodes_[i].prev = tail;
    nodes_[i].next = kNil;
    if (tail == kNil) {
      head = i;
    } else {
      nodes_[tail].next = i;
    }
    tail = i;
    if (s != kOverflow) bits_[s / kSlots] |= uint64_t{1} << (s % kSlots);
  }

  void unlink(uint32_t i) {
    Node& n = nodes_[i];
    const uint16_t s = n.slot;
    uint32_t& head = s == kOverflow ? overflow_head_ : heads_[s / kSlots][s % kSlots];
    uint32_t& tail = s == kOverflow ? overflow_tail_ : tails_[s / kSlots][s % kSlots];
    if (n.prev == kNil) {
      head = n.next;
    } else {
      nodes_[n.prev].next = n.next;
    }
    if (n.next == kNil) {
      tail = n.prev;
    } else {
      nodes_[n.next].prev = n.prev;
    }
    if (head == kNil && s != kOverflow) bits_[s / kSlots] &= ~(uint64_t{1} << (s % kSlots));
  }

  void release(uint32_t i) {
    Node& n = nodes_[i];
    n.slot = kFree;
    ++n.generation;
    n.payload = Payload();
    n.next = free_;
    free_ = i;
    --size_;
  }

  static int digit(TimeUs t, int level) {
    return static_cast<int>((static_cast<uint64_t>(t) >> (level * kBits)) & (kSlots - 1));
  }
  static uint64_t above(int d) { return d + 1 >= kSlots ? 0 : (~uint64_t{0} << (d + 1)); }

  TimeUs min_in(uint32_t i) const {
    TimeUs m = nodes_[i].when;
    for (; i != kNil; i = nodes_[i].next) m = std::min(m, nodes_[i].when);
    return m;
  }

  // Moves the cursor forward to `c` (never past a pending entry) and keeps now_ >= cur_, the
  // invariant that lets add() file any time >= now_ correctly.
  void move_cursor(TimeUs c) {
    cur_ = c;
    if (now_ < cur_) now_ = cur_;
  }

  // Index of the earliest entry if it is due at or before `limit`, else kNil. Cascades only
  // slots that start at or before `limit`.
  uint32_t find_min(TimeUs limit) {
    if (size_ == 0) return kNil;
    for (;;) {
      // Level 0: digits at or after the cursor's hold exact times.
      const uint64_t m0 = bits_[0] & (~uint64_t{0} << digit(cur_, 0));
      if (m0 != 0) {
        const uint32_t i = heads_[0][std::countr_zero(m0)];
        return nodes_[i].when <= limit ? i : kNil;
      }
      int level = 1;
      uint64_t m = 0;
      for (; level < kLevels; ++level) {
        m = bits_[level] & above(digit(cur_, level));
        if (m != 0) break;
      }
      if (level < kLevels) {
        const int slot = std::countr_zero(m);
        const uint64_t high_mask = ~((uint64_t{1} << ((level + 1) * kBits)) - 1);
        const TimeUs start = static_cast<TimeUs>((static_cast<uint64_t>(cur_) & high_mask) |
                                                 (static_cast<uint64_t>(slot) << (level * kBits)));
        if (start > limit) return kNil;
        move_cursor(start);
        cascade(static_cast<uint16_t>(level * kSlots + slot));
        continue;
      }
      // Only the overflow list remains: move the cursor to its earliest entry's epoch.
      if (overflow_head_ == kNil) return kNil;
      const TimeUs earliest = min_in(overflow_head_);
      if (earliest > limit) return kNil;
      move_cursor(static_cast<TimeUs>(static_cast<uint64_t>(earliest) &
                                      ~((uint64_t{1} << (kLevels * kBits)) - 1)));
      cascade(kOverflow);
    }
  }

  void cascade(uint16_t s) {
    uint32_t& head = s == kOverflow ? overflow_head_ : heads_[s / kSlots][s % kSlots];
    uint32_t& tail = s == kOverflow ? overflow_tail_ : tails_[s / kSlots][s % kSlots];
    uint32_t i = head;
    head = tail = kNil;
    if (s != kOverflow) bits_[s / kSlots] &= ~(uint64_t{1} << (s % kSlots));
    while (i != kNil) {
      const uint32_t next = nodes_[i].next;
      file(i);
      i = next;
    }
  }

  TimeUs now_;
  // Cursor: every pending entry is at or after it, and cur_ <= now_ always.
  TimeUs cur_;
  std::vector<Node> nodes_;
  uint32_t free_ = kNil;
  size_t size_ = 0;
  uint64_t bits_[kLevels] = {};
  std::array<std::array<uint32_t, kSlots>, kLevels> heads_;
  std::array<std::array<uint32_t, kSlots>, kLevels> tails_;
  uint32_t overflow_head_ = kNil;
  uint32_t overflow_tail_ = kNil;
};

}  // namespace chakong

#endif  // CHAKONG_BASE_TIMING_WHEEL_H_
