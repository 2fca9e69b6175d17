// Shared pieces of the deepnum::io tests: a scratch folder, the h5py peer, exception
// checks, and the closed-form test values (the same formulas as h5py_peer.py).
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include <boost/test/unit_test.hpp>

namespace io_test {

// A fresh folder under the system temp dir, removed with everything in it.
class ScratchFolder {
 public:
  ScratchFolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "deepnum_io_XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }
  // Names of everything in the folder.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

 private:
  std::filesystem::path path_;
};

// Runs the h5py peer with arguments; returns its exit status (0: all checks passed).
inline int run_peer(const std::string& arguments) {
  const std::string command = std::string(DEEPNUM_PYTHON) + " " + DEEPNUM_SOURCE_DIR +
                              "/tests/io/h5py_peer.py " + arguments;
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Runs action, requires it to throw exactly Error, and returns the message.
template <class Error, class Action>
std::string message_of(Action&& action) {
  try {
    action();
  } catch (const Error& error) {
    BOOST_TEST(typeid(error).name() == typeid(Error).name());
    BOOST_TEST_MESSAGE("message: " << error.what());
    return error.what();
  } catch (const std::exception& other) {
    BOOST_FAIL("expected " << typeid(Error).name() << ", got " << typeid(other).name() << ": "
                           << other.what());
  }
  BOOST_FAIL("expected " << typeid(Error).name() << ", nothing was thrown");
  return {};
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline std::string read_bytes(const std::string& path) {
  std::string bytes;
  std::FILE* stream = std::fopen(path.c_str(), "rb");
  if (stream == nullptr) return bytes;
  char buffer[1 << 16];
  for (std::size_t got; (got = std::fread(buffer, 1, sizeof buffer, stream)) > 0;) {
    bytes.append(buffer, got);
  }
  std::fclose(stream);
  return bytes;
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  stream.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

constexpr int kMatrixRows = 5;
constexpr int kMatrixCols = 7;
constexpr int kVectorLength = 9;

// Element (i, j) of the test matrix of element type T (h5py_peer.element).
template <class T>
T element(int i, int j) {
  if constexpr (std::is_same_v<T, std::int8_t>) {
    return static_cast<T>(((37 * i + 11 * j) % 256) - 128);
  } else if constexpr (std::is_same_v<T, std::uint8_t>) {
    return static_cast<T>((37 * i + 11 * j) % 256);
  } else if constexpr (std::is_same_v<T, std::int32_t>) {
    return static_cast<T>((i - 2 * j) * 100000007);
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    return static_cast<T>(i - 2 * j) * 1000000000039LL;
  } else {
    const double value = static_cast<double>(((3 * i + 5 * j) % 17) - 8) + 1.0 / (1 + i + j);
    return static_cast<T>(value);
  }
}

// Flat index k of shape (2, 3, 4, 5): a - 2b + 3c - 4d + 1 / (1 + k).
inline std::vector<double> nd_array_values() {
  std::vector<double> values;
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 4; ++c)
        for (int d = 0; d < 5; ++d) {
          const auto k = static_cast<double>(values.size());
          values.push_back(static_cast<double>(a - 2 * b + 3 * c - 4 * d) + 1.0 / (1.0 + k));
        }
  return values;
}

constexpr int kBigRows = 1000;
constexpr int kBigCols = 600;

// (i * 7 + j * 3) % 101 - 50 + 0.5 (j % 2), shape (1000, 600).
inline double big_value(int i, int j) {
  return static_cast<double>((i * 7 + j * 3) % 101) - 50.0 + 0.5 * (j % 2);
}

// The dense CSR test matrix (6 x 8): 1 + i - 0.5 j where (3 i + j) % 4 == 0.
inline double csr_value(int i, int j) {
  return (3 * i + j) % 4 == 0 ? 1.0 + i - 0.5 * j : 0.0;
}

// Grid fields of cell (x, y, z).
inline double grid_scalar(int x, int y, int z) {
  return x + 10.0 * y + 100.0 * z;
}
inline std::int8_t grid_flag(int x, int y, int z) {
  return static_cast<std::int8_t>((x + y + z) % 3);
}
inline float grid_vector(int coordinate, int component) {
  return static_cast<float>(coordinate + 0.5 * component);
}

}  // namespace io_test
