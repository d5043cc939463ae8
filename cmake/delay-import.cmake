# Builds a delay-import library for one system DLL from mingw's regular import
# library: the exports are read with nm into a .def file and dlltool -y turns
# that into lib<name>_delay.a. Linking against it makes the DLL load on the
# first call instead of at addon load, so the addon loads on machines without
# the Host Compute Service (GNU ld does not fill the PE delay-import directory,
# so such DLLs show only in `strings`, never in objdump's "DLL Name" lines).
#
# wcow_delay_import(<out-var> <dll-basename>) sets <out-var> to the library path.
function(wcow_delay_import out name)
  set(import_lib "${CMAKE_FIND_ROOT_PATH}/lib/lib${name}.a")
  if(NOT EXISTS "${import_lib}")
    message(FATAL_ERROR "mingw-w64 import library not found: ${import_lib}")
  endif()
  execute_process(
    COMMAND ${MINGW_NM} -g --defined-only "${import_lib}"
    OUTPUT_VARIABLE symbols
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${MINGW_NM} failed on ${import_lib}")
  endif()
  # Exported functions are the text (T) symbols; __imp_ thunks are (I).
  string(REGEX MATCHALL "[0-9a-fA-F]+ T [A-Za-z_][A-Za-z0-9_]*" lines "${symbols}")
  set(def "LIBRARY ${name}.dll\nEXPORTS\n")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^[0-9a-fA-F]+ T " "" sym "${line}")
    string(APPEND def "  ${sym}\n")
  endforeach()
  set(def_file "${CMAKE_BINARY_DIR}/${name}.def")
  set(lib_file "${CMAKE_BINARY_DIR}/lib${name}_delay.a")
  file(WRITE "${def_file}" "${def}")
  add_custom_command(
    OUTPUT "${lib_file}"
    COMMAND ${MINGW_DLLTOOL} -d "${def_file}" -y "${lib_file}" --dllname ${name}.dll
    DEPENDS "${def_file}"
    COMMENT "delay-import library for ${name}.dll"
    VERBATIM)
  set(${out} "${lib_file}" PARENT_SCOPE)
endfunction()
