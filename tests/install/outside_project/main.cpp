// Writes a matrix through the installed deepnum::io, reads it back and compares.
#include <cstdio>
#include <exception>

#include <Eigen/Core>

#include "deepnum/config.hpp"
#include "deepnum/io/eigen.hpp"
#include "deepnum/io/file.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: outside_io <file.h5>\n");
    return 2;
  }
  try {
    Eigen::MatrixXd written(3, 4);
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 4; ++j) written(i, j) = 10.0 * i + 0.5 * j;
    }
    {
      deepnum::io::AtomicFileWriter writer(argv[1]);
      deepnum::io::write_matrix(writer.file(), "/values", written);
      writer.commit();
    }
    const auto file = deepnum::io::File::open_read(argv[1]);
    const auto read = deepnum::io::read_matrix<double>(file, "/values");
    if (read != written) {
      std::fprintf(stderr, "outside_io: read values differ from written values\n");
      return 1;
    }
    std::printf("outside_io: DeepNum %s round-tripped a 3x4 matrix\n", DEEPNUM_VERSION_STRING);
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "outside_io: %s\n", error.what());
    return 1;
  }
}
