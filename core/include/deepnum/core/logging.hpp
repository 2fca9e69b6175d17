// The one logger of DeepNum (spdlog, named "deepnum", writing to stderr).
//
// Library code never prints directly: it logs termination reasons at info and
// per-iteration detail at debug. The level starts from the environment variable
// DEEPNUM_LOG_LEVEL (trace, debug, info, warn, error, critical, off; default info) and
// can be changed at run time, for example from a driver's --log-level flag. Under MPI,
// call log::set_rank(rank) once: ranks other than 0 then only report warnings and errors.
// Thread safety: the logger is thread safe; set_level and set_rank are not meant to race
// with logging from other threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

namespace deepnum::log {

// The shared logger, created on first use with the level from DEEPNUM_LOG_LEVEL.
spdlog::logger& logger();

// Sets the level by name; throws InvalidArgumentError naming the accepted names.
void set_level(std::string_view level_name);

// The current level's name.
std::string level_name();

// Under MPI: rank 0 logs at the chosen level, other ranks only at warn and above.
void set_rank(int rank);

template <class... Args>
void trace(spdlog::format_string_t<Args...> format, Args&&... args) {
  logger().trace(format, std::forward<Args>(args)...);
}
template <class... Args>
void debug(spdlog::format_string_t<Args...> format, Args&&... args) {
  logger().debug(format, std::forward<Args>(args)...);
}
template <class... Args>
void info(spdlog::format_string_t<Args...> format, Args&&... args) {
  logger().info(format, std::forward<Args>(args)...);
}
template <class... Args>
void warn(spdlog::format_string_t<Args...> format, Args&&... args) {
  logger().warn(format, std::forward<Args>(args)...);
}
template <class... Args>
void error(spdlog::format_string_t<Args...> format, Args&&... args) {
  logger().error(format, std::forward<Args>(args)...);
}

}  // namespace deepnum::log
