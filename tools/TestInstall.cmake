# CTest driver: installs the whole build into a scratch prefix as a user would
# (cmake --install), moves the prefix elsewhere (installed programs must find
# their libraries relative to themselves, not in the build folder), then, from
# the moved prefix only and without LD_LIBRARY_PATH:
#  - every tool's --version is the one line "<tool> (Proteus) <VERSION>";
#  - no installed program's RUNPATH names the build folder;
#  - pkg-config finds proteus_rt at VERSION and with the moved prefix's paths;
#  - the installed proteus-compile makes a CPU bundle that the installed
#    proteus-run runs.
#   cmake -DBUILD_DIR=... -DWORK_DIR=... -DVERSION=... -DTOOLS="a;b" -P
file(REMOVE_RECURSE ${WORK_DIR})
function(run_step)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

run_step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/staged)
file(RENAME ${WORK_DIR}/staged ${WORK_DIR}/prefix)
set(prefix ${WORK_DIR}/prefix)

foreach(tool ${TOOLS})
  if(NOT EXISTS ${prefix}/bin/${tool})
    message(FATAL_ERROR "cmake --install did not install bin/${tool}")
  endif()
  run_step(${prefix}/bin/${tool} --version)
  if(NOT out STREQUAL "${tool} (Proteus) ${VERSION}\n")
    message(FATAL_ERROR "${tool} --version printed '${out}', not "
      "'${tool} (Proteus) ${VERSION}'")
  endif()
  find_program(READELF readelf)
  if(READELF)
    run_step(${READELF} -d ${prefix}/bin/${tool})
    string(FIND "${out}" "${BUILD_DIR}" at)
    if(NOT at EQUAL -1)
      message(FATAL_ERROR "bin/${tool}'s dynamic section names the build "
        "folder ${BUILD_DIR}:\n${out}")
    endif()
  endif()
  message(STATUS "${tool} --version: ok")
endforeach()

find_program(PKG_CONFIG pkg-config)
if(PKG_CONFIG)
  file(GLOB pc_file ${prefix}/lib*/pkgconfig/proteus_rt.pc
    ${prefix}/lib/*/pkgconfig/proteus_rt.pc)
  if(NOT pc_file)
    message(FATAL_ERROR "no pkgconfig/proteus_rt.pc under ${prefix}")
  endif()
  get_filename_component(pc_dir ${pc_file} DIRECTORY)
  set(pc ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${pc_dir} ${PKG_CONFIG})
  run_step(${pc} --modversion proteus_rt)
  if(NOT out STREQUAL "${VERSION}\n")
    message(FATAL_ERROR "pkg-config --modversion proteus_rt: '${out}'")
  endif()
  run_step(${pc} --variable=includedir proteus_rt)
  string(STRIP "${out}" includedir)
  run_step(${pc} --variable=libdir proteus_rt)
  string(STRIP "${out}" libdir)
  if(NOT EXISTS ${includedir}/proteus_rt/proteus_rt.h
     OR NOT EXISTS ${libdir}/libproteus_rt.so)
    message(FATAL_ERROR "pkg-config proteus_rt points at ${includedir} and "
      "${libdir}, which lack proteus_rt/proteus_rt.h or libproteus_rt.so")
  endif()
  set(flat "${VERSION}, ${includedir}, ${libdir}")
  message(STATUS "pkg-config proteus_rt: ${flat}")
endif()

file(WRITE ${WORK_DIR}/layer.json "{\"d_model\": 128, \"h_total\": 8}\n")
run_step(${prefix}/bin/proteus-compile --config ${WORK_DIR}/layer.json
  --alpha 1 --arch none -o ${WORK_DIR}/bundle)
run_step(${prefix}/bin/proteus-run --bundle ${WORK_DIR}/bundle
  --backend cpu --T 64)
message(STATUS "installed proteus-compile and proteus-run: ok")
file(REMOVE_RECURSE ${WORK_DIR})
