#include "deepnum/core/program.hpp"

#include <exception>
#include <new>

#include "deepnum/core/logging.hpp"

namespace deepnum {

int run_reporting_errors(const std::function<int()>& body,
                         const std::function<std::string()>& out_of_memory_message) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    log::error("{}", out_of_memory_message ? out_of_memory_message() : "out of memory");
  } catch (const std::exception& error) {
    log::error("{}", error.what());
  } catch (...) {
    log::error("failed with an exception of unknown type");
  }
  return 1;
}

}  // namespace deepnum
