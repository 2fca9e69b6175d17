#define BOOST_TEST_MODULE linear_pressure_system
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "deepnum/core/error.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "linear_test_support.hpp"

using namespace deepnum::linear;
using linear_test::dense;

namespace {

// Entries are small integers (times 1/h^2): exact in floating point.
constexpr double kExact = 0.0;
// Round-off in sums over a few hundred unknowns.
constexpr double kRoundOff = 1e-12;

FlagGrid grid_from_rows(int dimension,
                        std::array<int, 3> cells,
                        double spacing,
                        const std::vector<int>& codes) {
  return flag_grid_from_codes(
      dimension, cells, spacing, std::vector<std::int32_t>(codes.begin(), codes.end()));
}

// 2D, x to the right, rows listed from y = 0 up (B boundary, S solid, F fluid, A air):
//   y = 2:  A F B A
//   y = 1:  F S F F
//   y = 0:  F F F S
FlagGrid two_dimensional_grid(double spacing = 1.0) {
  return grid_from_rows(2, {4, 3, 1}, spacing, {2, 2, 2, 1, 2, 1, 2, 2, 3, 2, 0, 3});
}

// 3D, 3 x 2 x 2, layers z = 0 then z = 1, each row y = 0 then y = 1:
//   z = 0:  y = 0: F F S   y = 1: F S F
//   z = 1:  y = 0: A F S   y = 1: S S F
FlagGrid three_dimensional_grid() {
  return grid_from_rows(3, {3, 2, 2}, 1.0, {2, 2, 1, 2, 1, 2, 3, 2, 1, 1, 1, 2});
}

void check_matrix_equals(const SparseMatrix& actual, const Eigen::MatrixXd& expected) {
  BOOST_TEST_REQUIRE(actual.rows() == expected.rows());
  BOOST_TEST_REQUIRE(actual.cols() == expected.cols());
  const Eigen::MatrixXd got = dense(actual);
  for (Eigen::Index i = 0; i < expected.rows(); ++i) {
    for (Eigen::Index j = 0; j < expected.cols(); ++j) {
      BOOST_TEST_CONTEXT("entry (" << i << ", " << j << ")") {
        BOOST_TEST(std::abs(got(i, j) - expected(i, j)) <= kExact);
      }
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(two_dimensional_stencil_matches_the_hand_built_matrix) {
  const PressureSystem pressure = assemble_pressure_system(two_dimensional_grid());
  // Unknowns are the fluid cells 0, 1, 2, 4, 6, 7, 9 in cell order. Worked out by hand:
  // walls and solids drop out, air adds to the diagonal, fluid gives -1 and +1.
  Eigen::MatrixXd expected(7, 7);
  expected << 2, -1, 0, -1, 0, 0, 0,  //
      -1, 2, -1, 0, 0, 0, 0,          //
      0, -1, 2, 0, -1, 0, 0,          //
      -1, 0, 0, 2, 0, 0, 0,           // cell 4: fluid below, air above
      0, 0, -1, 0, 2, -1, 0,          // cell 6: boundary above, solid left
      0, 0, 0, 0, -1, 2, 0,           // cell 7: air above, outside right
      0, 0, 0, 0, 0, 0, 1;            // cell 9: only air at its left counts
  check_matrix_equals(pressure.system.matrix, expected);
  BOOST_TEST(pressure.cell_of_unknown == std::vector<std::int64_t>({0, 1, 2, 4, 6, 7, 9}));
  BOOST_TEST(pressure.component_count == 2);
  BOOST_TEST(pressure.component_has_air == std::vector<bool>({true, true}));
  BOOST_TEST(pressure.system.null_space.empty());
}

BOOST_AUTO_TEST_CASE(three_dimensional_stencil_matches_the_hand_built_matrix) {
  const PressureSystem pressure = assemble_pressure_system(three_dimensional_grid());
  // Unknowns: cells 0, 1, 3, 5, 7, 11. Cells 5 and 11 form a sealed column.
  Eigen::MatrixXd expected(6, 6);
  expected << 3, -1, -1, 0, 0, 0,  // cell 0: air above
      -1, 2, 0, 0, -1, 0,          //
      -1, 0, 1, 0, 0, 0,           //
      0, 0, 0, 1, 0, -1,           //
      0, -1, 0, 0, 2, 0,           // cell 7: air at -x
      0, 0, 0, -1, 0, 1;           //
  check_matrix_equals(pressure.system.matrix, expected);
  BOOST_TEST(pressure.component_of_unknown == std::vector<int>({0, 0, 0, 1, 0, 1}));
  BOOST_TEST_REQUIRE(pressure.system.null_space.size() == 1u);
  const Vector& n = pressure.system.null_space[0];
  const double half = 1.0 / std::sqrt(2.0);
  Vector expected_null(6);
  expected_null << 0, 0, 0, half, 0, half;
  BOOST_TEST((n - expected_null).norm() <= kRoundOff);
}

BOOST_AUTO_TEST_CASE(scaling_by_spacing_divides_every_entry_by_h_squared) {
  const double h = 0.25;
  const PressureSystem unscaled = assemble_pressure_system(two_dimensional_grid(h));
  AssemblyOptions options;
  options.scale_by_spacing = true;
  const PressureSystem scaled = assemble_pressure_system(two_dimensional_grid(h), options);
  check_matrix_equals(scaled.system.matrix, dense(unscaled.system.matrix) / (h * h));
}

BOOST_AUTO_TEST_CASE(assembled_matrices_are_symmetric_with_sorted_rows) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      const FlagGrid grid = linear_test::random_grid(seed, 3, {7, 6, 5}, 0.7, 0.05);
      const SparseMatrix& A = assemble_pressure_system(grid).system.matrix;
      const SparseMatrix transposed = A.transpose();
      BOOST_TEST((dense(A) - dense(transposed)).cwiseAbs().maxCoeff() <= kExact);
      bool sorted = true;
      for (int row = 0; row < A.rows(); ++row) {
        for (int k = A.outerIndexPtr()[row] + 1; k < A.outerIndexPtr()[row + 1]; ++k) {
          sorted = sorted && A.innerIndexPtr()[k - 1] < A.innerIndexPtr()[k];
        }
      }
      BOOST_TEST(sorted);
    }
  }
}

BOOST_AUTO_TEST_CASE(two_sealed_components_give_two_orthonormal_constant_null_vectors) {
  // A 5 x 4 x 3 box of fluid split by a solid plane at x = 2: no air anywhere.
  FlagGrid grid(3, {5, 4, 3}, 1.0);
  for (int z = 0; z < 3; ++z) {
    for (int y = 0; y < 4; ++y) grid(2, y, z) = CellFlag::kSolid;
  }
  const PressureSystem pressure = assemble_pressure_system(grid);
  const LinearSystem& system = pressure.system;
  BOOST_TEST(pressure.component_count == 2);
  BOOST_TEST_REQUIRE(system.null_space.size() == 2u);
  for (std::size_t j = 0; j < 2; ++j) {
    BOOST_TEST_CONTEXT("null vector " << j) {
      BOOST_TEST(linear_test::apply(system.matrix, system.null_space[j]).norm() <= kRoundOff);
      BOOST_TEST(std::abs(system.null_space[j].norm() - 1.0) <= kRoundOff);
      // 2 x 4 x 3 = 24 cells on each side of the plane.
      const double value = 1.0 / std::sqrt(24.0);
      for (Eigen::Index i = 0; i < system.null_space[j].size(); ++i) {
        const double entry = system.null_space[j][i];
        BOOST_TEST((std::abs(entry) <= kExact || std::abs(entry - value) <= kRoundOff));
      }
    }
  }
  BOOST_TEST(std::abs(system.null_space[0].dot(system.null_space[1])) <= kExact);
  BOOST_TEST(linear_test::nullity(system.matrix) == 2);
}

BOOST_AUTO_TEST_CASE(a_component_touching_air_has_no_null_vector) {
  FlagGrid grid(3, {5, 4, 3}, 1.0);
  for (int z = 0; z < 3; ++z) {
    for (int y = 0; y < 4; ++y) grid(2, y, z) = CellFlag::kSolid;
  }
  grid(4, 3, 2) = CellFlag::kAir;  // opens the right-hand component
  const PressureSystem pressure = assemble_pressure_system(grid);
  BOOST_TEST(pressure.component_has_air == std::vector<bool>({false, true}));
  BOOST_TEST(pressure.system.null_space.size() == 1u);
  BOOST_TEST(linear_test::nullity(pressure.system.matrix) == 1);
}

BOOST_AUTO_TEST_CASE(null_space_size_equals_the_eigenvalue_nullity_on_random_grids) {
  for (unsigned seed = 10; seed < 20; ++seed) {
    BOOST_TEST_CONTEXT("seed " << seed) {
      const FlagGrid grid = linear_test::random_grid(
          seed,
          seed % 2 ? 2 : 3,
          seed % 2 ? std::array<int, 3>{12, 10, 1} : std::array<int, 3>{6, 5, 4},
          0.6,
          0.02);
      const PressureSystem pressure = assemble_pressure_system(grid);
      const auto& system = pressure.system;
      BOOST_TEST(static_cast<int>(system.null_space.size()) == linear_test::nullity(system.matrix));
      for (const Vector& n : system.null_space)
        BOOST_TEST(linear_test::apply(system.matrix, n).norm() <= kRoundOff);
    }
  }
}

BOOST_AUTO_TEST_CASE(constant_null_space_of_the_matrix_alone_matches_the_assembled_one) {
  const FlagGrid grid = linear_test::random_grid(3, 3, {6, 6, 6}, 0.65, 0.01);
  const PressureSystem pressure = assemble_pressure_system(grid);
  const std::vector<Vector> found = constant_null_space(pressure.system.matrix);
  BOOST_TEST_REQUIRE(found.size() == pressure.system.null_space.size());
  for (std::size_t j = 0; j < found.size(); ++j) {
    BOOST_TEST((found[j] - pressure.system.null_space[j]).norm() <= kRoundOff);
  }
}

BOOST_AUTO_TEST_CASE(constant_null_space_refuses_more_vectors_than_its_cap) {
  // Every empty row is a component of its own that annihilates constants.
  const SparseMatrix empty(kMaxConstantNullVectors + 1, kMaxConstantNullVectors + 1);
  try {
    constant_null_space(empty);
    BOOST_FAIL("more null vectors than the cap accepted");
  } catch (const deepnum::InvalidArgumentError& error) {
    const std::string expected = std::to_string(kMaxConstantNullVectors + 1) + " null vectors";
    BOOST_TEST(std::string(error.what()).find(expected) != std::string::npos, error.what());
  }
}

BOOST_AUTO_TEST_CASE(gather_and_scatter_touch_fluid_cells_only) {
  const FlagGrid grid = two_dimensional_grid();
  const PressureSystem pressure = assemble_pressure_system(grid);
  std::vector<double> field(static_cast<std::size_t>(grid.cell_count()));
  for (std::size_t cell = 0; cell < field.size(); ++cell) field[cell] = 100.0 + cell;
  const Vector gathered = pressure.gather(field.data());
  Vector expected(7);
  expected << 100, 101, 102, 104, 106, 107, 109;
  BOOST_TEST((gathered - expected).norm() <= kExact);

  std::vector<double> target(field.size(), -1.0);
  pressure.scatter(gathered, target.data());
  for (std::size_t cell = 0; cell < target.size(); ++cell) {
    BOOST_TEST_CONTEXT("cell " << cell) {
      const bool fluid = grid[static_cast<std::int64_t>(cell)] == CellFlag::kFluid;
      BOOST_TEST(target[cell] == (fluid ? field[cell] : -1.0));
    }
  }
  BOOST_CHECK_THROW(pressure.scatter(Vector::Zero(3), target.data()),
                    deepnum::InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(project_onto_range_removes_and_reports_the_null_space_part) {
  FlagGrid grid(2, {6, 5, 1}, 1.0);  // all fluid, walls all round: one null vector
  const PressureSystem pressure = assemble_pressure_system(grid);
  const LinearSystem& system = pressure.system;
  Vector range_part = system.matrix * linear_test::random_vector(7, 30);
  Vector b = range_part + 3.0 * system.null_space[0];
  const double norm_before = b.norm();
  const RhsProjection projection = project_onto_range(system, b);
  BOOST_TEST(std::abs(projection.removed_norm - 3.0) <= kRoundOff);
  BOOST_TEST(std::abs(projection.relative_inconsistency - 3.0 / norm_before) <= kRoundOff);
  BOOST_TEST((b - range_part).norm() <= kRoundOff * range_part.norm());
}

BOOST_AUTO_TEST_CASE(project_onto_range_rejects_nan_and_wrong_sizes) {
  const PressureSystem pressure = assemble_pressure_system(FlagGrid(2, {3, 3, 1}, 1.0));
  Vector b = Vector::Ones(9);
  b[4] = std::numeric_limits<double>::quiet_NaN();
  try {
    project_onto_range(pressure.system, b);
    BOOST_FAIL("NaN accepted");
  } catch (const deepnum::InvalidArgumentError& error) {
    BOOST_TEST(std::string(error.what()).find("b[4]") != std::string::npos);
  }
  Vector short_b = Vector::Ones(8);
  BOOST_CHECK_THROW(project_onto_range(pressure.system, short_b), deepnum::InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(a_grid_without_fluid_is_rejected) {
  FlagGrid grid(3, {3, 3, 3}, 1.0, CellFlag::kSolid);
  try {
    assemble_pressure_system(grid);
    BOOST_FAIL("a grid without fluid was assembled");
  } catch (const deepnum::InvalidArgumentError& error) {
    BOOST_TEST(std::string(error.what()).find("no fluid cell") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(an_unknown_flag_code_is_rejected_with_its_value_and_cell) {
  std::vector<std::int8_t> codes(12, 2);
  codes[7] = 5;  // x = 3, y = 1 in a 4 x 3 grid
  try {
    flag_grid_from_codes(2, {4, 3, 1}, 1.0, codes);
    BOOST_FAIL("code 5 accepted");
  } catch (const deepnum::InvalidArgumentError& error) {
    const std::string message = error.what();
    BOOST_TEST(message.find("code 5 at cell 7 (x = 3, y = 1, z = 0)") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(a_code_count_different_from_the_grid_is_rejected) {
  const std::vector<std::int32_t> codes(11, 2);
  BOOST_CHECK_THROW(flag_grid_from_codes(2, {4, 3, 1}, 1.0, codes), deepnum::InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(invalid_grid_shapes_and_spacings_are_rejected) {
  BOOST_CHECK_THROW(FlagGrid(2, {4, 3, 2}, 1.0), deepnum::InvalidArgumentError);
  BOOST_CHECK_THROW(FlagGrid(3, {4, 0, 2}, 1.0), deepnum::InvalidArgumentError);
  BOOST_CHECK_THROW(FlagGrid(3, {4, 3, 2}, 0.0), deepnum::InvalidArgumentError);
  BOOST_CHECK_THROW(FlagGrid(4, {4, 3, 2}, 1.0), deepnum::InvalidArgumentError);
}
