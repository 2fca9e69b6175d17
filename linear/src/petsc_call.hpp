// Checking every PETSc call: DEEPNUM_PETSC_CALL(KSPSolve(ksp, b, x)) throws PetscCallError
// with PETSc's message and call stack when the call fails. While a PetscErrorCapture
// lives, PETSc's error handler records messages instead of printing them.
#pragma once

#include <string>

#include <petscsys.h>

#include "deepnum/linear/petsc_session.hpp"

namespace deepnum::linear::detail {

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

}  // namespace deepnum::linear::detail

#define DEEPNUM_PETSC_CALL(call) ::deepnum::linear::detail::check_petsc((call), #call)
