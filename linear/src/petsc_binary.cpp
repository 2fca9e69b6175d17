// PETSc's binary format (PETSc manual, MatLoad and VecLoad): big-endian 32-bit integers
// and IEEE doubles. A Mat is
//   int classid = 1211216, int rows, int cols, int nnz,
//   int row_lengths[rows], int columns[nnz], double values[nnz]
// and a Vec is
//   int classid = 1211214, int n, double values[n].
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <vector>

#include <fmt/format.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "deepnum/linear/system_io.hpp"

namespace deepnum::linear {
namespace {

constexpr std::int32_t kMatClassId = 1211216;
constexpr std::int32_t kVecClassId = 1211214;

bool host_is_little_endian() {
  const std::uint16_t probe = 1;
  unsigned char first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

// Reverses the bytes of `count` items of `size` bytes each when the host is
// little-endian (the file is big-endian).
void to_or_from_big_endian(void* data, std::size_t size, std::size_t count) {
  if (!host_is_little_endian()) return;
  auto* bytes = static_cast<unsigned char*>(data);
  for (std::size_t k = 0; k < count; ++k) {
    unsigned char* item = bytes + k * size;
    for (std::size_t a = 0, b = size - 1; a < b; ++a, --b) std::swap(item[a], item[b]);
  }
}

class BinaryReader {
 public:
  explicit BinaryReader(std::string path) : path_(std::move(path)) {
    // An ifstream opens a directory and then reads nothing: say what it is instead.
    std::error_code error;
    require<IoError>(!std::filesystem::is_directory(path_, error),
                     "PETSc binary file '",
                     path_,
                     "' is a directory, not a file");
    stream_.open(path_, std::ios::binary);
    require<IoError>(stream_.good(), "PETSc binary file '", path_, "' cannot be opened");
    const std::uintmax_t size = std::filesystem::file_size(path_, error);
    require<IoError>(!error, "PETSc binary file '", path_, "': size unknown: ", error.message());
    size_ = static_cast<std::uint64_t>(size);
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw IoError(fmt::format("PETSc binary file '{}', byte {}: {}", path_, offset_, what));
  }

  bool at_end() { return stream_.peek() == std::char_traits<char>::eof(); }

  template <class T>
  void read(T* out, std::size_t count, const char* what) {
    const auto bytes = static_cast<std::streamsize>(count * sizeof(T));
    stream_.read(reinterpret_cast<char*>(out), bytes);
    if (stream_.gcount() != bytes) {
      fail(fmt::format(
          "the file ends inside {} ({} of {} bytes present)", what, stream_.gcount(), bytes));
    }
    offset_ += static_cast<std::uint64_t>(bytes);
    to_or_from_big_endian(out, sizeof(T), count);
  }

  std::int32_t read_int(const char* what) {
    std::int32_t value = 0;
    read(&value, 1, what);
    return value;
  }

  // Fails unless `bytes` more bytes are in the file: a header's counts are checked with
  // this before anything of their size is allocated.
  void require_remaining(std::uint64_t bytes, const std::string& claim) const {
    const std::uint64_t remaining = size_ - std::min(size_, offset_);
    if (bytes > remaining) {
      fail(fmt::format("{}, {} bytes of data, but the file holds {} bytes, {} of them left",
                       claim,
                       bytes,
                       size_,
                       remaining));
    }
  }

  std::uint64_t offset() const { return offset_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ifstream stream_;
  std::uint64_t size_ = 0;
  std::uint64_t offset_ = 0;
};

SparseMatrix read_mat(BinaryReader& reader) {
  const std::int32_t classid = reader.read_int("the Mat class id");
  if (classid == 0) {
    reader.fail(
        "the class id reads 0: the file was probably written by a PETSc built with "
        "64-bit indices, which this reader does not support");
  }
  if (classid != kMatClassId) {
    reader.fail(fmt::format("class id {} is not a Mat ({})", classid, kMatClassId));
  }
  const std::int32_t rows = reader.read_int("the row count");
  const std::int32_t cols = reader.read_int("the column count");
  const std::int32_t nonzeros = reader.read_int("the nonzero count");
  if (rows < 0 || cols < 0) reader.fail(fmt::format("negative size {} x {}", rows, cols));
  if (nonzeros < 0) {
    reader.fail(
        fmt::format("nonzero count {} marks a dense matrix, which is not supported", nonzeros));
  }
  if (rows != cols) {
    reader.fail(
        fmt::format("the matrix is {} x {}; a linear system needs a square matrix", rows, cols));
  }
  // Row lengths and column indices (4 bytes each), values (8 bytes each).
  const auto data_bytes =
      4 * static_cast<std::uint64_t>(rows) + 12 * static_cast<std::uint64_t>(nonzeros);
  reader.require_remaining(
      data_bytes, fmt::format("the Mat header claims {} rows and {} nonzeros", rows, nonzeros));

  std::vector<std::int32_t> row_lengths(static_cast<std::size_t>(rows));
  reader.read(row_lengths.data(), row_lengths.size(), "the row lengths");
  SparseMatrix matrix(rows, cols);
  matrix.resizeNonZeros(nonzeros);
  std::int64_t offset = 0;
  matrix.outerIndexPtr()[0] = 0;
  for (std::int32_t row = 0; row < rows; ++row) {
    const std::int32_t length = row_lengths[static_cast<std::size_t>(row)];
    if (length < 0) reader.fail(fmt::format("row {} has negative length {}", row, length));
    offset += length;
    if (offset > nonzeros) {
      reader.fail(
          fmt::format("the row lengths add up past the {} nonzeros by row {}", nonzeros, row));
    }
    matrix.outerIndexPtr()[row + 1] = static_cast<int>(offset);
  }
  if (offset != nonzeros) {
    reader.fail(
        fmt::format("the row lengths add up to {}, the header says {} nonzeros", offset, nonzeros));
  }
  reader.read(matrix.innerIndexPtr(), static_cast<std::size_t>(nonzeros), "the column indices");
  reader.read(matrix.valuePtr(), static_cast<std::size_t>(nonzeros), "the values");

  for (std::int32_t row = 0; row < rows; ++row) {
    for (int k = matrix.outerIndexPtr()[row]; k < matrix.outerIndexPtr()[row + 1]; ++k) {
      const int column = matrix.innerIndexPtr()[k];
      if (column < 0 || column >= cols) {
        reader.fail(fmt::format("row {} has column index {} outside [0, {})", row, column, cols));
      }
      if (k > matrix.outerIndexPtr()[row] && column <= matrix.innerIndexPtr()[k - 1]) {
        reader.fail(fmt::format("row {} has unsorted or repeated column index {}", row, column));
      }
    }
  }
  return matrix;
}

Vector read_vec(BinaryReader& reader) {
  const std::int32_t classid = reader.read_int("the Vec class id");
  if (classid != kVecClassId) {
    reader.fail(fmt::format("class id {} after the Mat is not a Vec ({})", classid, kVecClassId));
  }
  const std::int32_t size = reader.read_int("the Vec size");
  if (size < 0) reader.fail(fmt::format("negative Vec size {}", size));
  reader.require_remaining(8 * static_cast<std::uint64_t>(size),
                           fmt::format("the Vec header claims {} entries", size));
  Vector vector(size);
  reader.read(vector.data(), static_cast<std::size_t>(size), "the Vec values");
  return vector;
}

template <class T>
void write_big_endian(std::ofstream& stream, const T* data, std::size_t count) {
  std::vector<T> copy(data, data + count);
  to_or_from_big_endian(copy.data(), sizeof(T), count);
  stream.write(reinterpret_cast<const char*>(copy.data()),
               static_cast<std::streamsize>(count * sizeof(T)));
}

}  // namespace

ImportedSystem read_petsc_binary(const std::string& path) {
  BinaryReader reader(path);
  ImportedSystem imported;
  imported.system.matrix = read_mat(reader);
  if (!reader.at_end()) {
    imported.rhs = read_vec(reader);
    if (imported.rhs.size() != imported.system.matrix.rows()) {
      reader.fail(fmt::format("the Vec has {} entries, the Mat has {} rows",
                              imported.rhs.size(),
                              imported.system.matrix.rows()));
    }
    if (!reader.at_end()) reader.fail("unexpected data after the Mat and the Vec");
  }
  try {
    imported.system.null_space = constant_null_space(imported.system.matrix);
  } catch (const InvalidArgumentError& error) {
    throw InvalidArgumentError(fmt::format("PETSc binary file '{}': {}", path, error.what()));
  }
  log::debug("read_petsc_binary: '{}', {} x {}, {} nonzeros, {}",
             path,
             imported.system.matrix.rows(),
             imported.system.matrix.cols(),
             imported.system.matrix.nonZeros(),
             imported.rhs.size() > 0 ? "with a Vec" : "no Vec");
  return imported;
}

void write_petsc_binary(const std::string& path, const SparseMatrix& matrix, const Vector& rhs) {
  require<InvalidArgumentError>(rhs.size() == 0 || rhs.size() == matrix.rows(),
                                "write_petsc_binary: rhs has ",
                                rhs.size(),
                                " entries, the matrix has ",
                                matrix.rows(),
                                " rows");
  SparseMatrix compressed = matrix;
  compressed.makeCompressed();
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  require<IoError>(stream.good(), "PETSc binary file '", path, "' cannot be created");

  const std::int32_t header[4] = {kMatClassId,
                                  static_cast<std::int32_t>(compressed.rows()),
                                  static_cast<std::int32_t>(compressed.cols()),
                                  static_cast<std::int32_t>(compressed.nonZeros())};
  write_big_endian(stream, header, 4);
  std::vector<std::int32_t> row_lengths(static_cast<std::size_t>(compressed.rows()));
  for (Eigen::Index row = 0; row < compressed.rows(); ++row) {
    row_lengths[static_cast<std::size_t>(row)] =
        compressed.outerIndexPtr()[row + 1] - compressed.outerIndexPtr()[row];
  }
  write_big_endian(stream, row_lengths.data(), row_lengths.size());
  write_big_endian(
      stream, compressed.innerIndexPtr(), static_cast<std::size_t>(compressed.nonZeros()));
  write_big_endian(stream, compressed.valuePtr(), static_cast<std::size_t>(compressed.nonZeros()));
  if (rhs.size() > 0) {
    const std::int32_t vec_header[2] = {kVecClassId, static_cast<std::int32_t>(rhs.size())};
    write_big_endian(stream, vec_header, 2);
    write_big_endian(stream, rhs.data(), static_cast<std::size_t>(rhs.size()));
  }
  stream.close();
  require<IoError>(!stream.fail(), "PETSc binary file '", path, "': writing failed");
}

}  // namespace deepnum::linear
