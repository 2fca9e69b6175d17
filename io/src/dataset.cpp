#include "deepnum/io/dataset.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "deepnum/core/options.hpp"
#include "hdf5_support.hpp"

namespace deepnum::io {
namespace {

using detail::check;
using detail::check_id;
using detail::describe;
using detail::Handle;

// Chunk extents of about target_bytes: whole trailing rows where they fit, so that a
// slab of leading indices touches few chunks. chunk[d] = floor(target / bytes of the
// trailing block), and dimensions further out than that are cut to 1.
std::vector<hsize_t> choose_chunk(const Shape& shape,
                                  std::size_t element_bytes,
                                  std::uint64_t target_bytes) {
  std::vector<hsize_t> chunk = detail::to_hsize(shape);
  for (std::size_t d = 0; d < chunk.size(); ++d) {
    std::uint64_t trailing_bytes = element_bytes;
    for (std::size_t e = d + 1; e < chunk.size(); ++e) trailing_bytes *= chunk[e];
    if (trailing_bytes * chunk[d] <= target_bytes) break;
    if (trailing_bytes <= target_bytes) {
      chunk[d] = std::max<hsize_t>(1, target_bytes / trailing_bytes);
      break;
    }
    chunk[d] = 1;
  }
  return chunk;
}

Handle dataset_creation_properties(Dtype dtype, const Shape& shape, const WriteOptions& options) {
  Handle properties(
      check_id(H5Pcreate(H5P_DATASET_CREATE), "cannot create dataset creation properties"),
      H5Pclose);
  const std::uint64_t count = element_count(shape);
  const std::uint64_t bytes = count * size_of(dtype);
  if (shape.empty() || count == 0 || bytes < options.chunk_threshold_bytes) return properties;

  const auto chunk = choose_chunk(shape, size_of(dtype), options.chunk_bytes);
  check(H5Pset_chunk(properties.get(), static_cast<int>(chunk.size()), chunk.data()),
        "cannot set the chunk shape");
  if (options.compress) {
    require<HdfError>(
        check(H5Zfilter_avail(H5Z_FILTER_DEFLATE), "cannot query the gzip filter") > 0,
        "this HDF5 library has no gzip (deflate) filter; set "
        "WriteOptions.compress = false");
    // Shuffling bytes by significance first makes numeric data compress far better.
    check(H5Pset_shuffle(properties.get()), "cannot add the shuffle filter");
    check(H5Pset_deflate(properties.get(), static_cast<unsigned>(options.gzip_level)),
          "cannot add the gzip filter");
  }
  return properties;
}

Handle dataspace_for(const Shape& shape) {
  if (shape.empty()) {
    return Handle(check_id(H5Screate(H5S_SCALAR), "cannot create a scalar dataspace"), H5Sclose);
  }
  const auto dims = detail::to_hsize(shape);
  return Handle(check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                         "cannot create a dataspace of shape ",
                         to_string(shape)),
                H5Sclose);
}

Shape stored_shape(const File& file, const std::string& path, hid_t dataset) {
  const Handle space(
      check_id(H5Dget_space(dataset), "cannot read the dataspace of ", describe(file, path)),
      H5Sclose);
  return detail::shape_of_space(space.get());
}

void require_dtype(const File& file, const std::string& path, hid_t dataset, Dtype expected) {
  const Handle type(
      check_id(H5Dget_type(dataset), "cannot read the type of ", describe(file, path)), H5Tclose);
  Dtype stored{};
  if (!detail::dtype_from_type(type.get(), stored) || stored != expected) {
    throw DtypeMismatchError("dataset " + describe(file, path) + ": expected dtype " +
                             to_string(expected) + ", found " + detail::describe_type(type.get()));
  }
}

void require_shape(const File& file,
                   const std::string& path,
                   const Shape& stored,
                   const Shape& expected) {
  if (stored == expected) return;
  throw ShapeMismatchError("dataset " + describe(file, path) + ": expected shape " +
                           to_string(expected) + " (rank " + std::to_string(expected.size()) +
                           "), found " + to_string(stored) + " (rank " +
                           std::to_string(stored.size()) + ")");
}

// Conversion exceptions during read_dataset_raw_as: values that do not fit abort the read.
struct ConversionReport {
  H5T_conv_except_t exception = H5T_CONV_EXCEPT_RANGE_HI;
  bool aborted = false;
};

H5T_conv_ret_t on_conversion_exception(H5T_conv_except_t exception,
                                       hid_t /*source*/,
                                       hid_t /*destination*/,
                                       void* /*source_value*/,
                                       void* /*destination_value*/,
                                       void* data) {
  if (exception == H5T_CONV_EXCEPT_TRUNCATE || exception == H5T_CONV_EXCEPT_PRECISION) {
    return H5T_CONV_UNHANDLED;  // fraction dropped or float64 rounded: documented
  }
  auto& report = *static_cast<ConversionReport*>(data);
  report.exception = exception;
  report.aborted = true;
  return H5T_CONV_ABORT;
}

const char* describe_exception(H5T_conv_except_t exception) {
  switch (exception) {
    case H5T_CONV_EXCEPT_RANGE_HI:
      return "a value above the largest";
    case H5T_CONV_EXCEPT_RANGE_LOW:
      return "a value below the smallest";
    case H5T_CONV_EXCEPT_PINF:
      return "+infinity, which has no";
    case H5T_CONV_EXCEPT_NINF:
      return "-infinity, which has no";
    case H5T_CONV_EXCEPT_NAN:
      return "NaN, which has no";
    default:
      return "a value without a";
  }
}

bool is_integer(Dtype dtype) {
  return dtype != Dtype::kFloat32 && dtype != Dtype::kFloat64;
}

// Truncates toward zero into Integer; false (and the value) for the first one that is
// NaN, infinite or outside Integer's range [min, 2^digits).
template <class Integer>
bool truncate_into(const std::vector<double>& values, void* out, double& offending) {
  const double high = std::ldexp(1.0, std::numeric_limits<Integer>::digits);
  const double low = std::numeric_limits<Integer>::is_signed ? -high : 0.0;
  auto* target = static_cast<Integer*>(out);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double whole = std::trunc(values[i]);
    if (!(whole >= low && whole < high)) {  // also false for NaN
      offending = values[i];
      return false;
    }
    target[i] = static_cast<Integer>(whole);
  }
  return true;
}

// Floating data into an integer Dtype. HDF5's own float-to-integer conversion does not
// report NaN, so the values are read as double (exact for float32 and float64) and
// checked here.
void read_floats_into_integers(const File& file,
                               const std::string& object,
                               hid_t dataset,
                               Dtype dtype,
                               std::uint64_t count,
                               void* out) {
  std::vector<double> values(count);
  check<CorruptFileError>(
      H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
      "cannot read dataset ",
      describe(file, object));
  double offending = 0.0;
  bool fits = false;
  switch (dtype) {
    case Dtype::kInt8:
      fits = truncate_into<std::int8_t>(values, out, offending);
      break;
    case Dtype::kUInt8:
      fits = truncate_into<std::uint8_t>(values, out, offending);
      break;
    case Dtype::kInt32:
      fits = truncate_into<std::int32_t>(values, out, offending);
      break;
    case Dtype::kInt64:
      fits = truncate_into<std::int64_t>(values, out, offending);
      break;
    case Dtype::kFloat32:
    case Dtype::kFloat64:
      throw InvalidArgumentError("read_floats_into_integers called for " + to_string(dtype));
  }
  if (!fits) {
    std::ostringstream value;
    value << offending;
    throw DtypeMismatchError("dataset " + describe(file, object) + " holds the value " +
                             value.str() + ", which " + to_string(dtype) + " cannot hold");
  }
}

}  // namespace

std::string to_string(Dtype dtype) {
  switch (dtype) {
    case Dtype::kInt8:
      return "int8";
    case Dtype::kUInt8:
      return "uint8";
    case Dtype::kInt32:
      return "int32";
    case Dtype::kInt64:
      return "int64";
    case Dtype::kFloat32:
      return "float32";
    case Dtype::kFloat64:
      return "float64";
  }
  return "unknown Dtype " + std::to_string(static_cast<int>(dtype));
}

std::size_t size_of(Dtype dtype) {
  switch (dtype) {
    case Dtype::kInt8:
    case Dtype::kUInt8:
      return 1;
    case Dtype::kInt32:
    case Dtype::kFloat32:
      return 4;
    case Dtype::kInt64:
    case Dtype::kFloat64:
      return 8;
  }
  throw InvalidArgumentError("unknown Dtype " + std::to_string(static_cast<int>(dtype)));
}

std::string to_string(const Shape& shape) {
  std::ostringstream text;
  text << "(";
  for (std::size_t i = 0; i < shape.size(); ++i) text << (i ? ", " : "") << shape[i];
  if (shape.size() == 1) text << ",";
  text << ")";
  return text.str();
}

std::uint64_t element_count(const Shape& shape) {
  std::uint64_t count = 1;
  for (const auto extent : shape) {
    require<InvalidArgumentError>(
        extent == 0 || count <= std::numeric_limits<std::uint64_t>::max() / extent,
        "shape ",
        to_string(shape),
        " has more elements than 2^64");
    count *= extent;
  }
  return count;
}

void WriteOptions::validate() const {
  require_option(gzip_level >= 1 && gzip_level <= 9,
                 "WriteOptions",
                 "gzip_level",
                 gzip_level,
                 "must be in [1, 9]");
  require_option(chunk_bytes >= 1 && chunk_bytes < (std::uint64_t{1} << 32),
                 "WriteOptions",
                 "chunk_bytes",
                 chunk_bytes,
                 "must be in [1, 2^32) (HDF5's chunk limit)");
}

DatasetInfo dataset_info(const File& file, const std::string& path) {
  const auto lock = detail::lock_hdf5();
  const std::string object = detail::normalize_path(path);
  const Handle dataset = detail::open_dataset(file, object);
  DatasetInfo info;
  info.shape = stored_shape(file, object, dataset.get());

  const Handle type(
      check_id(H5Dget_type(dataset.get()), "cannot read the type of ", describe(file, object)),
      H5Tclose);
  if (!detail::dtype_from_type(type.get(), info.dtype)) {
    throw DtypeMismatchError("dataset " + describe(file, object) +
                             ": expected one of int8, uint8, int32, int64, float32, float64, "
                             "found " +
                             detail::describe_type(type.get()));
  }

  const Handle properties(check_id(H5Dget_create_plist(dataset.get()),
                                   "cannot read the creation properties of ",
                                   describe(file, object)),
                          H5Pclose);
  const H5D_layout_t layout = H5Pget_layout(properties.get());
  if (layout == H5D_LAYOUT_ERROR) {
    detail::fail<HdfError>("cannot read the layout of ", describe(file, object));
  }
  info.chunked = layout == H5D_CHUNKED;
  const int filters = check(
      H5Pget_nfilters(properties.get()), "cannot read the filters of ", describe(file, object));
  for (int i = 0; i < filters; ++i) {
    unsigned flags = 0;
    std::size_t values = 0;
    unsigned config = 0;
    const H5Z_filter_t filter = H5Pget_filter2(
        properties.get(), static_cast<unsigned>(i), &flags, &values, nullptr, 0, nullptr, &config);
    if (filter == H5Z_FILTER_ERROR) {
      detail::fail<HdfError>("cannot read filter ", i, " of ", describe(file, object));
    }
    if (filter == H5Z_FILTER_DEFLATE) info.gzip = true;
  }
  return info;
}

Shape dataset_shape(const File& file, const std::string& path) {
  const auto lock = detail::lock_hdf5();
  const std::string object = detail::normalize_path(path);
  const Handle dataset = detail::open_dataset(file, object);
  return stored_shape(file, object, dataset.get());
}

void write_dataset_raw(File& file,
                       const std::string& path,
                       Dtype dtype,
                       const void* data,
                       const Shape& shape,
                       const WriteOptions& options) {
  options.validate();
  const auto lock = detail::lock_hdf5();
  const std::string object = detail::normalize_path(path);
  detail::require_writable(file, object);
  require<InvalidArgumentError>(
      object != "/", "cannot write a dataset at the root group of '", file.path(), "'");
  const std::uint64_t count = element_count(shape);
  require<InvalidArgumentError>(data != nullptr || count == 0,
                                "write of dataset ",
                                describe(file, object),
                                " with shape ",
                                to_string(shape),
                                " got no data");

  // An existing object is replaced only when asked for, and only if it is a dataset.
  const H5O_type_t existing = detail::object_type(file, object);
  if (existing != H5O_TYPE_UNKNOWN) {
    require<HdfError>(existing == H5O_TYPE_DATASET && options.replace_existing,
                      "cannot write ",
                      describe(file, object),
                      ": ",
                      existing == H5O_TYPE_DATASET
                          ? "a dataset exists there (set WriteOptions.replace_existing)"
                          : "a group exists there");
    check(H5Ldelete(file.id(), object.c_str(), H5P_DEFAULT),
          "cannot replace ",
          describe(file, object));
  }

  const Handle space = dataspace_for(shape);
  const Handle creation = dataset_creation_properties(dtype, shape, options);
  const Handle links = detail::intermediate_group_properties();
  const Handle dataset(check_id(H5Dcreate2(file.id(),
                                           object.c_str(),
                                           detail::file_type(dtype),
                                           space.get(),
                                           links.get(),
                                           creation.get(),
                                           H5P_DEFAULT),
                                "cannot create dataset ",
                                describe(file, object),
                                " (",
                                to_string(dtype),
                                ", shape ",
                                to_string(shape),
                                ")"),
                       H5Dclose);
  if (count == 0) return;
  check(H5Dwrite(dataset.get(), detail::memory_type(dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
        "cannot write dataset ",
        describe(file, object));
}

void read_dataset_raw(const File& file,
                      const std::string& path,
                      Dtype expected,
                      void* out,
                      const Shape& expected_shape) {
  const auto lock = detail::lock_hdf5();
  const std::string object = detail::normalize_path(path);
  const Handle dataset = detail::open_dataset(file, object);
  require_dtype(file, object, dataset.get(), expected);
  require_shape(file, object, stored_shape(file, object, dataset.get()), expected_shape);
  if (element_count(expected_shape) == 0) return;
  check<CorruptFileError>(
      H5Dread(dataset.get(), detail::memory_type(expected), H5S_ALL, H5S_ALL, H5P_DEFAULT, out),
      "cannot read dataset ",
      describe(file, object));
}

void read_dataset_raw_as(const File& file,
                         const std::string& path,
                         Dtype dtype,
                         void* out,
                         const Shape& expected_shape) {
  const auto lock = detail::lock_hdf5();
  const std::string object = detail::normalize_path(path);
  const Handle dataset = detail::open_dataset(file, object);
  const Handle type(
      check_id(H5Dget_type(dataset.get()), "cannot read the type of ", describe(file, object)),
      H5Tclose);
  const H5T_class_t type_class = detail::inspect_type(type.get()).type_class;
  if (type_class != H5T_INTEGER && type_class != H5T_FLOAT) {
    throw DtypeMismatchError("dataset " + describe(file, object) + ": expected a number type " +
                             "convertible to " + to_string(dtype) + ", found " +
                             detail::describe_type(type.get()));
  }
  require_shape(file, object, stored_shape(file, object, dataset.get()), expected_shape);
  const std::uint64_t count = element_count(expected_shape);
  if (count == 0) return;
  if (type_class == H5T_FLOAT && is_integer(dtype)) {
    read_floats_into_integers(file, object, dataset.get(), dtype, count, out);
    return;
  }

  ConversionReport report;
  const Handle transfer(check_id(H5Pcreate(H5P_DATASET_XFER), "cannot create transfer properties"),
                        H5Pclose);
  check(H5Pset_type_conv_cb(transfer.get(), on_conversion_exception, &report),
        "cannot install the conversion check");
  const herr_t status =
      H5Dread(dataset.get(), detail::memory_type(dtype), H5S_ALL, H5S_ALL, transfer.get(), out);
  if (report.aborted) {
    detail::take_error_stack();
    throw DtypeMismatchError(
        "dataset " + describe(file, object) + " (" + detail::describe_type(type.get()) +
        ") holds " + describe_exception(report.exception) + " " + to_string(dtype) + " can hold");
  }
  check<CorruptFileError>(status, "cannot read dataset ", describe(file, object));
}

void read_slab_raw(const File& file,
                   const std::string& path,
                   Dtype expected,
                   const Shape& offset,
                   const Shape& count,
                   void* out) {
  const auto lock = detail::lock_hdf5();
  const std::string object = detail::normalize_path(path);
  const Handle dataset = detail::open_dataset(file, object);
  require_dtype(file, object, dataset.get(), expected);
  const Shape shape = stored_shape(file, object, dataset.get());

  // Bounds: offset + count <= shape in every dimension (written to avoid overflow).
  const auto slab_text = [&] {
    return "slab at offset " + to_string(offset) + " with count " + to_string(count) +
           " of dataset " + describe(file, object) + " with shape " + to_string(shape);
  };
  if (offset.size() != shape.size() || count.size() != shape.size()) {
    throw ShapeMismatchError(
        slab_text() + ": offset and count need rank " + std::to_string(shape.size()) +
        ", got ranks " + std::to_string(offset.size()) + " and " + std::to_string(count.size()));
  }
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (offset[d] > shape[d] || count[d] > shape[d] - offset[d]) {
      throw ShapeMismatchError(slab_text() + ": dimension " + std::to_string(d) + " needs " +
                               std::to_string(offset[d]) + " + " + std::to_string(count[d]) +
                               " <= " + std::to_string(shape[d]));
    }
  }
  if (element_count(count) == 0) return;

  const Handle file_space(
      check_id(
          H5Dget_space(dataset.get()), "cannot read the dataspace of ", describe(file, object)),
      H5Sclose);
  const Handle memory_space = dataspace_for(count);
  if (!shape.empty()) {
    const auto start = detail::to_hsize(offset);
    const auto extent = detail::to_hsize(count);
    check(H5Sselect_hyperslab(
              file_space.get(), H5S_SELECT_SET, start.data(), nullptr, extent.data(), nullptr),
          "cannot select the ",
          slab_text());
  }
  check<CorruptFileError>(H5Dread(dataset.get(),
                                  detail::memory_type(expected),
                                  memory_space.get(),
                                  file_space.get(),
                                  H5P_DEFAULT,
                                  out),
                          "cannot read the ",
                          slab_text());
}

void detail::require_rank(const File& file,
                          const std::string& path,
                          const Shape& shape,
                          std::size_t rank,
                          const char* what) {
  if (shape.size() == rank) return;
  throw ShapeMismatchError("dataset " + describe(file, path) + ": expected rank " +
                           std::to_string(rank) + " (" + what + "), found rank " +
                           std::to_string(shape.size()) + " with shape " + to_string(shape));
}

}  // namespace deepnum::io
