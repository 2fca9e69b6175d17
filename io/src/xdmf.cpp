#include "deepnum/io/xdmf.hpp"

#include <filesystem>
#include <sstream>

#include "deepnum/core/logging.hpp"
#include "deepnum/io/dataset.hpp"
#include "deepnum/io/errors.hpp"
#include "deepnum/io/file.hpp"
#include "deepnum/io/grid.hpp"
#include "deepnum/io/output_file.hpp"
#include "hdf5_support.hpp"

namespace deepnum::io {
namespace {

namespace fs = std::filesystem;

std::string escape_xml(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
      case '&':
        escaped += "&amp;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      case '\'':
        escaped += "&apos;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

// Numbers with enough digits to round-trip a double.
std::string number_text(double value) {
  std::ostringstream text;
  text.precision(17);
  text << value;
  return text.str();
}

std::string join(const Shape& shape) {
  std::string text;
  for (const auto extent : shape) text += (text.empty() ? "" : " ") + std::to_string(extent);
  return text;
}

// XDMF's NumberType and Precision of a Dtype.
std::string number_type(Dtype dtype) {
  switch (dtype) {
    case Dtype::kInt8:
      return R"(NumberType="Char" Precision="1")";
    case Dtype::kUInt8:
      return R"(NumberType="UChar" Precision="1")";
    case Dtype::kInt32:
      return R"(NumberType="Int" Precision="4")";
    case Dtype::kInt64:
      return R"(NumberType="Int" Precision="8")";
    case Dtype::kFloat32:
      return R"(NumberType="Float" Precision="4")";
    case Dtype::kFloat64:
      return R"(NumberType="Float" Precision="8")";
  }
  return R"(NumberType="Float" Precision="8")";
}

// The h5 file as seen from the sidecar's folder ("frames.h5", "../data/frames.h5").
std::string relative_reference(const std::string& xdmf_path, const std::string& h5_path) {
  const fs::path folder = fs::absolute(xdmf_path).lexically_normal().parent_path();
  const fs::path relative = fs::absolute(h5_path).lexically_normal().lexically_relative(folder);
  return relative.empty() ? fs::absolute(h5_path).string() : relative.generic_string();
}

// Geometry of one grid: nodes, origin and spacing listed slowest axis first (z y x).
void write_topology_and_geometry(std::ostream& xml, const GridGeometry& geometry) {
  const bool is_3d = geometry.dimension == 3;
  Shape nodes;
  std::string origin;
  std::string spacing;
  for (int axis = geometry.dimension - 1; axis >= 0; --axis) {
    const auto a = static_cast<std::size_t>(axis);
    nodes.push_back(static_cast<std::uint64_t>(geometry.cells[a]) + 1);
    origin += (origin.empty() ? "" : " ") + number_text(geometry.origin[a]);
    spacing += (spacing.empty() ? "" : " ") + number_text(geometry.spacing[a]);
  }
  const std::string count = std::to_string(geometry.dimension);
  xml << "        <Topology TopologyType=\"" << (is_3d ? "3DCoRectMesh" : "2DCoRectMesh")
      << "\" Dimensions=\"" << join(nodes) << "\"/>\n"
      << "        <Geometry GeometryType=\"" << (is_3d ? "ORIGIN_DXDYDZ" : "ORIGIN_DXDY") << "\">\n"
      << "          <DataItem Name=\"Origin\" Dimensions=\"" << count
      << "\" NumberType=\"Float\" Precision=\"8\" Format=\"XML\">" << origin << "</DataItem>\n"
      << "          <DataItem Name=\"Spacing\" Dimensions=\"" << count
      << "\" NumberType=\"Float\" Precision=\"8\" Format=\"XML\">" << spacing << "</DataItem>\n"
      << "        </Geometry>\n";
}

// One Attribute per dataset whose shape is a scalar or vector field of the geometry.
void write_attributes(std::ostream& xml,
                      const File& file,
                      const std::string& group,
                      const GridGeometry& geometry,
                      const std::string& h5_reference) {
  for (const auto& name : file.list(group)) {
    const std::string path = (group == "/" ? "" : group) + "/" + name;
    if (!file.is_dataset(path)) continue;
    DatasetInfo info;
    try {
      info = dataset_info(file, path);
    } catch (const DtypeMismatchError&) {
      log::debug("XDMF: skipping '{}' (element type not supported)", path);
      continue;
    }
    const bool scalar = info.shape == geometry.field_shape();
    const bool vector = info.shape == geometry.vector_field_shape();
    if (!scalar && !vector) {
      log::debug(
          "XDMF: skipping '{}' (shape {} is not a field of the grid)", path, to_string(info.shape));
      continue;
    }
    xml << "        <Attribute Name=\"" << escape_xml(name) << "\" AttributeType=\""
        << (scalar ? "Scalar" : "Vector") << "\" Center=\"Cell\">\n"
        << "          <DataItem Dimensions=\"" << join(info.shape) << "\" "
        << number_type(info.dtype) << " Format=\"HDF\">" << escape_xml(h5_reference) << ":"
        << escape_xml(path) << "</DataItem>\n"
        << "        </Attribute>\n";
  }
}

}  // namespace

void write_xdmf(const std::string& xdmf_path,
                const std::string& h5_path,
                const std::vector<XdmfTimeStep>& steps) {
  require<InvalidArgumentError>(
      !steps.empty(), "write_xdmf('", xdmf_path, "'): no time steps given for '", h5_path, "'");
  const File file = File::open_read(h5_path);
  const std::string h5_reference = relative_reference(xdmf_path, h5_path);

  std::ostringstream xml;
  xml << "<?xml version=\"1.0\" ?>\n"
      << "<Xdmf Version=\"3.0\" xmlns:xi=\"http://www.w3.org/2001/XInclude\">\n"
      << "  <Domain>\n"
      << "    <Grid Name=\"TimeSeries\" GridType=\"Collection\" CollectionType=\"Temporal\">\n";
  for (const auto& step : steps) {
    const GridGeometry geometry = read_grid_geometry(file, step.group_path);
    const std::string group = detail::normalize_path(step.group_path);
    xml << "      <Grid Name=\"" << escape_xml(group) << "\" GridType=\"Uniform\">\n"
        << "        <Time Value=\"" << number_text(step.time) << "\"/>\n";
    write_topology_and_geometry(xml, geometry);
    write_attributes(xml, file, group, geometry, h5_reference);
    xml << "      </Grid>\n";
  }
  xml << "    </Grid>\n"
      << "  </Domain>\n"
      << "</Xdmf>\n";

  write_text_atomically(xdmf_path, xml.str(), "XDMF file");
  log::debug("wrote XDMF file '{}' for {} step(s) of '{}'", xdmf_path, steps.size(), h5_path);
}

}  // namespace deepnum::io
