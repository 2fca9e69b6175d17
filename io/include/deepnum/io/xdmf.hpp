// XDMF 3 sidecar files, so that ParaView and VisIt open the grid groups of an HDF5 file.
//
// The sidecar is a small XML file holding no data: a temporal collection with one
// uniform grid per (group, time) entry, each a 3DCoRectMesh (2DCoRectMesh in 2D) built
// from the group's GridGeometry, with one cell-centred Attribute per field dataset of
// the group: Scalar for shape field_shape(), Vector for vector_field_shape(); other
// datasets are skipped. Data items point into the HDF5 file by its path relative to the
// sidecar's folder, so the pair can be moved together.
//
// XDMF conventions used: CoRectMesh Dimensions count nodes (cells + 1) in z y x order;
// the ORIGIN_DXDYDZ (ORIGIN_DXDY) geometry lists origin and spacing in z y x (y x) order.
#pragma once

#include <string>
#include <vector>

namespace deepnum::io {

// One time step of the collection: a grid group written with write_grid_field.
struct XdmfTimeStep {
  std::string group_path;
  double time = 0.0;
};

// Writes xdmf_path atomically (write_text_atomically: temporary file + rename, the
// target's rules of output_file.hpp) describing steps of h5_path, which must be a
// complete (committed) HDF5 file. Throws InvalidArgumentError for an empty step list, the
// deepnum::io errors for unreadable groups or geometry, HdfError when the sidecar cannot
// be written (a directory or a FIFO at xdmf_path, a folder that is not writable).
void write_xdmf(const std::string& xdmf_path,
                const std::string& h5_path,
                const std::vector<XdmfTimeStep>& steps);

}  // namespace deepnum::io
