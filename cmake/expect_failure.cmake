# ctest helper: run PROGRAM with ARGUMENTS (a ;-list); pass only when it exits
# non-zero AND its output contains EXPECT (a plain string, not a regex).
execute_process(COMMAND "${PROGRAM}" ${ARGUMENTS} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("exit status: ${rc}\n--- output:\n${out}${err}")
if(rc EQUAL 0)
    message(FATAL_ERROR "expected the program to fail, but it exited with status 0")
endif()
string(FIND "${out}${err}" "${EXPECT}" at)
if(at EQUAL -1)
    message(FATAL_ERROR "the output does not contain \"${EXPECT}\"")
endif()
message("ok: failed as expected with \"${EXPECT}\"")
