#include "deepnum/io/attributes.hpp"

#include <cstring>
#include <limits>

#include "hdf5_support.hpp"

namespace deepnum::io {
namespace {

using detail::check;
using detail::check_id;
using detail::describe;
using detail::Handle;

std::string describe_attribute(const File& file,
                               const std::string& object_path,
                               const std::string& name) {
  return "attribute '" + name + "' of " + describe(file, object_path);
}

Handle open_object(const File& file, const std::string& object_path) {
  if (detail::object_type(file, object_path) == H5O_TYPE_UNKNOWN) {
    detail::throw_not_found(file, object_path, "object");
  }
  return Handle(check_id(H5Oopen(file.id(), object_path.c_str(), H5P_DEFAULT),
                         "cannot open ",
                         describe(file, object_path)),
                H5Oclose);
}

// Creates (or replaces) the attribute and writes buffer with memory type memory.
void write_attribute_data(File& file,
                          const std::string& path,
                          const std::string& name,
                          hid_t stored_type,
                          hid_t memory,
                          const std::vector<std::uint64_t>& shape,
                          const void* buffer) {
  const auto lock = detail::lock_hdf5();
  const std::string object_path = detail::normalize_path(path);
  detail::require_writable(file, object_path);
  require<InvalidArgumentError>(
      !name.empty(), "attribute of ", describe(file, object_path), " needs a non-empty name");
  if (detail::object_type(file, object_path) == H5O_TYPE_UNKNOWN) {
    file.create_groups(object_path);
  }
  const Handle object = open_object(file, object_path);
  const htri_t exists = check(H5Aexists(object.get(), name.c_str()),
                              "cannot look up ",
                              describe_attribute(file, object_path, name));
  if (exists > 0) {
    check(H5Adelete(object.get(), name.c_str()),
          "cannot replace ",
          describe_attribute(file, object_path, name));
  }

  const auto dims = detail::to_hsize(shape);
  const Handle space(
      check_id(dims.empty() ? H5Screate(H5S_SCALAR)
                            : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
               "cannot create the dataspace of ",
               describe_attribute(file, object_path, name)),
      H5Sclose);
  const Handle attribute(
      check_id(H5Acreate2(
                   object.get(), name.c_str(), stored_type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
               "cannot create ",
               describe_attribute(file, object_path, name)),
      H5Aclose);
  if (element_count(shape) == 0) return;
  check(H5Awrite(attribute.get(), memory, buffer),
        "cannot write ",
        describe_attribute(file, object_path, name));
}

// An open attribute together with its stored type and shape.
struct OpenAttribute {
  Handle attribute;
  Handle type;
  Shape shape;
  std::string description;
};

OpenAttribute open_attribute(const File& file, const std::string& path, const std::string& name) {
  const std::string object_path = detail::normalize_path(path);
  OpenAttribute opened;
  opened.description = describe_attribute(file, object_path, name);
  const Handle object = open_object(file, object_path);
  const htri_t exists =
      check(H5Aexists(object.get(), name.c_str()), "cannot look up ", opened.description);
  if (exists == 0) {
    std::string message = "no " + opened.description + " (it has ";
    const auto names = attribute_names(file, object_path);
    if (names.empty()) message += "no attributes";
    for (std::size_t i = 0; i < names.size(); ++i) message += (i ? ", '" : "'") + names[i] + "'";
    throw ObjectNotFoundError(message + ")");
  }
  opened.attribute = Handle(
      check_id(
          H5Aopen(object.get(), name.c_str(), H5P_DEFAULT), "cannot open ", opened.description),
      H5Aclose);
  opened.type = Handle(
      check_id(H5Aget_type(opened.attribute.get()), "cannot read the type of ", opened.description),
      H5Tclose);
  const Handle space(check_id(H5Aget_space(opened.attribute.get()),
                              "cannot read the dataspace of ",
                              opened.description),
                     H5Sclose);
  opened.shape = detail::shape_of_space(space.get());
  return opened;
}

// Scalars may be stored as rank 0 or as a one-element rank-1 array; vectors as rank 0 or 1.
void require_attribute_shape(const OpenAttribute& opened, bool scalar) {
  const bool accepted =
      scalar ? (opened.shape.empty() || (opened.shape.size() == 1 && opened.shape[0] == 1))
             : opened.shape.size() <= 1;
  if (!accepted) {
    throw ShapeMismatchError(opened.description + ": expected " +
                             (scalar ? "a scalar (shape () or (1,))" : "a vector (rank 1)") +
                             ", found shape " + to_string(opened.shape));
  }
}

// Numbers are read in a type that holds every stored value exactly: integers as int64
// (unsigned 64-bit ones as uint64, then range-checked), floats as double.
struct Numbers {
  bool integer = false;
  std::vector<std::int64_t> integers;
  std::vector<double> floats;
};

Numbers read_numbers(const OpenAttribute& opened, const char* expected) {
  const detail::TypeTraits traits = detail::inspect_type(opened.type.get());
  if (traits.type_class != H5T_INTEGER && traits.type_class != H5T_FLOAT) {
    throw DtypeMismatchError(opened.description + ": expected " + expected + ", found " +
                             detail::describe_type(opened.type.get()));
  }
  const std::size_t count = element_count(opened.shape);
  Numbers numbers;
  numbers.integer = traits.type_class == H5T_INTEGER;
  if (count == 0) return numbers;  // HDF5 refuses to read into an empty buffer
  if (traits.type_class == H5T_FLOAT) {
    numbers.floats.resize(count);
    check<CorruptFileError>(
        H5Aread(opened.attribute.get(), H5T_NATIVE_DOUBLE, numbers.floats.data()),
        "cannot read ",
        opened.description);
    return numbers;
  }
  numbers.integer = true;
  numbers.integers.resize(count);
  const bool unsigned_64 = !traits.is_signed && traits.size >= 8;
  if (!unsigned_64) {
    check<CorruptFileError>(
        H5Aread(opened.attribute.get(), H5T_NATIVE_INT64, numbers.integers.data()),
        "cannot read ",
        opened.description);
    return numbers;
  }
  std::vector<std::uint64_t> unsigned_values(count);
  check<CorruptFileError>(
      H5Aread(opened.attribute.get(), H5T_NATIVE_UINT64, unsigned_values.data()),
      "cannot read ",
      opened.description);
  for (std::size_t i = 0; i < count; ++i) {
    if (unsigned_values[i] > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw DtypeMismatchError(opened.description + ": value " +
                               std::to_string(unsigned_values[i]) + " does not fit into int64");
    }
    numbers.integers[i] = static_cast<std::int64_t>(unsigned_values[i]);
  }
  return numbers;
}

std::vector<double> as_doubles(const Numbers& numbers) {
  if (!numbers.integer) return numbers.floats;
  return std::vector<double>(numbers.integers.begin(), numbers.integers.end());
}

std::vector<std::int64_t> as_integers(const OpenAttribute& opened,
                                      const Numbers& numbers,
                                      const char* expected) {
  if (!numbers.integer) {
    throw DtypeMismatchError(opened.description + ": expected " + expected + ", found " +
                             detail::describe_type(opened.type.get()));
  }
  return numbers.integers;
}

// Strips a fixed-length string's padding as its pad type says.
std::string unpad(std::string text, H5T_str_t padding) {
  if (padding == H5T_STR_SPACEPAD) {
    const auto end = text.find_last_not_of(' ');
    return end == std::string::npos ? std::string() : text.substr(0, end + 1);
  }
  const auto nul = text.find('\0');
  return nul == std::string::npos ? text : text.substr(0, nul);
}

}  // namespace

void write_attribute(File& file,
                     const std::string& object_path,
                     const std::string& name,
                     double value) {
  write_attribute_data(file, object_path, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {}, &value);
}

void write_attribute(File& file,
                     const std::string& object_path,
                     const std::string& name,
                     std::int64_t value) {
  write_attribute_data(file, object_path, name, H5T_STD_I64LE, H5T_NATIVE_INT64, {}, &value);
}

void write_attribute(File& file,
                     const std::string& object_path,
                     const std::string& name,
                     const std::string& value,
                     StringStorage storage) {
  const auto lock = detail::lock_hdf5();
  require<InvalidArgumentError>(value.find('\0') == std::string::npos,
                                "string for attribute '",
                                name,
                                "' of ",
                                describe(file, object_path),
                                " contains a NUL character");
  const Handle type(check_id(H5Tcopy(H5T_C_S1), "cannot create a string type"), H5Tclose);
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "cannot set UTF-8 encoding");
  if (storage == StringStorage::kVariableLength) {
    // Variable-length strings are written as one char pointer, like h5py's str.
    check(H5Tset_size(type.get(), H5T_VARIABLE), "cannot make a variable-length string type");
    check(H5Tset_strpad(type.get(), H5T_STR_NULLTERM), "cannot set string padding");
    const char* pointer = value.c_str();
    write_attribute_data(file, object_path, name, type.get(), type.get(), {}, &pointer);
    return;
  }
  // HDF5 has no zero-length fixed strings: an empty value is one NUL byte.
  check(H5Tset_size(type.get(), std::max<std::size_t>(1, value.size())),
        "cannot size a fixed-length string type");
  check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "cannot set string padding");
  std::string buffer = value;
  buffer.resize(std::max<std::size_t>(1, value.size()), '\0');
  write_attribute_data(file, object_path, name, type.get(), type.get(), {}, buffer.data());
}

void write_attribute(File& file,
                     const std::string& object_path,
                     const std::string& name,
                     const char* value,
                     StringStorage storage) {
  require<InvalidArgumentError>(
      value != nullptr, "null string for attribute '", name, "' of '", object_path, "'");
  write_attribute(file, object_path, name, std::string(value), storage);
}

void write_attribute(File& file,
                     const std::string& object_path,
                     const std::string& name,
                     const std::vector<double>& values) {
  write_attribute_data(
      file, object_path, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {values.size()}, values.data());
}

void write_attribute(File& file,
                     const std::string& object_path,
                     const std::string& name,
                     const std::vector<std::int64_t>& values) {
  write_attribute_data(
      file, object_path, name, H5T_STD_I64LE, H5T_NATIVE_INT64, {values.size()}, values.data());
}

bool has_attribute(const File& file, const std::string& object_path, const std::string& name) {
  const auto lock = detail::lock_hdf5();
  const std::string path = detail::normalize_path(object_path);
  if (detail::object_type(file, path) == H5O_TYPE_UNKNOWN) return false;
  const htri_t exists = check(H5Aexists_by_name(file.id(), path.c_str(), name.c_str(), H5P_DEFAULT),
                              "cannot look up ",
                              describe_attribute(file, path, name));
  return exists > 0;
}

namespace {
herr_t collect_attribute_name(hid_t /*object*/,
                              const char* name,
                              const H5A_info_t* /*info*/,
                              void* data) {
  static_cast<std::vector<std::string>*>(data)->emplace_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> attribute_names(const File& file, const std::string& object_path) {
  const auto lock = detail::lock_hdf5();
  const std::string path = detail::normalize_path(object_path);
  const Handle object = open_object(file, path);
  std::vector<std::string> names;
  hsize_t index = 0;
  check(
      H5Aiterate2(object.get(), H5_INDEX_NAME, H5_ITER_INC, &index, collect_attribute_name, &names),
      "cannot list the attributes of ",
      describe(file, path));
  return names;
}

template <>
double read_attribute<double>(const File& file,
                              const std::string& object_path,
                              const std::string& name) {
  const auto lock = detail::lock_hdf5();
  const OpenAttribute opened = open_attribute(file, object_path, name);
  require_attribute_shape(opened, true);
  return as_doubles(read_numbers(opened, "a float64 scalar")).front();
}

template <>
std::int64_t read_attribute<std::int64_t>(const File& file,
                                          const std::string& object_path,
                                          const std::string& name) {
  const auto lock = detail::lock_hdf5();
  const OpenAttribute opened = open_attribute(file, object_path, name);
  require_attribute_shape(opened, true);
  const auto numbers = read_numbers(opened, "an int64 scalar");
  return as_integers(opened, numbers, "an int64 scalar").front();
}

template <>
int read_attribute<int>(const File& file, const std::string& object_path, const std::string& name) {
  const std::int64_t value = read_attribute<std::int64_t>(file, object_path, name);
  if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max()) {
    throw DtypeMismatchError(describe_attribute(file, object_path, name) + ": value " +
                             std::to_string(value) + " does not fit into int (int32)");
  }
  return static_cast<int>(value);
}

template <>
std::string read_attribute<std::string>(const File& file,
                                        const std::string& object_path,
                                        const std::string& name) {
  const auto lock = detail::lock_hdf5();
  const OpenAttribute opened = open_attribute(file, object_path, name);
  require_attribute_shape(opened, true);
  const hid_t stored = opened.type.get();
  const detail::TypeTraits traits = detail::inspect_type(stored);
  if (traits.type_class != H5T_STRING) {
    throw DtypeMismatchError(opened.description + ": expected a string, found " +
                             detail::describe_type(stored));
  }

  const Handle memory(check_id(H5Tcopy(stored), "cannot copy the type of ", opened.description),
                      H5Tclose);
  if (traits.variable_string) {
    // HDF5 allocates the string; it is released with the library's reclaim call.
    char* text = nullptr;
    check<CorruptFileError>(
        H5Aread(opened.attribute.get(), memory.get(), &text), "cannot read ", opened.description);
    std::string value = text ? text : "";
    const Handle space(check_id(H5Aget_space(opened.attribute.get()),
                                "cannot read the dataspace of ",
                                opened.description),
                       H5Sclose);
    check(H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, &text),
          "cannot release the string read from ",
          opened.description);
    return value;
  }
  std::string buffer(traits.size, '\0');
  check<CorruptFileError>(H5Aread(opened.attribute.get(), memory.get(), buffer.data()),
                          "cannot read ",
                          opened.description);
  return unpad(buffer, traits.padding);
}

template <>
std::vector<double> read_attribute<std::vector<double>>(const File& file,
                                                        const std::string& object_path,
                                                        const std::string& name) {
  const auto lock = detail::lock_hdf5();
  const OpenAttribute opened = open_attribute(file, object_path, name);
  require_attribute_shape(opened, false);
  return as_doubles(read_numbers(opened, "a float64 vector"));
}

template <>
std::vector<std::int64_t> read_attribute<std::vector<std::int64_t>>(const File& file,
                                                                    const std::string& object_path,
                                                                    const std::string& name) {
  const auto lock = detail::lock_hdf5();
  const OpenAttribute opened = open_attribute(file, object_path, name);
  require_attribute_shape(opened, false);
  const auto numbers = read_numbers(opened, "an int64 vector");
  return as_integers(opened, numbers, "an int64 vector");
}

}  // namespace deepnum::io
