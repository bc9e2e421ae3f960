// make_mpi_comm(): sim::Comm over MPI_COMM_WORLD (Open MPI from Debian's libopenmpi-dev), and
// the stand-ins of a build without MPI.
#include <cstdlib>

#include "chakong/sim/comm.h"

#ifdef CHAKONG_WITH_MPI
#include <mpi.h>

#include <atomic>
#include <climits>
#endif

namespace chakong::sim {

bool launched_by_mpirun() {
  // Open MPI, MPICH / Hydra and PMIx launchers.
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMI_SIZE") != nullptr ||
         std::getenv("PMIX_RANK") != nullptr;
}

#ifdef CHAKONG_WITH_MPI

namespace {

std::atomic<int> g_live{0};

class MpiComm final : public Comm {
 public:
  MpiComm() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    ++g_live;
  }
  ~MpiComm() override {
    if (--g_live == 0) {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
    }
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allreduce_min(int64_t* values, int n) override {
    MPI_Allreduce(MPI_IN_PLACE, values, n, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD);
  }
  void allreduce_sum(uint64_t* values, int n) override {
    MPI_Allreduce(MPI_IN_PLACE, values, n, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  }
  std::vector<std::string> alltoall(const std::vector<std::string>& out) override {
    const auto n = static_cast<size_t>(size_);
    std::vector<int> send_counts(n), recv_counts(n), send_displs(n), recv_displs(n);
    std::string send;
    for (size_t r = 0; r < n; ++r) {
      send_displs[r] = static_cast<int>(send.size());
      send_counts[r] = static_cast<int>(out[r].size());
      send += out[r];
    }
    MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
    size_t total = 0;
    for (size_t r = 0; r < n; ++r) {
      recv_displs[r] = static_cast<int>(total);
      total += static_cast<size_t>(recv_counts[r]);
    }
    std::string recv(total, '\0');
    MPI_Alltoallv(send.data(), send_counts.data(), send_displs.data(), MPI_BYTE, recv.data(),
                  recv_counts.data(), recv_displs.data(), MPI_BYTE, MPI_COMM_WORLD);
    std::vector<std::string> in(n);
    for (size_t r = 0; r < n; ++r) {
      in[r] = recv.substr(static_cast<size_t>(recv_displs[r]), static_cast<size_t>(recv_counts[r]));
    }
    return in;
  }

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace

bool mpi_available() { return true; }

StatusOr<std::unique_ptr<Comm>> make_mpi_comm() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
      return unavailable_error("MPI_Init_thread failed");
    }
    if (provided < MPI_THREAD_FUNNELED) {
      return unavailable_error("MPI gives thread level " + std::to_string(provided) +
                               ", below MPI_THREAD_FUNNELED");
    }
  }
  return std::unique_ptr<Comm>(new MpiComm());
}

#else

bool mpi_available() { return false; }

StatusOr<std::unique_ptr<Comm>> make_mpi_comm() {
  return unimplemented_error(
      "this chakong was built without MPI (CHAKONG_WITH_MPI off: install libopenmpi-dev with "
      "scripts/setup.sh and rebuild)");
}

#endif

}  // namespace chakong::sim
