// The command-line options that describe a smoke scene, shared by the programs that run
// one (deepnum_smoke, deepnum_dcdm_train): --scene, --n, --height-factor, --dimension,
// --open-top, --mesh, --dt and --max-dt. Header-only; needs CLI11.
#pragma once

#include <cmath>
#include <string>

#include <CLI/CLI.hpp>

#include "deepnum/smoke/smoke_simulation.hpp"

namespace deepnum::smoke {

// CLI11's own range checks print their open upper bound, 1.797e308, in full.
inline CLI::Validator number_at_least_zero() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double value = 0.0;
        const bool parsed = CLI::detail::lexical_cast(text, value);
        return parsed && std::isfinite(value) && value >= 0 ? "" : text + " is not a number >= 0";
      },
      "NUMBER >= 0",
      "number_at_least_zero");
}

inline CLI::Validator number_above_zero() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double value = 0.0;
        const bool parsed = CLI::detail::lexical_cast(text, value);
        return parsed && std::isfinite(value) && value > 0 ? "" : text + " is not a number > 0";
      },
      "NUMBER > 0",
      "number_above_zero");
}

// For options naming a file to write: "" would silently mean "no file".
inline CLI::Validator non_empty_path() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        return text.empty() ? std::string("an empty path names no file") : std::string();
      },
      "PATH",
      "non_empty_path");
}

// Adds the scene options to `app`, writing into `scene` and `scene_name`; after parsing,
// set scene.kind = scene_kind_from_string(scene_name). `scene.resolution` keeps the
// caller's default.
inline void add_scene_options(CLI::App& app, SmokeScene& scene, std::string& scene_name) {
  app.add_option("--scene",
                 scene_name,
                 "plume: smoke rising in a box; bunny: the plume rising past the Stanford bunny")
      ->check(CLI::IsMember({"plume", "bunny"}))
      ->capture_default_str();
  app.add_option("--n", scene.resolution, "cells along x and z, walls included (8 to 1024)")
      ->check(CLI::Range(8, 1024))
      ->capture_default_str();
  app.add_option("--height-factor", scene.height_factor, "ny = round(height_factor n)")
      ->check(CLI::Range(0.25, 4.0))
      ->capture_default_str();
  app.add_option("--dimension", scene.dimension, "2 or 3")
      ->check(CLI::IsMember({2, 3}))
      ->capture_default_str();
  app.add_flag("--open-top", scene.open_top, "top cell layer is air (p = 0) instead of a wall");
  app.add_option("--mesh", scene.mesh_path, "OBJ mesh of the bunny scene's obstacle")
      ->capture_default_str();
  app.add_option("--dt", scene.fixed_dt, "fixed time step in seconds (0: CFL-limited)")
      ->check(number_at_least_zero())
      ->capture_default_str();
  app.add_option("--max-dt", scene.max_dt, "largest CFL-limited time step in seconds")
      ->check(number_above_zero())
      ->capture_default_str();
}

}  // namespace deepnum::smoke
