// Attributes on groups and datasets: numbers, strings and numeric vectors.
//
// Types on disk: double as float64, integers as int64, vectors as rank-1 arrays,
// strings as UTF-8 (variable length unless StringStorage::kFixedLength is asked for).
// This is what h5py writes for `attrs[name] = 1.5`, `= 3`, `= [..]` and `= "text"`.
//
// Reading accepts a scalar or a one-element rank-1 array for a scalar, and a scalar or
// a rank-1 array for a vector. Integer attributes may be read as double (exact up to
// 2^53); floating attributes are never silently read as integers (DtypeMismatchError).
// Strings may be variable- or fixed-length, ASCII or UTF-8; fixed-length padding is
// stripped.
//
// object_path "/" is the root group. Writing to a missing object_path creates it (and
// any group above it) as a group; writing an existing attribute replaces it.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "deepnum/io/errors.hpp"
#include "deepnum/io/file.hpp"

namespace deepnum::io {

// How a string attribute is written.
enum class StringStorage {
  kVariableLength,  // h5py's default for str
  kFixedLength,     // exactly value.size() bytes, null-padded type
};

void write_attribute(File& file,
                     const std::string& object_path,
                     const std::string& name,
                     double value);
void write_attribute(File& file,
                     const std::string& object_path,
                     const std::string& name,
                     std::int64_t value);
void write_attribute(File& file,
                     const std::string& object_path,
                     const std::string& name,
                     const std::string& value,
                     StringStorage storage = StringStorage::kVariableLength);
void write_attribute(File& file,
                     const std::string& object_path,
                     const std::string& name,
                     const char* value,
                     StringStorage storage = StringStorage::kVariableLength);
void write_attribute(File& file,
                     const std::string& object_path,
                     const std::string& name,
                     const std::vector<double>& values);
void write_attribute(File& file,
                     const std::string& object_path,
                     const std::string& name,
                     const std::vector<std::int64_t>& values);

// Any other integer type (int, long long, std::size_t, ...) is stored as int64; an
// unsigned value above 2^63 - 1 throws InvalidArgumentError. A bool must be cast first.
template <class Integer,
          std::enable_if_t<std::is_integral_v<Integer> && !std::is_same_v<Integer, bool> &&
                               !std::is_same_v<Integer, std::int64_t>,
                           int> = 0>
void write_attribute(File& file,
                     const std::string& object_path,
                     const std::string& name,
                     Integer value) {
  if constexpr (std::is_unsigned_v<Integer> && sizeof(Integer) >= sizeof(std::int64_t)) {
    require<InvalidArgumentError>(
        value <= static_cast<Integer>(std::numeric_limits<std::int64_t>::max()),
        "attribute '",
        name,
        "' of '",
        object_path,
        "': ",
        value,
        " does not fit into int64");
  }
  write_attribute(file, object_path, name, static_cast<std::int64_t>(value));
}

// True when object_path exists and carries an attribute called name.
bool has_attribute(const File& file, const std::string& object_path, const std::string& name);

// Names of the attributes of an object, sorted. Throws ObjectNotFoundError when missing.
std::vector<std::string> attribute_names(const File& file, const std::string& object_path);

// Reads an attribute as T: double, std::int64_t, int, std::string, std::vector<double>
// or std::vector<std::int64_t>. Throws ObjectNotFoundError (object or attribute missing),
// DtypeMismatchError (wrong type or an int64 that does not fit into int) and
// ShapeMismatchError (an array where a scalar is expected, rank above 1).
template <class T>
T read_attribute(const File& file, const std::string& object_path, const std::string& name);

template <>
double read_attribute<double>(const File& file,
                              const std::string& object_path,
                              const std::string& name);
template <>
std::int64_t read_attribute<std::int64_t>(const File& file,
                                          const std::string& object_path,
                                          const std::string& name);
template <>
int read_attribute<int>(const File& file, const std::string& object_path, const std::string& name);
template <>
std::string read_attribute<std::string>(const File& file,
                                        const std::string& object_path,
                                        const std::string& name);
template <>
std::vector<double> read_attribute<std::vector<double>>(const File& file,
                                                        const std::string& object_path,
                                                        const std::string& name);
template <>
std::vector<std::int64_t> read_attribute<std::vector<std::int64_t>>(const File& file,
                                                                    const std::string& object_path,
                                                                    const std::string& name);

}  // namespace deepnum::io
