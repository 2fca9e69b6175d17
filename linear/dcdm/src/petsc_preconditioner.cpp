#include "deepnum/dcdm/petsc_preconditioner.hpp"

#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "deepnum/core/error.hpp"
#include "deepnum/core/logging.hpp"
#include "deepnum/dcdm/dcdm_solver.hpp"
#include "deepnum/dcdm/model_file.hpp"
#include "deepnum/linear/petsc_call.hpp"
#include "deepnum/linear/petsc_session.hpp"
#include "deepnum/nn/device.hpp"

namespace deepnum::dcdm {
namespace {

constexpr const char* kFlagGridKey = "deepnum_dcdm_flag_grid";
// PCShellSetContext / PCShellGetContext only act on a PC whose type name is "shell", and
// ours is "dcdm": the state travels as a composed container instead.
constexpr const char* kStateKey = "deepnum_dcdm_state";

using linear::check_petsc;

// What a "dcdm" PC holds between setup and destruction.
struct PcState {
  std::string model_path;
  std::string device_name = "cpu";
  DcdmModel model;
  std::optional<NetworkDirection> direction;
  linear::Vector residual;
  linear::Vector output;
};

PetscErrorCode destroy_grid(void* pointer) {
  delete static_cast<linear::FlagGrid*>(pointer);
  return 0;
}

void compose_grid(PetscObject object, const linear::FlagGrid& grid) {
  PetscContainer container = nullptr;
  check_petsc(PetscContainerCreate(PetscObjectComm(object), &container), "PetscContainerCreate");
  auto copy = std::make_unique<linear::FlagGrid>(grid);
  check_petsc(PetscContainerSetPointer(container, copy.get()), "PetscContainerSetPointer");
  check_petsc(PetscContainerSetUserDestroy(container, destroy_grid),
              "PetscContainerSetUserDestroy");
  copy.release();  // owned by the container from here on
  check_petsc(PetscObjectCompose(object, kFlagGridKey, reinterpret_cast<PetscObject>(container)),
              "PetscObjectCompose");
  check_petsc(PetscContainerDestroy(&container), "PetscContainerDestroy");
}

const linear::FlagGrid* composed_grid(PetscObject object) {
  PetscObject found = nullptr;
  check_petsc(PetscObjectQuery(object, kFlagGridKey, &found), "PetscObjectQuery");
  if (found == nullptr) return nullptr;
  void* pointer = nullptr;
  check_petsc(PetscContainerGetPointer(reinterpret_cast<PetscContainer>(found), &pointer),
              "PetscContainerGetPointer");
  return static_cast<const linear::FlagGrid*>(pointer);
}

PetscErrorCode destroy_state(void* pointer) {
  delete static_cast<PcState*>(pointer);
  return 0;
}

PcState& state_of(PC pc) {
  PetscObject found = nullptr;
  check_petsc(PetscObjectQuery(reinterpret_cast<PetscObject>(pc), kStateKey, &found),
              "PetscObjectQuery");
  require<Error>(found != nullptr, "the dcdm PC has no state");
  void* pointer = nullptr;
  check_petsc(PetscContainerGetPointer(reinterpret_cast<PetscContainer>(found), &pointer),
              "PetscContainerGetPointer");
  return *static_cast<PcState*>(pointer);
}

std::string string_option(PC pc, const char* name, const std::string& fallback) {
  PetscOptions options = nullptr;
  const char* prefix = nullptr;
  check_petsc(PetscObjectGetOptions(reinterpret_cast<PetscObject>(pc), &options),
              "PetscObjectGetOptions");
  check_petsc(PCGetOptionsPrefix(pc, &prefix), "PCGetOptionsPrefix");
  char value[PETSC_MAX_PATH_LEN] = {0};
  PetscBool set = PETSC_FALSE;
  check_petsc(PetscOptionsGetString(options, prefix, name, value, sizeof(value), &set),
              "PetscOptionsGetString");
  return set ? std::string(value) : fallback;
}

// Reads the options, loads the model (again only when they changed) and binds it to the
// flag grid; checks the operator's size against the grid's fluid cells.
void set_up(PC pc) {
  PcState& state = state_of(pc);
  PetscMPIInt ranks = 1;
  check_petsc(MPI_Comm_size(PetscObjectComm(reinterpret_cast<PetscObject>(pc)), &ranks),
              "MPI_Comm_size");
  require<InvalidArgumentError>(ranks == 1,
                                "the dcdm preconditioner is serial, the PC's "
                                "communicator has ",
                                ranks,
                                " ranks");

  Mat A = nullptr;
  Mat P = nullptr;
  check_petsc(PCGetOperators(pc, &A, &P), "PCGetOperators");
  const linear::FlagGrid* grid = composed_grid(reinterpret_cast<PetscObject>(pc));
  if (grid == nullptr) grid = composed_grid(reinterpret_cast<PetscObject>(P));
  require<InvalidArgumentError>(
      grid != nullptr,
      "the dcdm preconditioner needs the flag grid of the matrix: call "
      "deepnum::dcdm::attach_dcdm_flag_grid(matrix, grid) or set_dcdm_flag_grid(pc, grid)");

  const std::string model_path = string_option(pc, "-pc_dcdm_model", std::string());
  const std::string device_name = string_option(pc, "-pc_dcdm_device", "cpu");
  const std::string resolved = model_path.empty() ? default_model_path() : model_path;
  if (!state.model.network || resolved != state.model_path || device_name != state.device_name) {
    state.model = load_model(resolved, grid->dimension(), nn::parse_device(device_name));
    state.model_path = resolved;
    state.device_name = device_name;
  }
  state.direction.emplace(state.model.network, *grid);

  PetscInt rows = 0;
  PetscInt columns = 0;
  check_petsc(MatGetSize(P, &rows, &columns), "MatGetSize");
  require<InvalidArgumentError>(rows == state.direction->unknown_count(),
                                "dcdm preconditioner: the matrix has ",
                                rows,
                                " rows but the flag grid has ",
                                state.direction->unknown_count(),
                                " fluid cells");
}

PetscErrorCode pc_set_up(PC pc) {
  try {
    set_up(pc);
  } catch (const std::exception& error) {
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "%s", error.what());
  }
  return 0;
}

// y = f(x / ||x||), 0 for x = 0.
void apply(PC pc, Vec x, Vec y) {
  PcState& state = state_of(pc);
  require<Error>(state.direction.has_value(), "the dcdm PC was applied before its setup");
  PetscInt size = 0;
  check_petsc(VecGetLocalSize(x, &size), "VecGetLocalSize");
  const PetscScalar* input = nullptr;
  check_petsc(VecGetArrayRead(x, &input), "VecGetArrayRead");
  state.residual = Eigen::Map<const linear::Vector>(input, size);
  check_petsc(VecRestoreArrayRead(x, &input), "VecRestoreArrayRead");

  const double norm = state.residual.norm();
  if (norm == 0.0) {
    check_petsc(VecSet(y, 0.0), "VecSet");
    return;
  }
  state.residual /= norm;
  (*state.direction)(state.residual, state.output);

  PetscScalar* output = nullptr;
  check_petsc(VecGetArrayWrite(y, &output), "VecGetArrayWrite");
  Eigen::Map<linear::Vector>(output, size) = state.output;
  check_petsc(VecRestoreArrayWrite(y, &output), "VecRestoreArrayWrite");
}

PetscErrorCode pc_apply(PC pc, Vec x, Vec y) {
  try {
    apply(pc, x, y);
  } catch (const std::exception& error) {
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "%s", error.what());
  }
  return 0;
}

PetscErrorCode pc_view(PC pc, PetscViewer viewer) {
  try {
    const PcState& state = state_of(pc);
    std::string text;
    if (state.model.network) {
      const auto& provenance = state.model.provenance;
      text = fmt::format(
          "  DCDM network {}D ({} parameters) from {}\n  trained on {} {}x{}x{}, {} vectors, "
          "{} steps, final loss {:.4g}\n  device {}\n",
          state.model.options.dimension,
          state.model.network->parameter_count(),
          state.model_path,
          provenance.training_scene,
          provenance.training_grid[0],
          provenance.training_grid[1],
          provenance.training_grid[2],
          provenance.training_vectors,
          provenance.training_steps,
          provenance.final_loss,
          state.device_name);
    } else {
      text = "  DCDM network not loaded yet (set up the PC first)\n";
    }
    PetscCall(PetscViewerASCIIPrintf(viewer, "%s", text.c_str()));
  } catch (const std::exception& error) {
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_LIB, "%s", error.what());
  }
  return 0;
}

// The state is released with its container, when the PC is destroyed or changes type.
PetscErrorCode pc_destroy(PC pc) {
  PetscCall(PetscObjectCompose(reinterpret_cast<PetscObject>(pc), kStateKey, nullptr));
  return 0;
}

// PCSetType(pc, "dcdm") lands here: build a PCSHELL in place and fill in its callbacks.
PetscErrorCode create_dcdm(PC pc) {
  PetscErrorCode (*create_shell)(PC) = nullptr;
  PetscCall(PetscFunctionListFind(PCList, PCSHELL, &create_shell));
  PetscCheck(create_shell != nullptr, PETSC_COMM_SELF, PETSC_ERR_PLIB, "PCSHELL is not registered");
  PetscCall(create_shell(pc));

  PetscContainer container = nullptr;
  PetscCall(PetscContainerCreate(PetscObjectComm(reinterpret_cast<PetscObject>(pc)), &container));
  PetscCall(PetscContainerSetPointer(container, new PcState()));
  PetscCall(PetscContainerSetUserDestroy(container, destroy_state));
  PetscCall(PetscObjectCompose(
      reinterpret_cast<PetscObject>(pc), kStateKey, reinterpret_cast<PetscObject>(container)));
  PetscCall(PetscContainerDestroy(&container));
  PetscCall(PCShellSetSetUp(pc, pc_set_up));
  PetscCall(PCShellSetApply(pc, pc_apply));
  PetscCall(PCShellSetView(pc, pc_view));
  PetscCall(PCShellSetDestroy(pc, pc_destroy));
  PetscCall(PCShellSetName(pc, "dcdm: Deep Conjugate Direction Method network"));
  return 0;
}

}  // namespace

void register_dcdm_preconditioner() {
  check_petsc(PCRegister(kPetscPcType, create_dcdm), "PCRegister(\"dcdm\")");
}

void attach_dcdm_flag_grid(Mat matrix, const linear::FlagGrid& grid) {
  require<InvalidArgumentError>(matrix != nullptr, "attach_dcdm_flag_grid: null Mat");
  compose_grid(reinterpret_cast<PetscObject>(matrix), grid);
}

void set_dcdm_flag_grid(PC pc, const linear::FlagGrid& grid) {
  require<InvalidArgumentError>(pc != nullptr, "set_dcdm_flag_grid: null PC");
  compose_grid(reinterpret_cast<PetscObject>(pc), grid);
}

}  // namespace deepnum::dcdm
