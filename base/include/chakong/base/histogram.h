// LatencyHistogram: log-linear buckets of durations (8 per power of two, so any quantile is
// within ~9 % of the true value), constant memory, mergeable. For per-connector latency in
// reports; recording is a few instructions.
#ifndef CHAKONG_BASE_HISTOGRAM_H_
#define CHAKONG_BASE_HISTOGRAM_H_

#include <array>
#include <bit>
#include <cstdint>

#include "chakong/base/date.h"

namespace chakong {

class LatencyHistogram {
 public:
  // Records `n` samples of duration `d`.
  void record(TimeUs d, uint64_t n = 1) {
    counts_[bucket(d < 0 ? 0 : static_cast<uint64_t>(d))] += n;
    total_ += n;
  }
  void merge(const LatencyHistogram& o) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
  }
  uint64_t count() const { return total_; }
  // The q-quantile (0..1), as the midpoint of its bucket; 0 when empty.
  TimeUs quantile(double q) const {
    if (total_ == 0) return 0;
    const uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total_ - 1));
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen > rank) return static_cast<TimeUs>((lower(i) + lower(i + 1)) / 2);
    }
    return static_cast<TimeUs>(lower(counts_.size() - 1));
  }

 private:
  static constexpr int kSub = 8;  // Buckets per power of two.
  static size_t bucket(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    const int msb = 63 - std::countl_zero(v);
    const uint64_t sub = (v >> (msb - 3)) & (kSub - 1);
    return static_cast<size_t>((msb - 2) * kSub + sub);
  }
  static uint64_t lower(size_t b) {
    if (b < kSub) return b;
    const int msb = static_cast<int>(b / kSub) + 2;
    return (uint64_t{1} << msb) + (static_cast<uint64_t>(b % kSub) << (msb - 3));
  }
  std::array<uint64_t, 62 * kSub> counts_{};
  uint64_t total_ = 0;
};

}  // namespace chakong

#endif  // CHAKONG_BASE_HISTOGRAM_H_
