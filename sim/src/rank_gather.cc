#include "rank_gather.h"

namespace chakong::sim::rank_gather {

std::vector<std::string> gather(Comm& comm, std::string mine) {
  std::vector<std::string> out(static_cast<size_t>(comm.size()));
  out[0] = std::move(mine);
  std::vector<std::string> in = comm.alltoall(out);
  if (comm.rank() != 0) return {};
  return in;
}

void put_amounts(Writer& w, const std::unordered_map<std::string, Fen>& m) {
  w.put(static_cast<uint64_t>(m.size()));
  for (const auto& [number, amount] : m) {
    w.put_string(number);
    w.put(amount.value());
  }
}

Status merge_amounts(Reader& r, std::unordered_map<std::string, Fen>& into, Merge how) {
  const auto n = r.get<uint64_t>();
  for (uint64_t k = 0; k < n && !r.failed(); ++k) {
    std::string number = r.get_string();
    const Fen amount(r.get<int64_t>());
    Fen& to = into[std::move(number)];
    to = how == Merge::kSum ? to + amount : max(to, amount);
  }
  if (r.failed()) return internal_error("rank gather: a rank's amounts per case are cut short");
  return ok_status();
}

}  // namespace chakong::sim::rank_gather
