// phold_ranks: PHOLD (bench/phold.h) on sim::ParallelTime, for the rank tests
// (parallel_time_mpi_test.sh): run under mpirun it spreads the LPs over the ranks, and rank 0
// prints the run's events and checksum, which must equal `phold_ranks --reference` (one global
// event queue), and its windows, which must be the same whatever the ranks and threads.
//   phold_ranks --reference
//   mpirun -np 4 phold_ranks --threads 2
// --classes runs it on three LP classes (the per-pair lookahead path; the same windows);
// --work N (hash iterations an event), --hops N and --lps N make it a timing run
// (docs/performance.md).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "bench/phold.h"
#include "chakong/sim/comm.h"

int main(int argc, char** argv) {
  using namespace chakong;
  bool reference = false;
  bool classes = false;
  int threads = 1;
  uint32_t work = 0, hops = 400, lps = 24;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--reference") == 0) {
      reference = true;
    } else if (std::strcmp(argv[i], "--classes") == 0) {
      classes = true;
    } else if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--work") == 0 && i + 1 < argc) {
      work = static_cast<uint32_t>(std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--hops") == 0 && i + 1 < argc) {
      hops = static_cast<uint32_t>(std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--lps") == 0 && i + 1 < argc) {
      lps = static_cast<uint32_t>(std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr,
                   "usage: phold_ranks [--reference] [--classes] [--threads N] [--work N] "
                   "[--hops N] [--lps N]\n");
      return 2;
    }
  }
  phold::Options o;
  o.lps = lps;
  o.jobs = 6;
  o.hops = hops;
  o.work = work;
  o.bytes = true;  // Remote hops may cross ranks.
  const TimeUs limit = 1'000'000'000;
  if (reference) {
    const phold::Totals t = phold::reference_phold(o, 0, limit);
    std::printf("events=%llu checksum=%llu\n", static_cast<unsigned long long>(t.events),
                static_cast<unsigned long long>(t.checksum));
    return 0;
  }
  std::unique_ptr<sim::Comm> comm;
  if (sim::launched_by_mpirun()) {
    StatusOr<std::unique_ptr<sim::Comm>> c = sim::make_mpi_comm();
    if (!c.ok()) {
      std::fprintf(stderr, "phold_ranks: %s\n", c.status().to_string().c_str());
      return 1;
    }
    comm = std::move(c).value();
  } else {
    comm = std::make_unique<sim::LocalComm>();
  }
  sim::ParallelTimeOptions po{
      .lps = o.lps, .start = 0, .lookahead = o.lookahead, .threads = threads, .comm = comm.get()};
  if (classes) {
    // Three LP classes, every pair at the lookahead: the per-class bounds agreed over the
    // ranks, which must step the same windows as one class.
    for (uint32_t i = 0; i < o.lps; ++i) po.lp_class.push_back(i % 3);
    po.class_lookahead = [&o](uint32_t, uint32_t) { return o.lookahead; };
    po.reaction.assign(o.lps, 0);
  }
  auto pt = sim::ParallelTime::create(po);
  if (!pt.ok()) {
    std::fprintf(stderr, "phold_ranks: %s\n", pt.status().to_string().c_str());
    return 2;
  }
  phold::Model<> model(**pt, o);
  model.start(0);
  Status s = (*pt)->run_until(limit);
  if (!s.ok()) {
    std::fprintf(stderr, "phold_ranks: rank %d: %s\n", comm->rank(), s.to_string().c_str());
    return 1;
  }
  uint64_t totals[3] = {model.events(), model.checksum(), (*pt)->stats().messages};
  comm->allreduce_sum(totals, 3);
  if (comm->rank() == 0) {
    std::printf("events=%llu checksum=%llu\nwindows=%llu messages=%llu ranks=%d\n",
                static_cast<unsigned long long>(totals[0]),
                static_cast<unsigned long long>(totals[1]),
                static_cast<unsigned long long>((*pt)->stats().windows),
                static_cast<unsigned long long>(totals[2]), comm->size());
  }
  return 0;
}
