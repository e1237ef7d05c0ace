# ctest helper (zxing-cpp's test/install pattern): install the build tree into
# PREFIX, then configure, build and run the consumer projects in
# tests/install/{c,fortran}, which know gpuasync only through
# find_package(gpuasync CONFIG REQUIRED); then build the C consumer once more by
# hand with pkg-config. Nothing of the source or build tree leaks in.
function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        string(REPLACE ";" " " line "${ARGN}")
        message(FATAL_ERROR "failed (${rc}): ${line}")
    endif()
endfunction()

set(work "${BUILD_DIR}/install-test")
file(REMOVE_RECURSE "${work}")
run("${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}")

foreach(language c fortran)
    set(consumer "${work}/${language}")
    message("== consumer in ${language}")
    run("${CMAKE_COMMAND}" -S "${SOURCE_DIR}/tests/install/${language}" -B "${consumer}" -G "${GENERATOR}"
        "-DCMAKE_PREFIX_PATH=${PREFIX}" "-DCMAKE_C_COMPILER=${C_COMPILER}"
        "-DCMAKE_Fortran_COMPILER=${Fortran_COMPILER}" -DCMAKE_BUILD_TYPE=Release --no-warn-unused-cli)
    run("${CMAKE_COMMAND}" --build "${consumer}")
    run("${consumer}/consumer_shared" "${SPIRV_DIR}/saxpy.spv")
    if(language STREQUAL "c")
        run("${consumer}/consumer_static" "${SPIRV_DIR}/saxpy.spv")
    endif()
endforeach()

message("== pkg-config")
find_program(PKG_CONFIG pkg-config REQUIRED)
set(ENV{PKG_CONFIG_PATH} "${PREFIX}/lib/pkgconfig")
file(GLOB pc_files "${PREFIX}/lib*/pkgconfig/gpuasync.pc" "${PREFIX}/lib/*/pkgconfig/gpuasync.pc")
list(GET pc_files 0 pc_file)
get_filename_component(pc_dir "${pc_file}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")
execute_process(COMMAND "${PKG_CONFIG}" --cflags --libs gpuasync OUTPUT_VARIABLE flags RESULT_VARIABLE rc
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config cannot find gpuasync in ${pc_dir}")
endif()
message("pkg-config --cflags --libs gpuasync: ${flags}")
separate_arguments(flags UNIX_COMMAND "${flags}")
execute_process(COMMAND "${PKG_CONFIG}" --variable=libdir gpuasync OUTPUT_VARIABLE libdir OUTPUT_STRIP_TRAILING_WHITESPACE)
run("${C_COMPILER}" -std=c11 -Wall -Wextra -Werror -pedantic "${SOURCE_DIR}/tests/install/c/consumer.c"
    -o "${work}/consumer_pkgconfig" ${flags} "-Wl,-rpath,${libdir}")
run("${work}/consumer_pkgconfig" "${SPIRV_DIR}/saxpy.spv")
message("install tree ok")
