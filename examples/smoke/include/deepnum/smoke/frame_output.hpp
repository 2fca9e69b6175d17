// Simulation frames in HDF5, with an XDMF sidecar so that ParaView plays them.
//
// Layout of the file (every grid field is C order (nz, ny, nx), x fastest, numpy
// field[z, y, x]; geometry attributes dimension, cells, spacing, origin, axis_order on
// each frame group, see deepnum/io/grid.hpp):
//   /                      attributes scene, dimension, cells, spacing, open_top,
//                          pressure_definition
//   /frames/000012/        one group per frame (1-based step number, six digits)
//       flags      int8     CellFlag codes (0 wall, 1 solid, 2 fluid, 3 air)
//       rhs        float64  b = -h div u* on fluid cells (projected onto range(A)), 0 else
//       pressure   float64  solution x of A x = b on fluid cells, 0 else; the physical
//                           pressure is rho h x / dt (attribute pressure_scale = h / dt)
//       velocity   float64  (nz, ny, nx, 3): face velocities averaged to cell centres (m/s)
//       density, temperature  float64
//     attributes frame, time, dt, solver, iterations, converged, relative_residual,
//     rhs_norm, max_divergence, max_divergence_before, pressure_scale
//   With save_systems, each frame also holds the projected system in the unknowns'
//   numbering (fluid cells in cell order):
//       system/rhs       float64 (unknowns,)
//       system/solution  float64 (unknowns,)
//       system/matrix    CSR group (data, indices, indptr, attrs shape, format) — a hard
//                        link to /system/matrix: the flags never change, so A is stored
//                        once and every frame's group still reads as a complete system
//   /system/matrix, /system/cell_of_unknown (int64: unknown -> cell index)
//
// Atomicity: the file is written through io::AtomicFileWriter in update mode. Frames are
// committed every commit_interval frames (and at finish()): each commit copies the file
// so far, adds the pending frames and renames the copy over the target, so the file on
// disk is always a complete HDF5 file and a crash loses at most the uncommitted frames.
// The copy makes a run's total I/O grow with frames^2 / commit_interval: keep the
// interval at 1 for small grids, raise it (or set it to the frame count) for big ones.
// The XDMF sidecar is rewritten after each commit, listing the committed frames.
// Thread safety: none.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "deepnum/io/file.hpp"
#include "deepnum/io/xdmf.hpp"
#include "deepnum/smoke/smoke_simulation.hpp"

namespace deepnum::smoke {

struct FrameOutputOptions {
  std::string path;           // the HDF5 file (required)
  std::string xdmf_path;      // the sidecar; empty: path with its extension replaced by .xdmf
  bool save_systems = false;  // store matrix, rhs and solution of every frame
  int commit_interval = 1;    // frames per commit (>= 1)
  bool compress = true;       // gzip the larger datasets

  void validate() const;  // throws OptionError naming field, value and rule
};

class FrameOutput {
 public:
  // Opens the first writer (its temporary file beside options.path), so that an unusable
  // path fails here, before any frame is computed: throws OptionError for invalid
  // options and the io::AtomicFileWriter errors (a missing folder, a directory, FIFO or
  // symbolic link at the path or the sidecar's path, a folder that is not writable).
  // The target itself is untouched until the first commit, which replaces an existing
  // file.
  explicit FrameOutput(FrameOutputOptions options);
  // Commits pending frames on a best-effort basis (logging a failure); call finish() to
  // see errors. Never commits again after a failed commit.
  ~FrameOutput();
  FrameOutput(const FrameOutput&) = delete;
  FrameOutput& operator=(const FrameOutput&) = delete;

  // Adds the simulation's current state as frame `step.step`; commits when
  // commit_interval frames are pending. Throws the deepnum::io errors. When writing or
  // committing fails, the frames pending since the last commit are dropped (the file
  // keeps the committed ones) and the next write() starts a new writer.
  void write(const SmokeSimulation& simulation, const StepSummary& step);

  // Commits pending frames and writes the sidecar; throws the deepnum::io errors.
  void finish();

  const std::string& xdmf_path() const { return xdmf_path_; }
  int committed_frames() const { return static_cast<int>(committed_.size()); }

  // The group of a frame: "/frames/000012".
  static std::string frame_group(int frame);

 private:
  void commit();

  FrameOutputOptions options_;
  std::string xdmf_path_;
  std::unique_ptr<io::AtomicFileWriter> writer_;
  std::vector<io::XdmfTimeStep> committed_;
  std::vector<io::XdmfTimeStep> pending_;
  bool file_started_ = false;  // the target holds our header (else: replace on first commit)
};

// One saved frame's system read back: the flags' pressure system (assembled again, with
// its null space) and the stored right-hand side and solution.
struct SavedFrameSystem {
  linear::PressureSystem system;
  linear::Vector rhs;
  linear::Vector solution;
  double time = 0.0;
};

// Reads frame `frame` of a file written with save_systems, checks that the stored matrix
// equals the one assembled from the stored flags, and returns both. Throws the
// deepnum::io errors, and IoError naming the file and frame when the matrices differ.
SavedFrameSystem read_frame_system(const std::string& path, int frame);

}  // namespace deepnum::smoke
