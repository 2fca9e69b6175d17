#include "deepnum/core/timing.hpp"

#include <cmath>
#include <cstdio>

#include "deepnum/core/logging.hpp"

namespace deepnum {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<long long>(std::llround(seconds));
  const long long hours = total / 3600;
  const long long minutes = (total / 60) % 60;
  const long long secs = total % 60;
  char buffer[64];
  if (hours > 0) {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", hours, minutes, secs);
  } else {
    std::snprintf(buffer, sizeof buffer, "%lld:%02lld", minutes, secs);
  }
  return buffer;
}

ProgressReporter::ProgressReporter(std::string task,
                                   std::int64_t total,
                                   double min_interval_seconds)
    : task_(std::move(task)), total_(total), min_interval_seconds_(min_interval_seconds) {}

void ProgressReporter::update(std::int64_t done, std::string_view detail) {
  const double now = stopwatch_.seconds();
  const bool first_or_last = last_report_seconds_ < 0 || done >= total_;
  if (!first_or_last && now - last_report_seconds_ < min_interval_seconds_) return;
  last_report_seconds_ = now;

  const double rate = now > 0 ? static_cast<double>(done - first_done_) / now : 0.0;
  const double left = rate > 0 ? static_cast<double>(total_ - done) / rate : -1.0;
  const double percent = total_ > 0 ? 100.0 * static_cast<double>(done) / total_ : 100.0;
  log::info("{}: {}/{} ({:.1f}%){}{}, {:.3g}/s, {} elapsed, {} left",
            task_,
            done,
            total_,
            percent,
            detail.empty() ? "" : ", ",
            detail,
            rate,
            format_duration(now),
            format_duration(left));
}

}  // namespace deepnum
