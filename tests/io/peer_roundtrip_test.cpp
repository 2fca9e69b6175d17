// Round trips between deepnum::io and h5py/scipy: DeepNum writes and the peer asserts
// values and numpy dtypes, or the peer writes and DeepNum reads. Values on both sides
// come from the closed forms in io_test_support.hpp / h5py_peer.py, compared exactly
// (every value is computed by the same IEEE operations in both languages).
#define BOOST_TEST_MODULE io_peer_roundtrip
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <tuple>

#include "deepnum/io/attributes.hpp"
#include "deepnum/io/dataset.hpp"
#include "deepnum/io/eigen.hpp"
#include "deepnum/io/file.hpp"
#include "deepnum/io/grid.hpp"
#include "deepnum/io/sparse.hpp"
#include "io_test_support.hpp"

namespace io = deepnum::io;
using io_test::element;

namespace {

using AllElementTypes =
    std::tuple<std::int8_t, std::uint8_t, std::int32_t, std::int64_t, float, double>;

template <class T>
io::RowMajorMatrix<T> test_matrix(int rows = io_test::kMatrixRows,
                                  int cols = io_test::kMatrixCols) {
  io::RowMajorMatrix<T> matrix(rows, cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) matrix(i, j) = element<T>(i, j);
  return matrix;
}

template <class T>
io::Vector<T> test_vector() {
  io::Vector<T> vector(io_test::kVectorLength);
  for (int i = 0; i < io_test::kVectorLength; ++i) vector(i) = element<T>(i, 0);
  return vector;
}

template <class Function>
void for_each_element_type(Function&& function) {
  std::apply([&](auto... types) { (function(types), ...); }, AllElementTypes{});
}

// The test grids of h5py_peer.py.
io::GridGeometry grid_3d() {
  io::GridGeometry geometry;
  geometry.dimension = 3;
  geometry.cells = {4, 3, 2};
  geometry.spacing = {0.5, 0.25, 2.0};
  geometry.origin = {1.0, -2.0, 0.5};
  return geometry;
}

io::GridGeometry grid_2d() {
  io::GridGeometry geometry;
  geometry.dimension = 2;
  geometry.cells = {5, 3, 1};
  geometry.spacing = {0.1, 0.2, 1.0};
  geometry.origin = {0.0, 1.0, 0.0};
  return geometry;
}

struct GridValues {
  std::vector<double> scalar;
  std::vector<std::int8_t> flags;
  std::vector<float> vector;
};

// Fields in memory order x + nx (y + ny z), vector components fastest.
GridValues grid_values(const io::GridGeometry& geometry) {
  GridValues values;
  const auto [nx, ny, nz] = geometry.cells;
  for (int z = 0; z < nz; ++z)
    for (int y = 0; y < ny; ++y)
      for (int x = 0; x < nx; ++x) {
        values.scalar.push_back(io_test::grid_scalar(x, y, z));
        values.flags.push_back(io_test::grid_flag(x, y, z));
        const int coordinates[3] = {x, y, z};
        for (int c = 0; c < 3; ++c) {
          values.vector.push_back(c < geometry.dimension ? io_test::grid_vector(coordinates[c], c)
                                                         : 0.0f);
        }
      }
  return values;
}

void write_grid(io::File& file, const std::string& group, const io::GridGeometry& geometry) {
  const GridValues values = grid_values(geometry);
  io::write_grid_field(file, group, "pressure", values.scalar.data(), geometry);
  io::write_grid_field(file, group, "flags", values.flags.data(), geometry);
  io::write_grid_vector_field(file, group, "velocity", values.vector.data(), geometry);
}

io::CsrMatrix<double, std::int32_t> test_csr() {
  Eigen::MatrixXd dense(6, 8);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 8; ++j) dense(i, j) = io_test::csr_value(i, j);
  return dense.sparseView();
}

// Writes a file through fill and asks the peer to verify one section of it.
template <class Fill>
int write_and_verify(const std::string& section, Fill&& fill) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file(section + ".h5");
  io::AtomicFileWriter writer(path);
  fill(writer.file());
  writer.commit();
  return io_test::run_peer("verify " + section + " " + path);
}

// Has the peer write one section, then hands the open file to check.
template <class Check>
void peer_write_and_read(const std::string& section, Check&& check) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file(section + ".h5");
  BOOST_REQUIRE_EQUAL(io_test::run_peer("write " + section + " " + path), 0);
  const io::File file = io::File::open_read(path);
  check(file);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(deepnum_writes_h5py_reads)

BOOST_AUTO_TEST_CASE(matrices_and_vectors_of_every_dtype_match_numpy) {
  const int status = write_and_verify("matrices", [](io::File& file) {
    for_each_element_type([&](auto type) {
      using T = decltype(type);
      const std::string name = io::to_string(io::dtype_of<T>());
      io::write_matrix(file, "matrix/" + name, test_matrix<T>());
      io::write_vector(file, "vector/" + name, test_vector<T>());
    });
    const Eigen::MatrixXd column_major = test_matrix<double>();
    io::write_matrix(file, "matrix/float64_from_column_major", column_major);
  });
  BOOST_TEST(status == 0);
}

BOOST_AUTO_TEST_CASE(nd_arrays_and_scalars_match_numpy) {
  const int status = write_and_verify("arrays", [](io::File& file) {
    const auto values = io_test::nd_array_values();
    io::write_dataset(file, "arrays/nd", values.data(), {2, 3, 4, 5});
    io::write_attribute(file, "arrays/nd", "unit", "m/s");
    const double scalar = 2.5;
    io::write_dataset(file, "arrays/scalar_float64", &scalar, {});
    const std::int64_t integer = -7;
    io::write_dataset(file, "/arrays//scalar_int64", &integer, {});
  });
  BOOST_TEST(status == 0);
}

BOOST_AUTO_TEST_CASE(large_dataset_is_chunked_and_gzip_compressed_for_h5py) {
  const int status = write_and_verify("big", [](io::File& file) {
    std::vector<double> values;
    for (int i = 0; i < io_test::kBigRows; ++i)
      for (int j = 0; j < io_test::kBigCols; ++j) values.push_back(io_test::big_value(i, j));
    io::write_dataset(file, "big/values", values.data(), {io_test::kBigRows, io_test::kBigCols});
    const io::DatasetInfo info = io::dataset_info(file, "big/values");
    BOOST_TEST(info.chunked);
    BOOST_TEST(info.gzip);
  });
  BOOST_TEST(status == 0);
}

BOOST_AUTO_TEST_CASE(numbers_strings_and_vectors_as_attributes_match_numpy) {
  const int status = write_and_verify("attributes", [](io::File& file) {
    io::write_attribute(file, "/", "alpha", 1.5);
    io::write_attribute(file, "/", "count", std::int64_t{-42});
    io::write_attribute(file, "/", "name", "grid \u2713 \u00fcn\u00efcode");
    io::write_attribute(file, "/", "fixed", "abc", io::StringStorage::kFixedLength);
    io::write_attribute(file, "/", "weights", std::vector<double>{0.5, -1.25, 3.0});
    io::write_attribute(file, "/", "ids", std::vector<std::int64_t>{1, -2, 3000000000});
    io::write_attribute(file, "deep/group", "answer", 42);
    const double unused = 0.0;
    io::write_dataset(file, "arrays/nd", &unused, {1});
    io::write_attribute(file, "arrays/nd", "unit", "m/s");
  });
  BOOST_TEST(status == 0);
}

BOOST_AUTO_TEST_CASE(csr_groups_match_scipy_toarray) {
  const int status = write_and_verify("csr", [](io::File& file) {
    io::write_csr(file, "csr_f64_i32", test_csr());
    const io::CsrMatrix<float, std::int64_t> single = test_csr().cast<float>();
    io::write_csr(file, "csr_f32_i64", single);
    io::write_csr(file, "csr_empty", io::CsrMatrix<double, std::int32_t>(4, 3));
  });
  BOOST_TEST(status == 0);
}

BOOST_AUTO_TEST_CASE(grid_fields_and_geometry_match_numpy_axis_order) {
  const int status = write_and_verify("grid", [](io::File& file) {
    write_grid(file, "grid3d", grid_3d());
    write_grid(file, "grid2d", grid_2d());
  });
  BOOST_TEST(status == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(h5py_writes_deepnum_reads)

BOOST_AUTO_TEST_CASE(h5py_matrices_and_vectors_read_back_exactly) {
  peer_write_and_read("matrices", [](const io::File& file) {
    for_each_element_type([&](auto type) {
      using T = decltype(type);
      const std::string name = io::to_string(io::dtype_of<T>());
      BOOST_TEST_CONTEXT("dtype " << name) {
        BOOST_TEST((io::read_matrix<T>(file, "matrix/" + name) == test_matrix<T>()));
        BOOST_TEST((io::read_vector<T>(file, "vector/" + name) == test_vector<T>()));
      }
    });
    BOOST_TEST((io::read_matrix<double>(file, "matrix/float64_fortran") == test_matrix<double>()));
  });
}

BOOST_AUTO_TEST_CASE(h5py_nd_arrays_and_scalars_read_back_exactly) {
  peer_write_and_read("arrays", [](const io::File& file) {
    const auto nd = io::read_dataset<double>(file, "arrays/nd");
    BOOST_TEST(nd.shape == (io::Shape{2, 3, 4, 5}), boost::test_tools::per_element());
    BOOST_TEST(nd.values == io_test::nd_array_values(), boost::test_tools::per_element());

    const auto scalar = io::read_dataset<double>(file, "arrays/scalar_float64");
    BOOST_TEST(scalar.shape.empty());
    BOOST_TEST(scalar.values == std::vector<double>{2.5}, boost::test_tools::per_element());
    const auto integer = io::read_dataset<std::int64_t>(file, "arrays/scalar_int64");
    BOOST_TEST(integer.values == std::vector<std::int64_t>{-7}, boost::test_tools::per_element());
  });
}

BOOST_AUTO_TEST_CASE(h5py_big_endian_and_int16_data_convert_on_request) {
  peer_write_and_read("arrays", [](const io::File& file) {
    // Byte order is a storage detail: a big-endian float64 is a float64.
    BOOST_TEST((io::read_matrix<double>(file, "arrays/big_endian") == test_matrix<double>()));
    const auto converted = io::read_dataset_as<std::int32_t>(file, "arrays/int16");
    BOOST_TEST(converted.values == (std::vector<std::int32_t>{0, 1, 2, 3, 4, 5}),
               boost::test_tools::per_element());
  });
}

BOOST_AUTO_TEST_CASE(h5py_gzip_dataset_reads_whole_and_by_slab) {
  peer_write_and_read("big", [](const io::File& file) {
    const io::DatasetInfo info = io::dataset_info(file, "big/values");
    BOOST_TEST(info.gzip);
    const auto whole = io::read_dataset<double>(file, "big/values");
    BOOST_REQUIRE_EQUAL(whole.values.size(), std::size_t{io_test::kBigRows * io_test::kBigCols});
    std::size_t mismatches = 0;
    for (int i = 0; i < io_test::kBigRows; ++i)
      for (int j = 0; j < io_test::kBigCols; ++j)
        mismatches += whole.values[static_cast<std::size_t>(i * io_test::kBigCols + j)] !=
                      io_test::big_value(i, j);
    BOOST_TEST(mismatches == 0u);

    // A block crossing chunk boundaries (chunks are 100 x 75).
    const auto slab = io::read_slab<double>(file, "big/values", {95, 70}, {10, 20});
    BOOST_TEST(slab.shape == (io::Shape{10, 20}), boost::test_tools::per_element());
    for (int i = 0; i < 10; ++i)
      for (int j = 0; j < 20; ++j) BOOST_TEST_CONTEXT("slab element (" << i << ", " << j << ")") {
          BOOST_TEST(slab.values[static_cast<std::size_t>(i * 20 + j)] ==
                     io_test::big_value(95 + i, 70 + j));
        }
  });
}

BOOST_AUTO_TEST_CASE(h5py_attributes_read_back_with_their_types) {
  peer_write_and_read("attributes", [](const io::File& file) {
    BOOST_TEST(io::read_attribute<double>(file, "/", "alpha") == 1.5);
    BOOST_TEST(io::read_attribute<std::int64_t>(file, "/", "count") == -42);
    BOOST_TEST(io::read_attribute<std::string>(file, "/", "name") ==
               "grid \u2713 \u00fcn\u00efcode");
    BOOST_TEST(io::read_attribute<std::string>(file, "/", "fixed") == "abc");
    BOOST_TEST(io::read_attribute<std::vector<double>>(file, "/", "weights") ==
                   (std::vector<double>{0.5, -1.25, 3.0}),
               boost::test_tools::per_element());
    BOOST_TEST(io::read_attribute<std::vector<std::int64_t>>(file, "/", "ids") ==
                   (std::vector<std::int64_t>{1, -2, 3000000000}),
               boost::test_tools::per_element());
    BOOST_TEST(io::read_attribute<int>(file, "/", "small_int") == 5);
    BOOST_TEST(io::read_attribute<double>(file, "/", "integer_for_double") == 3.0);
    BOOST_TEST(io::read_attribute<std::vector<double>>(file, "/", "float_list") ==
                   (std::vector<double>{1.0, 2.0}),
               boost::test_tools::per_element());
    BOOST_TEST(io::read_attribute<std::int64_t>(file, "deep/group", "answer") == 42);
    BOOST_TEST(io::has_attribute(file, "/", "alpha"));
    BOOST_TEST(!io::has_attribute(file, "/", "beta"));
    BOOST_TEST(!io::has_attribute(file, "/missing", "alpha"));
  });
}

BOOST_AUTO_TEST_CASE(scipy_csr_groups_with_int32_or_int64_indices_read_back) {
  peer_write_and_read("csr", [](const io::File& file) {
    const Eigen::MatrixXd expected = Eigen::MatrixXd(test_csr());
    for (const std::string group : {"csr_i32", "csr_i64"}) {
      BOOST_TEST_CONTEXT("group " << group) {
        const auto narrow = io::read_csr<double, std::int32_t>(file, group);
        const auto wide = io::read_csr<float, std::int64_t>(file, group);
        BOOST_TEST((Eigen::MatrixXd(narrow) == expected));
        BOOST_TEST((Eigen::MatrixXf(wide) == expected.cast<float>()));
        BOOST_TEST(narrow.nonZeros() == test_csr().nonZeros());
      }
    }
  });
}

BOOST_AUTO_TEST_CASE(scipy_csr_with_unsorted_and_repeated_columns_sums_like_toarray) {
  peer_write_and_read("csr", [](const io::File& file) {
    // data [2, 1, 0.5, 0.25, 3], indices [3, 0, 3, 1, 2], indptr [0, 3, 3, 5].
    Eigen::MatrixXd expected = Eigen::MatrixXd::Zero(3, 4);
    expected(0, 3) = 2.5;
    expected(0, 0) = 1.0;
    expected(2, 1) = 0.25;
    expected(2, 2) = 3.0;
    const auto matrix = io::read_csr<double, std::int32_t>(file, "csr_unsorted");
    BOOST_TEST((Eigen::MatrixXd(matrix) == expected));
  });
}

BOOST_AUTO_TEST_CASE(h5py_grid_reads_back_with_geometry_fields_and_slabs) {
  peer_write_and_read("grid", [](const io::File& file) {
    for (const auto& [group, geometry] : {std::pair{std::string("grid3d"), grid_3d()},
                                          std::pair{std::string("grid2d"), grid_2d()}}) {
      BOOST_TEST_CONTEXT("group " << group) {
        const io::GridGeometry read = io::read_grid_geometry(file, group);
        BOOST_TEST(read.dimension == geometry.dimension);
        BOOST_TEST(read.cells == geometry.cells, boost::test_tools::per_element());
        BOOST_TEST(read.spacing == geometry.spacing, boost::test_tools::per_element());
        BOOST_TEST(read.origin == geometry.origin, boost::test_tools::per_element());
        const GridValues expected = grid_values(geometry);
        BOOST_TEST(io::read_grid_field<double>(file, group, "pressure") == expected.scalar,
                   boost::test_tools::per_element());
        BOOST_TEST(io::read_grid_field<std::int8_t>(file, group, "flags") == expected.flags,
                   boost::test_tools::per_element());
        BOOST_TEST(io::read_grid_vector_field<float>(file, group, "velocity") == expected.vector,
                   boost::test_tools::per_element());
      }
    }
    // One z-plane, rows y = 1..2, all x: slab offset (1, 1, 0), count (1, 2, 4).
    const auto plane = io::read_slab<double>(file, "grid3d/pressure", {1, 1, 0}, {1, 2, 4});
    for (int y = 0; y < 2; ++y)
      for (int x = 0; x < 4; ++x)
        BOOST_TEST(plane.values[static_cast<std::size_t>(x + 4 * y)] ==
                   io_test::grid_scalar(x, 1 + y, 1));
  });
}

BOOST_AUTO_TEST_SUITE_END()
