#include "deepnum/linear/petsc_krylov_solver.hpp"
#include "deepnum/linear/petsc_matrix.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include <fmt/format.h>
#include <petscksp.h>

#include "deepnum/core/logging.hpp"
#include "deepnum/core/options.hpp"
#include "deepnum/core/timing.hpp"
#include "deepnum/linear/iteration_control.hpp"
#include "deepnum/linear/petsc_call.hpp"
#include "deepnum/linear/petsc_session.hpp"

namespace deepnum::linear {

void PetscKrylovOptions::validate() const {
  require_option(!name.empty(), "PetscKrylovOptions", "name", "''", "must not be empty");
  const bool prefix_ok = std::all_of(options_prefix.begin(), options_prefix.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
  require_option(prefix_ok,
                 "PetscKrylovOptions",
                 "options_prefix",
                 "'" + options_prefix + "'",
                 "may hold letters, digits and '_' only");
  require_option(!ksp_type.empty(), "PetscKrylovOptions", "ksp_type", "''", "must name a KSPType");
  require_option(!pc_type.empty(), "PetscKrylovOptions", "pc_type", "''", "must name a PCType");
  for (const auto& [option, value] : defaults) {
    require_option(!option.empty() && option[0] != '-',
                   "PetscKrylovOptions",
                   "defaults",
                   "'" + option + "'",
                   "option names come without '-' and without the prefix");
  }
}

std::vector<std::string> petsc_presets() {
  return {"petsc-icc", "petsc-gamg", "petsc-hypre", "petsc"};
}

PetscKrylovOptions petsc_preset(const std::string& name) {
  PetscKrylovOptions options;
  options.name = name;
  options.options_prefix = name;
  std::replace(options.options_prefix.begin(), options.options_prefix.end(), '-', '_');
  options.options_prefix += '_';
  options.ksp_type = "cg";
  if (name == "petsc") {
    options.pc_type = "none";
  } else if (name == "petsc-icc") {
    options.pc_type = "icc";  // serial; replaced by block Jacobi + icc on several ranks
  } else if (name == "petsc-gamg") {
    options.pc_type = "gamg";
  } else if (name == "petsc-hypre") {
    options.pc_type = "hypre";
    options.defaults = {{"pc_hypre_type", "boomeramg"}};
  } else {
    std::string accepted;
    for (const auto& preset : petsc_presets()) accepted += (accepted.empty() ? "" : ", ") + preset;
    throw InvalidArgumentError("petsc_preset: unknown preset '" + name + "'; expected one of " +
                               accepted);
  }
  return options;
}

namespace {

// What the custom KSP convergence test needs; lives as long as the KSP.
struct ConvergenceContext {
  IterationControl* control = nullptr;  // of the solve in progress
  Vec work = nullptr;                   // scratch for KSPBuildResidual
  Vec residual = nullptr;
  bool use_tracked_norm = false;  // KSP tracks ||b - A x|| itself
  std::optional<TerminationReason> stop;
};

// ||b - A x|| of KSP's current iterate.
PetscErrorCode true_residual_norm(KSP ksp, ConvergenceContext& context, PetscReal* norm) {
  Vec residual = context.residual;
  PetscCall(KSPBuildResidual(ksp, context.work, context.residual, &residual));
  PetscCall(VecNorm(residual, NORM_2, norm));
  return 0;
}

// The shared stopping rule inside KSP: the norm KSP tracks is used when it is the
// unpreconditioned residual (and confirmed by the true residual before stopping);
// otherwise the true residual is computed every iteration.
PetscErrorCode convergence_test(KSP ksp,
                                PetscInt iteration,
                                PetscReal tracked_norm,
                                KSPConvergedReason* reason,
                                void* raw_context) {
  auto& context = *static_cast<ConvergenceContext*>(raw_context);
  IterationControl& control = *context.control;
  *reason = KSP_CONVERGED_ITERATING;
  try {
    PetscReal norm = tracked_norm;
    if (!context.use_tracked_norm) PetscCall(true_residual_norm(ksp, context, &norm));
    const int k = static_cast<int>(iteration);

    std::optional<TerminationReason> stop;
    if (k == 0) {
      stop = control.start(norm);
    } else {
      bool converged = control.meets_tolerance(norm);
      if (converged && context.use_tracked_norm) {
        PetscReal true_norm = 0;
        PetscCall(true_residual_norm(ksp, context, &true_norm));
        converged = control.meets_tolerance(true_norm);
      }
      if (converged) {
        control.record(k, norm);
        stop = TerminationReason::kConverged;
      } else {
        stop = control.check(k, norm);
      }
    }
    if (!stop) return 0;
    context.stop = stop;
    switch (*stop) {
      case TerminationReason::kConverged:
        *reason = KSP_CONVERGED_RTOL;
        break;
      case TerminationReason::kDiverged:
        *reason = KSP_DIVERGED_DTOL;
        break;
      default:  // max iterations, stalled
        *reason = KSP_DIVERGED_ITS;
        break;
    }
    return 0;
  } catch (...) {
    return PETSC_ERR_LIB;
  }
}

// Our reading of a KSP outcome that our own test did not decide.
TerminationReason reason_from_petsc(KSPConvergedReason reason) {
  if (reason > 0) return TerminationReason::kConverged;
  switch (reason) {
    case KSP_DIVERGED_ITS:
      return TerminationReason::kMaxIterations;
    case KSP_DIVERGED_DTOL:
    case KSP_DIVERGED_NANORINF:
      return TerminationReason::kDiverged;
    case KSP_DIVERGED_BREAKDOWN:
    case KSP_DIVERGED_BREAKDOWN_BICG:
    case KSP_DIVERGED_INDEFINITE_PC:
    case KSP_DIVERGED_INDEFINITE_MAT:
    case KSP_DIVERGED_NONSYMMETRIC:
      return TerminationReason::kBreakdown;
    default:
      return TerminationReason::kSolverFailure;
  }
}

bool is_cg_family(const std::string& type) {
  return type == KSPCG || type == KSPPIPECG || type == KSPGROPPCG || type == KSPPIPECGRR;
}

// The database holds `option` for `prefix`.
bool database_has(const std::string& prefix, const std::string& option) {
  PetscBool set = PETSC_FALSE;
  DEEPNUM_PETSC_CALL(PetscOptionsHasName(nullptr, prefix.c_str(), ("-" + option).c_str(), &set));
  return set == PETSC_TRUE;
}

}  // namespace

struct PetscKrylovSolver::Petsc {
  Mat matrix = nullptr;
  KSP ksp = nullptr;
  MatNullSpace null_space = nullptr;
  Vec rhs = nullptr;
  Vec solution = nullptr;
  Vec gathered = nullptr;  // the full solution on every rank
  VecScatter gather = nullptr;
  PetscInt row_begin = 0;
  PetscInt row_end = 0;
  ConvergenceContext context;
  std::string ksp_type;
  std::string pc_type;

  ~Petsc() { destroy(); }

  // Never throws; skipped once PETSc is finalized (the objects died with it).
  void destroy() noexcept {
    PetscBool finalized = PETSC_TRUE;
    if (PetscFinalized(&finalized) != 0 || finalized) return;
    VecScatterDestroy(&gather);
    VecDestroy(&gathered);
    VecDestroy(&context.residual);
    VecDestroy(&context.work);
    VecDestroy(&solution);
    VecDestroy(&rhs);
    MatNullSpaceDestroy(&null_space);
    KSPDestroy(&ksp);
    MatDestroy(&matrix);
  }
};

PetscKrylovSolver::PetscKrylovSolver(PetscKrylovOptions options) : options_(std::move(options)) {
  options_.validate();
}

PetscKrylovSolver::~PetscKrylovSolver() = default;

std::string PetscKrylovSolver::ksp_type() const {
  return petsc_ ? petsc_->ksp_type : "";
}
std::string PetscKrylovSolver::pc_type() const {
  return petsc_ ? petsc_->pc_type : "";
}

namespace {

// A in PETSc AIJ format, rows [row_begin, row_end) on this rank (PETSc's default split).
void build_matrix(const SparseMatrix& A, Mat* matrix, PetscInt* row_begin, PetscInt* row_end) {
  const auto global_rows = static_cast<PetscInt>(A.rows());
  PetscInt local_rows = PETSC_DECIDE;
  PetscInt global = global_rows;
  DEEPNUM_PETSC_CALL(PetscSplitOwnership(PETSC_COMM_WORLD, &local_rows, &global));
  PetscInt end = 0;
  DEEPNUM_PETSC_CALL(MPI_Scan(&local_rows, &end, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
  *row_begin = end - local_rows;
  *row_end = end;

  // The local rows as CSR with global column indices, offsets from 0.
  std::vector<PetscInt> offsets(static_cast<std::size_t>(local_rows) + 1, 0);
  std::vector<PetscInt> columns;
  std::vector<PetscScalar> values;
  for (PetscInt row = *row_begin; row < *row_end; ++row) {
    for (SparseMatrix::InnerIterator it(A, static_cast<Eigen::Index>(row)); it; ++it) {
      columns.push_back(static_cast<PetscInt>(it.col()));
      values.push_back(it.value());
    }
    offsets[static_cast<std::size_t>(row - *row_begin) + 1] = static_cast<PetscInt>(columns.size());
  }

  DEEPNUM_PETSC_CALL(MatCreate(PETSC_COMM_WORLD, matrix));
  DEEPNUM_PETSC_CALL(MatSetSizes(*matrix, local_rows, local_rows, global_rows, global_rows));
  DEEPNUM_PETSC_CALL(MatSetType(*matrix, MATAIJ));
  // Only the call matching the actual type (sequential or MPI) acts.
  DEEPNUM_PETSC_CALL(
      MatSeqAIJSetPreallocationCSR(*matrix, offsets.data(), columns.data(), values.data()));
  DEEPNUM_PETSC_CALL(
      MatMPIAIJSetPreallocationCSR(*matrix, offsets.data(), columns.data(), values.data()));
  DEEPNUM_PETSC_CALL(MatSetOption(*matrix, MAT_SYMMETRIC, PETSC_TRUE));
  DEEPNUM_PETSC_CALL(MatSetOption(*matrix, MAT_SYMMETRY_ETERNAL, PETSC_TRUE));
}

}  // namespace

Mat to_petsc_matrix(const SparseMatrix& A) {
  Mat matrix = nullptr;
  PetscInt row_begin = 0;
  PetscInt row_end = 0;
  build_matrix(A, &matrix, &row_begin, &row_end);
  return matrix;
}

namespace {

// Copies the local rows of v into a PETSc vector.
void copy_local_rows(const Vector& v, PetscInt row_begin, Vec target) {
  PetscScalar* values = nullptr;
  PetscInt local = 0;
  DEEPNUM_PETSC_CALL(VecGetLocalSize(target, &local));
  DEEPNUM_PETSC_CALL(VecGetArray(target, &values));
  for (PetscInt i = 0; i < local; ++i) values[i] = v[static_cast<Eigen::Index>(row_begin + i)];
  DEEPNUM_PETSC_CALL(VecRestoreArray(target, &values));
}

}  // namespace

void PetscKrylovSolver::setup(const LinearSystem& system) {
  Stopwatch clock;
  // Checked before PETSc sees it: PETSc's ICC never returns on an asymmetric matrix.
  petsc_.reset();
  system_ = nullptr;
  validate_system(name(), system);
  ensure_petsc_initialized();
  PetscErrorCapture capture;
  take_captured_petsc_errors();
  petsc_ = std::make_unique<Petsc>();
  system_ = &system;
  setup_failure_.clear();
  Petsc& petsc = *petsc_;

  SparseMatrix compressed;
  const SparseMatrix* A = &system.matrix;
  if (!A->isCompressed()) {
    compressed = *A;
    compressed.makeCompressed();
    A = &compressed;
  }
  build_matrix(*A, &petsc.matrix, &petsc.row_begin, &petsc.row_end);
  DEEPNUM_PETSC_CALL(MatCreateVecs(petsc.matrix, &petsc.solution, &petsc.rhs));
  DEEPNUM_PETSC_CALL(VecDuplicate(petsc.rhs, &petsc.context.work));
  DEEPNUM_PETSC_CALL(VecDuplicate(petsc.rhs, &petsc.context.residual));
  DEEPNUM_PETSC_CALL(VecScatterCreateToAll(petsc.solution, &petsc.gather, &petsc.gathered));

  // The null space: one PETSc vector per basis vector, orthonormal as MatNullSpace needs.
  if (!system.null_space.empty()) {
    std::vector<Vec> basis(system.null_space.size(), nullptr);
    for (std::size_t j = 0; j < basis.size(); ++j) {
      DEEPNUM_PETSC_CALL(VecDuplicate(petsc.rhs, &basis[j]));
      copy_local_rows(system.null_space[j], petsc.row_begin, basis[j]);
    }
    const PetscErrorCode created = MatNullSpaceCreate(PETSC_COMM_WORLD,
                                                      PETSC_FALSE,
                                                      static_cast<PetscInt>(basis.size()),
                                                      basis.data(),
                                                      &petsc.null_space);
    for (Vec& v : basis) VecDestroy(&v);  // the null space holds its own references
    DEEPNUM_PETSC_CALL(created);
    DEEPNUM_PETSC_CALL(MatSetNullSpace(petsc.matrix, petsc.null_space));
  }

  // KSP and PC: our types first, then the database (under the prefix) overrides them.
  int ranks = 1;
  DEEPNUM_PETSC_CALL(MPI_Comm_size(PETSC_COMM_WORLD, &ranks));
  const std::string& prefix = options_.options_prefix;
  std::string pc = options_.pc_type;
  auto defaults = options_.defaults;
  if (pc == PCICC && ranks > 1) {
    // PETSc's ICC is sequential: one incomplete factor per rank's diagonal block.
    pc = PCBJACOBI;
    defaults.emplace_back("sub_pc_type", PCICC);
    log::info("{}: icc on {} ranks runs as block Jacobi with an icc block per rank", name(), ranks);
  }
  for (const auto& [option, value] : defaults) {
    if (database_has(prefix, option)) continue;
    const std::string full = "-" + prefix + option;
    DEEPNUM_PETSC_CALL(PetscOptionsSetValue(nullptr, full.c_str(), value.c_str()));
  }

  KSP& ksp = petsc.ksp;
  PC preconditioner = nullptr;
  try {
    DEEPNUM_PETSC_CALL(KSPCreate(PETSC_COMM_WORLD, &ksp));
    if (!prefix.empty()) DEEPNUM_PETSC_CALL(KSPSetOptionsPrefix(ksp, prefix.c_str()));
    DEEPNUM_PETSC_CALL(KSPSetOperators(ksp, petsc.matrix, petsc.matrix));
    DEEPNUM_PETSC_CALL(KSPSetType(ksp, options_.ksp_type.c_str()));
    DEEPNUM_PETSC_CALL(KSPGetPC(ksp, &preconditioner));
    DEEPNUM_PETSC_CALL(PCSetType(preconditioner, pc.c_str()));
    DEEPNUM_PETSC_CALL(KSPSetFromOptions(ksp));
  } catch (const PetscCallError& error) {
    if (error.code() == PETSC_ERR_ARG_UNKNOWN_TYPE) {
      throw InvalidArgumentError(name() + ": " + error.what());
    }
    throw;
  }
  KSPType ksp_type_name = nullptr;
  PCType pc_type_name = nullptr;
  DEEPNUM_PETSC_CALL(KSPGetType(ksp, &ksp_type_name));
  DEEPNUM_PETSC_CALL(PCGetType(preconditioner, &pc_type_name));
  petsc.ksp_type = ksp_type_name ? ksp_type_name : "";
  petsc.pc_type = pc_type_name ? pc_type_name : "";

  // Our stopping rule on the unpreconditioned residual (see the header).
  if (is_cg_family(petsc.ksp_type) && !database_has(prefix, "ksp_norm_type")) {
    DEEPNUM_PETSC_CALL(KSPSetNormType(ksp, KSP_NORM_UNPRECONDITIONED));
  }
  DEEPNUM_PETSC_CALL(KSPSetErrorIfNotConverged(ksp, PETSC_FALSE));
  DEEPNUM_PETSC_CALL(KSPSetConvergenceTest(ksp, convergence_test, &petsc.context, nullptr));

  // The preconditioner's factorization or hierarchy; a failure here is numerical.
  try {
    DEEPNUM_PETSC_CALL(KSPSetUp(ksp));
    KSPNormType norm_type = KSP_NORM_DEFAULT;
    DEEPNUM_PETSC_CALL(KSPGetNormType(ksp, &norm_type));
    petsc.context.use_tracked_norm = norm_type == KSP_NORM_UNPRECONDITIONED;
    PCFailedReason failed = PC_NOERROR;
    DEEPNUM_PETSC_CALL(PCGetFailedReason(preconditioner, &failed));
    if (failed != PC_NOERROR) {
      setup_failure_ =
          fmt::format("PETSc PC {} setup failed: {}", petsc.pc_type, PCFailedReasons[failed]);
    }
  } catch (const PetscCallError& error) {
    setup_failure_ = error.what();
  }
  setup_seconds_ = clock.seconds();
  if (setup_failure_.empty()) {
    log::info("{}: KSP {} + PC {} set up for {} unknowns on {} rank(s) in {:.3f} s{}",
              name(),
              petsc.ksp_type,
              petsc.pc_type,
              A->rows(),
              ranks,
              setup_seconds_,
              system.null_space.empty()
                  ? ""
                  : fmt::format(", {} null vectors attached", system.null_space.size()));
  } else {
    log::warn("{}: setup failed: {}", name(), setup_failure_);
  }
}

SolveSummary PetscKrylovSolver::solve(const Vector& b, Vector& x, const SolveOptions& options) {
  require<InvalidArgumentError>(
      petsc_ != nullptr && system_ != nullptr, name(), ": solve() called before setup()");
  IterationControl control(name(), *system_, b, x, options, setup_seconds_);
  if (control.zero_rhs()) {
    x.setZero();
    return control.finish(TerminationReason::kConverged, 0, x, "b = 0 gives x = 0");
  }
  if (control.inconsistent()) return control.finish(TerminationReason::kInconsistent, 0, x);
  if (!setup_failure_.empty()) {
    control.start(control.true_residual_norm(x));
    return control.finish(TerminationReason::kSolverFailure, 0, x, setup_failure_);
  }

  Petsc& petsc = *petsc_;
  PetscErrorCapture capture;
  take_captured_petsc_errors();
  PetscInt iterations = 0;
  KSPConvergedReason petsc_reason = KSP_CONVERGED_ITERATING;
  petsc.context.control = &control;
  petsc.context.stop.reset();
  try {
    // b projected onto range(A) (what IterationControl checked), and the guess.
    copy_local_rows(control.working_rhs(), petsc.row_begin, petsc.rhs);
    if (petsc.null_space) DEEPNUM_PETSC_CALL(MatNullSpaceRemove(petsc.null_space, petsc.rhs));
    copy_local_rows(x, petsc.row_begin, petsc.solution);
    DEEPNUM_PETSC_CALL(KSPSetInitialGuessNonzero(petsc.ksp, PETSC_TRUE));
    DEEPNUM_PETSC_CALL(KSPSetTolerances(petsc.ksp,
                                        options.rtol,
                                        options.atol,
                                        IterationControl::kDivergenceFactor,
                                        static_cast<PetscInt>(options.max_iterations)));

    DEEPNUM_PETSC_CALL(KSPSolve(petsc.ksp, petsc.rhs, petsc.solution));
    DEEPNUM_PETSC_CALL(KSPGetConvergedReason(petsc.ksp, &petsc_reason));
    DEEPNUM_PETSC_CALL(KSPGetIterationNumber(petsc.ksp, &iterations));

    // x <- the full solution, on every rank.
    DEEPNUM_PETSC_CALL(VecScatterBegin(
        petsc.gather, petsc.solution, petsc.gathered, INSERT_VALUES, SCATTER_FORWARD));
    DEEPNUM_PETSC_CALL(VecScatterEnd(
        petsc.gather, petsc.solution, petsc.gathered, INSERT_VALUES, SCATTER_FORWARD));
    const PetscScalar* values = nullptr;
    DEEPNUM_PETSC_CALL(VecGetArrayRead(petsc.gathered, &values));
    for (Eigen::Index i = 0; i < x.size(); ++i) x[i] = values[i];
    DEEPNUM_PETSC_CALL(VecRestoreArrayRead(petsc.gathered, &values));
  } catch (const PetscCallError& error) {
    petsc.context.control = nullptr;
    return control.finish(
        TerminationReason::kSolverFailure, static_cast<int>(iterations), x, error.what());
  }
  petsc.context.control = nullptr;

  std::string detail = fmt::format("PETSc KSP {} + PC {}: KSP_{}",
                                   petsc.ksp_type,
                                   petsc.pc_type,
                                   KSPConvergedReasons[petsc_reason]);
  TerminationReason reason =
      petsc.context.stop ? *petsc.context.stop : reason_from_petsc(petsc_reason);
  if (petsc_reason == KSP_DIVERGED_PC_FAILED) {
    PC preconditioner = nullptr;
    PCFailedReason failed = PC_NOERROR;
    if (KSPGetPC(petsc.ksp, &preconditioner) == 0 &&
        PCGetFailedReason(preconditioner, &failed) == 0) {
      detail += fmt::format(" ({})", PCFailedReasons[failed]);
    }
  }
  if (reason == TerminationReason::kConverged && !petsc.context.stop &&
      !control.meets_tolerance(control.true_residual_norm(x))) {
    // PETSc stopped on its own (e.g. a happy breakdown) short of our rule.
    reason = TerminationReason::kBreakdown;
    detail += ", stopped by PETSc above the tolerance";
  }
  return control.finish(reason, static_cast<int>(iterations), x, detail);
}

}  // namespace deepnum::linear
