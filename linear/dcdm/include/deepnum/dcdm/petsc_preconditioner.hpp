// The DCDM network as a PETSc preconditioner type, "dcdm", so that a PETSc code switches
// to the Deep Conjugate Direction Method by options alone:
//
//   -ksp_type fcg -ksp_fcg_mmax 2 -ksp_fcg_truncation_type standard
//   -pc_type dcdm -pc_dcdm_model model.h5 [-pc_dcdm_device cpu]
//
// FCG (PETSc's flexible CG, Notay 2000) A-orthogonalizes each preconditioned residual
// against the previous mmax directions and line-searches along it: with the standard
// truncation and mmax = 2 it is the DCDM iteration of DcdmSolver. PETSc's default Notay
// truncation restarts the orthogonalization every mmax + 1 steps instead.
//
// Applying the PC maps r to f(r / ||r||) (the network sees unit residuals), 0 to 0.
// Options (with the PC's prefix):
//   -pc_dcdm_model <file>   model file (default: default_model_path(), the shipped model)
//   -pc_dcdm_device <name>  cpu, cuda or cuda:N (default cpu)
//
// The network works on the grid, so the PC needs the flag grid the matrix was assembled
// from (unknowns = fluid cells in cell order, as linear::assemble_pressure_system
// numbers them). Attach it to the preconditioning matrix with attach_dcdm_flag_grid
// (composed on the Mat as "deepnum_dcdm_flag_grid", so that the PC finds it whatever
// the options choose), or to the PC with set_dcdm_flag_grid (which takes precedence).
//
// Serial only (one MPI rank holds the whole grid). The implementation is a PCSHELL
// created under the name "dcdm"; PCView reports the model and its provenance.
// Thread safety: as PETSc (one thread per PC).
#pragma once

#include <petscmat.h>
#include <petscpc.h>

#include "deepnum/linear/flag_grid.hpp"

namespace deepnum::dcdm {

// The type name given to PCRegister.
inline constexpr const char* kPetscPcType = "dcdm";

// Registers "dcdm" with PCRegister; calling it again does nothing. Call it after
// PetscInitialize. Throws linear::PetscCallError when PETSc reports a failure.
void register_dcdm_preconditioner();

// Composes a copy of `grid` on the matrix (released with the matrix). Throws
// linear::PetscCallError when PETSc reports a failure.
void attach_dcdm_flag_grid(Mat matrix, const linear::FlagGrid& grid);

// Composes a copy of `grid` on the PC (any type; read when it becomes "dcdm" and sets up).
void set_dcdm_flag_grid(PC pc, const linear::FlagGrid& grid);

}  // namespace deepnum::dcdm
