// Checking every PETSc call: DEEPNUM_PETSC_CALL(KSPSolve(ksp, b, x)) throws PetscCallError
// with PETSc's message and call stack when the call fails. While a PetscErrorCapture
// lives, PETSc's error handler records messages instead of printing them, so the one
// exception carries the whole story (a failure inside a preconditioner included) instead
// of a traceback on stderr. Built with DEEPNUM_WITH_PETSC only.
#pragma once

#include <string>

#include <petscsys.h>

#include "deepnum/linear/petsc_session.hpp"

namespace deepnum::linear {

// Scoped: pushes the recording error handler on construction, pops it on destruction.
class PetscErrorCapture {
 public:
  PetscErrorCapture();
  ~PetscErrorCapture();
  PetscErrorCapture(const PetscErrorCapture&) = delete;
  PetscErrorCapture& operator=(const PetscErrorCapture&) = delete;
};

// The messages captured since the last call, oldest first; clears them.
std::string take_captured_petsc_errors();

// Throws PetscCallError for a nonzero code, naming the call and PETSc's messages.
void check_petsc(PetscErrorCode code, const char* call);

}  // namespace deepnum::linear

#define DEEPNUM_PETSC_CALL(call) ::deepnum::linear::check_petsc((call), #call)
