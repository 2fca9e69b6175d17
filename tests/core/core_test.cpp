#define BOOST_TEST_MODULE core
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <thread>

#include <spdlog/sinks/ostream_sink.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/core/options.hpp"
#include "deepnum/core/program.hpp"
#include "deepnum/core/timing.hpp"

namespace {

// Captures what the deepnum logger writes while the fixture lives.
struct CapturedLog {
  std::ostringstream text;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink =
      std::make_shared<spdlog::sinks::ostream_sink_mt>(text);
  CapturedLog() {
    sink->set_pattern("%l %v");
    deepnum::log::logger().sinks().push_back(sink);
  }
  ~CapturedLog() {
    auto& sinks = deepnum::log::logger().sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink), sinks.end());
    deepnum::log::set_level("info");
    deepnum::log::set_rank(0);
  }
};

struct ExampleOptions {
  double rtol = 1e-6;
  void validate() const {
    deepnum::require_option(rtol > 0, "ExampleOptions", "rtol", rtol, "must be > 0");
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(option_error_names_struct_field_value_and_rule) {
  ExampleOptions options;
  options.rtol = -0.5;
  try {
    options.validate();
    BOOST_FAIL("validate() accepted rtol = -0.5");
  } catch (const deepnum::OptionError& error) {
    BOOST_TEST(std::string(error.what()) == "ExampleOptions.rtol = -0.5 is invalid: must be > 0");
  }
}

BOOST_AUTO_TEST_CASE(option_error_is_an_invalid_argument_error) {
  ExampleOptions options;
  options.rtol = 0.0;
  BOOST_CHECK_THROW(options.validate(), deepnum::InvalidArgumentError);
}

BOOST_AUTO_TEST_CASE(require_throws_the_requested_type_with_streamed_message) {
  try {
    deepnum::require<deepnum::NumericalError>(false, "pivot ", 3, " is ", -1.5);
    BOOST_FAIL("require(false) did not throw");
  } catch (const deepnum::NumericalError& error) {
    BOOST_TEST(std::string(error.what()) == "pivot 3 is -1.5");
  }
  BOOST_CHECK_NO_THROW(deepnum::require<deepnum::NumericalError>(true, "unused"));
}

BOOST_AUTO_TEST_CASE(unknown_log_level_is_rejected_with_the_accepted_names) {
  try {
    deepnum::log::set_level("verbose");
    BOOST_FAIL("set_level accepted 'verbose'");
  } catch (const deepnum::InvalidArgumentError& error) {
    const std::string message = error.what();
    BOOST_TEST(message.find("'verbose'") != std::string::npos);
    BOOST_TEST(message.find("trace, debug, info") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(log_level_filters_messages_below_it) {
  CapturedLog captured;
  deepnum::log::set_level("warn");
  deepnum::log::info("hidden {}", 1);
  deepnum::log::warn("shown {}", 2);
  BOOST_TEST(captured.text.str() == "warning shown 2\n");
  BOOST_TEST(deepnum::log::level_name() == "warn");
}

BOOST_AUTO_TEST_CASE(nonzero_rank_reports_only_warnings) {
  CapturedLog captured;
  deepnum::log::set_level("debug");
  deepnum::log::set_rank(1);
  deepnum::log::info("rank one info");
  deepnum::log::error("rank one error");
  BOOST_TEST(captured.text.str() == "error rank one error\n");
}

BOOST_AUTO_TEST_CASE(durations_format_as_clock_time) {
  BOOST_TEST(deepnum::format_duration(0.4) == "0:00");
  BOOST_TEST(deepnum::format_duration(83) == "1:23");
  BOOST_TEST(deepnum::format_duration(3 * 3600 + 5 * 60 + 7) == "3:05:07");
  BOOST_TEST(deepnum::format_duration(-1) == "?");
}

BOOST_AUTO_TEST_CASE(progress_reports_first_and_last_step_with_detail) {
  CapturedLog captured;
  deepnum::ProgressReporter progress("training", 10, /*min_interval_seconds=*/3600.0);
  for (int step = 1; step <= 10; ++step) progress.update(step, "loss 0.5");
  const std::string text = captured.text.str();
  // Throttled to one report an hour: only the first and the final step get through.
  BOOST_TEST(text.find("training: 1/10 (10.0%), loss 0.5") != std::string::npos);
  BOOST_TEST(text.find("training: 10/10 (100.0%), loss 0.5") != std::string::npos);
  BOOST_TEST(text.find("training: 5/10") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(resumed_progress_counts_only_this_runs_units_in_the_rate) {
  CapturedLog captured;
  deepnum::ProgressReporter progress("training", 2000, /*min_interval_seconds=*/0.0);
  progress.resume_from(1000);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  progress.update(1050);
  const std::string text = captured.text.str();
  BOOST_TEST(text.find("training: 1050/2000 (52.5%)") != std::string::npos, text);
  // 50 units in a little over 0.2 s: at most 250 per second. A rate
  // that counted the 1000 resumed units, or only the last one, would be far off.
  const std::size_t rate_at = text.find(", ", text.find("(52.5%)")) + 2;
  const double rate = std::stod(text.substr(rate_at));
  BOOST_TEST(rate > 20.0);
  BOOST_TEST(rate < 300.0);
}

BOOST_AUTO_TEST_CASE(programs_end_every_failure_as_one_error_line_and_status_1) {
  CapturedLog captured;
  BOOST_TEST(deepnum::run_reporting_errors([] { return 2; }) == 2);
  BOOST_TEST(deepnum::run_reporting_errors([]() -> int {
               throw deepnum::InvalidArgumentError("--n must be even, got 17");
             }) == 1);
  BOOST_TEST(deepnum::run_reporting_errors(
                 []() -> int { throw std::bad_alloc(); },
                 [] { return std::string("out of memory: 512^3 cells do not fit"); }) == 1);
  BOOST_TEST(deepnum::run_reporting_errors([]() -> int { throw 42; }) == 1);
  BOOST_TEST(captured.text.str() ==
                 "error --n must be even, got 17\n"
                 "error out of memory: 512^3 cells do not fit\n"
                 "error failed with an exception of unknown type\n",
             captured.text.str());
}

BOOST_AUTO_TEST_CASE(stopwatch_is_monotonic) {
  deepnum::Stopwatch stopwatch;
  const double first = stopwatch.seconds();
  const double second = stopwatch.seconds();
  BOOST_TEST(first >= 0.0);
  BOOST_TEST(second >= first);
}
