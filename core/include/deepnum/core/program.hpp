// How DeepNum's command-line programs end: every failure as one logged error line and
// exit status 1, never an uncaught exception (which would abort with a core dump and
// skip the destructors that remove temporary files).
#pragma once

#include <functional>
#include <string>

namespace deepnum {

// Runs `body` and returns its status. An exception becomes one error line and status 1:
// std::bad_alloc is reported by `out_of_memory_message` when given ("out of memory"
// otherwise), any other std::exception by its what(), anything else as of unknown type.
int run_reporting_errors(const std::function<int()>& body,
                         const std::function<std::string()>& out_of_memory_message = {});

}  // namespace deepnum
