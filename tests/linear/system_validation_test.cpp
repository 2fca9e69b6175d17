#define BOOST_TEST_MODULE linear_system_validation
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "deepnum/core/error.hpp"
#include "deepnum/linear/iteration_control.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "deepnum/linear/solver_factory.hpp"
#include "linear_test_support.hpp"

using namespace deepnum::linear;

namespace {

// The solvers that need no PETSc session; the PETSc ones are checked in their own suite.
const std::vector<std::string> kEigenSolvers{"cg", "icpcg"};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The 1D Laplacian tridiag(-1, 2, -1) of size n (Dirichlet at both ends: nonsingular).
SparseMatrix laplacian_1d(int n) {
  SparseMatrix A(n, n);
  A.reserve(Eigen::VectorXi::Constant(n, 3));
  for (int i = 0; i < n; ++i) {
    if (i > 0) A.insert(i, i - 1) = -1.0;
    A.insert(i, i) = 2.0;
    if (i + 1 < n) A.insert(i, i + 1) = -1.0;
  }
  A.makeCompressed();
  return A;
}

// The 1D Neumann Laplacian (rows sum to zero) with its unit constant null vector.
LinearSystem neumann_1d(int n) {
  LinearSystem system{laplacian_1d(n), {Vector::Constant(n, 1.0 / std::sqrt(n))}};
  system.matrix.coeffRef(0, 0) = 1.0;
  system.matrix.coeffRef(n - 1, n - 1) = 1.0;
  return system;
}

// The message setup() throws for `system`, after checking it is an InvalidArgumentError.
std::string setup_error(const std::string& solver_name, const LinearSystem& system) {
  auto solver = make_solver(solver_name);
  try {
    solver->setup(system);
  } catch (const deepnum::InvalidArgumentError& error) {
    return error.what();
  }
  BOOST_FAIL("setup() accepted the system");
  return {};
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_numerically_asymmetric_matrix_is_rejected_at_setup_naming_the_pair) {
  LinearSystem system{laplacian_1d(8), {}};
  system.matrix.coeffRef(0, 1) = -3.0;  // A(1, 0) stays -1
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      const std::string message = setup_error(name, system);
      BOOST_TEST(contains(message, "not symmetric"), message);
      BOOST_TEST(contains(message, "A(0, 1) = -3"), message);
      BOOST_TEST(contains(message, "A(1, 0) = -1"), message);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_structurally_asymmetric_matrix_is_rejected_at_setup_naming_the_pair) {
  LinearSystem system{laplacian_1d(8), {}};
  system.matrix.coeffRef(5, 2) = -0.5;  // A(2, 5) is not stored
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      const std::string message = setup_error(name, system);
      BOOST_TEST(contains(message, "A(2, 5) = 0 (not stored)"), message);
      BOOST_TEST(contains(message, "A(5, 2) = -0.5"), message);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_asymmetric_matrix_with_unsorted_rows_is_rejected_naming_the_pair) {
  // Raw CSR of the 3 x 3 Laplacian with A(0, 1) = -3, each row's columns in reverse order.
  std::vector<int> offsets{0, 2, 5, 7};
  std::vector<int> columns{1, 0, 2, 1, 0, 2, 1};
  std::vector<double> values{-3, 2, -1, 2, -1, 2, -1};
  const LinearSystem system{
      Eigen::Map<const SparseMatrix>(3, 3, 7, offsets.data(), columns.data(), values.data()), {}};
  BOOST_TEST_REQUIRE(system.matrix.innerIndexPtr()[0] == 1);  // the copy kept the order
  try {
    validate_system("test", system);
    BOOST_FAIL("asymmetric matrix accepted");
  } catch (const deepnum::InvalidArgumentError& error) {
    BOOST_TEST(contains(error.what(), "A(0, 1) = -3 but A(1, 0) = -1"), error.what());
  }
}

BOOST_AUTO_TEST_CASE(entries_equal_to_round_off_pass_the_symmetry_check) {
  // A(0, 1) and A(1, 0) differ in the last bit: well inside kSymmetryTolerance.
  LinearSystem system{laplacian_1d(8), {}};
  system.matrix.coeffRef(0, 1) = std::nextafter(-1.0, 0.0);
  BOOST_CHECK_NO_THROW(validate_system("test", system));
}

BOOST_AUTO_TEST_CASE(a_non_square_matrix_is_rejected_at_setup_with_its_shape) {
  LinearSystem system{SparseMatrix(3, 4), {}};
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      const std::string message = setup_error(name, system);
      BOOST_TEST(contains(message, "must be square, got 3 x 4"), message);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_non_finite_matrix_entry_is_rejected_at_setup_naming_it) {
  LinearSystem system{laplacian_1d(8), {}};
  system.matrix.coeffRef(3, 4) = std::numeric_limits<double>::quiet_NaN();
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      const std::string message = setup_error(name, system);
      BOOST_TEST(contains(message, "A(3, 4) = nan is not finite"), message);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_null_vector_that_is_not_unit_norm_is_rejected_naming_its_norm) {
  LinearSystem system = neumann_1d(16);
  system.null_space[0] = Vector::Ones(16);  // norm 4
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      const std::string message = setup_error(name, system);
      BOOST_TEST(contains(message, "null-space vector 0 has norm 4"), message);
    }
  }
}

BOOST_AUTO_TEST_CASE(null_vectors_that_are_not_orthogonal_are_rejected_naming_the_pair) {
  // Two sealed halves; the second vector is made to overlap the first.
  LinearSystem system = neumann_1d(16);
  system.matrix.coeffRef(7, 8) = 0.0;
  system.matrix.coeffRef(8, 7) = 0.0;
  system.matrix.coeffRef(7, 7) = 1.0;
  system.matrix.coeffRef(8, 8) = 1.0;
  Vector left = Vector::Zero(16);
  left.head(8).setConstant(1.0 / std::sqrt(8.0));
  const Vector all = Vector::Constant(16, 0.25);  // n_0^T n_1 = 8 / sqrt(8) / 4 = 0.7071
  system.null_space = {left, all};
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      const std::string message = setup_error(name, system);
      BOOST_TEST(contains(message, "null-space vectors 0 and 1"), message);
      BOOST_TEST(contains(message, "0.7071"), message);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_null_vector_outside_the_null_space_is_rejected_naming_its_residual) {
  // The Dirichlet Laplacian is nonsingular: its constant vector gives A v = (1, 0, ..., 1)/4.
  LinearSystem system{laplacian_1d(16), {Vector::Constant(16, 0.25)}};
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      const std::string message = setup_error(name, system);
      BOOST_TEST(contains(message, "null-space vector 0"), message);
      BOOST_TEST(contains(message, "||A v||_inf = 0.25"), message);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_null_vector_of_the_wrong_size_is_rejected_at_setup) {
  LinearSystem system = neumann_1d(16);
  system.null_space[0] = Vector::Constant(15, 1.0 / std::sqrt(15.0));
  for (const auto& name : kEigenSolvers) {
    BOOST_TEST_CONTEXT(name) {
      const std::string message = setup_error(name, system);
      BOOST_TEST(contains(message, "null-space vector 0 has 15 entries, the matrix has 16 rows"),
                 message);
    }
  }
}

BOOST_AUTO_TEST_CASE(assembled_pressure_systems_pass_every_check) {
  for (unsigned seed = 40; seed < 44; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      const PressureSystem pressure =
          assemble_pressure_system(linear_test::random_grid(seed, 3, {12, 10, 8}, 0.7, 0.02));
      BOOST_CHECK_NO_THROW(validate_system("test", pressure.system));
    }
  }
}
