// All-or-nothing writes: until AtomicFileWriter::commit() the target keeps its previous
// bytes, whether the writer is abandoned by an exception or its process is killed; targets
// that a rename must not replace (directories, FIFOs, links) are refused up front.
#define BOOST_TEST_MODULE io_atomic_write
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <stdexcept>

#include "deepnum/core/error.hpp"
#include "deepnum/io/dataset.hpp"
#include "deepnum/io/file.hpp"
#include "deepnum/io/output_file.hpp"
#include "io_test_support.hpp"

namespace io = deepnum::io;

namespace {

constexpr std::uint64_t kOldCount = 1000;

// values[i] = generation + 0.5 i: tells which write a file holds.
std::vector<double> generation_values(double generation, std::uint64_t count) {
  std::vector<double> values(count);
  for (std::uint64_t i = 0; i < count; ++i) values[i] = generation + 0.5 * static_cast<double>(i);
  return values;
}

void write_generation(const std::string& path, double generation) {
  io::AtomicFileWriter writer(path);
  const auto values = generation_values(generation, kOldCount);
  io::write_dataset(writer.file(), "values", values.data(), {kOldCount});
  writer.commit();
}

bool holds_generation(const std::string& path, double generation) {
  const io::File file = io::File::open_read(path);
  return io::read_dataset<double>(file, "values").values ==
         generation_values(generation, kOldCount);
}

std::vector<std::string> temporary_files(const io_test::ScratchFolder& folder) {
  auto names = folder.entries();
  names.erase(std::remove_if(
                  names.begin(),
                  names.end(),
                  [](const std::string& name) { return name.find(".tmp.") == std::string::npos; }),
              names.end());
  return names;
}

// Forks a child that opens a writer on target, writes 16 MB, tells the parent through a
// pipe, and keeps writing without ever committing; the parent then SIGKILLs it. Returns
// true when the child was killed by the signal after signalling.
bool kill_writer_mid_write(const std::string& target, io::WriteMode mode) {
  int channel[2];
  BOOST_REQUIRE_EQUAL(::pipe(channel), 0);
  const pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    ::close(channel[0]);
    try {
      io::AtomicFileWriter writer(target, mode);
      io::WriteOptions uncompressed;
      uncompressed.compress = false;
      const auto big = generation_values(7.0, std::uint64_t{2} << 20);
      io::write_dataset(writer.file(), "big", big.data(), {big.size()}, uncompressed);
      writer.file().flush();
      if (::write(channel[1], "w", 1) != 1) ::_exit(3);
      for (int k = 0; k < 1000; ++k) {
        io::write_dataset(
            writer.file(), "more/" + std::to_string(k), big.data(), {1 << 17}, uncompressed);
      }
      ::pause();
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(1);
  }
  ::close(channel[1]);
  char signal_byte = 0;
  const bool signalled = ::read(channel[0], &signal_byte, 1) == 1;
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(channel[0]);
  return signalled && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

}  // namespace

BOOST_AUTO_TEST_CASE(committed_writer_replaces_the_target_and_leaves_no_temporary_file) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("frames.h5");
  write_generation(path, 1.0);
  write_generation(path, 2.0);
  BOOST_TEST(holds_generation(path, 2.0));
  BOOST_TEST(temporary_files(folder).empty());
}

BOOST_AUTO_TEST_CASE(uncommitted_writer_leaves_the_target_intact_and_removes_its_temporary) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("frames.h5");
  write_generation(path, 1.0);
  const std::string old_bytes = io_test::read_bytes(path);

  std::string temporary;
  try {
    io::AtomicFileWriter writer(path);
    temporary = writer.temporary_path();
    const auto values = generation_values(2.0, kOldCount);
    io::write_dataset(writer.file(), "values", values.data(), {kOldCount});
    throw std::runtime_error("simulated failure before commit");
  } catch (const std::runtime_error&) {
  }

  BOOST_TEST(io_test::read_bytes(path) == old_bytes);
  BOOST_TEST(holds_generation(path, 1.0));
  BOOST_TEST(!std::filesystem::exists(temporary));
  BOOST_TEST(temporary_files(folder).empty());
}

BOOST_AUTO_TEST_CASE(writer_killed_mid_write_leaves_the_previous_file_byte_for_byte) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("frames.h5");
  write_generation(path, 1.0);
  const std::string old_bytes = io_test::read_bytes(path);

  BOOST_REQUIRE(kill_writer_mid_write(path, io::WriteMode::kReplace));

  BOOST_TEST(io_test::read_bytes(path) == old_bytes);
  BOOST_TEST(holds_generation(path, 1.0));
  // The killed writer cannot clean up: its temporary stays beside the target, hidden.
  const auto stale = temporary_files(folder);
  BOOST_REQUIRE_EQUAL(stale.size(), 1u);
  BOOST_TEST(stale.front().rfind(".frames.h5.tmp.", 0) == 0);
  // It holds the 16 MB dataset: the kill came in the middle of a big write.
  BOOST_TEST(std::filesystem::file_size(folder.path() / stale.front()) > (std::uint64_t{16} << 20));
}

BOOST_AUTO_TEST_CASE(updating_writer_killed_mid_write_leaves_the_previous_file_byte_for_byte) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("frames.h5");
  write_generation(path, 1.0);
  const std::string old_bytes = io_test::read_bytes(path);

  BOOST_REQUIRE(kill_writer_mid_write(path, io::WriteMode::kUpdate));

  BOOST_TEST(io_test::read_bytes(path) == old_bytes);
  BOOST_TEST(holds_generation(path, 1.0));
}

BOOST_AUTO_TEST_CASE(update_mode_keeps_existing_datasets_and_adds_new_ones) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("frames.h5");
  write_generation(path, 1.0);
  {
    io::AtomicFileWriter writer(path, io::WriteMode::kUpdate);
    const double extra = 42.0;
    io::write_dataset(writer.file(), "frame1/extra", &extra, {});
    writer.commit();
  }
  BOOST_TEST(holds_generation(path, 1.0));
  const io::File file = io::File::open_read(path);
  BOOST_TEST(io::read_dataset<double>(file, "frame1/extra").values.front() == 42.0);
  BOOST_TEST(file.list("/") == (std::vector<std::string>{"frame1", "values"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(update_mode_on_a_missing_target_starts_an_empty_file) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("new.h5");
  io::AtomicFileWriter writer(path, io::WriteMode::kUpdate);
  BOOST_TEST(writer.file().list("/").empty());
  writer.commit();
  BOOST_TEST(std::filesystem::exists(path));
}

BOOST_AUTO_TEST_CASE(update_mode_on_a_non_hdf5_target_throws_and_leaves_nothing_behind) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("notes.h5");
  io_test::write_bytes(path, "plain text");
  BOOST_CHECK_THROW(io::AtomicFileWriter(path, io::WriteMode::kUpdate), io::CorruptFileError);
  BOOST_TEST(io_test::read_bytes(path) == "plain text");
  BOOST_TEST(temporary_files(folder).empty());
}

BOOST_AUTO_TEST_CASE(writer_into_a_missing_folder_throws_file_not_found) {
  io_test::ScratchFolder folder;
  BOOST_CHECK_THROW(io::AtomicFileWriter(folder.file("absent/x.h5")), io::FileNotFoundError);
}

BOOST_AUTO_TEST_CASE(moved_writer_commits_once_and_its_source_removes_nothing) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("moved.h5");
  io::AtomicFileWriter first(path);
  io::AtomicFileWriter second(std::move(first));
  const double value = 3.0;
  io::write_dataset(second.file(), "x", &value, {});
  second.commit();
  BOOST_CHECK_THROW(second.commit(), io::HdfError);
  const io::File file = io::File::open_read(path);
  BOOST_TEST(io::read_dataset<double>(file, "x").values.front() == 3.0);
}

BOOST_AUTO_TEST_CASE(writer_over_a_directory_is_refused_before_any_work) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("frames.h5");
  std::filesystem::create_directory(path);
  const auto message =
      io_test::message_of<io::HdfError>([&] { io::AtomicFileWriter writer(path); });
  BOOST_TEST(io_test::contains(message, "'" + path + "'"), message);
  BOOST_TEST(io_test::contains(message, "is a directory"), message);
  BOOST_TEST(std::filesystem::is_directory(path));
  BOOST_TEST(temporary_files(folder).empty());
}

BOOST_AUTO_TEST_CASE(writer_over_a_fifo_is_refused_as_not_a_regular_file) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("pipe.h5");
  BOOST_REQUIRE_EQUAL(::mkfifo(path.c_str(), 0600), 0);
  const auto message =
      io_test::message_of<io::HdfError>([&] { io::AtomicFileWriter writer(path); });
  BOOST_TEST(io_test::contains(message, "'" + path + "'"), message);
  BOOST_TEST(io_test::contains(message, "is not a regular file (a FIFO)"), message);
  BOOST_TEST(std::filesystem::is_fifo(path));
  BOOST_TEST(temporary_files(folder).empty());
}

BOOST_AUTO_TEST_CASE(writer_over_a_symbolic_link_is_refused_and_the_linked_file_kept) {
  io_test::ScratchFolder folder;
  const std::string real = folder.file("real.h5");
  const std::string link = folder.file("link.h5");
  write_generation(real, 1.0);
  std::filesystem::create_symlink(real, link);
  const auto message =
      io_test::message_of<io::HdfError>([&] { io::AtomicFileWriter writer(link); });
  BOOST_TEST(io_test::contains(message, "'" + link + "': it is a symbolic link"), message);
  BOOST_TEST(io_test::contains(message, real), message);
  BOOST_TEST(std::filesystem::is_symlink(link));
  BOOST_TEST(holds_generation(real, 1.0));
  BOOST_TEST(temporary_files(folder).empty());
}

BOOST_AUTO_TEST_CASE(writer_below_a_regular_file_says_it_is_not_a_folder) {
  io_test::ScratchFolder folder;
  const std::string notes = folder.file("notes.txt");
  io_test::write_bytes(notes, "plain text");
  const auto message =
      io_test::message_of<io::HdfError>([&] { io::AtomicFileWriter writer(notes + "/x.h5"); });
  BOOST_TEST(io_test::contains(message, "'" + notes + "' is a regular file, not a folder"),
             message);
}

BOOST_AUTO_TEST_CASE(writer_into_a_read_only_folder_is_refused_naming_the_folder,
                     *boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
                       // Permission bits do not bind the superuser.
                       return ::geteuid() != 0;
                     })) {
  io_test::ScratchFolder folder;
  const auto locked = folder.path() / "locked";
  std::filesystem::create_directory(locked);
  std::filesystem::permissions(
      locked, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  const std::string path = (locked / "x.h5").string();
  const auto message =
      io_test::message_of<io::HdfError>([&] { io::AtomicFileWriter writer(path); });
  BOOST_TEST(io_test::contains(message, "folder '" + locked.string() + "' is not writable"),
             message);
  std::filesystem::permissions(locked, std::filesystem::perms::owner_all);
}

BOOST_AUTO_TEST_CASE(target_replaced_by_a_directory_before_commit_fails_and_keeps_it) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("frames.h5");
  io::AtomicFileWriter writer(path);
  const double value = 1.0;
  io::write_dataset(writer.file(), "x", &value, {});
  std::filesystem::create_directory(path);
  const auto message = io_test::message_of<io::HdfError>([&] { writer.commit(); });
  BOOST_TEST(io_test::contains(message, "'" + path + "': it is a directory"), message);
  BOOST_TEST(std::filesystem::is_directory(path));
  BOOST_TEST(temporary_files(folder).empty());
}

BOOST_AUTO_TEST_CASE(writer_of_a_long_file_name_keeps_its_temporary_name_within_the_limit) {
  io_test::ScratchFolder folder;
  // 250 bytes: a valid name, but ".<name>.tmp.<pid>.<random>" would exceed 255.
  const std::string path = folder.file(std::string(247, 'n') + ".h5");
  write_generation(path, 1.0);
  BOOST_TEST(holds_generation(path, 1.0));
  BOOST_TEST(temporary_files(folder).empty());
}

BOOST_AUTO_TEST_CASE(text_written_atomically_replaces_the_target_and_leaves_no_temporary) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("records.json");
  io_test::write_bytes(path, "old");
  io::write_text_atomically(path, "[1, 2, 3]\n", "records file");
  BOOST_TEST(io_test::read_bytes(path) == "[1, 2, 3]\n");
  BOOST_TEST(temporary_files(folder).empty());
}

BOOST_AUTO_TEST_CASE(text_over_a_directory_is_refused_naming_the_kind_of_file) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("records.json");
  std::filesystem::create_directory(path);
  const auto message = io_test::message_of<io::HdfError>(
      [&] { io::write_text_atomically(path, "[]", "records file"); });
  BOOST_TEST(message == "cannot write records file '" + path + "': it is a directory");
  BOOST_TEST(temporary_files(folder).empty());
}

BOOST_AUTO_TEST_CASE(reading_a_fifo_is_refused_instead_of_waiting_for_a_writer) {
  io_test::ScratchFolder folder;
  const std::string path = folder.file("pipe.h5");
  BOOST_REQUIRE_EQUAL(::mkfifo(path.c_str(), 0600), 0);
  const auto message = io_test::message_of<io::HdfError>([&] { io::File::open_read(path); });
  BOOST_TEST(io_test::contains(message, "'" + path + "' is not a regular file (a FIFO)"), message);
}

BOOST_AUTO_TEST_CASE(two_options_naming_one_file_are_refused_however_the_path_is_spelled) {
  io_test::ScratchFolder folder;
  const std::string frames = folder.file("frames.h5");
  std::filesystem::create_directory(folder.file("sub"));
  const std::string spelled_otherwise = folder.file("sub") + "/../frames.h5";
  const auto message = io_test::message_of<deepnum::InvalidArgumentError>([&] {
    io::require_distinct_files({{"--output", frames}, {"--records", spelled_otherwise}});
  });
  BOOST_TEST(message == "--output and --records name the same file '" + spelled_otherwise +
                            "'; each needs its own",
             message);
  // A symbolic link to an existing file is the same file too.
  io::write_text_atomically(frames, "x");
  const std::string link = folder.file("link.h5");
  std::filesystem::create_symlink(frames, link);
  BOOST_CHECK_THROW(io::require_distinct_files({{"--dcdm-model", link}, {"--output", frames}}),
                    deepnum::InvalidArgumentError);
  // Different files, and empty paths (an option not given), pass.
  BOOST_CHECK_NO_THROW(io::require_distinct_files(
      {{"--output", frames}, {"--records", folder.file("records.json")}, {"--model", ""}}));
}
