# Third-party dependencies, all from Debian's packages. Each module links only what it
# needs: core needs spdlog; io adds HDF5 and Eigen; nn adds LibTorch; linear adds PETSc.

find_package(spdlog REQUIRED)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(PkgConfig REQUIRED)
# The system default HDF5 flavour: on a machine with PETSc this is the MPI build that
# PETSc itself links, so one process never loads two HDF5 libraries.
pkg_check_modules(DEEPNUM_HDF5 REQUIRED IMPORTED_TARGET GLOBAL hdf5)

if(DEEPNUM_WITH_TORCH)
  # Torch_DIR may point at a CUDA LibTorch; Debian's CPU build is found otherwise.
  find_package(Torch REQUIRED)
endif()

if(DEEPNUM_WITH_PETSC)
  pkg_check_modules(DEEPNUM_PETSC REQUIRED IMPORTED_TARGET GLOBAL PETSc)
  find_package(MPI REQUIRED COMPONENTS C CXX)
endif()

if(DEEPNUM_BUILD_TESTS)
  find_package(Boost 1.71 REQUIRED COMPONENTS unit_test_framework)
endif()
