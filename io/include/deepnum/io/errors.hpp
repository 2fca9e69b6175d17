// Exceptions thrown by the HDF5 data layer.
//
// Contract: every failure of an HDF5 call surfaces as one of these types, never as a
// printed error stack or an abort. Messages name the file, the object path inside it
// and, where a check failed, the expected and the actual dtype, rank or shape. HDF5's
// own error-stack printing is switched off the first time the layer touches the
// library; the stack's descriptions are folded into the message instead, on one line
// (line breaks inside HDF5's own text become "; ").
#pragma once

#include "deepnum/core/error.hpp"

namespace deepnum::io {

// Base of every error raised by deepnum::io (an IoError, so callers may catch either).
class HdfError : public IoError {
 public:
  using IoError::IoError;
};

// The file does not exist (or a folder on its path does not).
class FileNotFoundError : public HdfError {
 public:
  using HdfError::HdfError;
};

// The file exists but is not HDF5, is truncated, or its contents cannot be read.
// Also raised when a group's contents break a layout this library defines (CSR, grids).
class CorruptFileError : public HdfError {
 public:
  using HdfError::HdfError;
};

// A dataset, group or attribute named by the caller is not in the file.
class ObjectNotFoundError : public HdfError {
 public:
  using HdfError::HdfError;
};

// A stored element type differs from the one requested (or cannot be converted to it).
class DtypeMismatchError : public HdfError {
 public:
  using HdfError::HdfError;
};

// A stored rank or shape differs from the one requested, or a slab lies outside it.
class ShapeMismatchError : public HdfError {
 public:
  using HdfError::HdfError;
};

}  // namespace deepnum::io
