# Helpers shared by every module: one static library per folder, an alias
# deepnum::<name>, warnings (as errors) for our own sources only, optional sanitizers.

add_library(deepnum_warnings INTERFACE)
target_compile_options(deepnum_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  $<$<BOOL:${DEEPNUM_WARNINGS_AS_ERRORS}>:-Werror>)

add_library(deepnum_sanitizers INTERFACE)
if(DEEPNUM_SANITIZE)
  target_compile_options(deepnum_sanitizers INTERFACE
    -fsanitize=${DEEPNUM_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(deepnum_sanitizers INTERFACE -fsanitize=${DEEPNUM_SANITIZE})
endif()

# Flags for our own code that must not leak into the installed interface.
function(deepnum_use_project_flags target)
  target_link_libraries(${target} PRIVATE
    $<BUILD_INTERFACE:deepnum_warnings> $<BUILD_INTERFACE:deepnum_sanitizers>)
endfunction()

# deepnum_add_library(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Builds deepnum_<name> from <name>/src, headers from <name>/include/deepnum/<name>,
# exported as deepnum::<name>.
function(deepnum_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(target deepnum_${name})
  add_library(${target} ${ARG_SOURCES})
  add_library(deepnum::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME deepnum_${name})
  target_compile_features(${target} PUBLIC cxx_std_17)
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  deepnum_use_project_flags(${target})
  install(TARGETS ${target} EXPORT DeepNumTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/deepnum
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()

# deepnum_add_executable(<target> SOURCES ... [DEPS ...] [INSTALL])
function(deepnum_add_executable target)
  cmake_parse_arguments(ARG "INSTALL" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${target} ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE ${ARG_DEPS})
  deepnum_use_project_flags(${target})
  if(ARG_INSTALL)
    install(TARGETS ${target} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endfunction()
