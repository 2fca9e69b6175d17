#define BOOST_TEST_MODULE linear_system_io
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "deepnum/core/error.hpp"
#include "deepnum/io/dataset.hpp"
#include "deepnum/io/eigen.hpp"
#include "deepnum/io/errors.hpp"
#include "deepnum/io/file.hpp"
#include "deepnum/io/sparse.hpp"
#include "deepnum/linear/conjugate_gradient.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "deepnum/linear/system_io.hpp"
#include "linear_test_support.hpp"

using namespace deepnum::linear;
namespace fs = std::filesystem;

namespace {

constexpr int kSize = 12;

// The system system_io_peer.py writes, rebuilt here from the same formula.
SparseMatrix reference_matrix() {
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(kSize, kSize);
  for (int i = 0; i < kSize; ++i) {
    A(i, i) = 4 + i / 8.0;
    if (i + 1 < kSize) A(i, i + 1) = A(i + 1, i) = -1 - i / 64.0;
    if (i + 5 < kSize) A(i, i + 5) = A(i + 5, i) = 0.25 * (i + 1);
  }
  return A.sparseView();
}

Vector reference_rhs() {
  Vector b(kSize);
  for (int i = 0; i < kSize; ++i) b[i] = 1.0 / (i + 1) - i / 4.0;
  return b;
}

// 17 significant digits in text and binary formats alike: exact round trips.
constexpr double kExact = 0.0;

double max_difference(const SparseMatrix& a, const SparseMatrix& b) {
  return (linear_test::dense(a) - linear_test::dense(b)).cwiseAbs().maxCoeff();
}

fs::path fresh_folder(const std::string& name) {
  const fs::path folder = fs::current_path() / "system_io_files" / name;
  fs::remove_all(folder);
  fs::create_directories(folder);
  return folder;
}

int run_peer(const std::string& command, const fs::path& folder) {
  const std::string line = std::string(DEEPNUM_PYTHON) + " " + DEEPNUM_SOURCE_DIR +
                           "/tests/linear/system_io_peer.py " + command + " " + folder.string();
  return std::system(line.c_str());
}

// The files scipy, h5py and petsc4py wrote, made once.
const fs::path& peer_files() {
  static const fs::path folder = [] {
    const fs::path created = fresh_folder("peer");
    BOOST_TEST_REQUIRE(run_peer("write", created) == 0);
    return created;
  }();
  return folder;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream stream(path);
  stream << text;
}

}  // namespace

BOOST_AUTO_TEST_CASE(matrix_market_files_from_scipy_read_as_the_reference) {
  for (const std::string name : {"general.mtx", "symmetric.mtx"}) {
    BOOST_TEST_CONTEXT(name) {
      const SparseMatrix A = read_matrix_market((peer_files() / name).string());
      BOOST_TEST(max_difference(A, reference_matrix()) <= kExact);
    }
  }
  const Vector b = read_matrix_market_vector((peer_files() / "rhs.mtx").string());
  BOOST_TEST((b - reference_rhs()).cwiseAbs().maxCoeff() <= kExact);
}

BOOST_AUTO_TEST_CASE(an_hdf5_file_from_h5py_reads_as_the_reference) {
  const ImportedSystem imported = read_system_hdf5((peer_files() / "system.h5").string());
  BOOST_TEST(max_difference(imported.system.matrix, reference_matrix()) <= kExact);
  // The rhs was stored as float32: each value is the reference rounded to float.
  BOOST_TEST_REQUIRE(imported.rhs.size() == kSize);
  const Vector b = reference_rhs();
  for (int i = 0; i < kSize; ++i) {
    BOOST_TEST(imported.rhs[i] == static_cast<double>(static_cast<float>(b[i])));
  }
  BOOST_TEST(imported.system.null_space.empty());  // diagonally dominant rows
}

BOOST_AUTO_TEST_CASE(a_petsc_binary_file_from_petsc4py_reads_as_the_reference) {
  const ImportedSystem imported = read_petsc_binary((peer_files() / "system.petsc").string());
  BOOST_TEST(max_difference(imported.system.matrix, reference_matrix()) <= kExact);
  BOOST_TEST_REQUIRE(imported.rhs.size() == kSize);
  BOOST_TEST((imported.rhs - reference_rhs()).cwiseAbs().maxCoeff() <= kExact);
}

BOOST_AUTO_TEST_CASE(files_written_here_read_back_in_scipy_h5py_and_petsc4py) {
  const fs::path folder = fresh_folder("written");
  LinearSystem system{reference_matrix(), {Vector::Constant(kSize, 1.0 / std::sqrt(12.0))}};
  write_system_hdf5((folder / "cpp_system.h5").string(), system, reference_rhs());
  write_matrix_market((folder / "cpp_matrix.mtx").string(), system.matrix);
  write_matrix_market_vector((folder / "cpp_rhs.mtx").string(), reference_rhs());
  write_petsc_binary((folder / "cpp_system.petsc").string(), system.matrix, reference_rhs());
  BOOST_TEST(run_peer("check", folder) == 0);
}

BOOST_AUTO_TEST_CASE(a_pressure_system_round_trips_through_every_format) {
  const fs::path folder = fresh_folder("round_trip");
  const PressureSystem pressure = assemble_pressure_system(FlagGrid(3, {5, 4, 3}, 1.0));
  const LinearSystem& system = pressure.system;
  const Vector b = linear_test::random_vector(1, pressure.unknown_count());

  write_system_hdf5((folder / "p.h5").string(), system, b);
  write_matrix_market((folder / "p.mtx").string(), system.matrix);
  write_matrix_market_vector((folder / "b.mtx").string(), b);
  write_petsc_binary((folder / "p.petsc").string(), system.matrix, b);
  const std::vector<ImportedSystem> imported{
      read_system_hdf5((folder / "p.h5").string()),
      read_matrix_market_system((folder / "p.mtx").string(), (folder / "b.mtx").string()),
      read_petsc_binary((folder / "p.petsc").string())};
  for (std::size_t k = 0; k < imported.size(); ++k) {
    BOOST_TEST_CONTEXT("format " << k) {
      BOOST_TEST(max_difference(imported[k].system.matrix, system.matrix) <= kExact);
      BOOST_TEST((imported[k].rhs - b).cwiseAbs().maxCoeff() <= kExact);
      // Stored (HDF5) or detected (the others): the all-Neumann box's constant vector.
      BOOST_TEST_REQUIRE(imported[k].system.null_space.size() == 1u);
      BOOST_TEST((imported[k].system.null_space[0] - system.null_space[0]).norm() <= 1e-15);
    }
  }
}

BOOST_AUTO_TEST_CASE(malformed_matrix_market_files_name_the_line_and_the_problem) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::string banner = "%%MatrixMarket matrix coordinate real general\n";
  const std::vector<Case> cases{
      {"", "empty file"},
      {"%%MatrixMarket matrix coordinate complex general\n2 2 1\n1 1 1 0\n", "field 'complex'"},
      {"%%MatrixMarket matrix coordinate real hermitian\n2 2 1\n1 1 1\n", "symmetry 'hermitian'"},
      {banner + "2 2\n", "line 2: expected the size line"},
      {banner + "% comment\n2 2 2\n1 1 1.0\n", "ends after 1 of the 2 entries"},
      {banner + "2 2 1\n3 1 1.0\n", "line 3: entry (3, 1) lies outside the 2 x 2 matrix"},
      {banner + "2 2 1\n1 x 1.0\n", "line 3: column index 'x' is not an integer"},
      {banner + "2 2 1\n1 1 abc\n", "value 'abc' is not a real number"},
      {banner + "2 2 1\n1 1 nan\n", "value 'nan' is not finite"},
      {banner + "2 2 1\n1 1 1.0 5\n", "got 4 fields"},
      {banner + "2 2 1\n1 1 1.0\n2 2 1.0\n", "unexpected data after the 1 entries"},
      {"%%MatrixMarket matrix coordinate real symmetric\n2 2 1\n1 2 1.0\n",
       "entry (1, 2) is above the diagonal"},
      {banner + "2 2 1\n1 1 0x10\n", "value '0x10' is not a real number"},
  };
  const fs::path folder = fresh_folder("malformed");
  for (std::size_t k = 0; k < cases.size(); ++k) {
    BOOST_TEST_CONTEXT("case " << k << ": " << cases[k].expected) {
      const fs::path file = folder / ("case" + std::to_string(k) + ".mtx");
      write_text(file, cases[k].text);
      try {
        read_matrix_market(file.string());
        BOOST_FAIL("malformed file accepted");
      } catch (const deepnum::IoError& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find(cases[k].expected) != std::string::npos, message);
        BOOST_TEST(message.find(file.string()) != std::string::npos, message);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_truncated_petsc_binary_file_is_rejected_with_the_offset) {
  const fs::path folder = fresh_folder("truncated");
  const fs::path file = folder / "system.petsc";
  write_petsc_binary(file.string(), reference_matrix(), reference_rhs());
  fs::resize_file(file, fs::file_size(file) - 20);
  try {
    read_petsc_binary(file.string());
    BOOST_FAIL("truncated file accepted");
  } catch (const deepnum::IoError& error) {
    // The Vec header promises 12 values (96 bytes); 76 are left.
    BOOST_TEST(
        std::string(error.what()).find("the Vec header claims 12 entries") != std::string::npos,
        error.what());
    BOOST_TEST(std::string(error.what()).find("76 of them left") != std::string::npos,
               error.what());
  }
  write_text(folder / "not_petsc.bin", "this is not a PETSc file at all");
  BOOST_CHECK_THROW(read_petsc_binary((folder / "not_petsc.bin").string()), deepnum::IoError);
}

BOOST_AUTO_TEST_CASE(a_petsc_header_claiming_more_data_than_the_file_holds_is_rejected) {
  // Each file holds a few dozen bytes; its header announces hundreds of megabytes or more.
  // The reader must compare the two before allocating.
  struct Case {
    std::vector<std::int32_t> words;
    std::string claim;
  };
  const std::vector<Case> cases{
      {{1211216, 3, 3, 2000000000, 1, 1, 1}, "2000000000 nonzeros"},
      {{1211216, 100000000, 100000000, 0}, "100000000 rows"},
      {{1211216, 1, 1, 1, 1, 0, 0, 0, 1211214, 2000000000}, "2000000000 entries"},
  };
  const fs::path folder = fresh_folder("huge_header");
  for (std::size_t k = 0; k < cases.size(); ++k) {
    BOOST_TEST_CONTEXT("case " << k << ": " << cases[k].claim) {
      const fs::path file = folder / ("case" + std::to_string(k) + ".petsc");
      {
        std::ofstream stream(file, std::ios::binary);
        for (std::int32_t word : cases[k].words) {
          const unsigned char bytes[4] = {static_cast<unsigned char>((word >> 24) & 0xff),
                                          static_cast<unsigned char>((word >> 16) & 0xff),
                                          static_cast<unsigned char>((word >> 8) & 0xff),
                                          static_cast<unsigned char>(word & 0xff)};
          stream.write(reinterpret_cast<const char*>(bytes), 4);
        }
      }
      const std::string size = std::to_string(fs::file_size(file)) + " bytes";
      try {
        read_petsc_binary(file.string());
        BOOST_FAIL("header accepted");
      } catch (const deepnum::IoError& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find(file.string()) != std::string::npos, message);
        BOOST_TEST(message.find(cases[k].claim) != std::string::npos, message);
        BOOST_TEST(message.find(size) != std::string::npos, message);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(non_square_matrices_are_rejected_by_every_reader_naming_file_and_shape) {
  const fs::path folder = fresh_folder("non_square");
  SparseMatrix A(3, 4);
  A.insert(0, 0) = 1.0;
  A.insert(2, 3) = 2.0;
  A.makeCompressed();
  write_matrix_market((folder / "a.mtx").string(), A);
  write_petsc_binary((folder / "a.petsc").string(), A);
  const std::vector<std::pair<std::string, std::function<void(const std::string&)>>> readers{
      {"a.mtx", [](const std::string& path) { read_matrix_market_system(path); }},
      {"a.petsc", [](const std::string& path) { read_petsc_binary(path); }},
  };
  for (const auto& [name, read] : readers) {
    BOOST_TEST_CONTEXT(name) {
      const std::string path = (folder / name).string();
      try {
        read(path);
        BOOST_FAIL("non-square matrix accepted");
      } catch (const deepnum::IoError& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find(path) != std::string::npos, message);
        BOOST_TEST(message.find("3 x 4") != std::string::npos, message);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(a_non_square_hdf5_matrix_is_a_shape_mismatch_naming_file_and_dataset) {
  const fs::path folder = fresh_folder("non_square_hdf5");
  const std::string path = (folder / "system.h5").string();
  SparseMatrix A(5, 6);
  A.insert(0, 0) = 1.0;
  A.insert(4, 5) = 2.0;
  A.makeCompressed();
  {
    deepnum::io::AtomicFileWriter writer(path);
    deepnum::io::write_csr(writer.file(), "/A", A);
    writer.commit();
  }
  try {
    read_system_hdf5(path);
    BOOST_FAIL("5 x 6 matrix accepted");
  } catch (const deepnum::io::ShapeMismatchError& error) {
    const std::string message = error.what();
    BOOST_TEST(message.find(path) != std::string::npos, message);
    BOOST_TEST(message.find("'/A'") != std::string::npos, message);
    BOOST_TEST(message.find("5 x 6") != std::string::npos, message);
  }
}

BOOST_AUTO_TEST_CASE(a_matrix_of_empty_rows_is_refused_before_one_vector_per_row_is_built) {
  // 2000 empty rows would each be a sealed component with its own dense null vector.
  const fs::path folder = fresh_folder("empty_rows");
  const fs::path file = folder / "empty.mtx";
  write_text(file, "%%MatrixMarket matrix coordinate real general\n2000 2000 1\n1 1 1.0\n");
  try {
    read_matrix_market_system(file.string());
    BOOST_FAIL("1999 null vectors accepted");
  } catch (const deepnum::InvalidArgumentError& error) {
    const std::string message = error.what();
    BOOST_TEST(message.find(file.string()) != std::string::npos, message);
    BOOST_TEST(message.find("1999 null vectors") != std::string::npos, message);
  }
}

BOOST_AUTO_TEST_CASE(a_directory_given_as_a_file_is_rejected_as_a_directory) {
  const fs::path folder = fresh_folder("directory.mtx");
  const std::vector<std::pair<std::string, std::function<void(const std::string&)>>> readers{
      {"matrix market", [](const std::string& path) { read_matrix_market(path); }},
      {"matrix market vector", [](const std::string& path) { read_matrix_market_vector(path); }},
      {"petsc binary", [](const std::string& path) { read_petsc_binary(path); }},
  };
  for (const auto& [name, read] : readers) {
    BOOST_TEST_CONTEXT(name) {
      try {
        read(folder.string());
        BOOST_FAIL("directory accepted");
      } catch (const deepnum::IoError& error) {
        const std::string message = error.what();
        BOOST_TEST(message.find(folder.string() + "' is a directory") != std::string::npos,
                   message);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(an_hdf5_rhs_of_the_wrong_length_is_a_shape_mismatch) {
  const fs::path folder = fresh_folder("wrong_rhs");
  const std::string path = (folder / "system.h5").string();
  {
    deepnum::io::AtomicFileWriter writer(path);
    deepnum::io::write_csr(writer.file(), "/A", reference_matrix());
    deepnum::io::write_vector(writer.file(), "/b", Vector::Ones(kSize - 1));
    writer.commit();
  }
  try {
    read_system_hdf5(path);
    BOOST_FAIL("short rhs accepted");
  } catch (const deepnum::io::ShapeMismatchError& error) {
    BOOST_TEST(std::string(error.what()).find("(11,)") != std::string::npos, error.what());
  }
}

BOOST_AUTO_TEST_CASE(missing_files_are_io_errors) {
  BOOST_CHECK_THROW(read_system_hdf5("/nonexistent/system.h5"), deepnum::io::FileNotFoundError);
  BOOST_CHECK_THROW(read_matrix_market("/nonexistent/a.mtx"), deepnum::IoError);
  BOOST_CHECK_THROW(read_petsc_binary("/nonexistent/a.petsc"), deepnum::IoError);
}

BOOST_AUTO_TEST_CASE(an_imported_neumann_system_solves_with_its_detected_null_space) {
  const fs::path folder = fresh_folder("neumann");
  const PressureSystem pressure = assemble_pressure_system(FlagGrid(2, {9, 7, 1}, 1.0));
  write_matrix_market((folder / "a.mtx").string(), pressure.system.matrix);
  const ImportedSystem imported = read_matrix_market_system((folder / "a.mtx").string());
  BOOST_TEST_REQUIRE(imported.system.null_space.size() == 1u);
  Vector b = linear_test::random_vector(2, pressure.unknown_count());
  project_onto_range(imported.system, b);
  ConjugateGradientSolver solver;
  solver.setup(imported.system);
  Vector x = Vector::Zero(b.size());
  BOOST_TEST(solver.solve(b, x, SolveOptions{}).converged());
}
