#include "deepnum/smoke/frame_output.hpp"

#include <hdf5.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <utility>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/options.hpp"
#include "deepnum/io/attributes.hpp"
#include "deepnum/io/eigen.hpp"
#include "deepnum/io/grid.hpp"
#include "deepnum/io/output_file.hpp"
#include "deepnum/io/sparse.hpp"

namespace deepnum::smoke {
namespace {

constexpr const char* kSharedMatrixPath = "/system/matrix";

io::GridGeometry geometry_of(const linear::FlagGrid& flags) {
  io::GridGeometry geometry;
  geometry.dimension = flags.dimension();
  geometry.cells = flags.cells();
  geometry.spacing = {flags.spacing(), flags.spacing(), flags.spacing()};
  geometry.origin = {0.0, 0.0, 0.0};
  return geometry;
}

std::string sidecar_path_for(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  const std::size_t dot = path.find_last_of('.');
  const bool has_extension =
      dot != std::string::npos && (slash == std::string::npos || dot > slash);
  return (has_extension ? path.substr(0, dot) : path) + ".xdmf";
}

// Attributes of the file as a whole, written once.
void write_run_attributes(io::File& file, const SmokeSimulation& simulation) {
  const SmokeScene& scene = simulation.scene();
  const linear::FlagGrid& flags = simulation.flags();
  io::write_attribute(file, "/", "scene", std::string(to_string(scene.kind)));
  io::write_attribute(file, "/", "dimension", flags.dimension());
  io::write_attribute(
      file, "/", "cells", std::vector<std::int64_t>{flags.nx(), flags.ny(), flags.nz()});
  io::write_attribute(file, "/", "spacing", flags.spacing());
  io::write_attribute(file, "/", "open_top", static_cast<int>(scene.open_top));
  io::write_attribute(file,
                      "/",
                      "pressure_definition",
                      std::string("A x = b with A the unscaled negative Laplacian over fluid "
                                  "cells, b = -h div u*; physical pressure = rho h x / dt"));
}

// The pressure system shared by every frame: A once, and the unknowns' cells.
void write_shared_system(io::File& file,
                         const SmokeSimulation& simulation,
                         const io::WriteOptions& options) {
  const linear::PressureSystem& system = simulation.pressure_system();
  io::write_csr(file, kSharedMatrixPath, system.system.matrix, options);
  io::write_dataset<std::int64_t>(file,
                                  "/system/cell_of_unknown",
                                  system.cell_of_unknown.data(),
                                  {static_cast<std::uint64_t>(system.cell_of_unknown.size())},
                                  options);
}

// group/system/matrix becomes a second name of /system/matrix (no copy of the data).
void link_shared_matrix(io::File& file, const std::string& system_group) {
  file.create_groups(system_group);
  const std::string link = system_group + "/matrix";
  const herr_t status = H5Lcreate_hard(
      file.id(), kSharedMatrixPath, file.id(), link.c_str(), H5P_DEFAULT, H5P_DEFAULT);
  require<IoError>(status >= 0,
                   "cannot link '",
                   link,
                   "' to '",
                   kSharedMatrixPath,
                   "' in HDF5 file '",
                   file.path(),
                   "'");
}

void write_frame(io::File& file,
                 const SmokeSimulation& simulation,
                 const StepSummary& step,
                 const FrameOutputOptions& output_options) {
  const std::string group = FrameOutput::frame_group(step.step);
  const linear::FlagGrid& flags = simulation.flags();
  const io::GridGeometry geometry = geometry_of(flags);
  io::WriteOptions options;
  options.compress = output_options.compress;

  std::vector<std::int8_t> codes(flags.flags().size());
  for (std::size_t cell = 0; cell < codes.size(); ++cell)
    codes[cell] = to_code(flags.flags()[cell]);
  io::write_grid_field<std::int8_t>(file, group, "flags", codes.data(), geometry, options);
  io::write_grid_field<double>(
      file, group, "rhs", simulation.rhs_field().values().data(), geometry, options);
  io::write_grid_field<double>(
      file, group, "pressure", simulation.pressure_field().values().data(), geometry, options);
  const std::vector<double> velocity = simulation.velocity().cell_centred_vectors();
  io::write_grid_vector_field<double>(file, group, "velocity", velocity.data(), geometry, options);
  io::write_grid_field<double>(
      file, group, "density", simulation.density().values().data(), geometry, options);
  io::write_grid_field<double>(
      file, group, "temperature", simulation.temperature().values().data(), geometry, options);

  const linear::SolveSummary& solve = step.projection.solve;
  io::write_attribute(file, group, "frame", step.step);
  io::write_attribute(file, group, "time", step.time);
  io::write_attribute(file, group, "dt", step.dt);
  io::write_attribute(file, group, "solver", solve.solver);
  io::write_attribute(file, group, "iterations", solve.iterations);
  io::write_attribute(file, group, "converged", static_cast<int>(solve.converged()));
  io::write_attribute(file, group, "relative_residual", solve.relative_residual());
  io::write_attribute(file, group, "rhs_norm", step.projection.rhs_norm);
  io::write_attribute(file, group, "max_divergence", step.projection.max_divergence);
  io::write_attribute(file, group, "max_divergence_before", step.projection.max_divergence_before);
  io::write_attribute(file, group, "pressure_scale", simulation.pressure_scale());

  if (output_options.save_systems) {
    if (!file.exists(kSharedMatrixPath)) write_shared_system(file, simulation, options);
    io::write_vector(file, group + "/system/rhs", simulation.rhs(), options);
    io::write_vector(file, group + "/system/solution", simulation.solution(), options);
    link_shared_matrix(file, group + "/system");
  }
}

}  // namespace

void FrameOutputOptions::validate() const {
  require_option(!path.empty(), "FrameOutputOptions", "path", "''", "must name the HDF5 file");
  require_option(commit_interval >= 1,
                 "FrameOutputOptions",
                 "commit_interval",
                 commit_interval,
                 "must be >= 1");
}

FrameOutput::FrameOutput(FrameOutputOptions options) : options_(std::move(options)) {
  options_.validate();
  xdmf_path_ = options_.xdmf_path.empty() ? sidecar_path_for(options_.path) : options_.xdmf_path;
  // Opening the first writer now checks both paths before any frame is computed.
  io::require_replaceable_file(xdmf_path_, "XDMF file");
  writer_ = std::make_unique<io::AtomicFileWriter>(options_.path, io::WriteMode::kReplace);
}

FrameOutput::~FrameOutput() {
  // Only frames still pending in a live writer are committed: after a failed commit both
  // are gone, and that failure has been reported by the exception.
  if (!writer_ || pending_.empty()) return;
  try {
    commit();
  } catch (const std::exception& error) {
    log::error("frames not saved to '{}': {}", options_.path, error.what());
  }
}

std::string FrameOutput::frame_group(int frame) {
  char name[32];
  std::snprintf(name, sizeof name, "/frames/%06d", frame);
  return name;
}

void FrameOutput::write(const SmokeSimulation& simulation, const StepSummary& step) {
  if (!writer_) {
    // The first writer replaces whatever the target held; later ones extend a copy of it.
    writer_ = std::make_unique<io::AtomicFileWriter>(
        options_.path, file_started_ ? io::WriteMode::kUpdate : io::WriteMode::kReplace);
  }
  try {
    // A writer holding no frame of a file not yet started is a new, empty file.
    if (!file_started_ && pending_.empty()) write_run_attributes(writer_->file(), simulation);
    write_frame(writer_->file(), simulation, step, options_);
  } catch (...) {
    // A half-written frame must not be committed: drop the temporary file and the
    // frames pending in it.
    writer_.reset();
    pending_.clear();
    throw;
  }
  pending_.push_back({frame_group(step.step), step.time});
  if (static_cast<int>(pending_.size()) >= options_.commit_interval) commit();
}

void FrameOutput::finish() {
  if (!pending_.empty()) commit();
}

void FrameOutput::commit() {
  try {
    writer_->commit();
  } catch (...) {
    // The writer is spent and its frames are lost: forget both, so that neither finish()
    // nor the destructor commits again, and let the caller see the cause.
    writer_.reset();
    pending_.clear();
    throw;
  }
  writer_.reset();
  file_started_ = true;
  committed_.insert(committed_.end(), pending_.begin(), pending_.end());
  pending_.clear();
  io::write_xdmf(xdmf_path_, options_.path, committed_);
  log::debug("committed {} frames to '{}'", committed_.size(), options_.path);
}

SavedFrameSystem read_frame_system(const std::string& path, int frame) {
  const io::File file = io::File::open_read(path);
  const std::string group = FrameOutput::frame_group(frame);
  const io::GridGeometry geometry = io::read_grid_geometry(file, group);
  const std::vector<std::int8_t> codes = io::read_grid_field<std::int8_t>(file, group, "flags");
  const linear::FlagGrid flags =
      linear::flag_grid_from_codes(geometry.dimension, geometry.cells, geometry.spacing[0], codes);

  SavedFrameSystem saved;
  saved.system = linear::assemble_pressure_system(flags);
  const linear::SparseMatrix stored = io::read_csr<double, int>(file, group + "/system/matrix");
  const bool same_shape = stored.rows() == saved.system.system.matrix.rows() &&
                          stored.cols() == saved.system.system.matrix.cols();
  require<IoError>(same_shape && (stored - saved.system.system.matrix).norm() == 0.0,
                   "HDF5 file '",
                   path,
                   "' frame ",
                   frame,
                   ": the stored matrix (",
                   stored.rows(),
                   "x",
                   stored.cols(),
                   ", ",
                   stored.nonZeros(),
                   " nonzeros) is not the pressure matrix of the stored flags (",
                   saved.system.system.matrix.rows(),
                   "x",
                   saved.system.system.matrix.cols(),
                   ", ",
                   saved.system.system.matrix.nonZeros(),
                   " nonzeros)");
  saved.rhs = io::read_vector<double>(file, group + "/system/rhs");
  saved.solution = io::read_vector<double>(file, group + "/system/solution");
  saved.time = io::read_attribute<double>(file, group, "time");
  return saved;
}

}  // namespace deepnum::smoke
