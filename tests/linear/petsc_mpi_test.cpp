// Runs serially and under `mpirun -n 2`: the PETSc solvers, with the matrix split by row
// blocks over the ranks, must give every rank the answer rank 0 computes on its own with
// a serial direct solve.
#define BOOST_TEST_MODULE linear_petsc_mpi
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include <mpi.h>

#include "deepnum/linear/petsc_session.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "deepnum/linear/solver_factory.hpp"
#include "linear_test_support.hpp"

using namespace deepnum::linear;

namespace {

struct PetscFixture {
  PetscSession session;
};

// The serial reference's round-off, added to the rtol-derived bound.
constexpr double kDirectRoundOff = 1e-13;

// Every rank builds the same grid: a box with air on top, a sphere, and a sealed pocket
// (one null vector), so the row blocks cut through both kinds of component.
FlagGrid mpi_grid() {
  FlagGrid grid = linear_test::box_with_air_top_and_sphere(12);
  for (int z = 1; z <= 4; ++z) {
    for (int y = 1; y <= 4; ++y) {
      for (int x = 1; x <= 4; ++x) {
        const bool shell = x == 1 || y == 1 || z == 1 || x == 4 || y == 4 || z == 4;
        grid(x, y, z) = shell ? CellFlag::kSolid : CellFlag::kFluid;
      }
    }
  }
  return grid;
}

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

}  // namespace

BOOST_GLOBAL_FIXTURE(PetscFixture);

BOOST_AUTO_TEST_CASE(distributed_solves_match_the_serial_reference_on_rank_0) {
  int ranks = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  BOOST_TEST_MESSAGE("ranks: " << ranks);
  const PressureSystem pressure = assemble_pressure_system(mpi_grid());
  const LinearSystem& system = pressure.system;
  BOOST_TEST_REQUIRE(system.null_space.size() == 1u);
  Vector b = linear_test::random_vector(21, pressure.unknown_count());
  project_onto_range(system, b);
  const double rtol = 1e-8;
  // The serial reference, on rank 0 only.
  Vector reference;
  double condition = 0.0;
  if (world_rank() == 0) {
    reference = linear_test::direct_solve(system, b);
    condition = linear_test::condition_number_on_range(system);
  }

  for (const std::string name : {"petsc", "petsc-icc", "petsc-gamg", "petsc-hypre"}) {
    BOOST_TEST_CONTEXT(name << " on " << ranks << " ranks") {
      auto solver = make_solver(name);
      solver->setup(system);
      Vector x = Vector::Zero(b.size());
      SolveOptions options;
      options.rtol = rtol;
      const SolveSummary summary = solver->solve(b, x, options);
      BOOST_TEST_REQUIRE(summary.converged(), summary.message);

      // Every rank holds the whole answer: the same as rank 0's, bit for bit.
      Vector from_rank_0 = x;
      MPI_Bcast(
          from_rank_0.data(), static_cast<int>(from_rank_0.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD);
      BOOST_TEST((x - from_rank_0).norm() == 0.0);

      if (world_rank() == 0) {
        linear_test::remove_null(system, x);
        BOOST_TEST((x - reference).norm() <=
                   condition * (rtol + kDirectRoundOff) * reference.norm());
      }
    }
  }
}
