#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds the library (in
# release mode, through CMake and cargo) and the Fortran pipeline example, and
# runs it: a stream of chunks through a GPU kernel with a bounded number in
# flight, the CPU preparing the next chunk and checking the previous one while
# the GPU computes; every element checked; wall time and GPU time (timestamps)
# printed, on the best device (lavapipe when there is no GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
mkdir -p build
cmake -S . -B build/cmake-release -DCMAKE_BUILD_TYPE=Release > build/cmake-release-configure.log 2>&1 \
    || { cat build/cmake-release-configure.log; exit 1; }
cmake --build build/cmake-release --target example_fortran_pipeline -j "$(nproc)" > build/cmake-release-build.log 2>&1 \
    || { cat build/cmake-release-build.log; exit 1; }
# lcg.spv, 32 chunks of 262144 elements, at most 3 in flight
build/cmake-release/example_fortran_pipeline spirv/lcg.spv 32 262144 3
