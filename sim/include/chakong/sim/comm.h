// Comm: the collective operations sim::ParallelTime needs between the processes (ranks) of one
// run: agree on the next window (a minimum), exchange a window's messages (all-to-all bytes),
// and add up results. One rank (no communication) is LocalComm; MPI ranks are make_mpi_comm().
//
// Every rank calls the same operations in the same order (they are collectives); a rank that
// skips one deadlocks the run, so ParallelTime calls them only at fixed points of its loop.
#ifndef CHAKONG_SIM_COMM_H_
#define CHAKONG_SIM_COMM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chakong/base/status.h"

namespace chakong::sim {

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Element-wise minimum / sum over every rank, in place.
  virtual void allreduce_min(int64_t* values, int n) = 0;
  virtual void allreduce_sum(uint64_t* values, int n) = 0;
  // Sends out[r] to rank r and returns what every rank sent this one (in[r] from rank r).
  // out.size() == size().
  virtual std::vector<std::string> alltoall(const std::vector<std::string>& out) = 0;
};

// One process, nothing to talk to.
class LocalComm final : public Comm {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allreduce_min(int64_t*, int) override {}
  void allreduce_sum(uint64_t*, int) override {}
  std::vector<std::string> alltoall(const std::vector<std::string>& out) override { return out; }
};

// Whether this build has MPI (CHAKONG_WITH_MPI).
bool mpi_available();
// Whether this process was started by an MPI launcher (mpirun sets its environment).
bool launched_by_mpirun();
// Initialises MPI (once per process; thread level "funneled": only the thread that calls
// ParallelTime::run_until talks to MPI) and returns MPI_COMM_WORLD as a Comm; MPI is finalised
// when the last Comm it returned is destroyed. kUnimplemented in a build without MPI.
StatusOr<std::unique_ptr<Comm>> make_mpi_comm();

}  // namespace chakong::sim

#endif  // CHAKONG_SIM_COMM_H_
