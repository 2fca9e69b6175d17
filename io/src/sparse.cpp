#include "deepnum/io/sparse.hpp"

#include "deepnum/io/attributes.hpp"
#include "hdf5_support.hpp"

namespace deepnum::io::detail {
namespace {

std::string describe_group(const File& file, const std::string& group_path) {
  return "CSR group " + describe(file, group_path);
}

// indptr and indices may be stored as int32 or int64 (scipy picks the smaller when it fits).
std::vector<std::int64_t> read_index_array(const File& file,
                                           const std::string& group_path,
                                           const char* name,
                                           std::uint64_t expected_length,
                                           const char* length_rule) {
  const std::string path = group_path + "/" + name;
  // The stored type is inspected here rather than through dataset_info, whose error for a
  // type without a Dtype (uint64, int16) would list every Dtype instead of these two.
  const Handle dataset = open_dataset(file, normalize_path(path));
  const Handle type(
      check_id(H5Dget_type(dataset.get()), "cannot read the type of ", describe(file, path)),
      H5Tclose);
  Dtype dtype = Dtype::kFloat64;
  const bool known = dtype_from_type(type.get(), dtype);
  if (!known || (dtype != Dtype::kInt32 && dtype != Dtype::kInt64)) {
    throw DtypeMismatchError(describe_group(file, group_path) + ": '" + name +
                             "' must be int32 or int64, found " + describe_type(type.get()));
  }
  const Shape expected{expected_length};
  const Shape shape = dataset_shape(file, path);
  if (shape != expected) {
    throw ShapeMismatchError(describe_group(file, group_path) + ": '" + name + "' must have " +
                             length_rule + ", i.e. shape " + to_string(expected) + ", found " +
                             to_string(shape));
  }
  std::vector<std::int64_t> values(expected_length);
  read_dataset_raw_as(file, path, Dtype::kInt64, values.data(), expected);
  return values;
}

}  // namespace

void write_csr_raw(File& file,
                   const std::string& group_path,
                   std::int64_t rows,
                   std::int64_t cols,
                   std::int64_t nonzeros,
                   Dtype value_dtype,
                   const void* values,
                   Dtype index_dtype,
                   const void* outer_index,
                   const void* inner_index,
                   const WriteOptions& options) {
  const auto lock = lock_hdf5();
  const std::string group = normalize_path(group_path);
  require_writable(file, group);
  const H5O_type_t existing = object_type(file, group);
  require<HdfError>(
      existing == H5O_TYPE_UNKNOWN || (existing == H5O_TYPE_GROUP && options.replace_existing),
      "cannot write CSR matrix to ",
      describe(file, group),
      ": ",
      existing == H5O_TYPE_GROUP ? "the group exists (set WriteOptions.replace_existing)"
                                 : "a dataset exists there");
  file.create_groups(group);

  const auto nnz = static_cast<std::uint64_t>(nonzeros);
  write_dataset_raw(file, group + "/data", value_dtype, values, {nnz}, options);
  write_dataset_raw(file, group + "/indices", index_dtype, inner_index, {nnz}, options);
  write_dataset_raw(file,
                    group + "/indptr",
                    index_dtype,
                    outer_index,
                    {static_cast<std::uint64_t>(rows) + 1},
                    options);
  write_attribute(file, group, "shape", std::vector<std::int64_t>{rows, cols});
  write_attribute(file, group, "format", "csr");
}

CsrArrays read_csr_structure(const File& file, const std::string& group_path) {
  const auto lock = lock_hdf5();
  const std::string group = normalize_path(group_path);
  if (object_type(file, group) != H5O_TYPE_GROUP) throw_not_found(file, group, "CSR group");
  const std::string where = describe_group(file, group);

  if (has_attribute(file, group, "format")) {
    const auto format = read_attribute<std::string>(file, group, "format");
    require<CorruptFileError>(
        format == "csr", where, ": attribute 'format' is '", format, "', expected 'csr'");
  }
  const auto shape = read_attribute<std::vector<std::int64_t>>(file, group, "shape");
  require<ShapeMismatchError>(shape.size() == 2,
                              where,
                              ": attribute 'shape' must hold [rows, cols], found ",
                              shape.size(),
                              " entries");
  require<CorruptFileError>(shape[0] >= 0 && shape[1] >= 0,
                            where,
                            ": attribute 'shape' = [",
                            shape[0],
                            ", ",
                            shape[1],
                            "] has a negative extent");

  CsrArrays csr;
  csr.rows = shape[0];
  csr.cols = shape[1];
  csr.indptr = read_index_array(
      file, group, "indptr", static_cast<std::uint64_t>(csr.rows) + 1, "rows + 1 entries");

  // indptr: starts at 0 and never decreases; its last entry is the number of nonzeros.
  require<CorruptFileError>(
      csr.indptr.front() == 0, where, ": indptr[0] = ", csr.indptr.front(), ", expected 0");
  for (std::size_t r = 0; r + 1 < csr.indptr.size(); ++r) {
    require<CorruptFileError>(csr.indptr[r] <= csr.indptr[r + 1],
                              where,
                              ": indptr decreases at row ",
                              r,
                              ": indptr[",
                              r,
                              "] = ",
                              csr.indptr[r],
                              " > indptr[",
                              r + 1,
                              "] = ",
                              csr.indptr[r + 1]);
  }
  const auto nonzeros = static_cast<std::uint64_t>(csr.indptr.back());
  const Shape data_shape = dataset_shape(file, group + "/data");
  require<ShapeMismatchError>(data_shape == Shape{nonzeros},
                              where,
                              ": 'data' must have indptr[rows] = ",
                              nonzeros,
                              " entries, i.e. shape ",
                              to_string(Shape{nonzeros}),
                              ", found ",
                              to_string(data_shape));
  csr.indices = read_index_array(file, group, "indices", nonzeros, "indptr[rows] entries");

  // indices: every column in [0, cols); note rows that scipy would call unsorted.
  for (std::int64_t r = 0; r < csr.rows; ++r) {
    const auto begin = static_cast<std::size_t>(csr.indptr[static_cast<std::size_t>(r)]);
    const auto end = static_cast<std::size_t>(csr.indptr[static_cast<std::size_t>(r) + 1]);
    for (std::size_t k = begin; k < end; ++k) {
      require<CorruptFileError>(csr.indices[k] >= 0 && csr.indices[k] < csr.cols,
                                where,
                                ": indices[",
                                k,
                                "] = ",
                                csr.indices[k],
                                " (row ",
                                r,
                                ") lies outside [0, ",
                                csr.cols,
                                ")");
      if (k > begin && csr.indices[k] <= csr.indices[k - 1]) csr.rows_sorted_and_unique = false;
    }
  }
  return csr;
}

void require_index_range(const File& file,
                         const std::string& group_path,
                         std::int64_t largest,
                         std::int64_t limit,
                         const char* index_type) {
  require<InvalidArgumentError>(largest <= limit,
                                describe_group(file, group_path),
                                ": a size or index of ",
                                largest,
                                " does not fit the requested index type ",
                                index_type);
}

}  // namespace deepnum::io::detail
