// Files, paths, storage layout and typed datasets within deepnum::io (no peer needed:
// the expected values are the closed forms written, read back exactly).
#define BOOST_TEST_MODULE io_file_dataset
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <memory>
#include <thread>

#include "deepnum/io/attributes.hpp"
#include "deepnum/io/dataset.hpp"
#include "deepnum/io/file.hpp"
#include "io_test_support.hpp"

namespace io = deepnum::io;

namespace {

struct WriterFixture {
  io_test::ScratchFolder folder;
  io::AtomicFileWriter writer{folder.file("data.h5")};
  io::File& file() { return writer.file(); }
};

}  // namespace

BOOST_AUTO_TEST_CASE(dtype_names_and_sizes_follow_numpy) {
  BOOST_TEST(io::to_string(io::Dtype::kInt8) == "int8");
  BOOST_TEST(io::to_string(io::Dtype::kUInt8) == "uint8");
  BOOST_TEST(io::to_string(io::dtype_of<std::int32_t>()) == "int32");
  BOOST_TEST(io::to_string(io::dtype_of<std::int64_t>()) == "int64");
  BOOST_TEST(io::to_string(io::dtype_of<float>()) == "float32");
  BOOST_TEST(io::to_string(io::dtype_of<const double>()) == "float64");
  BOOST_TEST(io::size_of(io::Dtype::kInt32) == 4u);
  BOOST_TEST(io::to_string(io::Shape{}) == "()");
  BOOST_TEST(io::to_string(io::Shape{5}) == "(5,)");
  BOOST_TEST(io::to_string(io::Shape{3, 4}) == "(3, 4)");
  BOOST_TEST(io::element_count(io::Shape{}) == 1u);
  BOOST_TEST(io::element_count(io::Shape{2, 0, 3}) == 0u);
}

BOOST_FIXTURE_TEST_CASE(object_paths_are_normalized_and_intermediate_groups_created,
                        WriterFixture) {
  const double value = 1.0;
  io::write_dataset(file(), "a/b/c", &value, {});
  BOOST_TEST(file().is_group("/a"));
  BOOST_TEST(file().is_group("a//b/"));
  BOOST_TEST(file().is_dataset("/a/b/c"));
  BOOST_TEST(file().exists("a/b/c"));
  BOOST_TEST(!file().exists("a/b/c/d"));  // a dataset has no members
  BOOST_TEST(!file().exists("a/x/c"));
  BOOST_TEST(file().exists("/"));
  BOOST_TEST(file().is_group("/"));
}

BOOST_FIXTURE_TEST_CASE(list_returns_member_names_sorted, WriterFixture) {
  const double value = 1.0;
  for (const std::string name : {"zeta", "alpha", "mid"}) {
    io::write_dataset(file(), "group/" + name, &value, {});
  }
  file().create_groups("group/sub");
  BOOST_TEST(file().list("group") == (std::vector<std::string>{"alpha", "mid", "sub", "zeta"}),
             boost::test_tools::per_element());
  BOOST_TEST(file().list() == std::vector<std::string>{"group"}, boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(small_datasets_are_contiguous_and_large_ones_chunked_with_gzip,
                        WriterFixture) {
  const std::vector<float> values(1 << 16, 0.25f);  // 256 KiB
  io::write_dataset(file(), "small", values.data(), {256, 256});
  io::WriteOptions low_threshold;
  low_threshold.chunk_threshold_bytes = 1 << 10;
  io::write_dataset(file(), "large", values.data(), {256, 256}, low_threshold);
  io::WriteOptions uncompressed = low_threshold;
  uncompressed.compress = false;
  io::write_dataset(file(), "plain", values.data(), {256, 256}, uncompressed);

  const auto small = io::dataset_info(file(), "small");
  const auto large = io::dataset_info(file(), "large");
  const auto plain = io::dataset_info(file(), "plain");
  BOOST_TEST((!small.chunked && !small.gzip));
  BOOST_TEST((large.chunked && large.gzip));
  BOOST_TEST((plain.chunked && !plain.gzip));
  for (const std::string name : {"small", "large", "plain"}) {
    BOOST_TEST_CONTEXT("dataset " << name) {
      BOOST_TEST(io::read_dataset<float>(file(), name).values == values,
                 boost::test_tools::per_element());
    }
  }
}

BOOST_FIXTURE_TEST_CASE(empty_and_scalar_datasets_round_trip, WriterFixture) {
  io::write_dataset<double>(file(), "empty", nullptr, {0, 3});
  const auto empty = io::read_dataset<double>(file(), "empty");
  BOOST_TEST(empty.shape == (io::Shape{0, 3}), boost::test_tools::per_element());
  BOOST_TEST(empty.values.empty());

  io::NdArray<std::uint8_t> scalar{{}, {200}};
  io::write_dataset(file(), "scalar", scalar);
  const auto read = io::read_dataset<std::uint8_t>(file(), "scalar");
  BOOST_TEST(read.shape.empty());
  BOOST_TEST(read.values == std::vector<std::uint8_t>{200}, boost::test_tools::per_element());
  BOOST_TEST(io::read_slab<std::uint8_t>(file(), "scalar", {}, {}).values.front() == 200);
}

BOOST_FIXTURE_TEST_CASE(nd_array_whose_values_do_not_fill_its_shape_is_rejected, WriterFixture) {
  const io::NdArray<double> wrong{{2, 3}, {1.0, 2.0}};
  BOOST_CHECK_THROW(io::write_dataset(file(), "wrong", wrong), deepnum::InvalidArgumentError);
  BOOST_TEST(!file().exists("wrong"));
}

BOOST_FIXTURE_TEST_CASE(conversion_truncates_fractions_and_refuses_nan, WriterFixture) {
  const std::vector<double> values{2.75, -1.5};
  io::write_dataset(file(), "fractions", values.data(), {2});
  BOOST_TEST(io::read_dataset_as<std::int32_t>(file(), "fractions").values ==
                 (std::vector<std::int32_t>{2, -1}),
             boost::test_tools::per_element());
  const double not_a_number = std::numeric_limits<double>::quiet_NaN();
  io::write_dataset(file(), "nan", &not_a_number, {});
  BOOST_CHECK_THROW(io::read_dataset_as<std::int64_t>(file(), "nan"), io::DtypeMismatchError);
  BOOST_TEST(std::isnan(io::read_dataset_as<float>(file(), "nan").values.front()));
}

BOOST_FIXTURE_TEST_CASE(attributes_are_replaced_and_created_on_new_groups, WriterFixture) {
  io::write_attribute(file(), "run/settings", "steps", 10);
  io::write_attribute(file(), "run/settings", "steps", 20);
  BOOST_TEST(file().is_group("run/settings"));
  BOOST_TEST(io::read_attribute<int>(file(), "run/settings", "steps") == 20);
  io::write_attribute(file(), "/", "empty", "", io::StringStorage::kFixedLength);
  BOOST_TEST(io::read_attribute<std::string>(file(), "/", "empty").empty());
  io::write_attribute(file(), "/", "none", std::vector<double>{});
  BOOST_TEST(io::read_attribute<std::vector<double>>(file(), "/", "none").empty());
  BOOST_TEST(io::attribute_names(file(), "/") == (std::vector<std::string>{"empty", "none"}),
             boost::test_tools::per_element());
}

BOOST_FIXTURE_TEST_CASE(integer_attributes_of_any_width_are_stored_as_int64, WriterFixture) {
  io::write_attribute(file(), "/", "count", std::size_t{7});
  io::write_attribute(file(), "/", "big", 5000000000LL);
  io::write_attribute(file(), "/", "small", std::int8_t{-3});
  BOOST_TEST(io::read_attribute<std::int64_t>(file(), "/", "count") == 7);
  BOOST_TEST(io::read_attribute<std::int64_t>(file(), "/", "big") == 5000000000LL);
  BOOST_TEST(io::read_attribute<int>(file(), "/", "small") == -3);
  BOOST_CHECK_THROW(io::read_attribute<int>(file(), "/", "big"), io::DtypeMismatchError);
  BOOST_CHECK_THROW(io::write_attribute(file(), "/", "huge", ~std::uint64_t{0}),
                    deepnum::InvalidArgumentError);
}

BOOST_FIXTURE_TEST_CASE(writes_from_several_threads_are_serialized_safely, WriterFixture) {
  // HDF5 here is not thread-safe by itself; the layer's lock must make this work.
  constexpr int kThreads = 4;
  constexpr int kDatasetsPerThread = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int k = 0; k < kDatasetsPerThread; ++k) {
        const std::vector<std::int32_t> values(100, t * 1000 + k);
        io::write_dataset(file(),
                          "t" + std::to_string(t) + "/d" + std::to_string(k),
                          values.data(),
                          {values.size()});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t)
    for (int k = 0; k < kDatasetsPerThread; ++k)
      BOOST_TEST_CONTEXT("thread " << t << " dataset " << k) {
        const auto read = io::read_dataset<std::int32_t>(
            file(), "t" + std::to_string(t) + "/d" + std::to_string(k));
        BOOST_TEST(read.values == std::vector<std::int32_t>(100, t * 1000 + k),
                   boost::test_tools::per_element());
      }
}

BOOST_AUTO_TEST_CASE(moved_file_keeps_the_handle_and_the_source_is_closed) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("m.h5");
  {
    io::AtomicFileWriter writer(path);
    writer.commit();
  }
  io::File first = io::File::open_read(path);
  const hid_t id = first.id();
  io::File second = std::move(first);
  BOOST_TEST(second.id() == id);
  BOOST_TEST(!first.is_open());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  BOOST_CHECK_THROW(first.list(), deepnum::InvalidArgumentError);
  second.close();
  BOOST_TEST(!second.is_open());
}

BOOST_FIXTURE_TEST_CASE(conversion_refuses_float64_beyond_the_float32_range, WriterFixture) {
  const double huge = 1e300;
  io::write_dataset(file(), "huge", &huge, {});
  BOOST_CHECK_THROW(io::read_dataset_as<float>(file(), "huge"), io::DtypeMismatchError);
  const std::int64_t large = std::int64_t{1} << 40;
  io::write_dataset(file(), "large", &large, {});
  BOOST_CHECK_THROW(io::read_dataset_as<std::int32_t>(file(), "large"), io::DtypeMismatchError);
}

BOOST_AUTO_TEST_CASE(two_read_handles_on_one_file_close_independently) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("shared.h5");
  {
    io::AtomicFileWriter writer(path);
    const double value = 4.5;
    io::write_dataset(writer.file(), "x", &value, {});
    writer.commit();
  }
  auto first = std::make_unique<io::File>(io::File::open_read(path));
  const io::File second = io::File::open_read(path);
  first.reset();
  BOOST_TEST(io::read_dataset<double>(second, "x").values.front() == 4.5);
}

BOOST_AUTO_TEST_CASE(a_program_started_while_a_file_is_open_does_not_keep_its_lock) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("locked.h5");
  {
    io::AtomicFileWriter writer(path);
    const double value = 1.5;
    io::write_dataset(writer.file(), "x", &value, {});
    writer.commit();
  }
  // A child started by fork and exec while the file is open (as MPI_Init starts its daemon)
  // must not inherit the descriptor: HDF5's lock would outlive this process's close.
  auto reader = std::make_unique<io::File>(io::File::open_read(path));
  char sleep_program[] = "/bin/sleep";
  char seconds[] = "30";
  char* arguments[] = {sleep_program, seconds, nullptr};
  pid_t child = 0;
  BOOST_REQUIRE_EQUAL(::posix_spawn(&child, sleep_program, nullptr, nullptr, arguments, environ),
                      0);
  reader.reset();
  bool reopened = false;
  try {
    io::File::open_read_write(path).close();
    reopened = true;
  } catch (const io::HdfError& error) {
    BOOST_TEST_MESSAGE(error.what());
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  BOOST_TEST(reopened);
}
