// Failures of deepnum::io: each throws its documented type, and the message names the
// file, the object path and the expected and actual dtype, rank or shape.
#define BOOST_TEST_MODULE io_errors
#include <boost/test/unit_test.hpp>

#include <cstdio>

#include "deepnum/io/attributes.hpp"
#include "deepnum/io/dataset.hpp"
#include "deepnum/io/eigen.hpp"
#include "deepnum/io/file.hpp"
#include "deepnum/io/grid.hpp"
#include "deepnum/io/sparse.hpp"
#include "hdf5_support.hpp"
#include "io_test_support.hpp"

namespace io = deepnum::io;
using io_test::contains;
using io_test::message_of;

namespace {

// A file with a float64 matrix "/data/m" (3 x 4), a float64 vector "/data/v" (5) and an
// int64 dataset "/data/wide" holding 300; returns its path.
std::string write_sample(const io_test::ScratchFolder& folder) {
  const std::string path = folder.file("sample.h5");
  io::AtomicFileWriter writer(path);
  io::write_matrix(writer.file(), "data/m", Eigen::MatrixXd::Constant(3, 4, 1.5));
  io::write_vector(writer.file(), "data/v", Eigen::VectorXd::LinSpaced(5, 0.0, 1.0));
  const std::int64_t wide = 300;
  io::write_dataset(writer.file(), "data/wide", &wide, {});
  io::write_attribute(writer.file(), "data/m", "scale", 2.5);
  io::write_attribute(writer.file(), "data/m", "label", "pressure");
  writer.commit();
  return path;
}

}  // namespace

BOOST_AUTO_TEST_CASE(missing_file_throws_file_not_found_naming_the_path) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("absent.h5");
  BOOST_CHECK_THROW(io::File::open_read(path), io::FileNotFoundError);
  const auto message = message_of<io::FileNotFoundError>([&] { io::File::open_read(path); });
  BOOST_TEST(contains(message, path));
}

BOOST_AUTO_TEST_CASE(non_hdf5_file_throws_corrupt_file_error) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("notes.h5");
  io_test::write_bytes(path, "this is a text file, not HDF5\n");
  BOOST_CHECK_THROW(io::File::open_read(path), io::CorruptFileError);
  const auto message = message_of<io::CorruptFileError>([&] { io::File::open_read(path); });
  BOOST_TEST(contains(message, path));
  BOOST_TEST(contains(message, "not an HDF5 file"));
}

BOOST_AUTO_TEST_CASE(truncated_hdf5_file_throws_corrupt_file_error) {
  io_test::ScratchFolder folder;
  const std::string bytes = io_test::read_bytes(write_sample(folder));
  const std::string path = folder.file("truncated.h5");
  io_test::write_bytes(path, bytes.substr(0, bytes.size() / 2));
  BOOST_CHECK_THROW(io::File::open_read(path), io::CorruptFileError);
  const auto message = message_of<io::CorruptFileError>([&] { io::File::open_read(path); });
  BOOST_TEST(contains(message, path));
  BOOST_TEST(contains(message, "truncated"));
}

BOOST_AUTO_TEST_CASE(missing_dataset_throws_object_not_found_naming_file_path_and_siblings) {
  io_test::ScratchFolder folder;
  const io::File file = io::File::open_read(write_sample(folder));
  BOOST_CHECK_THROW(io::read_dataset<double>(file, "data/missing"), io::ObjectNotFoundError);
  const auto message =
      message_of<io::ObjectNotFoundError>([&] { io::read_dataset<double>(file, "data/missing"); });
  BOOST_TEST(contains(message, file.path()));
  BOOST_TEST(contains(message, "'/data/missing'"));
  BOOST_TEST(contains(message, "'m', 'v', 'wide'"));
}

BOOST_AUTO_TEST_CASE(missing_group_on_the_way_throws_object_not_found) {
  io_test::ScratchFolder folder;
  const io::File file = io::File::open_read(write_sample(folder));
  BOOST_TEST(!file.exists("no/such/dataset"));
  BOOST_CHECK_THROW(io::dataset_info(file, "no/such/dataset"), io::ObjectNotFoundError);
  BOOST_CHECK_THROW(file.list("data/m"), io::ObjectNotFoundError);
}

BOOST_AUTO_TEST_CASE(wrong_dtype_throws_dtype_mismatch_naming_both_dtypes) {
  io_test::ScratchFolder folder;
  const io::File file = io::File::open_read(write_sample(folder));
  BOOST_CHECK_THROW(io::read_matrix<float>(file, "data/m"), io::DtypeMismatchError);
  const auto message =
      message_of<io::DtypeMismatchError>([&] { io::read_matrix<float>(file, "data/m"); });
  BOOST_TEST(contains(message, file.path()));
  BOOST_TEST(contains(message, "'/data/m'"));
  BOOST_TEST(contains(message, "expected dtype float32, found float64"));
}

BOOST_AUTO_TEST_CASE(wrong_rank_throws_shape_mismatch_naming_both_ranks) {
  io_test::ScratchFolder folder;
  const io::File file = io::File::open_read(write_sample(folder));
  BOOST_CHECK_THROW(io::read_matrix<double>(file, "data/v"), io::ShapeMismatchError);
  const auto message =
      message_of<io::ShapeMismatchError>([&] { io::read_matrix<double>(file, "data/v"); });
  BOOST_TEST(contains(message, file.path()));
  BOOST_TEST(contains(message, "'/data/v'"));
  BOOST_TEST(contains(message, "expected rank 2 (matrix), found rank 1 with shape (5,)"));
}

BOOST_AUTO_TEST_CASE(wrong_shape_throws_shape_mismatch_naming_both_shapes) {
  io_test::ScratchFolder folder;
  const io::File file = io::File::open_read(write_sample(folder));
  std::vector<double> out(12);
  const auto read = [&] {
    io::read_dataset_raw(file, "data/m", io::Dtype::kFloat64, out.data(), {4, 3});
  };
  BOOST_CHECK_THROW(read(), io::ShapeMismatchError);
  const auto message = message_of<io::ShapeMismatchError>(read);
  BOOST_TEST(contains(message, file.path()));
  BOOST_TEST(contains(message, "expected shape (4, 3) (rank 2), found (3, 4) (rank 2)"));
}

BOOST_AUTO_TEST_CASE(grid_field_not_matching_the_geometry_names_both) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("grid.h5");
  io::GridGeometry geometry;
  geometry.cells = {4, 3, 2};
  {
    io::AtomicFileWriter writer(path);
    io::write_grid_geometry(writer.file(), "frame", geometry);
    const std::vector<double> values(24, 0.0);
    io::write_dataset(writer.file(), "frame/pressure", values.data(), {4, 3, 2});
    writer.commit();
  }
  const io::File file = io::File::open_read(path);
  const auto read = [&] { io::read_grid_field<double>(file, "frame", "pressure"); };
  BOOST_CHECK_THROW(read(), io::ShapeMismatchError);
  const auto message = message_of<io::ShapeMismatchError>(read);
  BOOST_TEST(contains(message, "'/frame/pressure'"));
  BOOST_TEST(contains(message, "expected shape (2, 3, 4)"));
  BOOST_TEST(contains(message, "found (4, 3, 2)"));
}

BOOST_AUTO_TEST_CASE(field_on_another_grid_than_its_group_is_refused_naming_both) {
  io_test::ScratchFolder folder;
  io::AtomicFileWriter writer(folder.file("grid.h5"));
  io::GridGeometry geometry;
  geometry.cells = {4, 3, 2};
  const std::vector<double> values(24, 0.0);
  io::write_grid_field(writer.file(), "frame", "pressure", values.data(), geometry);
  io::GridGeometry other = geometry;
  other.cells = {2, 3, 4};
  const auto write = [&] {
    io::write_grid_field(writer.file(), "frame", "density", values.data(), other);
  };
  BOOST_CHECK_THROW(write(), io::ShapeMismatchError);
  const auto message = message_of<io::ShapeMismatchError>(write);
  BOOST_TEST(contains(message, "'/frame'"));
  BOOST_TEST(contains(message, "holds a 3D grid of 4 x 3 x 2 cells"));
  BOOST_TEST(contains(message, "on a 3D grid of 2 x 3 x 4 cells"));
  BOOST_TEST(!writer.file().exists("frame/density"));
}

BOOST_AUTO_TEST_CASE(slab_outside_the_dataset_throws_shape_mismatch_with_the_bounds) {
  io_test::ScratchFolder folder;
  const io::File file = io::File::open_read(write_sample(folder));
  const auto read = [&] { io::read_slab<double>(file, "data/m", {1, 2}, {2, 3}); };
  BOOST_CHECK_THROW(read(), io::ShapeMismatchError);
  const auto message = message_of<io::ShapeMismatchError>(read);
  BOOST_TEST(contains(message, "shape (3, 4)"));
  BOOST_TEST(contains(message, "dimension 1 needs 2 + 3 <= 4"));
  BOOST_CHECK_THROW(io::read_slab<double>(file, "data/m", {0}, {1}), io::ShapeMismatchError);
}

BOOST_AUTO_TEST_CASE(value_that_does_not_fit_the_requested_type_is_refused) {
  io_test::ScratchFolder folder;
  const io::File file = io::File::open_read(write_sample(folder));
  const auto read = [&] { io::read_dataset_as<std::int8_t>(file, "data/wide"); };
  BOOST_CHECK_THROW(read(), io::DtypeMismatchError);
  BOOST_TEST(contains(message_of<io::DtypeMismatchError>(read), "int8"));
  BOOST_TEST(io::read_dataset_as<std::int32_t>(file, "data/wide").values.front() == 300);
}

BOOST_AUTO_TEST_CASE(attribute_errors_name_object_attribute_and_types) {
  io_test::ScratchFolder folder;
  const io::File file = io::File::open_read(write_sample(folder));
  const auto missing = message_of<io::ObjectNotFoundError>(
      [&] { io::read_attribute<double>(file, "data/m", "offset"); });
  BOOST_TEST(contains(missing, "attribute 'offset' of '/data/m'"));
  BOOST_TEST(contains(missing, "'label', 'scale'"));
  const auto float_as_integer = message_of<io::DtypeMismatchError>(
      [&] { io::read_attribute<std::int64_t>(file, "data/m", "scale"); });
  BOOST_TEST(contains(float_as_integer, "expected an int64 scalar, found float64"));
  const auto string_as_number = message_of<io::DtypeMismatchError>(
      [&] { io::read_attribute<double>(file, "data/m", "label"); });
  BOOST_TEST(contains(string_as_number, "variable-length string"));
  BOOST_CHECK_THROW(io::read_attribute<double>(file, "data/nothing", "scale"),
                    io::ObjectNotFoundError);
}

BOOST_AUTO_TEST_CASE(broken_csr_structures_are_rejected_with_the_rule_they_break) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("csr.h5");
  {
    io::AtomicFileWriter writer(path);
    const auto write_group = [&](const std::string& group,
                                 std::vector<std::int32_t> indptr,
                                 std::vector<std::int32_t> indices) {
      const std::vector<double> data(indices.size(), 1.0);
      io::write_dataset(writer.file(), group + "/data", data.data(), {data.size()});
      io::write_dataset(writer.file(), group + "/indices", indices.data(), {indices.size()});
      io::write_dataset(writer.file(), group + "/indptr", indptr.data(), {indptr.size()});
      io::write_attribute(writer.file(), group, "shape", std::vector<std::int64_t>{3, 4});
    };
    write_group("decreasing", {0, 2, 1, 3}, {0, 1, 2});
    write_group("out_of_range", {0, 1, 2, 3}, {0, 5, 1});
    write_group("short_indptr", {0, 1, 3}, {0, 1, 2});
    writer.commit();
  }
  const io::File file = io::File::open_read(path);
  const auto decreasing = message_of<io::CorruptFileError>(
      [&] { io::read_csr<double, std::int32_t>(file, "decreasing"); });
  BOOST_TEST(contains(decreasing, "indptr decreases at row 1"));
  const auto out_of_range = message_of<io::CorruptFileError>(
      [&] { io::read_csr<double, std::int32_t>(file, "out_of_range"); });
  BOOST_TEST(contains(out_of_range, "indices[1] = 5 (row 1) lies outside [0, 4)"));
  const auto short_indptr = message_of<io::ShapeMismatchError>(
      [&] { io::read_csr<double, std::int32_t>(file, "short_indptr"); });
  BOOST_TEST(contains(short_indptr,
                      "'indptr' must have rows + 1 entries, i.e. shape (4,), "
                      "found (3,)"));
  BOOST_TEST(contains(short_indptr, file.path()));
}

// A rank-1 dataset of an HDF5 type the layer has no Dtype for, through the C API.
void write_foreign_vector(io::File& file, const std::string& path, hid_t type, hsize_t length) {
  const std::vector<std::uint64_t> zeros(length, 0);  // 0 in every integer type
  const hid_t space = H5Screate_simple(1, &length, nullptr);
  const hid_t dataset =
      H5Dcreate2(file.id(), path.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  BOOST_REQUIRE(dataset >= 0);
  BOOST_REQUIRE(H5Dwrite(dataset, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, zeros.data()) >=
                0);
  H5Dclose(dataset);
  H5Sclose(space);
}

BOOST_AUTO_TEST_CASE(csr_index_arrays_of_another_integer_type_name_the_accepted_types) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("csr_types.h5");
  {
    io::AtomicFileWriter writer(path);
    const std::vector<double> data{1.0, 2.0};
    const std::vector<std::int32_t> indptr{0, 1, 2};
    const std::vector<std::int32_t> indices{0, 0};
    for (const std::string group : {"uint64_indices", "int16_indptr"}) {
      io::write_dataset(writer.file(), group + "/data", data.data(), {2});
      io::write_attribute(writer.file(), group, "shape", std::vector<std::int64_t>{2, 2});
    }
    io::write_dataset(writer.file(), "uint64_indices/indptr", indptr.data(), {3});
    write_foreign_vector(writer.file(), "/uint64_indices/indices", H5T_STD_U64LE, 2);
    write_foreign_vector(writer.file(), "/int16_indptr/indptr", H5T_STD_I16LE, 3);
    io::write_dataset(writer.file(), "int16_indptr/indices", indices.data(), {2});
    writer.commit();
  }
  const io::File file = io::File::open_read(path);
  const auto uint64_indices = message_of<io::DtypeMismatchError>(
      [&] { io::read_csr<double, std::int32_t>(file, "uint64_indices"); });
  BOOST_TEST(contains(uint64_indices, "'indices' must be int32 or int64, found uint64"),
             uint64_indices);
  BOOST_TEST(!contains(uint64_indices, "expected one of"), uint64_indices);
  const auto int16_indptr = message_of<io::DtypeMismatchError>(
      [&] { io::read_csr<double, std::int32_t>(file, "int16_indptr"); });
  BOOST_TEST(contains(int16_indptr, "'indptr' must be int32 or int64, found int16"), int16_indptr);
  BOOST_TEST(contains(int16_indptr, path), int16_indptr);
}

BOOST_AUTO_TEST_CASE(existing_dataset_is_replaced_only_when_asked) {
  io_test::ScratchFolder folder;
  io::AtomicFileWriter writer(folder.file("replace.h5"));
  const double first = 1.0;
  const double second = 2.0;
  io::write_dataset(writer.file(), "x", &first, {});
  BOOST_CHECK_THROW(io::write_dataset(writer.file(), "x", &second, {}), io::HdfError);
  io::WriteOptions options;
  options.replace_existing = true;
  io::write_dataset(writer.file(), "x", &second, {}, options);
  BOOST_TEST(io::read_dataset<double>(writer.file(), "x").values.front() == 2.0);
}

BOOST_AUTO_TEST_CASE(read_only_file_refuses_writes) {
  io_test::ScratchFolder folder;
  io::File file = io::File::open_read(write_sample(folder));
  const double value = 1.0;
  BOOST_CHECK_THROW(io::write_dataset(file, "y", &value, {}), deepnum::InvalidArgumentError);
  BOOST_CHECK_THROW(io::write_attribute(file, "/", "a", 1.0), deepnum::InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(invalid_write_options_throw_option_error_naming_the_field) {
  io::WriteOptions options;
  options.gzip_level = 12;
  const auto message = message_of<deepnum::OptionError>([&] { options.validate(); });
  BOOST_TEST(message == "WriteOptions.gzip_level = 12 is invalid: must be in [1, 9]");
}

BOOST_AUTO_TEST_CASE(hdf5_prints_nothing_when_a_call_fails) {
  io_test::ScratchFolder folder;
  const std::string sample = write_sample(folder);
  const std::string captured = folder.file("stderr.txt");
  const std::string not_hdf5 = folder.file("plain.txt");
  io_test::write_bytes(not_hdf5, "plain text");

  // Route file descriptor 2 into a file while failing calls run, then restore it.
  std::fflush(stderr);
  const int saved = ::dup(2);
  const int sink = ::open(captured.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ::dup2(sink, 2);
  const auto swallow = [](auto&& action) {
    try {
      action();
    } catch (const io::HdfError&) {
    }
  };
  swallow([&] { io::File::open_read(not_hdf5); });
  const io::File file = io::File::open_read(sample);
  swallow([&] { io::read_dataset<double>(file, "nothing/here"); });
  swallow([&] { io::read_attribute<double>(file, "/", "nothing"); });
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(sink);

  BOOST_TEST(io_test::read_bytes(captured).empty());
}

BOOST_AUTO_TEST_CASE(multi_line_hdf5_descriptions_are_folded_into_one_line) {
  const auto lock = io::detail::lock_hdf5();
  const auto push_and_take = [](const char* description) {
    H5Epush2(H5E_DEFAULT,
             __FILE__,
             "H5F_open",
             __LINE__,
             H5E_ERR_CLS,
             H5E_FILE,
             H5E_CANTOPENFILE,
             "%s",
             description);
    return io::detail::take_error_stack();
  };
  // HDF5 1.10 embeds ctime()'s text, newline included, in "unable to open file" reports.
  BOOST_TEST(
      push_and_take("unable to open file: time = Fri Dec  4 16:59:16 2026\n, name = 'x.h5'") ==
      "H5F_open(): unable to open file: time = Fri Dec  4 16:59:16 2026, name = 'x.h5'");
  BOOST_TEST(push_and_take("first line\r\nsecond line\n") == "H5F_open(): first line; second line");
}
