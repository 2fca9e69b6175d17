// MatrixMarket exchange format (Boisvert, Pozo and Remington, "The Matrix Market
// Exchange Formats: Initial Design", NIST IR 5935, 1996): a banner line, comment lines
// starting with '%', a size line, then one entry per line with 1-based indices.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/linear/pressure_system.hpp"
#include "deepnum/linear/system_io.hpp"

namespace deepnum::linear {
namespace {

std::string lower_case(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return text;
}

std::vector<std::string> split(const std::string& line) {
  std::istringstream stream(line);
  std::vector<std::string> tokens;
  std::string token;
  while (stream >> token) tokens.push_back(token);
  return tokens;
}

// Reads a file line by line, skipping comments and blank lines, and words every error
// with the file and line.
class MatrixMarketReader {
 public:
  explicit MatrixMarketReader(std::string path) : path_(std::move(path)) {
    // An ifstream opens a directory and then reads nothing: say what it is instead.
    std::error_code error;
    require<IoError>(!std::filesystem::is_directory(path_, error),
                     "MatrixMarket file '",
                     path_,
                     "' is a directory, not a file");
    stream_.open(path_);
    require<IoError>(stream_.good(), "MatrixMarket file '", path_, "' cannot be opened");
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw IoError(fmt::format("MatrixMarket file '{}', line {}: {}", path_, line_number_, what));
  }

  // The banner's object, format, field and symmetry, lower case.
  std::vector<std::string> banner() {
    std::string line;
    if (!std::getline(stream_, line)) fail("empty file; expected a '%%MatrixMarket' banner");
    ++line_number_;
    const std::vector<std::string> words = split(lower_case(line));
    if (words.size() != 5 || words[0] != "%%matrixmarket") {
      fail("expected the banner '%%MatrixMarket matrix <format> <field> <symmetry>', got '" + line +
           "'");
    }
    if (words[1] != "matrix") fail("object '" + words[1] + "' is not supported; expected 'matrix'");
    return words;
  }

  // The next line that is neither a comment nor blank, split into tokens; empty at EOF.
  std::vector<std::string> next_tokens() {
    std::string line;
    while (std::getline(stream_, line)) {
      ++line_number_;
      const auto first = line.find_first_not_of(" \t\r");
      if (first == std::string::npos || line[first] == '%') continue;
      return split(line);
    }
    return {};
  }

  std::int64_t parse_index(const std::string& token, const char* what) const {
    char* end = nullptr;
    errno = 0;
    const long long value = std::strtoll(token.c_str(), &end, 10);
    if (errno != 0 || end == token.c_str() || *end != '\0') {
      fail(fmt::format("{} '{}' is not an integer", what, token));
    }
    return value;
  }

  // A decimal real ("1", "-2.5", "3e-4", "+.5E+2"): strtod alone would also take
  // hexadecimal ("0x10") and "infinity", which the format does not have.
  double parse_value(const std::string& token) const {
    const bool decimal_characters = token.find_first_not_of("0123456789+-.eE") == std::string::npos;
    const std::string lower = lower_case(token);
    const bool non_finite_word =  // reported as "not finite" below
        lower.find("inf") != std::string::npos || lower.find("nan") != std::string::npos;
    if (!decimal_characters && !non_finite_word) {
      fail(fmt::format("value '{}' is not a real number", token));
    }
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(token.c_str(), &end);
    if (end == token.c_str() || *end != '\0' || errno == ERANGE) {
      fail(fmt::format("value '{}' is not a real number", token));
    }
    if (!std::isfinite(value)) fail(fmt::format("value '{}' is not finite", token));
    return value;
  }

  const std::string& path() const { return path_; }
  int line_number() const { return line_number_; }

 private:
  std::string path_;
  std::ifstream stream_;
  int line_number_ = 0;
};

struct Coordinate {
  std::int64_t rows = 0;
  std::int64_t cols = 0;
  bool symmetric = false;
  std::vector<Eigen::Triplet<double, int>> entries;
};

void require_supported_field(MatrixMarketReader& reader, const std::vector<std::string>& banner) {
  if (banner[3] != "real" && banner[3] != "integer" && banner[3] != "double") {
    reader.fail("field '" + banner[3] + "' is not supported; expected 'real' or 'integer'");
  }
}

std::int64_t parse_extent(MatrixMarketReader& reader, const std::string& token, const char* what) {
  const std::int64_t value = reader.parse_index(token, what);
  if (value < 0 || value > std::numeric_limits<int>::max()) {
    reader.fail(
        fmt::format("{} {} is outside [0, {}]", what, value, std::numeric_limits<int>::max()));
  }
  return value;
}

Coordinate read_coordinate(MatrixMarketReader& reader, const std::vector<std::string>& banner) {
  require_supported_field(reader, banner);
  Coordinate matrix;
  if (banner[4] == "symmetric") {
    matrix.symmetric = true;
  } else if (banner[4] != "general") {
    reader.fail("symmetry '" + banner[4] + "' is not supported; expected 'general' or 'symmetric'");
  }

  const std::vector<std::string> size = reader.next_tokens();
  if (size.size() != 3) reader.fail("expected the size line '<rows> <columns> <entries>'");
  matrix.rows = parse_extent(reader, size[0], "row count");
  matrix.cols = parse_extent(reader, size[1], "column count");
  const std::int64_t count = parse_extent(reader, size[2], "entry count");
  if (matrix.symmetric && matrix.rows != matrix.cols) {
    reader.fail(
        fmt::format("a symmetric matrix must be square, got {} x {}", matrix.rows, matrix.cols));
  }

  matrix.entries.reserve(static_cast<std::size_t>(matrix.symmetric ? 2 * count : count));
  for (std::int64_t k = 0; k < count; ++k) {
    const std::vector<std::string> tokens = reader.next_tokens();
    if (tokens.empty()) {
      reader.fail(fmt::format(
          "the file ends after {} of the {} entries its size line announces", k, count));
    }
    if (tokens.size() != 3) {
      reader.fail(fmt::format("expected '<row> <column> <value>', got {} fields", tokens.size()));
    }
    const std::int64_t i = reader.parse_index(tokens[0], "row index");
    const std::int64_t j = reader.parse_index(tokens[1], "column index");
    const double value = reader.parse_value(tokens[2]);
    if (i < 1 || i > matrix.rows || j < 1 || j > matrix.cols) {
      reader.fail(
          fmt::format("entry ({}, {}) lies outside the {} x {} matrix (indices are 1-based)",
                      i,
                      j,
                      matrix.rows,
                      matrix.cols));
    }
    if (matrix.symmetric && i < j) {
      reader.fail(
          fmt::format("entry ({}, {}) is above the diagonal; a symmetric file lists the "
                      "lower triangle (row >= column)",
                      i,
                      j));
    }
    matrix.entries.emplace_back(static_cast<int>(i - 1), static_cast<int>(j - 1), value);
    if (matrix.symmetric && i != j) {
      matrix.entries.emplace_back(static_cast<int>(j - 1), static_cast<int>(i - 1), value);
    }
  }
  if (!reader.next_tokens().empty()) {
    reader.fail(fmt::format("unexpected data after the {} entries the size line announces", count));
  }
  return matrix;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  require<IoError>(stream.good(), "MatrixMarket file '", path, "' cannot be created");
  stream << text;
  stream.close();
  require<IoError>(!stream.fail(), "MatrixMarket file '", path, "': writing failed");
}

}  // namespace

SparseMatrix read_matrix_market(const std::string& path) {
  MatrixMarketReader reader(path);
  const std::vector<std::string> banner = reader.banner();
  if (banner[2] != "coordinate") {
    reader.fail("format '" + banner[2] + "' is not supported for matrices; expected 'coordinate'");
  }
  Coordinate coordinate = read_coordinate(reader, banner);
  SparseMatrix matrix(coordinate.rows, coordinate.cols);
  matrix.setFromTriplets(coordinate.entries.begin(), coordinate.entries.end());  // sums repeats
  matrix.makeCompressed();
  log::debug("read_matrix_market: '{}', {} x {}, {} nonzeros",
             path,
             matrix.rows(),
             matrix.cols(),
             matrix.nonZeros());
  return matrix;
}

Vector read_matrix_market_vector(const std::string& path) {
  MatrixMarketReader reader(path);
  const std::vector<std::string> banner = reader.banner();
  if (banner[2] == "coordinate") {
    Coordinate coordinate = read_coordinate(reader, banner);
    if (coordinate.cols != 1) {
      reader.fail(fmt::format("a vector must have one column, got {}", coordinate.cols));
    }
    Vector vector = Vector::Zero(coordinate.rows);
    for (const auto& entry : coordinate.entries) vector[entry.row()] += entry.value();
    return vector;
  }
  if (banner[2] != "array")
    reader.fail("format '" + banner[2] + "' is not 'array' or 'coordinate'");
  require_supported_field(reader, banner);
  if (banner[4] != "general") reader.fail("a vector must be 'general', got '" + banner[4] + "'");

  const std::vector<std::string> size = reader.next_tokens();
  if (size.size() != 2) reader.fail("expected the size line '<rows> <columns>'");
  const std::int64_t rows = parse_extent(reader, size[0], "row count");
  const std::int64_t cols = parse_extent(reader, size[1], "column count");
  if (cols != 1) reader.fail(fmt::format("a vector must have one column, got {}", cols));
  Vector vector(rows);
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::vector<std::string> tokens = reader.next_tokens();
    if (tokens.empty()) reader.fail(fmt::format("the file ends after {} of {} values", i, rows));
    if (tokens.size() != 1)
      reader.fail(fmt::format("expected one value, got {} fields", tokens.size()));
    vector[i] = reader.parse_value(tokens[0]);
  }
  if (!reader.next_tokens().empty())
    reader.fail(fmt::format("unexpected data after the {} values", rows));
  return vector;
}

void write_matrix_market(const std::string& path, const SparseMatrix& matrix) {
  std::string text = "%%MatrixMarket matrix coordinate real general\n";
  text += fmt::format("{} {} {}\n", matrix.rows(), matrix.cols(), matrix.nonZeros());
  for (int row = 0; row < matrix.outerSize(); ++row) {
    for (SparseMatrix::InnerIterator it(matrix, row); it; ++it) {
      text += fmt::format("{} {} {:.17g}\n", it.row() + 1, it.col() + 1, it.value());
    }
  }
  write_text(path, text);
}

void write_matrix_market_vector(const std::string& path, const Vector& vector) {
  std::string text = "%%MatrixMarket matrix array real general\n";
  text += fmt::format("{} 1\n", vector.size());
  for (Eigen::Index i = 0; i < vector.size(); ++i) text += fmt::format("{:.17g}\n", vector[i]);
  write_text(path, text);
}

ImportedSystem read_matrix_market_system(const std::string& matrix_path,
                                         const std::string& rhs_path) {
  ImportedSystem imported;
  imported.system.matrix = read_matrix_market(matrix_path);
  require<IoError>(imported.system.matrix.rows() == imported.system.matrix.cols(),
                   "MatrixMarket file '",
                   matrix_path,
                   "': the matrix is ",
                   imported.system.matrix.rows(),
                   " x ",
                   imported.system.matrix.cols(),
                   "; a linear system needs a square matrix");
  if (!rhs_path.empty()) {
    imported.rhs = read_matrix_market_vector(rhs_path);
    require<IoError>(imported.rhs.size() == imported.system.matrix.rows(),
                     "MatrixMarket right-hand side '",
                     rhs_path,
                     "' has ",
                     imported.rhs.size(),
                     " entries, the matrix in '",
                     matrix_path,
                     "' has ",
                     imported.system.matrix.rows(),
                     " rows");
  }
  try {
    imported.system.null_space = constant_null_space(imported.system.matrix);
  } catch (const InvalidArgumentError& error) {
    throw InvalidArgumentError(
        fmt::format("MatrixMarket file '{}': {}", matrix_path, error.what()));
  }
  return imported;
}

}  // namespace deepnum::linear
