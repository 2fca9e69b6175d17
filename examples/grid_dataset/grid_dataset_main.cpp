// deepnum_grid_dataset: writes a time series of 3D grid frames (cell flags, a pressure
// field, a velocity field and the geometry attributes) to HDF5 with an XDMF sidecar for
// ParaView, reads everything back, checks each value against its formula and logs a
// summary.
//
//   deepnum_grid_dataset --output grid.h5 --cells 64 48 32 --frames 3
//   paraview grid.xdmf
//
// Limits: each of --cells in [1, 4096] and at most 2^28 cells in all. A frame holds
// 21 bytes per cell (int8 flags, float64 pressure, 3 float32 velocity components) while it
// is written and again while it is read back: about 11 GiB at the limit.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/program.hpp"
#include "deepnum/core/timing.hpp"
#include "deepnum/io/attributes.hpp"
#include "deepnum/io/dataset.hpp"
#include "deepnum/io/file.hpp"
#include "deepnum/io/grid.hpp"
#include "deepnum/io/output_file.hpp"
#include "deepnum/io/xdmf.hpp"

namespace {

namespace io = deepnum::io;

constexpr double kPi = 3.141592653589793;
constexpr double kTimeStep = 0.25;  // seconds between frames
constexpr int kMostCellsPerAxis = 4096;
constexpr std::int64_t kMostCells = std::int64_t{1} << 28;
constexpr double kBytesPerCell = 1 + 8 + 3 * 4;  // flags, pressure, velocity

struct DriverOptions {
  std::string output = "grid_dataset.h5";
  std::vector<int> cells{32, 24, 16};
  int frames = 2;
  std::string log_level = "info";
};

// Cell kinds stored in `flags`.
enum CellFlag : std::int8_t { kFluid = 0, kSolid = 1, kWall = 2 };

// The fields of one frame, cell (x, y, z) at memory index x + nx (y + ny z).
struct Frame {
  std::vector<std::int8_t> flags;
  std::vector<double> pressure;
  std::vector<float> velocity;  // 3 components per cell, x fastest
};

// Walls on the domain boundary, a solid ball in the middle, fluid elsewhere.
// Pressure p = cos(t) sin(pi X) sin(pi Y) sin(pi Z) on cell centres (X, Y, Z in [0, 1]);
// velocity is the rigid rotation u = (-(Y - 1/2), X - 1/2, 0) scaled by cos(t).
Frame make_frame(const io::GridGeometry& geometry, double time) {
  const auto [nx, ny, nz] = geometry.cells;
  Frame frame;
  // Reserved up front so that a grid too big for memory fails at once, not halfway.
  const auto cells = static_cast<std::size_t>(nx) * ny * nz;
  frame.flags.reserve(cells);
  frame.pressure.reserve(cells);
  frame.velocity.reserve(3 * cells);
  for (int z = 0; z < nz; ++z) {
    for (int y = 0; y < ny; ++y) {
      for (int x = 0; x < nx; ++x) {
        const double cx = (x + 0.5) / nx;
        const double cy = (y + 0.5) / ny;
        const double cz = (z + 0.5) / nz;
        const bool wall = x == 0 || y == 0 || z == 0 || x == nx - 1 || y == ny - 1 || z == nz - 1;
        const double r2 =
            (cx - 0.5) * (cx - 0.5) + (cy - 0.5) * (cy - 0.5) + (cz - 0.5) * (cz - 0.5);
        frame.flags.push_back(wall ? kWall : (r2 < 0.04 ? kSolid : kFluid));
        frame.pressure.push_back(std::cos(time) * std::sin(kPi * cx) * std::sin(kPi * cy) *
                                 std::sin(kPi * cz));
        frame.velocity.push_back(static_cast<float>(-(cy - 0.5) * std::cos(time)));
        frame.velocity.push_back(static_cast<float>((cx - 0.5) * std::cos(time)));
        frame.velocity.push_back(0.0f);
      }
    }
  }
  return frame;
}

std::string frame_group(int frame) {
  return "frames/" + std::to_string(frame);
}

void write_dataset_file(const DriverOptions& options, const io::GridGeometry& geometry) {
  io::AtomicFileWriter writer(options.output);
  io::File& file = writer.file();
  io::write_attribute(file, "/", "title", "DeepNum grid dataset example");
  io::write_attribute(file, "/", "frames", options.frames);
  for (int frame = 0; frame < options.frames; ++frame) {
    const double time = frame * kTimeStep;
    const Frame fields = make_frame(geometry, time);
    const std::string group = frame_group(frame);
    io::write_grid_field(file, group, "flags", fields.flags.data(), geometry);
    io::write_grid_field(file, group, "pressure", fields.pressure.data(), geometry);
    io::write_grid_vector_field(file, group, "velocity", fields.velocity.data(), geometry);
    io::write_attribute(file, group, "time", time);
  }
  writer.commit();
}

// Reads every frame back and counts values that differ from the formulas.
std::uint64_t count_mismatches(const DriverOptions& options, const io::GridGeometry& geometry) {
  const io::File file = io::File::open_read(options.output);
  std::uint64_t mismatches = 0;
  for (int frame = 0; frame < options.frames; ++frame) {
    const std::string group = frame_group(frame);
    const io::GridGeometry read = io::read_grid_geometry(file, group);
    mismatches += read.cells != geometry.cells || read.spacing != geometry.spacing ||
                  read.origin != geometry.origin;
    const double time = io::read_attribute<double>(file, group, "time");
    const Frame expected = make_frame(geometry, time);
    mismatches += io::read_grid_field<std::int8_t>(file, group, "flags") != expected.flags;
    mismatches += io::read_grid_field<double>(file, group, "pressure") != expected.pressure;
    mismatches += io::read_grid_vector_field<float>(file, group, "velocity") != expected.velocity;

    // One z-plane through a slab read: pressure[z = nz / 2, :, :].
    const auto [nx, ny, nz] = geometry.cells;
    const auto plane =
        io::read_slab<double>(file,
                              group + "/pressure",
                              {static_cast<std::uint64_t>(nz / 2), 0, 0},
                              {1, static_cast<std::uint64_t>(ny), static_cast<std::uint64_t>(nx)});
    const auto offset = static_cast<std::ptrdiff_t>(nx) * ny * (nz / 2);
    mismatches +=
        !std::equal(plane.values.begin(), plane.values.end(), expected.pressure.begin() + offset);
  }
  return mismatches;
}

std::int64_t cell_count(const DriverOptions& options) {
  return std::int64_t{options.cells[0]} * options.cells[1] * options.cells[2];
}

std::string grid_text(const DriverOptions& options) {
  return std::to_string(options.cells[0]) + " x " + std::to_string(options.cells[1]) + " x " +
         std::to_string(options.cells[2]);
}

int run(const DriverOptions& options) {
  using deepnum::log::info;
  // Before anything is allocated or created: the grid's size, then the output path.
  deepnum::require<deepnum::InvalidArgumentError>(cell_count(options) <= kMostCells,
                                                  "--cells ",
                                                  grid_text(options),
                                                  " = ",
                                                  cell_count(options),
                                                  " cells, more than the limit of 2^28 = ",
                                                  kMostCells,
                                                  " cells");
  const std::string xdmf_path =
      std::filesystem::path(options.output).replace_extension(".xdmf").string();
  io::require_replaceable_file(options.output, "HDF5 file");
  io::require_replaceable_file(xdmf_path, "XDMF file");
  io::GridGeometry geometry;
  geometry.dimension = 3;
  geometry.cells = {options.cells[0], options.cells[1], options.cells[2]};
  geometry.spacing = {1.0 / options.cells[0], 1.0 / options.cells[1], 1.0 / options.cells[2]};
  geometry.validate();

  deepnum::Stopwatch stopwatch;
  write_dataset_file(options, geometry);
  const double write_seconds = stopwatch.seconds();

  std::vector<io::XdmfTimeStep> steps;
  for (int frame = 0; frame < options.frames; ++frame) {
    steps.push_back({frame_group(frame), frame * kTimeStep});
  }
  io::write_xdmf(xdmf_path, options.output, steps);

  stopwatch.restart();
  const std::uint64_t mismatches = count_mismatches(options, geometry);
  const double read_seconds = stopwatch.seconds();

  const io::File file = io::File::open_read(options.output);
  const io::DatasetInfo pressure = io::dataset_info(file, frame_group(0) + "/pressure");
  info("wrote {} frame(s) of {} x {} x {} cells to '{}' ({:.1f} KiB) in {:.3f} s, sidecar '{}'",
       options.frames,
       geometry.cells[0],
       geometry.cells[1],
       geometry.cells[2],
       options.output,
       static_cast<double>(std::filesystem::file_size(options.output)) / 1024.0,
       write_seconds,
       xdmf_path);
  info("pressure: {} {} ({}), read back in {:.3f} s",
       io::to_string(pressure.dtype),
       io::to_string(pressure.shape),
       pressure.chunked ? (pressure.gzip ? "chunked, gzip" : "chunked") : "contiguous",
       read_seconds);
  if (mismatches != 0) {
    deepnum::log::error("{} checks failed: the file does not hold what was written", mismatches);
    return 1;
  }
  info("all values read back equal the values written");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  DriverOptions options;
  CLI::App app{"Writes a 3D grid time series to HDF5 + XDMF, reads it back and checks it."};
  app.add_option("--output", options.output, "HDF5 file to write (sidecar: same name, .xdmf)")
      ->capture_default_str();
  app.add_option("--cells",
                 options.cells,
                 "cells along x, y, z (each 1 to 4096, at most 2^28 = 268435456 in all)")
      ->expected(3)
      ->check(CLI::Range(1, kMostCellsPerAxis))
      ->capture_default_str();
  app.add_option("--frames", options.frames, "number of time steps")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option(
         "--log-level", options.log_level, "trace, debug, info, warn, error, critical or off")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Every failure ends here as one line and status 1; unwinding removes the temporary file.
  return deepnum::run_reporting_errors(
      [&] {
        deepnum::log::set_level(options.log_level);
        return run(options);
      },
      [&] {
        return fmt::format(
            "out of memory: a frame of the {} grid needs about {:.1f} GiB, twice while it is "
            "read back",
            grid_text(options),
            kBytesPerCell * static_cast<double>(cell_count(options)) / (1 << 30));
      });
}
