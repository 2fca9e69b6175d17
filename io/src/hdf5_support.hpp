// Internal helpers of deepnum::io: the library lock, checked HDF5 calls that turn the
// error stack into exceptions, owning handles, object paths, type mapping, and the names
// of temporary files and file types. Not installed; every source of the layer includes it.
#pragma once

#include <hdf5.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "deepnum/core/error.hpp"
#include "deepnum/io/dataset.hpp"
#include "deepnum/io/errors.hpp"
#include "deepnum/io/file.hpp"

namespace deepnum::io::detail {

// "a directory", "a FIFO", ...: what a file of this type is, for messages.
std::string file_type_name(std::filesystem::file_type type);

// ".<name>.tmp.<pid>.<16 hex digits>" beside path, <name> shortened when the whole name
// would exceed the file name limit.
std::string temporary_path_for(const std::string& path);

// Serializes all HDF5 use of the process (the library is not built thread-safe). The
// first call also switches off HDF5's automatic printing of its error stack.
std::unique_lock<std::recursive_mutex> lock_hdf5();

// The descriptions on HDF5's error stack, outermost call first, joined by "; " and
// folded onto one line (line breaks inside a description become "; "); clears the
// stack. Empty when HDF5 recorded nothing.
std::string take_error_stack();

// Throws ErrorType with the streamed parts and, when present, HDF5's own explanation.
template <class ErrorType, class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::string message = deepnum::detail::concatenate(parts...);
  const std::string stack = take_error_stack();
  if (!stack.empty()) message += " [HDF5: " + stack + "]";
  throw ErrorType(message);
}

// Checks an identifier-returning call: negative means failure.
template <class ErrorType = HdfError, class... Parts>
hid_t check_id(hid_t id, const Parts&... parts) {
  if (id < 0) fail<ErrorType>(parts...);
  return id;
}

// Checks a status- or truth-returning call (herr_t, htri_t): negative means failure.
template <class ErrorType = HdfError, class Status, class... Parts>
Status check(Status status, const Parts&... parts) {
  if (status < 0) fail<ErrorType>(parts...);
  return status;
}

// Owns an HDF5 identifier and closes it with the matching H5?close; never throws.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) {
    other.id_ = H5I_INVALID_HID;
  }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  void reset() noexcept;

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// "/a/b" for "a/b", "/a//b/" and "/a/b"; "/" for "" and "/".
std::string normalize_path(const std::string& path);
// The components of a normalized path ("/" has none).
std::vector<std::string> split_path(const std::string& normalized_path);
// "/a" for "/a/b", "/" for "/a".
std::string parent_path(const std::string& normalized_path);
// "'/a/b' in file 'x.h5'", used by every message about an object.
std::string describe(const File& file, const std::string& object_path);

// The object type at a normalized path, H5O_TYPE_UNKNOWN when nothing is there.
H5O_type_t object_type(const File& file, const std::string& normalized_path);

// Throws ObjectNotFoundError for a missing object, naming the deepest existing group
// above it and what that group holds.
[[noreturn]] void throw_not_found(const File& file,
                                  const std::string& normalized_path,
                                  const char* kind);

// Opens the dataset at path (any spelling). Throws ObjectNotFoundError when missing.
Handle open_dataset(const File& file, const std::string& normalized_path);

// Throws InvalidArgumentError unless the file is open for writing.
void require_writable(const File& file, const std::string& object_path);

// Link creation properties that create missing intermediate groups.
Handle intermediate_group_properties();

// Native memory type and little-endian file type of a Dtype.
hid_t memory_type(Dtype dtype);
hid_t file_type(Dtype dtype);
// What the layer needs to know about a stored type, every query checked.
struct TypeTraits {
  H5T_class_t type_class = H5T_NO_CLASS;
  std::size_t size = 0;                  // bytes per element
  bool is_signed = false;                // integers only
  bool variable_string = false;          // strings only
  H5T_str_t padding = H5T_STR_NULLTERM;  // strings only
};
TypeTraits inspect_type(hid_t type);

// The Dtype of a stored type; false when it is none of them.
bool dtype_from_type(hid_t type, Dtype& dtype);
// numpy-like name of any stored type: "int16", "float16", "string", "compound", ...
std::string describe_type(hid_t type);

// The extents of a dataspace (empty for a scalar).
Shape shape_of_space(hid_t space);
// hsize_t and std::uint64_t are distinct types on LP64 Linux.
std::vector<hsize_t> to_hsize(const Shape& shape);

}  // namespace deepnum::io::detail
