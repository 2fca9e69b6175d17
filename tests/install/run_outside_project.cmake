# Installs the DeepNum build tree into a fresh prefix, then configures, builds and runs
# an outside project that only knows that prefix.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run_step description)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${description} failed (${status}):\n${out}\n${err}")
  endif()
  message(STATUS "${description}: ok")
endfunction()

run_step("install DeepNum" ${CMAKE_COMMAND} --install ${DEEPNUM_BINARY_DIR} --prefix ${prefix})
run_step("configure outside project" ${CMAKE_COMMAND} -S ${OUTSIDE_SOURCE_DIR}
  -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run_step("build outside project" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run_step("run outside project" ${WORK_DIR}/build/outside_io ${WORK_DIR}/outside.h5)
