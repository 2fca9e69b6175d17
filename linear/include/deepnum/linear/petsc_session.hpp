// PETSc's lifetime, and the error type for a failed PETSc call. Built with
// DEEPNUM_WITH_PETSC only.
//
// PETSc (and MPI under it) is initialized once per process. A PetscSession initializes it
// unless someone already did (a simulation code that owns PETSc keeps ownership), and
// finalizes it on destruction only if it initialized it. Under MPI it also tells the
// logger the rank, so that only rank 0 logs below warn. Not thread safe: create it on
// the main thread, before any PETSc solver is set up.
#pragma once

#include <string>

#include "deepnum/core/error.hpp"

namespace deepnum::linear {

// A PETSc call returned an error; the message holds PETSc's own text and call stack.
class PetscCallError : public Error {
 public:
  PetscCallError(int code, const std::string& message) : Error(message), code_(code) {}
  int code() const { return code_; }  // PetscErrorCode

 private:
  int code_;
};

class PetscSession {
 public:
  // argc/argv (may be null) go to PetscInitialize: their -options fill PETSc's options
  // database. Throws PetscCallError when initialization fails.
  explicit PetscSession(int* argc = nullptr, char*** argv = nullptr);
  ~PetscSession();  // PetscFinalize if this session initialized PETSc; never throws
  PetscSession(const PetscSession&) = delete;
  PetscSession& operator=(const PetscSession&) = delete;

  bool initialized_here() const { return initialized_here_; }
  int rank() const { return rank_; }  // in PETSC_COMM_WORLD
  int size() const { return size_; }

 private:
  bool initialized_here_ = false;
  int rank_ = 0;
  int size_ = 1;
};

// Initializes PETSc for the rest of the process (finalized at exit) unless it is already
// initialized; what solvers call when the program made no PetscSession.
void ensure_petsc_initialized();

}  // namespace deepnum::linear
