#include "deepnum/linear/petsc_session.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "deepnum/core/logging.hpp"
#include "deepnum/linear/petsc_call.hpp"

namespace deepnum::linear {
namespace {

thread_local std::string captured_errors;

// Records PETSc's error instead of printing it: the first report of an error carries the
// message, later ones the functions it passed through on the way up.
PetscErrorCode capture_error(MPI_Comm,
                             int line,
                             const char* function,
                             const char* file,
                             PetscErrorCode code,
                             PetscErrorType type,
                             const char* message,
                             void*) {
  if (type == PETSC_ERROR_INITIAL) {
    const char* text = nullptr;
    PetscErrorMessage(code, &text, nullptr);
    captured_errors += fmt::format("{}{}{} (in {} at {}:{})",
                                   text ? text : "",
                                   message && *message ? ": " : "",
                                   message ? message : "",
                                   function ? function : "?",
                                   file ? file : "?",
                                   line);
  } else {
    captured_errors += fmt::format(" <- {}", function ? function : "?");
  }
  return code;
}

}  // namespace

PetscErrorCapture::PetscErrorCapture() {
  PetscPushErrorHandler(capture_error, nullptr);
}

PetscErrorCapture::~PetscErrorCapture() {
  PetscPopErrorHandler();
}

std::string take_captured_petsc_errors() {
  std::string taken;
  taken.swap(captured_errors);
  return taken;
}

void check_petsc(PetscErrorCode code, const char* call) {
  if (code == 0) return;
  std::string details = take_captured_petsc_errors();
  if (details.empty()) {
    const char* text = nullptr;
    PetscErrorMessage(code, &text, nullptr);
    details = text ? text : "no message";
  }
  throw PetscCallError(
      static_cast<int>(code),
      fmt::format("PETSc error {} in {}: {}", static_cast<int>(code), call, details));
}

PetscSession::PetscSession(int* argc, char*** argv) {
  PetscBool initialized = PETSC_FALSE;
  DEEPNUM_PETSC_CALL(PetscInitialized(&initialized));
  if (!initialized) {
    PetscBool finalized = PETSC_FALSE;
    DEEPNUM_PETSC_CALL(PetscFinalized(&finalized));
    if (finalized)
      throw PetscCallError(-1, "PetscSession: PETSc was already finalized in this process");
    DEEPNUM_PETSC_CALL(PetscInitialize(argc, argv, nullptr, nullptr));
    initialized_here_ = true;
  }
  DEEPNUM_PETSC_CALL(MPI_Comm_rank(PETSC_COMM_WORLD, &rank_));
  DEEPNUM_PETSC_CALL(MPI_Comm_size(PETSC_COMM_WORLD, &size_));
  log::set_rank(rank_);
  log::debug("PetscSession: PETSc {} on {} rank(s)",
             initialized_here_ ? "initialized" : "already initialized",
             size_);
}

PetscSession::~PetscSession() {
  if (!initialized_here_) return;
  PetscBool finalized = PETSC_TRUE;
  if (PetscFinalized(&finalized) == 0 && !finalized) PetscFinalize();
}

void ensure_petsc_initialized() {
  PetscBool initialized = PETSC_FALSE;
  DEEPNUM_PETSC_CALL(PetscInitialized(&initialized));
  if (initialized) return;
  static PetscSession* process_session = nullptr;
  log::info("initializing PETSc for this process (no PetscSession was created)");
  process_session = new PetscSession();
  std::atexit([] { delete process_session; });
}

}  // namespace deepnum::linear
