# deepnum_add_test(<name> SOURCES ... DEPS ... LABELS ... [ENVIRONMENT ...] [TIMEOUT s])
# One Boost.Test executable registered with CTest under its module label(s).
set(DEEPNUM_PYTHON /usr/bin/python3 CACHE FILEPATH
  "Debian's Python, which sees python3-h5py, python3-scipy and python3-petsc4py")

function(deepnum_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS;ENVIRONMENT" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} Boost::unit_test_framework)
  target_compile_definitions(${name} PRIVATE BOOST_TEST_DYN_LINK
    DEEPNUM_PYTHON="${DEEPNUM_PYTHON}"
    DEEPNUM_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  deepnum_use_project_flags(${name})
  add_test(NAME ${name} COMMAND ${name} --log_level=test_suite --report_level=short
    WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
  foreach(label ${ARG_LABELS})
    set_property(GLOBAL APPEND PROPERTY DEEPNUM_TEST_TARGETS_${label} ${name})
    set_property(GLOBAL APPEND PROPERTY DEEPNUM_TEST_LABELS ${label})
  endforeach()
  if(ARG_ENVIRONMENT)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${ARG_ENVIRONMENT}")
  endif()
endfunction()

# One build target per label, tests-<label>, that builds exactly that module's tests:
#   cmake --build build --target tests-io && ctest --test-dir build -L io
function(deepnum_add_label_targets)
  get_property(labels GLOBAL PROPERTY DEEPNUM_TEST_LABELS)
  if(labels)
    list(REMOVE_DUPLICATES labels)
  endif()
  foreach(label ${labels})
    get_property(targets GLOBAL PROPERTY DEEPNUM_TEST_TARGETS_${label})
    add_custom_target(tests-${label} DEPENDS ${targets})
  endforeach()
endfunction()
