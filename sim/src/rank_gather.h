// What a run over MPI ranks (`mpirun -np R chakong simulate`) gathers to rank 0 between
// windows: each rank's figures, packed in this machine's byte order (the ranks of one run are
// one binary on one architecture), and the collective that carries them. Every rank calls
// gather() at the same points of the run (it is a collective); rank 0 gets every rank's bytes
// in rank order, the others nothing.
#ifndef CHAKONG_SIM_SRC_RANK_GATHER_H_
#define CHAKONG_SIM_SRC_RANK_GATHER_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chakong/base/money.h"
#include "chakong/base/status.h"
#include "chakong/sim/comm.h"

namespace chakong::sim::rank_gather {

class Writer {
 public:
  template <typename T>
  void put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out_.append(b, sizeof(T));
  }
  void put_string(std::string_view s) {
    put(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

// Reads what a Writer wrote; reading past the end sets failed() and gives zeros.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <typename T>
  T get() {
    T v{};
    if (in_.size() - pos_ < sizeof(T) || failed_) {
      failed_ = true;
      return v;
    }
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string get_string() {
    const auto n = get<uint32_t>();
    if (failed_ || in_.size() - pos_ < n) {
      failed_ = true;
      return {};
    }
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  bool done() const { return pos_ == in_.size(); }
  bool failed() const { return failed_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

// On rank 0: every rank's `mine` (in[r] from rank r, its own at 0); elsewhere: empty.
std::vector<std::string> gather(Comm& comm, std::string mine);

// A map of amounts per case: packed, and merged into another (sum or max per case).
void put_amounts(Writer& w, const std::unordered_map<std::string, Fen>& m);
enum class Merge { kSum, kMax };
[[nodiscard]] Status merge_amounts(Reader& r, std::unordered_map<std::string, Fen>& into,
                                   Merge how);

}  // namespace chakong::sim::rank_gather

#endif  // CHAKONG_SIM_SRC_RANK_GATHER_H_
