// Error types shared by every DeepNum module.
//
// Contract: user-facing failures (bad input, unreadable files, numerical breakdown the
// caller must know about) are thrown as one of these types, and the message names the
// offending file, dataset, parameter or shape together with the expected and actual
// value. Programmer errors inside the library are the same types; nothing aborts.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace deepnum {

// Base of every exception DeepNum throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An argument (value, size, shape, flag) the function cannot accept.
class InvalidArgumentError : public Error {
 public:
  using Error::Error;
};

// An options struct whose validate() failed; the message names field, value and rule.
class OptionError : public InvalidArgumentError {
 public:
  using InvalidArgumentError::InvalidArgumentError;
};

// Reading or writing data failed (HDF5, MatrixMarket, PETSc binary, meshes).
class IoError : public Error {
 public:
  using Error::Error;
};

// A computation that cannot continue (factorization breakdown, non-finite values).
class NumericalError : public Error {
 public:
  using Error::Error;
};

// A compute device was asked for that this build or machine does not have.
class DeviceError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <class... Parts>
std::string concatenate(const Parts&... parts) {
  std::ostringstream stream;
  (stream << ... << parts);
  return stream.str();
}
}  // namespace detail

// Throws ErrorType with the streamed parts as message unless the condition holds.
//   require<InvalidArgumentError>(n > 0, "grid size n must be > 0, got ", n);
template <class ErrorType, class... Parts>
void require(bool condition, const Parts&... parts) {
  if (!condition) throw ErrorType(detail::concatenate(parts...));
}

}  // namespace deepnum
