# CTest driver: installs the runtime component of the build into a scratch
# prefix, then configures, builds and runs the example host application
# against it with find_package(ProteusRuntime), as a user would, on a bundle
# made by the compiler's test double.
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DFAKE_COMPILE=... -P
file(REMOVE_RECURSE ${WORK_DIR})
file(WRITE ${WORK_DIR}/config.json "{\"d_model\": 64, \"h_total\": 8}\n")
foreach(step
    "${FAKE_COMPILE};--config;${WORK_DIR}/config.json;--alpha;0;-o;${WORK_DIR}/bundle"
    "${CMAKE_COMMAND};--install;${BUILD_DIR};--component;ProteusRuntime;--prefix;${WORK_DIR}/prefix"
    "${CMAKE_COMMAND};-S;${SOURCE_DIR}/examples/host_app;-B;${WORK_DIR}/app;-G;Ninja;-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix"
    "${CMAKE_COMMAND};--build;${WORK_DIR}/app"
    "${WORK_DIR}/app/host_app;${WORK_DIR}/bundle;64")
  execute_process(COMMAND ${step} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${step}\n${out}\n${err}")
  endif()
endforeach()
message(STATUS "host_app: ${out}")
