#include "deepnum/io/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

#include "deepnum/core/logging.hpp"
#include "deepnum/io/output_file.hpp"
#include "hdf5_support.hpp"

namespace deepnum::io {
namespace {

using detail::check;
using detail::check_id;
using detail::Handle;

std::string system_error_text() {
  return std::strerror(errno);
}

// Closing is "strong" so that closing a File really closes it (and flushes everything)
// even when objects opened through File::id() were left open. Created files use the
// 1.8 format or newer, which stores large attributes densely; h5py reads it.
Handle file_access_properties(bool for_creation) {
  Handle properties(check_id(H5Pcreate(H5P_FILE_ACCESS), "cannot create file access properties"),
                    H5Pclose);
  check(H5Pset_fclose_degree(properties.get(), H5F_CLOSE_STRONG),
        "cannot set the file close degree");
  if (for_creation) {
    check(H5Pset_libver_bounds(properties.get(), H5F_LIBVER_V18, H5F_LIBVER_LATEST),
          "cannot set the file format bounds");
  }
  return properties;
}

// Marks the file's descriptor close-on-exec. HDF5 holds an flock() on every file it opens,
// and a child that a library forks and execs while the file is open (Open MPI's MPI_Init
// starts its daemon that way in a program not launched by mpirun) would otherwise inherit
// the descriptor and keep the lock after this process closes the file: the next open of
// the same file would then fail as "locked by another process".
void close_on_exec(hid_t file_id) {
  void* handle = nullptr;
  if (H5Fget_vfd_handle(file_id, H5P_DEFAULT, &handle) < 0 || handle == nullptr) {
    detail::take_error_stack();  // a driver without a file descriptor: nothing to mark
    return;
  }
  const int descriptor = *static_cast<int*>(handle);
  const int flags = ::fcntl(descriptor, F_GETFD);
  if (flags >= 0) ::fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC);
}

// Opens an existing file and sorts failures into the documented error types.
hid_t open_existing(const std::string& path, unsigned flags) {
  namespace fs = std::filesystem;
  std::error_code error;
  const auto status = fs::status(path, error);
  if (!fs::exists(status)) {
    throw FileNotFoundError("HDF5 file '" + path + "' does not exist");
  }
  if (fs::is_directory(status)) {
    throw HdfError("'" + path + "' is a folder, not an HDF5 file");
  }
  // Opening a FIFO would wait for a writer; devices and sockets are no HDF5 files either.
  if (!fs::is_regular_file(status)) {
    throw HdfError("'" + path + "' is not a regular file (" +
                   detail::file_type_name(status.type()) + "), not an HDF5 file");
  }
  const bool writable = (flags & H5F_ACC_RDWR) != 0;
  if (::access(path.c_str(), writable ? R_OK | W_OK : R_OK) != 0) {
    throw HdfError("cannot open HDF5 file '" + path + "' for " +
                   (writable ? "writing" : "reading") + ": " + system_error_text());
  }

  const Handle properties = file_access_properties(false);
  const hid_t id = H5Fopen(path.c_str(), flags, properties.get());
  if (id >= 0) {
    close_on_exec(id);
    return id;
  }

  const std::string stack = detail::take_error_stack();
  if (stack.find("unable to lock") != std::string::npos ||
      stack.find("already locked") != std::string::npos) {
    throw HdfError("cannot open HDF5 file '" + path +
                   "': it is locked by another process [HDF5: " + stack + "]");
  }
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  detail::take_error_stack();
  if (is_hdf5 <= 0) {
    throw CorruptFileError("'" + path + "' is not an HDF5 file (no HDF5 signature found)");
  }
  throw CorruptFileError("HDF5 file '" + path +
                         "' cannot be opened: it is truncated or damaged [HDF5: " + stack + "]");
}

// Copies the bytes of source into a new file destination (which must not exist).
void copy_file_contents(const std::string& source, const std::string& destination) {
  const int input = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (input < 0) {
    throw HdfError("cannot read '" + source + "' to update it: " + system_error_text());
  }
  struct stat source_status {};
  const mode_t mode = ::fstat(input, &source_status) == 0 ? (source_status.st_mode & 0777) : 0644;
  const int output = ::open(destination.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (output < 0) {
    const std::string reason = system_error_text();
    ::close(input);
    throw HdfError("cannot create temporary file '" + destination + "': " + reason);
  }
  std::vector<char> buffer(std::size_t{1} << 20);
  std::string failure;
  while (failure.empty()) {
    const ssize_t got = ::read(input, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) failure = "reading '" + source + "': " + system_error_text();
    if (got <= 0) break;
    for (ssize_t written = 0; written < got && failure.empty();) {
      const ssize_t put =
          ::write(output, buffer.data() + written, static_cast<std::size_t>(got - written));
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) failure = "writing '" + destination + "': " + system_error_text();
      if (put > 0) written += put;
    }
  }
  ::close(input);
  if (::close(output) != 0 && failure.empty()) {
    failure = "closing '" + destination + "': " + system_error_text();
  }
  if (!failure.empty()) {
    std::remove(destination.c_str());
    throw HdfError("cannot copy HDF5 file for update: " + failure);
  }
}

// Forces a file's (or folder's) data to the storage device.
bool sync_path(const std::string& path, int open_flags) {
  const int descriptor = ::open(path.c_str(), open_flags | O_CLOEXEC);
  if (descriptor < 0) return false;
  const bool synced = ::fsync(descriptor) == 0;
  return ::close(descriptor) == 0 && synced;
}

}  // namespace

File::File(hid_t id, std::string path, bool writable)
    : id_(id), path_(std::move(path)), writable_(writable) {}

File File::open_read(const std::string& path) {
  const auto lock = detail::lock_hdf5();
  return File(open_existing(path, H5F_ACC_RDONLY), path, false);
}

File File::open_read_write(const std::string& path) {
  const auto lock = detail::lock_hdf5();
  return File(open_existing(path, H5F_ACC_RDWR), path, true);
}

File::File(File&& other) noexcept
    : id_(std::exchange(other.id_, H5I_INVALID_HID)),
      path_(std::move(other.path_)),
      writable_(other.writable_) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    close_quietly();
    id_ = std::exchange(other.id_, H5I_INVALID_HID);
    path_ = std::move(other.path_);
    writable_ = other.writable_;
  }
  return *this;
}

File::~File() {
  close_quietly();
}

void File::close_quietly() noexcept {
  if (id_ < 0) return;
  try {
    const auto lock = detail::lock_hdf5();
    if (H5Fclose(id_) < 0) {
      log::warn("closing HDF5 file '{}' failed: {}", path_, detail::take_error_stack());
    }
  } catch (...) {
    // Never throws: a failure to lock or to log leaves nothing more to do.
  }
  id_ = H5I_INVALID_HID;
}

void File::require_open(const char* operation) const {
  require<InvalidArgumentError>(id_ >= 0,
                                "File::",
                                operation,
                                " called on a closed File",
                                path_.empty() ? "" : " (was '" + path_ + "')");
}

bool File::exists(const std::string& object_path) const {
  require_open("exists");
  const auto lock = detail::lock_hdf5();
  // H5Lexists fails (rather than answering false) when a group on the way is missing,
  // so the path is checked one link at a time.
  const auto components = detail::split_path(object_path);
  std::string prefix;
  for (std::size_t i = 0; i < components.size(); ++i) {
    prefix += "/" + components[i];
    const htri_t has_link = check(H5Lexists(id_, prefix.c_str(), H5P_DEFAULT),
                                  "cannot look up ",
                                  detail::describe(*this, prefix));
    if (has_link == 0) return false;
    // A soft link may dangle.
    const htri_t has_object = check(H5Oexists_by_name(id_, prefix.c_str(), H5P_DEFAULT),
                                    "cannot look up ",
                                    detail::describe(*this, prefix));
    if (has_object == 0) return false;
    if (i + 1 < components.size()) {
      H5O_info_t info;
      check(H5Oget_info_by_name2(id_, prefix.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT),
            "cannot inspect ",
            detail::describe(*this, prefix));
      if (info.type != H5O_TYPE_GROUP) return false;
    }
  }
  return true;
}

bool File::is_group(const std::string& object_path) const {
  require_open("is_group");
  const auto lock = detail::lock_hdf5();
  return detail::object_type(*this, detail::normalize_path(object_path)) == H5O_TYPE_GROUP;
}

bool File::is_dataset(const std::string& object_path) const {
  require_open("is_dataset");
  const auto lock = detail::lock_hdf5();
  return detail::object_type(*this, detail::normalize_path(object_path)) == H5O_TYPE_DATASET;
}

namespace {
herr_t collect_name(hid_t /*group*/, const char* name, const H5L_info_t* /*info*/, void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> File::list(const std::string& group_path) const {
  require_open("list");
  const auto lock = detail::lock_hdf5();
  const std::string path = detail::normalize_path(group_path);
  if (detail::object_type(*this, path) != H5O_TYPE_GROUP) {
    detail::throw_not_found(*this, path, "group");
  }
  std::vector<std::string> names;
  hsize_t index = 0;
  check(
      H5Literate_by_name(
          id_, path.c_str(), H5_INDEX_NAME, H5_ITER_INC, &index, collect_name, &names, H5P_DEFAULT),
      "cannot list group ",
      detail::describe(*this, path));
  return names;
}

void File::create_groups(const std::string& group_path) {
  require_open("create_groups");
  const auto lock = detail::lock_hdf5();
  detail::require_writable(*this, group_path);
  std::string prefix;
  for (const auto& component : detail::split_path(group_path)) {
    prefix += "/" + component;
    const H5O_type_t type = detail::object_type(*this, prefix);
    if (type == H5O_TYPE_GROUP) continue;
    if (type != H5O_TYPE_UNKNOWN) {
      throw HdfError("cannot create group " + detail::describe(*this, group_path) + ": '" + prefix +
                     "' exists and is not a group");
    }
    const Handle group(
        check_id(H5Gcreate2(id_, prefix.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 "cannot create group ",
                 detail::describe(*this, prefix)),
        H5Gclose);
  }
}

void File::flush() {
  require_open("flush");
  const auto lock = detail::lock_hdf5();
  check(H5Fflush(id_, H5F_SCOPE_GLOBAL), "cannot flush HDF5 file '", path_, "'");
}

void File::close() {
  if (id_ < 0) return;
  const auto lock = detail::lock_hdf5();
  const hid_t id = std::exchange(id_, H5I_INVALID_HID);
  check(H5Fclose(id), "cannot close HDF5 file '", path_, "'");
}

AtomicFileWriter::AtomicFileWriter(std::string target_path, WriteMode mode)
    : target_path_(std::move(target_path)) {
  namespace fs = std::filesystem;
  // Before any work: the rename in commit() must not replace a directory, FIFO or link.
  require_replaceable_file(target_path_, "HDF5 file");
  temporary_path_ = detail::temporary_path_for(target_path_);
  const fs::path target(target_path_);
  std::error_code error;

  const auto lock = detail::lock_hdf5();
  const bool copy_target = mode == WriteMode::kUpdate && fs::exists(target, error);
  if (copy_target) {
    // Check the target first so that errors name it rather than the copy.
    File(open_existing(target_path_, H5F_ACC_RDONLY), target_path_, false).close();
    copy_file_contents(target_path_, temporary_path_);
    try {
      file_ = File(open_existing(temporary_path_, H5F_ACC_RDWR), temporary_path_, true);
    } catch (...) {
      std::remove(temporary_path_.c_str());
      throw;
    }
  } else {
    const Handle properties = file_access_properties(true);
    const hid_t id =
        check_id(H5Fcreate(temporary_path_.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, properties.get()),
                 "cannot create temporary file '",
                 temporary_path_,
                 "' for HDF5 file '",
                 target_path_,
                 "'");
    close_on_exec(id);
    file_ = File(id, temporary_path_, true);
  }
  log::debug("writing HDF5 file '{}' through '{}'", target_path_, temporary_path_);
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : target_path_(std::move(other.target_path_)),
      temporary_path_(std::move(other.temporary_path_)),
      file_(std::move(other.file_)),
      committed_(std::exchange(other.committed_, true)) {}

AtomicFileWriter& AtomicFileWriter::operator=(AtomicFileWriter&& other) noexcept {
  if (this != &other) {
    discard();
    target_path_ = std::move(other.target_path_);
    temporary_path_ = std::move(other.temporary_path_);
    file_ = std::move(other.file_);
    committed_ = std::exchange(other.committed_, true);
  }
  return *this;
}

AtomicFileWriter::~AtomicFileWriter() {
  discard();
}

File& AtomicFileWriter::file() {
  require<HdfError>(!committed_ && file_.is_open(),
                    "AtomicFileWriter for '",
                    target_path_,
                    "': the file is no longer writable (already committed)");
  return file_;
}

void AtomicFileWriter::commit() {
  require<HdfError>(!committed_ && file_.is_open(),
                    "AtomicFileWriter for '",
                    target_path_,
                    "': commit() called twice");
  try {
    // Close (HDF5 flushes its caches), then force the bytes to disk before the rename
    // makes them visible under the target name.
    file_.close();
    // The target may have changed since the constructor checked it.
    require_replaceable_file(target_path_, "HDF5 file");
    if (!sync_path(temporary_path_, O_RDONLY)) {
      throw HdfError("cannot sync '" + temporary_path_ + "' before publishing '" + target_path_ +
                     "': " + system_error_text());
    }
    if (std::rename(temporary_path_.c_str(), target_path_.c_str()) != 0) {
      throw HdfError("cannot rename '" + temporary_path_ + "' to '" + target_path_ +
                     "': " + system_error_text());
    }
  } catch (...) {
    discard();
    throw;
  }
  committed_ = true;
  // The rename is durable once the folder is synced; failure here does not undo it.
  const auto folder = std::filesystem::path(target_path_).parent_path();
  if (!sync_path(folder.empty() ? "." : folder.string(), O_RDONLY | O_DIRECTORY)) {
    log::warn("cannot sync the folder of '{}': {}", target_path_, system_error_text());
  }
  log::debug("committed HDF5 file '{}'", target_path_);
}

void AtomicFileWriter::discard() noexcept {
  if (committed_) return;
  committed_ = true;
  try {
    File closing = std::move(file_);
  } catch (...) {
    // Closing a File never throws; kept for symmetry with the destructor contract.
  }
  if (!temporary_path_.empty()) std::remove(temporary_path_.c_str());
}

}  // namespace deepnum::io
