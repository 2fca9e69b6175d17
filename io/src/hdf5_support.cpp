#include "hdf5_support.hpp"

#include <algorithm>
#include <sstream>

#include "deepnum/core/logging.hpp"

namespace deepnum::io::detail {
namespace {

std::recursive_mutex& hdf5_mutex() {
  static std::recursive_mutex mutex;
  return mutex;
}

bool is_line_break_or_blank(char c) {
  return c == '\n' || c == '\r' || c == ' ' || c == '\t';
}

// HDF5's text on one line: each line break (with the blanks around it) becomes "; ", or
// nothing before a ',' or ';' (HDF5 1.10 puts ctime()'s "...2026\n" before ", name = ").
std::string one_line(const std::string& text) {
  std::string folded;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n' && text[i] != '\r') {
      folded += text[i];
      continue;
    }
    while (!folded.empty() && (folded.back() == ' ' || folded.back() == '\t')) folded.pop_back();
    std::size_t next = i;
    while (next < text.size() && is_line_break_or_blank(text[next])) ++next;
    const bool continues = next < text.size() && text[next] != ',' && text[next] != ';';
    if (continues && !folded.empty()) folded += "; ";
    i = next - 1;
  }
  return folded;
}

// Collects "function(): description" for each record of the error stack.
herr_t collect_error(unsigned /*depth*/, const H5E_error2_t* record, void* client_data) {
  auto& lines = *static_cast<std::vector<std::string>*>(client_data);
  std::string line = record->func_name ? std::string(record->func_name) + "(): " : "";
  line += record->desc ? one_line(record->desc) : "unknown error";
  if (std::find(lines.begin(), lines.end(), line) == lines.end()) lines.push_back(line);
  return 0;
}

}  // namespace

std::unique_lock<std::recursive_mutex> lock_hdf5() {
  std::unique_lock<std::recursive_mutex> lock(hdf5_mutex());
  // Once per process, under the lock: errors become exceptions, HDF5 prints nothing.
  static const bool silenced = [] {
    const bool done = H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0;
    if (!done) log::warn("cannot switch off HDF5's error printing; it may print error stacks");
    return done;
  }();
  static_cast<void>(silenced);
  return lock;
}

std::string take_error_stack() {
  // Failures of the error API itself are ignored: this already runs on an error path.
  std::vector<std::string> lines;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &lines);
  H5Eclear2(H5E_DEFAULT);
  std::string text;
  for (const auto& line : lines) {
    if (!text.empty()) text += "; ";
    text += line;
  }
  return text;
}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = other.id_;
    closer_ = other.closer_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Handle::reset() noexcept {
  if (id_ >= 0 && closer_ != nullptr) closer_(id_);
  id_ = H5I_INVALID_HID;
}

std::string normalize_path(const std::string& path) {
  std::string normalized;
  for (const auto& component : split_path(path)) normalized += "/" + component;
  return normalized.empty() ? "/" : normalized;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> components;
  std::string current;
  for (char c : path) {
    if (c == '/') {
      if (!current.empty()) components.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) components.push_back(current);
  return components;
}

std::string parent_path(const std::string& normalized_path) {
  const auto slash = normalized_path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return normalized_path.substr(0, slash);
}

std::string describe(const File& file, const std::string& object_path) {
  return "'" + normalize_path(object_path) + "' in file '" + file.path() + "'";
}

H5O_type_t object_type(const File& file, const std::string& normalized_path) {
  if (normalized_path == "/") return H5O_TYPE_GROUP;
  if (!file.exists(normalized_path)) return H5O_TYPE_UNKNOWN;
  H5O_info_t info;
  check(
      H5Oget_info_by_name2(file.id(), normalized_path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT),
      "cannot inspect ",
      describe(file, normalized_path));
  return info.type;
}

void throw_not_found(const File& file, const std::string& normalized_path, const char* kind) {
  // Walk down to the deepest existing group to say where the path stops matching.
  std::string deepest = "/";
  for (const auto& component : split_path(normalized_path)) {
    const std::string next = (deepest == "/" ? "" : deepest) + "/" + component;
    if (object_type(file, next) != H5O_TYPE_GROUP) break;
    deepest = next;
  }
  std::ostringstream message;
  message << "no " << kind << " " << describe(file, normalized_path);
  const H5O_type_t found = object_type(file, normalized_path);
  if (found == H5O_TYPE_GROUP) {
    message << " (it is a group)";
  } else if (found == H5O_TYPE_DATASET) {
    message << " (it is a dataset)";
  } else {
    const auto members = file.list(deepest);
    message << " (group '" << deepest << "' holds ";
    if (members.empty()) message << "nothing";
    for (std::size_t i = 0; i < members.size() && i < 12; ++i) {
      message << (i ? ", " : "") << "'" << members[i] << "'";
    }
    if (members.size() > 12) message << ", ... (" << members.size() << " in all)";
    message << ")";
  }
  throw ObjectNotFoundError(message.str());
}

Handle open_dataset(const File& file, const std::string& normalized_path) {
  if (object_type(file, normalized_path) != H5O_TYPE_DATASET) {
    throw_not_found(file, normalized_path, "dataset");
  }
  return Handle(check_id(H5Dopen2(file.id(), normalized_path.c_str(), H5P_DEFAULT),
                         "cannot open dataset ",
                         describe(file, normalized_path)),
                H5Dclose);
}

void require_writable(const File& file, const std::string& object_path) {
  require<InvalidArgumentError>(
      file.is_open(), "cannot write '", object_path, "': the File is not open");
  require<InvalidArgumentError>(file.is_writable(),
                                "cannot write ",
                                describe(file, object_path),
                                ": the file is open read-only");
}

Handle intermediate_group_properties() {
  Handle properties(check_id(H5Pcreate(H5P_LINK_CREATE), "cannot create link properties"),
                    H5Pclose);
  check(H5Pset_create_intermediate_group(properties.get(), 1),
        "cannot enable intermediate group creation");
  check(H5Pset_char_encoding(properties.get(), H5T_CSET_UTF8), "cannot set UTF-8 link names");
  return properties;
}

hid_t memory_type(Dtype dtype) {
  switch (dtype) {
    case Dtype::kInt8:
      return H5T_NATIVE_INT8;
    case Dtype::kUInt8:
      return H5T_NATIVE_UINT8;
    case Dtype::kInt32:
      return H5T_NATIVE_INT32;
    case Dtype::kInt64:
      return H5T_NATIVE_INT64;
    case Dtype::kFloat32:
      return H5T_NATIVE_FLOAT;
    case Dtype::kFloat64:
      return H5T_NATIVE_DOUBLE;
  }
  throw InvalidArgumentError("unknown Dtype value");
}

hid_t file_type(Dtype dtype) {
  switch (dtype) {
    case Dtype::kInt8:
      return H5T_STD_I8LE;
    case Dtype::kUInt8:
      return H5T_STD_U8LE;
    case Dtype::kInt32:
      return H5T_STD_I32LE;
    case Dtype::kInt64:
      return H5T_STD_I64LE;
    case Dtype::kFloat32:
      return H5T_IEEE_F32LE;
    case Dtype::kFloat64:
      return H5T_IEEE_F64LE;
  }
  throw InvalidArgumentError("unknown Dtype value");
}

TypeTraits inspect_type(hid_t type) {
  TypeTraits traits;
  traits.type_class = H5Tget_class(type);
  if (traits.type_class == H5T_NO_CLASS) fail<HdfError>("cannot read the class of a stored type");
  traits.size = H5Tget_size(type);
  if (traits.size == 0) fail<HdfError>("cannot read the size of a stored type");
  if (traits.type_class == H5T_INTEGER) {
    const H5T_sign_t sign = H5Tget_sign(type);
    if (sign == H5T_SGN_ERROR) fail<HdfError>("cannot read the sign of a stored integer type");
    traits.is_signed = sign == H5T_SGN_2;
  }
  if (traits.type_class == H5T_STRING) {
    traits.variable_string =
        check(H5Tis_variable_str(type), "cannot inspect a stored string type") > 0;
    traits.padding = H5Tget_strpad(type);
    if (traits.padding == H5T_STR_ERROR) fail<HdfError>("cannot read a string type's padding");
  }
  return traits;
}

bool dtype_from_type(hid_t type, Dtype& dtype) {
  const TypeTraits traits = inspect_type(type);
  if (traits.type_class == H5T_INTEGER) {
    if (traits.is_signed && traits.size == 1)
      dtype = Dtype::kInt8;
    else if (!traits.is_signed && traits.size == 1)
      dtype = Dtype::kUInt8;
    else if (traits.is_signed && traits.size == 4)
      dtype = Dtype::kInt32;
    else if (traits.is_signed && traits.size == 8)
      dtype = Dtype::kInt64;
    else
      return false;
    return true;
  }
  if (traits.type_class == H5T_FLOAT) {
    if (traits.size == 4)
      dtype = Dtype::kFloat32;
    else if (traits.size == 8)
      dtype = Dtype::kFloat64;
    else
      return false;
    return true;
  }
  return false;
}

std::string describe_type(hid_t type) {
  const TypeTraits traits = inspect_type(type);
  const std::size_t bits = 8 * traits.size;
  switch (traits.type_class) {
    case H5T_INTEGER:
      return (traits.is_signed ? "int" : "uint") + std::to_string(bits);
    case H5T_FLOAT:
      return "float" + std::to_string(bits);
    case H5T_STRING:
      return traits.variable_string
                 ? "variable-length string"
                 : "fixed-length string of " + std::to_string(traits.size) + " bytes";
    case H5T_ENUM:
      return "enum (e.g. numpy bool)";
    case H5T_COMPOUND:
      return "compound (e.g. numpy complex or record)";
    case H5T_ARRAY:
      return "array type";
    case H5T_VLEN:
      return "variable-length sequence";
    case H5T_OPAQUE:
      return "opaque";
    case H5T_REFERENCE:
      return "reference";
    case H5T_BITFIELD:
      return "bitfield";
    case H5T_TIME:
      return "time";
    default:
      return "unknown type";
  }
}

Shape shape_of_space(hid_t space) {
  const int rank = check(H5Sget_simple_extent_ndims(space), "cannot read a dataspace rank");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0) {
    check(H5Sget_simple_extent_dims(space, dims.data(), nullptr), "cannot read dataspace extents");
  }
  return Shape(dims.begin(), dims.end());
}

std::vector<hsize_t> to_hsize(const Shape& shape) {
  return std::vector<hsize_t>(shape.begin(), shape.end());
}

}  // namespace deepnum::io::detail
