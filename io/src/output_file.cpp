#include "deepnum/io/output_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <sstream>

#include "deepnum/core/error.hpp"
#include "deepnum/io/errors.hpp"
#include "hdf5_support.hpp"

namespace deepnum::io {
namespace {

namespace fs = std::filesystem;

// NAME_MAX of Linux file systems: the longest file name (one path component), in bytes.
constexpr std::size_t kLongestFileName = 255;

std::string system_error_text() {
  return std::strerror(errno);
}

// The folder a target lives in: "." for a bare file name.
fs::path folder_of(const fs::path& target) {
  return target.parent_path().empty() ? fs::path(".") : target.parent_path();
}

}  // namespace

namespace detail {

std::string file_type_name(std::filesystem::file_type type) {
  switch (type) {
    case fs::file_type::regular:
      return "a regular file";
    case fs::file_type::directory:
      return "a directory";
    case fs::file_type::symlink:
      return "a symbolic link";
    case fs::file_type::block:
      return "a block device";
    case fs::file_type::character:
      return "a character device";
    case fs::file_type::fifo:
      return "a FIFO";
    case fs::file_type::socket:
      return "a socket";
    default:
      return "a file of unknown type";
  }
}

std::string temporary_path_for(const std::string& path) {
  const fs::path target(path);
  std::random_device entropy;
  const std::uint64_t random =
      (static_cast<std::uint64_t>(entropy()) << 32) ^ static_cast<std::uint64_t>(entropy());
  std::ostringstream suffix;
  suffix << ".tmp." << ::getpid() << "." << std::hex << random;

  // "." + name + suffix must fit the file name limit: a long name is shortened (the
  // temporary's name only has to be unique, and the suffix makes it so).
  std::string name = target.filename().string();
  const std::size_t room = kLongestFileName - 1 - suffix.str().size();
  if (name.size() > room) name.resize(room);
  return (target.parent_path() / ("." + name + suffix.str())).string();
}

}  // namespace detail

void require_replaceable_file(const std::string& path, const std::string& kind) {
  const fs::path target(path);
  const std::string where = "cannot write " + kind + " '" + path + "'";
  const std::string name = target.filename().string();
  require<InvalidArgumentError>(
      !name.empty() && name != "." && name != "..", where, ": the path does not name a file");

  // The folder: present, a folder, and open to new files (the temporary is created there).
  const fs::path folder = folder_of(target);
  std::error_code error;
  const fs::file_status folder_status = fs::status(folder, error);
  if (folder_status.type() == fs::file_type::none) {
    throw HdfError(where + ": cannot inspect folder '" + folder.string() + "': " + error.message());
  }
  if (!fs::exists(folder_status)) {
    throw FileNotFoundError(where + ": folder '" + folder.string() + "' does not exist");
  }
  if (!fs::is_directory(folder_status)) {
    throw HdfError(where + ": '" + folder.string() + "' is " +
                   detail::file_type_name(folder_status.type()) + ", not a folder");
  }
  if (::access(folder.c_str(), W_OK | X_OK) != 0) {
    throw HdfError(where + ": folder '" + folder.string() +
                   "' is not writable: " + system_error_text());
  }
  if (name.size() > kLongestFileName) {
    throw HdfError(where + ": the file name has " + std::to_string(name.size()) +
                   " bytes, more than the " + std::to_string(kLongestFileName) +
                   " a file name may have");
  }

  // The target itself, not following a symbolic link: the rename would replace the link.
  const fs::file_status status = fs::symlink_status(target, error);
  switch (status.type()) {
    case fs::file_type::not_found:
    case fs::file_type::regular:
      return;
    case fs::file_type::directory:
      throw HdfError(where + ": it is a directory");
    case fs::file_type::symlink: {
      const fs::path link = fs::read_symlink(target, error);
      throw HdfError(where + ": it is a symbolic link" +
                     (error ? std::string() : " (to '" + link.string() + "')") +
                     "; links are not followed, give the path of the file itself");
    }
    case fs::file_type::none:
      throw HdfError(where + ": cannot inspect it: " + error.message());
    default:
      throw HdfError(where + ": it is not a regular file (" +
                     detail::file_type_name(status.type()) + ")");
  }
}

void write_text_atomically(const std::string& path,
                           const std::string& text,
                           const std::string& kind) {
  require_replaceable_file(path, kind);
  const std::string temporary = detail::temporary_path_for(path);
  const int descriptor = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (descriptor < 0) {
    throw HdfError("cannot create temporary file '" + temporary + "' for " + kind + " '" + path +
                   "': " + system_error_text());
  }

  // Write everything, force it to disk, then publish it under the target's name.
  std::string failure;
  for (std::size_t written = 0; written < text.size() && failure.empty();) {
    const ssize_t put = ::write(descriptor, text.data() + written, text.size() - written);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) failure = "writing '" + temporary + "': " + system_error_text();
    if (put > 0) written += static_cast<std::size_t>(put);
  }
  if (failure.empty() && ::fsync(descriptor) != 0) {
    failure = "syncing '" + temporary + "': " + system_error_text();
  }
  if (::close(descriptor) != 0 && failure.empty()) {
    failure = "closing '" + temporary + "': " + system_error_text();
  }
  if (failure.empty() && std::rename(temporary.c_str(), path.c_str()) != 0) {
    failure = "renaming '" + temporary + "' to it: " + system_error_text();
  }
  if (!failure.empty()) {
    std::remove(temporary.c_str());
    throw HdfError("cannot write " + kind + " '" + path + "': " + failure);
  }
}

void require_distinct_files(const std::vector<std::pair<std::string, std::string>>& named_paths) {
  std::vector<std::pair<std::string, fs::path>> resolved;
  for (const auto& [option, path] : named_paths) {
    if (path.empty()) continue;
    std::error_code error;
    fs::path canonical = fs::weakly_canonical(path, error);
    if (error) canonical = fs::path(path).lexically_normal();
    for (const auto& [other_option, other] : resolved) {
      require<InvalidArgumentError>(canonical != other,
                                    other_option,
                                    " and ",
                                    option,
                                    " name the same file '",
                                    path,
                                    "'; each needs its own");
    }
    resolved.emplace_back(option, std::move(canonical));
  }
}

}  // namespace deepnum::io
