// Wall-clock timing and progress reporting for long work.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace deepnum {

// Measures elapsed wall-clock seconds from construction or the last restart().
class Stopwatch {
 public:
  Stopwatch() : start_(Clock::now()) {}
  void restart() { start_ = Clock::now(); }
  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point start_;
};

// Formats seconds as H:MM:SS (or M:SS under an hour).
std::string format_duration(double seconds);

// Logs "<task>: 40/100 (40.0%), <detail>, 12.3 /s, 0:42 left" at info, at most once
// every min_interval_seconds (and always for the first and last step), so that a
// training run or a long simulation shows where it is and how long it has to go.
class ProgressReporter {
 public:
  ProgressReporter(std::string task, std::int64_t total, double min_interval_seconds = 2.0);

  // A resumed run: `done` units were finished before this run started. They count in
  // the percentage but not in the rate (units per second of this run).
  void resume_from(std::int64_t done) { first_done_ = done; }

  // Reports that `done` of `total` units are finished; `detail` is e.g. "loss 1.2e-3".
  void update(std::int64_t done, std::string_view detail = {});

  double elapsed_seconds() const { return stopwatch_.seconds(); }

 private:
  std::string task_;
  std::int64_t total_;
  double min_interval_seconds_;
  Stopwatch stopwatch_;
  double last_report_seconds_ = -1.0;
  std::int64_t first_done_ = 0;
};

}  // namespace deepnum
