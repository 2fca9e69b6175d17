#include "deepnum/core/logging.hpp"

#include <array>
#include <cstdlib>
#include <mutex>
#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>

#include "deepnum/core/error.hpp"

namespace deepnum::log {
namespace {

struct LevelName {
  std::string_view name;
  spdlog::level::level_enum level;
};

constexpr std::array<LevelName, 7> kLevels{{{"trace", spdlog::level::trace},
                                            {"debug", spdlog::level::debug},
                                            {"info", spdlog::level::info},
                                            {"warn", spdlog::level::warn},
                                            {"error", spdlog::level::err},
                                            {"critical", spdlog::level::critical},
                                            {"off", spdlog::level::off}}};

constexpr std::string_view kAcceptedNames = "trace, debug, info, warn, error, critical, off";

spdlog::level::level_enum parse_level(std::string_view name, std::string_view source) {
  for (const auto& entry : kLevels) {
    if (entry.name == name) return entry.level;
  }
  throw InvalidArgumentError(detail::concatenate(
      source, ": unknown log level '", name, "'; expected one of ", kAcceptedNames));
}

// The level the user chose; ranks other than 0 are raised to at least warn.
struct LoggerState {
  std::shared_ptr<spdlog::logger> logger;
  spdlog::level::level_enum chosen_level = spdlog::level::info;
  int rank = 0;

  void apply() {
    logger->set_level(rank == 0 ? chosen_level : std::max(chosen_level, spdlog::level::warn));
  }
};

LoggerState& state() {
  static LoggerState instance = [] {
    LoggerState created;
    created.logger = std::make_shared<spdlog::logger>(
        "deepnum", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
    created.logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [deepnum] [%^%l%$] %v");
    // A bad value in the environment must not abort the first log call (which may run in
    // a destructor or before a program's error handling): keep info and say why.
    std::string environment_problem;
    if (const char* from_environment = std::getenv("DEEPNUM_LOG_LEVEL")) {
      try {
        created.chosen_level = parse_level(from_environment, "environment DEEPNUM_LOG_LEVEL");
      } catch (const InvalidArgumentError& error) {
        environment_problem = error.what();
      }
    }
    created.apply();
    if (!environment_problem.empty()) {
      created.logger->warn("{}; logging at info", environment_problem);
    }
    return created;
  }();
  return instance;
}

}  // namespace

spdlog::logger& logger() {
  return *state().logger;
}

void set_level(std::string_view level_name) {
  state().chosen_level = parse_level(level_name, "log level");
  state().apply();
}

std::string level_name() {
  const auto level = state().chosen_level;
  for (const auto& entry : kLevels) {
    if (entry.level == level) return std::string(entry.name);
  }
  return "info";
}

void set_rank(int rank) {
  state().rank = rank;
  state().apply();
}

}  // namespace deepnum::log
