# install(EXPORT) + DeepNumConfig.cmake so that an outside project can write
#   find_package(DeepNum 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE deepnum::io)
include(CMakePackageConfigHelpers)

set(DEEPNUM_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/DeepNum)

install(EXPORT DeepNumTargets NAMESPACE deepnum:: DESTINATION ${DEEPNUM_CMAKE_INSTALL_DIR})
install(FILES ${PROJECT_BINARY_DIR}/generated/include/deepnum/config.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/deepnum)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/DeepNumConfig.cmake.in
  ${PROJECT_BINARY_DIR}/DeepNumConfig.cmake
  INSTALL_DESTINATION ${DEEPNUM_CMAKE_INSTALL_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/DeepNumConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/DeepNumConfig.cmake
  ${PROJECT_BINARY_DIR}/DeepNumConfigVersion.cmake
  DESTINATION ${DEEPNUM_CMAKE_INSTALL_DIR})
