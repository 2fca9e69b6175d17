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
  if(ARG_ENVIRONMENT)
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${ARG_ENVIRONMENT}")
  endif()
endfunction()
