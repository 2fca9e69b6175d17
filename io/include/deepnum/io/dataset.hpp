// Typed N-dimensional datasets: element types, shapes, and raw or typed reads/writes.
//
// Layout: C order (row-major, last index fastest), exactly as numpy/h5py see it. A
// dataset of shape (d0, ..., dk) holds d0 * ... * dk elements; Shape{} is a scalar
// (rank 0, one element). Numbers are stored little-endian in the machine's native
// formats; integer and floating types map one-to-one onto numpy dtypes.
//
// Storage: datasets of at least WriteOptions::chunk_threshold_bytes are chunked and,
// when compress is set, gzip-compressed behind a shuffle filter; smaller ones are
// contiguous. Reads never depend on how the data was stored.
//
// Thread safety: see file.hpp (one process-wide lock around HDF5).
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "deepnum/io/errors.hpp"
#include "deepnum/io/file.hpp"

namespace deepnum::io {

// Element types this layer reads and writes.
enum class Dtype { kInt8, kUInt8, kInt32, kInt64, kFloat32, kFloat64 };

// numpy's name: "int8", "uint8", "int32", "int64", "float32", "float64".
std::string to_string(Dtype dtype);
// Size of one element in bytes.
std::size_t size_of(Dtype dtype);

// The Dtype of a C++ element type (compile error for unsupported types).
template <class T>
constexpr Dtype dtype_of() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, std::int8_t>) {
    return Dtype::kInt8;
  } else if constexpr (std::is_same_v<U, std::uint8_t>) {
    return Dtype::kUInt8;
  } else if constexpr (std::is_same_v<U, std::int32_t>) {
    return Dtype::kInt32;
  } else if constexpr (std::is_same_v<U, std::int64_t>) {
    return Dtype::kInt64;
  } else if constexpr (std::is_same_v<U, float>) {
    return Dtype::kFloat32;
  } else if constexpr (std::is_same_v<U, double>) {
    return Dtype::kFloat64;
  } else {
    static_assert(!std::is_same_v<U, U>,
                  "deepnum::io supports int8, uint8, int32, int64, float and double elements");
  }
}

// Extents, slowest-varying first; empty for a scalar.
using Shape = std::vector<std::uint64_t>;

// numpy's notation: "()", "(5,)", "(3, 4)".
std::string to_string(const Shape& shape);
// Number of elements (1 for a scalar). Throws InvalidArgumentError on overflow.
std::uint64_t element_count(const Shape& shape);

// What a dataset holds.
struct DatasetInfo {
  Dtype dtype = Dtype::kFloat64;
  Shape shape;
  bool chunked = false;  // chunked layout (else contiguous or compact)
  bool gzip = false;     // gzip (deflate) filter present
};

// Inspects a dataset. Throws ObjectNotFoundError when path is not a dataset and
// DtypeMismatchError when its element type is none of Dtype (the message names it).
DatasetInfo dataset_info(const File& file, const std::string& path);

// The shape of a dataset of any element type. Throws ObjectNotFoundError when path is
// not a dataset.
Shape dataset_shape(const File& file, const std::string& path);

// A dense array read from a file: values in C order, values.size() == element_count(shape).
template <class T>
struct NdArray {
  Shape shape;
  std::vector<T> values;
};

// How datasets are created.
struct WriteOptions {
  // gzip-compress (with shuffle) datasets stored chunked.
  bool compress = true;
  // zlib level, 1 (fast) to 9 (small).
  int gzip_level = 4;
  // Datasets of at least this many bytes are chunked; smaller ones are contiguous.
  std::uint64_t chunk_threshold_bytes = std::uint64_t{1} << 20;
  // Target bytes per chunk: whole trailing rows are kept together where they fit.
  std::uint64_t chunk_bytes = std::uint64_t{1} << 20;
  // Replace a dataset already at the path (else writing there throws HdfError). The old
  // dataset's space is not reclaimed inside the file.
  bool replace_existing = false;

  void validate() const;
};

// Writes element_count(shape) elements of type dtype from data (C order) to a new
// dataset at path, creating intermediate groups. data may be null only when the count is
// zero. Throws InvalidArgumentError for a read-only file, HdfError when path exists and
// replace_existing is off or when HDF5 fails.
void write_dataset_raw(File& file,
                       const std::string& path,
                       Dtype dtype,
                       const void* data,
                       const Shape& shape,
                       const WriteOptions& options = {});

// Reads the whole dataset at path into out, which must hold element_count(expected_shape)
// elements of dtype expected. Strict: throws DtypeMismatchError unless the stored type
// is exactly expected, ShapeMismatchError unless the stored shape equals expected_shape.
void read_dataset_raw(const File& file,
                      const std::string& path,
                      Dtype expected,
                      void* out,
                      const Shape& expected_shape);

// As read_dataset_raw, but any stored integer or floating type is converted to dtype.
// Floating values are truncated toward zero into integers; float64 rounds to float32;
// integers beyond 2^24 (2^53) round into float32 (float64). A value the target cannot
// hold (out of its range; NaN or infinity into an integer) throws DtypeMismatchError.
void read_dataset_raw_as(
    const File& file, const std::string& path, Dtype dtype, void* out, const Shape& expected_shape);

// Reads the block [offset, offset + count) of a dataset without loading the rest, into
// out (element_count(count) elements of dtype, C order). Strict dtype as above. Throws
// ShapeMismatchError when offset/count have the wrong rank or reach outside the shape.
void read_slab_raw(const File& file,
                   const std::string& path,
                   Dtype expected,
                   const Shape& offset,
                   const Shape& count,
                   void* out);

namespace detail {
// Throws ShapeMismatchError naming the dataset, the rank and what it should hold
// ("matrix", "vector") unless shape has the given rank.
void require_rank(const File& file,
                  const std::string& path,
                  const Shape& shape,
                  std::size_t rank,
                  const char* what);
}  // namespace detail

// Typed forms of the above.
template <class T>
void write_dataset(File& file,
                   const std::string& path,
                   const T* data,
                   const Shape& shape,
                   const WriteOptions& options = {}) {
  write_dataset_raw(file, path, dtype_of<T>(), data, shape, options);
}

template <class T>
void write_dataset(File& file,
                   const std::string& path,
                   const NdArray<T>& array,
                   const WriteOptions& options = {}) {
  require<InvalidArgumentError>(array.values.size() == element_count(array.shape),
                                "NdArray for '",
                                path,
                                "' has ",
                                array.values.size(),
                                " values but shape ",
                                to_string(array.shape),
                                " needs ",
                                element_count(array.shape));
  write_dataset_raw(file, path, dtype_of<T>(), array.values.data(), array.shape, options);
}

template <class T>
NdArray<T> read_dataset(const File& file, const std::string& path) {
  NdArray<T> array;
  array.shape = dataset_shape(file, path);
  array.values.resize(element_count(array.shape));
  read_dataset_raw(file, path, dtype_of<T>(), array.values.data(), array.shape);
  return array;
}

template <class T>
NdArray<T> read_dataset_as(const File& file, const std::string& path) {
  NdArray<T> array;
  array.shape = dataset_shape(file, path);
  array.values.resize(element_count(array.shape));
  read_dataset_raw_as(file, path, dtype_of<T>(), array.values.data(), array.shape);
  return array;
}

template <class T>
NdArray<T> read_slab(const File& file,
                     const std::string& path,
                     const Shape& offset,
                     const Shape& count) {
  NdArray<T> array;
  array.shape = count;
  array.values.resize(element_count(count));
  read_slab_raw(file, path, dtype_of<T>(), offset, count, array.values.data());
  return array;
}

}  // namespace deepnum::io
