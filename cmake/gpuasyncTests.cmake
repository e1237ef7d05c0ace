# Tests and examples, registered with ctest (included by the root CMakeLists.txt).
# Every test runs with the Khronos validation layer (GPUASYNC_VALIDATION=1) and
# fails if the layer is not really on or reports anything.

set(gpuasync_spirv_dir "${PROJECT_SOURCE_DIR}/spirv")
set(gpuasync_test_environment "GPUASYNC_VALIDATION=1" "ASAN_OPTIONS=detect_leaks=0")

function(gpuasync_add_test name)
    add_test(NAME ${name} COMMAND ${ARGN})
    set_tests_properties(${name} PROPERTIES ENVIRONMENT "${gpuasync_test_environment}" TIMEOUT 120)
endfunction()

# ---- C: strict warnings everywhere, AddressSanitizer + UBSan in Debug ----------------
set(gpuasync_c_sanitize "$<$<CONFIG:Debug>:-fsanitize=address$<COMMA>undefined>"
                        "$<$<CONFIG:Debug>:-fno-omit-frame-pointer>")

function(gpuasync_add_c_program name)
    add_executable(${name} ${ARGN})
    set_target_properties(${name} PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
    target_compile_options(${name} PRIVATE -Wall -Wextra -Werror -pedantic ${gpuasync_c_sanitize})
    target_link_options(${name} PRIVATE ${gpuasync_c_sanitize})
    target_compile_definitions(${name} PRIVATE "SPIRV_DIR=\"${gpuasync_spirv_dir}\"")
    target_include_directories(${name} PRIVATE "${PROJECT_SOURCE_DIR}/tests/c")
    target_link_libraries(${name} PRIVATE gpuasync::gpuasync m)
endfunction()

file(GLOB gpuasync_c_tests CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tests/c/test_*.c")
foreach(source IN LISTS gpuasync_c_tests)
    get_filename_component(name "${source}" NAME_WE)
    gpuasync_add_c_program(c_${name} "${source}")
    gpuasync_add_test(c_${name} c_${name})
endforeach()

# ---- Fortran: -std=f2018 -Wall -Wextra -Werror (gfortran), runtime checks in Debug -----
function(gpuasync_add_fortran_program name)
    add_executable(${name} ${ARGN})
    # -ffpe-summary=none: the Vulkan driver's floating-point flags are not the
    # program's, so keep gfortran's note about them out of the output at STOP.
    target_compile_options(${name} PRIVATE ${gpuasync_fortran_warnings} -ffpe-summary=none)
    target_link_libraries(${name} PRIVATE gpuasync::fortran)
    set_target_properties(${name} PROPERTIES
        Fortran_MODULE_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/mod/tests/${name}")
endfunction()

add_library(gpuasync_test_support STATIC tests/fortran/gpuasync_test_support.f90)
target_compile_options(gpuasync_test_support PRIVATE ${gpuasync_fortran_warnings})
target_link_libraries(gpuasync_test_support PUBLIC gpuasync::fortran)
set_target_properties(gpuasync_test_support PROPERTIES
    Fortran_MODULE_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/mod/test_support")
target_include_directories(gpuasync_test_support PUBLIC "${CMAKE_CURRENT_BINARY_DIR}/mod/test_support")

file(GLOB gpuasync_fortran_tests CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tests/fortran/test_*.f90")
foreach(source IN LISTS gpuasync_fortran_tests)
    get_filename_component(name "${source}" NAME_WE)
    gpuasync_add_fortran_program(fortran_${name} "${source}")
    target_link_libraries(fortran_${name} PRIVATE gpuasync_test_support)
    gpuasync_add_test(fortran_${name} fortran_${name} "${gpuasync_spirv_dir}")
endforeach()

# Without `stat`, a failing call stops the program with its message: one run per
# kind of bad input, each expected to fail with "gpuasync: <procedure>: <STATUS>".
gpuasync_add_fortran_program(fortran_stop_on_error tests/fortran/stop_on_error.f90)
foreach(case_and_message
        "uncreated|buffer%write: GPUASYNC_INVALID_HANDLE"
        "destroyed|buffer%read: GPUASYNC_INVALID_HANDLE"
        "size|buffer%read: GPUASYNC_OUT_OF_RANGE"
        "noncontiguous|buffer%write: GPUASYNC_INVALID_ARGUMENT"
        "missing_spv|kernel%create: GPUASYNC_IO_ERROR"
        "mismatch|kernel%dispatch: GPUASYNC_KERNEL_MISMATCH")
    string(REPLACE "|" ";" parts "${case_and_message}")
    list(GET parts 0 case)
    list(GET parts 1 message)
    gpuasync_add_test(fortran_stop_on_error_${case} "${CMAKE_COMMAND}"
        "-DPROGRAM=$<TARGET_FILE:fortran_stop_on_error>" "-DARGUMENTS=${gpuasync_spirv_dir}\;${case}"
        "-DEXPECT=gpuasync: ${message}" -P "${PROJECT_SOURCE_DIR}/cmake/expect_failure.cmake")
endforeach()

# The generated specifics are up to date; every C function has a bind(c) interface.
gpuasync_add_test(fortran_sources_up_to_date "${CMAKE_COMMAND}" "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
    "-DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/fortran-generated" -P "${PROJECT_SOURCE_DIR}/cmake/check_fortran_sources.cmake")

# ---- examples: each one built with the strict flags and run -------------------------
find_program(GLSLC_EXECUTABLE glslc REQUIRED)
set(gpuasync_custom_spv "${CMAKE_CURRENT_BINARY_DIR}/examples/custom_kernel.spv")
add_custom_command(OUTPUT "${gpuasync_custom_spv}"
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${CMAKE_CURRENT_BINARY_DIR}/examples"
    COMMAND "${GLSLC_EXECUTABLE}" --target-env=vulkan1.3 -O -o "${gpuasync_custom_spv}"
            "${PROJECT_SOURCE_DIR}/examples/fortran/custom_kernel.comp"
    DEPENDS "${PROJECT_SOURCE_DIR}/examples/fortran/custom_kernel.comp"
    COMMENT "glslc custom_kernel.comp"
    VERBATIM)
add_custom_target(gpuasync_custom_kernel_spv ALL DEPENDS "${gpuasync_custom_spv}")

foreach(example saxpy pipeline custom_kernel)
    gpuasync_add_fortran_program(example_fortran_${example} "examples/fortran/${example}.f90")
    gpuasync_add_c_program(example_c_${example} "examples/c/${example}.c")
endforeach()
add_dependencies(example_fortran_custom_kernel gpuasync_custom_kernel_spv)
add_dependencies(example_c_custom_kernel gpuasync_custom_kernel_spv)
foreach(language fortran c)
    gpuasync_add_test(example_${language}_saxpy example_${language}_saxpy "${gpuasync_spirv_dir}/saxpy.spv")
    gpuasync_add_test(example_${language}_pipeline example_${language}_pipeline "${gpuasync_spirv_dir}/lcg.spv")
    gpuasync_add_test(example_${language}_custom_kernel example_${language}_custom_kernel "${gpuasync_custom_spv}")
endforeach()
# The built-in kernels: no SPIR-V argument.
gpuasync_add_fortran_program(example_fortran_builtin_gemm examples/fortran/builtin_gemm.f90)
gpuasync_add_c_program(example_c_builtin examples/c/builtin.c)
gpuasync_add_test(example_fortran_builtin_gemm example_fortran_builtin_gemm)
gpuasync_add_test(example_c_builtin example_c_builtin)
# The 16-bit GEMM: as the device offers it (lavapipe: not at all), and emulated.
gpuasync_add_fortran_program(example_fortran_gemm16 examples/fortran/gemm16.f90)
gpuasync_add_test(example_fortran_gemm16 example_fortran_gemm16)
gpuasync_add_test(example_fortran_gemm16_emulated example_fortran_gemm16 160)
gpuasync_add_test(example_fortran_gemm16_emulated_bf16 example_fortran_gemm16 130 bf16)
set_tests_properties(example_fortran_gemm16_emulated example_fortran_gemm16_emulated_bf16
    PROPERTIES ENVIRONMENT "${gpuasync_test_environment};GPUASYNC_COOPERATIVE_MATRIX=emulate")
gpuasync_add_c_program(example_c_registered examples/c/registered.c)
gpuasync_add_test(example_c_registered example_c_registered 16)
if(EXISTS "${PROJECT_SOURCE_DIR}/examples/c/demo.c")
    gpuasync_add_c_program(example_c_demo examples/c/demo.c)
    gpuasync_add_test(example_c_demo example_c_demo "${gpuasync_spirv_dir}/saxpy.spv")
endif()

# ---- the install tree: install into a prefix under the build tree, then configure,
# build and run separate consumer projects (C and Fortran, find_package only) and a
# pkg-config build.
gpuasync_add_test(install_tree "${CMAKE_COMMAND}"
    "-DBUILD_DIR=${CMAKE_CURRENT_BINARY_DIR}" "-DSOURCE_DIR=${PROJECT_SOURCE_DIR}"
    "-DPREFIX=${CMAKE_CURRENT_BINARY_DIR}/install-test/prefix" "-DGENERATOR=${CMAKE_GENERATOR}"
    "-DC_COMPILER=${CMAKE_C_COMPILER}" "-DFortran_COMPILER=${CMAKE_Fortran_COMPILER}"
    "-DSPIRV_DIR=${gpuasync_spirv_dir}"
    -P "${PROJECT_SOURCE_DIR}/cmake/run_install_test.cmake")
set_tests_properties(install_tree PROPERTIES TIMEOUT 300 RUN_SERIAL ON)

# Byte copies must come back bit for bit, so test_buffers compares reals exactly
# on purpose.
set_source_files_properties(tests/fortran/test_buffers.f90 tests/fortran/test_registered.f90
    PROPERTIES COMPILE_OPTIONS "-Wno-compare-reals")
