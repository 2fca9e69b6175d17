#include "deepnum/smoke/triangle_mesh.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <unordered_map>

#include <Eigen/Geometry>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/options.hpp"

namespace deepnum::smoke {
namespace {

// Where a statement came from, for error messages: "bunny.obj:12".
struct SourceLine {
  const std::string& source_name;
  std::int64_t number = 0;
};

[[noreturn]] void throw_malformed(const SourceLine& line, const std::string& what) {
  throw IoError(
      detail::concatenate("OBJ file '", line.source_name, "' line ", line.number, ": ", what));
}

// Splits at blanks and tabs; the views point into `text`.
std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t begin = 0;
  while (begin < text.size()) {
    while (begin < text.size() && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
    std::size_t end = begin;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t') ++end;
    if (end > begin) words.push_back(text.substr(begin, end - begin));
    begin = end;
  }
  return words;
}

double parse_coordinate(std::string_view word, const SourceLine& line) {
  double value = 0.0;
  const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), value);
  if (error != std::errc() || end != word.data() + word.size()) {
    throw_malformed(line, detail::concatenate("'", word, "' is not a number"));
  }
  if (!std::isfinite(value)) {
    throw_malformed(line, detail::concatenate("coordinate '", word, "' is not finite"));
  }
  return value;
}

// The vertex part of a face corner `i`, `i/t`, `i/t/n` or `i//n`, as written (1-based or
// negative). The texture and normal parts must be integers when present.
std::int64_t parse_corner(std::string_view word, const SourceLine& line) {
  std::int64_t parts[3] = {0, 0, 0};
  int part_count = 0;
  std::size_t begin = 0;
  while (true) {
    const std::size_t slash = word.find('/', begin);
    const std::string_view part = word.substr(
        begin, slash == std::string_view::npos ? std::string_view::npos : slash - begin);
    if (part_count == 3) {
      throw_malformed(line, detail::concatenate("face corner '", word, "' has over 3 parts"));
    }
    const bool may_be_empty = part_count == 1;  // `i//n` leaves out the texture index
    if (!part.empty() || !may_be_empty) {
      const auto [end, error] =
          std::from_chars(part.data(), part.data() + part.size(), parts[part_count]);
      if (error != std::errc() || end != part.data() + part.size()) {
        throw_malformed(line, detail::concatenate("face corner '", word, "' is not an index"));
      }
    }
    ++part_count;
    if (slash == std::string_view::npos) break;
    begin = slash + 1;
  }
  if (parts[0] == 0) throw_malformed(line, "vertex index 0 (OBJ indices start at 1)");
  return parts[0];
}

// A face's corners before positive indices are checked against the final vertex count
// (a face may name a vertex that the file defines later).
struct PendingTriangle {
  std::array<std::int64_t, 3> corners;  // 0-based, may be out of range
  std::int64_t line_number;
};

}  // namespace

TriangleMesh read_obj(const std::string& path) {
  // An ifstream opens a directory without complaint and only fails on reading it.
  std::error_code error;
  require<IoError>(
      !std::filesystem::is_directory(path, error), "OBJ file '", path, "' is a directory");
  std::ifstream input(path);
  require<IoError>(input.is_open(), "cannot open OBJ file '", path, "' for reading");
  TriangleMesh mesh = read_obj(input, path);
  log::debug(
      "read '{}': {} vertices, {} triangles", path, mesh.vertices.size(), mesh.triangles.size());
  return mesh;
}

TriangleMesh read_obj(std::istream& input, const std::string& source_name) {
  TriangleMesh mesh;
  std::vector<PendingTriangle> pending;
  SourceLine line{source_name, 0};
  std::string text;
  std::string statement;
  std::int64_t statement_line = 0;

  while (std::getline(input, text)) {
    ++line.number;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    // A trailing backslash continues the statement on the next line.
    if (statement.empty()) statement_line = line.number;
    if (!text.empty() && text.back() == '\\') {
      text.pop_back();
      statement += text;
      statement += ' ';
      continue;
    }
    statement += text;
    const SourceLine here{source_name, statement_line};

    std::string_view content = statement;
    content = content.substr(0, content.find('#'));
    const std::vector<std::string_view> words = split_words(content);
    if (!words.empty() && words[0] == "v") {
      // v x y z [w] (some exporters append r g b: the extra numbers are ignored).
      if (words.size() < 4) {
        throw_malformed(here,
                        detail::concatenate("vertex needs 3 coordinates, got ", words.size() - 1));
      }
      mesh.vertices.emplace_back(parse_coordinate(words[1], here),
                                 parse_coordinate(words[2], here),
                                 parse_coordinate(words[3], here));
      for (std::size_t extra = 4; extra < words.size(); ++extra) {
        parse_coordinate(words[extra], here);
      }
    } else if (!words.empty() && words[0] == "f") {
      if (words.size() < 4) {
        throw_malformed(
            here, detail::concatenate("face needs at least 3 corners, got ", words.size() - 1));
      }
      std::vector<std::int64_t> corners;
      for (std::size_t k = 1; k < words.size(); ++k) {
        const std::int64_t written = parse_corner(words[k], here);
        const auto defined = static_cast<std::int64_t>(mesh.vertices.size());
        // Negative: relative to the vertices read so far (-1 is the last one).
        const std::int64_t resolved = written > 0 ? written - 1 : defined + written;
        if (resolved < 0) {
          throw_malformed(here,
                          detail::concatenate("vertex index ",
                                              written,
                                              " points before the first "
                                              "vertex (",
                                              defined,
                                              " defined so far)"));
        }
        corners.push_back(resolved);
      }
      // Fan triangulation around the first corner.
      for (std::size_t k = 1; k + 1 < corners.size(); ++k) {
        pending.push_back({{corners[0], corners[k], corners[k + 1]}, here.number});
      }
    }
    // Every other statement (vt, vn, vp, g, o, s, usemtl, mtllib, l, p) is skipped.
    statement.clear();
  }
  require<IoError>(!input.bad(), "reading OBJ file '", source_name, "' failed");

  const auto vertex_count = static_cast<std::int64_t>(mesh.vertices.size());
  mesh.triangles.reserve(pending.size());
  for (const PendingTriangle& triangle : pending) {
    std::array<int, 3> corners{};
    for (int k = 0; k < 3; ++k) {
      if (triangle.corners[k] >= vertex_count) {
        throw_malformed(SourceLine{source_name, triangle.line_number},
                        detail::concatenate("vertex index ",
                                            triangle.corners[k] + 1,
                                            " is out of range: the file has ",
                                            vertex_count,
                                            " vertices"));
      }
      corners[k] = static_cast<int>(triangle.corners[k]);
    }
    mesh.triangles.push_back(corners);
  }
  require<IoError>(!mesh.triangles.empty(),
                   "OBJ file '",
                   source_name,
                   "' has no faces (",
                   vertex_count,
                   " vertices, ",
                   line.number,
                   " lines)");
  return mesh;
}

BoundingBox bounding_box(const TriangleMesh& mesh) {
  require<InvalidArgumentError>(!mesh.vertices.empty(), "bounding_box: the mesh has no vertices");
  BoundingBox box{mesh.vertices.front(), mesh.vertices.front()};
  for (const Eigen::Vector3d& vertex : mesh.vertices) {
    box.lower = box.lower.cwiseMin(vertex);
    box.upper = box.upper.cwiseMax(vertex);
  }
  return box;
}

double signed_volume(const TriangleMesh& mesh) {
  // Divergence theorem with the field x/3: V = sum over triangles of a . (b x c) / 6.
  double six_volume = 0.0;
  for (const auto& triangle : mesh.triangles) {
    const Eigen::Vector3d& a = mesh.vertices[triangle[0]];
    const Eigen::Vector3d& b = mesh.vertices[triangle[1]];
    const Eigen::Vector3d& c = mesh.vertices[triangle[2]];
    six_volume += a.dot(b.cross(c));
  }
  return six_volume / 6.0;
}

double surface_area(const TriangleMesh& mesh) {
  double twice_area = 0.0;
  for (const auto& triangle : mesh.triangles) {
    const Eigen::Vector3d& a = mesh.vertices[triangle[0]];
    twice_area += (mesh.vertices[triangle[1]] - a).cross(mesh.vertices[triangle[2]] - a).norm();
  }
  return 0.5 * twice_area;
}

std::int64_t count_open_edges(const TriangleMesh& mesh) {
  std::unordered_map<std::uint64_t, int> uses;
  uses.reserve(3 * mesh.triangles.size());
  for (const auto& triangle : mesh.triangles) {
    for (int k = 0; k < 3; ++k) {
      const auto a = static_cast<std::uint64_t>(triangle[k]);
      const auto b = static_cast<std::uint64_t>(triangle[(k + 1) % 3]);
      ++uses[std::min(a, b) << 32 | std::max(a, b)];
    }
  }
  return std::count_if(uses.begin(), uses.end(), [](const auto& edge) { return edge.second != 2; });
}

void MeshPlacement::validate() const {
  for (int axis = 0; axis < 3; ++axis) {
    require_option(std::isfinite(centre_fraction[axis]),
                   "MeshPlacement",
                   axis == 0   ? "centre_fraction.x"
                   : axis == 1 ? "centre_fraction.y"
                               : "centre_fraction.z",
                   centre_fraction[axis],
                   "must be finite");
  }
  require_option(size_fraction > 0 && std::isfinite(size_fraction),
                 "MeshPlacement",
                 "size_fraction",
                 size_fraction,
                 "must be finite and > 0");
}

TriangleMesh place_mesh(const TriangleMesh& mesh,
                        const BoundingBox& domain,
                        const MeshPlacement& placement) {
  placement.validate();
  const BoundingBox box = bounding_box(mesh);
  const double mesh_size = box.extent().maxCoeff();
  require<InvalidArgumentError>(mesh_size > 0, "place_mesh: the mesh's bounding box is a point");

  // x' = scale (x - centre) + target
  const double scale = placement.size_fraction * domain.extent().minCoeff() / mesh_size;
  const Eigen::Vector3d target =
      domain.lower + placement.centre_fraction.cwiseProduct(domain.extent());
  TriangleMesh placed = mesh;
  for (Eigen::Vector3d& vertex : placed.vertices) {
    vertex = scale * (vertex - box.centre()) + target;
  }
  return placed;
}

}  // namespace deepnum::smoke
