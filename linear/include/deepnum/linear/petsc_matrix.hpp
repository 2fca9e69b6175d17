// A pressure system's matrix as a PETSc matrix, for simulation codes that solve with their
// own KSP. Built with DEEPNUM_WITH_PETSC only; needs an initialized PETSc (PetscSession).
#pragma once

#include <petscmat.h>

#include "deepnum/linear/linear_solver.hpp"

namespace deepnum::linear {

// A as an AIJ Mat on PETSC_COMM_WORLD, marked symmetric. Under MPI every rank passes the
// whole matrix and keeps the contiguous block of rows PETSc assigns it (PetscSplitOwnership).
// The caller owns the Mat and releases it with MatDestroy. Throws PetscCallError when a
// PETSc call fails.
Mat to_petsc_matrix(const SparseMatrix& A);

}  // namespace deepnum::linear
